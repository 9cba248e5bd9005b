"""The demo's legal advice requests (法律咨询): 星岩社区's liaison has asked the
tribunal twice, one question answered, one waiting — so the liaison's home and the
tribunal's list show both states from the first sign-in.

The demo has no matters yet, so it has no risk reports either (a report is about
an open matter's debtor): those come with the demo's matters.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import User
from models.requests import answer_advice, ask_advice

BEIJING = timezone(timedelta(hours=8))
ASKED = [
    ("land", "村民陈某与邻居因宅基地界址发生争执，双方各持一份不同年份的宅基地证，"
             "村调委会调解时应以哪一份为准？", datetime(2026, 3, 2, 9, 30, tzinfo=BEIJING),
     "应以不动产登记机构最近一次依法登记的权属证书为准；两证记载冲突的，可引导当事人向"
     "不动产登记机构申请更正或向法院起诉。调解时请保留双方证件复印件和现场照片。",
     datetime(2026, 3, 3, 15, 10, tzinfo=BEIJING)),
    ("loans", "村民之间借款五万元只有微信转账记录、没有借条，出借人起诉能否胜诉？"
              "调解协议需要写明哪些内容？", datetime(2026, 3, 9, 10, 5, tzinfo=BEIJING),
     None, None),
]


def load_demo_requests(session: Session) -> int:
    """Flush, never commit. Returns how many requests were made."""
    liaison = session.scalar(select(User).where(User.username == "demo_liaison"))
    tribunal = session.scalar(select(User).where(User.username == "demo_tribunal"))
    if liaison is None or tribunal is None:
        return 0
    made = 0
    for topic, question, asked_at, answer, answered_at in ASKED:
        request = ask_advice(session, liaison, topic=topic, question=question)
        request.asked_at = asked_at
        if answer:
            answer_advice(session, request, tribunal, answer)
            request.answered_at = answered_at
        made += 1
    session.flush()
    return made

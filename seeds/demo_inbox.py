"""The demo's inboxes: the notices the last weeks of the demo year would have left.

The year's steps are written set-based (seeds.demo_life), not through
models.workflow.step, so nobody was told of them as they happened. Here the steps of
the last weeks that tell someone (models.notifications.STEP_NOTICES: a court's 催办 to
the liaison, 退回补充 and 确认办结 to the field worker, a grid's 不属本网格 to the court
officer) write their notices through the same `notify_step`, dated at the step; those
older than a few days are read. And the showcase grid's most overdue dispatched
matter is chased now by its court's demo officer, through models.workflow like any
催办, so 星岩社区's liaison finds the call in the inbox. So the demo accounts' bells
and inboxes show something true on a fresh start.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from models import Matter, MatterState, MatterStep, Notification, Outbox, User, clock
from models.access import Scope
from models.assignments import Assignment
from models.notifications import STEP_NOTICES, notify_step
from models.workflow import chase

SHOWCASE_COURT, SHOWCASE_LIAISON = "demo_court_yuncheng", "demo_liaison"
CHASE_NOTE = "已超过办结期限，请尽快完成并填报结果"
RECENT = timedelta(days=30)  # the steps whose notices the demo keeps
READ_AFTER = timedelta(days=3)  # older notices have been read


def load_demo_inbox(session: Session) -> int:
    """Write the notices of the demo's recent steps; returns how many."""
    now = clock.now()
    rows = session.scalars(
        select(MatterStep).where(MatterStep.step.in_(STEP_NOTICES),
                                 MatterStep.at >= now - RECENT)
        .order_by(MatterStep.at)
        .options(selectinload(MatterStep.matter).selectinload(Matter.court),
                 selectinload(MatterStep.matter).selectinload(Matter.assignments)
                 .selectinload(Assignment.grid))).all()
    written = 0
    for row in rows:  # some hundreds; few of their people have an account
        written += notify_step(session, row.matter, row)
        session.execute(
            update(Notification).where(Notification.dedup_key.like(f"{row.step}:{row.id}:%"))
            .values(created_at=row.at,
                    read_at=row.at + timedelta(hours=2) if now - row.at > READ_AFTER
                    else None))
    written += _chase_the_showcase(session)
    # The demo texts nobody: its notices stay in the inboxes (催办 queue an SMS each).
    session.execute(delete(Outbox))
    return written


def _chase_the_showcase(session: Session) -> int:
    """The court's 催办 of the showcase grid's most overdue dispatched matter."""
    court, liaison = (session.scalar(select(User).where(User.username == name))
                      for name in (SHOWCASE_COURT, SHOWCASE_LIAISON))
    if court is None or liaison is None:
        return 0
    matter = session.scalar(
        select(Matter).where(Scope.of(liaison).matters(), Scope.of(court).matters(),
                             Matter.state == MatterState.dispatched,
                             Matter.finish_due_at < clock.now())
        .order_by(Matter.finish_due_at).limit(1))
    if matter is None:
        return 0
    chase(session, matter, court, note=CHASE_NOTE)
    return 1

"""China's official holidays and adjusted working days (调休), as the State Council's
General Office publishes them each year, for the holiday calendar (models.deadlines).

2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025年11月4日), published by
Xinhua, e.g. https://politics.gmw.cn/2025-11/04/content_38391083.htm :
  元旦 1月1日至3日放假，1月4日（周日）上班；
  春节 2月15日至23日放假，2月14日（周六）、2月28日（周六）上班；
  清明节 4月4日至6日；劳动节 5月1日至5日放假，5月9日（周六）上班；
  端午节 6月19日至21日；中秋节 9月25日至27日；
  国庆节 10月1日至7日放假，9月20日（周日）、10月10日（周六）上班。
Every day of each holiday is listed (its weekend days too: that is how the notice
counts them), and each adjusted working day.

2027: the notice for 2027 could not be found when this was written, so it is NOT
here (nothing invented): until an admin enters it on the calendar page, 2027 counts
Monday to Friday as working days. Years before 2026 are not listed either.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.deadlines import CalendarDay, DayKind

SOURCE_2026 = ("国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）"
               "https://politics.gmw.cn/2025-11/04/content_38391083.htm")

# (name, first day off, last day off, adjusted working days)
OFFICIAL_2026 = (
    ("元旦", date(2026, 1, 1), date(2026, 1, 3), (date(2026, 1, 4),)),
    ("春节", date(2026, 2, 15), date(2026, 2, 23), (date(2026, 2, 14), date(2026, 2, 28))),
    ("清明节", date(2026, 4, 4), date(2026, 4, 6), ()),
    ("劳动节", date(2026, 5, 1), date(2026, 5, 5), (date(2026, 5, 9),)),
    ("端午节", date(2026, 6, 19), date(2026, 6, 21), ()),
    ("中秋节", date(2026, 9, 25), date(2026, 9, 27), ()),
    ("国庆节", date(2026, 10, 1), date(2026, 10, 7), (date(2026, 9, 20), date(2026, 10, 10))),
)


def official_days() -> list[CalendarDay]:
    days = []
    for name, first, last, worked in OFFICIAL_2026:
        day = first
        while day <= last:
            days.append(CalendarDay(day=day, kind=DayKind.holiday, name=name,
                                    note=SOURCE_2026))
            day += timedelta(days=1)
        days += [CalendarDay(day=d, kind=DayKind.workday, name=f"{name}调休", note=SOURCE_2026)
                 for d in worked]
    return days


def load_official_calendar(session: Session) -> int:
    """Add the official days the calendar does not have yet (an admin's entry for a
    day is never overwritten); returns how many were added. Flushes."""
    known = set(session.scalars(select(CalendarDay.day)))
    new = [d for d in official_days() if d.day not in known]
    session.add_all(new)
    session.flush()
    return len(new)

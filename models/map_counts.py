"""The committee maps' counts, kept: per county, town and village, the open matters
(per state), the overdue ones, and the completion figures, as of a refresh that a
periodic job repeats every minute (geo.map_counts builds them).

Counting a province's million matters per area takes seconds; the maps' first view
(no filter but a county) reads these few tens of thousands of rows instead, and says
when they were counted. Overdue-ness moves with the clock, not only with the
matters: a row keeps the overdue count as of its day and how many open matters fall
due that very day, so a reader on the next day adds those (they became overdue at
midnight); older counts are not used (the maps count live).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db


class MapCount(db.Model):
    __tablename__ = "map_counts"

    level: Mapped[str] = mapped_column(String(10), primary_key=True)
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    # Open matters per open state ({"assigned": 12, ...}) and in all.
    states: Mapped[dict] = mapped_column(JSONB)
    open: Mapped[int] = mapped_column(Integer)
    overdue: Mapped[int] = mapped_column(Integer)  # as of `day`
    due_on_day: Mapped[int] = mapped_column(Integer)  # open, due on `day`: overdue after it
    received: Mapped[int] = mapped_column(Integer)  # every matter placed here but cancelled
    completed: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    median_days: Mapped[float | None] = mapped_column(Float)
    day: Mapped[date] = mapped_column(Date)  # the site's day the counts were made on
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

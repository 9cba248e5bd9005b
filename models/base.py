"""The declarative base and the Flask-SQLAlchemy object, created once and bound in the factory."""

import uuid
from datetime import date, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Date, DateTime, MetaData, Text, Uuid, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so Alembic migrations can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


def uuid_pk() -> Mapped[uuid.UUID]:
    """Primary keys are UUIDs: not tied to one server, so rows can move between
    shards (the design partitions by county code) without renumbering."""
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class EffectiveDated:
    """A rule in force from `valid_from` until `valid_to` (the first day it no longer
    applies; None: in force), never edited in place: a new rule ends the old one on
    the day it starts (the fee table, the deadline rules)."""

    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

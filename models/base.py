"""The declarative base and the Flask-SQLAlchemy object, created once and bound in the factory."""

import uuid

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, Uuid
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

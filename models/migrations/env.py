"""Alembic environment. Spatial columns and indexes go through GeoAlchemy2's helpers."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine

from models import Base
from models.database import database_url

config = context.config


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """The job queue's tables are procrastinate's own (migration 0007 applies its
    schema as shipped): not ours to compare with the models."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    if table is not None and table.name.startswith("procrastinate_"):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with create_engine(database_url()).begin() as conn:
        run(conn)

"""Run the Alembic migrations (models/migrations) on an engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from models.database import APP_ROLE

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def set_app_role_password(engine: Engine, app_url: URL) -> None:
    """Give the app's role (created by migration 0006) the password of its URL, so a
    deployment sets one secret per role in one place."""
    if app_url.username != APP_ROLE:
        raise ValueError(f"GRIDLINK_APP_DATABASE_URL must connect as {APP_ROLE}, "
                         f"not {app_url.username}")
    with engine.begin() as connection:
        quoted = connection.execute(text("SELECT quote_literal(:p)"),
                                    {"p": app_url.password}).scalar()
        connection.execute(text(f"ALTER ROLE {APP_ROLE} PASSWORD {quoted}"))

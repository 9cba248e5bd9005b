"""The gazetteer's own data: admin-kept aliases and its version counter.

Names change (云安县 became 云安区 in 2014) and people write colloquial or old
names; an alias maps such a name to a division code. The code may also be a
2-digit province or 4-digit city prefix (广东省 → 44, 云浮 → 4453): those names
only narrow where the rest of the address is looked for.

The geocoder keeps an in-memory index of names (geo.gazetteer). Triggers on
grids and aliases bump `gazetteer_version` in the same transaction as the
change, so every process sees that its index is stale at its next lookup.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, uuid_pk


class PlaceAlias(db.Model):
    __tablename__ = "place_aliases"
    __table_args__ = (
        UniqueConstraint("alias", "code", name="uq_place_aliases_alias_code"),
        CheckConstraint("code ~ '^[0-9]+$' AND char_length(code) IN (2, 4, 6, 9, 12, 15)",
                        name="code_is_a_prefix_or_division"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    alias: Mapped[str] = mapped_column(String(50))
    code: Mapped[str] = mapped_column(String(15))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    def __str__(self) -> str:
        return f"{self.alias} → {self.code}"


class GazetteerVersion(db.Model):
    """One row; its version grows with every change to grids or aliases."""

    __tablename__ = "gazetteer_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


BUMP_VERSION_SQL = """
CREATE OR REPLACE FUNCTION gazetteer_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE gazetteer_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
INSERT INTO gazetteer_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TRIGGER grids_bump_gazetteer AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grids
  FOR EACH STATEMENT EXECUTE FUNCTION gazetteer_bump();
CREATE TRIGGER place_aliases_bump_gazetteer
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON place_aliases
  FOR EACH STATEMENT EXECUTE FUNCTION gazetteer_bump();
"""

"""The audit trail: who changed what, when, from where — append-only and chained.

Every flush that creates, changes or deletes an audited row appends one record
per row, in the same transaction (so a failed request leaves no record of a
change that did not happen). Records are numbered without gaps under an
advisory lock, and each carries an HMAC of its content and of the previous
record's HMAC, keyed by the app's secret. A trigger refuses UPDATE, DELETE and
TRUNCATE for every database role, the app's included, and `gridlink audit
verify` walks the chain: an edited record breaks its own HMAC, a deleted one
leaves a gap, a rewritten chain cannot be re-signed without the key, and the
head row catches a cut-off tail.
"""

from __future__ import annotations

import contextvars
import enum
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from geoalchemy2 import WKBElement
from geoalchemy2.shape import to_shape
from sqlalchemy import BigInteger, DateTime, String, Text, event, insert, inspect, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import db

CHAIN_LOCK = 4453_0001  # pg_advisory_xact_lock key: one writer of the chain at a time
GENESIS = "0" * 64
T = TypeVar("T")


class AuditRecord(db.Model):
    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(30), index=True)
    entity: Mapped[str] = mapped_column(String(50), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """The last record's number and HMAC, so that deleting the newest records shows."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


# --- who is acting -------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    name: str
    id: str | None = None
    address: str | None = None


SYSTEM = Actor("system")
_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor",
                                                                      default=None)
_actor_provider = None  # set by the web layer: returns the signed-in user as an Actor


def set_actor(actor: Actor | None) -> None:
    """For command-line work and tests: who the following changes are by."""
    _actor.set(actor)


def set_actor_provider(provider) -> None:
    global _actor_provider
    _actor_provider = provider


def current_actor() -> Actor:
    if _actor_provider is not None:
        actor = _actor_provider()
        if actor is not None:
            return actor
    return _actor.get() or SYSTEM


# --- writing ---------------------------------------------------------------------------

def _canonical(value: Any) -> Any:
    if isinstance(value, WKBElement):
        return to_shape(value).wkt
    if isinstance(value, datetime | date | uuid.UUID):
        return value.isoformat() if not isinstance(value, uuid.UUID) else str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _sign(key: bytes, prev_hash: str, body: dict) -> str:
    payload = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                         default=str)
    return hmac.new(key, (prev_hash + payload).encode(), hashlib.sha256).hexdigest()


FIELDS = ("seq", "at", "actor", "actor_id", "address", "action", "entity", "entity_id",
          "before", "after")


def _body(row) -> dict:
    """What is signed. Times in UTC, whatever the session's time zone says."""
    return {k: (row[k].astimezone(UTC).isoformat() if isinstance(row[k], datetime) else row[k])
            for k in FIELDS}


_key: bytes | None = None


def set_key(secret: str) -> None:
    global _key
    _key = hashlib.sha256(("gridlink-audit:" + secret).encode()).digest()


def append(connection, action: str, entity: str, entity_id: str | None,
           before: dict | None = None, after: dict | None = None,
           actor: Actor | None = None) -> int:
    """Append one record on `connection` (inside the caller's transaction)."""
    return append_many(connection, [(action, entity, entity_id, before, after)], actor)


def append_many(connection, records: list[tuple], actor: Actor | None = None) -> int:
    """Append (action, entity, entity_id, before, after) records in order, under one
    lock and one read of the head, in one COPY: a flush of 10,000 new rows, or an
    escalation pass moving 50,000 matters, costs one round trip, not one per record.
    Returns the last sequence number."""
    return append_many_during(connection, records, lambda: None, actor)[0]


def append_many_during(connection, records: list[tuple], work: Callable[[], T],
                       actor: Actor | None = None) -> tuple[int, T]:
    """append_many, signing the records in a second thread while `work()` runs the
    caller's next statements on the connection (the database works on one core while
    Python signs on the other; the signing touches no connection). Returns the last
    sequence number and what `work` returned."""
    if _key is None:
        raise RuntimeError("audit key not set: call models.audit.set_key(secret)")
    actor = actor or current_actor()
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})
    head = connection.execute(select(AuditHead.seq, AuditHead.hash)
                              .where(AuditHead.id == 1)).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    with ThreadPoolExecutor(max_workers=1) as signer:
        signed = signer.submit(_chain, records, actor, datetime.now(UTC), seq, prev)
        done = work()
        rows, seq, prev = signed.result()
    _copy(connection, rows)
    if head:
        connection.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                           {"s": seq, "h": prev})
    else:
        connection.execute(insert(AuditHead), {"id": 1, "seq": seq, "hash": prev})
    return seq, done


def _chain(records: list[tuple], actor: Actor, at: datetime, seq: int, prev: str):
    """The rows to write, each signed over its body and the previous row's HMAC (as
    `verify` reads them back), with the JSON of before/after as the column gets it."""
    rows, at_signed = [], at.astimezone(UTC).isoformat()
    for action, entity, entity_id, before, after in records:
        seq += 1
        before_json = json.dumps(before, default=str) if before else None
        after_json = json.dumps(after, default=str) if after else None
        body = {"seq": seq, "at": at_signed, "actor": actor.name, "actor_id": actor.id,
                "address": actor.address, "action": action, "entity": entity,
                "entity_id": entity_id,
                "before": json.loads(before_json) if before_json else None,
                "after": json.loads(after_json) if after_json else None}
        digest = _sign(_key, prev, body)
        rows.append((seq, at, actor.name, actor.id, actor.address, action, entity, entity_id,
                     before_json, after_json, prev, digest))
        prev = digest
    return rows, seq, prev


_COPY = ("COPY audit_records (seq, at, actor, actor_id, address, action, entity, entity_id, "
         "before, after, prev_hash, hash) FROM STDIN")


def _copy(connection, rows: list[tuple]) -> None:
    """COPY the rows in, on the caller's connection and so in its transaction."""
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(_COPY) as copy:
        for row in rows:
            copy.write_row(row)


# --- capturing changes -----------------------------------------------------------------

AUDITED: dict[type, str] = {}  # model class → entity name; filled by models/__init__.py


SECRET = {"password_hash", "token_hash"}  # recorded as changed, never copied


def _columns(obj) -> dict:
    mapper = inspect(obj).mapper
    # Stored columns only (not a query expression such as User.unread).
    values = {c.key: _canonical(getattr(obj, c.key)) for c in mapper.column_attrs
              if c.key not in SECRET and getattr(c.columns[0], "table", None) is not None}
    for rel in mapper.relationships:
        if rel.secondary is not None:
            values[rel.key] = sorted(str(o.id) for o in getattr(obj, rel.key))
    return values


def _changes(obj) -> tuple[dict, dict]:
    """Old and new values of what changed: columns, and many-to-many links by id."""
    state = inspect(obj)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        if attr.key in SECRET:
            before[attr.key], after[attr.key] = "…", "(changed)"
            continue
        old = _canonical(history.deleted[0]) if history.deleted else None
        new = _canonical(history.added[0]) if history.added else None
        if old != new:
            before[attr.key], after[attr.key] = old, new
    for rel in state.mapper.relationships:
        history = state.attrs[rel.key].history
        if rel.secondary is not None and history.has_changes():
            kept = [str(o.id) for o in history.unchanged]
            before[rel.key] = sorted(kept + [str(o.id) for o in history.deleted])
            after[rel.key] = sorted(kept + [str(o.id) for o in history.added])
    return before, after


def _pending_records(session: Session) -> list[tuple]:
    records = []
    for obj in session.new:
        if type(obj) in AUDITED:
            records.append(("create", obj, None, "new"))
    for obj in session.dirty:
        if type(obj) in AUDITED and session.is_modified(obj):
            before, after = _changes(obj)
            if after:
                records.append(("update", obj, before, after))
    for obj in session.deleted:
        if type(obj) in AUDITED:
            records.append(("delete", obj, _columns(obj), None))
    return records


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context, instances) -> None:
    session.info.setdefault("audit_pending", []).extend(_pending_records(session))


@event.listens_for(Session, "after_flush")
def _write(session: Session, flush_context) -> None:
    pending = session.info.pop("audit_pending", [])
    if not pending:
        return
    records = []
    for action, obj, before, after in pending:
        if after == "new":
            after = _columns(obj)
        pk = inspect(obj).mapper.primary_key_from_instance(obj)
        records.append((action, AUDITED[type(obj)],
                        str(pk[0]) if pk and pk[0] is not None else None, before, after))
    append_many(session.connection(), records)


def verify(session: Session, key_secret: str | None = None) -> list[str]:
    """Walk the chain; return the problems found (empty: intact)."""
    key = _key if key_secret is None else hashlib.sha256(
        ("gridlink-audit:" + key_secret).encode()).digest()
    problems, expected_seq, prev = [], 1, GENESIS
    rows = session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()
    for record in rows:
        if record.seq != expected_seq:
            problems.append(f"records {expected_seq}–{record.seq - 1} are missing")
        if record.prev_hash != prev:
            problems.append(f"record {record.seq} does not follow the record before it")
        body = _body({c: getattr(record, c) for c in FIELDS})
        if _sign(key, record.prev_hash, body) != record.hash:
            problems.append(f"record {record.seq} was altered after it was written")
        expected_seq, prev = record.seq + 1, record.hash
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        problems.append(f"the trail should end at record {head.seq} but ends at "
                        f"{expected_seq - 1}: newer records were removed")
    return problems

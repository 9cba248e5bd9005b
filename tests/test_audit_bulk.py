"""The audit trail's bulk append (models.audit.append_many: one COPY for a flush or an
escalation pass): what it writes is what one record at a time would have written,
chained and signed the same way, and `gridlink audit verify` reads it back intact."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

from sqlalchemy import func, select

from models import AuditRecord, audit
from models.audit import Actor, append, append_many, append_many_during

BEIJING = timezone(timedelta(hours=8))
ACTOR = Actor("system:test", id="6f1c0c1e-0000-4000-8000-000000000001", address="10.0.0.7")


def a_record(n: int) -> tuple:
    """What a step of the ladder records, with what JSON cannot hold as is (a time
    with its zone), Chinese text, nesting, and a record without `before`."""
    before = None if n % 7 == 0 else {"state": "assigned", "escalation_level": 0,
                                      "due": datetime(2026, 12, 4, 9, 30, tzinfo=BEIJING)}
    after = {"step": "to_town", "note": f"镇街中心协助 {n}", "version": n,
             "accept_due_at": datetime(2026, 12, 4, 1, 30, tzinfo=UTC) + timedelta(minutes=n),
             "levels": [0, 1], "who": {"name": "系统", "id": None}}
    return ("step", "matter", f"matter-{n}", before, after)


def one_at_a_time(records: list[tuple], prev: str, seq: int, at: datetime) -> list[dict]:
    """The trail as the per-row path wrote it (before the bulk append): each record's
    JSON normalised through json, its body signed with the previous HMAC."""
    written = []
    for action, entity, entity_id, before, after in records:
        seq += 1
        row = {"seq": seq, "at": at, "actor": ACTOR.name, "actor_id": ACTOR.id,
               "address": ACTOR.address, "action": action, "entity": entity,
               "entity_id": entity_id,
               "before": json.loads(json.dumps(before, default=str)) if before else None,
               "after": json.loads(json.dumps(after, default=str)) if after else None}
        body = {**row, "at": at.astimezone(UTC).isoformat()}
        payload = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = hmac.new(audit._key, (prev + payload).encode(), hashlib.sha256).hexdigest()
        written.append({**row, "prev_hash": prev, "hash": digest})
        prev = digest
    return written


def stored(session, after_seq: int) -> list[dict]:
    rows = session.scalars(select(AuditRecord).where(AuditRecord.seq > after_seq)
                           .order_by(AuditRecord.seq)).all()
    return [{c: getattr(r, c) for c in ("seq", "at", "actor", "actor_id", "address", "action",
                                        "entity", "entity_id", "before", "after",
                                        "prev_hash", "hash")} for r in rows]


def test_a_bulk_append_writes_what_one_record_at_a_time_would_have(session, runner):
    records = [a_record(n) for n in range(1, 1201)]
    head = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
    last = append_many(session.connection(), records, actor=ACTOR)
    written = stored(session, head.seq)
    assert last == head.seq + len(records) and len(written) == len(records)
    assert written == one_at_a_time(records, head.hash, head.seq, written[0]["at"])
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "audit trail intact" in result.output, result.output


def test_single_and_bulk_appends_chain_into_one_trail(session, runner):
    head = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
    append(session.connection(), *a_record(1)[:3], actor=ACTOR)
    append_many(session.connection(), [a_record(n) for n in range(2, 50)], actor=ACTOR)
    append(session.connection(), "step", "matter", "matter-50", None, {"step": "remind"},
           actor=ACTOR)
    written = stored(session, head.seq)
    assert [r["seq"] for r in written] == list(range(head.seq + 1, head.seq + 51))
    assert all(r["prev_hash"] == p["hash"] for p, r in pairwise(written))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "audit trail intact" in result.output, result.output


def test_the_callers_statements_run_while_the_records_are_signed(session, runner):
    """append_many_during: the escalation pass writes its notifications meanwhile; what
    the statements return comes back, and the trail is the same as without them."""
    head = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
    records = [a_record(n) for n in range(1, 301)]
    connection = session.connection()
    last, seen = append_many_during(
        connection, records,
        lambda: connection.execute(select(func.count()).select_from(AuditRecord)).scalar(),
        actor=ACTOR)
    assert seen == head.seq  # the work ran before the records went in
    written = stored(session, head.seq)
    assert last == head.seq + 300
    assert written == one_at_a_time(records, head.hash, head.seq, written[0]["at"])
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "audit trail intact" in result.output, result.output

"""Writing many new rows at once: what a flush would write, without the flush.

A flush of thousands of new objects spends most of its time in the ORM's unit of
work (each object's state, its foreign keys synchronised one by one, each row's
audit record built from its state). `insert_new` writes the same rows with one
multi-row INSERT per table and appends the same audit records (models.audit) as
one chain segment: identical content — the ids, defaults, foreign keys and the
creation time a flush would give them — at a fraction of the cost. The objects
leave the session afterwards (they are written; nothing of them is pending), so
a large intake does not hold them all in memory.
"""

from __future__ import annotations

from sqlalchemy import func, insert, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import MANYTOONE

from models.audit import AUDITED, _columns, append_many


def insert_new(session: Session, objects: list) -> None:
    """INSERT these new (pending) objects, given parents before children, and append
    one audit "create" record each, in that order; then they leave the session.
    Nothing else is flushed (other changes go through the ORM as usual)."""
    connection = session.connection()  # no autoflush: these objects are not flushed
    now = connection.scalar(select(func.now()))  # what server defaults give in this transaction
    for obj in objects:  # ids first: children take their parents' as foreign keys
        mapper = inspect(obj).mapper
        for column in mapper.primary_key:
            prop = mapper.get_property_by_column(column)
            if getattr(obj, prop.key) is None and column.default is not None:
                setattr(obj, prop.key, column.default.arg(None))
    rows: dict = {}
    for obj in objects:
        _fill(obj, now)
        rows.setdefault(inspect(obj).mapper.local_table, []).append(_values(obj))
    records = [("create", AUDITED[type(obj)], _pk(obj), None, _columns(obj))
               for obj in objects if type(obj) in AUDITED]
    for table, values in rows.items():
        connection.execute(insert(table), values)
    if records:
        append_many(connection, records)
    for obj in objects:
        if obj in session:
            session.expunge(obj)


def _pk(obj) -> str:
    return str(inspect(obj).mapper.primary_key_from_instance(obj)[0])


def _fill(obj, now) -> None:
    """What a flush fills in: foreign keys from the related objects, column defaults,
    and server defaults (the transaction's time)."""
    state = inspect(obj)
    mapper = state.mapper
    for rel in mapper.relationships:
        if rel.direction is not MANYTOONE or rel.key not in state.dict:
            continue  # a foreign key set directly (liaison_id=…) stays as it is
        target = state.dict[rel.key]
        for local, remote in rel.local_remote_pairs:
            value = None if target is None else getattr(
                target, inspect(target).mapper.get_property_by_column(remote).key)
            setattr(obj, mapper.get_property_by_column(local).key, value)
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in state.dict and state.dict[prop.key] is not None:
            continue
        if prop.key not in state.dict and column.default is not None:
            default = column.default
            setattr(obj, prop.key, default.arg if default.is_scalar else default.arg(None))
        elif prop.key not in state.dict and column.server_default is not None:
            setattr(obj, prop.key, now)


def _values(obj) -> dict:
    state = inspect(obj)
    return {prop.columns[0].name: state.dict.get(prop.key) for prop in state.mapper.column_attrs}


def write_new_matters(session: Session, matters: list) -> None:
    """Insert new matters (located: admin.matter_intake, seeds.demo_matters) with their
    new debtors, addresses and assignments, and let them go."""
    debtors = list({id(m.debtor): m.debtor for m in matters
                    if inspect(m.debtor).pending}.values())
    known = {id(m.debtor): m.debtor for m in matters if inspect(m.debtor).persistent}
    insert_new(session, [*debtors, *matters, *(a for m in matters for a in m.addresses),
                         *(a for m in matters for a in m.assignments)])
    for debtor in known.values():  # it was told of the new matters; they are written
        session.expire(debtor, ["matters"])
    # Written: a later row finds them in the database, no longer absent from it, and
    # they are let go of (a large file's matters are not all held in memory).
    keys = [(m.court_id, m.case_number, m.matter_type.value, m.debtor_key) for m in matters]
    numbers = [d.id_number for d in debtors if d.id_number]
    for name, written in (("absent_matters", keys), ("absent_debtors", numbers)):
        session.info.get(name, set()).difference_update(written)
    for name, written in (("pending_matters", keys), ("pending_debtors", numbers)):
        for key in written:
            session.info.get(name, {}).pop(key, None)

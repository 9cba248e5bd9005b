"""The audit trail: every change recorded with who, when, from where, before and after;
append-only for every role (the app's own may not even try: it has no right to);
`gridlink audit verify` catches tampering done as a superuser."""

import re

import pytest
from conftest import as_superuser
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models import AuditRecord, Court, Grid, User

XINGYAN = "445302001003"


def records(session, **where):
    query = select(AuditRecord).order_by(AuditRecord.seq.desc())
    for key, value in where.items():
        query = query.where(getattr(AuditRecord, key) == value)
    return session.scalars(query).all()


def test_editing_a_grid_is_recorded_with_who_where_before_and_after(client, session):
    village = session.scalar(Grid.current().where(Grid.code == XINGYAN))
    page = client.get(f"/admin/grid/edit/?id={village.id}").get_data(as_text=True)
    geom = re.search(r'data-role="gridlink-map"[^>]*>([^<]*)</textarea>', page).group(1)
    client.post(f"/admin/grid/edit/?id={village.id}", data={
        "code": village.code, "name": "星岩社区（新）", "level": "village",
        "parent": str(village.parent_id), "geom": geom.replace("&#34;", '"')})
    (record,) = records(session, entity="grid", entity_id=str(village.id), action="update")
    assert record.actor == "demo_admin" and record.address == "127.0.0.1"
    assert record.before == {"name": "星岩社区"} and record.after == {"name": "星岩社区（新）"}


def test_a_refused_change_leaves_no_record(client, session):
    before = len(records(session))
    town = session.scalar(Grid.current().where(Grid.name == "云城街道"))
    client.post("/admin/grid/new/", data={"code": "44530200129", "name": "坏代码村",
                                          "level": "village", "parent": str(town.id),
                                          "geom": ""})
    assert len(records(session)) == before


def test_court_links_and_accounts_are_recorded_without_secrets(client, session):
    court = session.scalar(select(Court).where(Court.name == "罗定市人民法院"))
    grids = [str(g.id) for g in court.grids]
    extra = session.scalar(Grid.current().where(Grid.code == XINGYAN))
    client.post(f"/admin/court/edit/?id={court.id}", data={
        "name": court.name, "kind": "base", "county_code": court.county_code,
        "parent": str(court.parent_id), "grids": [*grids, str(extra.id)]})
    (change,) = records(session, entity="court", action="update")
    assert change.after["grids"] == sorted([*grids, str(extra.id)])

    client.post("/admin/account/new/", data={
        "username": "audited_user", "display_name": "审计测试", "role": "admin",
        "active": "y", "new_password": "Audited2026ok"})
    user = session.scalar(select(User).where(User.username == "audited_user"))
    (created,) = records(session, entity="account", entity_id=str(user.id))
    assert created.action == "create" and created.after["username"] == "audited_user"
    assert "password_hash" not in created.after
    assert "Audited2026ok" not in str(created.after)


def test_sign_ins_are_recorded_as_the_person_signing_in(client_as, session):
    client_as("demo_worker")
    (login,) = records(session, action="login", actor="demo_worker")[:1]
    assert login.address == "127.0.0.1"
    (stamp,) = records(session, action="update", entity="account", entity_id=login.entity_id)
    assert stamp.actor == "demo_worker" and list(stamp.after) == ["last_login_at"]


REWRITES = [
    "UPDATE audit_records SET actor = 'someone else' WHERE seq = 1",
    "DELETE FROM audit_records WHERE seq = 1",
    "TRUNCATE audit_records",
    "DELETE FROM audit_head",
]


@pytest.mark.parametrize("statement", REWRITES)
def test_the_apps_own_database_role_cannot_rewrite_the_trail(session, statement):
    with pytest.raises(DBAPIError, match=r"append-only|permission denied"), \
            session.begin_nested():
        session.execute(text(statement))


@pytest.mark.parametrize("statement", REWRITES)
def test_even_the_owner_cannot_rewrite_the_trail_with_the_trigger_on(session, statement):
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested(), \
            as_superuser(session):
        session.execute(text(statement))


def verify(runner):
    return runner.invoke(args=["audit", "verify"])


def behind_the_apps_back(session, statement):
    """As someone with the database's superuser powers would: triggers off."""
    with as_superuser(session):
        session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(text(statement))
        session.execute(text("SET LOCAL session_replication_role = origin"))


def test_verify_passes_on_an_intact_trail(runner):
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "audit trail intact" in result.output


def test_verify_finds_an_edited_record(runner, session):
    behind_the_apps_back(session, "UPDATE audit_records SET actor = 'nobody' WHERE seq = 2")
    result = verify(runner)
    assert result.exit_code == 1
    assert "record 2 was altered" in result.output


def test_verify_finds_a_deleted_record(runner, session):
    behind_the_apps_back(session, "DELETE FROM audit_records WHERE seq = 3")
    result = verify(runner)
    assert result.exit_code == 1 and "records 3–3 are missing" in result.output


def test_verify_finds_a_cut_tail(runner, session):
    behind_the_apps_back(session, "DELETE FROM audit_records WHERE seq = "
                                  "(SELECT max(seq) FROM audit_records)")
    result = verify(runner)
    assert result.exit_code == 1 and "newer records were removed" in result.output


def test_verify_finds_a_rechained_forgery(runner, session):
    """Re-hashing with a made-up key does not pass: the HMAC key is the app's secret."""
    from models.audit import FIELDS, _body, _sign

    forged_key = b"not the key"
    rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
    prev = "0" * 64
    with as_superuser(session):
        session.execute(text("SET LOCAL session_replication_role = replica"))
        for row in rows:
            body = _body({c: getattr(row, c) for c in FIELDS})
            digest = _sign(forged_key, prev, body)
            session.execute(text("UPDATE audit_records SET prev_hash = :p, hash = :h "
                                 "WHERE seq = :s"), {"p": prev, "h": digest, "s": row.seq})
            prev = digest
        session.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    result = verify(runner)
    assert result.exit_code == 1 and "was altered" in result.output


def test_audit_page_filters_the_trail(client):
    page = client.get("/admin/audit/?search=demo_admin").get_data(as_text=True)
    assert "登录" in page and "审计日志" in page

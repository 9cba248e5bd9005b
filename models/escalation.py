"""The escalation ladder: what happens when nobody answers a matter in time.

A matter assigned to a grid must be accepted by its liaison before accept_due_at
(models.deadlines fixes it at assignment). The ladder, one rung at a time:

  reminder   some time before the deadline (LADDER.remind_before) the liaison(s)
             the roster names on the matter's primary grid are reminded, once;
  level 1    the deadline passed and nobody accepted: the matter becomes 已升级
             (`escalated`, as the court's own 请镇街中心协助 makes it) and the town's
             centre (微网格治理服务中心) is notified. TRANSITIONS lets an escalated
             matter be taken (接办 → accepted), re-dispatched inside the town
             (改派 → assigned) or withdrawn; its liaison may still accept it late
             (签收: the centre's first move is to reach them). A matter the court
             escalated by hand climbs to level 1 on the next pass the same way
             (the town centre is told);
  level 2    still escalated a while later (LADDER.committee_after): the county
             committee (县委政法委) is notified, and from then on reads the matter
             (models.access) to re-assign it inside its county or note what it did.

The ladder stops when the matter moves on: each rung's condition names the state it
starts from, so an accepted, taken, re-dispatched or withdrawn matter matches none.
A matter re-assigned after climbing gets a new accept deadline and may climb again
for that deadline (escalated_at is older than it), never twice for one.

The court's 紧急协助 (urgent_call) skips the wait: the town centre and the county
committee are notified at once, and the matter shows 紧急 at every level until
someone accepts it (`shows_urgent`).

`run_pass` is one pass over the whole province, set-based: per rung one UPDATE …
RETURNING that moves every matter due at once (its WHERE is re-checked under the row
lock, so a liaison's 签收 that commits first wins), one INSERT … SELECT of the
matter_steps rows; then, the rungs moved, one of the notifications per rung
(models.notifications.notify: once per key, whoever runs the pass) and one append of
every moved matter's record to the audit trail. Passes take an advisory lock, so two
workers' passes run one after the other and the second finds nothing left to do. The
pass reads no memory of earlier passes: after downtime the next pass does what is due
by the state of the matters, once.

The worker runs the pass in parts (`run_pass_in_parts`): the province's counties in
PARTS groups, each group's pass in its own transaction at the same time, so that the
database moves matters on every core (a county's matters are one group's alone: the
groups never meet, as Citus's shards would not). The audit trail is one chain, so the
groups append to it one after the other, after their moves.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, Uuid, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import clock
from models.audit import Actor, append_many_during
from models.grids import N_
from models.matters import Matter, MatterState
from models.notifications import notify

PASS_LOCK = 4453_0012  # pg_advisory_xact_lock key: one pass at a time (a part: + its number)
PARTS = 2  # the county groups a worker's pass moves at once (this machine's cores)
ACTOR = Actor("system:escalation")
STEP_ACTOR = "system"  # matter_steps.actor_name of the ladder's steps (shown as 系统)


@dataclass(frozen=True)
class Ladder:
    """How long before the accept deadline the liaison is reminded, and how long a
    matter stays with the town centre before the county committee is told."""

    remind_before: timedelta = timedelta(hours=4)
    committee_after: timedelta = timedelta(hours=24)


LADDER = Ladder()

# What each rung says (English msgids, translated where the inbox shows them).
REMINDER = N_("Matter %(case)s (grid %(grid)s) must be accepted by %(due)s.")
TO_TOWN = N_("Matter %(case)s was not accepted in time by grid %(grid)s: "
             "your town centre is asked to take it or re-dispatch it.")
TO_COMMITTEE = N_("Matter %(case)s (grid %(grid)s) is still not taken up: "
                  "the county committee is asked to act.")
URGENT = N_("%(court)s calls for urgent assistance on matter %(case)s (grid %(grid)s): "
            "the liaison cannot be reached.")

# The pass finds its matters through these partial indexes, however many are closed.
Index("ix_matters_awaiting_acceptance", Matter.accept_due_at,
      postgresql_where=text("state = 'assigned'"))
Index("ix_matters_escalated_since", Matter.escalated_at,
      postgresql_where=text("state = 'escalated'"))


# --- who hears of it ---------------------------------------------------------------------
# Each is the FROM … WHERE of a SELECT over the matters `m` with their primary grid `g`
# (alias of grids) and primary assignment `a`, adding the accounts `u` to notify.

_PRIMARY = """
    FROM matters m
    JOIN assignments a ON a.matter_id = m.id AND a.role = 'primary' AND a.ended_at IS NULL
    JOIN grids g ON g.id = a.grid_id
"""
# The liaison(s) the roster names on the grid today, through their accounts.
_LIAISONS = _PRIMARY + """
    JOIN roster_entries r ON r.grid_id = a.grid_id AND r.role = 'liaison'
         AND r.valid_from <= CAST(:today AS date)
         AND (r.valid_to IS NULL OR r.valid_to > CAST(:today AS date))
    JOIN accounts u ON u.person_id = r.person_id AND u.active
"""
# The town centre of the grid's town (a town's code: its first 9 digits, then zeros).
_TOWN_CENTRE = _PRIMARY + """
    JOIN grids ug ON ug.level = 'town' AND left(ug.code, 9) = left(g.code, 9)
    JOIN accounts u ON u.grid_id = ug.id AND u.role = 'town_centre' AND u.active
"""
# The committee of the grid's county (a city committee, with no area, is not told).
_COMMITTEE = _PRIMARY + """
    JOIN grids ug ON ug.level = 'county' AND ug.county_code = a.county_code
    JOIN accounts u ON u.grid_id = ug.id AND u.role = 'committee' AND u.active
"""


def _notifications(kind: str, template: str, who: str, key: str, where: str,
                   extra_params: str = ""):
    """The SELECT notify() writes: one row per matter `where` and account of `who`."""
    return text(f"""
        SELECT u.id, CAST(:kind AS varchar), m.id, CAST(:template AS text),
               jsonb_build_object('case', m.case_number, 'grid', g.name{extra_params}),
               {key}, CAST(:now AS timestamptz)
        {who}
        WHERE {where}
    """).bindparams(kind=kind, template=template).columns()


def _deadline_key(prefix: str) -> str:
    """A dedup key naming the rung, the matter, the deadline it is for, the account."""
    return (f"'{prefix}:' || m.id || ':' || "
            "coalesce(floor(extract(epoch FROM m.accept_due_at))::bigint, 0) || ':' || u.id")


# --- the pass ----------------------------------------------------------------------------

@dataclass
class PassCounts:
    reminded: int = 0
    to_town: int = 0
    to_committee: int = 0
    notified: int = 0

    @property
    def changed(self) -> int:
        return self.reminded + self.to_town + self.to_committee + self.notified


def run_pass(session: Session, now: datetime, ladder: Ladder = LADDER, *,
             part: int | None = None, parts: int = PARTS) -> PassCounts:
    """One pass of the ladder over every matter (or the matters of part `part` of
    `parts`: IN_PART), as of `now` (models.clock.now()). Flushes; the caller commits."""
    session.flush()
    # A whole pass excludes every other pass; the parts of one exclude only their own
    # part of another pass, and run beside each other.
    if part is None:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PASS_LOCK})
    else:
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:k), "
                             "pg_advisory_xact_lock(:p)"),
                        {"k": PASS_LOCK, "p": PASS_LOCK + 1 + part})
    params = {"now": now, "today": now.date(), "soon": now + ladder.remind_before,
              "lead": ladder.remind_before, "since": now - ladder.committee_after}
    where = ""
    if part is not None:
        params.update(part=part, parts=parts)
        where = f" AND {IN_PART}"
    rungs = [
        _Rung("remind", REMINDER, _LIAISONS, "reminder",
              due="""state = 'assigned' AND accept_due_at > :now
                     AND accept_due_at <= :soon AND (reminded_at IS NULL
                     OR reminded_at < accept_due_at - :lead)""",
              moves="reminded_at = :now"),
        _Rung("to_town", TO_TOWN, _TOWN_CENTRE, "escalated",
              due="""((state = 'assigned' AND accept_due_at <= :now
                       AND (escalated_at IS NULL OR escalated_at < accept_due_at))
                      OR (state = 'escalated' AND escalation_level = 0))""",
              moves=_CLIMB.format(level=1)),
        _Rung("to_committee", TO_COMMITTEE, _COMMITTEE, "escalated",
              due="state = 'escalated' AND escalation_level = 1 AND escalated_at <= :since",
              moves=_CLIMB.format(level=2)),
    ]
    # Every rung moves first (a matter the town rung moves now is not the committee
    # rung's: its escalated_at is now), then each rung's notices and one append of
    # all the records: the audit chain's lock is taken once, last.
    moved = [(rung, _move(session, params, rung, where)) for rung in rungs]
    records = [_record(rung.step, r) for rung, rows in moved for r in rows]

    def tell() -> int:
        return sum(_tell(session, params, rung, rows) for rung, rows in moved if rows)

    notified = append_many_during(session.connection(), records, tell, actor=ACTOR)[1] \
        if records else 0
    reminded, to_town, to_committee = (len(rows) for _, rows in moved)
    return PassCounts(reminded, to_town, to_committee, notified)


# A part of the province: the matters of every `parts`-th county by its code (a
# county's matters are one part's alone; the city's court has a code of its own).
IN_PART = "CAST(county_code AS integer) % :parts = :part"


def run_pass_in_parts(engine: Engine, now: datetime, ladder: Ladder = LADDER,
                      parts: int = PARTS) -> PassCounts:
    """The worker's pass: `run_pass` for each part of the province, all at once, each
    in a session and transaction of its own, committed on its own. A part that fails
    leaves the others' work done and raises; the next pass does what it missed."""
    def one(part: int) -> PassCounts:
        with Session(engine) as session:
            counts = run_pass(session, now, ladder, part=part, parts=parts)
            session.commit()
            return counts

    with ThreadPoolExecutor(max_workers=parts) as pool:
        results = list(pool.map(one, range(parts)))
    return PassCounts(*(sum(getattr(c, f) for c in results)
                        for f in ("reminded", "to_town", "to_committee", "notified")))


# A climb: escalated (the state the town centre's steps start from), since now, and a
# new version, so that a page opened before it is told the matter moved.
_CLIMB = """state = 'escalated', escalation_level = {level}, escalated_at = :now,
            version = m.version + 1, updated_at = clock_timestamp()"""


@dataclass(frozen=True)
class _Rung:
    step: str
    template: str
    who: str  # the accounts told (SQL joined to the matter's primary grid)
    kind: str
    due: str  # which matters (SQL on matters)
    moves: str  # what changes (SQL SET)


def _move(session: Session, params: dict, rung: _Rung, where: str) -> list:
    """The rung's matters `due` (locked, so that a step committing first wins) get
    `moves`, and a matter_steps row each, in one statement; returns the moved rows."""
    return session.execute(text(f"""
        WITH due AS (
            SELECT id, state, escalation_level FROM matters WHERE {rung.due}{where}
            FOR UPDATE
        ), moved AS (
            UPDATE matters m SET {rung.moves} FROM due WHERE m.id = due.id
            RETURNING m.id, m.county_code, m.state, m.escalation_level, m.version,
                      m.accept_due_at, due.state AS from_state,
                      due.escalation_level AS from_level
        ), steps AS (
            INSERT INTO matter_steps (id, matter_id, county_code, step, from_state, to_state,
                                      actor_id, actor_name, at, data)
            SELECT gen_random_uuid(), id, county_code, :step, from_state, state, NULL,
                   :actor, :now, jsonb_build_object('level', escalation_level,
                                                    'accept_due_at', accept_due_at)
            FROM moved
        )
        SELECT id, state, escalation_level, version, accept_due_at, from_state, from_level
        FROM moved
    """), {**params, "step": rung.step, "actor": STEP_ACTOR}).all()


def _record(step: str, r) -> tuple:
    """The audit record of one moved matter."""
    return ("step", "matter", str(r.id),
            {"state": r.from_state, "escalation_level": r.from_level},
            {"step": step, "state": r.state, "escalation_level": r.escalation_level,
             "version": r.version, "accept_due_at": r.accept_due_at})


def _tell(session: Session, params: dict, rung: _Rung, rows: list) -> int:
    """The rung's notifications, one per moved matter and account told; how many new."""
    prefix = "remind" if rung.step == "remind" else f"escalate:{rows[0].escalation_level}"
    extra = (", 'due', to_char(m.accept_due_at AT TIME ZONE 'Asia/Shanghai', "
             "'YYYY-MM-DD HH24:MI')") if rung.step == "remind" else ""
    select = _notifications(rung.kind, rung.template, rung.who, _deadline_key(prefix),
                            "m.id = ANY(:ids)", extra).bindparams(
        bindparam("ids", type_=ARRAY(Uuid)))
    used = {k: v for k, v in params.items() if f":{k}" in str(select)}
    return notify(session, select.bindparams(ids=[r.id for r in rows], **used))


# --- the court's urgent call -----------------------------------------------------------

def shows_urgent(matter: Matter) -> bool:
    """紧急: the court called for urgent assistance and nobody has accepted it yet."""
    return matter.urgent_at is not None and matter.state in (MatterState.assigned,
                                                             MatterState.escalated)


def notify_urgent(session: Session, matter: Matter, now: datetime) -> int:
    """The town centre and the county committee of the matter's grid, at once."""
    session.flush()
    written = 0
    for who in (_TOWN_CENTRE, _COMMITTEE):
        select = text(f"""
            SELECT u.id, 'urgent', m.id, CAST(:template AS text),
                   jsonb_build_object('case', m.case_number, 'grid', g.name,
                                      'court', c.name),
                   'urgent:' || m.id || ':' || u.id, CAST(:now AS timestamptz)
            {who}
            JOIN courts c ON c.id = m.court_id
            WHERE m.id = :id
        """).bindparams(template=URGENT, now=now, id=matter.id).columns()
        written += notify(session, select)
    return written


def urgent_call(session: Session, matter: Matter, actor, *, note: str | None = None,
                now: datetime | None = None):
    """紧急协助: the court cannot reach the liaison. The matter (from workflow.begin)
    is marked urgent and both levels above the grid are notified in the same
    transaction; a second call is refused."""
    from models.workflow import STEPS, StepError, _check, step

    _check(session, matter, actor, "urgent", STEPS["urgent"], note=note)
    if matter.urgent_at is not None:
        raise StepError("invalid", N_("Urgent assistance was already called for at %(at)s."),
                        at=matter.urgent_at.astimezone(clock.SITE_ZONE)
                        .strftime("%Y-%m-%d %H:%M"))
    now = now or clock.now()

    def mark() -> None:
        matter.urgent_at = now

    row = step(session, matter, actor, "urgent", None, note=note, move=mark)
    notify_urgent(session, matter, now)
    return row

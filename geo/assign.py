"""From a filed matter to the grid that answers for it.

Every address of a new matter is located (geo.locate). The matter type's
precedence (models.assignments.Precedence, edited by admins) orders the
addresses; the first one located decides the primary grid and its liaison on
duty; every other grid found becomes a co-assisting grid. When no address is
located the matter waits for a person — in the review queue when there are
candidates to choose from (or a low score), in the manual queue when nothing
was recognised — and nothing is ever dropped.

A person then picks the grid (`pick_grid`), the grid may say "not ours"
(`return_matter`, with a reason), and court staff may move a matter
(`reroute`, with a reason). Each ends the previous assignment with its reason
and starts a new one; the audit trail records every step.

`assign_stored_points` is the set-based path for matters loaded in bulk with
points: one SQL statement joins the stored points to the current grids.

Every way into a grid fixes the matter's deadlines by the rules in force at that
moment (models.deadlines: a move to another grid restarts both clocks).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo.gazetteer import Parsed, gazetteer
from geo.locate import place_json, resolve_points, resolve_texts
from models import clock, deadlines, workflow
from models.assignments import DEFAULT_PRECEDENCE, Assignment, AssignmentRole, Precedence
from models.filing import MatterInput, build_matter
from models.grids import N_, Generation, Grid, GridLevel
from models.matter_types import MatterType
from models.matters import AddressKind, Matter, MatterAddress, MatterState
from models.roster import RosterEntry, RosterRole


class RoutingError(ValueError):
    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


def file_matter(session: Session, data: MatterInput, *, officer=None,
                created_by=None) -> tuple[Matter, bool]:
    """Validate and file a matter, and route it; an identical earlier filing is
    returned as it is, with False. Raises models.filing.FilingError."""
    matter, created = build_matter(session, data, officer=officer, created_by=created_by)
    if created:
        assign_many(session, [matter], actor=created_by)
    return matter, created


def assign_matter(session: Session, matter: Matter, *, actor=None) -> None:
    assign_many(session, [matter], actor=actor)


def precedence(session: Session) -> dict[MatterType, tuple[AddressKind, ...]]:
    rows = {row.matter_type: row.order() for row in session.scalars(select(Precedence))}
    return {t: rows.get(t, DEFAULT_PRECEDENCE[t]) for t in MatterType}


def assign_many(session: Session, matters: list[Matter], *, actor=None,
                flush: bool = True) -> None:
    """Locate every address of these new matters (one query per kind of lookup for
    all of them) and assign each matter, or queue it for a person. Nothing is
    flushed until the end: new matters are inserted once, already assigned (by the
    caller, with flush=False: models.bulk.insert_new)."""
    with session.no_autoflush:
        gaz = gazetteer(session)
        texts = [a for m in matters for a in m.addresses if a.geom is None and a.text]
        points = [a for m in matters for a in m.addresses if a.geom is not None]
        found: dict[int, Parsed] = {}
        for address, parsed in zip(texts, resolve_texts(session, gaz, [a.text for a in texts]),
                                   strict=True):
            found[id(address)] = parsed
        for address, parsed in zip(points,
                                   resolve_points(session, gaz, [_lonlat(a) for a in points]),
                                   strict=True):
            found[id(address)] = parsed
        orders = precedence(session)
        generation = session.scalar(select(func.max(Generation.id)))
        grids = _grid_rows(session, {p.places[0].code for p in found.values()
                                     if p.status == "matched"})
        liaisons = _liaisons(session, grids.values())
        at, dues = clock.now(), {}
        for matter in matters:
            for address in matter.addresses:
                _record(address, found.get(id(address)), grids)
            _decide(session, matter, orders[matter.matter_type], generation, liaisons, actor)
            if matter.state is MatterState.assigned:
                deadlines.fix(session, matter, at, cache=dues)
    if flush:
        session.flush()


def _lonlat(address: MatterAddress) -> tuple[float, float]:
    geom = address.geom
    if isinstance(geom, str):  # as models.filing wrote it: SRID=4326;POINT(lon lat)
        lon, lat = geom.split("(")[1].rstrip(")").split()
        return float(lon), float(lat)
    from geoalchemy2.shape import to_shape
    point = to_shape(geom)
    return point.x, point.y


def _grid_rows(session: Session, codes: set[str]) -> dict[str, Grid]:
    if not codes:
        return {}
    return {g.code: g for g in session.scalars(Grid.current().where(Grid.code.in_(codes)))}


def _liaisons(session: Session, grids) -> dict:
    """The liaison on duty (person id) of each grid, in one query."""
    ids = [g.id for g in grids]
    if not ids:
        return {}
    rows = session.execute(select(RosterEntry.grid_id, RosterEntry.person_id).where(
        RosterEntry.grid_id.in_(ids), RosterEntry.role == RosterRole.liaison,
        RosterEntry.id.in_(RosterEntry.current().with_only_columns(RosterEntry.id))))
    return dict(rows.all())


def _liaison(session: Session, grid: Grid):
    return _liaisons(session, [grid]).get(grid.id)


def _record(address: MatterAddress, parsed: Parsed | None, grids: dict[str, Grid]) -> None:
    if parsed is None:  # neither text nor point: models.filing refuses such addresses
        address.status, address.reason = "unmatched", N_("the address is empty")
        return
    address.status, address.confidence = parsed.status, parsed.grid_confidence
    address.method = parsed.method or ("division" if parsed.places else None)
    address.reason, address.reason_params = parsed.reason, parsed.params or None
    address.grid = grids.get(parsed.places[0].code) if parsed.status == "matched" else None
    address.candidates = ([place_json(p) for p in parsed.places]
                          if parsed.status != "matched" or len(parsed.places) > 1 else None)


def _decide(session, matter, order, generation, liaisons, actor) -> None:
    rank = {kind: i for i, kind in enumerate(order)}
    addresses = sorted(matter.addresses, key=lambda a: (rank.get(a.kind, 99), a.position))
    located = [a for a in addresses if a.status == "matched" and a.grid is not None]
    if located:
        primary = located[0]
        _assign(session, matter, primary.grid, liaisons.get(primary.grid.id),
                AssignmentRole.primary, primary.method, primary.confidence, generation, actor,
                address=primary)
        seen = {primary.grid.code}
        for address in located[1:]:
            if address.grid.code not in seen:
                seen.add(address.grid.code)
                _assign(session, matter, address.grid, liaisons.get(address.grid.id),
                        AssignmentRole.co_assisting, address.method, address.confidence,
                        generation, actor, address=address)
        matter.move_to(MatterState.assigned)
        matter.queue_reason = matter.queue_params = None
        return
    waiting = next((a for a in addresses if a.status == "ambiguous"), None)
    if waiting is not None:
        matter.move_to(MatterState.review)
    else:
        waiting = addresses[0] if addresses else None
        matter.move_to(MatterState.manual)
    matter.queue_reason = waiting.reason if waiting else N_("no address was given")
    matter.queue_params = waiting.reason_params if waiting else None


def _assign(session, matter, grid, liaison_id, role, method, confidence, generation, actor,
            address=None) -> Assignment:
    assignment = Assignment(
        matter=matter, county_code=grid.code[:6], grid=grid, role=role, method=method,
        confidence=confidence, address=address, generation_id=generation,
        liaison_id=liaison_id, created_by_id=getattr(actor, "id", None))
    session.add(assignment)
    return assignment


def _routable_grid(grid: Grid) -> None:
    if grid is None or not grid.is_current or grid.level not in (GridLevel.town,
                                                                 GridLevel.village):
        raise RoutingError(N_("choose a current town or village grid"))


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise RoutingError(N_("say why (a reason of at least two characters)"))
    return reason


def _end_primary(matter: Matter, reason: str) -> None:
    current = matter.primary_assignment
    if current is not None:
        current.ended_at, current.end_reason = datetime.now(UTC), reason


def pick_grid(session: Session, matter: Matter, grid: Grid, *, method: str = "candidate",
              actor=None) -> Assignment:
    """A person places a waiting matter (review, manual or returned) in a grid."""
    if matter.state not in (MatterState.review, MatterState.manual, MatterState.returned):
        raise RoutingError(N_("only a matter waiting in a queue can be placed this way"))
    if method not in ("candidate", "map"):
        raise RoutingError(N_("unknown way of choosing: %(method)s"), method=method)
    _routable_grid(grid)
    matter.move_to(MatterState.assigned)
    generation = session.scalar(select(func.max(Generation.id)))
    assignment = _assign(session, matter, grid, _liaison(session, grid), AssignmentRole.primary,
                         method, 1.0, generation, actor)
    matter.queue_reason = matter.queue_params = None
    deadlines.fix(session, matter)
    session.flush()
    return assignment


def return_matter(session: Session, matter: Matter, reason: str, *, actor=None) -> None:
    """The grid says "not ours": the assignment ends with the reason and the matter
    goes back to the review queue."""
    reason = _reason(reason)
    matter.move_to(MatterState.returned)
    _end_primary(matter, reason)
    matter.queue_reason = N_("returned by the grid: %(reason)s")
    matter.queue_params = {"reason": reason}
    session.flush()


def reroute(session: Session, matter: Matter, grid: Grid, reason: str, *,
            actor=None) -> Assignment:
    """Court staff or an admin move a matter to another grid, saying why."""
    reason = _reason(reason)
    _routable_grid(grid)
    current = matter.primary_assignment
    if current is not None and current.grid_id == grid.id:
        raise RoutingError(N_("the matter is already with %(grid)s"), grid=grid.name)
    matter.move_to(MatterState.assigned)
    _end_primary(matter, reason)
    session.flush()  # the ended assignment leaves the one-primary index before the new one
    generation = session.scalar(select(func.max(Generation.id)))
    assignment = _assign(session, matter, grid, _liaison(session, grid), AssignmentRole.primary,
                         "reroute", 1.0, generation, actor)
    matter.queue_reason = matter.queue_params = None
    deadlines.fix(session, matter)  # the new grid's clocks start now
    session.flush()
    return assignment


# The grid steps of a matter's life (models.workflow) move it with these.
workflow.lend_move("return", return_matter)
workflow.lend_move("reroute", reroute)
workflow.lend_move("place", pick_grid)


# -- set-based: matters loaded in bulk with points -------------------------------------

# Why SQL: a million stored points against tens of thousands of polygons is one join
# that PostGIS plans over both GiST indexes (in parallel); row by row it is 100× slower.
# Its fastest plan is driven by the polygons (each is prepared once and probes the
# points' index) in parallel workers; grouping by address in the same statement keeps
# it parallel (a window over the join sorted it in one process). `level::text` keeps
# the partial index of current village polygons (made for single-point lookups) out of
# this statement: with it PostgreSQL drives the join by the points instead, five
# times slower on a million points (bench/RESULTS.md, part (a)). The shared-edge
# rule: of several covering grids, the lowest code (a village code has 12 digits, so
# the least code || id is that grid's), with a lower confidence.
_STORED_POINTS_STEPS = (
    ("ranked", """
        CREATE TEMP TABLE ranked ON COMMIT DROP AS
        SELECT r.matter_id, r.address_id, r.position,
               array_position(p.kinds, r.kind::text) AS kind_rank,
               left(r.lowest, 12) AS code, substr(r.lowest, 13)::uuid AS grid_id, r.covering
        FROM (SELECT a.id AS address_id, a.matter_id, a.position, a.kind, m.matter_type,
                     min(g.code || g.id::text) AS lowest, count(*) AS covering
              FROM matter_addresses a
              JOIN matters m ON m.id = a.matter_id AND m.state = 'new' {where}
              JOIN grids g ON g.generation_high IS NULL AND g.level::text = 'village'
               AND ST_Covers(g.geom, a.geom)
              WHERE a.geom IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM matter_addresses t WHERE t.matter_id = m.id AND t.geom IS NULL)
              GROUP BY a.id, m.matter_type) r
        JOIN assignment_precedence p ON p.matter_type = r.matter_type"""),
    # Assigned with their deadlines (models.deadlines), by the rule for their type and
    # urgency at the app's clock: the rules are read once per pair, not per matter.
    # Before their assignments are written: models.areas' rows, made by the assignments'
    # trigger in one statement, then read the matters' final state and due moment
    # (after, each matter's own trigger would update its rows one at a time).
    ("assigned", """
        UPDATE matters m SET state = 'assigned', accept_due_at = d.accept_due,
               finish_due_at = d.finish_due
        FROM ({dues}) d
        WHERE m.state = 'new' AND m.id IN (SELECT matter_id FROM ranked) {where}
          AND d.kind = m.matter_type AND d.urg = m.urgency"""),
    ("assignments", """
        INSERT INTO assignments (id, matter_id, county_code, grid_id, role, method, confidence,
                                 address_id, generation_id, liaison_id, created_at)
        SELECT gen_random_uuid(), r.matter_id, left(r.code, 6), r.grid_id,
               (CASE WHEN r.first THEN 'primary' ELSE 'co_assisting' END)::assignment_role,
               'point', CASE WHEN r.covering > 1 THEN 0.9 ELSE 1.0 END, r.address_id,
               :generation, e.person_id, now()
        FROM (SELECT DISTINCT ON (matter_id, grid_id) *,
                     grid_id = first_value(grid_id) OVER (
                         PARTITION BY matter_id ORDER BY kind_rank, position) AS first
              FROM ranked ORDER BY matter_id, grid_id, kind_rank, position) r
        LEFT JOIN roster_entries e ON e.grid_id = r.grid_id AND e.role = 'liaison'
         AND e.valid_from <= current_date AND (e.valid_to IS NULL OR e.valid_to > current_date)"""),
    ("addresses", """
        UPDATE matter_addresses a SET status = 'matched', method = 'point', grid_id = r.grid_id,
               confidence = CASE WHEN r.covering > 1 THEN 0.9 ELSE 1.0 END
        FROM ranked r WHERE a.id = r.address_id"""),
    ("manual", """
        UPDATE matters m SET state = 'manual',
               queue_reason = 'the point lies outside every grid of the served area'
        WHERE m.state = 'new' {where}
          AND EXISTS (SELECT 1 FROM matter_addresses a
                      WHERE a.matter_id = m.id AND a.geom IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM matter_addresses a
                          WHERE a.matter_id = m.id AND a.geom IS NULL)"""),
)


def assign_stored_points(session: Session, county_code: str | None = None) -> dict[str, int]:
    """Assign, set-based and in the caller's transaction, every new matter whose
    addresses are all stored points (optionally of one county: the distribution
    key, so counties can run side by side). Returns the rows of each step."""
    session.flush()
    session.execute(text("DROP TABLE IF EXISTS ranked"))
    where = "AND m.county_code = :county" if county_code else ""
    params = {"generation": session.scalar(select(func.max(Generation.id))),
              "county": county_code, "at": clock.now()}
    # For these few large statements only: sorts of a million rows in memory, not on
    # disk, and no JIT compilation (it buys nothing when the time is spent in PostGIS).
    settings = {"work_mem": "256MB", "jit": "off"}
    before = {name: session.scalar(text("SELECT current_setting(:n)"), {"n": name})
              for name in settings}
    for name, value in settings.items():  # local: a failed step ends them with the transaction
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    counts = {}
    for name, sql in _STORED_POINTS_STEPS:
        statement = sql.format(where=where, dues=deadlines.DUES_BY_KIND)
        used = {k: v for k, v in params.items() if f":{k}" in statement}
        counts[name] = session.execute(text(statement), used).rowcount
    for name, value in before.items():
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    return counts

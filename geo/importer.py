"""Boundary import: a file of polygons (from a town, a survey, a web map) is checked
feature by feature against itself and the current grids, and only on request
written as one new boundary generation.

Two steps, shared by the command line and any upload page:

- `prepare_import(session, path, options)` reads the file and checks every feature,
  writing nothing. It returns an `ImportReport`: one row per feature, `ok`,
  `repaired` (made valid, saying what changed), `unchanged` (same name, same shape
  within a centimetre) or `rejected` with the reason.
- `commit_import(session, report)` writes a report prepared in the same
  transaction: one new Generation "import: <file>", each redrawn grid keeping its
  old boundary as history (models.grids), new grids inserted under their parents.
  It flushes; the caller commits. A page that shows a report and commits on a later
  request prepares again on that request: the grids may have changed in between.

A feature's parent is named by a field, else it is the current grid of the level
above that holds most of its area; the parent may also be a feature of the same
file (a new town with its villages). A child may stray outside its parent by
drawing noise, not more: the part outside must stay within 1% of its area and
within 50 m of the parent.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.gcj02 import geometry_to_wgs84
from geo.import_file import ImportOptions, ImportRefused, read_features
from geo.sql import refresh_statistics
from geo.topology import DEFAULT_TOLERANCE_M, Problem, check
from models import Generation, Grid, GridCodeError, GridLevel
from models.grids import N_, check_code

__all__ = ["ImportOptions", "ImportRefused", "ImportReport", "Row", "commit_import",
           "prepare_import", "repair"]

MAX_REPAIR_AREA_CHANGE = 0.05
MIN_PARENT_SHARE = 0.5
MAX_SPILL_SHARE = 0.01
MAX_SPILL_REACH_M = 50.0
SAME_SHAPE_M = 0.01  # closer than this, a boundary is the same one sent again

OK, REPAIRED, UNCHANGED, REJECTED = "ok", "repaired", "unchanged", "rejected"


class FeatureRejected(Exception):
    """One feature cannot be imported; `template % params` says why."""

    def __init__(self, template: str, **params):
        super().__init__(template)
        self.template, self.params = template, params


@dataclass
class Row:
    """One feature of the file and what became of it. `template % params` is the
    reason or detail in English; a page can translate the template instead."""

    feature: int
    code: str | None = None
    name: str | None = None
    level: GridLevel | None = None
    parent_code: str | None = None
    status: str = OK
    change: str = ""  # new | redrawn | renamed | redrawn, renamed
    template: str = ""
    params: dict = field(default_factory=dict)
    geometry: MultiPolygon | None = field(default=None, repr=False)
    grid_id: uuid.UUID | None = None  # the current grid with this code
    parent_id: uuid.UUID | None = None  # None when the parent is new, in the file

    @property
    def good(self) -> bool:
        return self.status in (OK, REPAIRED)

    @property
    def reason(self) -> str:
        return self.template % self.params if self.template else ""

    def reject(self, template: str, **params) -> None:
        self.status, self.change, self.template, self.params = REJECTED, "", template, params

    def line(self) -> str:
        return (f"{self.feature:>4}  {_pad(self.code or '-', 15)} {_pad(self.name or '-', 14)} "
                f"{self.status:9} {self.change:16} {self.reason}").rstrip()

    def as_dict(self) -> dict:
        return {"feature": self.feature, "code": self.code, "name": self.name,
                "level": self.level.value if self.level else None,
                "parent_code": self.parent_code, "status": self.status,
                "change": self.change or None, "reason": self.reason or None}


@dataclass
class ImportReport:
    filename: str
    coordinates: str  # where the coordinates came from, in words
    rows: list[Row]
    notes: list[str] = field(default_factory=list)  # what the reader warned about
    generation_id: int | None = None  # set by commit_import

    @property
    def rejected(self) -> list[Row]:
        return [r for r in self.rows if r.status == REJECTED]

    @property
    def to_write(self) -> list[Row]:
        return [r for r in self.rows if r.good]

    def counts(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.rows)
        counts.update(c for r in self.to_write for c in r.change.split(", "))
        return {k: counts[k] for k in (OK, REPAIRED, UNCHANGED, REJECTED,
                                       "new", "redrawn", "renamed")}

    def summary(self) -> str:
        c = self.counts()
        changes = ", ".join(f"{c[k]} {k}" for k in ("new", "redrawn", "renamed") if c[k])
        return (f"{self.filename}: {len(self.rows)} features — {c[OK]} ok, "
                f"{c[REPAIRED]} repaired, {c[UNCHANGED]} unchanged, {c[REJECTED]} rejected"
                + (f" ({changes})" if changes else "") + f"; coordinates {self.coordinates}")

    def json_lines(self) -> list[str]:
        tail = {"summary": self.counts(), "file": self.filename,
                "coordinates": self.coordinates, "generation": self.generation_id}
        return [json.dumps(d, ensure_ascii=False) for d in
                [r.as_dict() for r in self.rows] + [tail]]


def _pad(value: str, width: int) -> str:
    """Pad to a column width as a terminal shows it (a Chinese character is two wide)."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)
    return value + " " * max(width - shown, 0)


# ------------------------------------------------------- checks of each feature alone

def level_of_code(code: str) -> GridLevel | None:
    """12 digits: county (…000000), town (…000) or village; 15: micro-grid."""
    if len(code) == 15:
        return GridLevel.microgrid
    if len(code) != 12:
        return None
    if code.endswith("000000"):
        return GridLevel.county
    return GridLevel.town if code.endswith("000") else GridLevel.village


def _polygons(geometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    return [p for part in getattr(geometry, "geoms", []) for p in _polygons(part)]


def repair(geometry) -> tuple[MultiPolygon, str, dict]:
    """A valid MultiPolygon for a polygonal geometry, with what was done to it
    (empty template when nothing was). Raises FeatureRejected when make_valid leaves no
    polygon, or changes the area by more than 5%: then the repair would be a guess."""
    if geometry.is_valid:
        return MultiPolygon(_polygons(geometry)), "", {}
    reason = shapely.is_valid_reason(geometry)
    where = re.search(r"\[(\S+) (\S+)\]", reason)
    problem = reason.split("[")[0].lower()
    at = {"problem": problem, "lon": float(where.group(1)) if where else float("nan"),
          "lat": float(where.group(2)) if where else float("nan")}
    pieces = _polygons(shapely.make_valid(geometry))
    if not pieces:
        raise FeatureRejected(N_("invalid polygon: %(problem)s at (%(lon).6f %(lat).6f), and "
                                 "nothing of it is left as a polygon once repaired"), **at)
    fixed = MultiPolygon(pieces)
    if not fixed.is_valid:
        fixed = MultiPolygon(_polygons(shapely.union_all(pieces)))
    # The area as drawn counts a lobe drawn the wrong way round as negative; make_valid
    # counts every lobe. A small difference is a slip of the pen, a large one a guess.
    if geometry.area == 0:
        raise FeatureRejected(N_("invalid polygon: %(problem)s at (%(lon).6f %(lat).6f); as "
                                 "drawn its parts cancel out to no area, so any repair would "
                                 "be a guess"), **at)
    change = abs(fixed.area - geometry.area) / geometry.area
    if change > MAX_REPAIR_AREA_CHANGE:
        raise FeatureRejected(N_("invalid polygon: %(problem)s at (%(lon).6f %(lat).6f); "
                                 "repairing it would change its area by %(change).0f%%, more "
                                 "than 5%%"), **at, change=change * 100)
    at.update(change=change * 100, parts=len(fixed.geoms))
    before = len(_polygons(geometry))
    if len(fixed.geoms) > before:
        template = N_("%(problem)s at (%(lon).6f %(lat).6f) split into %(parts)d polygons; "
                      "area change %(change).2f%%")
    elif len(fixed.geoms) < before:
        template = N_("%(problem)s at (%(lon).6f %(lat).6f): overlapping parts merged into "
                      "%(parts)d; area change %(change).2f%%")
    else:
        template = N_("%(problem)s at (%(lon).6f %(lat).6f) repaired; area change "
                      "%(change).2f%%")
    return fixed, template, at


def _check_alone(row: Row, wkb, options: ImportOptions) -> None:
    """What can be said of a feature without the database. Raises FeatureRejected."""
    try:
        with np.errstate(invalid="ignore"):  # NaN coordinates: said below
            geometry = None if wkb is None else shapely.force_2d(shapely.from_wkb(wkb))
    except shapely.errors.GEOSException as e:
        raise FeatureRejected(N_("unreadable geometry: %(error)s"), error=str(e)) from e
    if geometry is None or geometry.is_empty:
        raise FeatureRejected(N_("empty geometry"))
    if not np.isfinite(shapely.get_coordinates(geometry)).all():
        raise FeatureRejected(N_("coordinates that are not numbers (Infinity or NaN)"))
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise FeatureRejected(N_("not a polygon but a %(kind)s"), kind=geometry.geom_type)
    if options.crs == "gcj02":
        geometry = geometry_to_wgs84(geometry)
    if row.code is None:
        raise FeatureRejected(N_("no code"))
    row.level = options.level or level_of_code(row.code)
    if row.level is None:
        raise FeatureRejected(N_("bad code: cannot tell the level of %(code)s (division codes "
                                 "have 12 digits, micro-grid codes 15)"), code=row.code)
    try:  # the code on its own; it is checked against its parent later
        check_code(row.code, row.level, row.code)
    except GridCodeError as e:
        raise FeatureRejected("bad code: " + e.template, **e.params) from e
    row.geometry, row.template, row.params = repair(geometry)
    row.status = REPAIRED if row.template else OK


# How many feature numbers a duplicate code's rejection names: the report stays one
# short line per feature however many features share the code.
SHOWN_DUPLICATES = 5


def _reject_duplicates(rows: list[Row]) -> None:
    """Reject every feature whose code is on another: the first of them says how many
    share it and names the first few, the others point back to the first feature."""
    features = defaultdict(list)
    for row in rows:
        if row.code:
            features[row.code].append(row.feature)
    told = set()
    for row in rows:
        numbers = features.get(row.code, [])
        if len(numbers) < 2 or row.status == REJECTED:
            continue
        if row.code not in told:
            told.add(row.code)
            others = [n for n in numbers[:SHOWN_DUPLICATES + 1] if n != row.feature]
            row.reject(N_("duplicate code: %(code)s is on %(count)d features (also %(shown)s"
                          "%(more)s)"), code=row.code, count=len(numbers),
                       shown=", ".join(map(str, others[:SHOWN_DUPLICATES])),
                       more=", …" if len(numbers) > SHOWN_DUPLICATES + 1 else "")
        else:
            row.reject(N_("duplicate code: %(code)s, as on feature %(first)d"),
                       code=row.code, first=numbers[0])


# ------------------------------------------------------- checks against the grids

# The possible parents of one level: the file's own good features of that level (by
# array parameters), and the current grids that the file does not redraw.
PARENTS = """p AS (
  SELECT id, code, name, geom FROM grids
  WHERE generation_high IS NULL AND level = CAST(:parent_level AS grid_level)
    AND code <> ALL(CAST(:good_codes AS text[]))
  UNION ALL
  SELECT NULL, code, name, ST_GeomFromWKB(w, 4326)
  FROM unnest(CAST(:good_codes AS text[]), CAST(:good_names AS text[]),
              CAST(:good_wkb AS bytea[])) AS t(code, name, w))"""

# Each feature's parent — the one it names, else the one holding most of its area —
# and the part of the feature outside it. One statement for all features of a level.
PLACE = f"""
WITH {PARENTS},
f AS (SELECT n, ST_GeomFromWKB(w, 4326) AS geom, pc, code
      FROM unnest(CAST(:n AS int[]), CAST(:w AS bytea[]), CAST(:pc AS text[]),
                  CAST(:code AS text[])) AS t(n, w, pc, code)),
candidate AS (
  SELECT f.n, f.geom, f.code AS fcode, p.id, p.code, p.name, p.geom AS pgeom
  FROM f JOIN p ON p.code = f.pc
  UNION ALL
  SELECT f.n, f.geom, f.code, p.id, p.code, p.name, p.geom FROM f JOIN p
    ON f.pc IS NULL AND p.geom && f.geom AND ST_Intersects(p.geom, f.geom)),
pick AS (  -- of parents that overlap each other (an old town and its successor in the
           -- file), the one the feature's code belongs to
  SELECT DISTINCT ON (n) *, ST_Area(ST_Intersection(geom, pgeom)) / ST_Area(geom) AS share
  FROM candidate
  ORDER BY n, round(CAST(ST_Area(ST_Intersection(geom, pgeom)) / ST_Area(geom) AS numeric), 4)
           DESC, left(code, :prefix) = left(fcode, :prefix) DESC),
spill AS (SELECT *, ST_Difference(geom, pgeom) AS part FROM pick)
SELECT n, id, code, name, share, ST_Area(part::geography) / ST_Area(geom::geography),
       ST_X(ST_PointOnSurface(part)), ST_Y(ST_PointOnSurface(part)),
       CASE WHEN ST_IsEmpty(part) THEN NULL ELSE ST_AsBinary(part) END
FROM spill"""

# Whether each (small) spill stays within reach of its parent; each parent buffered once.
WITHIN_REACH = f"""
WITH {PARENTS},
b AS MATERIALIZED (SELECT code, ST_Buffer(geom::geography, :reach)::geometry AS geom
                   FROM p WHERE code = ANY(CAST(:pc AS text[])))
SELECT n, ST_CoveredBy(ST_GeomFromWKB(w, 4326), b.geom)
FROM unnest(CAST(:n AS int[]), CAST(:w AS bytea[]), CAST(:pc AS text[])) AS t(n, w, pc)
JOIN b ON b.code = t.pc"""


PARENT_DIGITS = {GridLevel.town: 6, GridLevel.village: 9, GridLevel.microgrid: 12}


def _parents_params(rows: list[Row], parent_level: GridLevel) -> dict:
    good = [r for r in rows if r.level is parent_level and r.good]
    return {"parent_level": parent_level.value,
            "good_codes": [r.code for r in good], "good_names": [r.name for r in good],
            "good_wkb": [shapely.to_wkb(r.geometry) for r in good]}


def _place_level(session: Session, rows: list[Row], level: GridLevel) -> None:
    """Find the parent of each good feature of `level` and reject those that are
    not inside it (within tolerance) or whose code does not fit it."""
    todo = {r.feature: r for r in rows if r.level is level and r.good}
    if not todo or level.parent is None:
        return
    parents = _parents_params(rows, level.parent)
    found = session.execute(text(PLACE), parents | {
        "n": list(todo), "w": [shapely.to_wkb(r.geometry) for r in todo.values()],
        "pc": [r.parent_code for r in todo.values()],
        "code": [r.code for r in todo.values()], "prefix": PARENT_DIGITS[level]}).all()
    placed = {n: rest for n, *rest in found}
    rejected_in_file = {r.code for r in rows if r.level is level.parent and not r.good}
    for n, row in todo.items():
        if n in placed:
            _judge_placement(row, *placed[n])
        elif row.parent_code in rejected_in_file:
            row.reject(N_("parent missing: %(parent)s is rejected in this file"),
                       parent=row.parent_code)
        elif row.parent_code:
            row.reject(N_("parent missing: no current %(level)s has the code %(parent)s"),
                       level=level.parent.value, parent=row.parent_code)
        else:
            row.reject(N_("parent missing: no current %(level)s overlaps it"),
                       level=level.parent.value)
    _check_reach(session, parents, [(row, placed[n]) for n, row in todo.items()
                                    if row.good and placed[n][-1] is not None])


def _judge_placement(row: Row, parent_id, parent_code, parent_name, share, spill_share,
                     lon, lat, spill_wkb) -> None:
    about = {"parent": parent_code, "parent_name": parent_name, "lon": lon, "lat": lat}
    named = row.parent_code is not None
    if not named and share < MIN_PARENT_SHARE:
        row.reject(N_("outside its parent: at most %(share).0f%% of it lies in one "
                      "%(level)s (%(parent_name)s %(parent)s)"),
                   share=share * 100, level=row.level.parent.value, **about)
        return
    row.parent_code, row.parent_id = parent_code, parent_id
    try:
        check_code(row.code, row.level, parent_code)
    except GridCodeError as e:
        if named:
            row.reject("bad code: " + e.template, **e.params)
        else:  # only the prefix can be wrong here: it lies mostly in another parent
            row.reject(N_("outside its parent: %(share).0f%% of it lies in %(parent_name)s "
                          "%(parent)s, which its code does not belong to"),
                       share=share * 100, **about)
        return
    if spill_share > MAX_SPILL_SHARE:
        row.reject(N_("outside its parent: %(share).1f%% of its area lies outside "
                      "%(parent_name)s %(parent)s, near (%(lon).6f %(lat).6f)"),
                   share=spill_share * 100, **about)


def _check_reach(session: Session, parents: dict, spilling: list) -> None:
    """Reject the features whose (small) part outside the parent reaches too far."""
    if not spilling:
        return
    near = dict(session.execute(text(WITHIN_REACH), parents | {
        "reach": MAX_SPILL_REACH_M, "n": [row.feature for row, _ in spilling],
        "w": [bytes(found[-1]) for _, found in spilling],
        "pc": [row.parent_code for row, _ in spilling]}).all())
    for row, (_, code, name, _, _, lon, lat, _) in spilling:
        if not near[row.feature]:
            row.reject(N_("outside its parent: part of it reaches more than %(reach).0f m "
                          "beyond %(parent_name)s %(parent)s, near (%(lon).6f %(lat).6f)"),
                       reach=MAX_SPILL_REACH_M, parent=code, parent_name=name, lon=lon, lat=lat)


# Each good feature beside the current grid of its code: the largest distance between
# the two boundaries (Hausdorff, with longitude scaled by cos(latitude) to make the
# degrees square, then in metres: a local approximation, good to a few per cent) and
# the change of area on the spheroid.
COMPARE = """
SELECT t.n, g.id, g.name, g.level::text,
       CASE WHEN ST_Equals(g.geom, f.geom) THEN 0 ELSE ST_HausdorffDistance(
         ST_Scale(g.geom, k, 1), ST_Scale(f.geom, k, 1)) * 111195 END,
       ST_Area(f.geom::geography) / ST_Area(g.geom::geography) - 1
FROM unnest(CAST(:n AS int[]), CAST(:code AS text[]), CAST(:w AS bytea[])) AS t(n, code, w)
CROSS JOIN LATERAL (SELECT ST_GeomFromWKB(t.w, 4326) AS geom) f
JOIN grids g ON g.code = t.code AND g.generation_high IS NULL
CROSS JOIN LATERAL (SELECT cos(radians(ST_Y(ST_Centroid(g.geom)))) AS k) s"""


def _compare_with_current(session: Session, rows: list[Row]) -> None:
    """Say what writing each good feature would do: new, redrawn, renamed or nothing."""
    good = {r.feature: r for r in rows if r.good}
    if not good:
        return
    current = {n: rest for n, *rest in session.execute(text(COMPARE), {
        "n": list(good), "code": [r.code for r in good.values()],
        "w": [shapely.to_wkb(r.geometry) for r in good.values()]})}
    for n, row in good.items():
        if n not in current:
            if row.name is None:
                row.reject(N_("no name (needed for a new grid)"))
            row.change = "new" if row.good else ""
            continue
        grid_id, name, level, moved_m, area_change = current[n]
        if level != row.level.value:
            row.reject(N_("code %(code)s is a %(current)s among the current grids, not a "
                          "%(level)s"), code=row.code, current=level, level=row.level.value)
            continue
        row.grid_id, row.name = grid_id, row.name or name
        redrawn = moved_m >= SAME_SHAPE_M
        row.change = ", ".join(c for c, differs in (("redrawn", redrawn),
                                                     ("renamed", row.name != name)) if differs)
        if not row.change:
            row.status, row.template, row.params = UNCHANGED, "", {}
        elif redrawn and row.status == OK:
            row.template = N_("boundary moved up to %(moved).0f m, area %(change)+.1f%%")
            row.params = {"moved": moved_m, "change": area_change * 100}


def prepare_import(session: Session, path: str | Path, options: ImportOptions | None = None
                   ) -> ImportReport:
    """Read and check a boundary file; write nothing. Raises ImportRefused when the
    file as a whole cannot be used."""
    path, options = Path(path), options or ImportOptions()
    contents = read_features(session, path, options)
    rows = []
    for feature in contents.features:
        row = Row(feature.number, feature.code, feature.name, parent_code=feature.parent_code)
        try:
            _check_alone(row, feature.wkb, options)
        except FeatureRejected as e:
            row.reject(e.template, **e.params)
        feature.wkb = None  # the shape lives on in the row: not two copies of the file
        rows.append(row)
    _reject_duplicates(rows)
    for level in GridLevel:  # parents first: a child may sit in a parent of the same file
        _place_level(session, rows, level)
    _compare_with_current(session, rows)
    return ImportReport(path.name, contents.coordinates, rows, contents.notes)


# ------------------------------------------------------------------- writing

def commit_import(session: Session, report: ImportReport, keep_good: bool = False,
                  valid_from: date | None = None) -> Generation | None:
    """Write a prepared report as one new generation (None when nothing changes).
    With rejected features, refuses unless keep_good: then only the good ones."""
    if report.rejected and not keep_good:
        raise ImportRefused(f"{len(report.rejected)} features were rejected: nothing written. "
                            f"Fix them, or keep the {len(report.to_write)} good ones "
                            "(--keep-good)")
    if not report.to_write:
        return None
    generation = Generation(label=f"import: {report.filename}"[:200],
                            valid_from=valid_from or date.today())
    session.add(generation)
    session.flush()
    written: dict[str, Grid] = {}
    order = list(GridLevel)
    for row in sorted(report.to_write, key=lambda r: order.index(r.level)):
        geom = from_shape(row.geometry, srid=4326)
        if row.grid_id is None:
            grid = Grid(code=row.code, name=row.name, level=row.level, geom=geom,
                        parent_id=row.parent_id, first_generation=generation)
            if row.parent_id is None and row.parent_code:  # a parent from the file
                grid.parent = written.get(row.parent_code) or session.scalar(
                    Grid.current().where(Grid.code == row.parent_code))
            session.add(grid)
        else:
            grid = session.get(Grid, row.grid_id)
            if "redrawn" in row.change:
                old_geom, grid.geom = grid.geom, geom
                grid.keep_history(session, old_geom, generation)  # keeps the old name too
            grid.name = row.name
        written[row.code] = grid
    session.flush()
    refresh_statistics(session)
    report.generation_id = generation.id
    return generation


# ------------------------------------------------------------------- topology

# How many leading digits of a code name the parent's area, per level.
_PARENT_DIGITS = {GridLevel.county: 0, GridLevel.town: 6, GridLevel.village: 9,
                  GridLevel.microgrid: 12}


def affected_prefix(report: ImportReport) -> str:
    """The code prefix of the smallest area holding every feature to write and its
    siblings (their common parent's digits): where a topology check must look."""
    prefixes = sorted(r.code[:_PARENT_DIGITS[r.level]] for r in report.to_write
                      if r.code and r.level)
    if not prefixes:
        return ""
    first, last = prefixes[0], prefixes[-1]  # sorted: what these two share, all share
    common = next((first[:i] for i in range(len(first)) if first[i] != last[i:i + 1]), first)
    return next((common[:n] for n in (12, 9, 6) if len(common) >= n), "")


def topology_after(session: Session, report: ImportReport,
                   tolerance_m: float = DEFAULT_TOLERANCE_M) -> list[Problem]:
    """What the topology check would find once the good features are written: the
    writing is tried in a savepoint and undone, so a dry run stays a dry run."""
    if not report.to_write:
        return []
    savepoint = session.begin_nested()
    try:
        commit_import(session, report, keep_good=True)
        return check(session, affected_prefix(report), tolerance_m)
    finally:
        savepoint.rollback()
        report.generation_id = None

"""The committee's maps: open matters (clustered by area when zoomed out) and
completion density (a choropleth per county, town or village, with overdue hot
spots).

Who sees them (models.access, "maps"): a committee its county (a city committee
the city), admins everything, and court staff their own courts' matters, as they
read them on the matter pages: a court president brings the map of the court's
requests to the committee's meeting. Town centres and the grids' people have their
matter lists instead.

The pages embed no polygon: the browser asks for the outlines of the box it shows,
at the detail of its zoom (geo.map_shapes, precomputed), and for the counts of the
areas in that box (geo.map_matters, aggregated in SQL). Every answer is scoped in
SQL and carries an ETag: a map moved back to where it was gets an empty 304.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from flask import Response, abort, jsonify, request
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from admin.auth import current_scope
from admin.jobs import work
from admin.views.grids import LEVEL_LABELS, county_options
from admin.views.matter_formatters import label
from admin.views.secure import refuse
from geo.map_counts import completion_by_area_kept, kept_counts, open_by_area_kept
from geo.map_matters import (
    MapFilter,
    completion_by_area,
    matter_summary,
    open_by_area,
    open_matters,
)
from geo.map_shapes import MAP_SHAPES_JOB, refresh_map_shapes, scope_bounds, shapes_in_box
from models import Court, GridLevel, clock, db
from models.grids import N_
from models.map_shapes import LEVELS
from models.matter_types import MATTER_TYPE_LABELS, MatterType
from models.matters import STATE_LABELS, MatterState

# Below this zoom the open matters are counted per area; from it, drawn one by one.
MATTERS_FROM_ZOOM = 13
ESCALATION_LABELS = {0: _l("With the grid"), 1: _l("Town centre"), 2: _l("County committee")}


def default_level(zoom: float) -> str:
    """The level a map shows when the reader has not chosen one."""
    return "county" if zoom < 9 else "town" if zoom < 11 else "village"


def _box() -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(v) for v in request.args["bbox"].split(","))
    except (KeyError, ValueError):
        abort(400, _("bbox=west,south,east,north and a level are required"))
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        abort(400, _("bbox=west,south,east,north and a level are required"))
    return west, south, east, north


def _zoom() -> float:
    try:
        return min(max(float(request.args.get("zoom", 9)), 0.0), 22.0)
    except ValueError:
        abort(400, _("zoom must be a number"))


def _level(zoom: float) -> str:
    level = request.args.get("level") or default_level(zoom)
    if level not in LEVELS:
        abort(400, _("bbox=west,south,east,north and a level are required"))
    return level


def _day(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, _("%(name)s must be a date (YYYY-MM-DD)", name=name))


def _filter() -> MapFilter:
    args = request.args
    try:
        matter_type = MatterType(args["type"]) if args.get("type") else None
        court_id = uuid.UUID(args["court"]) if args.get("court") else None
    except ValueError:
        abort(400, _("Unknown matter type or court"))
    county = args.get("county") or None
    if county and not (county.isdigit() and len(county) == 6):
        abort(400, _("Unknown county"))
    return MapFilter(matter_type, court_id, county, _day("since"), _day("until"))


def _cached(response: Response) -> Response:
    """Private to the account, asked again each time, answered 304 when unchanged."""
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.add_etag()
    return response.make_conditional(request)


class CommitteeMapBase(BaseView):
    template = ""

    def is_accessible(self):
        return current_scope().may("maps")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    def _page(self, **extra):
        scope = current_scope()
        courts = db.session.execute(
            select(Court.id, Court.name).where(scope.courts()).order_by(Court.name)).all()
        return self.render(
            self.template, types=MATTER_TYPE_LABELS, courts=courts,
            counties=county_options(), level_labels={lv.value: LEVEL_LABELS[lv] for lv in
                                                     (GridLevel.county, GridLevel.town,
                                                      GridLevel.village)},
            texts=_texts(), args=request.args, bounds=scope_bounds(db.session, scope),
            **extra)

    @expose("/shapes/")
    def shapes(self):
        zoom = _zoom()
        body = shapes_in_box(db.session, current_scope(), _level(zoom), zoom, _box())
        return _cached(Response(body, mimetype="application/json"))


class OpenMattersMapView(CommitteeMapBase):
    """Every open matter at its grid, coloured by state and overdue-ness."""

    template = "gridlink/committee_open_map.html"

    @expose("/")
    def index(self):
        return self._page(matters_from_zoom=MATTERS_FROM_ZOOM)

    @expose("/open/")
    def open_json(self):
        zoom, box, today, flt = _zoom(), _box(), clock.today(), _filter()
        scope_filter = current_scope().matters_on_maps()
        if zoom >= MATTERS_FROM_ZOOM:
            body = {"matters": open_matters(db.session, scope_filter, flt, box, today)}
        elif kept := _kept(flt):
            body = {"areas": open_by_area_kept(db.session, *kept, flt, _level(zoom), box),
                    "as_of": kept[0].as_of()}
        else:
            body = {"areas": open_by_area(db.session, scope_filter, flt, _level(zoom),
                                          box, today)}
        return _cached(jsonify(body))

    @expose("/matter/<matter_id>")
    def matter(self, matter_id):
        """A matter's summary for the map's popup: scoped, and masked for a committee
        (which reads no matter page: no debtor's name or number, no officer's phone)."""
        try:
            matter_id = uuid.UUID(matter_id)
        except ValueError:
            abort(404)
        scope = current_scope()
        row = matter_summary(db.session, scope.matters_on_maps(), matter_id, clock.today())
        if row is None:
            abort(404)
        matter, court, _grid_id, grid_name, grid_code, outline, due, overdue = row
        body = {
            "case_number": matter.case_number, "court": court,
            "type": label(MATTER_TYPE_LABELS, matter.matter_type),
            "state": label(STATE_LABELS, matter.state), "state_code": matter.state.value,
            "due": due.isoformat() if due else None, "days_overdue": int(overdue or 0),
            "escalation": str(ESCALATION_LABELS.get(matter.escalation_level, "")),
            "grid": grid_name, "grid_code": grid_code,
            "outline": _json(outline),
        }
        if scope.may_reveal_debtor():
            body["debtor"] = matter.debtor.name
        return jsonify(body)


class DensityMapView(CommitteeMapBase):
    """Completion rate, counts and median days per area, and the overdue hot spots."""

    template = "gridlink/committee_density_map.html"

    @expose("/")
    def index(self):
        return self._page()

    @expose("/completion/")
    def completion_json(self):
        zoom, box, flt = _zoom(), _box(), _filter()
        if kept := _kept(flt):
            return _cached(jsonify({
                "areas": completion_by_area_kept(db.session, *kept, flt, _level(zoom), box),
                "as_of": kept[0].as_of()}))
        rows = completion_by_area(db.session, current_scope().matters_on_maps(), flt,
                                  _level(zoom), clock.today(), box=box)
        return _cached(jsonify({"areas": rows}))


def _kept(flt: MapFilter):
    """The kept counts (refreshed every minute) when they can answer: no filter but a
    county, an administrator's or a committee's scope (geo.map_counts)."""
    return kept_counts(db.session, current_scope(), flt, clock.now())


def _json(text: str | None):
    return json.loads(text) if text else None


def _texts() -> dict:
    """The words the maps' script puts on the map, in the reader's language."""
    return {
        "states": {s.value: label(STATE_LABELS, s) for s in MatterState},
        "open": _("Open matters"), "overdue": _("Overdue"), "received": _("Received"),
        "completed": _("Completed"), "failed": _("Failed"),
        "rate": _("Completion rate"), "median": _("Median days to complete"),
        "no_data": _("No matters"), "days": _("days"), "court": _("Court"),
        "type": _("Type"), "state": _("State"), "due": _("Due"),
        "days_overdue": _("Days overdue"), "escalation": _("Escalation level"),
        "grid": _("Grid"), "debtor": _("Debtor"), "case": _("Case number"),
        "hotspots": _("Overdue hot spots"), "areas": _("Areas"),
        "loading": _("Loading…"), "as_of": _("Data as of %(time)s"),
    }


# --- keeping the shapes current: a job, started when boundaries change --------------

@work(MAP_SHAPES_JOB)
def _refresh_job(session, run, progress):
    counts = refresh_map_shapes(session, progress)
    return (N_("Map shapes rebuilt: %(counties)s counties, %(towns)s towns, "
               "%(villages)s villages"), {"counties": counts["county"], "towns": counts["town"],
                                         "villages": counts["village"]}, counts)

"""查找网格: court staff type an address or click the map and see the grid that answers
for the place, its liaison (phone masked until asked for, which is audited), its grid
workers and the courts serving it. The page is a thin face on /api/v1/locate: the
same answer, scoped and masked the same way, as court systems get."""

from __future__ import annotations

from flask import request, url_for
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from admin.auth import current_scope
from admin.views.grids import LEVEL_LABELS
from admin.views.people import COURT_KINDS
from admin.views.secure import refuse
from models import Grid, GridLevel, db

STATUS_LABELS = {"matched": _l("Found"), "ambiguous": _l("Several grids fit"),
                 "unmatched": _l("Not found")}
METHOD_LABELS = {"division": _l("by division names"),
                 "address_point": _l("by standard address"),
                 "point": _l("by position on the map")}
FLAG_LABELS = {"shared_edge": _l("on the boundary between grids"),
               "outside_scope": _l("outside your area")}


def page_texts() -> dict[str, str]:
    """Everything locate.js writes on the page, in the reader's language."""
    texts = {
        "searching": _l("Looking up…"), "failed": _l("The lookup failed: %(error)s"),
        "empty": _l("Type an address first."), "path": _l("Place"),
        "liaison": _l("Liaison"), "no_liaison": _l("No liaison in post."),
        "workers": _l("Grid workers"), "no_workers": _l("No grid workers in post."),
        "courts": _l("Serving courts"), "method": _l("How it was found"),
        "confidence": _l("Confidence"), "candidates": _l("Which one? Choose a grid:"),
        "sharing": _l("Grids that meet here:"),
        "show": _l("Show"), "reason": _l("Why"),
    }
    return {key: str(value) for key, value in texts.items()}


# The length of an account's area code prefix (models.access) → the level of that area.
PREFIX_LEVELS = {6: GridLevel.county, 9: GridLevel.town, 12: GridLevel.village,
                 15: GridLevel.microgrid}


def coarsest_level(scope) -> GridLevel:
    """The widest grids an account sees whole: a town's people see no county."""
    if scope.sees_whole_city or not scope.area_code:
        return GridLevel.county
    return PREFIX_LEVELS.get(len(scope.area_code), GridLevel.village)


def area_bounds(scope, level: GridLevel) -> list[list[float]] | None:
    """[[south, west], [north, east]] of what the account answers for: where the map opens."""
    box = select(func.ST_Extent(Grid.geom).label("box")).where(
        Grid.generation_high.is_(None), Grid.level == level, scope.grids(Grid)).subquery()
    west, south, east, north = db.session.execute(select(
        func.ST_XMin(box.c.box), func.ST_YMin(box.c.box),
        func.ST_XMax(box.c.box), func.ST_YMax(box.c.box))).one()
    return None if west is None else [[south, west], [north, east]]


class LocateView(BaseView):
    def is_accessible(self):
        return current_scope().may("grids")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        scope = current_scope()
        level = coarsest_level(scope)
        config = {
            "locateUrl": url_for("api.locate"),
            "gridUrl": url_for("api.grid", code="CODE"),
            "phoneUrl": url_for("api.liaison_phone", code="CODE"),
            "shapesUrl": url_for("grid.shapes"),
            "mayReveal": scope.may_reveal_phone(),
            "coarsest": level.value,
            "bounds": area_bounds(scope, level),
            "texts": page_texts(),
            "status": {k: str(v) for k, v in STATUS_LABELS.items()},
            "methods": {k: str(v) for k, v in METHOD_LABELS.items()},
            "flags": {k: str(v) for k, v in FLAG_LABELS.items()},
            "levels": {k.value: str(v) for k, v in LEVEL_LABELS.items()},
            "courtKinds": {k.value: str(v) for k, v in COURT_KINDS.items()},
        }
        return self.render("gridlink/locate.html", locate_config=config,
                           query=request.args.get("q", ""))

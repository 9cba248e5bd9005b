"""Admin views of divisions and grids, their boundary history and generations."""

from __future__ import annotations

import json
import math
from datetime import date

from flask import abort, jsonify, request
from flask_admin import expose
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.geoa import ModelView as GeoModelView
from flask_admin.contrib.geoa.fields import GeoJSONField
from flask_admin.contrib.geoa.form import AdminModelConverter
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.model.form import converts
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from shapely.errors import ShapelyError
from shapely.geometry import shape
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField
from wtforms.validators import ValidationError

from admin.auth import current_scope
from admin.views.formatters import area_km2, enum_choices, level_label
from admin.views.secure import ScopedAjaxLoader, ScopedModelView
from admin.widgets import GridMapWidget
from geo.map_shapes import request_map_refresh
from geo.sql import as_sql
from geo.topology import gaps_left, outside_parent, overlaps_with_siblings
from models import Generation, Grid, GridLevel, db
from models.audit import append
from models.grids import GridCodeError, check_code

LEVEL_LABELS = {
    GridLevel.county: _l("County"),
    GridLevel.town: _l("Town / street"),
    GridLevel.village: _l("Village / community"),
    GridLevel.microgrid: _l("Micro-grid"),
}


class GridMapField(GeoJSONField):
    """Flask-Admin's GeoJSON field drawn by our offline widget (with neighbours)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.widget = GridMapWidget()

    def process_formdata(self, valuelist):
        """A boundary missing from the post, or not a GeoJSON shape, is a mistake to
        show on the form (Flask-Admin's field hands the stored shape or any JSON to
        shapely, and crashes)."""
        if not valuelist or not valuelist[0].strip():
            self.data = None
            raise ValueError(_("Draw the shape on the map: it is required."))
        try:
            bounds = shape(json.loads(valuelist[0])).bounds
        except (ValueError, TypeError, AttributeError, KeyError, IndexError,
                ShapelyError) as e:
            self.data = None
            raise ValueError(_("The shape is not GeoJSON geometry.")) from e
        if not bounds or not all(math.isfinite(b) for b in bounds):
            self.data = None
            raise ValueError(_("The shape is not GeoJSON geometry."))
        super().process_formdata(valuelist)


class GridFormConverter(AdminModelConverter):
    @converts("Geography", "Geometry")
    def convert_geom(self, column, field_args, **extra):
        field_args["geometry_type"] = column.type.geometry_type
        field_args["srid"] = column.type.srid
        field_args["session"] = self.session
        return GridMapField(**field_args)


class LiveOptions:
    """Filter choices read from the database at each render. Flask-Admin evaluates
    options once, when the view is built (before any request, often before the
    database is even migrated); counties and towns change, so defer it."""

    def __init__(self, query):
        self.query = query

    def __iter__(self):
        return iter(self.query())

    def __bool__(self):
        return True


def _grids_in_scope(level: GridLevel):
    return db.session.scalars(Grid.current().where(
        Grid.level == level, current_scope().grids(Grid)).order_by(Grid.code))


def county_options():
    """(code, name) of the counties in scope: those two columns only (a county's
    outline is megabytes at province scale)."""
    return db.session.execute(
        Grid.current().with_only_columns(Grid.county_code, Grid.name)
        .where(Grid.level == GridLevel.county, current_scope().grids(Grid))
        .order_by(Grid.code)).all()


def town_options():
    return [(t.code, f"{t.parent.name} {t.name}") for t in _grids_in_scope(GridLevel.town)]


def grids_in_scope(scope):
    return scope.grids(Grid)


def current_grids_loader(name):
    """Ajax choices of grids for a form field: current versions, in scope."""
    return ScopedAjaxLoader(name, db, Grid, grids_in_scope, fields=["name", "code"],
                            page_size=20, filters=["generation_high IS NULL"],
                            order_by="code")


class CountyFilter(BaseSQLAFilter):
    def apply(self, query, value, alias=None):
        return query.filter(Grid.county_code == value)

    def operation(self):
        return admin_lazy_gettext("equals")


class TownFilter(BaseSQLAFilter):
    """A town and everything inside it: its code's first nine digits."""

    def apply(self, query, value, alias=None):
        return query.filter(Grid.code.startswith(value[:9]), Grid.level != GridLevel.county)

    def operation(self):
        return admin_lazy_gettext("equals")


class LevelFilter(BaseSQLAFilter):
    def apply(self, query, value, alias=None):
        return query.filter(Grid.level == GridLevel(value))

    def operation(self):
        return admin_lazy_gettext("equals")

    def validate(self, value):
        return value in GridLevel.__members__


def _filters():
    return [
        CountyFilter(Grid.county_code, _l("County"), options=LiveOptions(county_options)),
        TownFilter(Grid.code, _l("Town / street"), options=LiveOptions(town_options)),
        LevelFilter(Grid.level, _l("Level"),
                    options=[(lv.value, label) for lv, label in LEVEL_LABELS.items()]),
    ]


class GridBaseView(ScopedModelView, GeoModelView):
    entity = "grids"
    column_list = ["code", "name", "level", "parent", "geom"]
    column_labels = {
        "code": _l("Division code"), "name": _l("Name"), "level": _l("Level"),
        "parent": _l("Parent"), "geom": _l("Area (km²)"), "county_code": _l("County"),
        "generation_low": _l("From generation"), "generation_high": _l("Through generation"),
    }
    column_formatters = {"level": level_label(LEVEL_LABELS), "geom": area_km2}
    column_searchable_list = ["name", "code"]
    column_default_sort = "code"
    page_size = 50
    model_form_converter = GridFormConverter

    def scope_filter(self, scope):
        return scope.grids(Grid) & self.versions()

    def get_query(self):
        # Parents with the rows: one query, not one per row, and loaded before an
        # export streams its rows out.
        return super().get_query().options(selectinload(Grid.parent))


class GridView(GridBaseView):
    """The current boundaries. Saving a new shape makes a new boundary generation
    and keeps the old shape in the history; grids are never deleted, only redrawn."""

    allow_delete = False
    can_view_details = True
    can_export = True
    column_export_list = ["code", "name", "level", "parent"]
    edit_template = "gridlink/grid_edit.html"
    create_template = "gridlink/grid_create.html"
    form_columns = ["code", "name", "level", "parent", "geom", "accept_topology"]
    form_choices = {"level": enum_choices(LEVEL_LABELS)}
    form_args = {"geom": {"label": _l("Boundary")}}
    form_extra_fields = {"accept_topology": BooleanField(
        _l("Save even though it overlaps a neighbour, leaves a gap or leaves its parent "
           "(recorded)"))}
    form_ajax_refs = {"parent": current_grids_loader("parent")}

    def versions(self):
        return Grid.generation_high.is_(None)

    @property
    def column_filters(self):
        return _filters()

    def on_model_change(self, form, model, is_created):
        # The new row is already in the session; no flush until it is complete.
        with db.session.no_autoflush:
            _check_grid(model)
            old_geom = inspect(model).attrs.geom.history.deleted
            if old_geom and db.session.scalar(
                    select(func.ST_Equals(as_sql(old_geom[0]), as_sql(model.geom)))):
                model.geom, old_geom = old_geom[0], None  # same shape posted back
            if is_created or old_geom:
                _check_topology(model, form.accept_topology.data)
        if is_created or old_geom:
            action = _("new grid") if is_created else _("redrawn")
            generation = Generation(label=_("%(action)s: %(name)s %(code)s", action=action,
                                            name=model.name, code=model.code),
                                    valid_from=date.today())
            if is_created:
                model.first_generation = generation
            else:
                model.keep_history(db.session, old_geom[0], generation)

    def after_model_change(self, form, model, is_created):
        """A grid saved (a new boundary, a new name): the committee maps' shapes are
        rebuilt by a job, never by the request."""
        request_map_refresh(db.session)
        db.session.commit()

    @expose("/shapes/")
    def shapes(self):
        """Current grids of one level inside a box, as GeoJSON for the map widgets:
        simplified to the box's scale (an edit page needs to see neighbours, not
        survey them) and capped, so a zoomed-out map stays light."""
        try:
            level = GridLevel(request.args.get("level", "village"))
            west, south, east, north = (float(v) for v in request.args["bbox"].split(","))
        except (KeyError, ValueError):
            abort(400, _("bbox=west,south,east,north and a level are required"))
        tolerance = max(east - west, north - south) / 2000
        box = func.ST_MakeEnvelope(west, south, east, north, 4326)
        rows = db.session.execute(
            select(Grid.id, Grid.code, Grid.name,
                   func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(Grid.geom, tolerance), 6))
            .where(Grid.generation_high.is_(None), Grid.level == level,
                   current_scope().grids(Grid), func.ST_Intersects(Grid.geom, box))
            .order_by(Grid.code).limit(2000)
        ).all()
        response = jsonify(type="FeatureCollection", features=[
            {"type": "Feature", "id": str(gid), "geometry": json.loads(geojson),
             "properties": {"code": code, "name": name}}
            for gid, code, name, geojson in rows
        ])
        # Shapes change rarely: the browser keeps them and asks again with their ETag;
        # unchanged, the answer is an empty 304 (a repeat visit moves kilobytes, not a map).
        response.cache_control.private = True
        response.cache_control.no_cache = True
        response.add_etag()
        return response.make_conditional(request)


def _check_grid(model: Grid) -> None:
    """Refuse a grid whose code, parent or polygon does not fit, saying which and why."""
    if not model.level:
        raise ValidationError(_("Choose a level."))
    model.level = GridLevel(model.level)
    expected = model.level.parent
    if expected is None and model.parent is not None:
        raise ValidationError(_("A county has no parent."))
    if expected is not None and (model.parent is None or model.parent.level is not expected):
        raise ValidationError(_("The parent of a %(level)s must be a %(parent)s.",
                                level=LEVEL_LABELS[model.level], parent=LEVEL_LABELS[expected]))
    try:
        check_code(model.code, model.level, model.parent.code if model.parent else None)
    except GridCodeError as e:
        reason = _(e.template, **e.params)
        raise ValidationError(_("Division code: %(reason)s", reason=reason)) from e
    geom = as_sql(model.geom)
    kind, reason = db.session.execute(
        select(func.GeometryType(geom), func.ST_IsValidReason(geom))
    ).one()
    if kind not in ("POLYGON", "MULTIPOLYGON"):
        raise ValidationError(_("The boundary must be a polygon, not %(kind)s.", kind=kind))
    if reason != "Valid Geometry":
        raise ValidationError(_("The boundary is not a valid polygon: %(reason)s", reason=reason))
    if kind == "POLYGON":
        model.geom = db.session.scalar(select(func.ST_AsEWKT(func.ST_Multi(geom))))


def _check_topology(model: Grid, accepted: bool) -> None:
    """A new boundary may not overlap a sibling, open a gap no sibling covers, or
    leave its parent beyond tolerance, unless the admin says so explicitly; then the
    override itself is recorded."""
    geom_sql = "ST_GeomFromEWKT(:ewkt)"
    params = {"ewkt": model.geom if isinstance(model.geom, str) else
              db.session.scalar(select(func.ST_AsEWKT(as_sql(model.geom)))),
              "level": model.level.value, "parent_id": model.parent.id if model.parent else None}
    problems = overlaps_with_siblings(db.session, model.id, geom_sql, params)
    if model.id is not None:
        problems += gaps_left(db.session, model.id, geom_sql, params)
    if model.parent is not None:
        problems += outside_parent(db.session, model.parent.id, geom_sql, params)
    if not problems:
        return
    if not accepted:
        raise ValidationError(" ".join(_topology_message(p) for p in problems) + " " + _(
            "Correct the boundary, or tick the box below to save it anyway."))
    append(db.session.connection(), "topology_override", "grid",
           str(model.id) if model.id else model.code,
           after={"code": model.code, "problems": [p.line() for p in problems]})


def _topology_message(problem) -> str:
    where = f"{problem.lon:.5f}, {problem.lat:.5f}"
    if problem.kind == "overlap":
        return _("Overlaps %(name)s by %(area).0f m² near %(where)s.",
                 name=problem.names[0], area=problem.area_m2, where=where)
    if problem.kind == "gap":
        return _("Leaves a gap of %(area).0f m² near %(where)s that no neighbouring grid "
                 "covers.", area=problem.area_m2, where=where)
    return _("Lies %(area).0f m² outside its parent %(name)s near %(where)s.",
             name=problem.names[0], area=problem.area_m2, where=where)


class GridHistoryView(GridBaseView):
    """Boundaries that were replaced: read-only, they are the record. For those who
    keep and watch the boundaries (models.access: "generations"), not for the
    grids' and courts' people, who have no use for them."""

    entity = "generations"
    allow_create = allow_edit = allow_delete = False
    can_view_details = True
    column_list = ["code", "name", "level", "generation_low", "generation_high", "geom"]
    column_default_sort = [("code", False), ("generation_low", False)]

    def versions(self):
        return Grid.generation_high.is_not(None)

    @property
    def column_filters(self):
        return _filters()


class GenerationView(ScopedModelView):
    entity = "generations"
    allow_create = allow_edit = allow_delete = False
    column_list = ["id", "label", "valid_from", "created_at"]
    column_labels = {"id": _l("Generation"), "label": _l("Description"),
                     "valid_from": _l("Valid from"), "created_at": _l("Created at")}
    column_default_sort = ("id", True)

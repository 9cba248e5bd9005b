"""The court matters (联动事项): the list and one matter's page, where each account
finds the steps of the matter's life it may take now (models.workflow) and the
steps taken so far.

Every way into a matter goes through Scope.matters() in SQL (ScopedModelView's
get_query/get_one): court staff reach their court's matters, liaisons and grid
workers those assigned to their grid, admins all; anything else is a 404. A
matter changes only through models.workflow, which locks it, checks who may take
the step from which state, and records it; this page only asks and says what
happened.
"""

from __future__ import annotations

import json
import uuid
from enum import Enum
from functools import lru_cache, partial

from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_admin.babel import gettext as admin_gettext
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.form import SecureForm
from flask_admin.tools import rec_getattr
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from geoalchemy2.shape import to_shape
from markupsafe import Markup, escape
from sqlalchemy import false, func, or_, select, true, union_all
from sqlalchemy.orm import joinedload, selectinload
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length

from admin.auth import current_scope
from admin.frame import kept_page
from admin.kept import Kept
from admin.views.deadline_marks import MarkFilter, due_cell, mark_badge, mark_of
from admin.views.formatters import mask_phone
from admin.views.grids import LiveOptions
from admin.views.matter_export import MatterExport
from admin.views.matter_formatters import (
    ADDRESS_STATUS,
    DEBTOR_KINDS,
    STATE_BADGES,
    URGENCY_LABELS,
    bounty_cell,
    candidate_path,
    chases_cell,
    credential_labels,
    grid_path,
    id_number_cell,
    label,
    liaison_cell,
    mask_id_number,
    primary_grid_cell,
    reason_text,
    request_lines,
    say,
    state_cell,
    type_cell,
    urgency_cell,
)
from admin.views.matter_pdf import MatterPdfMixin
from admin.views.matter_rows import (
    ROW_COLUMNS,
    MatterRow,
    matter_rows,
    rows_with_details,
    with_details,
)
from admin.views.outcomes import OutcomePages, outcome_context
from admin.views.risk_reports import risk_context
from admin.views.secure import ScopedModelView
from models import (
    Assignment,
    Court,
    Grid,
    GridLevel,
    Matter,
    MatterState,
    Person,
    areas,
    db,
    workflow,
)
from models.accounts import Role
from models.assignments import METHOD_LABELS
from models.audit import append
from models.fees import STATEMENT_STATE_LABELS, LedgerLine, ledger_filter
from models.matter_types import MATTER_TYPE_LABELS, MatterType
from models.matters import ADDRESS_KIND_LABELS, STATE_LABELS
from models.record_forms import current_form

# A grid a matter can go to: a town or a village (as geo.assign accepts).
ROUTABLE = (GridLevel.town, GridLevel.village)
# Outlines on a matter's small map: simplified to about 20 m, plenty at village scale.
OUTLINE_TOLERANCE = 0.0002

# Steps taken on pages of their own: the outcome form, the re-route box with its map
# search, the queue page's placing.
ELSEWHERE = ("finish", "reroute", "place")


class RerouteForm(SecureForm):
    code = HiddenField()
    version = HiddenField()
    reason = TextAreaField(_l("Why it moves"), validators=[Length(max=2000)])


class StepForm(SecureForm):
    """One step of the matter's life (models.workflow), with the version its page showed."""

    version = HiddenField()
    reason = StringField(validators=[Length(max=30)])
    note = TextAreaField(validators=[Length(max=2000)])
    worker = StringField(validators=[Length(max=36)])
    grid = StringField(validators=[Length(max=15)])


def _version(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        abort(400)


def _worker(text: str | None) -> Person | None:
    """The grid worker chosen; "self" (or nothing): the liaison keeps it."""
    if not text or text == "self":
        return None
    try:
        person = db.session.get(Person, uuid.UUID(text))
    except ValueError:
        abort(400)
    if person is None:
        abort(400)
    return person


def town_grids(matter) -> list[Grid]:
    """The grids of the town centre's town (the committee's county) a matter may be
    re-dispatched (re-assigned) to."""
    scope = current_scope()
    if scope.area_code is None:
        return []
    primary = matter.primary_assignment
    return db.session.scalars(Grid.current().where(
        Grid.level.in_(ROUTABLE), Grid.code.startswith(scope.area_code),
        Grid.id != (primary.grid_id if primary else None)).order_by(Grid.code)).all()


class EnumFilter(BaseSQLAFilter):
    """Equals one member of an enum column, chosen by its translated label."""

    def __init__(self, column, name, labels, enum):
        # Translated when the page is drawn, in its language (the labels are msgids).
        super().__init__(column, name, options=LiveOptions(
            lambda: [(m.value, label(labels, m)) for m in labels]))
        self.enum = enum

    def apply(self, query, value, alias=None):
        return query.filter(self.column == self.enum(value))

    def operation(self):
        return admin_lazy_gettext("equals")

    def validate(self, value):
        return value in self.enum.__members__


class CourtFilter(BaseSQLAFilter):
    def apply(self, query, value, alias=None):
        try:
            return query.filter(Matter.court_id == uuid.UUID(value))
        except ValueError:
            return query.filter(false())

    def operation(self):
        return admin_lazy_gettext("equals")


def court_options():
    """Courts whose matters the asker may read (models.access: courts_read), or all."""
    scope = current_scope()
    query = select(Court.id, Court.name).order_by(Court.county_code, Court.name)
    if scope.court_id is not None:
        query = query.where(scope.courts_read())
    elif not scope.may("matters", "w"):
        return []
    return [(str(id_), name) for id_, name in db.session.execute(query)]


def grid_outlines(codes) -> dict[str, dict]:
    """code → {"geometry", "point"} of current grids, simplified for a small map; one query.
    The point (ST_PointOnSurface) is inside the grid, where its label goes."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    rows = db.session.execute(
        select(Grid.code,
               func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(Grid.geom,
                                                                  OUTLINE_TOLERANCE), 6),
               func.ST_AsGeoJSON(func.ST_PointOnSurface(Grid.geom), 6))
        .where(Grid.generation_high.is_(None), Grid.code.in_(codes))).all()
    return {code: {"geometry": json.loads(shape), "point": json.loads(point)["coordinates"]}
            for code, shape, point in rows}


def address_points(matter) -> list[dict]:
    points = []
    for address in matter.addresses:
        if address.geom is not None:
            point = to_shape(address.geom)
            points.append({"id": str(address.id), "lon": point.x, "lat": point.y,
                           "text": address.text or "",
                           "kind": label(ADDRESS_KIND_LABELS, address.kind)})
    return points


def routable_grid(code: str | None) -> Grid | None:
    """The current grid with this code, if the asker sees it and a matter may go there."""
    if not code:
        return None
    return db.session.scalar(Grid.current().where(
        Grid.code == code.strip(), Grid.level.in_(ROUTABLE), current_scope().grids(Grid)))


def where_it_is(matter) -> str:
    """Where a matter stands, in one sentence: the grid and liaison, or the queue."""
    reason = reason_text(matter.queue_reason, matter.queue_params)
    if matter.state in (MatterState.review, MatterState.returned):
        return _("It waits in the review queue: %(reason)s",
                 reason=reason or _("an address fits more than one grid"))
    if matter.state is MatterState.manual:
        return _("It waits in the manual queue: %(reason)s",
                 reason=reason or _("no grid was found for the addresses"))
    primary = matter.primary_assignment
    if primary is None:
        return label(STATE_LABELS, matter.state)
    liaison = primary.liaison.name if primary.liaison else _("no liaison on the roster")
    return _("It is with %(grid)s, liaison %(liaison)s.", grid=grid_path(primary.grid),
             liaison=liaison)


def _matter_options():
    grid = joinedload(Assignment.grid)
    return (joinedload(Matter.debtor), joinedload(Matter.court),
            selectinload(Matter.assignments).options(
                grid.joinedload(Grid.parent).joinedload(Grid.parent).joinedload(Grid.parent),
                joinedload(Assignment.liaison)))


# The courts a court officer reads, per court (courts_named).
_COURTS_READ = Kept(ttl=60.0, size=200)


def courts_named(scope):
    """For court staff, their courts named in the list's query (court_id IN (ids)), next
    to the scope's own condition (the courts it reads, a subquery), which stays. The
    planner guesses the subquery's matters (751,773 of a million for a court with 18,093
    at province scale) and so walked the whole case-number index for a page sorted by
    case number (1.1 s); with the ids named it knows how few there are and reads them from
    the court's indexes (0015, 0022). Kept a minute per court: a new tribunal under it
    shows within the minute."""
    if scope.role is not Role.court_staff or scope.court_id is None:
        return true()
    return Matter.court_id.in_(courts_read(scope))


def courts_read(scope) -> tuple:
    """The ids of the courts a court officer reads (none for anyone else), kept a minute."""
    if scope.role is not Role.court_staff or scope.court_id is None:
        return ()
    return _COURTS_READ.get((scope.court_id,), lambda: tuple(db.session.scalars(
        select(Court.id).where(scope.courts_read()).order_by(Court.id))),
        keep=lambda _: True)


# The list's filters with their choices, per language and reader (MatterView).
_FILTER_GROUPS = Kept(ttl=60.0, size=200)

# Stands for a row's id in the link made once a page (MatterView.list_row).
_SOME_ID = str(uuid.UUID(int=0))
# The list's rows as text, by everything a row shows (MatterView.list_rows).
_ROWS = Kept(ttl=60.0, size=5000)


def _page_link(view, return_url: str) -> str:
    """The link to a matter's page from this list page, its id to fill in."""
    made = g.get("gridlink_matter_link")
    if made is None or made[0] != return_url:
        made = (return_url, view.get_url(".details_view", id=_SOME_ID, url=return_url))
        g.gridlink_matter_link = made
    return made[1]


def fee_line(session, matter: Matter, actor) -> dict | None:
    """The matter's labour fee (its live ledger line), for those who read the ledger."""
    line = session.scalar(LedgerLine.live().where(
        LedgerLine.matter_id == matter.id,
        ledger_filter(current_scope(), getattr(actor, "id", None))))
    if line is None:
        return None
    return {"amount": line.amount, "settled": line.statement is not None and label(
        STATEMENT_STATE_LABELS, line.statement.state)}


@lru_cache(maxsize=512)  # about 17 KB each: the areas and pages most asked for
def _area_page(area_code: str, size: int, skip: int):
    """The statement of a page of an area's list as it opens: its `size` matters from
    `skip` on, what their rows show and the area's count. The joins come after the
    area's index gave the page (a bounded subquery), so they stay `size` lookups; the
    count is computed once (an InitPlan). Built once per area and page: made afresh
    (and its cache key with it) it took a sixth of the page's time in Python."""
    newest = areas.newest(area_code, size, skip)
    return (with_details(
        select(*ROW_COLUMNS).join(newest, newest.c.matter_id == Matter.id)
        .order_by(newest.c.created_at.desc(), newest.c.matter_id.desc()))
        .add_columns(areas.counted(area_code).scalar_subquery()))


class MatterView(OutcomePages, MatterPdfMixin, MatterExport, ScopedModelView):
    entity = "matters"
    # Matters are filed on their own page and move only through their steps.
    allow_create = allow_edit = allow_delete = False
    can_view_details = True
    list_template = "gridlink/matter_list.html"
    details_template = "gridlink/matter_details.html"
    column_list = ["case_number", "matter_type", "debtor.name", "debtor.id_number", "grid",
                   "liaison", "state", "chases", "deadline", "due", "urgency", "bounty"]
    column_labels = {
        "case_number": _l("Case number"), "matter_type": _l("Matter type"),
        "debtor.name": _l("Debtor"), "debtor.id_number": _l("ID number"),
        "grid": _l("Grid"), "liaison": _l("Liaison"), "state": _l("State"),
        "deadline": _l("Deadline"), "urgency": _l("Urgency"), "bounty": _l("Bounty"),
        "chases": _l("Chased"), "due": _l("Time limit"),
    }
    column_formatters = {
        "matter_type": type_cell, "debtor.id_number": id_number_cell,
        "grid": primary_grid_cell, "liaison": liaison_cell, "state": state_cell,
        "urgency": urgency_cell, "bounty": bounty_cell, "chases": chases_cell,
        "due": due_cell,
    }
    # Columns whose cell is decided by the matter's value of the same name alone (a
    # label): made once a page per value (MatterView.list_rows).
    cells_by_value = frozenset({"matter_type", "state", "urgency", "bounty"})
    column_sortable_list = ["case_number", "matter_type", "state", "deadline", "urgency",
                            "bounty"]
    column_searchable_list = ["case_number"]
    column_default_sort = ("created_at", True)
    # The debtor and the grid come with the page's rows (admin.views.matter_rows).
    column_auto_select_related = False
    count_by_estimate = True
    column_filters = [
        EnumFilter(Matter.state, _l("State"), STATE_LABELS, MatterState),
        EnumFilter(Matter.matter_type, _l("Matter type"), MATTER_TYPE_LABELS, MatterType),
        CourtFilter(Matter.court_id, _l("Court"), options=LiveOptions(court_options)),
        "deadline",
        MarkFilter(_l("Time limit")),
    ]
    page_size = 20  # Flask-Admin's default; 50 rows cost a page a fifth more

    def scope_filter(self, scope):
        return scope.matters()

    def get_query(self):
        return super().get_query().filter(courts_named(current_scope()))

    def _get_filter_groups(self):
        """The filters' choices (the courts the reader may pick among most), kept a
        minute per language and reader's role and court: they were a court query and
        a hundred options translated on every page."""
        scope = current_scope()
        key = (str(get_locale()), scope.role, scope.area_code, scope.court_id)
        return _FILTER_GROUPS.get(key, super()._get_filter_groups, keep=lambda _: True)

    def counts_with_page(self) -> bool:
        """An area's matters (a grid's people, a town centre, a county committee) are
        found through its grids' assignments, every one of them read to sort the page:
        counted in the same pass. A court's or the whole city's are read from an index
        in the page's order, 50 rows, and counted apart, up to a cap (models.counting)."""
        scope = current_scope()
        return scope.area_code is not None and not scope.sees_whole_city

    def page_rows(self, query, with_count: bool = False) -> tuple[list, int | None]:
        """The page's matters as plain values (admin.views.matter_rows), not ORM objects."""
        columns = ROW_COLUMNS + ((func.count().over(),) if with_count else ())
        rows = query.with_entities(*columns).all()
        count = rows[0][-1] if with_count and rows else None
        if with_count:
            rows = [row[:-1] for row in rows]
        return matter_rows(query.session, rows), count

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        """Two lists are read their own way; any other is Flask-Admin's query (scope,
        filters, search, sort, paging):
        - sorted by case number for an officer of several courts: court by court;
        - an area's list as it opens (newest first, no search, no filter): its page from
          models.areas, in the order of the area's index, and its count from that index
          alone. Found through the matters, every one of a town's (3,293 at province
          scale) was read to sort and count them: 15 ms a page of the database's time."""
        scope = current_scope()
        if execute and sort_column == "case_number" and len(courts_read(scope)) > 1:
            return self._by_case_number_court_by_court(page, sort_desc, search, filters,
                                                       page_size, courts_read(scope))
        if not (execute and sort_column is None and not search and not filters
                and scope.matters_are_the_areas()):
            return super().get_list(page, sort_column, sort_desc, search, filters,
                                    execute=execute, page_size=page_size)
        size = page_size or self.page_size
        rows = db.session.execute(
            _area_page(scope.area_code, size, (page or 0) * size)).all()
        # A page past the last has no row to carry the count: asked apart.
        count = rows[0][-1] if rows else areas.count(db.session, scope.area_code)
        return count, rows_with_details(db.session, [row[:-1] for row in rows])

    def _by_case_number_court_by_court(self, page, sort_desc, search, filters, page_size,
                                       courts) -> tuple:
        """An officer who reads several courts, the list sorted by case number: each
        court's first rows from its index (0022), then the page among them. As one query
        the planner walked the whole case-number index for the courts' matters (773 ms
        for three courts at province scale): PostgreSQL 15 cannot merge one ordered
        index scan per court. The count, the filters and the search are the list's own."""
        count, query = super().get_list(page, "case_number", sort_desc, search, filters,
                                        execute=False, page_size=page_size)
        size = page_size or self.page_size
        skip = (page or 0) * size
        unpaged = query.limit(None).offset(None).with_entities(*ROW_COLUMNS)
        firsts = union_all(*(unpaged.filter(Matter.court_id == court).limit(skip + size)
                             .subquery().select() for court in courts)).subquery()
        order = firsts.c.case_number.desc() if sort_desc else firsts.c.case_number.asc()
        rows = db.session.execute(
            select(*firsts.c).order_by(order).limit(size).offset(skip)).all()
        return count, matter_rows(db.session, rows)

    def render(self, template, **context):
        """The list page kept as text a minute per reader, URL, count and number of rows
        (admin.frame.kept_page): its rows made anew each time, the rest (the frame, the
        filters, the search box, the sort links, the pager) rendered once."""
        if template != self.list_template:
            return super().render(template, **context)
        data, count = context["data"], context["count"]
        rows = (self.list_rows(data, context["list_columns"], context["return_url"])
                if data else Markup(""))
        return kept_page(self, lambda **c: super(MatterView, self).render(template, **c),
                         context, (template, type(count).__name__,
                                   None if count is None else int(count), len(data)),
                         {"list_rows_html": rows})

    def list_rows(self, rows, columns, return_url: str) -> Markup:
        """The list's rows as one piece of HTML: each row's link to its page, then its
        cells as Flask-Admin's list shows them (the column formatters, then the type
        formatters), escaped as the template would. Made here rather than by the
        template's per-row and per-cell blocks (a page's thousand template steps, each
        passing through the five templates the list page is made of), and the link made
        once a page and given each row's id (url_for once a row was a fifth of the page).
        How each column's value is read, and which type formatter a type of value takes,
        is found once a page, not once a cell."""
        before_id, after_id = escape(_page_link(self, return_url)).split(_SOME_ID, 1)
        title = escape(admin_gettext("View Record"))
        opening = f'<tr><td class="list-buttons-column"><a class="icon" href="{before_id}'
        closing = (f'{after_id}" title="{title}"><span class="fa fa-eye glyphicon '
                   'glyphicon-eye-open"></span></a></td>')
        cells = [(c, f'<td class="col-{escape(c)}">', self._value_of(c),
                  c in self.cells_by_value) for c, _name in columns]
        words: dict[tuple, str] = {}  # the page's words, each made once
        kinds: dict[type, object] = {}  # a type of value → its type formatter (or None)

        def row_html(row) -> str:
            html = [opening, str(row.id), closing]
            for c, td, value_of, by_value in cells:
                if by_value:
                    key = (c, getattr(row, c))
                    text = words.get(key)
                    if text is None:
                        text = words[key] = escape(self._shown(value_of(row), c, kinds))
                else:
                    text = escape(self._shown(value_of(row), c, kinds))
                html += (td, text, "</td>")
            html.append("</tr>")
            return "".join(html)

        # A row's text kept a minute under everything it shows: its values, its
        # deadline's mark at this moment, the columns, the language and the link
        # (rows read as MatterRows; ORM objects are drawn each time, and every row
        # when pages are not kept: KEEP_PAGES).
        if not current_app.config.get("KEEP_PAGES", True):
            return Markup("".join(row_html(row) for row in rows))
        page = (str(get_locale()), opening, closing, tuple(c for c, *_ in cells))
        return Markup("".join(
            _ROWS.get((*page, row.values(), mark_of(row)), partial(row_html, row))
            if isinstance(row, MatterRow) else row_html(row) for row in rows))

    def get_list_row_actions(self):
        """None asked of Flask-Admin: the rows' one action (to the matter's page) is drawn
        by list_rows. Its action objects were made and their titles translated on every
        page, for a template block the list no longer has."""
        return []

    def _value_of(self, name: str):
        """row → the value of column `name`, as Flask-Admin's _get_list_value reads it:
        its column formatter, else the attribute (a dotted path through relations)."""
        formatter = self.column_formatters.get(name)
        if formatter is not None:
            return lambda row: formatter(self, None, row, name)
        return lambda row: rec_getattr(row, name)

    def _shown(self, value, name: str, kinds: dict):
        """A cell's value as Flask-Admin's list shows it: text as it is, anything else
        through the first type formatter its type matches (found once per type)."""
        if isinstance(value, str) and not isinstance(value, Enum):
            return value
        kind = type(value)
        if kind not in kinds:
            kinds[kind] = next((f for k, f in self.column_type_formatters.items()
                                if isinstance(value, k)), None)
        formatter = kinds[kind]
        return formatter(self, value, name) if formatter is not None else value

    @property
    def may_file(self) -> bool:
        return current_scope().may("matters", "w")

    def search_placeholder(self):
        return _("Case number")

    # --- one matter ---------------------------------------------------------------------

    def _load(self, id) -> Matter:
        """The matter to read. Changing one goes through models.workflow (begin: the
        row lock and the version; step: who may take it from which state)."""
        try:
            key = id if isinstance(id, uuid.UUID) else uuid.UUID(str(id))
        except ValueError:
            abort(404)
        matter = db.session.scalar(select(Matter).where(Matter.id == key,
                                                        current_scope().matters())
                                   .options(*_matter_options()))
        if matter is None:
            abort(404)
        return matter

    @staticmethod
    def _acts_on(key) -> bool:
        return db.session.scalar(select(Matter.id).where(
            Matter.id == key, current_scope().matters_to_act_on())) is not None

    @expose("/<uuid:id>/reveal/<what>/")
    def reveal(self, id, what):
        """One masked value of a matter the asker reads, in full: the debtor's ID number
        or phones, or the liaison's phone. Each showing is written to the audit trail."""
        scope = current_scope()
        matter = self._load(id)
        if what in ("id_number", "phones"):
            if not scope.may_reveal_debtor():
                abort(403)
            value = (matter.debtor.id_number if what == "id_number"
                     else "、".join(matter.debtor.phones or []))
            entity, entity_id = "debtor", str(matter.debtor.id)
        elif what == "liaison":
            primary = matter.primary_assignment
            if not scope.may_reveal_phone() or primary is None or primary.liaison is None:
                abort(403 if not scope.may_reveal_phone() else 404)
            value, entity, entity_id = primary.liaison.phone, "person", str(primary.liaison.id)
        else:
            abort(404)
        append(db.session.connection(), "reveal_phone" if what != "id_number"
               else "reveal_id_number", entity, entity_id,
               after={"field": what, "matter": str(matter.id)})
        db.session.commit()
        return jsonify(value=value or "")

    @expose("/details/")
    def details_view(self):
        matter = self._load(request.args.get("id", ""))
        return self.render(self.details_template, **self._details(matter),
                           **outcome_context(matter))

    def _details(self, matter: Matter) -> dict:
        scope = current_scope()
        primary = matter.primary_assignment
        # The grid it is with; while it waits for a person, the candidates instead.
        codes = [primary.grid.code] if primary else [
            c["code"] for a in matter.addresses for c in a.candidates or [] if c.get("code")]
        outlines = grid_outlines(codes)
        points = address_points(matter)
        acts = self._acts_on(matter.id)
        return dict(
            matter=matter, primary=primary, where=where_it_is(matter),
            type_label=label(MATTER_TYPE_LABELS, matter.matter_type),
            state_label=label(STATE_LABELS, matter.state),
            badge=STATE_BADGES.get(matter.state, "secondary"),
            urgency=label(URGENCY_LABELS, matter.urgency),
            deadline_mark=mark_of(matter), deadline_badge=mark_badge(matter),
            request_lines=request_lines(matter),
            credentials=credential_labels(matter.credentials),
            debtor_kind=label(DEBTOR_KINDS, matter.debtor.kind),
            id_number=mask_id_number(matter.debtor.id_number),
            phones=[mask_phone(p) for p in matter.debtor.phones or []],
            kinds=ADDRESS_KIND_LABELS, statuses=ADDRESS_STATUS, methods=METHOD_LABELS,
            label=label, grid_path=grid_path, candidate_path=candidate_path,
            reason_text=reason_text,
            mask_phone=mask_phone,
            may_reveal_debtor=scope.may_reveal_debtor(),
            may_reveal_phone=scope.may_reveal_phone(),
            assignments=sorted(matter.assignments, key=lambda a: a.created_at, reverse=True),
            map_data={
                "primary": ({"code": primary.grid.code, "name": grid_path(primary.grid),
                             **outlines[primary.grid.code]}
                            if primary and primary.grid.code in outlines else None),
                "candidates": [{"code": c, "name": c, **o} for c, o in outlines.items()
                               if not primary or c != primary.grid.code],
                "points": points},
            points={p["id"]: p for p in points},
            **self._life(matter),
            in_queue=acts and (matter.state in (MatterState.review, MatterState.manual,
                                                MatterState.returned)
                               and scope.may("routing", "w")),
            reroute_form=RerouteForm(),
            **risk_context(matter),
        )

    def _life(self, matter: Matter) -> dict:
        """The steps the signed-in account may take now, and those taken so far."""
        session, actor = db.session, current_user._get_current_object()
        steps = workflow.available(session, matter, actor)
        # Recording the outcome has its own forms (models.outcomes), re-routing its own
        # box with the map search (may_reroute).
        may_reroute = "reroute" in steps
        steps = [s for s in steps if s not in ELSEWHERE]
        return dict(
            actions=steps, step_rules=workflow.STEPS, step_form=StepForm(),
            may_reroute=may_reroute,
            history=workflow.history(session, matter.id),
            workers=(workflow.grid_workers(session, matter) if "dispatch" in steps else []),
            keeps=getattr(actor, "person_id", None) is not None
            and current_scope().role.value == "liaison",
            town_grids=(town_grids(matter) if "redispatch" in steps or "reassign" in steps
                        else []),
            field_worker=matter.field_worker,
            record_form=current_form(session, matter),
            fee=fee_line(session, matter, actor),
        )

    @expose("/<uuid:id>/return/", methods=("POST",))
    def return_view(self, id):
        """不属本网格, as it always was at this address: now one of the steps."""
        return self.step_view(id, "return")

    @expose("/<uuid:id>/step/<step>/", methods=("POST",))
    def step_view(self, id, step):
        """One step of the matter's life (models.workflow): refused with its reason
        (flashed) when the state or the version has moved; 403 when it is not the
        asker's to take, 404 when the asker does not see the matter."""
        name = step
        form = StepForm(request.form)
        if not form.validate() or name not in workflow.STEPS or name in ELSEWHERE:
            abort(400)
        session, actor = db.session, current_user._get_current_object()
        note = form.note.data if name != "return" else (
            request.form.get("reason") or form.note.data)
        if name == "return" and not (note or "").strip():
            flash(_("Say why the matter is not for your grid: the court reads the reason."),
                  "error")
            return redirect(url_for(".details_view", id=id))
        try:
            matter = workflow.begin(session, id, actor, version=_version(form.version.data))
            workflow.take_step(
                session, matter, actor, name, note=note,
                reason=(form.reason.data or None) if name != "return" else None,
                worker=_worker(form.worker.data) if name == "dispatch" else None,
                grid=(routable_grid(form.grid.data) if name in ("redispatch", "reassign")
                      else None))
        except workflow.StepError as e:
            session.rollback()
            if e.kind in ("missing", "forbidden"):
                abort(404 if e.kind == "missing" else 403)
            flash(say(e), "error")
            return redirect(url_for(".details_view", id=id))
        session.commit()
        if name == "return":
            flash(_("%(case)s was returned to the court with your reason.",
                    case=matter.case_number), "success")
        else:
            flash(_("%(case)s: %(step)s — done.", case=matter.case_number,
                    step=_(workflow.STEPS[name].label)), "success")
        if session.scalar(select(Matter.id).where(Matter.id == matter.id,
                                                  current_scope().matters())) is None:
            return redirect(url_for(".index_view"))  # out of the asker's hands now
        return redirect(url_for(".details_view", id=id))

    @expose("/<uuid:id>/reroute/", methods=("POST",))
    def reroute_view(self, id):
        form = RerouteForm(request.form)
        if not form.validate():
            abort(400)
        if not current_scope().may("routing", "w"):
            abort(403)
        reason, grid = (form.reason.data or "").strip(), routable_grid(form.code.data)
        problem = (_("Choose the grid the matter goes to.") if grid is None else
                   _("Say why the matter moves: the grids read the reason.") if not reason
                   else None)
        session, actor = db.session, current_user._get_current_object()
        try:
            matter = workflow.begin(session, id, actor, version=_version(form.version.data))
            if problem:
                flash(problem, "error")
                return redirect(url_for(".details_view", id=id))
            workflow.take_step(session, matter, actor, "reroute", note=reason, grid=grid)
        except workflow.StepError as e:
            session.rollback()
            if e.kind in ("missing", "forbidden"):
                abort(404 if e.kind == "missing" else 403)
            flash(say(e), "error")
            return redirect(url_for(".details_view", id=id))
        session.commit()
        flash(_("%(case)s was re-routed. %(where)s", case=matter.case_number,
                where=where_it_is(matter)), "success")
        return redirect(url_for(".details_view", id=id))

    @expose("/grids/")
    def grid_lookup(self):
        """Grids a matter may be routed to, by name or code, for the re-route box."""
        if not current_scope().may("routing", "w"):
            abort(403)
        text = (request.args.get("q") or "").strip()
        if not text:
            return jsonify(grids=[])
        grids = db.session.scalars(
            Grid.current().where(Grid.level.in_(ROUTABLE), current_scope().grids(Grid),
                                 or_(Grid.name.contains(text), Grid.code.startswith(text)))
            .options(joinedload(Grid.parent).joinedload(Grid.parent).joinedload(Grid.parent))
            .order_by(Grid.code).limit(20)).all()
        return jsonify(grids=[{"code": g.code, "name": g.name, "path": grid_path(g)}
                              for g in grids])

"""The base of every admin model view: sign-in required, scope applied in SQL.

Hiding a menu entry is not protection. Here every way into a view's records —
list, count, details, edit, delete, actions, export, ajax lookups, list filters —
goes through `get_query` or `get_one`, both narrowed to the scope of the account
(models.access.Scope); writes also need the "w" permission for the view's kind.
"""

from __future__ import annotations

import csv
from io import StringIO
from urllib.parse import urlencode

from flask import Response, abort, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, inspect, literal_column, true
from werkzeug.utils import secure_filename

from admin.auth import current_scope
from admin.cells import safe_row
from admin.errors import MAX_PAGE, BadParameter, whole_number
from admin.kept import Kept
from admin.views.formatters import (
    TYPE_FORMATTERS,
    TYPE_FORMATTERS_DETAIL,
    TYPE_FORMATTERS_EXPORT,
)
from models import counting, db
from models.audit import append
from models.counting import Estimate, MoreThan, list_count


def refuse():
    """Anonymous: to the sign-in page (and back afterwards); signed in: 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.index", next=request.full_path))
    abort(403)


class AboutCount(Estimate):
    """An estimated row count as a page shows it: 约 N."""

    def __str__(self) -> str:
        return _("about %(n)s", n=f"{int(self):,}")


class AtLeastCount(MoreThan):
    """More rows than were counted, as a page shows it: 10,000+."""

    def __str__(self) -> str:
        return _("%(n)s+", n=f"{int(self) - 1:,}")


# What werkzeug leaves unquoted in a query string (werkzeug.urls._urlencode).
URL_SAFE = "!$'()*,/:;?@"
# Lists' counts beyond the cap, per list and reader (ScopedModelView.beyond_the_cap).
_BEYOND_THE_CAP = Kept(ttl=60.0, size=1000)


class ScopedModelView(ModelView):
    entity = ""  # the kind of record, as named in models.access.PERMISSIONS
    # A list that may hold a province's rows (a million matters): counted exactly up to
    # ten thousand rows, beyond that estimated or "10,000+" (models.counting), instead
    # of Flask-Admin's count of every row the filters let through on every page view.
    count_by_estimate = False
    # Export columns holding phone numbers that go out in full (not masked by a
    # column_formatters_export): counted in the export's audit record.
    full_phone_columns: tuple[str, ...] = ()
    allow_create = allow_edit = allow_delete = True
    form_base_class = SecureForm
    # Moments in Beijing time to the minute, in lists, details and exports alike.
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_export = TYPE_FORMATTERS_EXPORT
    column_type_formatters_detail = TYPE_FORMATTERS_DETAIL

    def scope_filter(self, scope):
        """SQL condition for the records this scope may see (override per view)."""
        return true()

    # Who may come in, and who may change things
    def is_accessible(self):
        return current_scope().may(self.entity)

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    def _may_write(self) -> bool:
        return current_scope().may(self.entity, "w")

    @property
    def can_create(self):
        return self.allow_create and self._may_write()

    @property
    def can_edit(self):
        return self.allow_edit and self._may_write()

    @property
    def can_delete(self):
        return self.allow_delete and self._may_write()

    # What they may see
    def get_query(self):
        return super().get_query().filter(self.scope_filter(current_scope()))

    def get_count_query(self):
        return super().get_count_query().filter(self.scope_filter(current_scope()))

    @property
    def simple_list_pager(self):
        """Flask-Admin counts the rows only when this is false; get_list counts instead."""
        return self.count_by_estimate

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        count, query = super().get_list(page, sort_column, sort_desc, search, filters,
                                        execute=False, page_size=page_size)
        if self.count_by_estimate and execute and self.counts_with_page():
            rows, counted = self.page_rows(query, with_count=True)
            if rows:  # else past the last page: counted below
                return counted, rows
        if self.count_by_estimate:
            count = self.beyond_the_cap(query, search, filters)
            if isinstance(count, Estimate):
                count = AboutCount(count)
            elif isinstance(count, MoreThan):
                count = AtLeastCount(count)
        return count, (self.page_rows(query)[0] if execute else query)

    def beyond_the_cap(self, query, search, filters) -> int:
        """The list's count (models.counting). One beyond the cap (an estimate, or
        "10,000+") is kept a minute for the same list (the reader, the search, the
        filters, the cap): it cost two statements a page, and a list that large does
        not fall under the cap in a minute. A count under the cap is made every time."""
        key = (self.endpoint, current_scope(), getattr(current_user, "id", None), search,
               tuple(tuple(f) for f in filters or ()), counting.EXACT_UP_TO)
        return _BEYOND_THE_CAP.get(key, lambda: list_count(query.session, query),
                                   keep=lambda c: isinstance(c, Estimate | MoreThan))

    def _apply_pagination(self, query, page, page_size):
        """Flask-Admin's paging with the numbers written in (whole numbers, from its
        validated arguments): as parameters, the server's generic plan assumed a tenth
        of the rows for LIMIT, was never chosen, and a list page's statement was planned
        anew on every request (a court officer's: 25 custom plans of 25)."""
        page_size = self.page_size if page_size is None else page_size
        if page_size:
            query = query.limit(literal_column(str(int(page_size))))
        if page and page_size:
            query = query.offset(literal_column(str(int(page) * int(page_size))))
        return query

    def page_rows(self, query, with_count: bool = False) -> tuple[list, int | None]:
        """The rows of a list page from its query (Flask-Admin's: scope, filters, search,
        sort, paging); with_count, also how many rows the list finds, as a window count
        in the same query (None without)."""
        if not with_count:
            return query.all(), None
        rows = query.add_columns(func.count().over()).all()
        return [row[0] for row in rows], (rows[0][1] if rows else None)

    def counts_with_page(self) -> bool:
        """Whether the list's count comes with its page, as a window count in the same
        query: for lists whose page query reads every row they find anyway (a scope of a
        few thousand rows found through an index and sorted in memory), where a count
        apart was a second pass over the same rows."""
        return False

    @staticmethod
    def pages_unknown(count) -> bool:
        """Whether the list only knows it has more rows than it counted (10,000+)."""
        return isinstance(count, MoreThan)

    def _get_list_url(self, view_args) -> str:
        """Flask-Admin's URL of a list page (the same text), its path built once a request:
        a list page asks for twenty of them (its sorts, its pager, the way back from each
        row), each a url_for."""
        page, desc = view_args.page or None, 1 if view_args.sort_desc else None
        arguments = {"page": page, "sort": view_args.sort, "desc": desc,
                     "search": view_args.search, **view_args.extra_args,
                     "page_size": self.get_safe_page_size(view_args.page_size),
                     **self._get_filters(view_args.filters)}
        paths = g.setdefault("gridlink_list_paths", {})
        path = paths.get(self.endpoint)
        if path is None:
            path = paths[self.endpoint] = url_for(f"{self.endpoint}.index_view")
        query = urlencode([(k, v) for k, v in arguments.items() if v is not None],
                          safe=URL_SAFE)
        return f"{path}?{query}" if query else path

    def get_one(self, id):
        pk = inspect(self.model).primary_key[0]
        try:
            return self.get_query().filter(pk == pk.type.python_type(id)).one_or_none()
        except (ValueError, TypeError):
            return None

    # Writes are refused on the server, whatever the page showed
    def create_model(self, form):
        if not self.can_create:
            abort(403)
        return super().create_model(form)

    def update_model(self, form, model):
        if not self.can_edit:
            abort(403)
        return super().update_model(form, model)

    def delete_model(self, model):
        if not self.can_delete:
            abort(403)
        return super().delete_model(model)

    # What the list is asked for: refused when it makes no sense, never a crash
    def _get_list_extra_args(self):
        whole_number("page", 0, least=0, most=MAX_PAGE)
        return super()._get_list_extra_args()

    def _get_list_filter_args(self):
        """Flask-Admin turns a filter's text into a value only when the query runs
        (an enum filter by name lookup, a number by int()): check each one here,
        so that ?flt1_0=<anything> is a 400 that names the filter, not a 500."""
        for arg, value in request.args.items():
            if not arg.startswith("flt") or "_" not in arg or not self._filter_args:
                continue
            found = self._filter_args.get(arg[3:].split("_", 1)[1])
            if found is None:
                continue  # an unknown filter is ignored
            flt = found[1]
            try:
                if flt.validate(value):  # if not, Flask-Admin says so and ignores it
                    flt.clean(value)
            except (KeyError, ValueError, TypeError, ArithmeticError):
                raise BadParameter(_("The filter %(filter)s cannot be %(value)s.",
                                     filter=flt.name, value=repr(value))) from None
        return super()._get_list_filter_args()

    # Exports: written out within the request, cells neutralised, audited
    def _export_csv(self, return_url):
        """Flask-Admin streams the CSV after the request's session is gone, so a
        relationship not yet loaded (a court's parent) broke the file halfway; here
        the rows are written while the session is alive, then sent."""
        _, data = self._export_data()
        out = StringIO()
        writer = csv.writer(out)
        writer.writerow(safe_row(str(c[1]) for c in self._export_columns))
        full = 0
        for row in data:
            values = [self.get_export_value(row, c[0]) for c in self._export_columns]
            full += sum(1 for c, v in zip(self._export_columns, values, strict=True)
                        if c[0] in self.full_phone_columns and v)
            writer.writerow(safe_row("" if v is None else str(v) for v in values))
        _audit_export(self.endpoint, len(data), full)
        name = secure_filename(self.get_export_name(export_type="csv"))
        return Response(out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment;filename={name}"})

    # Ajax lookups feed the edit forms: only for those who may edit, and scoped.
    @expose("/ajax/lookup/")
    def ajax_lookup(self):
        if not self._may_write():
            abort(403)
        return super().ajax_lookup()


def _audit_export(what: str, rows: int, phones_full: int) -> None:
    """Personal data leaving the system: who took which list, how many phone
    numbers in full."""
    scope = current_scope()
    append(db.session.connection(), "export", what, "csv",
           after={"rows": rows, "phones_full": phones_full, "area": scope.area_code or "city"})
    db.session.commit()


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """An ajax lookup that only offers records in the asker's scope."""

    def __init__(self, name, session, model, scope_filter, **options):
        super().__init__(name, session, model, **options)
        self.scope_filter = scope_filter

    def get_query(self):
        return super().get_query().filter(self.scope_filter(current_scope()))

    def get_one(self, pk):
        column = inspect(self.model).primary_key[0]
        query = self.get_query()
        try:
            pk = column.type.python_type(pk)
        except (ValueError, TypeError):
            return None
        with query.session.no_autoflush:  # called while a form fills in a new record
            return query.filter(column == pk).one_or_none()

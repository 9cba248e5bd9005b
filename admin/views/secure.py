"""The base of every admin model view: sign-in required, scope applied in SQL.

Hiding a menu entry is not protection. Here every way into a view's records —
list, count, details, edit, delete, actions, export, ajax lookups, list filters —
goes through `get_query` or `get_one`, both narrowed to the scope of the account
(models.access.Scope); writes also need the "w" permission for the view's kind.
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.form import SecureForm
from flask_login import current_user
from sqlalchemy import inspect, true

from admin.auth import current_scope
from admin.views.formatters import (
    TYPE_FORMATTERS,
    TYPE_FORMATTERS_DETAIL,
    TYPE_FORMATTERS_EXPORT,
)


def refuse():
    """Anonymous: to the sign-in page (and back afterwards); signed in: 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.index", next=request.full_path))
    abort(403)


class ScopedModelView(ModelView):
    entity = ""  # the kind of record, as named in models.access.PERMISSIONS
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

    # Ajax lookups feed the edit forms: only for those who may edit, and scoped.
    @expose("/ajax/lookup/")
    def ajax_lookup(self):
        if not self._may_write():
            abort(403)
        return super().ajax_lookup()


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

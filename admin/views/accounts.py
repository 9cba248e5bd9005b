"""Admin views of accounts, API tokens and the audit trail (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from wtforms import PasswordField
from wtforms.validators import ValidationError

from admin.views.formatters import enum_choices, level_label
from admin.views.grids import current_grids_loader
from admin.views.people import PersonLoader
from admin.views.secure import ScopedAjaxLoader, ScopedModelView
from models import ApiToken, Court, GridLevel, Person, Role, User, db
from models.accounts import PasswordRejected

ROLES = {
    Role.admin: _l("Administrator"),
    Role.committee: _l("Political-legal committee"),
    Role.town_centre: _l("Town grid centre"),
    Role.court_staff: _l("Court staff"),
    Role.liaison: _l("Liaison"),
    Role.grid_worker: _l("Grid worker"),
}
# The level of grid each role answers for (None: any level, or none at all).
ROLE_GRID_LEVELS = {Role.committee: {GridLevel.county}, Role.town_centre: {GridLevel.town},
                    Role.liaison: {GridLevel.town, GridLevel.village, GridLevel.microgrid},
                    Role.grid_worker: {GridLevel.village, GridLevel.microgrid}}


def courts_loader(name):
    return ScopedAjaxLoader(name, db, Court, lambda scope: scope.courts(),
                            fields=["name"], page_size=20)


class UserView(ScopedModelView):
    """Accounts are switched off, not deleted: the audit trail names them. Switching
    one off, giving it a new password or "sign out everywhere" ends its sessions."""

    entity = "accounts"
    allow_delete = False
    column_list = ["username", "display_name", "role", "court", "grid", "active",
                   "last_login_at"]
    column_labels = {"username": _l("User name"), "display_name": _l("Name"),
                     "role": _l("Role"), "court": _l("Court"), "grid": _l("Grid"),
                     "active": _l("Active"), "last_login_at": _l("Last sign-in"),
                     "must_change_password": _l("Must change password"),
                     "new_password": _l("New password"),
                     "person": _l("Person on the roster")}
    column_formatters = {"role": level_label(ROLES)}
    column_filters = ["role", "active"]
    column_searchable_list = ["username", "display_name"]
    form_columns = ["username", "display_name", "role", "court", "grid", "person", "active",
                    "must_change_password", "new_password"]
    form_extra_fields = {"new_password": PasswordField(_l("New password"))}
    form_choices = {"role": enum_choices(ROLES)}
    form_ajax_refs = {"court": courts_loader("court"), "grid": current_grids_loader("grid"),
                      # a liaison's or grid worker's account acts as this person does on
                      # the roster (models.workflow)
                      "person": PersonLoader("person", db, Person, lambda scope: scope.people(),
                                             fields=["name", "phone"], page_size=20)}

    def on_model_change(self, form, model, is_created):
        with db.session.no_autoflush:
            model.role = Role(model.role)
            self._check_binding(model)
            password = form.new_password.data
            if is_created and not password:
                raise ValidationError(_("Give the new account a password."))
            if password:
                try:
                    model.set_password(password)
                except PasswordRejected as e:
                    raise ValidationError(_(e.template, **e.params)) from e
            if not is_created and False in inspect(model).attrs.active.history.added:
                model.end_sessions()

    @action("sign_out", _l("Sign out everywhere"),
            _l("End every session of the selected accounts? They will have to sign in again."))
    def action_sign_out(self, ids):
        users = db.session.scalars(select(User).where(User.id.in_(ids))).all()
        for user in users:
            user.end_sessions()
        db.session.commit()
        flash(_("%(n)d accounts signed out everywhere.", n=len(users)), "success")

    def is_action_allowed(self, name):
        return self._may_write()

    def _check_binding(self, model):
        if model.role is Role.court_staff and model.court is None:
            raise ValidationError(_("Court staff belong to a court: choose it."))
        levels = ROLE_GRID_LEVELS.get(model.role)
        if model.role in (Role.town_centre, Role.liaison, Role.grid_worker) and not model.grid:
            raise ValidationError(_("This role answers for a grid: choose it."))
        if model.person is not None and model.role not in (Role.liaison, Role.grid_worker):
            raise ValidationError(_("Only a liaison's or grid worker's account stands for a "
                                    "person on the roster."))
        if model.grid is not None and (levels is None or model.grid.level not in levels):
            raise ValidationError(_("%(role)s cannot answer for a grid of this level.",
                                    role=ROLES[model.role]))


class ApiTokenView(ScopedModelView):
    """Tokens for court systems. The secret is shown once, when issued; revoking
    keeps the record (the audit trail refers to it)."""

    entity = "tokens"
    allow_edit = allow_delete = False
    column_list = ["prefix", "label", "court", "created_at", "last_used_at", "revoked_at"]
    column_labels = {"prefix": _l("Token"), "label": _l("Description"), "court": _l("Court"),
                     "created_at": _l("Created at"), "last_used_at": _l("Last used"),
                     "revoked_at": _l("Revoked at")}
    column_default_sort = ("created_at", True)
    form_columns = ["court", "label"]
    form_ajax_refs = {"court": courts_loader("court")}

    def on_model_change(self, form, model, is_created):
        if is_created:
            secret = model.new_secret()
            flash(_("Copy the token now; it will not be shown again: %(token)s",
                    token=secret), "success")

    @action("revoke", _l("Revoke"), _l("Revoke the selected tokens?"))
    def action_revoke(self, ids):
        tokens = db.session.scalars(select(ApiToken).where(
            ApiToken.id.in_(ids), ApiToken.revoked_at.is_(None))).all()
        for token in tokens:
            token.revoked_at = datetime.now(UTC)
        db.session.commit()
        flash(_("%(n)d tokens revoked.", n=len(tokens)), "success")

    def is_action_allowed(self, name):
        return self._may_write()

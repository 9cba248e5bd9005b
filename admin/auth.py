"""Signing in and out, changing a password, and who is asking.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax, Secure when the
site is served over HTTPS: GRIDLINK_HTTPS=1). The cookie names the account and
its session generation: signing out, a new password, disabling the account and
an administrator's "sign out everywhere" raise the generation, so every copy of
an older cookie is refused. Every form carries a CSRF token (Flask-Admin's
SecureForm). Failed sign-ins are counted in the database per account and
address, per account and per address (models.accounts.FAILURE_LIMITS), under a
per-account lock, so every server process throttles alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, abort, flash, g, redirect, render_template, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import or_, select, update
from sqlalchemy.orm import with_expression
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from models import ApiToken, LoginAttempt, User, db
from models.access import Scope
from models.accounts import PasswordRejected, lock_sign_in, throttled_until
from models.audit import Actor, append, set_actor_provider
from models.notifications import unread_of_account

login_manager = LoginManager()


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    return User.from_session_id(db.session, session_id, options=WITH_UNREAD)


# The bell's count comes in the statement that loads the account: no round trip of its
# own per page. Built once: a new expression per request would be compiled per request.
WITH_UNREAD = (with_expression(User.unread, unread_of_account()),)


def client_address() -> str:
    return request.remote_addr or "unknown"


def current_principal():
    """The signed-in account, or the API token of this request, or None."""
    token = g.get("api_token")
    if token is not None:
        return token
    return current_user if current_user.is_authenticated else None


def current_scope() -> Scope:
    return Scope.of(current_principal())


def load_bearer_token() -> bool | None:
    """Take a court system's `Authorization: Bearer glk_…` into account. None: the
    request carries no token; False: the token is unknown or revoked; True: it is
    valid, acts for this request (current_principal) and its last use is noted."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = ApiToken.find(db.session, header.removeprefix("Bearer ").strip())
    if token is None:
        return False
    _note_use(token)
    g.api_token = token
    return True


TOKEN_USE_GRAIN = timedelta(minutes=1)


def _note_use(token: ApiToken) -> None:
    """A token's last use, to the minute. It is bookkeeping, not a change anyone made:
    a plain UPDATE, outside the ORM whose changes become audit records, and at most
    once a minute however busy the court system is (the WHERE keeps concurrent
    workers from writing it twice). The caller's commit keeps it."""
    now = datetime.now(UTC)
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_USE_GRAIN:
        return
    table = ApiToken.__table__
    db.session.execute(update(table).where(
        table.c.id == token.id,
        or_(table.c.last_used_at.is_(None), table.c.last_used_at < now - TOKEN_USE_GRAIN))
        .values(last_used_at=now))


def _request_actor() -> Actor | None:
    from flask import has_request_context

    if not has_request_context():
        return None
    principal = current_principal()
    if principal is None:
        return Actor("anonymous", None, client_address())
    if hasattr(principal, "token_hash"):
        return Actor(f"token:{principal.prefix}", str(principal.id), client_address())
    return Actor(principal.username, str(principal.id), client_address())


def safe_next(target: str | None) -> str:
    """Only ever continue to a path of this site."""
    if not target:
        return url_for("admin.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return url_for("admin.index")
    return target


class LoginForm(SecureForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=50)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class PasswordForm(SecureForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    repeat = PasswordField(_l("New password again"),
                           validators=[DataRequired(), EqualTo("new", _l("The two do not match."))])


def attempt_login(username: str, password: str, address: str) -> tuple[User | None, str | None]:
    """Check a sign-in; record it; return the user, or None and why not."""
    session = db.session
    lock_sign_in(session, username)
    until = throttled_until(session, username, address)
    if until is not None:
        return None, _("Too many failed sign-ins. Try again after %(time)s.",
                       time=format_datetime(until, "HH:mm"))
    user = session.scalar(select(User).where(User.username == username))
    ok = user is not None and user.active and user.check_password(password)
    session.add(LoginAttempt(username=username, address=address, succeeded=ok))
    actor = Actor(username, str(user.id) if user else None, address)
    append(session.connection(), "login" if ok else "login_failed", "account",
           str(user.id) if user else None, actor=actor)
    if not ok:
        return None, _("Wrong user name or password.")
    user.last_login_at = datetime.now(UTC)
    return user, None


class AuthView(BaseView):
    """Sign-in, sign-out and password change, drawn in the admin's own frame."""

    def is_visible(self):
        return False

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = LoginForm(request.form)
        if request.method == "POST" and form.validate():
            user, problem = attempt_login(form.username.data.strip(), form.password.data,
                                          client_address())
            if user is not None:
                login_user(user)  # first, so the sign-in's own changes are audited as theirs
            db.session.commit()
            if user is not None:
                if user.must_change_password:
                    return redirect(url_for(".password"))
                return redirect(safe_next(request.args.get("next")))
            flash(problem, "error")
        return self.render("gridlink/login.html", form=form)

    @expose("/logout", methods=("POST",))
    def logout(self):
        form = SecureForm(request.form)
        if not form.validate():
            abort(400)
        if current_user.is_authenticated:
            # Every copy of this cookie ends here, not only the browser's own.
            current_user.end_sessions()
            db.session.flush()
            append(db.session.connection(), "logout", "account", str(current_user.id))
            db.session.commit()
        logout_user()
        return redirect(url_for(".index"))

    @expose("/password", methods=("GET", "POST"))
    def password(self):
        if not current_user.is_authenticated:
            return redirect(url_for(".index", next=request.path))
        form = PasswordForm(request.form)
        if request.method == "POST" and form.validate():
            user = db.session.get(User, current_user.id)
            if not user.check_password(form.current.data):
                flash(_("The current password is wrong."), "error")
            else:
                try:
                    user.set_password(form.new.data)
                except PasswordRejected as e:
                    flash(_(e.template, **e.params), "error")
                else:
                    user.must_change_password = False
                    db.session.commit()
                    login_user(user)  # this browser goes on; every other session ended
                    flash(_("Password changed."), "success")
                    return redirect(url_for("admin.index"))
        return self.render("gridlink/password.html", form=form)


def init_app(app: Flask) -> None:
    # Flask's defaults exist as keys (SameSite None, Secure False): set them outright.
    https = bool(app.config.get("HTTPS"))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https, REMEMBER_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.index"
    # A session cookie replayed from another address or browser is dropped.
    login_manager.session_protection = "strong"
    set_actor_provider(_request_actor)

    @app.errorhandler(403)
    def forbidden(error):
        return render_template(
            "gridlink/error.html", title=_("Not allowed"),
            message=_("Your account may not open this page or change this record.")), 403

    @app.context_processor
    def who():
        return {"gridlink_user": current_principal(), "logout_form": SecureForm()}

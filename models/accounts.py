"""Accounts, sign-in attempts and the API tokens of court systems.

An account has one role and, for most roles, one place it answers for: court
staff a court; a town centre its town; a liaison or a grid worker their grid; a
county committee its county (a city committee has no area: the whole city).
What each may see follows from that in models.access, nowhere else.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    func,
    select,
)
from sqlalchemy.orm import (
    Mapped,
    Session,
    joinedload,
    mapped_column,
    query_expression,
    relationship,
)
from zxcvbn import zxcvbn
from zxcvbn.matching import spatial_match

from models.base import db, uuid_pk
from models.courts import Court
from models.grids import N_, Grid
from models.roster import Person


class Role(enum.StrEnum):
    admin = "admin"  # 系统管理员
    committee = "committee"  # 市/县政法委
    town_centre = "town_centre"  # 镇（街）微网格治理服务中心
    court_staff = "court_staff"  # 法院执行干警
    liaison = "liaison"  # 镇/村网格长（联络员）
    grid_worker = "grid_worker"  # 网格员


# argon2id: memory-hard, so a stolen table costs an attacker memory as well as time.
hasher = PasswordHasher()


class PasswordRejected(ValueError):
    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


MIN_PASSWORD_LENGTH = 10
# Printed in the README for the demo accounts (seeds.accounts): no other account may use it.
PUBLISHED_DEMO_PASSWORD = "Yunfu2026demo"
# Words an attacker of this site tries first, besides the account's own name.
SITE_WORDS = ["gridlink", "yunfu", "yuncheng", "court", "admin", "demo"]
MIN_STRENGTH = 3  # zxcvbn's score, 0–4: 3 is "safely unguessable" online and offline-slow


def check_password_policy(password: str, username: str, user_inputs: tuple[str, ...] = (),
                          demo_account: bool = False) -> None:
    """At least 10 characters, letters and digits, not the user name, not the published
    demo password, no keyboard walk, and hard enough to guess by zxcvbn's estimate
    (which knows the leaked-password lists, words, names, dates, repeats)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(N_("a password needs at least %(n)d characters"),
                               n=MIN_PASSWORD_LENGTH)
    if not (re.search(r"[A-Za-z]", password) and re.search(r"[0-9]", password)):
        raise PasswordRejected(N_("a password needs both letters and digits"))
    if username and username.lower() in password.lower():
        raise PasswordRejected(N_("a password may not contain the user name"))
    if password == PUBLISHED_DEMO_PASSWORD and not demo_account:
        raise PasswordRejected(N_("this is the published demo password"))
    if _keyboard_walk(password):
        raise PasswordRejected(N_("a password may not be a row of keys (qwerty, asdf, 1q2w…)"))
    result = zxcvbn(password[:100], user_inputs=[username, *user_inputs, *SITE_WORDS])
    if result["score"] < MIN_STRENGTH:
        raise PasswordRejected(_weakness(result["sequence"]))


def _keyboard_walk(password: str) -> bool:
    """More than half of it typed along neighbouring keys of a QWERTY keyboard.
    (Digit runs on the keypad are left to the strength score: years look like them.)"""
    walked = sum(len(m["token"]) for m in spatial_match(password)
                 if m["graph"] == "qwerty" and len(m["token"]) >= 4)
    return walked * 2 > len(password)


def _weakness(sequence: list[dict]) -> str:
    """Why zxcvbn finds it easy, from the largest part it recognised."""
    part = max(sequence, key=lambda m: len(m["token"]))
    if part["pattern"] == "dictionary" and part.get("dictionary_name") == "passwords":
        return N_("this password is too common")
    if part["pattern"] in ("repeat", "sequence"):
        return N_("a password may not be mostly repeated or consecutive characters")
    return N_("this password is too easy to guess: make it longer, with unrelated words")


class User(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role <> 'court_staff' OR court_id IS NOT NULL", name="court_staff_court"),
        CheckConstraint("role NOT IN ('town_centre', 'liaison', 'grid_worker') "
                        "OR grid_id IS NOT NULL", name="area_roles_grid"),
        Index("uq_accounts_person_id", "person_id", unique=True,
              postgresql_where="person_id IS NOT NULL"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="account_role", values_callable=lambda e: [m.value for m in e]))
    court_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courts.id"))
    grid_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("grids.id"))
    # A liaison's or grid worker's account stands for one person on the roster: what
    # the roster says that person is today decides which matters they act on
    # (models.workflow), so a change of liaison moves the right with the roster.
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Part of every session cookie (get_id): raising it ends every session at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The bell's unread count, when the request's account was loaded with it
    # (admin.auth.load_user); None otherwise. Not a column.
    unread: Mapped[int | None] = query_expression()

    court: Mapped[Court | None] = relationship()
    grid: Mapped[Grid | None] = relationship()
    person: Mapped[Person | None] = relationship()

    def __str__(self) -> str:
        return f"{self.display_name}（{self.username}）"

    def set_password(self, password: str, demo_account: bool = False) -> None:
        """A new password also ends the account's sessions (a thief's copy too)."""
        check_password_policy(password, self.username, (self.display_name or "",),
                              demo_account=demo_account)
        self.password_hash = hasher.hash(password)
        if self.id is not None:
            self.end_sessions()

    def end_sessions(self) -> None:
        """Every session cookie issued so far stops working (signing out everywhere)."""
        self.session_generation = (self.session_generation or 0) + 1

    def check_password(self, password: str) -> bool:
        try:
            return hasher.verify(self.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return False

    # Flask-Login
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session cookie holds: the account and its session generation."""
        return f"{self.id}:{self.session_generation or 0}"

    @classmethod
    def from_session_id(cls, session: Session, session_id: str, options=()) -> User | None:
        """The active account a session cookie names, if that session has not ended
        (loaded with `options`, e.g. an expression for `unread`)."""
        account, _, generation = session_id.partition(":")
        try:
            # Every request loads its account: with its grid and the grid's parents up
            # to the county (scope, 我的网格's path) but not their polygons, which few
            # pages draw (a county's outline is megabytes); those that do load them then.
            user = session.get(cls, uuid.UUID(account), options=(_GRID_PATH, *options))
        except ValueError:
            return None
        if user is None or not user.active or str(user.session_generation) != generation:
            return None
        return user


def _without_polygon(option):
    return option.defer(Grid.geom, raiseload=False)


# An account's grid and its parents up to the county (a microgrid has three), loaded
# in one query with the account, without their polygons.
_GRID_PATH = _without_polygon(joinedload(User.grid))
_GRID_PATH = _without_polygon(_GRID_PATH.joinedload(Grid.parent))
_GRID_PATH = _without_polygon(_GRID_PATH.joinedload(Grid.parent))
_GRID_PATH = _without_polygon(_GRID_PATH.joinedload(Grid.parent))


class LoginAttempt(db.Model):
    """Every sign-in try, kept in the database so that all server processes count
    the same failures (an in-memory limiter would count per process)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    succeeded: Mapped[bool] = mapped_column(Boolean)


@dataclass(frozen=True)
class FailureLimit:
    """At most `failures` failed sign-ins within `window`, counted for the same
    account, the same address, or both."""

    failures: int
    window: timedelta
    by_account: bool
    by_address: bool


# The pair comes first: an attacker at one address locks the account out for that
# address only, not for its owner signing in elsewhere. A slower limit per account
# stops guessing spread over many addresses; one per address stops one place
# trying many accounts.
FAILURE_LIMITS = (
    FailureLimit(5, timedelta(minutes=15), by_account=True, by_address=True),
    FailureLimit(50, timedelta(hours=1), by_account=True, by_address=False),
    FailureLimit(20, timedelta(minutes=15), by_account=False, by_address=True),
)
SIGN_IN_LOCK = 4453_0002  # pg_advisory_xact_lock(SIGN_IN_LOCK, hashtext(username))


def lock_sign_in(session: Session, username: str) -> None:
    """Take this account's sign-in turn until the transaction ends, so that the count
    of failures and the attempt it lets through are one step: concurrent wrong
    passwords cannot all read "4 failures" and all be checked."""
    session.execute(select(func.pg_advisory_xact_lock(SIGN_IN_LOCK, func.hashtext(username))))


def throttled_until(session: Session, username: str, address: str,
                    now: datetime | None = None) -> datetime | None:
    """When sign-in may be tried again, if too many recent failures block it now."""
    now = now or datetime.now(UTC)
    until = None
    for limit in FAILURE_LIMITS:
        query = select(LoginAttempt.at).where(LoginAttempt.at > now - limit.window,
                                              LoginAttempt.succeeded.is_(False))
        if limit.by_account:
            query = query.where(LoginAttempt.username == username)
        if limit.by_address:
            query = query.where(LoginAttempt.address == address)
        failures = session.scalars(
            query.order_by(LoginAttempt.at.desc()).limit(limit.failures)).all()
        if len(failures) >= limit.failures:
            until = max(until or now, failures[-1] + limit.window)
    return until


class ApiToken(db.Model):
    """A court system's key to /api/v1/. Only a hash is stored; the token itself
    is shown once, when it is issued. It acts with the scope of its court's staff."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    court_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courts.id"))
    label: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    court: Mapped[Court] = relationship()

    def __str__(self) -> str:
        return f"{self.prefix}… {self.label}"

    @staticmethod
    def digest(token: str) -> str:
        # The token is 32 random bytes: a plain SHA-256 suffices (nothing to brute-force).
        return hashlib.sha256(token.encode()).hexdigest()

    def new_secret(self) -> str:
        """Give this token its secret; return it (it is not kept: show it once)."""
        secret = "glk_" + secrets.token_urlsafe(32)
        self.prefix, self.token_hash = secret[:12], self.digest(secret)
        return secret

    @classmethod
    def find(cls, session: Session, token: str) -> ApiToken | None:
        found = session.scalar(select(cls).where(cls.token_hash == cls.digest(token)))
        if found is None or found.revoked_at is not None:
            return None
        return found

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
    String,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import db, uuid_pk
from models.courts import Court
from models.grids import N_, Grid


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
COMMON_PASSWORDS = {"password", "password1", "12345678", "123456789", "1234567890",
                    "qwertyuiop", "1q2w3e4r5t", "admin12345", "abc1234567", "iloveyou12",
                    "gridlink123", "woaini1314"}


def check_password_policy(password: str, username: str) -> None:
    """At least 10 characters, letters and digits, not the user name, not a common one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(N_("a password needs at least %(n)d characters"),
                               n=MIN_PASSWORD_LENGTH)
    if not (re.search(r"[A-Za-z]", password) and re.search(r"[0-9]", password)):
        raise PasswordRejected(N_("a password needs both letters and digits"))
    if username and username.lower() in password.lower():
        raise PasswordRejected(N_("a password may not contain the user name"))
    if password.lower() in COMMON_PASSWORDS:
        raise PasswordRejected(N_("this password is too common"))


class User(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role <> 'court_staff' OR court_id IS NOT NULL", name="court_staff_court"),
        CheckConstraint("role NOT IN ('town_centre', 'liaison', 'grid_worker') "
                        "OR grid_id IS NOT NULL", name="area_roles_grid"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="account_role", values_callable=lambda e: [m.value for m in e]))
    court_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courts.id"))
    grid_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("grids.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    court: Mapped[Court | None] = relationship()
    grid: Mapped[Grid | None] = relationship()

    def __str__(self) -> str:
        return f"{self.display_name}（{self.username}）"

    def set_password(self, password: str) -> None:
        check_password_policy(password, self.username)
        self.password_hash = hasher.hash(password)

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
        return str(self.id)


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


# Failed sign-ins allowed within the window, per account and per address.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


def throttled_until(session: Session, username: str, address: str,
                    now: datetime | None = None) -> datetime | None:
    """When sign-in may be tried again, if too many recent failures block it now."""
    now = now or datetime.now(UTC)
    since = now - LOGIN_WINDOW
    for column, value, limit in ((LoginAttempt.username, username, MAX_FAILURES_PER_ACCOUNT),
                                 (LoginAttempt.address, address, MAX_FAILURES_PER_ADDRESS)):
        failures = session.scalars(
            select(LoginAttempt.at).where(column == value, LoginAttempt.at > since,
                                          LoginAttempt.succeeded.is_(False))
            .order_by(LoginAttempt.at.desc()).limit(limit)).all()
        if len(failures) >= limit:
            return failures[-1] + LOGIN_WINDOW
    return None


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

"""People who use the browser tumour board: accounts, passwords, roles, sessions, API tokens.

Passwords are hashed with argon2id (RFC 9106) through argon2-cffi's defaults; a hash made
with older parameters is upgraded at the next successful sign-in. Session cookies and API
tokens are 256-bit random values of which only the SHA-256 is stored.

Password guessing is throttled per account in the registry, so that every server process
sees the same count: after :data:`MAX_FAILED_LOGINS` wrong passwords in a row the account
is locked for :data:`LOCKOUT` (the OWASP Authentication Cheat Sheet's account-lockout
advice; NIST SP 800-63B §5.2.2 limits failed attempts to at most 100).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tumorboard.errors import InputError, NotFoundError, TumorboardError
from tumorboard.registry import audit
from tumorboard.registry.models import ROLES, User, WebSession

#: Wrong passwords in a row before an account is locked, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
#: A session ends after this long without a request, and after SESSION_MAX in any case.
SESSION_IDLE = dt.timedelta(hours=2)
SESSION_MAX = dt.timedelta(hours=12)
#: NIST SP 800-63B §5.1.1.2: at least 8 characters for a user-chosen secret.
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")

_hasher = PasswordHasher()


class AuthenticationError(TumorboardError):
    """Wrong user name or password, or a locked or disabled account."""


class AccountLockedError(AuthenticationError):
    """Too many wrong passwords; ``until`` says when the account opens again."""

    def __init__(self, message: str, until: dt.datetime) -> None:
        super().__init__(message)
        self.until = until


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns; they are UTC."""
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def user_record(user: User) -> dict[str, Any]:
    """A user as shown to admins (never the hashes)."""
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "active": user.active, "has_api_token": user.api_token_sha256 is not None,
            "created_at": user.created_at.isoformat(timespec="seconds"),
            "last_login_at": user.last_login_at.isoformat(timespec="seconds")
            if user.last_login_at else None}


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"unknown role '{role}'", expected=", ".join(ROLES))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password has {len(password)} characters; it needs at least "
                         f"{MIN_PASSWORD_LENGTH}",
                         fix="choose a longer passphrase (NIST SP 800-63B)")


def find_user(session: Session, username: str) -> User:
    """The user row.

    Raises
    ------
    NotFoundError
        No such user.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user '{username}'; see `tumorboard users list`")
    return user


def add_user(session: Session, username: str, password: str, *, role: str,
             display_name: str | None = None) -> dict[str, Any]:
    """Create an account.

    Raises
    ------
    InputError
        A malformed or taken user name, an unknown role, a too short password.
    """
    if not USERNAME.match(username):
        raise InputError(f"'{username}' is not a valid user name",
                         expected="2-64 characters: lower-case letters, digits, '.', '_', "
                                  "'-', starting with a letter")
    _check_role(role)
    _check_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InputError(f"user '{username}' exists already",
                         fix="choose another name, or `tumorboard users set-role`")
    user = User(username=username, display_name=display_name or username, role=role,
                password_hash=_hasher.hash(password), active=True, failed_logins=0)
    session.add(user)
    session.flush()
    audit.record(session, "user.add", "users", username, after=user_record(user))
    return user_record(user)


def list_users(session: Session) -> list[dict[str, Any]]:
    return [user_record(u) for u in session.scalars(select(User).order_by(User.username))]


def update_user(session: Session, username: str, *, role: str | None = None,
                active: bool | None = None, password: str | None = None,
                display_name: str | None = None) -> dict[str, Any]:
    """Change a user's role, activity, password or display name; ends their sessions when
    they lose access or their password changes.

    Raises
    ------
    NotFoundError, InputError
    """
    user = find_user(session, username)
    before = user_record(user)
    if role is not None:
        _check_role(role)
        user.role = role
    if display_name is not None:
        user.display_name = display_name
    if active is not None:
        user.active = active
    if password is not None:
        _check_password(password)
        user.password_hash = _hasher.hash(password)
        user.failed_logins, user.locked_until = 0, None
    if active is False or password is not None or (role is not None and role != before["role"]):
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    after = user_record(user)
    audit.record(session, "user.update", "users", username, before=before, after=after)
    return after


def authenticate(session: Session, username: str, password: str) -> User:
    """Check a user name and password; counts failures and locks the account after
    :data:`MAX_FAILED_LOGINS`. The caller commits the session either way.

    Raises
    ------
    AccountLockedError
        The account is locked (even if the password is right).
    AuthenticationError
        Unknown user, wrong password, disabled account: one message for all, so that a
        guesser learns nothing about which names exist.
    """
    wrong = AuthenticationError("wrong user name or password")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        _hasher.hash(password)  # same work as a real check: no timing hint for unknown names
        raise wrong
    now = _now()
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        raise AccountLockedError(
            f"too many wrong passwords; the account is locked until "
            f"{locked_until:%H:%M} UTC (or an admin resets the password)", locked_until)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
        raise wrong from None
    if not user.active:
        raise wrong
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return user


def start_session(session: Session, user: User) -> tuple[str, WebSession]:
    """A new browser session for ``user``; returns (cookie token, row)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    row = WebSession(token_sha256=sha256(token), user_id=user.id,
                     csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                     expires_at=now + SESSION_MAX)
    session.add(row)
    session.flush()
    return token, row


def resume_session(session: Session, token: str) -> WebSession | None:
    """The live session of a cookie token (sliding its idle timer), or None."""
    row = session.scalar(select(WebSession).where(WebSession.token_sha256 == sha256(token)))
    if row is None:
        return None
    now = _now()
    if _aware(row.expires_at) <= now or _aware(row.last_seen_at) + SESSION_IDLE <= now \
            or not row.user.active:
        session.delete(row)
        return None
    if now - _aware(row.last_seen_at) > dt.timedelta(minutes=1):  # not a write per request
        row.last_seen_at = now
    return row


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == sha256(token)))


def purge_sessions(session: Session) -> int:
    """Delete expired sessions; returns how many."""
    now = _now()
    result = session.execute(delete(WebSession).where(
        (WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - SESSION_IDLE)))
    return int(result.rowcount or 0)


def issue_api_token(session: Session, username: str) -> str:
    """A new API token for scripts (replaces the old one); shown once, stored as SHA-256."""
    user = find_user(session, username)
    token = "tb_" + secrets.token_urlsafe(32)
    user.api_token_sha256 = sha256(token)
    session.flush()
    audit.record(session, "user.token", "users", username, after={"api_token": "issued"})
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user an API token belongs to, or None."""
    user = session.scalar(select(User).where(User.api_token_sha256 == sha256(token)))
    return user if user is not None and user.active else None


def sign_in(engine: Any, username: str, password: str) -> tuple[str, dict[str, Any]]:
    """Check the password and open a session, in the registry ``engine``; returns (cookie
    token, user record). A failed attempt is counted (committed) before the error.

    Raises
    ------
    AuthenticationError, AccountLockedError
    """
    from tumorboard.registry.db import transaction

    failure: AuthenticationError | None = None
    with transaction(engine) as s:
        try:
            user = authenticate(s, username, password)
        except AuthenticationError as exc:
            failure = exc  # leave the block normally so that the count is committed
        else:
            token, _ = start_session(s, user)
            with audit.acting_as(f"web:{user.username}"):
                audit.record(s, "user.sign_in", "users", user.username)
            return token, user_record(user)
    raise failure

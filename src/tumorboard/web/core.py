"""What every page and API route shares: who is signed in, roles, CSRF, templates, errors.

Every route declares the least role it needs with ``Depends(require("viewer"))`` (or
``board_member``, ``admin``); a test walks the app's routes and fails on any route that
declares none and is not in :data:`PUBLIC_PATHS`. The dependency

- finds the user from the session cookie (browsers) or an ``Authorization: Bearer`` API
  token (scripts), else 401 (API) or a redirect to the sign-in page (pages);
- refuses a role below the route's with 403;
- on every unsafe method (POST, PUT, PATCH, DELETE) from a cookie session, checks the
  session's synchroniser token, sent as the form field ``csrf_token`` or the header
  ``X-CSRF-Token`` (OWASP CSRF Prevention Cheat Sheet); bearer-token requests carry no
  ambient credentials and need none;
- attributes the request's registry changes to the user in the audit log.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from tumorboard import __version__, accounts
from tumorboard.errors import TumorboardError
from tumorboard.registry import audit
from tumorboard.registry.db import transaction
from tumorboard.registry.models import ROLES

SESSION_COOKIE = "tb_session"
LOGIN_CSRF_COOKIE = "tb_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Routes anyone may reach: sign-in, static files, the liveness probe.
PUBLIC_PATHS = frozenset({"/login", "/static", "/healthz", "/favicon.ico", "/api/openapi.json"})


class NotAuthenticated(TumorboardError):
    """No valid session or API token."""


class Forbidden(TumorboardError):
    """Signed in, but the role does not allow this."""


class CsrfError(TumorboardError):
    """An unsafe request from a browser session without the session's CSRF token."""


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user of a request."""

    id: int
    username: str
    display_name: str
    role: str
    csrf_token: str | None  # None when authenticated by API token
    via: str  # "session" or "token"

    def can(self, role: str) -> bool:
        """Whether this user's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _lookup(request: Request) -> CurrentUser | None:
    ws = request.app.state.workspace
    header = request.headers.get("authorization", "")
    with transaction(ws.engine) as s:
        if header.lower().startswith("bearer "):
            user = accounts.user_for_token(s, header[7:].strip())
            if user is None:
                return None
            return CurrentUser(user.id, user.username, user.display_name, user.role, None,
                               "token")
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        row = accounts.resume_session(s, token)
        if row is None:
            return None
        u = row.user
        return CurrentUser(u.id, u.username, u.display_name, u.role, row.csrf_token, "session")


async def submitted_csrf(request: Request) -> str:
    """The CSRF token a request carries: header first, else the form field."""
    token = request.headers.get("x-csrf-token")
    if token:
        return token
    if request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


class require:  # lower case: reads as a phrase in Depends(require("viewer"))
    """Dependency: the signed-in user, who must have at least ``role``."""

    def __init__(self, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {ROLES}")
        self.role = role

    async def __call__(self, request: Request) -> CurrentUser:
        user = await run_in_threadpool(_lookup, request)
        if user is None:
            raise NotAuthenticated("sign in first")
        request.state.user = user
        if not user.can(self.role):
            raise Forbidden(f"this needs the role '{self.role}'; you are '{user.role}'. "
                            "Ask an admin if you need more access")
        if request.method not in SAFE_METHODS and user.via == "session":
            sent = await submitted_csrf(request)
            if not (sent and hmac.compare_digest(sent, user.csrf_token or "")):
                raise CsrfError("the form's security token is missing or stale; reload the "
                                "page and submit again")
        audit.actor.set(f"web:{user.username}")  # the endpoint runs in a copy of this context
        return user


def optional_user(request: Request) -> CurrentUser | None:
    """The signed-in user if any (for public pages such as sign-in)."""
    return _lookup(request)


def login_csrf(request: Request) -> str:
    """The double-submit token of the sign-in form (cookie and hidden field must agree)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def safe_next(target: str | None) -> str:
    """A redirect target after sign-in: only a path on this site, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_redirect_url(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(path, safe="")


# ---------------------------------------------------------------------------- templates

def _environment() -> Environment:
    env = Environment(loader=PackageLoader("tumorboard.web", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.globals["version"] = __version__
    env.filters["datetime"] = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else ""
    return env


templates = Jinja2Templates(env=_environment())


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Any:
    """A page: the template with the request, the signed-in user and their CSRF token."""
    user = getattr(request.state, "user", None)
    context.setdefault("user", user)
    context.setdefault("csrf_token", user.csrf_token if user else None)
    context.setdefault("today", dt.date.today())
    return templates.TemplateResponse(request, name, context, status_code=status_code)

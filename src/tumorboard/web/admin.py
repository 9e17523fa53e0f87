"""Signing in and out, the user's own page, and the admin pages: users and the audit log."""

from __future__ import annotations

import collections
import hmac
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tumorboard import accounts
from tumorboard.errors import InputError
from tumorboard.registry import audit
from tumorboard.registry.db import transaction
from tumorboard.registry.models import ROLES
from tumorboard.web.core import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    login_csrf,
    optional_user,
    render,
    require,
    safe_next,
)

pages = APIRouter(tags=["accounts"])
api = APIRouter(tags=["accounts"])


class LoginThrottle:
    """Failed sign-ins per client address in a sliding window (in this process).

    Complements the per-account lockout of :mod:`tumorboard.accounts`, which one address
    trying many user names would not trip. Only failures count, so a board room behind one
    hospital proxy address can sign in together; 20 failures per 15 minutes is generous for
    people and slow for a script.
    """

    def __init__(self, limit: int = 20, window_s: float = 900.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            hits = self._failures[client]
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if not hits:
                del self._failures[client]  # keep the table small
                return 0
            return int(hits[0] + self.window_s - now) + 1 if len(hits) >= self.limit else 0

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures[client].append(time.monotonic())


def _login_page(request: Request, *, next_url: str, error: str | None = None,
                status_code: int = 200, username: str = "") -> Response:
    token = login_csrf(request)
    response = render(request, "login.html", status_code=status_code, login_token=token,
                      next_url=next_url, error=error, username=username)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, path="/login")
    return response


@pages.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None) -> Response:
    if optional_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=safe_next(next))


@pages.post("/login", include_in_schema=False)
def login(request: Request, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    next_url = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not (cookie and hmac.compare_digest(cookie, csrf_token)):
        return _login_page(request, next_url=next_url, status_code=403, username=username,
                           error="The sign-in form expired; please try again.")
    client = request.client.host if request.client else "unknown"
    throttle = request.app.state.login_throttle
    wait = throttle.retry_after(client)
    if wait:
        response = _login_page(request, next_url=next_url, status_code=429, username=username,
                               error=f"Too many sign-in attempts from this computer; try "
                                     f"again in {wait // 60 + 1} minutes.")
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        token, _ = accounts.sign_in(request.app.state.workspace.engine, username.strip(),
                                    password)
    except accounts.AccountLockedError as exc:
        throttle.failed(client)
        return _login_page(request, next_url=next_url, status_code=429, username=username,
                           error=str(exc).capitalize() + ".")
    except accounts.AuthenticationError:
        throttle.failed(client)
        return _login_page(request, next_url=next_url, status_code=401, username=username,
                           error="Wrong user name or password.")
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.app.state.secure_cookies, path="/",
                        max_age=int(accounts.SESSION_MAX.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@pages.post("/logout", include_in_schema=False)
def logout(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))]
           ) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with transaction(request.app.state.workspace.engine) as s:
            accounts.end_session(s, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@pages.get("/", include_in_schema=False)
def home(user: Annotated[CurrentUser, Depends(require("viewer"))]) -> Response:
    return RedirectResponse("/patients", status_code=303)


# ------------------------------------------------------------------------------- admin

@pages.get("/admin/users", include_in_schema=False)
def users_page(request: Request, user: Annotated[CurrentUser, Depends(require("admin"))],
               message: str | None = None) -> Response:
    with request.app.state.workspace.session() as s:
        users = accounts.list_users(s)
    return render(request, "admin_users.html", users=users, roles=ROLES, message=message)


@pages.post("/admin/users", include_in_schema=False)
def users_add(request: Request, user: Annotated[CurrentUser, Depends(require("admin"))],
              username: Annotated[str, Form()], password: Annotated[str, Form()],
              role: Annotated[str, Form()], display_name: Annotated[str, Form()] = ""
              ) -> Response:
    try:
        with transaction(request.app.state.workspace.engine) as s:
            accounts.add_user(s, username.strip(), password, role=role,
                              display_name=display_name.strip() or None)
    except InputError as exc:
        with request.app.state.workspace.session() as s:
            users = accounts.list_users(s)
        return render(request, "admin_users.html", status_code=422, users=users, roles=ROLES,
                      error=str(exc), form={"username": username, "role": role,
                                            "display_name": display_name})
    return RedirectResponse(f"/admin/users?message=added+{username.strip()}", status_code=303)


@pages.post("/admin/users/{username}", include_in_schema=False)
def users_update(request: Request, username: str,
                 user: Annotated[CurrentUser, Depends(require("admin"))],
                 role: Annotated[str | None, Form()] = None,
                 active: Annotated[str | None, Form()] = None,
                 password: Annotated[str | None, Form()] = None) -> Response:
    if username == user.username and (active == "no" or (role and role != "admin")):
        raise InputError("you cannot demote or disable yourself",
                         fix="ask another admin to do it")
    with transaction(request.app.state.workspace.engine) as s:
        accounts.update_user(s, username, role=role or None,
                             active=None if active is None else active == "yes",
                             password=password or None)
    return RedirectResponse(f"/admin/users?message=updated+{username}", status_code=303)


def _audit_entries(request: Request, *, entity: str | None, actor: str | None,
                   action: str | None, page: int, per_page: int) -> dict[str, Any]:
    with request.app.state.workspace.session() as s:
        return audit.entries(s, entity=entity or None, actor_name=actor or None,
                             action=action or None, limit=per_page,
                             offset=(page - 1) * per_page)


@pages.get("/admin/audit", include_in_schema=False)
def audit_page(request: Request, user: Annotated[CurrentUser, Depends(require("admin"))],
               entity: str | None = None, actor: str | None = None,
               action: str | None = None, page: Annotated[int, Query(ge=1)] = 1) -> Response:
    per_page = 50
    found = _audit_entries(request, entity=entity, actor=actor, action=action, page=page,
                           per_page=per_page)
    return render(request, "admin_audit.html", **found, page=page, per_page=per_page,
                  filters={"entity": entity or "", "actor": actor or "",
                           "action": action or ""})


# --------------------------------------------------------------------------------- API

@api.get("/me", summary="The signed-in user")
def api_me(user: Annotated[CurrentUser, Depends(require("viewer"))]) -> dict[str, Any]:
    """``csrf_token`` (browser sessions only) is what scripts in the page send as
    ``X-CSRF-Token``; other sites cannot read it (same-origin policy, no CORS)."""
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "authenticated_by": user.via, "csrf_token": user.csrf_token}


@api.get("/users", summary="All accounts (admin)")
def api_users(request: Request, user: Annotated[CurrentUser, Depends(require("admin"))]
              ) -> list[dict[str, Any]]:
    with request.app.state.workspace.session() as s:
        return accounts.list_users(s)


@api.get("/audit", summary="The audit log, newest first (admin)")
def api_audit(request: Request, user: Annotated[CurrentUser, Depends(require("admin"))],
              entity: str | None = None, actor: str | None = None, action: str | None = None,
              page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
              per_page: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    return _audit_entries(request, entity=entity, actor=actor, action=action, page=page,
                          per_page=per_page)


__all__ = ["LoginThrottle", "api", "pages"]

"""Every route against every role, CSRF on every unsafe route, and logs without patient ids.

The route list is read from the app itself, so a new route cannot escape these tests: a
route without a declared role fails :func:`test_every_route_declares_a_role`, and a path
parameter these tests cannot fill fails :func:`test_every_role_against_every_route`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import audit_count, sign_in
from tumorboard.registry.db import transaction
from tumorboard.registry.models import ROLES, BoardAgendaItem, BoardSession, Patient
from tumorboard.registry.models import Recommendation as Rec
from tumorboard.web.app import mounted_routers
from tumorboard.web.core import PUBLIC_PATHS, require

BOARD_DATE = dt.date(2026, 11, 30)
#: Routes that end the caller's session or are the sign-in itself: checked elsewhere.
SESSION_ROUTES = {("POST", "/logout"), ("POST", "/login"), ("GET", "/login")}


def declared_role(route: APIRoute) -> str | None:
    """The role a route's ``require`` dependency asks for (searching sub-dependencies)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, require):
            return dep.call.role
        stack.extend(dep.dependencies)
    return None


@dataclass(frozen=True)
class Route:
    path: str
    methods: frozenset[str]
    role: str | None


def _routes(app: Any) -> list[Route]:
    """The app's own routes and those of every mounted router, with full paths."""
    found = [Route(r.path, frozenset(r.methods), declared_role(r)) for r in app.routes
             if isinstance(r, APIRoute)]
    for router, prefix in mounted_routers():
        found += [Route(prefix + r.path, frozenset(r.methods), declared_role(r))
                  for r in router.routes if isinstance(r, APIRoute)]
    return found


@pytest.fixture
def examples(web_workspace) -> dict[str, str]:
    """A real value for every path parameter of the app, on the fixture's data."""
    from tumorboard.board import ensure_recommendations

    ensure_recommendations(web_workspace, "DSRCT-001")
    with transaction(web_workspace.engine) as s:
        patient = s.scalar(select(Patient).where(Patient.pseudonym == "DSRCT-001"))
        rec = s.scalar(select(Rec).where(Rec.patient_id == patient.id).order_by(Rec.rank))
        board = BoardSession(board_date=BOARD_DATE, title="Sarcoma MTB", status="open")
        board.items.append(BoardAgendaItem(patient_id=patient.id, position=1))
        s.add(board)
    return {"pseudonym": patient.pseudonym, "board_date": BOARD_DATE.isoformat(),
            "recommendation_id": str(rec.id), "id": str(rec.id), "version": "1",
            "fmt": "json", "name": "activation", "username": "viewer", "plot": "km",
            "kind": "lines"}


def concrete(path: str, examples: dict[str, str]) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        assert name in examples, f"no example value for path parameter '{name}' of {path}"
        return examples[name]

    return re.sub(r"\{([^}]+)\}", fill, path)


def test_every_route_declares_a_role(app) -> None:
    routes = _routes(app)
    assert len(routes) > 40
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in routes
                  if r.role is None
                  and not any(r.path == p or r.path.startswith(p + "/") for p in PUBLIC_PATHS)]
    assert undeclared == []


def test_every_role_against_every_route(app, examples) -> None:
    """Below the route's role: 403 (pages and API alike); at or above it: anything but 403.
    Anonymous: pages redirect to sign-in, the API answers 401."""
    clients = {role: sign_in(TestClient(app, follow_redirects=False), role) for role in ROLES}
    anonymous = TestClient(app, follow_redirects=False)
    checked = 0
    for route in _routes(app):
        needed = route.role
        if needed is None:
            continue
        url = concrete(route.path, examples)
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in SESSION_ROUTES:
                continue
            for role in ROLES:
                client = clients[role]
                r = client.request(method, url, headers={"X-CSRF-Token": client.csrf})
                allowed = ROLES.index(role) >= ROLES.index(needed)
                where = f"{method} {route.path} as {role} (needs {needed})"
                if allowed:
                    assert r.status_code != 403, where
                    assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
                else:
                    assert r.status_code == 403, f"{where}: {r.status_code}"
                checked += 1
            r = anonymous.request(method, url)
            if url.startswith("/api/"):
                assert r.status_code == 401, f"{method} {url} anonymous: {r.status_code}"
            else:
                assert r.status_code == 303, f"{method} {url} anonymous: {r.status_code}"
                assert r.headers["location"].startswith("/login?next=")
    assert checked > 30


def test_every_unsafe_route_refuses_a_missing_or_wrong_csrf_token(app, examples,
                                                                   web_workspace) -> None:
    admin = sign_in(TestClient(app, follow_redirects=False), "admin")
    before = audit_count(web_workspace)
    unsafe = [(m, r.path) for r in _routes(app) if r.role
              for m in r.methods - {"GET", "HEAD", "OPTIONS"} if (m, r.path) not in SESSION_ROUTES]
    assert unsafe
    for method, path in unsafe:
        url = concrete(path, examples)
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            r = admin.request(method, url, headers=headers, data={"csrf_token": "forged"}
                              if headers else {})
            assert r.status_code == 403, f"{method} {path} {headers}: {r.status_code}"
    assert audit_count(web_workspace) == before  # nothing changed


def test_logs_carry_no_patient_identifiers(app, examples, caplog) -> None:
    viewer = sign_in(TestClient(app, follow_redirects=False), "viewer")
    pseudonym = examples["pseudonym"]
    with caplog.at_level(logging.DEBUG):
        viewer.get(f"/patients/{pseudonym}")
        viewer.get(f"/api/patients/{pseudonym}")
        viewer.get(f"/patients?q={pseudonym}")
        viewer.get("/patients/NO-SUCH-PATIENT-42")
        viewer.get(f"/api/patients/{pseudonym}/findings")
    # the server's loggers (the test client's own httpx log of its requests is not ours)
    text = "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith(("tumorboard", "uvicorn", "sqlalchemy")))
    assert "GET /patients/{pseudonym} 200" in text  # the access log names route templates
    assert "GET /api/patients/{pseudonym}/findings 200" in text
    for secret in (pseudonym, "NO-SUCH-PATIENT-42"):
        assert secret not in text


def test_a_write_racing_another_is_a_409_not_a_server_error(app, monkeypatch) -> None:
    """A unique-constraint failure (two simultaneous entries) answers 409 and says what to
    do; the test forces one with a duplicate account name slipping past the check."""
    from sqlalchemy.exc import IntegrityError

    from tumorboard import accounts

    def racing(*_args, **_kwargs):
        raise IntegrityError("INSERT INTO users ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(accounts, "add_user", racing)
    admin = sign_in(TestClient(app, follow_redirects=False), "admin")
    r = admin.post("/admin/users", data={"username": "twice", "password": "long enough pass",
                                         "role": "viewer", "csrf_token": admin.csrf})
    assert r.status_code == 409
    assert "nothing was saved" in r.text

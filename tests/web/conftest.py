"""Fixtures of the web tests: an analysed workspace per test on SQLite and PostgreSQL, with
one account per role, and test clients signed in as each.

The analysed cohort (``analysed`` in ``tests/conftest.py``: 12 DSRCT and 6 other sarcomas)
is computed once; every test gets its own copy (folder, and for PostgreSQL the registry rows
copied into a fresh database), so that tests may decide, sign and enter follow-up freely.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text

from tests.conftest import _fresh_postgres_database
from tumorboard import accounts
from tumorboard.config import Settings
from tumorboard.registry import db
from tumorboard.registry.models import Base
from tumorboard.web import create_app
from tumorboard.workspace import Workspace

PASSWORD = "board-room-secret"
#: One account per role; the user name is the role.
ROLE_USERS = ("viewer", "board_member", "admin")


#: What other tests may have added to the shared ``analysed`` workspace (recommendations,
#: decisions, board sessions, outcomes, accounts): a copy starts without them, as analysed.
NOT_COPIED = frozenset({
    "recommendations", "board_decisions", "board_sessions", "board_agenda", "signed_reports",
    "users", "web_sessions", "audit_log", "therapy_lines", "local_therapies",
    "recist_measurements", "clinical_events", "plasma_measurements"})


def copy_registry(source: Workspace, target_url: str) -> None:
    """Copy the analysed state of ``source``'s registry (patients, samples, assays, analyses,
    findings, targets, reviews; not :data:`NOT_COPIED`) into the (migrated, empty)
    ``target_url``, so that each test starts from the same state whatever ran before."""
    target = db.create_registry_engine(target_url)
    db.upgrade(target)
    with source.engine.connect() as src, target.begin() as dst:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_COPIED:
                continue
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            if rows:
                dst.execute(insert(table), rows)
            if target.dialect.name == "postgresql" and "id" in table.c and rows:
                dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"(SELECT max(id) FROM {table.name}))"))
    target.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def web_workspace(request: pytest.FixtureRequest, analysed, tmp_path: Path
                  ) -> Iterator[Workspace]:
    """A private copy of the analysed workspace with users viewer, board_member, admin."""
    source, _truth = analysed
    root = tmp_path / "ws"
    shutil.copytree(source.root, root, ignore=shutil.ignore_patterns("registry.sqlite*"))
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'registry.sqlite'}"
        copy_registry(source, url)
        yield from _with_users(Settings(workspace=root, database_url=url))
    else:
        for url in _fresh_postgres_database():
            copy_registry(source, url)
            yield from _with_users(Settings(workspace=root, database_url=url))


@pytest.fixture
def sqlite_web_workspace(analysed, tmp_path: Path) -> Iterator[Workspace]:
    """As :func:`web_workspace`, on SQLite only (tests that do not concern the database)."""
    source, _truth = analysed
    root = tmp_path / "ws"
    shutil.copytree(source.root, root, ignore=shutil.ignore_patterns("registry.sqlite*"))
    url = f"sqlite:///{root / 'registry.sqlite'}"
    copy_registry(source, url)
    yield from _with_users(Settings(workspace=root, database_url=url))


def _with_users(settings: Settings) -> Iterator[Workspace]:
    ws = Workspace.open(settings)
    with db.transaction(ws.engine) as s:
        for role in ROLE_USERS:
            accounts.add_user(s, role, PASSWORD, role=role, display_name=f"Dr {role}")
    yield ws
    ws.engine.dispose()


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Sign ``client`` in through the sign-in form; returns it, with the session's CSRF
    token in ``client.csrf``."""
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": csrf_of(page.text), "next": "/patients"})
    assert r.status_code == 303, r.text
    client.csrf = client.get("/api/me").json()["csrf_token"]
    return client


@pytest.fixture
def app(web_workspace: Workspace):
    return create_app(web_workspace.settings)


def _signed_in_clients(app) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        return sign_in(client, role)

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def client_as(app) -> Iterator[Callable[[str], TestClient]]:
    """``client_as("board_member")``: a test client signed in with that role's account."""
    yield from _signed_in_clients(app)


@pytest.fixture
def sqlite_client_as(sqlite_web_workspace: Workspace) -> Iterator[Callable[[str], TestClient]]:
    """As :func:`client_as`, over :func:`sqlite_web_workspace`."""
    yield from _signed_in_clients(create_app(sqlite_web_workspace.settings))


def audit_count(ws: Workspace) -> int:
    from tumorboard.registry.models import AuditEntry

    with ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)

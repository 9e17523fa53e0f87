"""Shared fixtures: fresh registry databases on SQLite and PostgreSQL, and workspaces.

PostgreSQL tests use the server named by ``TUMORBOARD_TEST_POSTGRES_URL`` (``.ci/run`` starts
one); each test gets its own freshly created database. Without the variable they are skipped,
unless ``TUMORBOARD_REQUIRE_POSTGRES=1`` (as in CI), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tumorboard.config import Settings
from tumorboard.workspace import Workspace

POSTGRES_URL = os.environ.get("TUMORBOARD_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("TUMORBOARD_REQUIRE_POSTGRES") == "1"
DATA = Path(__file__).parent / "data"


def _fresh_postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("TUMORBOARD_REQUIRE_POSTGRES=1 but TUMORBOARD_TEST_POSTGRES_URL is unset")
        pytest.skip("no PostgreSQL server (set TUMORBOARD_TEST_POSTGRES_URL)")
    admin_url = make_url(POSTGRES_URL)
    name = f"tb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if REQUIRE_POSTGRES:
            raise
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a new, empty registry database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite'}"
    else:
        yield from _fresh_postgres_database()


@pytest.fixture
def workspace(tmp_path: Path, db_url: str) -> Iterator[Workspace]:
    """An initialised workspace, on both database backends."""
    ws = Workspace.init(Settings.resolve(tmp_path / "ws", db_url))
    yield ws
    ws.engine.dispose()


@pytest.fixture
def sqlite_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """An initialised workspace on SQLite only (for tests that do not concern the database)."""
    ws = Workspace.init(Settings.resolve(tmp_path / "ws", None))
    yield ws
    ws.engine.dispose()


@pytest.fixture(scope="session")
def analysed(tmp_path_factory: pytest.TempPathFactory):
    """A small simulated cohort (12 DSRCT and 6 other sarcomas), imported and analysed on
    SQLite, with the simulator's truth. Shared by the analysis, recommendation and report
    tests; tests may add recommendations and decisions but must not delete data."""
    from tumorboard.analysis import analyze
    from tumorboard.intake import import_case
    from tumorboard.simulate import simulate_cohort

    root = tmp_path_factory.mktemp("analysis")
    truth = simulate_cohort(root / "cases", n_dsrct=12,
                            others={"DDLS": 2, "SYNS": 1, "ES": 1, "GIST": 1, "IMT": 1},
                            size="small")
    ws = Workspace.init(Settings.resolve(root / "ws", None))
    for case in sorted((root / "cases").glob("*/case.yaml")):
        import_case(ws, case.parent)
    analyze(ws)
    yield ws, truth
    ws.engine.dispose()

"""Database engines and schema migrations for the registry (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tumorboard.errors import WorkspaceError


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers (the browser, `patients list`) work while an import writes; foreign
    # keys are off by default in SQLite and must be switched on per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_registry_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``).

    Raises
    ------
    WorkspaceError
        If the URL is malformed or names an unsupported database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise WorkspaceError(
            f"database URL '{url}' is not valid; use sqlite:///path/registry.sqlite or "
            "postgresql+psycopg://user:password@host:5432/dbname"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise WorkspaceError(
        f"database '{backend}' is not supported; use SQLite (default) or PostgreSQL "
        "(postgresql+psycopg://…)"
    )


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("tumorboard.registry") / "migrations")
    )
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the registry schema to the newest migration (creates it on an empty database)."""
    try:
        command.upgrade(_alembic_config(engine), "head")
    except OperationalError as exc:
        raise WorkspaceError(
            f"cannot reach the registry database: {exc.orig}; check --db / TUMORBOARD_DB "
            "and that the server is running"
        ) from exc


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() == head
    except OperationalError as exc:
        raise WorkspaceError(
            f"cannot reach the registry database: {exc.orig}; check --db / TUMORBOARD_DB"
        ) from exc


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits as one transaction, or rolls back whole on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session

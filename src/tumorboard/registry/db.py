"""Database engines and schema migrations for the registry (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Engine, Table, create_engine, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
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


def bulk_insert(session: Session, table: Table, rows: Sequence[dict]) -> None:
    """Insert ``rows`` (dicts of column -> Python value) into ``table`` in the session's
    transaction, as fast as the backend allows.

    PostgreSQL: one ``COPY … FROM STDIN`` (psycopg's copy protocol, binary-safe text rows);
    the JSON columns are serialised here because COPY bypasses SQLAlchemy's type processing.
    COPY is the bulk-load path the PostgreSQL manual recommends over many INSERTs
    (https://www.postgresql.org/docs/current/populate.html#POPULATE-COPY-FROM).
    SQLite: a Core ``executemany`` (one prepared statement, no ORM bookkeeping). Either way
    the rows land with the rest of the transaction or not at all.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    # Python-side column defaults (``default=…``) are applied by SQLAlchemy's INSERT, not by
    # the server, so COPY must fill them in for columns the rows leave out
    defaults = {c.name: c.default for c in table.c
                if c.name not in columns and c.default is not None and not c.primary_key}
    columns += list(defaults)
    fill = {name: (d.arg if d.is_scalar else None) for name, d in defaults.items()}
    callables = {name: d.arg for name, d in defaults.items() if d.is_callable}
    as_json = {i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)}
    names = ", ".join(connection.dialect.identifier_preparer.quote(c) for c in columns)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    cursor = connection.connection.driver_connection.cursor()
    error = connection.dialect.loaded_dbapi.Error
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                values = [row[c] if c in row else
                          (callables[c](None) if c in callables else fill[c])
                          for c in columns]
                for i in as_json:
                    if values[i] is not None:
                        values[i] = json.dumps(values[i], separators=(",", ":"))
                copy.write_row(values)
    except error as exc:  # as SQLAlchemy would raise it (IntegrityError, OperationalError…)
        raise DBAPIError.instance(statement, None, exc, error, dialect=connection.dialect) from exc
    finally:
        cursor.close()

"""Typed settings: where the workspace is and which database holds the registry.

Precedence: explicit argument (CLI option) > environment variable > default.

- ``TUMORBOARD_WORKSPACE``: workspace folder (default ``./tumorboard-workspace``).
- ``TUMORBOARD_DB``: database URL (default: SQLite ``registry.sqlite`` in the workspace;
  PostgreSQL as ``postgresql+psycopg://user:password@host:5432/dbname``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WORKSPACE = "tumorboard-workspace"
SQLITE_FILE = "registry.sqlite"


@dataclass(frozen=True)
class Settings:
    workspace: Path
    database_url: str

    @classmethod
    def resolve(cls, workspace: str | Path | None = None, db: str | None = None) -> Settings:
        ws = Path(workspace or os.environ.get("TUMORBOARD_WORKSPACE") or DEFAULT_WORKSPACE)
        ws = ws.expanduser().resolve()
        url = db or os.environ.get("TUMORBOARD_DB") or f"sqlite:///{ws / SQLITE_FILE}"
        return cls(workspace=ws, database_url=url)

    @property
    def database_label(self) -> str:
        """The database URL with any password masked, safe to print and log."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:  # reported properly when connecting
            return "<unparsable database URL>"

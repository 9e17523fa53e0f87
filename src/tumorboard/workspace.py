"""A workspace: the registry database, the omics store, reports and models, in one folder.

::

    <workspace>/
      workspace.json        format version, creation time, database (password masked)
      registry.sqlite       the registry when SQLite is used (default)
      store/                the omics store (see tumorboard.store)
      reports/              generated reports and summary pages
      models/               trained models (methylation classifier, ...)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tumorboard import __version__
from tumorboard.config import Settings
from tumorboard.errors import NotFoundError, WorkspaceError
from tumorboard.registry import db
from tumorboard.registry.models import Assay, Sample
from tumorboard.store import OmicsStore

WORKSPACE_FILE = "workspace.json"
WORKSPACE_FORMAT = 1
SUBDIRS = ("store", "reports", "models")


class Workspace:
    """An opened workspace. Create one with :meth:`init` or :meth:`open`."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.root = settings.workspace
        self.engine = engine
        self.store = OmicsStore(self.root / "store")

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @classmethod
    def init(cls, settings: Settings) -> Workspace:
        """Create (or bring up to date) a workspace and its registry schema. Idempotent."""
        root = settings.workspace
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} exists and is not a folder; choose another --workspace")
        if root.is_dir() and any(root.iterdir()) and not (root / WORKSPACE_FILE).exists():
            raise WorkspaceError(
                f"{root} is a non-empty folder that is not a tumorboard workspace; "
                "choose an empty or new folder"
            )
        for sub in SUBDIRS:
            (root / sub).mkdir(parents=True, exist_ok=True)
        engine = db.create_registry_engine(settings.database_url)
        db.upgrade(engine)
        meta_path = root / WORKSPACE_FILE
        if not meta_path.exists():
            meta = {
                "format": WORKSPACE_FORMAT,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "created_by": f"tumorboard {__version__}",
                "database": settings.database_label,
            }
            tmp = meta_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            tmp.replace(meta_path)
        ws = cls(settings, engine)
        ws.recover()
        return ws

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        """Open an existing workspace whose schema is current."""
        root = settings.workspace
        if not (root / WORKSPACE_FILE).exists():
            raise WorkspaceError(
                f"no tumorboard workspace at {root}; create one with "
                f"`tumorboard init --workspace {root}` (or set TUMORBOARD_WORKSPACE)"
            )
        meta = json.loads((root / WORKSPACE_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != WORKSPACE_FORMAT:
            raise WorkspaceError(
                f"workspace {root} has format {meta.get('format')}, this tumorboard reads "
                f"format {WORKSPACE_FORMAT}; upgrade tumorboard"
            )
        engine = db.create_registry_engine(settings.database_url)
        if not db.schema_is_current(engine):
            raise WorkspaceError(
                f"the registry at {settings.database_label} is not initialised or is older "
                f"than this tumorboard; run `tumorboard init --workspace {root}`"
            )
        return cls(settings, engine)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def recover(self) -> dict[str, int]:
        """Finish or undo store writes of interrupted imports, and remove what killed
        processes left behind: half-written temporaries, abandoned scratch folders of
        analysis runs (see tumorboard.store). The registry is asked only if files are staged."""
        committed: set[str] = set()
        if self.store.pending():
            with self.session() as s:
                committed = set(s.scalars(select(Assay.uid)))
        return self.store.recover(committed)

    # --- cohort-wide reads -------------------------------------------------------------

    def current_assays(self, table: str, *, samples: list[str] | None = None) -> dict[str, str]:
        """Uid -> sample id of the newest version of every assay that has ``table``."""
        with self.session() as s:
            rows = s.execute(
                select(Assay.uid, Assay.version, Assay.layer, Assay.label, Assay.store_tables,
                       Sample.sample_key)
                .join(Sample, Assay.sample_id == Sample.id)
                .order_by(Assay.version)
            ).all()
        newest: dict[tuple[str, str, str], tuple[str, dict]] = {}
        for uid, _version, layer, label, tables, sample in rows:
            newest[(sample, layer, label)] = (uid, tables)
        wanted = set(samples) if samples is not None else None
        if wanted is not None:
            unknown = wanted - {k[0] for k in newest}
            if unknown:
                raise NotFoundError(
                    f"no assays for sample(s) {', '.join(sorted(unknown))}; "
                    "see `tumorboard patients list`"
                )
        return {
            uid: key[0]
            for key, (uid, tables) in newest.items()
            if table in tables and (wanted is None or key[0] in wanted)
        }

    def table(self, table: str, *, samples: list[str] | None = None) -> pd.DataFrame:
        """The cohort-wide long table (current assay versions), with ``sample_id``."""
        return self.store.read(table, self.current_assays(table, samples=samples))

    def matrix(
        self,
        table: str,
        *,
        samples: list[str] | None = None,
        feature: str | None = None,
        value: str | None = None,
    ) -> pd.DataFrame:
        """A samples x features matrix of one layer table over the cohort, in one call."""
        uids = self.current_assays(table, samples=samples)
        return self.store.matrix(table, uids, feature=feature, value=value)

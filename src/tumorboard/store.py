"""The omics store: one Parquet dataset per table, cohort-wide, one file per assay version.

Layout::

    store/<table>/<assay uid>.parquet            published (its assay is in the registry)
    store/<table>/<assay uid>.parquet.pending    staged by an import not yet committed

Every file holds the table's columns (:data:`tumorboard.io.tables.TABLES`) plus ``sample_id``,
so a folder is a self-describing Parquet dataset that pyarrow, DuckDB, polars or Dask read
directly. Which file is the *current* version of an assay is the registry's to say; the
:class:`tumorboard.workspace.Workspace` asks it and hands the uids here.

Atomicity (two-phase): an import stages its files as ``.pending`` (each written to a temporary
name, fsynced, renamed), commits the registry transaction, then publishes (renames) them. A
crash before the commit leaves only ``.pending`` files the registry does not know, which
readers never see and :meth:`OmicsStore.recover` deletes; a crash between commit and publish
leaves ``.pending`` files the registry does know, which :meth:`recover` publishes.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tumorboard.errors import NotFoundError, WorkspaceError
from tumorboard.io.tables import MATRIX_TABLES, TABLES

PENDING = ".pending"
#: A staged file older than this, unknown to the registry, is an abandoned import's.
ABANDONED_AFTER_S = 3600.0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OmicsStore:
    """Cohort-wide Parquet storage of every layer's tidy tables."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # --- paths ------------------------------------------------------------------------

    def table_dir(self, table: str) -> Path:
        if table not in TABLES:
            raise NotFoundError(f"no store table '{table}'; tables: {', '.join(TABLES)}")
        return self.root / table

    def path(self, table: str, uid: str) -> Path:
        return self.table_dir(table) / f"{uid}.parquet"

    # --- writing ------------------------------------------------------------------------

    def stage(self, table: str, uid: str, frame: pd.DataFrame, *, sample_id: str) -> Path:
        """Write ``frame`` for one sample as a pending file; invisible until published."""
        directory = self.table_dir(table)
        directory.mkdir(parents=True, exist_ok=True)
        data = pa.Table.from_pandas(frame, preserve_index=False)
        sample = pa.DictionaryArray.from_arrays(
            pa.array([0] * len(frame), type=pa.int32()), pa.array([sample_id])
        )
        data = data.add_column(0, "sample_id", sample)
        final = self.path(table, uid)
        pending = final.with_name(final.name + PENDING)
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        try:
            pq.write_table(data, tmp, compression="zstd")
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            tmp.replace(pending)
            _fsync_dir(directory)
        finally:
            tmp.unlink(missing_ok=True)
        return pending

    def publish(self, table: str, uid: str) -> None:
        """Make a staged file visible (after its registry transaction committed)."""
        final = self.path(table, uid)
        pending = final.with_name(final.name + PENDING)
        if pending.exists():
            pending.replace(final)

    def discard(self, table: str, uid: str) -> None:
        """Remove a staged file whose registry transaction did not commit."""
        final = self.path(table, uid)
        final.with_name(final.name + PENDING).unlink(missing_ok=True)

    def pending(self) -> list[tuple[str, str, Path]]:
        """Staged files: (table, uid, path)."""
        out = []
        if not self.root.exists():
            return out
        for directory in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for f in directory.glob(f"*.parquet{PENDING}"):
                out.append((directory.name, f.name.removesuffix(f".parquet{PENDING}"), f))
        return out

    def recover(self, committed: set[str], *, now: float | None = None) -> dict[str, int]:
        """Finish or undo interrupted imports (see the module docstring).

        Parameters
        ----------
        committed
            Uids of every assay the registry holds.
        """
        now = time.time() if now is None else now
        published = removed = 0
        for table, uid, path in self.pending():
            if uid in committed:
                self.publish(table, uid)
                published += 1
            elif now - path.stat().st_mtime > ABANDONED_AFTER_S:
                path.unlink(missing_ok=True)
                removed += 1
        # half-written temporaries of a process killed while writing
        for path in self.root.glob("*/.*.tmp"):
            if now - path.stat().st_mtime > ABANDONED_AFTER_S:
                path.unlink(missing_ok=True)
                removed += 1
        return {"published": published, "removed": removed}

    # --- reading ------------------------------------------------------------------------

    def _existing(self, table: str, uid: str) -> Path:
        final = self.path(table, uid)
        if not final.exists():
            pending = final.with_name(final.name + PENDING)
            if pending.exists():
                # Committed in the registry (we were asked for it) but not yet renamed:
                # roll forward, as recover() would.
                pending.replace(final)
            else:
                raise WorkspaceError(
                    f"store file {final} is missing although the registry lists assay {uid}; "
                    "restore the store from backup or re-import the case"
                )
        return final

    def read(
        self, table: str, uids: Iterable[str], *, columns: list[str] | None = None
    ) -> pd.DataFrame:
        """The long table for the given assay uids, with a ``sample_id`` column."""
        paths = [self._existing(table, uid) for uid in uids]
        if not paths:
            spec = TABLES[table]
            cols = columns or list(spec)
            frame = pd.DataFrame({c: pd.Series(dtype=spec[c]) for c in cols})
            frame.insert(0, "sample_id", pd.Series(dtype="string"))
            return frame
        read_cols = None if columns is None else ["sample_id", *columns]
        parts = [pq.read_table(p, columns=read_cols) for p in paths]
        frame = pa.concat_tables(parts, promote_options="default").to_pandas(
            types_mapper=_string_mapper
        )
        spec = TABLES[table]
        # Back to the contract's dtypes (Parquet turns nullable integers into floats).
        return frame.astype({c: spec[c] for c in frame.columns if c in spec})

    def matrix(
        self,
        table: str,
        uids: Mapping[str, str] | Iterable[str],
        *,
        feature: str | None = None,
        value: str | None = None,
    ) -> pd.DataFrame:
        """A samples x features matrix (rows ``sample_id``) of one table.

        Defaults for ``feature`` and ``value`` come from :data:`MATRIX_TABLES` (e.g.
        expression: gene x TPM). Duplicate features within a sample are an error of the
        reader and are refused here.
        """
        if feature is None or value is None:
            if table not in MATRIX_TABLES:
                raise NotFoundError(
                    f"table '{table}' has no default matrix; give feature= and value= "
                    f"(matrix tables: {', '.join(MATRIX_TABLES)})"
                )
            feature, value = MATRIX_TABLES[table]
        long = self.read(table, list(uids), columns=[feature, value])
        dupes = long.duplicated(["sample_id", feature])
        if dupes.any():
            first = long.loc[dupes].iloc[0]
            raise WorkspaceError(
                f"{table}: feature '{first[feature]}' occurs twice in sample "
                f"'{first['sample_id']}'; the reader should have merged it"
            )
        wide = long.pivot(index="sample_id", columns=feature, values=value)
        wide.columns.name = feature
        return wide.sort_index()


def _string_mapper(dtype: pa.DataType) -> object | None:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return pd.StringDtype()
    if pa.types.is_dictionary(dtype):
        return pd.StringDtype()
    return None

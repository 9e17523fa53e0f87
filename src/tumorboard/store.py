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

Where the store lives: ``root`` is a local path or any fsspec URL (``file://``, a shared
filesystem mount, ``s3://bucket/prefix`` with s3fs installed, ...; fsspec URLs and
``url_to_fs``, https://filesystem-spec.readthedocs.io/en/latest/api.html). Workers of a
Dask cluster on other machines read the store through such a URL (give an absolute path:
a relative one means another folder on another machine); the store pickles (only its URL
travels; the filesystem object is created again, lazily, where it is used). Imports
write only to a local store (a path or ``file://``; a shared filesystem mounted locally
counts): the two-phase protocol above relies on POSIX rename and fsync, which object stores
do not offer, so on any other URL the write methods raise :class:`WorkspaceError`.

Scratch space: ``<root>/_scratch/<name>`` folders (:meth:`OmicsStore.scratch_url`) live on the
store's filesystem, so that workers elsewhere can read and write them (e.g. the Zarr arrays of
:mod:`tumorboard.outofcore`); :meth:`OmicsStore.recover` deletes those untouched for
:data:`ABANDONED_AFTER_S`.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tumorboard.errors import InputError, NotFoundError, WorkspaceError
from tumorboard.io.tables import MATRIX_TABLES, TABLES

PENDING = ".pending"
#: A staged file older than this, unknown to the registry, is an abandoned import's; a scratch
#: folder untouched for this long is an abandoned computation's.
ABANDONED_AFTER_S = 3600.0
SCRATCH = "_scratch"
_LOCAL_PROTOCOLS = ("file", "local")
_SCRATCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OmicsStore:
    """Cohort-wide Parquet storage of every layer's tidy tables."""

    def __init__(self, root: str | Path) -> None:
        """Open the store at ``root``: a local path or an fsspec URL (see the module docstring).

        Nothing is touched here; the filesystem is created on first use.
        """
        if isinstance(root, Path) or "://" not in str(root):
            self.url = str(root)
            self._local: Path | None = Path(root)
        else:
            self.url = str(root).rstrip("/")
            protocol = fsspec.utils.get_protocol(self.url)
            self._local = (Path(fsspec.core.strip_protocol(self.url))
                           if protocol in _LOCAL_PROTOCOLS else None)
        self._fs: fsspec.AbstractFileSystem | None = None
        self._fs_root: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        # The filesystem object is rebuilt where the store is unpickled (a Dask worker):
        # connections and caches do not travel.
        return {"url": self.url, "_local": self._local}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.url, self._local = state["url"], state["_local"]
        self._fs, self._fs_root = None, None

    def __repr__(self) -> str:
        return f"OmicsStore({self.url!r})"

    @property
    def is_local(self) -> bool:
        """True for a store on a locally mounted filesystem (a path or ``file://`` URL)."""
        return self._local is not None

    @property
    def root(self) -> Path:
        """The store's folder on local disk (local stores only; see :attr:`url`)."""
        if self._local is None:
            raise WorkspaceError(
                f"the store at {self.url} is not on a local filesystem and has no local root; "
                "use OmicsStore.url (an fsspec URL) to address it"
            )
        return self._local

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem of the store, created on first use."""
        if self._fs is None:
            self._fs, self._fs_root = fsspec.core.url_to_fs(self.url)
        return self._fs

    def _remote_path(self, *parts: str) -> str:
        """A path inside the store as the filesystem :attr:`fs` names it."""
        _ = self.fs  # created on first use, with the root as the filesystem names it
        return "/".join([str(self._fs_root).rstrip("/"), *parts])

    def _require_local(self, action: str) -> Path:
        if self._local is None:
            raise WorkspaceError(
                f"cannot {action}: the store at {self.url} is read-only from this process; "
                "imports write to the workspace's local (or shared-filesystem) store, give "
                "its path or file:// URL to write"
            )
        return self._local

    # --- paths ------------------------------------------------------------------------

    def table_dir(self, table: str) -> Path:
        """The folder of one table (local stores)."""
        self._check_table(table)
        return self.root / table

    def path(self, table: str, uid: str) -> Path:
        """The published file of one assay (local stores)."""
        return self.table_dir(table) / f"{uid}.parquet"

    @staticmethod
    def _check_table(table: str) -> None:
        if table not in TABLES:
            raise NotFoundError(f"no store table '{table}'; tables: {', '.join(TABLES)}")

    # --- scratch space ------------------------------------------------------------------

    def scratch_url(self, name: str) -> str:
        """URL (or local path) of the scratch folder ``<root>/_scratch/<name>``, created.

        On the store's own filesystem, so that Dask workers that read the store can also read
        and write it. :meth:`remove_scratch` deletes it; :meth:`recover` deletes scratch
        folders untouched for :data:`ABANDONED_AFTER_S`.

        Raises
        ------
        InputError
            If ``name`` is not a plain folder name (letters, digits, ``.``, ``_``, ``-``).
        """
        self._check_scratch_name(name)
        if self._local is not None:
            folder = self._local / SCRATCH / name
            folder.mkdir(parents=True, exist_ok=True)
            return str(folder) if "://" not in self.url else f"file://{folder}"
        self.fs.makedirs(self._remote_path(SCRATCH, name), exist_ok=True)
        return f"{self.url}/{SCRATCH}/{name}"

    def remove_scratch(self, name: str) -> None:
        """Delete the scratch folder ``name`` and everything in it (no error if absent)."""
        self._check_scratch_name(name)
        path = self._remote_path(SCRATCH, name)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    @staticmethod
    def _check_scratch_name(name: str) -> None:
        if not isinstance(name, str) or not _SCRATCH_NAME.fullmatch(name) or ".." in name:
            raise InputError(
                f"scratch folder name {name!r} is not a plain folder name",
                expected="letters, digits, '.', '_' or '-', starting with a letter or digit",
                fix="pass a name such as 'expression-3f2a' without slashes",
            )

    # --- writing ------------------------------------------------------------------------

    def stage(self, table: str, uid: str, frame: pd.DataFrame, *, sample_id: str) -> Path:
        """Write ``frame`` for one sample as a pending file; invisible until published."""
        self._require_local("stage an import")
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
        self._require_local("publish an import")
        final = self.path(table, uid)
        pending = final.with_name(final.name + PENDING)
        if pending.exists():
            pending.replace(final)

    def discard(self, table: str, uid: str) -> None:
        """Remove a staged file whose registry transaction did not commit."""
        self._require_local("discard an import")
        final = self.path(table, uid)
        final.with_name(final.name + PENDING).unlink(missing_ok=True)

    def pending(self) -> list[tuple[str, str, Path]]:
        """Staged files: (table, uid, path)."""
        self._require_local("list staged imports")
        out: list[tuple[str, str, Path]] = []
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
        now
            The current time (seconds since the epoch); for tests.

        Returns
        -------
        dict
            ``published``: staged files made visible; ``removed``: abandoned staged files,
            half-written temporaries and abandoned scratch folders deleted.
        """
        self._require_local("recover interrupted imports")
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
        removed += self._remove_abandoned_scratch(now)
        return {"published": published, "removed": removed}

    def _remove_abandoned_scratch(self, now: float) -> int:
        """Delete scratch folders in which nothing changed for :data:`ABANDONED_AFTER_S`."""
        scratch = self.root / SCRATCH
        if not scratch.is_dir():
            return 0
        removed = 0
        for folder in sorted(p for p in scratch.iterdir() if p.is_dir()):
            # The newest change anywhere inside: a long computation still writing deep in
            # its folder (Zarr chunks) is not abandoned.
            newest = folder.stat().st_mtime
            for parent, _, files in os.walk(folder):
                newest = max([newest, os.stat(parent).st_mtime,
                              *(os.stat(os.path.join(parent, f)).st_mtime for f in files)])
            if now - newest > ABANDONED_AFTER_S:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    # --- reading ------------------------------------------------------------------------

    def _existing(self, table: str, uid: str) -> Path | str:
        """The published file of ``uid`` (a Path locally, an fsspec path otherwise)."""
        if self._local is None:
            self._check_table(table)
            final_name = self._remote_path(table, f"{uid}.parquet")
            if self.fs.exists(final_name):
                return final_name
            if self.fs.exists(final_name + PENDING):
                raise WorkspaceError(
                    f"store file {self.url}/{table}/{uid}.parquet is still staged "
                    f"({PENDING}) although the registry lists assay {uid}; the store at "
                    f"{self.url} is read-only from this process, so run `tumorboard` on the "
                    "workspace's machine (its recover step publishes the file) and retry"
                )
            raise WorkspaceError(
                f"store file {self.url}/{table}/{uid}.parquet is missing although the "
                f"registry lists assay {uid}; restore the store from backup or re-import the "
                "case"
            )
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
        filesystem = None if self._local is not None else self.fs
        parts = [pq.read_table(p, columns=read_cols, filesystem=filesystem) for p in paths]
        frame = pa.concat_tables(parts, promote_options="default").to_pandas(
            types_mapper=_string_mapper
        )
        spec = TABLES[table]
        # Back to the contract's dtypes (Parquet turns nullable integers into floats).
        return frame.astype({c: spec[c] for c in frame.columns if c in spec})

    def read_arrow(self, table: str, uid: str, *, columns: list[str] | None = None) -> pa.Table:
        """One assay's file as an Arrow table, as stored (for bulk readers such as
        :mod:`tumorboard.outofcore`; :meth:`read` converts to the contract's dtypes)."""
        path = self._existing(table, uid)
        return pq.read_table(path, columns=columns,
                             filesystem=None if self._local is not None else self.fs)

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
        feature, value = matrix_columns(table, feature, value)
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


def matrix_columns(table: str, feature: str | None = None,
                   value: str | None = None) -> tuple[str, str]:
    """The (feature, value) columns a matrix of ``table`` is built from: as given, else the
    table's defaults (:data:`MATRIX_TABLES`, e.g. expression: gene x TPM).

    Raises
    ------
    NotFoundError
        The table has no default matrix and ``feature``/``value`` are not both given.
    """
    if feature is not None and value is not None:
        return feature, value
    if table not in MATRIX_TABLES:
        raise NotFoundError(
            f"table '{table}' has no default matrix; give feature= and value= "
            f"(matrix tables: {', '.join(MATRIX_TABLES)})"
        )
    return MATRIX_TABLES[table]


def _string_mapper(dtype: pa.DataType) -> object | None:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return pd.StringDtype()
    if pa.types.is_dictionary(dtype):
        return pd.StringDtype()
    return None

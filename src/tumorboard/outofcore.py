"""Out-of-core cohort matrices: a store table transposed into blocks of features through Zarr.

Cohort-relative statistics (leave-one-out z-scores, percentiles; :mod:`tumorboard.layers.scoring`)
are computed per feature over all samples, but the omics store holds one Parquet file per assay,
i.e. per sample (:mod:`tumorboard.store`). A 10,000 x 60,000 expression matrix is 4.8 GB of
float64 and does not fit a worker's memory budget, so it is transposed on disk in two passes,
the rechunking pattern of rechunker (https://rechunker.readthedocs.io/en/latest/algorithm.html)
and of Dask arrays stored to and read from Zarr
(https://docs.dask.org/en/stable/array-chunks.html, ``dask.array.to_zarr`` / ``from_zarr``):

1. *Pass 1* reads partitions of ``rows_per_partition`` samples (each with all its features)
   from the Parquet files, one :func:`dask.delayed` task per partition, and writes them into
   a Zarr array chunked (``rows_per_partition``, ``features_per_block``). A task's rows span
   whole chunks, so no two tasks write the same chunk and no lock is needed.
2. *Pass 2* reads one block of ``features_per_block`` features over all samples at a time
   (:meth:`TransposedMatrix.block`): the columns the layers score together.

The first pass runs on the active Dask scheduler: with a :class:`distributed.Client` open, the
workers read the store and write the array, so both must be at URLs every worker reaches
(a shared filesystem path or object storage; :meth:`tumorboard.store.OmicsStore.scratch_url`).
The matrix is exactly :meth:`tumorboard.store.OmicsStore.matrix`'s (same sorted samples, same
feature columns, same values, NaN where missing), as float64.

Layout at ``url``::

    url/meta.json          table, feature and value columns, samples, features, block sizes
    url/values/            Zarr v3 array, samples x features, float64, NaN = missing
    url/sample_medians/    Zarr v3 array, per-sample nan-median over all features (optional)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import zarr

from tumorboard.errors import InputError, WorkspaceError
from tumorboard.layers.scoring import nan_median_rows
from tumorboard.store import OmicsStore, matrix_columns

__all__ = [
    "DEFAULT_RESERVE_BYTES",
    "FLOAT64_BYTES",
    "WORKING_COPIES",
    "TransposedMatrix",
    "fits_in_memory",
    "open_transposed",
    "plan_blocks",
    "remove",
    "transpose_table",
]

#: Bytes of one matrix element: float64 (IEEE 754 binary64), the dtype the layers score in.
FLOAT64_BYTES = 8
#: Matrix-sized float64 copies alive at once while one block is scored, measured with
#: ``benchmarks/bench_outofcore.py`` (docs/benchmarks.md, "Out-of-core cohort scoring (issue
#: 8)"). Three are the block itself: the block read from Zarr, the float64 copy
#: ``expression_findings`` checks it into (``DataFrame.astype``) and the features x samples log
#: copy it scores (``scoring._copy_features_by_samples``). The rest is the findings table of
#: the block, which dominates when the whole cohort is reported: about 7 % of all values are
#: findings there (outliers plus the watch list, as in the 1,000-patient benchmark of issue 3)
#: and each row with its provenance takes about 1.2 kB, some 10 float64 copies' worth per
#: element. Measured: 17 copies' worth at 2,000 x 60,000 (peak 2,123 MiB with 16 planned under
#: 2 GiB); 20 leaves a margin. Pass 1 needs far less (its partition and the encoded chunks), so
#: the same count is conservative there. A caller that reports few findings per block (one
#: patient, ``samples=[...]``) can pass a smaller ``working_copies`` (4 is the block alone).
WORKING_COPIES: float = 20.0
#: Memory of the process that is not the matrix: the interpreter with numpy, pandas, pyarrow,
#: dask and zarr imported (about 190 MB resident, measured in the benchmark), the fixed-size
#: scoring temporaries (``scoring._BLOCK_ELEMENTS`` float64 elements per array, about a dozen
#: arrays on each of up to two threads, some 770 MB) and what the heap keeps over many blocks.
#: Subtracted from the budget. 768 MiB left the 10,000 x 60,000 benchmark 14 % over its 2 GiB
#: budget (docs/benchmarks.md, "Out-of-core cohort scoring (issue 8)": about 430 MiB more than
#: at 1,000 samples with blocks of the same size); with 1,280 MiB the same run peaked at
#: 1,617 MiB (120 blocks of 503 genes).
DEFAULT_RESERVE_BYTES = 1280 * 2**20
META = "meta.json"
VALUES = "values"
MEDIANS = "sample_medians"
# Parquet files whose feature column one scan task reads (the scan is I/O, not memory).
_SCAN_FILES_PER_TASK = 256
_LOCAL_PROTOCOLS = ("file", "local")


# --------------------------------------------------------------------------- planning


def _minimum_budget(n_samples: int, n_features: int, working_copies: float,
                    reserve_bytes: int) -> int:
    """Smallest budget with one feature of all samples and one sample of all features."""
    return reserve_bytes + math.ceil(FLOAT64_BYTES * working_copies
                                     * max(n_samples, n_features, 1))


def plan_blocks(
    n_samples: int,
    n_features: int,
    budget_bytes: int,
    *,
    working_copies: float = WORKING_COPIES,
    reserve_bytes: int = DEFAULT_RESERVE_BYTES,
) -> tuple[int, int]:
    """(rows_per_partition, features_per_block) so that pass 1 and a block's scoring fit the budget.

    Memory model: a partition of pass 1 is ``rows x n_features`` and a block of pass 2 is
    ``n_samples x features`` float64 elements (:data:`FLOAT64_BYTES` each), of which
    ``working_copies`` (:data:`WORKING_COPIES`, measured) are alive at once; the rest of the
    process takes ``reserve_bytes`` (:data:`DEFAULT_RESERVE_BYTES`). Each side gets as many
    rows / features as ``budget_bytes - reserve_bytes`` allows, at least one, at most all.
    Chunks of the Zarr array are ``rows_per_partition x features_per_block`` (the rechunker
    "intermediate-free" case, https://rechunker.readthedocs.io/en/latest/algorithm.html: the
    source chunks are whole rows, the target chunks whole columns, and the chunk both share
    fits the memory of one task).

    Parameters
    ----------
    n_samples, n_features
        Shape of the samples x features matrix.
    budget_bytes
        Memory one worker process may use.
    working_copies
        Matrix-sized copies alive at once.
    reserve_bytes
        Memory of the process apart from the matrix.

    Raises
    ------
    InputError
        If the budget does not hold even one feature of all samples (or one sample of all
        features); the message gives the minimum budget.
    """
    for name, number in (("n_samples", n_samples), ("n_features", n_features)):
        if not isinstance(number, int | np.integer) or number < 0:
            raise InputError(f"{name} must be a non-negative integer, not {number!r}")
    if working_copies <= 0 or reserve_bytes < 0:
        raise InputError("working_copies must be > 0 and reserve_bytes >= 0",
                         fix="keep the defaults WORKING_COPIES and DEFAULT_RESERVE_BYTES")
    minimum = _minimum_budget(n_samples, n_features, working_copies, reserve_bytes)
    if budget_bytes < minimum:
        raise InputError(
            f"a memory budget of {budget_bytes:,} bytes is too small for a {n_samples:,} x "
            f"{n_features:,} matrix: one feature of all samples and one sample of all features "
            f"need {minimum:,} bytes ({FLOAT64_BYTES} bytes x {working_copies:g} working copies"
            f" x {max(n_samples, n_features):,} values, plus {reserve_bytes:,} reserved)",
            expected=f"budget_bytes >= {minimum:,}",
            fix="give the workers more memory (Dask --memory-limit) or a larger budget",
        )
    usable = (budget_bytes - reserve_bytes) / (FLOAT64_BYTES * working_copies)
    rows = int(min(max(1, n_samples), max(1, usable // max(1, n_features))))
    features = int(min(max(1, n_features), max(1, usable // max(1, n_samples))))
    return rows, features


def fits_in_memory(
    n_samples: int,
    n_features: int,
    budget_bytes: int,
    *,
    working_copies: float = WORKING_COPIES,
    reserve_bytes: int = DEFAULT_RESERVE_BYTES,
) -> bool:
    """Whether the whole samples x features matrix can be scored in memory within the budget.

    Same memory model as :func:`plan_blocks`: ``working_copies`` float64 copies of the matrix
    plus ``reserve_bytes``.
    """
    need = reserve_bytes + FLOAT64_BYTES * working_copies * n_samples * n_features
    return need <= budget_bytes


# --------------------------------------------------------------------------- the matrix


def _is_local(url: str) -> bool:
    return "://" not in url or fsspec.utils.get_protocol(url) in _LOCAL_PROTOCOLS


def _zarr_store(url: str, *, read_only: bool) -> Any:
    """The Zarr store of ``url``: a LocalStore on local disk, an FsspecStore elsewhere.

    ``file://`` URLs go to LocalStore because zarr's FsspecStore over the local filesystem
    does not create parent folders (fsspec's LocalFileSystem without ``auto_mkdir``).
    """
    if _is_local(url):
        return zarr.storage.LocalStore(fsspec.core.strip_protocol(url), read_only=read_only)
    return zarr.storage.FsspecStore.from_url(url, read_only=read_only)


def _join(url: str, name: str) -> str:
    return f"{url.rstrip('/')}/{name}"


@dataclass(frozen=True)
class TransposedMatrix:
    """A samples x features matrix of one store table, on disk in blocks of features.

    Picklable (only strings, integers and lists): Dask ships it to the workers that score
    the blocks. Made by :func:`transpose_table`; reopened by :func:`open_transposed`.

    Attributes
    ----------
    url
        Folder (local path or fsspec URL) of the Zarr arrays and ``meta.json``.
    table
        The store table (e.g. ``expression``).
    samples
        Row labels, sorted as :meth:`OmicsStore.matrix` sorts them.
    features
        Column labels, in :meth:`OmicsStore.matrix`'s order.
    features_per_block
        Width of a block (the Zarr chunk width).
    feature
        Name of the feature column (the columns' index name, e.g. ``gene``).
    """

    url: str
    table: str
    samples: list[str]
    features: list[str]
    features_per_block: int
    feature: str = "feature"

    @property
    def n_blocks(self) -> int:
        """Number of blocks of features (0 for an empty matrix)."""
        return math.ceil(len(self.features) / self.features_per_block)

    @property
    def shape(self) -> tuple[int, int]:
        """(samples, features)."""
        return len(self.samples), len(self.features)

    def _block_slice(self, j: int) -> slice:
        if not isinstance(j, int | np.integer) or not 0 <= j < self.n_blocks:
            raise InputError(f"block {j!r} does not exist in the transposed {self.table} "
                             f"matrix at {self.url}",
                             expected=f"an integer from 0 to {self.n_blocks - 1}")
        start = int(j) * self.features_per_block
        return slice(start, min(start + self.features_per_block, len(self.features)))

    def block_features(self, j: int) -> list[str]:
        """The features of block ``j``."""
        return self.features[self._block_slice(j)]

    def _values(self) -> zarr.Array:
        try:
            return zarr.open_array(_zarr_store(_join(self.url, VALUES), read_only=True),
                                   mode="r")
        except FileNotFoundError as exc:
            raise WorkspaceError(
                f"the transposed {self.table} matrix at {self.url} is gone (removed, or its "
                "scratch folder was cleaned up); transpose the table again"
            ) from exc

    def _frame(self, values: np.ndarray, columns: list[str]) -> pd.DataFrame:
        frame = pd.DataFrame(
            values, copy=False,
            index=pd.Index(self.samples, dtype="string", name="sample_id"),
            columns=pd.Index(columns, dtype="string", name=self.feature),
        )
        return frame

    def block(self, j: int) -> pd.DataFrame:
        """Block ``j``: samples x its features, float64, NaN where missing."""
        cols = self._block_slice(j)
        return self._frame(self._values()[:, cols], self.features[cols])

    def read(self, features: list[str]) -> pd.DataFrame:
        """Samples x the given features (any columns, in the order given).

        Raises
        ------
        InputError
            If a feature is not a column of the matrix.
        """
        wanted = list(features)
        positions = pd.Index(self.features).get_indexer(wanted)
        if (positions < 0).any():
            unknown = [f for f, p in zip(wanted, positions, strict=True) if p < 0][:5]
            raise InputError(f"features {unknown} are not columns of the transposed "
                             f"{self.table} matrix at {self.url}",
                             fix="read only features listed in TransposedMatrix.features")
        if not wanted:
            return self._frame(np.empty((len(self.samples), 0)), [])
        unique, inverse = np.unique(positions, return_inverse=True)
        values = self._values().get_orthogonal_selection((slice(None), unique))
        return self._frame(np.ascontiguousarray(values[:, inverse]), wanted)

    def sample_medians(self) -> pd.Series | None:
        """Per-sample nan-median over all features, if pass 1 computed it (else None).

        Computed with :func:`tumorboard.layers.scoring.nan_median_rows` on each partition's
        rows (every row holds all features of its sample); the same numbers as
        :func:`tumorboard.layers.scoring.nan_median_columns` on the features x samples matrix,
        which the proteome layer's per-sample centring uses.
        """
        try:
            medians = zarr.open_array(_zarr_store(_join(self.url, MEDIANS), read_only=True),
                                      mode="r")
        except FileNotFoundError:
            return None
        return pd.Series(medians[:], index=pd.Index(self.samples, dtype="string",
                                                    name="sample_id"),
                         name="sample_median")


# --------------------------------------------------------------------------- pass 0: scan


def _first_duplicate(names: np.ndarray) -> int:
    """Position of the first value that occurred before in ``names`` (-1 if none)."""
    dup = pd.Index(names).duplicated()
    return int(np.argmax(dup)) if dup.any() else -1


def _scan(store: OmicsStore, table: str, uids: list[str], feature: str) -> dict[str, Any]:
    """Sample id, row count and first duplicate of each file; the features of them all.

    The feature columns only, so that the union of features is known before any value is
    placed. Files of one pipeline list the same features in the same order, so a file equal
    to the one before reuses its results (an Arrow comparison instead of hashing strings).
    """
    samples: list[str | None] = []
    rows: list[int] = []
    duplicates: list[int] = []
    union = pa.array([], type=pa.string())
    previous: pa.Array | None = None
    duplicate = -1
    for uid in uids:
        data = store.read_arrow(table, uid, columns=["sample_id", feature])
        rows.append(data.num_rows)
        samples.append(data.column("sample_id")[0].as_py() if data.num_rows else None)
        names = data.column(feature).combine_chunks().cast(pa.string())
        if previous is None or not names.equals(previous):
            duplicate = (-1 if pc.count_distinct(names, mode="all").as_py() == len(names)
                         else _first_duplicate(names.to_numpy(zero_copy_only=False)))
            union = pc.unique(pa.concat_arrays([union, pc.drop_null(names)]))
            previous = names
        duplicates.append(duplicate)
    return {"samples": samples, "rows": rows, "duplicates": duplicates, "features": union}


def _duplicate_error(store: OmicsStore, table: str, uids: list[str], feature: str,
                     scans: list[dict[str, Any]]) -> WorkspaceError | None:
    """The error :meth:`OmicsStore.matrix` raises for a duplicate (sample, feature), if any.

    ``matrix`` reports the first duplicated row of the long table (files in ``uids`` order,
    rows in file order); a sample spread over several files may repeat a feature across
    them, so those files are checked together.
    """
    file_sample = [s for scan in scans for s in scan["samples"]]
    file_dup = [d for scan in scans for d in scan["duplicates"]]
    by_sample: dict[str, list[int]] = {}
    for i, sample in enumerate(file_sample):
        if sample is not None:
            by_sample.setdefault(sample, []).append(i)
    first: tuple[int, int] | None = None
    for files in by_sample.values():
        if len(files) == 1:
            if file_dup[files[0]] >= 0:
                candidate = (files[0], file_dup[files[0]])
                first = candidate if first is None else min(first, candidate)
            continue
        names = [store.read_arrow(table, uids[i], columns=[feature]).column(feature)
                 .to_numpy(zero_copy_only=False) for i in files]
        position = _first_duplicate(np.concatenate(names))
        if position >= 0:
            sizes = np.cumsum([len(n) for n in names])
            k = int(np.searchsorted(sizes, position, side="right"))
            candidate = (files[k], position - (int(sizes[k - 1]) if k else 0))
            first = candidate if first is None else min(first, candidate)
    if first is None:
        return None
    file_index, row = first
    name = store.read_arrow(table, uids[file_index], columns=[feature]).column(feature)[row]
    return WorkspaceError(
        f"{table}: feature '{name.as_py()}' occurs twice in sample "
        f"'{file_sample[file_index]}'; the reader should have merged it"
    )


# --------------------------------------------------------------------------- pass 1: write


def _read_partition(store: OmicsStore, table: str, files: list[list[str]],
                    features: pd.Index, feature: str, value: str) -> np.ndarray:
    """Rows (samples) x all features of one partition, float64, NaN where missing."""
    out = np.full((len(files), len(features)), np.nan)
    previous: pa.Array | None = None
    positions = known = np.empty(0, dtype=np.intp)
    for row, uids in enumerate(files):
        for uid in uids:
            data = store.read_arrow(table, uid, columns=[feature, value])
            names = data.column(feature).combine_chunks().cast(pa.string())
            if previous is None or not names.equals(previous):
                # same features in the same order as the file before: same positions
                positions = features.get_indexer(names.to_numpy(zero_copy_only=False))
                known = positions >= 0  # a missing (null) feature name has no column
                previous = names
            values = data.column(value).cast(pa.float64()).to_numpy(zero_copy_only=False)
            out[row, positions[known]] = values[known]
    return out


def transpose_table(
    store: OmicsStore,
    table: str,
    uids: Mapping[str, str] | list[str],
    url: str,
    *,
    budget_bytes: int,
    feature: str | None = None,
    value: str | None = None,
    sample_medians: bool = False,
    scheduler: str | None = None,
    working_copies: float = WORKING_COPIES,
    reserve_bytes: int = DEFAULT_RESERVE_BYTES,
) -> TransposedMatrix:
    """Write the samples x features matrix of ``table`` over ``uids`` to ``url`` in blocks.

    The matrix is exactly ``store.matrix(table, uids, feature=feature, value=value)`` (as
    float64), written in two passes (module docstring) so that no step holds more than
    ``budget_bytes`` (:func:`plan_blocks`).

    Parameters
    ----------
    store
        The omics store (any URL every Dask worker can read).
    table
        Store table, e.g. ``expression``.
    uids
        Assay uids (a mapping's keys are used, as in :meth:`OmicsStore.matrix`).
    url
        Folder to write (local path or fsspec URL), e.g. ``store.scratch_url(name)``: new,
        empty, or holding an earlier matrix (which is replaced).
    budget_bytes
        Memory one worker may use (:func:`plan_blocks`).
    feature, value
        Columns that make the matrix; default from :data:`MATRIX_TABLES`.
    sample_medians
        Also compute each sample's nan-median over all features in pass 1
        (:meth:`TransposedMatrix.sample_medians`).
    scheduler
        Dask scheduler: None for the active one (a ``distributed.Client`` if one is open),
        ``"threads"`` or ``"synchronous"`` for in-process.
    working_copies, reserve_bytes
        The memory model of :func:`plan_blocks` (:data:`WORKING_COPIES`,
        :data:`DEFAULT_RESERVE_BYTES`).

    Raises
    ------
    WorkspaceError
        For a duplicate feature within a sample (as :meth:`OmicsStore.matrix`), a missing
        store file, or a ``url`` that holds other files.
    InputError
        If the budget is too small (:func:`plan_blocks`).
    """
    feature, value = matrix_columns(table, feature, value)
    uids = list(uids)
    compute = {} if scheduler is None else {"scheduler": scheduler}

    # pass 0: which sample each file holds, and the union of the features
    scan_parts = [uids[i:i + _SCAN_FILES_PER_TASK]
                  for i in range(0, len(uids), _SCAN_FILES_PER_TASK)]
    scans = list(dask.compute(*[dask.delayed(_scan, pure=False)(store, table, part, feature)
                                for part in scan_parts], **compute))
    error = _duplicate_error(store, table, uids, feature, scans)
    if error is not None:
        raise error
    file_sample = [s for scan in scans for s in scan["samples"]]
    by_sample: dict[str, list[str]] = {}
    for uid, sample in zip(uids, file_sample, strict=True):
        if sample is not None:  # a file without rows adds no row to the pivot either
            by_sample.setdefault(sample, []).append(uid)
    samples = sorted(by_sample)
    union = pc.unique(pa.concat_arrays([pa.array([], type=pa.string()),
                                        *(scan["features"] for scan in scans)]))
    # Python's order of str (code points), which pandas' pivot sorts the columns in
    feature_list = sorted(union.to_pylist())
    rows, width = plan_blocks(len(samples), len(feature_list), budget_bytes,
                              working_copies=working_copies, reserve_bytes=reserve_bytes)

    _clear(url)
    matrix = TransposedMatrix(url=url, table=table, samples=samples, features=feature_list,
                              features_per_block=width, feature=feature)
    meta = {"table": table, "feature": feature, "value": value, "samples": samples,
            "features": feature_list, "features_per_block": width,
            "rows_per_partition": rows, "sample_medians": sample_medians}
    if samples and feature_list:
        _pass_one(store, table, [by_sample[s] for s in samples], pd.Index(feature_list),
                  url, feature=feature, value=value, rows=rows, width=width,
                  sample_medians=sample_medians, compute=compute)
    # meta.json last: a folder without it is an interrupted transposition
    with fsspec.open(_join(url, META), "w", auto_mkdir=True) as fh:
        json.dump(meta, fh)
    return matrix


def _pass_one(store: OmicsStore, table: str, files: list[list[str]], features: pd.Index,
              url: str, *, feature: str, value: str, rows: int, width: int,
              sample_medians: bool, compute: dict[str, Any]) -> None:
    """Read partitions of samples and store them into the chunked Zarr array(s)."""
    n_samples, n_features = len(files), len(features)
    values = zarr.create_array(_zarr_store(_join(url, VALUES), read_only=False),
                               shape=(n_samples, n_features), chunks=(rows, width),
                               dtype="float64", fill_value=np.nan, overwrite=True)
    # The feature index travels once in the graph, not once per task.
    index = dask.delayed(features, pure=True)
    parts = [
        da.from_delayed(
            dask.delayed(_read_partition, pure=True)(store, table, files[i:i + rows], index,
                                                     feature, value),
            shape=(len(files[i:i + rows]), n_features), dtype="float64")
        for i in range(0, n_samples, rows)
    ]
    matrix = da.concatenate(parts, axis=0)
    sources, targets = [matrix], [values]
    if sample_medians:
        medians = zarr.create_array(_zarr_store(_join(url, MEDIANS), read_only=False),
                                    shape=(n_samples,), chunks=(rows,), dtype="float64",
                                    fill_value=np.nan, overwrite=True)
        sources.append(matrix.map_blocks(nan_median_rows, drop_axis=1, dtype="float64"))
        targets.append(medians)
    # Every task writes whole chunks (its rows are a multiple of the chunk height): no lock.
    da.store(sources, targets, lock=False, **compute)


# --------------------------------------------------------------------------- housekeeping


def open_transposed(url: str) -> TransposedMatrix:
    """Reopen a matrix :func:`transpose_table` wrote (from its ``meta.json``).

    Raises
    ------
    WorkspaceError
        If there is no complete transposed matrix at ``url``.
    """
    try:
        with fsspec.open(_join(url, META), "r") as fh:
            meta = json.load(fh)
    except FileNotFoundError as exc:
        raise WorkspaceError(
            f"no transposed matrix at {url} ({META} is missing: never written, interrupted "
            "or removed); transpose the table again"
        ) from exc
    return TransposedMatrix(url=url, table=meta["table"], samples=meta["samples"],
                            features=meta["features"],
                            features_per_block=meta["features_per_block"],
                            feature=meta["feature"])


def _clear(url: str) -> None:
    """Empty ``url`` for a new matrix, refusing a folder that holds anything else."""
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        return
    names = {entry.rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(path, detail=False)}
    if names - {META, VALUES, MEDIANS}:
        raise WorkspaceError(
            f"{url} holds files that are not a transposed matrix ({', '.join(sorted(names))}); "
            "transpose_table replaces only an earlier matrix: give an empty or new folder, "
            "e.g. OmicsStore.scratch_url(name)"
        )
    remove(url)


def remove(url: str) -> None:
    """Delete a transposed matrix (the folder ``url`` and everything in it); no error if absent."""
    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)

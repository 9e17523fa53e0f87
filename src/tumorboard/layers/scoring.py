"""Cohort-relative scoring: leave-one-out z-scores, percentile ranks and outlier calls.

A value of one patient is judged against the other patients of the cohort (DESIGN.md §1,
"Cohort-relative scoring"), as the Kuster lab's TOPAS scores do for proteomics-guided
precision oncology: per feature, the patient's log intensity minus the median of the other
patients, divided by their standard deviation, plus the percentile of the value within the
whole cohort and within the patient's entity.

Sources
-------
- TOPAS (tumour proteome activity scores), Kuster lab, TU Munich: leave-one-out z-scores
  of log intensities against the rest of the cohort - median of the others, SD of the others
  with ddof = 1 (https://github.com/kusterlab/TOPAS-pipeline, ``bin/metrics.py``,
  ``Metrics.get_zscore`` with ``_loo_median`` and ``_loo_std``); ERC project 833710 "TOPAS",
  https://cordis.europa.eu/project/id/833710. The same scheme
  (the patient compared with the others of a molecularly profiled sarcoma cohort) is the
  multi-layered profiling of the NCT/DKTK MASTER programme (DESIGN.md, Renner, Oleś et al.).
- Median as robust centre: Iglewicz B, Hoaglin DC, *How to Detect and Handle Outliers*,
  ASQC Quality Press 1993 (the "modified z-score" centres on the median); Leys C et al.,
  J Exp Soc Psychol 2013;49:764-766, doi:10.1016/j.jesp.2013.03.013. The spread here is the
  ordinary SD of the others (TOPAS), not the MAD, so that z stays comparable with the TOPAS
  thresholds (|z| >= 2).
- Leaving the patient out of its own reference: with the patient included, one extreme
  value inflates the SD it is divided by, and a z-score can never exceed (n-1)/sqrt(n)
  (Shiffler RE, Am Stat 1988;42:79-80, doi:10.1080/00031305.1988.10475530), so an outlier
  in a small cohort could not be called at all.
- Percentile rank, mid-rank definition 100 * (count(< x) + 0.5 * count(== x)) / n: the
  classical percentile rank of psychometrics (Crocker L, Algina J, *Introduction to Classical
  and Modern Test Theory*, 1986, ch. 19), equal to Hazen's plotting position (i - 0.5) / n
  for untied values (Hazen A, Trans Am Soc Civ Eng 1914;77:1539-1640; definition 5 of
  Hyndman RJ, Fan Y, Am Stat 1996;50:361-365, doi:10.2307/2684934). Ties share their mean
  rank, and the value is symmetric: a sample at percentile p from the top is at 100 - p from
  the bottom.

Implementation (written here; no maintained library computes leave-one-out medians): every
function is vectorised over samples and features - one sort per feature, done on blocks of
features on a few threads, no Python loop over genes or samples; a 1,000 x 60,000 matrix
scores in a few seconds. The scores of a feature depend only on that feature's values, so
:func:`score_matrix` keeps only the reported samples (and, with ``keep``, only the values a
layer reports) of each block: one patient against a 1,000-patient cohort needs the per-feature
statistics of the cohort, never a cohort-sized table of scores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pandas as pd

_T = TypeVar("_T")

__all__ = [
    "MIN_REFERENCE",
    "ScoreBlock",
    "call_outliers",
    "leave_one_out_z",
    "nan_median_columns",
    "nan_median_rows",
    "outlier_call_mask",
    "percentile_rank",
    "score_matrix",
]

#: Fewest *other* samples with a value for a cohort-relative call; below it the call is
#: "insufficient_reference". Why 10: the SD of m values has a relative standard error of about
#: 1 / sqrt(2 (m - 1)) for normal data (Ahn S, Fessler JA, "Standard errors of mean, variance,
#: and standard deviation estimators", Univ. Michigan EECS tech. report, 2003), 24 % at m = 10,
#: so z = 2 is still roughly between 1.6 and 2.6; with fewer others it is not interpretable.
#: And with m = 10 others the mid-rank percentile moves in steps of 100 / 11 = 9 points, the
#: coarsest resolution at which the 90th / 10th percentile thresholds still separate the top
#: (or bottom) sample from its neighbour. The MASTER DSRCT cohort (30 patients) clears it.
MIN_REFERENCE: int = 10

# Elements per block of features: bounds the temporaries (a few float64 arrays of this size,
# ~32 MB each, per thread) on 1,000 x 60,000 matrices while keeping numpy calls large.
_BLOCK_ELEMENTS = 4_000_000
_REF_DTYPE = "int32"
# Rows per tile when transposing: a tile of 512 x ~100 float64 stays in the CPU cache.
_TILE_ROWS = 512
# score_matrix counts directly (instead of sorting for percentiles) for at most this many
# requested samples.
_DIRECT_MAX = 16
_CALLS = np.array(["neutral", "high", "low", "insufficient_reference", "not_measured"],
                  dtype=object)


def _threads() -> int:
    """Threads for numpy work: ``TUMORBOARD_THREADS`` if set (a Dask worker runs one task per
    thread and sets it to 1, so workers do not oversubscribe the cores), else the CPU count."""
    value = os.environ.get("TUMORBOARD_THREADS", "")
    return max(1, int(value)) if value.isdigit() else (os.cpu_count() or 1)


def _as_matrix(matrix: pd.DataFrame) -> np.ndarray:
    """The matrix as a contiguous features x samples float array (pandas' own layout).

    pandas keeps a float DataFrame as one features x samples block, so the transpose is cheap,
    and in this layout every feature is a contiguous row that sorts and sums along memory.
    """
    if not isinstance(matrix, pd.DataFrame):
        raise TypeError("matrix must be a samples x features pandas DataFrame")
    return np.ascontiguousarray(matrix.T.to_numpy(dtype="float64", na_value=np.nan))


def _copy_features_by_samples(
    matrix: pd.DataFrame, *, transform: Callable[[np.ndarray], None] | None = None
) -> np.ndarray:
    """A new C-contiguous features x samples float64 array of a samples x features frame.

    Copied by blocks of features on a few threads; ``transform`` (in place, elementwise) is
    applied to each block as it is copied, e.g. the log of the expression layer. The caller
    owns the array (layers centre it in place).
    """
    source = matrix.T.to_numpy(dtype="float64", na_value=np.nan)  # a view for float frames
    out = np.empty(source.shape)

    def work(block: slice) -> None:
        out[block] = source[block]
        if transform is not None:
            transform(out[block])

    _for_row_blocks(source.shape[0], source.shape[1], work)
    return out


def _frame(values_t: np.ndarray, like: pd.DataFrame) -> pd.DataFrame:
    """Samples x features DataFrame over a features x samples array, without a copy."""
    return pd.DataFrame(values_t.T, index=like.index, columns=like.columns, copy=False)


def _row_blocks(n_rows: int, n_cols: int) -> list[slice]:
    """Blocks of rows of about ``_BLOCK_ELEMENTS`` elements each."""
    height = max(1, _BLOCK_ELEMENTS // max(1, n_cols))
    return [slice(start, min(start + height, n_rows)) for start in range(0, n_rows, height)]


def _for_row_blocks(n_rows: int, n_cols: int, work: Callable[[slice], _T]) -> list[_T]:
    """Run ``work`` on blocks of rows, on a few threads (numpy's sorts release the GIL).

    Returns the results of ``work`` in block order.
    """
    blocks = _row_blocks(n_rows, n_cols)
    workers = min(len(blocks), _threads(), 8)
    if workers <= 1:
        return [work(block) for block in blocks]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [future.result() for future in [pool.submit(work, block) for block in blocks]]


def _row_order_statistic(ordered: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``ordered[i, k[i]]`` as a column vector, ``k`` clipped to the row."""
    k = np.clip(k, 0, ordered.shape[1] - 1)
    return ordered[np.arange(ordered.shape[0]), k][:, None]


def _loo_from_sorted(
    xt: np.ndarray, ordered: np.ndarray, cols: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """LOO z and reference size of a features x samples block, given each row sorted.

    With ``cols`` only those sample columns are scored (features x len(cols)).

    Median of the others: let ``s_0 <= ... <= s_{n-1}`` be the ``n`` non-missing values of a
    row (NaNs sort last) and ``r`` the position of the left-out value ``x``. The ``m = n - 1``
    others are ``s`` without ``s_r``, so their ``k``-th smallest is ``s_k`` for ``k < r`` and
    ``s_{k+1}`` for ``k >= r``. Their median is the mean of the elements ``k1 = (m - 1) // 2``
    and ``k2 = m // 2`` (equal when m is odd). Equal values are interchangeable, so ``r`` may
    be taken as ``count(< x)``, the start of ``x``'s run of ties; then ``k >= r`` exactly when
    ``x <= s_k``. Each element therefore needs only the four row statistics ``s_k1``,
    ``s_k1+1``, ``s_k2``, ``s_k2+1`` and two comparisons - no per-element rank.

    SD of the others: with values centred on the row median ``c`` (``y = x - c``; centring
    keeps the sums small so that the subtraction below does not cancel digits, and makes the
    residuals of a constant reference exactly 0), ``S1 = sum y`` and ``S2 = sum y**2`` over the
    non-missing values, the others have ``S1' = S1 - y_i``, ``S2' = S2 - y_i**2`` and variance
    ``(S2' - S1'**2 / m) / (m - 1)`` (ddof = 1).
    """
    present = ~np.isnan(xt)
    n = present.sum(axis=1)
    # The reported samples (columns); the whole row still makes the reference.
    xs = xt if cols is None else xt[:, cols]
    present_s = present if cols is None else present[:, cols]
    reference = (n[:, None] - present_s).astype(_REF_DTYPE)
    if xs.size == 0:
        return np.full(xs.shape, np.nan), reference
    m = n - 1
    k1, k2 = (m - 1) // 2, m // 2
    s_k1, s_k1_next = _row_order_statistic(ordered, k1), _row_order_statistic(ordered, k1 + 1)
    s_k2, s_k2_next = _row_order_statistic(ordered, k2), _row_order_statistic(ordered, k2 + 1)
    median_others = 0.5 * (np.where(xs <= s_k1, s_k1_next, s_k1)
                           + np.where(xs <= s_k2, s_k2_next, s_k2))

    centre = 0.5 * (_row_order_statistic(ordered, (n - 1) // 2)
                    + _row_order_statistic(ordered, n // 2))
    centre = np.where(n[:, None] > 0, centre, 0.0)
    y = np.where(present, xt - centre, 0.0)
    s1 = y.sum(axis=1, keepdims=True)
    s2 = np.einsum("ij,ij->i", y, y)[:, None]
    ys = y if cols is None else y[:, cols]
    mm = m[:, None].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        s1_others = s1 - ys
        var = (s2 - ys * ys - s1_others * s1_others / mm) / (mm - 1.0)
        z = (xs - median_others) / np.sqrt(np.where(var > 0, var, np.nan))
    z[~present_s | (reference < 2)] = np.nan
    return z, reference


def _median_of_sorted(ordered: np.ndarray) -> np.ndarray:
    """Median of each row of a row-sorted array with NaNs last (NaN for an all-NaN row)."""
    out = np.full(ordered.shape[0], np.nan)
    n = (~np.isnan(ordered)).sum(axis=1)
    rows = np.flatnonzero(n > 0)
    lo, hi = (n[rows] - 1) // 2, n[rows] // 2
    out[rows] = 0.5 * (ordered[rows, lo] + ordered[rows, hi])
    return out


def nan_median_rows(values: np.ndarray) -> np.ndarray:
    """Median of each row of a 2-D array, ignoring NaN (NaN for an all-NaN row).

    One sort per row, vectorised, on blocks of rows (so only one block at a time is copied);
    ``numpy.nanmedian`` and pandas' ``median`` loop over rows in Python for wide arrays.
    """
    values = np.asarray(values, dtype="float64")
    if values.ndim != 2:
        raise ValueError("nan_median_rows expects a 2-D array")
    out = np.full(values.shape[0], np.nan)
    if values.size == 0:
        return out

    def work(block: slice) -> None:
        out[block] = _median_of_sorted(np.sort(values[block], axis=1))

    _for_row_blocks(values.shape[0], values.shape[1], work)
    return out


def nan_median_columns(values: np.ndarray) -> np.ndarray:
    """Median of each column of a 2-D array, ignoring NaN (NaN for an all-NaN column).

    As :func:`nan_median_rows` of the transpose, computed on blocks of columns so that only
    one transposed block at a time is copied (not the whole array).
    """
    values = np.asarray(values, dtype="float64")
    if values.ndim != 2:
        raise ValueError("nan_median_columns expects a 2-D array")
    out = np.full(values.shape[1], np.nan)
    if values.size == 0:
        return out

    def work(block: slice) -> None:
        part = values[:, block]
        ordered = np.empty((part.shape[1], part.shape[0]))
        # transposed in tiles of rows that stay in cache: twice as fast as in one go
        for start in range(0, part.shape[0], _TILE_ROWS):
            ordered[:, start:start + _TILE_ROWS] = part[start:start + _TILE_ROWS].T
        ordered.sort(axis=1)
        out[block] = _median_of_sorted(ordered)

    _for_row_blocks(values.shape[1], values.shape[0], work)
    return out


def _midrank_from_order(xt: np.ndarray, order: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Mid-rank percentiles of a features x samples block, given each row's argsort.

    In a sorted row a value's ``count(< x)`` is the position where its run of ties starts and
    ``count(== x)`` the run's length; run starts and ends are cumulative max / min over the
    positions where the sorted value changes.
    """
    n_samp = xt.shape[1]
    present = ~np.isnan(xt)
    n = present.sum(axis=1)
    pct = np.full(xt.shape, np.nan)
    if xt.size == 0:
        return pct
    # int32 positions: half the memory traffic of int64 (cohorts have < 2**31 samples)
    positions = np.broadcast_to(np.arange(n_samp, dtype=np.int32), xt.shape)
    change = ordered[:, 1:] != ordered[:, :-1]  # NaN != NaN, but NaNs lie beyond n
    starts = np.ones(xt.shape, dtype=bool)
    starts[:, 1:] = change
    ends = np.ones(xt.shape, dtype=bool)
    ends[:, :-1] = change
    run_start = np.maximum.accumulate(np.where(starts, positions, np.int32(0)), axis=1)
    run_end = np.minimum.accumulate(np.where(ends, positions, np.int32(n_samp))[:, ::-1],
                                    axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        sorted_pct = 50.0 * (run_start + run_end + 1) / n[:, None]
    np.put_along_axis(pct, order, sorted_pct, axis=1)
    pct[~present] = np.nan
    return pct


def _midrank_block(xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-rank percentiles of every value of a features x samples block, and the sorted rows."""
    order = np.argsort(xb, axis=1, kind="stable")
    ordered = np.take_along_axis(xb, order, axis=1)
    return _midrank_from_order(xb, order, ordered), ordered


def _score_blocks(
    xt: np.ndarray, *, loo: bool, percentiles: bool
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """LOO z, reference size and/or percentiles of a features x samples array, by row blocks."""
    z = np.full(xt.shape, np.nan) if loo else None
    reference = np.zeros(xt.shape, dtype=_REF_DTYPE) if loo else None
    pct = np.full(xt.shape, np.nan) if percentiles else None

    def work(block: slice) -> None:
        xb = xt[block]
        if percentiles:
            pct[block], ordered = _midrank_block(xb)
        else:
            ordered = np.sort(xb, axis=1)
        if loo:
            z[block], reference[block] = _loo_from_sorted(xb, ordered)

    _for_row_blocks(xt.shape[0], xt.shape[1], work)
    return z, reference, pct


def leave_one_out_z(matrix: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-out z-score of every value against the other samples of its feature.

    ``z_ij = (x_ij - median_{k != i} x_kj) / sd_{k != i} x_kj`` over the other samples with a
    value (SD with ddof = 1), as in the TOPAS scores (module docstring for sources).

    Parameters
    ----------
    matrix
        Samples x features (rows are samples), NaN = missing; log-scale values.

    Returns
    -------
    z, reference_size
        DataFrames aligned to ``matrix``. ``reference_size`` (integers) is the number of
        *other* samples with a value (``n - 1`` where the sample has a value, ``n`` where it is
        missing). ``z`` is NaN where the value is missing, where fewer than 2 others have a
        value, or where the others' SD is 0 (a constant reference; see :func:`call_outliers`).
    """
    z, reference, _ = _score_blocks(_as_matrix(matrix), loo=True, percentiles=False)
    return _frame(z, matrix), _frame(reference, matrix)


def _percentiles(xt: np.ndarray) -> np.ndarray:
    return _score_blocks(xt, loo=False, percentiles=True)[2]


def _group_codes(groups: pd.Series, index: pd.Index) -> tuple[np.ndarray, int]:
    if not isinstance(groups, pd.Series):
        raise TypeError("groups must be a pandas Series mapping sample -> group label")
    aligned = groups.reindex(index)
    codes, uniques = pd.factorize(aligned, use_na_sentinel=True)
    return np.asarray(codes), len(uniques)


def percentile_rank(matrix: pd.DataFrame, *, groups: pd.Series | None = None) -> pd.DataFrame:
    """Mid-rank percentile (0-100) of each value within its column, or within its group.

    ``100 * (count(< x) + 0.5 * count(== x)) / n`` over the ``n`` non-missing values of the
    column (the sample itself included), or of the samples of the same group when ``groups``
    is given (e.g. sample -> OncoTree code for within-entity percentiles). Definition and
    sources in the module docstring.

    Parameters
    ----------
    matrix
        Samples x features, NaN = missing.
    groups
        Optional sample -> group label. Samples absent from it or with a missing label get NaN.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``matrix``; NaN where the value is missing.
    """
    xt = _as_matrix(matrix)
    if groups is None:
        return _frame(_percentiles(xt), matrix)
    codes, n_groups = _group_codes(groups, matrix.index)
    pct = np.full(xt.shape, np.nan)
    for g in range(n_groups):
        cols = np.flatnonzero(codes == g)
        pct[:, cols] = _percentiles(np.ascontiguousarray(xt[:, cols]))
    return _frame(pct, matrix)


class ScoreBlock(NamedTuple):
    """Scores of a block of features for the reported samples (see :func:`score_matrix`).

    The arrays are features x reported samples, in matrix order; ``value`` is NaN where the
    sample has no value.

    Attributes
    ----------
    features
        Positions of the block's features among the matrix columns.
    value, z_score, percentile_cohort, reference_size
        As the columns of the same names of :func:`score_matrix`.
    """

    features: np.ndarray
    value: np.ndarray
    z_score: np.ndarray
    percentile_cohort: np.ndarray
    reference_size: np.ndarray


def score_matrix(
    matrix: pd.DataFrame,
    *,
    entities: pd.Series | None = None,
    samples: list[str] | None = None,
    keep: Callable[[ScoreBlock], np.ndarray] | None = None,
) -> pd.DataFrame:
    """All cohort-relative scores of a samples x features matrix as one long table.

    Parameters
    ----------
    matrix
        Samples x features (rows are samples), NaN = missing.
    entities
        Optional sample -> entity (OncoTree code) for within-entity percentiles.
    samples
        Optional samples to report (rows of the output); they are still scored against the
        whole cohort. Unknown names are ignored.
    keep
        Optional row filter: called with the :class:`ScoreBlock` of each block of features,
        it returns a boolean array of the block's shape, True for the values to report. A
        layer that reports only its outliers thus never holds the long table of every value
        (60 million rows for a 1,000 x 60,000 matrix). Called from several threads.

    Returns
    -------
    pandas.DataFrame
        One row per non-missing (sample, feature) (that ``keep`` selects), in matrix order
        (sample-major), with columns ``sample``, ``feature``, ``value``, ``z_score``,
        ``percentile_cohort``, ``percentile_entity`` (NaN without ``entities``),
        ``reference_size`` (other samples with a value) and ``reference_size_entity`` (other
        samples of the same entity with a value).

    Notes
    -----
    The scores of a feature depend only on that feature's values across the cohort, so the
    matrix is scored in blocks of features (on a few threads) and only the reported sample
    columns of each block are kept: memory stays at a few blocks plus the reported rows.
    """
    xt = _as_matrix(matrix)
    cols = np.arange(len(matrix.index))
    if samples is not None:
        cols = cols[matrix.index.isin(pd.Index(samples))]
    # For a few reported samples, counting is cheaper than an argsort of every feature.
    direct = samples is not None and len(cols) <= _DIRECT_MAX
    codes = None if entities is None else _group_codes(entities, matrix.index)[0]

    def work(block: slice) -> tuple[np.ndarray, ...]:
        xb = xt[block]
        values = xb[:, cols]
        z, reference, pct, pct_entity, ref_entity = _block_scores(xb, cols, codes,
                                                                  direct=direct)
        selected = ~np.isnan(values)
        if keep is not None:
            chosen = keep(ScoreBlock(np.arange(block.start, block.stop), values, z, pct,
                                     reference))
            selected &= np.asarray(chosen, dtype=bool)
        # Sample-major order within the block: positions in the transposed selection.
        j, f = np.nonzero(selected.T)
        missing = np.full(len(j), np.nan)
        return (j, f + block.start, values[f, j], z[f, j], pct[f, j],
                missing if pct_entity is None else pct_entity[f, j], reference[f, j],
                missing if ref_entity is None else ref_entity[f, j])

    parts = _for_row_blocks(xt.shape[0], xt.shape[1], work) or [work(slice(0, 0))]
    j, f, value, z, pct, pct_e, ref, ref_e = (np.concatenate(c) for c in zip(*parts,
                                                                             strict=True))
    # Blocks are consecutive features: a stable sort by sample gives (sample, feature) order.
    order = np.argsort(j, kind="stable")
    j, f = j[order], f[order]
    return pd.DataFrame({
        "sample": pd.array(matrix.index.to_numpy(dtype=object)[cols[j]], dtype="string"),
        "feature": pd.array(matrix.columns.to_numpy(dtype=object)[f], dtype="string"),
        "value": value[order],
        "z_score": z[order],
        "percentile_cohort": pct[order],
        "percentile_entity": pct_e[order],
        "reference_size": pd.array(ref[order].astype("int64"), dtype="Int64"),
        "reference_size_entity": pd.array(ref_e[order], dtype="Float64").astype("Int64"),
    })


def _block_scores(
    xb: np.ndarray, cols: np.ndarray, codes: np.ndarray | None, *, direct: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """LOO z, reference size, cohort and entity percentiles, entity reference size.

    Of a features x samples block, for the sample columns ``cols`` (features x len(cols)
    each); ``codes`` are the entity codes of all samples (-1 for none). ``direct`` counts
    the percentiles instead of ranking every sample (for a handful of columns).
    """
    every = len(cols) == xb.shape[1]  # cols is then every column, in order: no copies
    if direct:
        ordered = np.sort(xb, axis=1)
        pct = _midrank_counts(xb, cols)
    else:
        pct, ordered = _midrank_block(xb)
        if not every:
            pct = pct[:, cols]
    z, reference = _loo_from_sorted(xb, ordered, None if every else cols)
    if codes is None:
        return z, reference, pct, None, None
    if direct:
        pct_entity = _midrank_counts(xb, cols, codes=codes)
    else:
        pct_entity = _group_midranks(xb, cols, codes)
    return z, reference, pct, pct_entity, _group_reference(xb, cols, codes)


def _midrank_counts(
    xb: np.ndarray, cols: np.ndarray, *, codes: np.ndarray | None = None
) -> np.ndarray:
    """Mid-rank percentiles of the sample columns ``cols`` by counting (features x len(cols)).

    Same definition as :func:`percentile_rank`; with ``codes`` (group code per sample, -1 for
    none) only the samples of the same group count. One vectorised pass over the block per
    requested sample (used for a handful of samples only).
    """
    out = np.full((xb.shape[0], len(cols)), np.nan)
    present = ~np.isnan(xb)
    cohort = (xb, present.sum(axis=1))
    groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k, col in enumerate(cols):
        ref, n = cohort
        if codes is not None:
            code = int(codes[col])
            if code < 0:
                continue
            if code not in groups:
                members = codes == code
                groups[code] = (xb[:, members], present[:, members].sum(axis=1))
            ref, n = groups[code]
        value = xb[:, col : col + 1]
        less = (ref < value).sum(axis=1)
        equal = (ref == value).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, k] = 100.0 * (less + 0.5 * equal) / n
    out[~present[:, cols]] = np.nan
    return out


def _group_midranks(xb: np.ndarray, cols: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Within-group mid-rank percentiles of the sample columns ``cols`` (features x len(cols)).

    One argsort per group over the group's samples (a handful of entities).
    """
    out = np.full((xb.shape[0], len(cols)), np.nan)
    col_codes = codes[cols]
    for code in np.unique(col_codes[col_codes >= 0]):
        members = np.flatnonzero(codes == code)
        wanted = np.flatnonzero(col_codes == code)
        pct, _ = _midrank_block(np.ascontiguousarray(xb[:, members]))
        out[:, wanted] = pct[:, np.searchsorted(members, cols[wanted])]
    return out


def _group_reference(xb: np.ndarray, cols: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Other samples of the same group with a value, for the sample columns ``cols``."""
    present = ~np.isnan(xb)
    out = np.full((xb.shape[0], len(cols)), np.nan)
    col_codes = codes[cols]
    for code in np.unique(col_codes[col_codes >= 0]):
        wanted = np.flatnonzero(col_codes == code)
        members = present[:, codes == code].sum(axis=1, keepdims=True)
        out[:, wanted] = members - present[:, cols[wanted]]
    return out


def _array(values: Any) -> np.ndarray:
    if isinstance(values, pd.DataFrame | pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype("float64", copy=False)
    return np.asarray(pd.to_numeric(np.asarray(values, dtype=object).ravel(), errors="coerce"),
                      dtype="float64").reshape(np.shape(values))


def call_outliers(
    z: Any,
    percentile: Any,
    reference_size: Any,
    *,
    z_high: float,
    pct_high: float,
    z_low: float,
    pct_low: float,
    min_reference: int = MIN_REFERENCE,
) -> Any:
    """Outlier call per value: "high", "low", "neutral" or "insufficient_reference".

    Where there is no value at all (percentile missing) the call is "not_measured"
    (:data:`tumorboard.model.SCORE_CALLS`).

    Rules, in order (all thresholds inclusive):

    1. no value (percentile missing) -> "not_measured";
    2. ``reference_size < min_reference`` (or missing) -> "insufficient_reference";
    3. ``z >= z_high`` and ``percentile >= pct_high`` -> "high";
    4. ``z <= z_low`` and ``percentile <= pct_low`` -> "low";
    5. otherwise "neutral".

    Requiring both a z and a percentile threshold guards against the two ways a z alone
    misleads: heavy-tailed features where |z| >= 2 is common, and skewed ones. Where z is
    missing although the value is present the others are constant (SD 0; e.g. a gene silent in
    every other patient); the value is then judged by its percentile alone, which is extreme
    exactly when the value differs from that constant (and 50 when it equals it).

    Parameters
    ----------
    z, percentile, reference_size
        Arrays of one shape (numpy arrays, Series or DataFrames aligned with each other).
    z_high, pct_high, z_low, pct_low
        Thresholds; ``pct_*`` on the 0-100 scale of :func:`percentile_rank`.
    min_reference
        Fewest others with a value for a call (:data:`MIN_REFERENCE`).

    Returns
    -------
    numpy.ndarray of str (object dtype), or a DataFrame / Series like ``z`` when ``z`` is one.
    """
    code = _call_codes(z, percentile, reference_size, z_high=z_high, pct_high=pct_high,
                       z_low=z_low, pct_low=pct_low, min_reference=min_reference)
    calls = _CALLS[code]
    if isinstance(z, pd.DataFrame):
        # dtype=object: pandas would otherwise convert every column to its string dtype.
        return pd.DataFrame(calls, index=z.index, columns=z.columns, dtype=object)
    if isinstance(z, pd.Series):
        return pd.Series(calls, index=z.index, name=z.name, dtype=object)
    return calls


def _call_codes(
    z: Any, percentile: Any, reference_size: Any, *, z_high: float, pct_high: float,
    z_low: float, pct_low: float, min_reference: int,
) -> np.ndarray:
    """The rules of :func:`call_outliers` as int8 codes into ``_CALLS``."""
    zv = _array(z)
    pv = _array(percentile)
    rv = _array(reference_size)
    if not (zv.shape == pv.shape == rv.shape):
        raise ValueError(
            f"z, percentile and reference_size differ in shape: {zv.shape}, {pv.shape}, "
            f"{rv.shape}"
        )
    with np.errstate(invalid="ignore"):
        degenerate = np.isnan(zv)
        high = np.where(degenerate, pv > 50.0, zv >= z_high) & (pv >= pct_high)
        low = np.where(degenerate, pv < 50.0, zv <= z_low) & (pv <= pct_low)
        enough = rv >= min_reference  # False for NaN
    # later rules override earlier ones
    code = np.zeros(zv.shape, dtype=np.int8)
    code[low] = 2
    code[high] = 1
    code[~enough] = 3
    code[np.isnan(pv)] = 4
    return code


def outlier_call_mask(
    z: Any,
    percentile: Any,
    reference_size: Any,
    calls: tuple[str, ...],
    *,
    z_high: float,
    pct_high: float,
    z_low: float,
    pct_low: float,
    min_reference: int = MIN_REFERENCE,
) -> np.ndarray:
    """True where :func:`call_outliers` would call one of ``calls`` (e.g. ``("high", "low")``).

    The same rules without building an array of strings: for selecting the reported values
    of large blocks (:func:`score_matrix` ``keep``). Arguments as for :func:`call_outliers`.
    """
    wanted = np.flatnonzero(np.isin(_CALLS, list(calls)))
    code = _call_codes(z, percentile, reference_size, z_high=z_high, pct_high=pct_high,
                       z_low=z_low, pct_low=pct_low, min_reference=min_reference)
    return np.isin(code, wanted)

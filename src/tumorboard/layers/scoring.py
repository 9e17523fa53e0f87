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
scores in a few seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MIN_REFERENCE",
    "call_outliers",
    "leave_one_out_z",
    "nan_median_rows",
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
# score_matrix counts directly (instead of sorting for percentiles) for at most this many
# requested samples.
_DIRECT_MAX = 16
_CALLS = np.array(["neutral", "high", "low", "insufficient_reference", "not_measured"],
                  dtype=object)


def _as_matrix(matrix: pd.DataFrame) -> np.ndarray:
    """The matrix as a contiguous features x samples float array (pandas' own layout).

    pandas keeps a float DataFrame as one features x samples block, so the transpose is cheap,
    and in this layout every feature is a contiguous row that sorts and sums along memory.
    """
    if not isinstance(matrix, pd.DataFrame):
        raise TypeError("matrix must be a samples x features pandas DataFrame")
    return np.ascontiguousarray(matrix.T.to_numpy(dtype="float64", na_value=np.nan))


def _frame(values_t: np.ndarray, like: pd.DataFrame) -> pd.DataFrame:
    """Samples x features DataFrame over a features x samples array, without a copy."""
    return pd.DataFrame(values_t.T, index=like.index, columns=like.columns, copy=False)


def _for_row_blocks(n_rows: int, n_cols: int, work: Callable[[slice], None]) -> None:
    """Run ``work`` on blocks of rows, on a few threads (numpy's sorts release the GIL)."""
    height = max(1, _BLOCK_ELEMENTS // max(1, n_cols))
    blocks = [slice(start, min(start + height, n_rows)) for start in range(0, n_rows, height)]
    workers = min(len(blocks), os.cpu_count() or 1, 8)
    if workers <= 1:
        for block in blocks:
            work(block)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, block) for block in blocks]:
            future.result()


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


def nan_median_rows(values: np.ndarray) -> np.ndarray:
    """Median of each row of a 2-D array, ignoring NaN (NaN for an all-NaN row).

    One sort per row, vectorised; ``numpy.nanmedian`` and pandas' ``median`` loop over rows
    in Python for wide arrays.
    """
    values = np.asarray(values, dtype="float64")
    if values.ndim != 2:
        raise ValueError("nan_median_rows expects a 2-D array")
    out = np.full(values.shape[0], np.nan)
    if values.size == 0:
        return out
    ordered = np.sort(values, axis=1)
    n = (~np.isnan(values)).sum(axis=1)
    has = n > 0
    rows = np.flatnonzero(has)
    lo, hi = (n[has] - 1) // 2, n[has] // 2
    out[has] = 0.5 * (ordered[rows, lo] + ordered[rows, hi])
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
    positions = np.broadcast_to(np.arange(n_samp), xt.shape)
    change = ordered[:, 1:] != ordered[:, :-1]  # NaN != NaN, but NaNs lie beyond n
    starts = np.ones(xt.shape, dtype=bool)
    starts[:, 1:] = change
    ends = np.ones(xt.shape, dtype=bool)
    ends[:, :-1] = change
    run_start = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    run_end = np.minimum.accumulate(np.where(ends, positions, n_samp)[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        sorted_pct = 50.0 * (run_start + run_end + 1) / n[:, None]
    np.put_along_axis(pct, order, sorted_pct, axis=1)
    pct[~present] = np.nan
    return pct


def _score_blocks(
    xt: np.ndarray, *, loo: bool, percentiles: bool, cols: np.ndarray | None = None
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """LOO z, reference size and/or percentiles of a features x samples array, by row blocks.

    With ``cols`` the LOO results cover only those sample columns (features x len(cols));
    percentiles always cover all samples.
    """
    shape = xt.shape
    loo_shape = shape if cols is None else (shape[0], len(cols))
    z = np.full(loo_shape, np.nan) if loo else None
    reference = np.zeros(loo_shape, dtype=_REF_DTYPE) if loo else None
    pct = np.full(shape, np.nan) if percentiles else None

    def work(block: slice) -> None:
        xb = xt[block]
        if percentiles:
            order = np.argsort(xb, axis=1, kind="stable")
            ordered = np.take_along_axis(xb, order, axis=1)
            pct[block] = _midrank_from_order(xb, order, ordered)
        else:
            ordered = np.sort(xb, axis=1)
        if loo:
            z[block], reference[block] = _loo_from_sorted(xb, ordered, cols)

    _for_row_blocks(shape[0], shape[1], work)
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
    return _frame(_group_scores(xt, groups, matrix.index)[0], matrix)


def _group_scores(
    xt: np.ndarray, groups: pd.Series, samples: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Within-group percentiles and numbers of other group members with a value.

    Both features x samples; NaN for samples without a group. One pass per group label (a
    handful of entities), each vectorised over the group's samples.
    """
    codes, n_groups = _group_codes(groups, samples)
    present = ~np.isnan(xt)
    pct = np.full(xt.shape, np.nan)
    reference = np.full(xt.shape, np.nan)
    for g in range(n_groups):
        cols = np.flatnonzero(codes == g)
        pct[:, cols] = _percentiles(np.ascontiguousarray(xt[:, cols]))
        members = present[:, cols]
        reference[:, cols] = members.sum(axis=1, keepdims=True) - members
    return pct, reference


def score_matrix(
    matrix: pd.DataFrame,
    *,
    entities: pd.Series | None = None,
    samples: list[str] | None = None,
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

    Returns
    -------
    pandas.DataFrame
        One row per non-missing (sample, feature), in matrix order, with columns ``sample``,
        ``feature``, ``value``, ``z_score``, ``percentile_cohort``, ``percentile_entity``
        (NaN without ``entities``), ``reference_size`` (other samples with a value) and
        ``reference_size_entity`` (other samples of the same entity with a value).
    """
    xt = _as_matrix(matrix)
    cols = np.arange(len(matrix.index))
    if samples is not None:
        cols = cols[matrix.index.isin(pd.Index(samples))]
    # For a few reported samples, counting is cheaper than an argsort of the whole matrix.
    direct = samples is not None and len(cols) <= _DIRECT_MAX
    z, reference, pct = _score_blocks(xt, loo=True, percentiles=not direct,
                                      cols=cols if direct else None)
    if not direct:
        z, reference, pct = z[:, cols], reference[:, cols], pct[:, cols]
    else:
        pct = _midrank_direct(xt, cols)
    pct_entity = ref_entity = None
    if entities is not None:
        if direct:
            codes, _ = _group_codes(entities, matrix.index)
            pct_entity = _midrank_direct(xt, cols, codes=codes)
            ref_entity = _group_reference(xt, cols, codes)
        else:
            pct_entity, ref_entity = _group_scores(xt, entities, matrix.index)
            pct_entity, ref_entity = pct_entity[:, cols], ref_entity[:, cols]

    values = xt[:, cols]
    # Sample-major output order: positions in the transposed (samples x features) selection.
    j, f = np.nonzero(~np.isnan(values.T))
    missing = np.full(len(j), np.nan)
    ref_e = missing if ref_entity is None else ref_entity[f, j]
    return pd.DataFrame({
        "sample": pd.array(matrix.index.to_numpy(dtype=object)[cols[j]], dtype="string"),
        "feature": pd.array(matrix.columns.to_numpy(dtype=object)[f], dtype="string"),
        "value": values[f, j],
        "z_score": z[f, j],
        "percentile_cohort": pct[f, j],
        "percentile_entity": missing if pct_entity is None else pct_entity[f, j],
        "reference_size": pd.array(reference[f, j].astype("int64"), dtype="Int64"),
        "reference_size_entity": pd.array(ref_e, dtype="Float64").astype("Int64"),
    })


def _midrank_direct(
    xt: np.ndarray, cols: np.ndarray, *, codes: np.ndarray | None = None
) -> np.ndarray:
    """Mid-rank percentiles of the sample columns ``cols`` by counting (features x len(cols)).

    Same definition as :func:`percentile_rank`; with ``codes`` (group code per sample, -1 for
    none) only the samples of the same group count. One vectorised pass over the cohort per
    requested sample (used for a handful of samples only).
    """
    out = np.full((xt.shape[0], len(cols)), np.nan)
    for k, col in enumerate(cols):
        ref = xt
        if codes is not None:
            if codes[col] < 0:
                continue
            ref = xt[:, codes == codes[col]]
        value = xt[:, col : col + 1]
        less = (ref < value).sum(axis=1)
        equal = (ref == value).sum(axis=1)
        n = (~np.isnan(ref)).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, k] = 100.0 * (less + 0.5 * equal) / n
    out[np.isnan(xt[:, cols])] = np.nan
    return out


def _group_reference(xt: np.ndarray, cols: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Other samples of the same group with a value, for the sample columns ``cols``."""
    present = ~np.isnan(xt)
    out = np.full((xt.shape[0], len(cols)), np.nan)
    for k, col in enumerate(cols):
        if codes[col] >= 0:
            out[:, k] = present[:, codes == codes[col]].sum(axis=1) - present[:, col]
    return out


def _array(values: Any) -> np.ndarray:
    if isinstance(values, pd.DataFrame | pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)
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
    # Codes into _CALLS, later rules overriding earlier ones.
    code = np.zeros(zv.shape, dtype=np.int8)
    code[low] = 2
    code[high] = 1
    code[~enough] = 3
    code[np.isnan(pv)] = 4
    calls = _CALLS[code]
    if isinstance(z, pd.DataFrame):
        # dtype=object: pandas would otherwise convert every column to its string dtype.
        return pd.DataFrame(calls, index=z.index, columns=z.columns, dtype=object)
    if isinstance(z, pd.Series):
        return pd.Series(calls, index=z.index, name=z.name, dtype=object)
    return calls

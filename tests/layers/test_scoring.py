"""Tests of cohort-relative scoring: closed-form cases, a naive reference loop, boundaries."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from tumorboard.layers import scoring
from tumorboard.layers.scoring import (
    MIN_REFERENCE,
    call_outliers,
    leave_one_out_z,
    percentile_rank,
    score_matrix,
)

THRESHOLDS = {"z_high": 2.0, "pct_high": 90.0, "z_low": -2.0, "pct_low": 10.0}


def _column(values: list[float], name: str = "g") -> pd.DataFrame:
    return pd.DataFrame({name: values}, index=[f"s{i}" for i in range(len(values))])


# --------------------------------------------------------------------------- naive reference


def naive_scores(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loop implementation of the definitions (z, reference size, mid-rank percentile)."""
    n_samples, n_features = x.shape
    z = np.full(x.shape, np.nan)
    reference = np.zeros(x.shape, dtype=int)
    pct = np.full(x.shape, np.nan)
    for j in range(n_features):
        column = x[:, j]
        values = column[~np.isnan(column)]
        for i in range(n_samples):
            others = np.delete(column, i)
            others = others[~np.isnan(others)]
            reference[i, j] = len(others)
            v = column[i]
            if np.isnan(v):
                continue
            pct[i, j] = 100.0 * ((values < v).sum() + 0.5 * (values == v).sum()) / len(values)
            # constant others: SD 0 (tested by equality, not by a rounded std)
            if len(others) < 2 or others.max() == others.min():
                continue
            z[i, j] = (v - np.median(others)) / np.std(others, ddof=1)
    return z, reference, pct


@pytest.mark.parametrize(
    ("seed", "shape", "missing"),
    [(0, (5, 7), 0.2), (1, (12, 30), 0.3), (2, (33, 20), 0.1), (3, (2, 4), 0.0),
     (4, (1, 3), 0.0), (5, (40, 50), 0.5), (6, (17, 9), 0.0)],
)
def test_leave_one_out_z_and_percentiles_match_naive_loop(seed, shape, missing):
    rng = np.random.default_rng(seed)
    # rounded values make ties; a constant and a nearly empty column are added
    x = np.round(rng.normal(size=shape) * 3, 1)
    x[rng.random(shape) < missing] = np.nan
    x[:, 0] = 2.5
    if shape[1] > 1:
        x[1:, 1] = np.nan
    frame = pd.DataFrame(x, index=[f"s{i}" for i in range(shape[0])],
                         columns=[f"f{j}" for j in range(shape[1])])
    z, reference = leave_one_out_z(frame)
    expected_z, expected_ref, expected_pct = naive_scores(x)
    np.testing.assert_allclose(z.to_numpy(), expected_z, rtol=1e-10, atol=1e-12,
                               equal_nan=True)
    np.testing.assert_array_equal(reference.to_numpy(), expected_ref)
    np.testing.assert_allclose(percentile_rank(frame).to_numpy(), expected_pct,
                               rtol=1e-12, equal_nan=True)
    assert z.index.equals(frame.index) and z.columns.equals(frame.columns)


def test_block_boundaries_do_not_change_results(monkeypatch):
    """Blocks of 3 features (threads) give the same numbers as one block."""
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(rng.normal(size=(9, 20)))
    frame.iloc[2, 5] = np.nan
    whole_z, whole_ref = leave_one_out_z(frame)
    whole_pct = percentile_rank(frame)
    monkeypatch.setattr(scoring, "_BLOCK_ELEMENTS", 27)
    z, ref = leave_one_out_z(frame)
    pd.testing.assert_frame_equal(z, whole_z)
    pd.testing.assert_frame_equal(ref, whole_ref)
    pd.testing.assert_frame_equal(percentile_rank(frame), whole_pct)


# --------------------------------------------------------------------------- closed form


def test_loo_z_closed_form_even_number_of_others():
    """Column [1, 2, 3, 4, 10]; the others of each value are 4 (even count).

    10: median(1, 2, 3, 4) = 2.5, sd(1, 2, 3, 4) = sqrt(5/3) = 1.290994 -> z = 7.5 / 1.290994
    = 5.809475. 1: others 2, 3, 4, 10: median 3.5, mean 4.75, sum of squares 38.75,
    sd = sqrt(38.75 / 3) = 3.593976 -> z = -2.5 / 3.593976 = -0.695608. 3: others 1, 2, 4, 10,
    median 3 -> z = 0.
    """
    z, reference = leave_one_out_z(_column([1, 2, 3, 4, 10]))
    assert z.loc["s4", "g"] == pytest.approx(7.5 / math.sqrt(5 / 3))
    assert z.loc["s4", "g"] == pytest.approx(5.809475, abs=1e-6)
    assert z.loc["s0", "g"] == pytest.approx(-0.695608, abs=1e-6)
    assert z.loc["s2", "g"] == 0.0
    assert reference["g"].tolist() == [4, 4, 4, 4, 4]


def test_loo_z_closed_form_odd_number_of_others():
    """Column [1, 2, 3, 4, 5, 100]: the others of 100 are 1..5 (odd count), median 3,
    sd = sqrt(2.5) = 1.581139 -> z = 97 / 1.581139 = 61.348187. The others of 1 are
    2, 3, 4, 5, 100: median 4, mean 22.8, sum of squared deviations 7454.8,
    sd = sqrt(7454.8 / 4) = 43.170592 -> z = -3 / 43.170592 = -0.069492.
    """
    z, _ = leave_one_out_z(_column([1, 2, 3, 4, 5, 100]))
    assert z.loc["s5", "g"] == pytest.approx(97 / math.sqrt(2.5))
    assert z.loc["s5", "g"] == pytest.approx(61.348187, abs=1e-6)
    others = [2, 3, 4, 5, 100]
    assert z.loc["s0", "g"] == pytest.approx((1 - 4) / statistics.stdev(others))
    assert z.loc["s0", "g"] == pytest.approx(-0.069492, abs=1e-6)


def test_loo_z_with_missing_values():
    """A NaN is neither scored nor counted: [1, NaN, 2, 3, 4, 10] scores like [1, 2, 3, 4, 10];
    the missing sample's reference is all 5 others with a value."""
    z, reference = leave_one_out_z(_column([1, np.nan, 2, 3, 4, 10]))
    assert z.loc["s5", "g"] == pytest.approx(5.809475, abs=1e-6)
    assert np.isnan(z.loc["s1", "g"])
    assert reference["g"].tolist() == [4, 5, 4, 4, 4, 4]


def test_loo_z_constant_reference_and_too_few_others():
    """Constant others have SD 0 -> z NaN; fewer than 2 others -> z NaN."""
    z, reference = leave_one_out_z(pd.DataFrame(
        {"flat": [5.0, 5.0, 5.0, 5.0], "one_off": [5.0, 5.0, 5.0, 9.0],
         "sparse": [1.0, 2.0, np.nan, np.nan]},
        index=["a", "b", "c", "d"]))
    assert z["flat"].isna().all()
    # 9 against (5, 5, 5): SD 0. Each 5 against (5, 5, 9): median 5 -> z exactly 0.
    assert np.isnan(z.loc["d", "one_off"])
    assert z.loc[["a", "b", "c"], "one_off"].tolist() == [0.0, 0.0, 0.0]
    assert z["sparse"].isna().all()
    assert reference["sparse"].tolist() == [1, 1, 2, 2]


def test_loo_z_is_shift_and_scale_invariant_per_feature():
    """z(a*x + b) == z(x) for a > 0 (a check on the centring inside the SD)."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(25, 4)))
    z, _ = leave_one_out_z(frame)
    shifted, _ = leave_one_out_z(frame * 1000.0 + 1e6)
    np.testing.assert_allclose(shifted.to_numpy(), z.to_numpy(), rtol=1e-7)


def test_percentile_closed_form_with_ties_and_missing():
    """[1, 2, 2, 3]: 1 -> 100 * 0.5 / 4 = 12.5; 2 -> 100 * (1 + 1) / 4 = 50; 3 -> 87.5.
    [1, NaN, 3]: n = 2 -> 25, NaN, 75."""
    pct = percentile_rank(pd.DataFrame({"a": [1.0, 2.0, 2.0, 3.0], "b": [1.0, np.nan, 3.0, 3.0]}))
    assert pct["a"].tolist() == [12.5, 50.0, 50.0, 87.5]
    # b: [1, NaN, 3, 3] -> 1: 0.5/3; 3: (1 + 1)/3
    assert pct["b"].iloc[0] == pytest.approx(100 * 0.5 / 3)
    assert np.isnan(pct["b"].iloc[1])
    assert pct["b"].iloc[2] == pytest.approx(100 * 2 / 3)


def test_percentile_within_groups():
    """Groups X = (a, b), Y = (c, d, e); e has no value, f has no group."""
    frame = pd.DataFrame({"g": [1.0, 2.0, 30.0, 4.0, np.nan, 0.0]},
                         index=["a", "b", "c", "d", "e", "f"])
    groups = pd.Series({"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y"})
    pct = percentile_rank(frame, groups=groups)["g"]
    assert pct["a"] == 25.0 and pct["b"] == 75.0
    assert pct["c"] == 75.0 and pct["d"] == 25.0
    assert np.isnan(pct["e"]) and np.isnan(pct["f"])
    # the cohort-wide percentile of c differs: 30 is the highest of 5 values -> 90
    assert percentile_rank(frame)["g"]["c"] == 90.0


# --------------------------------------------------------------------------- score_matrix


def test_score_matrix_long_table_closed_form():
    frame = pd.DataFrame({"g1": [1.0, 2.0, 3.0, 4.0, 10.0], "g2": [np.nan, 1.0, 1.0, 2.0, 2.0]},
                         index=["s0", "s1", "s2", "s3", "s4"])
    entities = pd.Series({"s0": "DSRCT", "s1": "DSRCT", "s2": "LMS", "s3": "LMS", "s4": "LMS"})
    out = score_matrix(frame, entities=entities)
    assert list(out.columns) == [
        "sample", "feature", "value", "z_score", "percentile_cohort", "percentile_entity",
        "reference_size", "reference_size_entity"]
    assert len(out) == 9  # one row per non-missing value
    row = out[(out["sample"] == "s4") & (out["feature"] == "g1")].iloc[0]
    assert row["z_score"] == pytest.approx(5.809475, abs=1e-6)
    assert row["percentile_cohort"] == 90.0  # highest of 5: (4 + 0.5) / 5
    assert row["percentile_entity"] == pytest.approx(100 * 2.5 / 3)  # highest of LMS (3)
    assert row["reference_size"] == 4 and row["reference_size_entity"] == 2
    s1 = out[(out["sample"] == "s1") & (out["feature"] == "g2")].iloc[0]
    assert s1["reference_size"] == 3 and s1["reference_size_entity"] == 0  # s0 has no g2
    assert s1["percentile_entity"] == 50.0


def test_score_matrix_few_samples_equal_whole_cohort_rows():
    """Counting (<= 16 requested samples) and sorting give the same rows, in matrix order."""
    rng = np.random.default_rng(8)
    x = np.round(rng.normal(size=(30, 12)), 1)
    x[rng.random(x.shape) < 0.2] = np.nan
    index = [f"s{i:02d}" for i in range(30)]
    frame = pd.DataFrame(x, index=index, columns=[f"f{j}" for j in range(12)])
    entities = pd.Series(rng.choice(["A", "B", "C"], 30), index=index).iloc[:-2]
    full = score_matrix(frame, entities=entities)
    for wanted in (["s29", "s03", "nope"], index[5:22]):  # direct path, sorting path
        part = score_matrix(frame, entities=entities, samples=wanted)
        expected = full[full["sample"].isin(wanted)].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, expected)
    assert score_matrix(frame, samples=["s03"])["percentile_entity"].isna().all()


# --------------------------------------------------------------------------- calls


def _call(z: float, pct: float, ref: float, **kwargs: float) -> str:
    return str(call_outliers(np.array([z]), np.array([pct]), np.array([ref]),
                             **{**THRESHOLDS, **kwargs})[0])


def test_min_reference_is_documented_integer():
    assert isinstance(MIN_REFERENCE, int) and MIN_REFERENCE == 10


@pytest.mark.parametrize(
    ("z", "pct", "ref", "expected"),
    [
        (2.0, 90.0, MIN_REFERENCE, "high"),  # both thresholds inclusive
        (1.9999, 99.0, MIN_REFERENCE, "neutral"),
        (5.0, 89.99, MIN_REFERENCE, "neutral"),
        (-2.0, 10.0, MIN_REFERENCE, "low"),
        (-1.9999, 1.0, MIN_REFERENCE, "neutral"),
        (-5.0, 10.01, MIN_REFERENCE, "neutral"),
        (0.3, 50.0, MIN_REFERENCE, "neutral"),
        (9.0, 99.0, MIN_REFERENCE - 1, "insufficient_reference"),
        (9.0, 99.0, np.nan, "insufficient_reference"),
        (np.nan, np.nan, 40, "not_measured"),
        # constant reference (z NaN): judged by the percentile
        (np.nan, 97.5, 19, "high"),
        (np.nan, 2.5, 19, "low"),
        (np.nan, 50.0, 19, "neutral"),
    ],
)
def test_call_outliers_boundaries(z, pct, ref, expected):
    assert _call(z, pct, ref) == expected


def test_call_outliers_min_reference_override_and_shapes():
    assert _call(3.0, 95.0, 4, min_reference=4) == "high"
    assert _call(3.0, 95.0, 3, min_reference=4) == "insufficient_reference"
    z = pd.DataFrame({"g": [3.0, -3.0]}, index=["a", "b"])
    pct = pd.DataFrame({"g": [95.0, 5.0]}, index=["a", "b"])
    ref = pd.DataFrame({"g": [12, 12]}, index=["a", "b"])
    calls = call_outliers(z, pct, ref, **THRESHOLDS)
    assert isinstance(calls, pd.DataFrame) and calls["g"].tolist() == ["high", "low"]
    series = call_outliers(z["g"], pct["g"], ref["g"], **THRESHOLDS)
    assert series.tolist() == ["high", "low"] and series.index.tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="differ in shape"):
        call_outliers(np.zeros(2), np.zeros(3), np.zeros(2), **THRESHOLDS)


def test_leave_one_out_z_rejects_non_frames():
    with pytest.raises(TypeError, match="samples x features"):
        leave_one_out_z(np.zeros((3, 3)))  # type: ignore[arg-type]


def test_nan_median_rows():
    """Rows (1, 3, NaN, 2) -> 2; (4, NaN, NaN, 8) -> 6 (even count); all NaN -> NaN."""
    values = np.array([[1.0, 3.0, np.nan, 2.0], [4.0, np.nan, np.nan, 8.0], [np.nan] * 4])
    out = scoring.nan_median_rows(values)
    assert out[:2].tolist() == [2.0, 6.0] and np.isnan(out[2])
    with pytest.raises(ValueError, match="2-D"):
        scoring.nan_median_rows(np.zeros(3))


def test_nan_median_columns_equal_rows_of_the_transpose(monkeypatch):
    """Blocks of 3 columns, tiles of 2 rows: the same medians as one sort of the transpose."""
    rng = np.random.default_rng(12)
    values = np.round(rng.normal(size=(9, 14)), 1)
    values[rng.random(values.shape) < 0.3] = np.nan
    values[:, 4] = np.nan
    expected = np.array([statistics.median(c[~np.isnan(c)]) if (~np.isnan(c)).any() else np.nan
                         for c in values.T])
    np.testing.assert_array_equal(scoring.nan_median_columns(values), expected)
    monkeypatch.setattr(scoring, "_BLOCK_ELEMENTS", 27)
    monkeypatch.setattr(scoring, "_TILE_ROWS", 2)
    np.testing.assert_array_equal(scoring.nan_median_columns(values), expected)
    np.testing.assert_array_equal(scoring.nan_median_rows(values.T), expected)
    with pytest.raises(ValueError, match="2-D"):
        scoring.nan_median_columns(np.zeros(3))


def test_outlier_call_mask_agrees_with_call_outliers():
    rng = np.random.default_rng(13)
    z = rng.choice([-3.0, -2.0, 0.0, 2.0, 3.0, np.nan], 500)
    pct = rng.choice([2.0, 10.0, 50.0, 90.0, 97.0, np.nan], 500)
    ref = rng.choice([5, 10, 20], 500)
    calls = call_outliers(z, pct, ref, **THRESHOLDS)
    for wanted in [("high",), ("low",), ("high", "low"), ("not_measured", "neutral")]:
        mask = scoring.outlier_call_mask(z, pct, ref, wanted, **THRESHOLDS)
        np.testing.assert_array_equal(mask, np.isin(calls, wanted))


def test_score_matrix_keep_returns_the_selected_rows(monkeypatch):
    """``keep`` sees each block of features (here 2 at a time) and filters the long table."""
    rng = np.random.default_rng(14)
    x = np.round(rng.normal(size=(25, 9)), 1)
    x[rng.random(x.shape) < 0.2] = np.nan
    index = [f"s{i:02d}" for i in range(25)]
    frame = pd.DataFrame(x, index=index, columns=[f"f{j}" for j in range(9)])
    entities = pd.Series(rng.choice(["A", "B"], 25), index=index)
    full = score_matrix(frame, entities=entities)
    seen: list[list[int]] = []

    def positive_or_f3(block: scoring.ScoreBlock) -> np.ndarray:
        seen.append(block.features.tolist())
        assert block.value.shape == block.z_score.shape == (len(block.features), 25)
        return (block.z_score > 0) | (block.features == 3)[:, None]

    monkeypatch.setattr(scoring, "_BLOCK_ELEMENTS", 50)
    part = score_matrix(frame, entities=entities, keep=positive_or_f3)
    expected = full[(full["z_score"] > 0) | (full["feature"] == "f3")].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)
    assert sorted(f for block in seen for f in block) == list(range(9))
    assert max(len(block) for block in seen) == 2

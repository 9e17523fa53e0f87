"""Tests of the proteome layer: batch centring, missing-value categories, findings, real RPPA."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard.io.proteome import read_rppa
from tumorboard.layers import scoring
from tumorboard.layers.proteome import (
    MIN_BATCH_SIZE,
    ProteomeParams,
    centre_by_batch,
    centre_by_batch_inplace,
    missing_categories,
    proteome_findings,
)
from tumorboard.layers.scoring import leave_one_out_z, percentile_rank
from tumorboard.model import FINDING_COLUMNS

RPPA = Path(__file__).resolve().parents[1] / "data" / "proteome" / "tcga_sarc_rppa_subset.csv"


# --------------------------------------------------------------------------- centring


def test_centre_by_batch_removes_batch_offsets_keeps_outlier():
    """Batch A f1 = 1, 2, 3 (median 2) -> -1, 0, 1; batch B f1 = 11, 12, 16 (median 12)
    -> -1, 0, 4: the offset of 10 between the batches goes, b3's +4 stays."""
    frame = pd.DataFrame({"f1": [1.0, 2.0, 3.0, 11.0, 12.0, 16.0]},
                         index=["a1", "a2", "a3", "b1", "b2", "b3"])
    batches = pd.Series(["A", "A", "A", "B", "B", "B"], index=frame.index)
    out = centre_by_batch(frame, batches, centre_samples=False)
    assert out["f1"].tolist() == [-1.0, 0.0, 1.0, -1.0, 0.0, 4.0]


def test_centre_by_batch_with_sample_medians_closed_form():
    """Step 1, sample medians: a1 (10, 12, 14) -> 12; a2 (11, 13, 15) -> 13; a3 (9, 13, NaN)
    -> 11; b1 (20, 21, 25) -> 21; b2 (20, 22, 23) -> 22; b3 (19, 22, 30) -> 22. Centred:
    a1 (-2, 0, 2), a2 (-2, 0, 2), a3 (-2, 2, NaN), b1 (-1, 0, 4), b2 (-2, 0, 1), b3 (-3, 0, 8).
    Step 2, batch medians per feature: A (-2, 0, 2 [a3 missing, 2 values: pooled]),
    B (-2, 0, 4). f3 of A has only 2 values (< 3) and is centred on the pooled median of
    itself: median(2, 2) = 2.
    """
    frame = pd.DataFrame(
        [[10, 12, 14], [11, 13, 15], [9, 13, np.nan], [20, 21, 25], [20, 22, 23], [19, 22, 30]],
        index=["a1", "a2", "a3", "b1", "b2", "b3"], columns=["f1", "f2", "f3"], dtype=float)
    batches = pd.Series(["A", "A", "A", "B", "B", "B"], index=frame.index)
    out = centre_by_batch(frame, batches)
    expected = pd.DataFrame(
        [[0, 0, 0], [0, 0, 0], [0, 2, np.nan], [1, 0, 0], [0, 0, -3], [-1, 0, 4]],
        index=frame.index, columns=frame.columns, dtype=float)
    pd.testing.assert_frame_equal(out, expected)


def test_small_batches_are_pooled_not_zeroed():
    """Three single-sample batches (c1..c3) and samples without a batch (d1) would each lose
    their value if centred on their own median; they are pooled: f1 of c1, c2, c3, d1 =
    5, 7, 9, 13 -> pooled median 8 -> -3, -1, 1, 5. Batch A (1, 2, 3) is centred on its own."""
    frame = pd.DataFrame({"f1": [1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 13.0]},
                         index=["a1", "a2", "a3", "c1", "c2", "c3", "d1"])
    batches = pd.Series({"a1": "A", "a2": "A", "a3": "A", "c1": "C1", "c2": "C2", "c3": "C3"})
    out = centre_by_batch(frame, batches, centre_samples=False)
    assert out["f1"].tolist() == [-1.0, 0.0, 1.0, -3.0, -1.0, 1.0, 5.0]
    assert MIN_BATCH_SIZE == 3
    # with min_batch_size=1 every singleton is centred on itself: all zero
    ones = centre_by_batch(frame, batches.reindex(frame.index).fillna("D"),
                           centre_samples=False, min_batch_size=1)
    assert ones.loc[["c1", "c2", "c3", "d1"], "f1"].tolist() == [0.0, 0.0, 0.0, 0.0]


def _naive_centring(x: np.ndarray, codes: list[str], min_batch_size: int) -> np.ndarray:
    """The two steps of the module docstring as loops over samples and features."""
    x = x.copy()
    for i, row in enumerate(x):
        if (~np.isnan(row)).any():
            x[i] -= statistics.median(row[~np.isnan(row)])
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        col = x[:, j]
        own = {b: [i for i, c in enumerate(codes) if c == b and not np.isnan(col[i])]
               for b in set(codes)}
        pooled = [col[i] for b, rows in own.items() if len(rows) < min_batch_size for i in rows]
        for i, b in enumerate(codes):
            if np.isnan(col[i]):
                continue
            rows = own[b]
            ref = [col[k] for k in rows] if len(rows) >= min_batch_size else pooled
            out[i, j] = col[i] - statistics.median(ref)
    return out


@pytest.mark.parametrize("block_elements", [4_000_000, 20])
def test_centre_by_batch_matches_a_naive_loop(block_elements, monkeypatch):
    """Random batches of 1 to 9 samples, 25 % missing, blocks of features down to one."""
    monkeypatch.setattr(scoring, "_BLOCK_ELEMENTS", block_elements)
    rng = np.random.default_rng(3)
    codes = [f"b{b}" for b in rng.integers(0, 6, 30)] + ["solo"]
    x = np.round(rng.normal(20.0, 2.0, (31, 12)), 1)
    x[rng.random(x.shape) < 0.25] = np.nan
    samples = [f"s{i:02d}" for i in range(31)]
    frame = pd.DataFrame(x, index=samples, columns=[f"f{j}" for j in range(12)])
    batches = pd.Series(codes[:-1], index=samples[:-1])  # the last sample has no batch
    out = centre_by_batch(frame, batches, min_batch_size=4)
    np.testing.assert_array_equal(out.to_numpy(), _naive_centring(x, codes, 4))
    xt = np.ascontiguousarray(x.T)
    centre_by_batch_inplace(xt, frame.index, batches, min_batch_size=4)
    np.testing.assert_array_equal(xt.T, out.to_numpy())
    with pytest.raises(ValueError, match="duplicate samples"):
        centre_by_batch_inplace(xt, pd.Index(["s"] * 31), batches)


def test_centre_by_batch_bad_input():
    with pytest.raises(TypeError, match="samples x features"):
        centre_by_batch(np.zeros((2, 2)), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sample -> batch"):
        centre_by_batch(pd.DataFrame({"f": [1.0]}), {"s": "A"})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- missing values


def test_missing_categories():
    frame = pd.DataFrame({"f1": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
                          "f2": [np.nan, np.nan, np.nan, 1.0, np.nan, 2.0]},
                         index=["a1", "a2", "a3", "b1", "b2", "b3"])
    batches = pd.Series(["A", "A", "A", "B", "B", "B"], index=frame.index)
    cats = missing_categories(frame, batches)
    assert cats.loc["a3", "f1"] == "not_detected_in_sample"
    assert cats.loc["a1", "f2"] == "not_measured"  # no A sample quantified f2
    assert cats.loc["b2", "f2"] == "not_detected_in_sample"
    assert cats.loc["a1", "f1"] == "measured"


# --------------------------------------------------------------------------- findings


@pytest.fixture
def cohort() -> dict[str, object]:
    """Two batches of six. HER2 = offset + (0, 1, 2, 1, 0, 1) in A (offset 10) and
    (0, 1, 2, 1, 0, 9) in B (offset 20): batch-centred -1, 0, 1, 0, -1, 0 in both but b6 = 8.
    The others of b6: four -1, five 0, two 1 -> median 0, mean -2/11, sum of squared
    deviations 6 - 4/11 = 62/11, SD = sqrt(62/110) = 0.750757 -> z = 8 / 0.750757 = 10.655909;
    b6 is the highest of 12 -> percentile 95.8333.
    """
    a = [f"a{i}" for i in range(1, 7)]
    b = [f"b{i}" for i in range(1, 7)]
    index = a + b
    her2 = [10 + v for v in (0, 1, 2, 1, 0, 1)] + [20 + v for v in (0, 1, 2, 1, 0, 9)]
    tyro3 = [5.0, np.nan, 5.5, 5.2, 4.9, 5.1, 6.0, 6.2, 5.8, 6.1, 6.3, 5.9]
    cldn6 = [np.nan] * 6 + [3.0, 3.1, 2.9, 3.2, 3.0, 3.1]
    rare = [7.0] + [np.nan] * 5 + [np.nan] * 6
    abundance = pd.DataFrame({"P04626": her2, "Q06418": tyro3, "P56747": cldn6, "RARE1": rare},
                             index=index)
    return {
        "abundance": abundance,
        "batches": pd.Series(["A"] * 6 + ["B"] * 6, index=index),
        "feature_genes": pd.Series({"P04626": "ERBB2", "Q06418": "TYRO3", "P56747": "CLDN6",
                                    "RARE1": "RARE"}),
        "entities": pd.Series(["DSRCT"] * 12, index=index),
        "patients": pd.Series([f"P-{s}" for s in index], index=index),
    }


def _findings(cohort: dict[str, object], **kwargs: object) -> pd.DataFrame:
    options = {"batches": cohort["batches"], "params": ProteomeParams(centre_samples=False),
               **kwargs}
    return proteome_findings(
        cohort["abundance"], feature_genes=cohort["feature_genes"],
        entities=cohort["entities"], patients=cohort["patients"], **options)


def test_protein_high_closed_form(cohort):
    found = _findings(cohort, samples=["b6"])
    assert list(found.columns) == list(FINDING_COLUMNS)
    row = found.set_index("feature").loc["P04626"]
    assert row["kind"] == "protein_high" and row["call"] == "high"
    assert row["gene"] == "ERBB2" and row["layer"] == "proteome" and row["patient"] == "P-b6"
    assert row["value"] == 8.0  # the centred value that was scored
    assert row["z_score"] == pytest.approx(8 / np.sqrt(62 / 110))
    assert row["z_score"] == pytest.approx(10.655909, abs=1e-6)
    assert row["percentile_cohort"] == pytest.approx(100 * 11.5 / 12)
    assert row["reference_size"] == 11
    assert row["provenance"]["log2_abundance"] == 29.0  # uncentred
    assert row["provenance"]["params"]["min_batch_size"] == 3
    assert row["provenance"]["missing"] is None


def test_not_detected_and_not_measured(cohort):
    found = _findings(cohort, samples=["a2", "a3"], genes=["CLDN6"])
    a2 = found[found["sample"] == "a2"].set_index("feature")
    # TYRO3 quantified in the other 5 of batch A, missing in a2: below detection
    row = a2.loc["Q06418"]
    assert row["kind"] == "protein_low" and row["call"] == "low"
    assert np.isnan(row["value"]) and np.isnan(row["z_score"])
    assert row["provenance"]["missing"] == "not_detected_in_sample"
    assert row["provenance"]["detected_in_batch"] == 5
    assert row["provenance"]["other_samples_in_batch"] == 5
    # CLDN6 not quantified anywhere in batch A: not measured, no finding even on the watch list
    assert "P56747" not in found["feature"].tolist()
    # RARE1 seen in 1 of 5 others of batch A (< 0.5): not reported unless watched
    assert "RARE1" not in found["feature"].tolist()
    watched = _findings(cohort, samples=["a3"], genes=["RARE"])
    assert watched.set_index("feature").loc["RARE1", "kind"] == "protein_low"
    loose = _findings(cohort, samples=["a3"],
                      params=ProteomeParams(centre_samples=False, not_detected_min_fraction=0.2))
    assert "RARE1" in loose["feature"].tolist()  # 1/5 = 0.2, at the boundary


def test_watch_list_measured_features(cohort):
    found = _findings(cohort, samples=["b1"], genes=["CLDN6", "ERBB2"])
    by_feature = found.set_index("feature")
    # CLDN6: 6 values, 5 others < MIN_REFERENCE
    assert by_feature.loc["P56747", "kind"] == "protein"
    assert by_feature.loc["P56747", "call"] == "insufficient_reference"
    assert by_feature.loc["P04626", "kind"] == "protein"
    assert by_feature.loc["P04626", "call"] == "neutral"
    assert _findings(cohort, samples=["b1"]).empty


def test_single_sample_files_keep_their_signal(cohort):
    """Every sample its own batch (one file per patient): pooled, so b6 is still an outlier
    against the uncentred values (z of 29 against the others, not 0)."""
    own = pd.Series(cohort["abundance"].index, index=cohort["abundance"].index)
    found = proteome_findings(
        cohort["abundance"], batches=own, feature_genes=cohort["feature_genes"],
        entities=cohort["entities"], patients=cohort["patients"], samples=["b6"],
        params=ProteomeParams(centre_samples=False))
    z_raw, _ = leave_one_out_z(cohort["abundance"][["P04626"]])
    row = found.set_index("feature").loc["P04626"]
    assert row["z_score"] == pytest.approx(z_raw.loc["b6", "P04626"])
    # single-sample batches: a missing value is "not measured" there, never "not detected"
    assert "Q06418" not in _findings(cohort, samples=["a2"], batches=own)["feature"].tolist()


# --------------------------------------------------------------------------- real data


def _rppa_matrix() -> pd.DataFrame:
    samples = read_rppa(RPPA, sample="TCGA.3B.A9HI").samples_in_file
    tables = []
    for sample in samples:
        table = read_rppa(RPPA, sample=sample).tables["proteome"]
        tables.append(table.assign(sample_id=sample))
    long = pd.concat(tables, ignore_index=True)
    return long.pivot(index="sample_id", columns="feature_id", values="log2_abundance")


def test_real_tcga_sarc_rppa_her2_leave_one_out_z():
    """ERBB2|HER2 of TCGA.DX.A1KY (1.0419) against the other 11 TCGA sarcomas of the file
    (line 71 of tcga_sarc_rppa_subset.csv): sorted -1.2146, -0.8808, -0.4359, -0.3478,
    -0.3337, -0.2053, -0.0762, -0.0088, 0.0245, 0.0809, 0.3756 -> median -0.2053 (6th of 11);
    sum -3.0221, mean -0.274736, sum of squared deviations 2.039363, SD = sqrt(2.039363 / 10)
    = 0.451593 -> z = (1.0419 + 0.2053) / 0.451593 = 2.761779. Highest of 12 -> percentile
    100 * 11.5 / 12 = 95.8333.
    """
    matrix = _rppa_matrix()
    assert matrix.shape == (12, 137)  # 182 antibodies, 45 of them phospho-specific
    others = [-0.0088, -0.8808, -0.0762, -0.3478, -0.3337, -0.4359, -1.2146, -0.2053,
              0.3756, 0.0809, 0.0245]
    assert statistics.median(others) == -0.2053
    sd = statistics.stdev(others)
    assert sd == pytest.approx(0.451593, abs=1e-6)
    expected = (1.0419 - statistics.median(others)) / sd
    assert expected == pytest.approx(2.761779, abs=1e-6)

    z, reference = leave_one_out_z(matrix)
    assert z.loc["TCGA.DX.A1KY", "ERBB2|HER2"] == pytest.approx(expected, rel=1e-12)
    assert reference.loc["TCGA.DX.A1KY", "ERBB2|HER2"] == 11
    assert percentile_rank(matrix).loc["TCGA.DX.A1KY", "ERBB2|HER2"] == pytest.approx(
        100 * 11.5 / 12)

    # one file = one batch: per-feature centring is a constant shift, z is unchanged and the
    # call is "high" (z 2.76 >= 2, percentile 95.8 >= 90, 11 others >= 10)
    genes = pd.Series({f: f.split("|")[0] for f in matrix.columns})
    found = proteome_findings(
        matrix, batches=pd.Series("firehose", index=matrix.index), feature_genes=genes,
        entities=pd.Series("SARC", index=matrix.index),
        patients=pd.Series(matrix.index, index=matrix.index), samples=["TCGA.DX.A1KY"],
        params=ProteomeParams(centre_samples=False))
    row = found.set_index("feature").loc["ERBB2|HER2"]
    assert row["kind"] == "protein_high" and row["gene"] == "ERBB2"
    assert row["z_score"] == pytest.approx(expected, rel=1e-9)

"""Tests of the expression layer on a constructed 12-sample cohort with hand-computed scores.

TPM values are 2**k - 1 so that log2(TPM + 1) = k. Samples s00..s10 have, for the genes
ERBB2 and GENEU, log2 values P = [3, 4, 5, 3, 4, 5, 3, 4, 5, 4, 4] (TPM 7, 15, 31): sorted
3,3,3,4,4,4,4,4,5,5,5, median 4, mean 4, sum of squared deviations 6, SD = sqrt(6 / 10)
= 0.774597. The patient s11 has ERBB2 log2 8 (TPM 255) -> z = 4 / 0.774597 = 5.163978,
highest of 12 -> cohort percentile 100 * 11.5 / 12 = 95.8333; GENEU TPM 0 (log2 0) ->
z = -5.163978, percentile 100 * 0.5 / 12 = 4.1667.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tumorboard.layers.expression import ExpressionParams, expression_findings
from tumorboard.model import FINDING_COLUMNS

SAMPLES = [f"s{i:02d}" for i in range(12)]
P = [3, 4, 5, 3, 4, 5, 3, 4, 5, 4, 4]
Z = 4 / np.sqrt(6 / 10)


def _tpm(log2_values: list[float]) -> list[float]:
    return [2.0**v - 1.0 for v in log2_values]


@pytest.fixture
def cohort() -> dict[str, pd.Series | pd.DataFrame]:
    rng = np.random.default_rng(5)
    tpm = pd.DataFrame(
        {
            "ERBB2": _tpm([*P, 8]),
            "GENEU": _tpm([*P, 0]),
            # silent in every other patient: z undefined, judged by percentile; 0.9 TPM is
            # below the 1-TPM expression cut-off, 1.0 TPM is at it
            "NOISE09": [0.0] * 11 + [0.9],
            "NOISE10": [0.0] * 11 + [1.0],
            # the cohort expresses LOWCOH at 0.5 TPM (median < 1) or ONECOH at 1 TPM (= 1)
            "LOWCOH": [0.5] * 11 + [0.0],
            "ONECOH": [1.0] * 11 + [0.0],
            "CLDN6": list(rng.uniform(5, 50, 12)),
            "SSTR2": [np.nan] * 6 + list(rng.uniform(5, 50, 6)),
        },
        index=SAMPLES,
    )
    entities = pd.Series(["DSRCT"] * 6 + ["LMS"] * 6, index=SAMPLES)
    patients = pd.Series([f"P{i:02d}" for i in range(12)], index=SAMPLES)
    return {"tpm": tpm, "entities": entities, "patients": patients}


def _by_gene(findings: pd.DataFrame, sample: str = "s11") -> pd.DataFrame:
    return findings[findings["sample"] == sample].set_index("gene")


def test_overexpression_closed_form(cohort):
    found = expression_findings(cohort["tpm"], entities=cohort["entities"],
                                patients=cohort["patients"], samples=["s11"])
    assert list(found.columns) == list(FINDING_COLUMNS)
    row = _by_gene(found).loc["ERBB2"]
    assert row["kind"] == "overexpression" and row["call"] == "high"
    assert row["layer"] == "expression" and row["patient"] == "P11"
    assert row["feature"] == "ERBB2"
    assert row["value"] == 8.0
    assert row["z_score"] == pytest.approx(Z)
    assert row["z_score"] == pytest.approx(5.163978, abs=1e-6)
    assert row["percentile_cohort"] == pytest.approx(100 * 11.5 / 12)
    # within LMS (s06..s11: 3, 4, 5, 4, 4, 8): highest of 6
    assert row["percentile_entity"] == pytest.approx(100 * 5.5 / 6)
    assert row["reference_size"] == 11
    prov = row["provenance"]
    assert prov["tpm"] == pytest.approx(255.0) and prov["expressed"] is True
    assert prov["reference_size"] == 11 and prov["reference_size_entity"] == 5
    assert prov["params"]["z_high"] == 2.0 and prov["params"]["pseudocount"] == 1.0
    assert "leave-one-out" in prov["method"]


def test_underexpression_closed_form(cohort):
    found = expression_findings(cohort["tpm"], entities=cohort["entities"],
                                patients=cohort["patients"], samples=["s11"])
    row = _by_gene(found).loc["GENEU"]
    assert row["kind"] == "underexpression" and row["call"] == "low"
    assert row["value"] == 0.0
    assert row["z_score"] == pytest.approx(-Z)
    assert row["percentile_cohort"] == pytest.approx(100 * 0.5 / 12)
    # cohort median TPM of GENEU: sorted 0,7,7,7,15,15,15,15,15,31,31,31 -> 15
    assert row["provenance"]["cohort_median_tpm"] == 15.0
    assert row["provenance"]["expressed"] is False


def test_expression_cut_off_at_its_boundary(cohort):
    found = _by_gene(expression_findings(cohort["tpm"], entities=cohort["entities"],
                                         patients=cohort["patients"], samples=["s11"]))
    # silent reference: z NaN, percentile 95.8 -> "high" only when expressed (TPM >= 1)
    assert "NOISE09" not in found.index
    assert found.loc["NOISE10", "kind"] == "overexpression"
    assert np.isnan(found.loc["NOISE10", "z_score"])
    # underexpression needs the cohort to express the gene (median TPM >= 1)
    assert "LOWCOH" not in found.index
    assert found.loc["ONECOH", "kind"] == "underexpression"


def test_watch_list_genes_always_reported(cohort):
    found = _by_gene(expression_findings(
        cohort["tpm"], entities=cohort["entities"], patients=cohort["patients"],
        samples=["s11"], genes=["CLDN6", "SSTR2", "ERBB2", "NOT_IN_MATRIX"]))
    assert found.loc["CLDN6", "kind"] == "expression"
    assert found.loc["CLDN6", "call"] in {"neutral", "high", "low"}
    # SSTR2 measured in 6 samples: 5 others < MIN_REFERENCE
    assert found.loc["SSTR2", "kind"] == "expression"
    assert found.loc["SSTR2", "call"] == "insufficient_reference"
    assert found.loc["SSTR2", "reference_size"] == 5
    assert found.loc["ERBB2", "kind"] == "overexpression"  # an outlier keeps its outlier kind
    assert "NOT_IN_MATRIX" not in found.index  # not measured: no finding
    without = _by_gene(expression_findings(cohort["tpm"], entities=cohort["entities"],
                                           patients=cohort["patients"], samples=["s11"]))
    assert "CLDN6" not in without.index and "SSTR2" not in without.index


def test_params_and_sample_selection(cohort):
    strict = expression_findings(cohort["tpm"], entities=cohort["entities"],
                                 patients=cohort["patients"], samples=["s11"],
                                 params=ExpressionParams(z_high=5.2, z_low=-5.2))
    assert "ERBB2" not in set(strict["gene"])  # z 5.16 < 5.2
    assert "GENEU" not in set(strict["gene"])
    loose = expression_findings(cohort["tpm"], entities=cohort["entities"],
                                patients=cohort["patients"], samples=["s11"],
                                params=ExpressionParams(min_reference=12), genes=["ERBB2"])
    # 11 others < 12: no outliers at all; the watch-list gene is shown with that call
    assert loose["gene"].tolist() == ["ERBB2"]
    assert loose["kind"].tolist() == ["expression"]
    assert loose["call"].tolist() == ["insufficient_reference"]
    everyone = expression_findings(cohort["tpm"], entities=cohort["entities"],
                                   patients=cohort["patients"])
    assert set(everyone["sample"]) >= {"s11"}
    s11 = everyone[everyone["sample"] == "s11"].reset_index(drop=True)
    only = expression_findings(cohort["tpm"], entities=cohort["entities"],
                               patients=cohort["patients"], samples=["s11"])
    pd.testing.assert_frame_equal(s11.drop(columns="provenance"),
                                  only.drop(columns="provenance"))


def test_empty_results_and_bad_input(cohort):
    none = expression_findings(cohort["tpm"], entities=cohort["entities"],
                               patients=cohort["patients"], samples=["unknown"])
    assert none.empty and list(none.columns) == list(FINDING_COLUMNS)
    with pytest.raises(TypeError, match="samples x genes"):
        expression_findings(cohort["tpm"].to_numpy(), entities=cohort["entities"],  # type: ignore[arg-type]
                            patients=cohort["patients"])
    duplicated = cohort["tpm"].rename(columns={"GENEU": "ERBB2"})
    with pytest.raises(ValueError, match="duplicate gene columns"):
        expression_findings(duplicated, entities=cohort["entities"],
                            patients=cohort["patients"])

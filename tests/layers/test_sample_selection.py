"""Reporting a few samples gives exactly their rows of the whole-cohort findings.

The layers score requested samples from per-feature statistics of the whole cohort (one
patient against a 1,000-patient cohort must not cost a cohort-sized table of scores); these
tests check on a random cohort - missing values, ties, several entities and batches, a batch
too small to be centred on its own, samples without entity or batch - that every finding of a
sample (value, z, percentiles, reference sizes, call, provenance) is identical, to the last
bit, to its row when the whole cohort is scored at once, also with blocks of a few features.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from tumorboard.layers import scoring
from tumorboard.layers.expression import expression_findings
from tumorboard.layers.phospho import kinase_catalogue, phospho_findings
from tumorboard.layers.proteome import proteome_findings

N = 60
SAMPLES = pd.Index([f"S{i:02d}" for i in range(N)])
WATCH = ["ERBB2", "CLDN6", "MSLN"]
#: S00 has no entity, S01 no batch, S02/S03 form a batch of two (pooled with the others),
#: S59 is a regular sample.
CHECKED = ["S00", "S01", "S02", "S59"]


@pytest.fixture(scope="module")
def cohort() -> dict[str, object]:
    rng = np.random.default_rng(20261122)
    cat = kinase_catalogue()
    entities = pd.Series(rng.choice(["DSRCT", "LMS", "SYNS"], N), index=SAMPLES).drop("S00")
    patients = pd.Series([f"P{i:02d}" for i in range(N)], index=SAMPLES)
    batch = np.array([f"b{i % 3}" for i in range(N)], dtype=object)
    batch[[2, 3]] = "small"
    batches = pd.Series(batch, index=SAMPLES).drop("S01")

    genes = sorted(set(cat.rtks) | set(WATCH)) + [f"G{i:03d}" for i in range(150)]
    # heavy tails (t, 3 df) so that both high and low outliers occur; rounding makes ties
    log2 = rng.normal(3.0, 2.0, len(genes)) + rng.standard_t(3, (N, len(genes)))
    tpm = np.round(np.exp2(np.clip(log2, 0.0, None)) - 1.0, 1)
    tpm[rng.random(tpm.shape) < 0.1] = np.nan

    proteins = [f"PG{i:03d}" for i in range(120)]
    offsets = rng.normal(0.0, 0.5, (4, len(proteins)))
    codes = pd.factorize(batch)[0]
    prot = np.round(rng.normal(22.0, 2.0, len(proteins)) + rng.standard_t(3, (N, len(proteins)))
                    + offsets[codes], 2)
    prot[rng.random(prot.shape) < 0.15] = np.nan
    prot[:, 0] = np.nan  # quantified in two samples only: "not detected" elsewhere
    prot[[10, 11], 0] = 20.0

    catalogue_sites = list(dict.fromkeys(
        [*(cat.own_sites["kinase"] + "_" + cat.own_sites["site"]),
         *(cat.substrates["gene"] + "_" + cat.substrates["site"])]))
    sites = catalogue_sites + [f"{genes[i % len(genes)]}_S{i}" for i in range(100)]
    phos = np.round(rng.normal(18.0, 2.0, len(sites)) + rng.standard_t(3, (N, len(sites)))
                    + rng.normal(0.0, 0.5, (4, len(sites)))[codes], 2)
    phos[rng.random(phos.shape) < 0.25] = np.nan

    tpm_frame = pd.DataFrame(tpm, index=SAMPLES, columns=genes)
    rtks = [g for g in cat.rtks if g in tpm_frame.columns]
    expression_z, _ = scoring.leave_one_out_z(np.log2(tpm_frame[rtks] + 1.0))
    return {
        "tpm": tpm_frame,
        "abundance": pd.DataFrame(prot, index=SAMPLES, columns=proteins),
        "feature_genes": pd.Series(genes[: len(proteins)], index=proteins),
        "sites": pd.DataFrame(phos, index=SAMPLES, columns=sites),
        "site_genes": pd.Series([s.split("_", 1)[0] for s in sites], index=sites),
        "entities": entities, "patients": patients, "batches": batches,
        "expression_z": expression_z,
    }


def _expression(c: dict, samples: list[str] | None) -> pd.DataFrame:
    return expression_findings(c["tpm"], entities=c["entities"], patients=c["patients"],
                               samples=samples, genes=WATCH)


def _proteome(c: dict, samples: list[str] | None) -> pd.DataFrame:
    return proteome_findings(c["abundance"], batches=c["batches"],
                             feature_genes=c["feature_genes"], entities=c["entities"],
                             patients=c["patients"], samples=samples, genes=WATCH)


def _phospho(c: dict, samples: list[str] | None) -> pd.DataFrame:
    return phospho_findings(c["sites"], site_genes=c["site_genes"], entities=c["entities"],
                            patients=c["patients"], batches=c["batches"], samples=samples,
                            expression_z=c["expression_z"])


LAYERS: dict[str, Callable[[dict, list[str] | None], pd.DataFrame]] = {
    "expression": _expression, "proteome": _proteome, "phospho": _phospho}
#: Kinds the random cohort must produce, so that the comparison covers every kind of row.
KINDS = {
    "expression": {"overexpression", "underexpression", "expression"},
    "proteome": {"protein_high", "protein_low", "protein"},
    "phospho": {"phosphosite", "activation", "kinase_activity", "rtk_activation"},
}


@pytest.fixture(scope="module")
def whole(cohort) -> dict[str, pd.DataFrame]:
    return {name: layer(cohort, None) for name, layer in LAYERS.items()}


def _assert_identical(part: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(part.drop(columns="provenance"),
                                  expected.drop(columns="provenance"), check_exact=True)
    # repr: NaN inside a provenance dict would not compare equal to itself
    assert [repr(p) for p in part["provenance"]] == [repr(p) for p in expected["provenance"]]


def test_whole_cohort_findings_cover_every_kind_and_call(whole):
    for name, findings in whole.items():
        assert KINDS[name] <= set(findings["kind"]), name
        assert set(findings["sample"]) == set(SAMPLES), name
    calls = set(pd.concat(whole.values())["call"])
    assert {"high", "low", "neutral", "not_measured"} <= calls
    # S00 has no entity: its entity percentiles are missing, its cohort percentiles are not
    s00 = whole["expression"][whole["expression"]["sample"] == "S00"]
    assert s00["percentile_entity"].isna().all() and s00["percentile_cohort"].notna().all()


@pytest.mark.parametrize("block_elements", [scoring._BLOCK_ELEMENTS, 64])
@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("sample", CHECKED)
def test_one_sample_equals_its_rows_of_the_whole_cohort(cohort, whole, layer, sample,
                                                        block_elements, monkeypatch):
    """z, percentiles, reference sizes, calls and provenance, bit for bit.

    With 64-element blocks every feature block holds one or two features, so block and
    thread boundaries fall everywhere (the whole cohort is scored with the default blocks).
    """
    monkeypatch.setattr(scoring, "_BLOCK_ELEMENTS", block_elements)
    part = LAYERS[layer](cohort, [sample])
    expected = whole[layer]
    expected = expected[expected["sample"] == sample].reset_index(drop=True)
    assert len(part) > 0
    _assert_identical(part, expected)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_many_samples_equal_their_rows_of_the_whole_cohort(cohort, whole, layer):
    """More samples than the counting path takes (16): percentiles from the ranks."""
    chosen = list(SAMPLES[::3])  # 20 samples, in matrix order
    part = LAYERS[layer](cohort, chosen)
    expected = whole[layer]
    _assert_identical(part, expected[expected["sample"].isin(chosen)].reset_index(drop=True))

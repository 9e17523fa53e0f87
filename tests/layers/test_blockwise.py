"""Scoring cohort-relative layers one block of features at a time gives the in-memory findings.

The out-of-core pipeline scores all samples x a block of features at a time. The statistics of
:mod:`tumorboard.layers.scoring` (leave-one-out z, cohort and entity percentiles, calls) depend
only on a feature's own values, so every block must reproduce exactly the rows that one call on
the whole matrix gives for its features. The reference here is that whole-matrix call (an
independent computation: one pass over all features, no block boundaries). The cross-feature
steps are supplied from outside the block: the proteome's per-sample medians
(:func:`tumorboard.layers.proteome.sample_medians` of the whole matrix) and, for the
phosphoproteome, the sites the kinase / RTK sums run over
(:func:`tumorboard.layers.phospho.summed_features`), scored together.

Numbers are compared to 1e-12 (the same arithmetic, but numpy's summation may group a row's
terms differently depending on memory alignment); labels, calls and provenance exactly, floats
inside the provenance to the same tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.layers import scoring
from tumorboard.layers.expression import expression_findings
from tumorboard.layers.phospho import (
    PhosphoParams,
    kinase_catalogue,
    phospho_findings,
    phospho_site_findings,
    summed_features,
)
from tumorboard.layers.proteome import (
    NOT_DETECTED,
    centre_by_batch,
    proteome_findings,
    sample_medians,
)

TOL = 1e-12
NUMERIC = ["value", "z_score", "percentile_cohort", "percentile_entity", "reference_size"]
LABELS = ["patient", "sample", "layer", "gene", "feature", "kind", "call"]
ENTITIES = ["DSRCT", "SYNS", "EWS", "ARMS"]


# --------------------------------------------------------------------------- helpers


def _blocks(columns: pd.Index, n_blocks: int, seed: int) -> list[list[str]]:
    """Columns shuffled, then cut into ``n_blocks`` blocks of uneven sizes (none empty)."""
    rng = np.random.default_rng(seed)
    shuffled = list(rng.permutation(np.asarray(columns, dtype=object)))
    cuts = np.sort(rng.choice(np.arange(1, len(shuffled)), size=n_blocks - 1, replace=False))
    parts = [list(p) for p in np.split(np.array(shuffled, dtype=object), cuts)]
    assert len(parts) == n_blocks and all(parts)
    return parts


def _sorted(findings: pd.DataFrame) -> pd.DataFrame:
    keys = ["sample", "layer", "kind", "feature"]
    assert not findings.duplicated(keys).any(), "sort keys must identify a finding"
    return findings.sort_values(keys, kind="stable").reset_index(drop=True)


def _same(a: Any, b: Any, where: str) -> None:
    """Provenance values equal: floats to TOL (NaN == NaN), everything else exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(
            a, b, rel_tol=TOL, abs_tol=TOL), (where, a, b)
    else:
        assert type(a) is type(b) and a == b, (where, a, b)


def assert_same_findings(blocked: pd.DataFrame, whole: pd.DataFrame) -> None:
    """Same rows (after sorting), labels and provenance; numbers to ``TOL``."""
    assert list(blocked.columns) == list(whole.columns)
    assert len(blocked) == len(whole)
    a, b = _sorted(blocked), _sorted(whole)
    for col in LABELS:
        left = a[col].astype(object).where(a[col].notna(), None).tolist()
        right = b[col].astype(object).where(b[col].notna(), None).tolist()
        assert left == right, col
    for col in NUMERIC:
        np.testing.assert_allclose(a[col].to_numpy(dtype="float64", na_value=np.nan),
                                   b[col].to_numpy(dtype="float64", na_value=np.nan),
                                   rtol=TOL, atol=TOL, equal_nan=True, err_msg=col)
    for i, (p, q) in enumerate(zip(a["provenance"], b["provenance"], strict=True)):
        _same(p, q, f"row {i} provenance")


def _labels(samples: list[str], seed: int) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    entities = pd.Series(rng.choice(ENTITIES, size=len(samples)), index=samples, dtype=object)
    entities.iloc[3] = np.nan  # a sample without entity label
    patients = pd.Series([s.replace("S", "PAT") for s in samples], index=samples)
    return entities, patients


# --------------------------------------------------------------------------- expression


def _tpm(seed: int = 8) -> tuple[pd.DataFrame, list[str]]:
    """40 samples x 240 genes of log-normal TPM with NaNs, silent genes, ties and outliers."""
    rng = np.random.default_rng(seed)
    samples = [f"S{i:03d}" for i in range(40)]
    genes = [f"G{j:03d}" for j in range(240)]
    level = rng.uniform(-2, 8, size=len(genes))  # some genes below 1 TPM in the cohort
    tpm = np.exp2(level[None, :] + rng.normal(0, 1, size=(40, 240))) - 1.0
    tpm = np.clip(tpm, 0.0, None)
    tpm[rng.random(tpm.shape) < 0.05] = np.nan
    tpm[:, :10] = np.round(tpm[:, :10])  # ties
    tpm[:, 10] = 0.0  # silent in every patient
    hot = rng.integers(0, 40, size=60), rng.integers(0, 240, size=60)
    tpm[hot] = 2.0 ** 14  # overexpression
    cold = rng.integers(0, 40, size=60), rng.integers(0, 240, size=60)
    tpm[cold] = 0.0  # underexpression where the cohort expresses the gene
    frame = pd.DataFrame(tpm, index=samples, columns=genes)
    return frame, ["G005", "G010", "G077", "G150", "G239"]


@pytest.mark.parametrize(("n_blocks", "report"), [(3, None), (5, None), (7, ["S001", "S017"])])
def test_expression_by_blocks_of_genes_equals_whole_matrix(n_blocks, report):
    tpm, watch = _tpm()
    entities, patients = _labels(list(tpm.index), seed=1)
    kwargs = {"entities": entities, "patients": patients, "samples": report, "genes": watch}
    whole = expression_findings(tpm, **kwargs)
    parts = [expression_findings(tpm[block], **kwargs)
             for block in _blocks(tpm.columns, n_blocks, seed=n_blocks)]
    blocked = pd.concat(parts, ignore_index=True)
    # The comparison has something to compare: outliers of both directions and watch-list
    # rows, found in more than one block.
    assert {"overexpression", "underexpression", "expression"} <= set(whole["kind"])
    assert sum(len(p) > 0 for p in parts) >= 2
    assert_same_findings(blocked, whole)


# --------------------------------------------------------------------------- proteome


def _abundance(seed: int = 3) -> tuple[pd.DataFrame, pd.Series, pd.Series, list[str]]:
    """36 samples x 180 protein groups in batches of 11, 11, 9, 2 and 3 unbatched samples.

    Batch offsets, a sample that quantified only a fifth of the proteins (its median over a
    block differs from its median over all), proteins missing in a few samples of a batch
    (``not_detected_in_sample``) and proteins that one batch never measured.
    """
    rng = np.random.default_rng(seed)
    samples = [f"S{i:03d}" for i in range(36)]
    features = [f"PG{j:03d}" for j in range(180)]
    labels = ["A"] * 11 + ["B"] * 11 + ["C"] * 9 + ["D"] * 2 + [None] * 3
    batches = pd.Series(labels, index=samples, dtype=object).dropna()
    offset = {"A": 0.0, "B": 1.5, "C": -0.8, "D": 0.4, None: 0.2}
    x = (rng.normal(20, 2, size=len(features))[None, :]
         + rng.normal(0, 0.6, size=(36, 180))
         + np.array([offset[b] for b in labels])[:, None]
         + rng.normal(0, 0.5, size=36)[:, None])  # loading differences
    hot = rng.integers(0, 36, size=40), rng.integers(0, 180, size=40)
    x[hot] += 6.0
    cold = rng.integers(0, 36, size=40), rng.integers(0, 180, size=40)
    x[cold] -= 6.0
    x[rng.random(x.shape) < 0.04] = np.nan
    x[5, rng.random(180) < 0.8] = np.nan  # a sparse sample
    x[11:22, 100:110] = np.nan  # batch B never measured these
    frame = pd.DataFrame(x, index=samples, columns=features)
    genes = pd.Series([f"GENE{j % 150}" for j in range(180)], index=features, dtype=object)
    genes.iloc[7] = None  # a protein group without a gene
    return frame, batches, genes, ["GENE3", "GENE42", "GENE120"]


def test_sample_medians_closed_form_and_equal_to_out_of_core_first_pass():
    """a = (1, 5, NaN, 2) -> median of (1, 2, 5) = 2; b = (4, 3, 8, 6) -> (4 + 6) / 2 = 5;
    c has no value -> NaN (the layer then subtracts 0)."""
    frame = pd.DataFrame([[1, 5, np.nan, 2], [4, 3, 8, 6], [np.nan] * 4],
                         index=["a", "b", "c"], columns=["f1", "f2", "f3", "f4"], dtype=float)
    medians = sample_medians(frame)
    assert medians.index.tolist() == ["a", "b", "c"]
    assert medians.iloc[:2].tolist() == [2.0, 5.0] and np.isnan(medians["c"])

    big, batches, _, _ = _abundance()
    # The out-of-core first pass: nan_median_columns of a features x samples array, here a
    # C-contiguous copy as a Zarr read returns it (a different memory layout from the frame).
    first_pass = scoring.nan_median_columns(np.ascontiguousarray(big.to_numpy().T))
    np.testing.assert_array_equal(sample_medians(big).to_numpy(), first_pass)
    # ... and they are what centring subtracts: given explicitly, the result is the same.
    pd.testing.assert_frame_equal(
        centre_by_batch(big, batches, sample_centres=sample_medians(big)),
        centre_by_batch(big, batches))


@pytest.mark.parametrize(("n_blocks", "report"), [(3, None), (6, None), (4, ["S005", "S030"])])
def test_proteome_by_blocks_with_whole_matrix_sample_medians_equals_whole(n_blocks, report):
    abundance, batches, genes, watch = _abundance()
    entities, patients = _labels(list(abundance.index), seed=2)
    kwargs = {"batches": batches, "feature_genes": genes, "entities": entities,
              "patients": patients, "samples": report, "genes": watch}
    whole = proteome_findings(abundance, **kwargs)
    centres = sample_medians(abundance)
    blocks = _blocks(abundance.columns, n_blocks, seed=10 + n_blocks)
    parts = [proteome_findings(abundance[b], sample_centres=centres, **kwargs) for b in blocks]
    blocked = pd.concat(parts, ignore_index=True)
    missing = whole["provenance"].map(lambda p: p.get("missing")) == NOT_DETECTED
    assert missing.any() and (~missing).any()
    assert {"protein_high", "protein_low", "protein"} <= set(whole["kind"])
    assert_same_findings(blocked, whole)

    # Without the whole-matrix medians the blocks centre on their own: the numbers move (the
    # comparison above can fail).
    alone = pd.concat([proteome_findings(abundance[b], **kwargs) for b in blocks],
                      ignore_index=True)
    with pytest.raises(AssertionError):
        assert_same_findings(alone, whole)


def test_proteome_sample_centres_must_cover_every_sample():
    abundance, batches, genes, _ = _abundance()
    entities, patients = _labels(list(abundance.index), seed=2)
    centres = sample_medians(abundance).drop(["S004", "S009"])
    with pytest.raises(InputError, match=r"no median for 2 sample\(s\).*S004, S009") as err:
        proteome_findings(abundance.iloc[:, :20], batches=batches, feature_genes=genes,
                          entities=entities, patients=patients, sample_centres=centres)
    assert err.value.sample == "S004" and "sample_medians" in str(err.value)


# --------------------------------------------------------------------------- phosphoproteome

#: Catalogue sites named as the store names them: own sites of ERBB2, EGFR, KDR; their substrate
#: sites; an RPPA antibody aliased to EGFR Y1092.
CATALOGUE_SITES = ["ERBB2_Y1248", "ERBB2_Y877", "ERBB2_Y1221", "EGFR_Y1197", "EGFR_Y869",
                   "KDR_Y1175", "KDR_Y1054", "KDR_Y1059", "SHC1_Y427", "PLCG1_Y783",
                   "PLCG1_Y1253", "GAB1_Y627", "STAT3_Y705", "EGFR|EGFR_pY1068"]
#: Sites of RTKs outside the catalogue: members of the RTK protein phosphorylation sums.
RTK_OTHER_SITES = ["ERBB2_S1054", "EGFR_S1166", "KDR_T982", "MET_S985"]


def _phospho(seed: int = 5) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.DataFrame]:
    """36 samples x (14 catalogue + 4 RTK + 220 other) sites, 3 batches with offsets, NaNs."""
    rng = np.random.default_rng(seed)
    samples = [f"S{i:03d}" for i in range(36)]
    others = [f"GENE{j}_S{10 + j}" for j in range(200)] + [f"SHC1_S{j}" for j in range(20, 40)]
    features = CATALOGUE_SITES + RTK_OTHER_SITES + others
    labels = ["A"] * 12 + ["B"] * 12 + ["C"] * 12
    offset = {"A": 0.0, "B": 2.0, "C": -1.0}
    x = (rng.normal(15, 1.5, size=len(features))[None, :]
         + rng.normal(0, 0.7, size=(36, len(features)))
         + np.array([offset[b] for b in labels])[:, None]
         + rng.normal(0, 0.4, size=36)[:, None])
    x[rng.random(x.shape) < 0.05] = np.nan
    x[rng.integers(0, 36, size=50), rng.integers(0, len(features), size=50)] += 5.0
    x[[2, 2, 9], [0, 1, 5]] += 6.0  # ERBB2 and KDR activated in S002 / S009
    x[7, rng.random(len(features)) < 0.7] = np.nan  # a sparse sample
    sites = pd.DataFrame(x, index=samples, columns=features)
    site_genes = pd.Series({f: f.split("|")[0].split("_")[0] for f in features})
    batches = pd.Series(labels, index=samples)
    expression_z = pd.DataFrame(rng.normal(0, 1.5, size=(36, 4)), index=samples,
                                columns=["ERBB2", "EGFR", "KDR", "MET"])
    return sites, site_genes, batches, expression_z


def test_summed_features_are_the_catalogue_and_rtk_sites():
    _, site_genes, _, _ = _phospho()
    summed = summed_features(site_genes, catalogue=kinase_catalogue())
    assert set(summed) == set(CATALOGUE_SITES) | set(RTK_OTHER_SITES)
    assert len(summed) == len(set(summed))
    # Restricted to the features a matrix has, in any order given.
    subset = ["GENE3_S13", "KDR_T982", "SHC1_Y427", "SHC1_S21", "NOT_A_SITE"]
    assert set(summed_features(site_genes, features=subset)) == {"KDR_T982", "SHC1_Y427"}
    assert summed_features(site_genes, features=[]) == []


@pytest.mark.parametrize(("n_blocks", "with_batches", "report"), [
    (3, True, None), (6, True, None), (4, False, None), (5, True, ["S002", "S009", "S007"]),
])
def test_phospho_summed_plus_site_blocks_equals_whole(n_blocks, with_batches, report):
    sites, site_genes, batches, expression_z = _phospho()
    entities, patients = _labels(list(sites.index), seed=4)
    kwargs = {"site_genes": site_genes, "entities": entities, "patients": patients,
              "batches": batches if with_batches else None, "samples": report}
    whole = phospho_findings(sites, expression_z=expression_z, **kwargs)

    centres = sample_medians(sites)  # over all features, as the out-of-core first pass
    summed = summed_features(site_genes, features=sites.columns)
    rest = sites.columns.difference(pd.Index(summed), sort=False)
    head = phospho_findings(sites[summed], expression_z=expression_z, sample_centres=centres,
                            **kwargs)
    parts = [phospho_site_findings(sites[block], sample_centres=centres, **kwargs)
             for block in _blocks(rest, n_blocks, seed=20 + n_blocks)]
    blocked = pd.concat([head, *parts], ignore_index=True)

    kinds = set(whole["kind"])
    assert {"phosphosite", "activation", "kinase_activity", "rtk_activation"} <= kinds
    assert sum(len(p) > 0 for p in parts) >= 2  # other-site outliers in several blocks
    assert all(set(p["kind"]) <= {"phosphosite"} and (p["call"] == "high").all()
               for p in parts)
    assert all(p["cohort_size"] == len(sites) for p in blocked["provenance"])
    assert_same_findings(blocked, whole)


def test_phospho_blocks_need_the_whole_matrix_sample_medians_with_batches():
    """Without ``sample_centres`` a block's batch centring subtracts the block's own sample
    medians, and the findings differ from the whole matrix's (the equality above can fail)."""
    sites, site_genes, batches, _ = _phospho()
    entities, patients = _labels(list(sites.index), seed=4)
    kwargs = {"site_genes": site_genes, "entities": entities, "patients": patients,
              "batches": batches}
    whole = phospho_findings(sites, **kwargs)
    summed = summed_features(site_genes, features=sites.columns)
    rest = sites.columns.difference(pd.Index(summed), sort=False)
    blocked = pd.concat([phospho_findings(sites[summed], **kwargs),
                         *(phospho_site_findings(sites[b], **kwargs)
                           for b in _blocks(rest, 3, seed=1))], ignore_index=True)
    with pytest.raises(AssertionError):
        assert_same_findings(blocked, whole)


def test_phospho_site_findings_rejects_summed_features_and_respects_site_outlier_switch():
    sites, site_genes, batches, _ = _phospho()
    entities, patients = _labels(list(sites.index), seed=4)
    kwargs = {"site_genes": site_genes, "entities": entities, "patients": patients,
              "batches": batches}
    block = sites[["GENE1_S11", "KDR_T982", "GENE2_S12"]]
    with pytest.raises(InputError, match=r"1 feature\(s\) .* sum over: KDR_T982") as err:
        phospho_site_findings(block, **kwargs)
    assert "summed_features" in str(err.value)

    others = sites[[c for c in sites.columns if c.startswith("GENE")]]
    assert len(phospho_site_findings(others, **kwargs)) > 0
    off = phospho_site_findings(others, params=PhosphoParams(report_site_outliers=False),
                                **kwargs)
    assert off.empty and list(off.columns) == list(phospho_findings(sites, **kwargs).columns)

"""Tests of tumorboard.layers.copynumber: purity/ploidy math, thresholds, focal vs arm-level.

Expected values are worked out by hand in each test's docstring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tumorboard.io.copynumber import read_seg
from tumorboard.io.tables import conform
from tumorboard.layers.copynumber import (
    CopyNumberParams,
    absolute_copy_number,
    arm_table,
    copy_number_calls,
    copy_number_findings,
)
from tumorboard.model import FINDING_COLUMNS
from tumorboard.reference import CHROM_LENGTHS

DATA = Path(__file__).resolve().parents[1] / "data" / "copynumber"
Q1_START = 125_100_001  # first base of 1q (UCSC hg38 acen 121.7-125.1 Mb)
CHR1_END = CHROM_LENGTHS["GRCh38"]["chr1"]


def genes(*rows: dict[str, Any]) -> pd.DataFrame:
    """A gene_copy_number table (store layout, with sample_id) from partial rows."""
    base = {"sample_id": "S1", "chrom": "chr1", "start": 200_000_000, "end": 200_010_000,
            "log2_ratio": np.nan, "total_cn": None, "major_cn": None, "minor_cn": None,
            "segment_fraction": 1.0, "n_segments": 1}
    frame = pd.DataFrame([{**base, "gene": f"G{i}", **r} for i, r in enumerate(rows)])
    out = conform(frame, "gene_copy_number")
    out.insert(0, "sample_id", frame["sample_id"].astype("string"))
    return out


def segments(*rows: tuple[str, int, int, float | None, int | None],
             sample: str = "S1") -> pd.DataFrame:
    """A segments table from (chrom, start, end, log2, total_cn) tuples."""
    frame = pd.DataFrame([
        {"chrom": c, "start": s, "end": e, "num_markers": 10, "log2_ratio": r, "total_cn": t,
         "major_cn": None, "minor_cn": None}
        for c, s, e, r, t in rows
    ])
    out = conform(frame, "segments")
    out.insert(0, "sample_id", pd.Series(sample, index=out.index, dtype="string"))
    return out


# --- the purity / ploidy conversion ----------------------------------------------------------


def test_absolute_copy_number_closed_form() -> None:
    """n = (2**r * (p*P + 2(1-p)) - 2(1-p)) / p.

    r=1, p=0.5, P=2: (2*(1+1) - 1)/0.5 = 6.  r=0: n = P for any p (neutral stays neutral):
    p=0.5, P=3 -> (1*(1.5+1) - 1)/0.5 = 3.  p=1 (pure): n = P*2**r = 2*2**-1 = 1.
    r=-1, p=0.5, P=2: (0.5*2 - 1)/0.5 = 0 (both tumour copies lost).  r=-3, p=0.5:
    (0.125*2 - 1)/0.5 = -1.5 -> clipped to 0.  Male chrX (c=1, P/2=1), r=1, p=0.5:
    (2*(0.5+0.5) - 0.5)/0.5 = 3.  Purity NaN is treated as 1: r=1, P=2 -> 4.
    """
    got = absolute_copy_number(
        np.array([1.0, 0.0, -1.0, -1.0, -3.0, 1.0, 1.0]),
        np.array([0.5, 0.5, 1.0, 0.5, 0.5, 0.5, np.nan]),
        np.array([2.0, 3.0, 2.0, 2.0, 2.0, 1.0, 2.0]),
        np.array([2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 2.0]),
    )
    np.testing.assert_allclose(got, [6.0, 3.0, 1.0, 0.0, 0.0, 3.0, 4.0])


def test_cnvkit_special_case_for_diploid() -> None:
    """For P = 2 the formula is CNVkit's n = (2*2**r - 2(1-p)) / p: r=0.7, p=0.35."""
    r, p = 0.7, 0.35
    assert absolute_copy_number(r, p, 2.0)[()] == pytest.approx((2 * 2**r - 2 * (1 - p)) / p)


# --- thresholds ------------------------------------------------------------------------------


def test_levels_at_each_threshold_for_diploid() -> None:
    """Ploidy 2: deletion < 0.5, loss < 1.5, gain >= 2.5, amplification > 6 (3 x 2).
    Integer copy numbers 0..7 -> deletion, loss, neutral, gain, gain, gain, gain (6 is not > 6),
    amplification."""
    g = genes(*({"total_cn": n} for n in range(8)))
    calls = copy_number_calls(g)
    assert calls["kind"].fillna("neutral").tolist() == [
        "deletion", "loss", "neutral", "gain", "gain", "gain", "gain", "amplification"]
    assert calls["cn_source"].unique().tolist() == ["total_cn"]


def test_thresholds_follow_ploidy_and_are_inclusive_where_documented() -> None:
    """Ploidy 2.5: gain from 3.0 (CN 3 is a gain, inclusive), loss below 2.0 (CN 2 neutral,
    strict), amplification above 7.5 (CN 7 gain, 8 amplification). With the GDC factor 2:
    amplification above 5 (CN 6 amplification)."""
    g = genes(*({"total_cn": n} for n in (2, 3, 7, 8)))
    calls = copy_number_calls(g, ploidy=2.5)
    assert calls["kind"].fillna("neutral").tolist() == ["neutral", "gain", "gain",
                                                        "amplification"]
    gdc = copy_number_calls(genes({"total_cn": 6}), params=CopyNumberParams(
        amplification_factor=2.0))
    assert gdc["kind"].tolist() == ["amplification"]
    strict = copy_number_calls(genes({"total_cn": 0}, {"total_cn": 1}),
                               params=CopyNumberParams(deletion_below=1.0))
    assert strict["kind"].tolist() == ["deletion", "loss"]  # deletion is strictly below
    assert CopyNumberParams().thresholds(2.0) == {
        "amplification_above": 6.0, "gain_from": 2.5, "loss_below": 1.5, "deletion_below": 0.5}


def test_purity_turns_a_loss_into_a_homozygous_deletion() -> None:
    """log2 -1.1873 (CDKN2A in DDLS_02_T): pure, n = 2*2**-1.1873 = 0.878 -> loss; at purity
    0.6, n = (0.4391*2 - 0.8)/0.6 = 0.130 -> deletion."""
    g = genes({"log2_ratio": -1.1873})
    assert copy_number_calls(g)["kind"].tolist() == ["loss"]
    impure = copy_number_calls(g, purity={"S1": 0.6})
    assert impure["kind"].tolist() == ["deletion"]
    assert impure["cn"].iloc[0] == pytest.approx((2**-1.1873 * 2 - 0.8) / 0.6)


def test_sex_chromosomes() -> None:
    """One copy of chrX: neutral for a male (expected P/2 = 1), loss for a female or unknown
    sex; a female's chrY is not called (its genes are absent, not deleted)."""
    g = genes({"chrom": "chrX", "total_cn": 1}, {"chrom": "chrY", "total_cn": 0})
    male = copy_number_calls(g, sex={"S1": "male"})["kind"].fillna("neutral")
    assert male.tolist() == ["neutral", "deletion"]
    female = copy_number_calls(g, sex={"S1": "female"})["kind"].fillna("neutral")
    assert female.tolist() == ["loss", "neutral"]
    f = copy_number_findings(g, patients={"S1": "P1"})
    assert "sex unknown" in f.iloc[0]["provenance"]["sex_note"]


# --- extent ----------------------------------------------------------------------------------


def _arm_event(length: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """1q: neutral from its start, then a gain of ``length`` bp to the chromosome end."""
    gain_start = CHR1_END - length + 1
    seg = segments(("chr1", 1, Q1_START - 1, 0.0, None),
                   ("chr1", Q1_START, gain_start - 1, 0.0, None),
                   ("chr1", gain_start, CHR1_END, 0.58, None))
    g = genes({"start": CHR1_END - 20_000, "end": CHR1_END - 10_000, "log2_ratio": 0.58})
    return g, seg


def test_arm_level_boundary_at_80_percent_of_the_arm() -> None:
    """1q is 248,956,422 - 125,100,001 + 1 = 123,856,422 bp; 80 % = 99,085,137.6 bp. A gain of
    99,085,138 bp covers >= 80 % -> arm_level; 99,085,137 bp < 80 % -> focal (Taylor 2018)."""
    arm_len = CHR1_END - Q1_START + 1
    assert arm_len == 123_856_422
    g, seg = _arm_event(99_085_138)
    calls = copy_number_calls(g, seg)
    assert calls.loc[0, "extent"] == "arm_level"
    assert calls.loc[0, "arm"] == "1q"
    assert calls.loc[0, "arm_fraction"] == pytest.approx(99_085_138 / arm_len)
    g, seg = _arm_event(99_085_137)
    assert copy_number_calls(g, seg).loc[0, "extent"] == "focal"


def test_adjacent_segments_merge_and_amplicons_stay_focal() -> None:
    """8q (47,200,001-145,138,636, 97,938,636 bp) gained in two adjacent segments (45 % + 55 %)
    with a 1 Mb amplicon inside: the gain genes are arm_level (merged run = whole arm, the
    amplicon counts as at least a gain); the amplified gene is focal (1 Mb / 97.9 Mb)."""
    seg = segments(("chr8", 47_200_001, 90_000_000, 0.58, None),
                   ("chr8", 90_000_001, 100_000_000, 0.58, None),
                   ("chr8", 100_000_001, 101_000_000, 2.5, None),
                   ("chr8", 101_000_001, 145_138_636, 0.58, None))
    g = genes({"chrom": "chr8", "start": 60_000_000, "end": 60_001_000, "log2_ratio": 0.58},
              {"chrom": "chr8", "start": 100_500_000, "end": 100_501_000, "log2_ratio": 2.5},
              {"chrom": "chr8", "start": 140_000_000, "end": 140_001_000, "log2_ratio": 0.58})
    calls = copy_number_calls(g, seg)
    assert calls["kind"].tolist() == ["gain", "amplification", "gain"]
    assert calls["extent"].tolist() == ["arm_level", "focal", "arm_level"]
    assert calls.loc[0, "event_start"] == 47_200_001
    assert calls.loc[0, "event_end"] == 145_138_636
    assert calls.loc[1, "event_start"] == 100_000_001
    assert calls.loc[1, "arm_fraction"] == pytest.approx(1_000_000 / 97_938_636)


def test_extent_unknown_without_segments() -> None:
    calls = copy_number_calls(genes({"total_cn": 9}))
    assert calls["extent"].tolist() == ["extent_unknown"]


def test_arm_table_is_consistent() -> None:
    """48 arms; p arm ends where the centromere starts, q arm starts after it ends; 12q from
    37,800,001 (hg38 acen 33.2-37.8 Mb) to the chromosome end."""
    arms = arm_table()
    assert len(arms) == 48
    p = arms[arms["arm"].str.endswith("p")].set_index("chrom")
    q = arms[arms["arm"].str.endswith("q")].set_index("chrom")
    assert (p["end"] + 1 == p["centromere_start"]).all()
    assert (q["start"] - 1 == q["centromere_end"]).all()
    assert q.loc["chr12", "start"] == 37_800_001
    assert all(q.loc[c, "end"] == n for c, n in CHROM_LENGTHS["GRCh38"].items())


# --- the DDLS amplicon from the readers' test file -------------------------------------------


def _ddls() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = read_seg(DATA / "cohort.seg", sample="DDLS_02_T")
    seg = data.tables["segments"].assign(sample_id="DDLS_02_T")
    gcn = data.tables["gene_copy_number"].assign(sample_id="DDLS_02_T")
    return gcn, seg


def test_ddls_12q15_mdm2_cdk4_focal_amplification() -> None:
    """cohort.seg DDLS_02_T, no purity given (pure), ploidy 2:
    MDM2 (segment 68,700,213-69,650,000, log2 3.1021): n = 2*2**3.1021 = 17.17 > 6 ->
    amplification; the event is 949,788 bp of 12q (95,475,309 bp) = 0.99 % -> focal.
    CDK4 (57,512,345-58,101,877, log2 2.8734): n = 14.66 -> focal amplification.
    HMGA2 (log2 0.4120): n = 2.66 -> gain; its run (57.5-69.65 Mb, amplicons included) is 12.7 %
    of 12q -> focal. CDKN2A (log2 -1.1873): n = 0.88 -> loss."""
    gcn, seg = _ddls()
    f = copy_number_findings(gcn, seg, patients={"DDLS_02_T": "DDLS_02"})
    by_gene = f.set_index("gene")
    mdm2 = by_gene.loc["MDM2"]
    assert (mdm2["kind"], mdm2["call"], mdm2["feature"]) == (
        "amplification", "focal", "MDM2 amplification")
    assert mdm2["value"] == pytest.approx(2 * 2**3.1021)
    prov = mdm2["provenance"]
    assert prov["segment"] == "chr12:68700213-69650000"
    assert prov["event"]["length_bp"] == 949_788
    assert prov["event"]["arm"] == "12q"
    assert prov["event"]["arm_fraction"] == pytest.approx(949_788 / 95_475_309, abs=1e-4)
    assert prov["log2_ratio"] == pytest.approx(3.1021)
    assert prov["purity"] is None and "treated as pure" in prov["purity_note"]
    assert prov["thresholds"]["amplification_above"] == 6.0
    assert (by_gene.loc["CDK4", "kind"], by_gene.loc["CDK4", "call"]) == ("amplification",
                                                                          "focal")
    assert by_gene.loc["CDK4", "value"] == pytest.approx(2 * 2**2.8734)
    assert (by_gene.loc["HMGA2", "kind"], by_gene.loc["HMGA2", "call"]) == ("gain", "focal")
    assert by_gene.loc["CDKN2A", "kind"] == "loss"
    assert set(f["kind"]) <= {"amplification", "gain", "loss", "deletion"}
    assert set(f["layer"]) == {"copy_number"}
    assert "GAPDH" not in by_gene.index  # neutral genes are not reported


def test_ddls_with_purity_and_ascat_absolute_copy_number() -> None:
    """At purity 0.6 CDKN2A becomes a homozygous deletion (n = 0.130) and MDM2's estimate rises
    to (2**3.1021*2 - 0.8)/0.6 = 27.29. The ASCAT file's total copy numbers are used as is:
    MDM2 17+1 = 18, CDK4 14+1 = 15, CDKN2A 1+0 = 1 (loss)."""
    gcn, seg = _ddls()
    f = copy_number_findings(gcn, seg, patients={"DDLS_02_T": "P"}, purity={"DDLS_02_T": 0.6})
    by_gene = f.set_index("gene")
    assert by_gene.loc["CDKN2A", "kind"] == "deletion"
    assert by_gene.loc["MDM2", "value"] == pytest.approx((2**3.1021 * 2 - 0.8) / 0.6)
    ascat = read_seg(DATA / "DDLS_02_T.ascat.segments.txt")
    a_seg = ascat.tables["segments"].assign(sample_id="A")
    a_gcn = ascat.tables["gene_copy_number"].assign(sample_id="A")
    fa = copy_number_findings(a_gcn, a_seg, patients={"A": "P"}, sex={"A": "male"})
    by_gene = fa.set_index("gene")
    assert by_gene.loc["MDM2", "value"] == 18.0
    assert by_gene.loc["MDM2", "provenance"]["cn_source"] == "total_cn"
    assert by_gene.loc["CDK4", "value"] == 15.0
    assert by_gene.loc["CDKN2A", "kind"] == "loss"
    assert not (fa["provenance"].map(lambda p: p["gene_locus"]).str.startswith("chrX:")).any()


# --- watch list, errors ----------------------------------------------------------------------


def test_watch_list_genes_are_reported_when_neutral() -> None:
    """A neutral watch-list gene is emitted as kind 'copy_number' with call 'neutral'."""
    g = genes({"gene": "ERBB2", "total_cn": 2}, {"gene": "MDM2", "total_cn": 20},
              {"gene": "TP53", "total_cn": 2})
    f = copy_number_findings(g, patients={"S1": "P1"}, genes=["ERBB2"])
    assert sorted(f["gene"]) == ["ERBB2", "MDM2"]
    erbb2 = f.set_index("gene").loc["ERBB2"]
    assert (erbb2["kind"], erbb2["call"], erbb2["value"]) == ("copy_number", "neutral", 2.0)


def test_missing_patient_and_empty_input() -> None:
    with pytest.raises(ValueError, match="no patient given"):
        copy_number_findings(genes({"total_cn": 9}), patients={})
    empty = copy_number_findings(genes({"total_cn": 9}).iloc[0:0], patients={})
    assert list(empty.columns) == list(FINDING_COLUMNS) and len(empty) == 0


def test_several_samples_at_once() -> None:
    """Two samples, same log2 -1, different purity: S1 (pure) n = 2*0.5 = 1 -> loss; S2 at
    purity 0.2: n = (0.5*(0.2*2 + 2*0.8) - 2*0.8)/0.2 = (1.0 - 1.6)/0.2 = -3 -> 0 -> deletion."""
    g = genes({"log2_ratio": -1.0}, {"sample_id": "S2", "log2_ratio": -1.0})
    seg = pd.concat([segments(("chr1", 199_000_000, 201_000_000, -1.0, None)),
                     segments(("chr1", 199_000_000, 201_000_000, -1.0, None), sample="S2")],
                    ignore_index=True)
    f = copy_number_findings(g, seg, patients={"S1": "P1", "S2": "P2"},
                             purity=pd.Series({"S2": 0.2}))
    assert f.set_index("sample")["kind"].to_dict() == {"S1": "loss", "S2": "deletion"}
    assert f.set_index("sample")["call"].tolist() == ["focal", "focal"]

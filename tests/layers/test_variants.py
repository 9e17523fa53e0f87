"""Tests of tumorboard.layers.variants: HGVS parsing, filters, hotspots, roles, calls, TMB.

Expected values are worked out by hand in each test's docstring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tumorboard.io.tables import conform
from tumorboard.io.variants import read_maf, read_vcf
from tumorboard.layers.variants import (
    NONSYNONYMOUS_CODING,
    TUMOUR_ONLY_CAVEAT,
    VariantParams,
    annotate_variants,
    gene_roles,
    hotspot_table,
    parse_hgvsp,
    tumour_mutational_burden,
    variant_findings,
)
from tumorboard.model import FINDING_COLUMNS
from tumorboard.reference import gene_symbols

DATA = Path(__file__).resolve().parents[1] / "data" / "variants"


def variant(**kw: Any) -> dict[str, Any]:
    """One variants-table row: a PASS BRAF V600E at depth 100, 40 alt reads, unless overridden."""
    row = {
        "sample_id": "S1", "chrom": "chr7", "pos": 140753336, "ref": "A", "alt": "T",
        "filter": "PASS", "gene": "BRAF", "transcript_id": "ENST00000646891.2",
        "consequence": "missense_variant", "impact": "MODERATE", "hgvsc": "c.1799T>A",
        "hgvsp": "p.Val600Glu", "depth": 100, "alt_depth": 40, "vaf": 0.4,
    }
    row.update(kw)
    return row


def table(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    out = conform(frame, "variants")
    out.insert(0, "sample_id", frame["sample_id"].astype("string"))
    return out


# --- HGVS p. parsing -------------------------------------------------------------------------


def test_parse_hgvsp_forms() -> None:
    """Residue, range and change type of each notation, read off the strings."""
    got = parse_hgvsp(pd.Series(
        ["p.Val600Glu", "p.V600E", "p.Arg80Ter", "p.R80*", "p.Glu746_Ala750del",
         "p.Tyr772_Ala775dup", "p.Arg130GlyfsTer5", "p.Arg130fs", "p.Pro412=", "p.X125_splice",
         "p.(Gly12Asp)", "p.Met1?", "c.1799T>A", None],
        dtype="string",
    ))
    assert got["ref"].tolist()[:11] == ["V", "V", "R", "R", "E", "Y", "R", "R", "P", "splice",
                                        "G"]
    assert got["start"].tolist()[:11] == [600, 600, 80, 80, 746, 772, 130, 130, 412, 125, 12]
    assert got["end"].tolist()[:11] == [600, 600, 80, 80, 750, 775, 130, 130, 412, 125, 12]
    assert got["change"].tolist() == [
        "substitution", "substitution", "substitution", "substitution", "inframe", "inframe",
        "frameshift", "frameshift", "synonymous", "splice", "substitution", "other",
        pd.NA, pd.NA,
    ]


# --- knowledge -------------------------------------------------------------------------------


def test_hotspot_table_is_the_derived_v2_table() -> None:
    """1,110 residues (1,024 single-residue + 86 splice), unique keys, BRAF V600 = 897 samples
    (E:833 in cancerhotspots_v2.txt), retired symbols renamed to GENCODE ones."""
    hs = hotspot_table()
    assert len(hs) == 1110
    assert (hs["residue_type"] == "splice").sum() == 86
    assert not hs.duplicated(["gene", "position", "residue_type"]).any()
    v600 = hs[(hs["gene"] == "BRAF") & (hs["position"] == 600)].iloc[0]
    assert (v600["ref_aa"], v600["mutation_count"]) == ("V", 897)
    assert v600["variant_aa"].startswith("E:833|")
    assert set(hs["gene"]) <= gene_symbols()
    assert "H3-3A" in set(hs["gene"]) and "H3F3A" not in set(hs["gene"])


def test_gene_roles_cover_vogelstein_and_sarcoma_genes() -> None:
    """Vogelstein 2013: 54 oncogenes + 71 TSGs; every sarcoma-relevant gene of the brief has a
    role; all symbols are current GENCODE symbols."""
    roles = gene_roles()
    vog = roles[roles["source"] == "vogelstein2013"]
    assert (vog["role"] == "oncogene").sum() == 54
    assert (vog["role"] == "tsg").sum() == 71
    assert set(roles.index) <= gene_symbols()
    tsg = ["TP53", "RB1", "CDKN2A", "PTEN", "NF1", "ATRX", "TSC1", "TSC2", "SMARCB1",
           "SMARCA4", "ARID1A", "BAP1", "APC"]
    onc = ["KIT", "PDGFRA", "BRAF", "KRAS", "NRAS", "HRAS", "PIK3CA", "MDM2", "CDK4", "EGFR",
           "ERBB2", "MET", "ALK", "ROS1", "RET", "NTRK1", "NTRK2", "NTRK3", "FGFR1", "FGFR2",
           "FGFR3", "FGFR4", "IDH1", "IDH2", "CTNNB1", "MYC", "MYCN"]
    assert (roles.loc[tsg, "role"] == "tsg").all()
    assert (roles.loc[onc, "role"] == "oncogene").all()
    assert roles.loc["KMT2D", "previous_symbol"] == "MLL2"


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "below", "at"),
    [("depth", 19, 20), ("alt_depth", 4, 5), ("vaf", 0.0499, 0.05)],
)
def test_quality_thresholds_at_their_boundary(field: str, below: float, at: float) -> None:
    """Defaults min_depth 20, min_alt_depth 5, min_vaf 0.05: the value at the threshold passes,
    just below fails."""
    ann = annotate_variants(table(variant(**{field: below}), variant(**{field: at})))
    assert ann["reportable"].tolist() == [False, True]
    assert ann["tmb_counted"].tolist() == [False, True]


def test_missing_depth_and_vaf_are_not_held_against_a_variant() -> None:
    """A MAF without counts: NA depth/alt depth/VAF pass; the finding says they were missing."""
    t = table(variant(depth=None, alt_depth=None, vaf=None))
    assert annotate_variants(t)["reportable"].tolist() == [True]
    f = variant_findings(t, patients={"S1": "P1"})
    mut = f[f["kind"] == "mutation"].iloc[0]
    assert mut["provenance"]["unavailable"] == ["depth", "alt_depth", "vaf"]
    assert np.isnan(mut["value"])


def test_filter_status_consequence_and_impact() -> None:
    """Non-PASS out by default (in with pass_only=False, but never in TMB); synonymous and
    UTR out; LOW impact out even with a listed consequence; NA impact stays in."""
    t = table(
        variant(filter="panel_of_normals"),
        variant(consequence="synonymous_variant", impact="LOW", hgvsp="p.Val600="),
        variant(consequence="3_prime_UTR_variant", impact="MODIFIER", hgvsp=None),
        variant(consequence="missense_variant", impact="LOW"),
        variant(impact=None),
        variant(consequence="splice_region_variant&missense_variant"),
    )
    ann = annotate_variants(t)
    assert ann["reportable"].tolist() == [False, False, False, False, True, True]
    loose = annotate_variants(t, VariantParams(pass_only=False))
    assert loose["reportable"].tolist() == [True, False, False, False, True, True]
    assert loose["tmb_counted"].tolist() == [False, False, False, True, True, True]


# --- calls -----------------------------------------------------------------------------------


def test_calls_hotspot_truncating_tsg_and_vus() -> None:
    """BRAF V600E and CDKN2A R80* (listed residue, '*' observed) are hotspots; TP53 splice
    hotspot X125 matches 'p.X125_splice'; PTEN frameshift (TSG, not a hotspot) is
    oncogenic_likely; a BRAF frameshift (oncogene) and a BRAF missense off-hotspot are vus; a
    BRAF change at 600 whose reference is Ala (another transcript's numbering) is no hotspot."""
    t = table(
        variant(),
        variant(gene="CDKN2A", consequence="stop_gained", impact="HIGH", hgvsp="p.Arg80Ter"),
        variant(gene="TP53", consequence="splice_donor_variant", impact="HIGH",
                hgvsp="p.X125_splice", hgvsc="c.375+1G>A"),
        variant(gene="PTEN", consequence="frameshift_variant", impact="HIGH",
                hgvsp="p.Arg130GlyfsTer5"),
        variant(gene="BRAF", consequence="frameshift_variant", impact="HIGH",
                hgvsp="p.Leu505fs"),
        variant(hgvsp="p.Leu505Phe"),
        variant(hgvsp="p.Ala600Glu"),
    )
    ann = annotate_variants(t)
    assert ann["call"].tolist() == ["hotspot", "hotspot", "hotspot", "oncogenic_likely", "vus",
                                    "vus", "vus"]
    assert ann["hotspot_ref_mismatch"].tolist() == [False] * 6 + [True]
    assert ann.loc[0, "hotspot_count"] == 897


def test_inframe_indel_lists_hotspot_residues_in_its_range() -> None:
    """EGFR p.Glu746_Ala750del spans hotspot residues 747 and 750 (cancerhotspots v2 EGFR
    residues: 747, 750, ...); the single-residue table does not make it a hotspot."""
    t = table(variant(gene="EGFR", consequence="inframe_deletion", hgvsp="p.Glu746_Ala750del"))
    ann = annotate_variants(t)
    assert ann.loc[0, "hotspot_residues"] == [747, 750]
    assert ann.loc[0, "call"] == "vus"


# --- TMB -------------------------------------------------------------------------------------


def test_tmb_closed_form_and_threshold_boundary() -> None:
    """S1: 10 distinct PASS missense on a 1 Mb territory -> 10.0 mut/Mb = threshold -> high;
    S2: 9 -> 9.0 -> low. A duplicate row of S1 counts once; S1's synonymous and non-PASS rows
    are not counted."""
    rows = [variant(pos=1000 + i) for i in range(10)]
    rows += [variant(pos=1000), variant(pos=5, consequence="synonymous_variant", impact="LOW"),
             variant(pos=6, filter="germline")]
    rows += [variant(sample_id="S2", pos=2000 + i) for i in range(9)]
    params = VariantParams(territory_mb=1.0)
    tmb = tumour_mutational_burden(table(*rows), params=params)
    assert tmb.loc["S1", "n_mutations"] == 10
    assert tmb.loc["S2", "n_mutations"] == 9
    f = variant_findings(table(*rows), patients={"S1": "P1", "S2": "P2"}, params=params)
    t = f[f["kind"] == "tmb"].set_index("sample")
    assert t.loc["S1", "value"] == pytest.approx(10.0)
    assert t.loc["S1", "call"] == "high"
    assert t.loc["S2", "call"] == "low"
    assert t.loc["S1", "feature"] == "TMB"
    assert pd.isna(t.loc["S1", "gene"])


def test_tmb_default_territory_and_sequenced_sample_without_variants() -> None:
    """7 counted variants / 35 Mb = 0.2 mut/Mb; a sequenced sample with no rows gets TMB 0."""
    rows = [variant(pos=i) for i in range(7)]
    f = variant_findings(table(*rows), patients={"S1": "P1", "S9": "P9"}, sequenced=["S9"])
    t = f[f["kind"] == "tmb"].set_index("sample")
    assert t.loc["S1", "value"] == pytest.approx(7 / 35)
    assert t.loc["S9", "value"] == 0.0
    assert t.loc["S9", "patient"] == "P9"


def test_tumour_only_caveat_in_tmb_provenance() -> None:
    """Tumour-only samples carry the germline-inflation caveat (Parikh 2020); paired do not."""
    t = table(variant(), variant(sample_id="S2"))
    f = variant_findings(t, patients={"S1": "P1", "S2": "P2"},
                         tumour_only=pd.Series({"S1": True, "S2": False}))
    tmb = f[f["kind"] == "tmb"].set_index("sample")
    assert tmb.loc["S1", "provenance"]["caveat"] == TUMOUR_ONLY_CAVEAT
    assert "Parikh" in TUMOUR_ONLY_CAVEAT
    assert "caveat" not in tmb.loc["S2", "provenance"]


def test_missing_patient_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="no patient given for sample"):
        variant_findings(table(variant()), patients={})


def test_empty_table_gives_empty_findings() -> None:
    f = variant_findings(table(variant()).iloc[0:0], patients={"S1": "P1"})
    assert list(f.columns) == list(FINDING_COLUMNS)
    assert len(f) == 0


# --- on the readers' test files --------------------------------------------------------------


def test_findings_from_snpeff_vcf() -> None:
    """snpeff.vcf (DSRCT02_T): PIK3CA H1047R/H1047L and BRAF V600E are hotspots (VAF 20/75,
    5/75, 30/75); the PTEN frameshift is oncogenic_likely; TP53 R175H (panel_of_normals) is
    not reported but its row is not counted in TMB either: 4 / 35 Mb."""
    v = read_vcf(DATA / "snpeff.vcf").tables["variants"].assign(sample_id="DSRCT02_T")
    f = variant_findings(v, patients={"DSRCT02_T": "DSRCT02"})
    mut = f[f["kind"] == "mutation"].set_index("feature")
    assert mut["call"].to_dict() == {
        "PIK3CA p.His1047Arg": "hotspot", "PIK3CA p.His1047Leu": "hotspot",
        "BRAF p.Val600Glu": "hotspot", "PTEN p.Arg130fs": "oncogenic_likely",
    }
    assert mut.loc["BRAF p.Val600Glu", "value"] == pytest.approx(30 / 75)
    prov = mut.loc["BRAF p.Val600Glu", "provenance"]
    assert prov["hotspot"]["mutation_count"] == 897
    assert prov["role"] == "oncogene"
    assert prov["params"]["min_depth"] == 20
    tmb = f[f["kind"] == "tmb"].iloc[0]
    assert tmb["value"] == pytest.approx(4 / 35)
    assert set(f["layer"]) == {"variants"}


def test_findings_from_vep_vcf_and_maf() -> None:
    """vep_somatic.vcf: reported EGFR ex19del, CDKN2A R80* (hotspot), TP53 R273H (hotspot),
    ERBB2 YVMA dup; KRAS G12V/D are FILTER multiallelic -> not reported, not counted.
    The GDC MAF tumour A001 gives the same TP53/EGFR/ERBB2 calls from 3-letter HGVSp."""
    vcf = read_vcf(DATA / "vep_somatic.vcf").tables["variants"].assign(sample_id="T1")
    maf = read_maf(DATA / "gdc.maf", sample="TCGA-ZZ-A001-01A-11D-A00X-09")
    v = pd.concat([vcf, maf.tables["variants"].assign(sample_id="T2")], ignore_index=True)
    f = variant_findings(v, patients={"T1": "P1", "T2": "P2"})
    calls = {(r.sample, r.feature): r.call for r in f[f["kind"] == "mutation"].itertuples()}
    assert calls == {
        ("T1", "EGFR p.Glu746_Ala750del"): "vus",
        ("T1", "CDKN2A p.Arg80Ter"): "hotspot",
        ("T1", "TP53 p.Arg273His"): "hotspot",
        ("T1", "ERBB2 p.Tyr772_Ala775dup"): "vus",
        ("T2", "TP53 p.Arg273His"): "hotspot",
        ("T2", "EGFR p.Glu746_Ala750del"): "vus",
        ("T2", "ERBB2 p.Tyr772_Ala775dup"): "vus",
    }
    tmb = f[f["kind"] == "tmb"].set_index("sample")["value"]
    assert tmb.to_dict() == pytest.approx({"T1": 4 / 35, "T2": 3 / 35})


def test_default_consequences_are_the_nonsynonymous_set() -> None:
    assert VariantParams().consequences == NONSYNONYMOUS_CODING
    assert "synonymous_variant" not in NONSYNONYMOUS_CODING
    with pytest.raises(ValueError, match="territory_mb"):
        VariantParams(territory_mb=0)

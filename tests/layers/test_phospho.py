"""Tests of tumorboard.layers.phospho: catalogue, site mapping, sums, kinase and RTK scores.

Closed-form cases are computed by hand in the docstrings. The leave-one-out z-score of
DESIGN.md §1 is z = (x - median(others)) / SD(others); the reference values below use the sample
standard deviation (ddof=1), as tumorboard.layers.scoring does.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard import targets
from tumorboard.io.proteome import read_rppa
from tumorboard.layers import scoring
from tumorboard.layers.phospho import (
    PhosphoParams,
    annotate_sites,
    centre_sites,
    kinase_activity_scores,
    kinase_catalogue,
    parse_kinase_catalogue,
    phospho_findings,
    protein_phosphorylation_scores,
    rtk_activation_scores,
)
from tumorboard.model import FINDING_COLUMNS, FINDING_KINDS, TARGET_STATES

RPPA = Path(__file__).parents[1] / "data" / "proteome" / "tcga_sarc_rppa_subset.csv"
RPPA_ALL = Path(__file__).parents[1] / "data" / "proteome" / "tcga_sarc_rppa.csv"

REQUIRED_RTKS = ["ERBB2", "EGFR", "MET", "KDR", "PDGFRA", "PDGFRB", "KIT", "FGFR1", "FGFR2",
                 "FGFR3", "FGFR4", "ALK", "RET", "IGF1R", "AXL", "TYRO3", "DDR1", "DDR2", "EPHA2",
                 "NTRK1", "NTRK2", "NTRK3", "ROS1"]


def loo_z(values: list[float], i: int) -> float:
    """Reference leave-one-out z: (x_i - median of the others) / SD(others, ddof=1)."""
    others = [v for j, v in enumerate(values) if j != i and not math.isnan(v)]
    return (values[i] - float(np.median(others))) / float(np.std(others, ddof=1))


# --------------------------------------------------------------------------- catalogue


def test_catalogue_covers_required_kinases_with_cited_activation_sites():
    cat = kinase_catalogue()
    for gene in REQUIRED_RTKS:
        assert cat.kinases.at[gene, "family"] == "rtk", gene
        own = cat.own_sites[cat.own_sites["kinase"] == gene]
        assert (own["role"] == "activation_loop").any(), gene
        assert all(len(s) > 0 for s in own["sources"]), gene
    assert set(REQUIRED_RTKS) <= set(cat.rtks)
    for gene in ["SRC", "MAPK1", "MAPK3", "AKT1", "MTOR"]:
        assert gene in cat.kinases.index


@pytest.mark.parametrize(("kinase", "site", "role"), [
    ("ERBB2", "Y1248", "docking"), ("ERBB2", "Y1221", "autophosphorylation"),
    ("EGFR", "Y1092", "autophosphorylation"), ("EGFR", "Y1197", "autophosphorylation"),
    ("KDR", "Y1054", "activation_loop"), ("KDR", "Y1059", "activation_loop"),
    ("KDR", "Y1175", "docking"), ("MET", "Y1234", "activation_loop"),
    ("MET", "Y1349", "docking"), ("KIT", "Y823", "activation_loop"),
    ("IGF1R", "Y1165", "activation_loop"), ("TYRO3", "Y686", "activation_loop"),
    ("SRC", "Y419", "activation_loop"), ("SRC", "Y530", "inhibitory"),
])
def test_catalogue_sites_in_uniprot_numbering(kinase, site, role):
    own = kinase_catalogue().own_sites.set_index(["kinase", "site"])
    assert own.at[(kinase, site), "role"] == role
    expected_weight = -1.0 if role == "inhibitory" else 1.0
    assert own.at[(kinase, site), "weight"] == expected_weight


def test_catalogue_substrates_and_rppa_aliases():
    cat = kinase_catalogue()
    subs = set(map(tuple, cat.substrates[["kinase", "gene", "site"]].to_numpy()))
    assert ("KDR", "PLCG1", "Y783") in subs
    assert ("ERBB2", "SHC1", "Y427") in subs and ("EGFR", "SHC1", "Y427") in subs
    assert ("ERBB2", "PLCG1", "Y1253") in subs and ("ERBB2", "GAB1", "Y627") in subs
    aliases = cat.rppa_aliases.set_index(["antibody", "gene"])
    assert aliases.at[("EGFR_pY1068", "EGFR"), "sites"] == "Y1092"
    assert aliases.at[("EGFR_pY1173", "EGFR"), "sites"] == "Y1197"
    assert aliases.at[("HER2_pY1248", "ERBB2"), "sites"] == "Y1248"
    assert aliases.at[("MAPK_pT202_Y204", "MAPK1"), "sites"] == "T185_Y187"


@pytest.mark.parametrize(("change", "message"), [
    ({"role": "switch"}, "unknown role 'switch'"),
    ({"site": "1248"}, "expected e.g. 'Y1248'"),
    ({"sources": []}, "has no sources"),
    ({"sources": ["Wikipedia"]}, "unknown source 'Wikipedia'"),
])
def test_parse_catalogue_rejects_malformed_entries(change, message):
    site = {"site": "Y1248", "role": "docking", "sources": ["PSP"], **change}
    data = {"references": {"PSP": "PhosphoSitePlus"},
            "kinases": [{"gene": "ERBB2", "uniprot": "P04626", "family": "rtk",
                         "sites": [site]}]}
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_kinase_catalogue(data)


# --------------------------------------------------------------------------- site mapping


def test_annotate_sites_maps_rppa_antibodies_through_aliases():
    genes = pd.Series({
        "EGFR|EGFR_pY1068": "EGFR",
        "MAPK1 MAPK3|MAPK_pT202_Y204": "MAPK1",
        "YAP1|YAP_pS127": "YAP1",
        "ERBB2_Y1248": "ERBB2",
    })
    ann = annotate_sites(genes)
    egfr = ann[ann["feature"] == "EGFR|EGFR_pY1068"].iloc[0]
    assert (egfr["target_gene"], egfr["target_site"], egfr["numbering"]) == (
        "EGFR", "Y1092", "rppa_alias")
    assert egfr["label"] == "EGFR pY1092" and egfr["site"] == "Y1068"
    erk = ann[ann["feature"] == "MAPK1 MAPK3|MAPK_pT202_Y204"]
    assert set(zip(erk["target_gene"], erk["target_site"], strict=True)) == {
        ("MAPK3", "T202"), ("MAPK3", "Y204"), ("MAPK1", "T185"), ("MAPK1", "Y187")}
    yap = ann[ann["feature"] == "YAP1|YAP_pS127"].iloc[0]
    assert yap["numbering"] == "antibody" and pd.isna(yap["target_site"])
    ms = ann[ann["feature"] == "ERBB2_Y1248"].iloc[0]
    assert (ms["target_site"], ms["numbering"]) == ("Y1248", "uniprot")


def test_annotate_sites_rppa_numbering_for_plain_feature_ids():
    """An RPPA matrix exported as 'EGFR_Y1068' is antibody numbering: EGFR Y1092 in UniProt."""
    table = pd.DataFrame({"gene": ["EGFR"], "site": ["Y1068"]}, index=["EGFR_Y1068"])
    as_rppa = annotate_sites(table, site_numbering="rppa").iloc[0]
    assert (as_rppa["target_site"], as_rppa["numbering"]) == ("Y1092", "rppa_alias")
    as_ms = annotate_sites(table, site_numbering="uniprot").iloc[0]
    assert (as_ms["target_site"], as_ms["numbering"]) == ("Y1068", "uniprot")
    with pytest.raises(ValueError, match="site_numbering"):
        annotate_sites(table, site_numbering="legacy")


# --------------------------------------------------------------------------- sums


def test_centre_sites_subtracts_each_site_median():
    """a = (1, 2, 3, 10) -> median 2.5 -> (-1.5, -0.5, 0.5, 7.5); NaN stays NaN."""
    sites = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0], "b": [0.0, np.nan, 2.0, 4.0]},
                         index=["P1", "P2", "P3", "P4"])
    centred = centre_sites(sites)
    assert centred["a"].tolist() == [-1.5, -0.5, 0.5, 7.5]
    assert np.isnan(centred.at["P2", "b"])
    assert centred["b"].dropna().tolist() == [-2.0, 0.0, 2.0]


def test_protein_phosphorylation_sums_over_measured_sites():
    """Two ERBB2 sites, one KDR site, six patients.

    ERBB2_Y1248 = (1, 2, 3, 4, 5, 6)       median 3.5 -> centred (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5)
    ERBB2_Y877  = (0, NaN, 0, 0, 1, 3)     median 0   -> centred (0, NaN, 0, 0, 1, 3)
    ERBB2 sums  = (-2.5, -1.5, -0.5, 0.5, 2.5, 5.5), sites summed (2, 1, 2, 2, 2, 2)
    KDR_Y1175 has no value in P6: its sum there is missing (not 0) with 0 sites.
    z of P6 = (5.5 - median(-2.5, -1.5, -0.5, 0.5, 2.5)) / SD(same) = (5.5 + 0.5) / 1.9235 = 3.119
    """
    samples = ["P1", "P2", "P3", "P4", "P5", "P6"]
    sites = pd.DataFrame({
        "ERBB2_Y1248": [1, 2, 3, 4, 5, 6],
        "ERBB2_Y877": [0, np.nan, 0, 0, 1, 3],
        "KDR_Y1175": [1, 1, 2, 2, 3, np.nan],
    }, index=samples, dtype="float64")
    genes = pd.Series({"ERBB2_Y1248": "ERBB2", "ERBB2_Y877": "ERBB2", "KDR_Y1175": "KDR"})
    scores = protein_phosphorylation_scores(sites, genes)
    assert scores.sums["ERBB2"].tolist() == pytest.approx([-2.5, -1.5, -0.5, 0.5, 2.5, 5.5])
    assert scores.n_sites["ERBB2"].tolist() == [2, 1, 2, 2, 2, 2]
    assert np.isnan(scores.sums.at["P6", "KDR"]) and scores.n_sites.at["P6", "KDR"] == 0
    expected = loo_z([-2.5, -1.5, -0.5, 0.5, 2.5, 5.5], 5)
    assert expected == pytest.approx(3.1192, abs=1e-4)
    assert scores.z.at["P6", "ERBB2"] == pytest.approx(expected)
    assert scores.reference_size.at["P6", "ERBB2"] == 5


def test_kinase_activity_from_substrates_and_own_sites():
    """KDR: substrate PLCG1 Y783; own sites Y1054 + Y1059. SRC: Y419 (+1) and Y530 (-1).

    PLCG1_Y783 = (0, 1, 2, 3, 4, 8) -> centred by median 2.5: (-2.5, -1.5, -0.5, 0.5, 1.5, 5.5)
        -> KDR substrate sum; ERBB2/EGFR have no measured substrate and no column.
    KDR_Y1054 = (1, 1, 1, 1, 1, 3), KDR_Y1059 = (2, 2, 2, 2, 2, 5): medians 1 and 2;
        own-site sum = (0, 0, 0, 0, 0, 2 + 3 = 5).
    SRC_Y419 = (1, 2, 3, 4, 5, 6) centred (-2.5 .. 2.5); SRC_Y530 = (0, 0, 0, 0, 0, 6) centred
        (0, .., 6) with weight -1: SRC activation sum = (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5 - 6).
    """
    samples = ["P1", "P2", "P3", "P4", "P5", "P6"]
    sites = pd.DataFrame({
        "PLCG1_Y783": [0, 1, 2, 3, 4, 8],
        "KDR_Y1054": [1, 1, 1, 1, 1, 3],
        "KDR_Y1059": [2, 2, 2, 2, 2, 5],
        "SRC_Y419": [1, 2, 3, 4, 5, 6],
        "SRC_Y530": [0, 0, 0, 0, 0, 6],
    }, index=samples, dtype="float64")
    genes = pd.Series({c: c.split("_")[0] for c in sites.columns})
    act = kinase_activity_scores(sites, genes)
    assert act.substrates.sums["KDR"].tolist() == pytest.approx([-2.5, -1.5, -0.5, 0.5, 1.5, 5.5])
    # PLCG1 Y783 is a substrate site of several RTKs in the catalogue (KDR, EGFR, FGFRs, ...).
    assert "EGFR" in act.substrates.sums.columns
    assert "ERBB2" not in act.substrates.sums.columns  # ERBB2 lists PLCG1 Y1253, not Y783
    assert act.activation.sums["KDR"].tolist() == pytest.approx([0, 0, 0, 0, 0, 5])
    assert act.activation.n_sites.at["P6", "KDR"] == 2
    assert act.activation.sums["SRC"].tolist() == pytest.approx([-2.5, -1.5, -0.5, 0.5, 1.5, -3.5])
    assert act.substrates.z.at["P6", "KDR"] == pytest.approx(
        loo_z([-2.5, -1.5, -0.5, 0.5, 1.5, 5.5], 5))


def test_rppa_egfr_y1068_counts_for_egfr_activation():
    """'EGFR_Y1068' from an RPPA export is EGFR Y1092 (autophosphorylation site) -> EGFR activation;
    read as UniProt numbering, EGFR Y1068 is not a catalogue site and EGFR has no score."""
    sites = pd.DataFrame({"EGFR_Y1068": [0.0, 1.0, 2.0, 3.0, 4.0, 9.0]},
                         index=[f"P{i}" for i in range(1, 7)])
    genes = pd.Series({"EGFR_Y1068": "EGFR"})
    rppa = kinase_activity_scores(sites, genes, site_numbering="rppa")
    assert rppa.activation.sums["EGFR"].tolist() == pytest.approx([-2.5, -1.5, -0.5, 0.5, 1.5,
                                                                   6.5])
    ms = kinase_activity_scores(sites, genes, site_numbering="uniprot")
    assert "EGFR" not in ms.activation.sums.columns
    # The Firehose id form needs no option.
    ids = sites.rename(columns={"EGFR_Y1068": "EGFR|EGFR_pY1068"})
    by_id = kinase_activity_scores(ids, pd.Series({"EGFR|EGFR_pY1068": "EGFR"}))
    assert by_id.activation.sums["EGFR"].tolist() == rppa.activation.sums["EGFR"].tolist()


# --------------------------------------------------------------------------- RTK score


def _one(value: float, gene: str = "ERBB2") -> pd.DataFrame:
    return pd.DataFrame({gene: [value]}, index=["P1"])


def test_rtk_score_weighted_sum_of_weighted_maxima():
    """expression = max(RNA 1.0, protein 3.0) = 3.0; phosphorylation = max(0.5, 2.0) = 2.0;
    kinase_activity = 1.0; weights (2, 1, 1): score = (2*3 + 2 + 1) / 4 = 2.25."""
    params = PhosphoParams(weight_expression=2.0)
    out = rtk_activation_scores(_one(1.0), _one(3.0), _one(0.5), _one(1.0),
                                activation_z=_one(2.0), params=params, rtks=["ERBB2"])
    row = out.iloc[0]
    assert (row["expression"], row["phosphorylation"], row["kinase_activity"]) == (3.0, 2.0, 1.0)
    assert row["score"] == pytest.approx(2.25)
    assert row["subscores_present"] == "expression,phosphorylation,kinase_activity"
    assert row["weight_present"] == 4.0


def test_rtk_score_renormalises_over_present_subscores():
    """kinase_activity missing, no activation sites: expression 3.0, phosphorylation 1.0,
    weights 1/1/1 -> (3 + 1) / 2 = 2.0. Nothing present -> missing score."""
    out = rtk_activation_scores(_one(3.0), None, _one(1.0), None, rtks=["ERBB2"])
    row = out.iloc[0]
    assert row["score"] == pytest.approx(2.0)
    assert np.isnan(row["kinase_activity"])
    assert row["subscores_present"] == "expression,phosphorylation"
    assert row["weight_present"] == 2.0
    empty = rtk_activation_scores(_one(3.0), None, None, None, rtks=["KDR"])
    assert np.isnan(empty.iloc[0]["score"]) and empty.iloc[0]["subscores_present"] == ""


def test_rtk_member_z_capped_at_z_cap_and_member_weights_apply():
    """RNA z 10 is capped at 4 (TOPAS); member weight 0.5 on protein z 6 (capped 4) gives 2;
    expression = max(4, 2) = 4. At the cap boundary z = 4 stays 4."""
    params = PhosphoParams(member_protein=0.5)
    out = rtk_activation_scores(_one(10.0), _one(6.0), None, None, params=params, rtks=["ERBB2"])
    assert out.iloc[0]["expression"] == 4.0 and out.iloc[0]["score"] == 4.0
    at_cap = rtk_activation_scores(_one(4.0), None, None, None, rtks=["ERBB2"])
    assert at_cap.iloc[0]["expression"] == 4.0
    low = rtk_activation_scores(_one(-7.0), None, None, None, rtks=["ERBB2"])
    assert low.iloc[0]["expression"] == -4.0


# --------------------------------------------------------------------------- findings

SAMPLES = [f"P{i:02d}" for i in range(1, 13)]


def _cohort() -> tuple[pd.DataFrame, pd.Series]:
    """12 patients (11 others >= MIN_REFERENCE = 10).

    ERBB2_Y1248 = 0, 1, ..., 10 for P01..P11 and 30 for P12; P03 is missing (NaN) instead of 2.
    PLCG1_Y1253 (an ERBB2 substrate) = P12 high as well. KDR_Y1175 measured in 11 patients only
    (P01 missing: the others of a measured patient are 10). FOO_S1 (not in the catalogue) is 0
    except 50 in P05.
    """
    y1248 = [float(v) for v in range(11)] + [30.0]
    y1248[2] = np.nan
    sites = pd.DataFrame({
        "ERBB2_Y1248": y1248,
        "PLCG1_Y1253": [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 9],
        "KDR_Y1175": [np.nan, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        "FOO_S1": [0, 1, 0, 1, 50, 1, 0, 1, 0, 1, 0, 1],
    }, index=SAMPLES, dtype="float64")
    genes = pd.Series({c: c.split("_")[0] for c in sites.columns})
    return sites, genes


def _findings(params: PhosphoParams | None = None, **kwargs) -> pd.DataFrame:
    sites, genes = _cohort()
    params = params if params is not None else PhosphoParams()
    entities = pd.Series(["DSRCT"] * 6 + ["SYNS"] * 6, index=SAMPLES)
    patients = pd.Series([s.replace("P", "PAT") for s in SAMPLES], index=SAMPLES)
    return phospho_findings(sites, site_genes=genes, entities=entities, patients=patients,
                            params=params, **kwargs)


def _row(f: pd.DataFrame, sample: str, kind: str, gene: str) -> pd.Series:
    rows = f[(f["sample"] == sample) & (f["kind"] == kind) & (f["gene"] == gene)]
    assert len(rows) == 1, (sample, kind, gene, len(rows))
    return rows.iloc[0]


def test_findings_table_contract_and_kinds():
    f = _findings()
    assert list(f.columns) == list(FINDING_COLUMNS)
    assert set(f["layer"]) == {"phosphoproteome"}
    assert set(f["kind"]) == set(FINDING_KINDS["phosphoproteome"])
    assert set(f["patient"]) == {s.replace("P", "PAT") for s in SAMPLES}
    prov = _row(f, "P12", "activation", "ERBB2")["provenance"]
    assert prov["n_sites"] == 1 and prov["sites_in_cohort"] == ["ERBB2 pY1248"]
    assert prov["thresholds"]["z_high"] == 2.0 and prov["cohort_size"] == 12


def test_activation_call_from_own_sites():
    """P12: ERBB2 Y1248 = 30; the 11 values present (P03 missing) 0,1,3,...,10,30 have median 6
    -> value 24.
    z = (30 - median(0,1,3,...,10)) / SD(same) = (30 - 5.5) / 3.5277 = 6.945; percentile
    100 * (10 + 0.5) / 11 = 95.45 -> activated. P03 has no ERBB2 site -> not_measured."""
    f = _findings()
    p12 = _row(f, "P12", "activation", "ERBB2")
    assert p12["feature"] == "ERBB2 activation" and p12["call"] == "activated"
    assert p12["value"] == pytest.approx(24.0)
    others = [0.0, 1, 3, 4, 5, 6, 7, 8, 9, 10]
    assert p12["z_score"] == pytest.approx((30 - 5.5) / np.std(others, ddof=1))
    assert p12["percentile_cohort"] == pytest.approx(100 * 10.5 / 11)
    assert p12["reference_size"] == 10
    assert _row(f, "P03", "activation", "ERBB2")["call"] == "not_measured"
    assert _row(f, "P01", "activation", "ERBB2")["call"] == "not_activated"
    # ERBB2 pY1248 as a site finding, UniProt label
    site = _row(f, "P12", "phosphosite", "ERBB2")
    assert site["feature"] == "ERBB2 pY1248" and site["call"] == "high"
    assert _row(f, "P03", "phosphosite", "ERBB2")["call"] == "not_measured"


def test_activation_thresholds_are_inclusive_at_the_boundary():
    f = _findings()
    z = _row(f, "P12", "activation", "ERBB2")["z_score"]
    pct = _row(f, "P12", "activation", "ERBB2")["percentile_cohort"]
    at_z = _findings(PhosphoParams(z_high=z))
    assert _row(at_z, "P12", "activation", "ERBB2")["call"] == "activated"
    above_z = _findings(PhosphoParams(z_high=float(np.nextafter(z, np.inf))))
    assert _row(above_z, "P12", "activation", "ERBB2")["call"] == "not_activated"
    at_pct = _findings(PhosphoParams(pct_high=pct))
    assert _row(at_pct, "P12", "activation", "ERBB2")["call"] == "activated"
    above_pct = _findings(PhosphoParams(pct_high=float(np.nextafter(pct, np.inf))))
    assert _row(above_pct, "P12", "activation", "ERBB2")["call"] == "not_activated"


def test_min_reference_boundary_gives_insufficient_reference():
    """KDR Y1175 is measured in 11 patients: a measured patient has 10 others."""
    f = _findings(PhosphoParams(min_reference=10))
    row = _row(f, "P12", "activation", "KDR")
    assert row["reference_size"] == 10 and row["call"] != "insufficient_reference"
    g = _findings(PhosphoParams(min_reference=11))
    assert _row(g, "P12", "activation", "KDR")["call"] == "insufficient_reference"
    assert _row(g, "P12", "phosphosite", "KDR")["call"] == "insufficient_reference"


def test_kinase_activity_and_site_outliers_outside_catalogue():
    """PLCG1 Y1253 (ERBB2 substrate) = 9 in P12 against 0/1 in the others -> ERBB2 substrates
    high. FOO S1 is reported only where it is an outlier (P05), as 'FOO pS1'."""
    f = _findings()
    assert _row(f, "P12", "kinase_activity", "ERBB2")["call"] == "high"
    assert _row(f, "P12", "kinase_activity", "ERBB2")["feature"] == "ERBB2 substrates"
    foo = f[f["gene"] == "FOO"]
    assert foo["sample"].tolist() == ["P05"] and foo["call"].tolist() == ["high"]
    assert foo["feature"].tolist() == ["FOO pS1"]
    no_outliers = _findings(PhosphoParams(report_site_outliers=False))
    assert (no_outliers["gene"] == "FOO").sum() == 0
    # Kinases without any catalogue site in the cohort get no rows.
    assert "ALK" not in set(f.loc[f["kind"] == "activation", "gene"])


def test_rtk_activation_findings_need_phospho_evidence_for_a_call():
    """MET has only a protein z: its RTK score is the expression sub-score, its call
    'not_measured'. ERBB2 in P12: phosphorylation and kinase_activity present."""
    protein_z = pd.DataFrame({"MET": np.linspace(-1, 3, 12), "ERBB2": 0.0}, index=SAMPLES)
    f = _findings(protein_z=protein_z)
    met = _row(f, "P12", "rtk_activation", "MET")
    assert met["value"] == pytest.approx(3.0) and met["call"] == "not_measured"
    assert met["provenance"]["subscores_present"] == ["expression"]
    erbb2 = _row(f, "P12", "rtk_activation", "ERBB2")
    sub = erbb2["provenance"]["subscores"]
    assert sub["expression"] == 0.0
    assert sub["phosphorylation"] == pytest.approx(4.0)  # capped activation / protein z
    expected = (sub["expression"] + sub["phosphorylation"] + sub["kinase_activity"]) / 3
    assert erbb2["value"] == pytest.approx(expected)
    assert erbb2["feature"] == "ERBB2 RTK activation"


def test_samples_restrict_rows_not_the_reference():
    full = _findings()
    one = _findings(samples=["P12"])
    assert set(one["sample"]) == {"P12"}
    a = _row(one, "P12", "activation", "ERBB2")
    b = _row(full, "P12", "activation", "ERBB2")
    assert a["z_score"] == b["z_score"] and a["percentile_entity"] == b["percentile_entity"]
    with pytest.raises(ValueError, match="not in the phospho matrix: P99"):
        _findings(samples=["P99"])


# --------------------------------------------------------------------------- real data


def _rppa_matrices(path: Path = RPPA) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame,
                                                pd.Series]:
    """The TCGA sarcomas of an RPPA matrix, read sample by sample with read_rppa."""
    samples = path.read_text().splitlines()[0].split(",")[1:]
    prot, phos = [], []
    for sample in samples:
        data = read_rppa(path, sample=sample)
        prot.append(data.tables["proteome"].assign(sample_id=sample))
        phos.append(data.tables["phosphoproteome"].assign(sample_id=sample))
    prot_long, phos_long = pd.concat(prot), pd.concat(phos)
    proteome = prot_long.pivot(index="sample_id", columns="feature_id", values="log2_abundance")
    sites = phos_long.pivot(index="sample_id", columns="feature_id", values="log2_abundance")
    annotation = phos_long.drop_duplicates("feature_id").set_index("feature_id")[["gene", "site"]]
    protein_genes = prot_long.drop_duplicates("feature_id").set_index("feature_id")["gene"]
    return proteome, sites, annotation, protein_genes


def test_tcga_sarcoma_rppa_her2_expression_activation_and_state():
    """HER2 (total) and HER2_pY1248 of 12 TCGA sarcomas: protein and activation scores and a
    target state for every tumour.

    Hand check, TCGA-DX-A1KX, HER2_pY1248 = 1.0886 (source CSV). The other 11 values sorted:
    -0.3586 -0.3546 -0.2583 -0.1237 -0.1139 -0.0045 0.1886 0.2511 0.5184 0.5918 0.6882;
    median -0.0045, SD (ddof=1) 0.380150; z = (1.0886 + 0.0045) / 0.380150 = 2.8754. Percentile
    100 * 11.5 / 12 = 95.83: ERBB2 activated (z >= 2 and percentile >= 90). Activation value =
    1.0886 - median of all 12 (0.09205) = 0.99655. HER2 total there: z = (0.0809 + 0.2053) /
    0.596864 = 0.4795, not an outlier.
    """
    proteome, sites, annotation, protein_genes = _rppa_matrices()
    assert proteome.shape == (12, 137) and sites.shape == (12, 45)
    entities = pd.Series("SARC", index=sites.index)
    patients = pd.Series(sites.index.str.replace(".", "-", regex=False), index=sites.index)
    protein_z, protein_ref = scoring.leave_one_out_z(proteome)
    protein_pct = scoring.percentile_rank(proteome)
    gene_z = protein_z.rename(columns=protein_genes).T.groupby(level=0).first().T
    f = phospho_findings(sites, site_genes=annotation, entities=entities, patients=patients,
                         protein_z=gene_z)

    act = f[(f["kind"] == "activation") & (f["gene"] == "ERBB2")].set_index("sample")
    assert len(act) == 12 and act["z_score"].notna().all()
    assert set(act["call"]) <= {"activated", "not_activated"}
    kx = act.loc["TCGA.DX.A1KX"]
    assert kx["z_score"] == pytest.approx(2.8754469, abs=1e-6)
    assert kx["value"] == pytest.approx(0.99655)
    assert kx["percentile_cohort"] == pytest.approx(100 * 11.5 / 12)
    assert kx["call"] == "activated" and kx["reference_size"] == 11
    assert act["call"].value_counts().to_dict() == {"not_activated": 11, "activated": 1}
    site = f[(f["kind"] == "phosphosite") & (f["feature"] == "ERBB2 pY1248")]
    assert len(site) == 12
    assert site.iloc[0]["provenance"]["antibody"] == "HER2_pY1248"
    assert protein_z.at["TCGA.DX.A1KX", "ERBB2|HER2"] == pytest.approx(0.4795066, abs=1e-6)
    # EGFR_pY1068 and EGFR_pY1173 count for EGFR activation as Y1092 and Y1197.
    egfr = f[(f["kind"] == "activation") & (f["gene"] == "EGFR")]
    assert len(egfr) == 12
    assert sorted(egfr.iloc[0]["provenance"]["sites_in_cohort"]) == ["EGFR pY1092",
                                                                     "EGFR pY1197"]
    rtk = f[(f["kind"] == "rtk_activation") & (f["gene"] == "ERBB2")]
    assert len(rtk) == 12 and rtk["value"].notna().all()

    # A target state for all 12: the proteome evidence (HER2 total) plus these findings.
    calls = scoring.call_outliers(protein_z["ERBB2|HER2"], protein_pct["ERBB2|HER2"],
                                  protein_ref["ERBB2|HER2"], z_high=2, pct_high=90, z_low=-2,
                                  pct_low=10)
    protein_findings = pd.DataFrame({
        "patient": patients.to_numpy(), "sample": sites.index, "layer": "proteome",
        "gene": "ERBB2", "feature": "ERBB2|HER2", "kind": "protein",
        "value": proteome["ERBB2|HER2"].to_numpy(), "z_score": protein_z["ERBB2|HER2"].to_numpy(),
        "call": calls.to_numpy(),
    })
    both = pd.concat([protein_findings, f[f["gene"] == "ERBB2"]], ignore_index=True)
    evidence = targets.target_evidence(both, kinases=set(kinase_catalogue().kinases.index))
    evidence = evidence[evidence["gene"] == "ERBB2"].set_index("sample")
    assert len(evidence) == 12
    assert set(evidence["state"]) <= set(TARGET_STATES) - {"unknown"}
    assert set(evidence["activation_call"]) <= {"activated", "not_activated"}
    assert set(evidence["activation_source"]) <= set(FINDING_KINDS["phosphoproteome"])
    assert evidence["protein_z"].notna().all()


def _protein_findings(proteome: pd.DataFrame, patients: pd.Series, feature: str,
                      gene: str) -> pd.DataFrame:
    """Proteome findings of one RPPA total-protein antibody, as layers.proteome calls them."""
    z, ref = scoring.leave_one_out_z(proteome[[feature]])
    pct = scoring.percentile_rank(proteome[[feature]])
    calls = scoring.call_outliers(z[feature], pct[feature], ref[feature], z_high=2,
                                  pct_high=90, z_low=-2, pct_low=10)
    return pd.DataFrame({
        "patient": patients.to_numpy(), "sample": proteome.index, "layer": "proteome",
        "gene": gene, "feature": feature, "kind": "protein",
        "value": proteome[feature].to_numpy(), "z_score": z[feature].to_numpy(),
        "call": calls.to_numpy(),
    })


def test_whole_tcga_sarcoma_rppa_table_gives_her2_and_egfr_states_for_all_223_tumours():
    """All 223 TCGA sarcomas (real data, 182 antibodies): HER2 / HER2_pY1248 and EGFR /
    EGFR_pY1068 give protein and activation scores and a target state for every tumour.

    Hand checks recompute leave-one-out z-scores independently (:func:`loo_z`: numpy median
    and SD, ddof=1, of the 222 others) for three tumours on the raw values of the CSV, for the
    HER2 total antibody and the HER2_pY1248 site (before centring: the median of the others
    moves with x but the z of a single-site kinase is invariant to the centring constant).
    """
    proteome, sites, annotation, protein_genes = _rppa_matrices(RPPA_ALL)
    assert proteome.shape == (223, 137) and sites.shape == (223, 45)
    patients = pd.Series(sites.index.str.replace(".", "-", regex=False), index=sites.index)
    entities = pd.Series("SARC", index=sites.index)
    protein_z, _ = scoring.leave_one_out_z(proteome)
    her2 = proteome["ERBB2|HER2"].tolist()
    for i in (0, 100, 222):
        assert protein_z["ERBB2|HER2"].iloc[i] == pytest.approx(loo_z(her2, i), abs=1e-9)
    gene_z = protein_z.rename(columns=protein_genes).T.groupby(level=0).first().T
    f = phospho_findings(sites, site_genes=annotation, entities=entities, patients=patients,
                         protein_z=gene_z)
    site = f[(f["kind"] == "phosphosite") & (f["feature"] == "ERBB2 pY1248")].set_index("sample")
    raw = sites["ERBB2|HER2_pY1248"].tolist()
    for i in (0, 100, 222):
        assert site["z_score"].iloc[i] == pytest.approx(loo_z(raw, i), abs=1e-9)
    act = f[(f["kind"] == "activation") & (f["gene"] == "ERBB2")].set_index("sample")
    assert act["z_score"].tolist() == pytest.approx(site["z_score"].tolist())

    both = pd.concat([_protein_findings(proteome, patients, "ERBB2|HER2", "ERBB2"),
                      _protein_findings(proteome, patients, "EGFR|EGFR", "EGFR"),
                      f[f["gene"].isin(["ERBB2", "EGFR"])]], ignore_index=True)
    evidence = targets.target_evidence(both, kinases=set(kinase_catalogue().kinases.index))
    for gene in ("ERBB2", "EGFR"):
        e = evidence[evidence["gene"] == gene]
        assert len(e) == 223 and e["sample"].is_unique, gene
        assert e["protein_z"].notna().all() and e["activation_score"].notna().all(), gene
        assert set(e["state"]) <= set(TARGET_STATES) - {"unknown"}, gene
        assert set(e["activation_call"]) <= {"activated", "not_activated"}, gene
    # Activation calls need z >= 2 and the 90th percentile: a minority of sarcomas. The
    # counts are recorded in docs/validation.md.
    states = evidence.groupby("gene")["state"].value_counts().unstack(fill_value=0)
    assert states.loc["ERBB2"].to_dict() == {"activated": 10, "expressed_not_activated": 8,
                                             "not_expressed": 205}
    assert states.loc["EGFR"].to_dict() == {"activated": 6, "expressed_not_activated": 12,
                                            "not_expressed": 205}


def test_batch_offsets_are_removed_before_summing():
    """Batch B = batch A + 10 on every site. Without batches the ERBB2 sums of B exceed those of A
    by 2 sites x 10 = 20 minus the centring; with batches (proteome.centre_by_batch: per-sample
    then per-batch median centring) matching patients of A and B get equal sums."""
    a = np.array([0.0, 1, 2, 3, 4, 5])
    sites = pd.DataFrame({
        "ERBB2_Y1248": np.r_[a, a + 10],
        "ERBB2_Y877": np.r_[2 * a, 2 * a + 10],
        "KDR_Y1175": np.r_[a[::-1], a[::-1] + 10],
    }, index=SAMPLES)
    genes = pd.Series({c: c.split("_")[0] for c in sites.columns})
    batches = pd.Series(["A"] * 6 + ["B"] * 6, index=SAMPLES)
    plain = protein_phosphorylation_scores(sites, genes)
    assert plain.sums.at["P07", "ERBB2"] - plain.sums.at["P01", "ERBB2"] == pytest.approx(20.0)
    centred = protein_phosphorylation_scores(sites, genes, batches=batches)
    assert centred.sums["ERBB2"].iloc[:6].to_numpy() == pytest.approx(
        centred.sums["ERBB2"].iloc[6:].to_numpy())
    f = phospho_findings(sites, site_genes=genes, entities=None, batches=batches,
                         patients=pd.Series(SAMPLES, index=SAMPLES))
    act = f[(f["kind"] == "activation") & (f["gene"] == "ERBB2")].set_index("sample")["value"]
    assert act["P01"] == pytest.approx(act["P07"])


def test_low_thresholds_are_inclusive_at_the_boundary():
    """KDR Y1175 in P02 is the lowest value (1 against 2..11): called low exactly at its own
    z and percentile, neutral just beyond either."""
    f = _findings()
    row = _row(f, "P02", "phosphosite", "KDR")
    z, pct = row["z_score"], row["percentile_cohort"]
    assert z == pytest.approx((1 - 6.5) / np.std(np.arange(2.0, 12.0), ddof=1))
    at = _findings(PhosphoParams(z_low=z, pct_low=pct))
    assert _row(at, "P02", "phosphosite", "KDR")["call"] == "low"
    below_z = _findings(PhosphoParams(z_low=float(np.nextafter(z, -np.inf)), pct_low=pct))
    assert _row(below_z, "P02", "phosphosite", "KDR")["call"] == "neutral"
    below_pct = _findings(PhosphoParams(z_low=z, pct_low=float(np.nextafter(pct, -np.inf))))
    assert _row(below_pct, "P02", "phosphosite", "KDR")["call"] == "neutral"


def test_annotation_from_the_store_table_layout():
    """The store's long phosphoproteome table (one row per sample and site) is accepted."""
    table = pd.DataFrame({
        "sample_id": ["S1", "S2", "S1"],
        "feature_id": ["ERBB2|HER2_pY1248", "ERBB2|HER2_pY1248", "SRC|Src_pY416"],
        "gene": ["ERBB2", "ERBB2", "SRC"],
        "site": ["Y1248", "Y1248", "Y416"],
    })
    ann = annotate_sites(table).set_index("feature")
    assert len(ann) == 2
    assert (ann.at["SRC|Src_pY416", "target_site"], ann.at["SRC|Src_pY416", "label"]) == (
        "Y419", "SRC pY419")

"""Tests of tumorboard.recommend: evidence levels, matching, ranking, board decisions.

The expected levels follow the NCT/DKTK MASTER table (Leichsenring et al., Int J Cancer 2019,
doi:10.1002/ijc.32358), restated in tumorboard.knowledge.schema.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tumorboard.knowledge.schema import Condition, Evidence, Rule
from tumorboard.model import findings_frame
from tumorboard.recommend import (
    best_level,
    evidence_level,
    match_condition,
    mutation_matches,
    recommend,
)
from tumorboard.reference import lineage

DSRCT = lineage("DSRCT")  # ['DSRCT', 'SOFT_TISSUE', 'TISSUE']
GIST = lineage("GIST")


def ev(type_: str, entities: list[str], **kw) -> Evidence:
    return Evidence(type=type_, entities=entities, citation="PMID:12345678", **kw)


@pytest.mark.parametrize(("type_", "entities", "patient", "expected"), [
    ("prospective_trial", ["DSRCT"], DSRCT, "m1A"),
    ("prospective_trial", ["SOFT_TISSUE"], DSRCT, "m1A"),  # ancestor covers the entity
    ("retrospective_study", ["DSRCT"], DSRCT, "m1B"),
    ("case_report", ["DSRCT"], DSRCT, "m1C"),
    ("prospective_trial", ["BRCA"], DSRCT, "m2A"),
    ("retrospective_study", ["LMS"], DSRCT, "m2B"),  # a sibling is another entity
    ("case_report", ["GIST"], DSRCT, "m2C"),
    ("prospective_trial", ["any_solid_tumour"], DSRCT, "m2A"),
    ("preclinical", ["DSRCT"], DSRCT, "m3"),
    ("rationale", ["any_solid_tumour"], DSRCT, "m4"),
    ("approval", ["GIST"], GIST, "m1A Z"),
    ("approval", ["GIST"], DSRCT, "m2A"),  # approved elsewhere: off-label, no Z
    ("approval", ["any_solid_tumour"], DSRCT, "m2A Z"),  # tumour-agnostic label covers it
    ("guideline", ["SOFT_TISSUE"], GIST, "m1A"),
])
def test_evidence_level_table(type_, entities, patient, expected) -> None:
    assert str(evidence_level(ev(type_, entities), patient)) == expected


def test_modifiers_in_situ_in_vitro_resistance() -> None:
    assert str(evidence_level(ev("case_report", ["DSRCT"], in_situ=True), DSRCT)) == "m1C is"
    assert str(evidence_level(ev("preclinical", ["DSRCT"], in_vitro=True), DSRCT)) == "m3 iv"
    assert str(evidence_level(ev("prospective_trial", ["GIST"], direction="resistance"),
                              GIST)) == "m1A R"


def test_best_level_keeps_the_approval_modifier() -> None:
    """A sarcoma case report (m1C) and a tumour-agnostic approval (m2A Z): m1C is stronger
    in tier (same entity), and the drug is approved for the patient: m1C Z."""
    level, item = best_level([ev("approval", ["any_solid_tumour"]),
                              ev("case_report", ["DSRCT"])], DSRCT)
    assert str(level) == "m1C Z" and item.type == "case_report"


@pytest.mark.parametrize(("pattern", "feature", "call", "gene", "ok"), [
    ("p.V600E", "BRAF p.Val600Glu", "hotspot", "BRAF", True),
    ("p.Val600Glu", "BRAF p.Val600Glu", "hotspot", "BRAF", True),
    ("p.V600E", "BRAF p.Val600Lys", "hotspot", "BRAF", False),
    ("p.V600", "BRAF p.Val600Lys", "hotspot", "BRAF", True),
    ("exon 11", "KIT p.Trp557_Lys558del", "hotspot", "KIT", True),
    ("exon 11", "KIT p.Asp816Val", "hotspot", "KIT", False),
    ("exon 17", "KIT p.Asp816Val", "hotspot", "KIT", True),
    ("p.550_592", "KIT p.Val560Asp", "vus", "KIT", True),
    ("hotspot", "TP53 p.Arg273His", "hotspot", "TP53", True),
    ("oncogenic", "NF1 p.Arg1362Ter", "oncogenic_likely", "NF1", True),
    ("oncogenic", "NF1 p.Ala100Val", "vus", "NF1", False),
    ("any", "NF1 p.Ala100Val", "vus", "NF1", True),
])
def test_mutation_patterns(pattern, feature, call, gene, ok) -> None:
    assert mutation_matches(pattern, feature, call, {}, gene=gene) is ok


# --------------------------------------------------------------------------- engine

FINDINGS = findings_frame(pd.DataFrame([
    {"patient": "P1", "sample": "P1-T", "layer": "fusions", "gene": "EWSR1",
     "feature": "EWSR1::WT1", "kind": "fusion", "call": "entity_defining"},
    {"patient": "P1", "sample": "P1-T", "layer": "copy_number", "gene": "ERBB2",
     "feature": "ERBB2 amplification", "kind": "amplification", "value": 2.1,
     "call": "amplification"},
    {"patient": "P1", "sample": "P1-T", "layer": "variants", "gene": None, "feature": "TMB",
     "kind": "tmb", "value": 1.2, "call": "low"},
]))
TARGETS = [
    {"sample": "P1-T", "gene": "ERBB2", "state": "expressed_not_activated", "rna_tpm": 80.0,
     "rna_z": 1.9, "rna_percentile": 93.0, "protein_z": 1.5, "activation_call": "not_activated",
     "activation_score": -0.3, "activation_source": "activation"},
    {"sample": "P1-T", "gene": "CLDN6", "state": "expressed_activation_unknown",
     "rna_tpm": 40.0, "rna_z": 2.5, "rna_percentile": 97.0, "activation_call": "not_applicable"},
    {"sample": "P1-T", "gene": "KDR", "state": "not_expressed", "rna_tpm": 1.0},
]


def rule(rid: str, conditions: list[dict], agents: list[str], drug_class: str, basket: str,
         evidence: list[dict]) -> Rule:
    return Rule(id=rid, title=rid, conditions=conditions,
                therapy={"agents": agents, "drug_class": drug_class}, basket=basket,
                evidence=[{"citation": "PMID:12345678", **e} for e in evidence])


RULES = [
    rule("erbb2-amp-lapatinib", [{"kind": "amplification", "gene": "ERBB2"}], ["lapatinib"],
         "kinase_inhibitor", "tyrosine_kinases",
         [{"type": "prospective_trial", "entities": ["BREAST"]}]),
    rule("erbb2-tdxd", [{"kind": "target", "gene": "ERBB2",
                         "states": ["activated", "expressed_not_activated",
                                    "expressed_activation_unknown"]}],
         ["trastuzumab deruxtecan"], "adc", "antigen_directed",
         [{"type": "prospective_trial", "entities": ["any_solid_tumour"]},
          {"type": "approval", "entities": ["any_solid_tumour"]}]),
    rule("erbb2-amp-tdxd", [{"kind": "amplification", "gene": "ERBB2"}],
         ["trastuzumab deruxtecan"], "adc", "antigen_directed",
         [{"type": "case_report", "entities": ["DSRCT"]}]),
    rule("cldn6-cart", [{"kind": "target", "gene": "CLDN6",
                         "states": ["expressed_activation_unknown"]}],
         ["BNT211"], "car_t", "antigen_directed",
         [{"type": "prospective_trial", "entities": ["any_solid_tumour"]}]),
    rule("kdr-active", [{"kind": "target", "gene": "KDR", "states": ["activated"]}],
         ["pazopanib"], "kinase_inhibitor", "tyrosine_kinases",
         [{"type": "prospective_trial", "entities": ["SOFT_TISSUE"]}]),
    rule("tmb-pembro", [{"kind": "tmb", "min_value": 10}], ["pembrolizumab"],
         "checkpoint_inhibitor", "immune_evasion",
         [{"type": "approval", "entities": ["any_solid_tumour"]}]),
    rule("gist-imatinib", [{"kind": "entity", "entities": ["GIST"]},
                           {"kind": "amplification", "gene": "ERBB2"}],
         ["imatinib"], "kinase_inhibitor", "tyrosine_kinases",
         [{"type": "approval", "entities": ["GIST"]}]),
    rule("mage-a4-tcr", [{"kind": "target", "gene": "MAGEA4",
                          "states": ["expressed_activation_unknown"]},
                         {"kind": "hla_allele", "gene": "HLA-A", "allele": "A*02"}],
         ["afamitresgene autoleucel"], "tcr_t", "antigen_directed",
         [{"type": "approval", "entities": ["SYNS"]}]),
]


def test_expressed_not_activated_erbb2_prefers_the_adc() -> None:
    recs = recommend(FINDINGS, TARGETS, lineage=DSRCT, rules=RULES)
    names = [r.therapy for r in recs]
    # T-DXd: two rules merged; best is the DSRCT case report (m1C) + tumour-agnostic approval
    assert names[:2] == ["trastuzumab deruxtecan", "BNT211"]
    tdxd = recs[0]
    assert tdxd.level == "m1C Z" and set(tdxd.rules) == {"erbb2-tdxd", "erbb2-amp-tdxd"}
    assert "antigen-directed" in tdxd.rationale and "not activated" in tdxd.rationale
    assert set(tdxd.layers) >= {"DNA", "RNA", "protein", "phosphoproteome"}
    # lapatinib (m2A) matched on the amplification but is demoted below every antigen drug
    lap = next(r for r in recs if r.therapy == "lapatinib")
    assert lap.demoted and lap.rank == len(recs) and "no kinase activation" in lap.rationale
    assert {"pazopanib", "pembrolizumab", "imatinib", "afamitresgene autoleucel"}.isdisjoint(
        names)  # KDR not expressed, TMB 1.2, not GIST, no MAGEA4/HLA
    assert all(r.citations for r in recs)


def test_activated_erbb2_keeps_the_kinase_inhibitor_by_level() -> None:
    targets = [{**TARGETS[0], "state": "activated", "activation_call": "activated"}]
    recs = recommend(FINDINGS, targets, lineage=DSRCT, rules=RULES)
    lap = next(r for r in recs if r.therapy == "lapatinib")
    assert not lap.demoted


def test_conditions_together_entity_and_hla() -> None:
    targets = [{"sample": "S", "gene": "MAGEA4", "state": "expressed_activation_unknown",
                "rna_tpm": 50.0}]
    syns = lineage("SYNS")
    none = recommend(findings_frame(), targets, lineage=syns, rules=RULES,
                     hla_alleles=["HLA-A*01:01", "HLA-A*24:02"])
    assert not none
    got = recommend(findings_frame(), targets, lineage=syns, rules=RULES,
                    hla_alleles=["HLA-A*02:01", "HLA-A*24:02"])
    assert [r.therapy for r in got] == ["afamitresgene autoleucel"]
    assert got[0].level == "m1A Z" and "HLA" in got[0].layers
    gist = recommend(FINDINGS, [], lineage=GIST, rules=RULES)
    assert "imatinib" in [r.therapy for r in gist]


def test_tmb_threshold_and_fusion_partner_matching() -> None:
    high = findings_frame(pd.DataFrame([{"patient": "P", "sample": "S", "layer": "variants",
                                         "feature": "TMB", "kind": "tmb", "value": 12.0,
                                         "call": "high"}]))
    recs = recommend(high, [], lineage=DSRCT, rules=RULES)
    assert [(r.therapy, r.level) for r in recs] == [("pembrolizumab", "m2A Z")]
    fusion = match_condition(Condition(kind="fusion", gene="WT1"), findings=FINDINGS,
                             targets=[], lineage=DSRCT, hla_alleles=[])
    assert [s["feature"] for s in fusion] == ["EWSR1::WT1"]


def test_resistance_rules_rank_after_sensitivity() -> None:
    res = rule("kit-d816v-imatinib-r", [{"kind": "mutation", "gene": "KIT", "variant": "p.D816V"}],
               ["imatinib"], "kinase_inhibitor", "tyrosine_kinases",
               [{"type": "prospective_trial", "entities": ["GIST"], "direction": "resistance"}])
    sens = rule("kit-any", [{"kind": "mutation", "gene": "KIT", "variant": "oncogenic"}],
                ["ripretinib"], "kinase_inhibitor", "tyrosine_kinases",
                [{"type": "approval", "entities": ["GIST"]}])
    f = findings_frame(pd.DataFrame([{"patient": "P", "sample": "S", "layer": "variants",
                                      "gene": "KIT", "feature": "KIT p.Asp816Val",
                                      "kind": "mutation", "value": 0.4, "call": "hotspot"}]))
    recs = recommend(f, [], lineage=GIST, rules=[res, sens])
    assert [(r.therapy, r.direction, r.level) for r in recs] == [
        ("ripretinib", "sensitivity", "m1A Z"), ("imatinib", "resistance", "m1A R")]


@pytest.mark.parametrize(("x", "text"), [(95.0, "95th"), (82.4, "82nd"), (71, "71st"),
                                         (13, "13th"), (11.6, "12th"), (3, "3rd"),
                                         (None, "NA")])
def test_percentile_ordinals(x, text) -> None:
    from tumorboard.recommend import _ordinal

    assert _ordinal(x) == text

"""Tests of knowledge/rules/sarcoma.yaml, the curated sarcoma rule set.

The schema (:mod:`tumorboard.knowledge.schema`) already rejects unknown kinds, baskets and drug
classes, malformed citations and unknown evidence OncoTree codes when the document is
validated. These tests check what the schema cannot: that the rules a sarcoma tumour board
expects are present; that the expression-versus-activation logic holds (antigen-directed drugs
on every expressed state, kinase inhibitors only on an activated kinase; the MASTER DSRCT lesson
that ERBB2 expressed without activation calls for trastuzumab deruxtecan and never for an ERBB2
kinase inhibitor, Renner, Oleś et al., Nat Commun 2026); that entity conditions and genes
resolve; that tumour-agnostic approvals are entered as such; and that resistance markers exist.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tumorboard.knowledge.schema import (
    ANTIGEN_DIRECTED_CLASSES,
    ANY_SOLID,
    KnowledgeBase,
    Rule,
)
from tumorboard.layers.variants import VariantParams
from tumorboard.reference import gene_symbols, oncotree

EXPRESSED = {"activated", "expressed_not_activated", "expressed_activation_unknown"}
ERBB2_KINASE_INHIBITORS = ("lapatinib", "neratinib", "tucatinib")


@cache
def raw_document() -> dict[str, Any]:
    text = (resources.files("tumorboard.knowledge") / "rules" / "sarcoma.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@cache
def knowledge_base() -> KnowledgeBase:
    return KnowledgeBase.model_validate(raw_document())


def rules() -> tuple[Rule, ...]:
    return knowledge_base().rules


def uses(rule: Rule, agent: str) -> bool:
    return any(agent.lower() in a.lower() for a in rule.therapy.agents)


def rules_for(gene: str | None, agent: str) -> list[Rule]:
    """Rules that propose ``agent`` and have a condition on ``gene`` (any gene if None)."""
    return [r for r in rules() if uses(r, agent) and (gene is None or gene in r.genes)]


def target_states(rule: Rule, gene: str) -> set[str]:
    return {s for c in rule.conditions if c.kind == "target" and c.gene == gene for s in c.states}


def entity_conditions(rule: Rule) -> set[str]:
    return {e for c in rule.conditions if c.kind == "entity" for e in c.entities}


# --- the document ----------------------------------------------------------------------------


def test_document_validates_and_is_versioned() -> None:
    kb = knowledge_base()
    assert kb.name == "tumorboard-sarcoma"
    assert kb.version == "2026.12"
    assert kb.licence
    assert 40 <= len(kb.rules) <= 120
    assert all(r.evidence for r in kb.rules)
    assert all(e.citation.strip() for r in kb.rules for e in r.evidence)


def test_levels_are_not_stored() -> None:
    """Levels are derived by tumorboard.recommend; no rule or evidence item may carry one."""
    for rule in raw_document()["rules"]:
        assert "level" not in rule
        assert all("level" not in e for e in rule["evidence"])


def test_evidence_types_match_their_citations() -> None:
    """Approvals cite a regulator's label, guidelines a guideline body."""
    for rule in rules():
        for e in rule.evidence:
            if e.type == "approval":
                assert e.citation.upper().startswith(("FDA", "EMA")), (rule.id, e.citation)
            if e.type == "guideline":
                assert e.citation.upper().startswith(
                    ("NCCN", "ESMO", "EURACAN", "GUIDELINE")), (rule.id, e.citation)


def test_schema_rejects_a_rule_without_a_valid_citation() -> None:
    """The guarantee the file relies on: an uncited or free-text-cited rule does not load."""
    rule = copy.deepcopy(raw_document()["rules"][0])
    rule["evidence"][0]["citation"] = "Meric-Bernstam et al. 2024"
    with pytest.raises(ValidationError, match="citation"):
        Rule.model_validate(rule)
    rule["evidence"] = []
    with pytest.raises(ValidationError):
        Rule.model_validate(rule)


# --- codes and symbols -----------------------------------------------------------------------


def test_entity_codes_exist_in_oncotree() -> None:
    """Evidence entities are checked by the schema; entity conditions are not, so check both."""
    tree = oncotree()
    for rule in rules():
        for code in entity_conditions(rule):
            assert code in tree, (rule.id, code)
        for e in rule.evidence:
            assert all(code == ANY_SOLID or code in tree for code in e.entities), rule.id


def test_condition_genes_are_gene_symbols() -> None:
    symbols = gene_symbols()
    for rule in rules():
        assert set(rule.genes) <= symbols, (rule.id, set(rule.genes) - symbols)


# --- minimum content -------------------------------------------------------------------------


@pytest.mark.parametrize(("gene", "agent"), [
    ("ERBB2", "trastuzumab deruxtecan"),
    ("CLDN6", "BNT211"),
    ("SSTR2", "dotatate"),
    ("SSTR3", "lutetium"),
    ("SSTR5", "lutetium"),
    ("KDR", "pazopanib"),
    ("KDR", "regorafenib"),
    ("KDR", "cabozantinib"),
    ("MDM2", "brigimadlin"),
    ("MDM2", "milademetan"),
    ("CDK4", "palbociclib"),
    ("CDK4", "abemaciclib"),
    ("NTRK1", "larotrectinib"), ("NTRK2", "larotrectinib"), ("NTRK3", "larotrectinib"),
    ("NTRK1", "entrectinib"), ("NTRK2", "entrectinib"), ("NTRK3", "entrectinib"),
    ("ALK", "crizotinib"),
    ("ROS1", "crizotinib"),
    ("RET", "selpercatinib"),
    ("KIT", "imatinib"), ("KIT", "sunitinib"), ("KIT", "regorafenib"), ("KIT", "ripretinib"),
    ("PDGFRA", "avapritinib"),
    ("TSC1", "sirolimus"), ("TSC2", "sirolimus"),
    ("SMARCB1", "tazemetostat"),
    ("BRAF", "dabrafenib"),
    ("BRCA1", "olaparib"), ("BRCA2", "olaparib"),
    ("MAGEA4", "afamitresgene autoleucel"),
    ("CTAG1B", "letetresgene autoleucel"),
    ("PIK3CA", "alpelisib"), ("PIK3CA", "capivasertib"),
    ("NF1", "selumetinib"),
    ("FGFR2", "pemigatinib"),
    ("AXL", "cabozantinib"),
    ("TYRO3", "kinase inhibitor"),
    ("CD276", "omburtamab"),
    ("B4GALNT1", "dinutuximab"),
])
def test_expected_rule_present(gene: str, agent: str) -> None:
    assert rules_for(gene, agent), f"no rule for {gene} -> {agent}"


def test_smarcb1_deletion_and_truncating_mutation_are_separate_rules() -> None:
    kinds = {(c.kind, c.variant) for r in rules_for("SMARCB1", "tazemetostat")
             for c in r.conditions}
    assert ("deletion", None) in kinds
    assert ("mutation", "truncating") in kinds


def test_braf_rule_is_v600e_and_needs_both_agents() -> None:
    (rule,) = rules_for("BRAF", "dabrafenib")
    assert uses(rule, "trametinib")
    assert any(c.variant in ("p.V600E", "p.Val600Glu") for c in rule.conditions)


def test_tmb_rule_uses_the_variant_layer_threshold() -> None:
    (rule,) = [r for r in rules() if any(c.kind == "tmb" for c in r.conditions)]
    assert uses(rule, "pembrolizumab")
    (cond,) = rule.conditions
    assert cond.min_value == VariantParams().tmb_high == 10


def test_entity_restricted_rules() -> None:
    """GIST drugs fire only in GIST; ASPS and PEComa have entity-level approvals."""
    for agent in ("sunitinib", "ripretinib", "avapritinib"):
        for rule in rules_for(None, agent):
            assert entity_conditions(rule) == {"GIST"}, rule.id
    gist_imatinib = [r for r in rules_for("KIT", "imatinib") if "GIST" in entity_conditions(r)]
    assert gist_imatinib
    assert any(entity_conditions(r) == {"ASPS"} for r in rules_for(None, "atezolizumab"))
    assert any(entity_conditions(r) == {"PECOMA"} for r in rules_for(None, "sirolimus"))


@pytest.mark.parametrize(("gene", "agent", "entity"), [
    ("ALK", "crizotinib", "IMT"),
    ("SMARCB1", "tazemetostat", "EPIS"),
    ("MAGEA4", "afamitresgene autoleucel", "SYNS"),
    (None, "sirolimus", "PECOMA"),
    (None, "atezolizumab", "ASPS"),
    ("KIT", "imatinib", "GIST"),
    ("PDGFRA", "avapritinib", "GIST"),
])
def test_entity_approvals_are_cited(gene: str | None, agent: str, entity: str) -> None:
    approvals = [e for r in rules_for(gene, agent) for e in r.evidence if e.type == "approval"]
    assert any(entity in e.entities for e in approvals)


@pytest.mark.parametrize(("gene", "agent"), [
    ("ERBB2", "trastuzumab deruxtecan"), ("NTRK1", "larotrectinib"), ("NTRK3", "entrectinib"),
    ("RET", "selpercatinib"), ("BRAF", "dabrafenib"), (None, "pembrolizumab"),
])
def test_tumour_agnostic_approvals_are_entered_as_any_solid_tumour(
        gene: str | None, agent: str) -> None:
    approvals = [e for r in rules_for(gene, agent) for e in r.evidence if e.type == "approval"]
    assert approvals
    assert all(e.entities == (ANY_SOLID,) for e in approvals)


# --- expression versus activation ------------------------------------------------------------


def test_trastuzumab_deruxtecan_matches_erbb2_expressed_not_activated() -> None:
    (rule,) = rules_for("ERBB2", "trastuzumab deruxtecan")
    assert rule.therapy.drug_class == "adc"
    assert rule.basket == "antigen_directed"
    assert target_states(rule, "ERBB2") == EXPRESSED


def test_no_erbb2_kinase_inhibitor_on_unactivated_erbb2() -> None:
    kinase_rules = [r for r in rules() if "ERBB2" in r.genes
                    and any(uses(r, a) for a in ERBB2_KINASE_INHIBITORS)]
    assert kinase_rules, "expected at least one ERBB2 kinase-inhibitor rule to check"
    for rule in kinase_rules:
        states = target_states(rule, "ERBB2")
        assert "expressed_not_activated" not in states, rule.id
        assert "expressed_activation_unknown" not in states, rule.id


def test_kinase_inhibitors_only_on_activated_targets() -> None:
    for rule in rules():
        if rule.therapy.drug_class != "kinase_inhibitor":
            continue
        for cond in rule.conditions:
            if cond.kind == "target":
                assert set(cond.states) == {"activated"}, rule.id


def test_antigen_directed_drugs_match_every_expressed_state() -> None:
    antigen_rules = [r for r in rules() if r.therapy.drug_class in ANTIGEN_DIRECTED_CLASSES]
    assert len(antigen_rules) >= 10
    for rule in antigen_rules:
        conds = [c for c in rule.conditions if c.kind == "target"]
        assert conds, rule.id
        assert all(set(c.states) == EXPRESSED for c in conds), rule.id


def test_activity_targets_require_activation() -> None:
    for gene in ("KDR", "AXL", "TYRO3"):
        rs = [r for r in rules() if gene in r.genes]
        assert rs
        assert all(target_states(r, gene) == {"activated"} for r in rs), gene


# --- HLA-restricted TCR-T --------------------------------------------------------------------


def hla_alleles(agent: str) -> set[str]:
    return {c.allele for r in rules_for(None, agent) for c in r.conditions
            if c.kind == "hla_allele" and c.allele}


def test_afamitresgene_alleles_are_the_approved_groups() -> None:
    """FDA 2024: HLA-A*02:01P, -A*02:02P, -A*02:03P, -A*02:06P; A*02:05 was excluded."""
    assert hla_alleles("afamitresgene") == {"A*02:01", "A*02:02", "A*02:03", "A*02:06"}
    for rule in rules_for(None, "afamitresgene"):
        assert "MAGEA4" in rule.genes
        assert rule.therapy.drug_class == "tcr_t"


def test_letetresgene_alleles() -> None:
    assert hla_alleles("letetresgene") == {"A*02:01", "A*02:05", "A*02:06"}
    assert all("CTAG1B" in r.genes for r in rules_for(None, "letetresgene"))


# --- resistance ------------------------------------------------------------------------------


def test_resistance_rules_exist() -> None:
    resistant = [r for r in rules() if r.resistance]
    assert resistant
    assert all(e.direction == "resistance" for r in resistant for e in r.evidence)


@pytest.mark.parametrize(("gene", "agent", "variant"), [
    ("PDGFRA", "imatinib", "p.D842V"),
    ("KIT", "imatinib", "exon 17"),
    ("TP53", "brigimadlin", "oncogenic"),
    ("TP53", "milademetan", "oncogenic"),
    ("RB1", "palbociclib", "truncating"),
    ("ALK", "ceritinib", "p.G1202R"),
])
def test_known_resistance_markers(gene: str, agent: str, variant: str) -> None:
    matching = [r for r in rules_for(gene, agent) if r.resistance
                and any(c.gene == gene and c.variant == variant for c in r.conditions)]
    assert matching, f"no resistance rule {gene} {variant} -> {agent}"


def test_d842v_has_an_alternative_to_imatinib() -> None:
    alternatives = [r for r in rules_for("PDGFRA", "avapritinib") if not r.resistance
                    and any(c.variant in ("p.D842V", "exon 18") for c in r.conditions)]
    assert alternatives

"""Expression versus activation per target gene, on constructed findings."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tumorboard.model import Finding, findings_frame
from tumorboard.targets import TargetParams, antigen_catalogue, target_evidence

P, S = "DSRCT-001", "DSRCT-001-T1"


def expr(gene: str, tpm: float, call: str, z: float = 0.0) -> Finding:
    kind = {"high": "overexpression", "low": "underexpression"}.get(call, "expression")
    return Finding(P, S, "expression", gene, gene, kind, value=math.log2(tpm + 1), z_score=z,
                   percentile_cohort=50.0, percentile_entity=40.0, reference_size=29, call=call)


def activation(gene: str, call: str, score: float = 0.0) -> Finding:
    return Finding(P, S, "phosphoproteome", gene, f"{gene} activation", "activation",
                   value=score, call=call)


def evidence(*rows: Finding, kinases=frozenset({"ERBB2", "KDR", "KIT"})) -> pd.DataFrame:
    table = target_evidence(findings_frame(list(rows)), kinases=kinases)
    return table.set_index("gene")


def test_erbb2_expressed_without_activation_is_an_antigen_target() -> None:
    """The MASTER DSRCT case: ERBB2 at 50 TPM, not an outlier, phosphosites not activated."""
    t = evidence(expr("ERBB2", 50.0, "neutral", z=0.4), activation("ERBB2", "not_activated"))
    row = t.loc["ERBB2"]
    assert row["state"] == "expressed_not_activated"
    assert row["is_antigen"]
    assert row["is_kinase"]
    assert row["rna_tpm"] == pytest.approx(50.0)
    assert row["activation_call"] == "not_activated"


def test_expressed_and_activated_kinase() -> None:
    t = evidence(expr("KDR", 80.0, "high", z=3.1), activation("KDR", "activated", 2.7))
    assert t.loc["KDR", "state"] == "activated"
    assert t.loc["KDR", "activation_score"] == 2.7


def test_kinase_without_phospho_data_has_unknown_activation() -> None:
    t = evidence(expr("ERBB2", 50.0, "neutral"))
    assert t.loc["ERBB2", "state"] == "expressed_activation_unknown"
    assert t.loc["ERBB2", "activation_call"] == "not_measured"


def test_non_kinase_antigen_is_expressed_activation_not_applicable() -> None:
    t = evidence(expr("CLDN6", 200.0, "high", z=4.0))
    assert t.loc["CLDN6", "state"] == "expressed_activation_unknown"
    assert t.loc["CLDN6", "activation_call"] == "not_applicable"


def test_expression_threshold_boundary() -> None:
    """TPM exactly at expressed_tpm counts as expressed; just below does not."""
    at = evidence(expr("SSTR2", 10.0, "neutral"))
    below = evidence(expr("SSTR2", 9.99, "neutral"))
    assert at.loc["SSTR2", "state"] == "expressed_activation_unknown"
    assert below.loc["SSTR2", "state"] == "not_expressed"
    strict = target_evidence(findings_frame([expr("SSTR2", 10.0, "neutral")]),
                             params=TargetParams(expressed_tpm=20.0))
    assert strict.loc[0, "state"] == "not_expressed"


def test_low_outlier_is_not_expressed_even_above_tpm_threshold() -> None:
    t = evidence(expr("ERBB2", 15.0, "low", z=-2.5), activation("ERBB2", "not_activated"))
    assert t.loc["ERBB2", "state"] == "not_expressed"


def test_hotspot_in_kinase_counts_as_genomic_activation() -> None:
    kit = Finding(P, S, "variants", "KIT", "KIT p.Val560Asp", "mutation", value=0.41,
                  call="hotspot")
    t = evidence(kit)
    assert t.loc["KIT", "state"] == "activated"
    assert t.loc["KIT", "activation_source"] == "genomic"
    assert t.loc["KIT", "dna"][0]["feature"] == "KIT p.Val560Asp"


def test_fusion_attaches_to_both_partners_and_no_expression_is_unknown() -> None:
    fusion = Finding(P, S, "fusions", "EWSR1", "EWSR1::WT1", "fusion", value=69,
                     call="entity_defining")
    t = evidence(fusion)
    assert set(t.index) == {"EWSR1", "WT1"}
    assert t.loc["WT1", "state"] == "unknown"
    assert t.loc["WT1", "dna"][0]["feature"] == "EWSR1::WT1"


def test_antigen_catalogue_is_cited() -> None:
    catalogue = antigen_catalogue()
    required = {"ERBB2", "CLDN6", "SSTR2", "SSTR3", "SSTR5", "CD276", "TACSTD2", "NECTIN4",
                "GPC3", "FOLR1", "MSLN", "DLL3", "B4GALNT1"}
    assert required <= set(catalogue)
    assert all("doi:" in e["citation"] for e in catalogue.values())


def test_substrate_activity_alone_needs_expression() -> None:
    """Substrate-based activity without any RNA/protein evidence does not make a target."""
    substrates = Finding(P, S, "phosphoproteome", "EGFR", "EGFR substrates", "kinase_activity",
                         value=4.9, call="high")
    t = evidence(substrates, kinases=frozenset({"EGFR"}))
    assert t.loc["EGFR", "activation_call"] == "activated"
    assert t.loc["EGFR", "state"] == "unknown"
    t = evidence(substrates, expr("EGFR", 40.0, "high", z=2.5), kinases=frozenset({"EGFR"}))
    assert t.loc["EGFR", "state"] == "activated"

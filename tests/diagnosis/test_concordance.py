"""Tests of the molecular concordance of a submitted diagnosis with fusions and methylation."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tumorboard.diagnosis.concordance import (
    ALERT_TITLE,
    STATUSES,
    concordance_evidence,
    molecular_concordance,
)
from tumorboard.model import findings_frame

DSRCT_PROV = {"entity_codes": ["DSRCT"], "who_entity": "Desmoplastic small round cell tumour",
              "citation": "WHO 2020"}


def fusion(feature: str = "EWSR1::WT1", *, sample: str = "T1", call: str = "entity_defining",
           prov: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"patient": "P1", "sample": sample, "layer": "fusions", "gene": "EWSR1",
            "feature": feature, "kind": "fusion", "value": 1.0, "call": call,
            "provenance": DSRCT_PROV if prov is None else prov}


def methylation(feature: str, score: float, code: str | None, *, call: str = "class",
                sample: str = "T1", name: str | None = None,
                simulated: bool = False) -> dict[str, Any]:
    prov = {"oncotree_code": code, "call_name": name or feature,
            "model": {"name": "m", "simulated": simulated}, "citation": "Koelsche 2021"}
    return {"patient": "P1", "sample": sample, "layer": "methylation", "gene": None,
            "feature": feature, "kind": "methylation_class", "value": score, "call": call,
            "provenance": prov}


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return findings_frame(pd.DataFrame(list(rows)))


# ------------------------------------------------------------------ evidence items


def test_evidence_items_from_fusion_and_methylation():
    items, warnings = concordance_evidence(frame(
        fusion(), methylation("DSRCT", 0.97, "DSRCT", name="desmoplastic small round cell")))
    assert warnings == []
    assert len(items) == 2
    fus, meth = items
    assert fus == {"layer": "fusions", "evidence": "EWSR1::WT1", "sample": "T1",
                   "entities": ["DSRCT"], "entity": "Desmoplastic small round cell tumour",
                   "score": None, "citation": "WHO 2020"}
    assert meth["layer"] == "methylation"
    assert meth["evidence"] == "methylation class DSRCT (0.97)"
    assert meth["entities"] == ["DSRCT"]
    assert meth["entity"] == "desmoplastic small round cell"
    assert meth["score"] == pytest.approx(0.97)
    assert meth["citation"] == "Koelsche 2021"


def test_non_evidence_rows_are_ignored():
    """Non-defining fusions, fusions without entity codes, no-match and not-classified calls
    and other kinds name no entity."""
    items, warnings = concordance_evidence(frame(
        fusion(call="other"),
        fusion(prov={"entity_codes": [], "who_entity": None}),
        methylation("no match", 0.55, None, call="no_match"),
        methylation("not classified", float("nan"), None, call="not_classified"),
        {"patient": "P1", "sample": "T1", "layer": "copy_number", "gene": "MDM2",
         "feature": "MDM2", "kind": "amplification", "call": "amplification"},
    ))
    assert items == []
    assert warnings == []


def test_simulated_model_is_labelled():
    items, _ = concordance_evidence(frame(methylation("EWS", 0.95, "ES", simulated=True)))
    assert items[0]["evidence"] == "methylation class EWS (0.95) [simulated demo model]"


def test_control_tissue_call_is_a_warning_not_evidence():
    result = molecular_concordance("DSRCT", frame(
        methylation("CTRL-BLOOD", 0.99, None, name="control (blood)", sample="T9")))
    assert result["status"] == "no_molecular_evidence"
    assert result["alert"] is False and result["title"] is None
    assert result["suggested"] is None
    assert result["evidence"] == []
    assert result["warnings"] == [
        "T9: the methylation profile matches control tissue (control (blood)); the sample may "
        "hold little tumour; check the tumour cell content"]
    assert result["message"].startswith(
        "no entity-defining alteration or methylation class call (T9: the methylation profile")


def test_class_without_oncotree_code_asks_for_a_manual_comparison():
    _, warnings = concordance_evidence(frame(methylation("SARC-XY", 0.93, None)))
    assert warnings == ["T1: methylation class SARC-XY (0.93) has no OncoTree code; compare it "
                        "with the histology by hand"]


# ------------------------------------------------------------------ verdicts


def test_no_findings_at_all():
    result = molecular_concordance("DSRCT", findings_frame())
    assert result["status"] == "no_molecular_evidence"
    assert result["message"] == "no entity-defining alteration or methylation class call"
    assert result["warnings"] == [] and result["alert"] is False


def test_concordant_fusion_and_methylation():
    result = molecular_concordance("dsrct", frame(fusion(), methylation("DSRCT", 0.97, "DSRCT")))
    assert result["submitted"] == "DSRCT"
    assert result["status"] == "concordant"
    assert result["suggested"] == "DSRCT"
    assert result["alert"] is False and result["title"] is None
    assert [i["verdict"] for i in result["evidence"]] == ["concordant", "concordant"]
    assert result["message"] == ("EWSR1::WT1 → DSRCT; methylation class DSRCT (0.97) → DSRCT: "
                                 "confirms DSRCT")


def test_broader_methylation_code_agrees_with_a_submitted_subtype():
    """WDLS-DDLS maps to LIPO, above DDLS in OncoTree: concordant, not discordant."""
    result = molecular_concordance("DDLS", frame(methylation("WDLS-DDLS", 0.95, "LIPO")))
    assert result["status"] == "concordant"
    assert result["evidence"][0]["verdict"] == "concordant"
    assert result["suggested"] == "DDLS"
    assert result["alert"] is False


def test_family_call_covering_the_submitted_entity_is_concordant():
    """The CSA family maps to CHS, above a submitted mesenchymal chondrosarcoma (MCHS)."""
    result = molecular_concordance("MCHS", frame(
        methylation("CSA", 0.92, "CHS", call="family", name="CSA family")))
    assert result["status"] == "concordant"
    assert result["suggested"] == "MCHS"


def test_more_specific_entity_below_the_submitted_code_refines_it():
    result = molecular_concordance("LIPO", frame(methylation("X", 0.95, "DDLS")))
    assert result["status"] == "refined"
    assert result["suggested"] == "DDLS"
    assert result["alert"] is False
    assert result["message"] == ("methylation class X (0.95) → DDLS: DDLS is a more specific "
                                 "entity than the submitted LIPO")


def test_sibling_of_a_nos_node_refines_it():
    """Sarcoma NOS (SARCNOS) and DSRCT are both under SOFT_TISSUE: DSRCT refines SARCNOS."""
    result = molecular_concordance("SARCNOS", frame(fusion()))
    assert result["status"] == "refined"
    assert result["suggested"] == "DSRCT"
    assert result["evidence"][0]["verdict"] == "refined"


def test_sibling_of_a_specific_node_is_discordant():
    """SYNS is a sibling of DSRCT, but not 'NOS': discordant, not refined."""
    result = molecular_concordance("SYNS", frame(fusion()))
    assert result["status"] == "discordant"


def test_discordant_fusion_raises_the_revision_alert():
    result = molecular_concordance("ES", frame(fusion(), methylation("DSRCT", 0.97, "DSRCT")))
    assert result["status"] == "discordant"
    assert result["alert"] is True
    assert result["title"] == ALERT_TITLE == "diagnosis revision suggested"
    assert result["suggested"] == "DSRCT"
    assert result["message"] == (
        "EWSR1::WT1 indicates Desmoplastic small round "
        "cell tumour (DSRCT), supported by methylation class DSRCT (0.97), which contradicts "
        "the submitted diagnosis ES; review the histology")


def test_fusion_leads_over_methylation_and_other_evidence_is_listed():
    """Fusion before methylation: a DSRCT fusion and an EWS methylation call against a
    submitted SYNS suggest DSRCT; the methylation call is named as other evidence."""
    result = molecular_concordance("SYNS", frame(methylation("EWS", 0.93, "ES"), fusion()))
    assert result["status"] == "discordant"
    assert result["suggested"] == "DSRCT"
    assert result["message"].endswith(
        "which contradicts the submitted diagnosis SYNS; review the histology "
        "(other evidence: methylation class EWS (0.93) → ES)")


def test_discordant_beats_refined_and_concordant():
    result = molecular_concordance("SARCNOS", frame(
        fusion(), methylation("EWS", 0.95, "ES"), methylation("SYSA", 0.91, "SYNS", sample="T2")))
    verdicts = [i["verdict"] for i in result["evidence"]]
    assert verdicts == ["refined", "discordant", "refined"]
    assert result["status"] == "discordant"
    assert result["suggested"] == "ES"
    assert result["alert"] is True


def test_multi_entity_fusion_takes_its_best_verdict():
    """A fusion defining several entities is concordant when one of them is the submitted."""
    prov = {"entity_codes": ["ES", "DSRCT"], "who_entity": "EWSR1 fusion sarcoma"}
    result = molecular_concordance("DSRCT", frame(fusion(prov=prov)))
    assert result["evidence"][0]["verdict"] == "concordant"
    assert result["status"] == "concordant"
    result = molecular_concordance("SARCNOS", frame(fusion(prov=prov)))
    assert result["status"] == "refined"
    # ES is under BONE, not a sibling of SARCNOS: the refining code is DSRCT
    assert result["suggested"] == "DSRCT"


def test_unknown_submitted_code_is_discordant_with_any_evidence():
    result = molecular_concordance("NOT_A_CODE", frame(fusion()))
    assert result["status"] == "discordant"
    assert result["alert"] is True


def test_warnings_are_appended_to_a_verdict_message():
    result = molecular_concordance("DSRCT", frame(
        fusion(), methylation("CTRL-MUS", 0.95, None, sample="N1", name="control (muscle)")))
    assert result["status"] == "concordant"
    assert len(result["warnings"]) == 1
    assert result["message"].endswith(
        "confirms DSRCT (N1: the methylation profile matches control tissue (control (muscle)); "
        "the sample may hold little tumour; check the tumour cell content)")


def test_status_is_always_one_of_the_statuses():
    for code in ("DSRCT", "SARCNOS", "ES", "LIPO"):
        assert molecular_concordance(code, frame(fusion()))["status"] in STATUSES

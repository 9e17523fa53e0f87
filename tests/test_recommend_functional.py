"""Functional evidence in the recommendations: drug screens on patient-derived models.

The rules under test are tumorboard's own (issue 9 spec §4, restated in the docstring of
tumorboard.recommend): a rule-matched drug whose agents equal a screened drug's gains ``iv``
when the model is sensitive, is flagged and ranked lower when it is resistant; other calls add
nothing; sensitive drugs no rule names become functional-only candidates (``m3 iv``). Drug-
screen Findings are built by hand after the Finding contract of spec §3.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from tests.test_recommend import rule  # the rule builder of the engine tests
from tumorboard.model import findings_frame
from tumorboard.recommend import (
    FUNCTIONAL_ONLY_BASKET,
    agent_set,
    functional_results,
    recommend,
)
from tumorboard.reference import lineage

DSRCT = lineage("DSRCT")

KDR_ACTIVATED = {"sample": "P1-T", "gene": "KDR", "state": "activated", "rna_tpm": 60.0,
                 "rna_z": 2.2, "rna_percentile": 95.0, "activation_call": "activated",
                 "activation_score": 2.4, "activation_source": "activation"}
BRAF = {"patient": "P1", "sample": "P1-T", "layer": "variants", "gene": "BRAF",
        "feature": "BRAF p.Val600Glu", "kind": "mutation", "value": 0.4, "call": "hotspot"}


def kdr_rule(rid: str, agents: list[str], evidence: str = "prospective_trial",
             entities: tuple[str, ...] = ("SOFT_TISSUE",)) -> Any:
    return rule(rid, [{"kind": "target", "gene": "KDR", "states": ["activated"]}], agents,
                "kinase_inhibitor", "tyrosine_kinases",
                [{"type": evidence, "entities": list(entities)}])


PAZOPANIB = kdr_rule("kdr-pazopanib", ["pazopanib"])
REGORAFENIB = kdr_rule("kdr-regorafenib", ["regorafenib"])
BRAF_COMBO = rule("braf-v600e-dab-tram", [{"kind": "mutation", "gene": "BRAF",
                                            "variant": "p.V600E"}],
                  ["dabrafenib", "trametinib"], "kinase_inhibitor", "raf_mek_erk",
                  [{"type": "approval", "entities": ["any_solid_tumour"]}])


def screen(drug: str, call: str, dss: float, z: float | None, pct: float | None, *,
           model: str = "PDO-1", model_type: str = "organoid", reference: int = 13,
           cohort_n: int | None = None, sample: str = "P1-T") -> dict[str, Any]:
    """One drug_screen Finding after the contract of spec §3."""
    prov: dict[str, Any] = {
        "method": "4-parameter log-logistic fit; DSS3 (Yadav 2014)", "assay": "a1",
        "model": model, "model_type": model_type, "drug_as_given": drug,
        "fit": {"status": "fitted", "ic50_um": 0.8, "ic50_censored": None, "emax": 81.0},
        "plates": [{"plate": "P1", "z_prime": 0.71, "qc": "pass"}]}
    if cohort_n is not None:
        prov["cohort"] = {"n": cohort_n}
    return {"patient": "P1", "sample": sample, "layer": "drug_screen", "gene": None,
            "feature": drug, "kind": "drug_sensitivity", "value": dss, "z_score": z,
            "percentile_cohort": pct, "percentile_entity": pct, "reference_size": reference,
            "call": call, "provenance": prov}


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return findings_frame(pd.DataFrame(list(rows))) if rows else findings_frame()


def by_name(recs) -> dict[str, Any]:
    return {r.therapy: r for r in recs}


# --------------------------------------------------------------------------- sensitive


def test_sensitive_model_adds_iv_the_layer_and_the_exact_rationale_line() -> None:
    approved = rule("kdr-pazopanib-z", [{"kind": "target", "gene": "KDR",
                                         "states": ["activated"]}],
                    ["pazopanib"], "kinase_inhibitor", "tyrosine_kinases",
                    [{"type": "approval", "entities": ["SOFT_TISSUE"]}])
    plain = recommend(frame(), [KDR_ACTIVATED], lineage=DSRCT, rules=[approved])
    assert plain[0].level == "m1A Z" and plain[0].functional == []
    recs = recommend(frame(screen("pazopanib", "sensitive", 23.4, 2.1, 92.0)),
                     [KDR_ACTIVATED], lineage=DSRCT, rules=[approved])
    assert len(recs) == 1  # matched: no functional-only candidate on top
    rec = recs[0]
    line = ("Patient-derived organoid PDO-1 sensitive to pazopanib: DSS 23.4, 92nd percentile "
            "of 14 models (z 2.1).")
    # MODIFIERS order is, iv, Z, R: iv goes before Z
    assert (rec.level, rec.modifiers, rec.tier) == ("m1A iv Z", ["iv", "Z"], "m1A")
    assert line in rec.reason and line in rec.rationale
    assert rec.rationale.startswith(plain[0].reason)  # the molecular reason comes first
    assert rec.layers == [*plain[0].layers, "functional"]
    assert rec.functional_call == "sensitive"
    [entry] = rec.functional
    assert entry["match"] == "exact" and entry["line"] == line
    assert (entry["model"], entry["model_type"], entry["drug"], entry["agents"]) == (
        "PDO-1", "organoid", "pazopanib", ["pazopanib"])
    assert (entry["dss"], entry["z_score"], entry["percentile_cohort"],
            entry["reference_size"], entry["cohort_size"]) == (23.4, 2.1, 92.0, 13, 14)
    assert (entry["ic50_um"], entry["emax"], entry["fit_status"]) == (0.8, 81.0, "fitted")
    assert any(s["layer"] == "drug_screen" and s["call"] == "sensitive" for s in rec.support)
    assert json.loads(json.dumps(rec.to_dict()))["functional"][0]["line"] == line


def test_rationale_line_uses_the_cohort_size_and_model_kind_of_the_finding() -> None:
    """'of N models' is the valid models including this one: the provenance's cohort n when
    present, else the reference size (the other models) + 1."""
    [entry] = functional_results(frame(screen("pazopanib", "sensitive", 31.0, 3.0, 96.4,
                                              model="EXP-9", model_type="explant",
                                              reference=20, cohort_n=22)))
    assert entry["line"] == ("Patient-derived explant EXP-9 sensitive to pazopanib: DSS 31.0, "
                             "96th percentile of 22 models (z 3.0).")
    [entry] = functional_results(frame(screen("pazopanib", "sensitive", 12.04, 1.55, 71.0,
                                              model_type="cell_line_2d", reference=10)))
    assert entry["line"] == ("Patient-derived 2D cell line PDO-1 sensitive to pazopanib: "
                             "DSS 12.0, 71st percentile of 11 models (z 1.6).")


# --------------------------------------------------------------------------- resistant, ranking


def test_resistant_model_is_flagged_and_ranked_below_an_equal_option() -> None:
    rules = [PAZOPANIB, REGORAFENIB]
    plain = recommend(frame(), [KDR_ACTIVATED], lineage=DSRCT, rules=rules)
    assert [r.therapy for r in plain] == ["pazopanib", "regorafenib"]  # equal: by name
    recs = recommend(frame(screen("pazopanib", "resistant", 0.0, -2.3, 5.0)),
                     [KDR_ACTIVATED], lineage=DSRCT, rules=rules)
    assert [r.therapy for r in recs] == ["regorafenib", "pazopanib"]
    assert [r.rank for r in recs] == [1, 2]
    paz = by_name(recs)["pazopanib"]
    assert paz.level == "m1A" and "iv" not in paz.modifiers  # the level is kept
    assert paz.functional_call == "resistant" and "functional" not in paz.layers
    assert ("Warning: Patient-derived organoid PDO-1 resistant to pazopanib: DSS 0.0, 5th "
            "percentile of 14 models (z -2.3); ranked below otherwise equal options."
            ) in paz.rationale
    assert [e["call"] for e in paz.functional] == ["resistant"]
    assert not any(r.functional_only for r in recs)  # resistant drugs are no candidates


def test_sensitive_before_untested_after_tier_and_discordant_models_count_as_untested() -> None:
    rules = [PAZOPANIB, REGORAFENIB]
    recs = recommend(frame(screen("regorafenib", "sensitive", 25.0, 2.0, 90.0)),
                     [KDR_ACTIVATED], lineage=DSRCT, rules=rules)
    assert [r.therapy for r in recs] == ["regorafenib", "pazopanib"]
    # the tier comes first: an m1A option without a screen stays above an m2B one with it
    weaker = kdr_rule("kdr-regorafenib-m2b", ["regorafenib"], "retrospective_study", ("LMS",))
    recs = recommend(frame(screen("regorafenib", "sensitive", 25.0, 2.0, 90.0)),
                     [KDR_ACTIVATED], lineage=DSRCT, rules=[PAZOPANIB, weaker])
    assert [(r.therapy, r.level) for r in recs] == [("pazopanib", "m1A"),
                                                    ("regorafenib", "m2B iv")]
    # one model sensitive, another resistant: discordant, ranks as untested (by name)
    two = frame(screen("pazopanib", "sensitive", 25.0, 2.0, 90.0, model="PDO-1"),
                screen("pazopanib", "resistant", 0.5, -1.9, 8.0, model="PDO-2"))
    recs = recommend(two, [KDR_ACTIVATED], lineage=DSRCT, rules=rules)
    paz = by_name(recs)["pazopanib"]
    assert paz.functional_call == "discordant" and paz.level == "m1A iv"
    assert [r.therapy for r in recs] == ["pazopanib", "regorafenib"]
    assert [e["model"] for e in paz.functional] == ["PDO-1", "PDO-2"]
    assert "Warning: Patient-derived organoid PDO-2 resistant to pazopanib" in paz.reason


def test_resistance_marker_reports_the_screen_without_changing_level_or_rank() -> None:
    marker = rule("kdr-pazopanib-r", [{"kind": "target", "gene": "KDR", "states": ["activated"]}],
                  ["pazopanib"], "kinase_inhibitor", "tyrosine_kinases",
                  [{"type": "case_report", "entities": ["DSRCT"], "direction": "resistance"}])
    recs = recommend(frame(screen("pazopanib", "resistant", 0.0, -2.3, 5.0)),
                     [KDR_ACTIVATED], lineage=DSRCT, rules=[marker])
    [res] = recs
    assert res.direction == "resistance" and res.level == "m1C R"
    assert res.functional_call is None and res.functional[0]["call"] == "resistant"
    assert ("Patient-derived organoid PDO-1 resistant to pazopanib: DSS 0.0, 5th percentile "
            "of 14 models (z -2.3), consistent with the resistance marker.") in res.reason


# --------------------------------------------------------------------------- combinations, names


def test_combination_matches_as_a_set_in_any_order_and_naming() -> None:
    for drug in ("dabrafenib + trametinib", "trametinib + dabrafenib",
                 "Mekinist and Tafinlar"):
        recs = recommend(frame(BRAF, screen(drug, "sensitive", 30.0, 2.4, 95.0)), [],
                         lineage=DSRCT, rules=[BRAF_COMBO])
        [rec] = recs
        assert rec.therapy == "dabrafenib + trametinib" and rec.level == "m2A iv Z", drug
        assert ("Patient-derived organoid PDO-1 sensitive to dabrafenib + trametinib: DSS 30.0, "
                "95th percentile of 14 models (z 2.4).") in rec.reason
        assert rec.functional[0]["agents"] == ["dabrafenib", "trametinib"]


def test_single_agents_of_a_combination_are_mentioned_without_iv() -> None:
    findings = frame(BRAF, screen("dabrafenib", "sensitive", 22.0, 1.8, 88.0),
                     screen("trametinib", "inactive", 4.0, -0.3, 40.0))
    recs = recommend(findings, [], lineage=DSRCT, rules=[BRAF_COMBO])
    combo = by_name(recs)["dabrafenib + trametinib"]
    assert combo.level == "m2A Z" and "iv" not in combo.modifiers
    assert combo.functional_call is None and "functional" not in combo.layers
    assert ("The combination was not screened as such, only single agents: Patient-derived "
            "organoid PDO-1 sensitive to dabrafenib: DSS 22.0, 88th percentile of 14 models "
            "(z 1.8); Patient-derived organoid PDO-1 on trametinib: inactive, DSS 4.0, 40th "
            "percentile of 14 models (z -0.3). A combination tested only as single agents "
            "gains no iv.") in combo.reason
    assert [(e["drug"], e["match"]) for e in combo.functional] == [
        ("dabrafenib", "single_agent"), ("trametinib", "single_agent")]
    # dabrafenib alone is named by no rule: a functional-only candidate after the combination
    assert [(r.therapy, r.basket) for r in recs] == [
        ("dabrafenib + trametinib", "raf_mek_erk"), ("dabrafenib", FUNCTIONAL_ONLY_BASKET)]


def test_single_agents_without_an_informative_call_add_nothing() -> None:
    findings = frame(BRAF, screen("dabrafenib", "active", 14.0, 0.9, 70.0),
                     screen("trametinib", "inactive", 4.0, -0.3, 40.0))
    recs = recommend(findings, [], lineage=DSRCT, rules=[BRAF_COMBO])
    plain = recommend(frame(BRAF), [], lineage=DSRCT, rules=[BRAF_COMBO])
    assert [r.to_dict() for r in recs] == [r.to_dict() for r in plain]


@pytest.mark.parametrize(("rule_agent", "feature"), [
    ("pazopanib", "pazopanib"),
    ("Votrient", "pazopanib"),                # brand name in the rule
    ("pazopanib", "Votrient"),                # brand name in the screen
    ("pazopanib hydrochloride", "GW786034"),  # salt in the rule, development code screened
])
def test_drug_names_meet_at_the_canonical_name(rule_agent, feature) -> None:
    recs = recommend(frame(screen(feature, "sensitive", 23.4, 2.1, 92.0)), [KDR_ACTIVATED],
                     lineage=DSRCT, rules=[kdr_rule("kdr-x", [rule_agent])])
    [rec] = recs
    assert "iv" in rec.modifiers
    assert rec.functional[0]["drug"] == "pazopanib"  # the line names the canonical drug
    assert rec.functional[0]["drug_as_given"] == feature
    assert "sensitive to pazopanib: DSS 23.4" in rec.reason


def test_agent_set_is_the_union_of_the_components() -> None:
    assert agent_set(["Tafinlar", "Mekinist"]) == agent_set(["trametinib + dabrafenib"]) \
        == frozenset({"dabrafenib", "trametinib"})
    assert agent_set(["pazopanib"]) != agent_set(["pazopanib", "trametinib"])


# --------------------------------------------------------------------------- other calls


@pytest.mark.parametrize("call", ["active", "inactive", "insufficient_reference", "qc_failed",
                                  "fit_failed"])
def test_other_calls_add_nothing(call) -> None:
    dss, z, pct = (float("nan"), None, None) if call == "fit_failed" else (18.0, 1.2, 85.0)
    findings = frame(screen("pazopanib", call, dss, z, pct),
                     screen("doxorubicin", call, dss, z, pct))
    recs = recommend(findings, [KDR_ACTIVATED], lineage=DSRCT, rules=[PAZOPANIB, REGORAFENIB])
    plain = recommend(frame(), [KDR_ACTIVATED], lineage=DSRCT, rules=[PAZOPANIB, REGORAFENIB])
    assert [r.to_dict() for r in recs] == [r.to_dict() for r in plain]


def test_functional_results_ignore_other_layers_and_missing_values() -> None:
    findings = frame(BRAF, screen("pazopanib", "fit_failed", float("nan"), None, None))
    [entry] = functional_results(findings)
    assert entry["dss"] is None and entry["z_score"] is None
    assert entry["line"] == ("Patient-derived organoid PDO-1 on pazopanib: fit failed, "
                             "DSS NA.")
    assert functional_results(frame(BRAF)) == [] and functional_results(frame()) == []


# --------------------------------------------------------------------------- functional only


def test_functional_only_candidates_rank_after_every_molecular_recommendation() -> None:
    erbb2_kinase = rule("erbb2-lapatinib", [{"kind": "target", "gene": "ERBB2",
                                             "states": ["expressed_not_activated"]}],
                        ["lapatinib"], "kinase_inhibitor", "tyrosine_kinases",
                        [{"type": "prospective_trial", "entities": ["DSRCT"]}])
    sunitinib_kit = rule("kit-sunitinib", [{"kind": "mutation", "gene": "KIT",
                                            "variant": "exon 11"}],
                         ["sunitinib"], "kinase_inhibitor", "tyrosine_kinases",
                         [{"type": "approval", "entities": ["GIST"]}])
    marker = rule("tp53-doxorubicin-r", [{"kind": "mutation", "gene": "TP53",
                                          "variant": "hotspot"}],
                  ["doxorubicin"], "chemotherapy", "other",
                  [{"type": "retrospective_study", "entities": ["LMS"],
                    "direction": "resistance"}])
    targets = [KDR_ACTIVATED, {"sample": "P1-T", "gene": "ERBB2",
                               "state": "expressed_not_activated", "rna_tpm": 50.0,
                               "activation_call": "not_activated"}]
    tp53 = {**BRAF, "gene": "TP53", "feature": "TP53 p.Arg273His"}
    findings = frame(tp53,
                     screen("Sutent", "sensitive", 19.0, 1.8, 90.0),
                     screen("doxorubicin hydrochloride", "sensitive", 28.0, 2.6, 97.0),
                     screen("gemcitabine", "resistant", 0.0, -2.0, 3.0),
                     screen("eribulin", "active", 15.0, 0.7, 66.0))
    recs = recommend(findings, targets, lineage=DSRCT,
                     rules=[PAZOPANIB, erbb2_kinase, sunitinib_kit, marker])
    assert [(r.therapy, r.direction, r.basket) for r in recs] == [
        ("pazopanib", "sensitivity", "tyrosine_kinases"),
        ("lapatinib", "sensitivity", "tyrosine_kinases"),         # demoted, still molecular
        ("doxorubicin", "sensitivity", FUNCTIONAL_ONLY_BASKET),   # z 2.6
        ("sunitinib", "sensitivity", FUNCTIONAL_ONLY_BASKET),     # z 1.8
        ("doxorubicin", "resistance", "other"),
    ]
    assert recs[1].demoted and [r.rank for r in recs] == [1, 2, 3, 4, 5]
    doxo, suni = recs[2], recs[3]
    for cand in (doxo, suni):
        assert cand.functional_only and (cand.level, cand.tier, cand.modifiers) == (
            "m3 iv", "m3", ["iv"])
        assert cand.citations == ["PMID:24898935", "DOI:10.1038/nm.4389"]
        assert cand.layers == ["functional"] and cand.rules == [] and cand.genes == []
        assert cand.evidence[0]["entities"] == ["DSRCT"]
        assert cand.key.endswith("[sensitivity]")
    assert doxo.reason == ("Functional evidence only, no molecular rule matched: Patient-derived "
                           "organoid PDO-1 sensitive to doxorubicin: DSS 28.0, 97th percentile "
                           "of 14 models (z 2.6).")
    assert doxo.drug_class == "other" and doxo.notes == [
        "Molecular resistance marker for doxorubicin: TP53."]
    # a rule for sunitinib exists (its KIT biomarker is absent): class and note from it
    assert suni.drug_class == "kinase_inhibitor"
    assert suni.notes == ["Rule kit-sunitinib proposes sunitinib for KIT exon 11 mutation; "
                          "this patient's tumour does not show it."]
    assert suni.functional[0]["drug_as_given"] == "Sutent"
    assert doxo.rationale.startswith(doxo.reason) and "→ m3 iv" in doxo.rationale
    # the molecular marker learns of the contradicting screen
    assert "contradicting the resistance marker" in recs[4].reason


def test_no_screen_no_candidate_and_no_change() -> None:
    recs = recommend(frame(), [KDR_ACTIVATED], lineage=DSRCT, rules=[PAZOPANIB])
    assert [r.functional_only for r in recs] == [False]
    assert recs[0].functional == [] and recs[0].functional_call is None


# --------------------------------------------------------------------------- registry round trip


def _registry_patient(ws, pseudonym: str = "DSRCT-F01") -> None:
    """A DSRCT patient with an activated KDR and a drug screen, written straight to the
    registry as an analysis would (drug-screen Findings are not produced by analyze yet)."""
    from tumorboard.registry import db
    from tumorboard.registry.models import (
        Analysis,
        CohortSnapshot,
        Diagnosis,
        Finding,
        Patient,
        Sample,
        TargetEvidence,
    )

    with db.transaction(ws.engine) as s:
        patient = Patient(pseudonym=pseudonym, sex="male")
        patient.diagnoses.append(Diagnosis(histology="desmoplastic small round cell tumour",
                                           oncotree_code="DSRCT", oncotree_version="2021_11_02"))
        sample = Sample(sample_key=f"{pseudonym}-T", sample_type="tumour")
        patient.samples.append(sample)
        s.add(patient)
        cohort = CohortSnapshot(digest="f" * 64, n_samples=14, content={})
        s.add(cohort)
        s.flush()
        analysis = Analysis(patient_id=patient.id, cohort_id=cohort.id, software_version="t")
        s.add(analysis)
        s.flush()
        s.add(TargetEvidence(analysis_id=analysis.id, patient_id=patient.id,
                             sample_id=sample.id, gene="KDR", state="activated",
                             is_kinase=True, rna_z=2.2, rna_percentile=95.0,
                             activation_score=2.4, activation_call="activated",
                             provenance={"rna_tpm": 60.0, "activation_source": "activation"}))
        for row in (screen("Votrient", "sensitive", 23.4, 2.1, 92.0),
                    screen("doxorubicin", "sensitive", 28.0, 2.6, 97.0),
                    screen("regorafenib", "resistant", 0.0, -2.3, 5.0),
                    screen("cabozantinib", "qc_failed", 20.0, 1.9, 94.0)):
            s.add(Finding(analysis_id=analysis.id, patient_id=patient.id, sample_id=sample.id,
                          layer=row["layer"], gene=None, feature=row["feature"],
                          kind=row["kind"], value=row["value"], z_score=row["z_score"],
                          percentile_cohort=row["percentile_cohort"],
                          percentile_entity=row["percentile_entity"],
                          reference_size=row["reference_size"], call=row["call"],
                          provenance=row["provenance"]))


def test_recommend_patient_round_trip(workspace) -> None:
    """Stored and read back on SQLite and PostgreSQL: levels, the functional entries, the
    functional-only candidate as a row the board can decide on, and an idempotent re-run."""
    from typer.testing import CliRunner

    from tumorboard.cli import app
    from tumorboard.recommend import patient_recommendations, recommend_patient, record_decision

    _registry_patient(workspace)
    doc = recommend_patient(workspace, "DSRCT-F01")
    recs = {r["therapy"]: r for r in doc["recommendations"]}
    paz, rego, cabo = recs["pazopanib"], recs["regorafenib"], recs["cabozantinib"]
    assert "iv" in paz["evidence_level"].split() and paz["functional_call"] == "sensitive"
    assert paz["evidence_level"] == paz["tier"] + " " + " ".join(paz["modifiers"])
    assert paz["functional"][0]["line"] == ("Patient-derived organoid PDO-1 sensitive to "
                                            "pazopanib: DSS 23.4, 92nd percentile of 14 "
                                            "models (z 2.1).")
    assert paz["functional"][0]["drug_as_given"] == "Votrient"
    assert "functional" in paz["layers"] and not paz["functional_only"]
    assert rego["functional_call"] == "resistant" and "iv" not in rego["evidence_level"]
    assert "Warning: Patient-derived organoid PDO-1 resistant to regorafenib" in rego["rationale"]
    assert cabo["functional"] == [] and cabo["functional_call"] is None  # qc_failed: nothing
    # the candidate: last among the sensitivity recommendations, also listed on its own
    cand = doc["recommendations"][-1]
    assert (cand["therapy"], cand["basket"], cand["evidence_level"], cand["functional_only"]) \
        == ("doxorubicin", FUNCTIONAL_ONLY_BASKET, "m3 iv", True)
    assert [r["id"] for r in doc["functional_only"]] == [cand["id"]]
    assert cand["functional"][0]["dss"] == 28.0 and cand["citations"]
    assert [r["rank"] for r in doc["recommendations"]] == sorted(
        r["rank"] for r in doc["recommendations"])
    # the board decides on the candidate like on any other recommendation; a re-run keeps it
    record_decision(workspace, cand["id"], "accepted", on="2026-12-02", recorded_by="MTB")
    again = recommend_patient(workspace, "DSRCT-F01")
    assert [r["id"] for r in again["recommendations"]] == [r["id"]
                                                           for r in doc["recommendations"]]
    kept = next(r for r in again["functional_only"] if r["id"] == cand["id"])
    assert kept["status"] == "accepted" and kept["functional"][0]["call"] == "sensitive"
    with workspace.session() as s:
        stored = patient_recommendations(s, "DSRCT-F01")
    assert json.loads(json.dumps(stored))["functional_only"][0]["therapy"] == "doxorubicin"
    # the command's JSON shows them
    res = CliRunner().invoke(app, ["recommend", "DSRCT-F01", "-w", str(workspace.root),
                                   "--db", workspace.settings.database_url, "--json"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert [r["therapy"] for r in out["functional_only"]] == ["doxorubicin"]
    assert any(r["functional"] and r["therapy"] == "pazopanib" for r in out["recommendations"])

"""End to end: import a simulated cohort, analyse it, compare with the simulator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tumorboard.analysis import analyze
from tumorboard.cli import app
from tumorboard.registry.models import Analysis, CohortSnapshot, Finding, TargetEvidence
from tumorboard.registry.queries import patient_targets
from tumorboard.workspace import Workspace


def _counts(ws: Workspace) -> tuple[int, int, int, int]:
    with ws.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m))  # type: ignore[return-value]
                     for m in (Finding, TargetEvidence, Analysis, CohortSnapshot))


def test_defining_fusions_are_found(analysed) -> None:
    ws, truth = analysed
    with ws.session() as s:
        rows = s.execute(select(Finding.feature, Finding.call, Finding.provenance)
                         .where(Finding.kind == "fusion")).all()
    features = {r.feature for r in rows}
    for p in truth.patients:
        if p.defining_fusion:
            assert p.defining_fusion in features, p.patient_id


def test_mdm2_amplification_in_ddls(analysed) -> None:
    ws, truth = analysed
    ddls = {p.patient_id for p in truth.patients if p.entity == "DDLS"}
    with ws.session() as s:
        from tumorboard.registry.models import Patient

        amplified = set(s.scalars(
            select(Patient.pseudonym).join(Finding, Finding.patient_id == Patient.id)
            .where(Finding.gene == "MDM2", Finding.kind == "amplification")))
    assert ddls <= amplified


def test_erbb2_expressed_not_activated_in_dsrct(analysed) -> None:
    """The MASTER finding: ERBB2 expressed without kinase activation in DSRCT."""
    ws, truth = analysed
    expressed = [p for p in truth.patients if p.entity == "DSRCT" and p.erbb2_expressed
                 and not p.erbb2_activated]
    assert expressed
    with ws.session() as s:
        states = {p.patient_id: next(t["state"] for t in
                                     patient_targets(s, p.patient_id)["targets"]
                                     if t["gene"] == "ERBB2")
                  for p in expressed}
    hits = sum(state == "expressed_not_activated" for state in states.values())
    assert hits >= 0.8 * len(expressed), states


def test_reanalysis_is_idempotent(analysed) -> None:
    ws, _ = analysed
    before = _counts(ws)
    with ws.session() as s:
        first = sorted(s.execute(select(Finding.feature, Finding.value, Finding.call)).all(),
                       key=str)
    analyze(ws)
    after = _counts(ws)
    assert after[:2] == before[:2]  # findings and targets replaced, not added
    assert after[2] == 2 * before[2]  # every run is logged
    assert after[3] == before[3] == 1  # same cohort, one shared snapshot
    with ws.session() as s:
        second = sorted(s.execute(select(Finding.feature, Finding.value, Finding.call)).all(),
                        key=str)
    assert first == second


def test_targets_command_json(analysed) -> None:
    ws, truth = analysed
    patient = next(p.patient_id for p in truth.patients if p.entity == "DSRCT")
    result = CliRunner().invoke(app, ["targets", patient, "-w", str(ws.root), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["cohort"]["n_samples"] == len(truth.patients)
    by_gene = {t["gene"]: t for t in doc["targets"]}
    assert {"ERBB2", "CLDN6", "SSTR2", "KDR"} <= set(by_gene)
    assert by_gene["ERBB2"]["kinase"] and by_gene["ERBB2"]["antigen"]
    assert by_gene["KDR"]["kinase"] and not by_gene["CLDN6"]["kinase"]


def test_kdr_activation_matches_truth(analysed) -> None:
    ws, truth = analysed
    with ws.session() as s:
        for p in truth.patients:
            if p.entity != "DSRCT":
                continue
            kdr = next(t for t in patient_targets(s, p.patient_id)["targets"]
                       if t["gene"] == "KDR")
            assert (kdr["state"] == "activated") == p.kdr_activated, p.patient_id


def test_unknown_patient_is_a_clear_error(analysed) -> None:
    ws, _ = analysed
    from tumorboard.errors import NotFoundError

    with pytest.raises(NotFoundError, match="NOBODY"):
        analyze(ws, ["NOBODY"])
    assert Path(ws.root).exists()


def test_stored_numbers_are_numbers(analysed) -> None:
    """Regression: numpy integers reached SQLite as 8-byte blobs (reference_size)."""
    ws, _ = analysed
    with ws.session() as s:
        sizes = s.scalars(select(Finding.reference_size)
                          .where(Finding.reference_size.is_not(None))).all()
    assert sizes and all(type(v) is int for v in sizes)

"""The alteration/target matrix and its OncoPrint figure, on a hand-built registry.

Five patients, closed form (counts by hand from the rows below):

======  ======  =========================================================================
P1      DSRCT   latest analysis: EWSR1::WT1 fusion, TP53 hotspot mutation, KRAS VUS (not
                counted), ERBB2 RNA high (target), FOO1 RNA high (not a target), CDK4
                arm-level gain (not counted); an older analysis with an MDM2 amplification
                (not the latest: not counted)
P2      DSRCT   EWSR1::WT1 fusion, CDKN2A deep deletion, MET activated, ERBB2 protein high
P3      DDLS    MDM2 and CDK4 amplification, ERBB2 protein high
P4      DDLS    no analysis: not profiled, not in the matrix
P5      SYNS    an analysis without alterations
======  ======  =========================================================================

Genes by patients altered: ERBB2 3, then EWSR1, WT1 2, then CDK4, CDKN2A, MDM2, MET, TP53 1
(ties by name). Memo sort over these rows: P2 (1,1,1,0,1,…) before P1 (1,1,1,0,0,…) before
P3 (1,0,0,1,…) before P5 (nothing).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from sqlalchemy import event

from tumorboard.errors import InputError
from tumorboard.registry.models import (
    Analysis,
    CohortSnapshot,
    Diagnosis,
    Finding,
    Patient,
    Sample,
    TargetEvidence,
)
from tumorboard.report import oncoprint as op
from tumorboard.workspace import Workspace

GENES = ["ERBB2", "EWSR1", "WT1", "CDK4", "CDKN2A", "MDM2", "MET", "TP53"]


@pytest.fixture
def registry(sqlite_workspace: Workspace) -> Workspace:
    with sqlite_workspace.session() as s:
        cohort = CohortSnapshot(digest="d1", n_samples=4)
        s.add(cohort)
        patients = {}
        for key, code in (("P1", "DSRCT"), ("P2", "DSRCT"), ("P3", "DDLS"), ("P4", "DDLS"),
                          ("P5", "SYNS")):
            p = Patient(pseudonym=key, sex="female")
            p.diagnoses.append(Diagnosis(histology="x", oncotree_code=code,
                                         oncotree_version="v"))
            p.samples.append(Sample(sample_key=f"{key}-T1", sample_type="tumour"))
            p.samples.append(Sample(sample_key=f"{key}-T2", sample_type="tumour"))
            s.add(p)
            patients[key] = p
        s.flush()

        def analysis(key: str, findings: list[tuple[str, str, str, str]],
                     targets: list[tuple[str, str, bool, int]] = ()) -> None:
            p = patients[key]
            a = Analysis(patient_id=p.id, cohort_id=cohort.id, software_version="0")
            s.add(a)
            s.flush()
            for layer, gene, kind, call, *feature in findings:
                s.add(Finding(analysis_id=a.id, patient_id=p.id, layer=layer, gene=gene,
                              kind=kind, call=call, feature=feature[0] if feature else gene))
            for gene, state, kinase, sample in targets:
                s.add(TargetEvidence(analysis_id=a.id, patient_id=p.id,
                                     sample_id=p.samples[sample].id, gene=gene, state=state,
                                     is_antigen=not kinase, is_kinase=kinase))

        analysis("P1", [("copy_number", "MDM2", "amplification", "focal")])  # superseded
        analysis("P1", [("fusions", "EWSR1", "fusion", "entity_defining", "EWSR1::WT1"),
                        ("variants", "TP53", "mutation", "hotspot", "TP53 p.Arg175His"),
                        ("variants", "KRAS", "mutation", "vus", "KRAS p.Ala59Thr"),
                        ("expression", "ERBB2", "overexpression", "high"),
                        ("expression", "FOO1", "overexpression", "high"),
                        ("copy_number", "CDK4", "gain", "arm_level")],
                 [("ERBB2", "expressed_activation_unknown", False, 0)])
        analysis("P2", [("fusions", "EWSR1", "fusion", "entity_defining", "EWSR1::WT1"),
                        ("copy_number", "CDKN2A", "deletion", "focal"),
                        ("phosphoproteome", "MET", "activation", "activated"),
                        ("proteome", "ERBB2", "protein_high", "high")],
                 [("ERBB2", "not_expressed", False, 0),
                  ("ERBB2", "expressed_not_activated", False, 1),
                  ("MET", "activated", True, 0)])
        analysis("P3", [("copy_number", "MDM2", "amplification", "focal"),
                        ("copy_number", "CDK4", "amplification", "focal"),
                        ("proteome", "ERBB2", "protein_high", "high")])
        analysis("P5", [("copy_number", "TP53", "copy_number", "neutral")])
        s.commit()
    return sqlite_workspace


def test_matrix_counts_the_latest_analysis_in_closed_form(registry: Workspace) -> None:
    with registry.session() as s:
        m = op.alteration_matrix(s)
    assert list(m.columns) == op.MATRIX_COLUMNS
    assert sorted(set(m["patient"])) == ["P1", "P2", "P3", "P5"]  # P4 is not profiled
    assert len(m) == 4 * len(GENES)  # every profiled patient has a cell for every gene
    summary = op.gene_summary(m)
    assert summary["gene"].tolist() == GENES
    assert summary["altered"].tolist() == [3, 2, 2, 1, 1, 1, 1, 1]
    assert summary.loc[0, "share_altered"] == pytest.approx(0.75)
    cell = m.set_index(["patient", "gene"])
    assert cell.loc[("P1", "EWSR1"), "fusion"] and cell.loc[("P1", "WT1"), "fusion"]
    assert not cell.loc[("P1", "MDM2"), "altered"]  # only in the superseded analysis
    assert not cell.loc[("P1", "CDK4"), "altered"]  # arm-level gain
    assert cell.loc[("P3", "CDK4"), "amplification"]
    assert cell.loc[("P2", "CDKN2A"), "deletion"] and cell.loc[("P2", "MET"), "activation"]
    assert cell.loc[("P1", "ERBB2"), "overexpression"]
    assert cell.loc[("P2", "ERBB2"), "protein_high"]
    assert cell.loc[("P1", "TP53"), "mutation"]
    assert cell.loc[("P1", "TP53"), "features"] == "TP53 p.Arg175His"
    assert cell.loc[("P5", "TP53"), "features"] == ""
    assert cell.loc[("P1", "ERBB2"), "target_state"] == "expressed_activation_unknown"
    # two samples: the strongest state wins
    assert cell.loc[("P2", "ERBB2"), "target_state"] == "expressed_not_activated"
    assert cell.loc[("P2", "MET"), "target_state"] == "activated"
    assert cell.loc[("P3", "MET"), "target_state"] is None
    assert cell.loc[("P3", "MDM2"), "entity"] == "DDLS"
    assert "KRAS" not in set(m["gene"]) and "FOO1" not in set(m["gene"])


def test_matrix_options_select_patients_and_genes(registry: Workspace) -> None:
    with registry.session() as s:
        ddls = op.alteration_matrix(s, entity="ddls")
        some = op.alteration_matrix(s, patients=["P1", "P5"], max_genes=2)
        chosen = op.alteration_matrix(s, genes=["MDM2", "KRAS"])
        everything = op.alteration_matrix(s, expression_targets_only=False)
        nobody = op.alteration_matrix(s, entity="NOPE")
        assert op.patients_of_entity(s, "DSRCT") == ["P1", "P2"]
        with pytest.raises(InputError, match="max_genes 0 is out of range"):
            op.alteration_matrix(s, max_genes=0)
    assert set(ddls["patient"]) == {"P3"}
    assert sorted(set(ddls["gene"])) == ["CDK4", "ERBB2", "MDM2"]
    assert sorted(set(some["patient"])) == ["P1", "P5"]
    assert op.gene_summary(some)["gene"].tolist() == ["ERBB2", "EWSR1"]  # EWSR1 < TP53, WT1
    assert op.gene_summary(chosen).set_index("gene")["altered"].to_dict() == {
        "MDM2": 1, "KRAS": 0}
    assert "FOO1" in set(everything["gene"])
    assert nobody.empty and list(nobody.columns) == op.MATRIX_COLUMNS


def test_matrix_takes_a_bounded_number_of_queries(registry: Workspace) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(registry.engine, "before_cursor_execute", count)
    try:
        with registry.session() as s:
            op.alteration_matrix(s)
    finally:
        event.remove(registry.engine, "before_cursor_execute", count)
    assert len(statements) == 3  # patients, findings, target states: not one per patient


def test_memo_sort_orders_patients_lexicographically_on_the_pattern(
        registry: Workspace) -> None:
    with registry.session() as s:
        m = op.alteration_matrix(s)
    genes, patients = op.oncoprint_order(m)
    assert genes == GENES
    assert patients == ["P2", "P1", "P3", "P5"]


def test_memo_sort_makes_a_staircase_of_exclusive_alterations() -> None:
    rows = []
    altered = {"A": {"p3", "p1"}, "B": {"p2", "p4"}, "C": {"p4"}}
    for gene, who in altered.items():
        for p in ("p1", "p2", "p3", "p4", "p5"):
            rows.append({"patient": p, "gene": gene, "altered": p in who,
                         **dict.fromkeys(op.KINDS, False), "mutation": p in who})
    genes, patients = op.oncoprint_order(pd.DataFrame(rows))
    assert genes == ["A", "B", "C"]
    # A first (ties p1 < p3), then B with C before B alone, then the unaltered
    assert patients == ["p1", "p3", "p4", "p2", "p5"]


def test_plot_has_one_column_per_patient_and_legend(registry: Workspace) -> None:
    with registry.session() as s:
        m = op.alteration_matrix(s)
    fig = op.oncoprint_plot(m, image="figure")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["P2", "P1", "P3", "P5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "entity", "ERBB2  75%", "EWSR1  50%", "WT1  50%", "CDK4  25%", "CDKN2A  25%",
        "MDM2  25%", "MET  25%", "TP53  25%"]
    svg = op.oncoprint_plot(m, simulated=True)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    text = " ".join(t for t in root.itertext())
    for word in ("P1", "P5", "amplification", "deep deletion", "fusion", "DSRCT", "DDLS",
                 "SIMULATED"):
        assert word in text
    assert 'id="oncoprint-cells"' in svg and 'id="oncoprint-entity"' in svg


def test_plot_refuses_what_is_not_a_matrix() -> None:
    with pytest.raises(InputError, match="matrix is empty"):
        op.oncoprint_plot(pd.DataFrame(columns=op.MATRIX_COLUMNS))
    with pytest.raises(InputError, match="matrix has no column 'altered'"):
        op.oncoprint_plot(pd.DataFrame({"patient": ["P1"], "gene": ["A"]}))
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        op.oncoprint_plot([1, 2])

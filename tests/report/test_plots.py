"""Per-patient SVG plots: valid SVG with the patient's genes, and 'no data' SVGs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from tumorboard.registry.models import (
    Analysis,
    CohortSnapshot,
    Patient,
    Sample,
    TargetEvidence,
)
from tumorboard.report import plots
from tumorboard.workspace import Workspace

SVG = "{http://www.w3.org/2000/svg}svg"


def _target(gene: str, state: str, **values: object) -> dict[str, object]:
    record: dict[str, object] = {
        "gene": gene, "state": state, "antigen": False, "kinase": False, "dna": [],
        "rna_tpm": None, "rna_z": None, "rna_percentile": None, "rna_percentile_entity": None,
        "protein_z": None, "activation_score": None, "activation_call": None,
    }
    record.update(values)
    return record


TARGETS = [
    _target("ERBB2", "expressed_not_activated", antigen=True, rna_z=1.5, rna_percentile=65.6,
            rna_percentile_entity=25.0, protein_z=0.56, activation_score=0.75),
    _target("MET", "activated", kinase=True, rna_z=3.1, rna_percentile=97.0,
            activation_score=2.4),
    _target("FGFR1", "activated", dna=[{"kind": "gain", "feature": "FGFR1 gain"}],
            protein_z=1.2, activation_score=2.0),
    _target("EGFR", "activated", dna=[{"kind": "loss", "feature": "EGFR loss"}],
            activation_score=4.9),
    _target("MSLN", "expressed_activation_unknown", antigen=True, rna_z=1.54,
            rna_percentile=88.5),
    _target("ACTB", "expressed_activation_unknown", rna_z=0.1, rna_percentile=50.0,
            activation_score=0.1),  # not a target gene to plot: no antigen/kinase/DNA
]


def _parse(svg: str) -> tuple[ET.Element, str]:
    root = ET.fromstring(svg)
    assert root.tag == SVG
    return root, "".join(root.itertext())


def test_plot_targets_keeps_antigens_kinases_and_dna_genes() -> None:
    assert [t["gene"] for t in plots.plot_targets(TARGETS)] == [
        "ERBB2", "MET", "FGFR1", "EGFR", "MSLN"]


def test_percentile_plot_names_genes_and_lists_those_without_rna() -> None:
    _root, text = _parse(plots.percentile_plot(plots.plot_targets(TARGETS)))
    for gene in ("ERBB2", "MET", "MSLN"):
        assert gene in text
    assert "no RNA: EGFR, FGFR1" in text
    assert "RNA percentile" in text


def test_activation_plot_labels_genes_with_activation_and_draws_cohort() -> None:
    cohort = pd.DataFrame({"patient_id": [2, 3], "gene": ["ERBB2", "MET"],
                           "rna_z": [0.2, None], "protein_z": [None, 1.0],
                           "activation_score": [-0.5, 1.1]})
    svg = plots.activation_plot(plots.plot_targets(TARGETS), cohort)
    _root, text = _parse(svg)
    for gene in ("ERBB2", "MET", "FGFR1", "EGFR"):
        assert gene in text
    assert "MSLN" not in text  # no activation score: not on this plot
    assert "no z" in text  # EGFR has neither RNA nor protein z
    assert "other patients, same genes" in text
    assert "other patients" not in _parse(plots.activation_plot(TARGETS[:2]))[1]
    assert svg.startswith("<svg ")  # no XML declaration inside HTML


def test_copy_number_plot_spans_chromosomes_and_names_genes() -> None:
    segments = pd.DataFrame({
        "sample_id": ["S1", "S1", "S1", "S2"], "chrom": ["chr1", "chr7", "chrX", "chr8"],
        "start": [1, 1, 1, 1], "end": [248_956_422, 60_000_000, 156_040_895, 145_138_636],
        "log2_ratio": [0.0, -0.6, 3.5, 0.4],
    })
    _root, text = _parse(plots.copy_number_plot(segments, genes=["EGFR", "MYC"]))
    assert "S1" in text and "S2" in text
    assert "EGFR, MYC" in text
    for label in ("1", "22", "X"):
        assert label in text.split()


@pytest.mark.parametrize(("svg", "message"), [
    (plots.percentile_plot([]), "no RNA percentiles"),
    (plots.activation_plot([], None), "no activation scores"),
    (plots.activation_plot([_target("MSLN", "unknown", rna_z=1.0)], pd.DataFrame()),
     "no activation scores"),
    (plots.copy_number_plot(pd.DataFrame(columns=["sample_id", "chrom", "start", "end",
                                                  "log2_ratio"])), "no copy-number segments"),
    (plots.copy_number_plot(pd.DataFrame({"sample_id": ["S1"], "chrom": ["chrM"], "start": [1],
                                          "end": [100], "log2_ratio": [1.0]})),
     "no copy-number segments on chromosomes"),
])
def test_empty_inputs_give_a_small_no_data_svg(svg: str, message: str) -> None:
    root, text = _parse(svg)
    assert message in text
    assert int(root.get("height")) < 100


def test_no_data_svg_escapes_text() -> None:
    _root, text = _parse(plots.no_data_svg("a < b & c"))
    assert text == "a < b & c"


def test_cohort_target_points_reads_other_patients_latest_analysis(
        sqlite_workspace: Workspace) -> None:
    with sqlite_workspace.session() as s:
        cohort = CohortSnapshot(digest="d1", n_samples=2)
        s.add(cohort)
        patients = {}
        for key in ("P1", "P2"):
            p = Patient(pseudonym=key, sex="female")
            p.samples.append(Sample(sample_key=f"{key}-T1", sample_type="tumour"))
            s.add(p)
            patients[key] = p
        s.flush()

        def analysis(p: Patient, genes: dict[str, float]) -> None:
            a = Analysis(patient_id=p.id, cohort_id=cohort.id, software_version="0")
            s.add(a)
            s.flush()
            for gene, score in genes.items():
                s.add(TargetEvidence(analysis_id=a.id, patient_id=p.id,
                                     sample_id=p.samples[0].id, gene=gene, state="unknown",
                                     rna_z=1.0, activation_score=score))

        analysis(patients["P1"], {"MET": 1.0})
        analysis(patients["P2"], {"MET": 5.0, "ERBB2": 6.0})  # older analysis of P2
        analysis(patients["P2"], {"MET": 2.0, "ERBB2": 3.0, "ALK": 4.0})
        s.commit()
        points = plots.cohort_target_points(s, "P1", ["MET", "ERBB2"])
        assert plots.cohort_target_points(s, "P1", []).empty
    assert sorted(zip(points["gene"], points["activation_score"], strict=True)) == [
        ("ERBB2", 3.0), ("MET", 2.0)]

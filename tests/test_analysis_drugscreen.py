"""Drug screens end to end: cases with screen files imported, ``analyze``, findings stored.

Twelve patients, each with one organoid screen (raw CellTiter-Glo-like luminescence, DMSO and
benzethonium chloride plate controls, roles inferred from the drug names) of pazopanib and
doxorubicin. Built so that PDO-S01 responds to pazopanib far beyond the others (sensitive)
and PDO-S02 does not respond to doxorubicin, to which every other model responds
(resistant). The screens are written here (a minimal CSV per case) so the test depends on
the reader and the layer only, not on the simulator.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tumorboard.analysis import COHORT_LAYERS, _parameters, analyze
from tumorboard.executor import Executor
from tumorboard.intake import import_case
from tumorboard.registry.models import Assay, Finding, Patient
from tumorboard.workspace import Workspace

LOG10_CONC = np.linspace(-3.0, 1.0, 7)
NEG, POS = 20_000.0, 400.0
N_PATIENTS = 12

CASE = """\
tumorboard_case: 1
genome_build: GRCh38
patient:
  id: {patient}
  sex: male
  year_of_birth: 1999
diagnosis:
  histology: {histology}
  oncotree_code: {code}
  date: 2024-03-01
  stage: metastatic
  metastatic_sites: [peritoneum]
samples:
  - id: {patient}-T1
    type: tumour
    origin: primary
    tumour_cell_content: 0.7
    files:
      - layer: drug_screen
        format: drug_screen
        path: drug_screen.csv
        tool: CellTiter-Glo 3D
        options: {{model: PDO-{tag}, model_type: organoid}}
"""


def _viability(x: float, top: float, bottom: float, hill: float, ec50: float) -> float:
    return bottom + (top - bottom) / (1.0 + 10.0 ** (hill * (x - ec50)))


def _screen(i: int, rng: np.random.Generator) -> str:
    """One model's plate: 4 DMSO and 4 kill wells, 7 concentrations x 2 replicates a drug."""
    lines = ["plate,well,drug,concentration_um,signal"]
    wells = (f"{row}{col:02d}" for row in "ABCDEFGHIJKLMNOP" for col in range(1, 25))

    def add(drug: str, conc: str, viability: float) -> None:
        signal = POS + (NEG - POS) * viability / 100.0 + rng.normal(0.0, 150.0)
        lines.append(f"PL1,{next(wells)},{drug},{conc},{signal:.1f}")

    for _ in range(4):
        add("DMSO", "0", 100.0)
        add("benzethonium chloride", "", 0.0)
    pazopanib = (100.0, 0.0, 1.5, -2.0) if i == 1 else (100.0, 60.0 + i, 1.0, 0.3 + 0.05 * i)
    doxorubicin = None if i == 2 else (100.0, 5.0, 1.2, -1.2 + 0.06 * i)
    for x in LOG10_CONC:
        for _ in range(2):
            add("Pazopanib hydrochloride", f"{10.0 ** x:.6g}", _viability(x, *pazopanib))
            add("Doxorubicin", f"{10.0 ** x:.6g}",
                100.0 if doxorubicin is None else _viability(x, *doxorubicin))
    return "\n".join(lines) + "\n"


@pytest.fixture
def screened(workspace: Workspace, tmp_path: Path) -> Workspace:
    rng = np.random.default_rng(2026)
    for i in range(1, N_PATIENTS + 1):
        code, histology = (("DSRCT", "Desmoplastic small round cell tumour") if i % 3 else
                           ("SYNS", "Synovial sarcoma"))
        folder = tmp_path / "cases" / f"P{i:02d}"
        folder.mkdir(parents=True)
        (folder / "case.yaml").write_text(
            textwrap.dedent(CASE.format(patient=f"{code}-{i:03d}", code=code,
                                        histology=histology, tag=f"S{i:02d}")),
            encoding="utf-8")
        (folder / "drug_screen.csv").write_text(_screen(i, rng), encoding="utf-8")
        import_case(workspace, folder)
    return workspace


def _findings(ws: Workspace) -> list:
    with ws.session() as s:
        return s.execute(select(Patient.pseudonym, Finding.feature, Finding.kind,
                                Finding.value, Finding.z_score, Finding.reference_size,
                                Finding.percentile_entity, Finding.call, Finding.provenance)
                         .join(Patient, Patient.id == Finding.patient_id)
                         .where(Finding.layer == "drug_screen")).all()


def test_analyze_stores_drug_screen_findings(screened: Workspace) -> None:
    result = analyze(screened)
    assert not result.failed
    rows = _findings(screened)
    assert len(rows) == 2 * N_PATIENTS
    assert result.by_kind["drug_sensitivity"] == 2 * N_PATIENTS
    assert {r.kind for r in rows} == {"drug_sensitivity"}
    assert {r.feature for r in rows} == {"pazopanib", "doxorubicin"}
    calls = {(r.pseudonym, r.feature): r.call for r in rows}
    assert calls[("DSRCT-001", "pazopanib")] == "sensitive"
    assert calls[("DSRCT-002", "doxorubicin")] == "resistant"
    assert all(r.reference_size == N_PATIENTS - 1 for r in rows)
    with screened.session() as s:
        uids = dict(s.execute(select(Patient.pseudonym, Assay.uid)
                              .join(Assay.sample).join(Patient)
                              .where(Assay.layer == "drug_screen")).all())
    for r in rows:
        prov = r.provenance
        assert prov["assay"] == uids[r.pseudonym]
        assert prov["model"] == f"PDO-S{int(r.pseudonym[-3:]):02d}"
        assert prov["plates"][0]["qc"] == "pass"
        assert prov["dss"]["dss3"] == pytest.approx(r.value, rel=1e-12)
        assert len(prov["cohort"]["p50"]) == 40 and prov["cohort"]["n"] == N_PATIENTS
    sensitive = next(r for r in rows if (r.pseudonym, r.feature) == ("DSRCT-001", "pazopanib"))
    assert sensitive.provenance["drug_as_given"] == "Pazopanib hydrochloride"
    assert sensitive.z_score >= 1.5 and sensitive.value >= 10.0
    # the entity percentile is among the DSRCT models (8 of 12)
    assert sensitive.percentile_entity == pytest.approx(100.0 * 7.5 / 8)


def test_one_patient_is_scored_against_the_whole_cohort(screened: Workspace) -> None:
    analyze(screened, ["DSRCT-002"])
    rows = _findings(screened)
    assert {r.pseudonym for r in rows} == {"DSRCT-002"}
    assert {r.feature: r.call for r in rows}["doxorubicin"] == "resistant"
    assert all(r.reference_size == N_PATIENTS - 1 for r in rows)


def test_drug_screen_is_the_last_cohort_layer() -> None:
    assert COHORT_LAYERS[-1] == "drug_screen"
    assert "drug_screen_step" in _parameters()["layers"]


class _ThreeWorkers(Executor):
    """In process, but claims three workers: the fits are then split into parts."""

    @property
    def workers(self) -> int:
        return 3


def test_fits_split_over_workers_give_the_same_findings(screened: Workspace) -> None:
    analyze(screened)
    before = sorted(_findings(screened), key=lambda r: (r.pseudonym, r.feature))
    analyze(screened, executor=_ThreeWorkers())
    after = sorted(_findings(screened), key=lambda r: (r.pseudonym, r.feature))
    assert [tuple(r) for r in before] == [tuple(r) for r in after]

"""Cohort outcome documents and pages on a small simulated LAT registry and one patient."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.outcomes.test_records import EVENTS, LAT, LINES, PATIENTS, _write
from tumorboard.config import Settings
from tumorboard.errors import InputError
from tumorboard.outcomes import cohort, records
from tumorboard.report import outcomes as pages
from tumorboard.report.document import outcome_summary
from tumorboard.report.mtb import outcome_figures
from tumorboard.simulate import simulate_lat_registry
from tumorboard.workspace import Workspace

RECIST = """patient,assessment_date,lesion_id,kind,site,lymph_node,diameter_mm,status,line
P1,2020-03-15,L1,target,liver,no,40,,2
P1,2020-03-15,L2,target,peritoneum,no,30,,2
P1,2020-06-10,L1,target,liver,no,25,,2
P1,2020-06-10,L2,target,peritoneum,no,20,,2
P1,2020-09-10,L1,target,liver,no,24,,2
P1,2020-09-10,L2,target,peritoneum,no,19,,2
P1,2021-01-15,L1,target,liver,no,35,,2
P1,2021-01-15,L2,target,peritoneum,no,25,,2
"""
PLASMA = "patient,sample,collected,variant,alt_reads,depth,tumour_vaf\n" + "".join(
    f"P1,{s},{d},chr1:{1000 + i}:C>T,{a},20000,0.5\n"
    for s, d, a in (("PL1", "2020-03-15", 200), ("PL2", "2020-06-10", 2),
                    ("PL3", "2020-12-01", 60))
    for i in range(8))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    tmp = tmp_path_factory.mktemp("cohort")
    ws = Workspace.init(Settings.resolve(tmp / "ws", None))
    lat_dir = tmp / "lat"
    simulate_lat_registry(lat_dir, n_patients=120, seed=7)
    records.import_outcome_files(ws, sorted(lat_dir.glob("*.csv")), source="simulated")
    records.import_outcome_files(ws, _write(tmp, patients=PATIENTS, lines=LINES,
                                            local_therapies=LAT, events=EVENTS,
                                            recist=RECIST, plasma=PLASMA))
    return ws


def test_survival_document_has_km_subgroups_and_cox(registry: Workspace) -> None:
    with registry.session() as s:
        lat = cohort.select_patients(s, ["SIM-LAT-*"])
        doc = cohort.survival_analysis(s, endpoint="pfs", patients=lat)
    assert doc["n"] == 120 and len(doc["patients"]) == 120
    assert {"overall", "site", "treatment-free interval"} <= set(doc["km"])
    assert doc["km"]["site"].logrank is not None
    assert set(doc["subgroups"]["name"]) >= {"treatment_free_interval", "site"}
    assert doc["cox"].n == 120 and "tfi_12_months" in set(doc["cox"].summary["covariate"])
    page = pages.cohort_page(doc, simulated=True)
    assert page["simulated"] and any("<svg" in f for sec in page["sections"]
                                     for f in sec.get("figures", []))


def test_patient_selection_refuses_no_match(registry: Workspace) -> None:
    with registry.session() as s, pytest.raises(InputError, match="no patient matches"):
        cohort.select_patients(s, ["NOBODY-*"])


def test_prognostic_document_and_page(registry: Workspace) -> None:
    with registry.session() as s:
        doc = cohort.prognostic_analysis(s, n_bootstrap=10,
                                         patients=cohort.select_patients(s, ["SIM-LAT-*"]))
    v = doc["tables"]["validation"].set_index("metric")
    assert v.loc["harrell_c", "corrected"] <= v.loc["harrell_c", "apparent"]
    assert set(doc["km"].medians["group"]) == {"low", "intermediate", "high"}
    html = pages.render_cohort_page(doc, simulated=True)
    assert "SIMULATED DATA" in html and "Calibration" in html


def test_course_summary_and_timeline_figure(registry: Workspace) -> None:
    with registry.session() as s:
        course = cohort.patient_course(s, "P1")
    resp = course["responses"]
    # baseline 70 mm; 45 (-36 %), 43 (-39 %), 60 mm (+40 % over the 43 mm nadir)
    assert list(resp["overall"]) == ["baseline", "PR", "PR", "PD"]
    assert (resp["line"] == 2).all()
    ct = course["ctdna"].set_index("sample")
    assert ct.loc["PL1", "mrd"] == "positive"
    assert ct.loc["PL1", "tumour_fraction"] > ct.loc["PL2", "tumour_fraction"]
    summary = outcome_summary(course)
    assert [r["line"] for r in summary["lines"]] == [1, 2]
    assert summary["lines"][0]["pfs_months"] == pytest.approx(
        summary["lines"][0]["pfs_days"] / 30.4375)
    assert summary["ratios"][0]["verdict"] == "no_benefit"
    kinds = {e["kind"] for e in summary["events"]}
    assert {"progression", "death", "response", "ctdna_positive"} <= kinds
    doc = {"patient": {"patient": "P1"}, "outcomes": summary}
    assert "<svg" in outcome_figures(doc)["outcome_timeline"]


def test_pfsr_and_ctdna_pages(registry: Workspace, tmp_path: Path) -> None:
    with registry.session() as s:
        pf = cohort.pfsr_analysis(s, patients=["P1", "P2"])
        ct = cohort.ctdna_analysis(s, ["P1"])
    assert pf["summary"]["n_guided"] == 1
    paths = pages.write_cohort_report(pf, tmp_path, name="pfsr-test")
    assert paths["html"].read_text().count("<svg") >= 1
    assert pd.read_json(paths["json"], typ="series")["summary"]["n_guided"] == 1
    assert len(ct["fractions"]) == 3 and len(ct["responses"]) == 2
    html = pages.render_cohort_page(ct)
    assert "Lead time" in html and "SIMULATED" not in html

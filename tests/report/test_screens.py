"""Drug screens for the eye: the report section, the dose–response panels and the cohort
DSS heatmap, from hand-built findings (spec §3 of issue 9) and a hand-built registry.

The findings below are constructed so that everything expected follows by hand:

=====  ========  ===========  =====  ==========  ================================
model  entity    drug         DSS    call        notes
=====  ========  ===========  =====  ==========  ================================
PDO-A  DSRCT     pazopanib    23.4   sensitive   matches recommendation #1
PDO-A  DSRCT     doxorubicin   0.0   resistant
PDO-A  DSRCT     trabectedin  12.0   active      combination rule? no: single
PDO-A  DSRCT     dabrafenib    5.0   inactive    "trametinib + dabrafenib" below
       + trametinib                              matches rec #2 (order-free)
PDO-A  DSRCT     olaparib      –     fit_failed
PDO-B  DSRCT     pazopanib     8.0   inactive
PDO-B  DSRCT     doxorubicin  30.0   sensitive
PDO-C  SYNS      pazopanib    15.0   active
PDO-C  SYNS      doxorubicin  20.0   qc_failed   a plate with Z' 0.31
PDO-D  (none)    pazopanib    10.0   active
=====  ========  ===========  =====  ==========  ================================

Heatmap order: DSRCT (2 models) before SYNS (1), models without an entity last; within
DSRCT by name: PDO-A, PDO-B. Drug medians over usable DSS (qc_failed / fit_failed left out):
doxorubicin median(0, 30) = 15, pazopanib median(23.4, 8, 15, 10) = 12.5, trabectedin 12,
dabrafenib + trametinib 5, olaparib none (last).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tumorboard.cli import app
from tumorboard.model import findings_frame
from tumorboard.registry.models import (
    Analysis,
    CohortSnapshot,
    Diagnosis,
    Finding,
    Patient,
    Sample,
)
from tumorboard.registry.queries import patient_findings
from tumorboard.report import mtb
from tumorboard.report import screens as sc
from tumorboard.report.document import mtb_report
from tumorboard.workspace import Workspace

DATA = Path(__file__).parents[1] / "data" / "report"
GRID = [float(x) for x in np.linspace(-3.0, 1.0, 40)]
TOP, BOTTOM, HILL, EC50 = 100.0, 10.0, 1.2, -1.0


def _provenance(model: str, drug: str, *, status: str = "fitted",
                z_primes: tuple[float, ...] = (0.72,)) -> dict[str, Any]:
    fitted = status == "fitted"
    fit = {"status": status, "reason": None if fitted else "too few points",
           "top": TOP if status != "failed" else None,
           "bottom": BOTTOM if fitted else (TOP if status == "flat" else None),
           "hill": HILL if fitted else None, "log10_ec50": EC50 if fitted else None,
           "log10_cmin": -3.0, "log10_cmax": 1.0, "n_points": 10, "n_concentrations": 5,
           "r2": 0.97 if fitted else None, "rmse": 3.0, "f_pvalue": 1e-4,
           "ic50_um": 0.11 if fitted else None, "ic50_censored": None, "emax": 88.0,
           "ec50_um": 0.1 if fitted else None, "auc": 0.45}
    return {"method": "4-parameter log-logistic fit; DSS3 (Yadav 2014)", "assay": "a1",
            "model": model, "model_type": "organoid", "drug_as_given": drug,
            "agents": sorted(drug.split(" + ")), "fit": fit, "cmin_um": 0.001, "cmax_um": 10.0,
            "dss": {"dss3": 1.0, "threshold_pct": 10.0},
            "plates": [{"plate": f"P{i}", "z_prime": z,
                        "qc": "pass" if z >= 0.5 else "fail"} for i, z in enumerate(z_primes)],
            "points": {"conc_um": [0.001, 0.01, 0.1, 1.0, 10.0] * 2,
                       "viability": [99, 95, 60, 20, 12, 101, 93, 55, 22, 11]},
            "cohort": {"n": 12, "dss_median_others": 8.0, "log10_conc": GRID,
                       "p10": [40.0] * 40, "p50": [75.0] * 40, "p90": [100.0] * 40},
            "thresholds": {"dss_active": 10.0, "sensitive_z": 1.5, "z_prime_min": 0.5,
                           "min_reference": 10}}


#: (patient, entity, model, drug, DSS, call, z, fit status, plate Z's)
SCREENS = [
    ("P1", "DSRCT", "PDO-A", "pazopanib", 23.4, "sensitive", 2.1, "fitted", (0.72,)),
    ("P1", "DSRCT", "PDO-A", "doxorubicin", 0.0, "resistant", -1.9, "fitted", (0.72,)),
    ("P1", "DSRCT", "PDO-A", "trabectedin", 12.0, "active", 0.4, "fitted", (0.72,)),
    ("P1", "DSRCT", "PDO-A", "dabrafenib + trametinib", 5.0, "inactive", -0.5, "flat",
     (0.72,)),
    ("P1", "DSRCT", "PDO-A", "olaparib", None, "fit_failed", None, "failed", (0.72,)),
    ("P2", "DSRCT", "PDO-B", "pazopanib", 8.0, "inactive", -0.2, "fitted", (0.8,)),
    ("P2", "DSRCT", "PDO-B", "doxorubicin", 30.0, "sensitive", 1.8, "fitted", (0.8,)),
    ("P3", "SYNS", "PDO-C", "pazopanib", 15.0, "active", 0.6, "fitted", (0.7,)),
    ("P3", "SYNS", "PDO-C", "doxorubicin", 20.0, "qc_failed", None, "fitted", (0.7, 0.31)),
    ("P4", None, "PDO-D", "pazopanib", 10.0, "active", 0.0, "fitted", (0.9,)),
]


def _findings(patient: str | None = None) -> pd.DataFrame:
    rows = [{"patient": p, "sample": f"{p}-T1", "layer": "drug_screen", "gene": None,
             "feature": drug, "kind": "drug_sensitivity", "value": dss, "z_score": z,
             "percentile_cohort": 92.0 if call == "sensitive" else 50.0,
             "percentile_entity": 80.0, "reference_size": 12, "call": call,
             "provenance": _provenance(model, drug, status=status, z_primes=zp)}
            for p, _, model, drug, dss, call, z, status, zp in SCREENS
            if patient is None or p == patient]
    rows.append({"patient": patient or "P1", "sample": "P1-T1", "layer": "expression",
                 "gene": "ERBB2", "feature": "ERBB2", "kind": "overexpression",
                 "value": 5.0, "call": "high"})
    return findings_frame(pd.DataFrame(rows))


RECS = [{"id": 1, "rank": 1, "therapy": "pazopanib", "agents": ["pazopanib"],
         "basket": "tyrosine_kinases", "evidence_level": "m2C iv"},
        {"id": 2, "rank": 2, "therapy": "trametinib + dabrafenib",
         "agents": ["trametinib", "dabrafenib"], "basket": "raf_mek_erk",
         "evidence_level": "m2A"},
        {"id": 3, "rank": 3, "therapy": "trabectedin", "agents": ["trabectedin"],
         "basket": "functional_only", "evidence_level": "m3 iv",
         "reason": "Functional evidence only, no molecular rule matched.",
         "functional": [{"model": "PDO-A", "call": "active", "dss": 12.0}]}]


def _cohort_table() -> pd.DataFrame:
    rows = []
    for entity, p in dict.fromkeys((e, p) for p, e, *_ in SCREENS):
        rows += [r | {"entity": entity} for r in sc.screen_rows(_findings(p), curves=False)]
    return pd.DataFrame(rows)


# --- data shaping -------------------------------------------------------------------------


def test_fitted_viability_is_the_stored_4pl() -> None:
    """Closed form: at x = log10 EC50 the 4PL is the midpoint (top + bottom) / 2; far above
    it approaches the bottom; a flat fit is its constant level; a failed one is NaN."""
    fit = _provenance("M", "d")["fit"]
    x = np.array([EC50, EC50 + 1.0, 5.0])
    v = sc.fitted_viability(fit, x)
    assert v[0] == pytest.approx((TOP + BOTTOM) / 2, rel=1e-12)
    # 1 / (1 + 10^1.2) of the span above the bottom, one log unit above the EC50
    assert v[1] == pytest.approx(BOTTOM + (TOP - BOTTOM) / (1 + 10**HILL), rel=1e-12)
    assert v[2] == pytest.approx(BOTTOM, abs=1e-4)
    flat = sc.fitted_viability(_provenance("M", "d", status="flat")["fit"], x)
    np.testing.assert_array_equal(flat, [TOP] * 3)
    assert np.isnan(sc.fitted_viability(_provenance("M", "d", status="failed")["fit"],
                                        x)).all()


def test_screen_rows_read_the_finding_contract() -> None:
    rows = sc.screen_rows(_findings("P1"))
    assert len(rows) == 5  # the expression finding is not a screen
    # sensitive, resistant, active, inactive, fit_failed: CALL_ORDER
    assert [r["call"] for r in rows] == ["sensitive", "resistant", "active", "inactive",
                                         "fit_failed"]
    paz = rows[0]
    assert (paz["model"], paz["drug"], paz["dss"], paz["reference_size"]) == (
        "PDO-A", "pazopanib", 23.4, 12)
    assert paz["ic50_um"] == 0.11 and paz["emax"] == 88.0 and paz["fit_status"] == "fitted"
    assert paz["z_prime_min"] == 0.72 and paz["plate_qc"] == "pass"
    assert paz["curve"]["fit"]["log10_ec50"] == EC50
    assert len(paz["curve"]["cohort"]["p10"]) == 40
    qc = sc.screen_rows(_findings("P3"), curves=False)
    dox = next(r for r in qc if r["drug"] == "doxorubicin")
    assert dox["z_prime_min"] == 0.31 and dox["plate_qc"] == "fail" and "curve" not in dox
    assert sc.screen_rows(findings_frame()) == []


def test_functional_section_links_recommendations_and_picks_the_panels() -> None:
    section = sc.functional_section(_findings("P1"), RECS)
    (model,) = section["models"]
    assert model["model"] == "PDO-A" and model["model_type"] == "organoid"
    by_drug = {d["drug"]: d for d in model["drugs"]}
    assert [r["rank"] for r in by_drug["pazopanib"]["recommendations"]] == [1]
    # the combination is matched whatever the order of its agents
    assert [r["rank"] for r in by_drug["dabrafenib + trametinib"]["recommendations"]] == [2]
    # a functional-only candidate is not a molecular recommendation the drug backs
    assert by_drug["trabectedin"]["recommendations"] == []
    plotted = {d for d, x in by_drug.items() if x["plotted"]}
    assert plotted == {"pazopanib", "doxorubicin", "dabrafenib + trametinib"}
    assert model["n_plotted"] == 3 and model["n_not_plotted"] == 0
    assert [c["therapy"] for c in section["candidates"]] == ["trabectedin"]
    assert section["thresholds"]["sensitive_z"] == 1.5
    # candidates given apart (with registry timestamps) are not listed twice
    again = sc.functional_section(_findings("P1"), RECS,
                                  functional_only=[RECS[2] | {"updated_at": "x"}])
    assert len(again["candidates"]) == 1


def test_functional_section_is_empty_without_screens() -> None:
    no_screens = _findings("P1")
    no_screens = no_screens[no_screens["layer"] != "drug_screen"].reset_index(drop=True)
    assert sc.functional_section(no_screens, RECS) == {}


def test_panels_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sc, "MAX_PANELS", 2)
    (model,) = sc.functional_section(_findings("P1"), RECS)["models"]
    assert model["n_plotted"] == 2 and model["n_not_plotted"] == 1
    # the sensitive and resistant drugs come first in the table, so they are kept
    assert [d["drug"] for d in model["drugs"] if d["plotted"]] == ["pazopanib", "doxorubicin"]


def test_heatmap_order_groups_by_entity_and_sorts_drugs_by_median_dss() -> None:
    rows, drugs = sc.heatmap_order(_cohort_table())
    assert rows == [("DSRCT", "PDO-A"), ("DSRCT", "PDO-B"), ("SYNS", "PDO-C"),
                    ("unknown", "PDO-D")]
    assert drugs == ["doxorubicin", "pazopanib", "trabectedin", "dabrafenib + trametinib",
                     "olaparib"]
    assert sc.heatmap_order(pd.DataFrame()) == ([], [])


# --- figures ------------------------------------------------------------------------------


def _group(svg: str, gid: str) -> ET.Element | None:
    root = ET.fromstring(svg)
    return next((e for e in root.iter() if e.get("id") == gid), None)


def _shapes(group: ET.Element) -> int:
    """Drawn shapes in a collection's group: its paths, or its ``use`` references."""
    tags = [e.tag.rsplit("}", 1)[-1] for e in group.iter() if e is not group]
    return tags.count("use") or tags.count("path")


def test_dose_response_panels_draw_one_curve_band_and_points_per_drug() -> None:
    section = sc.functional_section(_findings("P1"), RECS)
    drugs = [d for d in section["models"][0]["drugs"] if d["plotted"]]
    svg = sc.dose_response_panels(drugs, model="PDO-A")
    ET.fromstring(svg)  # well-formed
    ids = re.findall(r'id="(dr-pdo-a-\d+-[a-z]+)"', svg)
    kinds = pd.Series([i.rsplit("-", 1)[1] for i in ids]).value_counts().to_dict()
    # three panels: three bands, medians and point sets; the flat fit draws its level too
    assert kinds == {"band": 3, "median": 3, "points": 3, "curve": 3}
    assert "DSS 23.4 · sensitive" in svg and "DSS 0.0 · resistant" in svg
    assert "fit flat" in svg


def test_a_failed_fit_has_points_but_no_curve() -> None:
    rows = sc.screen_rows(_findings("P1"))
    failed = [r for r in rows if r["call"] == "fit_failed"]
    svg = sc.dose_response_panels(failed, model="PDO-A", simulated=True)
    assert 'id="dr-pdo-a-0-points"' in svg and 'id="dr-pdo-a-0-curve"' not in svg
    assert "SIMULATED data — not patients · PDO-A: dose–response" in svg
    assert "fit failed" in svg
    assert "no drug to draw" in sc.dose_response_panels([], model="PDO-A")


def test_panel_title_names_dss_call_percentile_and_z() -> None:
    row = sc.screen_rows(_findings("P1"))[0]
    assert sc.panel_title(row) == "pazopanib\nDSS 23.4 · sensitive\npercentile 92 · z 2.1 · n 12"
    bare = {"drug": "olaparib", "dss": None, "call": "fit_failed"}
    assert sc.panel_title(bare) == "olaparib\nDSS – · fit failed"


def test_dss_heatmap_cells_marks_and_grey_cells() -> None:
    table = _cohort_table()
    svg = sc.dss_heatmap(table, simulated=True)
    usable = table[~table["call"].isin(sc.UNUSABLE_CALLS) & table["dss"].notna()]
    assert len(usable) == 8 and len(table) == 10
    assert _shapes(_group(svg, "dss-cells")) == 8
    assert _shapes(_group(svg, "dss-failed")) == 2  # olaparib fit failed, doxorubicin QC
    assert _shapes(_group(svg, "dss-sensitive")) == 2
    assert _shapes(_group(svg, "dss-resistant")) == 1
    assert _shapes(_group(svg, "dss-entity")) == 4
    assert "SIMULATED" in svg and "DSS of 4 models × 5 drugs" in svg
    # models and drugs labelled in heatmap order, top to bottom and left to right
    labels = re.findall(r">([^<>]+)</text>", svg)
    assert [t for t in labels if t.startswith("PDO-")] == ["PDO-A", "PDO-B", "PDO-C", "PDO-D"]
    drugs = ["doxorubicin", "pazopanib", "trabectedin", "dabrafenib + trametinib", "olaparib"]
    assert [t for t in labels if t in drugs] == drugs
    assert "no drug-screen results" in sc.dss_heatmap(table.iloc[0:0])


# --- the MTB report -----------------------------------------------------------------------


def _real_document() -> dict[str, Any]:
    """The stored real report document; rows whose empty keys were dropped get them back."""
    doc = json.loads((DATA / "report_DSRCT-001.json").read_text(encoding="utf-8"))
    keys = ("sample", "gene", "feature", "kind", "value", "z_score", "percentile_cohort",
            "percentile_entity", "reference_size", "call")
    doc["findings"] = {layer: [{k: r.get(k) for k in keys} for r in rows]
                       for layer, rows in doc["findings"].items()}
    return doc


def _with_section(document: dict[str, Any], section: dict[str, Any]) -> dict[str, Any]:
    """A stored document with the section as build_document adds it."""
    return {**document, "functional": section, "methods": [*document["methods"],
                                                           section["method"]]}


def test_report_section_present_with_screens_and_absent_without() -> None:
    base = _real_document()
    plain = mtb.render_html(base, {})
    assert "Functional testing" not in plain
    assert "<h2>4. Key findings per layer</h2>" in plain

    doc = _with_section(base, sc.functional_section(_findings("P1"), RECS))
    assert doc["functional"]["models"][0]["model"] == "PDO-A"
    figures = mtb.screen_figures(doc)
    assert list(figures) == ["screen_PDO-A"]
    html = mtb.render_html(doc, figures)
    headings = re.findall(r"<h2>([^<]*)</h2>", html)
    assert headings[3:6] == ["4. Functional testing (patient-derived models)",
                             "5. Key findings per layer", "6. Data quality"]
    section = html[html.index("4. Functional testing"):html.index("5. Key findings")]
    assert section.count("<tr><td>") == 5 + 1  # five drugs, one candidate
    assert "#1 pazopanib" in section and "#2 trametinib + dabrafenib" in section
    assert "Functional-only candidates" in section and "trabectedin" in section
    assert 'id="dr-pdo-a-0-curve"' in section  # the panels sit in the section
    # the section's figures are not repeated among the target plots
    assert html.count('id="dr-pdo-a-0-curve"') == 1
    json.dumps(doc)  # the JSON report carries it


def test_report_with_screens_renders_as_pdf() -> None:
    base = _real_document()  # shortened: the layout of the other sections is not tested here
    base["findings"] = {layer: rows[:2] for layer, rows in base["findings"].items()}
    base["targets"], base["quality"] = base["targets"][:2], base["quality"][:2]
    doc = _with_section(base, sc.functional_section(_findings("P1"), RECS))
    figures = {k: mtb.markup(v, k, "png")
               for k, v in mtb.screen_figures(doc, image="figure").items()}
    html = mtb.render_html(doc, figures)
    assert html.count('<img style="max-width:100%" alt="screen_PDO-A"') == 1
    pdf = mtb.render_pdf(html)
    assert pdf.startswith(b"%PDF")


# --- the registry and the cohort command --------------------------------------------------


@pytest.fixture
def registry(sqlite_workspace: Workspace) -> Workspace:
    return _build_registry(sqlite_workspace)


def _build_registry(ws: Workspace) -> Workspace:
    """Four patients with the findings of :data:`SCREENS` in their latest analysis; P1 also
    has an older analysis with a screen that must not count; P5 an analysis without one."""
    with ws.session() as s:
        cohort = CohortSnapshot(digest="d1", n_samples=5)
        s.add(cohort)
        patients = {}
        for key, code in (("P1", "DSRCT"), ("P2", "DSRCT"), ("P3", "SYNS"), ("P4", None),
                          ("P5", "LMS")):
            p = Patient(pseudonym=key, sex="male")
            if code:
                p.diagnoses.append(Diagnosis(histology="x", oncotree_code=code,
                                             oncotree_version="v"))
            p.samples.append(Sample(sample_key=f"{key}-T1", sample_type="tumour"))
            s.add(p)
            patients[key] = p
        s.flush()

        def analysis(key: str, findings: pd.DataFrame) -> None:
            p = patients[key]
            a = Analysis(patient_id=p.id, cohort_id=cohort.id, software_version="0")
            s.add(a)
            s.flush()
            for r in findings.to_dict(orient="records"):
                s.add(Finding(
                    analysis_id=a.id, patient_id=p.id, sample_id=p.samples[0].id,
                    layer=r["layer"], gene=r["gene"] if pd.notna(r["gene"]) else None,
                    feature=r["feature"], kind=r["kind"],
                    value=None if pd.isna(r["value"]) else r["value"],
                    z_score=None if pd.isna(r["z_score"]) else r["z_score"],
                    percentile_cohort=r["percentile_cohort"],
                    percentile_entity=r["percentile_entity"],
                    reference_size=None if pd.isna(r["reference_size"])
                    else int(r["reference_size"]),
                    call=r["call"], provenance=r["provenance"]))

        old = _findings("P1").iloc[[0]].assign(feature="imatinib")
        analysis("P1", old)  # superseded
        for key in ("P1", "P2", "P3", "P4"):
            analysis(key, _findings(key))
        analysis("P5", _findings("P5"))  # only the expression finding
        s.commit()
    return ws


def test_cohort_screen_table_reads_the_latest_analyses(workspace: Workspace) -> None:
    """On SQLite and PostgreSQL (the ``workspace`` fixture)."""
    registry = _build_registry(workspace)
    with registry.session() as s:
        table = sc.cohort_screen_table(s)
    assert len(table) == len(SCREENS)
    assert "imatinib" not in set(table["drug"])
    assert dict(zip(table["model"], table["entity"], strict=False)) == {
        "PDO-A": "DSRCT", "PDO-B": "DSRCT", "PDO-C": "SYNS", "PDO-D": None}
    assert sc.heatmap_order(table) == sc.heatmap_order(_cohort_table())


def test_patient_screen_findings(registry: Workspace) -> None:
    with registry.session() as s:
        f = patient_findings(s, "P1", layer="drug_screen")
    assert sorted(f["feature"]) == sorted(d for p, _, _, d, *_ in SCREENS if p == "P1")
    assert set(f["layer"]) == {"drug_screen"}


def test_cohort_screens_command(registry: Workspace) -> None:
    runner = CliRunner()
    ws = str(registry.root)
    result = runner.invoke(app, ["cohort", "screens", "-w", ws, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["kind"] == "drug_screens"
    assert (doc["n_models"], doc["n_patients"], doc["n_drugs"]) == (4, 4, 5)
    assert doc["calls"]["sensitive"] == 2 and doc["calls"]["qc_failed"] == 1
    assert doc["entities"] == {"DSRCT": 2, "SYNS": 1, "unknown": 1}
    assert [m["model"] for m in doc["models"]] == ["PDO-A", "PDO-B", "PDO-C", "PDO-D"]
    assert doc["drugs"][0] == "doxorubicin"
    assert [(r["model"], r["drug"]) for r in doc["screens"][:2]] == [
        ("PDO-A", "doxorubicin"), ("PDO-A", "pazopanib")]
    html_path = Path(doc["pages"]["html"])
    assert html_path == registry.reports_dir / "cohort" / "drug-screens.html"
    html = html_path.read_text(encoding="utf-8")
    assert 'id="dss-cells"' in html and "<script" not in html and "src=\"http" not in html
    assert html.count("<tr><td>") == len(SCREENS)
    assert json.loads(Path(doc["pages"]["json"]).read_text("utf-8"))["n_models"] == 4
    text = runner.invoke(app, ["cohort", "screens", "-w", ws])
    assert text.exit_code == 0
    assert ("4 models of 4 patients screened with 5 drugs: of 10 model–drug results 2 "
            "sensitive, 1 resistant, 2 failed QC or fit") in text.stdout
    assert "drug-screens.html" in text.stdout


def test_cohort_screens_without_screens_is_an_error(sqlite_workspace: Workspace) -> None:
    result = CliRunner().invoke(app, ["cohort", "screens", "-w", str(sqlite_workspace.root)])
    assert result.exit_code == 1
    assert "no drug-screen results in the registry" in result.stderr
    assert "tumorboard analyze" in result.stderr
    assert not (sqlite_workspace.reports_dir / "cohort" / "drug-screens.html").exists()


def test_mtb_report_adds_the_section_from_the_registry(registry: Workspace,
                                                       tmp_path: Path) -> None:
    """build_document adds the section (and its method) when the patient's models were
    screened; the board's signed report is built by the same mtb_report."""
    doc = mtb_report(registry, "P1")
    assert doc["methods"][-1] == sc.METHOD
    (model,) = doc["functional"]["models"]
    assert model["model"] == "PDO-A"
    assert [d["drug"] for d in model["drugs"]] == [
        "pazopanib", "doxorubicin", "trabectedin", "dabrafenib + trametinib", "olaparib"]
    assert "functional" not in mtb_report(registry, "P5")
    paths = mtb.write_report(registry, "P1", formats="html,json", out_dir=tmp_path)
    assert "Functional testing (patient-derived models)" in paths["html"].read_text("utf-8")
    written = json.loads(paths["json"].read_text("utf-8"))
    assert written["functional"]["models"][0]["drugs"][0]["dss"] == 23.4
    assert written["report"]["content_sha256"] == doc["report"]["content_sha256"]


def test_a_dense_heatmap_is_rasterised_with_text_kept(monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    monkeypatch.setattr(sc, "DENSE_CELLS", 5)
    svg = sc.dss_heatmap(_cohort_table())
    assert "<image" in svg
    assert _group(svg, "dss-cells") is None or _shapes(_group(svg, "dss-cells")) == 0
    assert ">PDO-A</text>" in svg and ">pazopanib</text>" in svg


# --- the web cohort page ------------------------------------------------------------------


@pytest.fixture
def viewer(registry: Workspace):
    from fastapi.testclient import TestClient

    from tests.web.conftest import PASSWORD, sign_in
    from tumorboard import accounts
    from tumorboard.registry import db
    from tumorboard.web import create_app

    with db.transaction(registry.engine) as s:
        accounts.add_user(s, "viewer", PASSWORD, role="viewer", display_name="Dr viewer")
    with TestClient(create_app(registry.settings), follow_redirects=False) as client:
        yield sign_in(client, "viewer")


def test_web_cohort_links_the_heatmap_page(viewer) -> None:
    page = viewer.get("/cohort")
    assert page.status_code == 200, page.text
    assert "Drug screens on patient-derived models" in page.text
    assert "4 models of 4 patients, 5 drugs" in page.text
    assert 'href="/cohort/screens"' in page.text
    screens = viewer.get("/cohort/screens")
    assert screens.status_code == 200
    assert '<img src="/cohort/plots/screens.svg"' in screens.text
    assert screens.text.count("<tr><td>") == 5  # one row per drug
    svg = viewer.get("/cohort/plots/screens.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert _shapes(_group(svg.text, "dss-cells")) == 8


def test_web_screens_api_follows_the_filters(viewer) -> None:
    doc = viewer.get("/api/cohort/screens").json()
    assert [m["model"] for m in doc["models"]] == ["PDO-A", "PDO-B", "PDO-C", "PDO-D"]
    assert [d["drug"] for d in doc["drugs"]][:2] == ["doxorubicin", "pazopanib"]
    paz = next(d for d in doc["drugs"] if d["drug"] == "pazopanib")
    assert (paz["models"], paz["median_dss"], paz["sensitive"]) == (4, 12.5, 1)
    assert len(doc["cells"]) == len(SCREENS) and doc["message"] is None
    syns = viewer.get("/api/cohort/screens?entity=SYNS").json()
    assert [m["model"] for m in syns["models"]] == ["PDO-C"]
    none = viewer.get("/api/cohort/screens?entity=LMS").json()
    assert none["models"] == [] and "no screened model" in none["message"]
    page = viewer.get("/cohort/screens?entity=LMS")
    assert page.status_code == 200 and "No drug screens" in page.text
    assert viewer.get("/cohort/plots/screens.svg?entity=LMS").status_code == 200

"""The cohort page: Kaplan–Meier, alteration/target matrix and PFS-ratio waterfall, its SVG
figures and the /api/cohort JSON, on the analysed cohort with and without (simulated)
outcome records."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.conftest import audit_count
from tumorboard.registry.db import transaction
from tumorboard.registry.models import Analysis, Finding, Patient, TherapyLine
from tumorboard.web import create_app
from tumorboard.web.cohort import registry_fingerprint
from tumorboard.workspace import Workspace

ROUTES = ["/cohort", "/cohort/plots/km.svg", "/cohort/plots/oncoprint.svg",
          "/cohort/plots/pfsr.svg", "/api/cohort/matrix", "/api/cohort/survival",
          "/api/cohort/pfsr"]


def import_simulated_outcomes(ws: Workspace, truth, folder: Path) -> None:
    """The simulator's therapy histories of the analysed cohort, imported as the demo does
    (source ``simulated``)."""
    from tumorboard.outcomes.records import import_outcome_files
    from tumorboard.simulate import simulate_outcomes

    simulate_outcomes(folder, truth, seed=20261122)
    import_outcome_files(ws, sorted(folder.glob("*.csv")), source="simulated")


@pytest.fixture
def with_outcomes(sqlite_web_workspace: Workspace, analysed, tmp_path: Path) -> Workspace:
    import_simulated_outcomes(sqlite_web_workspace, analysed[1], tmp_path / "outcomes")
    return sqlite_web_workspace


def _svg(client: TestClient, url: str) -> ET.Element:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def test_page_shows_the_three_sections_and_their_figures(with_outcomes, sqlite_client_as
                                                          ) -> None:
    viewer = sqlite_client_as("viewer")
    r = viewer.get("/cohort")
    assert r.status_code == 200, r.text
    page = r.text
    for title in ("Survival (Kaplan–Meier)", "Alterations and targets",
                  "PFS ratio of MTB-guided lines"):
        assert title in page
    assert "SIMULATED outcome data" in page  # every outcome row came from the simulator
    assert "Overall survival from diagnosis, 18 patients" in page
    assert "not reached" in page or re.search(r'<td class="num">\d+\.\d</td>', page)
    assert "evaluable MTB-guided lines with PFSr ≥ 1.3" in page
    assert "Clopper–Pearson" in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert {re.sub(r"\?.*", "", src) for src in images} == {
        "/cohort/plots/km.svg", "/cohort/plots/oncoprint.svg", "/cohort/plots/pfsr.svg"}
    assert len([s for s in images if "km.svg" in s]) == 2  # overall and by entity
    for src in images:
        text = " ".join(_svg(viewer, src.replace("&amp;", "&")).itertext())
        assert "SIMULATED" in text
    assert "<script" not in page.split("</head>")[1]  # no inline script (CSP)


def test_page_without_outcomes_says_what_is_missing(sqlite_web_workspace, sqlite_client_as
                                                     ) -> None:
    viewer = sqlite_client_as("viewer")
    page = viewer.get("/cohort").text
    assert "No survival estimates: no patient has a diagnosis date and outcome records" in page
    assert "No PFS ratios: no MTB-guided therapy line in the registry yet" in page
    assert "SIMULATED" not in page
    assert "/cohort/plots/oncoprint.svg" in page  # the matrix needs no outcomes
    text = " ".join(_svg(viewer, "/cohort/plots/km.svg").itertext())
    assert "no patient has a diagnosis date" in text
    assert viewer.get("/api/cohort/survival").json()["groups"] == []


def test_matrix_api_agrees_with_the_findings(sqlite_web_workspace, sqlite_client_as) -> None:
    viewer = sqlite_client_as("viewer")
    body = viewer.get("/api/cohort/matrix?genes=EWSR1,WT1,MDM2,CDK4").json()
    with sqlite_web_workspace.session() as s:
        latest = select(func.max(Analysis.id)).group_by(Analysis.patient_id)
        rows = s.execute(select(Patient.pseudonym, Finding.kind, Finding.feature, Finding.gene)
                         .join(Finding, Finding.patient_id == Patient.id)
                         .where(Finding.analysis_id.in_(latest))
                         .where(Finding.kind.in_(["fusion", "amplification"]))).all()
        profiled = sorted(s.scalars(select(Patient.pseudonym).join(
            Analysis, Analysis.patient_id == Patient.id).distinct()))
    expected = {(p, g, "fusion") for p, k, f, _ in rows if k == "fusion"
                for g in f.split("::") if g in {"EWSR1", "WT1"}}
    expected |= {(p, g, "amplification") for p, k, _, g in rows
                 if k == "amplification" and g in {"MDM2", "CDK4"}}
    got = {(c["patient"], c["gene"], kind) for c in body["cells"]
           for kind in ("fusion", "amplification") if c[kind]}
    assert got == expected
    assert body["patients"] == profiled
    assert len(body["cells"]) == 4 * len(profiled)
    genes = {g["gene"]: g for g in body["genes"]}
    assert genes["WT1"]["fusion"] == len({p for p, g, _ in expected if g == "WT1"})
    assert genes["WT1"]["share_altered"] == pytest.approx(genes["WT1"]["altered"]
                                                          / len(profiled))
    default = viewer.get("/api/cohort/matrix?max_genes=5").json()
    assert [g["gene"] for g in default["genes"]][:2] == ["EWSR1", "WT1"]
    assert len(default["genes"]) == 5
    second = viewer.get("/api/cohort/matrix?max_genes=5&per_page=4&page=2").json()
    assert second["patients"] == profiled[4:8]
    assert second["total_patients"] == len(profiled)
    assert {c["patient"] for c in second["cells"]} == set(profiled[4:8])
    assert len(second["cells"]) == 4 * 5
    assert second["genes"] == default["genes"]  # counted over the whole selection


def test_filters_narrow_the_cohort(with_outcomes, sqlite_client_as) -> None:
    viewer = sqlite_client_as("viewer")
    everyone = viewer.get("/api/cohort/matrix").json()["patients"]
    dsrct = viewer.get("/api/cohort/matrix?entity=DSRCT").json()["patients"]
    pattern = viewer.get("/api/cohort/matrix?patients=DSRCT-00*").json()["patients"]
    assert set(dsrct) < set(everyone) and dsrct
    assert all(p.startswith("DSRCT") for p in dsrct)
    assert pattern == [f"DSRCT-00{i}" for i in range(1, 10)]
    both = viewer.get("/api/cohort/pfsr?entity=DSRCT&patients=DSRCT-00*").json()
    assert {r["patient"] for r in both["ratios"]} <= set(dsrct) & set(pattern)
    survival = viewer.get("/api/cohort/survival?entity=DSRCT").json()
    assert survival["n"] == len(dsrct)
    page = viewer.get("/cohort?entity=DSRCT&patients=DSRCT-00*").text
    assert 'value="DSRCT-00*"' in page
    assert "/cohort/plots/oncoprint.svg?entity=DSRCT&amp;patients=DSRCT-00%2A" in page
    lat = viewer.get("/cohort?endpoint=pfs").text
    assert "PFS from diagnosis is not defined here" in lat


def test_unknown_entity_or_pattern_is_an_empty_state_not_an_error(sqlite_web_workspace,
                                                                  sqlite_client_as) -> None:
    viewer = sqlite_client_as("viewer")
    r = viewer.get("/cohort?entity=NOSUCH")
    assert r.status_code == 200
    assert "no patient with the entity &#39;NOSUCH&#39; matches the filters" in r.text
    r = viewer.get("/cohort?patients=ZZZ-*")
    assert r.status_code == 200
    assert "no patient matches &#39;ZZZ-*&#39;" in r.text
    for url in ROUTES[1:4]:
        _svg(viewer, url + "?entity=NOSUCH")
    body = viewer.get("/api/cohort/matrix?entity=NOSUCH").json()
    assert body["cells"] == [] and "NOSUCH" in body["message"]
    assert viewer.get("/api/cohort/pfsr?patients=ZZZ-*").json()["ratios"] == []


def test_bad_parameters_are_refused_and_nothing_is_written(sqlite_web_workspace,
                                                           sqlite_client_as) -> None:
    viewer = sqlite_client_as("viewer")
    before = audit_count(sqlite_web_workspace)
    for url, word in (("/api/cohort/matrix?max_genes=0", "max_genes"),
                      ("/api/cohort/matrix?max_genes=abc", "max_genes"),
                      ("/api/cohort/survival?endpoint=dfs", "endpoint"),
                      ("/api/cohort/pfsr?entity=" + "X" * 40, "entity"),
                      ("/api/cohort/matrix?genes=ERBB2%00", "genes"),
                      ("/api/cohort/survival?patients=DSRCT%00*", "patients")):
        r = viewer.get(url)
        assert r.status_code == 422, url
        assert word in r.json()["message"]
    r = viewer.get("/cohort?time_zero=yesterday")
    assert r.status_code == 422
    assert "time_zero" in r.text
    # read-only part: no unsafe method is routed
    assert viewer.post("/api/cohort/matrix", headers={"X-CSRF-Token": viewer.csrf}
                       ).status_code == 405
    assert audit_count(sqlite_web_workspace) == before


def test_viewer_may_read_every_route_and_strangers_none(sqlite_client_as,
                                                        sqlite_web_workspace) -> None:
    viewer = sqlite_client_as("viewer")
    for url in ROUTES:
        assert viewer.get(url).status_code == 200, url
    stranger = TestClient(create_app(sqlite_web_workspace.settings), follow_redirects=False)
    for url in ROUTES:
        r = stranger.get(url)
        if url.startswith("/api/"):
            assert r.status_code == 401, url
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), url
    schema = viewer.get("/api/openapi.json").json()
    for path in ("/api/cohort/matrix", "/api/cohort/survival", "/api/cohort/pfsr"):
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"].startswith("#/components/schemas/")


def test_new_therapy_line_changes_the_fingerprint_and_the_results(
        web_workspace, analysed, client_as, tmp_path) -> None:
    """End to end on SQLite and PostgreSQL: outcomes imported, results cached, a new
    MTB-guided line entered, the next request sees it."""
    import_simulated_outcomes(web_workspace, analysed[1], tmp_path / "outcomes")
    viewer = client_as("viewer")
    first = viewer.get("/api/cohort/pfsr").json()
    guided = {r["patient"] for r in first["ratios"]}
    assert viewer.get("/cohort").status_code == 200
    with web_workspace.session() as s:
        before = registry_fingerprint(s)
        treated = s.scalars(select(Patient.pseudonym).join(
            TherapyLine, TherapyLine.patient_id == Patient.id).distinct()).all()
        who = sorted(set(treated) - guided)[0]  # a patient without a guided line yet
        pid = s.scalar(select(Patient.id).where(Patient.pseudonym == who))
        last = s.scalar(select(func.max(TherapyLine.line_number))
                        .where(TherapyLine.patient_id == pid))
        start = s.scalar(select(func.max(TherapyLine.stop_date))
                         .where(TherapyLine.patient_id == pid)) + dt.timedelta(days=14)
    with transaction(web_workspace.engine) as s:
        s.add(TherapyLine(patient_id=pid, line_number=last + 1, regimen="trial drug",
                          agents=["trial drug"], modality="chemotherapy", intent="palliative",
                          start_date=start, stop_date=start + dt.timedelta(days=137),
                          stop_reason="progression",
                          progression_date=start + dt.timedelta(days=137), mtb_guided=True,
                          source="test"))
    with web_workspace.session() as s:
        assert registry_fingerprint(s) != before
    second = viewer.get("/api/cohort/pfsr").json()
    assert second["summary"]["n_guided"] == first["summary"]["n_guided"] + 1
    assert who in {r["patient"] for r in second["ratios"]}
    assert second["simulated"] is True  # still partly simulated: figures keep saying so
    page = viewer.get("/cohort").text
    assert f'href="/patients/{who}"' in page
    assert "Part of the outcome data here is SIMULATED" in page
    _svg(viewer, "/cohort/plots/pfsr.svg")


def test_results_are_computed_once_per_registry_state(sqlite_web_workspace, sqlite_client_as,
                                                      monkeypatch) -> None:
    from tumorboard.web import cohort

    calls: list[str] = []
    real = cohort._matrix

    def counted(*args, **kwargs):
        calls.append("matrix")
        return real(*args, **kwargs)

    monkeypatch.setattr(cohort, "_matrix", counted)
    viewer = sqlite_client_as("viewer")
    assert viewer.get("/cohort").status_code == 200
    assert viewer.get("/api/cohort/matrix").status_code == 200
    _svg(viewer, "/cohort/plots/oncoprint.svg")
    assert calls == ["matrix"]  # page, API and figure share one computation
    assert viewer.get("/api/cohort/matrix?entity=DSRCT").status_code == 200
    assert calls == ["matrix", "matrix"]  # other filters, other result
    with transaction(sqlite_web_workspace.engine) as s:  # follow-up leaves the matrix alone
        pid = s.scalar(select(Patient.id).where(Patient.pseudonym == "DSRCT-001"))
        s.add(TherapyLine(patient_id=pid, line_number=1, regimen="VDC/IE", agents=[],
                          modality="chemotherapy", start_date=dt.date(2024, 1, 1)))
    viewer.get("/api/cohort/matrix")
    assert calls == ["matrix", "matrix"]


def test_cache_computes_each_key_once_under_concurrency() -> None:
    import threading
    import time

    from tumorboard.web.cohort import _Cache

    cache, calls = _Cache(size=2), []

    def slow() -> str:
        calls.append(1)
        time.sleep(0.05)
        return "value"

    threads = [threading.Thread(target=cache.get, args=(("k",), slow)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
    assert cache.get(("k",), lambda: "other") == "value"
    cache.get(("a",), lambda: 1)
    cache.get(("b",), lambda: 2)  # evicts the least recently used, ("k",)
    assert cache.get(("k",), lambda: "recomputed") == "recomputed"
    with pytest.raises(ZeroDivisionError):
        cache.get(("bad",), lambda: 1 / 0)
    assert cache.get(("bad",), lambda: "fine") == "fine"  # a failure is not cached

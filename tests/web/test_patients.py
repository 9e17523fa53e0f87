"""Patient list, patient page, plots, draft report downloads and /api/patients.

Most tests share one read-only copy of the analysed cohort (module scope) with
recommendations computed and DSRCT-001 on a board session with a signed report; they only
read (report downloads write files under reports/, not the registry). One end-to-end test
runs on both databases.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tests.web.conftest import _with_users, audit_count, copy_registry, sign_in
from tumorboard.config import Settings
from tumorboard.recommend import patient_recommendations, recommend_patient, record_decision
from tumorboard.registry import overview, queries
from tumorboard.registry.db import transaction
from tumorboard.registry.models import (
    BoardAgendaItem,
    BoardSession,
    Diagnosis,
    Patient,
    SignedReport,
)
from tumorboard.web import create_app
from tumorboard.web.patients import citation_url
from tumorboard.workspace import Workspace

BOARD_DATE = dt.date(2026, 12, 3)


def _copy(analysed, root: Path) -> Iterator[Workspace]:
    source, _truth = analysed
    shutil.copytree(source.root, root, ignore=shutil.ignore_patterns("registry.sqlite*"))
    url = f"sqlite:///{root / 'registry.sqlite'}"
    copy_registry(source, url)
    yield from _with_users(Settings(workspace=root, database_url=url))


@pytest.fixture(scope="module")
def shared(analysed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """Read-only for the tests: recommendations for all (DSRCT-003's top one rejected),
    DSRCT-001 and DSRCT-003 on the board of BOARD_DATE, DSRCT-001 with signed report 1."""
    for ws in _copy(analysed, tmp_path_factory.mktemp("patients") / "ws"):
        with ws.session() as s:
            pseudonyms = [p["patient"] for p in queries.list_patients(s)]
        for p in pseudonyms:
            recommend_patient(ws, p)
        with ws.session() as s:
            top = patient_recommendations(s, "DSRCT-003")["recommendations"][0]
        record_decision(ws, top["id"], "rejected", on=BOARD_DATE, reason="not available")
        with transaction(ws.engine) as s:
            ids = dict(s.execute(select(Patient.pseudonym, Patient.id)).all())
            board = BoardSession(board_date=BOARD_DATE)
            s.add(board)
            s.flush()
            for i, p in enumerate(("DSRCT-001", "DSRCT-003"), 1):
                s.add(BoardAgendaItem(board_session_id=board.id, patient_id=ids[p], position=i))
            s.add(SignedReport(patient_id=ids["DSRCT-001"], board_session_id=board.id,
                               version=1, content_sha256="0" * 64, document={}, html="<p/>",
                               signed_by="web:board_member"))
        yield ws


@pytest.fixture(scope="module")
def shared_app(shared: Workspace):
    return create_app(shared.settings)


@pytest.fixture(scope="module")
def as_role(shared_app) -> Iterator[Callable[[str], TestClient]]:
    """A client signed in with ``role``'s account, once per module (signing in per test
    would trip the per-address sign-in throttle)."""
    clients: dict[str, TestClient] = {}

    def make(role: str) -> TestClient:
        if role not in clients:
            clients[role] = sign_in(TestClient(shared_app, follow_redirects=False), role)
        return clients[role]

    yield make
    for c in clients.values():
        c.close()


@pytest.fixture
def viewer(as_role) -> TestClient:
    return as_role("viewer")


def _listed(html: str) -> list[str]:
    return re.findall(r'<td><a href="/patients/([^"/]+)">', html)


def _api_listed(client: TestClient, **params) -> list[str]:
    r = client.get("/api/patients", params={"per_page": 500, **params})
    assert r.status_code == 200, r.text
    return [p["patient"] for p in r.json()["patients"]]


# ------------------------------------------------------------------------- the list

def test_list_shows_every_patient_with_its_columns(viewer: TestClient, shared: Workspace
                                                   ) -> None:
    r = viewer.get("/patients")
    assert r.status_code == 200
    with shared.session() as s:
        expected = sorted(p["patient"] for p in queries.list_patients(s))
    assert _listed(r.text) == expected
    html = r.text
    assert 'class="filters" data-autosubmit' in html and 'method="get"' in html
    assert '<option value="DSRCT"' in html and '<option value="ES"' in html
    row = html[html.index('href="/patients/DSRCT-002"'):]
    row = row[:row.index("</tr>")]
    assert "diagnosis revision suggested" in row and "ES" in row
    row1 = html[html.index('href="/patients/DSRCT-001"'):]
    row1 = row1[:row1.index("</tr>")]
    assert 'href="/board/2026-12-03"' in row1 and "version 1" in row1
    assert "trastuzumab deruxtecan" in row1 and 'class="level level-m2"' in row1
    assert 'class="state state-activated"' in html


@pytest.mark.parametrize("params", [
    {"entity": "DSRCT"}, {"entity": "ES"}, {"target_state": "activated"},
    {"target_state": "expressed_not_activated", "gene": "ERBB2"}, {"status": "rejected"},
    {"board_date": "2026-12-03"}, {"q": "dsrct-01"}, {"q": "Crizotinib"},
    {"q": "mesothelin"}, {"q": "WT1"},
])
def test_each_filter_narrows_the_page_as_the_library_does(viewer: TestClient,
                                                          shared: Workspace, params) -> None:
    with shared.session() as s:
        expected = [p["patient"] for p in overview.patient_list(
            s, per_page=500, search=params.get("q"),
            **{k: v for k, v in params.items() if k != "q"})["patients"]]
    assert 0 < len(expected) < 18
    page = viewer.get("/patients", params=params)
    assert page.status_code == 200
    assert _listed(page.text) == expected
    assert _api_listed(viewer, **params) == expected
    for value in params.values():  # the form keeps the user's choice
        assert f'value="{value}"' in page.text


def test_board_date_filter_is_the_agenda(viewer: TestClient) -> None:
    assert _listed(viewer.get("/patients?board_date=2026-12-03").text) == [
        "DSRCT-001", "DSRCT-003"]
    assert _listed(viewer.get("/patients?board_date=2026-12-04").text) == []


def test_search_and_pagination(viewer: TestClient) -> None:
    r = viewer.get("/api/patients", params={"per_page": 5, "page": 2})
    body = r.json()
    assert body["total"] == 18 and body["page"] == 2 and body["per_page"] == 5
    pages = [_api_listed(viewer, per_page=5, page=n) for n in range(1, 5)]
    assert [p for page in pages for p in page] == _api_listed(viewer)
    assert _api_listed(viewer, q="%") == []
    html = viewer.get("/patients?q=DSRCT").text
    assert f"{len(_api_listed(viewer, q='DSRCT'))} patients match the filters" in html
    assert _listed(html)[0] == "DSRCT-001"
    assert 'rel="next"' not in html  # one page


def test_list_bad_filters_say_what_is_wrong(viewer: TestClient, shared: Workspace) -> None:
    before = audit_count(shared)
    r = viewer.get("/patients?target_state=active")
    assert r.status_code == 422
    assert "unknown target state &#39;active&#39;" in r.text
    r = viewer.get("/patients?board_date=3.12.2026&q=DSRCT")
    assert r.status_code == 422 and "is not a date" in r.text
    assert 'value="3.12.2026"' in r.text and 'value="DSRCT"' in r.text  # input kept
    r = viewer.get("/api/patients?target_state=active")
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError"
    r = viewer.get("/api/patients?board_date=yesterday")
    assert r.status_code == 422
    r = viewer.get("/api/patients?q=a%00b")
    assert r.status_code == 422 and r.json()["message"].startswith("query.q: String should")
    r = viewer.get("/patients?q=a%00b")
    assert r.status_code == 422 and "the search text &#39;a?b&#39; is not valid" in r.text
    r = viewer.get("/api/patients?per_page=501")
    assert r.status_code == 422
    assert audit_count(shared) == before


# ------------------------------------------------------------------- the patient page

def test_patient_page_alerts_on_a_discordant_diagnosis(viewer: TestClient,
                                                       shared: Workspace) -> None:
    with shared.session() as s:
        alerts = queries.diagnosis_alerts(s)
    assert [a["patient"] for a in alerts] == ["DSRCT-002"]
    r = viewer.get("/patients/DSRCT-002")
    assert r.status_code == 200
    html = r.text
    assert 'class="flash error alert revision" role="alert"' in html
    assert "Diagnosis revision suggested" in html and alerts[0]["message"] in html
    assert "Ewing sarcoma" in html and "Ewing Sarcoma" in html  # submitted; OncoTree name
    assert "Ladanyi M" in html  # the evidence item's citation
    calm = viewer.get("/patients/DSRCT-001").text
    assert 'role="alert"' not in calm.split("<main>")[1].split("Diagnosis</h2>")[0]


def test_patient_page_sections(viewer: TestClient, shared: Workspace) -> None:
    html = viewer.get("/patients/DSRCT-001").text
    for heading in ("Diagnosis", "Molecular concordance", "Data quality per layer",
                    "Key findings", "Targets across layers", "Recommendations",
                    "Predicted resistance", "Board sessions", "Reports"):
        assert f">{heading}</h2>" in html, heading
    # data quality: provenance and the QC figures of layer_qc
    assert "GATK Mutect2 + Ensembl VEP" in html and "median VAF" in html
    assert "fraction of genome |log2| &gt; 0.2" in html
    # targets: a judged gene with its state
    assert "<strong>ERBB2</strong>" in html and "state-expressed_not_activated" in html
    # plots are images of their own routes
    for name in ("activation", "percentiles", "copy-number"):
        assert f'<img src="/patients/DSRCT-001/plots/{name}.svg"' in html
    # links to the colleagues' pages
    assert 'href="/patients/DSRCT-001/followup"' in html
    assert 'href="/board/2026-12-03"' in html
    for fmt in ("html", "pdf", "json", "fhir", "phenopacket"):
        assert f'href="/patients/DSRCT-001/report.{fmt}"' in html
        assert f'href="/patients/DSRCT-001/signed/1.{fmt}"' in html
    assert "<svg" not in html  # no figure drawn into the page


def test_recommendations_with_levels_rationale_and_citation_links(viewer: TestClient,
                                                                  shared: Workspace) -> None:
    with shared.session() as s:
        recs = patient_recommendations(s, "DSRCT-001")["recommendations"]
    html = viewer.get("/patients/DSRCT-001").text
    top = recs[0]
    assert top["therapy"] == "trastuzumab deruxtecan"
    row = html[html.index(f'id="rec-{top["id"]}"'):]
    row = row[:row.index("</tr>")]
    assert top["evidence_level"] in row and "ERBB2" in row
    assert top["rationale"][:60] in row
    assert 'href="https://doi.org/10.1200/JCO.23.02005"' in row
    assert "FDA label: trastuzumab deruxtecan" in row  # no address: plain text
    assert "status-proposed" in row


@pytest.mark.parametrize(("text", "url"), [
    ("PMID:32371538", "https://pubmed.ncbi.nlm.nih.gov/32371538/"),
    ("pmid 123", "https://pubmed.ncbi.nlm.nih.gov/123/"),
    ("DOI:10.1200/JCO.23.02005", "https://doi.org/10.1200/JCO.23.02005"),
    ("Smith et al., doi:10.1158/2159-8290.CD-21-0126.", "https://doi.org/10.1158/2159-8290.CD-21-0126"),
    ("trial NCT04503278", "https://clinicaltrials.gov/study/NCT04503278"),
    ("FDA label: Enhertu, 2024", None), ("", None),
])
def test_citation_links(text: str, url: str | None) -> None:
    assert citation_url(text) == url


def test_plots_are_cached_svg(viewer: TestClient, shared: Workspace, monkeypatch) -> None:
    from tumorboard.web import patients

    for name in ("activation", "percentiles", "copy-number"):
        r = viewer.get(f"/patients/DSRCT-001/plots/{name}.svg")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/svg+xml"
        assert r.text.lstrip().startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in r.text

    def no_drawing(*_args):
        raise AssertionError("drawn again")

    monkeypatch.setattr(patients, "_draw", no_drawing)
    again = viewer.get("/patients/DSRCT-001/plots/activation.svg")
    assert again.status_code == 200 and "ERBB2" in again.text
    assert viewer.get("/patients/DSRCT-001/plots/waterfall.svg").status_code == 422
    assert viewer.get("/patients/NOPE/plots/activation.svg").status_code == 404


def test_report_downloads_in_every_format(viewer: TestClient) -> None:
    base = "/patients/DSRCT-001/report"
    r = viewer.get(f"{base}.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"] == 'attachment; filename="DSRCT-001.json"'
    document = r.json()
    assert document["patient"]["patient"] == "DSRCT-001"
    assert document["recommendations"][0]["therapy"] == "trastuzumab deruxtecan"
    r = viewer.get(f"{base}.fhir")
    assert r.headers["content-type"] == "application/fhir+json"
    assert r.json()["resourceType"] == "Bundle"
    r = viewer.get(f"{base}.phenopacket")
    assert r.json()["id"] and "attachment" in r.headers["content-disposition"]
    r = viewer.get(f"{base}.html")
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"].startswith("inline")
    assert "trastuzumab deruxtecan" in r.text
    r = viewer.get(f"{base}.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and "attachment" in r.headers["content-disposition"]
    assert viewer.get(f"{base}.docx").status_code == 422


def test_api_report_exports(viewer: TestClient) -> None:
    r = viewer.get("/api/patients/DSRCT-003/report.fhir")
    assert r.status_code == 200 and r.json()["resourceType"] == "Bundle"
    r = viewer.get("/api/patients/DSRCT-003/report.phenopacket")
    assert r.status_code == 200 and r.json()["id"]
    r = viewer.get("/api/patients/DSRCT-003/report.json")
    assert r.json()["patient"]["patient"] == "DSRCT-003"
    assert viewer.get("/api/patients/DSRCT-003/report.pdf").status_code == 422
    assert viewer.get("/api/patients/NOPE/report.json").status_code == 404


def test_unknown_patient_is_404_page_and_json(viewer: TestClient) -> None:
    r = viewer.get("/patients/NOPE")
    assert r.status_code == 404 and "no patient &#39;NOPE&#39;" in r.text
    assert "Not found" in r.text
    r = viewer.get("/api/patients/NOPE")
    assert r.status_code == 404
    assert r.json() == {"error": "NotFoundError",
                        "message": "no patient 'NOPE' in the registry; see "
                                   "`tumorboard patients list`"}
    assert viewer.get("/api/patients/NOPE/findings").status_code == 404
    assert viewer.get("/patients/NOPE/report.json").status_code == 404
    assert viewer.get("/api/patients/bad%20name").status_code == 422


# ----------------------------------------------------------------------------- API

def test_api_overview(viewer: TestClient) -> None:
    r = viewer.get("/api/patients/DSRCT-002")
    assert r.status_code == 200
    body = r.json()
    assert body["patient"] == "DSRCT-002" and body["diagnosis"]["oncotree_code"] == "ES"
    assert body["concordance"]["alert"] is True
    assert body["concordance"]["title"] == "diagnosis revision suggested"
    assert body["layers"] and all(layer["qc"] for layer in body["layers"])
    assert body["targets"]["shown"] and body["targets"]["total"] > 0
    rec = body["recommendations"][0]
    assert rec["citations"] and {"text", "url"} <= set(rec["citations"][0])
    assert any(c["url"] for r in body["recommendations"] for c in r["citations"])
    assert body["signed_reports"] == [] and body["board_sessions"] == []
    one = viewer.get("/api/patients/DSRCT-001").json()
    assert one["signed_reports"][0]["version"] == 1
    assert one["board_sessions"][0]["date"] == "2026-12-03"


def test_api_findings_paginated(viewer: TestClient, shared: Workspace) -> None:
    with shared.session() as s:
        n = len(queries.patient_findings(s, "DSRCT-001"))
    first = viewer.get("/api/patients/DSRCT-001/findings?per_page=40").json()
    assert first["total"] == n and len(first["findings"]) == 40
    last = viewer.get(f"/api/patients/DSRCT-001/findings?per_page=40&page={(n - 1) // 40 + 1}")
    assert len(last.json()["findings"]) == n - 40 * ((n - 1) // 40)
    fusions = viewer.get("/api/patients/DSRCT-001/findings?layer=fusions").json()
    assert {f["layer"] for f in fusions["findings"]} == {"fusions"}
    assert viewer.get("/api/patients/DSRCT-001/findings?page=0").status_code == 422


def test_openapi_describes_the_patient_routes(viewer: TestClient) -> None:
    spec = viewer.get("/api/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/patients", "/api/patients/{pseudonym}",
                 "/api/patients/{pseudonym}/findings", "/api/patients/{pseudonym}/report.{fmt}"):
        assert path in paths, path
    ok = paths["/api/patients"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("/PatientList")
    assert "PatientOverview" in spec["components"]["schemas"]
    assert not any(p.startswith("/patients") for p in paths)  # pages stay out of the API


# ------------------------------------------------------------------- roles and writes

READ_ROUTES = ("/patients", "/patients/DSRCT-001", "/patients/DSRCT-001/plots/percentiles.svg",
               "/patients/DSRCT-001/report.json", "/api/patients", "/api/patients/DSRCT-001",
               "/api/patients/DSRCT-001/findings", "/api/patients/DSRCT-001/report.fhir")


@pytest.mark.parametrize("role", ["viewer", "board_member", "admin"])
def test_every_role_reads_every_route(as_role, role: str) -> None:
    client = as_role(role)
    for url in READ_ROUTES:
        assert client.get(url).status_code == 200, url


def test_signed_out_is_sent_to_sign_in_or_401(shared_app) -> None:
    with TestClient(shared_app, follow_redirects=False) as anonymous:
        r = anonymous.get("/patients/DSRCT-001")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        assert anonymous.get("/api/patients").status_code == 401
        assert anonymous.get("/patients/DSRCT-001/report.pdf").status_code == 303
        assert anonymous.get("/patients/DSRCT-001/plots/activation.svg").status_code == 303


def test_reading_writes_nothing_and_nothing_here_accepts_writes(viewer: TestClient,
                                                                shared: Workspace) -> None:
    """The patient routes only read: no audit entries, and POST is not a method of theirs
    (with or without the CSRF token)."""
    before = audit_count(shared)
    for url in READ_ROUTES:
        viewer.get(url)
    assert audit_count(shared) == before
    for url in ("/patients", "/patients/DSRCT-001", "/api/patients/DSRCT-001"):
        assert viewer.post(url, data={"csrf_token": viewer.csrf}).status_code == 405
        assert viewer.post(url).status_code == 405
    assert audit_count(shared) == before


def test_no_patient_identifiers_in_logs(viewer: TestClient, caplog) -> None:
    with caplog.at_level("INFO", logger="tumorboard.web"):
        viewer.get("/patients/DSRCT-002")
        viewer.get("/patients?q=DSRCT-00")
        viewer.get("/api/patients/NOPE")
    assert "GET /patients/{pseudonym} 200" in caplog.text
    assert "DSRCT-00" not in caplog.text and "NOPE" not in caplog.text


# ------------------------------------------------------------------------- speed

def test_list_route_runs_a_bounded_number_of_statements_and_pages(
        sqlite_web_workspace: Workspace) -> None:
    ws = sqlite_web_workspace
    app = create_app(ws.settings)
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, "viewer")
        count = 0

        def count_one(*_args) -> None:
            nonlocal count
            count += 1

        def statements(url: str) -> int:
            nonlocal count
            count = 0
            event.listen(app.state.workspace.engine, "before_cursor_execute", count_one)
            try:
                assert client.get(url).status_code == 200
            finally:
                event.remove(app.state.workspace.engine, "before_cursor_execute", count_one)
            return count

        small = (statements("/patients"), statements("/api/patients?per_page=100"))
        with transaction(ws.engine) as s:
            for i in range(60):
                p = Patient(pseudonym=f"ZZ-{i:03d}", sex="male")
                s.add(p)
                s.flush()
                s.add(Diagnosis(patient_id=p.id, histology="Ewing sarcoma",
                                oncotree_code="ES", oncotree_version="oncotree_2025_10_03"))
        large = (statements("/patients"), statements("/api/patients?per_page=100"))
        # the sign-in lookup plus the list's handful, however many patients; one fewer
        # when the page's target counts are cached already
        assert small[0] == large[0] and max(*small, *large) <= 10
        # 62 Ewing sarcoma patients: two pages of 50, the pager keeps the filter
        first = client.get("/patients?entity=ES").text
        assert len(_listed(first)) == 50 and "page 1 of 2 (62)" in first
        assert 'href="?entity=ES&amp;page=2" rel="next"' in first
        second = client.get("/patients?entity=ES&page=2").text
        assert len(_listed(second)) == 12 and not set(_listed(first)) & set(_listed(second))
        # a registry-only patient (no molecular data): page without plots, no report
        bare = client.get("/patients/ZZ-000")
        assert bare.status_code == 200 and "plots/activation.svg" not in bare.text
        assert "not analysed yet" in bare.text
        assert client.get("/patients/ZZ-000/plots/activation.svg").status_code == 404
        assert client.get("/api/patients/ZZ-000").json()["analysis"] is None


# --------------------------------------------------------------- both databases

def test_end_to_end_on_both_databases(web_workspace: Workspace, client_as) -> None:
    recommend_patient(web_workspace, "DSRCT-001")
    viewer = client_as("viewer")
    html = viewer.get("/patients?entity=DSRCT&q=dsrct-00").text
    assert _listed(html) == [f"DSRCT-00{i}" for i in (1, 3, 4, 5, 6, 8, 9)]
    assert "DSRCT-001" in _api_listed(viewer, status="proposed")
    assert _api_listed(viewer, target_state="activated", gene="NOSUCH") == []
    page = viewer.get("/patients/DSRCT-001")
    assert page.status_code == 200 and "trastuzumab deruxtecan" in page.text
    body = viewer.get("/api/patients/DSRCT-001").json()
    assert body["recommendations"][0]["therapy"] == "trastuzumab deruxtecan"
    assert viewer.get("/api/patients/DSRCT-001/findings?per_page=5").json()["total"] > 5
    fhir = viewer.get("/api/patients/DSRCT-001/report.fhir")
    assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Bundle"
    assert viewer.get("/api/patients?q=a%00b").status_code == 422  # PostgreSQL refuses NUL
    assert viewer.get("/api/patients/DSRCT-002").json()["concordance"]["alert"] is True
    assert json.loads(viewer.get("/api/patients?per_page=1").text)["total"] == 18

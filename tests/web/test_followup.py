"""Follow-up in the browser and the API: entering lines, RECIST assessments, ctDNA and
events; the patient's course with PFS ratio; the cached timeline; roles, CSRF, audit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.conftest import audit_count, sign_in
from tumorboard.recommend import recommend_patient, record_decision
from tumorboard.registry.models import (
    AuditEntry,
    ClinicalEvent,
    PlasmaMeasurement,
    RecistMeasurement,
    Recommendation,
    TherapyLine,
)
from tumorboard.web import create_app

P = "DSRCT-001"
BASE = f"/patients/{P}/followup"


@pytest.fixture
def ws(sqlite_web_workspace):
    return sqlite_web_workspace


@pytest.fixture
def client_on(ws):
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(create_app(ws.settings), follow_redirects=False)
        clients.append(client)
        return sign_in(client, role)

    yield make
    for c in clients:
        c.close()


def _accepted_recommendation(ws) -> int:
    doc = recommend_patient(ws, P)
    rec = doc["recommendations"][0]["id"]
    record_decision(ws, rec, "accepted", recorded_by="test")
    return rec


def _counts(ws) -> dict[str, int]:
    with ws.session() as s:
        return {m.__name__: int(s.scalar(select(func.count()).select_from(m)))
                for m in (TherapyLine, RecistMeasurement, PlasmaMeasurement, ClinicalEvent)}


def _entries(ws, action: str) -> list[AuditEntry]:
    with ws.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


FIRST_LINE = {"line": "1", "regimen": "P6", "agents": "cyclophosphamide; doxorubicin",
              "modality": "chemotherapy", "intent": "curative", "start": "2022-01-10",
              "stop": "2022-07-01", "stop_reason": "progression",
              "progression": "2022-07-01"}


def _second_line(rec: int) -> dict[str, str]:
    return {"line": "2", "regimen": "T-DXd", "agents": "trastuzumab deruxtecan",
            "modality": "antibody_drug_conjugate", "intent": "palliative",
            "start": "2022-07-15", "stop": "2023-06-01", "stop_reason": "progression",
            "progression": "2023-06-01", "recommendation_id": str(rec)}


def _recist(date: str, sizes: list[float], line: int = 2) -> dict[str, str]:
    form = {"assessment_date": date, "line": str(line)}
    for i, size in enumerate(sizes):
        form |= {f"lesion_id_{i}": f"L{i + 1}", f"kind_{i}": "target", f"site_{i}": "peritoneum",
                 f"diameter_mm_{i}": str(size)}
    for i in range(len(sizes), 5):
        form[f"kind_{i}"] = "target"  # the select always sends a value: blank row
    return form


def test_lines_and_recist_through_the_forms_show_the_pfs_ratio(ws, client_on) -> None:
    rec = _accepted_recommendation(ws)
    board = client_on("board_member")
    page = board.get(BASE)
    assert page.status_code == 200 and "No therapy line recorded yet" in page.text
    assert 'name="line" type="number" min="1" required value="1"' in page.text
    assert f'<option value="{rec}"' in page.text  # accepted: may be linked
    r = board.post(f"{BASE}/lines", data=FIRST_LINE | {"csrf_token": board.csrf})
    assert r.status_code == 303 and "recorded+line+1" in r.headers["location"]
    r = board.post(f"{BASE}/lines", data=_second_line(rec) | {"csrf_token": board.csrf})
    assert r.status_code == 303, r.text
    assert "now+implemented" in r.headers["location"]
    for date, sizes in (("2022-07-10", [40, 30]), ("2022-10-10", [20, 15])):
        r = board.post(f"{BASE}/recist", data=_recist(date, sizes) | {"csrf_token": board.csrf})
        assert r.status_code == 303, r.text
    page = board.get(r.headers["location"])
    assert "recorded the RECIST assessment of 2022-10-10" in page.text
    html = page.text
    # PFS1 2022-01-10 -> 2022-07-01 (172 d), PFS2 2022-07-15 -> 2023-06-01 (321 d): 1.87
    assert 'id="pfs-ratios"' in html and "1.87" in html and "benefit" in html
    assert "5.7" in html and "10.5" in html  # PFS in months (172 / 30.4375, 321 / 30.4375)
    assert "trastuzumab deruxtecan" in html and f"recommendation {rec}" in html
    assert "<strong>PR</strong>" in html and "70.0" in html and "35.0" in html
    assert f'src="/patients/{P}/followup/timeline.svg"' in html
    with ws.session() as s:
        assert s.get(Recommendation, rec).status == "implemented"
        line2 = s.scalar(select(TherapyLine).where(TherapyLine.line_number == 2))
        assert line2.mtb_guided and line2.recommendation_id == rec and line2.source == "web"
    entries = _entries(ws, "outcomes.add_line")
    assert len(entries) == 2 and entries[0].actor == "web:board_member"
    assert entries[1].before is None and entries[1].after["rows"][0]["regimen"] == "T-DXd"
    assert entries[1].patient_id is not None
    assert len(_entries(ws, "outcomes.add_recist")) == 2
    # correcting line 1 records what it replaced
    r = board.post(f"{BASE}/lines", data=FIRST_LINE | {"regimen": "P6 x7",
                                                        "csrf_token": board.csrf})
    assert r.status_code == 303
    last = _entries(ws, "outcomes.add_line")[-1]
    assert last.before["rows"][0]["regimen"] == "P6"
    assert last.after["rows"][0]["regimen"] == "P6 x7"


@pytest.mark.parametrize(("change", "message"), [
    ({"start": "2022-02-30"}, "&#39;2022-02-30&#39; is not valid here"),
    ({"stop": "2021-12-01"}, "stop 2021-12-01 is before the start 2022-01-10"),
    ({"modality": "homeopathy"}, "column &#39;modality&#39;: &#39;homeopathy&#39; is not valid"),
])
def test_bad_line_is_refused_with_the_message_and_input_kept(ws, client_on, change,
                                                             message) -> None:
    board = client_on("board_member")
    before, audits = _counts(ws), audit_count(ws)
    r = board.post(f"{BASE}/lines", data=FIRST_LINE | change | {"csrf_token": board.csrf})
    assert r.status_code == 422
    assert message in r.text
    assert 'value="P6"' in r.text and 'value="cyclophosphamide; doxorubicin"' in r.text
    assert _counts(ws) == before and audit_count(ws) == audits


def test_bad_recist_plasma_and_event_are_refused(ws, client_on) -> None:
    board = client_on("board_member")
    board.post(f"{BASE}/lines", data=FIRST_LINE | {"csrf_token": board.csrf})
    before, audits = _counts(ws), audit_count(ws)
    bad = _recist("2022-03-01", [30]) | {"diameter_mm_0": "-4"}
    r = board.post(f"{BASE}/recist", data=bad | {"csrf_token": board.csrf})
    assert r.status_code == 422 and "recist row 1, column &#39;diameter_mm&#39;" in r.text
    assert 'value="-4"' in r.text
    r = board.post(f"{BASE}/recist", data=_recist("2022-03-01", []) | {
        "csrf_token": board.csrf})
    assert r.status_code == 422 and "no lesion or variant row filled in" in r.text
    plasma = {"sample": "PL-1", "collected": "2022-03-01", "variant_0": "EWSR1::WT1",
              "alt_reads_0": "90", "depth_0": "50"}
    r = board.post(f"{BASE}/plasma", data=plasma | {"csrf_token": board.csrf})
    assert r.status_code == 422 and "90 alt reads but depth 50" in r.text
    r = board.post(f"{BASE}/events", data={"kind": "death", "date": "2021-01-01",
                                           "csrf_token": board.csrf})
    assert r.status_code == 422 and "after the death on 2021-01-01" in r.text
    assert _counts(ws) == before and audit_count(ws) == audits


def test_plasma_and_event_forms_write_with_audit(ws, client_on) -> None:
    board = client_on("board_member")
    board.post(f"{BASE}/lines", data=FIRST_LINE | {"csrf_token": board.csrf})
    plasma = {"sample": "PL-1", "collected": "2022-03-01", "variant_0": "chr1:100A>T",
              "alt_reads_0": "40", "depth_0": "20000", "tumour_vaf_0": "0.45",
              "variant_1": "chr2:200G>C", "alt_reads_1": "35", "depth_1": "18000"}
    r = board.post(f"{BASE}/plasma", data=plasma | {"csrf_token": board.csrf})
    assert r.status_code == 303, r.text
    r = board.post(f"{BASE}/events", data={"kind": "last_followup", "date": "2022-09-01",
                                           "detail": "well", "csrf_token": board.csrf})
    assert r.status_code == 303
    page = board.get(BASE).text
    assert 'id="ctdna"' in page and "PL-1" in page and "positive" in page
    assert "last followup" in page and "well" in page
    assert _counts(ws)["PlasmaMeasurement"] == 2
    assert _entries(ws, "outcomes.add_plasma")[0].after["rows"][1]["variant"] == "chr2:200G>C"
    assert len(_entries(ws, "outcomes.add_event")) == 1


def test_viewer_reads_without_forms_and_may_not_write(ws, client_on) -> None:
    viewer = client_on("viewer")
    page = viewer.get(BASE)
    assert page.status_code == 200 and "Enter follow-up" not in page.text
    before = _counts(ws)
    for path in ("lines", "recist", "plasma", "events"):
        r = viewer.post(f"{BASE}/{path}", data=FIRST_LINE | {"csrf_token": viewer.csrf})
        assert r.status_code == 403, path
        r = viewer.post(f"/api/patients/{P}/{path}", json={},
                        headers={"X-CSRF-Token": viewer.csrf})
        assert r.status_code == 403, path
    assert _counts(ws) == before
    assert client_on("board_member").get(BASE).text.count('name="csrf_token"') >= 5


def test_csrf_missing_is_refused(ws, client_on) -> None:
    board = client_on("board_member")
    before = _counts(ws)
    r = board.post(f"{BASE}/lines", data=FIRST_LINE)
    assert r.status_code == 403 and "security token" in r.text
    r = board.post(f"/api/patients/{P}/events", json={"date": "2022-01-01",
                                                      "kind": "progression"})
    assert r.status_code == 403
    assert _counts(ws) == before


def test_unknown_patient_and_bad_pseudonym(ws, client_on) -> None:
    board = client_on("board_member")
    assert board.get("/patients/NOBODY-1/followup").status_code == 404
    r = board.post("/patients/NOBODY-1/followup/events",
                   data={"kind": "progression", "date": "2022-01-01",
                         "csrf_token": board.csrf})
    assert r.status_code == 404
    assert board.get("/api/patients/NOBODY-1/outcomes").status_code == 404
    assert board.get("/api/patients/bad%00name/outcomes").status_code == 422
    assert board.get(f"{BASE}/timeline.svg").status_code == 404  # no line yet


def test_timeline_svg_is_cached_on_the_records(ws, client_on, monkeypatch) -> None:
    from tumorboard.report import outcome_plots
    from tumorboard.web import followup

    board = client_on("board_member")
    board.post(f"{BASE}/lines", data=FIRST_LINE | {"csrf_token": board.csrf})
    calls = []
    real = outcome_plots.patient_timeline
    monkeypatch.setattr(outcome_plots, "patient_timeline",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(followup, "_timelines", followup._ContentCache(4))
    r = board.get(f"{BASE}/timeline.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in r.text
    assert board.get(f"{BASE}/timeline.svg").content == r.content
    assert len(calls) == 1  # the second request came from the cache
    board.post(f"{BASE}/events", data={"kind": "last_followup", "date": "2022-12-01",
                                       "csrf_token": board.csrf})
    assert board.get(f"{BASE}/timeline.svg").content != r.content
    assert len(calls) == 2  # new records, new figure
    assert client_on("viewer").get(f"{BASE}/timeline.svg").status_code == 200


def test_api_round_trip(web_workspace) -> None:
    """Enter a course through the API on SQLite and PostgreSQL and read it back."""
    ws = web_workspace
    rec = _accepted_recommendation(ws)
    with TestClient(create_app(ws.settings), follow_redirects=False) as client:
        sign_in(client, "board_member")
        h = {"X-CSRF-Token": client.csrf}
        first = {"line": 1, "regimen": "P6", "agents": ["cyclophosphamide", "doxorubicin"],
                 "modality": "chemotherapy", "start": "2022-01-10",
                 "progression": "2022-07-01", "stop": "2022-07-01"}
        r = client.post(f"/api/patients/{P}/lines", json=first, headers=h)
        assert r.status_code == 201, r.text
        assert r.json()["added"][0]["agents"] == ["cyclophosphamide", "doxorubicin"]
        second = {"line": 2, "regimen": "T-DXd", "modality": "antibody_drug_conjugate",
                  "start": "2022-07-15", "progression": "2023-06-01",
                  "recommendation_id": rec}
        r = client.post(f"/api/patients/{P}/lines", json=second, headers=h)
        assert r.status_code == 201 and r.json()["implemented"] == [rec]
        recist = {"assessment_date": "2022-07-10", "line": 2, "lesions": [
            {"lesion_id": "L1", "kind": "target", "diameter_mm": 40},
            {"lesion_id": "L2", "kind": "target", "diameter_mm": 30}]}
        assert client.post(f"/api/patients/{P}/recist", json=recist,
                           headers=h).status_code == 201
        recist |= {"assessment_date": "2022-10-10", "lesions": [
            {"lesion_id": "L1", "kind": "target", "diameter_mm": 20},
            {"lesion_id": "L2", "kind": "target", "diameter_mm": 15}]}
        assert client.post(f"/api/patients/{P}/recist", json=recist,
                           headers=h).status_code == 201
        plasma = {"sample": "PL-1", "collected": "2022-10-01", "variants": [
            {"variant": "chr1:100A>T", "alt_reads": 0, "depth": 30000}]}
        assert client.post(f"/api/patients/{P}/plasma", json=plasma,
                           headers=h).status_code == 201
        r = client.post(f"/api/patients/{P}/events", headers=h,
                        json={"date": "2023-07-01", "kind": "last_followup"})
        assert r.status_code == 201
        bad = client.post(f"/api/patients/{P}/lines", headers=h,
                          json=first | {"line": 3, "start": "2023-08-01",
                                        "stop": "2023-07-01"})
        assert bad.status_code == 422
        assert bad.json()["detail"]["column"] == "stop"
        assert "before the start 2023-08-01" in bad.json()["message"]
        r = client.post(f"/api/patients/{P}/lines", headers=h,
                        json=first | {"line": 3, "modality": "homeopathy"})
        assert r.status_code == 422 and "modality" in r.json()["message"]
        doc = client.get(f"/api/patients/{P}/outcomes").json()
        spec = client.get("/api/openapi.json").json()
    assert [x["line"] for x in doc["lines"]] == [1, 2]
    assert doc["lines"][1]["mtb_guided"] and doc["lines"][1]["recommendation_id"] == rec
    ratio = doc["pfs_ratios"][0]
    assert ratio["line"] == 2 and ratio["previous_line"] == 1
    assert ratio["pfs_ratio"] == pytest.approx(321 / 172, abs=0.01)
    assert ratio["verdict"] == "benefit"
    assert [x["overall"] for x in doc["recist"]] == ["baseline", "PR"]
    assert doc["ctdna"][0]["mrd"] in ("negative", "not_evaluable")
    assert doc["events"][0]["kind"] == "last_followup"
    with ws.session() as s:
        assert s.get(Recommendation, rec).status == "implemented"
    assert len(_entries(ws, "outcomes.add_line")) == 2
    assert _counts(ws)["TherapyLine"] == 2
    created = spec["paths"]["/api/patients/{pseudonym}/recist"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RecistEntryOut")

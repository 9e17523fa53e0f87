"""Board sessions in the browser and the API: agenda, decisions with optimistic locking,
sign-off freezing the signed reports, downloads, roles, CSRF and audit entries."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.conftest import audit_count
from tumorboard.registry.models import (
    AuditEntry,
    BoardAgendaItem,
    BoardDecision,
    BoardSession,
    Recommendation,
    SignedReport,
)

DATE = "2026-12-03"
DSRCT = "DSRCT-001"


@pytest.fixture
def ws(sqlite_web_workspace):
    return sqlite_web_workspace


def _entries(ws, action: str) -> list[AuditEntry]:
    with ws.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


def _count(ws, model) -> int:
    with ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _new_session(client: TestClient, date: str = DATE, *patients: str) -> None:
    r = client.post("/board", data={"board_date": date, "title": "Sarcoma MTB",
                                    "csrf_token": client.csrf})
    assert r.status_code == 303, r.text
    for p in patients:
        r = client.post(f"/board/{date}/agenda", data={"pseudonym": p, "question": "options?",
                                                        "csrf_token": client.csrf})
        assert r.status_code == 303, r.text


def _recs(client: TestClient, date: str = DATE, patient: str = DSRCT) -> list[dict]:
    detail = client.get(f"/api/board-sessions/{date}").json()
    item = next(i for i in detail["agenda"] if i["patient"] == patient)
    return item["recommendations"]


def _tdxd(recs: list[dict]) -> dict:
    return next(r for r in recs if "trastuzumab deruxtecan" in r["therapy"].lower())


def _api_decide(client: TestClient, rec: dict, decision: str = "accepted", **extra):
    return client.post(f"/api/recommendations/{rec['id']}/decisions",
                       json={"decision": decision, "version": rec["version"], **extra},
                       headers={"X-CSRF-Token": client.csrf})


def _decide_all(client: TestClient, date: str = DATE) -> None:
    """Accept every proposed sensitivity recommendation on the agenda."""
    for item in client.get(f"/api/board-sessions/{date}").json()["agenda"]:
        for r in item["recommendations"]:
            if r["status"] == "proposed":
                res = _api_decide(client, r)
                assert res.status_code == 200, res.text


def test_board_pages_show_agenda_and_decision_forms(ws, sqlite_client_as):
    member = sqlite_client_as("board_member")
    _new_session(member, DATE, DSRCT)
    listing = member.get("/board")
    assert listing.status_code == 200
    assert f'href="/board/{DATE}"' in listing.text and "Sarcoma MTB" in listing.text
    page = member.get(f"/board/{DATE}")
    assert page.status_code == 200
    tdxd = _tdxd(_recs(member))
    assert tdxd["status"] == "proposed" and tdxd["version"] >= 1
    assert f'action="/recommendations/{tdxd["id"]}/decision"' in page.text
    assert "data-decision" in page.text and "data-reason" in page.text
    assert f'name="version" value="{tdxd["version"]}"' in page.text
    assert "data-confirm" in page.text and f'action="/board/{DATE}/sign-off"' in page.text
    assert "DSRCT" in page.text  # the entity
    viewer = sqlite_client_as("viewer")
    seen = viewer.get(f"/board/{DATE}")
    assert seen.status_code == 200 and "trastuzumab deruxtecan" in seen.text.lower()
    assert "/decision" not in seen.text and "sign-off" not in seen.text  # no write forms


def test_accept_trastuzumab_deruxtecan_on_the_page(ws, sqlite_client_as):
    member = sqlite_client_as("board_member")
    _new_session(member, DATE, DSRCT)
    tdxd = _tdxd(_recs(member))
    before = audit_count(ws)
    r = member.post(f"/recommendations/{tdxd['id']}/decision",
                    data={"decision": "accepted", "reason": "", "version": tdxd["version"],
                          "next": f"/board/{DATE}", "csrf_token": member.csrf})
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/board/{DATE}?message=")
    assert r.headers["location"].endswith(f"#rec-{tdxd['id']}")
    now = _tdxd(_recs(member))
    assert now["status"] == "accepted" and now["version"] == tdxd["version"] + 1
    assert now["decisions"][-1]["recorded_by"] == "Dr board_member"
    assert audit_count(ws) == before + 1
    entry = _entries(ws, "recommendation.decide")[-1]
    assert entry.actor == "web:board_member" and entry.entity_id == str(tdxd["id"])
    assert entry.before["status"] == "proposed" and entry.before["decision"] is None
    assert entry.after["status"] == "accepted"
    assert entry.after["version"] == tdxd["version"] + 1
    assert entry.after["decision"]["decision"] == "accepted"
    # an outside target is not followed
    r = member.post(f"/recommendations/{tdxd['id']}/decision",
                    data={"decision": "implemented", "version": now["version"],
                          "next": "https://evil.example/", "csrf_token": member.csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/?message=")


def test_lost_update_on_the_page(ws, sqlite_client_as):
    first, second = sqlite_client_as("board_member"), sqlite_client_as("admin")
    _new_session(first, DATE, DSRCT)
    seen = _tdxd(_recs(first))  # both open the page at version v
    assert f'name="version" value="{seen["version"]}"' in second.get(f"/board/{DATE}").text
    r = first.post(f"/recommendations/{seen['id']}/decision",
                   data={"decision": "accepted", "version": seen["version"],
                         "next": f"/board/{DATE}", "csrf_token": first.csrf})
    assert r.status_code == 303
    n_decisions, n_audit = _count(ws, BoardDecision), audit_count(ws)
    r = second.post(f"/recommendations/{seen['id']}/decision",
                    data={"decision": "rejected", "reason": "toxicity", "version": seen["version"],
                          "next": f"/board/{DATE}", "csrf_token": second.csrf})
    assert r.status_code == 409
    assert "was changed by Dr board_member" in r.text and "to &#39;accepted&#39;" in r.text
    assert "nothing was saved" in r.text and f'href="/board/{DATE}"' in r.text
    assert _tdxd(_recs(first))["status"] == "accepted"
    assert (_count(ws, BoardDecision), audit_count(ws)) == (n_decisions, n_audit)


def test_reject_without_reason_is_refused_and_nothing_written(ws, sqlite_client_as):
    member = sqlite_client_as("board_member")
    _new_session(member, DATE, DSRCT)
    tdxd = _tdxd(_recs(member))
    n_decisions, n_audit = _count(ws, BoardDecision), audit_count(ws)
    r = member.post(f"/recommendations/{tdxd['id']}/decision",
                    data={"decision": "rejected", "reason": "  ", "version": tdxd["version"],
                          "next": f"/board/{DATE}", "csrf_token": member.csrf})
    assert r.status_code == 422
    assert "a &#39;rejected&#39; decision needs a reason" in r.text
    assert 'value="rejected" required checked' in r.text  # the choice is kept
    res = _api_decide(member, tdxd, "rejected")
    assert res.status_code == 422 and "needs a reason" in res.json()["message"]
    assert (_count(ws, BoardDecision), audit_count(ws)) == (n_decisions, n_audit)
    assert _tdxd(_recs(member))["status"] == "proposed"


def test_agenda_changes_with_audit_and_bad_input(ws, sqlite_client_as):
    member = sqlite_client_as("board_member")
    _new_session(member, DATE, DSRCT)
    created = _entries(ws, "board_session.create")[-1]
    assert created.after["board_date"] == DATE and created.after["status"] == "open"
    added = _entries(ws, "board_agenda.add")[-1]
    assert added.after == {"board_date": DATE, "patient": DSRCT, "position": 1,
                           "question": "options?"}
    n_items, n_audit = _count(ws, BoardAgendaItem), audit_count(ws)
    for data, message in (({"pseudonym": "NOPE-999"}, "no patient &#39;NOPE-999&#39;"),
                          ({"pseudonym": "a\x00b"}, "is not a pseudonym"),
                          ({"pseudonym": DSRCT}, "already on the agenda")):
        r = member.post(f"/board/{DATE}/agenda", data={**data, "csrf_token": member.csrf})
        assert r.status_code == 422 and message in r.text
        if "\x00" not in data["pseudonym"]:
            assert f'value="{data["pseudonym"]}"' in r.text  # input kept
    r = member.post("/board", data={"board_date": "3 Dec", "title": "x",
                                    "csrf_token": member.csrf})
    assert r.status_code == 422 and "is not a board date" in r.text
    r = member.post("/board", data={"board_date": DATE, "csrf_token": member.csrf})
    assert r.status_code == 422 and "already a board session" in r.text
    assert (_count(ws, BoardAgendaItem), audit_count(ws)) == (n_items, n_audit)
    assert _count(ws, BoardSession) == 1
    r = member.post(f"/board/{DATE}/agenda/{DSRCT}/remove", data={"csrf_token": member.csrf})
    assert r.status_code == 303
    removed = _entries(ws, "board_agenda.remove")[-1]
    assert removed.before["patient"] == DSRCT and removed.after is None
    assert _count(ws, BoardAgendaItem) == 0
    # the API adds too
    r = member.post(f"/api/board-sessions/{DATE}/agenda", json={"patient": "GIST-001"},
                    headers={"X-CSRF-Token": member.csrf})
    assert r.status_code == 201 and r.json()["patient"] == "GIST-001"
    r = member.delete(f"/api/board-sessions/{DATE}/agenda/GIST-001")
    assert r.status_code == 403  # no CSRF token
    r = member.delete(f"/api/board-sessions/{DATE}/agenda/GIST-001",
                      headers={"X-CSRF-Token": member.csrf})
    assert r.status_code == 200 and r.json()["position"] == 1
    assert member.delete(f"/api/board-sessions/{DATE}/agenda/GIST-001",
                         headers={"X-CSRF-Token": member.csrf}).status_code == 404
    assert member.get(f"/board/{DATE}/nope").status_code == 404
    assert member.get("/board/2031-01-01").status_code == 404


def test_sign_off_refused_while_recommendations_are_proposed(ws, sqlite_client_as):
    member = sqlite_client_as("board_member")
    _new_session(member, DATE, DSRCT)
    tdxd = _tdxd(_recs(member))
    n_audit = audit_count(ws)
    r = member.post(f"/board/{DATE}/sign-off", data={"csrf_token": member.csrf})
    assert r.status_code == 422
    assert "still proposed" in r.text and f"{DSRCT} #{tdxd['id']}" in r.text
    res = member.post(f"/api/board-sessions/{DATE}/sign-off",
                      headers={"X-CSRF-Token": member.csrf})
    assert res.status_code == 422 and tdxd["therapy"] in res.json()["message"]
    assert audit_count(ws) == n_audit and _count(ws, SignedReport) == 0
    # an empty session cannot be signed either
    _new_session(member, "2026-12-10")
    r = member.post("/board/2026-12-10/sign-off", data={"csrf_token": member.csrf})
    assert r.status_code == 422 and "is empty" in r.text


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_sign_off_freezes_the_signed_report(ws, sqlite_client_as):
    from tumorboard.recommend import recommend_patient

    member = sqlite_client_as("board_member")
    _new_session(member, DATE, DSRCT)
    _decide_all(member)
    r = member.post(f"/board/{DATE}/sign-off", data={"csrf_token": member.csrf})
    assert r.status_code == 303, r.text
    page = member.get(f"/board/{DATE}")
    assert "Signed by <strong>Dr board_member</strong>" in page.text
    assert f"/patients/{DSRCT}/signed/1.html" in page.text
    assert 'name="pseudonym"' not in page.text  # the agenda is frozen
    signed = _entries(ws, "board_session.sign_off")[-1]
    assert signed.before["status"] == "open" and signed.after["status"] == "signed"
    assert signed.after["signed_by"] == "Dr board_member"
    report_entry = _entries(ws, "signed_report.create")[-1]
    assert report_entry.after["patient"] == DSRCT and report_entry.after["version"] == 1

    html = member.get(f"/patients/{DSRCT}/signed/1.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in html.headers
    with ws.session() as s:
        stored = s.scalar(select(SignedReport).where(SignedReport.version == 1))
        assert html.content == stored.html.encode("utf-8")  # byte-identical
        assert stored.document["sign_off"]["status"] == "signed"
        assert stored.content_sha256 == stored.document["report"]["content_sha256"]
    doc = member.get(f"/patients/{DSRCT}/signed/1.json")
    assert doc.headers["content-disposition"].startswith("attachment")
    assert "<svg" in html.text and "SIGNED" in html.text
    frozen = (_sha(html.content), _sha(doc.content))

    # a later decision and a re-analysis change the live data, not the signed report
    tdxd = _tdxd(_recs(member))
    assert _api_decide(member, tdxd, "implemented").status_code == 200
    recommend_patient(ws, DSRCT)
    again = (_sha(member.get(f"/patients/{DSRCT}/signed/1.html").content),
             _sha(member.get(f"/patients/{DSRCT}/signed/1.json").content))
    assert again == frozen
    # after sign-off the agenda cannot change
    r = member.post(f"/board/{DATE}/agenda", data={"pseudonym": "GIST-001",
                                                   "csrf_token": member.csrf})
    assert r.status_code == 422 and "cannot change any more" in r.text
    r = member.post(f"/board/{DATE}/sign-off", data={"csrf_token": member.csrf})
    assert r.status_code == 422 and "already signed" in r.text

    # a second session produces version 2
    _new_session(member, "2026-12-17", DSRCT)
    _decide_all(member, "2026-12-17")
    res = member.post("/api/board-sessions/2026-12-17/sign-off",
                      headers={"X-CSRF-Token": member.csrf})
    assert res.status_code == 200, res.text
    assert res.json()["reports"][0]["version"] == 2
    listed = member.get(f"/api/patients/{DSRCT}/signed-reports").json()
    assert [x["version"] for x in listed] == [2, 1]
    assert listed[1]["board_date"] == DATE
    v2 = member.get(f"/patients/{DSRCT}/signed/2.html")
    assert v2.status_code == 200 and _sha(v2.content) != frozen[0]
    assert _sha(member.get(f"/patients/{DSRCT}/signed/1.html").content) == frozen[0]

    # derived formats
    fhir = member.get(f"/patients/{DSRCT}/signed/1.fhir")
    assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Bundle"
    pheno = member.get(f"/patients/{DSRCT}/signed/1.phenopacket")
    assert pheno.status_code == 200 and pheno.json()["subject"]["id"] == DSRCT
    assert member.get(f"/patients/{DSRCT}/signed/3.html").status_code == 404
    assert member.get(f"/patients/{DSRCT}/signed/1.docx").status_code == 422


def test_signed_pdf_downloads_and_is_cached(ws, sqlite_client_as):
    member = sqlite_client_as("board_member")
    _new_session(member, DATE, "GIST-001")
    _decide_all(member)
    assert member.post(f"/board/{DATE}/sign-off",
                       data={"csrf_token": member.csrf}).status_code == 303
    viewer = sqlite_client_as("viewer")
    pdf = viewer.get("/patients/GIST-001/signed/1.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert 'filename="GIST-001-signed-v1.pdf"' in pdf.headers["content-disposition"]
    with ws.session() as s:
        assert s.scalar(select(SignedReport.pdf)) == pdf.content
    assert len(_entries(ws, "signed_report.render_pdf")) == 1
    assert viewer.get("/patients/GIST-001/signed/1.pdf").content == pdf.content
    assert len(_entries(ws, "signed_report.render_pdf")) == 1  # rendered once


def test_viewer_cannot_write_and_csrf_is_required(ws, sqlite_client_as):
    member = sqlite_client_as("board_member")
    _new_session(member, DATE, DSRCT)
    tdxd = _tdxd(_recs(member))
    viewer = sqlite_client_as("viewer")
    n_audit = audit_count(ws)
    form = {"csrf_token": viewer.csrf}
    for path, data in (("/board", {"board_date": "2026-12-24"}),
                       (f"/board/{DATE}/agenda", {"pseudonym": "GIST-001"}),
                       (f"/board/{DATE}/agenda/{DSRCT}/remove", {}),
                       (f"/board/{DATE}/sign-off", {}),
                       (f"/recommendations/{tdxd['id']}/decision",
                        {"decision": "accepted", "version": tdxd["version"]})):
        assert viewer.post(path, data={**data, **form}).status_code == 403, path
    headers = {"X-CSRF-Token": viewer.csrf}
    for path, body in (("/api/board-sessions", {"board_date": "2026-12-24"}),
                       (f"/api/board-sessions/{DATE}/agenda", {"patient": "GIST-001"}),
                       (f"/api/board-sessions/{DATE}/sign-off", None),
                       (f"/api/recommendations/{tdxd['id']}/decisions",
                        {"decision": "accepted", "version": tdxd["version"]})):
        assert viewer.post(path, json=body, headers=headers).status_code == 403, path
    assert viewer.delete(f"/api/board-sessions/{DATE}/agenda/{DSRCT}",
                         headers=headers).status_code == 403
    # a board member without the form's token
    r = member.post(f"/recommendations/{tdxd['id']}/decision",
                    data={"decision": "accepted", "version": tdxd["version"]})
    assert r.status_code == 403 and "security token" in r.text
    r = member.post(f"/api/recommendations/{tdxd['id']}/decisions",
                    json={"decision": "accepted", "version": tdxd["version"]})
    assert r.status_code == 403
    assert audit_count(ws) == n_audit and _tdxd(_recs(member))["status"] == "proposed"
    anonymous = TestClient(member.app, follow_redirects=False)
    assert anonymous.get(f"/board/{DATE}").status_code == 303
    assert anonymous.get("/api/board-sessions").status_code == 401


def test_api_validates_input(ws, sqlite_client_as):
    member = sqlite_client_as("board_member")
    h = {"X-CSRF-Token": member.csrf}
    n_audit = audit_count(ws)
    assert member.post("/api/board-sessions", json={"board_date": "soon"},
                       headers=h).status_code == 422
    r = member.post("/api/board-sessions", json={"board_date": DATE, "title": "a\x00b"},
                    headers=h)
    assert r.status_code == 422 and "NUL" in r.json()["message"]
    assert member.post(f"/api/board-sessions/{DATE}/agenda", json={"patient": "../x"},
                       headers=h).status_code == 422
    assert member.post("/api/recommendations/99999999999/decisions",
                       json={"decision": "accepted", "version": 1}, headers=h
                       ).status_code == 422
    r = member.post("/api/recommendations/999999/decisions",
                    json={"decision": "accepted", "version": 1}, headers=h)
    assert r.status_code == 404
    assert member.get("/api/board-sessions/2026-13-45").status_code == 422
    assert member.get("/api/patients/NOPE/signed-reports").status_code == 404
    assert audit_count(ws) == n_audit
    r = member.post("/api/board-sessions", json={"board_date": DATE}, headers=h)
    assert r.status_code == 201 and r.json()["title"] == "Molecular tumour board"
    listing = member.get("/api/board-sessions?per_page=10").json()
    assert listing["total"] == 1 and listing["sessions"][0]["n_patients"] == 0


def test_lost_update_in_the_api_on_both_databases(web_workspace, client_as):
    """Two board members load version v; the first accepts; the second's reject with
    version v gets 409 with the message, and the decision stays 'accepted'."""
    first, second = client_as("board_member"), client_as("admin")
    r = first.post("/api/board-sessions", json={"board_date": DATE, "title": "MTB"},
                   headers={"X-CSRF-Token": first.csrf})
    assert r.status_code == 201, r.text
    r = first.post(f"/api/board-sessions/{DATE}/agenda", json={"patient": DSRCT},
                   headers={"X-CSRF-Token": first.csrf})
    assert r.status_code == 201, r.text
    seen = _tdxd(_recs(second))
    accepted = _api_decide(first, seen)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert accepted.json()["version"] == seen["version"] + 1
    n_audit = audit_count(web_workspace)
    lost = _api_decide(second, seen, "rejected", reason="toxicity")
    assert lost.status_code == 409
    message = lost.json()["message"]
    assert (f"recommendation {seen['id']} ({seen['therapy']}) was changed by Dr board_member"
            in message)
    assert "to 'accepted' after you opened it; nothing was saved" in message
    assert _tdxd(_recs(second))["status"] == "accepted"
    assert audit_count(web_workspace) == n_audit
    # the page route on the same database
    r = second.post(f"/recommendations/{seen['id']}/decision",
                    data={"decision": "rejected", "reason": "toxicity",
                          "version": seen["version"], "next": f"/board/{DATE}",
                          "csrf_token": second.csrf})
    assert r.status_code == 409
    with web_workspace.session() as s:
        row = s.get(Recommendation, seen["id"])
        assert row.status == "accepted" and [d.decision for d in row.decisions] == ["accepted"]
    entry = _entries(web_workspace, "recommendation.decide")[-1]
    assert entry.before["version"] == seen["version"] and entry.actor == "web:board_member"

"""Board sessions in the library and on the command line: agenda, optimistic locking of
decisions (also against a concurrent transaction), sign-off and signed reports."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.web.conftest import sqlite_web_workspace, web_workspace  # noqa: F401
from tumorboard import board
from tumorboard.cli import app
from tumorboard.errors import ConflictError, InputError, NotFoundError
from tumorboard.registry.db import transaction
from tumorboard.registry.models import AuditEntry, BoardDecision, Recommendation, SignedReport

DATE = "2026-12-03"
PATIENT = "DSRCT-001"


def _count(ws, model) -> int:
    with ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _agenda(ws, *patients: str, date: str = DATE) -> None:
    with transaction(ws.engine) as s:
        board.open_session(s, date)
        for p in patients:
            board.add_to_agenda(s, date, p)
    for p in patients:
        board.ensure_recommendations(ws, p)


def _tdxd(ws, patient: str = PATIENT) -> dict:
    with ws.session() as s:
        detail = board.session_detail(s, DATE)
    item = next(i for i in detail["agenda"] if i["patient"] == patient)
    return next(r for r in item["recommendations"]
                if "trastuzumab deruxtecan" in r["therapy"].lower())


def _accept_all(ws, date: str = DATE) -> None:
    with ws.session() as s:
        detail = board.session_detail(s, date)
    for item in detail["agenda"]:
        for r in item["recommendations"]:
            if r["status"] == "proposed":
                board.record_decision(ws, r["id"], "accepted", expected_version=r["version"])


def test_stale_version_is_refused_with_who_what_when(sqlite_web_workspace):  # noqa: F811
    ws = sqlite_web_workspace
    _agenda(ws, PATIENT)
    rec = _tdxd(ws)
    done = board.record_decision(ws, rec["id"], "accepted", recorded_by="Dr Jones",
                                 expected_version=rec["version"])
    assert done["version"] == rec["version"] + 1 and done["status"] == "accepted"
    n = (_count(ws, BoardDecision), _count(ws, AuditEntry))
    with pytest.raises(ConflictError) as exc:
        board.record_decision(ws, rec["id"], "rejected", reason="toxicity",
                              recorded_by="Dr Smith", expected_version=rec["version"])
    message = str(exc.value)
    assert message.startswith(f"recommendation {rec['id']} ({rec['therapy']}) was changed by "
                              "Dr Jones at ")
    assert " UTC to 'accepted' after you opened it; nothing was saved" in message
    assert (_count(ws, BoardDecision), _count(ws, AuditEntry)) == n
    # without an expected version (the command line) the decision is recorded
    board.record_decision(ws, rec["id"], "implemented")
    with ws.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "recommendation.decide")
                          .order_by(AuditEntry.id.desc())).first()
    assert entry.before["status"] == "accepted" and entry.after["status"] == "implemented"
    assert entry.before["decision"]["recorded_by"] == "Dr Jones"
    assert entry.actor.startswith("cli")


def test_concurrent_transaction_becomes_a_conflict(web_workspace):  # noqa: F811
    """Another transaction commits a decision between our read and our write: the version
    check of the UPDATE (StaleDataError) turns into the same ConflictError."""
    ws = web_workspace
    _agenda(ws, PATIENT)
    rec = _tdxd(ws)
    fired = []

    def meanwhile(session, _context, _instances) -> None:
        if fired:
            return
        fired.append(True)
        with ws.engine.connect() as other:  # a second connection: its own transaction
            other.execute(text("UPDATE recommendations SET status = 'accepted', "
                               "version = version + 1 WHERE id = :id"), {"id": rec["id"]})
            other.execute(text("INSERT INTO board_decisions (recommendation_id, decision, "
                               "decided_on, recorded_by, created_at) VALUES (:id, 'accepted', "
                               "'2026-12-03', 'Dr Early', CURRENT_TIMESTAMP)"),
                          {"id": rec["id"]})
            other.commit()

    event.listen(Session, "before_flush", meanwhile)
    try:
        with pytest.raises(ConflictError, match=r"was changed by Dr Early .*to 'accepted'"):
            board.record_decision(ws, rec["id"], "rejected", reason="toxicity",
                                  expected_version=rec["version"])
    finally:
        event.remove(Session, "before_flush", meanwhile)
    with ws.session() as s:
        row = s.get(Recommendation, rec["id"])
        assert row.status == "accepted" and [d.recorded_by for d in row.decisions] == [
            "Dr Early"]


def test_agenda_library(sqlite_web_workspace):  # noqa: F811
    ws = sqlite_web_workspace
    with transaction(ws.engine) as s:
        created = board.create_session(s, DATE, title="  Sarcoma MTB ")
        assert created["title"] == "Sarcoma MTB" and created["status"] == "open"
        board.add_to_agenda(s, DATE, "GIST-001", question="imatinib dose?")
        board.add_to_agenda(s, DATE, PATIENT)
    with ws.session() as s:
        detail = board.session_detail(s, DATE)
        listing = board.list_sessions(s)
    assert [i["patient"] for i in detail["agenda"]] == ["GIST-001", PATIENT]
    assert detail["agenda"][0]["question"] == "imatinib dose?"
    assert detail["agenda"][1]["entity"]["oncotree_code"] == "DSRCT"
    assert listing["total"] == 1 and listing["sessions"][0]["n_patients"] == 2
    n_audit = _count(ws, AuditEntry)
    for call, message in (
            (lambda s: board.create_session(s, DATE), "already a board session"),
            (lambda s: board.create_session(s, "2026-02-30"), "not a board date"),
            (lambda s: board.add_to_agenda(s, DATE, "NOPE-1"), "no patient 'NOPE-1'"),
            (lambda s: board.add_to_agenda(s, DATE, PATIENT), "already on the agenda"),
            (lambda s: board.add_to_agenda(s, DATE, "ES-001", question="x\x00"), "NUL")):
        with pytest.raises(InputError, match=message), transaction(ws.engine) as s:
            call(s)
    with pytest.raises(NotFoundError), transaction(ws.engine) as s:
        board.add_to_agenda(s, "2030-01-01", PATIENT)
    assert _count(ws, AuditEntry) == n_audit
    with transaction(ws.engine) as s:
        removed = board.remove_from_agenda(s, DATE, "GIST-001")
    assert removed["patient"] == "GIST-001"
    with ws.session() as s:
        assert [i["patient"] for i in board.session_detail(s, DATE)["agenda"]] == [PATIENT]


def test_sign_off_in_the_library(sqlite_web_workspace):  # noqa: F811
    ws = sqlite_web_workspace
    _agenda(ws, PATIENT)
    with pytest.raises(InputError, match=f"still proposed: .*{PATIENT} #"):
        board.sign_off(ws, DATE, signed_by="Dr Chair")
    _accept_all(ws)
    done = board.sign_off(ws, DATE, signed_by="Dr Chair")
    assert done["status"] == "signed" and done["signed_by"] == "Dr Chair"
    assert [(r["patient"], r["version"]) for r in done["reports"]] == [(PATIENT, 1)]
    with ws.session() as s:
        stored = board.signed_report(s, PATIENT, 1)
        assert board.signed_reports(s, PATIENT)[0]["content_sha256"] == stored[
            "content_sha256"]
        with pytest.raises(NotFoundError, match="no signed report version 2"):
            board.signed_report(s, PATIENT, 2)
    assert stored["document"]["sign_off"]["signed_by"] == "Dr Chair"
    assert all(r["status"] != "proposed" for r in stored["document"]["recommendations"])
    assert board.signed_report_content(ws, PATIENT, 1, "html") == stored["html"].encode()
    with pytest.raises(InputError, match="cannot change any more"), \
            transaction(ws.engine) as s:
        board.remove_from_agenda(s, DATE, PATIENT)
    with pytest.raises(InputError, match="already signed"):
        board.sign_off(ws, DATE, signed_by="Dr Chair")


def test_sign_off_refuses_when_the_agenda_changed_meanwhile(sqlite_web_workspace,  # noqa: F811
                                                             monkeypatch):
    ws = sqlite_web_workspace
    _agenda(ws, PATIENT)
    _accept_all(ws)
    build = board._signed_document

    def slow_build(*args, **kwargs):
        with transaction(ws.engine) as s:  # a colleague adds a patient while we build
            board.add_to_agenda(s, DATE, "GIST-001")
        monkeypatch.setattr(board, "_signed_document", build)
        return build(*args, **kwargs)

    monkeypatch.setattr(board, "_signed_document", slow_build)
    with pytest.raises(ConflictError, match="changed while its reports were being prepared"):
        board.sign_off(ws, DATE, signed_by="Dr Chair")
    assert _count(ws, SignedReport) == 0


def test_board_commands(sqlite_web_workspace):  # noqa: F811
    ws = sqlite_web_workspace
    runner = CliRunner()
    common = ["-w", str(ws.root), "--db", ws.settings.database_url]
    res = runner.invoke(app, ["board", "session-add", DATE, "GIST-001", "--title", "MTB",
                              "--json", *common])
    assert res.exit_code == 0, res.output
    added = json.loads(res.stdout)
    assert added[0]["patient"] == "GIST-001" and added[0]["n_recommendations"] >= 1
    res = runner.invoke(app, ["board", "sign-off", DATE, *common])
    assert res.exit_code == 1 and "still proposed" in res.stderr
    with ws.session() as s:
        recs = s.scalars(select(Recommendation).where(Recommendation.status == "proposed",
                                                      Recommendation.direction
                                                      == "sensitivity")).all()
    for r in recs:
        res = runner.invoke(app, ["board", "decide", str(r.id), "accepted", *common])
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["board", "sign-off", DATE, "--by", "Dr Chair", "--json",
                              *common])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["reports"][0]["version"] == 1
    res = runner.invoke(app, ["board", "sessions", "--json", *common])
    assert json.loads(res.stdout)["sessions"][0]["signed_by"] == "Dr Chair"
    res = runner.invoke(app, ["board", "sessions", *common])
    assert DATE in res.stdout and "signed" in res.stdout
    res = runner.invoke(app, ["board", "session-add", DATE, "ES-001", *common])
    assert res.exit_code == 1 and "cannot change any more" in res.stderr

"""Tumour board sessions: the agenda of a date, decisions, and the sign-off that freezes
each patient's report as the board saw it.

A board session is a meeting on a date with an agenda of patients. Board members decide on
each recommendation (:func:`record_decision`, with optimistic locking); once no
sensitivity recommendation of an agenda patient is still 'proposed', the session can be
signed off (:func:`sign_off`): each agenda patient's MTB report document and its HTML are
stored as a :class:`~tumorboard.registry.models.SignedReport` and never change again, so a
later decision or re-analysis does not alter what the board signed. PDF, FHIR and
Phenopacket of a signed report are derived from the stored HTML and document.

Every function that changes the registry writes an audit entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from tumorboard import reference
from tumorboard.errors import ConflictError, InputError, NotFoundError
from tumorboard.recommend import _rec_record, record_decision
from tumorboard.registry import audit
from tumorboard.registry.db import transaction
from tumorboard.registry.models import (
    Analysis,
    BoardAgendaItem,
    BoardSession,
    DiagnosisReview,
    Patient,
    Recommendation,
    SignedReport,
    TargetEvidence,
)
from tumorboard.registry.queries import find_patient

#: Formats a signed report is served in; ``html`` is the stored page byte for byte.
SIGNED_FORMATS = ("html", "pdf", "json", "fhir", "phenopacket")
#: Target states worth showing on the agenda, most actionable first.
_TARGET_ORDER = {"activated": 0, "expressed_not_activated": 1,
                 "expressed_activation_unknown": 2}
TOP_TARGETS = 3
DEFAULT_TITLE = "Molecular tumour board"
#: Pseudonyms as the case reader accepts them (:mod:`tumorboard.io.case`).
_PSEUDONYM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

__all__ = [
    "SIGNED_FORMATS",
    "add_to_agenda",
    "create_session",
    "ensure_recommendations",
    "list_sessions",
    "open_session",
    "recommendation_brief",
    "record_decision",
    "remove_from_agenda",
    "session_detail",
    "sign_off",
    "signed_report",
    "signed_report_content",
    "signed_reports",
]


# ------------------------------------------------------------------------------ helpers

def _board_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InputError(f"'{value}' is not a board date", expected="YYYY-MM-DD",
                         fix="give the date of the meeting, e.g. 2026-12-03") from exc


def _text(value: str | None, what: str, *, max_length: int) -> str | None:
    """A free-text field stripped; None when blank. NUL characters are refused because
    PostgreSQL cannot store them in text."""
    if value is None:
        return None
    if "\x00" in value:
        raise InputError(f"the {what} contains a NUL character", fix="remove it")
    value = value.strip()
    if len(value) > max_length:
        raise InputError(f"the {what} is {len(value)} characters long",
                         expected=f"at most {max_length}")
    return value or None


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    """Timestamps as UTC (SQLite hands them back without a time zone, stored as UTC)."""
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _iso(t: dt.datetime | None) -> str | None:
    t = _utc(t)
    return t.isoformat(timespec="seconds") if t else None


def _session_row(session: Session, board_date: dt.date | str) -> BoardSession:
    day = _board_date(board_date)
    row = session.scalar(select(BoardSession).where(BoardSession.board_date == day))
    if row is None:
        raise NotFoundError(f"no board session on {day.isoformat()}; create it first "
                            "(`tumorboard board session-add DATE PATIENT...` or the Board "
                            "sessions page)")
    return row


def _session_state(row: BoardSession) -> dict[str, Any]:
    return {"board_date": row.board_date.isoformat(), "title": row.title,
            "status": row.status, "signed_by": row.signed_by,
            "signed_at": _iso(row.signed_at), "version": row.version}


def _require_open(row: BoardSession) -> None:
    if row.status == "signed":
        raise InputError(
            f"the board session on {row.board_date.isoformat()} was signed by "
            f"{row.signed_by} on {_iso(row.signed_at)}; its agenda cannot change any more",
            fix="create a session on another date for further discussion")


def _patient_for_agenda(session: Session, pseudonym: str) -> Patient:
    if not _PSEUDONYM.fullmatch(pseudonym):
        raise InputError(f"'{pseudonym[:80]}' is not a pseudonym",
                         expected="letters, digits, '.', '_' or '-', as on the patient list")
    try:
        return find_patient(session, pseudonym)
    except NotFoundError as exc:  # typed by the user: an input problem, not a missing page
        raise InputError(f"no patient '{pseudonym}' in the registry",
                         fix="check the pseudonym on the patient list") from exc


# ------------------------------------------------------------------------------ sessions

def create_session(session: Session, board_date: dt.date | str, *,
                   title: str | None = None) -> dict[str, Any]:
    """Create the (open, empty) board session of a date.

    Raises
    ------
    InputError
        Not a date, a title too long, or a session on that date exists already.
    """
    day = _board_date(board_date)
    title = _text(title, "title", max_length=255) or DEFAULT_TITLE
    if session.scalar(select(BoardSession.id).where(BoardSession.board_date == day)):
        raise InputError(f"there is already a board session on {day.isoformat()}",
                         fix="open it from the list of board sessions")
    row = BoardSession(board_date=day, title=title, status="open")
    session.add(row)
    session.flush()
    audit.record(session, "board_session.create", "board_sessions", row.id,
                 after=_session_state(row))
    return {**_session_state(row), "n_patients": 0}


def open_session(session: Session, board_date: dt.date | str, *,
                 title: str | None = None) -> dict[str, Any]:
    """The board session of a date, created (audited) when there is none yet."""
    day = _board_date(board_date)
    row = session.scalar(select(BoardSession).where(BoardSession.board_date == day))
    if row is None:
        return create_session(session, day, title=title)
    return {**_session_state(row), "n_patients": len(row.items)}


def add_to_agenda(session: Session, board_date: dt.date | str, pseudonym: str, *,
                  question: str | None = None) -> dict[str, Any]:
    """Put a patient on the agenda of an open board session (at the end).

    Raises
    ------
    NotFoundError
        No session on that date.
    InputError
        Unknown patient, already on the agenda, or the session is signed.
    """
    row = _session_row(session, board_date)
    _require_open(row)
    question = _text(question, "question", max_length=2000)
    patient = _patient_for_agenda(session, pseudonym.strip())
    if any(i.patient_id == patient.id for i in row.items):
        raise InputError(f"{patient.pseudonym} is already on the agenda of "
                         f"{row.board_date.isoformat()}")
    position = max((i.position for i in row.items), default=0) + 1
    item = BoardAgendaItem(board_session=row, patient_id=patient.id, position=position,
                           question=question)
    session.add(item)
    session.flush()
    after = {"board_date": row.board_date.isoformat(), "patient": patient.pseudonym,
             "position": position, "question": question}
    audit.record(session, "board_agenda.add", "board_agenda", item.id, patient_id=patient.id,
                 after=after)
    return after


def ensure_recommendations(workspace: Any, pseudonym: str) -> int:
    """Compute and store a patient's recommendations when none are stored yet, so the board
    can decide on them; returns how many the patient has (0 when not analysed)."""
    from tumorboard.recommend import recommend_patient

    with workspace.session() as s:
        patient = find_patient(s, pseudonym)
        stored = s.scalar(select(func.count()).select_from(Recommendation)
                          .where(Recommendation.patient_id == patient.id)) or 0
    if stored:
        return int(stored)
    try:
        doc = recommend_patient(workspace, pseudonym)
    except NotFoundError:  # not analysed: nothing to recommend yet
        return 0
    return len(doc["recommendations"]) + len(doc["resistance"])


def remove_from_agenda(session: Session, board_date: dt.date | str, pseudonym: str
                       ) -> dict[str, Any]:
    """Take a patient off the agenda of an open board session.

    Raises
    ------
    NotFoundError
        No session on that date, or the patient is not on its agenda.
    InputError
        The session is signed.
    """
    row = _session_row(session, board_date)
    _require_open(row)
    item = next((i for i in row.items if i.patient.pseudonym == pseudonym), None)
    if item is None:
        raise NotFoundError(f"{pseudonym} is not on the agenda of {row.board_date.isoformat()}")
    before = {"board_date": row.board_date.isoformat(), "patient": pseudonym,
              "position": item.position, "question": item.question}
    audit.record(session, "board_agenda.remove", "board_agenda", item.id,
                 patient_id=item.patient_id, before=before)
    row.items.remove(item)
    session.flush()
    return before


def list_sessions(session: Session, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Board sessions, newest date first, with the number of patients on each agenda."""
    total = session.scalar(select(func.count()).select_from(BoardSession)) or 0
    counts = (select(BoardAgendaItem.board_session_id, func.count().label("n"))
              .group_by(BoardAgendaItem.board_session_id).subquery())
    rows = session.execute(
        select(BoardSession, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.board_session_id == BoardSession.id)
        .order_by(BoardSession.board_date.desc()).limit(limit).offset(offset)).all()
    return {"total": int(total),
            "sessions": [{**_session_state(r), "n_patients": int(n)} for r, n in rows]}


def session_detail(session: Session, board_date: dt.date | str) -> dict[str, Any]:
    """A board session with its agenda: per patient the entity, the concordance alert, the
    top targets and the recommendations with status, version and decisions.

    A fixed number of queries for the whole agenda (no query per patient).

    Raises
    ------
    NotFoundError
        No session on that date.
    """
    row = _session_row(session, board_date)
    items = session.scalars(
        select(BoardAgendaItem).where(BoardAgendaItem.board_session_id == row.id)
        .options(selectinload(BoardAgendaItem.patient).selectinload(Patient.diagnoses))
        .order_by(BoardAgendaItem.position)).all()
    ids = [i.patient_id for i in items]
    reviews = {r.patient_id: r for r in session.scalars(
        select(DiagnosisReview).where(DiagnosisReview.patient_id.in_(ids)))} if ids else {}
    latest = dict(session.execute(
        select(Analysis.patient_id, func.max(Analysis.id)).where(Analysis.patient_id.in_(ids))
        .group_by(Analysis.patient_id)).all()) if ids else {}
    targets: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if latest:
        te = TargetEvidence  # the four columns shown, not the JSON-heavy rows
        for t in session.execute(select(te.patient_id, te.gene, te.state, te.is_antigen,
                                        te.is_kinase).where(
                te.analysis_id.in_(list(latest.values())),
                te.state.in_(list(_TARGET_ORDER)))):
            targets[t.patient_id].append({"gene": t.gene, "state": t.state,
                                          "antigen": t.is_antigen, "kinase": t.is_kinase})
    recs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        for r in session.scalars(
                select(Recommendation).where(Recommendation.patient_id.in_(ids))
                .options(selectinload(Recommendation.decisions))
                .order_by(Recommendation.direction.desc(), Recommendation.rank)):
            recs[r.patient_id].append(_rec_record(r))
    signed = {s.patient_id: s for s in session.execute(  # not the stored HTML and PDF
        select(SignedReport.patient_id, SignedReport.version, SignedReport.content_sha256)
        .where(SignedReport.board_session_id == row.id))}
    oncotree = reference.oncotree()
    agenda = []
    for item in items:
        p = item.patient
        diagnosis = p.current_diagnosis
        code = diagnosis.oncotree_code if diagnosis else None
        node = oncotree.get(code) if code else None
        review = reviews.get(p.id)
        shown = sorted(targets.get(p.id, []),
                       key=lambda t: (_TARGET_ORDER[t["state"]], not t["antigen"], t["gene"]))
        report = signed.get(p.id)
        agenda.append({
            "position": item.position, "patient": p.pseudonym, "question": item.question,
            "entity": {"oncotree_code": code, "name": node.name if node else None},
            "concordance": None if review is None else {
                "status": review.status, "alert": review.alert, "message": review.message,
                "suggested": review.suggested_code},
            "top_targets": shown[:TOP_TARGETS],
            "recommendations": [r for r in recs.get(p.id, [])
                                if r["direction"] == "sensitivity"],
            "resistance": [r for r in recs.get(p.id, []) if r["direction"] == "resistance"],
            "signed_report": None if report is None else {
                "version": report.version, "content_sha256": report.content_sha256},
        })
    return {**_session_state(row), "n_patients": len(agenda), "agenda": agenda}


def recommendation_brief(session: Session, recommendation_id: int) -> dict[str, Any]:
    """A recommendation with its patient, for a decision form shown on its own.

    Raises
    ------
    NotFoundError
        No recommendation with this id.
    """
    row = session.get(Recommendation, recommendation_id)
    if row is None:
        raise NotFoundError(f"no recommendation with id {recommendation_id}")
    patient = session.get(Patient, row.patient_id)
    return {**_rec_record(row), "patient": patient.pseudonym if patient else None}


# ------------------------------------------------------------------------------ sign-off

def _pending(session: Session, patient_ids: list[int]) -> list[str]:
    """Sensitivity recommendations of these patients the board has not decided on."""
    if not patient_ids:
        return []
    rows = session.execute(
        select(Patient.pseudonym, Recommendation.id, Recommendation.therapy)
        .join(Patient, Patient.id == Recommendation.patient_id)
        .where(Recommendation.patient_id.in_(patient_ids),
               Recommendation.direction == "sensitivity",
               Recommendation.status == "proposed")
        .order_by(Patient.pseudonym, Recommendation.rank)).all()
    return [f"{p} #{i} {t}" for p, i, t in rows]


def _content_digest(document: dict[str, Any]) -> str:
    """The report document's content digest, as :func:`tumorboard.report.document.
    build_document` computes it (everything but the ``report`` block)."""
    from tumorboard.model import json_ready

    content = json_ready({k: v for k, v in document.items() if k != "report"})
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()
                          ).hexdigest()


def _signed_document(workspace: Any, pseudonym: str, *, signed_by: str,
                     signed_at: dt.datetime, board: BoardSession) -> tuple[dict[str, Any], str]:
    """The MTB report document of a patient marked as signed, and its HTML with SVG
    figures (as :func:`tumorboard.report.mtb.write_report` draws them)."""
    from tumorboard.report.document import mtb_report
    from tumorboard.report.mtb import render_html, report_figures
    from tumorboard.report.plots import markup

    try:
        document = mtb_report(workspace, pseudonym)
    except NotFoundError as exc:
        raise InputError(f"cannot sign the report of {pseudonym}: {exc}",
                         fix=f"analyse {pseudonym} or take them off the agenda") from exc
    undecided = [f"{pseudonym} {r['therapy']}" for r in document["recommendations"]
                 if r.get("status") == "proposed"]
    if undecided:  # recommendations computed just now by mtb_report
        raise InputError("the board has not decided on: " + "; ".join(undecided),
                         fix="accept or reject each recommendation, then sign off")
    document["sign_off"] = {**document.get("sign_off", {}), "status": "signed",
                            "signed_by": signed_by, "signed_at": _iso(signed_at),
                            "board_date": board.board_date.isoformat(),
                            "board_title": board.title}
    digest = _content_digest(document)
    document["report"]["content_sha256"] = digest
    generated = document["report"]["generated"][:10].replace("-", "")
    document["report"]["id"] = f"{pseudonym}-{generated}-{digest[:8]}"
    figures = report_figures(workspace, document, image="figure")
    html = render_html(document, {title: markup(fig, f"f{i}", "svg")
                                  for i, (title, fig) in enumerate(figures.items())})
    return document, html


def sign_off(workspace: Any, board_date: dt.date | str, *, signed_by: str) -> dict[str, Any]:
    """Sign off a board session: freeze each agenda patient's MTB report.

    For each patient on the agenda the report document and its HTML (with figures) are
    stored as a new signed report version (previous version of that patient + 1); the
    session becomes 'signed' and its agenda can no longer change. Audit entries:
    ``signed_report.create`` per patient and ``board_session.sign_off``.

    The documents are built before the write transaction (they read the registry and draw
    figures); the transaction then checks that the session is still open with the same
    agenda and still no undecided recommendation, so nothing is signed that changed
    meanwhile.

    Raises
    ------
    NotFoundError
        No session on that date.
    InputError
        The session is already signed, its agenda is empty, or sensitivity
        recommendations of agenda patients are still 'proposed' (listed).
    ConflictError
        The session or its agenda changed while the reports were being built.
    """
    signed_by = _text(signed_by, "signer's name", max_length=128) or ""
    if not signed_by:
        raise InputError("a sign-off needs the name of who signs", fix="give --by NAME")
    with workspace.session() as s:
        board = _session_row(s, board_date)
        if board.status == "signed":
            raise InputError(f"the board session on {board.board_date.isoformat()} is already "
                             f"signed (by {board.signed_by} on {_iso(board.signed_at)})")
        items = list(board.items)
        if not items:
            raise InputError(f"the agenda of {board.board_date.isoformat()} is empty; there "
                             "is nothing to sign", fix="add the patients discussed first")
        pending = _pending(s, [i.patient_id for i in items])
        if pending:
            raise InputError(
                f"{len(pending)} recommendation(s) are still proposed: " + "; ".join(pending),
                fix="accept or reject each of them, then sign off")
        version_seen = board.version
        agenda = [(i.patient_id, i.patient.pseudonym) for i in items]
        s.expunge(board)
    signed_at = dt.datetime.now(dt.UTC)
    built = {pid: _signed_document(workspace, pseudonym, signed_by=signed_by,
                                   signed_at=signed_at, board=board)
             for pid, pseudonym in agenda}
    changed = ConflictError(f"the board session on {board.board_date.isoformat()} changed "
                            "while its reports were being prepared; nothing was signed — "
                            "reload the page and sign off again")
    try:
        with transaction(workspace.engine) as s:
            row = s.get(BoardSession, board.id)
            if (row is None or row.status != "open" or row.version != version_seen
                    or sorted(i.patient_id for i in row.items) != sorted(built)):
                raise changed
            pending = _pending(s, list(built))
            if pending:
                raise InputError(
                    f"{len(pending)} recommendation(s) are still proposed: "
                    + "; ".join(pending), fix="accept or reject each of them, then sign off")
            before = _session_state(row)
            previous = dict(s.execute(
                select(SignedReport.patient_id, func.max(SignedReport.version))
                .where(SignedReport.patient_id.in_(list(built)))
                .group_by(SignedReport.patient_id)).all())
            reports = []
            for pid, pseudonym in agenda:
                document, html = built[pid]
                report = SignedReport(
                    patient_id=pid, board_session_id=row.id,
                    version=(previous.get(pid) or 0) + 1,
                    content_sha256=document["report"]["content_sha256"], document=document,
                    html=html, signed_by=signed_by, signed_at=signed_at)
                s.add(report)
                s.flush()
                summary = {"patient": pseudonym, "version": report.version,
                           "content_sha256": report.content_sha256,
                           "board_date": row.board_date.isoformat(), "signed_by": signed_by,
                           "signed_at": _iso(signed_at)}
                audit.record(s, "signed_report.create", "signed_reports", report.id,
                             patient_id=pid, after=summary)
                reports.append(summary)
            row.status, row.signed_by, row.signed_at = "signed", signed_by, signed_at
            s.flush()
            audit.record(s, "board_session.sign_off", "board_sessions", row.id,
                         before=before, after=_session_state(row))
            return {**_session_state(row), "reports": reports}
    except (StaleDataError, IntegrityError) as exc:  # a concurrent sign-off committed first
        raise changed from exc


# ------------------------------------------------------------------------------ signed reports

def signed_reports(session: Session, pseudonym: str) -> list[dict[str, Any]]:
    """The signed report versions of a patient, newest first (without their content).

    Raises
    ------
    NotFoundError
        Unknown patient.
    """
    patient = find_patient(session, pseudonym)
    rows = session.execute(
        select(SignedReport.version, SignedReport.content_sha256, SignedReport.signed_by,
               SignedReport.signed_at, BoardSession.board_date)
        .join(BoardSession, BoardSession.id == SignedReport.board_session_id)
        .where(SignedReport.patient_id == patient.id)
        .order_by(SignedReport.version.desc())).all()
    return [{"version": r.version, "content_sha256": r.content_sha256,
             "signed_by": r.signed_by, "signed_at": _iso(r.signed_at),
             "board_date": r.board_date.isoformat()} for r in rows]


def _signed_row(session: Session, pseudonym: str, version: int) -> tuple[Patient, SignedReport]:
    patient = find_patient(session, pseudonym)
    row = session.scalar(select(SignedReport).where(SignedReport.patient_id == patient.id,
                                                    SignedReport.version == version))
    if row is None:
        raise NotFoundError(f"{pseudonym} has no signed report version {version}; see the "
                            "patient's signed reports")
    return patient, row


def signed_report(session: Session, pseudonym: str, version: int) -> dict[str, Any]:
    """A signed report as stored: document, HTML and who signed it when.

    Raises
    ------
    NotFoundError
        Unknown patient or version.
    """
    _, row = _signed_row(session, pseudonym, version)
    board = session.get(BoardSession, row.board_session_id)
    return {"patient": pseudonym, "version": row.version,
            "content_sha256": row.content_sha256, "document": row.document, "html": row.html,
            "signed_by": row.signed_by, "signed_at": _iso(row.signed_at),
            "board_date": board.board_date.isoformat() if board else None,
            "has_pdf": row.pdf is not None}


def signed_report_content(workspace: Any, pseudonym: str, version: int, fmt: str) -> bytes:
    """A signed report in one format: the stored HTML byte for byte, the stored document
    as JSON, FHIR or Phenopacket derived from it, or the PDF of the stored HTML.

    The PDF is rendered on first download and kept in the row (audit entry
    ``signed_report.render_pdf``), so it is laid out once.

    Raises
    ------
    NotFoundError
        Unknown patient or version.
    InputError
        Unknown format.
    """
    if fmt not in SIGNED_FORMATS:
        raise InputError(f"unknown report format '{fmt}'", expected=", ".join(SIGNED_FORMATS))
    with workspace.session() as s:
        _, row = _signed_row(s, pseudonym, version)
        if fmt == "html":
            return row.html.encode("utf-8")
        if fmt == "pdf" and row.pdf is not None:
            return bytes(row.pdf)
        document, html, row_id = row.document, row.html, row.id
    if fmt == "json":
        return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "fhir":
        from tumorboard.report.fhir import fhir_bundle

        return (json.dumps(fhir_bundle(document), indent=1) + "\n").encode("utf-8")
    if fmt == "phenopacket":
        from tumorboard.report.phenopacket import phenopacket

        return (json.dumps(phenopacket(document), indent=1) + "\n").encode("utf-8")
    from tumorboard.report.mtb import render_pdf

    pdf = render_pdf(html)
    with transaction(workspace.engine) as s:
        row = s.get(SignedReport, row_id)
        if row.pdf is None:  # a concurrent first download may have stored it already
            row.pdf = pdf
            audit.record(s, "signed_report.render_pdf", "signed_reports", row_id,
                         patient_id=row.patient_id,
                         after={"version": row.version,
                                "pdf_sha256": hashlib.sha256(pdf).hexdigest()})
        return bytes(row.pdf)

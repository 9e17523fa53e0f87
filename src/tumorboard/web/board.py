"""Board sessions in the browser: agenda, decisions per recommendation, sign-off, and the
signed reports it freezes.

Pages (viewers read; board members create sessions, change agendas, decide and sign off):
``/board``, ``/board/{date}``, the decision form ``/recommendations/{id}/decision`` and the
signed report downloads ``/patients/{pseudonym}/signed/{version}.{fmt}``. The same data
and writes are under ``/api/board-sessions``, ``/api/recommendations/{id}/decisions`` and
``/api/patients/{pseudonym}/signed-reports``. Decisions carry the recommendation's
``version`` as the user saw it: a decision on a recommendation someone else changed
meanwhile is refused with 409 and says who changed it to what (optimistic locking).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from tumorboard import board
from tumorboard.errors import ConflictError, InputError
from tumorboard.registry.db import transaction
from tumorboard.registry.models import DECISION_AFTER
from tumorboard.web.core import CurrentUser, render, require, safe_next

pages = APIRouter(tags=["board"])
api = APIRouter(tags=["board"])

#: Pseudonyms and sample ids as the case reader accepts them (:mod:`tumorboard.io.case`).
PSEUDONYM = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: Largest id a registry integer column holds (PostgreSQL ``integer``).
MAX_ID = 2_147_483_647
DECISION_LABEL = {"accepted": "accept", "rejected": "reject", "implemented": "implemented",
                  "not_implemented": "not implemented"}
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "json": "application/json", "fhir": "application/fhir+json",
         "phenopacket": "application/json"}
SUFFIX = {"html": ".html", "pdf": ".pdf", "json": ".json", "fhir": ".fhir.json",
          "phenopacket": ".phenopacket.json"}

Pseudonym = Annotated[str, Path(pattern=PSEUDONYM, description="Pseudonymous patient id")]
BoardDate = Annotated[dt.date, Path(description="Date of the board meeting, YYYY-MM-DD")]
RecommendationId = Annotated[int, Path(ge=1, le=MAX_ID)]


# ---------------------------------------------------------------------- API models

class ErrorOut(BaseModel):
    """An error: its kind, a message to show, and for input errors what and where."""

    error: str
    message: str
    detail: Any = None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in (
        (401, "Not signed in"), (403, "Role too low, or CSRF token missing"),
        (404, "Not found"), (409, "Changed by someone else meanwhile; nothing was saved"),
        (422, "Invalid input; nothing was saved"))}


class DecisionOut(BaseModel):
    decision: str
    on: dt.date
    reason: str | None
    recorded_by: str | None


class RecommendationOut(BaseModel):
    """A recommendation with its board status; ``version`` goes with the next decision."""

    id: int
    rank: int
    therapy: str
    drug_class: str
    basket: str
    evidence_level: str
    direction: Literal["sensitivity", "resistance"]
    status: Literal["proposed", "accepted", "rejected", "implemented", "not_implemented"]
    version: int
    genes: list[str]
    rationale: str
    citations: list[str]
    decisions: list[DecisionOut]


class TargetOut(BaseModel):
    gene: str
    state: str
    antigen: bool
    kinase: bool


class EntityOut(BaseModel):
    oncotree_code: str | None
    name: str | None


class ConcordanceOut(BaseModel):
    status: str
    alert: bool
    message: str
    suggested: str | None


class SignedRefOut(BaseModel):
    version: int
    content_sha256: str


class AgendaItemOut(BaseModel):
    position: int
    patient: str
    question: str | None
    entity: EntityOut
    concordance: ConcordanceOut | None
    top_targets: list[TargetOut]
    recommendations: list[RecommendationOut]
    resistance: list[RecommendationOut]
    signed_report: SignedRefOut | None


class BoardSessionState(BaseModel):
    board_date: dt.date
    title: str
    status: Literal["open", "signed"]
    signed_by: str | None
    signed_at: dt.datetime | None
    version: int


class BoardSessionOut(BoardSessionState):
    n_patients: int


class BoardSessionList(BaseModel):
    total: int
    sessions: list[BoardSessionOut]


class BoardSessionDetail(BoardSessionOut):
    agenda: list[AgendaItemOut]


class AgendaEntryOut(BaseModel):
    board_date: dt.date
    patient: str
    position: int
    question: str | None


class SignedReportOut(BaseModel):
    version: int
    content_sha256: str
    signed_by: str
    signed_at: dt.datetime
    board_date: dt.date


class PatientSignedReportOut(SignedReportOut):
    patient: str


class SignOffOut(BoardSessionState):
    reports: list[PatientSignedReportOut]


class NewBoardSession(BaseModel):
    board_date: dt.date
    title: str | None = Field(None, max_length=255)


class NewAgendaItem(BaseModel):
    patient: str = Field(pattern=PSEUDONYM)
    question: str | None = Field(None, max_length=2000)


class NewDecision(BaseModel):
    decision: Literal["accepted", "rejected", "implemented", "not_implemented"]
    reason: str | None = Field(None, max_length=2000,
                               description="Required for rejected and not_implemented")
    version: int = Field(ge=1, le=MAX_ID, description="The recommendation's version as read; "
                         "a different current version means someone decided meanwhile (409)")


# ---------------------------------------------------------------------- helpers

def _ws(request: Request) -> Any:
    return request.app.state.workspace


def _redirect(target: str, message: str, *, anchor: str | None = None) -> RedirectResponse:
    """303 to a local path with a flash message (post/redirect/get)."""
    path, _, fragment = safe_next(target).partition("#")
    joiner = "&" if "?" in path else "?"
    fragment = fragment or anchor
    url = f"{path}{joiner}message={quote(message)}" + (f"#{fragment}" if fragment else "")
    return RedirectResponse(url, status_code=303)


def _session_page(request: Request, board_date: dt.date, *, status_code: int = 200,
                  **context: Any) -> Response:
    with _ws(request).session() as s:
        detail = board.session_detail(s, board_date)
    pending = sum(r["status"] == "proposed" for item in detail["agenda"]
                  for r in item["recommendations"])
    return render(request, "board_session.html", status_code=status_code, nav="board",
                  board=detail, pending=pending, decision_after=DECISION_AFTER,
                  labels=DECISION_LABEL, formats=board.SIGNED_FORMATS, **context)


def _list_page(request: Request, *, page: int = 1, status_code: int = 200,
               **context: Any) -> Response:
    per_page = 50
    with _ws(request).session() as s:
        found = board.list_sessions(s, limit=per_page, offset=(page - 1) * per_page)
    return render(request, "board_list.html", status_code=status_code, nav="board",
                  page=page, per_page=per_page, **found, **context)


# ---------------------------------------------------------------------- pages

@pages.get("/board", include_in_schema=False)
def board_list(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
               page: Annotated[int, Query(ge=1, le=100_000)] = 1,
               message: str | None = None) -> Response:
    return _list_page(request, page=page, message=message)


@pages.post("/board", include_in_schema=False)
def board_create(request: Request,
                 user: Annotated[CurrentUser, Depends(require("board_member"))],
                 board_date: Annotated[str, Form()] = "",
                 title: Annotated[str, Form()] = "") -> Response:
    try:
        with transaction(_ws(request).engine) as s:
            created = board.create_session(s, board_date, title=title or None)
    except InputError as exc:
        return _list_page(request, status_code=422, error=str(exc),
                          form={"board_date": board_date, "title": title})
    return _redirect(f"/board/{created['board_date']}",
                     f"board session on {created['board_date']} created")


@pages.get("/board/{board_date}", include_in_schema=False)
def board_session(request: Request, board_date: BoardDate,
                  user: Annotated[CurrentUser, Depends(require("viewer"))],
                  message: str | None = None) -> Response:
    return _session_page(request, board_date, message=message)


@pages.post("/board/{board_date}/agenda", include_in_schema=False)
def agenda_add(request: Request, board_date: BoardDate,
               user: Annotated[CurrentUser, Depends(require("board_member"))],
               pseudonym: Annotated[str, Form()] = "",
               question: Annotated[str, Form()] = "") -> Response:
    try:
        with transaction(_ws(request).engine) as s:
            added = board.add_to_agenda(s, board_date, pseudonym, question=question or None)
    except InputError as exc:
        return _session_page(request, board_date, status_code=422, error=str(exc),
                             form={"pseudonym": pseudonym, "question": question})
    board.ensure_recommendations(_ws(request), added["patient"])
    return _redirect(f"/board/{board_date.isoformat()}",
                     f"{added['patient']} added to the agenda")


@pages.post("/board/{board_date}/agenda/{pseudonym}/remove", include_in_schema=False)
def agenda_remove(request: Request, board_date: BoardDate, pseudonym: Pseudonym,
                  user: Annotated[CurrentUser, Depends(require("board_member"))]) -> Response:
    try:
        with transaction(_ws(request).engine) as s:
            board.remove_from_agenda(s, board_date, pseudonym)
    except InputError as exc:
        return _session_page(request, board_date, status_code=422, error=str(exc))
    return _redirect(f"/board/{board_date.isoformat()}",
                     f"{pseudonym} taken off the agenda")


@pages.post("/board/{board_date}/sign-off", include_in_schema=False)
def board_sign_off(request: Request, board_date: BoardDate,
                   user: Annotated[CurrentUser, Depends(require("board_member"))]) -> Response:
    try:
        done = board.sign_off(_ws(request), board_date, signed_by=user.display_name)
    except (InputError, ConflictError) as exc:
        return _session_page(request, board_date, error=str(exc),
                             status_code=409 if isinstance(exc, ConflictError) else 422)
    return _redirect(f"/board/{board_date.isoformat()}",
                     f"signed off: {len(done['reports'])} report(s) frozen")


@pages.post("/recommendations/{recommendation_id}/decision", include_in_schema=False)
def decide(request: Request, recommendation_id: RecommendationId,
           user: Annotated[CurrentUser, Depends(require("board_member"))],
           decision: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
           version: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
           next: Annotated[str, Form()] = "/board") -> Response:
    back = safe_next(next)
    try:
        rec = board.record_decision(_ws(request), recommendation_id, decision,
                                    reason=reason or None, recorded_by=user.display_name,
                                    expected_version=version)
    except (InputError, ConflictError) as exc:
        with _ws(request).session() as s:
            current = board.recommendation_brief(s, recommendation_id)
        conflict = isinstance(exc, ConflictError)
        return render(request, "_board_decision.html", status_code=409 if conflict else 422,
                      nav="board", rec=current, conflict=conflict, error=str(exc),
                      back=back, labels=DECISION_LABEL,
                      choices=DECISION_AFTER[current["status"]],
                      form={"decision": decision, "reason": reason,
                            "version": current["version"] if conflict else version})
    return _redirect(back, f"{rec['therapy']}: {rec['status'].replace('_', ' ')}",
                     anchor=f"rec-{rec['id']}")


@pages.get("/patients/{pseudonym}/signed/{version:int}.{fmt}", include_in_schema=False)
def signed_download(request: Request, pseudonym: Pseudonym,
                    version: Annotated[int, Path(ge=1, le=MAX_ID)],
                    fmt: Literal["html", "pdf", "json", "fhir", "phenopacket"],
                    user: Annotated[CurrentUser, Depends(require("viewer"))]) -> Response:
    data = board.signed_report_content(_ws(request), pseudonym, version, fmt)
    headers = {}
    if fmt != "html":
        name = f"{pseudonym}-signed-v{version}{SUFFIX[fmt]}"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(content=data, media_type=MEDIA[fmt], headers=headers)


# ---------------------------------------------------------------------- API

@api.get("/board-sessions", summary="Board sessions, newest first", responses=ERRORS)
def api_sessions(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                 per_page: Annotated[int, Query(ge=1, le=500)] = 100) -> BoardSessionList:
    with _ws(request).session() as s:
        return BoardSessionList.model_validate(
            board.list_sessions(s, limit=per_page, offset=(page - 1) * per_page))


@api.post("/board-sessions", status_code=201, summary="Create a board session",
          responses=ERRORS)
def api_create_session(request: Request, body: NewBoardSession,
                       user: Annotated[CurrentUser, Depends(require("board_member"))]
                       ) -> BoardSessionOut:
    with transaction(_ws(request).engine) as s:
        return BoardSessionOut.model_validate(
            board.create_session(s, body.board_date, title=body.title))


@api.get("/board-sessions/{board_date}", summary="A board session with its agenda",
         responses=ERRORS)
def api_session(request: Request, board_date: BoardDate,
                user: Annotated[CurrentUser, Depends(require("viewer"))]
                ) -> BoardSessionDetail:
    with _ws(request).session() as s:
        return BoardSessionDetail.model_validate(board.session_detail(s, board_date))


@api.post("/board-sessions/{board_date}/agenda", status_code=201,
          summary="Put a patient on the agenda", responses=ERRORS)
def api_agenda_add(request: Request, board_date: BoardDate, body: NewAgendaItem,
                   user: Annotated[CurrentUser, Depends(require("board_member"))]
                   ) -> AgendaEntryOut:
    with transaction(_ws(request).engine) as s:
        added = board.add_to_agenda(s, board_date, body.patient, question=body.question)
    board.ensure_recommendations(_ws(request), added["patient"])
    return AgendaEntryOut.model_validate(added)


@api.delete("/board-sessions/{board_date}/agenda/{pseudonym}",
            summary="Take a patient off the agenda", responses=ERRORS)
def api_agenda_remove(request: Request, board_date: BoardDate, pseudonym: Pseudonym,
                      user: Annotated[CurrentUser, Depends(require("board_member"))]
                      ) -> AgendaEntryOut:
    with transaction(_ws(request).engine) as s:
        return AgendaEntryOut.model_validate(board.remove_from_agenda(s, board_date, pseudonym))


@api.post("/board-sessions/{board_date}/sign-off",
          summary="Sign off: freeze each agenda patient's report", responses=ERRORS)
def api_sign_off(request: Request, board_date: BoardDate,
                 user: Annotated[CurrentUser, Depends(require("board_member"))]
                 ) -> SignOffOut:
    return SignOffOut.model_validate(
        board.sign_off(_ws(request), board_date, signed_by=user.display_name))


@api.post("/recommendations/{recommendation_id}/decisions",
          summary="Record a board decision (optimistic locking on version)", responses=ERRORS)
def api_decide(request: Request, recommendation_id: RecommendationId, body: NewDecision,
               user: Annotated[CurrentUser, Depends(require("board_member"))]
               ) -> RecommendationOut:
    return RecommendationOut.model_validate(board.record_decision(
        _ws(request), recommendation_id, body.decision, reason=body.reason,
        recorded_by=user.display_name, expected_version=body.version))


@api.get("/patients/{pseudonym}/signed-reports",
         summary="A patient's signed report versions, newest first", responses=ERRORS)
def api_signed_reports(request: Request, pseudonym: Pseudonym,
                       user: Annotated[CurrentUser, Depends(require("viewer"))]
                       ) -> list[SignedReportOut]:
    with _ws(request).session() as s:
        return [SignedReportOut.model_validate(r) for r in board.signed_reports(s, pseudonym)]


__all__ = ["api", "pages"]

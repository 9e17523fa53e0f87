"""Follow-up: a patient's course (lines with PFS and PFS ratio, RECIST, ctDNA, events) and the
forms and API routes that enter it.

Everyone signed in reads; board members enter therapy lines, RECIST assessments, ctDNA
measurements and clinical events. Every entry goes through
:func:`tumorboard.outcomes.records.add_outcome`: the same checks as a template import, one
transaction with its audit entry, and a line that implements an *accepted* recommendation
marks it *implemented*. The page shows the analyses of :mod:`tumorboard.outcomes`
(:func:`~tumorboard.outcomes.cohort.patient_course`); nothing is recomputed here. The
timeline figure is a separate, cached SVG route.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import math
import threading
from typing import Annotated, Any, Literal
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from tumorboard.errors import InputError, NotFoundError
from tumorboard.io.outcomes import (
    EVENT_KINDS,
    INTENTS,
    LESION_KINDS,
    MODALITIES,
    STOP_REASONS,
)
from tumorboard.outcomes import DAYS_PER_MONTH, jsonable
from tumorboard.outcomes.pfsr import DEFAULT_THRESHOLD
from tumorboard.web.core import CurrentUser, render, require

pages = APIRouter(tags=["followup"])
api = APIRouter(tags=["followup"])

#: Lesion rows of the RECIST form (RECIST 1.1 takes at most 5 target lesions, Eisenhauer et
#: al. 2009, doi:10.1016/j.ejca.2008.10.026; blank rows are ignored).
RECIST_FORM_ROWS = 5
#: Variant rows of the ctDNA form (tumour-informed panels track a few variants per sample).
PLASMA_FORM_ROWS = 3
#: Rendered timelines kept in memory (an SVG is some 100 kB).
TIMELINE_CACHE_SIZE = 128
#: Computed courses kept in memory (a few kB each): the page and the API read them.
COURSE_CACHE_SIZE = 1024

Pseudonym = Annotated[str, Path(min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                description="The patient's pseudonym, e.g. DSRCT-001")]
Viewer = Annotated[CurrentUser, Depends(require("viewer"))]
BoardMember = Annotated[CurrentUser, Depends(require("board_member"))]

Modality = Literal[MODALITIES]  # type: ignore[valid-type]
Intent = Literal[INTENTS]  # type: ignore[valid-type]
StopReason = Literal[STOP_REASONS]  # type: ignore[valid-type]
EventKind = Literal[EVENT_KINDS]  # type: ignore[valid-type]
LesionKind = Literal[LESION_KINDS]  # type: ignore[valid-type]
Verdict = Literal["benefit", "no_benefit", "not_evaluable"]
MrdCall = Literal["positive", "negative", "not_evaluable"]


# ------------------------------------------------------------------------------ models

class LineOut(BaseModel):
    """A therapy line with its progression-free survival."""

    line: int
    regimen: str
    agents: list[str]
    modality: str
    intent: str | None
    start: dt.date
    stop: dt.date | None
    stop_reason: str | None
    progression: dt.date | None
    pfs_months: float | None = Field(description="PFS of the line in months (days / 30.4375)")
    pfs_event: bool | None = Field(description="True: progression or death; False: censored")
    pfs_end_reason: str | None
    mtb_guided: bool
    recommendation_id: int | None
    recommendation: str | None = Field(description="The therapy of the linked recommendation")


class PfsRatioOut(BaseModel):
    """The PFS ratio of an MTB-guided line against the previous systemic line (Von Hoff et
    al. 2010, doi:10.1200/JCO.2009.26.5983): benefit at >= the threshold."""

    line: int
    previous_line: int | None
    pfs1_months: float | None
    pfs1_event: bool | None
    pfs2_months: float | None
    pfs2_event: bool | None
    pfs_ratio: float | None
    verdict: Verdict
    reason: str | None


class RecistOut(BaseModel):
    """The RECIST 1.1 response of one assessment (each line's first is its baseline)."""

    line: int | None
    assessment_date: dt.date
    sum_mm: float | None = Field(description="Sum of the target lesions' diameters")
    change_from_baseline_pct: float | None
    change_from_nadir_pct: float | None
    target: str | None
    non_target: str | None
    new_lesions: str | None
    overall: str


class CtdnaOut(BaseModel):
    """The tumour fraction and MRD call of one plasma sample."""

    sample: str
    collected: dt.date
    n_variants: int
    tumour_fraction: float | None
    lower: float | None
    upper: float | None
    p_value: float | None
    mrd: MrdCall


class EventOut(BaseModel):
    """A clinical event."""

    date: dt.date
    kind: str
    detail: str | None


class OutcomesOut(BaseModel):
    """A patient's course: lines with PFS, PFS ratios, RECIST responses, ctDNA calls, events."""

    patient: str
    pfs_ratio_threshold: float
    lines: list[LineOut]
    pfs_ratios: list[PfsRatioOut]
    recist: list[RecistOut]
    ctdna: list[CtdnaOut]
    events: list[EventOut]


Text = Annotated[str, Field(max_length=2000)]
Short = Annotated[str, Field(min_length=1, max_length=64)]


class LineIn(BaseModel):
    """A therapy line to record (replaces the patient's line of the same number)."""

    line: int = Field(ge=1, le=1000)
    regimen: Annotated[str, Field(min_length=1, max_length=2000)]
    agents: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50)
    modality: Modality
    intent: Intent | None = None
    start: dt.date
    stop: dt.date | None = None
    stop_reason: StopReason | None = None
    progression: dt.date | None = None
    recommendation_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                          description="The recommendation this line "
                                                      "implements (makes it MTB-guided)")
    mtb_guided: bool = False


class LesionIn(BaseModel):
    """One lesion of a RECIST assessment."""

    lesion_id: Short
    kind: LesionKind
    site: Text | None = None
    lymph_node: bool = False
    diameter_mm: float | None = Field(default=None, ge=0, le=10000)
    status: Annotated[str, Field(max_length=32)] | None = None


class RecistIn(BaseModel):
    """One RECIST assessment: all lesions of one date (replaces that date's lesions)."""

    assessment_date: dt.date
    line: int | None = Field(default=None, ge=1, le=1000)
    lesions: list[LesionIn] = Field(min_length=1, max_length=50)


class VariantReadsIn(BaseModel):
    """The reads of one tracked variant in a plasma sample."""

    variant: Annotated[str, Field(min_length=1, max_length=128)]
    alt_reads: int = Field(ge=0, le=2**31 - 1)
    depth: int = Field(ge=0, le=2**31 - 1)
    tumour_vaf: float | None = Field(default=None, ge=0, le=1)
    background_error: float | None = Field(default=None, ge=0, le=1)


class PlasmaIn(BaseModel):
    """One plasma sample with its tracked variants (replaces that sample's rows)."""

    sample: Short
    collected: dt.date
    variants: list[VariantReadsIn] = Field(min_length=1, max_length=200)


class EventIn(BaseModel):
    """A progression, recurrence, death or last follow-up."""

    date: dt.date
    kind: EventKind
    detail: Text | None = None


class LineRecord(BaseModel):
    """A therapy line as stored (template columns of ``lines``)."""

    patient: str
    line: int
    regimen: str
    agents: list[str]
    modality: str
    intent: str | None
    start: dt.date
    stop: dt.date | None
    stop_reason: str | None
    progression: dt.date | None
    recommendation_id: int | None
    mtb_guided: bool | None


class LesionRecord(BaseModel):
    """A lesion measurement as stored (template columns of ``recist``)."""

    patient: str
    assessment_date: dt.date
    lesion_id: str
    kind: str
    site: str | None
    lymph_node: bool | None
    diameter_mm: float | None
    status: str | None
    line: int | None


class PlasmaRecord(BaseModel):
    """A variant's plasma reads as stored (template columns of ``plasma``)."""

    patient: str
    sample: str
    collected: dt.date
    variant: str
    alt_reads: int
    depth: int
    tumour_vaf: float | None
    background_error: float | None


class EventRecord(BaseModel):
    """A clinical event as stored (template columns of ``events``)."""

    patient: str
    date: dt.date
    kind: str
    detail: str | None


class _Entry(BaseModel):
    table: str
    implemented: list[int] = Field(description="Recommendations now 'implemented'")


class LineEntryOut(_Entry):
    """The line written and the line it replaced (if any)."""

    added: list[LineRecord]
    replaced: list[LineRecord]


class RecistEntryOut(_Entry):
    """The lesions of the assessment written and those of the same date it replaced."""

    added: list[LesionRecord]
    replaced: list[LesionRecord]


class PlasmaEntryOut(_Entry):
    """The variant rows of the sample written and those it replaced."""

    added: list[PlasmaRecord]
    replaced: list[PlasmaRecord]


class EventEntryOut(_Entry):
    """The event written and the one of the same date and kind it replaced."""

    added: list[EventRecord]
    replaced: list[EventRecord]


class ProblemDetail(BaseModel):
    problem: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    sample: str | None = None
    expected: str | None = None
    fix: str | None = None
    message: str


class ErrorOut(BaseModel):
    error: str
    message: str
    detail: ProblemDetail | list[dict[str, Any]] | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)}


# ------------------------------------------------------------------------------ reading

def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def _months(days: Any) -> float | None:
    x = _num(days)
    return None if x is None else x / DAYS_PER_MONTH


def _flag(value: Any) -> bool | None:
    return None if value is None or _num(value) is None else bool(value)


def course_view(session: Any, pseudonym: str) -> dict[str, Any]:
    """The follow-up of one patient as plain records (the page's and the API's content):
    :func:`tumorboard.outcomes.cohort.patient_course` with PFS in months and each line's
    recommendation, plus the recommendations a new line may implement.

    Raises
    ------
    NotFoundError
        The patient is not in the registry.
    """
    from tumorboard.outcomes.cohort import patient_course
    from tumorboard.recommend import patient_recommendations

    recs = patient_recommendations(session, pseudonym)
    every = recs["recommendations"] + recs["resistance"]
    therapy = {r["id"]: r["therapy"] for r in every}
    course = patient_course(session, pseudonym)
    pfs = {int(r["line"]): r for r in jsonable(course["pfs"])} if len(course["pfs"]) else {}
    lines = []
    for r in jsonable(course["lines"]):
        p = pfs.get(int(r["line"]), {})
        rec = r.get("recommendation_id")
        lines.append({
            "line": int(r["line"]), "regimen": r["regimen"],
            "agents": [a for a in (r["agents"] or "").split(";") if a],
            "modality": r["modality"], "intent": r["intent"], "start": r["start"],
            "stop": r["stop"], "stop_reason": r["stop_reason"],
            "progression": r["progression"], "pfs_months": _months(p.get("pfs_days")),
            "pfs_event": _flag(p.get("pfs_event")), "pfs_end_reason": p.get("end_reason"),
            "mtb_guided": bool(r["mtb_guided"]),
            "recommendation_id": None if rec is None else int(rec),
            "recommendation": therapy.get(rec)})
    ratios = [{
        "line": int(r["line"]),
        "previous_line": None if r.get("previous_line") is None else int(r["previous_line"]),
        "pfs1_months": _months(r.get("pfs1_days")), "pfs1_event": _flag(r.get("pfs1_event")),
        "pfs2_months": _months(r.get("pfs2_days")), "pfs2_event": _flag(r.get("pfs2_event")),
        "pfs_ratio": None if _num(r.get("pfs_ratio")) is None else round(r["pfs_ratio"], 2),
        "verdict": r["verdict"], "reason": r.get("reason")}
        for r in jsonable(course["ratios"])] if len(course["ratios"]) else []
    recist = [{
        "line": None if r.get("line") is None else int(r["line"]),
        "assessment_date": r["assessment_date"], "sum_mm": _num(r.get("sum_mm")),
        "change_from_baseline_pct": _rounded(r.get("change_from_baseline_pct")),
        "change_from_nadir_pct": _rounded(r.get("change_from_nadir_pct")),
        "target": r.get("target"), "non_target": r.get("non_target"),
        "new_lesions": r.get("new_lesions"), "overall": r["overall"]}
        for r in jsonable(course["responses"])]
    ctdna = [{
        "sample": r["sample"], "collected": r["collected"],
        "n_variants": int(r.get("n_variants") or 0),
        "tumour_fraction": _num(r.get("tumour_fraction")), "lower": _num(r.get("lower")),
        "upper": _num(r.get("upper")), "p_value": _num(r.get("p_value")), "mrd": r["mrd"]}
        for r in jsonable(course["ctdna"])] if len(course["ctdna"]) else []
    events = [{"date": r["date"], "kind": r["kind"], "detail": r["detail"]}
              for r in jsonable(course["events"])]
    return {
        "patient": pseudonym, "pfs_ratio_threshold": DEFAULT_THRESHOLD, "lines": lines,
        "pfs_ratios": ratios, "recist": recist, "ctdna": ctdna, "events": events,
        "lesions": jsonable(course["recist"]), "plasma": jsonable(course["plasma"]),
        "linkable": [r for r in every if r["status"] in ("accepted", "implemented")],
        "next_line": max((x["line"] for x in lines), default=0) + 1,
    }


def _rounded(value: Any) -> float | None:
    x = _num(value)
    return None if x is None else round(x, 1)


def outcome_fingerprint(session: Any, pseudonym: str) -> str:
    """A hash of every registry row the patient's follow-up is computed from (outcome
    tables and recommendations): equal hashes, equal course. A few indexed selects, no
    pandas, so that a cached course is found in milliseconds.

    Raises
    ------
    NotFoundError
        The patient is not in the registry.
    """
    from sqlalchemy import select

    from tumorboard.registry.models import (
        ClinicalEvent,
        LocalTherapy,
        PlasmaMeasurement,
        RecistMeasurement,
        Recommendation,
        TherapyLine,
    )
    from tumorboard.registry.queries import find_patient

    pid = find_patient(session, pseudonym).id
    digest = hashlib.sha256(pseudonym.encode())
    for model in (TherapyLine, LocalTherapy, RecistMeasurement, ClinicalEvent,
                  PlasmaMeasurement):
        rows = session.execute(select(*model.__table__.c).where(model.patient_id == pid)
                               .order_by(model.id)).all()
        digest.update(model.__tablename__.encode())
        digest.update(json.dumps([list(r) for r in rows], default=str).encode())
    recs = session.execute(select(Recommendation.id, Recommendation.status,
                                  Recommendation.version, Recommendation.therapy)
                           .where(Recommendation.patient_id == pid)
                           .order_by(Recommendation.id)).all()
    digest.update(json.dumps([list(r) for r in recs], default=str).encode())
    return digest.hexdigest()


def _read(request: Request, pseudonym: str) -> dict[str, Any]:
    with request.app.state.workspace.session() as s:
        key = outcome_fingerprint(s, pseudonym)
        view = _courses.get(key)
        if view is None:
            view = course_view(s, pseudonym)
            _courses.put(key, view)
        return view


# ------------------------------------------------------------------------------ timeline

class _ContentCache:
    """Results by a hash of the registry rows they are computed from (least recently used
    dropped first): a new entry changes the rows and so the key, so nothing is ever stale
    and each state of a patient's records is computed once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_timelines = _ContentCache(TIMELINE_CACHE_SIZE)
_courses = _ContentCache(COURSE_CACHE_SIZE)


def timeline_svg(session: Any, pseudonym: str) -> bytes:
    """The patient timeline (:func:`tumorboard.report.outcome_plots.patient_timeline`) as an
    SVG document, from the cache when the patient's rows are unchanged
    (:func:`outcome_fingerprint`).

    Raises
    ------
    NotFoundError
        Unknown patient, or a patient without therapy lines (nothing to draw).
    """
    from tumorboard.outcomes import records
    from tumorboard.outcomes.cohort import patient_course, timeline_events
    from tumorboard.report.outcome_plots import patient_timeline

    simulated = records.all_simulated(session)
    key = f"{outcome_fingerprint(session, pseudonym)}:{simulated}"
    cached = _timelines.get(key)
    if cached is not None:
        return cached
    course = patient_course(session, pseudonym)
    if course["lines"].empty:
        raise NotFoundError(f"patient '{pseudonym}' has no therapy line to draw yet")
    resp, ct = course["responses"], course["ctdna"]
    svg = patient_timeline(course["lines"], timeline_events(course),
                           resp if len(resp) else None, ct if len(ct) else None,
                           patient=pseudonym, image="svg", simulated=simulated)
    if 'xmlns="http://www.w3.org/2000/svg"' not in svg:  # a standalone document needs it
        svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    data = svg.encode("utf-8")
    _timelines.put(key, data)
    return data


@pages.get("/patients/{pseudonym}/followup/timeline.svg", include_in_schema=False)
def timeline(request: Request, pseudonym: Pseudonym, user: Viewer) -> Response:
    with request.app.state.workspace.session() as s:
        data = timeline_svg(s, pseudonym)
    return Response(data, media_type="image/svg+xml")


# ------------------------------------------------------------------------------ page

FORMS = ("line", "recist", "plasma", "event")


def _page(request: Request, pseudonym: str, *, status_code: int = 200,
          error: str | None = None, form_name: str | None = None,
          form: dict[str, str] | None = None, message: str | None = None) -> Response:
    view = _read(request, pseudonym)
    return render(request, "followup.html", status_code=status_code, view=view,
                  patient=pseudonym, error=error, form_name=form_name, form=form or {},
                  message=message, modalities=MODALITIES, intents=INTENTS,
                  stop_reasons=STOP_REASONS, event_kinds=EVENT_KINDS,
                  lesion_kinds=LESION_KINDS, recist_rows=RECIST_FORM_ROWS,
                  plasma_rows=PLASMA_FORM_ROWS)


@pages.get("/patients/{pseudonym}/followup", include_in_schema=False)
def followup_page(request: Request, pseudonym: Pseudonym, user: Viewer,
                  message: str | None = None) -> Response:
    return _page(request, pseudonym, message=message)


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v.strip() for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


def line_row(pseudonym: str, form: dict[str, str]) -> dict[str, Any]:
    """The ``lines`` row of the line form (linking a recommendation makes it MTB-guided)."""
    rec = form.get("recommendation_id") or None
    return {"patient": pseudonym, "line": form.get("line"), "regimen": form.get("regimen"),
            "agents": form.get("agents"), "modality": form.get("modality"),
            "intent": form.get("intent") or None, "start": form.get("start"),
            "stop": form.get("stop"), "stop_reason": form.get("stop_reason") or None,
            "progression": form.get("progression"), "recommendation_id": rec,
            "mtb_guided": bool(form.get("mtb_guided")) or rec is not None}


def recist_rows(pseudonym: str, form: dict[str, str]) -> list[dict[str, Any]]:
    """The ``recist`` rows of the assessment form; rows without lesion, diameter, site and
    status are left out."""
    rows = []
    for i in range(RECIST_FORM_ROWS):
        cells = {c: form.get(f"{c}_{i}", "") for c in
                 ("lesion_id", "kind", "site", "diameter_mm", "status")}
        if not any(cells[c] for c in ("lesion_id", "site", "diameter_mm", "status")):
            continue
        rows.append({"patient": pseudonym, "assessment_date": form.get("assessment_date"),
                     "line": form.get("line"), **cells,
                     "lymph_node": bool(form.get(f"lymph_node_{i}"))})
    return rows


def plasma_rows(pseudonym: str, form: dict[str, str]) -> list[dict[str, Any]]:
    """The ``plasma`` rows of the ctDNA form (blank variant rows left out)."""
    rows = []
    for i in range(PLASMA_FORM_ROWS):
        cells = {c: form.get(f"{c}_{i}", "") for c in
                 ("variant", "alt_reads", "depth", "tumour_vaf")}
        if not any(cells.values()):
            continue
        rows.append({"patient": pseudonym, "sample": form.get("sample"),
                     "collected": form.get("collected"), **cells})
    return rows


def event_row(pseudonym: str, form: dict[str, str]) -> dict[str, Any]:
    """The ``events`` row of the event form."""
    return {"patient": pseudonym, "date": form.get("date"), "kind": form.get("kind"),
            "detail": form.get("detail") or None}


_FORM_TABLE = {"line": ("lines", line_row), "recist": ("recist", recist_rows),
               "plasma": ("plasma", plasma_rows), "event": ("events", event_row)}
_DONE = {"line": "recorded line {line}", "recist": "recorded the RECIST assessment of "
         "{assessment_date}", "plasma": "recorded plasma sample {sample}",
         "event": "recorded {kind} on {date}"}


def _enter(request: Request, user: CurrentUser, pseudonym: str, table: str,
           rows: Any) -> dict[str, Any]:
    from tumorboard.outcomes.records import add_outcome
    from tumorboard.registry.queries import find_patient

    ws = request.app.state.workspace
    with ws.session() as s:
        find_patient(s, pseudonym)  # unknown patient: 404, before any check of the rows
    return add_outcome(ws, table, rows, source="web", recorded_by=user.display_name)


async def _post_form(request: Request, user: CurrentUser, pseudonym: str, name: str
                     ) -> Response:
    form = await _form(request)
    table, build = _FORM_TABLE[name]
    try:
        rows = build(pseudonym, form)
        if not rows:
            raise InputError("no lesion or variant row filled in",
                             fix="fill in at least one row")
        result = await run_in_threadpool(_enter, request, user, pseudonym, table, rows)
    except InputError as exc:
        problem = str(exc)
        return await run_in_threadpool(lambda: _page(
            request, pseudonym, status_code=422, error=problem, form_name=name, form=form))
    done = _DONE[name].format(**{k: form.get(k, "") for k in
                                 ("line", "assessment_date", "sample", "kind", "date")})
    if result.get("implemented"):
        done += "; recommendation " + ", ".join(map(str, result["implemented"])) + \
            " is now implemented"
    return RedirectResponse(f"/patients/{pseudonym}/followup?message={quote_plus(done)}",
                            status_code=303)


@pages.post("/patients/{pseudonym}/followup/lines", include_in_schema=False)
async def line_form(request: Request, pseudonym: Pseudonym, user: BoardMember) -> Response:
    return await _post_form(request, user, pseudonym, "line")


@pages.post("/patients/{pseudonym}/followup/recist", include_in_schema=False)
async def recist_form(request: Request, pseudonym: Pseudonym, user: BoardMember) -> Response:
    return await _post_form(request, user, pseudonym, "recist")


@pages.post("/patients/{pseudonym}/followup/plasma", include_in_schema=False)
async def plasma_form(request: Request, pseudonym: Pseudonym, user: BoardMember) -> Response:
    return await _post_form(request, user, pseudonym, "plasma")


@pages.post("/patients/{pseudonym}/followup/events", include_in_schema=False)
async def event_form(request: Request, pseudonym: Pseudonym, user: BoardMember) -> Response:
    return await _post_form(request, user, pseudonym, "event")


# ------------------------------------------------------------------------------ API

@api.get("/patients/{pseudonym}/outcomes", response_model=OutcomesOut, responses=_ERRORS,
         summary="A patient's course: lines with PFS, PFS ratios, RECIST, ctDNA, events")
def api_outcomes(request: Request, pseudonym: Pseudonym, user: Viewer) -> OutcomesOut:
    return OutcomesOut.model_validate(_read(request, pseudonym))


_ENTRY_OUT: dict[str, type[_Entry]] = {
    "lines": LineEntryOut, "recist": RecistEntryOut, "plasma": PlasmaEntryOut,
    "events": EventEntryOut}


def _api_enter(request: Request, user: CurrentUser, pseudonym: str, table: str,
               rows: Any) -> JSONResponse:
    result = _enter(request, user, pseudonym, table, rows)
    body = _ENTRY_OUT[table](table=table, added=result["added"], replaced=result["replaced"],
                             implemented=result.get("implemented", []))
    return JSONResponse(body.model_dump(mode="json"), status_code=201)


def _created(model: type[_Entry]) -> dict[int | str, dict[str, Any]]:
    return {201: {"model": model}} | _ERRORS


@api.post("/patients/{pseudonym}/lines", status_code=201,
          response_model=LineEntryOut, responses=_created(LineEntryOut),
          summary="Record (or correct) a therapy line")
def api_add_line(request: Request, pseudonym: Pseudonym, body: LineIn, user: BoardMember
                 ) -> JSONResponse:
    row = body.model_dump() | {"patient": pseudonym}
    row["mtb_guided"] = body.mtb_guided or body.recommendation_id is not None
    return _api_enter(request, user, pseudonym, "lines", row)


@api.post("/patients/{pseudonym}/recist", status_code=201,
          response_model=RecistEntryOut, responses=_created(RecistEntryOut),
          summary="Record a RECIST assessment (all lesions of one date)")
def api_add_recist(request: Request, pseudonym: Pseudonym, body: RecistIn, user: BoardMember
                   ) -> JSONResponse:
    rows = [lesion.model_dump() | {"patient": pseudonym, "line": body.line,
                                   "assessment_date": body.assessment_date}
            for lesion in body.lesions]
    return _api_enter(request, user, pseudonym, "recist", rows)


@api.post("/patients/{pseudonym}/plasma", status_code=201,
          response_model=PlasmaEntryOut, responses=_created(PlasmaEntryOut),
          summary="Record a plasma (ctDNA) sample with its variants")
def api_add_plasma(request: Request, pseudonym: Pseudonym, body: PlasmaIn, user: BoardMember
                   ) -> JSONResponse:
    rows = [v.model_dump() | {"patient": pseudonym, "sample": body.sample,
                              "collected": body.collected} for v in body.variants]
    return _api_enter(request, user, pseudonym, "plasma", rows)


@api.post("/patients/{pseudonym}/events", status_code=201,
          response_model=EventEntryOut, responses=_created(EventEntryOut),
          summary="Record a progression, recurrence, death or last follow-up")
def api_add_event(request: Request, pseudonym: Pseudonym, body: EventIn, user: BoardMember
                  ) -> JSONResponse:
    return _api_enter(request, user, pseudonym, "events",
                      body.model_dump() | {"patient": pseudonym})


__all__ = ["api", "course_view", "pages", "timeline_svg"]

"""Patients: the filtered list, the patient page, its plots, draft report downloads, and the
same as JSON under ``/api/patients``.

The data come from :mod:`tumorboard.registry.overview`; this module only parses requests
and renders. Pages never draw or build a report: plots are separate ``image/svg+xml``
routes, cached in memory by patient, analysis and cohort version; report downloads go
through :func:`tumorboard.report.mtb.write_report`, which caches files by content stamp.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from tumorboard.errors import InputError, NotFoundError
from tumorboard.registry import overview
from tumorboard.registry.queries import find_patient
from tumorboard.web.core import CurrentUser, render, require

pages = APIRouter(tags=["patients"])
api = APIRouter(tags=["patients"])

Viewer = Annotated[CurrentUser, Depends(require("viewer"))]
#: Pseudonyms as the case manifest allows them (tumorboard.io.case).
PSEUDONYM = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Pseudonym = Annotated[str, Path(pattern=PSEUDONYM, description="e.g. DSRCT-001")]
TargetState = Literal["activated", "expressed_not_activated", "expressed_activation_unknown",
                      "not_expressed"]
RecommendationStatus = Literal["proposed", "accepted", "rejected", "implemented",
                               "not_implemented"]
ReportFormat = Literal["html", "pdf", "json", "fhir", "phenopacket"]
ApiReportFormat = Literal["json", "fhir", "phenopacket"]
PlotName = Literal["activation", "percentiles", "copy-number"]
#: Filter text: printable (PostgreSQL refuses NUL; control characters are never meant).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
               "json": "application/json", "fhir": "application/fhir+json",
               "phenopacket": "application/json"}


# ------------------------------------------------------------------------ citations

_PMID = re.compile(r"\bPMID:?\s*(\d{1,9})\b", re.IGNORECASE)
_DOI = re.compile(r"\bdoi:\s*(10\.\d{4,9}/[^\s,;]+)", re.IGNORECASE)
_NCT = re.compile(r"\b(NCT\d{8})\b")


def citation_url(text: str | None) -> str | None:
    """The web address of a citation string: PubMed for a PMID, doi.org for a DOI,
    ClinicalTrials.gov for an NCT number; None for other sources (labels, books)."""
    if not text:
        return None
    if found := _PMID.search(text):
        return f"https://pubmed.ncbi.nlm.nih.gov/{found.group(1)}/"
    if found := _DOI.search(text):
        return f"https://doi.org/{found.group(1).rstrip('.)')}"
    if found := _NCT.search(text):
        return f"https://clinicaltrials.gov/study/{found.group(1)}"
    return None


# --------------------------------------------------------------------- API models

class TopRecommendation(BaseModel):
    therapy: str
    evidence_level: str
    rank: int
    status: str


class PatientRow(BaseModel):
    """One row of the patient list."""

    patient: str = Field(description="pseudonym")
    entity_code: str | None = Field(description="OncoTree code of the current diagnosis")
    entity_name: str | None
    histology: str | None = Field(description="histology as submitted")
    concordance: str | None = Field(description="molecular concordance status")
    diagnosis_alert: bool = Field(description="diagnosis revision suggested")
    concordance_message: str | None
    suggested_code: str | None
    layers: list[str]
    target_counts: dict[str, int] = Field(description="judged genes by state")
    top_recommendation: TopRecommendation | None
    recommendation_counts: dict[str, int] = Field(description="recommendations by status")
    latest_board_date: dt.date | None
    latest_signed_version: int | None


class PatientList(BaseModel):
    total: int = Field(description="patients matching the filters")
    page: int
    per_page: int
    patients: list[PatientRow]


class DiagnosisOut(BaseModel):
    histology_submitted: str | None
    oncotree_code: str | None
    name: str | None
    stage: str | None
    date: str | None
    metastatic_sites: list[str]


class ConcordanceOut(BaseModel):
    status: str
    alert: bool
    title: str | None
    submitted: str | None
    suggested: str | None
    message: str
    evidence: list[dict[str, Any]]
    warnings: list[str]


class LayerQuality(BaseModel):
    """A current assay: provenance and QC figures by store table."""

    sample: str
    sample_type: str
    layer: str
    label: str
    version: int
    format: str
    file: str
    tool: str | None
    tool_version: str | None
    genome_build: str | None
    imported_at: str
    rows: dict[str, int]
    notes: list[str]
    qc: dict[str, dict[str, Any]]


class FindingOut(BaseModel):
    sample: str | None
    layer: str | None = None  # the key findings are grouped by layer instead
    gene: str | None
    feature: str
    kind: str
    value: float | None
    z_score: float | None
    percentile_cohort: float | None
    percentile_entity: float | None
    reference_size: int | None
    call: str | None


class TargetOut(BaseModel):
    sample: str | None
    gene: str
    state: str
    antigen: bool
    kinase: bool
    dna: list[dict[str, Any]]
    rna_tpm: float | None
    rna_z: float | None
    rna_percentile: float | None
    rna_percentile_entity: float | None
    protein_z: float | None
    activation_score: float | None
    activation_call: str | None


class TargetsOut(BaseModel):
    counts: dict[str, int]
    total: int = Field(description="genes judged in the latest analysis")
    shown: list[TargetOut] = Field(description="the genes a report lists")


class Citation(BaseModel):
    text: str
    url: str | None


class DecisionOut(BaseModel):
    decision: str
    on: str
    reason: str | None
    recorded_by: str | None


class RecommendationOut(BaseModel):
    id: int
    rank: int
    therapy: str
    evidence_level: str
    direction: str
    basket: str
    drug_class: str
    status: str
    genes: list[str]
    rationale: str
    citations: list[Citation]
    decisions: list[DecisionOut]


class BoardSessionRef(BaseModel):
    date: dt.date
    title: str
    status: str
    question: str | None


class SignedVersion(BaseModel):
    version: int
    content_sha256: str
    signed_by: str
    signed_at: str
    board_date: dt.date


class AnalysisRef(BaseModel):
    id: int
    at: str
    software_version: str


class PatientOverview(BaseModel):
    """What the patient page shows."""

    patient: str
    sex: str
    year_of_birth: int | None
    ecog: int | None
    diagnosis: DiagnosisOut
    concordance: ConcordanceOut | None
    analysis: AnalysisRef | None
    layers: list[LayerQuality]
    findings: dict[str, list[FindingOut]] = Field(description="key findings per layer")
    targets: TargetsOut
    recommendations: list[RecommendationOut]
    resistance: list[RecommendationOut]
    board_sessions: list[BoardSessionRef]
    signed_reports: list[SignedVersion]


class FindingPage(BaseModel):
    patient: str
    analysis: int | None
    total: int
    page: int
    per_page: int
    findings: list[FindingOut]


class ErrorOut(BaseModel):
    """What a refused request answers (tumorboard.web.app)."""

    error: str = Field(description="kind of error, e.g. NotFoundError")
    message: str
    detail: Any = None


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not signed in"},
    404: {"model": ErrorOut, "description": "no such patient, or not analysed"}}


# ------------------------------------------------------------------------- helpers

def _ws(request: Request) -> Any:
    return request.app.state.workspace


def _list(request: Request, **filters: Any) -> dict[str, Any]:
    with _ws(request).session() as s:
        found = overview.patient_list(s, **filters)
        found["entities"] = overview.entity_options(s)
    return found


def _overview(request: Request, pseudonym: str) -> dict[str, Any]:
    ws = _ws(request)
    with ws.session() as s:
        data = overview.patient_overview(s, pseudonym)
    return overview.with_quality(ws, data)


def _recommendation_out(rec: dict[str, Any]) -> dict[str, Any]:
    return {**rec, "citations": [{"text": c, "url": citation_url(c)}
                                 for c in rec.get("citations") or []]}


def _overview_out(data: dict[str, Any]) -> PatientOverview:
    return PatientOverview(
        **{k: data["patient"][k] for k in ("patient", "sex", "year_of_birth", "ecog")},
        diagnosis=data["diagnosis"], concordance=data["concordance"], analysis=data["analysis"],
        layers=data["quality"], findings=data["findings"],
        targets=data["targets"],
        recommendations=[_recommendation_out(r) for r in data["recommendations"]],
        resistance=[_recommendation_out(r) for r in data["resistance"]],
        board_sessions=data["board_sessions"], signed_reports=data["signed_reports"])


# ------------------------------------------------------------------------ plots

_PLOTS: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_PLOTS_MAX = 3_000
_PLOTS_LOCK = threading.Lock()
# matplotlib's rc_context (used while saving SVG) changes process-wide settings: draw one
# figure at a time.
_DRAW_LOCK = threading.Lock()


def _draw(workspace: Any, pseudonym: str, name: str) -> str:
    from tumorboard.registry.queries import patient_detail, patient_targets
    from tumorboard.report import plots
    from tumorboard.report.summary import plot_data

    with workspace.session() as s:
        targets = patient_targets(s, pseudonym)["targets"]
        detail = patient_detail(s, pseudonym)
    segment_samples = [smp["id"] for smp in detail["samples"]
                       if any("segments" in a["rows"] for a in smp["assays"])]
    data = plot_data(workspace, pseudonym, targets,
                     segment_samples=segment_samples if name == "copy-number" else [])
    with _DRAW_LOCK:
        if name == "percentiles":
            fig = plots.percentile_plot(data["targets"], image="figure")
        elif name == "activation":
            fig = plots.activation_plot(data["targets"], data["cohort"], image="figure")
        else:
            fig = plots.copy_number_plot(data["segments"], genes=data["cn_genes"],
                                         image="figure")
        svg = plots.markup(fig, f"{name}-{pseudonym}", "svg")
    if not svg.lstrip().startswith("<svg"):
        raise NotFoundError(f"no {name} plot for {pseudonym}")
    return svg


def patient_plot(workspace: Any, pseudonym: str, name: str) -> str:
    """The SVG of one of a patient's plots, cached by (registry, patient, latest analysis,
    cohort version): re-analysing the patient or anyone in the cohort draws it afresh.

    Raises
    ------
    NotFoundError
        Unknown or not analysed patient.
    """
    with workspace.session() as s:
        patient = find_patient(s, pseudonym)
        analysis = overview.latest_analysis_id(s, patient.id)
        cohort = overview.cohort_version(s)
    if analysis is None:
        raise NotFoundError(f"patient {pseudonym} has not been analysed; run "
                            f"`tumorboard analyze {pseudonym}`")
    key = (workspace.settings.database_url, str(workspace.root), pseudonym, analysis, cohort,
           name)
    with _PLOTS_LOCK:
        if key in _PLOTS:
            _PLOTS.move_to_end(key)
            return _PLOTS[key]
    svg = _draw(workspace, pseudonym, name)
    with _PLOTS_LOCK:
        _PLOTS[key] = svg
        while len(_PLOTS) > _PLOTS_MAX:
            _PLOTS.popitem(last=False)
    return svg


# ------------------------------------------------------------------------ reports

_REPORT_LOCKS: dict[str, threading.Lock] = {}
_REPORT_LOCKS_GUARD = threading.Lock()


def draft_report(workspace: Any, pseudonym: str, fmt: str) -> tuple[bytes, str]:
    """The current draft report of a patient in ``fmt``: (content, file name).

    One request per patient writes at a time: :func:`write_report` renames its files into
    place, and two writers of one patient would trip over each other's temporary files.

    Raises
    ------
    NotFoundError
        Unknown or not analysed patient.
    """
    from tumorboard.report.mtb import write_report

    with workspace.session() as s:
        find_patient(s, pseudonym)
    with _REPORT_LOCKS_GUARD:
        lock = _REPORT_LOCKS.setdefault(pseudonym, threading.Lock())
    with lock:
        # one folder per format: write_report's content stamp is per folder, and would call
        # a format written before the content changed current after writing another one
        path = write_report(workspace, pseudonym, formats=[fmt],
                            out_dir=workspace.reports_dir / "web" / fmt)[fmt]
        return path.read_bytes(), path.name


def _report_response(workspace: Any, pseudonym: str, fmt: str) -> Response:
    content, name = draft_report(workspace, pseudonym, fmt)
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(content, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'{disposition}; filename="{name}"'})


# --------------------------------------------------------------------------- pages

def _filters(entity: str | None, target_state: str | None, gene: str | None,
             status: str | None, board_date: str | None, q: str | None) -> dict[str, str]:
    return {"entity": entity or "", "target_state": target_state or "", "gene": gene or "",
            "status": status or "", "board_date": board_date or "", "q": q or ""}


@pages.get("/patients", include_in_schema=False)
def patients_page(request: Request, user: Viewer, entity: str | None = None,
                  target_state: str | None = None, gene: str | None = None,
                  status: str | None = None, board_date: str | None = None,
                  q: str | None = None, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                  message: str | None = None) -> Response:
    filters = _filters(entity, target_state, gene, status, board_date, q)
    base = "?" + urlencode({k: v for k, v in filters.items() if v})
    base += "&" if base != "?" else ""
    context = {"filters": filters, "base": base, "states": overview.TARGET_STATES,
               "statuses": overview.RECOMMENDATION_STATUSES, "message": message}
    try:
        found = _list(request, entity=entity, target_state=target_state, gene=gene,
                      status=status, board_date=board_date, search=q, page=page)
    except InputError as exc:
        with _ws(request).session() as s:
            entities = overview.entity_options(s)
        return render(request, "patients.html", status_code=422, error=str(exc), total=0,
                      page=1, per_page=overview.PER_PAGE, patients=[], entities=entities,
                      **context)
    return render(request, "patients.html", **found, **context)


@pages.get("/patients/{pseudonym}", include_in_schema=False)
def patient_page(request: Request, pseudonym: Pseudonym, user: Viewer,
                 message: str | None = None) -> Response:
    data = _overview(request, pseudonym)
    return render(request, "patient.html", p=data, message=message,
                  citation_url=citation_url, formats=list(MEDIA_TYPES),
                  states=overview.TARGET_STATES)


@pages.get("/patients/{pseudonym}/plots/{name}.svg", include_in_schema=False)
def patient_plot_svg(request: Request, pseudonym: Pseudonym, name: PlotName, user: Viewer
                     ) -> Response:
    svg = patient_plot(_ws(request), pseudonym, name)
    return Response(svg, media_type="image/svg+xml")


@pages.get("/patients/{pseudonym}/report.{fmt}", include_in_schema=False)
def patient_report(request: Request, pseudonym: Pseudonym, fmt: ReportFormat, user: Viewer
                   ) -> Response:
    return _report_response(_ws(request), pseudonym, fmt)


# ----------------------------------------------------------------------------- API

@api.get("/patients", summary="Patients, filtered and paginated", response_model=PatientList,
         responses={401: ERRORS[401]})
def api_patients(request: Request, user: Viewer,
                 entity: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE,
                                                     description="OncoTree code")] = None,
                 target_state: TargetState | None = None,
                 gene: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
                 status: RecommendationStatus | None = None,
                 board_date: dt.date | None = None,
                 q: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE, description=(
                     "part of the pseudonym or a therapy, or a gene symbol"))] = None,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                 per_page: Annotated[int, Query(ge=1, le=500)] = overview.PER_PAGE
                 ) -> Any:
    """Same filters as the patient list page; ``total`` counts all matching patients."""
    with _ws(request).session() as s:
        return overview.patient_list(s, entity=entity, target_state=target_state, gene=gene,
                                     status=status, board_date=board_date, search=q,
                                     page=page, per_page=per_page)


@api.get("/patients/{pseudonym}", summary="One patient's overview",
         response_model=PatientOverview, responses=ERRORS)
def api_patient(request: Request, pseudonym: Pseudonym, user: Viewer) -> Any:
    """Diagnosis, concordance, layers with QC, key findings, targets, recommendations,
    board sessions and signed report versions."""
    return _overview_out(_overview(request, pseudonym))


@api.get("/patients/{pseudonym}/findings", summary="All findings of the latest analysis",
         response_model=FindingPage, responses=ERRORS)
def api_findings(request: Request, pseudonym: Pseudonym, user: Viewer,
                 layer: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
                 kind: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
                 gene: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                 per_page: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    with _ws(request).session() as s:
        return overview.findings_page(s, pseudonym, layer=layer, kind=kind, gene=gene,
                                      page=page, per_page=per_page)


_REPORT_SCHEMA = {"type": "object", "description": "the report document, FHIR Bundle or "
                  "GA4GH Phenopacket"}


@api.get("/patients/{pseudonym}/report.{fmt}", summary="The draft report as JSON, FHIR or "
         "Phenopacket", response_class=Response,
         responses={200: {"content": {"application/json": {"schema": _REPORT_SCHEMA},
                                      "application/fhir+json": {"schema": _REPORT_SCHEMA}}},
                    **ERRORS})
def api_report(request: Request, pseudonym: Pseudonym, fmt: ApiReportFormat, user: Viewer
               ) -> Response:
    """``json``: the report document; ``fhir``: a FHIR R4 Bundle (genomics reporting);
    ``phenopacket``: a GA4GH Phenopacket v2. A draft until the board signs it."""
    return _report_response(_ws(request), pseudonym, fmt)


__all__ = ["api", "citation_url", "draft_report", "pages", "patient_plot"]

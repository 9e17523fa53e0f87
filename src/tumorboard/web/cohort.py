"""The cohort page: Kaplan–Meier curves, the alteration/target matrix and the PFS-ratio
waterfall of the registry, with the same data as JSON under ``/api/cohort/…``.

The analyses are the library's (:func:`tumorboard.outcomes.cohort.survival_analysis`,
:func:`~tumorboard.outcomes.cohort.pfsr_analysis`,
:func:`tumorboard.report.oncoprint.alteration_matrix`); this module selects patients, shapes
the results into tables and caches them. Figures are separate ``image/svg+xml`` routes so
the page itself never runs matplotlib. Results and figures are cached per application,
keyed on :func:`registry_fingerprint` and the parameters, so new follow-up or a new
analysis shows on the next request while repeated views cost one cheap query.
"""

from __future__ import annotations

import collections
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tumorboard.errors import InputError
from tumorboard.outcomes import DAYS_PER_MONTH, jsonable
from tumorboard.registry.models import (
    Analysis,
    AuditEntry,
    BoardDecision,
    ClinicalEvent,
    Diagnosis,
    LocalTherapy,
    Patient,
    PlasmaMeasurement,
    RecistMeasurement,
    TherapyLine,
)
from tumorboard.report.oncoprint import KINDS
from tumorboard.report.outcome_plots import PFSR_THRESHOLD  # 1.3, Von Hoff et al. 2010
from tumorboard.web.core import CurrentUser, render, require

pages = APIRouter(tags=["cohort"])
api = APIRouter(tags=["cohort"])

Endpoint = Literal["os", "pfs"]
TimeZero = Literal["diagnosis", "lat"]

CACHE_SIZE = 64  # results of a 1,000-patient registry take a few MB each
PER_PAGE = 50  # rows of the PFS-ratio table per page
MAX_WATERFALL_LABELS = 120  # above this many guided lines the bars go unlabelled

# ------------------------------------------------------------------------ fingerprint

_OUTCOMES = (TherapyLine, ClinicalEvent, RecistMeasurement, LocalTherapy, PlasmaMeasurement)
#: Tables each part of the page reads. Findings and target evidence are written with a new
#: analysis, so the analyses stand for them; board decisions change none of the parts but
#: are in the registry-wide fingerprint.
_PARTS: dict[str, tuple[Any, ...]] = {
    "matrix": (Patient, Diagnosis, Analysis),
    "survival": (Patient, Diagnosis, *_OUTCOMES),
    "pfsr": (Patient, *_OUTCOMES),
    "common": (Patient, Diagnosis, *_OUTCOMES),
    "screens": (Patient, Diagnosis, Analysis),
    "all": (Patient, Diagnosis, Analysis, *_OUTCOMES, BoardDecision),
}


def registry_state(session: Session) -> dict[str, tuple[Any, ...]]:
    """Per table the cohort page reads: row count, highest id and the latest audit entry
    about it (one query of primary-key and index lookups).

    Deletions lower the count, imports (which replace a patient's rows) raise the id, and
    in-place edits through the library write an audit entry.
    """
    columns: list[Any] = []
    models = _PARTS["all"]
    for model in models:
        columns += [select(func.count()).select_from(model).scalar_subquery(),
                    select(func.max(model.id)).scalar_subquery(),
                    select(func.max(AuditEntry.id))
                    .where(AuditEntry.entity == model.__tablename__).scalar_subquery()]
    row = tuple(session.execute(select(*columns)).one())
    return {m.__tablename__: row[3 * i:3 * i + 3] for i, m in enumerate(models)}


def _digest(state: dict[str, tuple[Any, ...]], part: str) -> str:
    values = [state[m.__tablename__] for m in _PARTS[part]]
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def registry_fingerprint(session: Session, part: str = "all") -> str:
    """A short hash that changes whenever the data of the cohort page (or of one ``part``:
    matrix, survival, pfsr, common) changes: a new therapy line, event, RECIST assessment,
    plasma sample, analysis, diagnosis or board decision (:func:`registry_state`)."""
    return _digest(registry_state(session), part)


def _content_hash(frame: pd.DataFrame) -> str:
    """A hash of a table's values: figures drawn from equal tables are drawn once."""
    values = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(values.tobytes() + repr(list(frame.columns)).encode()).hexdigest()


class _Cache:
    """A small thread-safe LRU of computed results and figures, one per application.

    One computation per key at a time: when many users open the page just after new
    follow-up, one request computes and the others wait for its result instead of all
    computing the same thing.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: collections.OrderedDict[tuple[Any, ...], Any] = collections.OrderedDict()
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def _hit(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return True, self._items[key]
            return False, None

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        found, value = self._hit(key)
        if found:
            return value
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            found, value = self._hit(key)  # computed by the request we waited for
            if found:
                return value
            try:
                value = compute()
                with self._lock:
                    self._items[key] = value
                    while len(self._items) > self.size:
                        self._items.popitem(last=False)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            return value


_CACHE_LOCK = threading.Lock()


def _cache(request: Request) -> _Cache:
    state = request.app.state
    with _CACHE_LOCK:
        if not hasattr(state, "cohort_cache"):
            state.cohort_cache = _Cache()
        return state.cohort_cache


# ---------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class CohortFilters:
    """What the user chose: entity (OncoTree code), patient patterns, endpoint, time zero."""

    entity: str
    patients: str
    endpoint: Endpoint
    time_zero: TimeZero

    def key(self, part: str = "survival") -> tuple[str, ...]:
        """What a part's result depends on: the selection, and for survival the endpoint
        and time zero too."""
        selection = (self.entity.upper(), self.patients)
        return (*selection, self.endpoint, self.time_zero) if part == "survival" else selection

    def query(self) -> str:
        """The filters that differ from the defaults, as a query string (for figure URLs
        and links)."""
        values = {"entity": self.entity, "patients": self.patients,
                  "endpoint": "" if self.endpoint == "os" else self.endpoint,
                  "time_zero": "" if self.time_zero == "diagnosis" else self.time_zero}
        return urlencode({k: v for k, v in values.items() if v})

    @property
    def patterns(self) -> list[str]:
        return [p for p in re.split(r"[,\s]+", self.patients) if p]


#: Filter text: printable (PostgreSQL refuses NUL; control characters are never meant).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def cohort_filters(
        entity: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE,
                                            description="OncoTree code, e.g. DSRCT")] = None,
        patients: Annotated[str | None, Query(
            max_length=200, pattern=PRINTABLE,
            description="patient patterns with * and ?, comma-separated, e.g. DSRCT-0*")
        ] = None,
        endpoint: Annotated[Endpoint, Query(description="os or pfs")] = "os",
        time_zero: Annotated[TimeZero, Query(
            description="diagnosis (overall survival by entity) or lat (after local "
                        "ablative therapy)")] = "diagnosis") -> CohortFilters:
    """The cohort filters of a request (dependency)."""
    return CohortFilters((entity or "").strip(), (patients or "").strip(), endpoint,
                         time_zero)


Filters = Annotated[CohortFilters, Depends(cohort_filters)]


def selected_patients(session: Session, filters: CohortFilters) -> tuple[list[str] | None, str]:
    """The patients the filters select (None: everyone) and, when none, why not."""
    from tumorboard.outcomes.cohort import select_patients
    from tumorboard.report.oncoprint import patients_of_entity

    try:
        chosen = select_patients(session, filters.patterns)
    except InputError as exc:
        return [], str(exc)
    if filters.entity:
        of_entity = patients_of_entity(session, filters.entity)
        chosen = of_entity if chosen is None else [p for p in chosen if p in set(of_entity)]
        if not chosen:
            return [], (f"no patient with the entity '{filters.entity}' matches the filters; "
                        "choose another entity or clear the filter")
    return chosen, ""


# ------------------------------------------------------------------------ computation


def _nan_none(v: Any) -> Any:
    return None if v is None or (not isinstance(v, list | tuple) and pd.isna(v)) else v


def _months(days: Any) -> float | None:
    v = _nan_none(days)
    return None if v is None else round(float(v) / DAYS_PER_MONTH, 1)


def _survival(session: Session, filters: CohortFilters, chosen: list[str] | None
              ) -> dict[str, Any]:
    """Kaplan–Meier results of the selection: per grouping its medians and at-risk rows, and
    the fitted results for the figures."""
    from tumorboard.outcomes.cohort import survival_analysis

    out: dict[str, Any] = {"endpoint": filters.endpoint, "time_zero": filters.time_zero,
                           "n": 0, "groups": [], "km": {}, "message": None}
    out["digest"] = "none"
    if chosen == []:
        return out | {"message": "no patients selected"}
    try:
        doc = survival_analysis(session, endpoint=filters.endpoint,
                                time_zero=filters.time_zero, patients=chosen)
    except InputError as exc:
        return out | {"message": str(exc)}
    out["n"] = int(doc["n"])
    for name, km in doc["km"].items():
        p = km.logrank["p"] if km.logrank else None
        out["groups"].append({
            "name": name, "logrank_p": None if p is None else float(p),
            "medians": [{"group": str(r["group"]), "n": int(r["n"]),
                         "events": int(r["events"]), "median_months": _months(r["median"]),
                         "lower_months": _months(r["lower"]),
                         "upper_months": _months(r["upper"])}
                        for r in km.medians.to_dict(orient="records")],
            "at_risk": [{"group": str(r["group"]), "months": _months(r["time"]) or 0.0,
                         "at_risk": int(r["at_risk"])}
                        for r in km.at_risk.to_dict(orient="records")]})
        out["km"][name] = km
    out["digest"] = hashlib.sha256(repr([
        filters.endpoint, filters.time_zero, out["groups"],
        *(_content_hash(km.curves) for km in out["km"].values())]).encode()).hexdigest()
    return out


def _pfsr(session: Session, chosen: list[str] | None) -> dict[str, Any]:
    """PFS ratios of the MTB-guided lines of the selection and their summary."""
    from tumorboard.outcomes.cohort import pfsr_analysis

    out: dict[str, Any] = {"threshold": PFSR_THRESHOLD, "summary": None, "ratios": [],
                           "frame": None, "message": None, "digest": "none"}
    if chosen == []:
        return out | {"message": "no patients selected"}
    doc = pfsr_analysis(session, threshold=PFSR_THRESHOLD, patients=chosen)
    s = doc["summary"]
    summary = {k: _nan_none(s[k]) for k in (
        "n_guided", "n_evaluable", "n_benefit", "n_no_benefit", "n_not_evaluable",
        "share_benefit_evaluable", "share_benefit_guided", "median_pfs_ratio",
        "texier_estimate", "texier_n")}
    for k in ("share_benefit_evaluable_ci", "share_benefit_guided_ci", "texier_ci"):
        ci = [_nan_none(x) for x in s[k]]
        summary[k] = None if None in ci else [float(x) for x in ci]
    out["summary"] = summary
    ratios = doc["ratios"]
    if not len(ratios):
        return out | {"message": "no MTB-guided therapy line in the registry yet; enter "
                                 "therapy lines with follow-up to see PFS ratios"}
    cols = ["patient", "line", "previous_line", "pfs1_days", "pfs1_event", "pfs2_days",
            "pfs2_event", "pfs_ratio", "verdict", "reason"]
    rows = jsonable(ratios[[c for c in cols if c in ratios.columns]])
    for r in rows:
        r["pfs1_months"], r["pfs2_months"] = _months(r["pfs1_days"]), _months(r["pfs2_days"])
    out.update(ratios=rows, frame=ratios, digest=_content_hash(ratios))
    return out


def _matrix(session: Session, filters: CohortFilters, chosen: list[str] | None,
            genes: tuple[str, ...] | None, max_genes: int) -> dict[str, Any]:
    from tumorboard.report.oncoprint import alteration_matrix, gene_summary

    out: dict[str, Any] = {"frame": None, "genes": [], "patients": [],
                           "message": None, "digest": "none"}
    if chosen == []:
        return out | {"message": "no patients selected"}
    m = alteration_matrix(session, patients=chosen, genes=list(genes) if genes else None,
                          max_genes=max_genes)
    if not len(m):
        return out | {"message": "no analysed patient in the selection: run "
                                 "`tumorboard analyze` after importing cases"}
    summary = gene_summary(m)
    out.update(frame=m, patients=sorted(set(m["patient"])),
               genes=[{"gene": r["gene"], "altered": int(r["altered"]),
                       "share_altered": float(r["share_altered"]),
                       **{k: int(r[k]) for k in KINDS}}
                      for r in summary.to_dict(orient="records")],
               digest=_content_hash(m))
    return out


def _screens(session: Session, chosen: list[str] | None) -> dict[str, Any]:
    """The drug screens of the selected patients' latest analyses
    (:func:`tumorboard.report.screens.cohort_screen_table`): the table, heatmap order and
    one summary row per drug."""
    from tumorboard.errors import NotFoundError
    from tumorboard.report.screens import UNUSABLE_CALLS, cohort_screen_table, heatmap_order

    out: dict[str, Any] = {"frame": None, "models": [], "drugs": [], "n_patients": 0,
                           "message": None, "digest": "none"}
    if chosen == []:
        return out | {"message": "no patients selected"}
    try:
        table = cohort_screen_table(session)
    except NotFoundError:
        return out | {"message": "no drug screens in the registry: list screen files under "
                                 "the tumour sample in case.yaml (docs/formats.md), import "
                                 "and run `tumorboard analyze`"}
    if chosen is not None:
        table = table[table["patient"].isin(set(chosen))].reset_index(drop=True)
    if not len(table):
        return out | {"message": "no screened model among the selected patients"}
    rows, drugs = heatmap_order(table)
    usable = table[~table["call"].isin(UNUSABLE_CALLS) & table["dss"].notna()]
    median = usable.groupby("drug")["dss"].median()
    per_drug = []
    for drug in drugs:
        part = table[table["drug"] == drug]
        calls = part["call"].astype(str)
        per_drug.append({"drug": drug, "models": int(part["model"].nunique()),
                         "median_dss": float(median[drug]) if drug in median.index else None,
                         "sensitive": int((calls == "sensitive").sum()),
                         "resistant": int((calls == "resistant").sum()),
                         "failed": int(calls.isin(UNUSABLE_CALLS).sum())})
    keys = ["patient", "entity", "model", "drug", "dss", "call"]
    out.update(frame=table, models=[{"entity": e, "model": m} for e, m in rows],
               drugs=per_drug, n_patients=int(table["patient"].nunique()),
               digest=_content_hash(table[keys]))
    return out


def _common(session: Session, filters: CohortFilters) -> dict[str, Any]:
    from tumorboard.outcomes.records import all_simulated, any_simulated

    chosen, why = selected_patients(session, filters)
    current = (select(func.max(Diagnosis.id)).group_by(Diagnosis.patient_id))
    entities = sorted(set(session.scalars(
        select(Diagnosis.oncotree_code).where(Diagnosis.id.in_(current)).distinct())))
    # "simulated" marks every page and figure that contains any simulated record;
    # "all_simulated" says whether nothing else is there
    return {"chosen": chosen, "why": why, "simulated": any_simulated(session),
            "all_simulated": all_simulated(session), "entities": entities}


def cohort_data(request: Request, filters: CohortFilters, part: str, *,
                genes: tuple[str, ...] | None = None, max_genes: int = 30) -> dict[str, Any]:
    """One part (``common``, ``survival``, ``matrix``, ``pfsr``, ``screens``) of the cohort
    page, cached
    on the fingerprint of the tables it reads and the filters."""
    ws = request.app.state.workspace
    with ws.session() as session:
        state = registry_state(session)
        cache = _cache(request)
        common = cache.get(("common", _digest(state, "common"), filters.key("common")),
                           lambda: _common(session, filters))
        if part == "common":
            return common
        chosen = common["chosen"]
        key = (part, _digest(state, part), filters.key(part))
        if part == "survival":
            return cache.get(key, lambda: _survival(session, filters, chosen))
        if part == "pfsr":
            return cache.get(key, lambda: _pfsr(session, chosen))
        if part == "screens":
            return cache.get(key, lambda: _screens(session, chosen))
        return cache.get((*key, genes, max_genes),
                         lambda: _matrix(session, filters, chosen, genes, max_genes))


def warm_cohort(app: Any) -> None:
    """Compute the default cohort page's parts into the app's cache (a server's start-up):
    at 1,000 patients the first computation takes seconds."""
    import types

    request = types.SimpleNamespace(app=app)
    filters = CohortFilters(entity="", patients="", endpoint="os", time_zero="diagnosis")
    for part in ("common", "survival", "pfsr", "matrix"):
        cohort_data(request, filters, part)  # type: ignore[arg-type]


def _svg(request: Request, key: tuple[Any, ...], draw: Callable[[], str]) -> Response:
    svg = _cache(request).get(("svg", *key), draw)
    return Response(svg, media_type="image/svg+xml")


# ------------------------------------------------------------------------------ pages


def _km_svg(data: dict[str, Any], group: str, simulated: bool) -> str:
    from tumorboard.report import outcome_plots as op
    from tumorboard.report.plots import no_data_svg

    km = data["km"].get(group)
    if km is None:
        return no_data_svg(data["message"] or f"no Kaplan–Meier grouping '{group}'")
    name = "overall survival" if data["endpoint"] == "os" else "progression-free survival"
    since = "diagnosis" if data["time_zero"] == "diagnosis" else "local ablative therapy"
    title = f"{name.capitalize()} from {since}" + ("" if group == "overall" else f" by {group}")
    return _standalone(op.kaplan_meier_plot(
        km.curves, km.at_risk, title=title,
        logrank_p=km.logrank["p"] if km.logrank else None, simulated=simulated))


def _standalone(svg: str) -> str:
    """Inline SVG markup as a file of its own (an ``<img>`` source needs the namespace)."""
    if "xmlns=" not in svg[:300]:
        svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return svg


@pages.get("/cohort", include_in_schema=False)
def cohort_page(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
                filters: Filters,
                page: Annotated[int, Query(ge=1, le=100_000,
                                           description="page of the PFS-ratio table")] = 1
                ) -> Response:
    common = cohort_data(request, filters, "common")
    survival = cohort_data(request, filters, "survival")
    matrix = cohort_data(request, filters, "matrix")
    pfsr = cohort_data(request, filters, "pfsr")
    screens = cohort_data(request, filters, "screens")
    query = filters.query()
    return render(request, "cohort.html", nav="cohort", filters=filters, common=common,
                  survival=survival, matrix=matrix, pfsr=pfsr, screens=screens, query=query,
                  kinds=KINDS,
                  page=page, per_page=PER_PAGE,
                  ratios=pfsr["ratios"][(page - 1) * PER_PAGE:page * PER_PAGE],
                  pager_base="/cohort?" + (query + "&" if query else ""))


@pages.get("/cohort/plots/km.svg", include_in_schema=False)
def km_svg(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
           filters: Filters,
           group: Annotated[str, Query(max_length=40)] = "overall") -> Response:
    simulated = cohort_data(request, filters, "common")["simulated"]
    data = cohort_data(request, filters, "survival")
    return _svg(request, ("km", data["digest"], data["message"], group, simulated),
                lambda: _km_svg(data, group, simulated))


@pages.get("/cohort/plots/oncoprint.svg", include_in_schema=False)
def oncoprint_svg(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
                  filters: Filters,
                  max_genes: Annotated[int, Query(ge=1, le=200)] = 30) -> Response:
    from tumorboard.report.oncoprint import oncoprint_plot
    from tumorboard.report.plots import no_data_svg

    simulated = cohort_data(request, filters, "common")["simulated"]
    data = cohort_data(request, filters, "matrix", max_genes=max_genes)

    def draw() -> str:
        if data["frame"] is None:
            return no_data_svg(data["message"] or "no data")
        return _standalone(oncoprint_plot(data["frame"], simulated=simulated))
    return _svg(request, ("oncoprint", data["digest"], data["message"], simulated), draw)


@pages.get("/cohort/plots/pfsr.svg", include_in_schema=False)
def pfsr_svg(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
             filters: Filters) -> Response:
    from tumorboard.report.outcome_plots import pfsr_waterfall
    from tumorboard.report.plots import markup, no_data_svg

    simulated = cohort_data(request, filters, "common")["simulated"]
    data = cohort_data(request, filters, "pfsr")

    def draw() -> str:
        if data["frame"] is None:
            return no_data_svg(data["message"] or "no data")
        fig = pfsr_waterfall(data["frame"], threshold=PFSR_THRESHOLD, simulated=simulated,
                             image="figure")
        if len(data["frame"]) > MAX_WATERFALL_LABELS:
            # hundreds of rotated labels are unreadable and slow to lay out; the table
            # under the figure names the lines
            ax = fig.axes[0]
            ax.set_xticks([])
            ax.set_xlabel(f"{len(data['frame'])} MTB-guided lines, largest ratio first",
                          fontsize=8)
        return _standalone(markup(fig, "pfsr-waterfall", "svg"))
    return _svg(request, ("pfsr", data["digest"], data["message"], simulated), draw)


@pages.get("/cohort/screens", include_in_schema=False)
def screens_page(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
                 filters: Filters) -> Response:
    """The DSS heatmap of the selected patients' models, with one summary row per drug (a
    page of its own: at 1,000 models the heatmap is a large figure)."""
    common = cohort_data(request, filters, "common")
    screens = cohort_data(request, filters, "screens")
    return render(request, "cohort_screens.html", nav="cohort", filters=filters,
                  common=common, screens=screens, query=filters.query())


@pages.get("/cohort/plots/screens.svg", include_in_schema=False)
def screens_svg(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
                filters: Filters) -> Response:
    from tumorboard.report.plots import no_data_svg
    from tumorboard.report.screens import dss_heatmap

    simulated = cohort_data(request, filters, "common")["simulated"]
    data = cohort_data(request, filters, "screens")

    def draw() -> str:
        if data["frame"] is None:
            return no_data_svg(data["message"] or "no data")
        return _standalone(dss_heatmap(data["frame"], simulated=simulated))
    return _svg(request, ("screens", data["digest"], data["message"], simulated), draw)


# -------------------------------------------------------------------------------- API


class ErrorOut(BaseModel):
    """What a refused request answers (:mod:`tumorboard.web.app`)."""

    error: str = Field(description="kind of error, e.g. RequestValidationError")
    message: str
    detail: Any = None


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not signed in"},
    403: {"model": ErrorOut, "description": "role too low"},
    422: {"model": ErrorOut, "description": "invalid parameters"}}


class MedianRow(BaseModel):
    group: str
    n: int
    events: int
    median_months: float | None = Field(description="None: not reached")
    lower_months: float | None
    upper_months: float | None


class AtRiskRow(BaseModel):
    group: str
    months: float
    at_risk: int


class KaplanMeierGroups(BaseModel):
    name: str = Field(description="overall, entity, or a grouping of the LAT cohort")
    logrank_p: float | None
    medians: list[MedianRow]
    at_risk: list[AtRiskRow]


class SurvivalResponse(BaseModel):
    """Kaplan–Meier estimates of the selected patients."""

    endpoint: Endpoint
    time_zero: TimeZero
    simulated: bool = Field(description="some outcome records came from the simulator")
    n: int
    groups: list[KaplanMeierGroups]
    message: str | None = Field(description="why there are no estimates, if there are none")


class GeneRow(BaseModel):
    gene: str
    altered: int = Field(description="patients with any counted alteration")
    share_altered: float
    amplification: int
    deletion: int
    fusion: int
    mutation: int
    overexpression: int
    protein_high: int
    activation: int


class MatrixCell(BaseModel):
    patient: str
    entity: str | None
    gene: str
    amplification: bool
    deletion: bool
    fusion: bool
    mutation: bool
    overexpression: bool
    protein_high: bool
    activation: bool
    altered: bool
    target_state: str | None
    features: str


class MatrixResponse(BaseModel):
    """The alteration/target matrix: one cell per profiled patient and chosen gene."""

    simulated: bool
    patients: list[str] = Field(description="the patients of this page")
    total_patients: int = Field(description="profiled patients in the selection")
    page: int
    per_page: int
    genes: list[GeneRow] = Field(description="over all patients of the selection")
    cells: list[MatrixCell] = Field(description="the cells of this page's patients")
    message: str | None


class PfsrSummary(BaseModel):
    n_guided: int
    n_evaluable: int
    n_benefit: int
    n_no_benefit: int
    n_not_evaluable: int
    share_benefit_evaluable: float | None
    share_benefit_evaluable_ci: list[float] | None
    share_benefit_guided: float | None
    share_benefit_guided_ci: list[float] | None
    median_pfs_ratio: float | None
    texier_estimate: float | None
    texier_ci: list[float] | None
    texier_n: int


class PfsrRow(BaseModel):
    patient: str
    line: int
    previous_line: int | None
    pfs1_days: float | None
    pfs1_event: bool | None
    pfs2_days: float | None
    pfs2_event: bool | None
    pfs1_months: float | None
    pfs2_months: float | None
    pfs_ratio: float | None
    verdict: str
    reason: str | None


class PfsrResponse(BaseModel):
    """PFS ratios of the MTB-guided lines (Von Hoff 2010) of the selected patients."""

    threshold: float
    simulated: bool
    summary: PfsrSummary | None
    ratios: list[PfsrRow]
    message: str | None


class ScreenModel(BaseModel):
    entity: str = Field(description="OncoTree code of the patient, 'unknown' without one")
    model: str


class ScreenDrug(BaseModel):
    drug: str
    models: int = Field(description="models screened with the drug")
    median_dss: float | None = Field(description="over models with a usable DSS")
    sensitive: int
    resistant: int
    failed: int = Field(description="plate QC or curve fit failed")


class ScreenCell(BaseModel):
    patient: str
    entity: str | None
    model: str
    drug: str
    dss: float | None
    z_score: float | None
    percentile_cohort: float | None
    reference_size: int | None
    call: str | None


class ScreensResponse(BaseModel):
    """Drug-screen results of the selected patients' models, in heatmap order."""

    simulated: bool
    models: list[ScreenModel] = Field(description="rows: grouped by entity")
    drugs: list[ScreenDrug] = Field(description="columns: by median DSS, highest first")
    cells: list[ScreenCell]
    message: str | None


def _genes(genes: str | None) -> tuple[str, ...] | None:
    names = tuple(g for g in re.split(r"[,\s]+", genes or "") if g)
    return names or None


@api.get("/cohort/survival", response_model=SurvivalResponse, responses=ERRORS,
         summary="Kaplan–Meier estimates of the cohort")
def api_survival(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
                 filters: Filters) -> dict[str, Any]:
    """Medians with 95 % CIs and numbers at risk per group; ``message`` says why there are
    none (no outcome records, no patient matching)."""
    common = cohort_data(request, filters, "common")
    data = cohort_data(request, filters, "survival")
    message = common["why"] or data["message"]
    return {k: v for k, v in data.items() if k != "km"} | {"simulated": common["simulated"],
                                                          "message": message}


@api.get("/cohort/matrix", response_model=MatrixResponse, responses=ERRORS,
         summary="The alteration/target matrix of the cohort")
def api_matrix(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
               filters: Filters,
               genes: Annotated[str | None, Query(
                   max_length=2000, pattern=PRINTABLE,
                   description="genes to show, comma-separated; default the most "
                               "recurrently altered")] = None,
               max_genes: Annotated[int, Query(ge=1, le=200)] = 30,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1,
               per_page: Annotated[int, Query(ge=1, le=500,
                                              description="patients per page")] = 100
               ) -> dict[str, Any]:
    """Per gene the patients altered (over the whole selection), and the cells of one page
    of patients (in pseudonym order)."""
    common = cohort_data(request, filters, "common")
    data = cohort_data(request, filters, "matrix", genes=_genes(genes), max_genes=max_genes)
    shown = data["patients"][(page - 1) * per_page:page * per_page]
    frame = data["frame"]
    cells = ([] if frame is None or not shown else
             frame[frame["patient"].isin(set(shown))].to_dict(orient="records"))
    return {"simulated": common["simulated"], "patients": shown,
            "total_patients": len(data["patients"]), "page": page, "per_page": per_page,
            "genes": data["genes"], "cells": cells,
            "message": common["why"] or data["message"]}


@api.get("/cohort/pfsr", response_model=PfsrResponse, responses=ERRORS,
         summary="PFS ratios of the MTB-guided lines")
def api_pfsr(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
             filters: Filters) -> dict[str, Any]:
    common = cohort_data(request, filters, "common")
    data = cohort_data(request, filters, "pfsr")
    return {"threshold": data["threshold"], "simulated": common["simulated"],
            "summary": data["summary"], "ratios": data["ratios"],
            "message": common["why"] or data["message"]}


@api.get("/cohort/screens", response_model=ScreensResponse, responses=ERRORS,
         summary="Drug screens on patient-derived models")
def api_screens(request: Request, user: Annotated[CurrentUser, Depends(require("viewer"))],
                filters: Filters) -> dict[str, Any]:
    """Every (model, drug) of the selected patients' latest analyses, with the heatmap's
    row and column order; ``message`` says why there are none."""
    common = cohort_data(request, filters, "common")
    data = cohort_data(request, filters, "screens")
    frame = data["frame"]
    cells = [] if frame is None else [
        {k: _nan_none(r.get(k)) for k in ScreenCell.model_fields}
        for r in frame.to_dict(orient="records")]
    return {"simulated": common["simulated"], "models": data["models"],
            "drugs": data["drugs"], "cells": cells,
            "message": common["why"] or data["message"]}


__all__ = ["CohortFilters", "api", "cohort_data", "pages", "registry_fingerprint",
           "selected_patients"]

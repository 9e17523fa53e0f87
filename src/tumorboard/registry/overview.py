"""What the browser's patient list and patient page show, read from the registry.

:func:`patient_list` answers the list with a fixed handful of SQL statements (filter and
count, one page of patients with their diagnosis, concordance, latest board date and signed
version joined in, then one grouped query each for layers, target states, recommendation
statuses and the top recommendation), so its cost does not grow with the number of patients
on the page or in the registry beyond what the database's aggregates do. What depends only
on the analyses (which patients have a target in a state, a gene; the target counts) is
cached in memory under an analysis stamp (:func:`_analysis_stamp`), so those scans of the
target evidence and findings run once per new analysis, not per request.
:func:`patient_overview` collects one patient's page from the registry only: no store reads
(except the cached QC of :func:`assay_qc`), no plots, no report document.

Everything here reads; nothing changes the registry.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, distinct, func, or_, select, union
from sqlalchemy.orm import Session, selectinload

from tumorboard import reference
from tumorboard.errors import InputError
from tumorboard.model import findings_frame, json_ready
from tumorboard.registry.models import (
    Analysis,
    Assay,
    BoardAgendaItem,
    BoardSession,
    Diagnosis,
    DiagnosisReview,
    Finding,
    Patient,
    Recommendation,
    Sample,
    SignedReport,
    TargetEvidence,
)
from tumorboard.registry.queries import find_patient

#: Target states a user can filter by (``unknown``, no evidence either way, is not offered).
TARGET_STATES: tuple[str, ...] = ("activated", "expressed_not_activated",
                                  "expressed_activation_unknown", "not_expressed")
#: States in which a gene counts as present in the tumour, for the gene search.
PRESENT_STATES: tuple[str, ...] = ("activated", "expressed_not_activated",
                                   "expressed_activation_unknown")
RECOMMENDATION_STATUSES: tuple[str, ...] = ("proposed", "accepted", "rejected", "implemented",
                                            "not_implemented")
PER_PAGE = 50
#: Finding kinds that name a gene's DNA or fusion alteration, for the gene search.
_GENE_FINDING_KINDS = ("mutation", "fusion", "amplification", "deletion")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _latest_analyses() -> Select[Any]:
    return select(func.max(Analysis.id)).group_by(Analysis.patient_id)


def _current_diagnoses() -> Select[Any]:
    # the current diagnosis is the most recently recorded one, as Patient.current_diagnosis
    return select(func.max(Diagnosis.id)).group_by(Diagnosis.patient_id)


def _text(value: str | None, what: str, *, max_length: int = 100) -> str | None:
    """A filter's text stripped, or None when empty; refuses control characters (PostgreSQL
    rejects NUL in a string) and overlong input."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _CONTROL.search(value) or len(value) > max_length:
        raise InputError(f"the {what} '{_CONTROL.sub('?', value[:40])}' is not valid",
                         expected=f"printable text of at most {max_length} characters")
    return value


def _choice(value: str | None, what: str, allowed: tuple[str, ...]) -> str | None:
    value = _text(value, what, max_length=32)
    if value is not None and value not in allowed:
        raise InputError(f"unknown {what} '{value}'", expected=", ".join(allowed))
    return value


def _board_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    text = _text(value, "board date", max_length=10)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"'{text}' is not a date", expected="YYYY-MM-DD") from exc


_ID_SETS: OrderedDict[tuple[Any, ...], frozenset[int]] = OrderedDict()
_ID_SETS_LOCK = threading.Lock()
_ID_SETS_MAX = 512


def _analysis_stamp(session: Session) -> tuple[Any, ...]:
    """What the analysis results of a registry are at: its URL and the newest ids of
    analyses, target evidence and findings (primary-key maxima, read from the index).
    Analyses only ever add rows (re-analysing writes a new analysis), so an unchanged stamp
    means unchanged results."""
    newest = session.execute(select(
        select(func.max(Analysis.id)).scalar_subquery(),
        select(func.max(TargetEvidence.id)).scalar_subquery(),
        select(func.max(Finding.id)).scalar_subquery())).one()
    return (str(session.get_bind().url), *newest)


def _patients_where(session: Session, stamp: tuple[Any, ...], name: tuple[Any, ...],
                    stmt: Select[Any]) -> list[int]:
    """The patient ids ``stmt`` selects, cached under the analysis stamp.

    The target-state and gene questions scan the target evidence and findings of every
    patient (hundreds of thousands of rows in a 1,000-patient registry, no index on state),
    yet their answer changes only with a new analysis: asked once per stamp, they cost the
    list nothing afterwards.
    """
    key = (*stamp, *name)
    with _ID_SETS_LOCK:
        if key in _ID_SETS:
            _ID_SETS.move_to_end(key)
            return sorted(_ID_SETS[key])
    ids = frozenset(session.scalars(stmt.distinct()))
    with _ID_SETS_LOCK:
        _ID_SETS[key] = ids
        while len(_ID_SETS) > _ID_SETS_MAX:
            _ID_SETS.popitem(last=False)
    return sorted(ids)


def _filtered(session: Session, *, entity: str | None, target_state: str | None,
              gene: str | None, status: str | None, board_date: dt.date | None,
              search: str | None) -> Select[Any]:
    stamp = _analysis_stamp(session) if (target_state or gene or search) else ()
    stmt = select(Patient.id)
    if entity:
        stmt = stmt.where(Patient.id.in_(
            select(Diagnosis.patient_id).where(Diagnosis.id.in_(_current_diagnoses()),
                                               Diagnosis.oncotree_code == entity.upper())))
    if target_state or gene:
        targets = select(TargetEvidence.patient_id).where(
            TargetEvidence.analysis_id.in_(_latest_analyses()))
        targets = targets.where(TargetEvidence.state.in_([target_state] if target_state
                                                         else PRESENT_STATES))
        if gene:
            targets = targets.where(TargetEvidence.gene.in_(sorted({gene, gene.upper()})))
        stmt = stmt.where(Patient.id.in_(_patients_where(
            session, stamp, ("target", target_state, *sorted({gene, gene.upper()} if gene else ())),
            targets)))
    if status:
        stmt = stmt.where(Patient.id.in_(
            select(Recommendation.patient_id).where(Recommendation.status == status)))
    if board_date:
        stmt = stmt.where(Patient.id.in_(
            select(BoardAgendaItem.patient_id)
            .join(BoardSession, BoardSession.id == BoardAgendaItem.board_session_id)
            .where(BoardSession.board_date == board_date)))
    if search:
        text = search.lower()
        symbols = sorted({search, search.upper()})
        latest = _latest_analyses()
        genes = union(
            select(TargetEvidence.patient_id).where(
                TargetEvidence.analysis_id.in_(latest), TargetEvidence.gene.in_(symbols),
                TargetEvidence.state.in_(PRESENT_STATES)),
            select(Finding.patient_id).where(
                Finding.analysis_id.in_(latest), Finding.gene.in_(symbols),
                Finding.kind.in_(_GENE_FINDING_KINDS),
                or_(Finding.call.is_(None), Finding.call != "vus")),
            # a fusion's finding carries its 5' gene; the 3' partner is only in the feature
            select(Finding.patient_id).where(
                Finding.analysis_id.in_(latest), Finding.kind == "fusion",
                or_(*(Finding.feature.endswith(f"::{g}", autoescape=True)
                      for g in symbols)))).subquery()
        stmt = stmt.where(or_(
            func.lower(Patient.pseudonym).contains(text, autoescape=True),
            Patient.id.in_(select(Recommendation.patient_id).where(
                func.lower(Recommendation.therapy).contains(text, autoescape=True))),
            Patient.id.in_(_patients_where(session, stamp, ("gene", *symbols),
                                           select(genes.c.patient_id))),
        ))
    return stmt


def entity_options(session: Session) -> list[dict[str, str | None]]:
    """The OncoTree codes of the patients' current diagnoses, with their names, by code."""
    codes = session.scalars(select(Diagnosis.oncotree_code).distinct()
                            .where(Diagnosis.id.in_(_current_diagnoses()))
                            .order_by(Diagnosis.oncotree_code)).all()
    return [{"code": c, "name": _entity_name(c)} for c in codes]


def _entity_name(code: str | None) -> str | None:
    node = reference.oncotree().get(code) if code else None
    return node.name if node else None


def patient_list(session: Session, *, entity: str | None = None,
                 target_state: str | None = None, gene: str | None = None,
                 status: str | None = None, board_date: dt.date | str | None = None,
                 search: str | None = None, page: int = 1, per_page: int = PER_PAGE
                 ) -> dict[str, Any]:
    """One page of the patient list, narrowed by the filters, ordered by pseudonym.

    Parameters
    ----------
    entity
        OncoTree code of the current diagnosis (case-insensitive).
    target_state
        Patients with a target gene in this state (:data:`TARGET_STATES`) in their latest
        analysis; with ``gene``, that gene in that state. ``gene`` alone: the gene is
        present (expressed or activated, :data:`PRESENT_STATES`).
    status
        Patients with a recommendation of this status (:data:`RECOMMENDATION_STATUSES`).
    board_date
        Patients on the agenda of the board session of this date.
    search
        Part of the pseudonym or of a recommended therapy's name (case-insensitive), or a
        gene symbol that is present as a target or altered (mutation except VUS, fusion,
        amplification, homozygous deletion; either partner of a fusion) in the latest analysis.

    Returns
    -------
    dict
        ``total`` (patients matching), ``page``, ``per_page`` and ``patients``: one record
        per patient of the page (see :func:`_rows`).

    Raises
    ------
    InputError
        An unknown target state or status, a malformed date, text with control characters,
        a page below 1.
    """
    if page < 1 or not 1 <= per_page <= 500:
        raise InputError(f"page {page} with {per_page} per page is not valid",
                         expected="page >= 1 and 1 to 500 per page")
    entity = _text(entity, "entity", max_length=32)
    target_state = _choice(target_state, "target state", TARGET_STATES)
    gene = _text(gene, "gene", max_length=64)
    status = _choice(status, "recommendation status", RECOMMENDATION_STATUSES)
    board_date = _board_date(board_date)
    search = _text(search, "search text")
    ids = _filtered(session, entity=entity, target_state=target_state, gene=gene, status=status,
                    board_date=board_date, search=search).subquery()
    total = int(session.scalar(select(func.count()).select_from(ids)) or 0)
    return {"total": total, "page": page, "per_page": per_page,
            "patients": _rows(session, ids, limit=per_page, offset=(page - 1) * per_page)}


def _rows(session: Session, ids: Any, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The list records of one page of ``ids``: pseudonym, entity, concordance, layers,
    target counts by state, top recommendation, recommendation counts by status, latest
    board date and latest signed report version."""
    # a join on the grouped ids, not `id IN (...)`: SQLite re-evaluates the IN subquery for
    # every row of an outer join (50-190 ms a page at 1,000 patients, 2-3 ms joined)
    current = (select(func.max(Diagnosis.id).label("id"))
               .group_by(Diagnosis.patient_id).subquery())
    diagnosis = (select(Diagnosis.patient_id, Diagnosis.oncotree_code, Diagnosis.histology)
                 .join(current, current.c.id == Diagnosis.id).subquery())
    boards = (select(BoardAgendaItem.patient_id,
                     func.max(BoardSession.board_date).label("board_date"))
              .join(BoardSession, BoardSession.id == BoardAgendaItem.board_session_id)
              .group_by(BoardAgendaItem.patient_id).subquery())
    signed = (select(SignedReport.patient_id, func.max(SignedReport.version).label("version"))
              .group_by(SignedReport.patient_id).subquery())
    page = session.execute(
        select(Patient.id, Patient.pseudonym, diagnosis.c.oncotree_code,
               diagnosis.c.histology, DiagnosisReview.status, DiagnosisReview.alert,
               DiagnosisReview.message, DiagnosisReview.suggested_code, boards.c.board_date,
               signed.c.version)
        .join(ids, ids.c.id == Patient.id)
        .outerjoin(diagnosis, diagnosis.c.patient_id == Patient.id)
        .outerjoin(DiagnosisReview, DiagnosisReview.patient_id == Patient.id)
        .outerjoin(boards, boards.c.patient_id == Patient.id)
        .outerjoin(signed, signed.c.patient_id == Patient.id)
        .order_by(Patient.pseudonym, Patient.id).limit(limit).offset(offset)).all()
    if not page:
        return []
    pids = [r.id for r in page]
    layers: dict[int, set[str]] = {}
    for pid, layer in session.execute(
            select(Sample.patient_id, Assay.layer).join(Assay, Assay.sample_id == Sample.id)
            .where(Sample.patient_id.in_(pids)).distinct()):
        layers.setdefault(pid, set()).add(layer)
    targets = _target_counts(session, pids)
    statuses: dict[int, dict[str, int]] = {}
    for pid, status, n in session.execute(
            select(Recommendation.patient_id, Recommendation.status, func.count())
            .where(Recommendation.patient_id.in_(pids))
            .group_by(Recommendation.patient_id, Recommendation.status)):
        statuses.setdefault(pid, {})[status] = int(n)
    best = (select(Recommendation.patient_id, func.min(Recommendation.rank).label("rank"))
            .where(Recommendation.patient_id.in_(pids),
                   Recommendation.direction == "sensitivity")
            .group_by(Recommendation.patient_id).subquery())
    top: dict[int, dict[str, Any]] = {}
    for r in session.execute(
            select(Recommendation.patient_id, Recommendation.therapy,
                   Recommendation.evidence_level, Recommendation.rank, Recommendation.status)
            .join(best, and_(best.c.patient_id == Recommendation.patient_id,
                             best.c.rank == Recommendation.rank))
            .where(Recommendation.direction == "sensitivity")
            .order_by(Recommendation.id)):
        top.setdefault(r.patient_id, {"therapy": r.therapy, "evidence_level": r.evidence_level,
                                      "rank": r.rank, "status": r.status})
    return [{
        "patient": r.pseudonym,
        "entity_code": r.oncotree_code,
        "entity_name": _entity_name(r.oncotree_code),
        "histology": r.histology,
        "concordance": r.status,
        "diagnosis_alert": bool(r.alert),
        "concordance_message": r.message,
        "suggested_code": r.suggested_code,
        "layers": sorted(layers.get(r.id, ())),
        "target_counts": {s: targets.get(r.id, {}).get(s, 0) for s in TARGET_STATES},
        "top_recommendation": top.get(r.id),
        "recommendation_counts": {s: statuses.get(r.id, {}).get(s, 0)
                                  for s in RECOMMENDATION_STATUSES},
        "latest_board_date": r.board_date,
        "latest_signed_version": r.version,
    } for r in page]


_COUNTS: OrderedDict[tuple[Any, ...], dict[str, int]] = OrderedDict()
_COUNTS_MAX = 50_000


def _target_counts(session: Session, pids: list[int]) -> dict[int, dict[str, int]]:
    """Judged genes by state in each patient's latest analysis, cached per analysis stamp
    (counting distinct genes over a page's target evidence is the list's costliest step)."""
    stamp = _analysis_stamp(session)
    out: dict[int, dict[str, int]] = {}
    with _ID_SETS_LOCK:
        for pid in pids:
            if (*stamp, pid) in _COUNTS:
                out[pid] = _COUNTS[(*stamp, pid)]
    missing = [pid for pid in pids if pid not in out]
    if not missing:
        return out
    fresh: dict[int, dict[str, int]] = {pid: {} for pid in missing}
    for pid, state, n in session.execute(
            select(TargetEvidence.patient_id, TargetEvidence.state,
                   func.count(distinct(TargetEvidence.gene)))
            .where(TargetEvidence.patient_id.in_(missing),
                   TargetEvidence.analysis_id.in_(_latest_analyses()))
            .group_by(TargetEvidence.patient_id, TargetEvidence.state)):
        fresh[pid][state] = int(n)
    with _ID_SETS_LOCK:
        for pid, counts in fresh.items():
            _COUNTS[(*stamp, pid)] = counts
        while len(_COUNTS) > _COUNTS_MAX:
            _COUNTS.popitem(last=False)
    return {**out, **fresh}


# ------------------------------------------------------------------------- patient page

def latest_analysis_id(session: Session, patient_id: int) -> int | None:
    """The id of the patient's latest analysis, or None when not analysed."""
    return session.scalar(select(func.max(Analysis.id)).where(Analysis.patient_id == patient_id))


def cohort_version(session: Session) -> int:
    """The id of the newest analysis in the registry: changes whenever any patient is
    (re-)analysed, and with it the cohort points a patient's plots show."""
    return int(session.scalar(select(func.max(Analysis.id))) or 0)


def key_findings(session: Session, patient: Patient, analysis_id: int | None
                 ) -> dict[str, list[dict[str, Any]]]:
    """The key findings of an analysis per layer, as :func:`report.document.key_findings`.

    Only the candidate rows are read (the kinds and calls ``key_findings`` keeps, and every
    mutation for the VUS count), not the thousands of neutral scores.
    """
    from tumorboard.report.document import key_findings as select_key_findings

    if analysis_id is None:
        return {}
    samples = {s.id: s.sample_key for s in patient.samples}
    rows = session.scalars(select(Finding).where(
        # patient_id first: findings are indexed by patient and kind, not by analysis
        Finding.patient_id == patient.id, Finding.analysis_id == analysis_id,
        or_(Finding.kind.in_(("mutation", "tmb", "amplification", "deletion", "gain", "loss",
                              "fusion")),
            and_(Finding.kind.in_(("overexpression", "protein_high")), Finding.call == "high"),
            and_(Finding.kind == "activation", Finding.call.in_(("activated", "high")))))
    ).all()
    if not rows:
        return {}
    frame = findings_frame(pd.DataFrame([{
        "patient": patient.pseudonym, "sample": samples.get(f.sample_id), "layer": f.layer,
        "gene": f.gene, "feature": f.feature, "kind": f.kind, "value": f.value,
        "z_score": f.z_score, "percentile_cohort": f.percentile_cohort,
        "percentile_entity": f.percentile_entity, "reference_size": f.reference_size,
        "call": f.call, "provenance": f.provenance} for f in rows]))
    return select_key_findings(frame)


def findings_page(session: Session, pseudonym: str, *, layer: str | None = None,
                  kind: str | None = None, gene: str | None = None, page: int = 1,
                  per_page: int = 100) -> dict[str, Any]:
    """All findings of a patient's latest analysis, a page at a time, by layer, kind, gene.

    Raises
    ------
    NotFoundError
        Unknown patient.
    InputError
        A page below 1, more than 500 per page, or filter text with control characters.
    """
    if page < 1 or not 1 <= per_page <= 500:
        raise InputError(f"page {page} with {per_page} per page is not valid",
                         expected="page >= 1 and 1 to 500 per page")
    layer = _text(layer, "layer", max_length=32)
    kind = _text(kind, "kind", max_length=32)
    gene = _text(gene, "gene", max_length=64)
    patient = find_patient(session, pseudonym)
    analysis_id = latest_analysis_id(session, patient.id)
    stmt = select(Finding).where(Finding.patient_id == patient.id,
                                 Finding.analysis_id == analysis_id)
    if layer:
        stmt = stmt.where(Finding.layer == layer)
    if kind:
        stmt = stmt.where(Finding.kind == kind)
    if gene:
        stmt = stmt.where(Finding.gene.in_({gene, gene.upper()}))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    samples = {s.id: s.sample_key for s in patient.samples}
    rows = session.scalars(stmt.order_by(Finding.layer, Finding.kind, Finding.gene, Finding.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return {"patient": pseudonym, "analysis": analysis_id, "total": total, "page": page,
            "per_page": per_page, "findings": [json_ready({
                "sample": samples.get(f.sample_id), "layer": f.layer, "gene": f.gene,
                "feature": f.feature, "kind": f.kind, "value": f.value, "z_score": f.z_score,
                "percentile_cohort": f.percentile_cohort,
                "percentile_entity": f.percentile_entity,
                "reference_size": f.reference_size, "call": f.call}) for f in rows]}


def _recommendations(session: Session, patient: Patient) -> dict[str, Any]:
    from tumorboard.recommend import patient_recommendations

    # Load the rows with their decisions in one go; patient_recommendations then finds them
    # in the session's identity map instead of loading each row's decisions separately.
    # The identity map holds rows weakly: ``loaded`` keeps them alive until then.
    loaded = session.scalars(select(Recommendation)
                             .where(Recommendation.patient_id == patient.id)
                             .options(selectinload(Recommendation.decisions))).all()
    recs = patient_recommendations(session, patient.pseudonym)
    del loaded
    return recs


_ANALYSIS_CACHE: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
_ANALYSIS_LOCK = threading.Lock()
_ANALYSIS_MAX = 2_000


def analysis_view(session: Session, patient: Patient, analysis_id: int) -> dict[str, Any]:
    """The judged targets and key findings of one analysis, cached by analysis id.

    An analysis is immutable (re-analysing a patient writes a new analysis with new
    findings and target evidence), so its view never goes stale; reading it is the costly
    part of a patient page (thousands of JSON columns and the cohort snapshot).
    """
    from tumorboard.registry.queries import patient_targets

    key = (session.get_bind().url.render_as_string(hide_password=True), analysis_id)
    with _ANALYSIS_LOCK:
        if key in _ANALYSIS_CACHE:
            _ANALYSIS_CACHE.move_to_end(key)
            return _ANALYSIS_CACHE[key]
    view = {"judged": patient_targets(session, patient.pseudonym),
            "findings": key_findings(session, patient, analysis_id)}
    if view["judged"]["analysis"]["id"] != analysis_id:  # re-analysed meanwhile: no caching
        return view
    with _ANALYSIS_LOCK:
        _ANALYSIS_CACHE[key] = view
        while len(_ANALYSIS_CACHE) > _ANALYSIS_MAX:
            _ANALYSIS_CACHE.popitem(last=False)
    return view


def patient_overview(session: Session, pseudonym: str) -> dict[str, Any]:
    """Everything the patient page shows, from the registry alone (JSON-ready).

    ``quality`` lists the current assays with provenance but without QC figures (those need
    the store: :func:`with_quality`). ``targets.shown`` are the genes a report lists
    (:func:`tumorboard.report.document.report_targets`); ``targets.counts`` counts all
    judged genes by state.

    Raises
    ------
    NotFoundError
        Unknown patient.
    """
    from tumorboard.board import signed_reports
    from tumorboard.registry.queries import diagnosis_review, patient_detail
    from tumorboard.report.document import report_targets

    detail = patient_detail(session, pseudonym)
    patient = find_patient(session, pseudonym)
    analysis_id = latest_analysis_id(session, patient.id)
    recs = _recommendations(session, patient)
    targets: dict[str, Any] = {"analysis": None, "counts": dict.fromkeys(TARGET_STATES, 0),
                               "total": 0, "shown": []}
    view = analysis_view(session, patient, analysis_id) if analysis_id is not None else None
    if view is not None:
        judged = view["judged"]
        for t in judged["targets"]:
            if t["state"] in targets["counts"]:
                targets["counts"][t["state"]] += 1
        targets.update(analysis=judged["analysis"], total=len(judged["targets"]),
                       shown=report_targets(judged["targets"], recs))
    entity = detail["entity"] or {}
    current = detail["diagnoses"][-1] if detail["diagnoses"] else {}
    boards = session.execute(
        select(BoardSession.board_date, BoardSession.title, BoardSession.status,
               BoardAgendaItem.question)
        .join(BoardAgendaItem, BoardAgendaItem.board_session_id == BoardSession.id)
        .where(BoardAgendaItem.patient_id == patient.id)
        .order_by(BoardSession.board_date.desc())).all()
    return json_ready({
        "patient": {"patient": pseudonym, "sex": detail["sex"],
                    "year_of_birth": detail["year_of_birth"], "ecog": detail["ecog"],
                    "prior_therapies": detail["prior_therapies"]},
        "diagnosis": {"histology_submitted": entity.get("histology_submitted"),
                      "oncotree_code": entity.get("oncotree_code"), "name": entity.get("name"),
                      "stage": entity.get("stage"), "date": current.get("date"),
                      "metastatic_sites": current.get("metastatic_sites") or []},
        "concordance": diagnosis_review(session, pseudonym),
        "analysis": targets["analysis"],
        "cohort_version": cohort_version(session),
        "quality": [
            {"sample": s["id"], "sample_type": s["type"], "layer": a["layer"],
             "label": a["label"], "version": a["version"], "format": a["format"],
             "file": a["file"], "tool": a["tool"], "tool_version": a["tool_version"],
             "genome_build": a["genome_build"], "imported_at": a["imported_at"],
             "uid": a["uid"], "rows": a["rows"], "stored_qc": a["qc"], "notes": a["notes"]}
            for s in detail["samples"] for a in s["assays"]],
        "findings": view["findings"] if view is not None else {},
        "targets": {k: v for k, v in targets.items() if k != "analysis"},
        "recommendations": [_without_timestamps(r) for r in recs["recommendations"]],
        "resistance": [_without_timestamps(r) for r in recs["resistance"]],
        "knowledge_release": recs["knowledge_release"],
        "board_sessions": [{"date": b.board_date.isoformat(), "title": b.title,
                            "status": b.status, "question": b.question} for b in boards],
        "signed_reports": signed_reports(session, pseudonym),
    })


def _without_timestamps(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in ("updated_at", "knowledge_release")}


# ------------------------------------------------------------------------------ QC cache

_QC_CACHE: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_QC_LOCK = threading.Lock()
_QC_MAX = 20_000  # a few hundred bytes each: 1,000 patients x 8 layers x 2 samples fit


def assay_qc(workspace: Any, uid: str, tables: list[str] | tuple[str, ...]
             ) -> dict[str, Any]:
    """The QC figures (:func:`tumorboard.report.summary.layer_qc`) of an assay's store tables.

    Cached in memory by store and assay uid: an assay version is immutable (a changed file
    becomes a new version with a new uid), so its figures never go stale.
    """
    from tumorboard.report.summary import layer_qc

    key = (str(workspace.root), uid)
    with _QC_LOCK:
        if key in _QC_CACHE:
            _QC_CACHE.move_to_end(key)
            return _QC_CACHE[key]
    qc = json_ready({table: layer_qc(table, workspace.store.read(table, [uid]))
                     for table in tables})
    with _QC_LOCK:
        _QC_CACHE[key] = qc
        while len(_QC_CACHE) > _QC_MAX:
            _QC_CACHE.popitem(last=False)
    return qc


def warm_quality_cache(workspace: Any, *, stop: threading.Event | None = None) -> int:
    """Compute the QC figures of every current assay into the cache; returns how many.

    For a server to call once in a background thread at start-up, so that the first visit
    of each patient page does not read the store (about 20 ms per assay). ``stop`` ends it
    early (server shutdown).
    """
    with workspace.session() as s:
        rows = s.execute(select(Assay.sample_id, Assay.layer, Assay.label, Assay.version,
                                Assay.uid, Assay.store_tables, Assay.qc)).all()
    newest: dict[tuple[int, str, str], Any] = {}
    for r in sorted(rows, key=lambda r: r.version):
        newest[(r.sample_id, r.layer, r.label)] = r
    done = 0
    for r in newest.values():
        if stop is not None and stop.is_set():
            break
        if r.qc and set(r.qc) >= set(r.store_tables):
            continue  # stored at import
        assay_qc(workspace, r.uid, tuple(r.store_tables))
        done += 1
    return done


def warm_analysis_views(workspace: Any, *, stop: threading.Event | None = None,
                        limit: int = _ANALYSIS_MAX) -> int:
    """Compute the :func:`analysis_view` of every patient's latest analysis (at most
    ``limit``, the cache's size) into the cache; returns how many. For a server's start-up,
    beside :func:`warm_quality_cache`: the first visit of a patient page then costs what a
    repeat visit does."""
    done = 0
    with workspace.session() as s:
        latest = s.execute(select(Analysis.patient_id, func.max(Analysis.id))
                           .group_by(Analysis.patient_id).limit(limit)).all()
        patients = {p.id: p for p in s.scalars(select(Patient).where(
            Patient.id.in_([pid for pid, _ in latest])))}
        for pid, analysis_id in latest:
            if stop is not None and stop.is_set():
                break
            analysis_view(s, patients[pid], analysis_id)
            done += 1
    return done


def with_quality(workspace: Any, overview: dict[str, Any]) -> dict[str, Any]:
    """``overview`` with the QC figures of each assay added (``quality[i].qc``): those the
    intake stored with the assay, else (assays imported before it did) computed once."""
    for row in overview["quality"]:
        stored = row.pop("stored_qc", None)
        row["qc"] = stored if stored and set(stored) >= set(row["rows"]) else assay_qc(
            workspace, row["uid"], tuple(row["rows"]))
    return overview


__all__ = [
    "PER_PAGE",
    "RECOMMENDATION_STATUSES",
    "TARGET_STATES",
    "assay_qc",
    "cohort_version",
    "entity_options",
    "findings_page",
    "key_findings",
    "latest_analysis_id",
    "patient_list",
    "patient_overview",
    "warm_analysis_views",
    "warm_quality_cache",
    "with_quality",
]

"""Read-only questions to the registry, answered as plain records (JSON-ready)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from tumorboard import reference
from tumorboard.errors import NotFoundError
from tumorboard.registry.models import Assay, Patient, Sample


def find_patient(session: Session, pseudonym: str) -> Patient:
    """The registry row of a patient.

    Raises
    ------
    NotFoundError
        No patient with this pseudonym.
    """
    patient = session.scalar(select(Patient).where(Patient.pseudonym == pseudonym))
    if patient is None:
        raise NotFoundError(
            f"no patient '{pseudonym}' in the registry; see `tumorboard patients list`"
        )
    return patient


def _current_assays(sample: Sample) -> list[Assay]:
    newest: dict[tuple[str, str], Assay] = {}
    for assay in sorted(sample.assays, key=lambda a: a.version):
        newest[(assay.layer, assay.label)] = assay
    return list(newest.values())


def _patient_record(patient: Patient, *, detail: bool) -> dict[str, Any]:
    diagnosis = patient.current_diagnosis
    entity = None
    if diagnosis is not None:
        node = reference.oncotree().get(diagnosis.oncotree_code)
        entity = {
            "oncotree_code": diagnosis.oncotree_code,
            "oncotree_version": diagnosis.oncotree_version,
            "name": node.name if node else None,
            "histology_submitted": diagnosis.histology,
            "stage": diagnosis.stage,
        }
    samples = []
    layers: set[str] = set()
    for sample in patient.samples:
        assays = _current_assays(sample)
        layers.update(a.layer for a in assays)
        record: dict[str, Any] = {
            "id": sample.sample_key,
            "type": sample.sample_type,
            "layers": sorted({a.layer for a in assays}),
        }
        if detail:
            record.update({
                "site": sample.site,
                "origin": sample.origin,
                "collection_date": sample.collection_date.isoformat()
                if sample.collection_date else None,
                "tumour_cell_content": sample.tumour_cell_content,
                "assays": [
                    {
                        "layer": a.layer, "label": a.label, "version": a.version,
                        "format": a.format, "file": a.file_name, "sha256": a.file_sha256,
                        "genome_build": a.genome_build, "platform": a.platform,
                        "tool": a.tool, "tool_version": a.tool_version,
                        "rows": a.store_tables, "qc": a.qc, "notes": a.notes,
                        "imported_at": a.imported_at.isoformat(timespec="seconds"),
                        "uid": a.uid,
                    }
                    for a in assays
                ],
            })
        samples.append(record)
    out: dict[str, Any] = {
        "patient": patient.pseudonym,
        "entity": entity,
        "samples": samples,
        "layers": sorted(layers),
    }
    if detail:
        out.update({
            "sex": patient.sex,
            "year_of_birth": patient.year_of_birth,
            "ecog": patient.ecog,
            "prior_therapies": patient.prior_therapies,
            "diagnoses": [
                {"histology": d.histology, "oncotree_code": d.oncotree_code,
                 "date": d.diagnosis_date.isoformat() if d.diagnosis_date else None,
                 "stage": d.stage, "metastatic_sites": d.metastatic_sites,
                 "recorded_at": d.recorded_at.isoformat(timespec="seconds")}
                for d in patient.diagnoses
            ],
        })
    return out


def _loaded_patients() -> Select[tuple[Patient]]:
    return select(Patient).options(
        selectinload(Patient.diagnoses),
        selectinload(Patient.samples).selectinload(Sample.assays),
    )


def list_patients(
    session: Session, *, entity: str | None = None, layer: str | None = None
) -> list[dict[str, Any]]:
    """Every patient with current entity, samples and the layers loaded, by pseudonym."""
    patients = session.scalars(_loaded_patients().order_by(Patient.pseudonym)).all()
    records = [_patient_record(p, detail=False) for p in patients]
    if entity:
        records = [r for r in records
                   if r["entity"] and r["entity"]["oncotree_code"] == entity.upper()]
    if layer:
        records = [r for r in records if layer in r["layers"]]
    return records


def patient_detail(session: Session, pseudonym: str) -> dict[str, Any]:
    """One patient with diagnoses history, samples and current assays with provenance."""
    patient = session.scalar(_loaded_patients().where(Patient.pseudonym == pseudonym))
    if patient is None:
        raise NotFoundError(
            f"no patient '{pseudonym}' in the registry; see `tumorboard patients list`"
        )
    return _patient_record(patient, detail=True)


def patient_targets(session: Session, pseudonym: str) -> dict[str, Any]:
    """The latest target evidence of a patient, with the analysis and cohort it came from."""
    from tumorboard.registry.models import Analysis, CohortSnapshot, TargetEvidence

    patient = find_patient(session, pseudonym)
    analysis = session.scalar(
        select(Analysis).where(Analysis.patient_id == patient.id).order_by(Analysis.id.desc())
    )
    if analysis is None:
        raise NotFoundError(
            f"patient {pseudonym} has not been analysed; run `tumorboard analyze {pseudonym}`"
        )
    cohort = session.get(CohortSnapshot, analysis.cohort_id)
    samples = {s.id: s.sample_key for s in patient.samples}
    rows = session.scalars(
        select(TargetEvidence).where(TargetEvidence.analysis_id == analysis.id)
        .order_by(TargetEvidence.gene)
    ).all()
    state_order = {"activated": 0, "expressed_not_activated": 1,
                   "expressed_activation_unknown": 2, "not_expressed": 3, "unknown": 4}
    targets = [
        {
            "sample": samples.get(t.sample_id), "gene": t.gene, "state": t.state,
            "antigen": t.is_antigen, "kinase": t.is_kinase, "dna": t.dna,
            "rna_tpm": t.provenance.get("rna_tpm"), "rna_z": t.rna_z,
            "rna_percentile": t.rna_percentile,
            "rna_percentile_entity": t.rna_percentile_entity, "rna_call": t.rna_call,
            "protein_z": t.protein_z, "protein_call": t.protein_call,
            "activation_score": t.activation_score, "activation_call": t.activation_call,
            "activation_source": t.provenance.get("activation_source"),
        }
        for t in rows
    ]
    targets.sort(key=lambda t: (state_order[t["state"]], not t["antigen"], t["gene"]))
    return {
        "patient": pseudonym,
        "analysis": {"id": analysis.id, "at": analysis.started_at.isoformat(timespec="seconds"),
                     "software_version": analysis.software_version},
        "cohort": {"digest": cohort.digest if cohort else None,
                   "n_samples": cohort.n_samples if cohort else None,
                   "layers": {layer: {"n_samples": c["n_samples"], "by_entity": c["by_entity"]}
                              for layer, c in (cohort.content if cohort else {}).items()}},
        "targets": targets,
    }


def patient_findings(session: Session, pseudonym: str, analysis_id: int | None = None, *,
                     layer: str | None = None):
    """The findings of a patient's latest (or the given) analysis as a findings table
    (only those of ``layer`` if given: the database selects them, not the caller).

    Raises
    ------
    NotFoundError
        Unknown patient.
    """
    import pandas as pd

    from tumorboard.model import findings_frame
    from tumorboard.registry.models import Analysis, Finding

    patient = find_patient(session, pseudonym)
    if analysis_id is None:
        analysis_id = session.scalar(select(Analysis.id).where(Analysis.patient_id == patient.id)
                                     .order_by(Analysis.id.desc()))
    samples = {s.id: s.sample_key for s in patient.samples}
    query = select(Finding).where(Finding.analysis_id == analysis_id)
    if layer is not None:
        query = query.where(Finding.layer == layer)
    rows = session.scalars(query).all()
    if not rows:
        return findings_frame()
    return findings_frame(pd.DataFrame([{
        "patient": pseudonym, "sample": samples.get(f.sample_id), "layer": f.layer,
        "gene": f.gene, "feature": f.feature, "kind": f.kind, "value": f.value,
        "z_score": f.z_score, "percentile_cohort": f.percentile_cohort,
        "percentile_entity": f.percentile_entity, "reference_size": f.reference_size,
        "call": f.call, "provenance": f.provenance} for f in rows]))


def diagnosis_review(session: Session, pseudonym: str) -> dict[str, Any] | None:
    """The stored molecular concordance of a patient's diagnosis (latest analysis), in the
    shape of :func:`tumorboard.diagnosis.concordance.molecular_concordance`; None when the
    patient was analysed before reviews were stored (or not at all).

    Raises
    ------
    NotFoundError
        Unknown patient.
    """
    from tumorboard.diagnosis.concordance import ALERT_TITLE
    from tumorboard.registry.models import DiagnosisReview

    patient = find_patient(session, pseudonym)
    row = session.scalar(select(DiagnosisReview).where(DiagnosisReview.patient_id == patient.id))
    if row is None:
        return None
    return {"status": row.status, "alert": row.alert,
            "title": ALERT_TITLE if row.alert else None, "submitted": row.submitted_code,
            "suggested": row.suggested_code, "evidence": list(row.evidence),
            "warnings": list(row.warnings), "message": row.message,
            "analysis": row.analysis_id,
            "reviewed_at": row.created_at.isoformat(timespec="seconds")}


def diagnosis_alerts(session: Session) -> list[dict[str, Any]]:
    """Every patient whose latest analysis suggests a diagnosis revision."""
    from tumorboard.registry.models import DiagnosisReview

    rows = session.execute(select(Patient.pseudonym, DiagnosisReview)
                           .join(DiagnosisReview, DiagnosisReview.patient_id == Patient.id)
                           .where(DiagnosisReview.alert.is_(True))
                           .order_by(Patient.pseudonym)).all()
    return [{"patient": p, "submitted": r.submitted_code, "suggested": r.suggested_code,
             "message": r.message} for p, r in rows]

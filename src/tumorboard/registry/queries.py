"""Read-only questions to the registry, answered as plain records (JSON-ready)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from tumorboard import reference
from tumorboard.errors import NotFoundError
from tumorboard.registry.models import Assay, Patient, Sample


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
                        "rows": a.store_tables, "notes": a.notes,
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

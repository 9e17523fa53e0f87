"""Case intake: validate a case folder completely, then load it in one transaction.

:func:`validate_case` reads ``case.yaml`` and every layer file with its reader, checks them
against each other (sample names, genome builds, formats) and, given a workspace, against the
registry; it writes nothing and reports every problem at once. :func:`import_case` runs the
same validation and then writes the registry rows and the store files atomically (see
:mod:`tumorboard.store`). Re-importing unchanged files is a no-op; a changed file becomes a new
assay version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tumorboard import reference
from tumorboard.errors import (
    CaseValidationError,
    InputError,
    RegistryConflictError,
    TumorboardError,
)
from tumorboard.io.case import CASE_FILE, Case, LayerFile, read_case
from tumorboard.io.formats import FORMATS
from tumorboard.io.hla import normalise_hla_allele
from tumorboard.io.tables import LayerData, conform, layer_qc
from tumorboard.model import json_ready
from tumorboard.registry import audit, db
from tumorboard.registry.models import Assay, Diagnosis, Patient, Sample
from tumorboard.workspace import Workspace

#: Reader options that name a file; resolved relative to the case folder.
PATH_OPTIONS = frozenset({"gene_map", "manifest", "red"})

Action = Literal["new", "new_version", "unchanged"]


@dataclass
class PlannedFile:
    """One layer file of the case and what importing it would do."""

    sample_id: str
    layer: str
    label: str
    format: str
    file_name: str  # relative to the case folder
    sha256: str
    size: int
    sample_in_file: str | None
    declared_build: str | None
    tool: str | None
    tool_version: str | None
    action: Action = "new"
    version: int = 1
    data: LayerData | None = None  # None when unchanged and not re-read

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sample": self.sample_id,
            "layer": self.layer,
            "label": self.label,
            "format": self.format,
            "file": self.file_name,
            "sha256": self.sha256,
            "action": self.action,
            "version": self.version,
        }
        if self.data is not None:
            out["rows"] = {t: len(df) for t, df in self.data.tables.items()}
            out["genome_build"] = self.data.genome_build or self.declared_build
            out["platform"] = self.data.platform
            out["notes"] = list(self.data.notes)
        return out


@dataclass
class CasePlan:
    """A validated case and what importing it would change."""

    case: Case
    case_dir: Path
    files: list[PlannedFile]
    patient_action: Literal["new", "unchanged", "update"] = "new"
    diagnosis_action: Literal["new", "unchanged"] = "new"
    metadata_changes: list[str] = field(default_factory=list)

    @property
    def is_noop(self) -> bool:
        return (
            self.patient_action == "unchanged"
            and self.diagnosis_action == "unchanged"
            and not self.metadata_changes
            and all(f.action == "unchanged" for f in self.files)
        )

    def summary(self) -> dict[str, Any]:
        return {
            "case": str(self.case_dir),
            "patient": self.case.patient.id,
            "oncotree_code": self.case.diagnosis.oncotree_code,
            "patient_action": self.patient_action,
            "diagnosis_action": self.diagnosis_action,
            "metadata_changes": self.metadata_changes,
            "files": [f.summary() for f in self.files],
            "noop": self.is_noop,
        }


def sha256_of(path: Path, *, chunk: int = 1 << 20) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


# --- reading the layer files ----------------------------------------------------------------


def _reader_kwargs(entry: LayerFile, case_dir: Path, manifest: Path) -> dict[str, Any]:
    fmt = FORMATS[entry.format]
    reader = fmt.load_reader()
    params = inspect.signature(reader).parameters
    accepted = {n for n, p in params.items() if p.kind == p.KEYWORD_ONLY and n != "sample"}
    unknown = sorted(set(entry.options) - accepted)
    if unknown:
        raise InputError(
            f"unknown option(s) {', '.join(unknown)} for format {entry.format}",
            file=manifest,
            expected=f"one of: {', '.join(sorted(accepted)) or 'no options'}",
            fix="remove or correct the option in the file entry",
        )
    kwargs = dict(entry.options)
    for name in PATH_OPTIONS & kwargs.keys():
        path = (case_dir / str(kwargs[name])).resolve()
        if not path.is_file() or not path.is_relative_to(case_dir.resolve()):
            raise InputError(
                f"option {name}: file '{kwargs[name]}' does not exist in the case folder",
                file=manifest,
                fix="put the file in the case folder and give its relative path",
            )
        kwargs[name] = path
    if "genome_build" in accepted and "genome_build" not in kwargs:
        kwargs["genome_build"] = None
    return kwargs


def _read_file(case: Case, entry: LayerFile, sample_id: str, path: Path,
               case_dir: Path) -> LayerData:
    fmt = FORMATS[entry.format]
    manifest = case_dir / CASE_FILE
    kwargs = _reader_kwargs(entry, case_dir, manifest)
    if "genome_build" in kwargs and kwargs["genome_build"] is None:
        kwargs["genome_build"] = case.build_of(entry)
    sample = entry.column or (sample_id if fmt.multi_sample or fmt.takes_sample_id else None)
    data = fmt.load_reader()(path, sample=sample, **kwargs)
    for table in data.tables:
        if table not in fmt.tables:
            raise InputError(f"reader for {entry.format} produced unexpected table '{table}'",
                             file=path, fix="report this as a tumorboard bug")
    return data


def _check_file(case: Case, entry: LayerFile, data: LayerData, path: Path,
                sample_id: str) -> list[InputError]:
    problems = []
    declared = case.build_of(entry)
    if data.genome_build and declared and data.genome_build != declared:
        problems.append(InputError(
            f"file is on {data.genome_build} (from its header) but case.yaml declares {declared}",
            file=path, sample=sample_id,
            fix=f"set genome_build: {data.genome_build} for this file if that is right, or "
                f"supply the file aligned/lifted over to {declared}"))
    if entry.format == "vcf":
        known = {s.id for s in case.samples} | {entry.column, entry.normal_column} - {None}
        for name in data.samples_in_file:
            if name not in known:
                problems.append(InputError(
                    f"VCF sample column '{name}' is not a sample of case.yaml",
                    file=path, sample=name,
                    expected=f"one of {', '.join(sorted(known))}",
                    fix="name the tumour column with 'column:' and the normal with "
                        "'normal_column:' in the file entry, or add the sample to case.yaml"))
    return problems


def _hla_from_case(case: Case) -> tuple[LayerData, str]:
    """The HLA alleles listed in case.yaml as an ``hla`` table, and a digest of them."""
    alleles = [normalise_hla_allele(a) for a in case.hla.alleles]  # type: ignore[union-attr]
    frame = pd.DataFrame({"gene": [a.split("*")[0] for a in alleles], "allele": alleles})
    digest = hashlib.sha256(json.dumps(alleles).encode()).hexdigest()
    data = LayerData(tables={"hla": conform(frame, "hla", source=CASE_FILE)},
                     tool=case.hla.method if case.hla else None)
    return data, digest


# --- comparing with the registry ------------------------------------------------------------


def _patient_fields(case: Case) -> dict[str, Any]:
    return {
        "sex": case.patient.sex,
        "year_of_birth": case.patient.year_of_birth,
        "ecog": case.clinical.ecog,
        "prior_therapies": list(case.clinical.prior_therapies),
    }


def _sample_fields(sample: Any) -> dict[str, Any]:
    return {
        "sample_type": sample.type,
        "site": sample.site,
        "origin": sample.origin,
        "collection_date": sample.collection_date,
        "tumour_cell_content": sample.tumour_cell_content,
    }


def _diagnosis_fields(case: Case) -> dict[str, Any]:
    d = case.diagnosis
    return {
        "histology": d.histology,
        "oncotree_code": d.oncotree_code,
        "diagnosis_date": d.date,
        "stage": d.stage,
        "metastatic_sites": list(d.metastatic_sites),
    }


def _differences(what: str, record: Any, wanted: dict[str, Any]) -> list[str]:
    return [
        f"{what} {name}: registry has {getattr(record, name)!r}, case.yaml has {value!r}"
        for name, value in wanted.items()
        if getattr(record, name) != value
    ]


def _compare_with_registry(plan: CasePlan, session: Session) -> list[InputError]:
    case = plan.case
    manifest = plan.case_dir / CASE_FILE
    problems: list[InputError] = []
    patient = session.scalar(select(Patient).where(Patient.pseudonym == case.patient.id))
    plan.patient_action = "new" if patient is None else "unchanged"
    if patient is not None:
        plan.metadata_changes += _differences(f"patient {patient.pseudonym}", patient,
                                              _patient_fields(case))
        current = patient.current_diagnosis
        plan.diagnosis_action = (
            "unchanged"
            if current is not None and not _differences("", current, _diagnosis_fields(case))
            else "new"
        )
    keys = [s.id for s in case.samples]
    existing = {s.sample_key: s for s in session.scalars(
        select(Sample).where(Sample.sample_key.in_(keys)))}
    for sample in case.samples:
        record = existing.get(sample.id)
        if record is None:
            continue
        if patient is None or record.patient_id != patient.id:
            owner = session.get(Patient, record.patient_id)
            problems.append(InputError(
                f"sample id '{sample.id}' already belongs to patient "
                f"{owner.pseudonym if owner else '?'} in the registry",
                file=manifest, sample=sample.id,
                fix="sample ids must be unique across the registry; rename the sample"))
            continue
        plan.metadata_changes += _differences(f"sample {sample.id}", record,
                                              _sample_fields(sample))
    if plan.metadata_changes and plan.patient_action == "unchanged":
        plan.patient_action = "update"

    for f in plan.files:
        record = existing.get(f.sample_id)
        if record is None:
            continue
        versions = sorted(
            (a for a in record.assays if a.layer == f.layer and a.label == f.label),
            key=lambda a: a.version,
        )
        if versions:
            latest = versions[-1]
            if latest.file_sha256 == f.sha256:
                f.action, f.version = "unchanged", latest.version
            else:
                f.action, f.version = "new_version", latest.version + 1
    return problems


# --- public API -----------------------------------------------------------------------------


def validate_case(
    case_dir: str | Path,
    *,
    workspace: Workspace | None = None,
    update_metadata: bool = False,
    reread_unchanged: bool = True,
) -> CasePlan:
    """Check a case folder completely and say what an import would do. Writes nothing.

    Parameters
    ----------
    case_dir
        Folder with ``case.yaml`` and the layer files.
    workspace
        If given, the case is also checked against the registry (conflicting sample ids,
        changed metadata) and each file is marked new, new version or unchanged.
    update_metadata
        Accept changed patient/sample metadata instead of reporting it as a conflict.
    reread_unchanged
        Read files whose checksum equals the registered version too (``False`` for imports,
        where they were checked when first imported).

    Raises
    ------
    CaseValidationError
        Listing every problem found, each with file, line, column or sample and a fix.
    """
    case_dir = Path(case_dir)
    problems: list[InputError] = []
    case = read_case(case_dir, file_problems=problems)
    files: list[PlannedFile] = []
    for sample in case.samples:
        for entry in sample.files:
            path = case_dir / entry.path
            if not path.is_file():
                continue  # already reported by read_case
            try:
                digest, size = sha256_of(path)
            except OSError as exc:
                problems.append(InputError(f"cannot read file: {exc.strerror}", file=path,
                                           sample=sample.id))
                continue
            files.append(PlannedFile(
                sample_id=sample.id, layer=entry.layer, label=entry.assay_label,
                format=entry.format, file_name=entry.path, sha256=digest, size=size,
                sample_in_file=entry.column,
                # a build means something only for files with genome coordinates
                declared_build=case.build_of(entry)
                if FORMATS[entry.format].has_genome_coordinates else entry.genome_build,
                tool=entry.tool, tool_version=entry.tool_version))
    if case.hla is not None:
        try:
            hla_data, digest = _hla_from_case(case)
            files.append(PlannedFile(
                sample_id=case.hla_sample, layer="hla", label="hla", format="case_yaml",
                file_name=f"{CASE_FILE}#hla", sha256=digest, size=0, sample_in_file=None,
                declared_build=None, tool=case.hla.method, tool_version=None, data=hla_data))
        except InputError as exc:
            problems.append(InputError(f"hla.alleles: {exc.problem}",
                                       file=case_dir / CASE_FILE, expected=exc.expected,
                                       fix=exc.fix))

    plan = CasePlan(case=case, case_dir=case_dir, files=files)
    if workspace is not None:
        with workspace.session() as session:
            problems += _compare_with_registry(plan, session)
        if plan.metadata_changes and not update_metadata:
            problems += [InputError(
                f"{change}",
                file=case_dir / CASE_FILE,
                fix="correct case.yaml, or import with --update-metadata to record the new "
                    "values") for change in plan.metadata_changes]

    for planned in files:
        if planned.format == "case_yaml":
            continue
        if planned.action == "unchanged" and not reread_unchanged:
            continue
        sample = case.sample(planned.sample_id)
        entry = next(e for e in sample.files
                     if e.layer == planned.layer and e.assay_label == planned.label)
        path = case_dir / entry.path
        try:
            planned.data = _read_file(case, entry, sample.id, path, case_dir)
        except InputError as exc:
            if exc.sample is None:
                exc.sample = sample.id
            problems.append(exc)
            continue
        except TumorboardError as exc:
            problems.append(InputError(str(exc), file=path, sample=sample.id))
            continue
        problems += _check_file(case, entry, planned.data, path, sample.id)
        if planned.tool is None:
            planned.tool = planned.data.tool
        if planned.tool_version is None:
            planned.tool_version = planned.data.tool_version
    if problems:
        raise CaseValidationError(case_dir, problems)
    return plan


@dataclass
class ImportResult:
    plan: CasePlan
    written: bool

    def summary(self) -> dict[str, Any]:
        out = self.plan.summary()
        out["written"] = self.written
        return out


def _apply(plan: CasePlan, session: Session, workspace: Workspace,
           staged: list[tuple[str, str]]) -> None:
    case = plan.case
    patient = session.scalar(select(Patient).where(Patient.pseudonym == case.patient.id))
    if patient is None:
        patient = Patient(pseudonym=case.patient.id, **_patient_fields(case))
        session.add(patient)
    else:
        for name, value in _patient_fields(case).items():
            setattr(patient, name, value)
    if plan.diagnosis_action == "new":
        patient.diagnoses.append(Diagnosis(
            oncotree_version=reference.ONCOTREE_VERSION, **_diagnosis_fields(case)))
    samples: dict[str, Sample] = {s.sample_key: s for s in patient.samples}
    for sample in case.samples:
        record = samples.get(sample.id)
        if record is None:
            record = Sample(sample_key=sample.id, **_sample_fields(sample))
            patient.samples.append(record)
            samples[sample.id] = record
        else:
            for name, value in _sample_fields(sample).items():
                setattr(record, name, value)
    session.flush()
    now = dt.datetime.now(dt.UTC)
    for f in plan.files:
        if f.action == "unchanged":
            continue
        assert f.data is not None
        uid = uuid.uuid4().hex
        samples[f.sample_id].assays.append(Assay(
            uid=uid, layer=f.layer, label=f.label, version=f.version, format=f.format,
            file_name=f.file_name, file_sha256=f.sha256, file_size=f.size,
            sample_in_file=f.sample_in_file,
            genome_build=f.data.genome_build or f.declared_build,
            platform=f.data.platform, tool=f.tool, tool_version=f.tool_version,
            store_tables={t: len(df) for t, df in f.data.tables.items()},
            qc=json_ready({t: layer_qc(t, df) for t, df in f.data.tables.items()}),
            notes=list(f.data.notes), imported_at=now))
        for table, frame in f.data.tables.items():
            workspace.store.stage(table, uid, frame, sample_id=f.sample_id)
            staged.append((table, uid))
    session.flush()
    audit.record(session, "case.import", "patients", case.patient.id, patient_id=patient.id,
                 after={"diagnosis": plan.diagnosis_action, "files": [
                     {"sample": f.sample_id, "layer": f.layer, "label": f.label,
                      "version": f.version, "file": f.file_name, "sha256": f.sha256,
                      "action": f.action} for f in plan.files if f.action != "unchanged"]})


def import_case(
    workspace: Workspace, case_dir: str | Path, *, update_metadata: bool = False
) -> ImportResult:
    """Validate a case folder, then load it into the registry and store in one transaction.

    Raises
    ------
    CaseValidationError
        If the case is not valid; nothing is written.
    RegistryConflictError
        If a concurrent import changed the same records; nothing is written.
    """
    plan = validate_case(case_dir, workspace=workspace, update_metadata=update_metadata,
                         reread_unchanged=False)
    if plan.is_noop:
        return ImportResult(plan=plan, written=False)
    workspace.recover()
    staged: list[tuple[str, str]] = []
    try:
        with db.transaction(workspace.engine) as session:
            _apply(plan, session, workspace, staged)
    except IntegrityError as exc:
        for table, uid in staged:
            workspace.store.discard(table, uid)
        raise RegistryConflictError(
            f"patient {plan.case.patient.id}: the registry changed while importing "
            f"(another import of the same patient or samples?); nothing was written, run the "
            f"import again. Database said: {exc.orig}"
        ) from exc
    except BaseException:
        for table, uid in staged:
            workspace.store.discard(table, uid)
        raise
    for table, uid in staged:
        workspace.store.publish(table, uid)
    return ImportResult(plan=plan, written=True)

"""SQLAlchemy 2 models of the registry: patients, diagnoses, samples, assays, findings.

The schema is created and changed only by the Alembic migrations in
``registry/migrations``; a test checks that these models and the migrations agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names, so that migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Patient(Base):
    """A patient under a pseudonymous id; no names or hospital numbers are stored."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    sex: Mapped[str] = mapped_column(String(16))
    year_of_birth: Mapped[int | None] = mapped_column(Integer)
    ecog: Mapped[int | None] = mapped_column(Integer)
    prior_therapies: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, onupdate=_now
    )

    diagnoses: Mapped[list[Diagnosis]] = relationship(
        back_populates="patient", order_by="Diagnosis.id", cascade="all, delete-orphan"
    )
    samples: Mapped[list[Sample]] = relationship(
        back_populates="patient", order_by="Sample.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name="sex"),
        CheckConstraint("ecog IS NULL OR (ecog >= 0 AND ecog <= 5)", name="ecog"),
    )

    @property
    def current_diagnosis(self) -> Diagnosis | None:
        """The most recently recorded diagnosis."""
        return self.diagnoses[-1] if self.diagnoses else None


class Diagnosis(Base):
    """A diagnosis as submitted (histology text) with its OncoTree code and version."""

    __tablename__ = "diagnoses"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    histology: Mapped[str] = mapped_column(Text)
    oncotree_code: Mapped[str] = mapped_column(String(32))
    oncotree_version: Mapped[str] = mapped_column(String(32))
    diagnosis_date: Mapped[dt.date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(16), default="unknown")
    metastatic_sites: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(32), default="submitted")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    patient: Mapped[Patient] = relationship(back_populates="diagnoses")

    __table_args__ = (
        CheckConstraint("stage IN ('localised', 'metastatic', 'unknown')", name="stage"),
        Index("ix_diagnoses_patient_id", "patient_id"),
        Index("ix_diagnoses_oncotree_code", "oncotree_code"),
    )


class Sample(Base):
    """A tumour, normal or plasma sample of a patient."""

    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_key: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    sample_type: Mapped[str] = mapped_column(String(16))
    site: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(16))
    collection_date: Mapped[dt.date | None] = mapped_column(Date)
    tumour_cell_content: Mapped[float | None] = mapped_column(Float)

    patient: Mapped[Patient] = relationship(back_populates="samples")
    assays: Mapped[list[Assay]] = relationship(
        back_populates="sample", order_by="Assay.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("sample_type IN ('tumour', 'normal', 'plasma')", name="sample_type"),
        CheckConstraint(
            "origin IS NULL OR origin IN ('primary', 'metastasis', 'recurrence')", name="origin"
        ),
        CheckConstraint(
            "tumour_cell_content IS NULL OR "
            "(tumour_cell_content >= 0 AND tumour_cell_content <= 1)",
            name="tumour_cell_content",
        ),
        Index("ix_samples_patient_id", "patient_id"),
    )


class Assay(Base):
    """One version of one layer file of a sample, with its provenance.

    ``(sample, layer, label)`` names an assay; ``version`` counts changed files under that name.
    The current version is the highest. Store tables of this version live under
    ``store/<table>/<uid>.parquet``.
    """

    __tablename__ = "assays"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    layer: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(BigInteger)
    sample_in_file: Mapped[str | None] = mapped_column(String(128))
    genome_build: Mapped[str | None] = mapped_column(String(16))
    platform: Mapped[str | None] = mapped_column(String(32))
    tool: Mapped[str | None] = mapped_column(String(64))
    tool_version: Mapped[str | None] = mapped_column(String(64))
    store_tables: Mapped[dict[str, Any]] = mapped_column(default=dict)  # table -> row count
    #: table -> QC figures (:func:`tumorboard.io.tables.layer_qc`), computed at import
    qc: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    sample: Mapped[Sample] = relationship(back_populates="assays")

    __table_args__ = (
        UniqueConstraint("sample_id", "layer", "label", "version", name="uq_assays_version"),
        Index("ix_assays_sample_layer", "sample_id", "layer", "label"),
    )


class CohortSnapshot(Base):
    """The reference cohort an analysis was scored against, stored once per distinct cohort.

    ``content``: per layer, the tumour samples and their assay uids that formed the reference
    and how many per entity. ``digest`` (SHA-256 of the canonical JSON) makes it shared by all
    analyses of one run and tells at a glance whether two results used the same cohort.
    """

    __tablename__ = "cohort_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    n_samples: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Analysis(Base):
    """One run of the layer analyses for a patient, with the cohort it was scored against."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort_snapshots.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    software_version: Mapped[str] = mapped_column(String(32))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_findings: Mapped[int] = mapped_column(Integer, default=0)
    n_targets: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_analyses_patient_id", "patient_id"),)


class Finding(Base):
    """The uniform record every layer analysis emits (DESIGN.md §2)."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int | None] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE")
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    assay_id: Mapped[int | None] = mapped_column(ForeignKey("assays.id", ondelete="SET NULL"))
    layer: Mapped[str] = mapped_column(String(32))
    gene: Mapped[str | None] = mapped_column(String(64))
    feature: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    z_score: Mapped[float | None] = mapped_column(Float)
    percentile_cohort: Mapped[float | None] = mapped_column(Float)
    percentile_entity: Mapped[float | None] = mapped_column(Float)
    reference_size: Mapped[int | None] = mapped_column(Integer)
    call: Mapped[str | None] = mapped_column(String(32))
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (
        Index("ix_findings_patient_kind", "patient_id", "kind"),
        Index("ix_findings_gene", "gene"),
    )


class TargetEvidence(Base):
    """One gene of one tumour sample judged across layers: DNA, RNA, protein, activation."""

    __tablename__ = "target_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    gene: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))
    is_antigen: Mapped[bool] = mapped_column(default=False)
    is_kinase: Mapped[bool] = mapped_column(default=False)
    dna: Mapped[list[Any]] = mapped_column(default=list)  # alterations, each a short record
    rna_z: Mapped[float | None] = mapped_column(Float)
    rna_percentile: Mapped[float | None] = mapped_column(Float)
    rna_percentile_entity: Mapped[float | None] = mapped_column(Float)
    rna_call: Mapped[str | None] = mapped_column(String(32))
    protein_z: Mapped[float | None] = mapped_column(Float)
    protein_call: Mapped[str | None] = mapped_column(String(32))
    activation_score: Mapped[float | None] = mapped_column(Float)
    activation_call: Mapped[str | None] = mapped_column(String(32))
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        CheckConstraint(
            "state IN ('activated', 'expressed_not_activated', "
            "'expressed_activation_unknown', 'not_expressed', 'unknown')",
            name="state",
        ),
        UniqueConstraint("analysis_id", "sample_id", "gene", name="uq_target_evidence_gene"),
        Index("ix_target_evidence_patient_gene", "patient_id", "gene"),
    )


#: Board decisions, and which may follow which (the current status is the latest decision).
DECISION_STATUSES = ("accepted", "rejected", "implemented", "not_implemented")
DECISION_AFTER: dict[str, tuple[str, ...]] = {
    "proposed": ("accepted", "rejected"),
    "accepted": ("implemented", "not_implemented", "rejected"),
    "rejected": ("accepted",),
    "implemented": (),
    "not_implemented": ("implemented",),
}


class Recommendation(Base):
    """A therapy recommendation for a patient, derived from an analysis and a knowledge release.

    ``key`` (the therapy's agents and direction) identifies it across re-runs: recomputing
    updates a still-proposed recommendation in place and never touches one the board has
    decided on.
    """

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    analysis_id: Mapped[int | None] = mapped_column(
        ForeignKey("analyses.id", ondelete="SET NULL"))
    key: Mapped[str] = mapped_column(String(255))
    rank: Mapped[int] = mapped_column(Integer)
    therapy: Mapped[str] = mapped_column(Text)
    drug_class: Mapped[str] = mapped_column(String(32))
    basket: Mapped[str] = mapped_column(String(32))
    evidence_level: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    genes: Mapped[list[Any]] = mapped_column(default=list)
    rationale: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)  # support, evidence, rules
    knowledge_release: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, onupdate=_now)
    #: Optimistic lock: every update checks and increments it, so two people deciding on
    #: the same recommendation never overwrite each other unnoticed.
    version: Mapped[int] = mapped_column(Integer, default=1)

    decisions: Mapped[list[BoardDecision]] = relationship(
        back_populates="recommendation", cascade="all, delete-orphan",
        order_by="BoardDecision.id")

    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'accepted', 'rejected', 'implemented', "
                        "'not_implemented')", name="status"),
        CheckConstraint("direction IN ('sensitivity', 'resistance')", name="direction"),
        UniqueConstraint("patient_id", "key", name="uq_recommendations_patient_key"),
    )
    __mapper_args__: ClassVar = {"version_id_col": version}


class BoardDecision(Base):
    """What the tumour board decided about a recommendation, when, why and who recorded it."""

    __tablename__ = "board_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    recommendation: Mapped[Recommendation] = relationship(back_populates="decisions")

    __table_args__ = (
        CheckConstraint("decision IN ('accepted', 'rejected', 'implemented', "
                        "'not_implemented')", name="decision"),
        Index("ix_board_decisions_recommendation_id", "recommendation_id"),
    )


class DiagnosisReview(Base):
    """The molecular concordance of a patient's submitted diagnosis, from the latest analysis.

    ``alert`` is set when fusions or the methylation class contradict the submitted entity
    ("diagnosis revision suggested", :mod:`tumorboard.diagnosis.concordance`); ``evidence``
    lists the items (layer, evidence, entities, verdict, citation). One row per patient:
    re-analysing replaces it.
    """

    __tablename__ = "diagnosis_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            unique=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    alert: Mapped[bool] = mapped_column(default=False)
    submitted_code: Mapped[str] = mapped_column(String(32))
    suggested_code: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (
        CheckConstraint("status IN ('concordant', 'refined', 'discordant', "
                        "'no_molecular_evidence')", name="status"),
    )


class TherapyLine(Base):
    """A line of therapy a patient received: agents, modality, intent, dates and outcome.

    ``progression_date`` is the progression that ended (or followed) this line; PFS per line
    and the PFS ratio are computed from these dates (:mod:`tumorboard.outcomes.pfsr`).
    ``recommendation_id`` links the line to the MTB recommendation it implements;
    ``mtb_guided`` also marks guided lines whose recommendation is not in this registry.
    """

    __tablename__ = "therapy_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    line_number: Mapped[int] = mapped_column(Integer)
    regimen: Mapped[str] = mapped_column(Text)
    agents: Mapped[list[Any]] = mapped_column(default=list)
    modality: Mapped[str] = mapped_column(String(48))
    intent: Mapped[str] = mapped_column(String(16), default="unknown")
    start_date: Mapped[dt.date] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    progression_date: Mapped[dt.date | None] = mapped_column(Date)
    recommendation_id: Mapped[int | None] = mapped_column(
        ForeignKey("recommendations.id", ondelete="SET NULL"))
    mtb_guided: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(32), default="template")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (
        UniqueConstraint("patient_id", "line_number", name="uq_therapy_lines_patient_line"),
        CheckConstraint("stop_date IS NULL OR stop_date >= start_date", name="stop_after_start"),
        CheckConstraint("progression_date IS NULL OR progression_date >= start_date",
                        name="progression_after_start"),
    )


class LocalTherapy(Base):
    """A local ablative therapy (surgery, radiotherapy, thermal ablation) of metastases.

    Radiotherapy is recorded as dose per fraction x fractions; BED and EQD2 are computed
    on read with the alpha/beta of the histology (:mod:`tumorboard.outcomes.radiotherapy`).
    """

    __tablename__ = "local_therapies"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    therapy_date: Mapped[dt.date] = mapped_column(Date)
    modality: Mapped[str] = mapped_column(String(32))
    technique: Mapped[str | None] = mapped_column(String(64))
    site: Mapped[str] = mapped_column(String(16))
    organ: Mapped[str | None] = mapped_column(Text)
    lesion_count: Mapped[int] = mapped_column(Integer, default=1)
    largest_diameter_mm: Mapped[float | None] = mapped_column(Float)
    dose_per_fraction_gy: Mapped[float | None] = mapped_column(Float)
    fractions: Mapped[int | None] = mapped_column(Integer)
    with_systemic: Mapped[bool | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(32), default="template")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (
        CheckConstraint("site IN ('lung', 'extrapulmonary')", name="site"),
        CheckConstraint("lesion_count >= 1", name="lesion_count"),
        Index("ix_local_therapies_patient_id", "patient_id"),
    )


class RecistMeasurement(Base):
    """One lesion at one assessment, as RECIST 1.1 records it (Eisenhauer et al. 2009)."""

    __tablename__ = "recist_measurements"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    assessment_date: Mapped[dt.date] = mapped_column(Date)
    lesion_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    site: Mapped[str | None] = mapped_column(Text)
    lymph_node: Mapped[bool] = mapped_column(default=False)
    diameter_mm: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(32))
    line_number: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32), default="template")

    __table_args__ = (
        UniqueConstraint("patient_id", "assessment_date", "lesion_id",
                         name="uq_recist_measurements_lesion"),
        CheckConstraint("kind IN ('target', 'non_target', 'new')", name="kind"),
    )


class ClinicalEvent(Base):
    """A dated event in a patient's course: progression, recurrence, death, last follow-up."""

    __tablename__ = "clinical_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    event_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32), default="template")

    __table_args__ = (
        CheckConstraint("kind IN ('progression', 'recurrence', 'death', 'last_followup')",
                        name="kind"),
        UniqueConstraint("patient_id", "event_date", "kind", name="uq_clinical_events_event"),
    )


class PlasmaMeasurement(Base):
    """Reads of one tracked tumour variant in one plasma sample (tumour-informed ctDNA)."""

    __tablename__ = "plasma_measurements"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    sample_key: Mapped[str] = mapped_column(String(64))
    collected: Mapped[dt.date] = mapped_column(Date)
    variant: Mapped[str] = mapped_column(String(128))
    alt_reads: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer)
    tumour_vaf: Mapped[float | None] = mapped_column(Float)
    background_error: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), default="template")

    __table_args__ = (
        UniqueConstraint("patient_id", "sample_key", "variant",
                         name="uq_plasma_measurements_variant"),
        CheckConstraint("alt_reads >= 0 AND depth >= alt_reads", name="reads"),
    )


#: Roles of people using the browser tumour board, least to most privileged.
ROLES = ("viewer", "board_member", "admin")


class User(Base):
    """A person who signs in to the browser tumour board.

    The password is stored only as an argon2id hash (:mod:`tumorboard.accounts`); API tokens
    only as their SHA-256. ``failed_logins`` and ``locked_until`` throttle password guessing
    across server processes.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    api_token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'board_member', 'admin')", name="role"),
    )


class WebSession(Base):
    """A signed-in browser session: the cookie holds a random token, the table its SHA-256,
    so a stolen database does not yield usable cookies; ``csrf_token`` is the session's
    synchroniser token for forms."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)


class AuditEntry(Base):
    """One change to the registry: who, when, what, and the record before and after.

    Written by :func:`tumorboard.registry.audit.record` in the same transaction as the
    change, so there is no change without its entry.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer)  # no FK: entries outlive rows
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
    )


class BoardSession(Base):
    """A tumour board meeting on a date: its agenda and, once signed, who signed it."""

    __tablename__ = "board_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_date: Mapped[dt.date] = mapped_column(Date, unique=True)
    title: Mapped[str] = mapped_column(String(255), default="Molecular tumour board")
    status: Mapped[str] = mapped_column(String(16), default="open")
    signed_by: Mapped[str | None] = mapped_column(String(128))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    items: Mapped[list[BoardAgendaItem]] = relationship(
        back_populates="board_session", cascade="all, delete-orphan",
        order_by="BoardAgendaItem.position")

    __table_args__ = (CheckConstraint("status IN ('open', 'signed')", name="status"),)
    __mapper_args__: ClassVar = {"version_id_col": version}


class BoardAgendaItem(Base):
    """A patient on the agenda of a board session."""

    __tablename__ = "board_agenda"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_session_id: Mapped[int] = mapped_column(
        ForeignKey("board_sessions.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str | None] = mapped_column(Text)

    board_session: Mapped[BoardSession] = relationship(back_populates="items")
    patient: Mapped[Patient] = relationship()

    __table_args__ = (
        UniqueConstraint("board_session_id", "patient_id", name="uq_board_agenda_patient"),
        Index("ix_board_agenda_patient_id", "patient_id"),
    )


class SignedReport(Base):
    """A patient's MTB report as the board signed it: frozen document and HTML.

    ``version`` counts the signed reports of a patient (1, 2, ...). PDF, FHIR and Phenopacket
    are derived from the frozen document and HTML on download; ``pdf`` caches the PDF once
    rendered.
    """

    __tablename__ = "signed_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    board_session_id: Mapped[int] = mapped_column(
        ForeignKey("board_sessions.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    signed_by: Mapped[str] = mapped_column(String(128))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (
        UniqueConstraint("patient_id", "version", name="uq_signed_reports_version"),
        Index("ix_signed_reports_board_session_id", "board_session_id"),
    )


__all__ = [
    "Analysis",
    "Assay",
    "AuditEntry",
    "Base",
    "BoardAgendaItem",
    "BoardDecision",
    "BoardSession",
    "ClinicalEvent",
    "CohortSnapshot",
    "Diagnosis",
    "DiagnosisReview",
    "Finding",
    "LocalTherapy",
    "Patient",
    "PlasmaMeasurement",
    "RecistMeasurement",
    "Recommendation",
    "Sample",
    "SignedReport",
    "TargetEvidence",
    "TherapyLine",
    "User",
    "WebSession",
]

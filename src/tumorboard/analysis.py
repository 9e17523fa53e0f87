"""Run the layer analyses for patients against the cohort, integrate targets, store results.

This is the edge where the registry and the store are touched (DESIGN.md: pure functions in
``layers/`` and ``targets.py``; I/O here). One call scores the requested patients' tumour
samples against every tumour sample of the registry (the cohort), so ``analyze --all`` scores
the whole cohort in one vectorised pass per layer.

Re-running is idempotent: a patient's previous findings and target evidence are replaced in one
transaction by the new ones, and each run records the cohort snapshot it was scored against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, select

from tumorboard import __version__
from tumorboard.diagnosis.concordance import molecular_concordance
from tumorboard.errors import NotFoundError
from tumorboard.model import findings_frame, json_ready
from tumorboard.registry import audit, db
from tumorboard.registry.models import (
    Analysis,
    Assay,
    CohortSnapshot,
    Diagnosis,
    DiagnosisReview,
    Finding,
    Patient,
    Sample,
    TargetEvidence,
)
from tumorboard.targets import antigen_catalogue, target_evidence
from tumorboard.workspace import Workspace


@dataclass
class Cohort:
    """Tumour samples of the registry with what the analyses need to know about them."""

    samples: pd.DataFrame  # index sample; columns patient, entity, purity, sex, tumour_only
    assays: pd.DataFrame  # current assays: sample, layer, uid, file_sha256, tables

    @property
    def entities(self) -> pd.Series:
        return self.samples["entity"]

    @property
    def patients(self) -> pd.Series:
        return self.samples["patient"]

    @property
    def patient_entities(self) -> dict[str, str | None]:
        """Patient -> current diagnosis (OncoTree code), the one concordance is judged on."""
        first = self.samples.drop_duplicates("patient")
        return dict(zip(first["patient"], first["entity"], strict=True))

    def batches(self, layer: str) -> pd.Series:
        """Sample -> batch of a layer: samples quantified in the same file share a batch."""
        rows = self.assays[self.assays["layer"] == layer]
        return pd.Series(rows["file_sha256"].str[:12].to_numpy(), index=rows["sample"].to_numpy())

    def snapshot(self) -> dict[str, Any]:
        content: dict[str, Any] = {}
        for layer, rows in self.assays.groupby("layer"):
            rows = rows.sort_values(["sample", "uid"])
            by_entity = self.entities.reindex(rows["sample"]).value_counts().sort_index()
            content[str(layer)] = {
                "n_samples": int(rows["sample"].nunique()),
                "samples": rows["sample"].tolist(),
                "assays": rows["uid"].tolist(),
                "by_entity": {str(k): int(v) for k, v in by_entity.items()},
            }
        return content


def load_cohort(workspace: Workspace) -> Cohort:
    """Every tumour sample with its patient, current entity, purity and current assays."""
    with workspace.session() as s:
        sample_rows = s.execute(
            select(Sample.sample_key, Patient.pseudonym, Patient.id, Sample.tumour_cell_content,
                   Patient.sex)
            .join(Patient, Sample.patient_id == Patient.id)
            .where(Sample.sample_type == "tumour")
        ).all()
        # a matched normal makes variant calling tumour/normal rather than tumour-only
        with_normal = set(s.scalars(select(Sample.patient_id)
                                    .where(Sample.sample_type == "normal")))
        latest = {}
        for patient_id, code in s.execute(
            select(Diagnosis.patient_id, Diagnosis.oncotree_code).order_by(Diagnosis.id)
        ):
            latest[patient_id] = code
        assay_rows = s.execute(
            select(Sample.sample_key, Assay.layer, Assay.label, Assay.version, Assay.uid,
                   Assay.file_sha256, Assay.store_tables)
            .join(Sample, Assay.sample_id == Sample.id)
            .where(Sample.sample_type == "tumour")
            .order_by(Assay.version)
        ).all()
    samples = pd.DataFrame(
        [{"sample": k, "patient": p, "entity": latest.get(pid), "purity": tcc, "sex": sex,
          "tumour_only": pid not in with_normal}
         for k, p, pid, tcc, sex in sample_rows],
        columns=["sample", "patient", "entity", "purity", "sex", "tumour_only"],
    ).set_index("sample").sort_index()
    current: dict[tuple[str, str, str], dict[str, Any]] = {}
    for sample, layer, label, _version, uid, sha, tables in assay_rows:
        current[(sample, layer, label)] = {"sample": sample, "layer": layer, "uid": uid,
                                           "file_sha256": sha, "tables": sorted(tables)}
    assays = pd.DataFrame(list(current.values()),
                          columns=["sample", "layer", "uid", "file_sha256", "tables"])
    return Cohort(samples=samples, assays=assays)


@dataclass
class AnalysisResult:
    findings: pd.DataFrame
    targets: pd.DataFrame
    cohort_digest: str
    patients: list[str] = field(default_factory=list)
    reviews: dict[str, dict[str, Any]] = field(default_factory=dict)  # patient -> concordance

    @property
    def alerts(self) -> list[dict[str, Any]]:
        """Patients whose molecular data suggest a diagnosis revision."""
        return [{"patient": p, "submitted": r["submitted"], "suggested": r["suggested"],
                 "message": r["message"]} for p, r in sorted(self.reviews.items())
                if r["alert"]]

    def summary(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "diagnosis_alerts": self.alerts,
            "cohort": self.cohort_digest,
            "findings": len(self.findings),
            "targets": len(self.targets),
            "by_kind": {str(k): int(v) for k, v in
                        self.findings["kind"].value_counts().sort_index().items()},
        }


def _digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _none(value: Any) -> Any:  # a scalar column value
    return json_ready(value)


def store_results(workspace: Workspace, cohort: Cohort, findings: pd.DataFrame,
                  targets: pd.DataFrame, patients: list[str],
                  parameters: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    """Replace the patients' findings, target evidence and diagnosis reviews (molecular
    concordance), in one transaction; returns the cohort digest and the reviews."""
    content = cohort.snapshot()
    digest = _digest(content)
    with db.transaction(workspace.engine) as s:
        snapshot = s.scalar(select(CohortSnapshot).where(CohortSnapshot.digest == digest))
        if snapshot is None:
            snapshot = CohortSnapshot(digest=digest, content=content,
                                      n_samples=len(cohort.samples))
            s.add(snapshot)
            s.flush()
        ids = dict(s.execute(select(Patient.pseudonym, Patient.id)
                             .where(Patient.pseudonym.in_(patients))).all())
        sample_ids = dict(s.execute(select(Sample.sample_key, Sample.id)
                                    .where(Sample.patient_id.in_(ids.values()))).all())
        s.execute(delete(TargetEvidence).where(TargetEvidence.patient_id.in_(ids.values())))
        s.execute(delete(DiagnosisReview).where(DiagnosisReview.patient_id.in_(ids.values())))
        s.execute(delete(Finding).where(Finding.patient_id.in_(ids.values())))
        now = dt.datetime.now(dt.UTC)
        analyses = {}
        for pseudonym, pid in ids.items():
            analysis = Analysis(patient_id=pid, cohort_id=snapshot.id,
                                software_version=__version__, parameters=parameters)
            s.add(analysis)
            analyses[pseudonym] = analysis
        s.flush()
        finding_rows = [
            {
                "analysis_id": analyses[r.patient].id, "patient_id": ids[r.patient],
                "sample_id": sample_ids.get(r.sample), "layer": r.layer, "gene": _none(r.gene),
                "feature": r.feature, "kind": r.kind, "value": _none(r.value),
                "z_score": _none(r.z_score), "percentile_cohort": _none(r.percentile_cohort),
                "percentile_entity": _none(r.percentile_entity),
                "reference_size": _none(r.reference_size), "call": _none(r.call),
                "provenance": json_ready(r.provenance), "created_at": now,
            }
            for r in findings.itertuples() if r.patient in ids
        ]
        target_rows = [
            {
                "analysis_id": analyses[r.patient].id, "patient_id": ids[r.patient],
                "sample_id": sample_ids[r.sample], "gene": r.gene, "state": r.state,
                "is_antigen": bool(r.is_antigen), "is_kinase": bool(r.is_kinase),
                "dna": json_ready(r.dna), "rna_z": _none(r.rna_z),
                "rna_percentile": _none(r.rna_percentile),
                "rna_percentile_entity": _none(r.rna_percentile_entity),
                "rna_call": _none(r.rna_call), "protein_z": _none(r.protein_z),
                "protein_call": _none(r.protein_call),
                "activation_score": _none(r.activation_score),
                "activation_call": _none(r.activation_call),
                "provenance": json_ready({**r.provenance, "rna_tpm": _none(r.rna_tpm),
                                          "activation_source": r.activation_source}),
            }
            for r in targets.itertuples() if r.patient in ids
        ]
        # executemany-style bulk inserts: one round trip per batch, not one per row
        if finding_rows:
            s.execute(insert(Finding), finding_rows)
        if target_rows:
            s.execute(insert(TargetEvidence), target_rows)
        by_patient = dict(tuple(findings.groupby("patient", sort=False)))
        n_findings = findings["patient"].value_counts().to_dict()
        n_targets = targets["patient"].value_counts().to_dict() if len(targets) else {}
        reviews = {}
        for pseudonym, pid in ids.items():
            review = molecular_concordance(cohort.patient_entities.get(pseudonym) or "",
                                           by_patient.get(pseudonym, findings.iloc[:0]))
            reviews[pseudonym] = review
            audit.record(s, "analysis.run", "analyses", analyses[pseudonym].id, patient_id=pid,
                         after={"cohort": digest, "findings": n_findings.get(pseudonym, 0),
                                "targets": n_targets.get(pseudonym, 0),
                                "concordance": review["status"]})
            s.add(DiagnosisReview(
                patient_id=pid, analysis_id=analyses[pseudonym].id, status=review["status"],
                alert=review["alert"], submitted_code=review["submitted"],
                suggested_code=review["suggested"], message=review["message"],
                evidence=json_ready(review["evidence"]), warnings=review["warnings"],
                created_at=now))
    return digest, reviews


def _read(ws: Workspace, cohort: Cohort, table: str,
          samples: list[str] | None = None) -> pd.DataFrame:
    """The long store table of the cohort's current assays (optionally some samples only)."""
    rows = cohort.assays[cohort.assays["tables"].apply(lambda t: table in t)]
    if samples is not None:
        rows = rows[rows["sample"].isin(samples)]
    return ws.store.read(table, rows["uid"].tolist())


def _matrix(ws: Workspace, cohort: Cohort, table: str) -> pd.DataFrame:
    rows = cohort.assays[cohort.assays["tables"].apply(lambda t: table in t)]
    return ws.store.matrix(table, rows["uid"].tolist())


def variants_step(ws: Workspace, cohort: Cohort, samples: list[str],
                  watch: set[str]) -> pd.DataFrame:
    from tumorboard.layers.variants import variant_findings

    sequenced = cohort.assays.loc[cohort.assays["layer"] == "variants", "sample"]
    sequenced = sorted(set(sequenced) & set(samples))
    table = _read(ws, cohort, "variants", sequenced)
    return variant_findings(table, patients=cohort.patients, sequenced=sequenced,
                            tumour_only=cohort.samples["tumour_only"])


def copy_number_step(ws: Workspace, cohort: Cohort, samples: list[str],
                     watch: set[str]) -> pd.DataFrame:
    from tumorboard.layers.copynumber import copy_number_findings

    genes = _read(ws, cohort, "gene_copy_number", samples)
    if genes.empty:
        return findings_frame()
    from tumorboard.layers.variants import gene_roles

    segments = _read(ws, cohort, "segments", samples)
    purity = cohort.samples["purity"].dropna()
    found = copy_number_findings(genes, segments, patients=cohort.patients, purity=purity,
                                 sex=cohort.samples["sex"], genes=sorted(watch))
    # A low-level gain or loss spans hundreds to thousands of genes; as gene findings it is
    # kept only for genes with a known cancer role or on the watch list. Amplifications and
    # homozygous deletions are always kept.
    relevant = watch | set(gene_roles().index)
    keep = found["kind"].isin(["amplification", "deletion"]) | found["gene"].isin(relevant)
    return found[keep]


def fusions_step(ws: Workspace, cohort: Cohort, samples: list[str],
                 watch: set[str]) -> pd.DataFrame:
    from tumorboard.layers.fusions import fusion_findings

    return fusion_findings(_read(ws, cohort, "fusions", samples), patients=cohort.patients)


def expression_step(ws: Workspace, cohort: Cohort, samples: list[str],
                    watch: set[str]) -> pd.DataFrame:
    from tumorboard.layers.expression import expression_findings

    tpm = _matrix(ws, cohort, "expression")
    report = [s for s in samples if s in tpm.index]
    if not report:
        return findings_frame()
    return expression_findings(tpm, entities=cohort.entities, patients=cohort.patients,
                               samples=report, genes=sorted(watch))


def proteome_step(ws: Workspace, cohort: Cohort, samples: list[str],
                  watch: set[str]) -> pd.DataFrame:
    from tumorboard.layers.proteome import proteome_findings

    long = _read(ws, cohort, "proteome")
    if long.empty:
        return findings_frame()
    abundance = long.pivot(index="sample_id", columns="feature_id", values="log2_abundance")
    feature_genes = long.drop_duplicates("feature_id").set_index("feature_id")["gene"]
    report = [s for s in samples if s in abundance.index]
    if not report:
        return findings_frame()
    return proteome_findings(abundance, batches=cohort.batches("proteome"),
                             feature_genes=feature_genes, entities=cohort.entities,
                             patients=cohort.patients, samples=report, genes=sorted(watch))


def phospho_step(ws: Workspace, cohort: Cohort, samples: list[str],
                 watch: set[str]) -> pd.DataFrame:
    import numpy as np

    from tumorboard.layers import scoring
    from tumorboard.layers.phospho import kinase_catalogue, phospho_findings

    long = _read(ws, cohort, "phosphoproteome")
    if long.empty:
        return findings_frame()
    sites = long.pivot(index="sample_id", columns="feature_id", values="log2_abundance")
    site_genes = long.drop_duplicates("feature_id").set_index("feature_id")[["gene", "site"]]
    report = [s for s in samples if s in sites.index]
    if not report:
        return findings_frame()
    rtks = sorted(set(kinase_catalogue().rtks))
    tpm = _matrix(ws, cohort, "expression")
    expression_z = None
    if not tpm.empty:
        present = [g for g in rtks if g in tpm.columns]
        expression_z, _ = scoring.leave_one_out_z(np.log2(tpm[present] + 1.0))
    return phospho_findings(sites, site_genes=site_genes, entities=cohort.entities,
                            patients=cohort.patients, batches=cohort.batches("phosphoproteome"),
                            samples=report, expression_z=expression_z)


def methylation_step(ws: Workspace, cohort: Cohort, samples: list[str],
                     watch: set[str]) -> pd.DataFrame:
    """Methylation class of each sample from the workspace's active classifier (none: no
    findings). Samples are read in chunks, so a cohort of 850,000-probe arrays never sits in
    memory at once."""
    from tumorboard.diagnosis.installed import active_model
    from tumorboard.layers.methylation import methylation_class_findings

    found = active_model(ws)
    if found is None:
        return findings_frame()
    classifier, info = found
    rows = cohort.assays[cohort.assays["tables"].apply(lambda t: "methylation" in t)
                         & cohort.assays["sample"].isin(samples)]
    uids = rows["uid"].tolist()
    parts = []
    for start in range(0, len(uids), 64):
        betas = ws.store.matrix("methylation", uids[start:start + 64])
        parts.append(methylation_class_findings(betas, classifier=classifier, model=info,
                                                patients=cohort.patients))
    parts = [p for p in parts if len(p)]
    return findings_frame(pd.concat(parts, ignore_index=True) if parts else None)


#: The layer analyses, in report order. Each: (workspace, cohort, samples, watch) -> findings.
LAYER_STEPS: tuple[Callable[[Workspace, Cohort, list[str], set[str]], pd.DataFrame], ...] = (
    variants_step,
    copy_number_step,
    fusions_step,
    expression_step,
    proteome_step,
    phospho_step,
    methylation_step,
)


def kinase_genes() -> set[str]:
    from tumorboard.layers.phospho import kinase_catalogue

    return set(kinase_catalogue().kinases.index)


def watch_genes() -> set[str]:
    """Genes every report shows even when unremarkable: antigens, catalogued kinases."""
    return set(antigen_catalogue()) | kinase_genes()


def analyze(workspace: Workspace, patients: list[str] | None = None) -> AnalysisResult:
    """Analyse the tumour samples of ``patients`` (default: all) against the whole cohort.

    Raises
    ------
    NotFoundError
        If a patient is not in the registry or has no tumour sample.
    """
    cohort = load_cohort(workspace)
    known = set(cohort.patients)
    wanted = sorted(known) if patients is None else list(dict.fromkeys(patients))
    missing = [p for p in wanted if p not in known]
    if missing:
        raise NotFoundError(
            f"no tumour sample for patient(s) {', '.join(missing)}; see "
            "`tumorboard patients list`"
        )
    samples = sorted(cohort.samples.index[cohort.patients.isin(wanted)])
    watch = watch_genes()
    parts = [step(workspace, cohort, samples, watch) for step in LAYER_STEPS]
    parts = [p for p in parts if len(p)]
    findings = findings_frame(pd.concat(parts, ignore_index=True) if parts else None)
    findings = findings[findings["sample"].isin(samples) | findings["sample"].isna()]
    targets = target_evidence(findings, kinases=kinase_genes(), antigens=set(antigen_catalogue()))
    parameters = {"layers": [step.__name__ for step in LAYER_STEPS]}
    digest, reviews = store_results(workspace, cohort, findings, targets, wanted, parameters)
    return AnalysisResult(findings=findings, targets=targets, cohort_digest=digest,
                          patients=wanted, reviews=reviews)

"""Run the layer analyses for patients against the cohort, integrate targets, store results.

This is the edge where the registry and the store are touched (DESIGN.md: pure functions in
``layers/`` and ``targets.py``; I/O here). One call scores the requested patients' tumour
samples against every tumour sample of the registry (the cohort): the cohort-relative layers
in one vectorised pass per layer (or per block of features, out of core) for all requested
samples, the per-sample layers and the target integration per batch of patients. The tasks run
on an executor (:mod:`tumorboard.executor`: in process, or Dask workers that never touch the
registry); this process alone writes the results, one transaction per batch.

Re-running is idempotent: a patient's previous findings and target evidence are replaced in one
transaction by the new ones, and each run records the cohort snapshot it was scored against.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import delete, select

from tumorboard import __version__
from tumorboard.diagnosis.concordance import molecular_concordance
from tumorboard.errors import NotFoundError, WorkspaceError
from tumorboard.model import findings_frame, json_ready, read_findings, write_findings
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
from tumorboard.store import OmicsStore
from tumorboard.targets import antigen_catalogue, target_evidence
from tumorboard.workspace import Workspace

if TYPE_CHECKING:
    from tumorboard.executor import Executor


@dataclass
class Cohort:
    """Tumour samples of the registry with what the analyses need to know about them."""

    samples: pd.DataFrame  # index sample; columns patient, entity, purity, sex, tumour_only
    # current assays: sample, layer, uid, file_sha256, tables (store table -> rows)
    assays: pd.DataFrame

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
                                           "file_sha256": sha, "tables": dict(tables)}
    assays = pd.DataFrame(list(current.values()),
                          columns=["sample", "layer", "uid", "file_sha256", "tables"])
    return Cohort(samples=samples, assays=assays)


@dataclass
class AnalysisResult:
    """What a run did: patients analysed, failed and skipped, counts, diagnosis reviews."""

    cohort_digest: str
    patients: list[str] = field(default_factory=list)  # analysed and stored in this run
    reviews: dict[str, dict[str, Any]] = field(default_factory=dict)  # patient -> concordance
    failed: dict[str, str] = field(default_factory=dict)  # patient -> error
    skipped: list[str] = field(default_factory=list)  # --resume: already analysed
    n_findings: int = 0
    n_targets: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    executor: dict[str, Any] = field(default_factory=dict)
    out_of_core: list[str] = field(default_factory=list)  # layers scored by feature blocks

    @property
    def alerts(self) -> list[dict[str, Any]]:
        """Patients whose molecular data suggest a diagnosis revision."""
        return [{"patient": p, "submitted": r["submitted"], "suggested": r["suggested"],
                 "message": r["message"]} for p, r in sorted(self.reviews.items())
                if r["alert"]]

    def add(self, batch: BatchResult, reviews: dict[str, dict[str, Any]]) -> None:
        self.patients.extend(batch.patients)
        self.reviews.update(reviews)
        self.failed.update(batch.failed)
        self.n_findings += len(batch.findings)
        self.n_targets += len(batch.targets)
        self.by_kind.update(batch.findings["kind"].dropna().astype(str).tolist())

    def summary(self) -> dict[str, Any]:
        return {
            "patients": sorted(self.patients),
            "failed": [{"patient": p, "error": e} for p, e in sorted(self.failed.items())],
            "skipped": sorted(self.skipped),
            "diagnosis_alerts": self.alerts,
            "cohort": self.cohort_digest,
            "findings": self.n_findings,
            "targets": self.n_targets,
            "by_kind": dict(sorted(self.by_kind.items())),
            "executor": self.executor,
            "out_of_core": self.out_of_core,
        }


def _digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _snapshot(cohort: Cohort) -> tuple[dict[str, Any], str]:
    content = cohort.snapshot()
    return content, _digest(content)


def _none(value: Any) -> Any:  # a scalar column value
    return json_ready(value)


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows of ``frame[columns]`` as dicts of Python scalars, missing values None."""
    values = {c: [json_ready(v) for v in frame[c].to_numpy(dtype=object)] for c in columns}
    return [dict(zip(columns, row, strict=True)) for row in zip(*values.values(), strict=True)]


def store_results(workspace: Workspace, cohort: Cohort, findings: pd.DataFrame,
                  targets: pd.DataFrame, patients: list[str],
                  parameters: dict[str, Any], *,
                  snapshot: tuple[dict[str, Any], str] | None = None,
                  ) -> tuple[str, dict[str, dict[str, Any]]]:
    """Replace the patients' findings, target evidence and diagnosis reviews (molecular
    concordance), in one transaction; returns the cohort digest and the reviews.

    ``snapshot``: the cohort's (content, digest) if already computed (a run stores many
    batches against the same cohort).
    """
    content, digest = snapshot if snapshot is not None else _snapshot(cohort)
    with db.transaction(workspace.engine) as s:
        stored = s.scalar(select(CohortSnapshot).where(CohortSnapshot.digest == digest))
        if stored is None:
            stored = CohortSnapshot(digest=digest, content=content,
                                    n_samples=len(cohort.samples))
            s.add(stored)
            s.flush()
        ids = dict(s.execute(select(Patient.pseudonym, Patient.id)
                             .where(Patient.pseudonym.in_(patients))).all())
        sample_ids = dict(s.execute(select(Sample.sample_key, Sample.id)
                                    .where(Sample.patient_id.in_(ids.values()))).all())
        s.execute(delete(TargetEvidence).where(TargetEvidence.patient_id.in_(ids.values())))
        s.execute(delete(DiagnosisReview).where(DiagnosisReview.patient_id.in_(ids.values())))
        s.execute(delete(Finding).where(Finding.patient_id.in_(ids.values())))
        now = dt.datetime.now(dt.UTC)
        n_findings = findings["patient"].value_counts().to_dict()
        n_targets = targets["patient"].value_counts().to_dict() if len(targets) else {}
        analyses = {}
        for pseudonym, pid in ids.items():
            analysis = Analysis(patient_id=pid, cohort_id=stored.id,
                                software_version=__version__, parameters=parameters,
                                n_findings=int(n_findings.get(pseudonym, 0)),
                                n_targets=int(n_targets.get(pseudonym, 0)))
            s.add(analysis)
            analyses[pseudonym] = analysis
        s.flush()
        rows = findings[findings["patient"].isin(ids.keys())]
        finding_rows = _records(rows, ["layer", "gene", "feature", "kind", "value", "z_score",
                                       "percentile_cohort", "percentile_entity",
                                       "reference_size", "call"])
        for row, patient, sample, provenance in zip(
                finding_rows, rows["patient"], rows["sample"].astype(object),
                rows["provenance"], strict=True):
            row.update(analysis_id=analyses[patient].id, patient_id=ids[patient],
                       sample_id=sample_ids.get(sample) if sample is not pd.NA else None,
                       provenance=json_ready(provenance), created_at=now)
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
        db.bulk_insert(s, Finding.__table__, finding_rows)
        db.bulk_insert(s, TargetEvidence.__table__, target_rows)
        by_patient = dict(tuple(findings.groupby("patient", sort=False)))
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


# --- the layer analyses --------------------------------------------------------------------
#
# Tasks run in the coordinator (in process) or on Dask workers: they get everything they need
# as one picklable LayerInputs (the store, the cohort, the watch list, the active methylation
# classifier) and never touch the registry.


@dataclass(frozen=True)
class LayerInputs:
    """What a layer task needs besides its samples (picklable; no database connection)."""

    store: OmicsStore
    cohort: Cohort
    watch: frozenset[str]
    classifier: tuple[Any, dict[str, Any]] | None = None  # (model, record) or None

    @functools.cached_property
    def _holding(self) -> dict[str, pd.DataFrame]:
        """Store table -> (sample, uid) of the current assays holding it; built once per
        process (every task asks several times)."""
        a = self.cohort.assays
        rows = pd.DataFrame([(t, s, u) for s, u, tables in zip(a["sample"], a["uid"],
                                                                a["tables"], strict=True)
                             for t in tables], columns=["table", "sample", "uid"])
        return {str(t): g[["sample", "uid"]] for t, g in rows.groupby("table", sort=False)}

    def uids(self, table: str, samples: list[str] | None = None) -> list[str]:
        """Current assay uids of the cohort holding ``table`` (optionally some samples only)."""
        rows = self._holding.get(table)
        if rows is None:
            return []
        if samples is not None:
            rows = rows[rows["sample"].isin(samples)]
        return rows["uid"].tolist()

    def read(self, table: str, samples: list[str] | None = None) -> pd.DataFrame:
        return self.store.read(table, self.uids(table, samples))

    def matrix(self, table: str) -> pd.DataFrame:
        return self.store.matrix(table, self.uids(table))


# Layers judged per sample: a batch of patients needs only its own files.

def variants_step(inputs: LayerInputs, samples: list[str]) -> pd.DataFrame:
    from tumorboard.layers.variants import variant_findings

    cohort = inputs.cohort
    sequenced = cohort.assays.loc[cohort.assays["layer"] == "variants", "sample"]
    sequenced = sorted(set(sequenced) & set(samples))
    table = inputs.read("variants", sequenced)
    return variant_findings(table, patients=cohort.patients, sequenced=sequenced,
                            tumour_only=cohort.samples["tumour_only"])


def copy_number_step(inputs: LayerInputs, samples: list[str]) -> pd.DataFrame:
    from tumorboard.layers.copynumber import copy_number_findings

    genes = inputs.read("gene_copy_number", samples)
    if genes.empty:
        return findings_frame()
    from tumorboard.layers.variants import gene_roles

    cohort = inputs.cohort
    segments = inputs.read("segments", samples)
    purity = cohort.samples["purity"].dropna()
    found = copy_number_findings(genes, segments, patients=cohort.patients, purity=purity,
                                 sex=cohort.samples["sex"], genes=sorted(inputs.watch))
    # A low-level gain or loss spans hundreds to thousands of genes; as gene findings it is
    # kept only for genes with a known cancer role or on the watch list. Amplifications and
    # homozygous deletions are always kept.
    relevant = inputs.watch | set(gene_roles().index)
    keep = found["kind"].isin(["amplification", "deletion"]) | found["gene"].isin(relevant)
    return found[keep]


def fusions_step(inputs: LayerInputs, samples: list[str]) -> pd.DataFrame:
    from tumorboard.layers.fusions import fusion_findings

    return fusion_findings(inputs.read("fusions", samples), patients=inputs.cohort.patients)


def methylation_step(inputs: LayerInputs, samples: list[str]) -> pd.DataFrame:
    """Methylation class of each sample from the workspace's active classifier (none: no
    findings). Samples are read in chunks, so a cohort of 850,000-probe arrays never sits in
    memory at once."""
    from tumorboard.layers.methylation import methylation_class_findings

    if inputs.classifier is None:
        return findings_frame()
    classifier, info = inputs.classifier
    uids = inputs.uids("methylation", samples)
    parts = []
    for start in range(0, len(uids), 64):
        betas = inputs.store.matrix("methylation", uids[start:start + 64])
        parts.append(methylation_class_findings(betas, classifier=classifier, model=info,
                                                patients=inputs.cohort.patients))
    parts = [p for p in parts if len(p)]
    return findings_frame(pd.concat(parts, ignore_index=True) if parts else None)


#: Layers judged per sample, in report order. Each: (inputs, samples) -> findings.
SAMPLE_STEPS: tuple[Callable[[LayerInputs, list[str]], pd.DataFrame], ...] = (
    variants_step,
    copy_number_step,
    fusions_step,
    methylation_step,
)


# Layers judged against the cohort: every sample of the cohort is the reference, so they run
# once per run (or once per block of features, out of core), for every reported sample.

def _long_matrix(inputs: LayerInputs, table: str, annotation: list[str]
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Samples x features log2 abundances of a proteome table and its feature annotation."""
    long = inputs.read(table)
    values = long.pivot(index="sample_id", columns="feature_id", values="log2_abundance")
    return values, long.drop_duplicates("feature_id").set_index("feature_id")[annotation]


def expression_part(inputs: LayerInputs, samples: list[str], tpm: pd.DataFrame
                    ) -> pd.DataFrame:
    """Expression findings of ``samples`` on ``tpm`` (the cohort, or a block of its genes)."""
    from tumorboard.layers.expression import expression_findings

    report = [s for s in samples if s in tpm.index]
    if not report:
        return findings_frame()
    return expression_findings(tpm, entities=inputs.cohort.entities,
                               patients=inputs.cohort.patients, samples=report,
                               genes=sorted(inputs.watch))


def proteome_part(inputs: LayerInputs, samples: list[str], abundance: pd.DataFrame,
                  feature_genes: pd.Series, sample_centres: pd.Series | None = None
                  ) -> pd.DataFrame:
    """Proteome findings of ``samples`` on ``abundance`` (the cohort or a block of features;
    a block needs the samples' medians over all features, ``sample_centres``)."""
    from tumorboard.layers.proteome import proteome_findings

    report = [s for s in samples if s in abundance.index]
    if not report:
        return findings_frame()
    extra = {} if sample_centres is None else {"sample_centres": sample_centres}
    return proteome_findings(abundance, batches=inputs.cohort.batches("proteome"),
                             feature_genes=feature_genes, entities=inputs.cohort.entities,
                             patients=inputs.cohort.patients, samples=report,
                             genes=sorted(inputs.watch), **extra)


def rtk_expression_z(tpm: pd.DataFrame | None) -> pd.DataFrame | None:
    """Leave-one-out z of log2(TPM + 1) of the catalogue's RTKs (the RTK expression sub-score)."""
    import numpy as np

    from tumorboard.layers import scoring
    from tumorboard.layers.phospho import kinase_catalogue

    if tpm is None or tpm.empty:
        return None
    present = [g for g in sorted(set(kinase_catalogue().rtks)) if g in tpm.columns]
    return scoring.leave_one_out_z(np.log2(tpm[present] + 1.0))[0]


def phospho_part(inputs: LayerInputs, samples: list[str], sites: pd.DataFrame,
                 site_genes: pd.DataFrame, *, expression_z: pd.DataFrame | None = None,
                 sites_only: bool = False, sample_centres: pd.Series | None = None
                 ) -> pd.DataFrame:
    """Phosphoproteome findings of ``samples`` on ``sites``: every score (the cohort, or the
    sites the kinase and RTK sums need), or with ``sites_only`` the site outliers of a block of
    other sites (a part of the sites needs the samples' medians over all sites,
    ``sample_centres``)."""
    from tumorboard.layers.phospho import phospho_findings, phospho_site_findings

    report = [s for s in samples if s in sites.index]
    if not report:
        return findings_frame()
    common = {"site_genes": site_genes, "entities": inputs.cohort.entities,
              "patients": inputs.cohort.patients,
              "batches": inputs.cohort.batches("phosphoproteome"), "samples": report,
              "sample_centres": sample_centres}
    if sites_only:
        return phospho_site_findings(sites, **common)
    return phospho_findings(sites, expression_z=expression_z, **common)


def _screen_readings(store: OmicsStore, holding: pd.DataFrame) -> pd.DataFrame:
    """The ``drug_screen`` rows of the assays ``holding`` (sample, uid), with an ``assay``
    column (the findings' provenance names it); a sample with several current screen assays
    is read assay by assay."""
    if holding["sample"].is_unique:
        readings = store.read("drug_screen", holding["uid"].tolist())
        uid_of = dict(zip(holding["sample"], holding["uid"], strict=True))
        readings["assay"] = readings["sample_id"].map(uid_of).astype("string")
        return readings
    return pd.concat([store.read("drug_screen", [uid]).assign(assay=uid)
                      for uid in holding["uid"]], ignore_index=True)


def drug_screen_fit_task(store: OmicsStore, holding: pd.DataFrame) -> pd.DataFrame:
    """Dose-response fits of the screens of some samples (:func:`fit_screens`): the costly,
    per-curve part of the drug-screen layer, split over the workers by sample."""
    from tumorboard.layers.drugscreen import fit_screens

    return fit_screens(_screen_readings(store, holding))


def _drug_screen_fits(inputs: LayerInputs, ex: Executor) -> pd.DataFrame | None:
    """Every model's fits, in parts on the executor's workers (one part in process, where
    :func:`~tumorboard.layers.drugscreen.fit_screens` uses the local cores itself)."""
    holding = inputs._holding.get("drug_screen")
    if holding is None or holding.empty:
        return None
    samples = sorted(set(holding["sample"]))
    n_parts = 1 if ex.workers <= 1 else min(len(samples), 4 * ex.workers)
    size = -(-len(samples) // n_parts)
    chunks = [samples[i:i + size] for i in range(0, len(samples), size)]
    parts: dict[int, pd.DataFrame] = {}
    tasks = [(str(i), (inputs.store, holding[holding["sample"].isin(c)]))
             for i, c in enumerate(chunks)]
    for outcome in ex.map(drug_screen_fit_task, tasks, label="fit-drug-screens"):
        if not outcome.ok:
            raise WorkspaceError(f"fitting the drug screens failed: {outcome.error}")
        parts[int(outcome.key)] = outcome.value
    return pd.concat([parts[i] for i in sorted(parts)], ignore_index=True)


def drug_screen_part(inputs: LayerInputs, samples: list[str],
                     fits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Drug-sensitivity findings of ``samples``: every model of the cohort is fitted (or
    ``fits`` are given) and the reported ones scored against the others
    (:mod:`tumorboard.layers.drugscreen`).

    Always in memory: a screen is a few thousand wells per model, so even 1,000 models are a
    few million rows, and their fits one row per (model, drug).
    """
    from tumorboard.layers.drugscreen import drug_screen_findings

    holding = inputs._holding.get("drug_screen")
    if holding is None or holding.empty:
        return findings_frame()
    cohort = inputs.cohort
    common = {"patients": cohort.patients, "entities": cohort.entities, "samples": samples}
    if fits is not None:
        return drug_screen_findings(fits=fits, **common)
    return drug_screen_findings(_screen_readings(inputs.store, holding), **common)


@dataclass(frozen=True)
class CohortPart:
    """One task of a cohort-relative layer: the whole matrix, or a block of it out of core."""

    layer: str  # expression | proteome | phosphoproteome | drug_screen
    name: str  # "all", "block-00003", "summed"
    matrix: Any = None  # TransposedMatrix out of core; None: read the matrix in the task
    features: tuple[str, ...] | None = None  # out of core: the features of this part
    annotation: pd.DataFrame | None = None  # out of core: feature -> gene (and site)
    expression: Any = None  # phospho "all"/"summed": TransposedMatrix of expression, or None
    fits: pd.DataFrame | None = None  # drug_screen: the cohort's fits (fitted on the workers)

    def findings(self, inputs: LayerInputs, samples: list[str]) -> pd.DataFrame:
        if self.matrix is None:
            return self._in_memory(inputs, samples)
        values = self.matrix.read(list(self.features))
        if self.layer == "expression":
            return expression_part(inputs, samples, values)
        if self.layer == "proteome":
            return proteome_part(inputs, samples, values, self.annotation["gene"],
                                 self.matrix.sample_medians())
        centres = self.matrix.sample_medians()
        if self.name == "summed":
            return phospho_part(inputs, samples, values, self.annotation,
                                expression_z=self._rtk_z(inputs), sample_centres=centres)
        return phospho_part(inputs, samples, values, self.annotation, sites_only=True,
                            sample_centres=centres)

    def _rtk_z(self, inputs: LayerInputs) -> pd.DataFrame | None:
        from tumorboard.layers.phospho import kinase_catalogue

        if self.expression is None:
            return rtk_expression_z(inputs.matrix("expression") if inputs.uids("expression")
                                    else None)
        rtks = [g for g in sorted(set(kinase_catalogue().rtks)) if g in
                set(self.expression.features)]
        return rtk_expression_z(self.expression.read(rtks))

    def _in_memory(self, inputs: LayerInputs, samples: list[str]) -> pd.DataFrame:
        if not inputs.uids(self.layer):
            return findings_frame()
        if self.layer == "drug_screen":
            return drug_screen_part(inputs, samples, self.fits)
        if self.layer == "expression":
            return expression_part(inputs, samples, inputs.matrix("expression"))
        if self.layer == "proteome":
            values, annotation = _long_matrix(inputs, "proteome", ["gene"])
            return proteome_part(inputs, samples, values, annotation["gene"])
        values, annotation = _long_matrix(inputs, "phosphoproteome", ["gene", "site"])
        return phospho_part(inputs, samples, values, annotation,
                            expression_z=self._rtk_z(inputs))


#: Layers scored against the cohort, in report order (after the per-sample layers).
COHORT_LAYERS: tuple[str, ...] = ("expression", "proteome", "phosphoproteome", "drug_screen")


def kinase_genes() -> set[str]:
    from tumorboard.layers.phospho import kinase_catalogue

    return set(kinase_catalogue().kinases.index)


def watch_genes() -> set[str]:
    """Genes every report shows even when unremarkable: antigens, catalogued kinases."""
    return set(antigen_catalogue()) | kinase_genes()


# --- the run: cohort parts to scratch, patient batches, results written by the coordinator ---


def _scratch_fs(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of a scratch URL and the folder's path on it."""
    import fsspec

    return fsspec.core.url_to_fs(url)


def _scratch_file(scratch: str, batch: int, part: CohortPart) -> str:
    return f"{scratch}/b{batch:05d}/{COHORT_LAYERS.index(part.layer)}-{part.name}.parquet"


def cohort_part_task(inputs: LayerInputs, part: CohortPart, batches: dict[str, int],
                     scratch: str) -> dict[str, int]:
    """Score one cohort part for every reported sample; write its findings to the scratch
    folder, one file per patient batch (so each batch task reads only its own rows).

    ``batches``: reported sample -> batch number. Returns rows written per batch.
    """
    found = part.findings(inputs, sorted(batches))
    found = found[found["sample"].isin(batches.keys())]
    written = {}
    fs, scratch = _scratch_fs(scratch)
    for batch, rows in found.groupby(found["sample"].map(batches), sort=True):
        path = _scratch_file(scratch, int(batch), part)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        write_findings(rows, path, filesystem=fs)
        written[int(batch)] = len(rows)
    return written


@dataclass
class BatchResult:
    """What a patient batch task sends back to the coordinator."""

    findings: pd.DataFrame
    targets: pd.DataFrame
    patients: list[str]
    failed: dict[str, str] = field(default_factory=dict)  # patient -> error


def _batch_findings(inputs: LayerInputs, samples: list[str],
                    cohort_parts: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = [step(inputs, samples) for step in SAMPLE_STEPS[:-1]]
    parts += [p[p["sample"].isin(samples)] for p in cohort_parts]
    parts.append(SAMPLE_STEPS[-1](inputs, samples))  # methylation class: last, as ever
    parts = [p for p in parts if len(p)]
    findings = findings_frame(pd.concat(parts, ignore_index=True) if parts else None)
    findings = findings[findings["sample"].isin(samples) | findings["sample"].isna()]
    targets = target_evidence(findings, kinases=kinase_genes(),
                              antigens=set(antigen_catalogue()))
    return findings, targets


def patient_batch_task(inputs: LayerInputs, patients: list[str], batch: int,
                       scratch: str) -> BatchResult:
    """Findings and target evidence of a batch of patients: the per-sample layers from their
    own files, the cohort-relative layers from the scratch files of the cohort parts.

    If the batch fails as a whole, each patient is tried alone, so one patient's bad input
    fails that patient only (its error is returned in ``failed``).
    """
    fs, scratch = _scratch_fs(scratch)
    folder = f"{scratch}/b{batch:05d}"
    files = sorted(fs.glob(f"{folder}/*.parquet")) if fs.exists(folder) else []
    cohort_parts = [read_findings(f, filesystem=fs) for f in files]
    samples_of = inputs.cohort.samples.groupby("patient").groups
    try:
        samples = sorted(s for p in patients for s in samples_of[p])
        findings, targets = _batch_findings(inputs, samples, cohort_parts)
        return BatchResult(findings, targets, list(patients))
    except Exception:  # isolate the patient(s) at fault below
        if len(patients) == 1:
            raise
    results, failed = [], {}
    for p in patients:
        try:
            results.append(_batch_findings(inputs, sorted(samples_of[p]), cohort_parts))
        except Exception as exc:  # reported per patient
            failed[p] = f"{type(exc).__name__}: {exc}"
    done = [p for p in patients if p not in failed]
    return BatchResult(
        findings_frame(pd.concat([f for f, _ in results], ignore_index=True)
                       if results else None),
        pd.concat([t for _, t in results], ignore_index=True) if results else
        target_evidence(findings_frame(), kinases=set(), antigens=set()),
        done, failed)


#: Most patients per batch task: a batch's findings travel to the coordinator in one piece and
#: are written in one transaction.
MAX_BATCH = 50

#: Progress callback: (stage, done, total), stage "cohort layers" or "patients".
Progress = Callable[[str, int, int], None]


def _parameters() -> dict[str, Any]:
    names = [s.__name__ for s in SAMPLE_STEPS[:-1]] + [f"{layer}_step" for layer in
                                                        COHORT_LAYERS]
    return {"layers": [*names, SAMPLE_STEPS[-1].__name__]}


def finished_patients(workspace: Workspace, digest: str,
                      parameters: dict[str, Any]) -> set[str]:
    """Patients whose latest analysis is against cohort ``digest`` with this software version
    and these parameters: what ``--resume`` skips."""
    from sqlalchemy import func

    latest = (select(func.max(Analysis.id).label("id")).group_by(Analysis.patient_id)
              .subquery())
    with workspace.session() as s:
        rows = s.execute(
            select(Patient.pseudonym, Analysis.software_version, Analysis.parameters)
            .join(latest, latest.c.id == Analysis.id)
            .join(Patient, Patient.id == Analysis.patient_id)
            .join(CohortSnapshot, CohortSnapshot.id == Analysis.cohort_id)
            .where(CohortSnapshot.digest == digest)).all()
    return {p for p, version, params in rows
            if version == __version__ and params == parameters}


def _batches(patients: list[str], batch_size: int | None, workers: int) -> list[list[str]]:
    """Patients in batches: several per worker, so a slow or lost batch does not hold the run."""
    size = batch_size or max(1, min(MAX_BATCH, -(-len(patients) // (4 * workers))))
    return [patients[i:i + size] for i in range(0, len(patients), size)]


def _feature_count(cohort: Cohort, table: str) -> int:
    rows = [t[table] for t in cohort.assays["tables"] if table in t]
    return int(max(rows)) if rows else 0


def _annotation_task(store: OmicsStore, table: str, uids: list[str],
                     columns: list[str]) -> pd.DataFrame:
    long = store.read(table, uids, columns=["feature_id", *columns])
    return long.drop_duplicates("feature_id").drop(columns="sample_id")


def _annotation(inputs: LayerInputs, ex: Executor, table: str,
                columns: list[str]) -> pd.DataFrame:
    """Feature -> gene (and site) of a table, first occurrence in cohort order (as the
    in-memory path takes it), read in chunks of files."""
    uids = inputs.uids(table)
    chunks = [uids[i:i + 200] for i in range(0, len(uids), 200)]
    parts: dict[int, pd.DataFrame] = {}
    for outcome in ex.map(_annotation_task, [(str(i), (inputs.store, table, c, columns))
                                             for i, c in enumerate(chunks)],
                          label=f"annotate-{table}"):
        if not outcome.ok:
            raise WorkspaceError(f"reading the {table} store failed: {outcome.error}")
        parts[int(outcome.key)] = outcome.value
    frame = pd.concat([parts[i] for i in sorted(parts)], ignore_index=True)
    return frame.drop_duplicates("feature_id").set_index("feature_id")[columns]


def _cohort_parts(inputs: LayerInputs, ex: Executor, budget: int, scratch: str,
                  result: AnalysisResult) -> list[CohortPart]:
    """The tasks of the cohort-relative layers: one per layer whose matrix fits ``budget``,
    else one per block of features of its Zarr transposition (pass 1 runs here); drug screens
    one task, scoring the fits made here in parts on the workers."""
    from tumorboard.outofcore import fits_in_memory, transpose_table

    parts: list[CohortPart] = []
    transposed: dict[str, Any] = {}
    for layer in COHORT_LAYERS:
        uids = inputs.uids(layer)
        if not uids:
            continue
        if layer == "drug_screen":
            # Always in memory (small tables); the curves are fitted here, on the workers.
            parts.append(CohortPart(layer, "all", fits=_drug_screen_fits(inputs, ex)))
            continue
        if fits_in_memory(len(uids), _feature_count(inputs.cohort, layer), budget):
            parts.append(CohortPart(layer, "all", expression=transposed.get("expression")))
            continue
        result.out_of_core.append(layer)
        tm = transpose_table(inputs.store, layer, uids, f"{scratch}/matrix-{layer}",
                             budget_bytes=budget, sample_medians=layer != "expression",
                             scheduler=ex.dask_scheduler)
        transposed[layer] = tm
        if layer == "expression":
            parts += [CohortPart(layer, f"block-{j:05d}", tm, tuple(tm.block_features(j)))
                      for j in range(tm.n_blocks)]
            continue
        columns = ["gene"] if layer == "proteome" else ["gene", "site"]
        annotation = _annotation(inputs, ex, layer, columns)
        summed: set[str] = set()
        if layer == "phosphoproteome":
            from tumorboard.layers.phospho import summed_features

            summed = set(summed_features(annotation, features=tm.features))
            parts.append(CohortPart(layer, "summed", tm, tuple(f for f in tm.features
                                                               if f in summed),
                                    annotation, expression=transposed.get("expression")))
        for j in range(tm.n_blocks):
            rest = tuple(f for f in tm.block_features(j) if f not in summed)
            if rest:
                parts.append(CohortPart(layer, f"block-{j:05d}", tm, rest, annotation))
    return parts


def analyze(workspace: Workspace, patients: list[str] | None = None, *,
            executor: Executor | None = None, resume: bool = False,
            batch_size: int | None = None, memory_budget: int | None = None,
            store_url: str | None = None, progress: Progress | None = None) -> AnalysisResult:
    """Analyse the tumour samples of ``patients`` (default: all) against the whole cohort.

    The cohort-relative layers (expression, proteome, phosphoproteome, drug screens) are
    scored once for all requested samples (in memory, or by blocks of features when a layer's
    matrix exceeds ``memory_budget``; drug screens always in memory); the per-sample layers
    and the target integration run per batch of patients. Tasks run on ``executor``
    (default: in this process); the coordinator (this call) writes each batch's results in one
    transaction as it arrives, so an interrupted run keeps every batch it finished and
    ``resume=True`` skips them.

    Parameters
    ----------
    executor
        :func:`tumorboard.executor.open_executor` (in process, LocalCluster, or a cluster).
    resume
        Skip patients already analysed against this cohort with this software version.
    batch_size
        Patients per task (default: a few batches per worker, at most :data:`MAX_BATCH`).
    memory_budget
        Bytes one task may hold for a cohort matrix (default: the executor's).
    store_url
        Where workers read the omics store (fsspec URL; default: the workspace's store).
    progress
        Called with (stage, done, total) as tasks complete.

    Raises
    ------
    NotFoundError
        If a patient is not in the registry or has no tumour sample.
    WorkspaceError
        A cohort-relative layer could not be scored (its error names the file).
    """
    from tumorboard.diagnosis.installed import active_model
    from tumorboard.executor import Executor as InProcess

    workspace.recover()  # e.g. the scratch folder of a run killed before its clean-up
    cohort = load_cohort(workspace)
    known = set(cohort.patients)
    wanted = sorted(known) if patients is None else list(dict.fromkeys(patients))
    missing = [p for p in wanted if p not in known]
    if missing:
        raise NotFoundError(
            f"no tumour sample for patient(s) {', '.join(missing)}; see "
            "`tumorboard patients list`"
        )
    ex = executor or InProcess()
    snapshot = _snapshot(cohort)
    parameters = _parameters()
    result = AnalysisResult(cohort_digest=snapshot[1], executor=ex.describe())
    if resume:
        done = finished_patients(workspace, snapshot[1], parameters)
        result.skipped = [p for p in wanted if p in done]
        wanted = [p for p in wanted if p not in done]
    if not wanted:
        return result
    store = OmicsStore(store_url) if store_url else workspace.store
    inputs = LayerInputs(store=store, cohort=cohort, watch=frozenset(watch_genes()),
                         classifier=active_model(workspace))
    batches = _batches(wanted, batch_size, ex.workers)
    samples_of = cohort.samples.groupby("patient").groups
    sample_batch = {s: k for k, batch in enumerate(batches) for p in batch
                    for s in samples_of[p]}
    run = f"analysis-{uuid.uuid4().hex[:12]}"
    scratch = store.scratch_url(run)
    budget = memory_budget or ex.memory_budget()
    try:
        parts = _cohort_parts(inputs, ex, budget, scratch, result)
        shared = ex.share(inputs)
        tasks = [(f"{p.layer}-{p.name}", (shared, p, sample_batch, scratch)) for p in parts]
        for i, outcome in enumerate(ex.map(cohort_part_task, tasks, label="cohort"), 1):
            if not outcome.ok:
                raise WorkspaceError(f"scoring {outcome.key} against the cohort failed: "
                                     f"{outcome.error}")
            if progress:
                progress("cohort layers", i, len(tasks))
        tasks = [(str(k), (shared, batch, k, scratch)) for k, batch in enumerate(batches)]
        for i, outcome in enumerate(ex.map(patient_batch_task, tasks, label="patients"), 1):
            if outcome.ok:
                batch: BatchResult = outcome.value
                if batch.patients:
                    _, reviews = store_results(workspace, cohort, batch.findings,
                                               batch.targets, batch.patients, parameters,
                                               snapshot=snapshot)
                    result.add(batch, reviews)
                result.failed.update(batch.failed)
            else:
                result.failed.update(dict.fromkeys(batches[int(outcome.key)], outcome.error))
            if progress:
                progress("patients", i, len(tasks))
    finally:
        store.remove_scratch(run)
    return result

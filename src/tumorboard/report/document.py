"""The MTB report of one patient as one JSON-ready document.

Every output format (HTML, PDF, JSON, FHIR, Phenopacket) renders this document; none reads the
registry itself, so they cannot disagree. :func:`mtb_report` collects it from the workspace
(the only registry and store reads); everything below it is pure.

Sections: ``report`` (id, time, software and knowledge versions, cohort snapshot), ``patient``,
``diagnosis`` (with molecular concordance), ``quality`` (per sample and layer), ``findings``
(key findings per layer), ``targets`` (expression versus activation), ``recommendations`` and
``resistance``, ``methods`` (each with its citation), ``plain_language`` (a page for the patient
and family) and ``sign_off`` (what the board signs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from importlib import metadata
from typing import Any

import pandas as pd

from tumorboard.diagnosis.concordance import molecular_concordance
from tumorboard.model import json_ready
from tumorboard.reference import ONCOTREE_VERSION

REPORT_FORMAT = 1

#: Libraries whose versions a report records (methods and versions section).
SOFTWARE = ("tumorboard", "numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "cyvcf2",
            "sqlalchemy", "matplotlib", "weasyprint", "fhir.resources", "phenopackets")

#: How each step was done, with its source; shown in the methods section of every report.
METHODS: tuple[dict[str, str], ...] = (
    {"step": "Small variants",
     "method": "VEP/snpEff-annotated somatic calls filtered by consequence, VAF and depth; "
               "hotspots from cancerhotspots.org v2; tumour mutational burden per Mb of "
               "coding territory",
     "source": "Chang et al., Cancer Discov 2018, doi:10.1158/2159-8290.CD-17-0321; "
               "Marabelle et al., Lancet Oncol 2020, doi:10.1016/S1470-2045(20)30445-9"},
    {"step": "Copy number",
     "method": "segments mapped to GENCODE genes; purity- and ploidy-aware thresholds for "
               "gain, amplification, loss and homozygous deletion; focal versus arm-level",
     "source": "Talevich et al., PLoS Comput Biol 2016 (CNVkit), "
               "doi:10.1371/journal.pcbi.1004873"},
    {"step": "Fusions",
     "method": "Arriba / STAR-Fusion calls, partner order normalised, catalogue of "
               "entity-defining and kinase fusions",
     "source": "WHO Classification of Soft Tissue and Bone Tumours, 5th ed., IARC 2020"},
    {"step": "RNA and protein outliers",
     "method": "leave-one-out z-score (x − median of the others) / SD of the others on "
               "log2(TPM+1) or log intensities; percentiles in the cohort and the entity; "
               "batch-wise median centring of the proteome",
     "source": "cohort-relative scoring as in the TOPAS scores of the Kuster lab and the "
               "MASTER DSRCT study (Renner, Oleś et al., Nat Commun 2026); docs/methods.md"},
    {"step": "Phosphoproteome",
     "method": "sites centred across patients, summed per protein and over a kinase's "
               "substrates, z-scored; RTK score a weighted sum of expression, "
               "phosphorylation and kinase-activity sub-scores",
     "source": "PhosphoSitePlus (Hornbeck et al., Nucleic Acids Res 2015, "
               "doi:10.1093/nar/gku1267); INKA (Beekhof et al., Mol Syst Biol 2019, "
               "doi:10.15252/msb.20188250)"},
    {"step": "Evidence levels",
     "method": "NCT/DKTK MASTER levels m1A–m4 with modifiers is, iv, Z, R, derived from the "
               "evidence type and whether the evidence's entity is the patient's (OncoTree)",
     "source": "Leichsenring et al., Int J Cancer 2019, doi:10.1002/ijc.32358; Horak et al., "
               "Genes Chromosomes Cancer 2022, doi:10.1002/gcc.22987"},
    {"step": "Baskets",
     "method": "recommendations grouped by the MASTER treatment baskets plus "
               "antigen-directed drugs",
     "source": "Horak et al., Cancer Discov 2021, doi:10.1158/2159-8290.CD-21-0126"},
)

_FINDING_KEYS = ("sample", "gene", "feature", "kind", "value", "z_score", "percentile_cohort",
                 "percentile_entity", "reference_size", "call")


def check_document(document: Any, required: tuple[str, ...] = (
        "report", "patient", "samples", "findings", "diagnosis")) -> None:
    """Raise unless ``document`` is a report document of :data:`REPORT_FORMAT` (for exporters).

    Raises
    ------
    InputError
        Missing sections, another format version, or no patient pseudonym.
    """
    from tumorboard.errors import InputError

    missing = [k for k in required if k not in document]
    if missing or document.get("format") != REPORT_FORMAT:
        raise InputError(
            "not a tumorboard report document"
            + (f" (missing {', '.join(missing)})" if missing else
               f" (format {document.get('format')!r})"),
            expected=f"the output of tumorboard.report.document.build_document, format "
                     f"{REPORT_FORMAT}",
            fix="build the document with mtb_report(workspace, patient) and export that")
    if not (document["patient"] or {}).get("patient"):
        raise InputError("the report document has no patient pseudonym",
                         expected="patient.patient, e.g. 'DSRCT-001'",
                         fix="rebuild the document with mtb_report")


def summary_sentences(document: Any) -> list[str]:
    """The concordance and the recommendations in a few sentences, for exports that carry a
    free-text conclusion (FHIR ``DiagnosticReport.conclusion``, Phenopacket summary)."""
    parts = []
    message = ((document.get("diagnosis") or {}).get("concordance") or {}).get("message")
    if message:
        parts.append(f"Molecular concordance: {message}.")
    status = (document.get("sign_off") or {}).get("status", "draft")
    recs = document.get("recommendations") or []
    if recs:
        parts.append(f"MTB recommendations ({status}, proposals, not treatments given): "
                     + "; ".join(
                         f"{r.get('rank') or i}. {r.get('therapy')} "
                         f"[evidence {r.get('evidence_level')}]"
                         + (f" for {', '.join(r.get('genes') or [])}" if r.get("genes") else "")
                         for i, r in enumerate(recs, 1)) + ".")
    else:
        parts.append(f"No targeted therapy recommendation ({status}).")
    res = document.get("resistance") or []
    if res:
        parts.append("Predicted resistance: " + "; ".join(
            f"{r.get('therapy')} [evidence {r.get('evidence_level')}]" for r in res) + ".")
    return parts


def software_versions() -> dict[str, str]:
    """Installed versions of the libraries in :data:`SOFTWARE`, and Python."""
    out = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def methylation_calls(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """One record per sample with a methylation class finding: the call, its level and score,
    the top three classes, CpG coverage and the model (flagged when simulated)."""
    out = []
    rows = findings[findings["kind"] == "methylation_class"]
    for row in rows.itertuples(index=False):
        prov = row.provenance if isinstance(row.provenance, dict) else {}
        out.append(json_ready({
            "sample": row.sample, "call": row.feature, "level": row.call, "score": row.value,
            "name": prov.get("call_name"), "oncotree_code": prov.get("oncotree_code"),
            "top_classes": prov.get("top_classes", []),
            "features_present": prov.get("features_present"),
            "features_required": prov.get("features_required"),
            "features_total": prov.get("features_total"), "model": prov.get("model", {}),
            "placement": prov.get("placement"),
            "message": prov.get("message"), "citation": prov.get("citation")}))
    return out


def key_findings(findings: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The findings a board reads, per layer (not the thousands of neutral scores).

    Mutations except VUS (counted separately), TMB, amplifications and homozygous deletions
    (plus gains/losses of genes with a known role), fusions, RNA and protein outliers that are
    high, and kinase activations; sorted by kind, then z-score (strongest first). The HTML
    and PDF show the first rows of each layer, the JSON report all of them.
    """
    f = findings
    keep = (
        ((f["kind"] == "mutation") & (f["call"] != "vus"))
        | (f["kind"] == "tmb")
        | f["kind"].isin(["amplification", "deletion", "gain", "loss"])
        | (f["kind"] == "fusion")
        | (f["kind"].isin(["overexpression", "protein_high"]) & (f["call"] == "high"))
        | ((f["kind"] == "activation") & (f["call"].isin(["activated", "high"])))
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for row in f[keep.fillna(False)].itertuples(index=False):
        rec = {k: getattr(row, k) for k in _FINDING_KEYS}
        out.setdefault(str(row.layer), []).append(json_ready(rec))
    for layer, rows in out.items():
        rows.sort(key=lambda r: (r["kind"], -(r["z_score"] or 0), str(r["gene"])))
        out[layer] = rows
    vus = int(((f["kind"] == "mutation") & (f["call"] == "vus")).sum())
    if vus:
        out.setdefault("variants", []).append({
            **dict.fromkeys(_FINDING_KEYS), "kind": "vus_count",
            "feature": f"{vus} variants of uncertain significance", "value": vus})
    return out


def report_targets(targets: list[dict[str, Any]], recommendations: dict[str, Any]
                   ) -> list[dict[str, Any]]:
    """The target genes a report lists: genes of a recommendation; antigens and kinases that
    are expressed or activated; genes with a driver-level DNA alteration (hotspot, likely
    oncogenic, amplification, homozygous deletion, catalogued fusion)."""
    named = {g for r in recommendations.get("recommendations", []) +
             recommendations.get("resistance", []) for g in r.get("genes", [])}
    drivers = {"hotspot", "oncogenic_likely", "amplification", "deletion", "entity_defining",
               "actionable_kinase"}
    out = []
    for t in targets:
        dna = any(d.get("call") in drivers or d.get("kind") in ("amplification", "deletion")
                  for d in t.get("dna") or [])
        expressed = t["state"] in ("activated", "expressed_not_activated",
                                   "expressed_activation_unknown")
        if t["gene"] in named or dna or (expressed and (t.get("antigen") or t.get("kinase"))):
            out.append(t)
    return out


def plain_language(document: dict[str, Any]) -> dict[str, Any]:
    """A one-page summary for the patient and family, without jargon.

    Short sentences; no evidence codes or gene-level detail beyond naming the target; says
    plainly that the treating team decides and that options may be trials.
    """
    diag = document["diagnosis"]
    recs = document["recommendations"]
    found = []
    conc = diag.get("concordance") or {}
    if conc.get("status") == "concordant":
        found.append("The tests of the tumour's genes confirm the diagnosis made under the "
                     "microscope.")
    elif conc.get("status") == "refined":
        found.append("The gene tests make the diagnosis more precise.")
    elif conc.get("status") == "discordant":
        found.append("The gene tests point to a different type of tumour than first thought. "
                     "The doctors will look at the tissue again before deciding on treatment.")
    antigen = [r for r in recs if r["basket"] == "antigen_directed"]
    functional_only = [r for r in recs if r["basket"] == "functional_only"]
    targeted = [r for r in recs if r["basket"] not in ("antigen_directed", "functional_only")]
    if antigen:
        genes = sorted({g for r in antigen for g in r["genes"]})
        found.append(
            f"The tumour cells carry {'a marker' if len(genes) == 1 else 'markers'} on their "
            f"surface ({', '.join(genes)}) that some newer medicines can recognise, such as "
            "antibodies carrying a drug to the cell or specially trained immune cells.")
    if targeted:
        found.append("The tests also found changes that medicines aimed at the tumour's "
                     "growth signals may act on.")
    if functional_only:
        found.append("Tumour cells grown in the laboratory from your sample responded to "
                     f"{'a medicine' if len(functional_only) == 1 else 'some medicines'} "
                     "that the gene tests alone would not have suggested.")
    if not recs:
        found.append("The tests did not find a change for which there is a matching medicine "
                     "today. This is common and does not change the standard treatment plan.")
    meaning = ("These results are possibilities, not promises. For most of them the evidence "
               "comes from small studies or from other tumour types, and some medicines are "
               "only available in clinical trials.") if recs else (
               "Your team will continue with the treatment that is standard for this tumour.")
    next_steps = [
        "Your treating doctor will discuss these results with you.",
        "Together you will decide whether one of the options suits you, for example within a "
        "clinical trial, and whether health insurance covers it.",
        "You can ask for a copy of this report and for a second opinion at any time.",
    ]
    return {"what_was_found": found, "what_it_may_mean": meaning, "what_happens_next":
            next_steps, "options": [r["therapy"] for r in recs[:5]]}


def build_document(*, patient: dict[str, Any], findings: pd.DataFrame,
                   targets: dict[str, Any], recommendations: dict[str, Any],
                   quality: list[dict[str, Any]], software: dict[str, str],
                   concordance: dict[str, Any] | None = None,
                   outcomes: dict[str, Any] | None = None,
                   functional: dict[str, Any] | None = None,
                   generated: dt.datetime | None = None) -> dict[str, Any]:
    """Assemble the report document from already-computed parts (pure).

    ``concordance`` is the diagnosis review stored by the analysis; when absent (analyses of
    older versions) it is computed from ``findings``. ``outcomes`` is the patient's treatment
    course (:func:`outcome_summary`), shown when the registry has one. ``functional`` is the
    section "Functional testing (patient-derived models)"
    (:func:`tumorboard.report.screens.functional_section`), present when the patient's models
    were screened.
    """
    generated = generated or dt.datetime.now(dt.UTC)
    entity = patient.get("entity") or {}
    diagnoses = patient.get("diagnoses") or []
    current = diagnoses[-1] if diagnoses else {}
    if concordance is None:
        concordance = molecular_concordance(entity.get("oncotree_code") or "", findings)
    shown = report_targets(targets.get("targets", []), recommendations)
    doc: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "report": {
            "generated": generated.isoformat(timespec="seconds"),
            "software": software,
            "knowledge_release": recommendations.get("knowledge_release", []),
            "oncotree_version": ONCOTREE_VERSION,
            "analysis": targets.get("analysis"),
            "cohort": targets.get("cohort"),
        },
        "patient": {k: patient.get(k) for k in ("patient", "sex", "year_of_birth", "ecog",
                                                 "prior_therapies")},
        "diagnosis": {
            "histology_submitted": entity.get("histology_submitted"),
            "oncotree_code": entity.get("oncotree_code"), "name": entity.get("name"),
            "date": current.get("date"), "stage": entity.get("stage"),
            "metastatic_sites": current.get("metastatic_sites"),
            "concordance": concordance,
            "methylation": methylation_calls(findings),
        },
        "samples": [{k: s.get(k) for k in ("id", "type", "site", "origin", "collection_date",
                                            "tumour_cell_content", "layers")}
                    for s in patient.get("samples", [])],
        "quality": quality,
        "findings": key_findings(findings),
        "targets": shown,
        # without the row timestamps, so the content digest changes only with the content
        "recommendations": [{k: v for k, v in r.items() if k != "updated_at"}
                            for r in recommendations.get("recommendations", [])],
        "resistance": [{k: v for k, v in r.items() if k != "updated_at"}
                       for r in recommendations.get("resistance", [])],
        "outcomes": outcomes or {},
        **({"functional": functional} if functional else {}),
        "methods": list(METHODS) + ([functional["method"]] if functional else []),
        "sign_off": {"status": "draft", "roles": ["molecular pathologist", "medical oncologist",
                                                  "bioinformatician", "board chair"]},
    }
    doc["plain_language"] = plain_language(doc)
    digest = hashlib.sha256(json.dumps(json_ready({k: v for k, v in doc.items() if k != "report"}),
                                       sort_keys=True, default=str).encode()).hexdigest()
    doc["report"]["id"] = f"{patient['patient']}-{generated:%Y%m%d}-{digest[:8]}"
    doc["report"]["content_sha256"] = digest
    return json_ready(doc)


def outcome_summary(course: dict[str, Any]) -> dict[str, Any]:
    """The report's part of a patient course (:func:`tumorboard.outcomes.cohort.patient_course`):
    lines with their PFS, PFS-ratio verdicts, timeline events, RECIST time points and ctDNA,
    as JSON-able rows; empty when the registry holds no lines or events."""
    from tumorboard.outcomes import DAYS_PER_MONTH
    from tumorboard.outcomes.cohort import table_records, timeline_events

    if course["lines"].empty and course["events"].empty:
        return {}
    lines = course["lines"]
    if len(course["pfs"]):
        lines = lines.merge(course["pfs"][["line", "pfs_days", "pfs_event"]], on="line",
                            how="left")
        lines["pfs_months"] = lines["pfs_days"] / DAYS_PER_MONTH
    keep = {"lines": ["line", "regimen", "modality", "intent", "start", "stop", "stop_reason",
                      "progression", "mtb_guided", "recommendation_id", "pfs_days",
                      "pfs_months", "pfs_event"],
            "ratios": ["line", "previous_line", "pfs1_days", "pfs2_days", "pfs_ratio",
                       "verdict", "reason"],
            "responses": ["line", "assessment_date", "sum_mm", "overall"],
            "ctdna": ["sample", "collected", "tumour_fraction", "lower", "upper", "mrd"]}
    tables = {"lines": lines, "ratios": course["ratios"], "responses": course["responses"],
              "ctdna": course["ctdna"]}
    out = {k: table_records(df[[c for c in keep[k] if c in df.columns]])
           for k, df in tables.items()}
    out["events"] = table_records(timeline_events(course)[["date", "kind"]])
    return out


def mtb_report(workspace: Any, pseudonym: str) -> dict[str, Any]:
    """Collect and build the MTB report document of one patient.

    Uses the stored recommendations, computing them first if the patient has none yet.

    Raises
    ------
    NotFoundError
        Unknown patient, or not analysed.
    """
    from tumorboard.outcomes.cohort import patient_course
    from tumorboard.recommend import patient_recommendations, recommend_patient
    from tumorboard.registry.queries import diagnosis_review, patient_findings, patient_targets
    from tumorboard.report.screens import SCREEN_LAYER, functional_section
    from tumorboard.report.summary import patient_summary

    summary = patient_summary(workspace, pseudonym)
    with workspace.session() as session:
        targets = patient_targets(session, pseudonym)
        recs = patient_recommendations(session, pseudonym)
        findings = patient_findings(session, pseudonym, targets["analysis"]["id"])
        review = diagnosis_review(session, pseudonym)
        outcomes = outcome_summary(patient_course(session, pseudonym))
    if not recs["recommendations"] and not recs["resistance"]:
        recs = recommend_patient(workspace, pseudonym)
    quality = [
        {"sample": s["id"], "layer": a["layer"], "file": a["file"], "format": a["format"],
         "sha256": a["sha256"], "genome_build": a["genome_build"], "tool": a["tool"],
         "tool_version": a["tool_version"], "version": a["version"], "qc": a.get("qc", {})}
        for s in summary["samples"] for a in s.get("assays", [])
    ]
    screens = findings[findings["layer"] == SCREEN_LAYER]
    functional = functional_section(
        screens, recs["recommendations"], functional_only=recs.get("functional_only", [])
    ) if len(screens) else {}
    return build_document(patient=summary, findings=findings, targets=targets,
                          recommendations=recs, quality=quality, software=software_versions(),
                          concordance=review, outcomes=outcomes, functional=functional)

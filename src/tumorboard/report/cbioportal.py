"""The cohort as a cBioPortal study folder (clinical, mutations, CNA, SV, expression, timeline).

:func:`write_cbioportal_study` reads the registry and the omics store once and writes the files
atomically; :func:`cbioportal_study_files` builds their contents from plain tables and records
(pure, tested without a workspace).

Formats follow the cBioPortal file-format documentation (https://docs.cbioportal.org/
file-formats/; cBioPortal/documentation ``docs/File-Formats.md``): ``meta_study.txt``; clinical
patient and sample files with the four ``#`` header rows (display name, description, datatype,
priority) above the attribute names; a MAF for mutations (``MUTATION_EXTENDED`` / ``MAF``);
discrete copy number (``COPY_NUMBER_ALTERATION`` / ``DISCRETE``, -2 deep loss, -1 single-copy
loss, 0 diploid, 1 gain, 2 amplification); structural variants (``STRUCTURAL_VARIANT`` /
``SV``, ``Sample_Id`` and ``SV_Status`` required); mRNA z-scores (``MRNA_EXPRESSION`` /
``Z-SCORE``); timelines (``CLINICAL`` / ``TIMELINE``, days from diagnosis); and case lists in
``case_lists/`` with the ``_all``, ``_sequenced``, ``_cna``, ``_sv`` and ``_rna_seq_mrna``
suffixes the portal recognises.

What is exported
----------------
- Samples: the tumour samples (normal samples are germline references, not study samples).
- Mutations: the reportable small variants of each patient's latest analysis (the variants
  layer's filters: PASS, depth, VAF, coding consequence), VCF alleles converted to MAF
  conventions, VEP consequences mapped to MAF ``Variant_Classification`` as vcf2maf does
  (mskcc/vcf2maf ``GetVariantClassification``), ``HGVSp_Short`` from the three-letter HGVS.
  tumorboard's call goes into ``cbp_driver`` (hotspot / likely oncogenic: Putative_Driver;
  VUS: Putative_Passenger).
- Copy number: the copy-number findings as levels (deletion -2, loss -1, gain 1,
  amplification 2), 0 where a gene has no finding in a profiled sample. Rows are the genes
  that have a copy-number finding anywhere in the cohort. The analysis keeps low-level gains
  and losses only for genes with a known cancer role or on the watch list (amplifications and
  homozygous deletions always), so a gene present only through an amplification elsewhere
  shows 0 where it may carry an unstored low-level change.
- Structural variants: fusion findings (5' partner as Site1), ``SV_Status`` SOMATIC, RNA support.
- Expression: z-scores of log2(TPM + 1) against all tumour samples of the study,
  z = (x - mean) / SD (SD with n - 1), ``NA`` for genes without variance.
- Timeline: diagnosis (``STATUS``) and sample acquisition (``SPECIMEN``), days relative to the
  first recorded diagnosis date.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.errors import InputError, NotFoundError

__all__ = ["cbioportal_study_files", "expression_zscores", "hgvsp_short",
           "maf_variant_classification", "write_cbioportal_study"]

_ID = re.compile(r"^[A-Za-z0-9._-]+$")
_LEVEL = {"deletion": -2, "loss": -1, "gain": 1, "amplification": 2}
_DRIVER = {"hotspot": ("Putative_Driver", "hotspot (cancerhotspots.org v2)"),
           "oncogenic_likely": ("Putative_Driver",
                                "truncating variant in a tumour suppressor (OVS1)"),
           "vus": ("Putative_Passenger", "VUS")}

_AA3 = {"Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
        "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
        "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
        "Sec": "U", "Pyl": "O", "Xaa": "X"}
_AA3_RE = re.compile("|".join(_AA3))

# VEP consequence -> MAF Variant_Classification, as vcf2maf's GetVariantClassification
# (mskcc/vcf2maf, vcf2maf.pl). Written out here because vcf2maf is a Perl script, not a library.
_SPLICE = {"splice_acceptor_variant", "splice_donor_variant", "transcript_ablation",
           "exon_loss_variant"}
_MISSENSE = {"missense_variant", "coding_sequence_variant", "conservative_missense_variant",
             "rare_amino_acid_variant"}
_SILENT = {"incomplete_terminal_codon_variant", "synonymous_variant", "stop_retained_variant",
           "NMD_transcript_variant"}
_RNA = {"mature_miRNA_variant", "exon_variant", "non_coding_exon_variant",
        "non_coding_transcript_exon_variant", "non_coding_transcript_variant",
        "nc_transcript_variant"}
_SIMPLE = {"stop_gained": "Nonsense_Mutation", "stop_lost": "Nonstop_Mutation",
           "initiator_codon_variant": "Translation_Start_Site",
           "start_lost": "Translation_Start_Site", "inframe_insertion": "In_Frame_Ins",
           "inframe_deletion": "In_Frame_Del", "transcript_amplification": "Intron",
           "intron_variant": "Intron", "INTRAGENIC": "Intron", "intragenic_variant": "Intron",
           "splice_region_variant": "Splice_Region", "5_prime_UTR_variant": "5'UTR",
           "5_prime_UTR_premature_start_codon_gain_variant": "5'UTR",
           "3_prime_UTR_variant": "3'UTR", "upstream_gene_variant": "5'Flank",
           "downstream_gene_variant": "3'Flank", "TF_binding_site_variant": "IGR",
           "regulatory_region_variant": "IGR", "regulatory_region": "IGR",
           "intergenic_variant": "IGR", "intergenic_region": "IGR"}

MAF_COLUMNS = ("Hugo_Symbol", "Center", "NCBI_Build", "Chromosome", "Start_Position",
               "End_Position", "Strand", "Variant_Classification", "Variant_Type",
               "Reference_Allele", "Tumor_Seq_Allele1", "Tumor_Seq_Allele2",
               "Tumor_Sample_Barcode", "Mutation_Status", "HGVSc", "HGVSp_Short",
               "Transcript_ID", "t_alt_count", "t_ref_count", "cbp_driver",
               "cbp_driver_annotation")
SV_COLUMNS = ("Sample_Id", "SV_Status", "Site1_Hugo_Symbol", "Site1_Chromosome",
              "Site1_Position", "Site2_Hugo_Symbol", "Site2_Chromosome", "Site2_Position",
              "Site2_Effect_On_Frame", "NCBI_Build", "Class", "Tumor_Split_Read_Count",
              "Tumor_Paired_End_Read_Count", "Event_Info", "Annotation", "DNA_Support",
              "RNA_Support", "Comments")


def hgvsp_short(hgvsp: str | None) -> str:
    """One-letter amino-acid change as MAF ``HGVSp_Short`` wants it (``p.Val600Glu`` ->
    ``p.V600E``, ``p.Arg213Ter`` -> ``p.R213*``); the protein accession is dropped."""
    if not hgvsp or not isinstance(hgvsp, str):
        return ""
    change = hgvsp.split(":", 1)[-1]
    return _AA3_RE.sub(lambda m: _AA3[m.group(0)], change)


def _variant_type(ref: str, alt: str) -> str:
    if len(ref) == len(alt):
        return {1: "SNP", 2: "DNP", 3: "TNP"}.get(len(ref), "ONP")
    return "INS" if len(ref) < len(alt) else "DEL"


def maf_variant_classification(consequence: str | None, ref: str, alt: str) -> str:
    """MAF ``Variant_Classification`` of a VEP consequence (most severe term first), following
    vcf2maf's ``GetVariantClassification``: frameshift and protein-altering variants become
    ``Frame_Shift_*`` or ``In_Frame_*`` by the allele-length difference."""
    term = str(consequence or "").split("&")[0].split(",")[0].strip()
    vtype = _variant_type(ref, alt)
    inframe = abs(len(ref) - len(alt)) % 3 == 0
    if term in _SPLICE:
        return "Splice_Site"
    if term == "frameshift_variant" or (term == "protein_altering_variant" and not inframe):
        return "Frame_Shift_Del" if vtype == "DEL" else "Frame_Shift_Ins"
    if term == "protein_altering_variant":
        return "In_Frame_Del" if vtype == "DEL" else "In_Frame_Ins"
    if term in _MISSENSE:
        return "Missense_Mutation"
    if term in _SILENT:
        return "Silent"
    if term in _RNA:
        return "RNA"
    return _SIMPLE.get(term, "Targeted_Region")


def _maf_alleles(pos: int, ref: str, alt: str) -> tuple[int, int, str, str]:
    """VCF position and alleles -> MAF start, end, reference and tumour allele.

    MAF drops the padding base VCF puts before indels: a deletion starts after it and its
    tumour allele is ``-``; an insertion spans the two bases around it with reference ``-``.
    """
    if len(ref) != len(alt) and ref[:1] == alt[:1]:
        ref, alt = ref[1:] or "-", alt[1:] or "-"
        if ref == "-":
            return pos, pos + 1, ref, alt
        return pos + 1, pos + len(ref), ref, alt
    return pos, pos + len(ref) - 1, ref, alt


def _chrom(value: Any) -> str:
    text = str(value or "")
    return text[3:] if text.lower().startswith("chr") else text


def _fmt(value: Any, digits: int | None = None) -> str:
    if value is None or value is pd.NA:
        return "NA"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "NA"
        if digits is not None:
            return f"{value:.{digits}f}"
        return f"{value:g}" if float(value).is_integer() else repr(float(value))
    text = str(value).replace("\t", " ").replace("\n", " ")
    return text or "NA"


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
           empty: str = "") -> str:
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append("\t".join(empty if v is None or v == "" else str(v) for v in row))
    return "\n".join(lines) + "\n"


def _meta(**fields: Any) -> str:
    return "".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None)


def _clinical(attributes: Sequence[tuple[str, str, str, str, int]],
              rows: Iterable[Mapping[str, Any]]) -> str:
    """A clinical data file: four '#' header rows, the attribute names, then the data."""
    lines = ["#" + "\t".join(a[1] for a in attributes),
             "#" + "\t".join(a[2] for a in attributes),
             "#" + "\t".join(a[3] for a in attributes),
             "#" + "\t".join(str(a[4]) for a in attributes),
             "\t".join(a[0] for a in attributes)]
    for row in rows:
        lines.append("\t".join(_fmt(row.get(a[0])) for a in attributes))
    return "\n".join(lines) + "\n"


_PATIENT_ATTRIBUTES = (
    ("PATIENT_ID", "Patient Identifier", "Pseudonymised patient identifier", "STRING", 1),
    ("SEX", "Sex", "Sex of the patient", "STRING", 9),
    ("AGE", "Diagnosis Age", "Age at first diagnosis in years (diagnosis year minus birth "
     "year)", "NUMBER", 8),
    ("ONCOTREE_CODE", "Oncotree Code", "OncoTree code of the current diagnosis", "STRING", 1),
    ("STAGE", "Stage", "Stage at the current diagnosis (localised or metastatic)", "STRING", 1),
    ("ECOG", "ECOG Performance Status", "ECOG performance status", "NUMBER", 1),
    ("PRIOR_THERAPIES", "Prior Therapies", "Therapies before molecular profiling", "STRING", 1),
)
_SAMPLE_ATTRIBUTES = (
    ("PATIENT_ID", "Patient Identifier", "Pseudonymised patient identifier", "STRING", 1),
    ("SAMPLE_ID", "Sample Identifier", "Sample identifier", "STRING", 1),
    ("ONCOTREE_CODE", "Oncotree Code", "OncoTree code", "STRING", 1),
    ("CANCER_TYPE", "Cancer Type", "OncoTree main type", "STRING", 3000),
    ("CANCER_TYPE_DETAILED", "Cancer Type Detailed", "OncoTree tumour type name", "STRING",
     2000),
    ("SAMPLE_TYPE", "Sample Type", "Primary tumour or metastasis", "STRING", 1),
    ("PRIMARY_SITE", "Primary Site", "Site of a primary-tumour sample", "STRING", 1),
    ("METASTATIC_SITE", "Metastatic Site", "Site of a metastasis sample", "STRING", 1),
    ("TUMOR_PURITY", "Tumor Purity", "Tumour cell content in percent (pathology)", "NUMBER",
     1),
)


def _check_ids(ids: Iterable[str], what: str) -> None:
    bad = sorted({i for i in ids if not _ID.match(str(i))})
    if bad:
        raise InputError(
            f"{what} id(s) {', '.join(bad)} cannot be used in cBioPortal",
            expected="letters, digits, points, underscores and hyphens only "
                     "(cBioPortal clinical data rules)",
            fix=f"rename the {what}(s) in the registry before exporting")


def _first_diagnosis(p: Mapping[str, Any]) -> pd.Timestamp | None:
    dates = sorted(d["date"] for d in p.get("diagnoses") or [] if d.get("date"))
    return pd.Timestamp(dates[0]) if dates else None


def _oncotree(code: str | None) -> tuple[str | None, str | None]:
    from tumorboard.reference import oncotree

    node = oncotree().get(str(code or "").upper())
    return (node.main_type, node.name) if node else (None, None)


def _tumour_samples(patients: Sequence[Mapping[str, Any]]) -> list[tuple[str, dict]]:
    return [(p["patient"], s) for p in patients for s in p.get("samples") or []
            if s.get("type") == "tumour"]


def _build(p: Mapping[str, Any], sample: str, layer: str, default: str = "GRCh38") -> str:
    for s in p.get("samples") or []:
        if s.get("id") == sample:
            for a in s.get("assays") or []:
                if a.get("layer") == layer and a.get("genome_build"):
                    return str(a["genome_build"])
    return default


def _mutation_rows(patients: Sequence[Mapping[str, Any]],
                   findings: Mapping[str, pd.DataFrame], samples: set[str]) -> list[list[Any]]:
    by_id = {p["patient"]: p for p in patients}
    rows = []
    for pid, f in findings.items():
        if f is None or f.empty:
            continue
        for r in f[(f["kind"] == "mutation") & f["sample"].isin(samples)].itertuples():
            prov = r.provenance if isinstance(r.provenance, dict) else {}
            ref, alt, pos = prov.get("ref"), prov.get("alt"), prov.get("pos")
            if not ref or not alt or pos is None:
                continue
            start, end, mref, malt = _maf_alleles(int(pos), str(ref), str(alt))
            depth, alt_depth = prov.get("depth"), prov.get("alt_depth")
            driver, note = _DRIVER.get(str(r.call), ("Unknown", str(r.call)))
            rows.append([
                r.gene, "tumorboard", _build(by_id.get(pid, {}), r.sample, "variants"),
                _chrom(prov.get("chrom")), start, end, "+",
                maf_variant_classification(prov.get("consequence"), str(ref), str(alt)),
                _variant_type(mref.replace("-", ""), malt.replace("-", "")),
                mref, "", malt, r.sample,
                "Unknown" if prov.get("tumour_only") else "Somatic",
                prov.get("hgvsc") or "", hgvsp_short(prov.get("hgvsp")),
                prov.get("transcript") or "",
                alt_depth if alt_depth is not None else "",
                depth - alt_depth if depth is not None and alt_depth is not None else "",
                driver, note[:80]])
    rows.sort(key=lambda row: (row[12], row[3], row[4]))
    return rows


def _cna_matrix(findings: Mapping[str, pd.DataFrame], profiled: Sequence[str]) -> pd.DataFrame:
    frames = [f[(f["layer"] == "copy_number") & f["sample"].isin(profiled)]
              for f in findings.values() if f is not None and not f.empty]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(profiled), dtype="int64")
    cn = pd.concat(frames, ignore_index=True)
    cn = cn[cn["gene"].notna()]
    level = cn["kind"].map(_LEVEL).fillna(0).astype("int64")
    table = (pd.DataFrame({"gene": cn["gene"].astype(str), "sample": cn["sample"].astype(str),
                           "level": level})
             .groupby(["gene", "sample"])["level"]
             .agg(lambda v: max(v, key=abs)).unstack("sample"))
    return table.reindex(columns=list(profiled)).fillna(0).astype("int64").sort_index()


def _sv_rows(patients: Sequence[Mapping[str, Any]], findings: Mapping[str, pd.DataFrame],
             samples: set[str]) -> list[list[Any]]:
    by_id = {p["patient"]: p for p in patients}
    rows = []
    for pid, f in findings.items():
        if f is None or f.empty:
            continue
        for r in f[(f["kind"] == "fusion") & f["sample"].isin(samples)].itertuples():
            prov = r.provenance if isinstance(r.provenance, dict) else {}
            parts = str(r.feature).split("::")
            g5 = prov.get("gene5") or (parts[0] if parts else r.gene)
            g3 = prov.get("gene3") or (parts[1] if len(parts) > 1 else "")
            c5, _, p5 = str(prov.get("breakpoint5") or "").partition(":")
            c3, _, p3 = str(prov.get("breakpoint3") or "").partition(":")
            frame = {"in-frame": "In_frame", "out-of-frame": "Out-of-frame"}.get(
                str(prov.get("reading_frame")), "")
            klass = "TRANSLOCATION" if c5 and c3 and _chrom(c5) != _chrom(c3) else ""
            split = prov.get("split_reads", r.value)
            comments = ", ".join(f"{k} {prov[k]}" for k in ("caller", "confidence")
                                 if prov.get(k))
            rows.append([
                r.sample, "SOMATIC", g5, _chrom(c5), p5, g3, _chrom(c3), p3, frame,
                _build(by_id.get(pid, {}), r.sample, "fusions"), klass,
                "" if split is None or (isinstance(split, float) and math.isnan(split))
                else int(split),
                prov.get("spanning_pairs") if prov.get("spanning_pairs") is not None else "",
                f"Fusion ({str(r.call).replace('_', ' ')})", f"{r.feature} fusion transcript",
                "No", "Yes", comments])
    rows.sort(key=lambda row: (row[0], row[2], row[5]))
    return rows


def expression_zscores(tpm: pd.DataFrame) -> pd.DataFrame:
    """Genes x samples z-scores of log2(TPM + 1) against all samples given.

    ``tpm`` is samples x genes (as :meth:`tumorboard.workspace.Workspace.matrix` returns it).
    z = (x - mean) / SD per gene over the samples (SD with n - 1); NaN where SD is 0 or
    undefined. This is cBioPortal's "relative to all samples" z-score of its z-score
    normalisation documentation, on log-transformed RNA-seq values.
    """
    values = np.log2(tpm.astype("float64") + 1.0)
    mean = values.mean(axis=0)
    sd = values.std(axis=0, ddof=1)
    z = (values - mean) / sd.where(sd > 0)
    return z.T


def cbioportal_study_files(
    patients: Sequence[Mapping[str, Any]],
    findings: Mapping[str, pd.DataFrame],
    expression: pd.DataFrame | None = None,
    *,
    lines: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    study_id: str = "tumorboard_sarcoma",
    name: str = "tumorboard sarcoma cohort",
    description: str | None = None,
) -> dict[str, str]:
    """The files of a cBioPortal study (relative path -> text), from registry records.

    Pure: no registry or file access.

    Parameters
    ----------
    patients
        :func:`tumorboard.registry.queries.patient_detail` records (with samples, assays and
        diagnoses).
    findings
        Patient pseudonym -> findings table of the latest analysis
        (:func:`tumorboard.registry.queries.patient_findings`).
    expression
        Samples x genes TPM (``workspace.matrix('expression')``); ``None`` or empty: no
        expression profile.
    lines, events
        Therapy lines and clinical events (:func:`tumorboard.outcomes.records.lines_table`,
        ``events_table``): written as ``TREATMENT`` rows (``SUBTYPE`` = our modality, which
        :func:`tumorboard.io.outcomes.read_cbioportal_timeline` reads back) and ``STATUS``
        rows (Progression, Recurrence, Deceased, Alive), days from the first diagnosis.
    study_id, name, description
        ``cancer_study_identifier``, ``name`` and ``description`` of ``meta_study.txt``.

    Returns
    -------
    dict
        File name (``case_lists/...`` for case lists) -> content.

    Raises
    ------
    InputError
        If the study id or a patient or sample id has characters cBioPortal does not accept,
        or there is no tumour sample.
    """
    _check_ids([study_id], "study")
    tumour = _tumour_samples(patients)
    if not tumour:
        raise InputError("no tumour samples to export",
                         fix="import cases with tumour samples and run `tumorboard analyze`")
    _check_ids([p["patient"] for p in patients], "patient")
    _check_ids([s["id"] for _, s in tumour], "sample")
    sample_ids = [s["id"] for _, s in tumour]
    sample_set = set(sample_ids)
    layers = {s["id"]: set(s.get("layers") or []) for _, s in tumour}
    files: dict[str, str] = {}

    codes = sorted({(p.get("entity") or {}).get("oncotree_code") or "" for p in patients} - {""})
    n_patients = len({pid for pid, _ in tumour})
    files["meta_study.txt"] = _meta(
        type_of_cancer=codes[0].lower() if len(codes) == 1 else "mixed",
        cancer_study_identifier=study_id, name=name,
        description=description or (
            f"Multi-omics molecular tumour board cohort exported by tumorboard: {n_patients} "
            f"patients, {len(sample_ids)} tumour samples ({', '.join(codes)})."),
        add_global_case_list="false", reference_genome="hg38")

    def meta_for(alteration: str, datatype: str, data: str, **extra: Any) -> str:
        return _meta(cancer_study_identifier=study_id, genetic_alteration_type=alteration,
                     datatype=datatype, **extra, data_filename=data)

    # --- clinical ---------------------------------------------------------------------------
    patient_rows, sample_rows = [], []
    for p in patients:
        entity = p.get("entity") or {}
        first = _first_diagnosis(p)
        yob = p.get("year_of_birth")
        patient_rows.append({
            "PATIENT_ID": p["patient"], "SEX": p.get("sex"),
            "AGE": (first.year - int(yob)) if first is not None and yob else None,
            "ONCOTREE_CODE": entity.get("oncotree_code"), "STAGE": entity.get("stage"),
            "ECOG": p.get("ecog"),
            "PRIOR_THERAPIES": "; ".join(p.get("prior_therapies") or []) or None})
    for pid, s in tumour:
        p = next(q for q in patients if q["patient"] == pid)
        code = (p.get("entity") or {}).get("oncotree_code")
        main, detailed = _oncotree(code)
        origin = str(s.get("origin") or "")
        metastatic = origin in ("metastasis", "metastatic")
        tcc = s.get("tumour_cell_content")
        sample_rows.append({
            "PATIENT_ID": pid, "SAMPLE_ID": s["id"], "ONCOTREE_CODE": code,
            "CANCER_TYPE": main, "CANCER_TYPE_DETAILED": detailed,
            "SAMPLE_TYPE": ("Metastasis" if metastatic else "Primary" if origin == "primary"
                            else origin.capitalize() or None),
            "PRIMARY_SITE": None if metastatic else s.get("site"),
            "METASTATIC_SITE": s.get("site") if metastatic else None,
            "TUMOR_PURITY": round(100 * float(tcc), 1) if tcc is not None else None})
    files["meta_clinical_patient.txt"] = meta_for("CLINICAL", "PATIENT_ATTRIBUTES",
                                                  "data_clinical_patient.txt")
    files["data_clinical_patient.txt"] = _clinical(_PATIENT_ATTRIBUTES, patient_rows)
    files["meta_clinical_sample.txt"] = meta_for("CLINICAL", "SAMPLE_ATTRIBUTES",
                                                 "data_clinical_sample.txt")
    files["data_clinical_sample.txt"] = _clinical(_SAMPLE_ATTRIBUTES, sample_rows)

    case_lists: dict[str, tuple[str, str, str, list[str]]] = {
        "all": ("All samples", "all_cases_in_study", "All tumour samples", sample_ids)}

    # --- mutations --------------------------------------------------------------------------
    sequenced = [s for s in sample_ids if "variants" in layers[s]]
    if sequenced:
        files["meta_mutations.txt"] = meta_for(
            "MUTATION_EXTENDED", "MAF", "data_mutations.txt", stable_id="mutations",
            show_profile_in_analysis_tab="true", profile_name="Mutations",
            profile_description="Reportable somatic small variants (tumorboard variants "
                                "layer: PASS, depth, VAF and consequence filters; VEP "
                                "annotation).")
        files["data_mutations.txt"] = _table(
            MAF_COLUMNS, _mutation_rows(patients, findings, set(sequenced)))
        case_lists["sequenced"] = ("Samples with mutation data", "all_cases_with_mutation_data",
                                   "Tumour samples with small-variant calls", sequenced)

    # --- copy number ------------------------------------------------------------------------
    profiled = [s for s in sample_ids if "copy_number" in layers[s]]
    if profiled:
        cna = _cna_matrix(findings, profiled)
        files["meta_cna.txt"] = meta_for(
            "COPY_NUMBER_ALTERATION", "DISCRETE", "data_cna.txt", stable_id="cna",
            show_profile_in_analysis_tab="true",
            profile_name="Putative copy-number alterations (tumorboard)",
            profile_description="Purity- and ploidy-aware gene copy-number calls. Values: "
                                "-2 = homozygous deletion; -1 = loss; 0 = no change or not "
                                "stored; 1 = gain; 2 = amplification.")
        files["data_cna.txt"] = _table(
            ["Hugo_Symbol", *profiled],
            ([gene, *row] for gene, row in zip(cna.index, cna.to_numpy().tolist(),
                                               strict=True)))
        case_lists["cna"] = ("Samples with CNA data", "all_cases_with_cna_data",
                             "Tumour samples with copy-number data", profiled)
    if sequenced and profiled:
        both = [s for s in sequenced if s in set(profiled)]
        case_lists["cnaseq"] = ("Samples with mutation and CNA data",
                                "all_cases_with_mutation_and_cna_data",
                                "Tumour samples with small variants and copy number", both)

    # --- structural variants ----------------------------------------------------------------
    sv_samples = [s for s in sample_ids if "fusions" in layers[s]]
    if sv_samples:
        files["meta_sv.txt"] = meta_for(
            "STRUCTURAL_VARIANT", "SV", "data_sv.txt", stable_id="structural_variants",
            show_profile_in_analysis_tab="true", profile_name="Structural variants",
            profile_description="Fusion transcripts from RNA-seq (Arriba / STAR-Fusion), "
                                "confidence-filtered; 5' partner as Site1.")
        files["data_sv.txt"] = _table(SV_COLUMNS,
                                      _sv_rows(patients, findings, set(sv_samples)))
        case_lists["sv"] = ("Samples with SV data", "all_cases_with_sv_data",
                            "Tumour samples with fusion calls", sv_samples)

    # --- expression z-scores ----------------------------------------------------------------
    if expression is not None and not expression.empty:
        rna = [s for s in sample_ids if s in set(expression.index)]
        if len(rna) >= 2:
            z = expression_zscores(expression.loc[rna])
            z = z[z.index.notna()].sort_index()
            files["meta_mrna_seq_zscores.txt"] = meta_for(
                "MRNA_EXPRESSION", "Z-SCORE", "data_mrna_seq_zscores.txt",
                stable_id="rna_seq_mrna_median_Zscores", show_profile_in_analysis_tab="true",
                profile_name="mRNA expression z-scores relative to all samples (log RNA-seq)",
                profile_description="z = (log2(TPM+1) - mean) / SD per gene over all "
                                    f"{len(rna)} tumour samples of the study.")
            values = z.round(4).astype(object).where(z.notna(), "NA").to_numpy().tolist()
            files["data_mrna_seq_zscores.txt"] = _table(
                ["Hugo_Symbol", *rna],
                ([gene, *row] for gene, row in zip(z.index, values, strict=True)))
            case_lists["rna_seq_mrna"] = ("Samples with mRNA data (RNA-seq)",
                                          "all_cases_with_mrna_rnaseq_data",
                                          "Tumour samples with RNA-seq expression", rna)

    # --- timeline ---------------------------------------------------------------------------
    status_rows, specimen_rows = [], []
    for p in patients:
        first = _first_diagnosis(p)
        if first is None:
            continue
        for d in p.get("diagnoses") or []:
            if d.get("date"):
                text = (f"Diagnosis: {d.get('histology') or d.get('oncotree_code')} "
                        f"(OncoTree {d.get('oncotree_code')}"
                        + (f", {d['stage']}" if d.get("stage") else "") + ")")
                status_rows.append([p["patient"], (pd.Timestamp(d["date"]) - first).days, "",
                                    "STATUS", text])
        for s in p.get("samples") or []:
            if s.get("type") == "tumour" and s.get("collection_date") and s["id"] in sample_set:
                specimen_rows.append([p["patient"],
                                      (pd.Timestamp(s["collection_date"]) - first).days, "",
                                      "SPECIMEN", s["id"], s.get("site") or "", "tissue"])
    anchor = {p["patient"]: _first_diagnosis(p) for p in patients}
    treatment_rows = []
    for r in (lines.itertuples() if lines is not None else []):
        day0 = anchor.get(r.patient)
        if day0 is None:
            continue
        stop = "" if pd.isna(r.stop) else (pd.Timestamp(r.stop) - day0).days
        kind = "Medical Therapy" if r.systemic else "Local Therapy"
        treatment_rows.append([r.patient, (pd.Timestamp(r.start) - day0).days, stop,
                               "TREATMENT", kind, r.modality.replace("_", " "),
                               (r.agents or r.regimen).replace(";", "+")])
        if not pd.isna(r.progression):
            status_rows.append([r.patient, (pd.Timestamp(r.progression) - day0).days, "",
                                "STATUS", "Progression"])
    words = {"progression": "Progression", "recurrence": "Recurrence", "death": "Deceased",
             "last_followup": "Alive at last follow-up"}
    for r in (events.itertuples() if events is not None else []):
        day0 = anchor.get(r.patient)
        if day0 is not None:
            status_rows.append([r.patient, (pd.Timestamp(r.date) - day0).days, "", "STATUS",
                                words[r.kind]])
    status_rows = [list(t) for t in dict.fromkeys(map(tuple, status_rows))]  # one per event
    if treatment_rows:
        files["meta_timeline_treatment.txt"] = meta_for("CLINICAL", "TIMELINE",
                                                        "data_timeline_treatment.txt")
        files["data_timeline_treatment.txt"] = _table(
            ["PATIENT_ID", "START_DATE", "STOP_DATE", "EVENT_TYPE", "TREATMENT_TYPE",
             "SUBTYPE", "AGENT"], sorted(treatment_rows, key=lambda r: (r[0], r[1])))
    if status_rows:
        files["meta_timeline_status.txt"] = meta_for("CLINICAL", "TIMELINE",
                                                     "data_timeline_status.txt")
        files["data_timeline_status.txt"] = _table(
            ["PATIENT_ID", "START_DATE", "STOP_DATE", "EVENT_TYPE", "STATUS"],
            sorted(status_rows, key=lambda r: (r[0], r[1])))
    if specimen_rows:
        files["meta_timeline_specimen.txt"] = meta_for("CLINICAL", "TIMELINE",
                                                       "data_timeline_specimen.txt")
        files["data_timeline_specimen.txt"] = _table(
            ["PATIENT_ID", "START_DATE", "STOP_DATE", "EVENT_TYPE", "SAMPLE_ID",
             "SPECIMEN_SITE", "SPECIMEN_TYPE"],
            sorted(specimen_rows, key=lambda r: (r[0], r[1], r[4])))

    # --- case lists -------------------------------------------------------------------------
    for suffix, (list_name, category, what, ids) in case_lists.items():
        files[f"case_lists/cases_{suffix}.txt"] = _meta(
            cancer_study_identifier=study_id, stable_id=f"{study_id}_{suffix}",
            case_list_name=list_name, case_list_description=f"{what} ({len(ids)} samples)",
            case_list_category=category, case_list_ids="\t".join(ids))
    return files


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished ``tmp`` folder to ``out_dir``, replacing a previous export."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        os.replace(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_cbioportal_study(
    workspace: Any,
    out_dir: str | Path,
    *,
    study_id: str = "tumorboard_sarcoma",
    name: str = "tumorboard sarcoma cohort",
    description: str | None = None,
) -> list[Path]:
    """Write the workspace's cohort as a cBioPortal study folder; return the files written.

    The folder is written under a temporary name beside ``out_dir`` and renamed into place
    when complete, so a reader sees the old export or the new one, never a mix. An existing
    ``out_dir`` is replaced only if it is empty or a previous study export (it has a
    ``meta_study.txt``).

    Parameters
    ----------
    workspace
        An opened :class:`tumorboard.workspace.Workspace`.
    out_dir
        Study folder to create or replace.
    study_id
        ``cancer_study_identifier`` (letters, digits, ``.``, ``_``, ``-``); case-list stable ids
        are ``<study_id>_all`` etc.
    name, description
        Study name and description for ``meta_study.txt``.

    Returns
    -------
    list of pathlib.Path
        The files in ``out_dir``, sorted.

    Raises
    ------
    NotFoundError
        If the registry has no patients.
    InputError
        If ``out_dir`` is a non-empty folder that is not a study export, or an id cannot be
        used in cBioPortal (nothing is written then).

    Notes
    -----
    cBioPortal file formats: https://docs.cbioportal.org/file-formats/ (see the module
    docstring for what each file holds).
    """
    from tumorboard.outcomes.records import events_table, lines_table
    from tumorboard.registry.queries import list_patients, patient_detail, patient_findings

    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (
            any(out_dir.iterdir()) and not (out_dir / "meta_study.txt").exists())):
        raise InputError(f"{out_dir} exists and is not a cBioPortal study export",
                         expected="a new or empty folder, or a previous export",
                         fix="choose another output folder")
    with workspace.session() as session:
        listed = list_patients(session)
        if not listed:
            raise NotFoundError("no patients in the registry; import cases with "
                                "`tumorboard import` first")
        patients = [patient_detail(session, p["patient"]) for p in listed]
        findings = {p["patient"]: patient_findings(session, p["patient"]) for p in listed}
        lines, events = lines_table(session), events_table(session)
    expression = None
    if workspace.current_assays("expression"):
        expression = workspace.matrix("expression")
    files = cbioportal_study_files(patients, findings, expression, lines=lines, events=events,
                                   study_id=study_id, name=name, description=description)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(out_dir / rel for rel in files)

"""The MTB report document as an HL7 FHIR R4 Bundle following the Genomics Reporting IG.

:func:`fhir_bundle` is a pure function of the report document
(:func:`tumorboard.report.document.build_document`); it reads nothing else, so the FHIR export
cannot disagree with the HTML and PDF reports.

Specification followed: HL7 FHIR Genomics Reporting Implementation Guide 3.0.0 (STU3, FHIR R4;
http://hl7.org/fhir/uv/genomics-reporting/). Profiles, codes and code systems were checked
against the IG's FSH sources (github.com/HL7/genomics-reporting, ``input/fsh/CGFindings.fsh``,
``CGImplications.fsh``, ``CGGeneral.fsh``, ``CGCodeSystem.fsh``, ``Aliases.fsh``) and its
published STU3 examples (``Observation-TherapeuticImplicationExample1``,
``Observation-TumorMutationBurdenExample01``, ``Observation-ExampleSomaticCNV``,
``Observation-ROS1-Fusion-var``); codes are listed with their source next to the constants
below. The IG does not profile Patient or Specimen; they are plain R4 resources.

Bundle type ``collection``: the IG's own example bundles are collections, and a ``document``
Bundle would need a Composition as first entry and stands for an attested, immutable clinical
document, while an MTB report stays a draft until the board signs it (``sign_off``). The
report's state is carried by ``DiagnosticReport.status`` (``preliminary`` for a draft,
``final`` once signed).

What becomes what
-----------------
- ``patient`` -> Patient with the pseudonym as its only identifier (no name, no address),
  gender and the year of birth as ``birthDate`` (a FHIR date may be a year alone).
- ``samples`` -> Specimen (site, type and collection date as text; no verified codes).
- ``findings`` mutations, fusions and copy-number changes -> Observations with the
  ``variant`` profile (LOINC 69548-6 'Genetic variant assessment', value LA9633-4 'Present');
  TMB -> ``molecular-biomarker`` (LOINC 94076-7).
- ``recommendations`` and ``resistance`` -> Observations with the ``therapeutic-implication``
  profile whose ``derivedFrom`` points at the variant Observations of their supporting DNA
  findings, and at ``molecular-biomarker`` Observations for RNA, protein, phosphoprotein,
  target-state and HLA support (the profile requires at least one ``derivedFrom``; a
  recommendation supported by the entity alone has none).
- the whole -> DiagnosticReport with the ``genomics-report`` profile (LOINC 81247-9) listing
  every Observation in ``result`` and a plain-text ``conclusion``.

Concepts without a verified code use a text-only CodeableConcept (gene symbols, agents,
disease) or a tumorboard code system (MASTER evidence levels, cohort-relative scores):

- ``https://tumorboard.example/fhir/CodeSystem/evidence-level``: the NCT/DKTK MASTER level
  with its modifiers exactly as the report writes it (``m2A Z``; Leichsenring et al.,
  Int J Cancer 2019, doi:10.1002/ijc.32358; Horak et al., Cancer Discov 2021,
  doi:10.1158/2159-8290.CD-21-0126).
- ``https://tumorboard.example/fhir/CodeSystem/molecular-measure``: ``rna-loo-z``,
  ``protein-loo-z``, ``activation-score``, ``target-state``, ``hla-allele``, ``methylation``
  (see docs/methods.md for how each is computed).

Gene symbols are sent as the CodeableConcept's text, not as HGNC codings: the IG wants the
HGNC *id* as the code and tumorboard ships only symbols. HGVS expressions are sent as the
report has them (``p.Val600Glu`` relative to the VEP-selected transcript), without the
reference-sequence accession, which the report document does not carry.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping
from typing import Any

from tumorboard.report.document import check_document, summary_sentences

__all__ = ["EVIDENCE_LEVEL_SYSTEM", "MEASURE_SYSTEM", "fhir_bundle"]

FHIR_VERSION = "4.0.1"

# --- tumorboard namespaces (ours; not registered code systems) --------------------------------
TB = "https://tumorboard.example/fhir"
#: MASTER evidence levels with modifiers, e.g. ``m2A Z`` (see the module docstring).
EVIDENCE_LEVEL_SYSTEM = f"{TB}/CodeSystem/evidence-level"
#: Cohort-relative measures tumorboard computes (leave-one-out z-scores, activation, state).
MEASURE_SYSTEM = f"{TB}/CodeSystem/molecular-measure"
PSEUDONYM_SYSTEM = f"{TB}/sid/pseudonym"
REPORT_SYSTEM = f"{TB}/sid/report"
SAMPLE_SYSTEM = f"{TB}/sid/sample"

# --- Genomics Reporting IG 3.0.0 profiles (canonical URLs, CGFindings/CGImplications.fsh) -----
_GR = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
PROFILE_REPORT = _GR + "genomics-report"
PROFILE_VARIANT = _GR + "variant"
PROFILE_IMPLICATION = _GR + "therapeutic-implication"
PROFILE_BIOMARKER = _GR + "molecular-biomarker"
#: workflow-relatedArtifact extension, allowed on every implication (CGImplications.fsh alias).
EXT_RELATED_ARTIFACT = "http://hl7.org/fhir/StructureDefinition/workflow-relatedArtifact"

# --- code systems (Aliases.fsh of the IG) -------------------------------------------------------
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SO = "http://sequenceontology.org"
HGVS = "http://varnomen.hgvs.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
#: The IG's 'To Be Determined' codes (CGCodeSystem.fsh, CodeSystem tbd-codes-cs).
TBD_CODES = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
BIOMARKER_ONTOLOGY = ("http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/"
                      "molecular-biomarker-ontology-cs")


def _code(system: str, code: str, display: str | None = None,
          text: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    out: dict[str, Any] = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def _loinc(code: str, display: str | None = None) -> dict[str, Any]:
    # Displays only where the IG's examples show them; a coding without one is valid.
    return _code(LOINC, code, display)


def _text(text: str) -> dict[str, Any]:
    return {"text": text}


# LOINC codes, each with where it was verified (IG 3.0.0 FSH unless said otherwise).
REPORT_CODE = _loinc("81247-9", "Master HL7 genetic variant reporting panel")  # GR/mCODE examples
VARIANT_CODE = _loinc("69548-6", "Genetic variant assessment")  # Variant profile code
PRESENT = _loinc("LA9633-4", "Present")  # Variant value (LL1971-2), IG examples
SEQUENCING = _loinc("LA26398-0", "Sequencing")  # Variant method (LL4048-6), IG examples
SOMATIC = _loinc("LA6684-0", "Somatic")  # genomic-source-class (LL378-1), IG examples
TMB_CODE = _loinc("94076-7", "Mutations/Megabase [# Ratio] in Tumor")  # TMB example
GRCH = {"GRCh38": _loinc("LA26806-2", "GRCh38"),
        "GRCh37": _loinc("LA14029-5", "GRCh37 (hg19)")}
C_GENE = _loinc("48018-6", "Gene studied [ID]")
C_CODING_HGVS = _loinc("48004-6")
C_PROTEIN_HGVS = _loinc("48005-3")
C_VAF = _loinc("81258-6")
C_SOURCE = _loinc("48002-0", "Genomic source class [Type]")
C_ASSEMBLY = _loinc("62374-4")
C_CHANGE_TYPE = _loinc("48019-4", "DNA change type")
C_COPY_NUMBER = _loinc("82155-3", "Genomic structural variant copy number")
C_VARIATION = _loinc("81252-9", "Discrete genetic variant")
C_REF = _loinc("69547-8", "Genomic ref allele [ID]")
C_ALT = _loinc("69551-0")
C_EXACT = _loinc("81254-5")
C_COORDINATES = _loinc("92822-6", "Genomic coordinate system [Type]")
ONE_BASED = _loinc("LA30102-0", "1-based character counting")  # ExampleSomaticCNV
C_EVIDENCE = _loinc("93044-6")
C_MEDICATION = _loinc("51963-7", "Medication assessed")
C_CONTEXT = _loinc("81259-4")  # phenotypic-treatment-context slice
# GeneticTherapeuticImplicationsVS (CGValueSets.fsh): the board's prediction for this patient
# is a presumption, whatever the evidence level.
PRESUMED = {"sensitivity": _loinc("LA9661-5", "Presumed responsive"),
            "resistance": _loinc("LA9660-7", "Presumed resistant")}
# Sequence Ontology terms (IG examples; Ensembl variation consequence table).
SO_TERMS = {"gain": ("SO:0001742", "copy_number_gain"),
            "loss": ("SO:0001743", "copy_number_loss"),
            "fusion": ("SO:0001565", "gene_fusion")}
_CN_SO = {"amplification": "gain", "gain": "gain", "loss": "loss", "deletion": "loss"}
_CN_WORDS = {"amplification": "amplification", "gain": "gain", "loss": "loss",
             "deletion": "homozygous deletion"}

IMPLICATION_CODE = _code(TBD_CODES, "therapeutic-implication", "Therapeutic Implication")
BIOMARKER_CATEGORY = _code(TBD_CODES, "biomarker-category",
                           "A characterization of a given biomarker observation.")

_VARIANT_KINDS = ("mutation", "fusion", "amplification", "gain", "loss", "deletion")
_GENOMIC = re.compile(r"^(chr[0-9XYM]+):(\d+) ([ACGTN]+)>([ACGTN]+)$")

#: Measures of non-DNA support: layer -> (code, display, molecular-biomarker-ontology category).
_MEASURES: dict[str, tuple[str, str, str]] = {
    "expression": ("rna-loo-z", "RNA expression, cohort leave-one-out z-score", "nucleicAcid"),
    "proteome": ("protein-loo-z", "Protein abundance, cohort leave-one-out z-score",
                 "protein"),
    "phosphoproteome": ("activation-score", "Kinase activation score (phosphoproteome)",
                        "protein"),
    "targets": ("target-state", "Target state: expression versus activation", "protein"),
    "hla": ("hla-allele", "HLA allele", "nucleicAcid"),
    "methylation": ("methylation", "DNA methylation finding", "methylationAnalysis"),
}


def _uuid(report_id: str, key: str) -> str:
    """A stable UUID per report and resource, so that re-exporting gives the same Bundle."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{TB}/{report_id}/{key}"))


def _quantity(value: float, *, unit: str = "1", code: str = "1",
              digits: int = 4) -> dict[str, Any]:
    return {"value": round(float(value), digits), "unit": unit, "system": UCUM, "code": code}


def _component(code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {"code": code, **value}


def _gene_component(gene: str) -> dict[str, Any]:
    return _component(C_GENE, valueCodeableConcept=_text(gene))


def _categories(*, biomarker: bool = False) -> list[dict[str, Any]]:
    out = [_code(OBS_CATEGORY, "laboratory", "Laboratory")]
    if biomarker:
        out.append(BIOMARKER_CATEGORY)
    out.append(_code(DIAGNOSTIC_SERVICE, "GE", "Genetics"))
    return out


def _citation(ref: str) -> dict[str, Any]:
    """A RelatedArtifact for one of the report's citation strings."""
    art: dict[str, Any] = {"type": "citation", "citation": ref}
    ref_s = ref.strip()
    if ref_s.upper().startswith("PMID:"):
        art["url"] = f"https://pubmed.ncbi.nlm.nih.gov/{ref_s[5:].strip()}/"
    elif ref_s.upper().startswith("DOI:"):
        art["url"] = f"https://doi.org/{ref_s[4:].strip()}"
    elif re.fullmatch(r"NCT\d{8}", ref_s):
        art["url"] = f"https://clinicaltrials.gov/study/{ref_s}"
    return {"url": EXT_RELATED_ARTIFACT, "valueRelatedArtifact": art}


def _check(document: Mapping[str, Any]) -> None:
    check_document(document, ("report", "patient", "samples", "findings"))


class _Bundle:
    """Collects the entries of one Bundle; each resource gets a stable ``urn:uuid``."""

    def __init__(self, report_id: str) -> None:
        self.report_id = report_id
        self.entries: list[dict[str, Any]] = []

    def ref(self, key: str) -> str:
        return f"urn:uuid:{_uuid(self.report_id, key)}"

    def add(self, key: str, resource: dict[str, Any]) -> dict[str, str]:
        resource = {"resourceType": resource.pop("resourceType"),
                    "id": _uuid(self.report_id, key), **resource}
        self.entries.append({"fullUrl": self.ref(key), "resource": resource})
        return {"reference": self.ref(key)}


def _patient(doc: Mapping[str, Any]) -> dict[str, Any]:
    p = doc["patient"]
    gender = {"male": "male", "female": "female", "other": "other"}.get(
        str(p.get("sex") or "").lower(), "unknown")
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"use": "secondary", "system": PSEUDONYM_SYSTEM, "value": p["patient"]}],
        "gender": gender,
    }
    if p.get("year_of_birth"):
        out["birthDate"] = f"{int(p['year_of_birth']):04d}"
    return out


def _specimen(sample: Mapping[str, Any], subject: dict[str, str]) -> dict[str, Any]:
    kind = {"tumour": "tumour tissue", "normal": "normal (germline) sample"}.get(
        str(sample.get("type")), str(sample.get("type") or "sample"))
    if sample.get("origin"):
        kind += f", {sample['origin']}"
    out: dict[str, Any] = {
        "resourceType": "Specimen",
        "identifier": [{"system": SAMPLE_SYSTEM, "value": sample["id"]}],
        "type": _text(kind),
        "subject": subject,
    }
    collection: dict[str, Any] = {}
    if sample.get("collection_date"):
        collection["collectedDateTime"] = sample["collection_date"]
    if sample.get("site"):
        collection["bodySite"] = _text(str(sample["site"]))
    if collection:
        out["collection"] = collection
    notes = []
    if sample.get("tumour_cell_content") is not None:
        notes.append(f"tumour cell content {100 * float(sample['tumour_cell_content']):.0f} %")
    if sample.get("layers"):
        notes.append("profiled layers: " + ", ".join(sample["layers"]))
    if notes:
        out["note"] = [{"text": "; ".join(notes)}]
    return out


def _genome_builds(doc: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    return {(q.get("sample"), q.get("layer")): q["genome_build"]
            for q in doc.get("quality") or [] if q.get("genome_build")}


def _variant_key(f: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(f.get("sample")), str(f.get("kind")), str(f.get("feature")))


def _variant(f: Mapping[str, Any], *, common: dict[str, Any],
             build: str | None) -> dict[str, Any]:
    """A ``variant`` Observation for a mutation, fusion or copy-number finding."""
    kind = f["kind"]
    gene = f.get("gene")
    feature = str(f.get("feature") or "")
    components: list[dict[str, Any]] = []
    notes: list[str] = []
    if kind == "fusion":
        partners = [g for g in feature.split("::") if g] or ([gene] if gene else [])
        components += [_gene_component(g) for g in partners]
        components.append(_component(C_VARIATION, valueCodeableConcept=_text(feature)))
        so, label = SO_TERMS["fusion"]
        components.append(_component(C_CHANGE_TYPE, valueCodeableConcept=_code(SO, so, label)))
        notes.append(f"{feature} fusion transcript (RNA-seq), 5' partner {partners[0]}"
                     + (f", {f['value']:.0f} junction reads" if f.get("value") is not None
                        else "") + f"; call {f.get('call')}")
    elif kind == "mutation":
        if gene:
            components.append(_gene_component(gene))
        change = feature[len(gene) + 1:] if gene and feature.startswith(gene + " ") else feature
        genomic = _GENOMIC.match(change)
        if change.startswith("p."):
            components.append(_component(C_PROTEIN_HGVS, valueCodeableConcept=_code(
                HGVS, change, text=feature)))
        elif change.startswith(("c.", "n.")):
            components.append(_component(C_CODING_HGVS, valueCodeableConcept=_code(
                HGVS, change, text=feature)))
        elif genomic:
            _, pos, ref, alt = genomic.groups()
            components += [
                _component(C_REF, valueString=ref), _component(C_ALT, valueString=alt),
                _component(C_EXACT, valueRange={"low": {"value": int(pos)}}),
                _component(C_COORDINATES, valueCodeableConcept=ONE_BASED),
            ]
        if f.get("value") is not None:
            components.append(_component(C_VAF, valueQuantity=_quantity(f["value"])))
        notes.append(f"{feature}; call {f.get('call')}")
    else:  # copy number
        if gene:
            components.append(_gene_component(gene))
        so, label = SO_TERMS[_CN_SO[kind]]
        components.append(_component(C_CHANGE_TYPE, valueCodeableConcept=_code(SO, so, label)))
        if f.get("value") is not None:
            components.append(_component(C_COPY_NUMBER,
                                         valueQuantity=_quantity(f["value"], digits=2)))
        notes.append(f"{gene} {_CN_WORDS[kind]} ({str(f.get('call') or '').replace('_', ' ')})"
                     + (f", estimated copy number {f['value']:.2f}" if f.get("value") is not None
                        else ""))
    components.append(_component(C_SOURCE, valueCodeableConcept=SOMATIC))
    if build in GRCH:
        components.append(_component(C_ASSEMBLY, valueCodeableConcept=GRCH[build]))
    return {
        "resourceType": "Observation",
        "meta": {"profile": [PROFILE_VARIANT]},
        **common,
        "category": _categories(),
        "code": VARIANT_CODE,
        "valueCodeableConcept": PRESENT,
        "method": SEQUENCING,
        "component": components,
        "note": [{"text": n} for n in notes],
    } | ({"specimen": f["_specimen"]} if f.get("_specimen") else {})


def _tmb(f: Mapping[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    out = {
        "resourceType": "Observation",
        "meta": {"profile": [PROFILE_BIOMARKER]},
        **common,
        "category": _categories(biomarker=True),
        "code": TMB_CODE,
        "valueQuantity": _quantity(f["value"], unit="mutations/Mb", code="1/1000000{Base}",
                                   digits=2),
        "component": [_component(BIOMARKER_CATEGORY, valueCodeableConcept=_code(
            BIOMARKER_ONTOLOGY, "molgen", "molecular sequence adjacent category"))],
        "note": [{"text": f"tumour mutational burden {f['value']:.2f} mutations/Mb, "
                          f"call {f.get('call')}"}],
    }
    if f.get("_specimen"):
        out["specimen"] = f["_specimen"]
    return out


def _biomarker(s: Mapping[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """A ``molecular-biomarker`` Observation for RNA, protein, activation, target or HLA
    support of a recommendation."""
    layer = str(s.get("layer"))
    code, display, category = _MEASURES[layer]
    gene = s.get("gene")
    feature = str(s.get("feature") or gene or "")
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": {"profile": [PROFILE_BIOMARKER]},
        **common,
        "category": _categories(biomarker=True),
        "code": _code(MEASURE_SYSTEM, code, display, text=f"{feature}: {display}"),
    }
    components = [_gene_component(gene)] if gene else []
    notes = []
    if layer == "targets":
        out["valueCodeableConcept"] = _text(str(s.get("state") or "unknown").replace("_", " "))
        for key, measure, label in (("rna_z", "rna-loo-z", _MEASURES["expression"][1]),
                                    ("protein_z", "protein-loo-z", _MEASURES["proteome"][1]),
                                    ("activation_score", "activation-score",
                                     _MEASURES["phosphoproteome"][1])):
            if s.get(key) is not None:
                components.append(_component(_code(MEASURE_SYSTEM, measure, label),
                                             valueQuantity=_quantity(s[key])))
        if s.get("rna_tpm") is not None:
            notes.append(f"RNA {float(s['rna_tpm']):.1f} TPM")
    elif layer == "hla":
        out["valueString"] = feature
    else:
        value = s.get("z_score") if s.get("z_score") is not None else s.get("value")
        if value is not None:
            out["valueQuantity"] = _quantity(value)
        if s.get("percentile_cohort") is not None:
            notes.append(f"cohort percentile {float(s['percentile_cohort']):.0f}")
    if s.get("call"):
        notes.append(f"call {s['call']}")
    components.append(_component(BIOMARKER_CATEGORY, valueCodeableConcept=_code(
        BIOMARKER_ONTOLOGY, category)))
    out["component"] = components
    if notes:
        out["note"] = [{"text": "; ".join(notes)}]
    if s.get("_specimen"):
        out["specimen"] = s["_specimen"]
    return out


def _implication(rec: Mapping[str, Any], *, common: dict[str, Any],
                 derived: list[dict[str, str]], context: str | None) -> dict[str, Any]:
    direction = "resistance" if rec.get("direction") == "resistance" else "sensitivity"
    components = [_component(IMPLICATION_CODE, valueCodeableConcept={
        **PRESUMED[direction], "text": f"{direction} to {rec.get('therapy')}"})]
    agents = [a for a in rec.get("agents") or [] if a] or [rec.get("therapy") or "unnamed"]
    components += [_component(C_MEDICATION, valueCodeableConcept=_text(str(a)))
                   for a in agents]
    level = rec.get("evidence_level")
    if level:
        components.append(_component(C_EVIDENCE, valueCodeableConcept=_code(
            EVIDENCE_LEVEL_SYSTEM, str(level), f"NCT/DKTK MASTER evidence level {level}",
            text=str(level))))
    if context:
        components.append(_component(C_CONTEXT, valueCodeableConcept=_text(context)))
    notes = [f"Rank {rec.get('rank')}: {rec.get('therapy')} ({rec.get('drug_class')}; "
             f"basket {rec.get('basket')}; tier {rec.get('tier')}; status {rec.get('status')})"]
    if rec.get("rationale"):
        notes.append(str(rec["rationale"]))
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": {"profile": [PROFILE_IMPLICATION]},
        **common,
        "category": _categories(),
        "code": IMPLICATION_CODE,
        "component": components,
        "note": [{"text": n} for n in notes],
    }
    if rec.get("id") is not None:
        out["identifier"] = [{"system": f"{TB}/sid/recommendation", "value": str(rec["id"])}]
    citations = [c for c in rec.get("citations") or [] if c]
    if citations:
        out["extension"] = [_citation(str(c)) for c in citations]
    if derived:
        out["derivedFrom"] = derived
    return out


def _conclusion(doc: Mapping[str, Any]) -> str:
    diag = doc.get("diagnosis") or {}
    parts = []
    if diag.get("oncotree_code"):
        parts.append(f"Diagnosis: {diag.get('name') or diag['oncotree_code']} "
                     f"(OncoTree {diag['oncotree_code']}).")
    parts.extend(summary_sentences(doc))
    return " ".join(parts)


def fhir_bundle(document: Mapping[str, Any]) -> dict[str, Any]:
    """The report document as a FHIR R4 ``collection`` Bundle (Genomics Reporting IG STU3).

    Pure: reads only ``document``; the same document always gives the same Bundle (resource
    ids are UUIDv5 of the report id and the resource's key).

    Parameters
    ----------
    document
        A report document from :func:`tumorboard.report.document.build_document` (or
        :func:`~tumorboard.report.document.mtb_report`).

    Returns
    -------
    dict
        FHIR JSON of a Bundle (``resourceType`` 'Bundle', ``type`` 'collection') with a
        Patient, Specimens, ``variant`` / ``molecular-biomarker`` / ``therapeutic-implication``
        Observations and the ``genomics-report`` DiagnosticReport. It parses with
        ``fhir.resources.R4B.bundle.Bundle.model_validate`` (fhir.resources ships R4B, whose
        resources used here are the same as R4's).

    Raises
    ------
    InputError
        If ``document`` is not a report document of the supported format.

    Notes
    -----
    HL7 FHIR Genomics Reporting IG 3.0.0, http://hl7.org/fhir/uv/genomics-reporting/; the
    choice of codes is documented in this module's docstring and docs/formats.md.
    """
    _check(document)
    doc = document
    report = doc["report"]
    report_id = str(report.get("id") or doc["patient"]["patient"])
    signed = (doc.get("sign_off") or {}).get("status") in ("signed", "final", "approved")
    status = "final" if signed else "preliminary"
    b = _Bundle(report_id)
    subject = b.add("patient", _patient(doc))
    specimens = {s["id"]: b.add(f"specimen/{s['id']}", _specimen(s, subject))
                 for s in doc.get("samples") or [] if s.get("id")}
    issued = report.get("generated")
    common: dict[str, Any] = {"status": status, "subject": subject}
    if issued:
        common["issued"] = issued
    builds = _genome_builds(doc)

    results: list[dict[str, str]] = []
    variant_refs: dict[tuple[str, str, str], dict[str, str]] = {}

    def add_variant(f: Mapping[str, Any], layer: str) -> dict[str, str]:
        key = _variant_key(f)
        if key not in variant_refs:
            f = {**f, "_specimen": specimens.get(str(f.get("sample")))}
            build = builds.get((str(f.get("sample")), layer))
            variant_refs[key] = b.add("variant/" + "/".join(key),
                                      _variant(f, common=common, build=build))
            results.append(variant_refs[key])
        return variant_refs[key]

    for layer, rows in (doc.get("findings") or {}).items():
        for f in rows:
            if f.get("kind") in _VARIANT_KINDS:
                add_variant(f, layer)
            elif f.get("kind") == "tmb" and f.get("value") is not None:
                f = {**f, "_specimen": specimens.get(str(f.get("sample")))}
                results.append(b.add(f"tmb/{f.get('sample')}", _tmb(f, common)))

    biomarker_refs: dict[tuple[str, ...], dict[str, str]] = {}
    diag = doc.get("diagnosis") or {}
    context = (f"{diag.get('name') or diag.get('oncotree_code')} "
               f"(OncoTree {diag.get('oncotree_code')})") if diag.get("oncotree_code") else None
    recs = [*(doc.get("recommendations") or []), *(doc.get("resistance") or [])]
    for i, rec in enumerate(recs):
        derived: list[dict[str, str]] = []
        for s in rec.get("support") or []:
            if s.get("kind") in _VARIANT_KINDS:
                ref = add_variant(s, str(s.get("layer")))
            elif s.get("layer") in _MEASURES:
                key = (str(s.get("sample")), str(s.get("layer")), str(s.get("kind")),
                       str(s.get("feature") or s.get("gene")))
                if key not in biomarker_refs:
                    s = {**s, "_specimen": specimens.get(str(s.get("sample")))}
                    biomarker_refs[key] = b.add("biomarker/" + "/".join(key),
                                                _biomarker(s, common))
                    results.append(biomarker_refs[key])
                ref = biomarker_refs[key]
            else:  # entity support: no Observation to derive from
                continue
            if ref not in derived:
                derived.append(ref)
        key = f"implication/{rec.get('id') if rec.get('id') is not None else i}"
        results.append(b.add(key, _implication(rec, common=common, derived=derived,
                                               context=context)))

    diagnostic_report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "meta": {"profile": [PROFILE_REPORT]},
        "identifier": [{"system": REPORT_SYSTEM, "value": report_id}],
        "status": status,
        "category": [_code(DIAGNOSTIC_SERVICE, "GE", "Genetics")],
        "code": REPORT_CODE,
        "subject": subject,
        "result": results,
        "conclusion": _conclusion(doc),
    }
    collected = sorted(s["collection_date"] for s in doc.get("samples") or []
                       if s.get("collection_date") and s.get("type") == "tumour")
    if collected:
        diagnostic_report["effectiveDateTime"] = collected[-1]
    if issued:
        diagnostic_report["issued"] = issued
    if specimens:
        diagnostic_report["specimen"] = list(specimens.values())
    b.add("report", diagnostic_report)
    # The report first, as readers of genomics bundles look for it there.
    b.entries.insert(0, b.entries.pop())

    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": _uuid(report_id, "bundle"),
        "identifier": {"system": REPORT_SYSTEM, "value": report_id},
        "type": "collection",
        "entry": b.entries,
    }
    if issued:
        bundle["timestamp"] = issued
    # The code tables above are shared between resources; hand out an unaliased tree.
    return copy.deepcopy(bundle)

"""The MTB report document as a GA4GH Phenopacket v2 (protobuf JSON).

:func:`phenopacket` is a pure function of the report document
(:func:`tumorboard.report.document.build_document`): it builds the message with the
``phenopackets`` package (the GA4GH schema's generated Python classes) and returns
``google.protobuf.json_format.MessageToDict`` of it, so the output parses back into an equal
message.

Specification: GA4GH Phenopacket Schema v2.0 (Jacobsen et al., Nat Biotechnol 2022,
doi:10.1038/s41587-022-01357-4; https://phenopacket-schema.readthedocs.io/en/2.0.0/), its
oncology example (``docs/cancer-example.rst`` of phenopackets/phenopacket-schema 2.0) for the
biosample terms.

What becomes what
-----------------
- ``patient`` -> ``subject`` (pseudonym and sex only; the date of birth is not sent because
  the registry holds only the year, and a Timestamp would invent a day).
- ``diagnosis`` -> one ``diseases`` entry with the OncoTree code as ontology class
  (``ONCOTREE:DSRCT``) and the diagnosis date as onset; OncoTree and its version
  (``report.oncotree_version``) are listed in ``metaData.resources``.
- ``samples`` -> ``biosamples``: sampled tissue (UBERON, for the sites in :data:`UBERON_SITES`,
  otherwise the site is named in the description), material (EFO abnormal / reference
  sample), tumour progression (NCIT primary / metastatic neoplasm), collection date,
  histological diagnosis (the OncoTree entity) and tumour cell content as a measurement in
  percent (UO:0000187). No pathological stage: the registry records only 'localised' /
  'metastatic' for the patient, not a stage code per specimen.
- ``findings`` -> one ``interpretation`` whose diagnosis lists a genomic interpretation per
  reportable mutation, fusion, amplification and homozygous deletion (and every finding that
  supports a recommendation). Entity-defining fusions are ``CAUSATIVE``, other drivers
  ``CONTRIBUTORY``, the rest ``CANDIDATE``; a variant behind a recommendation is
  ``ACTIONABLE``. ACMG classes are for germline variants and are left ``NOT_PROVIDED``.
- ``recommendations`` -> the interpretation's ``summary`` (text) and their citations as
  ``metaData.externalReferences``. They are not sent as ``medicalActions``, which record
  treatments given, not proposed.

Ontology terms used, each verified in a public source: ONCOTREE codes (the shipped OncoTree
release); Sequence Ontology SO:0001565 gene_fusion, SO:0001742 copy_number_gain, SO:0001743
copy_number_loss; NCIT:C84509 Primary Malignant Neoplasm, NCIT:C3261 Metastatic Neoplasm
(phenopacket-schema cancer example); EFO:0009655 abnormal sample, EFO:0009654 reference sample;
UO:0000187 percent; UBERON terms in :data:`UBERON_SITES`. Genes use the identifiers.org prefix
``hgnc.symbol`` (``hgnc.symbol:EWSR1``) because tumorboard ships symbols, not HGNC ids.
A tumorboard prefix (``TUMORBOARD:tumour_cell_content``) names the one measurement without a
verified ontology term.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import phenopackets as pp
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from tumorboard.report.document import check_document, summary_sentences

__all__ = ["UBERON_SITES", "phenopacket"]

SCHEMA_VERSION = "2.0"

#: Free-text sample sites -> UBERON term. Only terms whose id and label were checked; other
#: sites are named in the biosample description instead of being guessed.
UBERON_SITES: dict[str, tuple[str, str]] = {
    "blood": ("UBERON:0000178", "blood"),
    "omentum": ("UBERON:0003688", "omentum"),
    "peritoneum": ("UBERON:0002358", "peritoneum"),
    "retroperitoneum": ("UBERON:0003693", "retroperitoneal space"),
    "liver": ("UBERON:0002107", "liver"),
    "lung": ("UBERON:0002048", "lung"),
    "pleura": ("UBERON:0000977", "pleura"),
    "brain": ("UBERON:0000955", "brain"),
    "stomach": ("UBERON:0000945", "stomach"),
    "small intestine": ("UBERON:0002108", "small intestine"),
    "tongue": ("UBERON:0001723", "tongue"),
}

_PROGRESSION = {"primary": ("NCIT:C84509", "Primary Malignant Neoplasm"),
                "metastasis": ("NCIT:C3261", "Metastatic Neoplasm"),
                "metastatic": ("NCIT:C3261", "Metastatic Neoplasm")}
_MATERIAL = {"tumour": ("EFO:0009655", "abnormal sample"),
             "normal": ("EFO:0009654", "reference sample")}
_STRUCTURAL = {"fusion": ("SO:0001565", "gene_fusion"),
               "amplification": ("SO:0001742", "copy_number_gain"),
               "gain": ("SO:0001742", "copy_number_gain"),
               "deletion": ("SO:0001743", "copy_number_loss"),
               "loss": ("SO:0001743", "copy_number_loss")}
_SEX = {"male": pp.Sex.MALE, "female": pp.Sex.FEMALE, "other": pp.Sex.OTHER_SEX}
_DRIVER_CALLS = {"hotspot", "oncogenic_likely", "actionable_kinase", "entity_defining"}
_VARIANT_KINDS = {"mutation", "fusion", "amplification", "deletion", "gain", "loss"}
_REPORTED = {"mutation", "fusion", "amplification", "deletion"}

#: ``metaData.resources`` by CURIE prefix; only those whose prefix is used are listed.
_RESOURCES: dict[str, dict[str, str]] = {
    "HGNC.SYMBOL": {"id": "hgnc.symbol", "name": "HGNC gene symbols (identifiers.org)",
                    "url": "https://www.genenames.org", "namespace_prefix": "hgnc.symbol",
                    "iri_prefix": "https://identifiers.org/hgnc.symbol:"},
    "SO": {"id": "so", "name": "Sequence types and features ontology",
           "url": "http://purl.obolibrary.org/obo/so.owl", "namespace_prefix": "SO",
           "iri_prefix": "http://purl.obolibrary.org/obo/SO_"},
    "UBERON": {"id": "uberon", "name": "Uber-anatomy ontology",
               "url": "http://purl.obolibrary.org/obo/uberon.owl",
               "namespace_prefix": "UBERON",
               "iri_prefix": "http://purl.obolibrary.org/obo/UBERON_"},
    "NCIT": {"id": "ncit", "name": "NCI Thesaurus OBO Edition",
             "url": "http://purl.obolibrary.org/obo/ncit.owl", "namespace_prefix": "NCIT",
             "iri_prefix": "http://purl.obolibrary.org/obo/NCIT_"},
    "EFO": {"id": "efo", "name": "Experimental Factor Ontology",
            "url": "http://www.ebi.ac.uk/efo/efo.owl", "namespace_prefix": "EFO",
            "iri_prefix": "http://www.ebi.ac.uk/efo/EFO_"},
    "UO": {"id": "uo", "name": "Units of measurement ontology",
           "url": "http://purl.obolibrary.org/obo/uo.owl", "namespace_prefix": "UO",
           "iri_prefix": "http://purl.obolibrary.org/obo/UO_"},
    "TUMORBOARD": {"id": "tumorboard", "name": "tumorboard local terms",
                   "url": "https://tumorboard.example/terms", "namespace_prefix": "TUMORBOARD",
                   "iri_prefix": "https://tumorboard.example/terms/"},
}


def _term(curie: str, label: str) -> pp.OntologyClass:
    return pp.OntologyClass(id=curie, label=label)


def _timestamp(value: str | None) -> Timestamp | None:
    """A protobuf Timestamp from an ISO date or date-time (a date means midnight UTC)."""
    if not value:
        return None
    text = str(value)
    parsed = (dt.datetime.fromisoformat(text) if "T" in text
              else dt.datetime.combine(dt.date.fromisoformat(text), dt.time()))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    ts = Timestamp()
    ts.FromDatetime(parsed)
    return ts


def _time(value: str | None) -> pp.TimeElement | None:
    ts = _timestamp(value)
    return pp.TimeElement(timestamp=ts) if ts is not None else None


def _gene(symbol: str) -> pp.GeneDescriptor:
    return pp.GeneDescriptor(value_id=f"hgnc.symbol:{symbol}", symbol=symbol)


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]+", "_", text)


def _check(document: Mapping[str, Any]) -> None:
    check_document(document)


def _disease_term(diag: Mapping[str, Any]) -> pp.OntologyClass | None:
    code = diag.get("oncotree_code")
    if not code:
        return None
    return _term(f"ONCOTREE:{code}", str(diag.get("name") or code))


def _biosample(sample: Mapping[str, Any], *, subject: str,
               disease: pp.OntologyClass | None) -> pp.Biosample:
    site = str(sample.get("site") or "")
    kind = str(sample.get("type") or "")
    origin = str(sample.get("origin") or "")
    words = [w for w in (kind, "sample", f"from {site}" if site else "",
                         f"({origin})" if origin else "") if w]
    description = " ".join(words)
    if sample.get("layers"):
        description += "; profiled layers: " + ", ".join(sample["layers"])
    out = pp.Biosample(id=str(sample["id"]), individual_id=subject, description=description)
    if site.lower() in UBERON_SITES:
        out.sampled_tissue.CopyFrom(_term(*UBERON_SITES[site.lower()]))
    if kind in _MATERIAL:
        out.material_sample.CopyFrom(_term(*_MATERIAL[kind]))
    if kind == "tumour":
        if origin in _PROGRESSION:
            out.tumor_progression.CopyFrom(_term(*_PROGRESSION[origin]))
        if disease is not None:
            out.histological_diagnosis.CopyFrom(disease)
    collected = _time(sample.get("collection_date"))
    if collected is not None:
        out.time_of_collection.CopyFrom(collected)
    tcc = sample.get("tumour_cell_content")
    if tcc is not None:
        out.measurements.append(pp.Measurement(
            description="tumour cell content (pathology estimate)",
            assay=_term("TUMORBOARD:tumour_cell_content", "tumour cell content"),
            value=pp.Value(quantity=pp.Quantity(unit=_term("UO:0000187", "percent"),
                                                value=round(100 * float(tcc), 1)))))
    return out


def _supporting_keys(document: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    return {(str(s.get("sample")), str(s.get("kind")), str(s.get("feature")))
            for rec in [*(document.get("recommendations") or []),
                        *(document.get("resistance") or [])]
            for s in rec.get("support") or [] if s.get("kind") in _VARIANT_KINDS}


def _descriptor(f: Mapping[str, Any]) -> pp.VariationDescriptor:
    kind = str(f["kind"])
    gene = f.get("gene")
    feature = str(f.get("feature") or "")
    vd = pp.VariationDescriptor(id=_safe_id(f"{f.get('sample')}:{feature}"), label=feature)
    details = [f"call {f.get('call')}"] if f.get("call") else []
    if kind == "fusion":
        partners = [g for g in feature.split("::") if g] or ([gene] if gene else [])
        if partners:
            vd.gene_context.CopyFrom(_gene(partners[0]))
        vd.molecule_context = pp.MoleculeContext.transcript
        details.insert(0, f"fusion transcript, 5' partner {partners[0]}, 3' partner "
                          f"{partners[1]}" if len(partners) == 2 else "fusion transcript")
        if f.get("value") is not None:
            details.append(f"{float(f['value']):.0f} junction reads")
    elif kind == "mutation":
        if gene:
            vd.gene_context.CopyFrom(_gene(str(gene)))
        change = feature[len(gene) + 1:] if gene and feature.startswith(f"{gene} ") else feature
        if change.startswith("p."):
            vd.expressions.append(pp.Expression(syntax="hgvs.p", value=change))
            vd.molecule_context = pp.MoleculeContext.protein
        elif change.startswith("c."):
            vd.expressions.append(pp.Expression(syntax="hgvs.c", value=change))
            vd.molecule_context = pp.MoleculeContext.transcript
        else:
            vd.molecule_context = pp.MoleculeContext.genomic
        if f.get("value") is not None:
            details.append(f"VAF {float(f['value']):.2f}")
    else:
        if gene:
            vd.gene_context.CopyFrom(_gene(str(gene)))
        vd.molecule_context = pp.MoleculeContext.genomic
        if f.get("value") is not None:
            details.append(f"estimated copy number {float(f['value']):.2f}")
    if kind in _STRUCTURAL:
        vd.structural_type.CopyFrom(_term(*_STRUCTURAL[kind]))
    vd.description = "; ".join(d for d in details if d)
    return vd


def _status(f: Mapping[str, Any]) -> int:
    call = f.get("call")
    if f.get("kind") == "fusion" and call == "entity_defining":
        return pp.GenomicInterpretation.CAUSATIVE
    if call in _DRIVER_CALLS or f.get("kind") in ("amplification", "deletion"):
        return pp.GenomicInterpretation.CONTRIBUTORY
    return pp.GenomicInterpretation.CANDIDATE


def _genomic_interpretations(document: Mapping[str, Any]) -> list[pp.GenomicInterpretation]:
    actionable = _supporting_keys(document)
    rows: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for layer_rows in (document.get("findings") or {}).values():
        for f in layer_rows:
            key = (str(f.get("sample")), str(f.get("kind")), str(f.get("feature")))
            if f.get("kind") in _REPORTED or (f.get("kind") in _VARIANT_KINDS
                                             and key in actionable):
                rows.setdefault(key, f)
    for rec in [*(document.get("recommendations") or []), *(document.get("resistance") or [])]:
        for s in rec.get("support") or []:
            key = (str(s.get("sample")), str(s.get("kind")), str(s.get("feature")))
            if s.get("kind") in _VARIANT_KINDS:
                rows.setdefault(key, s)
    out = []
    for key, f in rows.items():
        vi = pp.VariantInterpretation(
            acmg_pathogenicity_classification=pp.AcmgPathogenicityClassification.NOT_PROVIDED,
            therapeutic_actionability=(pp.TherapeuticActionability.ACTIONABLE
                                       if key in actionable
                                       else pp.TherapeuticActionability.UNKNOWN_ACTIONABILITY),
            variation_descriptor=_descriptor(f))
        out.append(pp.GenomicInterpretation(
            subject_or_biosample_id=str(f.get("sample")), interpretation_status=_status(f),
            variant_interpretation=vi))
    return out


def _summary(document: Mapping[str, Any]) -> str:
    return " ".join(summary_sentences(document))


def _external_references(document: Mapping[str, Any]) -> list[pp.ExternalReference]:
    seen: dict[str, pp.ExternalReference] = {}
    for rec in [*(document.get("recommendations") or []), *(document.get("resistance") or [])]:
        for c in rec.get("citations") or []:
            ref = str(c).strip()
            if not ref or ref in seen:
                continue
            upper = ref.upper()
            if upper.startswith("PMID:"):
                url = f"https://pubmed.ncbi.nlm.nih.gov/{ref[5:].strip()}/"
            elif upper.startswith("DOI:"):
                url = f"https://doi.org/{ref[4:].strip()}"
            elif re.fullmatch(r"NCT\d{8}", ref):
                url = f"https://clinicaltrials.gov/study/{ref}"
            else:
                url = ""
            seen[ref] = pp.ExternalReference(
                id=ref if url else "", reference=url,
                description=f"cited for {rec.get('therapy')}" if url else ref)
    return list(seen.values())


def _used_prefixes(message: pp.Phenopacket) -> set[str]:
    text = json_format.MessageToJson(message)
    return {m.upper() for m in re.findall(r'"(?:id|valueId)": "([A-Za-z.]+):', text)}


def phenopacket(document: Mapping[str, Any]) -> dict[str, Any]:
    """The report document as a GA4GH Phenopacket v2, in protobuf JSON (camelCase keys).

    Pure: reads only ``document``. The result satisfies
    ``MessageToDict(json_format.ParseDict(result, Phenopacket())) == result``.

    Parameters
    ----------
    document
        A report document from :func:`tumorboard.report.document.build_document`.

    Returns
    -------
    dict
        ``google.protobuf.json_format.MessageToDict`` of a ``phenopackets.Phenopacket``.

    Raises
    ------
    InputError
        If ``document`` is not a report document of the supported format.

    Notes
    -----
    GA4GH Phenopacket Schema v2.0, https://phenopacket-schema.readthedocs.io/en/2.0.0/; the
    mapping and the ontology terms are listed in this module's docstring.
    """
    _check(document)
    report = document["report"]
    patient = document["patient"]
    diag = document.get("diagnosis") or {}
    subject_id = str(patient["patient"])
    subject = pp.Individual(id=subject_id,
                            sex=_SEX.get(str(patient.get("sex") or "").lower(),
                                         pp.Sex.UNKNOWN_SEX))
    packet = pp.Phenopacket(id=str(report.get("id") or subject_id), subject=subject)
    disease = _disease_term(diag)
    if disease is not None:
        entry = pp.Disease(term=disease)
        onset = _time(diag.get("date"))
        if onset is not None:
            entry.onset.CopyFrom(onset)
        packet.diseases.append(entry)
    for s in document.get("samples") or []:
        if s.get("id"):
            packet.biosamples.append(_biosample(s, subject=subject_id, disease=disease))
    signed = (document.get("sign_off") or {}).get("status") in ("signed", "final", "approved")
    interpretation = pp.Interpretation(
        id=f"{packet.id}-molecular",
        progress_status=(pp.Interpretation.COMPLETED if signed
                         else pp.Interpretation.IN_PROGRESS),
        summary=_summary(document))
    if disease is not None:
        interpretation.diagnosis.disease.CopyFrom(disease)
    for gi in _genomic_interpretations(document):
        interpretation.diagnosis.genomic_interpretations.append(gi)
    packet.interpretations.append(interpretation)

    version = (report.get("software") or {}).get("tumorboard", "unknown")
    meta = pp.MetaData(created_by=f"tumorboard {version}",
                       phenopacket_schema_version=SCHEMA_VERSION)
    created = _timestamp(report.get("generated"))
    if created is not None:
        meta.created.CopyFrom(created)
    meta.external_references.extend(_external_references(document))
    used = _used_prefixes(packet)
    if "ONCOTREE" in used:
        meta.resources.append(pp.Resource(
            id="oncotree", name="OncoTree", url="https://oncotree.mskcc.org/",
            version=str(report.get("oncotree_version") or ""), namespace_prefix="ONCOTREE"))
    for prefix, fields in _RESOURCES.items():
        if prefix in used:
            meta.resources.append(pp.Resource(**fields))
    packet.meta_data.CopyFrom(meta)
    return json_format.MessageToDict(packet)

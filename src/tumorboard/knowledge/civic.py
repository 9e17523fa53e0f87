"""Import CIViC clinical evidence (the nightly TSV) onto the rule schema.

CIViC, Clinical Interpretation of Variants in Cancer (Griffith M et al., Nat Genet
2017;49:170-174, doi:10.1038/ng.3774; curation SOP: Danos AM et al., Genome Med 2019;11:76,
doi:10.1186/s13073-019-0687-x), publishes its accepted evidence items as
``nightly-ClinicalEvidenceSummaries.tsv`` (and monthly ``01-<Mon>-<YYYY>-...`` releases).
CIViC data are released under CC0 1.0 (public domain).

Layouts
-------
Two header layouts are accepted, both checked against public code that writes or parses them:

- **current** (molecular profiles; 25 columns as written by CIViC's
  ``EvidenceItemTsvFormatter``, griffithlab/civic-v2): ``molecular_profile
  molecular_profile_id disease doid phenotypes therapies therapy_interaction_type evidence_type
  evidence_direction evidence_level significance evidence_statement citation_id source_type
  asco_abstract_id citation nct_ids rating evidence_status evidence_id variant_origin
  last_review_date evidence_civic_url molecular_profile_civic_url is_flagged``; therapies and
  NCT ids are joined with ``,``;
- **legacy** (before molecular profiles, 2022): ``gene entrez_id variant disease doid
  phenotypes drugs drug_interaction_type evidence_type evidence_direction evidence_level
  clinical_significance evidence_statement citation_id source_type asco_abstract_id citation
  nct_ids rating evidence_status evidence_id variant_id gene_id chromosome start stop ...
  variant_origin last_review_date evidence_civic_url variant_civic_url gene_civic_url
  [is_flagged]``; the profile is ``gene`` + ``variant``.

API
---
:func:`read_civic` returns ``(KnowledgeBase, ImportReport)`` (the report type of
:mod:`tumorboard.knowledge.moalmanac`). Rule ids are ``civic:eid<evidence_id>``; an evidence
item whose therapies are *substitutes* (any one of them) gives one rule per therapy,
``civic:eid<id>.<therapy>``.

What is kept
------------
``evidence_type`` Predictive, ``evidence_status`` accepted, ``variant_origin`` Somatic,
``evidence_direction`` Supports, significance Sensitivity/Response (``sensitivity``) or
Resistance (``resistance``). Reduced Sensitivity ("response to treatment is lower than seen in
other treatment contexts"), Adverse Response and N/A are neither and are skipped (CIViC docs,
``model/evidence/significance``). A "Does Not Support" item argues *against* the stated
association; it is not evidence for the opposite direction and is skipped.

Evidence levels
---------------
CIViC's levels (CIViC docs, ``model/evidence/level``) against MASTER evidence types
(:mod:`tumorboard.knowledge.schema`):

=====  ===================================  ==============================================
level  CIViC definition                     evidence ``type``
=====  ===================================  ==============================================
A      "Proven/consensus association in     ``prospective_trial``
       human medicine"; "typically Phase
       III clinical trials or ... companion
       diagnostics"
B      "Clinical trial or other primary     ``prospective_trial`` if the item names a trial
       patient data supports association";  (``nct_ids``, or "phase I/II/III" or
       more than 5 patients                 "randomi[sz]ed" in the statement), else
                                            ``retrospective_study``
C      "Individual case reports"            ``case_report``
D      "In vivo or in vitro models"         ``preclinical``
E      "Indirect evidence"                  ``rationale``
=====  ===================================  ==============================================

Level A is deliberately *not* ``approval`` or ``guideline``: an evidence item cites a study,
and whether a drug is approved for the indication is recorded only on CIViC *assertions*
(``regulatory_approval``), which this file does not carry. ``prospective_trial`` gives the same
tier (m1A / m2A) without claiming the approval modifier Z. Level B pools trials with
retrospective cohorts; the trial registration is the one structured field that tells them
apart, the statement's design words the next best.

Molecular profiles
------------------
``BRAF V600E`` -> ``mutation`` ``p.V600E`` (also ``V600``, ``W288fs``, ``E746_A750del``);
``KIT Exon 11 Mutation`` / ``EGFR Exon 19 Deletion`` -> ``exon 11`` / ``exon 19``; ``X
Mutation`` -> ``any``; ``X Truncating Mutation`` / ``Loss-of-function`` -> ``truncating``;
``X Activating Mutation`` / ``Oncogenic Mutation`` -> ``oncogenic``; ``EML4::ALK Fusion`` (and
``EML4::ALK e6-e20``; legacy ``EML4-ALK``) -> ``fusion`` ``EML4::ALK``; ``ALK Fusion`` /
``Rearrangement`` / ``Translocation`` -> ``fusion`` ``any``; ``Amplification`` ->
``amplification``; ``Overexpression`` / ``Expression`` -> ``overexpression``;
``Underexpression`` -> ``underexpression``; ``Deletion`` -> ``deletion`` (homozygous loss);
``Loss`` -> ``loss``; ``Promoter (Hyper)methylation`` -> ``promoter_methylation``. Profiles
combining variants (``AND``, ``OR``, ``NOT``) are skipped as ``complex_profile``; anything else
as ``unparsed_profile``.

Diseases
--------
CIViC names diseases by Disease Ontology id (``doid``). :data:`DOID_ONCOTREE` maps the DOIDs
checked for this table (sources in its comment) to OncoTree codes; ``Cancer`` (DOID:162) and
``Solid Tumor`` are tumour-agnostic (``any_solid_tumour``). A disease not in the table is
matched by its name to an OncoTree node of the same name (case-insensitive; e.g.
"Gastrointestinal Stromal Tumor"), else skipped as ``unmapped_disease``.

Citations
---------
``PMID:<citation_id>`` when ``source_type`` is PubMed; ``DOI:`` when the citation id is a DOI;
else (ASCO/ASH abstracts) the first NCT number of the item; else skipped as ``no_citation``.

Skip reasons, in the order they are tested: ``not_predictive``, ``not_accepted``,
``germline``, ``not_somatic``, ``does_not_support``, ``significance_not_mapped``,
``no_therapy``, ``unknown_level``, ``complex_profile``, ``unparsed_profile``,
``unknown_gene``, ``unmapped_disease``, ``no_citation``, ``schema_rejected``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from tumorboard.errors import InputError
from tumorboard.io._files import listing, read_text
from tumorboard.knowledge.moalmanac import (
    ImportReport,
    SkipRecord,
    classify_therapy,
    gene_basket,
    hgnc_symbol,
    rule_basket,
)
from tumorboard.knowledge.schema import (
    ANY_SOLID,
    CITATION_PATTERN,
    Condition,
    Evidence,
    KnowledgeBase,
    Rule,
    Therapy,
)

__all__ = ["CURRENT_COLUMNS", "DOID_ONCOTREE", "LEGACY_COLUMNS", "read_civic"]

LICENCE = "CC0 1.0 (CIViC data are public domain)"

#: Header of the current nightly TSV (CIViC ``EvidenceItemTsvFormatter``, griffithlab/civic-v2).
CURRENT_COLUMNS: tuple[str, ...] = (
    "molecular_profile", "molecular_profile_id", "disease", "doid", "phenotypes", "therapies",
    "therapy_interaction_type", "evidence_type", "evidence_direction", "evidence_level",
    "significance", "evidence_statement", "citation_id", "source_type", "asco_abstract_id",
    "citation", "nct_ids", "rating", "evidence_status", "evidence_id", "variant_origin",
    "last_review_date", "evidence_civic_url", "molecular_profile_civic_url", "is_flagged")

#: Header of the legacy (pre-2022) TSV, as listed by third-party parsers of it.
LEGACY_COLUMNS: tuple[str, ...] = (
    "gene", "entrez_id", "variant", "disease", "doid", "phenotypes", "drugs",
    "drug_interaction_type", "evidence_type", "evidence_direction", "evidence_level",
    "clinical_significance", "evidence_statement", "citation_id", "source_type",
    "asco_abstract_id", "citation", "nct_ids", "rating", "evidence_status", "evidence_id",
    "variant_id", "gene_id", "chromosome", "start", "stop", "reference_bases", "variant_bases",
    "representative_transcript", "chromosome2", "start2", "stop2",
    "representative_transcript2", "ensembl_version", "reference_build", "variant_summary",
    "variant_origin", "last_review_date", "evidence_civic_url", "variant_civic_url",
    "gene_civic_url")

# Columns the importer reads, per layout (the rest may be absent).
_NEEDED_CURRENT = ("molecular_profile", "disease", "doid", "therapies", "evidence_type",
                   "evidence_direction", "evidence_level", "significance", "citation_id",
                   "source_type", "evidence_status", "evidence_id", "variant_origin")
_NEEDED_LEGACY = ("gene", "variant", "disease", "doid", "drugs", "evidence_type",
                  "evidence_direction", "evidence_level", "clinical_significance",
                  "citation_id", "source_type", "evidence_status", "evidence_id",
                  "variant_origin")

#: Disease Ontology id -> OncoTree code(s). Each DOID was checked against a public record of
#: its label: CIViC's own disease table (early civic-server database dump: DOID 162 cancer,
#: 219 colon cancer, 769 neuroblastoma, 1324 lung cancer, 1380 endometrial cancer, 1612 breast
#: cancer, 1781 thyroid cancer, 1909 melanoma, 2394 ovarian cancer, 3247 rhabdomyosarcoma,
#: 3284 thymic carcinoma, 3907 lung squamous cell carcinoma, 3908 non-small cell lung
#: carcinoma, 3910 lung adenocarcinoma, 4451 renal carcinoma, 8552 chronic myeloid leukemia,
#: 9119 acute myeloid leukemia, 9253 gastrointestinal stromal tumor, 9256 colorectal cancer,
#: 10534 stomach cancer) and Disease Ontology term reports (DOID 201 connective tissue cancer,
#: 1115 sarcoma, 1967 leiomyosarcoma, 3347 osteosarcoma, 3369 Ewing sarcoma, 3371
#: chondrosarcoma, 3382 liposarcoma, 5363 myxoid liposarcoma, 5485 synovial sarcoma, 6496
#: extraskeletal myxoid chondrosarcoma, 0001816 angiosarcoma). Sarcoma and connective tissue
#: cancer cover OncoTree's soft-tissue and bone branches; OncoTree codes are those of the
#: shipped tree (oncotree_2025_10_03).
DOID_ONCOTREE: dict[str, tuple[str, ...]] = {
    "162": (ANY_SOLID,),
    "201": ("SOFT_TISSUE", "BONE"),
    "1115": ("SOFT_TISSUE", "BONE"),
    "1967": ("LMS",),
    "3247": ("RMS",),
    "3347": ("OS",),
    "3369": ("ES",),
    "3371": ("CHS",),
    "3382": ("LIPO",),
    "5363": ("MRLS",),
    "5485": ("SYNS",),
    "6496": ("EMCHS",),
    "0001816": ("ANGS",),
    "9253": ("GIST",),
    "219": ("COAD",),
    "769": ("NBL",),
    "1324": ("LUNG",),
    "1380": ("UCEC",),
    "1612": ("BREAST",),
    "1781": ("THYROID",),
    "1909": ("MEL",),
    "2394": ("OVARY",),
    "3284": ("THYC",),
    "3907": ("LUSC",),
    "3908": ("NSCLC",),
    "3910": ("LUAD",),
    "4451": ("RCC",),
    "8552": ("CML",),
    "9119": ("AML",),
    "9256": ("COADREAD",),
    "10534": ("STAD",),
}
_ANY_SOLID_NAMES = frozenset({"cancer", "solid tumor", "solid tumour"})

_LEVEL_TYPE = {"A": "prospective_trial", "B": "retrospective_study", "C": "case_report",
               "D": "preclinical", "E": "rationale"}
_TRIAL_WORDS = re.compile(r"\bphase\s*(I{1,3}|[123])\b|\brandomi[sz]ed\b", re.IGNORECASE)
_SENSITIVITY = {"sensitivity/response", "sensitivity", "response"}
_RESISTANCE = {"resistance", "resistance or non-response"}
_COMPLEX = re.compile(r"\b(AND|OR|NOT)\b")
_PROTEIN = re.compile(
    r"^([A-Z*])(\d+)(?:[A-Z*]|fs\*?\d*|del|dup|ins[A-Z]+|delins[A-Z]+|X|"
    r"_[A-Z]\d+(?:del|dup|ins[A-Z]+|delins[A-Z]+))?$")
_EXON = re.compile(r"^exon (\d+)(?: (?:\w+ ?)+)?$", re.IGNORECASE)
_LEGACY_FUSION = re.compile(r"^([A-Z0-9]+)-([A-Z0-9]+)(?: .*)?$")
_KIND_WORDS = {
    "amplification": ("amplification", None),
    "overexpression": ("overexpression", None),
    "expression": ("overexpression", None),
    "underexpression": ("underexpression", None),
    "deletion": ("deletion", None),
    "loss": ("loss", None),
    "copy number loss": ("loss", None),
    "mutation": ("mutation", "any"),
    "mutations": ("mutation", "any"),
    "truncating mutation": ("mutation", "truncating"),
    "loss-of-function": ("mutation", "truncating"),
    "loss of function": ("mutation", "truncating"),
    "frameshift truncation": ("mutation", "truncating"),
    "activating mutation": ("mutation", "oncogenic"),
    "oncogenic mutation": ("mutation", "oncogenic"),
    "gain-of-function": ("mutation", "oncogenic"),
    "promoter methylation": ("promoter_methylation", None),
    "promoter hypermethylation": ("promoter_methylation", None),
    "fusion": ("fusion", "any"),
    "fusions": ("fusion", "any"),
    "rearrangement": ("fusion", "any"),
    "translocation": ("fusion", "any"),
}


def _fusion(gene5: str, gene3: str) -> Condition:
    """A fusion condition named 5'::3', its gene the partner that is a target (3' first)."""
    a, b = hgnc_symbol(gene5), hgnc_symbol(gene3)
    gene = next((g for g in (b, a) if gene_basket(g) != "other"), a)
    return Condition(kind="fusion", gene=gene, variant=f"{a}::{b}")


def _hgvs_case(text: str) -> str:
    """``w288FS`` -> ``W288fs``: residues upper case, HGVS keywords lower case."""
    return re.sub(r"(DELINS|DEL|DUP|INS|FS)", lambda m: m.group(1).lower(), text.upper())


def profile_conditions(profile: str) -> tuple[Condition, ...]:
    """Conditions for one CIViC molecular profile name (see the module docstring).

    Raises the importer's skip signal for complex, unparsed or unknown-gene profiles.
    """
    name = " ".join(str(profile).split())
    if _COMPLEX.search(name):
        raise SkipRecord("complex_profile")
    head, _, rest = name.partition(" ")
    if "::" in head:
        gene5, _, gene3 = head.partition("::")
        if not gene5 or not gene3:
            raise SkipRecord("unparsed_profile")
        return (_fusion(gene5, gene3),)
    if not rest:
        raise SkipRecord("unparsed_profile")
    legacy = _LEGACY_FUSION.match(rest)
    if legacy and head.upper() in (legacy.group(1), legacy.group(2)):
        return (_fusion(legacy.group(1), legacy.group(2)),)
    low = rest.lower()
    if low in _KIND_WORDS:
        kind, variant = _KIND_WORDS[low]
        gene = hgnc_symbol(head)
        return (Condition(kind=kind, gene=gene, variant=variant),)
    exon = _EXON.match(rest)
    if exon:
        return (Condition(kind="mutation", gene=hgnc_symbol(head),
                          variant=f"exon {exon.group(1)}"),)
    change = _hgvs_case(rest)
    if _PROTEIN.match(change):
        return (Condition(kind="mutation", gene=hgnc_symbol(head), variant=f"p.{change}"),)
    raise SkipRecord("unparsed_profile")


def _entities(doid: str, disease: str) -> tuple[str, ...]:
    from tumorboard.reference import oncotree

    key = doid.strip().upper().removeprefix("DOID:")
    if key in DOID_ONCOTREE:
        return DOID_ONCOTREE[key]
    name = disease.strip().lower()
    if name in _ANY_SOLID_NAMES:
        return (ANY_SOLID,)
    exact = [c for c, t in oncotree().items() if t.name.lower() == name]
    if len(exact) == 1:
        return (exact[0],)
    raise SkipRecord("unmapped_disease")


def _citation(row: dict[str, str], ncts: list[str]) -> str:
    cid = row.get("citation_id", "").strip()
    stype = row.get("source_type", "").strip().lower()
    candidates = []
    if stype == "pubmed" and cid:
        candidates.append(f"PMID:{cid}")
    if cid.lower().startswith("10."):
        candidates.append(f"DOI:{cid}")
    candidates.extend(ncts)
    for c in candidates:
        if CITATION_PATTERN.match(c):
            return c
    raise SkipRecord("no_citation")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "therapy"


def _rules(row: dict[str, str], layout: str, version: str) -> list[Rule]:
    def get(key: str) -> str:
        return (row.get(key) or "").strip()

    eid = get("evidence_id")
    if get("evidence_type").lower() != "predictive":
        raise SkipRecord("not_predictive")
    if get("evidence_status").lower() != "accepted":
        raise SkipRecord("not_accepted")
    origin = get("variant_origin").lower()
    if "germline" in origin:
        raise SkipRecord("germline")
    if not origin.startswith("somatic"):
        raise SkipRecord("not_somatic")
    if get("evidence_direction").lower() != "supports":
        raise SkipRecord("does_not_support")
    significance = get("significance" if layout == "current" else "clinical_significance")
    if significance.lower() in _SENSITIVITY:
        direction = "sensitivity"
    elif significance.lower() in _RESISTANCE:
        direction = "resistance"
    else:
        raise SkipRecord("significance_not_mapped")
    therapies = [t.strip() for t in get("therapies" if layout == "current" else "drugs")
                 .split(",") if t.strip()]
    if not therapies:
        raise SkipRecord("no_therapy")
    level = get("evidence_level").upper()
    if level not in _LEVEL_TYPE:
        raise SkipRecord("unknown_level")
    profile = get("molecular_profile") if layout == "current" \
        else f"{get('gene')} {get('variant')}"
    conditions = profile_conditions(profile)
    entities = _entities(get("doid"), get("disease"))
    ncts = [n.strip() for n in get("nct_ids").replace(";", ",").split(",") if n.strip()]
    citation = _citation(row, ncts)
    statement = get("evidence_statement")
    etype = _LEVEL_TYPE[level]
    if level == "B" and (ncts or _TRIAL_WORDS.search(statement)):
        etype = "prospective_trial"
    interaction = get("therapy_interaction_type" if layout == "current"
                      else "drug_interaction_type").lower()
    if len(therapies) > 1 and interaction in ("combination", "sequential"):
        groups = [tuple(therapies)]
    else:
        groups = [(t,) for t in therapies]
    summary = statement or None
    if summary and ncts and citation not in ncts:
        summary += f" (trial {', '.join(ncts)})"
    evidence = Evidence(type=etype, entities=entities, direction=direction, citation=citation,
                        summary=summary)
    disease = get("disease") or "any solid tumour"
    notes = f"CIViC EID{eid}, level {level}" + (f", rating {get('rating')}" if get("rating")
                                                 else "")
    if get("evidence_civic_url"):
        notes += f"; {get('evidence_civic_url')}"
    rules = []
    for agents in groups:
        drug_class = classify_therapy(agents)
        suffix = "" if len(groups) == 1 else "." + _slug(agents[0])
        rules.append(Rule(
            id=f"civic:eid{eid}{suffix}",
            title=f"{profile}: {' + '.join(agents)} in {disease}"
                  + (" (resistance)" if direction == "resistance" else ""),
            conditions=conditions,
            therapy=Therapy(agents=agents, drug_class=drug_class,
                            mechanism="sequential" if interaction == "sequential" else None),
            basket=rule_basket(conditions, drug_class),
            evidence=(evidence,),
            source=f"CIViC {version}",
            notes=notes,
        ))
    return rules


def _version(path: Path, rows: list[dict[str, str]]) -> str:
    m = re.search(r"(\d{2}-[A-Z][a-z]{2}-\d{4})", path.name)
    if m:
        return m.group(1)
    if path.name.lower().startswith("nightly"):
        dates = sorted(r.get("last_review_date", "")[:10] for r in rows
                       if r.get("last_review_date"))
        return f"nightly {dates[-1]}" if dates else "nightly"
    dates = sorted(r.get("last_review_date", "")[:10] for r in rows if r.get("last_review_date"))
    return dates[-1] if dates else "unknown"


def read_civic(path: str | Path) -> tuple[KnowledgeBase, ImportReport]:
    """Read a CIViC ClinicalEvidenceSummaries TSV into a knowledge base on the rule schema.

    Filters, level mapping, profile parsing and the DOID table are in the module docstring
    (CIViC: Griffith et al., Nat Genet 2017, doi:10.1038/ng.3774; data CC0).

    Parameters
    ----------
    path
        ``nightly-ClinicalEvidenceSummaries.tsv`` or a monthly release (plain or gzipped),
        current or legacy header.

    Returns
    -------
    (KnowledgeBase, ImportReport)
        Knowledge base ``civic`` (version: the release date in the file name, else
        ``nightly <latest review date>``), and the counts of imported and skipped rows.

    Raises
    ------
    InputError
        The file is missing or empty, its header lacks a column the importer reads (names
        the column, line 1), or a row has a different number of fields than the header
        (names the line).
    """
    p, text, _notes = read_text(path)
    lines = text.split("\n")
    header_line = next((i for i, line in enumerate(lines) if line.strip()), 0)
    header = [h.strip() for h in lines[header_line].split("\t")]
    if "molecular_profile" in header:
        layout, needed = "current", _NEEDED_CURRENT
    elif "gene" in header and "variant" in header:
        layout, needed = "legacy", _NEEDED_LEGACY
    else:
        raise InputError(
            "not a CIViC ClinicalEvidenceSummaries header: neither 'molecular_profile' nor "
            "'gene' and 'variant' among the columns "
            f"({listing(header, 8)})", file=p, line=header_line + 1,
            column="molecular_profile",
            expected="the tab-separated header " + "\t".join(CURRENT_COLUMNS[:4]) + " ...",
            fix="give CIViC's nightly-ClinicalEvidenceSummaries.tsv (civicdb.org/releases)")
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputError(
            f"column '{missing[0]}' is missing from the CIViC header"
            + (f" (and {listing(missing[1:])})" if len(missing) > 1 else ""),
            file=p, line=header_line + 1, column=missing[0],
            expected=f"the {layout} CIViC header with {listing(needed, 30)}",
            fix="export the evidence TSV again from CIViC; do not remove columns")
    reader = csv.reader(io.StringIO("\n".join(lines[header_line + 1:])), delimiter="\t")
    rows: list[tuple[int, dict[str, str]]] = []
    for offset, fields in enumerate(reader):
        number = header_line + 2 + offset
        if not fields or not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise InputError(
                f"row has {len(fields)} tab-separated fields, the header has {len(header)}",
                file=p, line=number, expected="one field per header column",
                fix="the file was probably cut or edited; download it again")
        rows.append((number, dict(zip(header, fields, strict=True))))
    version = _version(p, [r for _, r in rows])
    report = ImportReport(source="civic", version=version, total=len(rows))
    rules: list[Rule] = []
    seen: set[str] = set()
    notes: Counter[str] = Counter()
    for number, row in rows:
        eid = (row.get("evidence_id") or f"line {number}").strip()
        try:
            new = _rules(row, layout, version)
        except SkipRecord as skip:
            report.skip(skip.reason, eid)
            continue
        except ValidationError as exc:
            report.skip("schema_rejected", eid)
            notes[f"EID{eid} rejected by the schema: {exc.errors()[0].get('msg', exc)}"] += 1
            continue
        fresh = [r for r in new if r.id not in seen]
        if not fresh:
            report.skip("duplicate_id", eid)
            continue
        seen.update(r.id for r in fresh)
        rules.extend(fresh)
    report.imported = len(rules)
    report.notes = [f"{t} x{n}" if n > 1 else t for t, n in sorted(notes.items())]
    kb = KnowledgeBase(
        name="civic", version=version,
        description=f"CIViC clinical evidence ({layout} TSV layout), {version}; "
                    f"{report.imported:,} rules from {report.total:,} evidence rows "
                    "(Griffith et al., Nat Genet 2017, doi:10.1038/ng.3774)",
        licence=LICENCE, rules=tuple(rules))
    return kb, report

"""Import the Molecular Oncology Almanac (MOAlmanac) knowledge base onto the rule schema.

MOAlmanac (Reardon B, Moore ND, Moore NS, et al., Integrating molecular profiles into clinical
frameworks through the Molecular Oncology Almanac to prospectively guide precision oncology,
Nat Cancer 2021;2:1102-1112, doi:10.1038/s43018-021-00243-3) is distributed as one JSON
document, ``molecular-oncology-almanac.json`` (vanallenlab/moalmanac,
``datasources/moalmanac/``): ``{"release": "2025-02-07", "version": "1.3.0", "genes": [...],
"content": [assertion, ...]}``. Each assertion joins one molecular feature (``feature_type``
plus its fields), one therapy (``therapy_name``, ``therapy_strategy``, ``therapy_type``),
``therapy_sensitivity`` / ``therapy_resistance`` flags, an OncoTree code and one source; the
fields are defined by the curation SOP (vanallenlab/moalmanac-db, ``docs/sop.md``).

API
---
:func:`read_moalmanac` returns ``(KnowledgeBase, ImportReport)``: the rules (ids
``moalmanac:<assertion_id>``) and an :class:`ImportReport` with the number imported and the
skipped assertions counted by reason. The same report type is used by
:func:`tumorboard.knowledge.civic.read_civic`; :func:`classify_therapy` and
:func:`rule_basket` are shared with it.

Evidence types
--------------
``predictive_implication`` is defined on the MOAlmanac browser's about page
(vanallenlab/moalmanac-browser, ``templates/portal_about.html``) and maps onto the evidence
types of :mod:`tumorboard.knowledge.schema` (NCT/DKTK MASTER levels, Leichsenring et al., Int J
Cancer 2019, doi:10.1002/ijc.32358):

=====================  ==========================================  =======================
MOAlmanac              definition (MOAlmanac)                      evidence ``type``
=====================  ==========================================  =======================
FDA-Approved           "FDA recognizes an association ..."         ``approval``
Guideline              "catalogued as a guideline for standard     ``guideline``
                       of care treatment"
Clinical trial         "the alteration is or has been used as an   ``prospective_trial``
                       eligibility criterion for a clinical trial"
Clinical evidence      "reported in a clinical study that did not  ``retrospective_study``
                       directly involve a clinical trial"          or ``case_report``
Preclinical            "mice, cell lines, or patient derived       ``preclinical``
                       models"
Inferential            "inferred as a result of mathematical       ``rationale``
                       modeling or an association between
                       molecular features"
=====================  ==========================================  =======================

*Clinical evidence* lumps cohort analyses and single-patient reports together. MASTER separates
them (m1B/m2B retrospective vs m1C/m2C case reports), so an assertion whose description speaks
of individual patients ("a patient", "two patients", "case report") becomes ``case_report`` and
every other one ``retrospective_study``: the clinical-study default is the cohort, and the
description is the only field that tells the two apart. In the 2025-02-07 release 8 of the 175
*Clinical evidence* assertions read as case reports.

Sensitivity, resistance and what is skipped
-------------------------------------------
``therapy_resistance == 1`` gives direction ``resistance``, ``therapy_sensitivity == 1``
``sensitivity``. ``therapy_sensitivity == 0`` means "not sensitive" (SOP: "0 if the
relationship asserts not sensitive"): a negative finding (e.g. no benefit of everolimus by
TSC1 status), not evidence of resistance, so those assertions are skipped rather than turned
into R-level rules. Each skipped assertion is counted under the first reason that applies:

``deprecated``
    ``_deprecated`` is true.
``germline_variant``
    tumorboard interprets somatic findings.
``microsatellite_stability``, ``mutational_signature``, ``knockdown``, ``aneuploidy``
    (and ``neoantigen_burden`` of older releases): no Finding kind
    (:data:`tumorboard.model.FINDING_KINDS`) represents them; a knockdown is an experimental
    perturbation, not something measured in a tumour.
``no_therapy``
    Prognostic, diagnostic or adverse-event assertions without a therapy.
``not_sensitive``
    ``therapy_sensitivity == 0`` (see above).
``no_response``
    A therapy but neither flag set (e.g. adverse-event risk only).
``unsupported_feature``
    A feature the mapping cannot express (copy number without direction, TMB ``Low``, a
    somatic variant without gene).
``unknown_gene``
    Not a GENCODE gene symbol of the shipped gene table (e.g. the IGH locus), after
    :data:`RETIRED_SYMBOLS`.
``unmapped_entity``
    The OncoTree code is neither in the shipped OncoTree nor resolvable (below).
``unknown_implication``
    A ``predictive_implication`` outside the six above.
``no_citation``
    No source that :data:`tumorboard.knowledge.schema.CITATION_PATTERN` accepts.
``schema_rejected`` / ``duplicate_id``
    The rule failed schema validation or repeats an id (should not happen; reported).

Features to conditions
----------------------
- Somatic variant: ``mutation`` of ``gene``; ``variant`` = the protein change when given
  (``p.V600E``, ``p.G12``), else ``exon N`` when an exon is given, else ``truncating`` for
  ``Nonsense`` / ``Frameshift`` / ``Splice Site`` (the variants layer counts canonical
  splice-site changes as truncating), else ``oncogenic`` (hotspot or likely oncogenic). Gene-level
  assertions are read as ``oncogenic`` rather than ``any``: they describe activating or
  inactivating variants ("Activating mutations in AKT may predict sensitivity ..."), and
  matching every variant of unknown significance would over-recommend.
- Copy number: ``Amplification`` -> ``amplification``; ``Deletion`` -> ``deletion`` (MOAlmanac
  deletions are the homozygous losses that inactivate a suppressor, e.g. CDKN2A).
- Rearrangement: ``fusion``; ``variant`` ``GENE1::GENE2`` (SOP: gene1 is the 5', gene2 the 3'
  partner) when both partners are given, else ``any``; ``gene`` is the partner that is a
  kinase/pathway target in :data:`GENE_BASKETS` (3' first), else the 5' partner, as the
  fusion layer names its Findings.
- Mutational burden ``High``: ``tmb`` with ``min_value`` = ``mutations_per_mb`` when given,
  else ``calls: [high]`` (the variants layer's ``tmb_high``, 10 mut/Mb, the FDA threshold of
  KEYNOTE-158; a ``minimum_mutations`` count is not convertible without the territory).

Entities
--------
``oncotree_code`` if it is in the shipped OncoTree (:func:`tumorboard.reference.oncotree`);
an empty code with term "Any solid tumor" -> ``any_solid_tumour``; a retired code -> its
successor by OncoTree's own ``history`` (renamed: MM -> PCM), ``precursors`` or
``revocations`` (ALL -> BLL and TLL, TALL -> TLL, BALL -> BLL, LEUK -> MNM); else the node
whose name equals the ``oncotree_term`` (or the single top node of those whose names start
with it: "Myeloid/Lymphoid Neoplasms" -> MLNER). Remapped codes are listed in the report's
notes. Anything else is skipped as ``unmapped_entity``.

Citations
---------
FDA: ``FDA label: <Brand (generic)>, revised <date>; <label URL>`` from the package-insert
citation; Guideline: ``NCCN Guidelines: <name> V.<version>``; Journal: ``PMID:<pmid>``, else
``DOI:<doi>``, else the NCT number. An NCT number that is not the citation is kept in the
evidence summary.

Therapies and baskets
---------------------
See :func:`classify_therapy` (drug class from the INN stem, then the MOAlmanac
``therapy_strategy``, then ``therapy_type``) and :func:`rule_basket` / :data:`GENE_BASKETS`.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tumorboard.errors import InputError
from tumorboard.io._files import read_text
from tumorboard.knowledge.schema import (
    ANY_SOLID,
    CITATION_PATTERN,
    Condition,
    Evidence,
    KnowledgeBase,
    Rule,
    Therapy,
)

__all__ = [
    "GENE_BASKETS",
    "RETIRED_SYMBOLS",
    "ImportReport",
    "classify_agent",
    "classify_therapy",
    "gene_basket",
    "read_moalmanac",
    "resolve_oncotree",
    "rule_basket",
]

LICENCE = "GPL-2.0 repository; facts restated with citation"

# ---------------------------------------------------------------------------------------------
# the report


@dataclass
class ImportReport:
    """What an importer took from a source and what it left out, and why.

    Attributes
    ----------
    source, version
        The knowledge base read (``moalmanac``, ``civic``) and its release.
    total
        Records read (assertions, evidence rows).
    imported
        Rules produced (a CIViC row with substitutable therapies gives one rule per therapy,
        so ``imported`` may exceed the records kept).
    skipped
        Records left out, by reason (see the importer's module docstring for the reasons).
    examples
        Up to five record ids per reason, for looking them up in the source.
    notes
        Remappings and other decisions worth a reader's attention (e.g. retired OncoTree
        codes replaced by their successors).
    """

    source: str
    version: str = "unknown"
    total: int = 0
    imported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, record_id: object) -> None:
        """Count one record skipped for ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        ids = self.examples.setdefault(reason, [])
        if len(ids) < 5:
            ids.append(str(record_id))

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "version": self.version, "total": self.total,
                "imported": self.imported, "skipped": dict(sorted(self.skipped.items())),
                "examples": {k: list(v) for k, v in sorted(self.examples.items())},
                "notes": list(self.notes)}

    def describe(self) -> str:
        """One line for a log: ``moalmanac 2025-02-07: 520 rules from 1,007; skipped ...``."""
        parts = ", ".join(f"{k} {v:,}" for k, v in sorted(self.skipped.items(),
                                                          key=lambda kv: (-kv[1], kv[0])))
        return (f"{self.source} {self.version}: {self.imported:,} rules from {self.total:,} "
                f"records; skipped {self.n_skipped:,}" + (f" ({parts})" if parts else ""))


class SkipRecord(Exception):
    """An assertion that does not become a rule; ``reason`` is a key of the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# genes and baskets

#: Gene -> MASTER treatment basket. The basket scheme is that of the NCT/DKTK MASTER programme
#: (Horak P et al., Cancer Discov 2021;11:2780-2795, doi:10.1158/2159-8290.CD-21-0126: tyrosine
#: kinases, PI3K-AKT-mTOR, RAF-MEK-ERK, cell cycle, DNA damage response, developmental
#: pathways, immune evasion, other); the assignment of each gene is tumorboard's, by the
#: pathway the gene signals in: receptor and non-receptor tyrosine kinases and their ligands
#: (NRG1), the PI3K-AKT-mTOR axis with its negative regulators (PTEN, TSC1/2, STK11, FLCN), RAS-RAF-
#: MEK-ERK with NF1 and SHP2 (PTPN11), the G1/S machinery with the MDM2/MDM4-p53 axis that CDK4/
#: MDM2-amplified sarcomas depend on, homologous recombination / mismatch repair / replication
#: stress genes, Hedgehog-WNT-NOTCH, and antigen presentation / checkpoint ligands. Genes not
#: listed are ``other``.
GENE_BASKETS: dict[str, str] = {
    **dict.fromkeys(
        ("ABL1", "ALK", "AXL", "BTK", "CSF1R", "DDR1", "DDR2", "EGFR", "EPHA2", "ERBB2", "ERBB3",
         "ERBB4", "FGFR1", "FGFR2", "FGFR3", "FGFR4", "FLT3", "IGF1R", "JAK1", "JAK2", "JAK3",
         "KDR", "KIT", "LTK", "MERTK", "MET", "NRG1", "NTRK1", "NTRK2", "NTRK3", "PDGFB",
         "PDGFRA", "PDGFRB", "RET", "ROS1", "SRC", "TYRO3"), "tyrosine_kinases"),
    **dict.fromkeys(
        ("AKT1", "AKT2", "AKT3", "FLCN", "INPP4B", "MTOR", "PIK3CA", "PIK3CB", "PIK3R1", "PIK3R2",
         "PTEN", "RHEB", "RICTOR", "STK11", "TSC1", "TSC2"), "pi3k_akt_mtor"),
    **dict.fromkeys(
        ("ARAF", "BRAF", "HRAS", "KRAS", "MAP2K1", "MAP2K2", "MAPK1", "MAPK3", "NF1", "NRAS",
         "PTPN11", "RAF1", "SOS1"), "raf_mek_erk"),
    **dict.fromkeys(
        ("AURKA", "AURKB", "CCND1", "CCND2", "CCND3", "CCNE1", "CDK4", "CDK6", "CDKN2A",
         "CDKN2B", "CDKN2C", "MDM2", "MDM4", "RB1", "WEE1"), "cell_cycle"),
    **dict.fromkeys(
        ("ATM", "ATR", "BAP1", "BARD1", "BRCA1", "BRCA2", "BRIP1", "CDK12", "CHEK1", "CHEK2",
         "ERCC2", "FANCA", "FANCC", "FANCD2", "MLH1", "MRE11", "MSH2", "MSH6", "MUTYH", "NBN",
         "PALB2", "PMS2", "POLE", "PPP2R2A", "RAD50", "RAD51B", "RAD51C", "RAD51D", "RAD54L",
         "RAD17"), "dna_damage_response"),
    **dict.fromkeys(
        ("APC", "CTNNB1", "GLI1", "NOTCH1", "NOTCH2", "NOTCH3", "PTCH1", "RSPO2", "RSPO3", "SMO",
         "SUFU"), "developmental_pathways"),
    **dict.fromkeys(("B2M", "CD274", "PDCD1LG2"), "immune_evasion"),
}

#: Retired HGNC symbols used by MOAlmanac -> current symbol (HGNC: MRE11A was renamed MRE11,
#: MYH is MUTYH).
RETIRED_SYMBOLS: dict[str, str] = {"MRE11A": "MRE11", "MYH": "MUTYH"}


def gene_basket(gene: str | None) -> str:
    """The basket of a gene by :data:`GENE_BASKETS` (``other`` if not listed)."""
    return GENE_BASKETS.get(str(gene or "").upper(), "other")


#: Drug classes aimed at an antigen, whose basket is ``antigen_directed``; plain monoclonal
#: antibodies (trastuzumab, cetuximab) block the receptor's signalling and stay in the gene's
#: basket, as in Horak et al. 2021.
_ANTIGEN_BASKET_CLASSES = frozenset({"adc", "car_t", "tcr_t", "bispecific", "radioligand"})


def rule_basket(conditions: Sequence[Condition], drug_class: str) -> str:
    """The MASTER basket of a rule: immune evasion for TMB and checkpoint inhibitors,
    antigen-directed for ADCs, CAR-T, TCR-T, bispecifics and radioligands, else the basket of
    the first condition's gene (:data:`GENE_BASKETS`)."""
    if drug_class == "checkpoint_inhibitor" or any(c.kind == "tmb" for c in conditions):
        return "immune_evasion"
    if drug_class in _ANTIGEN_BASKET_CLASSES:
        return "antigen_directed"
    for c in conditions:
        if c.gene:
            return gene_basket(c.gene)
    return "other"


def hgnc_symbol(raw: object) -> str:
    """An HGNC symbol from a source's gene field, or '' (raises SkipRecord for unknown genes)."""
    from tumorboard.reference import gene_symbols

    gene = str(raw or "").strip()
    if not gene:
        return ""
    gene = RETIRED_SYMBOLS.get(gene.upper(), gene.upper())
    if gene not in gene_symbols():
        raise SkipRecord("unknown_gene")
    return gene


# ---------------------------------------------------------------------------------------------
# therapies

# Name stems of the WHO INN programme (The use of stems in the selection of International
# Nonproprietary Names for pharmaceutical substances, WHO 2018, WHO/EMP/RHT/TSN/2018.1): -mab
# monoclonal antibodies, -tinib tyrosine kinase inhibitors, -rafenib RAF inhibitors, -parib
# PARP inhibitors, -ciclib CDK inhibitors, -lisib PI3K inhibitors, -sertib serine/threonine
# kinase inhibitors, -limus mTOR inhibitors (rapamycin derivatives), -metinib MEK inhibitors,
# -sidenib IDH inhibitors, -rasib RAS inhibitors, -zomib proteasome inhibitors, -lutamide
# antiandrogens, -strant oestrogen-receptor antagonists, -trozole aromatase inhibitors. ADCs are
# named "<antibody> <linker-payload>" (deruxtecan, vedotin, emtansine, govitecan, ...).
_ADC_PAYLOADS = ("deruxtecan", "vedotin", "emtansine", "mertansine", "govitecan", "mafodotin",
                 "ozogamicin", "tesirine", "soravtansine", "duocarmazine", "tirumotecan")
_CHECKPOINT = frozenset({
    "atezolizumab", "avelumab", "cemiplimab", "dostarlimab", "durvalumab", "ipilimumab",
    "nivolumab", "pembrolizumab", "relatlimab", "retifanlimab", "tislelizumab", "toripalimab",
    "tremelimumab"})
_BISPECIFIC = frozenset({
    "amivantamab", "blinatumomab", "elranatamab", "epcoritamab", "glofitamab", "mosunetuzumab",
    "talquetamab", "tarlatamab", "teclistamab", "zanidatamab", "zenocutuzumab"})
_CDK46 = frozenset({"abemaciclib", "palbociclib", "ribociclib"})
_MTOR_KINASE = frozenset({"sapanisertib", "vistusertib"})
_HORMONE = frozenset({"abiraterone", "anastrozole", "exemestane", "goserelin", "leuprolide",
                      "tamoxifen", "toremifene"})
# Strategy words naming a kinase target (MOAlmanac ``therapy_strategy``).
_KINASE_TARGET = re.compile(
    r"\b(EGFR|BCR-ABL|KIT|B-RAF|RAF|FGFR\d?|MET|ALK|RET|TRK|ROS1?|JAK\d?|PDGF-R|Aurora|FLT3|"
    r"ATR|ATM|CDK[\d/]*|VEGFR?|BTK|HER2|SRC|WEE1|CHK1)\b")
_CHEMO = re.compile(r"chemotherapy|platinum|antifolate|antimetabolite|thymidylate|"
                    r"hypomethylating|alkylating|intercalat|taxane", re.IGNORECASE)


def _inn(name: str) -> str:
    """Lower-case drug name without an FDA biologic suffix (``amivantamab-vmjw``)."""
    low = name.strip().lower()
    return re.sub(r"-[a-z]{4}$", "", low)


def classify_agent(name: str, strategy: str | None = None, therapy_type: str | None = None
                   ) -> str:
    """The drug class (:data:`tumorboard.knowledge.schema.DRUG_CLASSES`) of one agent.

    First the INN name (stems and small lists above: ADC payloads, checkpoint antibodies,
    bispecifics, ``-mab``, ``-parib``, CDK4/6 inhibitors, ``-metinib``, ``-limus``, ``-lisib``,
    EZH2/MDM2 inhibitors, hormones, ``-tinib``/``-rafenib``), then the source's mechanism text
    (MOAlmanac ``therapy_strategy``: 'PARP inhibition', 'EGFR inhibition', ...), then the therapy
    type. Targeted drugs that are not kinase inhibitors (IDH, menin, KRAS G12C, proteasome, BET,
    HDAC inhibitors) are ``other``, not ``kinase_inhibitor``: the expression-versus-activation
    logic reserves kinase inhibitors for activated kinases. MOAlmanac writes 'ER signaling
    inhibition' also for HER2 drugs (trastuzumab, lapatinib), so that strategy alone makes a
    hormone therapy only when nothing in the name says otherwise.
    """
    inn = _inn(name)
    text = strategy or ""
    ttype = (therapy_type or "").lower()
    if any(p in inn for p in _ADC_PAYLOADS):
        return "adc"
    first = inn.split()[0] if inn.split() else inn
    if first in _CHECKPOINT or (first.endswith("mab") and re.search(
            r"PD-1|PD-L1|CTLA-4|LAG-3", text)):
        return "checkpoint_inhibitor"
    if first in _BISPECIFIC:
        return "bispecific"
    if first.endswith("mab"):
        return "monoclonal_antibody"
    if first.endswith("parib") or "PARP" in text:
        return "parp_inhibitor"
    if first in _CDK46 or "CDK4/6" in text:
        return "cdk4_6_inhibitor"
    if first.endswith("metinib") or re.fullmatch(r"\s*MEK inhibition\s*", text):
        return "mek_inhibitor"
    if first.endswith("limus") or first == "rapamycin" or first in _MTOR_KINASE:
        return "mtor_inhibitor"
    if first.endswith("lisib") or "PI3K/AKT/mTOR" in text:
        return "pi3k_akt_inhibitor"
    if first.endswith("metostat") or "EZH2" in text:
        return "ezh2_inhibitor"
    if "nutlin" in first or first.endswith(("madlin", "demetan")) or "MDM2" in text:
        return "mdm2_inhibitor"
    if (first in _HORMONE or first.endswith(("lutamide", "strant", "trozole"))
            or re.search(r"Antiandrogen|Aromatase", text)):
        return "hormone_therapy"
    if first.endswith(("sidenib", "menib", "farnib", "rasib", "zomib")):
        return "other"
    if first.endswith(("tinib", "rafenib", "nib")) or _KINASE_TARGET.search(text):
        return "kinase_inhibitor"
    if ttype == "chemotherapy" or _CHEMO.search(text) or _CHEMO.search(inn):
        return "chemotherapy"
    if "ER signaling" in text and ttype == "hormone therapy":
        return "hormone_therapy"
    if ttype == "hormone therapy":
        return "hormone_therapy"
    if ttype == "immunotherapy":
        return "checkpoint_inhibitor"
    return "other"


def classify_therapy(agents: Sequence[str], strategy: str | None = None,
                     therapy_type: str | None = None) -> str:
    """The drug class of a therapy of one or more agents.

    ``strategy`` is split on ``' + '`` and paired with the agents when the counts agree (the
    MOAlmanac SOP lists strategies in the order of the therapies), else given whole to each.
    The therapy's class is the first of its agents' classes in :data:`_COMBINATION_ORDER`:
    antigen-directed drugs, then kinase and other targeted small molecules, then checkpoint
    inhibitors, plain antibodies, hormone therapy, chemotherapy and other. The drug that
    defines a combination is the targeted one: 'Abiraterone + Olaparib' and 'Bevacizumab +
    Olaparib' are PARP inhibitor therapies, 'Cetuximab + Encorafenib' a kinase inhibitor one.
    """
    parts = [s.strip() for s in (strategy or "").split(" + ")] if strategy else []
    if len(parts) != len(agents):
        parts = [strategy or ""] * len(agents)
    classes = {classify_agent(a, s, therapy_type) for a, s in zip(agents, parts, strict=True)}
    for cls in _COMBINATION_ORDER:
        if cls in classes:
            return cls
    return "other"


#: Which agent's class names a combination (see :func:`classify_therapy`); every class of
#: :data:`tumorboard.knowledge.schema.DRUG_CLASSES` appears once.
_COMBINATION_ORDER: tuple[str, ...] = (
    "adc", "car_t", "tcr_t", "bispecific", "radioligand", "kinase_inhibitor", "parp_inhibitor",
    "cdk4_6_inhibitor", "mdm2_inhibitor", "mtor_inhibitor", "pi3k_akt_inhibitor",
    "mek_inhibitor", "ezh2_inhibitor", "checkpoint_inhibitor", "monoclonal_antibody",
    "hormone_therapy", "chemotherapy", "other")


# ---------------------------------------------------------------------------------------------
# OncoTree


@cache
def _oncotree_successors() -> dict[str, tuple[tuple[str, ...], str]]:
    """Retired OncoTree code -> (current code(s), ``'renamed'`` or ``'replaced'``).

    OncoTree records on each node the codes it took over: ``history`` (the same tumour type
    under an earlier code: renamed), ``precursors`` (codes it superseded) and ``revocations``
    (codes withdrawn in its favour), both ``replaced``; cBioPortal/oncotree documentation,
    "OncoTree versioning".
    """
    from tumorboard.reference import ONCOTREE_VERSION

    path = resources.files("tumorboard.data") / f"{ONCOTREE_VERSION}.json"
    root = json.loads(path.read_text(encoding="utf-8"))
    renamed: dict[str, set[str]] = defaultdict(set)
    replaced: dict[str, set[str]] = defaultdict(set)
    stack = list(root.values())
    while stack:
        node = stack.pop()
        for old in node.get("history") or ():
            renamed[str(old).upper()].add(node["code"])
        for key in ("precursors", "revocations"):
            for old in node.get(key) or ():
                replaced[str(old).upper()].add(node["code"])
        stack.extend(node.get("children", {}).values())
    out = {k: (tuple(sorted(v)), "replaced") for k, v in replaced.items()}
    out.update({k: (tuple(sorted(v)), "renamed") for k, v in renamed.items()})
    return out


_ANY_SOLID_TERMS = frozenset({"any solid tumor", "any solid tumour", "solid tumor",
                              "solid tumour", "cancer"})


def resolve_oncotree(code: str | None, term: str | None = None) -> tuple[tuple[str, ...], str]:
    """Entity codes for a source's OncoTree code and term, and how they were found.

    Returns ``(codes, how)`` with ``how`` one of ``'code'``, ``'any_solid'``, ``'renamed'``,
    ``'replaced'``, ``'name'``; ``((), 'unmapped')`` if nothing fits (module docstring: order).
    """
    from tumorboard.reference import oncotree

    tree = oncotree()
    key = str(code or "").strip().upper()
    name = str(term or "").strip()
    if key and key in tree:
        return (key,), "code"
    if not key and name.lower() in _ANY_SOLID_TERMS:
        return (ANY_SOLID,), "any_solid"
    if key and key in _oncotree_successors():
        return _oncotree_successors()[key]
    if name:
        low = name.lower()
        exact = [c for c, t in tree.items() if t.name.lower() == low]
        if len(exact) == 1:
            return (exact[0],), "name"
        starts = [c for c, t in tree.items() if t.name.lower().startswith(low + " ")]
        if starts:
            top = min(starts, key=lambda c: tree[c].level)
            if all(_descends(c, top, tree) for c in starts):
                return (top,), "name"
    return (), "unmapped"


def _descends(code: str, ancestor: str, tree: dict[str, Any]) -> bool:
    node = tree.get(code)
    while node is not None:
        if node.code == ancestor:
            return True
        node = tree.get(node.parent) if node.parent else None
    return False


# ---------------------------------------------------------------------------------------------
# MOAlmanac specifics

_IMPLICATION_TYPE = {
    "fda-approved": "approval",
    "guideline": "guideline",
    "clinical trial": "prospective_trial",
    "clinical evidence": "retrospective_study",
    "preclinical": "preclinical",
    "preclinical evidence": "preclinical",
    "inferential": "rationale",
    "inferential evidence": "rationale",
}
_UNSUPPORTED_TYPES = {
    "microsatellite stability": "microsatellite_stability",
    "mutational signature": "mutational_signature",
    "knockdown": "knockdown",
    "silencing": "knockdown",
    "aneuploidy": "aneuploidy",
    "neoantigen burden": "neoantigen_burden",
}
_CASE_REPORT = re.compile(
    r"\bcase (report|series|study)\b|\b(a|one|single|two|three) (patient|case)s?\b",
    re.IGNORECASE)
_TRUNCATING = {"nonsense", "frameshift", "splice site"}
_REQUIRED = ("assertion_id", "feature_type", "predictive_implication")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _flag(value: object) -> int | None:
    text = _text(value)
    if text in ("", "None"):
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


def _conditions(a: dict[str, Any]) -> tuple[Condition, ...]:
    ftype = _text(a.get("feature_type")).lower()
    if ftype == "somatic variant":
        gene = hgnc_symbol(a.get("gene"))
        if not gene:
            raise SkipRecord("unsupported_feature")
        protein = _text(a.get("protein_change"))
        exon = _text(a.get("exon"))
        annotation = _text(a.get("variant_annotation")).lower()
        if protein:
            variant = protein if protein.startswith("p.") else f"p.{protein}"
        elif exon:
            variant = f"exon {exon}"
        elif annotation in _TRUNCATING:
            variant = "truncating"
        else:
            variant = "oncogenic"
        return (Condition(kind="mutation", gene=gene, variant=variant),)
    if ftype == "copy number":
        gene = hgnc_symbol(a.get("gene"))
        direction = _text(a.get("direction")).lower()
        kind = {"amplification": "amplification", "deletion": "deletion"}.get(direction)
        if not gene or kind is None:
            raise SkipRecord("unsupported_feature")
        return (Condition(kind=kind, gene=gene),)
    if ftype == "rearrangement":
        gene1 = hgnc_symbol(a.get("gene1"))
        gene2 = hgnc_symbol(a.get("gene2"))
        if not gene1 and not gene2:
            raise SkipRecord("unsupported_feature")
        variant = f"{gene1}::{gene2}" if gene1 and gene2 else "any"
        gene = next((g for g in (gene2, gene1) if g and gene_basket(g) != "other"),
                    gene1 or gene2)
        return (Condition(kind="fusion", gene=gene, variant=variant),)
    if ftype == "mutational burden":
        if _text(a.get("classification")).lower() != "high":
            raise SkipRecord("unsupported_feature")
        per_mb = _text(a.get("mutations_per_mb"))
        if per_mb:
            return (Condition(kind="tmb", min_value=float(per_mb)),)
        return (Condition(kind="tmb", calls=("high",)),)
    raise SkipRecord("unsupported_feature")


_NCCN = re.compile(r"NCCN Guidelines\W*\)?\s*for (?P<name>.+?) V\.?\s?(?P<ver>[\d.]+\d)")
_LABEL = re.compile(r"\.\s+(?P<label>[^.]*?)\s*\[package insert\]")
_REVISED = re.compile(r"Revised:?\s+(?P<rev>[^.]+?)\.")


def _citation(a: dict[str, Any]) -> str:
    source = _text(a.get("source_type")).lower()
    pmid, doi, nct = _text(a.get("pmid")), _text(a.get("doi")), _text(a.get("nct"))
    cited = _text(a.get("citation"))
    url = _text(a.get("url"))
    candidates: list[str] = []
    if source == "fda":
        label = _LABEL.search(" " + cited)
        revised = _REVISED.search(cited)
        what = label.group("label") if label else (_text(a.get("therapy_name")) or "label")
        when = revised.group("rev") if revised else _text(a.get("publication_date"))
        text = f"FDA label: {what}" + (f", revised {when}" if when else "")
        candidates.append(text + (f"; {url}" if url else ""))
    if source == "guideline":
        m = _NCCN.search(cited)
        if m:
            candidates.append(f"NCCN Guidelines: {m.group('name').strip()} V.{m.group('ver')}")
    if pmid:
        candidates.append(f"PMID:{pmid}")
    if doi:
        candidates.append(f"DOI:{doi}")
    if nct:
        candidates.append(nct)
    if source == "guideline" and cited:
        candidates.append(f"guideline: {cited[:200]}")
    for c in candidates:
        if CITATION_PATTERN.match(c):
            return c
    raise SkipRecord("no_citation")


def _evidence_type(a: dict[str, Any]) -> str:
    implication = _text(a.get("predictive_implication")).lower()
    etype = _IMPLICATION_TYPE.get(implication)
    if etype is None:
        raise SkipRecord("unknown_implication")
    if etype == "retrospective_study" and _CASE_REPORT.search(_text(a.get("description"))):
        return "case_report"
    return etype


def _rule(a: dict[str, Any], release: str, notes: Counter[str]) -> Rule:
    aid = _text(a.get("assertion_id"))
    if a.get("_deprecated") is True or _text(a.get("_deprecated")).lower() == "true":
        raise SkipRecord("deprecated")
    ftype = _text(a.get("feature_type")).lower()
    if ftype == "germline variant":
        raise SkipRecord("germline_variant")
    if ftype in _UNSUPPORTED_TYPES:
        raise SkipRecord(_UNSUPPORTED_TYPES[ftype])
    therapy_name = _text(a.get("therapy_name"))
    if not therapy_name:
        raise SkipRecord("no_therapy")
    sensitive, resistant = _flag(a.get("therapy_sensitivity")), _flag(a.get("therapy_resistance"))
    if resistant == 1:
        direction = "resistance"
    elif sensitive == 1:
        direction = "sensitivity"
    elif sensitive == 0:
        raise SkipRecord("not_sensitive")
    else:
        raise SkipRecord("no_response")
    conditions = _conditions(a)
    code, term = _text(a.get("oncotree_code")), _text(a.get("oncotree_term"))
    entities, how = resolve_oncotree(code, term)
    if not entities:
        raise SkipRecord("unmapped_entity")
    if how in ("renamed", "replaced", "name"):
        notes[f"OncoTree {code or repr(term)} -> {'/'.join(entities)} ({how})"] += 1
    etype = _evidence_type(a)
    citation = _citation(a)
    agents = tuple(x.strip() for x in therapy_name.split(" + ") if x.strip())
    strategy = _text(a.get("therapy_strategy")) or None
    drug_class = classify_therapy(agents, strategy, _text(a.get("therapy_type")))
    summary = _text(a.get("description")) or None
    nct = _text(a.get("nct"))
    if nct and nct != citation and summary and nct not in summary:
        summary += f" (trial {nct})"
    disease = term or _text(a.get("disease")) or "any solid tumour"
    feature = _text(a.get("feature_display")) or conditions[0].describe()
    approval = None
    if etype == "approval":
        approval = f"FDA {_text(a.get('publication_date'))[:4]} {disease}".replace("  ", " ")
    note_bits = [f"MOAlmanac {_text(a.get('predictive_implication'))}"]
    if _text(a.get("disease")) and _text(a.get("disease")) != term:
        note_bits.append(f"disease as written: {_text(a.get('disease'))}")
    if _text(a.get("context")):
        note_bits.append(f"context: {_text(a.get('context'))}")
    return Rule(
        id=f"moalmanac:{aid}",
        title=f"{feature}: {therapy_name} in {disease}"
              + (" (resistance)" if direction == "resistance" else ""),
        conditions=conditions,
        therapy=Therapy(agents=agents, drug_class=drug_class, mechanism=strategy,
                        approval=approval),
        basket=rule_basket(conditions, drug_class),
        evidence=(Evidence(type=etype, entities=entities, direction=direction,
                           citation=citation, summary=summary),),
        source=f"MOAlmanac {release}",
        notes="; ".join(note_bits),
    )


# ---------------------------------------------------------------------------------------------
# reading


def _load_json(path: str | Path) -> tuple[Path, Any]:
    p, text, _notes = read_text(path)
    try:
        return p, json.loads(text)
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip())
        problem = (f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
                   + (" (the file ends in the middle of the document: truncated?)"
                      if cut else ""))
        raise InputError(problem, file=p, line=exc.lineno,
                         expected="the MOAlmanac JSON document "
                                  "(molecular-oncology-almanac.json)",
                         fix="download or copy the file again and check that it is complete"
                         ) from exc


def _assertions(p: Path, data: Any) -> tuple[list[dict[str, Any]], str, str]:
    """The assertion list, release and format version of a parsed MOAlmanac document."""
    if isinstance(data, list):
        content, release, version = data, "", ""
    elif isinstance(data, dict):
        if "content" not in data:
            keys = ", ".join(f"'{k}'" for k in list(data)[:8]) or "none"
            raise InputError(
                f"not a MOAlmanac document: no key 'content' at the top level (keys: {keys})",
                file=p, expected="a JSON object with 'release', 'version' and 'content' (the "
                                 "list of assertions), as in molecular-oncology-almanac.json",
                fix="give the MOAlmanac JSON (vanallenlab/moalmanac, "
                    "datasources/moalmanac/molecular-oncology-almanac.json)")
        content = data["content"]
        release, version = _text(data.get("release")), _text(data.get("version"))
    else:
        raise InputError(f"not a MOAlmanac document: the top level is a JSON "
                         f"{type(data).__name__}", file=p,
                         expected="a JSON object with key 'content'")
    if not isinstance(content, list):
        raise InputError(f"not a MOAlmanac document: 'content' is a JSON "
                         f"{type(content).__name__}, not a list of assertions", file=p,
                         expected="'content': [ {assertion}, ... ]")
    for i, a in enumerate(content):
        if not isinstance(a, dict):
            raise InputError(f"not a MOAlmanac document: content[{i}] is not an object",
                             file=p, expected="each assertion a JSON object")
        missing = [k for k in _REQUIRED if k not in a]
        if missing:
            raise InputError(
                f"content[{i}] (assertion {a.get('assertion_id', '?')}) has no key "
                f"'{missing[0]}'", file=p,
                expected=f"every assertion to have {', '.join(repr(k) for k in _REQUIRED)}",
                fix="check that the file is the MOAlmanac JSON, not another knowledge base")
    return content, release, version


def read_moalmanac(path: str | Path) -> tuple[KnowledgeBase, ImportReport]:
    """Read a MOAlmanac JSON into a knowledge base on tumorboard's rule schema.

    Mapping and skip reasons are in the module docstring (MOAlmanac: Reardon et al., Nat
    Cancer 2021, doi:10.1038/s43018-021-00243-3).

    Parameters
    ----------
    path
        ``molecular-oncology-almanac.json`` (plain or gzipped).

    Returns
    -------
    (KnowledgeBase, ImportReport)
        Knowledge base ``moalmanac``, version = the file's ``release`` (else its
        ``version``), rule ids ``moalmanac:<assertion_id>``; and the counts of imported and
        skipped assertions by reason.

    Raises
    ------
    InputError
        The file is missing, empty, not JSON or cut short (with the line and column of the
        JSON error), or not shaped like MOAlmanac (names the key that was expected).
    """
    p, data = _load_json(path)
    content, release, fmt_version = _assertions(p, data)
    version = release or fmt_version or "unknown"
    report = ImportReport(source="moalmanac", version=version, total=len(content))
    notes: Counter[str] = Counter()
    rules: list[Rule] = []
    seen: set[str] = set()
    for a in content:
        aid = _text(a.get("assertion_id"))
        try:
            rule = _rule(a, version, notes)
        except SkipRecord as skip:
            report.skip(skip.reason, aid)
            continue
        except ValidationError as exc:
            report.skip("schema_rejected", aid)
            notes[f"assertion {aid} rejected by the schema: "
                  f"{exc.errors()[0].get('msg', exc)}"] += 1
            continue
        if rule.id in seen:
            report.skip("duplicate_id", aid)
            continue
        seen.add(rule.id)
        rules.append(rule)
    report.imported = len(rules)
    report.notes = [f"{text} x{n}" if n > 1 else text for text, n in sorted(notes.items())]
    description = (f"Molecular Oncology Almanac release {release or 'unknown'}"
                   + (f" (format version {fmt_version})" if fmt_version else "")
                   + f"; {report.imported:,} of {report.total:,} assertions imported "
                     "(Reardon et al., Nat Cancer 2021, doi:10.1038/s43018-021-00243-3)")
    kb = KnowledgeBase(name="moalmanac", version=version, description=description,
                       licence=LICENCE, rules=tuple(rules))
    return kb, report

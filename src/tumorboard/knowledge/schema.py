"""The rule schema of the knowledge base: biomarker conditions, therapy, evidence, basket.

A :class:`Rule` says: a tumour whose Findings / TargetEvidence satisfy *all* its
:class:`Condition` s may respond to (or resist) its :class:`Therapy`, on the strength of its
:class:`Evidence` items. Every evidence item carries a citation (PMID, DOI, NCT number, or an FDA
/ EMA label); a rule without one does not load. Curated rules (``knowledge/rules/*.yaml``) and
imported ones (MOAlmanac, CIViC) share this schema.

Evidence types and how they become NCT/DKTK MASTER levels
----------------------------------------------------------
The level itself is never stored in a rule: :mod:`tumorboard.recommend` derives it from the
evidence type and whether the evidence's entity matches the patient's (through OncoTree
ancestry). The levels are those of the NCT/DKTK MASTER programme (Leichsenring J, Horak P,
et al., Variant classification in precision oncology, Int J Cancer 2019;145:2996-3010,
doi:10.1002/ijc.32358; Horak P et al., Assigning evidence to actionability: an introduction to
variant interpretation in precision cancer medicine, Genes Chromosomes Cancer 2022;61:303-313,
doi:10.1002/gcc.22987):

======================  ================  =====================
evidence ``type``       same entity       other entity
======================  ================  =====================
approval                m1A (+ Z)         m2A (+ Z)
guideline               m1A               m2A
prospective_trial       m1A               m2A
retrospective_study     m1B               m2B
case_report             m1C               m2C
preclinical             m3                m3
rationale               m4                m4
======================  ================  =====================

Modifiers: ``is`` (evidence from in-situ testing such as IHC: :attr:`Evidence.in_situ`), ``iv``
(in vitro / functional evidence: :attr:`Evidence.in_vitro`), ``Z`` (the drug is approved, by
FDA or EMA, for this indication: evidence type ``approval``), ``R`` (resistance:
:attr:`Evidence.direction`).

Baskets
-------
Recommendations are grouped by the baskets the MASTER programme uses for its treatment
recommendations (Horak P et al., Comprehensive genomic and transcriptomic analysis for guiding
therapeutic decisions in patients with rare cancers, Cancer Discov 2021;11:2780-2795,
doi:10.1158/2159-8290.CD-21-0126: tyrosine kinases, PI3K-AKT-mTOR, RAF-MEK-ERK, cell cycle, DNA
damage response, developmental pathways, immune evasion, other), with one basket added for
antigen-directed drugs (ADC, CAR-T, TCR-T, bispecifics, radioligands), whose targets the DSRCT
study found at the RNA and protein level (Renner, Oleś et al., Nat Commun 2026).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tumorboard.model import FINDING_KINDS, TARGET_STATES

#: Evidence types, strongest first.
EVIDENCE_TYPES: tuple[str, ...] = (
    "approval",
    "guideline",
    "prospective_trial",
    "retrospective_study",
    "case_report",
    "preclinical",
    "rationale",
)

#: Drug classes a therapy can belong to.
DRUG_CLASSES: tuple[str, ...] = (
    "kinase_inhibitor",
    "monoclonal_antibody",
    "adc",
    "car_t",
    "tcr_t",
    "bispecific",
    "radioligand",
    "parp_inhibitor",
    "cdk4_6_inhibitor",
    "mdm2_inhibitor",
    "mtor_inhibitor",
    "pi3k_akt_inhibitor",
    "mek_inhibitor",
    "checkpoint_inhibitor",
    "ezh2_inhibitor",
    "hormone_therapy",
    "chemotherapy",
    "other",
)

#: Drug classes that aim at an antigen on the cell surface rather than at a kinase's activity.
ANTIGEN_DIRECTED_CLASSES: frozenset[str] = frozenset(
    {"adc", "car_t", "tcr_t", "bispecific", "radioligand", "monoclonal_antibody"})

#: Baskets of the MASTER programme (Horak et al., Cancer Discov 2021) plus antigen-directed.
BASKETS: tuple[str, ...] = (
    "tyrosine_kinases",
    "pi3k_akt_mtor",
    "raf_mek_erk",
    "cell_cycle",
    "dna_damage_response",
    "developmental_pathways",
    "immune_evasion",
    "antigen_directed",
    "other",
)

#: Condition kinds beyond the Finding kinds: the integrated target state of a gene, the
#: patient's entity, an HLA allele (typing is stored as ``hla_allele`` findings).
CONDITION_KINDS: tuple[str, ...] = (
    *dict.fromkeys(k for kinds in FINDING_KINDS.values() for k in kinds),
    "target",
    "entity",
)

#: The entity pseudo-code for evidence that covers any solid tumour (tumour-agnostic).
ANY_SOLID = "any_solid_tumour"

CITATION_PATTERN = re.compile(
    r"^(PMID:\s?\d{4,9}|DOI:\s?10\.\d{4,9}/\S+|NCT\d{8}|(FDA|EMA)( label)?:\s?\S.*|"
    r"(guideline|ESMO|NCCN|EURACAN)[:\s].+)$",
    re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One biomarker condition; a rule matches when all of its conditions match.

    Attributes
    ----------
    kind
        A Finding kind (``mutation``, ``amplification``, ``fusion``, ``overexpression``,
        ``tmb``, ``hla_allele``, ...), ``target`` (the gene's integrated TargetEvidence state)
        or ``entity`` (the patient's OncoTree code or a descendant of it).
    gene
        HGNC symbol; required except for ``tmb`` and ``entity``. For ``fusion`` the gene may be
        either partner unless ``partner`` says which.
    variant
        For ``mutation``: an HGVS protein change (``p.V600E`` or ``p.Val600Glu``), a residue
        (``p.V600``), an exon (``exon 11``), or one of ``any``, ``hotspot``, ``oncogenic``
        (hotspot or likely oncogenic), ``truncating``. For ``fusion``: ``GENE5::GENE3`` or
        ``any``.
    states
        For ``target``: the allowed TargetEvidence states (:data:`TARGET_STATES`).
    calls
        Allowed Finding calls (e.g. ``[high]`` for ``tmb``, ``[actionable_kinase]``).
    min_value
        The Finding's value must be at least this (e.g. TMB >= 10 mut/Mb).
    allele
        For ``hla_allele``: an IPD-IMGT/HLA allele or group prefix (``A*02``, ``A*02:01``).
    entities
        For ``entity``: OncoTree codes; the patient matches at the code or below it.
    """

    kind: str
    gene: str | None = None
    variant: str | None = None
    states: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    min_value: float | None = None
    allele: str | None = None
    entities: tuple[str, ...] = ()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in CONDITION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(CONDITION_KINDS)}")
        return value

    @field_validator("gene")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else value

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        if self.kind not in ("tmb", "entity") and not self.gene:
            raise ValueError(f"a '{self.kind}' condition needs a gene")
        if self.kind == "target" and not self.states:
            raise ValueError("a 'target' condition needs states")
        bad = set(self.states) - set(TARGET_STATES)
        if bad:
            raise ValueError(f"unknown target state(s) {sorted(bad)}; use {TARGET_STATES}")
        if self.kind == "entity" and not self.entities:
            raise ValueError("an 'entity' condition needs entities (OncoTree codes)")
        if self.kind == "hla_allele" and not self.allele:
            raise ValueError("an 'hla_allele' condition needs an allele such as 'A*02'")
        return self

    def describe(self) -> str:
        """The condition in a board member's words, e.g. 'ERBB2 expressed, not activated'."""
        if self.kind == "entity":
            return "entity " + "/".join(self.entities)
        if self.kind == "target":
            expressed = {"activated", "expressed_not_activated", "expressed_activation_unknown"}
            if set(self.states) == expressed:
                return f"{self.gene} expressed"
            return f"{self.gene} " + " or ".join(s.replace("_", " ") for s in self.states)
        if self.kind == "hla_allele":
            return f"HLA-{self.allele}"
        if self.kind == "tmb":
            return f"TMB >= {self.min_value:g} mut/Mb" if self.min_value else "TMB high"
        what = self.variant if self.variant and self.variant != "any" else ""
        return " ".join(x for x in (self.gene, what, self.kind.replace("_", " ")) if x)


class Therapy(_Strict):
    """What a rule proposes: the agents, their class and mechanism, approval status."""

    agents: tuple[str, ...] = Field(min_length=1)
    drug_class: str
    mechanism: str | None = None
    approval: str | None = None  # e.g. "FDA 2024 tumour-agnostic HER2 IHC 3+"

    @field_validator("drug_class")
    @classmethod
    def _known_class(cls, value: str) -> str:
        if value not in DRUG_CLASSES:
            raise ValueError(f"drug_class must be one of {', '.join(DRUG_CLASSES)}")
        return value

    @property
    def name(self) -> str:
        return " + ".join(self.agents)

    @property
    def antigen_directed(self) -> bool:
        return self.drug_class in ANTIGEN_DIRECTED_CLASSES


class Evidence(_Strict):
    """One evidence item: what kind of study, in which entities, for or against, cited."""

    type: str
    entities: tuple[str, ...] = Field(min_length=1)
    direction: Literal["sensitivity", "resistance"] = "sensitivity"
    citation: str
    summary: str | None = None
    in_situ: bool = False
    in_vitro: bool = False

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in EVIDENCE_TYPES:
            raise ValueError(f"evidence type must be one of {', '.join(EVIDENCE_TYPES)}")
        return value

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from tumorboard.reference import oncotree

        tree = oncotree()
        out = []
        for code in value:
            key = code.strip()
            if key.lower() == ANY_SOLID:
                out.append(ANY_SOLID)
                continue
            if key.upper() not in tree:
                raise ValueError(f"'{code}' is not an OncoTree code (or '{ANY_SOLID}')")
            out.append(key.upper())
        return tuple(out)

    @field_validator("citation")
    @classmethod
    def _cited(cls, value: str) -> str:
        value = value.strip()
        if not CITATION_PATTERN.match(value):
            raise ValueError(
                f"citation '{value}' must be 'PMID:<n>', 'DOI:10.<...>', an NCT number "
                "('NCT01234567'), 'FDA label: <drug, year>', 'EMA label: ...' or "
                "'guideline: <name>'")
        return value


class Rule(_Strict):
    """A biomarker -> therapy rule with its evidence; see the module docstring."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.:-]*$")
    title: str
    conditions: tuple[Condition, ...] = Field(min_length=1)
    therapy: Therapy
    basket: str
    evidence: tuple[Evidence, ...] = Field(min_length=1)
    source: str = "tumorboard curated"
    notes: str | None = None

    @field_validator("basket")
    @classmethod
    def _known_basket(cls, value: str) -> str:
        if value not in BASKETS:
            raise ValueError(f"basket must be one of {', '.join(BASKETS)}")
        return value

    @property
    def genes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.gene for c in self.conditions if c.gene))

    @property
    def resistance(self) -> bool:
        return all(e.direction == "resistance" for e in self.evidence)

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.conditions)


class KnowledgeBase(_Strict):
    """A named, versioned set of rules (one YAML/JSON document)."""

    name: str
    version: str
    description: str | None = None
    licence: str | None = None
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> KnowledgeBase:
        seen: set[str] = set()
        dupes = {r.id for r in self.rules if r.id in seen or seen.add(r.id)}  # type: ignore[func-returns-value]
        if dupes:
            raise ValueError(f"duplicate rule id(s): {', '.join(sorted(dupes))}")
        return self




def as_plain(rule: Rule) -> dict[str, Any]:
    """A rule as plain JSON-ready data, without defaults (what YAML files and `kb show` hold)."""
    return rule.model_dump(mode="json", exclude_defaults=True)

"""Therapy recommendations: match Findings and TargetEvidence to rules, derive levels, rank.

The engine is a pure function of (findings, targets, patient entity, HLA alleles, rules)
(:func:`recommend`); the registry is touched only by :func:`recommend_patient` and the board
decision functions.

Matching
--------
A rule matches when every one of its conditions (:class:`~tumorboard.knowledge.schema.Condition`)
finds support in the patient's tumour samples:

- Finding kinds (``mutation``, ``amplification``, ``deletion``, ``fusion``, ``overexpression``,
  ``protein_high``, ``tmb``, ...) match Findings of that kind and gene; ``variant`` narrows
  mutations (exact HGVS protein change in one- or three-letter code, residue, codon range
  ``p.550_592``, exon of :data:`EXON_CODONS`, ``hotspot``, ``oncogenic`` = hotspot or likely
  oncogenic, ``truncating``, ``any``) and fusions (``GENE5::GENE3``); ``calls`` and
  ``min_value`` narrow further.
- ``target`` matches the gene's integrated state (:mod:`tumorboard.targets`).
- ``entity`` matches when the patient's OncoTree code is a listed code or lies below one.
- ``hla_allele`` matches an allele of the patient's HLA typing by prefix (``A*02`` matches
  ``HLA-A*02:01``).

Levels
------
Each evidence item gets an NCT/DKTK MASTER level (table in :mod:`tumorboard.knowledge.schema`;
Leichsenring et al., Int J Cancer 2019, doi:10.1002/ijc.32358; Horak et al., Genes Chromosomes
Cancer 2022, doi:10.1002/gcc.22987). "Same entity" means the patient's OncoTree code is the
evidence's code or a descendant of it (an evidence item in ``SOFT_TISSUE`` covers DSRCT).
Evidence in *any solid tumour* (basket trials, tumour-agnostic approvals) counts as another
entity: it was gathered mostly in other entities, so a tumour-agnostic approval is m2A with
``Z`` unless the rule also lists the patient's entity. ``Z`` is added when an approval covers
the patient's entity (directly, through ancestry, or tumour-agnostically); ``is`` / ``iv``
when the best evidence item is from in-situ / in-vitro testing; ``R`` for resistance. A
recommendation's level is its best evidence item's.

Functional evidence from patient-derived models
-----------------------------------------------
Findings of layer ``drug_screen`` (kind ``drug_sensitivity``: one per model and screened drug,
feature the canonical drug, value the DSS, cohort z / percentiles, call) are the patient's own
tumour model answering the question the rules ask. Functional precision medicine (Letai A,
Nat Med 2017;23:1028-1035, doi:10.1038/nm.4389) argues for exactly this combination of
molecular and functional evidence; the score is the drug sensitivity score of Yadav B et al.,
Sci Rep 2014;4:5193, doi:10.1038/srep05193 (PMID 24898935). Rules of tumorboard's own, as the
issue asks:

- A screened drug *is* a therapy when their agents are the same set, compared through
  :func:`tumorboard.knowledge.drugs.drug_components` (brand names, codes and salts mapped to
  the INN; combinations order-free). Nothing else counts as the same drug.
- Call ``sensitive`` on a sensitivity recommendation: the level gains ``iv`` (functional
  evidence, modifier order is, iv, Z, R), the layer group ``functional`` joins its layers, and
  the reason gets the line "Patient-derived organoid PDO-1 sensitive to pazopanib: DSS 23.4,
  92nd percentile of 14 models (z 2.1)." (*of N models*: the valid models screened with the
  drug, this one included).
- Call ``resistant``: a warning line in the reason; the recommendation keeps its level but
  ranks below otherwise equal options. A drug one model is sensitive to and another resists
  is ``discordant`` and ranks as if untested.
- Any other call (``active``, ``inactive``, ``insufficient_reference``, ``qc_failed``,
  ``fit_failed``) adds nothing: it is neither outstanding against the cohort nor reliable.
- A combination tested only as its single agents (each agent a screened drug of its own) is
  mentioned in the reason with each agent's call, but gains no ``iv``: the combination itself
  was not tested.
- On a resistance marker the screen is reported (entries and a line: consistent with or
  contradicting the marker); it changes neither level nor rank.
- A ``sensitive`` drug that no sensitivity recommendation names is a *functional-only
  candidate*: a recommendation of basket :data:`FUNCTIONAL_ONLY_BASKET` with level ``m3 iv``
  (preclinical evidence from the patient's own model), ranked after every molecular
  recommendation, strongest cohort z first. It is stored like any other recommendation, so
  the board decides on it and outcomes can link to it; its notes name rules for the drug whose
  biomarker the patient lacks.

Every recommendation carries the structured list ``functional`` (one entry per screened
model: model, drug, call, DSS, z, percentiles, reference size, IC50, Emax, fit status, the
rationale line, and ``match``: ``exact`` or ``single_agent``) and ``functional_call``.

Ranking
-------
Sensitivity before resistance; molecular recommendations before functional-only candidates;
then, when a target is expressed but its kinase is not activated (the MASTER DSRCT lesson for
ERBB2), antigen-directed drugs before kinase-directed ones for that gene, whatever their
levels; then by level; then functional evidence: model sensitive before untested (or
non-informative, or discordant) before model resistant; then by the number of layers
supporting the match (DNA, RNA, protein, phosphoproteome, HLA, functional); then by name.
Recommendations of the same therapy reached through several rules are merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from tumorboard.knowledge.drugs import agent_set
from tumorboard.knowledge.schema import (
    ANY_SOLID,
    BASKETS,
    Condition,
    Evidence,
    Rule,
)
from tumorboard.model import json_ready, optional_float

#: Tiers, strongest first.
LEVELS: tuple[str, ...] = ("m1A", "m1B", "m1C", "m2A", "m2B", "m2C", "m3", "m4")
MODIFIERS: tuple[str, ...] = ("is", "iv", "Z", "R")

_TYPE_TIER = {
    "approval": "A", "guideline": "A", "prospective_trial": "A",
    "retrospective_study": "B", "case_report": "C",
}

#: Codon ranges of the exons that GIST and lung-cancer rules name (canonical transcripts;
#: KIT ENST00000288135, PDGFRA ENST00000257290, EGFR ENST00000275493). Corless CL, Barnett CM,
#: Heinrich MC, Nat Rev Cancer 2011;11:865-878, doi:10.1038/nrc3143 (KIT exons 9, 11, 13, 17;
#: PDGFRA exons 12, 14, 18); Sharma SV et al., Nat Rev Cancer 2007;7:169-181,
#: doi:10.1038/nrc2088 (EGFR exons 18-21). Boundaries are those of the coding exons, rounded
#: to whole codons.
EXON_CODONS: dict[tuple[str, int], tuple[int, int]] = {
    ("KIT", 9): (449, 514), ("KIT", 11): (550, 592), ("KIT", 13): (627, 664),
    ("KIT", 17): (788, 828),
    ("PDGFRA", 12): (552, 596), ("PDGFRA", 14): (632, 668), ("PDGFRA", 18): (814, 854),
    ("EGFR", 18): (688, 728), ("EGFR", 19): (729, 761), ("EGFR", 20): (762, 823),
    ("EGFR", 21): (824, 875),
}

_AA3 = {"Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
        "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
        "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
        "Sec": "U", "Xaa": "X"}
_ONE = re.compile(r"^p\.\(?([A-Z*])(\d+)([A-Z*=]|fs|del|dup|ins)?")
_THREE = re.compile(r"^p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2}|=|fs|del|dup|ins)?")
_RANGE = re.compile(r"^p\.(\d+)_(\d+)$")
_EXON = re.compile(r"^exon\s*(\d+)$", re.IGNORECASE)

_LAYER_GROUP = {
    "variants": "DNA", "copy_number": "DNA", "fusions": "DNA", "expression": "RNA",
    "proteome": "protein", "phosphoproteome": "phosphoproteome", "hla": "HLA",
    "drug_screen": "functional",
}
_LAYER_ORDER = ("DNA", "RNA", "protein", "phosphoproteome", "HLA", "functional")

#: Layer and Finding kind of a drug screen on a patient-derived model (issue 9 spec §3).
FUNCTIONAL_LAYER = "drug_screen"
FUNCTIONAL_KIND = "drug_sensitivity"

#: Basket of functional-only candidates: sensitive drugs that no molecular rule proposes.
#: Not one of the rule baskets (:data:`~tumorboard.knowledge.schema.BASKETS`): no rule may
#: claim it; tumorboard's own name, so the board and the report can list them apart.
FUNCTIONAL_ONLY_BASKET = "functional_only"

#: What a functional-only candidate cites: the drug sensitivity score (Yadav et al. 2014) and
#: functional precision medicine (Letai 2017); its evidence is the patient's own model.
FUNCTIONAL_CITATIONS: tuple[str, ...] = ("PMID:24898935", "DOI:10.1038/nm.4389")

#: Calls of a drug-screen Finding that count as functional evidence; the others add nothing.
FUNCTIONAL_CALLS: tuple[str, ...] = ("sensitive", "resistant")

_MODEL_WORDS = {"organoid": "organoid", "spheroid": "spheroid", "explant": "explant",
                "cell_line_2d": "2D cell line", "other": "model"}
#: Ranking of the screen's verdict after the tier (module docstring, Ranking).
_FUNCTIONAL_RANK = {"sensitive": 0, None: 1, "discordant": 1, "resistant": 2}


# --------------------------------------------------------------------------- levels


@dataclass(frozen=True, order=True)
class EvidenceLevel:
    """An NCT/DKTK MASTER evidence level, e.g. ``m2A Z`` or ``m1C is``."""

    tier: str
    modifiers: tuple[str, ...] = ()

    def __str__(self) -> str:
        return " ".join((self.tier, *self.modifiers))

    @property
    def rank(self) -> int:
        return LEVELS.index(self.tier)


#: Level of a functional-only candidate: preclinical (m3) evidence from in-vitro testing of
#: the patient's own model (``iv``), NCT/DKTK MASTER levels (Horak et al., Genes Chromosomes
#: Cancer 2022, doi:10.1002/gcc.22987).
FUNCTIONAL_ONLY_LEVEL = EvidenceLevel("m3", ("iv",))


def entity_relation(codes: Iterable[str], lineage: Sequence[str]) -> str:
    """``'same'`` if any code is the patient's entity or an ancestor of it, else ``'other'``.

    ``lineage`` is the patient's OncoTree lineage (:func:`tumorboard.reference.lineage`).
    :data:`~tumorboard.knowledge.schema.ANY_SOLID` counts as another entity (module docstring).
    """
    return "same" if any(c in lineage for c in codes if c != ANY_SOLID) else "other"


def _covers(codes: Iterable[str], lineage: Sequence[str], solid: bool) -> bool:
    codes = list(codes)
    return entity_relation(codes, lineage) == "same" or (solid and ANY_SOLID in codes)


def evidence_level(evidence: Evidence, lineage: Sequence[str], *, solid: bool = True
                   ) -> EvidenceLevel:
    """The MASTER level of one evidence item for a patient with this OncoTree lineage.

    >>> from tumorboard.knowledge.schema import Evidence
    >>> e = Evidence(type="retrospective_study", entities=["SOFT_TISSUE"],
    ...              citation="PMID:12345678")
    >>> str(evidence_level(e, ["DSRCT", "SOFT_TISSUE", "TISSUE"]))
    'm1B'
    """
    if evidence.type == "preclinical":
        tier = "m3"
    elif evidence.type == "rationale":
        tier = "m4"
    else:
        same = entity_relation(evidence.entities, lineage) == "same"
        tier = ("m1" if same else "m2") + _TYPE_TIER[evidence.type]
    mods = []
    if evidence.in_situ:
        mods.append("is")
    if evidence.in_vitro:
        mods.append("iv")
    if evidence.type == "approval" and _covers(evidence.entities, lineage, solid):
        mods.append("Z")
    if evidence.direction == "resistance":
        mods.append("R")
    return EvidenceLevel(tier, tuple(mods))


def best_level(evidence: Iterable[Evidence], lineage: Sequence[str], *, solid: bool = True
               ) -> tuple[EvidenceLevel, Evidence]:
    """The strongest level among evidence items (Z carried over from any covering approval)."""
    scored = [(evidence_level(e, lineage, solid=solid), e) for e in evidence]
    level, item = min(scored, key=lambda le: (le[0].rank, -len(le[0].modifiers)))
    if "Z" not in level.modifiers and any("Z" in lv.modifiers for lv, _ in scored):
        mods = [m for m in MODIFIERS if m in (*level.modifiers, "Z")]
        level = EvidenceLevel(level.tier, tuple(mods))
    return level, item


# --------------------------------------------------------------------------- matching


def _protein_change(text: str | None) -> tuple[str, int, str] | None:
    """(ref, position, change) in one-letter code from 'p.V600E' or 'p.Val600Glu'."""
    if not text:
        return None
    text = str(text).strip()
    if " " in text:  # a finding feature 'BRAF p.Val600Glu'
        text = text.split()[-1]
    m = _THREE.match(text)
    if m and m.group(1) in _AA3:
        alt = m.group(3) or ""
        return _AA3[m.group(1)], int(m.group(2)), _AA3.get(alt, alt)
    m = _ONE.match(text)
    if m:
        return m.group(1), int(m.group(2)), m.group(3) or ""
    return None


def mutation_matches(variant: str | None, feature: str, call: str | None,
                     provenance: dict[str, Any] | None = None, *, gene: str | None = None
                     ) -> bool:
    """Whether one mutation Finding satisfies a condition's ``variant`` pattern."""
    pattern = (variant or "any").strip()
    low = pattern.lower()
    prov = provenance or {}
    if low == "any":
        return True
    if low == "hotspot":
        return call == "hotspot"
    if low == "oncogenic":
        return call in ("hotspot", "oncogenic_likely")
    if low == "truncating":
        return bool(prov.get("truncating")) or call == "oncogenic_likely"
    have = _protein_change(prov.get("hgvsp") or feature)
    if have is None:
        return False
    m = _RANGE.match(pattern)
    exon = _EXON.match(pattern)
    if m or exon:
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
        else:
            span = EXON_CODONS.get((str(gene), int(exon.group(1)))) if exon else None
            if span is None:
                return False
            lo, hi = span
        return lo <= have[1] <= hi
    want = _protein_change(pattern)
    if want is None:
        return False
    if want[0] != have[0] or want[1] != have[1]:
        return False
    return not want[2] or want[2] == have[2]


def _finding_support(row: pd.Series | dict[str, Any]) -> dict[str, Any]:
    keys = ("sample", "layer", "gene", "feature", "kind", "value", "z_score",
            "percentile_cohort", "call")
    return {k: (None if pd.isna(row.get(k)) else row.get(k)) for k in keys}


def _target_support(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("sample", "gene", "state", "rna_tpm", "rna_z", "rna_percentile", "rna_call",
            "protein_z", "protein_call", "activation_score", "activation_call",
            "activation_source")
    out = {k: row.get(k) for k in keys}
    out["layer"] = "targets"
    out["kind"] = "target"
    out["feature"] = f"{row.get('gene')} {str(row.get('state', '')).replace('_', ' ')}"
    return out


def match_condition(condition: Condition, *, findings: pd.DataFrame,
                    targets: Sequence[dict[str, Any]], lineage: Sequence[str],
                    hla_alleles: Sequence[str]) -> list[dict[str, Any]]:
    """The supporting records of one condition (empty: not matched)."""
    c = condition
    if c.kind == "entity":
        hit = [code for code in c.entities if code in lineage]
        return [{"layer": "diagnosis", "kind": "entity", "feature": lineage[0],
                 "call": f"OncoTree {lineage[0]} within {hit[0]}"}] if hit else []
    if c.kind == "target":
        return [_target_support(t) for t in targets
                if t.get("gene") == c.gene and t.get("state") in c.states]
    if c.kind == "hla_allele":
        want = c.allele.upper().removeprefix("HLA-") if c.allele else ""
        return [{"layer": "hla", "kind": "hla_allele", "gene": a.split("*")[0],
                 "feature": a, "call": "typed"}
                for a in hla_alleles if a.upper().removeprefix("HLA-").startswith(want)]
    rows = findings[findings["kind"] == c.kind]
    if c.gene:
        if c.kind == "fusion":
            parts = rows["feature"].astype(str).str.split("::", n=1, expand=True)
            if parts.shape[1] == 2:
                rows = rows[(parts[0] == c.gene) | (parts[1] == c.gene) | (rows["gene"] == c.gene)]
            else:
                rows = rows[rows["gene"] == c.gene]
        else:
            rows = rows[rows["gene"] == c.gene]
    if c.calls:
        rows = rows[rows["call"].isin(c.calls)]
    if c.min_value is not None:
        rows = rows[rows["value"].astype("float64") >= c.min_value]
    out = []
    for _, row in rows.iterrows():
        if c.kind == "mutation" and not mutation_matches(
                c.variant, str(row["feature"]), row.get("call"), row.get("provenance"),
                gene=c.gene):
            continue
        if c.kind == "fusion" and c.variant and c.variant.lower() != "any" \
                and str(row["feature"]).upper() != c.variant.upper():
            continue
        out.append(_finding_support(row))
    return out


# --------------------------------------------------------------------------- recommendations


@dataclass
class Recommendation:
    """One ranked therapy option for one patient, with its reasons and citations."""

    therapy: str
    agents: list[str]
    drug_class: str
    basket: str
    level: str
    tier: str
    modifiers: list[str]
    direction: str
    genes: list[str]
    rules: list[str]
    support: list[dict[str, Any]]
    layers: list[str]
    citations: list[str]
    rationale: str
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    demoted: bool = False
    rank: int = 0
    #: Drug-screen results of the patient's models for these agents (module docstring).
    functional: list[dict[str, Any]] = field(default_factory=list)
    #: ``sensitive`` / ``resistant`` / ``discordant`` / None: the screen's verdict (ranking).
    functional_call: str | None = None

    @property
    def functional_only(self) -> bool:
        """Whether only a drug screen, no molecular rule, proposes this therapy."""
        return self.basket == FUNCTIONAL_ONLY_BASKET

    @property
    def key(self) -> str:
        """Identity of a recommendation across re-runs: its agents, in order."""
        return " + ".join(sorted(a.lower() for a in self.agents)) + f" [{self.direction}]"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "key": self.key, "functional_only": self.functional_only}


def _fmt(x: Any, spec: str = ".2f") -> str:
    return "NA" if x is None or (isinstance(x, float) and pd.isna(x)) else format(x, spec)


def _ordinal(x: Any) -> str:
    """95 -> '95th', 82 -> '82nd', 71 -> '71st', 13 -> '13th'; NA for missing."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "NA"
    n = round(float(x))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _describe_support(s: dict[str, Any]) -> str:
    if s.get("kind") == "target":
        bits = []
        if s.get("rna_z") is not None or s.get("rna_tpm") is not None:
            bits.append(f"RNA {_fmt(s.get('rna_tpm'), '.0f')} TPM, z {_fmt(s.get('rna_z'))}, "
                        f"{_ordinal(s.get('rna_percentile'))} percentile")
        if s.get("protein_z") is not None:
            bits.append(f"protein z {_fmt(s.get('protein_z'))}")
        act = s.get("activation_call")
        if act in ("activated", "not_activated"):
            bits.append(f"phosphoproteome {act.replace('_', ' ')} "
                        f"(score {_fmt(s.get('activation_score'))}, "
                        f"{s.get('activation_source') or 'sites'})")
        elif act == "not_measured":
            bits.append("activation not measured")
        state = str(s.get("state", "")).replace("_", " ")
        return f"{s['gene']} {state}" + (f" ({'; '.join(bits)})" if bits else "")
    if s.get("kind") in ("entity", "hla_allele"):
        return str(s.get("call") if s.get("kind") == "entity" else f"HLA {s['feature']}")
    value = s.get("value")
    extra = ""
    if s.get("kind") == "mutation" and value is not None:
        extra = f", VAF {_fmt(value)}"
    elif s.get("kind") == "tmb":
        extra = f" {_fmt(value, '.1f')} mut/Mb"
    elif s.get("z_score") is not None:
        extra = f", z {_fmt(s.get('z_score'))}"
    call = f" [{s['call']}]" if s.get("call") else ""
    return f"{s.get('feature')}{call}{extra}"


def _match_rule(rule: Rule, *, findings: pd.DataFrame, targets: Sequence[dict[str, Any]],
                lineage: Sequence[str], hla: Sequence[str]) -> list[dict[str, Any]] | None:
    support: list[dict[str, Any]] = []
    for cond in rule.conditions:
        found = match_condition(cond, findings=findings, targets=targets, lineage=lineage,
                                hla_alleles=hla)
        if not found:
            return None
        support.extend(found)
    return support


def _layers(support: Iterable[dict[str, Any]]) -> list[str]:
    groups: set[str] = set()
    for s in support:
        if s.get("kind") == "target":
            if s.get("rna_z") is not None or s.get("rna_tpm") is not None:
                groups.add("RNA")
            if s.get("protein_z") is not None:
                groups.add("protein")
            if s.get("activation_call") in ("activated", "not_activated"):
                groups.add("phosphoproteome")
        elif s.get("layer") in _LAYER_GROUP:
            groups.add(_LAYER_GROUP[s["layer"]])
    return [g for g in _LAYER_ORDER if g in groups]


# --------------------------------------------------------------------------- functional evidence


def _screen_line(entry: dict[str, Any]) -> str:
    """'Patient-derived organoid PDO-1 sensitive to pazopanib: DSS 23.4, 92nd percentile of
    14 models (z 2.1).' — the wording of spec §4 (tumorboard's own)."""
    kind = _MODEL_WORDS.get(str(entry.get("model_type")), str(entry.get("model_type") or
                                                             "model").replace("_", " "))
    bits = [f"DSS {_fmt(entry.get('dss'), '.1f')}"]
    if entry.get("percentile_cohort") is not None:
        of = f" of {entry['cohort_size']} models" if entry.get("cohort_size") else ""
        bits.append(f"{_ordinal(entry['percentile_cohort'])} percentile{of}")
    z = f" (z {entry['z_score']:.1f})" if entry.get("z_score") is not None else ""
    call = entry.get("call")
    if call in FUNCTIONAL_CALLS:
        head = f"Patient-derived {kind} {entry.get('model')} {call} to {entry.get('drug')}: "
    else:  # active, inactive or not assessable: the call is reported, not asserted
        bits.insert(0, str(call or "not called").replace("_", " "))
        head = f"Patient-derived {kind} {entry.get('model')} on {entry.get('drug')}: "
    return head + ", ".join(bits) + z + "."


def functional_results(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """The patient's drug-screen Findings as functional entries, one per model and drug.

    Parameters
    ----------
    findings
        A findings table (:func:`tumorboard.model.findings_frame`); rows of layer
        :data:`FUNCTIONAL_LAYER` and kind :data:`FUNCTIONAL_KIND` are read (Finding contract of
        issue 9 spec §3), the others ignored.

    Returns
    -------
    list of dict
        ``model``, ``model_type``, ``sample``, ``assay``, ``drug`` (canonical), ``drug_as_given``,
        ``agents`` (canonical components, sorted), ``call``, ``dss``, ``z_score``,
        ``percentile_cohort``, ``percentile_entity``, ``reference_size`` (other valid models),
        ``cohort_size`` (valid models including this one), ``ic50_um``, ``ic50_censored``,
        ``emax``, ``fit_status``, ``plates`` and ``line`` (the sentence of the rationale).
        Ordered by model, then drug.
    """
    from tumorboard.knowledge.drugs import canonical_combination

    if findings is None or not len(findings) or "layer" not in findings:
        return []
    rows = findings[(findings["layer"] == FUNCTIONAL_LAYER)
                    & (findings["kind"] == FUNCTIONAL_KIND)]
    out = []
    for _, row in rows.iterrows():
        prov = row.get("provenance")
        prov = prov if isinstance(prov, dict) else {}
        fit = prov.get("fit") or {}
        cohort = prov.get("cohort") or {}
        reference = optional_float(row.get("reference_size"))
        size = optional_float(cohort.get("n"))
        if size is None and reference is not None:
            size = reference + 1  # the reference is the *other* valid models
        given = str(row.get("feature"))
        drug = canonical_combination(given)  # the layer writes it canonical; be sure
        call = row.get("call")
        entry: dict[str, Any] = {
            "model": prov.get("model") or row.get("sample"),
            "model_type": prov.get("model_type"),
            "sample": None if pd.isna(row.get("sample")) else row.get("sample"),
            "assay": prov.get("assay"),
            "drug": drug,
            "drug_as_given": prov.get("drug_as_given", given),
            "agents": sorted(agent_set([drug])),
            "call": None if call is None or pd.isna(call) else str(call),
            "dss": optional_float(row.get("value")),
            "z_score": optional_float(row.get("z_score")),
            "percentile_cohort": optional_float(row.get("percentile_cohort")),
            "percentile_entity": optional_float(row.get("percentile_entity")),
            "reference_size": None if reference is None else int(reference),
            "cohort_size": None if size is None else int(size),
            "ic50_um": optional_float(fit.get("ic50_um")),
            "ic50_censored": fit.get("ic50_censored"),
            "emax": optional_float(fit.get("emax")),
            "fit_status": fit.get("status"),
            "plates": list(prov.get("plates") or []),
        }
        entry["line"] = _screen_line(entry)
        out.append(entry)
    out.sort(key=lambda e: (str(e["model"]), e["drug"]))
    return out


def _screen_support(entry: dict[str, Any]) -> dict[str, Any]:
    return {"sample": entry["sample"], "layer": FUNCTIONAL_LAYER, "gene": None,
            "feature": entry["drug"], "kind": FUNCTIONAL_KIND, "value": entry["dss"],
            "z_score": entry["z_score"], "percentile_cohort": entry["percentile_cohort"],
            "call": entry["call"], "model": entry["model"]}


def _verdict(entries: Sequence[dict[str, Any]]) -> str | None:
    calls = {e["call"] for e in entries}
    if {"sensitive", "resistant"} <= calls:
        return "discordant"
    return "sensitive" if "sensitive" in calls else "resistant" if "resistant" in calls \
        else None


def _add_modifier(rec: Recommendation, modifier: str) -> None:
    if modifier not in rec.modifiers:
        rec.modifiers = [m for m in MODIFIERS if m in (*rec.modifiers, modifier)]
        rec.level = " ".join((rec.tier, *rec.modifiers))


def apply_functional(rec: Recommendation, results: Sequence[dict[str, Any]]) -> None:
    """Add the drug-screen evidence for ``rec``'s agents to it, in place (module docstring).

    ``results`` are :func:`functional_results`. Sets ``functional`` and ``functional_call``,
    and on a sensitive model the ``iv`` modifier, the ``functional`` layer and the support
    record; appends the rationale lines to ``reason``.
    """
    agents = agent_set(rec.agents)
    tested = [e for e in results if frozenset(e["agents"]) == agents]
    exact = [e for e in tested if e["call"] in FUNCTIONAL_CALLS]
    rec.functional = [{**e, "match": "exact"} for e in exact]
    if exact and rec.direction == "sensitivity":
        sensitive = [e for e in exact if e["call"] == "sensitive"]
        if sensitive:
            _add_modifier(rec, "iv")
            rec.support = rec.support + [_screen_support(e) for e in sensitive]
            rec.layers = _layers(rec.support)
        rec.functional_call = _verdict(exact)
        lines = [e["line"] if e["call"] == "sensitive" else
                 f"Warning: {e['line'][:-1]}; ranked below otherwise equal options."
                 for e in exact]
        rec.reason += " " + " ".join(lines)
    elif exact:  # a resistance marker: the screen is reported, level and rank unchanged
        for e in exact:
            agrees = "consistent with" if e["call"] == "resistant" else "contradicting"
            rec.reason += f" {e['line'][:-1]}, {agrees} the resistance marker."
    if tested or len(agents) < 2:
        return
    singles = [e for e in results if e["agents"] and frozenset(e["agents"]) < agents]
    if not any(e["call"] in FUNCTIONAL_CALLS for e in singles):
        return
    rec.functional += [{**e, "match": "single_agent"} for e in singles]
    rec.reason += (" The combination was not screened as such, only single agents: "
                   + "; ".join(e["line"][:-1] for e in singles)
                   + ". A combination tested only as single agents gains no iv.")


def functional_only_candidates(results: Sequence[dict[str, Any]],
                               recommendations: Sequence[Recommendation], *,
                               rules: Iterable[Rule] = (), lineage: Sequence[str] = ()
                               ) -> list[Recommendation]:
    """Sensitive screened drugs that no sensitivity recommendation names (module docstring).

    Parameters
    ----------
    results
        :func:`functional_results` of the patient.
    recommendations
        The molecular recommendations already made; their agent sets are covered.
    rules
        The knowledge-base rules: a rule for the same agents that did not match lends its drug
        class and is named in the notes (its biomarker is absent).
    lineage
        The patient's OncoTree lineage (the evidence item's entity).

    Returns
    -------
    list of Recommendation
        Basket :data:`FUNCTIONAL_ONLY_BASKET`, level ``m3 iv``, unranked (rank 0).
    """
    covered = {agent_set(r.agents) for r in recommendations if r.direction == "sensitivity"}
    markers = {agent_set(r.agents): r for r in recommendations if r.direction == "resistance"}
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for e in results:
        agents = frozenset(e["agents"])
        if e["call"] == "sensitive" and agents and agents not in covered:
            groups.setdefault(agents, [])
    for e in results:
        if frozenset(e["agents"]) in groups and e["call"] in FUNCTIONAL_CALLS:
            groups[frozenset(e["agents"])].append(e)
    rules = list(rules)
    entity = lineage[0] if lineage else ANY_SOLID
    level = FUNCTIONAL_ONLY_LEVEL
    out = []
    for agents, entries in groups.items():
        names = sorted(agents)
        same = [r for r in rules if not r.resistance and agent_set(r.therapy.agents) == agents]
        sensitive = [e for e in entries if e["call"] == "sensitive"]
        rec = Recommendation(
            therapy=" + ".join(names), agents=names,
            drug_class=same[0].therapy.drug_class if same else "other",
            basket=FUNCTIONAL_ONLY_BASKET, level=str(level), tier=level.tier,
            modifiers=list(level.modifiers), direction="sensitivity", genes=[], rules=[],
            support=[_screen_support(e) for e in sensitive], layers=["functional"],
            citations=list(FUNCTIONAL_CITATIONS), rationale="",
            evidence=[{"level": str(level), "type": "preclinical", "entities": [entity],
                       "citation": FUNCTIONAL_CITATIONS[0], "rule": None,
                       "summary": "drug screen on the patient's own tumour model (DSS, "
                                  "Yadav et al. 2014), judged against the other models"}],
            functional=[{**e, "match": "exact"} for e in entries],
            functional_call=_verdict(entries),
        )
        rec.reason = "Functional evidence only, no molecular rule matched: " + " ".join(
            e["line"] if e["call"] == "sensitive" else
            f"Warning: {e['line'][:-1]}." for e in entries)
        for r in same:
            rec.notes.append(f"Rule {r.id} proposes {r.therapy.name} for {r.describe()}; "
                             "this patient's tumour does not show it.")
        marker = markers.get(agents)
        if marker is not None:
            rec.notes.append(f"Molecular resistance marker for {marker.therapy}: "
                             f"{', '.join(marker.genes) or marker.reason}.")
        rec.rationale = (rec.reason + " Evidence: the patient's own tumour model, tested in "
                         f"vitro (preclinical) → {level}; drug sensitivity score after Yadav "
                         "et al. 2014 (PMID:24898935); functional precision medicine, Letai "
                         "2017 (DOI:10.1038/nm.4389).")
        out.append(rec)
    return out


def _functional_strength(rec: Recommendation) -> float:
    """Among functional-only candidates, the strongest cohort z of a sensitive model first."""
    if not rec.functional_only:
        return 0.0
    zs = [e["z_score"] for e in rec.functional
          if e["call"] == "sensitive" and e.get("z_score") is not None]
    return -max(zs) if zs else 0.0


def recommend(findings: pd.DataFrame, targets: Sequence[dict[str, Any]] | pd.DataFrame, *,
              lineage: Sequence[str], rules: Iterable[Rule], hla_alleles: Sequence[str] = (),
              solid: bool = True) -> list[Recommendation]:
    """Ranked recommendations for one patient.

    Parameters
    ----------
    findings
        The patient's findings table (:func:`tumorboard.model.findings_frame` columns).
    targets
        The patient's TargetEvidence (records or a frame with ``gene`` and ``state``).
    lineage
        The patient's OncoTree lineage, the entity first (``['DSRCT', 'SOFT_TISSUE',
        'TISSUE']``).
    rules
        Knowledge-base rules (:func:`tumorboard.knowledge.base.all_rules`).
    hla_alleles
        The patient's HLA class I alleles (``HLA-A*02:01``, ...).
    solid
        Whether the entity is a solid tumour (tumour-agnostic approvals cover it).

    Returns
    -------
    list of Recommendation
        Sensitivity recommendations first, ranked (module docstring); then the functional-only
        candidates of the patient's drug screens (Findings of layer ``drug_screen`` in
        ``findings``); resistance markers after them. Every recommendation carries at least
        one citation.
    """
    if isinstance(targets, pd.DataFrame):
        targets = targets.to_dict("records")
    targets = list(targets)
    states = {t["gene"]: t["state"] for t in targets}
    merged: dict[str, Recommendation] = {}
    rules = list(rules)
    for rule in rules:
        support = _match_rule(rule, findings=findings, targets=targets, lineage=lineage,
                              hla=hla_alleles)
        if support is None:
            continue
        scored = sorted(((evidence_level(e, lineage, solid=solid), e) for e in rule.evidence),
                        key=lambda le: le[0].rank)
        level, _ = best_level(rule.evidence, lineage, solid=solid)
        direction = "resistance" if rule.resistance else "sensitivity"
        rec = Recommendation(
            therapy=rule.therapy.name, agents=list(rule.therapy.agents),
            drug_class=rule.therapy.drug_class, basket=rule.basket, level=str(level),
            tier=level.tier, modifiers=list(level.modifiers), direction=direction,
            genes=list(rule.genes), rules=[rule.id], support=support,
            layers=_layers(support),
            citations=list(dict.fromkeys(e.citation for e in rule.evidence)),
            rationale="",
            evidence=[{"level": str(lv), "type": e.type, "entities": list(e.entities),
                       "citation": e.citation, "summary": e.summary, "rule": rule.id}
                      for lv, e in scored],
        )
        rec.notes = [rule.notes.strip()] if rule.notes else []
        rec.reason = f"{rule.describe()}: " + "; ".join(dict.fromkeys(
            _describe_support(s) for s in support)) + "."
        old = merged.get(rec.key)
        merged[rec.key] = rec if old is None else _merge(old, rec)
    recs = list(merged.values())
    screens = functional_results(findings)
    for rec in recs:
        _judge_activation(rec, states)
        apply_functional(rec, screens)
        rec.rationale = rec.reason + " Evidence: " + "; ".join(
            f"{e['type'].replace('_', ' ')} in "
            f"{'/'.join(e['entities']).replace(ANY_SOLID, 'any solid tumour')} "
            f"({e['citation']}) → {e['level']}" for e in rec.evidence) + "."
    recs += functional_only_candidates(screens, recs, rules=rules, lineage=lineage)
    recs.sort(key=_sort_key)
    for i, rec in enumerate(recs, start=1):
        rec.rank = i
    return recs


def _merge(a: Recommendation, b: Recommendation) -> Recommendation:
    best, other = (a, b) if LEVELS.index(a.tier) <= LEVELS.index(b.tier) else (b, a)
    seen = {tuple(sorted(s.items(), key=str)) for s in best.support}
    extra = [s for s in other.support if tuple(sorted(s.items(), key=str)) not in seen]
    best.support = best.support + extra
    best.layers = _layers(best.support)
    best.rules = list(dict.fromkeys(best.rules + other.rules))
    best.genes = list(dict.fromkeys(best.genes + other.genes))
    best.citations = list(dict.fromkeys(best.citations + other.citations))
    best.evidence = sorted(best.evidence + other.evidence, key=lambda e: LEVELS.index(
        e["level"].split()[0]))
    if "Z" in other.modifiers and "Z" not in best.modifiers:
        best.modifiers = [m for m in MODIFIERS if m in (*best.modifiers, "Z")]
        best.level = " ".join((best.tier, *best.modifiers))
    best.notes = list(dict.fromkeys(best.notes + other.notes))
    if other.reason not in best.reason:
        best.reason = best.reason + " Also " + other.reason
    return best


def _judge_activation(rec: Recommendation, states: dict[str, str]) -> None:
    """Demote kinase-directed drugs whose target gene is expressed but not activated."""
    inactive = [g for g in rec.genes if states.get(g) == "expressed_not_activated"]
    if not inactive or rec.direction != "sensitivity":
        return
    genes = ", ".join(inactive)
    if rec.basket == "antigen_directed" or rec.drug_class in (
            "adc", "car_t", "tcr_t", "bispecific", "radioligand", "monoclonal_antibody"):
        rec.reason += (f" {genes} is expressed but its kinase is not activated in the "
                          "phosphoproteome: an antigen-directed drug needs only the antigen on "
                          "the cell surface, so it ranks above kinase inhibitors.")
    elif rec.drug_class == "kinase_inhibitor":
        rec.demoted = True
        rec.reason += (f" Ranked below antigen-directed options: {genes} is expressed but "
                          "the phosphoproteome shows no kinase activation, so inhibiting the "
                          "kinase is unlikely to help.")


def _sort_key(rec: Recommendation) -> tuple[Any, ...]:
    basket = BASKETS.index(rec.basket) if rec.basket in BASKETS else len(BASKETS)
    return (rec.direction != "sensitivity", rec.functional_only, rec.demoted,
            LEVELS.index(rec.tier), _FUNCTIONAL_RANK.get(rec.functional_call, 1),
            _functional_strength(rec), -len(rec.layers), basket, rec.therapy.lower())


# --------------------------------------------------------------------------- registry edge


def _patient_inputs(session: Any, ws: Any, pseudonym: str) -> dict[str, Any]:
    """Findings, targets, lineage and HLA of a patient's latest analysis, from the registry."""

    from tumorboard import reference
    from tumorboard.errors import NotFoundError
    from tumorboard.registry.models import Analysis
    from tumorboard.registry.queries import find_patient, patient_findings, patient_targets

    patient = find_patient(session, pseudonym)
    diagnosis = patient.current_diagnosis
    if diagnosis is None:
        raise NotFoundError(f"patient {pseudonym} has no diagnosis; add one to case.yaml and "
                            "re-import")
    targets = patient_targets(session, pseudonym)  # raises if not analysed
    analysis = session.get(Analysis, targets["analysis"]["id"])
    findings = patient_findings(session, pseudonym, analysis.id)
    typed = [s.sample_key for s in patient.samples if any(a.layer == "hla" for a in s.assays)]
    hla = ws.table("hla", samples=typed) if typed else pd.DataFrame(columns=["allele"])
    alleles = sorted(set(hla["allele"].dropna().astype(str))) if len(hla) else []
    lineage = reference.lineage(diagnosis.oncotree_code)
    tissue = reference.tumour_type(diagnosis.oncotree_code).tissue or ""
    return {"patient": patient, "analysis": analysis, "findings": findings,
            "targets": targets["targets"], "lineage": lineage, "hla": alleles,
            "solid": tissue not in ("Lymphoid", "Myeloid"),
            "cohort": targets["cohort"]}


def recommend_patient(workspace: Any, pseudonym: str) -> dict[str, Any]:
    """Compute a patient's recommendations and store them; returns the JSON-ready document.

    Undecided recommendations are replaced by the new ones (same therapy: updated in place);
    recommendations the board has decided on are kept unchanged, and a decided therapy that
    no longer matches is reported under ``no_longer_matched``.

    Raises
    ------
    NotFoundError
        Unknown patient, or not analysed yet.
    """
    from sqlalchemy import select

    from tumorboard.knowledge.base import installed_bases, release
    from tumorboard.registry import db
    from tumorboard.registry.models import Recommendation as Row

    bases = installed_bases(workspace.root)
    rules = [r for b in bases for r in b.kb.rules]
    kb_release = release(bases)
    with db.transaction(workspace.engine) as s:
        inputs = _patient_inputs(s, workspace, pseudonym)
        recs = recommend(inputs["findings"], inputs["targets"], lineage=inputs["lineage"],
                         rules=rules, hla_alleles=inputs["hla"], solid=inputs["solid"])
        patient = inputs["patient"]
        existing = {r.key: r for r in s.scalars(select(Row).where(Row.patient_id == patient.id))}
        before = _proposed_state(existing.values())
        keys = set()
        for rec in recs:
            keys.add(rec.key)
            row = existing.get(rec.key)
            if row is not None and row.status != "proposed":
                continue
            if row is None:
                row = Row(patient_id=patient.id, key=rec.key, status="proposed")
                s.add(row)
            row.analysis_id = inputs["analysis"].id
            row.rank = rec.rank
            row.therapy = rec.therapy
            row.drug_class = rec.drug_class
            row.basket = rec.basket
            row.evidence_level = rec.level
            row.direction = rec.direction
            row.genes = rec.genes
            row.rationale = rec.rationale
            row.citations = rec.citations
            row.detail = json_ready({"agents": rec.agents, "reason": rec.reason,
                                      "notes": rec.notes, "support": rec.support,
                                      "evidence": rec.evidence, "rules": rec.rules,
                                      "layers": rec.layers, "tier": rec.tier,
                                      "modifiers": rec.modifiers, "demoted": rec.demoted,
                                      "functional": rec.functional,
                                      "functional_call": rec.functional_call,
                                      "functional_only": rec.functional_only})
            row.knowledge_release = kb_release
        stale = [r for k, r in existing.items() if k not in keys]
        for row in stale:
            if row.status == "proposed":
                s.delete(row)
        s.flush()
        after = _proposed_state(s.scalars(select(Row).where(Row.patient_id == patient.id)))
        if after != before:  # re-running on unchanged data leaves no trace
            from tumorboard.registry import audit

            audit.record(s, "recommendation.compute", "recommendations", pseudonym,
                         patient_id=patient.id, before={"proposed": before},
                         after={"proposed": after, "knowledge_release": kb_release})
        return patient_recommendations(s, pseudonym)


def _proposed_state(rows: Any) -> dict[str, Any]:
    """The still-undecided recommendations by key, as the audit log records them."""
    return {r.key: {"rank": r.rank, "evidence_level": r.evidence_level, "therapy": r.therapy}
            for r in rows if r.status == "proposed"}


def _rec_record(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "rank": row.rank, "therapy": row.therapy, "drug_class": row.drug_class,
        "basket": row.basket, "evidence_level": row.evidence_level, "direction": row.direction,
        "status": row.status, "version": row.version, "genes": row.genes,
        "rationale": row.rationale, "citations": row.citations,
        # rows stored before functional evidence existed lack these keys
        "functional": [], "functional_call": None,
        "functional_only": row.basket == FUNCTIONAL_ONLY_BASKET, **row.detail,
        "decisions": [{"decision": d.decision, "on": d.decided_on.isoformat(),
                       "reason": d.reason, "recorded_by": d.recorded_by}
                      for d in row.decisions],
        "knowledge_release": row.knowledge_release,
        "updated_at": row.updated_at.isoformat(timespec="seconds") if row.updated_at else None,
    }


def patient_recommendations(session: Any, pseudonym: str) -> dict[str, Any]:
    """The stored recommendations of a patient, ranked, with board decisions.

    ``recommendations`` holds every sensitivity recommendation, the functional-only candidates
    last (they are decided on like the others); ``functional_only`` lists those candidates
    again on their own, as the report and the board show them apart.

    Raises
    ------
    NotFoundError
        Unknown patient.
    """
    from sqlalchemy import select

    from tumorboard.registry.models import Recommendation as Row
    from tumorboard.registry.queries import find_patient

    patient = find_patient(session, pseudonym)
    rows = session.scalars(select(Row).where(Row.patient_id == patient.id)
                           .order_by(Row.direction.desc(), Row.rank)).all()
    diagnosis = patient.current_diagnosis
    recs = [_rec_record(r) for r in rows]
    sensitivity = [r for r in recs if r["direction"] == "sensitivity"]
    return {
        "patient": pseudonym,
        "entity": diagnosis.oncotree_code if diagnosis else None,
        "recommendations": sensitivity,
        "resistance": [r for r in recs if r["direction"] == "resistance"],
        "functional_only": [r for r in sensitivity if r["functional_only"]],
        "knowledge_release": rows[0].knowledge_release if rows else [],
    }


def _decision_state(row: Any) -> dict[str, Any]:
    """What a decision changes on a recommendation (audit before/after)."""
    last = row.decisions[-1] if row.decisions else None
    return {"status": row.status, "version": row.version,
            "decision": None if last is None else {
                "decision": last.decision, "on": last.decided_on.isoformat(),
                "reason": last.reason, "recorded_by": last.recorded_by}}


def _changed_since_message(row: Any) -> str:
    """Who changed a recommendation last, to what and when, for a lost-update refusal."""
    import datetime as dt

    last = row.decisions[-1] if row.decisions else None
    if last is not None:
        at = last.created_at
        who = last.recorded_by or "another user"
        what = f"to '{last.decision}'"
    else:  # a re-analysis updated the still-proposed recommendation in place
        at = row.updated_at
        who = "a re-analysis"
        what = f"(now '{row.status}')"
    if at is not None and at.tzinfo is not None:
        at = at.astimezone(dt.UTC)
    when = f" at {at:%Y-%m-%d %H:%M} UTC" if at is not None else ""
    return (f"recommendation {row.id} ({row.therapy}) was changed by {who}{when} {what} "
            "after you opened it; nothing was saved — reload the page to see the current "
            "decision and decide again")


def record_decision(workspace: Any, recommendation_id: int, decision: str, *,
                    on: Any = None, reason: str | None = None,
                    recorded_by: str | None = None,
                    expected_version: int | None = None) -> dict[str, Any]:
    """Record a board decision: proposed → accepted / rejected → implemented / not.

    A rejection and a 'not implemented' need a reason. Allowed transitions:
    :data:`tumorboard.registry.models.DECISION_AFTER`. Writes the audit entry
    ``recommendation.decide`` (status, version and last decision before and after).

    Parameters
    ----------
    expected_version
        The recommendation's ``version`` when the user saw it (optimistic locking). When it
        is no longer current, someone else decided meanwhile and nothing is written. A
        concurrent transaction that commits first is caught the same way: the update checks
        the version it read (SQLAlchemy ``version_id_col``).

    Raises
    ------
    NotFoundError
        No recommendation with this id.
    InputError
        A decision that cannot follow the current status, or a missing reason.
    ConflictError
        The recommendation changed since ``expected_version``, or while this decision was
        being written; the message says by whom, to what and when.
    """
    import datetime as dt

    from sqlalchemy.orm.exc import StaleDataError

    from tumorboard.errors import ConflictError, InputError, NotFoundError
    from tumorboard.registry import audit, db
    from tumorboard.registry.models import DECISION_AFTER, DECISION_STATUSES, BoardDecision
    from tumorboard.registry.models import Recommendation as Row

    if decision not in DECISION_STATUSES:
        raise InputError(f"unknown decision '{decision}'",
                         expected=", ".join(DECISION_STATUSES))
    if reason is not None:
        if "\x00" in reason:
            raise InputError("the reason contains a NUL character", fix="remove it")
        reason = reason.strip() or None
    if decision in ("rejected", "not_implemented") and not reason:
        raise InputError(f"a '{decision}' decision needs a reason",
                         fix="give --reason, e.g. 'patient declined' or 'drug not available'")
    on = on or dt.date.today()
    if isinstance(on, str):
        try:
            on = dt.date.fromisoformat(on)
        except ValueError as exc:
            raise InputError(f"'{on}' is not a date", expected="YYYY-MM-DD") from exc
    try:
        with db.transaction(workspace.engine) as s:
            row = s.get(Row, recommendation_id)
            if row is None:
                raise NotFoundError(f"no recommendation with id {recommendation_id}; see "
                                    "`tumorboard recommend PATIENT`")
            if expected_version is not None and row.version != expected_version:
                raise ConflictError(_changed_since_message(row))
            allowed = DECISION_AFTER[row.status]
            if decision not in allowed:
                raise InputError(
                    f"recommendation {recommendation_id} is '{row.status}'; it cannot become "
                    f"'{decision}'",
                    expected=", ".join(allowed) or "nothing (final)")
            before = _decision_state(row)
            row.decisions.append(BoardDecision(decision=decision, decided_on=on,
                                               reason=reason, recorded_by=recorded_by))
            row.status = decision
            s.flush()
            audit.record(s, "recommendation.decide", "recommendations", row.id,
                         patient_id=row.patient_id, before=before, after=_decision_state(row))
            return _rec_record(row)
    except StaleDataError as exc:  # another transaction committed first
        with workspace.session() as s:
            current = s.get(Row, recommendation_id)
            raise ConflictError(_changed_since_message(current)) from exc

"""Fusion layer: confidence filters, entity-defining and actionable kinase fusions.

Input is the store's ``fusions`` table (:data:`tumorboard.io.tables.TABLES`) with a
``sample_id`` column; the readers already orient every call 5'->3' (``gene5``, ``gene3``, using
strands and Arriba's directions) and name it with the HGNC fusion separator
(``EWSR1::WT1``; Bruford et al., Leukemia 2021, doi:10.1038/s41375-021-01436-6). Output is a
findings table of layer ``fusions``, kind ``fusion``, one per sample and fusion: ``feature`` the
fusion name, ``value`` the junction (split) reads, and ``call``

- ``actionable_kinase``: the fusion keeps a targetable kinase in the orientation in which it is
  activated (3' partner for ALK, ROS1, NTRK1-3, RET, BRAF, ABL1, PDGFRA/B; 5' partner for
  FGFR2/FGFR3; either for FGFR1) and, for a 3' kinase, is not called out of frame;
- ``entity_defining``: listed in the catalogue of entity-defining sarcoma fusions (WHO
  Classification of Soft Tissue and Bone Tumours, 5th ed., 2020);
- ``reciprocal``: the reciprocal product of a catalogued fusion (``WT1::EWSR1`` for
  ``EWSR1::WT1``), which a balanced translocation also transcribes (Arriba documentation,
  "Interpretation of results", balanced translocations); it supports the entity but is not the
  oncogenic product;
- ``other``.

The first that applies wins; the provenance carries every property (entity codes of an
entity-defining fusion such as ETV6::NTRK3, which is also an actionable kinase fusion).

Kinase-domain retention
-----------------------
Breakpoints are genomic positions; whether the kinase domain is kept would need exon-level
kinase-domain coordinates, which tumorboard does not ship. Retention is therefore inferred from
the partner orientation and the reading frame and recorded as ``kinase_domain: 'unknown (no
breakpoint annotation)'`` with the inference in ``kinase_retention``: a 3' kinase needs an
in-frame junction for its C-terminal kinase domain to be translated (an unknown frame is
accepted and said so); a 5' kinase keeps its N-terminal part up to the breakpoint whatever the
frame of the partner.

Filters
-------
Arriba's low-confidence predictions correlate with a genomic rearrangement in only 5-10 % of
cases and "should be treated with skepticism ... it is advisable to ignore the prediction" unless
corroborated (Arriba documentation, "Interpretation of results", confidence scoring,
https://arriba.readthedocs.io/en/latest/interpretation-of-results/); they are dropped by default.
Calls with no junction-spanning read, or fewer than two supporting reads in all, are dropped too
(events with only discordant mates are frequently artefacts; two reads is the least Arriba
itself reports for a known fusion; same documentation). Missing counts (panel reports) are not
held against a call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tumorboard.layers._common import sample_column
from tumorboard.model import findings_frame

__all__ = [
    "FusionParams",
    "annotate_fusions",
    "fusion_catalogue",
    "fusion_findings",
]

LAYER = "fusions"
KINASE_DOMAIN_UNKNOWN = "unknown (no breakpoint annotation)"
_OUT_OF_FRAME = {"out-of-frame", "stop-codon"}
_CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class FusionParams:
    """Filters of the fusion layer (sources in the module docstring).

    Attributes
    ----------
    min_split_reads
        Least junction-spanning (split) reads; default 1.
    min_supporting_reads
        Least split reads + discordant pairs; default 2.
    exclude_confidence
        Caller confidence levels dropped (default Arriba ``low``).
    keep_catalogued_low
        Keep an excluded-confidence call when it is a catalogued entity-defining or actionable
        kinase fusion (Arriba's docs count a "well-known event for the given entity" as
        corroboration). Default False: the entity is not known here.
    """

    min_split_reads: int = 1
    min_supporting_reads: int = 2
    exclude_confidence: tuple[str, ...] = ("low",)
    keep_catalogued_low: bool = False


@cache
def fusion_catalogue() -> dict[str, Any]:
    """The fusion catalogue (``knowledge/fusion_catalogue.yaml``), with lookup tables.

    Returns
    -------
    dict
        ``entity_defining``: ``{(gene5, gene3): entry}``; ``kinases``: ``{gene: entry}``;
        ``who_classification``: the WHO reference.
    """
    text = (resources.files("tumorboard.knowledge") / "fusion_catalogue.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    defining = {}
    for entry in raw["entity_defining"]:
        g5, g3 = entry["fusion"].split("::")
        defining[(g5, g3)] = entry
    kinases = {entry["gene"]: entry for entry in raw["kinases"]}
    return {"entity_defining": defining, "kinases": kinases,
            "who_classification": raw["who_classification"]}


def _kinase(g5: str, g3: str, frame: str, kinases: dict[str, Any]) -> dict[str, Any] | None:
    """The kinase partner of a fusion and whether its domain is presumed kept, or None."""
    for gene, position in ((g3, "3'"), (g5, "5'")):
        entry = kinases.get(gene)
        if entry is None:
            continue
        expected = entry["kinase_position"]
        oriented = expected in (position, "either")
        frame_ok = position == "5'" or frame not in _OUT_OF_FRAME
        if not oriented:
            retention = (f"not retained: {gene} is the {position} partner, its activating "
                         f"fusions have it {expected}")
        elif not frame_ok:
            retention = f"not retained: {gene} is the 3' partner and the junction is {frame}"
        elif position == "3'":
            retention = ("presumed: 3' kinase partner, in-frame junction" if frame == "in-frame"
                         else "presumed: 3' kinase partner, reading frame unknown")
        else:
            retention = "presumed: 5' kinase partner keeps its kinase domain up to the breakpoint"
        return {
            "gene": gene,
            "position": position,
            "expected_position": expected,
            "actionable": bool(oriented and frame_ok),
            "kinase_domain": KINASE_DOMAIN_UNKNOWN,
            "kinase_retention": retention,
            "evidence": entry.get("evidence"),
            "pmid": entry.get("pmid"),
            "characteristic_entities": entry.get("characteristic_entities"),
        }
    return None


def annotate_fusions(fusions: pd.DataFrame, params: FusionParams = FusionParams()
                     ) -> pd.DataFrame:
    """Each fusion call with filter flags, catalogue matches and call (no rows dropped).

    Added columns: ``passes`` (all filters), ``reason`` (why not, NA if it passes),
    ``entity`` (catalogue entry or None), ``reciprocal_of`` (catalogued fusion name or NA),
    ``kinase`` (dict from the kinase catalogue or None), ``call``.
    """
    f = fusions.reset_index(drop=True).copy()
    cat = fusion_catalogue()
    g5 = f["gene5"].astype("string").str.strip().str.upper()
    g3 = f["gene3"].astype("string").str.strip().str.upper()
    f["gene5"], f["gene3"] = g5, g3
    f["fusion"] = (g5 + "::" + g3).astype("string")
    frame = f["reading_frame"].astype("string").fillna("unknown").str.lower()
    defining = cat["entity_defining"]
    kinases = cat["kinases"]
    pairs = list(zip(g5.fillna("").to_numpy(), g3.fillna("").to_numpy(), strict=True))
    f["entity"] = [defining.get(p) for p in pairs]
    f["reciprocal_of"] = pd.array(
        [f"{p[1]}::{p[0]}" if (p[1], p[0]) in defining and p not in defining else None
         for p in pairs], dtype="string")
    f["kinase"] = [_kinase(a, b, fr, kinases) for (a, b), fr in zip(pairs, frame, strict=True)]
    actionable = np.array([k is not None and k["actionable"] for k in f["kinase"]], dtype=bool)
    catalogued = actionable | f["entity"].notna().to_numpy()
    f["call"] = np.select(
        [actionable, f["entity"].notna().to_numpy(), f["reciprocal_of"].notna().to_numpy()],
        ["actionable_kinase", "entity_defining", "reciprocal"],
        default="other",
    )

    split = f["split_reads"].astype("Float64")
    span = f["spanning_pairs"].astype("Float64")
    total = split.fillna(0) + span.fillna(0)
    no_counts = (split.isna() & span.isna()).to_numpy(dtype=bool)
    conf = f["confidence"].astype("string").str.lower()
    low = conf.isin([c.lower() for c in params.exclude_confidence]).fillna(False)
    low = low.to_numpy(dtype=bool) & ~(params.keep_catalogued_low & catalogued)
    few_split = (split < params.min_split_reads).fillna(False).to_numpy(dtype=bool)
    few_total = ~no_counts & (total < params.min_supporting_reads).to_numpy(dtype=bool)
    reason = np.select(
        [low, few_split, few_total],
        [f"confidence in {list(params.exclude_confidence)}",
         f"split reads < {params.min_split_reads}",
         f"split reads + discordant pairs < {params.min_supporting_reads}"],
        default="",
    )
    f["passes"] = reason == ""
    f["reason"] = pd.array(np.where(reason == "", None, reason), dtype="string")
    return f


def fusion_findings(
    fusions: pd.DataFrame,
    *,
    patients: Mapping[str, str] | pd.Series,
    params: FusionParams = FusionParams(),
) -> pd.DataFrame:
    """Findings of the fusion layer: one per sample and fusion that passes the filters.

    Several calls of the same fusion in a sample (transcript isoforms, or two callers) become
    one finding: the call with the best confidence, then the most split reads, gives the values;
    the provenance lists every call's breakpoints and reads.

    Parameters
    ----------
    fusions
        The store's ``fusions`` table (with ``sample_id``).
    patients
        Sample id -> patient id; every sample in ``fusions`` must be listed.
    params
        Filters (:class:`FusionParams`), recorded in the provenance.

    Returns
    -------
    pandas.DataFrame
        Findings (:data:`tumorboard.model.FINDING_COLUMNS`), layer ``fusions``, kind ``fusion``.
    """
    col = sample_column(fusions, "fusions")
    if not len(fusions):
        return findings_frame()
    mapping = dict(patients.items()) if isinstance(patients, pd.Series) else dict(patients)
    missing = sorted(set(fusions[col].dropna()) - set(mapping))
    if missing:
        raise ValueError(f"no patient given for sample(s) {', '.join(missing)}")
    f = annotate_fusions(fusions, params)
    f = f[f["passes"] & f["gene5"].notna() & f["gene3"].notna()]
    if not len(f):
        return findings_frame()
    rank = f["confidence"].astype("string").str.lower().map(_CONFIDENCE_RANK).fillna(3)
    f = f.assign(_rank=rank.to_numpy(),
                 _split=f["split_reads"].astype("Float64").fillna(-1).to_numpy())
    f = f.sort_values([col, "fusion", "_rank", "_split"], ascending=[True, True, True, False],
                      kind="stable")
    settings = {**asdict(params), "exclude_confidence": list(params.exclude_confidence)}
    who = fusion_catalogue()["who_classification"]
    rows = []
    for (sample, fusion), group in f.groupby([col, "fusion"], sort=False):
        best = group.iloc[0]
        rows.append(_finding(sample, str(fusion), best, group, mapping, settings, who))
    return findings_frame(pd.DataFrame(rows))


def _num(x: Any) -> Any:
    if x is None or x is pd.NA or (isinstance(x, float) and not np.isfinite(x)):
        return None
    return x.item() if isinstance(x, np.generic) else x


def _finding(sample: str, fusion: str, best: pd.Series, group: pd.DataFrame,
             mapping: dict[str, str], settings: dict[str, Any], who: str) -> dict[str, Any]:
    entity = best["entity"]
    kinase = best["kinase"]
    reciprocal = _num(best["reciprocal_of"])
    if reciprocal is not None:
        g5, g3 = reciprocal.split("::")
        recip_entry = fusion_catalogue()["entity_defining"][(g5, g3)]
    else:
        recip_entry = None
    source = entity or recip_entry
    calls = [
        {"breakpoint5": _num(r.breakpoint5), "breakpoint3": _num(r.breakpoint3),
         "split_reads": _num(r.split_reads), "spanning_pairs": _num(r.spanning_pairs),
         "reading_frame": _num(r.reading_frame), "confidence": _num(r.confidence),
         "caller": _num(r.caller)}
        for r in group.itertuples()
    ]
    provenance = {
        "method": "tumorboard.layers.fusions.fusion_findings",
        "gene5": best["gene5"], "gene3": best["gene3"],
        "breakpoint5": _num(best["breakpoint5"]), "breakpoint3": _num(best["breakpoint3"]),
        "strand5": _num(best["strand5"]), "strand3": _num(best["strand3"]),
        "split_reads": _num(best["split_reads"]),
        "spanning_pairs": _num(best["spanning_pairs"]),
        "reading_frame": _num(best["reading_frame"]),
        "confidence": _num(best["confidence"]), "caller": _num(best["caller"]),
        "n_calls": len(group),
        "calls": calls if len(group) > 1 else None,
        "entity_defining": entity is not None,
        "entity_codes": list(source["entities"]) if source else [],
        "who_entity": source.get("who_entity") if source else None,
        "citation": source.get("citation") if source else None,
        "pmid": source.get("pmid") if source else None,
        "who_classification": who if source else None,
        "reciprocal_of": reciprocal,
        "kinase": kinase,
        "params": settings,
    }
    gene = kinase["gene"] if kinase is not None and kinase["actionable"] else best["gene5"]
    return {
        "patient": mapping[sample],
        "sample": sample,
        "layer": LAYER,
        "gene": gene,
        "feature": fusion,
        "kind": "fusion",
        "value": float(best["split_reads"]) if _num(best["split_reads"]) is not None
        else np.nan,
        "z_score": np.nan,
        "call": best["call"],
        "provenance": provenance,
    }

"""Per-gene integration across layers: is a target expressed, and is it activated?

For every gene with any evidence in a tumour sample, :func:`target_evidence` combines the
layers' Findings into one TargetEvidence row — DNA (mutation, copy number, fusion), RNA
(cohort-relative z, percentiles, call), protein (z, call) and activation (phosphoproteomic score
and call, or "not measured") — and gives it a state (DESIGN.md §1):

- ``activated``: activated by its own phosphosites or a genomic driver (hotspot, kinase fusion,
  amplification), or expressed with substrate-based activity. Kinase inhibitors and
  antigen-directed drugs both apply.
- ``expressed_not_activated``: expressed, activation measured and not found. Only
  antigen-directed drugs apply (ADC, CAR-T, bispecific, radioligand) — the MASTER DSRCT finding
  for ERBB2, treated with trastuzumab deruxtecan (Renner, Oleś et al., Nat Commun 2026).
- ``expressed_activation_unknown``: expressed; activation not measured, or not applicable
  (the gene is not a kinase, e.g. CLDN6, SSTR2).
- ``not_expressed``: RNA/protein measured and the gene is not expressed. Neither applies.
- ``unknown``: neither RNA nor protein was measured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tumorboard.model import TARGET_STATES

#: Columns of a target-evidence table.
TARGET_COLUMNS: tuple[str, ...] = (
    "patient", "sample", "gene", "state", "is_antigen", "is_kinase", "dna",
    "rna_tpm", "rna_z", "rna_percentile", "rna_percentile_entity", "rna_call",
    "protein_z", "protein_call", "activation_score", "activation_call", "activation_source",
    "provenance",
)

_ACTIVATED = {"activated", "high"}
_NOT_ACTIVATED = {"not_activated", "neutral", "low"}
# own activation sites first: the RTK score mixes in expression (see layers.phospho)
_ACTIVATION_KINDS = ("activation", "kinase_activity", "rtk_activation")
_DNA_KINDS = ("mutation", "amplification", "gain", "loss", "deletion", "fusion")


@dataclass(frozen=True)
class TargetParams:
    """Thresholds of the integration.

    Attributes
    ----------
    expressed_tpm
        A gene counts as expressed at TPM >= this value even when it is not an outlier against
        the cohort (a cohort of one entity may express a target in nearly every tumour, as
        ERBB2 in DSRCT). The Human Protein Atlas calls a gene *detected* at nTPM >= 1 (Uhlén
        et al., Science 2015, doi:10.1126/science.1260419); for a drug target we require an
        order of magnitude more, 10 TPM.
    """

    expressed_tpm: float = 10.0


@cache
def antigen_catalogue() -> dict[str, dict[str, Any]]:
    """Antigens of antigen-directed drugs, by gene (``knowledge/antigens.yaml``, cited)."""
    text = (resources.files("tumorboard.knowledge") / "antigens.yaml").read_text("utf-8")
    return {entry["gene"]: entry for entry in yaml.safe_load(text)}


_KEY = ["patient", "sample", "gene"]
_USED_COLUMNS = (*_KEY, "kind", "feature", "value", "z_score", "percentile_cohort",
                 "percentile_entity", "call")


def _pick(findings: pd.DataFrame, kinds: tuple[str, ...], *, by_z: bool = False
          ) -> pd.DataFrame:
    """One finding per (patient, sample, gene) among ``kinds``: the first kind in order wins;
    with ``by_z`` the highest z-score within that kind."""
    rows = findings[findings["kind"].isin(kinds)].copy()
    rows["_rank"] = rows["kind"].map({k: i for i, k in enumerate(kinds)})
    order = ["_rank", "z_score"] if by_z else ["_rank"]
    rows = rows.sort_values(order, ascending=[True, False][: len(order)], kind="stable",
                            na_position="last")
    return rows.drop_duplicates(_KEY).set_index(_KEY)


def _dna(findings: pd.DataFrame) -> pd.DataFrame:
    """Per (patient, sample, gene): the DNA alterations as short records, and flags."""
    rows = findings[findings["kind"].isin(_DNA_KINDS)]
    records = [
        {"kind": k, "feature": f, "call": c, "value": None if pd.isna(v) else float(v)}
        for k, f, c, v in zip(rows["kind"], rows["feature"], rows["call"], rows["value"],
                              strict=True)
    ]
    activating = (
        ((rows["kind"] == "mutation") & (rows["call"] == "hotspot"))
        | ((rows["kind"] == "fusion") & (rows["call"] == "actionable_kinase"))
        | (rows["kind"] == "amplification")
    )
    table = pd.DataFrame({
        **{k: rows[k].to_numpy() for k in _KEY},
        "dna": records,
        "activating": activating.to_numpy(dtype=bool),
        "amplified": (rows["kind"] == "amplification").to_numpy(dtype=bool),
    })
    return table.groupby(_KEY, sort=False).agg(
        dna=("dna", list), activating=("activating", "any"), amplified=("amplified", "any"))


def _num(values: pd.Series | np.ndarray) -> list[float | None]:
    """Python floats, None where missing (vectorised: whole cohorts have millions of rows)."""
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype="float64", na_value=np.nan)
    floats = np.asarray(values, dtype="float64")
    out = floats.astype(object)
    out[np.isnan(floats)] = None
    return out.tolist()


def _str(values: pd.Series) -> list[str | None]:
    """Python strings, None where missing."""
    objects = values.to_numpy(dtype=object)
    missing = pd.isna(objects).tolist()
    return [None if m else str(v) for v, m in zip(objects.tolist(), missing, strict=True)]


def _fusion_partners(findings: pd.DataFrame) -> pd.DataFrame:
    """Fusion findings repeated for both partners, so that each gene sees its fusions."""
    fusions = findings[findings["kind"] == "fusion"]
    if fusions.empty:
        return fusions
    parts = fusions["feature"].astype(str).str.split("::", n=1, expand=True)
    if parts.shape[1] < 2:
        return fusions
    five = fusions.assign(gene=parts[0].to_numpy())
    three = fusions.assign(gene=parts[1].to_numpy())
    return pd.concat([five, three]).drop_duplicates(["sample", "gene", "feature"])


def target_evidence(
    findings: pd.DataFrame,
    *,
    kinases: set[str] | frozenset[str] = frozenset(),
    antigens: set[str] | frozenset[str] | None = None,
    params: TargetParams = TargetParams(),
) -> pd.DataFrame:
    """One TargetEvidence row per (sample, gene) with any evidence in ``findings``.

    Vectorised over all samples and genes (one pass per layer, no loop over genes).

    Parameters
    ----------
    findings
        A findings table (:func:`tumorboard.model.findings_frame`) of one or more samples,
        all layers.
    kinases
        Genes whose activation the phosphoproteome can judge (the kinase-site catalogue).
    antigens
        Genes flagged as antigen targets; default: :func:`antigen_catalogue`.
    """
    antigens = set(antigen_catalogue()) if antigens is None else set(antigens)
    # Only the columns read below (not the provenance): whole-cohort rows are copied a few times.
    findings = findings[[c for c in _USED_COLUMNS if c in findings.columns]]
    findings = findings[findings["gene"].notna() & findings["sample"].notna()]
    findings = pd.concat([findings[findings["kind"] != "fusion"], _fusion_partners(findings)])
    if findings.empty:
        return pd.DataFrame(columns=list(TARGET_COLUMNS))
    rna = _pick(findings, ("overexpression", "underexpression", "expression"))
    protein = _pick(findings, ("protein_high", "protein_low", "protein"), by_z=True)
    activation = _pick(findings, _ACTIVATION_KINDS)
    dna = _dna(findings)
    keys = findings[_KEY].drop_duplicates().sort_values(_KEY).set_index(_KEY).index
    rna, protein, activation, dna = (t.reindex(keys) for t in (rna, protein, activation, dna))

    genes = keys.get_level_values("gene").to_numpy()
    is_kinase = pd.Index(genes).isin(list(kinases))
    rna_call = rna["call"].astype(object)
    protein_call = protein["call"].astype(object)
    rna_tpm = np.exp2(rna["value"].astype("float64").to_numpy()) - 1.0
    measured = (rna["kind"].notna() | protein["kind"].notna()).to_numpy()
    amplified = dna["amplified"].eq(True).to_numpy(dtype=bool)
    expressed = (
        (rna_call == "high").to_numpy()
        | (protein_call == "high").to_numpy()
        | ((rna_tpm >= params.expressed_tpm) & (rna_call != "low").to_numpy())
        | amplified
    )
    act_call = activation["call"]
    act_on = act_call.isin(_ACTIVATED).to_numpy()
    act_off = act_call.isin(_NOT_ACTIVATED).to_numpy()
    genomic = is_kinase & dna["activating"].eq(True).to_numpy(dtype=bool)
    activation_call = np.select(
        [act_on, act_off, genomic, ~is_kinase],
        ["activated", "not_activated", "activated", "not_applicable"], "not_measured")
    source = np.where(act_on | act_off, activation["kind"].astype(object).to_numpy(),
                      np.where(genomic, "genomic", None))
    # Activation read from the kinase's own sites, or a genomic driver, stands on its own;
    # a substrate-based or combined score alone needs the kinase to be expressed.
    decisive = np.isin(source.astype(object), ["activation", "genomic"]) | expressed
    state = np.select(
        [(activation_call == "activated") & decisive, ~measured, ~expressed,
         activation_call == "not_activated"],
        ["activated", "unknown", "not_expressed", "expressed_not_activated"],
        "expressed_activation_unknown")
    assert set(state) <= set(TARGET_STATES)

    settings = asdict(params)
    citation = {g: entry.get("citation") for g, entry in antigen_catalogue().items()}
    return pd.DataFrame({
        "patient": keys.get_level_values("patient"),
        "sample": keys.get_level_values("sample"),
        "gene": genes,
        "state": state,
        "is_antigen": pd.Index(genes).isin(list(antigens)),
        "is_kinase": is_kinase,
        "dna": [d if isinstance(d, list) else [] for d in dna["dna"].tolist()],
        "rna_tpm": _num(rna_tpm),
        "rna_z": _num(rna["z_score"]),
        "rna_percentile": _num(rna["percentile_cohort"]),
        "rna_percentile_entity": _num(rna["percentile_entity"]),
        "rna_call": _str(rna_call),
        "protein_z": _num(protein["z_score"]),
        "protein_call": _str(protein_call),
        "activation_score": _num(activation["value"]),
        "activation_call": activation_call,
        "activation_source": source,
        "provenance": [
            {"params": settings, "expressed": e, "antigen": citation.get(g)}
            for g, e in zip(genes.tolist(), expressed.tolist(), strict=True)
        ],
    }, columns=list(TARGET_COLUMNS))

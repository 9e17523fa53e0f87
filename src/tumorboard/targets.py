"""Per-gene integration across layers: is a target expressed, and is it activated?

For every gene with any evidence in a tumour sample, :func:`target_evidence` combines the
layers' Findings into one TargetEvidence row — DNA (mutation, copy number, fusion), RNA
(cohort-relative z, percentiles, call), protein (z, call) and activation (phosphoproteomic score
and call, or "not measured") — and gives it a state (DESIGN.md §1):

- ``activated``: expressed (or genomically driven) and activated. Kinase inhibitors and
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
_ACTIVATION_KINDS = ("rtk_activation", "activation", "kinase_activity")  # preference order
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


def _num(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return float(value)


def _dna_records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"kind": r.kind, "feature": r.feature, "call": r.call, "value": _num(r.value)}
        for r in rows.itertuples()
    ]


def _genomic_activation(dna: list[dict[str, Any]]) -> bool:
    """Whether a DNA alteration activates the kinase by itself (hotspot, fusion, amplification)."""
    return any(
        (d["kind"] == "mutation" and d["call"] == "hotspot")
        or (d["kind"] == "fusion" and d["call"] == "actionable_kinase")
        or d["kind"] == "amplification"
        for d in dna
    )


def _one_gene(gene: str, rows: pd.DataFrame, *, antigens: set[str], kinases: set[str],
              params: TargetParams) -> dict[str, Any]:
    by_kind = dict(list(rows.groupby("kind")))
    dna = _dna_records(rows[rows["kind"].isin(_DNA_KINDS)])

    rna = None
    for kind in ("overexpression", "underexpression", "expression"):
        if kind in by_kind:
            rna = by_kind[kind].iloc[0]
            break
    rna_tpm = float(2.0 ** rna["value"] - 1.0) if rna is not None and pd.notna(rna["value"]) \
        else None

    protein = None
    for kind in ("protein_high", "protein_low", "protein"):
        if kind in by_kind:
            group = by_kind[kind]
            protein = group.loc[group["z_score"].fillna(-np.inf).idxmax()]
            break

    activation = None
    for kind in _ACTIVATION_KINDS:
        if kind in by_kind:
            activation = by_kind[kind].iloc[0]
            break

    is_kinase = gene in kinases
    rna_call = rna["call"] if rna is not None else None
    protein_call = protein["call"] if protein is not None else None
    measured = rna is not None or protein is not None
    expressed = (
        rna_call == "high"
        or protein_call == "high"
        or (rna_tpm is not None and rna_tpm >= params.expressed_tpm and rna_call != "low")
        or any(d["kind"] == "amplification" for d in dna)
    )

    if activation is not None and activation["call"] in _ACTIVATED:
        activation_call, source = "activated", str(activation["kind"])
    elif activation is not None and activation["call"] in _NOT_ACTIVATED:
        activation_call, source = "not_activated", str(activation["kind"])
    elif is_kinase and _genomic_activation(dna):
        activation_call, source = "activated", "genomic"
    elif not is_kinase:
        activation_call, source = "not_applicable", None
    else:
        activation_call, source = "not_measured", None

    if activation_call == "activated":
        state = "activated"
    elif not measured:
        state = "unknown"
    elif not expressed:
        state = "not_expressed"
    elif activation_call == "not_activated":
        state = "expressed_not_activated"
    else:
        state = "expressed_activation_unknown"
    assert state in TARGET_STATES

    return {
        "gene": gene,
        "state": state,
        "is_antigen": gene in antigens,
        "is_kinase": is_kinase,
        "dna": dna,
        "rna_tpm": rna_tpm,
        "rna_z": _num(rna["z_score"]) if rna is not None else None,
        "rna_percentile": _num(rna["percentile_cohort"]) if rna is not None else None,
        "rna_percentile_entity": _num(rna["percentile_entity"]) if rna is not None else None,
        "rna_call": rna_call,
        "protein_z": _num(protein["z_score"]) if protein is not None else None,
        "protein_call": protein_call,
        "activation_score": _num(activation["value"]) if activation is not None else None,
        "activation_call": activation_call,
        "activation_source": source,
        "provenance": {"params": asdict(params), "expressed": bool(expressed),
                       "antigen": antigen_catalogue().get(gene, {}).get("citation")},
    }


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
    findings = findings[findings["gene"].notna() & findings["sample"].notna()]
    findings = pd.concat([findings[findings["kind"] != "fusion"], _fusion_partners(findings)])
    rows = []
    for (patient, sample, gene), group in findings.groupby(["patient", "sample", "gene"],
                                                          sort=True):
        record = _one_gene(str(gene), group, antigens=antigens, kinases=set(kinases),
                           params=params)
        rows.append({"patient": patient, "sample": sample, **record})
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS))

"""Domain records shared by the analyses: Findings and TargetEvidence, as table contracts.

Layer analyses emit many Findings at once (one per gene and sample for expression), so the
uniform record of DESIGN.md §2 is a *table* with fixed columns rather than one Python object
per row; :func:`findings_frame` builds and checks it. :class:`Finding` is the same record as a
dataclass for code that handles a few at a time (the report, tests).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

#: The kinds of Finding, by layer. A rule in the knowledge base matches on these.
FINDING_KINDS: dict[str, tuple[str, ...]] = {
    "variants": ("mutation", "tmb"),
    "copy_number": ("amplification", "gain", "loss", "deletion", "copy_number"),
    "fusions": ("fusion",),
    "expression": ("overexpression", "underexpression", "expression"),
    "proteome": ("protein_high", "protein_low", "protein"),
    "phosphoproteome": ("activation", "phosphosite", "kinase_activity", "rtk_activation"),
    "methylation": ("promoter_methylation", "methylation_class"),
    "hla": ("hla_allele",),
    "drug_screen": ("drug_sensitivity",),
}

#: Calls a cohort-relative score can end in.
SCORE_CALLS = ("high", "low", "neutral", "insufficient_reference", "not_measured")

#: Columns of a findings table, with dtypes.
FINDING_COLUMNS: dict[str, str] = {
    "patient": "string",
    "sample": "string",
    "layer": "string",
    "gene": "string",
    "feature": "string",
    "kind": "string",
    "value": "float64",
    "z_score": "float64",
    "percentile_cohort": "float64",
    "percentile_entity": "float64",
    "reference_size": "Int64",
    "call": "string",
    "provenance": "object",  # dict: method, thresholds, source assay, ...
}


@dataclass(frozen=True)
class Finding:
    """One observation about one gene/feature in one sample (DESIGN.md §2)."""

    patient: str
    sample: str | None
    layer: str
    gene: str | None
    feature: str
    kind: str
    value: float | None = None
    z_score: float | None = None
    percentile_cohort: float | None = None
    percentile_entity: float | None = None
    reference_size: int | None = None
    call: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def findings_frame(rows: pd.DataFrame | list[Finding] | None = None) -> pd.DataFrame:
    """A findings table with exactly :data:`FINDING_COLUMNS` (missing columns become NA).

    Raises
    ------
    ValueError
        If a kind is not one of :data:`FINDING_KINDS` for its layer (a programming error in a
        layer module, not a user error).
    """
    if rows is None:
        rows = []
    frame = pd.DataFrame([r.to_dict() for r in rows]) if isinstance(rows, list) else rows
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for col, dtype in FINDING_COLUMNS.items():
        values = frame[col].to_numpy() if col in frame else [None] * len(frame)
        out[col] = pd.Series(values, dtype=dtype if dtype != "object" else object)
    if "provenance" in frame:
        out["provenance"] = [p if isinstance(p, dict) else {} for p in frame["provenance"]]
    else:
        out["provenance"] = [{} for _ in range(len(frame))]
    for layer, kinds in out.groupby("layer", dropna=False)["kind"]:
        allowed = FINDING_KINDS.get(str(layer), ())
        bad = set(kinds.dropna()) - set(allowed)
        if bad:
            raise ValueError(f"layer {layer!r} cannot emit finding kind(s) {sorted(bad)}")
    return out


#: Target states (DESIGN.md §1, expression versus activation).
TARGET_STATES = (
    "activated",
    "expressed_not_activated",
    "expressed_activation_unknown",
    "not_expressed",
    "unknown",
)


def optional_float(value: Any) -> float | None:
    """``value`` as a float, or None if it is missing (None, NA, NaN) or not a number."""
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, NaN / NA as None, tuples as lists.

    For JSON columns of the registry and JSON documents: SQLite stores a numpy integer as a
    blob and JSON has no NaN.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most leaves: as they are
        return value
    if kind is float:
        return None if value != value else value
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def write_findings(findings: pd.DataFrame, path: str, *, filesystem: Any = None) -> None:
    """Write a findings table to Parquet (provenance as JSON text), e.g. a run's scratch file.

    ``filesystem``: an fsspec or pyarrow filesystem for ``path`` (default: local).
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"string": pa.string(), "float64": pa.float64(), "Int64": pa.int64()}
    frame = findings_frame(findings)
    columns = {c: pa.array(frame[c].to_numpy(dtype=object), from_pandas=True, type=types[t])
               for c, t in FINDING_COLUMNS.items() if c != "provenance"}
    # json_ready: numpy scalars and NaN become what the registry's JSON columns store anyway
    columns["provenance"] = pa.array([json.dumps(json_ready(p)) for p in frame["provenance"]],
                                     type=pa.string())
    table = pa.table(columns)
    pq.write_table(table, path, filesystem=filesystem)


def read_findings(path: str, *, filesystem: Any = None) -> pd.DataFrame:
    """A findings table written by :func:`write_findings`."""
    import json

    import pyarrow.parquet as pq

    frame = pq.read_table(path, filesystem=filesystem).to_pandas()
    frame["provenance"] = [json.loads(p) for p in frame["provenance"]]
    return findings_frame(frame)

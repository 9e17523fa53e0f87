"""The tidy tables every reader returns, and their column contracts.

A reader turns one file into one or more of these tables for **one sample** (the sample id is
added by the intake, not by the reader). The omics store keeps one Parquet dataset per table;
later analyses rely on exactly these columns, so :func:`conform` checks them at the boundary.

Dtypes are pandas dtypes: ``string`` for text (nullable), ``Int64`` for nullable integers,
``float64``/``float32`` for measurements (NaN = missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.errors import InputError

#: table name -> {column: dtype}. Order is the column order written to the store.
TABLES: dict[str, dict[str, str]] = {
    # Small variants, one row per (variant allele, chosen transcript consequence).
    "variants": {
        "chrom": "string",  # with 'chr' prefix, GRCh38 style (chr1..chr22, chrX, chrY, chrM)
        "pos": "int64",  # 1-based VCF position
        "ref": "string",
        "alt": "string",
        "filter": "string",  # PASS or the failed filters, ';'-joined
        "gene": "string",  # HGNC symbol
        "transcript_id": "string",
        "consequence": "string",  # Sequence Ontology terms, '&'-joined as VEP writes them
        "impact": "string",  # HIGH / MODERATE / LOW / MODIFIER
        "hgvsc": "string",
        "hgvsp": "string",  # p. notation, 3-letter amino acids as VEP writes them
        "depth": "Int64",  # tumour read depth
        "alt_depth": "Int64",  # tumour reads supporting alt
        "vaf": "float64",  # tumour variant allele fraction in [0, 1]
    },
    # Copy-number segments as the caller wrote them.
    "segments": {
        "chrom": "string",
        "start": "int64",
        "end": "int64",
        "num_markers": "Int64",
        "log2_ratio": "float64",  # seg.mean of a SEG file (log2 tumour/normal)
        "total_cn": "Int64",  # absolute copy number if the caller gives it
        "major_cn": "Int64",
        "minor_cn": "Int64",
    },
    # Copy number summarised per gene (from segments or a gene-level table).
    "gene_copy_number": {
        "gene": "string",
        "chrom": "string",
        "start": "Int64",
        "end": "Int64",
        "log2_ratio": "float64",
        "total_cn": "Int64",
        "major_cn": "Int64",
        "minor_cn": "Int64",
        "segment_fraction": "float64",  # fraction of the gene covered by the chosen segment
        "n_segments": "Int64",  # segments overlapping the gene (>1: breakpoint in gene)
    },
    "fusions": {
        "gene5": "string",  # 5' partner (HGNC symbol)
        "gene3": "string",  # 3' partner
        "fusion": "string",  # 'GENE5::GENE3' (HGNC fusion nomenclature)
        "breakpoint5": "string",  # 'chr22:29287134'
        "breakpoint3": "string",
        "strand5": "string",
        "strand3": "string",
        "split_reads": "Int64",  # junction-spanning reads
        "spanning_pairs": "Int64",  # discordant mates
        "reading_frame": "string",  # in-frame / out-of-frame / stop-codon / unknown
        "confidence": "string",  # caller's confidence (Arriba high/medium/low) or NA
        "caller": "string",
    },
    "expression": {
        "gene": "string",  # HGNC symbol
        "gene_id": "string",  # Ensembl gene id when the file had one
        "tpm": "float64",
        "count": "float64",  # estimated counts when the file has them
    },
    "methylation": {
        "probe_id": "string",  # Illumina CpG id, EPICv2 suffix removed (cg00000029)
        "beta": "float32",
    },
    "proteome": {
        "gene": "string",
        "feature_id": "string",  # protein group / accession / antibody name
        "log2_abundance": "float64",  # NaN: not quantified in this sample
        "intensity": "float64",  # raw intensity when the file has one
    },
    "phosphoproteome": {
        "gene": "string",
        "site": "string",  # residue and position, e.g. 'Y1248'
        "feature_id": "string",  # 'ERBB2_Y1248' or the file's own id
        "log2_abundance": "float64",
        "intensity": "float64",
        "localization_prob": "float64",
    },
    "hla": {
        "gene": "string",  # HLA-A, HLA-B, HLA-C
        "allele": "string",  # IPD-IMGT/HLA nomenclature, two fields: 'HLA-A*02:01'
    },
    # Drug screens on patient-derived models, one row per well (or measurement).
    "drug_screen": {
        "model": "string",  # patient-derived model id ('PDO-...')
        "model_type": "string",  # organoid / spheroid / explant / cell_line_2d / other
        "plate": "string",  # controls are per plate
        "well": "string",
        "drug": "string",  # canonical_combination(drug_as_given); controls: 'vehicle' /
        # 'positive control'
        "drug_as_given": "string",
        "concentration_um": "float64",  # micromolar; NaN for controls
        "role": "string",  # treatment / negative_control / positive_control
        "replicate": "Int64",
        "signal": "float64",  # raw readout, NaN if only viability was given
        "viability": "float64",  # % of vehicle as the lab gave it, else NaN
    },
}

#: Which tables hold a (sample x feature) matrix, and the columns that make it.
MATRIX_TABLES: dict[str, tuple[str, str]] = {
    "expression": ("gene", "tpm"),
    "methylation": ("probe_id", "beta"),
    "proteome": ("feature_id", "log2_abundance"),
    "phosphoproteome": ("feature_id", "log2_abundance"),
    "gene_copy_number": ("gene", "log2_ratio"),
}


@dataclass
class LayerData:
    """What a reader returns for one sample of one file.

    Attributes
    ----------
    tables
        Store table name -> tidy table (columns as in :data:`TABLES`).
    samples_in_file
        Sample names the file itself declares (VCF columns, matrix columns); empty for
        single-sample formats that name none.
    genome_build
        Build found in the file (``GRCh37`` / ``GRCh38``), ``None`` if the file does not say.
    tool, tool_version
        Producing tool found in the file header, if any.
    platform
        Assay platform when it matters (methylation: 450k / EPIC / EPICv2; proteome: MaxQuant
        LFQ, TMT, RPPA).
    notes
        Quality-control remarks for the user (records skipped and why, values clipped, ...).
    """

    tables: dict[str, pd.DataFrame]
    samples_in_file: list[str] = field(default_factory=list)
    genome_build: str | None = None
    tool: str | None = None
    tool_version: str | None = None
    platform: str | None = None
    notes: list[str] = field(default_factory=list)


def empty_table(name: str) -> pd.DataFrame:
    """An empty table with the contract's columns and dtypes."""
    spec = TABLES[name]
    return pd.DataFrame({col: pd.Series(dtype=dtype) for col, dtype in spec.items()})


def conform(df: pd.DataFrame, name: str, *, source: str | None = None) -> pd.DataFrame:
    """Return ``df`` with exactly the columns of table ``name``, in order, cast to its dtypes.

    Raises
    ------
    InputError
        If a required column is missing or a column cannot be cast (a reader bug or a file
        the reader did not validate well enough; the message names the column).
    """
    spec = TABLES[name]
    df = df.reset_index(drop=True)  # readers hand in filtered frames; align on position
    missing = [c for c in spec if c not in df.columns]
    if missing:
        raise InputError(
            f"reader produced table '{name}' without column(s) {', '.join(missing)}",
            file=source,
            fix="report this as a tumorboard bug with the file that caused it",
        )
    out = {}
    for col, dtype in spec.items():
        try:
            out[col] = df[col].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"values of '{col}' cannot be read as {dtype}: {exc}",
                file=source,
                column=col,
            ) from exc
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


# ---------------------------------------------------------------------------- quality

def _median(series: pd.Series) -> float | None:
    values = pd.to_numeric(series, errors="coerce").dropna()
    return round(float(values.median()), 3) if len(values) else None


def layer_qc(table: str, frame: pd.DataFrame) -> dict[str, Any]:
    """Counts and simple quality figures of one sample's table (as the intake stores them
    with the assay and the patient page shows them)."""
    n = len(frame)
    if table == "variants":
        return {
            "records": n,
            "PASS": int((frame["filter"] == "PASS").sum()),
            "genes": int(frame["gene"].nunique()),
            "HIGH impact": int((frame["impact"] == "HIGH").sum()),
            "MODERATE impact": int((frame["impact"] == "MODERATE").sum()),
            "median depth": _median(frame["depth"]),
            "median VAF": _median(frame["vaf"]),
        }
    if table == "segments":
        length = (frame["end"] - frame["start"] + 1).astype("float64")
        altered = length[(frame["log2_ratio"].abs() > 0.2).fillna(False)].sum()
        return {
            "segments": n,
            "fraction of genome |log2| > 0.2": round(float(altered / length.sum()), 3)
            if n else None,
        }
    if table == "gene_copy_number":
        log2 = frame["log2_ratio"]
        return {"genes": n, "genes log2 > 1": int((log2 > 1).sum()),
                "genes log2 < -1": int((log2 < -1).sum())}
    if table == "fusions":
        top = frame.sort_values("split_reads", ascending=False, na_position="last").head(5)
        return {
            "fusions": n,
            "top": [f"{r.fusion} ({r.split_reads} split reads, {r.reading_frame}, "
                    f"{r.confidence})" for r in top.itertuples()],
        }
    if table == "expression":
        tpm = frame["tpm"]
        return {"genes": n, "genes TPM >= 1": int((tpm >= 1).sum()),
                "sum of TPM": round(float(np.nansum(tpm)), 1)}
    if table == "methylation":
        return {"probes": n, "missing": int(frame["beta"].isna().sum()),
                "median beta": _median(frame["beta"])}
    if table in ("proteome", "phosphoproteome"):
        quantified = int(frame["log2_abundance"].notna().sum())
        return {"features": n, "quantified": quantified,
                "missing fraction": round(1 - quantified / n, 3) if n else None}
    if table == "hla":
        return {"alleles": ", ".join(frame["allele"].astype(str))}
    if table == "drug_screen":
        treated = frame[frame["role"] == "treatment"]
        return {"wells": n, "models": ", ".join(frame["model"].dropna().unique().astype(str)),
                "drugs": int(treated["drug"].nunique()),
                "plates": int(frame["plate"].nunique()),
                "negative controls": int((frame["role"] == "negative_control").sum()),
                "positive controls": int((frame["role"] == "positive_control").sum()),
                "readout": "raw signal" if frame["signal"].notna().any() else "viability"}
    return {"rows": n}

"""Readers for protein and phosphosite abundance: MaxQuant, TCGA-style RPPA, generic tables.

Each reader returns one sample of one file as the store tables ``proteome`` and/or
``phosphoproteome`` (columns in :data:`tumorboard.io.tables.TABLES`).

Sources followed
----------------
- MaxQuant output tables (``proteinGroups.txt``, ``Phospho (STY)Sites.txt``): Cox lab
  documentation, https://cox-labs.github.io/coxdocs/output_tables.html (2024); Cox & Mann,
  Nat Biotechnol 2008, doi:10.1038/nbt.1511; Tyanova, Temu & Cox, "The MaxQuant computational
  platform for mass spectrometry-based shotgun proteomics", Nat Protoc 2016,
  doi:10.1038/nprot.2016.136. LFQ: Cox et al., Mol Cell Proteomics 2014,
  doi:10.1074/mcp.M113.031591. iBAQ: Schwanhäusser et al., Nature 2011,
  doi:10.1038/nature10098.
- Site localisation classes: Olsen et al., Cell 2006, doi:10.1016/j.cell.2006.09.026
  (class I site: localisation probability > 0.75).
- Multiplicity-expanded site intensities (``___1/___2/___3``): Tyanova et al., "The Perseus
  computational platform for comprehensive analysis of (prote)omics data", Nat Methods 2016,
  doi:10.1038/nmeth.3901.
- RPPA: TCGA reverse-phase protein arrays as distributed by the Broad GDAC Firehose
  (https://gdac.broadinstitute.org/, run stddata__2016_01_28) and TCPA (Li et al., Nat Methods
  2013, doi:10.1038/nmeth.2650).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from tumorboard import reference
from tumorboard.errors import InputError
from tumorboard.io._files import (
    GZIP_ERRORS,
    check_file,
    choose_sample,
    gzip_error,
    is_gzip,
    listing,
    numbered_lines,
)
from tumorboard.io.tables import LayerData, conform

__all__ = [
    "CLASS_I_LOCALIZATION_PROB",
    "read_maxquant_phosphosites",
    "read_maxquant_proteingroups",
    "read_phospho_table",
    "read_protein_table",
    "read_rppa",
]

#: Olsen et al. 2006 (doi:10.1016/j.cell.2006.09.026): a site is "class I" when its
#: localisation probability exceeds 0.75.
CLASS_I_LOCALIZATION_PROB = 0.75

#: Rule for generic tables with ``log2=None``: raw MS intensities are non-negative and
#: typically 1e5-1e10, so their log2 lies around 15-35; centred/normalised log2 values can be
#: negative. Any negative value or a maximum below this bound means "already log2".
LOG2_MAX_BOUND = 50.0

_HEADER_LINE = 1


# --------------------------------------------------------------------------- file helpers


def _first_line(path: Path, gz: bool) -> str:
    """The header line (newline stripped); raises on empty or unreadable files."""
    try:
        _, line = next(numbered_lines(path, gz=gz, errors="strict"), (0, None))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"file is not UTF-8 text ({exc.reason})",
            file=path,
            line=_HEADER_LINE,
            fix="export the table as UTF-8 text (tab- or comma-separated)",
        ) from exc
    if line is None:
        raise InputError("file is empty", file=path, fix="re-export or re-copy the file")
    if not line.strip():
        raise InputError(
            "first line is empty, expected the header line",
            file=path,
            line=_HEADER_LINE,
            fix="remove leading blank lines",
        )
    return line


def _read_csv(
    path: Path,
    *,
    gz: bool,
    sep: str,
    usecols: list[str] | list[int] | None = None,
    dtype: dict[str, type] | type | None = None,
) -> pd.DataFrame:
    """``pd.read_csv`` with every parser/IO failure turned into an :class:`InputError`.

    Blank lines are kept (then dropped) so that row ``i`` of the result is file line ``i + 2``.
    """
    try:
        df = pd.read_csv(
            path,
            sep=sep,
            usecols=usecols,
            dtype=dtype,
            compression="gzip" if gz else None,
            encoding="utf-8-sig",
            skip_blank_lines=False,
            low_memory=False,
        )
    except GZIP_ERRORS as exc:
        raise gzip_error(path, str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"file is not UTF-8 text ({exc.reason})",
            file=path,
            fix="export the table as UTF-8 text",
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError("file is empty", file=path) from exc
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise InputError(
            f"table cannot be parsed: {exc}",
            file=path,
            line=int(match.group(1)) if match else None,
            expected=f"every line with as many {'tab' if sep == chr(9) else repr(sep)}-separated "
            "fields as the header",
            fix="check the delimiter and that no field contains an unquoted delimiter",
        ) from exc
    except ValueError as exc:
        raise InputError(f"table cannot be read: {exc}", file=path) from exc
    blank = df.isna().all(axis=1)
    if blank.any():
        df = df.loc[~blank]
    return df


def _lines(df: pd.DataFrame) -> np.ndarray:
    """File line (1-based) of each row read by :func:`_read_csv` with one header line."""
    return df.index.to_numpy() + 2


def _numeric(series: pd.Series, *, path: Path, column: str, lines: np.ndarray) -> np.ndarray:
    """Column as float64; the first non-numeric cell raises with its line and column."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    values = pd.to_numeric(series, errors="coerce")
    bad = (values.isna() & series.notna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"value '{series.iloc[i]}' is not a number",
            file=path,
            line=int(lines[i]),
            column=column,
            expected="a number, or empty/NA/NaN for a missing value",
            fix="correct the value or leave the cell empty",
        )
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _log2(values: np.ndarray) -> np.ndarray:
    """log2 of intensities; 0 (MaxQuant's 'not quantified') and missing become NaN."""
    out = np.full(values.shape, np.nan)
    np.log2(values, out=out, where=values > 0)
    return out


def _no_negatives(values: np.ndarray, *, path: Path, column: str, lines: np.ndarray) -> None:
    negative = values < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise InputError(
            f"intensity {values[i]:g} is negative; raw intensities cannot be",
            file=path,
            line=int(lines[i]),
            column=column,
            expected="a non-negative intensity",
            fix="if the values are already log2, set `options: {log2: true}` for this file",
        )


def _first_of(series: pd.Series, sep: str = ";") -> pd.Series:
    """First element of a ``sep``-joined text column; empty text becomes missing."""
    first = series.astype("string").str.split(sep, n=1).str[0].str.strip()
    return first.mask(first == "")


def _flagged(df: pd.DataFrame, column: str | None) -> np.ndarray:
    """MaxQuant marks reverse hits, contaminants etc. with '+' in a flag column."""
    if column is None:
        return np.zeros(len(df), dtype=bool)
    return df[column].astype("string").str.strip().eq("+").fillna(False).to_numpy(dtype=bool)


def _require(header: list[str], columns: list[str], path: Path, what: str) -> None:
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {listing(missing)}",
            file=path,
            line=_HEADER_LINE,
            expected=f"the header of {what} with {listing(columns)}",
            fix=f"give the unmodified {what} as the tool wrote it, or choose the right `format:`",
        )


def _unknown_genes(genes: pd.Series) -> list[str]:
    symbols = reference.gene_symbols()
    present = genes.dropna().unique()
    return sorted(str(g) for g in present if g not in symbols)


# --------------------------------------------------------------------------- MaxQuant

_MQ_QUANTITIES = ("LFQ intensity", "Intensity", "iBAQ", "Reporter intensity corrected")
#: Column-name tails after a quantity prefix that are not sample names.
_MQ_NOT_SAMPLES = {"iBAQ": {"peptides"}}


def _maxquant_sample_columns(header: list[str], quantity: str) -> dict[str, str]:
    """Sample name -> column for '<quantity> <sample>' columns.

    The bare column (e.g. ``Intensity``) is the sum over samples and is not a sample. For
    ``Reporter intensity corrected`` the sample is '<channel>' or, with several experiments,
    '<channel> <experiment>' (the bare-channel columns are then sums over experiments).
    """
    prefix = quantity + " "
    found: dict[str, str] = {}
    for col in header:
        if col.startswith(prefix):
            name = col[len(prefix):].strip()
            if name and "___" not in name and name not in _MQ_NOT_SAMPLES.get(quantity, ()):
                found[name] = col
    if quantity == "Reporter intensity corrected" and any(" " in n for n in found):
        found = {n: c for n, c in found.items() if " " in n}
    return found


def _maxquant_quantities_present(header: list[str]) -> str:
    parts = []
    for q in _MQ_QUANTITIES:
        cols = _maxquant_sample_columns(header, q)
        if cols:
            parts.append(f"'{q} <sample>' for {len(cols)} sample(s) ({listing(cols)})")
    return "; ".join(parts) if parts else "none"


def _contaminant_column(header: list[str]) -> str | None:
    # MaxQuant >= 1.5 writes 'Potential contaminant'; older versions 'Contaminant'.
    for name in ("Potential contaminant", "Contaminant"):
        if name in header:
            return name
    return None


def _platform_for(quantity: str) -> str:
    if quantity.startswith("Reporter intensity"):
        return "MaxQuant TMT"
    return {"LFQ intensity": "MaxQuant LFQ", "Intensity": "MaxQuant intensity",
            "iBAQ": "MaxQuant iBAQ"}[quantity]


def _remove_flagged(
    df: pd.DataFrame, flags: list[tuple[str | None, str]], notes: list[str]
) -> pd.DataFrame:
    drop = np.zeros(len(df), dtype=bool)
    for column, label in flags:
        mask = _flagged(df, column)
        if mask.any():
            notes.append(f"{int(mask.sum()):,} {label} removed ('+' in '{column}')")
        drop |= mask
    return df.loc[~drop]


def read_maxquant_proteingroups(
    path: str | Path,
    *,
    sample: str | None = None,
    quantity: str = "LFQ intensity",
) -> LayerData:
    """Read one sample of a MaxQuant ``proteinGroups.txt`` into the ``proteome`` table.

    Follows the MaxQuant output-table documentation
    (https://cox-labs.github.io/coxdocs/output_tables.html; Cox & Mann 2008,
    doi:10.1038/nbt.1511; Tyanova et al. 2016, doi:10.1038/nprot.2016.136).

    - Protein groups marked '+' in ``Reverse`` (decoy hits), ``Potential contaminant``
      (``Contaminant`` before MaxQuant 1.5) or ``Only identified by site`` are removed, as
      MaxQuant/Perseus workflows do; each count is reported in ``notes``.
    - ``feature_id`` is the first accession of ``Majority protein IDs`` (``Protein IDs`` if the
      former is absent); where two groups share it, the whole group string is used.
    - ``gene`` is the first of the ';'-joined ``Gene names``; groups without a gene name keep
      their ``feature_id`` and have a missing gene.
    - ``intensity`` is the chosen quantity as written; ``log2_abundance`` is its log2, with
      MaxQuant's 0 ("not quantified") becoming NaN.

    Parameters
    ----------
    path
        ``proteinGroups.txt`` (tab-separated, optionally gzipped).
    sample
        Sample name as in the quantity columns (``LFQ intensity <sample>``); may be omitted
        when the file holds one sample.
    quantity
        Column prefix to read: ``'LFQ intensity'`` (MaxLFQ, Cox et al. 2014,
        doi:10.1074/mcp.M113.031591), ``'Intensity'``, ``'iBAQ'`` (Schwanhäusser et al. 2011,
        doi:10.1038/nature10098) or ``'Reporter intensity corrected'`` for TMT (samples named
        '<channel>' or '<channel> <experiment>'); ``'Reporter intensity corrected <channel>'``
        selects one channel whose samples are the experiments. SILAC ratio columns are not
        read.

    Raises
    ------
    InputError
        Empty or truncated file, missing identifier/gene columns, no '<quantity> <sample>'
        columns (the message lists the quantity columns the file has), unknown or ambiguous
        sample, non-numeric or negative intensities.
    """
    path = check_file(path)
    quantity = str(quantity).strip()
    if quantity not in _MQ_QUANTITIES[:3] and not quantity.startswith(_MQ_QUANTITIES[3]):
        raise InputError(
            f"unknown MaxQuant quantity '{quantity}'",
            file=path,
            expected="'LFQ intensity', 'Intensity', 'iBAQ' or 'Reporter intensity corrected'",
            fix="set `options: {quantity: ...}` for this file in case.yaml to one of these",
        )
    gz = is_gzip(path)
    header = _first_line(path, gz).split("\t")
    id_col = next((c for c in ("Majority protein IDs", "Protein IDs") if c in header), None)
    if id_col is None:
        _require(header, ["Majority protein IDs", "Gene names"], path, "MaxQuant proteinGroups.txt")
    _require(header, ["Gene names"], path, "MaxQuant proteinGroups.txt")

    columns = _maxquant_sample_columns(header, quantity)
    if not columns:
        wanted = f"'{quantity} {sample}'" if sample else f"'{quantity} <sample>'"
        raise InputError(
            f"MaxQuant table has no {wanted} intensity column(s); quantity columns present: "
            f"{_maxquant_quantities_present(header)}",
            file=path,
            line=_HEADER_LINE,
            expected=f"column(s) named {wanted}",
            fix="choose a quantity the file has with `options: {quantity: ...}` in case.yaml "
            "(e.g. 'Intensity' when MaxQuant ran without LFQ), or re-run MaxQuant with it",
        )
    samples = list(columns)
    chosen = choose_sample(samples, sample, file=path)
    qcol = columns[chosen]

    contaminant = _contaminant_column(header)
    site_only = "Only identified by site" if "Only identified by site" in header else None
    reverse = "Reverse" if "Reverse" in header else None
    flag_cols = [c for c in (reverse, contaminant, site_only) if c]
    text_cols = [id_col, "Gene names", *flag_cols]
    df = _read_csv(
        path, gz=gz, sep="\t", usecols=[*text_cols, qcol], dtype=dict.fromkeys(text_cols, str)
    )
    if df.empty:
        raise InputError("MaxQuant table has a header but no protein groups", file=path)

    notes: list[str] = []
    n_all = len(df)
    df = _remove_flagged(
        df,
        [(reverse, "reverse (decoy) hits"), (contaminant, "potential contaminants"),
         (site_only, "protein groups only identified by a modification site")],
        notes,
    )
    lines = _lines(df)
    intensity = _numeric(df[qcol], path=path, column=qcol, lines=lines)
    _no_negatives(intensity, path=path, column=qcol, lines=lines)

    missing_ids = df[id_col].isna().to_numpy()
    if missing_ids.any():
        raise InputError(
            "protein group without an identifier",
            file=path,
            line=int(lines[np.flatnonzero(missing_ids)[0]]),
            column=id_col,
            fix="give the unmodified MaxQuant output",
        )
    feature = _first_of(df[id_col])
    dup = feature.duplicated(keep=False).to_numpy()
    if dup.any():
        feature = feature.mask(dup, df[id_col].astype("string"))
        notes.append(f"{int(dup.sum()):,} protein groups share a leading accession; "
                     f"their feature_id is the whole '{id_col}' entry")
    gene = _first_of(df["Gene names"])
    no_gene = int(gene.isna().sum())
    if no_gene:
        notes.append(f"{no_gene:,} protein groups without a gene name (gene left empty, "
                     "feature_id kept)")
    log2 = _log2(intensity)
    not_quantified = int(np.isnan(log2).sum())
    notes.append(f"{len(df):,} of {n_all:,} protein groups kept; {not_quantified:,} not "
                 f"quantified in '{chosen}' (intensity 0 or missing, log2 left empty)")
    unknown = _unknown_genes(gene)
    if unknown:
        notes.append(f"{len(unknown):,} gene names not in GENCODE: {listing(unknown, 8)}")

    table = pd.DataFrame({
        "gene": gene.to_numpy(),
        "feature_id": feature.to_numpy(),
        "log2_abundance": log2,
        "intensity": intensity,
    })
    return LayerData(
        tables={"proteome": conform(table, "proteome", source=str(path))},
        samples_in_file=samples,
        tool="MaxQuant",
        platform=_platform_for(quantity),
        notes=notes,
    )


_SITE_INTENSITY = re.compile(r"^Intensity (?P<sample>.+?)(?:___(?P<mult>[123]))?$")


def _phosphosite_sample_columns(header: list[str]) -> dict[str, dict[str, str]]:
    """Sample -> {'': plain column, '1'/'2'/'3': multiplicity columns}."""
    found: dict[str, dict[str, str]] = {}
    for col in header:
        m = _SITE_INTENSITY.match(col)
        if m:
            found.setdefault(m.group("sample").strip(), {})[m.group("mult") or ""] = col
    return found


def read_maxquant_phosphosites(
    path: str | Path,
    *,
    sample: str | None = None,
    min_localization_prob: float = 0.0,
) -> LayerData:
    """Read one sample of a MaxQuant ``Phospho (STY)Sites.txt`` into ``phosphoproteome``.

    Columns follow the MaxQuant output-table documentation
    (https://cox-labs.github.io/coxdocs/output_tables.html; Tyanova et al. 2016,
    doi:10.1038/nprot.2016.136).

    - Sites marked '+' in ``Reverse`` or ``Potential contaminant`` (``Contaminant``) are
      removed and counted in ``notes``.
    - ``site`` = ``Amino acid`` + ``Position`` (position in the leading protein, UniProt
      numbering; note EGFR's legacy mature-protein names differ: pY1068 is Y1092 here).
    - ``gene`` = first of ``Gene names``; ``feature_id`` = ``GENE_Y1248`` (the leading
      ``Protein`` accession instead of the gene when there is none; where two sites get the
      same id, the accession is appended).
    - Intensity: ``Intensity <sample>___1`` when the file has the multiplicity-expanded
      columns, else ``Intensity <sample>``. MaxQuant sums into the plain column every
      peptide form carrying the site, including doubly and triply phosphorylated peptides,
      which are also counted at their other sites; ``___1`` holds only the peptides
      phosphorylated on this one site, so it measures this site alone and is the value the
      Perseus "expand site table" workflow analyses (Tyanova et al., Nat Methods 2016,
      doi:10.1038/nmeth.3901).
    - ``localization_prob`` = ``Localization prob`` (best over all samples). Class I sites
      have probability > 0.75 (Olsen et al., Cell 2006, doi:10.1016/j.cell.2006.09.026);
      their number is noted. All sites are kept unless ``min_localization_prob`` is set.

    Parameters
    ----------
    path
        ``Phospho (STY)Sites.txt`` (tab-separated, optionally gzipped).
    sample
        Sample name as in ``Intensity <sample>``; may be omitted for a one-sample file.
    min_localization_prob
        Drop sites whose localisation probability is below this (0.75 keeps class I only).

    Raises
    ------
    InputError
        Empty/truncated file, missing columns, no ``Intensity <sample>`` columns, unknown or
        ambiguous sample, non-numeric values, probabilities outside [0, 1], a threshold
        outside [0, 1].
    """
    path = check_file(path)
    try:
        threshold = float(min_localization_prob)
    except (TypeError, ValueError):
        threshold = float("nan")
    if not 0.0 <= threshold <= 1.0:
        raise InputError(
            f"min_localization_prob {min_localization_prob!r} is not a probability",
            file=path,
            expected="a number between 0 and 1 (0.75 keeps class I sites only)",
            fix="correct `options: {min_localization_prob: ...}` in case.yaml",
        )
    gz = is_gzip(path)
    header = _first_line(path, gz).split("\t")
    what = "MaxQuant Phospho (STY)Sites.txt"
    _require(header, ["Gene names", "Amino acid", "Position", "Localization prob"], path, what)
    protein_col = next((c for c in ("Protein", "Leading proteins", "Proteins") if c in header),
                       None)
    if protein_col is None:
        _require(header, ["Protein"], path, what)

    per_sample = _phosphosite_sample_columns(header)
    if not per_sample:
        raise InputError(
            f"{what} has no 'Intensity <sample>' columns",
            file=path,
            line=_HEADER_LINE,
            expected="columns 'Intensity <sample>' or 'Intensity <sample>___1'",
            fix="give the unmodified MaxQuant output of a run with phospho (STY) as variable "
            "modification",
        )
    samples = list(per_sample)
    chosen = choose_sample(samples, sample, file=path)
    qcol = per_sample[chosen].get("1") or per_sample[chosen].get("")
    if qcol is None:  # only ___2/___3 columns: not a file MaxQuant writes
        _require(header, [f"Intensity {chosen}___1"], path, what)

    contaminant = _contaminant_column(header)
    reverse = "Reverse" if "Reverse" in header else None
    text_cols = [c for c in (protein_col, "Gene names", "Amino acid", reverse, contaminant) if c]
    df = _read_csv(
        path,
        gz=gz,
        sep="\t",
        usecols=[*text_cols, "Position", "Localization prob", qcol],
        dtype=dict.fromkeys(text_cols, str),
    )
    if df.empty:
        raise InputError(f"{what} has a header but no sites", file=path)

    notes: list[str] = []
    n_all = len(df)
    df = _remove_flagged(
        df, [(reverse, "reverse (decoy) sites"), (contaminant, "contaminant sites")], notes
    )
    lines = _lines(df)
    position = _numeric(df["Position"], path=path, column="Position", lines=lines)
    bad_pos = ~(np.isfinite(position) & (position >= 1) & (position == np.round(position)))
    if bad_pos.any():
        i = int(np.flatnonzero(bad_pos)[0])
        raise InputError(
            f"site position '{df['Position'].iloc[i]}' is not a positive whole number",
            file=path, line=int(lines[i]), column="Position",
            expected="the residue position in the leading protein, e.g. 1248",
        )
    residue = df["Amino acid"].astype("string").str.strip()
    bad_aa = ~residue.str.fullmatch(r"[A-Z]").fillna(False).to_numpy(dtype=bool)
    if bad_aa.any():
        i = int(np.flatnonzero(bad_aa)[0])
        raise InputError(
            f"amino acid '{df['Amino acid'].iloc[i]}' is not a one-letter residue",
            file=path, line=int(lines[i]), column="Amino acid", expected="S, T or Y",
        )
    prob = _numeric(df["Localization prob"], path=path, column="Localization prob", lines=lines)
    bad_prob = (prob < 0) | (prob > 1)
    if bad_prob.any():
        i = int(np.flatnonzero(bad_prob)[0])
        raise InputError(
            f"localization probability {prob[i]:g} is outside [0, 1]",
            file=path, line=int(lines[i]), column="Localization prob",
        )
    intensity = _numeric(df[qcol], path=path, column=qcol, lines=lines)
    _no_negatives(intensity, path=path, column=qcol, lines=lines)

    site = residue + pd.Series(position.astype("int64"), index=df.index).astype("string")
    gene = _first_of(df["Gene names"])
    protein = _first_of(df[protein_col])
    feature = gene.fillna(protein).fillna("") + "_" + site
    dup = feature.duplicated(keep=False).to_numpy()
    if dup.any():
        feature = feature.mask(dup, feature + "_" + protein.fillna(""))
        notes.append(f"{int(dup.sum()):,} sites share gene and position (isoforms); their "
                     "feature_id carries the leading protein accession")

    if qcol.endswith("___1"):
        notes.append(f"intensities from '{qcol}' (singly phosphorylated peptides)")
    else:
        notes.append(f"intensities from '{qcol}' (no multiplicity-expanded ___1 columns; "
                     "includes multiply phosphorylated peptides)")
    keep = np.ones(len(df), dtype=bool)
    if threshold > 0:
        keep = prob >= threshold
        notes.append(f"{int((~keep).sum()):,} sites with localization prob < {threshold:g} "
                     "removed")
    class_i = int((prob[keep] > CLASS_I_LOCALIZATION_PROB).sum())
    notes.append(f"{int(keep.sum()):,} of {n_all:,} sites kept; {class_i:,} are class I "
                 "(localization prob > 0.75, Olsen et al. 2006)")
    no_gene = int(gene[keep].isna().sum())
    if no_gene:
        notes.append(f"{no_gene:,} sites without a gene name (feature_id uses the protein)")

    table = pd.DataFrame({
        "gene": gene.to_numpy()[keep],
        "site": site.to_numpy()[keep],
        "feature_id": feature.to_numpy()[keep],
        "log2_abundance": _log2(intensity)[keep],
        "intensity": intensity[keep],
        "localization_prob": prob[keep],
    })
    return LayerData(
        tables={"phosphoproteome": conform(table, "phosphoproteome", source=str(path))},
        samples_in_file=samples,
        tool="MaxQuant",
        platform="MaxQuant",
        notes=notes,
    )


# --------------------------------------------------------------------------- RPPA

#: Antibody annotations in the TCGA/Firehose 2016 RPPA files whose gene symbol is outdated or
#: names a different gene than the antibody's target. Renames from HGNC previous-symbol
#: records (https://www.genenames.org); target corrections from the antibodies' documented
#: targets in the TCPA antibody list (Li et al. 2013, doi:10.1038/nmeth.2650). The original
#: annotation stays in ``feature_id``.
RPPA_GENE_CORRECTIONS: dict[str, str] = {
    "ARHI|ARHI": "DIRAS3",  # HGNC rename
    "CDC2|CDK1": "CDK1",  # HGNC rename
    "MRE11A|Mre11": "MRE11",  # HGNC rename
    "SCD1|SCD1": "SCD",  # SCD1 is an alias of SCD
    "SFRS1|SF2": "SRSF1",  # HGNC rename
    "C12ORF5|TIGAR": "TIGAR",  # HGNC rename of C12orf5
    "FRAP1|mTOR": "MTOR",  # HGNC rename
    "FRAP1|mTOR_pS2448": "MTOR",
    "PKC|PKC-pan_BetaII_pS660": "PRKCB",  # site named after PKC beta II
    "CTNNB1|alpha-Catenin": "CTNNA1",  # alpha-catenin is CTNNA1
    "CTNNB2|beta-Catenin": "CTNNB1",  # beta-catenin is CTNNB1; CTNNB2 does not exist
    "TTF1|TTF1": "NKX2-1",  # thyroid transcription factor 1, not TTF1 (termination factor)
    "NFKB1|NF-kB-p65_pS536": "RELA",  # p65 is RELA
    "PDK1|PDK1": "PDPK1",  # 3-phosphoinositide-dependent kinase 1, not pyruvate DH kinase
    "PDK1|PDK1_pS241": "PDPK1",
}

#: Phospho-specific antibody names end in the site(s): '_pY1248', '_pT202_Y204', '_pT183_pY185'.
_RPPA_PHOSPHO = re.compile(r"_(p[STY]\d+(?:_p?[STY]\d+)*)$")


def _barcode_key(name: str) -> str:
    # Firehose matrices write TCGA barcodes with dots (R's make.names); users write dashes.
    return name.strip().replace(".", "-").upper()


def read_rppa(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read one sample of a TCGA-style RPPA matrix into ``proteome`` and ``phosphoproteome``.

    The format is the Broad GDAC Firehose RPPA analyte matrix (run stddata__2016_01_28,
    https://gdac.broadinstitute.org/; TCPA, Li et al. 2013, doi:10.1038/nmeth.2650): first
    column ``GENE|ANTIBODY`` (e.g. ``ERBB2|HER2_pY1248``), one column per sample (TCGA
    barcodes, often with dots), values normalised log2 expression. CSV or TSV, optionally
    gzipped.

    - Antibodies whose name ends in a phosphosite (``_pY1248``, ``_pT202_Y204``,
      ``_pT183_pY185``) go to ``phosphoproteome`` with ``site`` 'Y1248' / 'T202_Y204' /
      'T183_Y185' (sites as the antibody names them); all others (total protein, cleaved,
      acetylated forms) go to ``proteome``.
    - One row per antibody. For antibodies listing several genes ('AKT1 AKT2 AKT3|Akt_pS473')
      ``gene`` is the first listed (the antibody's named target) and ``feature_id`` keeps the
      whole annotation, so the measurement is not counted once per paralogue.
    - Outdated or wrong symbols of the Firehose annotation are corrected via
      :data:`RPPA_GENE_CORRECTIONS` (noted); ``feature_id`` keeps the file's annotation with
      whitespace around gene names removed.
    - ``log2_abundance`` = the value; ``intensity`` and ``localization_prob`` are NaN.
    - ``sample`` may be given with dots or dashes (``TCGA.3B.A9HI`` == ``TCGA-3B-A9HI``).

    Raises
    ------
    InputError
        Empty/truncated file, no sample columns, a first-column entry that is not
        'GENE|ANTIBODY', duplicate antibodies, unknown or ambiguous sample, non-numeric values.
    """
    path = check_file(path)
    gz = is_gzip(path)
    first = _first_line(path, gz)
    sep = "\t" if "\t" in first else ","
    header = [c.strip() for c in first.split(sep)]
    if len(header) < 2:
        raise InputError(
            "RPPA matrix has no sample columns",
            file=path,
            line=_HEADER_LINE,
            expected="'attrib_name' (GENE|ANTIBODY) then one column per sample, comma- or "
            "tab-separated",
        )
    id_col, samples = header[0], header[1:]
    chosen = choose_sample(samples, sample, file=path, key=_barcode_key)
    position = header.index(chosen)
    df = _read_csv(path, gz=gz, sep=sep, usecols=[0, position], dtype=str)
    df.columns = [id_col, chosen]
    if df.empty:
        raise InputError("RPPA matrix has a header but no antibodies", file=path)
    lines = _lines(df)

    attrib = df[id_col].astype("string").str.strip()
    parts = attrib.str.split("|", n=1, regex=False)
    ok = (parts.str.len() == 2).fillna(False).to_numpy(dtype=bool)
    genes_part = parts.str[0].str.strip()
    antibody = parts.str[1].str.strip()
    ok = ok & (genes_part.str.len() > 0).fillna(False).to_numpy(dtype=bool)
    ok = ok & (antibody.str.len() > 0).fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"antibody entry '{df[id_col].iloc[i]}' is not 'GENE|ANTIBODY'",
            file=path, line=int(lines[i]), column=id_col,
            expected="e.g. 'ERBB2|HER2_pY1248'",
        )
    gene_list = genes_part.str.split()
    feature = gene_list.str.join(" ") + "|" + antibody
    dup = feature.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"antibody '{feature.iloc[i]}' appears twice",
            file=path, line=int(lines[i]), column=id_col,
            fix="keep one row per antibody",
        )
    gene = gene_list.str[0]
    corrected = feature.map(RPPA_GENE_CORRECTIONS)
    has_fix = corrected.notna().to_numpy()
    gene = gene.mask(has_fix, corrected)
    values = _numeric(df[chosen], path=path, column=chosen, lines=lines)

    site = antibody.str.extract(_RPPA_PHOSPHO, expand=False).str.replace("p", "", regex=False)
    is_phospho = site.notna().to_numpy()

    notes = [f"{int((~is_phospho).sum()):,} total-protein antibodies to proteome, "
             f"{int(is_phospho.sum()):,} phospho-specific antibodies to phosphoproteome"]
    multi = (gene_list.str.len() > 1).to_numpy()
    if multi.any():
        notes.append(f"{int(multi.sum()):,} antibodies name several genes; gene is the first "
                     "listed")
    if has_fix.any():
        fixes = sorted({f"{a.split('|')[0]}->{g}" for a, g in
                        zip(feature[has_fix], gene[has_fix], strict=True)})
        notes.append(f"{int(has_fix.sum()):,} outdated or wrong gene symbols of the RPPA "
                     f"annotation corrected: {', '.join(fixes)}")
    unknown = _unknown_genes(gene)
    if unknown:
        notes.append(f"{len(unknown):,} RPPA gene symbols not in GENCODE: {listing(unknown, 8)}")
    n_missing = int(np.isnan(values).sum())
    if n_missing:
        notes.append(f"{n_missing:,} antibodies without a value for '{chosen}'")

    nan = np.full(len(df), np.nan)
    proteome = pd.DataFrame({
        "gene": gene.to_numpy(),
        "feature_id": feature.to_numpy(),
        "log2_abundance": values,
        "intensity": nan,
    }).loc[~is_phospho].reset_index(drop=True)
    phospho = pd.DataFrame({
        "gene": gene.to_numpy(),
        "site": site.to_numpy(),
        "feature_id": feature.to_numpy(),
        "log2_abundance": values,
        "intensity": nan,
        "localization_prob": nan,
    }).loc[is_phospho].reset_index(drop=True)
    return LayerData(
        tables={
            "proteome": conform(proteome, "proteome", source=str(path)),
            "phosphoproteome": conform(phospho, "phosphoproteome", source=str(path)),
        },
        samples_in_file=samples,
        platform="RPPA",
        notes=notes,
    )


# --------------------------------------------------------------------------- generic tables

_GENE_NAMES = ("gene", "gene_name", "gene_symbol", "symbol", "hgnc_symbol", "genes",
               "gene names")
_PROTEIN_NAMES = ("protein", "protein_id", "protein_ids", "accession", "uniprot",
                  "uniprot_id", "majority protein ids", "protein group")
_FEATURE_NAMES = ("feature_id", "site_id", "phosphosite_id", "psite_id")
_SITE_NAMES = ("site", "phosphosite", "psite", "residue_position")
_PROB_NAMES = ("localization_prob", "localization prob", "localisation_prob",
               "localization_probability")
_SAMPLE_NAMES = ("sample", "sample_id", "sample_name")
_VALUE_NAMES = ("value", "abundance", "intensity", "log2_abundance", "log2_intensity")

#: 'Y1248', 'pY1248', several sites joined by '_' ('T202_Y204').
_SITE = re.compile(r"p?[A-Z]\d+(?:_p?[A-Z]\d+)*")
_FEATURE_SITE = re.compile(r"^(?P<gene>.+)_(?P<site>p?[A-Z]\d+(?:_p?[A-Z]\d+)*)$")


def _find(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in header}
    return next((lowered[n] for n in names if n in lowered), None)


def _read_generic(path: Path) -> tuple[pd.DataFrame, list[str], bool]:
    """Whole table (text cells as read) and whether rows map to file lines."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise InputError(f"file is not a readable Parquet table ({exc})", file=path,
                             fix="re-export the table") from exc
        df.columns = [str(c) for c in df.columns]
        if df.empty:
            raise InputError("table has no rows", file=path)
        return df, list(df.columns), False
    gz = is_gzip(path)
    first = _first_line(path, gz)
    sep = "," if name.endswith((".csv", ".csv.gz")) or "\t" not in first else "\t"
    header = [c.strip() for c in first.split(sep)]
    text_cols = [c for c in header if c.lower() in
                 (*_GENE_NAMES, *_PROTEIN_NAMES, *_FEATURE_NAMES, *_SITE_NAMES, *_SAMPLE_NAMES)]
    df = _read_csv(path, gz=gz, sep=sep, dtype=dict.fromkeys(text_cols, str))
    df.columns = header
    if df.empty:
        raise InputError("table has a header but no rows", file=path)
    return df, header, True


def _normalise_sites(site: pd.Series, *, path: Path, column: str, lines: np.ndarray) -> pd.Series:
    text = site.astype("string").str.strip()
    ok = text.str.fullmatch(_SITE.pattern).fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"site '{site.iloc[i]}' is not a residue and position",
            file=path, line=int(lines[i]), column=column,
            expected="one-letter residue and position, e.g. 'Y1248' or 'pY1248'; several "
            "sites joined by '_' ('T202_Y204')",
        )
    return text.str.replace(r"(^|_)p(?=[A-Z]\d)", r"\1", regex=True)


def _read_abundance_table(
    path: str | Path, *, sample: str | None, log2: bool | None, phospho: bool
) -> LayerData:
    path = check_file(path)
    table_name = "phosphoproteome" if phospho else "proteome"
    kind = "phosphosite table" if phospho else "protein table"
    df, header, has_lines = _read_generic(path)
    # Parquet has no lines: errors then name the 1-based row instead.
    lines = _lines(df) if has_lines else np.arange(1, len(df) + 1)
    header_line = _HEADER_LINE if has_lines else None

    gene_col = _find(header, _GENE_NAMES)
    protein_col = _find(header, _PROTEIN_NAMES)
    feature_col = _find(header, _FEATURE_NAMES)
    site_col = _find(header, _SITE_NAMES)
    prob_col = _find(header, _PROB_NAMES)
    sample_col = _find(header, _SAMPLE_NAMES)
    value_col = _find(header, _VALUE_NAMES)
    layouts = ("then 'sample' and 'value' columns (long) or one numeric column per sample "
               "(wide)")
    if phospho and not ((gene_col and site_col) or feature_col):
        raise InputError(
            f"{kind} lacks gene and site columns",
            file=path, line=header_line,
            expected="columns 'gene' and 'site' (e.g. ERBB2, Y1248), or 'feature_id' like "
            f"'ERBB2_Y1248'; {layouts}",
        )
    if not phospho and not (gene_col or protein_col):
        raise InputError(
            f"{kind} lacks a gene or protein column",
            file=path, line=header_line,
            expected=f"a column 'gene' (HGNC symbol) and/or 'protein' (accession); {layouts}",
        )
    if sample_col and not value_col:
        raise InputError(
            f"{kind} has a '{sample_col}' column but no value column",
            file=path, line=header_line,
            expected=f"a long table with a column named one of {listing(list(_VALUE_NAMES))}",
        )
    id_cols = [c for c in (gene_col, protein_col, feature_col, site_col, prob_col) if c]
    notes: list[str] = []

    if sample_col:  # long: one row per feature and sample
        sample_values = df[sample_col].astype("string").str.strip()
        samples = [str(s) for s in pd.unique(sample_values.dropna())]
        if not samples:
            raise InputError(f"{kind} has no sample names", file=path, column=sample_col)
        chosen = choose_sample(samples, sample, file=path)
        all_values = _numeric(df[value_col], path=path, column=value_col, lines=lines)
        rows = (sample_values == chosen).fillna(False).to_numpy(dtype=bool)
        sub, sub_lines, values = df.loc[rows], lines[rows], all_values[rows]
        value_name = value_col
    else:  # wide: identifier columns then one numeric column per sample
        value_cols = [c for c in header if c not in id_cols]
        if not value_cols:
            raise InputError(
                f"{kind} has no sample columns",
                file=path, line=header_line,
                expected="one numeric column per sample after the identifier columns, or "
                "long format with 'sample' and 'value' columns",
            )
        if value_col and len(value_cols) == 1:  # single-sample table: gene, value
            samples, chosen = [], value_col
        else:
            samples = value_cols
            chosen = choose_sample(samples, sample, file=path)
        values = _numeric(df[chosen], path=path, column=chosen, lines=lines)
        if log2 is None:  # the rule looks at every sample, so all must be numbers
            all_values = np.concatenate(
                [_numeric(df[c], path=path, column=c, lines=lines) for c in value_cols]
            )
        else:
            all_values = values
        sub, sub_lines, value_name = df, lines, chosen

    if log2 is None:
        finite = all_values[np.isfinite(all_values)]
        negative = bool((finite < 0).any())
        top = float(finite.max()) if finite.size else float("nan")
        log2 = negative or finite.size == 0 or top < LOG2_MAX_BOUND
        reason = ("negative values present" if negative else
                  f"maximum {top:g} {'<' if log2 else '>='} {LOG2_MAX_BOUND:g}")
        notes.append(f"values read as {'log2' if log2 else 'raw intensities'} "
                     f"(auto-detected: {reason}; set `options: {{log2: ...}}` to override)")
    if log2:
        log2_values, intensity = values, np.full(len(values), np.nan)
    else:
        _no_negatives(values, path=path, column=value_name, lines=sub_lines)
        log2_values, intensity = _log2(values), values

    if gene_col:
        gene = _first_of(sub[gene_col])
    else:
        gene = pd.Series(pd.NA, index=sub.index, dtype="string")
    protein = _first_of(sub[protein_col]) if protein_col else None
    if phospho:
        if site_col:
            site = _normalise_sites(sub[site_col], path=path, column=site_col, lines=sub_lines)
        else:
            parsed = sub[feature_col].astype("string").str.strip().str.extract(_FEATURE_SITE)
            bad = parsed["site"].isna().to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"feature id '{sub[feature_col].iloc[i]}' is not 'GENE_SITE'",
                    file=path, line=int(sub_lines[i]), column=feature_col,
                    expected="e.g. 'ERBB2_Y1248' (or give 'gene' and 'site' columns)",
                )
            site = _normalise_sites(parsed["site"], path=path, column=feature_col,
                                    lines=sub_lines)
            if not gene_col:
                gene = parsed["gene"].astype("string")
        if feature_col:
            feature = sub[feature_col].astype("string").str.strip()
        else:
            named = gene if protein is None else gene.fillna(protein)
            feature = named + "_" + site
        if prob_col:
            prob = _numeric(sub[prob_col], path=path, column=prob_col, lines=sub_lines)
            bad_prob = (prob < 0) | (prob > 1)
            if bad_prob.any():
                i = int(np.flatnonzero(bad_prob)[0])
                raise InputError(
                    f"localization probability {prob[i]:g} is outside [0, 1]",
                    file=path, line=int(sub_lines[i]), column=prob_col,
                )
        else:
            prob = np.full(len(sub), np.nan)
    else:
        feature = sub[protein_col].astype("string").str.strip() if protein_col else gene
    missing_id = feature.isna().to_numpy()
    if missing_id.any():
        i = int(np.flatnonzero(missing_id)[0])
        raise InputError(
            "row without a feature identifier",
            file=path, line=int(sub_lines[i]),
            column=feature_col or protein_col or gene_col,
            fix="fill in the gene/protein (and site) of every row",
        )
    dup = feature.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"feature '{feature.iloc[i]}' appears twice for sample '{chosen}'",
            file=path, line=int(sub_lines[i]),
            fix="keep one row per feature and sample (aggregate duplicates before import)",
        )
    unknown = _unknown_genes(gene)
    if unknown:
        notes.append(f"{len(unknown):,} gene names not in GENCODE: {listing(unknown, 8)}")

    columns: dict[str, object] = {
        "gene": gene.to_numpy(),
        "feature_id": feature.to_numpy(),
        "log2_abundance": log2_values,
        "intensity": intensity,
    }
    if phospho:
        columns |= {"site": site.to_numpy(), "localization_prob": prob}
    table = pd.DataFrame(columns)
    return LayerData(
        tables={table_name: conform(table, table_name, source=str(path))},
        samples_in_file=samples,
        notes=notes,
    )


def read_protein_table(
    path: str | Path,
    *,
    sample: str | None = None,
    log2: bool | None = None,
) -> LayerData:
    """Read one sample of a generic protein abundance table into ``proteome``.

    Two layouts (TSV, CSV or Parquet; column names case-insensitive):

    - long: ``gene`` and/or ``protein``, ``sample``, ``value``;
    - wide: ``gene`` and/or ``protein``, then one numeric column per sample.

    ``feature_id`` is the protein column if present, else the gene. Values are raw
    intensities or already log2: with ``log2=None`` the table is taken as log2 when any value
    (over all samples) is negative or its maximum is below :data:`LOG2_MAX_BOUND` (50),
    because raw MS intensities are non-negative and far larger (log2 of 1e5-1e10 is 17-33).
    Raw intensities fill ``intensity`` and their log2 (0 -> NaN) ``log2_abundance``; log2
    input fills ``log2_abundance`` only.

    Raises
    ------
    InputError
        Empty/truncated file, no gene/protein column, no sample column, unknown or ambiguous
        sample, non-numeric values, negative raw intensities, duplicate features.
    """
    return _read_abundance_table(path, sample=sample, log2=log2, phospho=False)


def read_phospho_table(
    path: str | Path,
    *,
    sample: str | None = None,
    log2: bool | None = None,
) -> LayerData:
    """Read one sample of a generic phosphosite table into ``phosphoproteome``.

    Layouts as :func:`read_protein_table`, with sites given as ``gene`` + ``site`` columns
    (``Y1248`` or ``pY1248``; several sites of one peptide joined by '_', e.g. ``T202_Y204``)
    or as a ``feature_id`` column like ``ERBB2_Y1248``; an optional ``localization_prob``
    column is kept. ``feature_id`` is the file's own when present, else ``GENE_SITE``. The
    log2 auto-detection rule is that of :func:`read_protein_table`.

    Raises
    ------
    InputError
        As :func:`read_protein_table`, and for malformed sites.
    """
    return _read_abundance_table(path, sample=sample, log2=log2, phospho=True)

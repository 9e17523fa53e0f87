"""Reader for DNA methylation beta values, array platform detection and probe filter lists.

A beta value is the methylated fraction at one CpG, ``beta = M / (M + U + offset)`` of the
methylated (M) and unmethylated (U) probe intensities, so it lies in [0, 1]; the M-value is
``log2(M / U)``, and ``beta = 2^M / (2^M + 1)`` converts back (Du et al., BMC Bioinformatics
2010, doi:10.1186/1471-2105-11-587).

Probe identifiers are Illumina's: ``cg`` + 8 digits (CpG sites), ``ch.<chrom>.<pos><F|R>``
(non-CpG sites), ``rs`` + digits (SNP probes) and, on EPIC v2, ``nv-GRCh38-...`` (variant
probes) (Illumina knowledge article 5501 "What are the ch probes in the MethylationEPIC Array
manifest?"). The Infinium MethylationEPIC v2.0 manifest appends a suffix to every probe name
(``IlmnID``), e.g. ``cg00000029_TC21``: T/B (top/bottom strand), C/O (converted/opposite),
1/2 (Infinium I/II design) and a replicate number, because some CpGs are measured by several
probes (Peters et al., BMC Genomics 2024, doi:10.1186/s12864-024-10027-5; the suffix layout as
decoded by SeSAMe's ``probeID_designType``, Zhou et al., Nucleic Acids Res 2018,
doi:10.1093/nar/gky691). The reader strips the suffix to the legacy id, so that EPIC v2 data
line up with 450k/EPIC reference cohorts, and averages replicate probes of one CpG.

The probe filter lists shipped in ``tumorboard/data/methylation/`` are those of the DKFZ
Heidelberg classifiers (Capper et al., Nature 2018, doi:10.1038/nature26000): probes not on
the EPIC array (32,260), on X/Y (11,551), SNP-affected (7,998) and mapping ambiguously
(3,965); see that folder's README for provenance.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tumorboard.errors import InputError
from tumorboard.io._files import listing, plural, read_text
from tumorboard.io._tabular import (
    MISSING_CELLS,
    MatrixFile,
    TextTable,
    column_cells,
    find_column,
    locate_header,
    require_rows,
    split_fields,
)
from tumorboard.io.tables import LayerData, conform

#: EPIC v2 IlmnID suffix: strand T/B, C/O, design 1/2, replicate number.
_EPICV2_SUFFIX = r"_[TB][CO][12]\d+$"
_PROBE_ID = re.compile(
    r"^(?:cg\d+|ch\.(?:\d{1,2}|X|Y)\.\d+[FR]?|rs\d+|nv-[A-Za-z0-9.+-]+)"
    r"(?:_[TB][CO][12]\d+)?$"
)

#: Probes on the Infinium HumanMethylation450 BeadChip: the rows of Illumina's
#: HumanMethylation450 v1.2 manifest (482,421 CpG + 3,091 non-CpG + 65 SNP probes).
HM450_PROBES = 485_577

#: name -> (file in tumorboard/data/methylation, what the list holds)
PROBE_FILTERS: dict[str, tuple[str, str]] = {
    "not_on_epic": ("epicV1B2_32260probes.vh20160325.txt",
                    "450k probes absent from the EPIC v1 array (32,260)"),
    "xy": ("xy_11551probes.vh20151030.txt", "probes on chromosomes X and Y (11,551)"),
    "snp": ("snp_7998probes.vh20151030.txt",
            "probes affected by common SNPs (7,998)"),
    "ambiguous": ("amb_3965probes.vh20151030.txt",
                  "probes not mapping uniquely to the genome (3,965)"),
}
_FILTER_ALIASES = {"amb": "ambiguous", "epicv1b2": "not_on_epic", "450k_only": "not_on_epic"}


@cache
def probe_filter(name: str) -> frozenset[str]:
    """One of the DKFZ classifier probe exclusion lists, as a set of probe ids.

    Names: ``not_on_epic`` (450k probes missing from EPIC v1), ``xy``, ``snp``,
    ``ambiguous`` (aliases ``amb``, ``epicV1B2``, ``450k_only``). Lists from Capper et al.,
    Nature 2018, doi:10.1038/nature26000 (files as distributed with the Heidelberg
    classifier code; provenance in ``tumorboard/data/methylation/README.md``).

    Raises
    ------
    ValueError
        For an unknown list name.
    """
    key = _FILTER_ALIASES.get(name.lower(), name.lower())
    if key not in PROBE_FILTERS:
        raise ValueError(f"unknown probe filter '{name}'; one of {', '.join(PROBE_FILTERS)}")
    filename = PROBE_FILTERS[key][0]
    text = (resources.files("tumorboard.data") / "methylation" / filename).read_text(
        encoding="ascii")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _as_arrow(values: Iterable[str]) -> pa.Array:
    """Probe ids as a pyarrow string array (no copy for pyarrow-backed pandas strings)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    if isinstance(values, pd.Series | pd.Index):
        return pa.array(values.astype("str"), type=pa.string(), from_pandas=True)
    return pa.array(list(values), type=pa.string(), from_pandas=True)


@cache
def _not_on_epic() -> pa.Array:
    return pa.array(sorted(probe_filter("not_on_epic")), type=pa.string())


def detect_platform(probe_ids: Iterable[str]) -> str:
    """Tell the Illumina methylation array from the probe ids of a beta matrix.

    Rule, in order:

    1. ``'EPICv2'`` if at least half the ids carry the EPIC v2 IlmnID suffix
       (``cg00000029_TC21``); the v2 manifest names every probe that way.
    2. The 32,260 probes of the 450k array that EPIC v1 dropped (``probe_filter
       ('not_on_epic')``) are 6.6 % of a 450k file and absent from EPIC. If at least 10 of
       them are present and they make up at least 1 % of the ids: ``'450k'``, unless the file
       has more ids than the 450k array holds (485,577), then ``'unknown (mixed)'`` (a union
       of 450k and EPIC probes).
    3. More than 485,577 ids without those probes: ``'EPIC'``.
    4. Otherwise ``'unknown (sparse)'``: a subset without 450k-only probes fits EPIC, a 450k
       file filtered to the EPIC overlap, or a targeted panel alike.

    Limits: no full manifests are shipped, so EPIC-only probes are not checked; an EPIC v2
    matrix whose suffixes were already removed (e.g. SeSAMe ``betasCollapseToPfx``) reads as
    ``'EPIC'``; small or heavily filtered files are ``'unknown (sparse)'``.
    """
    ids = pc.unique(_as_arrow(probe_ids).drop_null())
    n = len(ids)
    if n == 0:
        return "unknown (sparse)"
    suffixed = pc.match_substring_regex(ids, _EPICV2_SUFFIX)
    if pc.sum(suffixed).as_py() * 2 >= n:
        return "EPICv2"
    legacy = pc.replace_substring_regex(ids, _EPICV2_SUFFIX, "")
    n_450k_only = pc.sum(pc.is_in(legacy, value_set=_not_on_epic())).as_py() or 0
    if n_450k_only >= 10 and n_450k_only >= 0.01 * n:
        return "unknown (mixed)" if n > HM450_PROBES else "450k"
    if n > HM450_PROBES:
        return "EPIC"
    return "unknown (sparse)"


_DETECTION_COLUMN = re.compile(r"detection[ ._]?p[ ._]?val|\.?pval$|^p[ ._]?value", re.I)
_GENOMESTUDIO_BETA = ".AVG_Beta"


def _beta_fix(values: np.ndarray) -> str:
    """How to fix out-of-range betas, from what the values look like."""
    finite = values[np.isfinite(values)]
    outside = (finite < 0) | (finite > 1)
    # Judge the scale only when enough values are off to show a pattern.
    share = outside.mean() if outside.sum() >= 10 else 0.0
    if share >= 0.1 and (finite < 0).any():
        return ("these look like M-values; convert with beta = 2^M/(2^M+1), or export "
                "beta values (minfi getBeta, SeSAMe getBetas)")
    if share >= 0.1 and finite.max() <= 100:
        return "these look like percentages; divide by 100"
    return ("betas are fractions between 0 and 1; check that the column holds beta values "
            "and re-export it")


_MATRIX_WHAT = "beta values (probes as rows, samples as columns)"


def _sample_columns(mf: MatrixFile) -> tuple[list[str], bool]:
    """Names of the sample columns of a beta matrix, and whether it is a GenomeStudio export.

    Detection p-value columns are not samples; when ``<sample>.AVG_Beta`` columns exist only
    they are; columns with an empty name are skipped.
    """
    data_cols = [n for n in mf.names[1:] if not _DETECTION_COLUMN.search(n)]
    genomestudio = [n for n in data_cols if n.endswith(_GENOMESTUDIO_BETA)]
    if genomestudio:
        data_cols = genomestudio
    return [n for n in data_cols if n], bool(genomestudio)


def _checked_probe_ids(mf: MatrixFile, column: pd.Series) -> tuple[pd.Series, pa.Array]:
    """The first column as stripped probe ids (and as an arrow array), validated.

    Raises
    ------
    InputError
        An id that is not an Illumina probe id, or a duplicate id (both lines named).
    """
    ids = column.astype("str").str.strip()
    id_array = _as_arrow(ids)
    valid = pc.fill_null(pc.match_substring_regex(id_array, _PROBE_ID.pattern), False)
    if not pc.all(valid).as_py():
        bad = ~np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)
        row = int(np.flatnonzero(bad)[0])
        shown = ids.iloc[row]
        raise mf.row_error(
            row,
            f"'{shown}' is not an Illumina methylation probe id"
            + (f" ({int(bad.sum()):,} such rows)" if bad.sum() > 1 else ""),
            column=mf.names[0] or None,
            expected="probe ids like cg00000029, ch.1.1234567F, rs1234 or EPIC v2 "
            "cg00000029_TC21 in the first column",
            fix="put the probe ids in the first column and remove control or annotation rows",
        )
    if pc.count_distinct(id_array).as_py() != len(id_array):
        dup = ids.duplicated()
        row = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((ids == ids.iloc[row]).to_numpy())[0])
        first_line = mf.line_of(first)
        where = f"line {first_line}" if first_line is not None else f"row {first + 1}"
        raise mf.row_error(row, f"duplicate probe id '{ids.iloc[row]}' (first at {where})",
                           expected="each probe once", fix="remove the duplicate rows")
    return ids, id_array


def _check_beta_column(mf: MatrixFile, betas: np.ndarray, column_name: str) -> np.ndarray:
    """Refuse a sample column without values or with betas outside [0, 1]; its missing mask.

    Raises
    ------
    InputError
        All values missing, or a value outside [0, 1] (line, column, M-value/percentage hint).
    """
    missing = np.isnan(betas)
    if missing.all():
        raise InputError("sample column has no beta values (all missing)", file=mf.path,
                         column=column_name, expected="beta values between 0 and 1",
                         fix="choose the right column, or re-export the betas")
    outside = ~missing & ((betas < 0) | (betas > 1))
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        n_out = int(outside.sum())
        raise mf.row_error(
            row,
            f"beta value {betas[row]:g} outside [0, 1]"
            + (f" ({n_out:,} values outside [0, 1] in this column)"
               if n_out > 1 else ""),
            column=column_name, expected="beta values between 0 and 1", fix=_beta_fix(betas),
        )
    return missing


def read_beta_matrix(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read one sample's beta values from a probe x sample matrix.

    TSV/CSV (optionally gzipped) or Parquet; the first column holds probe ids, as minfi
    ``getBeta`` or SeSAMe ``getBetas`` output written with row names (header cell empty,
    ``ID_REF`` as in GEO series matrices, ``probe``, ``TargetID``, ...); GEO series-matrix
    preamble lines (``!Series_...``) and the closing ``!series_matrix_table_end`` are skipped.
    Detection p-value columns are not samples; GenomeStudio ``<sample>.AVG_Beta`` columns are
    the samples. Only the probe column and the chosen sample's column are parsed.

    EPIC v2 suffixes are stripped to legacy ids and replicate probes of one CpG averaged (mean
    of the non-missing betas); see the module docstring. ``platform`` is set by
    :func:`detect_platform` on the file's probe ids.

    Returns
    -------
    LayerData
        Table ``methylation`` (probe_id, beta float32); missing betas (failed detection
        p-value) are kept as NaN and counted in the notes.

    Raises
    ------
    InputError
        Ids that are not Illumina probe ids, duplicate ids (line numbers), non-numeric text,
        betas outside [0, 1] (line, column, value; M-value or percentage hint), a sample column
        with no values, missing/ambiguous sample column, truncated gzip.
    """
    mf = MatrixFile.open(path, what=_MATRIX_WHAT)
    samples, genomestudio = _sample_columns(mf)
    if genomestudio and sample is not None and sample not in samples and (
            sample + _GENOMESTUDIO_BETA) in samples:
        sample = sample + _GENOMESTUDIO_BETA
    col = mf.choose_column(samples, sample)
    column_name = mf.names[col]
    samples_in_file = [s.removesuffix(_GENOMESTUDIO_BETA) for s in samples]
    data = mf.read([0, col], numeric={col})
    ids, id_array = _checked_probe_ids(mf, data[0])

    betas = data[col].to_numpy(dtype="float64")
    missing = _check_beta_column(mf, betas, column_name)

    notes: list[str] = []
    platform = detect_platform(id_array)
    if int(missing.sum()):
        notes.append(f"{int(missing.sum()):,} of {len(betas):,} probes "
                     f"({missing.mean():.1%}) have no beta value (missing, typically a failed "
                     "detection p-value); kept as missing")
    table = pd.DataFrame({"probe_id": ids.to_numpy(), "beta": betas})
    if pc.any(pc.match_substring_regex(id_array, _EPICV2_SUFFIX)).as_py():
        table["probe_id"] = table["probe_id"].str.replace(_EPICV2_SUFFIX, "", regex=True)
        replicated = table["probe_id"].duplicated(keep=False).to_numpy()
    else:
        replicated = np.zeros(len(table), dtype=bool)
    if replicated.any():
        reps = table[replicated]
        means = reps.groupby("probe_id", sort=False)["beta"].mean()
        # Each averaged CpG takes the place of its first replicate, keeping file order.
        first_rows = reps.drop_duplicates("probe_id")
        merged = pd.DataFrame({"probe_id": means.index, "beta": means.to_numpy()},
                              index=first_rows.index)
        table = pd.concat([table[~replicated], merged]).sort_index()
        notes.append(f"{plural(len(means), 'CpG')} measured by several EPIC v2 replicate probes "
                     f"({len(reps):,} rows); their betas were averaged")
    table = conform(table.reset_index(drop=True), "methylation", source=str(mf.path))
    return LayerData(tables={"methylation": table}, samples_in_file=samples_in_file,
                     platform=platform, notes=notes)


#: Sample columns parsed per pass over a text matrix: bounds the float64 batch pyarrow
#: returns before it is narrowed to float32 (a 450k x 256 batch is about 1 GB).
_COLUMN_BATCH = 256


def read_reference_betas(path: str | Path) -> pd.DataFrame:
    """Read a whole probe x sample beta matrix, e.g. a classifier's reference cohort.

    The file conventions are those of :func:`read_beta_matrix`: TSV/CSV (optionally gzipped)
    or Parquet, probe ids in the first column, GEO series-matrix preamble skipped, detection
    p-value columns skipped, GenomeStudio ``<sample>.AVG_Beta`` columns as the samples (the
    suffix removed from the names). Probe ids are validated but kept as they are (EPIC v2
    suffixes included): :class:`~tumorboard.diagnosis.classifier.MethylationClassifier` maps
    them to legacy ids itself. Sample columns are parsed in batches of 256 so that the float64
    columns pyarrow returns never hold more than one batch.

    Returns
    -------
    DataFrame
        Samples x probes, float32 betas (NaN where missing); index ``sample`` (column names
        of the file), columns ``probe_id`` in file order. ``attrs``: ``platform``
        (:func:`detect_platform`), ``source`` (the file).

    Raises
    ------
    InputError
        Ids that are not Illumina probe ids, duplicate probe ids (line numbers), duplicate
        sample names, non-numeric text or betas outside [0, 1] (line, column), a sample
        column with no values, no sample columns.
    """
    mf = MatrixFile.open(path, what=_MATRIX_WHAT)
    columns, _ = _sample_columns(mf)
    if not columns:
        raise InputError("file has no sample columns", file=mf.path, line=mf.header_line,
                         expected="one column per sample after the probe id column")
    names = [c.removesuffix(_GENOMESTUDIO_BETA) for c in columns]
    seen: dict[str, str] = {}
    for column, name in zip(columns, names, strict=True):
        if name in seen:
            same = column == seen[name]
            raise InputError(
                f"sample '{name}' appears twice in the header"
                + ("" if same else f" (columns '{seen[name]}' and '{column}')"),
                file=mf.path, line=mf.header_line, column=column,
                expected="one column per sample", fix="give every sample column a unique name",
            )
        seen[name] = column
    positions = [mf.names.index(c) for c in columns]

    ids: pd.Series | None = None
    id_array: pa.Array | None = None
    values: np.ndarray | None = None
    for start in range(0, len(positions), _COLUMN_BATCH):
        batch = positions[start:start + _COLUMN_BATCH]
        data = mf.read([0, *batch] if ids is None else batch, numeric=set(batch))
        if ids is None:
            ids, id_array = _checked_probe_ids(mf, data[0])
            values = np.empty((len(positions), len(ids)), dtype=np.float32)
        assert values is not None
        for k, col in enumerate(batch):
            betas = data[col].to_numpy(dtype="float64")
            _check_beta_column(mf, betas, mf.names[col])
            values[start + k] = betas
        del data
    assert ids is not None and values is not None and id_array is not None
    frame = pd.DataFrame(values, index=pd.Index(names, name="sample"),
                         columns=pd.Index(ids.to_numpy(dtype=str), name="probe_id"),
                         copy=False)
    frame.attrs["platform"] = detect_platform(id_array)
    frame.attrs["source"] = str(mf.path)
    return frame


_LABEL_SAMPLE_COLUMNS = ("sample", "sample_id", "IDAT", "ID")
_LABEL_CLASS_COLUMNS = ("class", "methylation_class", "Meth_Class")
_LABELS_EXPECTED = ("a CSV/TSV with a header and a sample column (sample, IDAT or ID) and a "
                    "class column (class, methylation_class or Meth_Class)")


def _label_table(path: str | Path) -> TextTable:
    """A small CSV/TSV as a :class:`TextTable`, quoted fields honoured.

    Not :func:`~tumorboard.io._tabular.parse_table`: it counts fields by separators, so the
    quoted, comma-holding cells of sample annotations ("Soft tissue, trunk") break it.
    """
    p, text, _ = read_text(path)
    header, header_line, offset, sep = locate_header(p, text, False, None)
    numbered = [(number, split_fields(line, sep)) for number, line in
                enumerate(text[offset:].split("\n"), start=header_line + 1) if line.strip()]
    # R write.table(row.names = TRUE): every row one field longer, the first a row name
    shift = int(bool(numbered) and all(len(c) == len(header) + 1 for _, c in numbered))
    rows = []
    for number, cells in numbered:
        cells = cells[shift:]
        if any(c.strip() for c in cells[len(header):]):
            raise InputError(
                f"row has {len(cells)} fields but the header has {len(header)} columns",
                file=p, line=number,
                fix="check for a stray delimiter or unquoted separator inside a cell, or add "
                    "the missing column name to the header")
        rows.append(cells[:len(header)] + [""] * (len(header) - len(cells)))
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(
        {h: pd.Series(dtype=object) for h in header})
    lines = np.array([n for n, _ in numbered], dtype=np.int64)
    return TextTable(p, header, header_line, frame, lines)


def read_methylation_labels(path: str | Path, *, sample_column: str | None = None,
                            class_column: str | None = None,
                            samples: Collection[str] | None = None) -> pd.Series:
    """Read the methylation class of each reference sample (the classifier's training labels).

    A CSV or TSV (optionally gzipped) with a header. The sample id is in ``sample_column``,
    by default the first present of ``sample``, ``sample_id``, ``IDAT``, ``ID``; the class in
    ``class_column``, by default ``class``, ``methylation_class`` or ``Meth_Class``. Column
    names match ignoring case, spaces and underscores. The GSE140686 annotation (Koelsche et
    al., Nat Commun 2021) has both ``IDAT`` (Sentrix id, ``200511510045_R02C01``) and ``ID``
    (``REFERENCE_SAMPLE 303``): when ``samples`` (the beta matrix's sample names) is given and
    no column is named, the candidate column sharing most ids with ``samples`` is used.

    Returns
    -------
    Series
        Class codes (str) indexed by sample (index ``sample``), in file order; name
        ``methylation_class``; ``attrs``: ``source``, ``sample_column``, ``class_column``.

    Raises
    ------
    InputError
        No sample or class column (header line named), an empty sample id or class (line),
        a sample listed twice (both lines), a file with no rows.
    """
    table = _label_table(path)
    p = table.path
    require_rows(table, "labels")

    def named(name: str, role: str) -> str:
        found = find_column(table, [name])
        if found is None:
            raise InputError(f"no column '{name}' ({role})", file=p, line=table.header_line,
                             column=name, expected=f"one of the header's columns: "
                             f"{listing(table.header, 30)}",
                             fix=f"name the {role} column as it is spelt in the header")
        return found

    if sample_column is not None:
        id_col = named(sample_column, "sample ids")
    else:
        candidates = [c for c in (find_column(table, [s]) for s in _LABEL_SAMPLE_COLUMNS) if c]
        candidates = list(dict.fromkeys(candidates))
        if not candidates:
            raise InputError(
                "no sample id column", file=p, line=table.header_line, column="sample",
                expected=_LABELS_EXPECTED,
                fix="add a 'sample' column holding the beta matrix's sample names, or name "
                    "the column (sample_column=, CLI --sample-column)")
        id_col = candidates[0]
        if samples is not None and len(candidates) > 1:
            wanted = set(samples)
            overlap = [int(column_cells(table, c).isin(wanted).sum()) for c in candidates]
            id_col = candidates[int(np.argmax(overlap))]
    if class_column is not None:
        cls_col = named(class_column, "classes")
    else:
        cls_col = find_column(table, list(_LABEL_CLASS_COLUMNS), required=True,
                              what="the methylation class of each sample")
        assert cls_col is not None

    ids = column_cells(table, id_col)
    classes = column_cells(table, cls_col)
    for column, cells, what in ((id_col, ids, "sample id"), (cls_col, classes, "class")):
        empty = cells.isin(MISSING_CELLS).to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise InputError(
                f"{what} is empty" + (f" ({int(empty.sum()):,} rows)" if empty.sum() > 1
                                      else ""),
                file=p, line=table.line_of(i), column=column,
                sample=None if what == "sample id" else ids.iloc[i] or None,
                expected=f"a {what} on every row",
                fix="fill it in, or remove the rows of samples without a class")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        raise InputError(
            f"sample '{ids.iloc[i]}' is listed twice (first on line {table.line_of(first)})",
            file=p, line=table.line_of(i), column=id_col, expected="each sample once",
            fix="remove the duplicate row")
    labels = pd.Series(classes.to_numpy(dtype=object), index=pd.Index(
        ids.to_numpy(dtype=object), name="sample"), name="methylation_class")
    labels.attrs.update(source=str(p), sample_column=id_col, class_column=cls_col)
    return labels


def align_labels(betas: pd.DataFrame, labels: pd.Series, *, drop_unlabelled: bool = False,
                 ignore_extra_labels: bool = False) -> tuple[pd.DataFrame, pd.Series,
                                                             list[str]]:
    """Pair the samples of a reference beta matrix with their labels.

    Parameters
    ----------
    betas
        Samples x probes (:func:`read_reference_betas`).
    labels
        Sample -> class (:func:`read_methylation_labels`).
    drop_unlabelled
        Drop samples that have no label instead of refusing them.
    ignore_extra_labels
        Ignore labels of samples that are not in the matrix instead of refusing them.

    Returns
    -------
    tuple
        The betas of the labelled samples, their labels in the same order, and notes on what
        was dropped or ignored.

    Raises
    ------
    InputError
        Samples without a label or labels without betas (each listed), or no sample left.
    """
    unlabelled = [s for s in betas.index if s not in labels.index]
    extra = [s for s in labels.index if s not in betas.index]
    problems = []
    if unlabelled and not drop_unlabelled:
        problems.append(f"{plural(len(unlabelled), 'sample')} of the beta matrix without a "
                        f"label: {listing(unlabelled, 10)}")
    if extra and not ignore_extra_labels:
        problems.append(f"{plural(len(extra), 'label')} for samples not in the beta matrix: "
                        f"{listing(extra, 10)}")
    source = labels.attrs.get("source")
    if problems:
        raise InputError(
            "; ".join(problems), file=source,
            column=labels.attrs.get("sample_column"),
            expected="one label for every sample column of the beta matrix",
            fix="check that the label file's sample ids are the matrix's column names "
                "(choose the id column with --sample-column); drop samples without label "
                "with --drop-unlabelled, ignore labels of absent samples with "
                "--ignore-extra-labels")
    notes = []
    if unlabelled:
        notes.append(f"dropped {plural(len(unlabelled), 'sample')} without a label: "
                     f"{listing(unlabelled, 10)}")
    if extra:
        notes.append(f"ignored {plural(len(extra), 'label')} of samples not in the beta "
                     f"matrix: {listing(extra, 10)}")
    keep = [s for s in betas.index if s in labels.index]
    if not keep:
        raise InputError("no sample of the beta matrix has a label", file=source,
                         fix="check that the label file's sample ids are the matrix's "
                             "column names")
    aligned = labels.reindex(keep)
    aligned.attrs.update(labels.attrs)
    return (betas if len(keep) == len(betas) else betas.loc[keep]), aligned, notes

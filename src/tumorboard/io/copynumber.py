"""Copy-number readers: SEG segment files and gene-level copy-number tables.

Formats read here
-----------------
SEG (segmented copy number)
    The tab-separated segment format IGV displays and GISTIC 2.0 and cBioPortal take as input:
    one header line, then one row per segment with the columns
    ``ID chrom loc.start loc.end num.mark seg.mean`` (IGV file formats, "SEG",
    https://software.broadinstitute.org/software/igv/SEG; cBioPortal file formats, "Segmented
    data", https://docs.cbioportal.org/file-formats/#segmented-data). The columns are those of
    the circular binary segmentation output of DNAcopy (Olshen et al., Biostatistics 2004,
    doi:10.1093/biostatistics/kxh008): positions are 1-based and inclusive (the first and last
    marker of the segment) and ``seg.mean`` is the mean log2(tumour/normal) ratio. GDC and
    GISTIC spell the same columns ``Sample Chromosome Start End Num_Probes Segment_Mean``.
Allele-specific segments
    ASCAT (Van Loo et al., PNAS 2010, doi:10.1073/pnas.1009843107; ``ascat.runAscat`` result
    ``segments``, https://github.com/VanLoo-lab/ascat) writes
    ``sample chr startpos endpos nMajor nMinor``; FACETS (Shen & Seshan, Nucleic Acids Res
    2016, doi:10.1093/nar/gkw520; ``emcncf()$cncf``, https://github.com/mskcc/facets) writes
    ``chrom ... num.mark ... cnlr.median ... start end cf.em tcn.em lcn.em`` with chromosome 23
    for X. Generic tables may give ``cn``/``major_cn``/``minor_cn``.
Gene-level tables
    Long (one row per gene and sample, with ``log2`` and/or ``total_cn``) or the wide gene x
    sample matrix of GISTIC 2.0 ``all_data_by_genes.txt`` (``Gene Symbol  Gene ID  Cytoband``
    then one column per sample; Mermel et al., Genome Biol 2011, doi:10.1186/gb-2011-12-4-r41)
    and cBioPortal ``data_log2_cna.txt`` (``Hugo_Symbol  Entrez_Gene_Id`` then samples).

Files are read with :func:`tumorboard.io._files.read_text` and split into cells by
:func:`tumorboard.io._tabular.parse_table` (shared with :mod:`tumorboard.io.fusions`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from tumorboard import reference
from tumorboard.errors import InputError
from tumorboard.io._files import choose_sample, listing, read_text
from tumorboard.io._tabular import (
    TextTable,
    column_cells,
    column_key,
    find_column,
    locate_header,
    parse_table,
    raise_bad_value,
    require_rows,
    to_float,
    to_int,
)
from tumorboard.io.tables import LayerData, conform, empty_table

__all__ = ["read_gene_copy_number", "read_seg", "segments_to_genes"]


def _int_series(values: np.ndarray) -> pd.Series:
    """float64 array of whole numbers (NaN = missing) -> nullable Int64 series."""
    out = pd.Series(values, dtype="float64").round().astype("Int64")
    return out


# ---------------------------------------------------------------------------------------------
# Chromosome names
# ---------------------------------------------------------------------------------------------

_PRIMARY = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY", "chrM"]
_CHROM_ORDER = {c: i for i, c in enumerate(_PRIMARY)}
#: Unplaced, unlocalised, alt and decoy contigs of GRCh37/GRCh38 (and EBV/lambda spike-ins).
_NON_PRIMARY = re.compile(
    r"(?:_|random|^chrUn|^(?:chr)?(?:GL|KI|JH|KN|KZ|ML|MU|NC_|NT_|NW_)\d|^hs37d5$|"
    r"^(?:chr)?EBV$|^HLA-|decoy)",
    re.IGNORECASE,
)


def _normalise_chroms(raw: pd.Series) -> pd.Series:
    """``1``/``chr1``/``23``/``MT`` -> ``chr1``/``chrX``/``chrM``; other names unchanged.

    ``23``/``24`` are X/Y in GISTIC, FACETS and PennCNV numeric chromosome codes.
    """
    core = raw.str.replace(r"^(?i:chr)", "", regex=True)
    upper = core.str.upper()
    core = upper.replace({"23": "X", "24": "Y", "MT": "M"})
    out = "chr" + core
    known = out.isin(_CHROM_ORDER)
    return out.where(known, raw)


# ---------------------------------------------------------------------------------------------
# SEG
# ---------------------------------------------------------------------------------------------

_SAMPLE = ("ID", "sample", "Sample", "sample_id", "sample_name", "GDC_Aliquot",
           "Tumor_Sample_Barcode")
_CHROM = ("chrom", "chromosome", "chr")
_START = ("loc.start", "start", "startpos", "start_position", "chromStart")
_END = ("loc.end", "end", "endpos", "end_position", "chromEnd")
_NUM_MARK = ("num.mark", "num_probes", "Num_Probes", "num_markers", "nprobes", "num_snps",
             "probes")
_LOG2 = ("seg.mean", "Segment_Mean", "log2", "log2_ratio", "log2ratio", "log2r",
         "cnlr.median")
_TOTAL_CN = ("total_cn", "tcn.em", "tcn", "cn", "copy_number", "total_copy_number")
_MAJOR_CN = ("major_cn", "nMajor", "major")
_MINOR_CN = ("minor_cn", "nMinor", "lcn.em", "lcn", "minor")


def _copy_numbers(table: TextTable, column: str | None, notes: list[str], n: int) -> np.ndarray:
    """Absolute copy numbers (float64 whole numbers, NaN missing); decimals are rounded."""
    if column is None:
        return np.full(n, np.nan)
    values = to_float(table, column)
    cells = column_cells(table, column)
    negative = values < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise_bad_value(table, column, i, cells.iloc[i], "a copy number >= 0",
                        problem=f"copy number {cells.iloc[i]} is negative")
    finite = ~np.isnan(values)
    fractional = finite & (values != np.round(np.where(finite, values, 0)))
    if fractional.any():
        # Callers such as PURPLE report fractional copy numbers; the store keeps integers.
        notes.append(f"{int(fractional.sum()):,} non-integer '{column}' values rounded to the "
                     "nearest whole copy number")
    return np.round(values)


def read_seg(
    path: str | Path,
    *,
    sample: str | None = None,
    genome_build: str | None = None,
) -> LayerData:
    """Read a SEG segment file (IGV/GISTIC/cBioPortal, ASCAT or FACETS style).

    Parameters
    ----------
    path
        SEG file, plain or gzipped. Headers are matched ignoring case and punctuation:
        sample ``ID``/``Sample``/``sample``; ``chrom``/``chromosome``/``chr``;
        ``loc.start``/``start``/``startpos``; ``loc.end``/``end``/``endpos``;
        ``num.mark``/``num_probes``/``Num_Probes``; log2 ratio ``seg.mean``/``Segment_Mean``/
        ``log2``/``cnlr.median`` (FACETS); absolute copy number ``total_cn``/``tcn.em``/``cn``,
        ``major_cn``/``nMajor``, ``minor_cn``/``nMinor``/``lcn.em``. At least one of log2
        ratio, total copy number or major+minor copy number is required.
    sample
        Value of the ID column to read when the file holds several samples.
    genome_build
        The build the case declares for this file (``GRCh37``/``GRCh38`` or an alias). A
        segment ending beyond that build's chromosome length is an error (the file is probably
        on the other build). Without it, the build is inferred from such segments if possible.

    Returns
    -------
    LayerData
        ``segments`` (the chosen sample's segments, sorted by chromosome and start) and
        ``gene_copy_number`` (:func:`segments_to_genes`; empty for GRCh37 files, since only
        GRCh38 gene coordinates are shipped).

    Raises
    ------
    InputError
        Missing columns; non-numeric values (line and column named); start > end; positions
        < 1; unknown chromosome; overlapping segments of one sample; a segment beyond the
        declared build's chromosome end; several samples and none chosen.

    Notes
    -----
    Unplaced/alt/decoy contigs (``chrUn_*``, ``GL000192.1``, ``hs37d5`` ...) are dropped with
    a note. Two consecutive segments sharing one boundary base (``end == next start``, as
    half-open exports write them) are accepted; larger overlaps are an error.
    """
    build = None
    if genome_build is not None:
        build = reference.normalise_build(genome_build)
        if build is None:
            raise InputError(f"unknown genome build '{genome_build}'", file=path,
                             expected="GRCh37 or GRCh38 (or hg19/hg38)",
                             fix="set genome_build to GRCh37 or GRCh38 in case.yaml")
    p, text, notes = read_text(path)
    table = parse_table(p, text)
    sample_col = find_column(table, _SAMPLE)
    require_rows(table, "segments")
    chrom_col = find_column(table, _CHROM, required=True, what="chromosome")
    start_col = find_column(table, _START, required=True, what="segment start")
    end_col = find_column(table, _END, required=True, what="segment end")
    mark_col = find_column(table, _NUM_MARK)
    log2_col = find_column(table, _LOG2)
    total_col = find_column(table, _TOTAL_CN)
    major_col = find_column(table, _MAJOR_CN)
    minor_col = find_column(table, _MINOR_CN)
    if log2_col is None and total_col is None and (major_col is None or minor_col is None):
        find_column(table, _LOG2 + _TOTAL_CN, required=True,
                    what="segment log2 ratio or absolute copy number")
    tool = None
    if major_col is not None and column_key(major_col) == "nmajor":
        tool = "ASCAT"
    elif total_col is not None and column_key(total_col) == "tcnem":
        tool = "FACETS"

    frame = table.frame
    n = len(frame)

    # -- samples ------------------------------------------------------------------------------
    samples_in_file: list[str] = []
    if sample_col is not None:
        ids = column_cells(table, sample_col)
        empty = (ids == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise_bad_value(table, sample_col, i, "", "a sample id",
                            problem="sample id is empty")
        samples_in_file = list(dict.fromkeys(ids))
    else:
        ids = pd.Series([""] * n, dtype=object)

    # -- chromosomes --------------------------------------------------------------------------
    raw_chrom = column_cells(table, chrom_col)
    chrom = _normalise_chroms(raw_chrom)
    primary = chrom.isin(_CHROM_ORDER).to_numpy()
    if not primary.all():
        other = ~primary
        contig = raw_chrom.str.contains(_NON_PRIMARY).to_numpy() & other
        unknown = other & ~contig
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise_bad_value(
                table, chrom_col, i, raw_chrom.iloc[i],
                "a human chromosome: 1-22, X, Y, M (with or without 'chr'; 23/24 for X/Y)",
                problem=f"unknown chromosome '{raw_chrom.iloc[i]}'",
                fix="check that this is a human SEG file and the chromosome column is right",
            )
        names = sorted(set(raw_chrom[contig]))
        notes.append(f"{int(contig.sum()):,} segment(s) on unplaced/alt contigs dropped "
                     f"({listing(names, 5)})")

    # -- positions and values (validated on every row of the file) ----------------------------
    start = to_int(table, start_col)
    end = to_int(table, end_col)
    for column, values in ((start_col, start), (end_col, end)):
        low = values < 1
        if low.any():
            i = int(np.flatnonzero(low)[0])
            raise_bad_value(table, column, i, column_cells(table, column).iloc[i],
                            "a 1-based position > 0",
                            problem=f"position {int(values[i])} is not > 0",
                            fix="SEG positions are 1-based; convert 0-based (BED-like) "
                                 "starts by adding 1")
    reversed_ = end < start
    if reversed_.any():
        i = int(np.flatnonzero(reversed_)[0])
        raise InputError(
            f"segment end {int(end[i]):,} is before its start {int(start[i]):,}",
            file=p, line=table.line_of(i), column=end_col,
            expected="loc.start <= loc.end", fix="swap or correct the two positions",
        )
    log2 = to_float(table, log2_col) if log2_col else np.full(n, np.nan)
    marks = (to_int(table, mark_col, allow_missing=True, minimum=0)
             if mark_col else np.full(n, np.nan))
    total = _copy_numbers(table, total_col, notes, n)
    major = _copy_numbers(table, major_col, notes, n)
    minor = _copy_numbers(table, minor_col, notes, n)
    if total_col is None and major_col is not None and minor_col is not None:
        total = major + minor
    if major_col is None and total_col is not None and minor_col is not None:
        major = total - minor
    if minor_col is None and total_col is not None and major_col is not None:
        minor = total - major

    keep = primary
    chrom_np = chrom.to_numpy(dtype=object)
    ids_np = ids.to_numpy(dtype=object)

    # -- genome build -------------------------------------------------------------------------
    lengths = {b: pd.Series(chrom_np).map(by_chrom).to_numpy(dtype=np.float64)
               for b, by_chrom in reference.CHROM_LENGTHS.items()}
    beyond = {b: keep & (end > np.nan_to_num(lengths[b], nan=np.inf)) for b in lengths}
    if build is not None:
        if beyond[build].any():
            i = int(np.flatnonzero(beyond[build])[0])
            other = "GRCh38" if build == "GRCh37" else "GRCh37"
            fits_other = not beyond[other][i]
            raise InputError(
                f"segment end {int(end[i]):,} is beyond the end of {chrom_np[i]} in {build} "
                f"({int(lengths[build][i]):,} bp)"
                + (f"; the file is probably on {other}" if fits_other else ""),
                file=p, line=table.line_of(i), column=end_col,
                expected=f"positions on {build}",
                fix=(f"set 'genome_build: {other}' for this file in case.yaml, or lift the "
                     f"segments over to {build}") if fits_other
                else "check the coordinates; they fit neither GRCh37 nor GRCh38",
            )
    else:
        b37, b38 = beyond["GRCh37"].any(), beyond["GRCh38"].any()
        if b37 and b38:
            both = beyond["GRCh37"] & beyond["GRCh38"]
            i = int(np.flatnonzero(both if both.any() else beyond["GRCh38"])[0])
            raise InputError(
                "segments end beyond chromosome ends of GRCh37 and of GRCh38",
                file=p, line=table.line_of(i), column=end_col,
                fix="check the coordinates and the genome build of the file",
            )
        if b37 or b38:
            build = "GRCh38" if b37 else "GRCh37"
            notes.append(f"genome build not given; {build} inferred from segments that end "
                         f"beyond the other build's chromosome ends")

    # -- choose the sample --------------------------------------------------------------------
    if sample_col is not None:
        chosen = choose_sample(samples_in_file, sample, file=p, column=sample_col)
        keep = keep & (ids_np == chosen)

    # -- overlap check per sample and chromosome ---------------------------------------------
    order_code = pd.Series(chrom_np).map(_CHROM_ORDER).fillna(-1).to_numpy(dtype=np.int64)
    sample_code = pd.factorize(pd.Series(ids_np))[0]
    rows = np.flatnonzero(primary)
    idx = rows[np.lexsort((start[rows], order_code[rows], sample_code[rows]))]
    if len(idx) > 1:
        same = ((sample_code[idx][1:] == sample_code[idx][:-1])
                & (order_code[idx][1:] == order_code[idx][:-1]))
        prev_end = end[idx][:-1]
        this_start = start[idx][1:]
        overlap = same & (this_start < prev_end)
        if overlap.any():
            k = int(np.flatnonzero(overlap)[0])
            a, b = idx[k], idx[k + 1]
            first, second = sorted((a, b), key=table.line_of)
            raise InputError(
                f"segment {chrom_np[second]}:{int(start[second]):,}-{int(end[second]):,} "
                f"overlaps the segment on line {table.line_of(first)} "
                f"({chrom_np[first]}:{int(start[first]):,}-{int(end[first]):,})"
                + (f" of the same sample '{ids_np[a]}'" if sample_col else ""),
                file=p, line=table.line_of(second), column=start_col,
                sample=str(ids_np[a]) if sample_col else None,
                expected="non-overlapping segments per sample and chromosome",
                fix="give one segmentation per sample (a file with two callers' segments, or "
                    "a sample id repeated for two samples, overlaps)",
            )
        touching = same & (this_start == prev_end) & keep[idx][1:]
        if touching.any():
            notes.append(f"{int(touching.sum()):,} segment(s) start on the last base of the "
                         "previous segment; treated as adjacent")

    # -- build the tables ---------------------------------------------------------------------
    sel = np.flatnonzero(keep)
    sel = sel[np.lexsort((start[sel], order_code[sel]))]
    segments = conform(
        pd.DataFrame({
            "chrom": chrom_np[sel],
            "start": start[sel].astype(np.int64),
            "end": end[sel].astype(np.int64),
            "num_markers": _int_series(marks[sel]),
            "log2_ratio": log2[sel],
            "total_cn": _int_series(total[sel]),
            "major_cn": _int_series(major[sel]),
            "minor_cn": _int_series(minor[sel]),
        }),
        "segments", source=str(p),
    )
    if log2_col is not None:
        n_missing = int(np.isnan(log2[sel]).sum())
        if n_missing:
            notes.append(f"{n_missing:,} segment(s) without a {log2_col} value")
    if len(segments) == 0:
        notes.append("no segments on human chromosomes for this sample")

    if build == "GRCh37":
        genes = empty_table("gene_copy_number")
        notes.append("segments are on GRCh37 and only GRCh38 gene coordinates are shipped: "
                     "gene_copy_number is empty; lift the segments over to GRCh38 (UCSC "
                     "liftOver or CrossMap) to get gene-level copy number")
    else:
        genes = segments_to_genes(segments)
        if build is None:
            notes.append("genome build not given; genes mapped assuming GRCh38")
        notes.append(f"gene_copy_number: {len(genes):,} protein-coding genes (GENCODE, GRCh38) "
                     "covered by a segment; genes outside every segment are absent")
    return LayerData(
        tables={"segments": segments, "gene_copy_number": genes},
        samples_in_file=samples_in_file,
        genome_build=build,
        tool=tool,
        tool_version=None,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------
# Segments -> genes
# ---------------------------------------------------------------------------------------------

#: Positions are < 2**32, so chromosome code * 2**32 + position orders the whole genome.
_CHROM_STRIDE = np.int64(1) << np.int64(32)


def segments_to_genes(
    segments: pd.DataFrame,
    *,
    genes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Summarise one sample's segments per gene: the segment covering most of each gene.

    For each gene, the overlapping segments are found by binary search on the sorted,
    non-overlapping segments of the whole genome (chromosome-offset coordinates, numpy
    ``searchsorted``); the one covering the most bases of the gene gives the gene's values
    (ties: the first in genome order). This is the "largest overlap" rule; genes with a
    breakpoint inside them have ``n_segments > 1`` and ``segment_fraction < 1`` so that
    callers can flag them.

    Parameters
    ----------
    segments
        A ``segments`` table (:data:`~tumorboard.io.tables.TABLES`) of **one** sample:
        ``chrom``, ``start``, ``end`` (1-based, inclusive) and the value columns.
    genes
        Gene table with ``symbol`` (or ``gene``), ``chrom``, ``start``, ``end``, 1-based
        inclusive, on the same build as the segments. Default: the GENCODE GRCh38 genes of
        :func:`tumorboard.reference.genes` restricted to ``gene_type == 'protein_coding'``
        (copy-number calls are read per protein-coding gene; lncRNAs and pseudogenes would
        triple the table without being acted upon). A table given here is used as given.

    Returns
    -------
    pandas.DataFrame
        A ``gene_copy_number`` table in genome order. ``segment_fraction`` = bases of the gene
        covered by the chosen segment / gene length; ``n_segments`` = segments overlapping the
        gene. Genes covered by no segment are absent. A symbol listed at several loci
        (PAR genes on X and Y, GENCODE duplicates) keeps the locus with the largest coverage.

    Raises
    ------
    InputError
        If the segments overlap by more than one shared boundary base (several samples or
        several segmentations mixed).
    """
    if genes is None:
        table = reference.genes()
        genes = table[table["gene_type"] == "protein_coding"]
    symbol_col = "symbol" if "symbol" in genes.columns else "gene"
    if len(segments) == 0 or len(genes) == 0:
        return empty_table("gene_copy_number")

    seg_chrom = segments["chrom"].astype(str).to_numpy()
    gene_chrom = genes["chrom"].astype(str).to_numpy()
    codes, uniques = pd.factorize(np.concatenate([seg_chrom, gene_chrom]))
    # Lexicographic order of factorised codes is irrelevant: only equality per chromosome and
    # a consistent order across both tables matter.
    seg_code = codes[: len(seg_chrom)].astype(np.int64)
    gene_code = codes[len(seg_chrom):].astype(np.int64)

    s_start = segments["start"].to_numpy(dtype=np.int64)
    s_end = segments["end"].to_numpy(dtype=np.int64)
    order = np.lexsort((s_start, seg_code))
    s_start, s_end, seg_code = s_start[order], s_end[order], seg_code[order]
    seg_rows = order
    key_start = seg_code * _CHROM_STRIDE + s_start
    key_end = seg_code * _CHROM_STRIDE + s_end
    if len(key_start) > 1:
        same = seg_code[1:] == seg_code[:-1]
        bad = same & ((s_start[1:] < s_end[:-1]) | (s_end[1:] < s_end[:-1]))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"segments overlap: {uniques[seg_code[k]]}:{s_start[k]:,}-{s_end[k]:,} and "
                f"{uniques[seg_code[k + 1]]}:{s_start[k + 1]:,}-{s_end[k + 1]:,}",
                expected="non-overlapping segments of one sample",
                fix="map one sample's segments at a time",
            )

    g_start = genes["start"].to_numpy(dtype=np.int64)
    g_end = genes["end"].to_numpy(dtype=np.int64)
    g_key_start = gene_code * _CHROM_STRIDE + g_start
    g_key_end = gene_code * _CHROM_STRIDE + g_end

    # Segment i overlaps gene g iff end_i >= start_g and start_i <= end_g; with sorted,
    # non-overlapping segments both are contiguous index ranges.
    first = np.searchsorted(key_end, g_key_start, side="left")
    stop = np.searchsorted(key_start, g_key_end, side="right")
    n_hit = np.clip(stop - first, 0, None)
    total_pairs = int(n_hit.sum())
    if total_pairs == 0:
        return empty_table("gene_copy_number")
    gene_idx = np.repeat(np.arange(len(genes)), n_hit)
    within = np.arange(total_pairs) - np.repeat(np.cumsum(n_hit) - n_hit, n_hit)
    seg_idx = first[gene_idx] + within
    covered = (np.minimum(g_end[gene_idx], s_end[seg_idx])
               - np.maximum(g_start[gene_idx], s_start[seg_idx]) + 1)
    pick = np.lexsort((-covered, gene_idx))  # stable: ties keep genome order
    gene_sorted = gene_idx[pick]
    is_first = np.ones(len(pick), dtype=bool)
    is_first[1:] = gene_sorted[1:] != gene_sorted[:-1]
    best = pick[is_first]
    g = gene_idx[best]
    chosen_rows = seg_rows[seg_idx[best]]
    chosen = segments.iloc[chosen_rows]
    length = (g_end[g] - g_start[g] + 1).astype(np.float64)
    out = pd.DataFrame({
        "gene": genes[symbol_col].to_numpy()[g],
        "chrom": gene_chrom[g],
        "start": g_start[g],
        "end": g_end[g],
        "log2_ratio": chosen["log2_ratio"].to_numpy(dtype=np.float64, na_value=np.nan)
        if "log2_ratio" in chosen else np.nan,
        "total_cn": _column_or_na(chosen, "total_cn"),
        "major_cn": _column_or_na(chosen, "major_cn"),
        "minor_cn": _column_or_na(chosen, "minor_cn"),
        "segment_fraction": covered[best] / length,
        "n_segments": n_hit[g],
        "_covered": covered[best],
        "_order": gene_code[g] * _CHROM_STRIDE + g_start[g],
    })
    if out["gene"].duplicated().any():
        out = (out.sort_values(["gene", "_covered"], ascending=[True, False], kind="stable")
               .drop_duplicates("gene", keep="first"))
    out = out.sort_values("_order", kind="stable").reset_index(drop=True)
    return conform(out, "gene_copy_number")


def _column_or_na(frame: pd.DataFrame, column: str) -> pd.api.extensions.ExtensionArray | float:
    if column not in frame:
        return np.nan
    return frame[column].astype("Int64").array


# ---------------------------------------------------------------------------------------------
# Gene-level tables
# ---------------------------------------------------------------------------------------------

_GENE = ("Hugo_Symbol", "Gene Symbol", "gene", "gene_symbol", "symbol", "gene_name",
         "hgnc_symbol")
_GENE_ANNOTATION = ("Entrez_Gene_Id", "Gene ID", "Locus ID", "gene_id", "entrez_id",
                    "Cytoband", "chrom", "chromosome", "start", "end", "ensembl_gene_id")
_LONG_LOG2 = ("log2", "log2_ratio", "log2ratio", "log2r", "seg.mean")
_LONG_TOTAL = ("total_cn", "cn", "copy_number", "tcn")
_LONG_SAMPLE = ("sample", "sample_id", "sample_name", "ID", "Tumor_Sample_Barcode")
#: At least this many values, all in {-2..2}, mark a matrix as discrete GISTIC calls.
_DISCRETE_MIN_VALUES = 20


def read_gene_copy_number(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read a gene-level copy-number table, long or wide (GISTIC / cBioPortal matrix).

    Layout detection: a file with a ``log2``/``log2_ratio`` or ``total_cn``/``cn`` column is
    *long* (one row per gene, optionally per ``sample``); otherwise it is a *wide* gene x
    sample matrix whose first columns are gene annotations (``Hugo_Symbol``,
    ``Entrez_Gene_Id``, ``Gene Symbol``, ``Gene ID``/``Locus ID``, ``Cytoband``) and every
    other column a sample of log2 ratios (GISTIC 2.0 ``all_data_by_genes.txt``; cBioPortal
    ``data_log2_cna.txt``, https://docs.cbioportal.org/file-formats/).

    Parameters
    ----------
    path
        The table: tab- or comma-separated, plain or gzipped.
    sample
        Sample column (wide) or ``sample`` value (long) to read when there are several.

    Returns
    -------
    LayerData
        ``gene_copy_number`` with chrom/start/end from the GENCODE GRCh38 gene table when the
        symbol is known (else missing), ``segment_fraction``/``n_segments`` missing.

    Raises
    ------
    InputError
        No gene column; no sample columns; non-numeric values (line and column); a matrix of
        only -2..2 integers (discrete GISTIC calls such as ``all_thresholded.by_genes.txt`` /
        ``data_CNA.txt``, which are not log2 ratios); several samples and none chosen.

    Notes
    -----
    Symbols not in the GENCODE table are kept and counted in ``notes``. GISTIC writes genes
    found at several loci as ``SYMBOL|chrN``; the suffix is removed. Rows with an empty
    symbol are dropped; a repeated symbol keeps its first row.
    """
    p, text, notes = read_text(path)
    header, header_line, _, _ = locate_header(p, text, False, None)
    head = TextTable(p, header, header_line, pd.DataFrame(), np.zeros(0, dtype=np.int64))
    gene_col = find_column(head, _GENE, required=True, what="gene symbol")
    log2_col = find_column(head, _LONG_LOG2)
    total_col = find_column(head, _LONG_TOTAL)
    samples_in_file: list[str]

    if log2_col is not None or total_col is not None:
        layout = "long"
        table = parse_table(p, text)
        require_rows(table, "gene rows")
        n = len(table.frame)
        sample_col = find_column(table, _LONG_SAMPLE)
        keep = np.ones(n, dtype=bool)
        if sample_col is not None:
            ids = column_cells(table, sample_col)
            samples_in_file = list(dict.fromkeys(ids[ids != ""]))
            chosen = choose_sample(samples_in_file, sample, file=p, column=sample_col)
            keep = (ids == chosen).to_numpy()
        else:
            samples_in_file = []
        log2 = to_float(table, log2_col) if log2_col else np.full(n, np.nan)
        total = _copy_numbers(table, total_col, notes, n)
        major = _copy_numbers(table, find_column(table, _MAJOR_CN), notes, n)
        minor = _copy_numbers(table, find_column(table, _MINOR_CN), notes, n)
    else:
        layout = "wide"
        annotation = {column_key(a) for a in _GENE_ANNOTATION} | {column_key(gene_col)}
        samples_in_file = [h for h in header if h and column_key(h) not in annotation]
        if not samples_in_file:
            raise InputError(
                "no sample columns and no log2/total_cn column",
                file=p, line=header_line,
                expected="a gene x sample matrix (Hugo_Symbol, Entrez_Gene_Id, then one "
                         "column per sample) or a long table with 'gene' and 'log2' columns",
                fix="check that this is a gene-level copy-number table",
            )
        chosen = choose_sample(samples_in_file, sample, file=p, line=header_line)
        table = parse_table(p, text, usecols=[gene_col, chosen])
        require_rows(table, "gene rows")
        n = len(table.frame)
        keep = np.ones(n, dtype=bool)
        log2 = to_float(table, chosen)
        finite = log2[~np.isnan(log2)]
        if len(finite) >= _DISCRETE_MIN_VALUES and np.isin(finite, (-2, -1, 0, 1, 2)).all():
            raise InputError(
                f"column '{chosen}' holds only the integers -2..2: discrete copy-number calls "
                "(GISTIC all_thresholded.by_genes.txt / cBioPortal data_CNA.txt), not log2 "
                "ratios",
                file=p, column=chosen,
                expected="continuous log2 ratios (all_data_by_genes.txt / data_log2_cna.txt)",
                fix="give the continuous gene-level file, or the SEG file it was made from",
            )
        total = major = minor = np.full(n, np.nan)

    symbols = column_cells(table, gene_col).str.replace(r"\|.*$", "", regex=True)
    empty = (symbols == "").to_numpy() & keep
    if empty.any():
        notes.append(f"{int(empty.sum()):,} row(s) without a gene symbol dropped")
    keep = keep & ~empty
    sel = np.flatnonzero(keep)
    sym = symbols.to_numpy(dtype=object)[sel]
    dup = pd.Series(sym).duplicated().to_numpy()
    if dup.any():
        notes.append(f"{int(dup.sum()):,} repeated gene symbol(s); the first row of each kept")
        sel, sym = sel[~dup], sym[~dup]

    ref = reference.genes().drop_duplicates("symbol").set_index("symbol")
    known = pd.Index(sym).isin(ref.index)
    if (~known).any():
        unknown = list(pd.Series(sym[~known]).head(5))
        notes.append(f"{int((~known).sum()):,} gene symbol(s) not in GENCODE (kept, without "
                     f"coordinates), e.g. {listing(unknown, 5)}")
    loc = ref.reindex(sym)
    out = pd.DataFrame({
        "gene": sym,
        "chrom": loc["chrom"].to_numpy(dtype=object),
        "start": loc["start"].astype("Int64").to_numpy(),
        "end": loc["end"].astype("Int64").to_numpy(),
        "log2_ratio": log2[sel],
        "total_cn": _int_series(total[sel]),
        "major_cn": _int_series(major[sel]),
        "minor_cn": _int_series(minor[sel]),
        "segment_fraction": np.nan,
        "n_segments": pd.array([pd.NA] * len(sel), dtype="Int64"),
    })
    notes.insert(0, f"{layout} gene-level table: {len(out):,} genes")
    return LayerData(
        tables={"gene_copy_number": conform(out, "gene_copy_number", source=str(p))},
        samples_in_file=samples_in_file,
        notes=notes,
    )

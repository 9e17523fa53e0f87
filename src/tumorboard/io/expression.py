"""Readers for gene expression: gene x sample matrices, salmon and RSEM quantifications.

Every reader returns the ``expression`` table (gene, gene_id, tpm, count) for one sample, with
genes named by HGNC symbol. Gene identifiers are resolved as real pipelines write them:

* symbols (``ERBB2``), checked against the shipped GENCODE symbols
  (:func:`tumorboard.reference.gene_symbols`); unknown symbols are kept and counted in the notes;
* combined ids: ``ENSG00000141736.14|ERBB2``, ``ENSG00000141736_ERBB2``, ``ERBB2|ENSG...``,
  TCGA-style ``ERBB2|2064`` (symbol, Entrez id);
* GENCODE transcriptome FASTA headers as salmon writes them without ``--gencode``:
  ``ENST...|ENSG...|OTTHUMG...|OTTHUMT...|ERBB2-201|ERBB2|4624|protein_coding|``
  (GENCODE FASTA header layout, https://www.gencodegenes.org/pages/data_format.html);
* a ``gene_id`` and a ``gene_name``/``gene_symbol`` column side by side, as in nf-core/rnaseq's
  ``salmon.merged.gene_tpm.tsv`` (https://nf-co.re/rnaseq/output);
* bare Ensembl ids through a user gene map (option ``gene_map``): a TSV with ``gene_id`` and
  ``gene_name`` columns, a tx2gene table (``transcript_id`` plus ``gene_id``/``gene_name``, as
  tximport uses; Soneson et al., F1000Research 2015, doi:10.12688/f1000research.7563.2), or
  the GTF used for quantification (``gene_id``/``gene_name``/``transcript_id`` attributes,
  GTF2.2 as GENCODE writes it).

Ensembl version suffixes (``.14``) are stripped for matching and in the ``gene_id`` column,
so that samples quantified against different GENCODE releases line up; GENCODE's
pseudo-autosomal copies keep their ``_PAR_Y`` tag. When several gene ids map to one symbol
(PAR_Y copies, readthrough loci, gene-map merges) their TPM and counts are **summed**, and
the notes say how many symbols this touched; the ``gene_id`` column then lists the ids,
``;``-joined. Transcript-level salmon output is summed per gene the same way (TPM and
NumReads), which is what tximport's ``txOut = FALSE`` summary does for abundances and
counts (Soneson et al. 2015).

Matrices are read by :class:`tumorboard.io._tabular.MatrixFile` (shared with
:mod:`tumorboard.io.methylation`): only the needed columns are parsed (pyarrow's multi-threaded
CSV reader), and every bad value is reported with its 1-based file line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tumorboard import reference
from tumorboard.errors import InputError
from tumorboard.io._files import check_file, gzip_error, is_gzip, listing, plural
from tumorboard.io._tabular import MatrixFile
from tumorboard.io.tables import LayerData, conform

# --------------------------------------------------------------------------------------------
# Gene maps
# --------------------------------------------------------------------------------------------

_ENSG = r"ENSG\d+(?:\.\d+)?(?:_PAR_Y)?"
_ENST = r"ENST\d+(?:\.\d+)?(?:_PAR_Y)?"
_RE_ENSG = re.compile(rf"^{_ENSG}$")
_RE_ENST = re.compile(rf"^{_ENST}$")
_VERSION = r"\.\d+(_PAR_Y)?$"

_TX_COLUMNS = ("transcript_id", "txname", "tx_id", "transcript", "target_id")
_GENE_ID_COLUMNS = ("gene_id", "geneid", "ensembl_gene_id", "ensembl_id")
_GENE_NAME_COLUMNS = ("gene_name", "gene_symbol", "symbol", "hgnc_symbol", "hugo_symbol",
                      "genename", "gene")


def _strip_version(ids: pd.Series) -> pd.Series:
    return ids.str.replace(_VERSION, r"\1", regex=True)


@dataclass(frozen=True)
class GeneMap:
    """Identifier maps from a user gene map: Ensembl gene id -> symbol, transcript -> gene.

    Keys are Ensembl ids without version suffix.
    """

    path: Path
    gene_symbol: Mapping[str, str]
    transcript_gene: Mapping[str, str]  # transcript id -> gene id (may be a symbol)


def read_gene_map(path: str | Path) -> GeneMap:
    """Read a gene map: TSV/CSV (gene_id, gene_name; or tx2gene) or a GTF.

    A table may have a header naming ``gene_id`` and ``gene_name`` (or ``gene_symbol``,
    ``symbol``) and optionally ``transcript_id`` (tximport's tx2gene; Soneson et al. 2015,
    doi:10.12688/f1000research.7563.2), or no header, with columns in the order nf-core/rnaseq
    writes ``tx2gene.tsv``: transcript id, gene id, gene name (or gene id, gene name). A GTF
    (GENCODE or Ensembl, ``.gtf`` / ``.gtf.gz``) is read from its ``gene`` and ``transcript``
    lines' ``gene_id``, ``gene_name`` and ``transcript_id`` attributes (GTF2.2,
    https://www.gencodegenes.org/pages/data_format.html).

    Raises
    ------
    InputError
        If the file is missing, unreadable or has none of the needed columns.
    """
    p = check_file(path)
    name = p.name.lower()
    if name.endswith((".gtf", ".gtf.gz", ".gff2", ".gff2.gz")):
        return _read_gtf_map(p)
    return _read_table_map(p)


def _read_gtf_map(p: Path) -> GeneMap:
    gz = is_gzip(p)
    keys = [f"f{i}" for i in range(9)]

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        return "skip" if row.text.startswith("#") else "error"

    try:
        table = pacsv.read_csv(
            pa.input_stream(str(p), compression="gzip" if gz else None),
            read_options=pacsv.ReadOptions(column_names=keys, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False,
                                             invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(include_columns=["f2", "f8"],
                                                 column_types={"f2": pa.string(),
                                                               "f8": pa.string()}),
        )
    except pa.ArrowInvalid as exc:
        raise InputError(f"gene map is not a valid GTF: {exc}", file=p,
                         expected="9 tab-separated GTF columns per line",
                         fix="give the GTF used for quantification, or a TSV with gene_id "
                         "and gene_name columns") from exc
    except OSError as exc:
        if gz:
            raise gzip_error(p, str(exc)) from exc
        raise InputError(f"gene map cannot be read: {exc}", file=p) from exc
    keep = pc.is_in(table.column("f2"), value_set=pa.array(["gene", "transcript"]))
    attrs = table.filter(keep).column("f8").to_pandas()
    attrs = pd.Series(attrs, dtype="str")
    gene_id = attrs.str.extract(r'gene_id "([^"]+)"', expand=False)
    gene_name = attrs.str.extract(r'gene_name "([^"]+)"', expand=False)
    tx_id = attrs.str.extract(r'transcript_id "([^"]+)"', expand=False)
    if gene_id.notna().sum() == 0:
        raise InputError("GTF has no gene or transcript lines with a gene_id attribute",
                         file=p, expected="GTF lines of feature 'gene' or 'transcript'",
                         fix="give the full GTF used for quantification")
    return _build_map(p, tx_id, gene_id, gene_name)


def _read_table_map(p: Path) -> GeneMap:
    mf = MatrixFile.open(p, what="a gene map (gene_id and gene_name columns)")
    lower = [n.lower() for n in mf.names]

    def find(options: Sequence[str]) -> int | None:
        return next((lower.index(o) for o in options if o in lower), None)

    tx_i, gid_i, gname_i = find(_TX_COLUMNS), find(_GENE_ID_COLUMNS), find(_GENE_NAME_COLUMNS)
    headerless = tx_i is None and gid_i is None and gname_i is None
    if headerless:
        # nf-core tx2gene.tsv and many tx2gene files have no header: tx, gene id[, name].
        first = mf.names
        if first and _RE_ENST.match(first[0]):
            tx_i, gid_i = 0, 1 if len(first) > 1 else None
            gname_i = 2 if len(first) > 2 else None
        elif first and _RE_ENSG.match(first[0]) and len(first) > 1:
            gid_i, gname_i = 0, 1
        else:
            raise InputError(
                "gene map has no gene_id / gene_name / transcript_id columns",
                file=p, line=mf.header_line,
                expected="a header with gene_id and gene_name (or transcript_id and gene_id "
                "or gene_name), or a GTF",
                fix="add a header line 'gene_id<TAB>gene_name', or give the GTF",
            )
    if gname_i is None and tx_i is None:
        raise InputError("gene map has a gene_id column but no gene_name column", file=p,
                         line=mf.header_line, expected="a gene_name (or gene_symbol) column",
                         fix="add the gene names, or give the GTF used for quantification")
    cols = [i for i in (tx_i, gid_i, gname_i) if i is not None]
    table = mf.read(cols)
    if headerless:
        head = pd.DataFrame({i: [mf.names[i]] for i in cols})
        table = pd.concat([head, table], ignore_index=True)

    def col(i: int | None) -> pd.Series:
        if i is None:
            return pd.Series([pd.NA] * len(table), dtype="str")
        return table[i].astype("str").str.strip().replace("", np.nan)

    return _build_map(p, col(tx_i), col(gid_i), col(gname_i))


def _build_map(p: Path, tx_id: pd.Series, gene_id: pd.Series, gene_name: pd.Series) -> GeneMap:
    gid = _strip_version(gene_id.astype("str"))
    has_gene = gid.notna() & gene_name.notna()
    genes = pd.Series(gene_name[has_gene].to_numpy(), index=gid[has_gene].to_numpy())
    genes = genes[~genes.index.duplicated()]
    has_tx = tx_id.notna()
    tx_target = gid.where(gid.notna(), gene_name)[has_tx]
    tx = pd.Series(tx_target.to_numpy(), index=_strip_version(tx_id[has_tx]).to_numpy())
    tx = tx[~tx.index.duplicated() & tx.notna()]
    return GeneMap(path=p, gene_symbol=genes.to_dict(), transcript_gene=tx.to_dict())


# --------------------------------------------------------------------------------------------
# Resolving gene identifiers to symbols
# --------------------------------------------------------------------------------------------

#: GENCODE transcriptome FASTA header: ENST|ENSG|OTTHUMG|OTTHUMT|tx name|gene name|len|type|
_RE_GENCODE_HEADER = (rf"^(?P<tx>{_ENST})\|(?P<gid>{_ENSG})\|[^|]*\|[^|]*\|[^|]*\|"
                      r"(?P<sym>[^|]*)\|")
_RE_BARE_GENE = rf"^(?P<gid>{_ENSG})$"
_RE_BARE_TRANSCRIPT = rf"^(?P<tx>{_ENST})$"
_RE_ENSG_SYMBOL = rf"^(?P<gid>{_ENSG})[|_](?P<sym>.+)$"
_RE_SYMBOL_ENSG = rf"^(?P<sym>[^|]+)\|(?P<gid>{_ENSG})$"
_RE_SYMBOL_ENTREZ = r"^(?P<sym>[^|]+)\|\d+$"


@dataclass
class _Resolved:
    """Per input row: stripped transcript id, stripped gene id, symbol (NaN when unknown)."""

    transcript: pd.Series
    gene_id: pd.Series
    symbol: pd.Series


def _resolve_ids(raw: pd.Series, names: pd.Series | None, gene_map: GeneMap | None
                 ) -> _Resolved:
    raw = raw.astype("str").str.strip()
    ids = pa.array(raw, type=pa.string(), from_pandas=True)
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    n = len(ids)
    found = {key: np.full(n, None, dtype=object) for key in ("tx", "gid", "sym")}
    todo = np.ones(n, dtype=bool)
    has_pipe = bool(pc.any(pc.match_substring(ids, "|")).as_py())
    # First matching pattern wins; RE2 (pyarrow) keeps this fast on 250,000 transcripts.
    patterns = [_RE_GENCODE_HEADER] if has_pipe else []
    patterns += [_RE_BARE_GENE, _RE_BARE_TRANSCRIPT, _RE_ENSG_SYMBOL]
    if has_pipe:
        patterns += [_RE_SYMBOL_ENSG, _RE_SYMBOL_ENTREZ]
    for pattern in patterns:
        rows = np.flatnonzero(todo)
        if not len(rows):
            break
        got = pc.extract_regex(ids.take(pa.array(rows)), pattern)
        matched = got.is_valid()
        hit_rows = rows[matched.to_numpy(zero_copy_only=False)]
        if not len(hit_rows):
            continue
        hits = got.filter(matched)
        for k, field_ in enumerate(hits.type):
            found[field_.name][hit_rows] = hits.field(k).to_numpy(zero_copy_only=False)
        todo[hit_rows] = False
    found["sym"][todo] = raw.to_numpy(dtype=object)[todo]
    tx = pd.Series(found["tx"], index=raw.index, dtype="str")
    gid = pd.Series(found["gid"], index=raw.index, dtype="str")
    sym = pd.Series(found["sym"], index=raw.index, dtype="str")

    if names is not None:
        given = names.astype("str").str.strip()
        given = given.where(given != "")
        sym = given.where(given.notna(), sym)
    tx = _strip_version(tx)
    gid = _strip_version(gid)
    if gene_map is not None:
        need_gene = tx.notna() & gid.isna() & sym.isna()
        if need_gene.any():
            # transcripts the map does not know stay without a gene (not the text 'nan')
            target = tx[need_gene].map(gene_map.transcript_gene).dropna().astype("str")
            is_ensg = target.str.fullmatch(_ENSG)
            gid.loc[target.index[is_ensg]] = _strip_version(target[is_ensg])
            sym.loc[target.index[~is_ensg]] = target[~is_ensg]
        need_sym = gid.notna() & sym.isna()
        if need_sym.any():
            sym.loc[need_sym] = gid[need_sym].map(gene_map.gene_symbol)
    # Placeholders for "no symbol": TCGA's '?', empty names, nf-core's gene_name == gene_id.
    no_symbol = sym.isin(["?", "", "-", "NA"]) | sym.str.fullmatch(_ENSG)
    sym = sym.where(~no_symbol)
    return _Resolved(transcript=tx, gene_id=gid, symbol=sym)


@cache
def _gencode_symbols() -> pa.Array:
    """The shipped GENCODE symbols as an Arrow array (fast membership tests)."""
    return pa.array(sorted(reference.gene_symbols()), type=pa.string())


_MAP_FIX = (
    "give a gene map in case.yaml (options: gene_map: genes.tsv — a TSV with gene_id and "
    "gene_name columns, a tx2gene table, or the GTF used for quantification), or use a file "
    "with gene names (nf-core/rnaseq salmon.merged.gene_tpm.tsv has a gene_name column)"
)


def _gene_table(mf: MatrixFile, raw: pd.Series, names: pd.Series | None,
                tpm: pd.Series, count: pd.Series, *, gene_map: GeneMap | None,
                notes: list[str]) -> pd.DataFrame:
    """Resolve identifiers, sum per symbol, and return the ``expression`` table."""
    res = _resolve_ids(raw, names, gene_map)
    n = len(raw)
    no_gene = res.gene_id.isna() & res.symbol.isna()
    unmapped_tx = no_gene & res.transcript.notna()
    bare_gene = res.symbol.isna() & res.gene_id.notna()
    for mask, kind in ((unmapped_tx, "transcript"), (bare_gene, "gene")):
        if mask.sum() > n / 2:
            example = raw[mask].iloc[0]
            where = "the gene map does not list them" if gene_map is not None else (
                "the file has no gene names")
            raise InputError(
                f"{int(mask.sum()):,} of {n:,} identifiers are bare Ensembl "
                f"{kind} ids (e.g. {example}) and {where}",
                file=mf.path,
                expected="gene symbols, combined ids like 'ENSG00000141736.14|ERBB2', or a "
                "gene map",
                fix=_MAP_FIX if gene_map is None else
                f"use a gene map that covers these ids ({gene_map.path.name} maps "
                f"{len(gene_map.gene_symbol):,} genes and "
                f"{len(gene_map.transcript_gene):,} transcripts)",
            )
    dropped = no_gene
    if int(unmapped_tx.sum()):
        notes.append(
            f"{plural(int(unmapped_tx.sum()), 'transcript')} could not be assigned to a gene "
            f"and were left out, e.g. {listing(list(raw[unmapped_tx].iloc[:3]), 3, quote=False)}"
        )
    other_dropped = dropped & ~unmapped_tx
    if int(other_dropped.sum()):
        notes.append(f"{plural(int(other_dropped.sum()), 'row')} without a usable gene "
                     f"identifier left out, e.g. "
                     f"{listing(list(raw[other_dropped].iloc[:3]), 3, quote=False)}")
    if int(bare_gene.sum()):
        notes.append(f"{plural(int(bare_gene.sum()), 'gene')} without a symbol, kept under the "
                     "Ensembl gene id")
    keep = ~dropped
    gene = res.symbol.where(res.symbol.notna(), res.gene_id)[keep]
    is_symbol = res.symbol.notna()[keep]
    known = pc.is_in(pa.array(gene.astype("str"), type=pa.string(), from_pandas=True),
                     value_set=_gencode_symbols())
    is_known = pd.Series(known.to_numpy(zero_copy_only=False), index=gene.index, dtype=bool)
    unknown = gene[is_symbol & ~is_known].drop_duplicates()
    if len(unknown):
        notes.append(f"{plural(len(unknown), 'identifier')} not in GENCODE symbols, e.g. "
                     f"{listing(list(unknown.iloc[:5]), 5, quote=False)} (kept as given)")
    table = pd.DataFrame({
        "gene": gene.to_numpy(),
        "gene_id": res.gene_id[keep].to_numpy(),
        "tpm": tpm[keep].to_numpy(dtype="float64"),
        "count": count[keep].to_numpy(dtype="float64"),
    })
    transcript_level = bool(res.transcript[keep].notna().any())
    n_rows = len(table)
    table, multi_id = _sum_per_gene(table)
    if transcript_level:
        notes.append(f"{plural(n_rows, 'transcript')} summed into {plural(len(table), 'gene')} "
                     "(TPM and counts)")
    if multi_id:
        notes.append(f"{plural(len(multi_id), 'gene symbol')} with several gene ids (e.g. "
                     f"{listing(multi_id[:3], 3, quote=False)}); their TPM and counts were summed")
    return conform(table, "expression", source=str(mf.path))


def _sum_per_gene(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Sum rows sharing a gene symbol; return the table and the symbols with several ids."""
    dup = table["gene"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return table, []
    multi = table[dup]
    sums = multi.groupby("gene", sort=False)[["tpm", "count"]].sum(min_count=1)
    pairs = multi[["gene", "gene_id"]].dropna().drop_duplicates()
    n_ids = pairs.groupby("gene", sort=False).size()
    ids = pairs.groupby("gene", sort=False)["gene_id"].first().astype(object)
    several = list(n_ids.index[n_ids > 1])
    if several:
        joined = (pairs[pairs["gene"].isin(several)].groupby("gene")["gene_id"]
                  .agg(lambda s: ";".join(sorted(s))))
        ids.loc[joined.index] = joined
    merged = sums.assign(gene_id=ids.reindex(sums.index)).reset_index()
    # Keep the file's gene order: each summed gene sits where it first appeared.
    first = pd.Series(np.flatnonzero(dup), index=multi["gene"].to_numpy())
    first = first[~first.index.duplicated()]
    merged.index = first.loc[merged["gene"].to_numpy()].to_numpy()
    out = pd.concat([table[~dup], merged[["gene", "gene_id", "tpm", "count"]]]).sort_index()
    return out.reset_index(drop=True), several


def _check_values(mf: MatrixFile, values: pd.Series, column: str, what: str) -> None:
    """Expression values must be present, finite and >= 0; raise at the first bad row."""
    arr = values.to_numpy(dtype="float64")
    checks = (
        (np.isnan(arr), "missing value", "a number for every gene",
         "fill in the value (0 if the gene was not detected) or re-export the table"),
        (np.isinf(arr), "infinite value", "a finite number", "re-export the table"),
        (arr < 0, "negative {what} {value}", f"{what} >= 0",
         f"{what} cannot be negative; check that the column holds {what}, not log-scaled "
         "or centred values"),
    )
    for mask, problem, expected, fix in checks:
        if mask.any():
            row = int(np.flatnonzero(mask)[0])
            n_bad = int(mask.sum())
            text = problem.format(what=what, value=f"{arr[row]:g}")
            if n_bad > 1:
                text += f" ({n_bad:,} such values in this column)"
            raise mf.row_error(row, text, column=column, expected=expected, fix=fix)


def _check_duplicates(mf: MatrixFile, ids: pd.Series, what: str) -> None:
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        value = ids.iloc[row]
        first = int(np.flatnonzero((ids == value).to_numpy())[0])
        first_where = mf.line_of(first)
        where = f"line {first_where}" if first_where is not None else f"row {first + 1}"
        raise mf.row_error(row, f"duplicate {what} '{value}' (first at {where})",
                           expected=f"each {what} once",
                           fix="remove or merge the duplicate rows")


def _load_gene_map(gene_map: str | Path | GeneMap | None) -> GeneMap | None:
    if gene_map is None or isinstance(gene_map, GeneMap):
        return gene_map
    return read_gene_map(gene_map)


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------

#: Matrix columns that describe genes rather than hold a sample (lower case).
_ANNOTATION_COLUMNS = frozenset({
    *_GENE_ID_COLUMNS, *_GENE_NAME_COLUMNS, "transcript_id(s)", "transcript_ids",
    "transcript_id", "description", "gene_type", "gene_biotype", "biotype", "length",
    "effective_length", "chr", "chrom", "chromosome", "start", "end", "strand",
    "entrez_gene_id", "entrez_id", "name", "id",
})


def read_expression_matrix(
    path: str | Path,
    *,
    sample: str | None = None,
    value: str = "tpm",
    gene_map: str | Path | GeneMap | None = None,
) -> LayerData:
    """Read one sample's column from a gene x sample expression matrix.

    TSV, CSV (optionally gzipped) or Parquet, genes as rows, samples as columns. Genes are
    identified by ``gene_id`` and/or ``gene_name`` (``gene_symbol``, ``symbol``,
    ``Hugo_Symbol``) columns when present (nf-core/rnaseq ``salmon.merged.gene_tpm.tsv``:
    gene_id, gene_name, then samples; https://nf-co.re/rnaseq/output), else by the first
    column, parsed as described in the module docstring. Other annotation columns
    (``transcript_id(s)``, ``Description``, ``length``, ...) are not samples. A header one
    field short (R ``write.table`` with row names) is accepted. Only the identifier columns
    and the chosen sample's column are parsed, so wide matrices read fast.

    Parameters
    ----------
    path
        The matrix file.
    sample
        The sample's column name; may be omitted when the matrix has a single sample.
    value
        ``"tpm"`` (default) or ``"counts"``. A counts matrix fills ``count`` and leaves
        ``tpm`` NaN: TPM needs transcript lengths, which a count matrix does not carry
        (Wagner et al., Theory Biosci 2012, doi:10.1007/s12064-012-0162-3); a note says so.
    gene_map
        Optional gene map (see :func:`read_gene_map`) for bare Ensembl ids.

    Returns
    -------
    LayerData
        Table ``expression``; several ids mapping to one symbol are summed (noted).

    Raises
    ------
    InputError
        Unknown ``value``; missing/ambiguous sample column; missing, non-numeric, infinite or
        negative values (naming line and column); duplicate identifiers; bare Ensembl ids
        without a gene map; truncated gzip.
    """
    kind = str(value).strip().lower()
    if kind in ("count", "counts", "expected_count", "numreads"):
        kind = "counts"
    if kind not in ("tpm", "counts"):
        raise InputError(f"unknown expression value type '{value}'", file=path,
                         expected="tpm or counts",
                         fix="set options: value: tpm (or counts) in case.yaml")
    gmap = _load_gene_map(gene_map)
    mf = MatrixFile.open(path, what="gene expression (genes as rows, samples as columns)")
    lower = [n.lower() for n in mf.names]
    gid_i = next((lower.index(c) for c in _GENE_ID_COLUMNS if c in lower), None)
    name_i = next((lower.index(c) for c in _GENE_NAME_COLUMNS if c in lower), None)
    id_cols = [i for i in (gid_i, name_i) if i is not None] or [0]
    samples = [n for i, n in enumerate(mf.names)
               if i not in id_cols and n.lower() not in _ANNOTATION_COLUMNS and n != ""]
    col = mf.choose_column(samples, sample)
    sample_name = mf.names[col]
    data = mf.read([*id_cols, col], numeric={col})
    values = data[col]
    what = "TPM" if kind == "tpm" else "count"
    _check_values(mf, values, sample_name, what)
    primary = data[id_cols[0]]
    _check_duplicates(mf, primary.astype("str"), "gene identifier")
    # With both columns, ids come from gene_id and symbols from gene_name.
    names = data[name_i] if gid_i is not None and name_i is not None else None
    notes: list[str] = []
    nan = pd.Series(np.nan, index=values.index)
    if kind == "tpm":
        tpm, count = values, nan
        arr = values.to_numpy()
        total = float(arr.sum())
        if len(arr) and np.all(arr == np.round(arr)) and total > 2e6:
            notes.append(f"values are whole numbers summing to {total:,.0f}, unlike TPM "
                         "(which sums to 1,000,000); if these are read counts set "
                         "options: value: counts")
    else:
        tpm, count = nan, values
        notes.append("counts only: TPM left empty because it needs gene lengths; give a TPM "
                     "matrix (value: tpm) for cohort comparisons")
    table = _gene_table(mf, primary, names, tpm, count, gene_map=gmap, notes=notes)
    return LayerData(tables={"expression": table}, samples_in_file=samples, notes=notes)


_SALMON_COLUMNS = ("Name", "Length", "EffectiveLength", "TPM", "NumReads")


def _salmon_version(quant: Path) -> str | None:
    for candidate in (quant.parent / "cmd_info.json", quant.parent / "aux_info" / "meta_info.json"):
        try:
            info = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        version = info.get("salmon_version") if isinstance(info, dict) else None
        if version:
            return str(version)
    return None


def read_salmon(
    path: str | Path,
    *,
    sample: str | None = None,
    gene_map: str | Path | GeneMap | None = None,
) -> LayerData:
    """Read a salmon quantification (``quant.sf`` or ``quant.genes.sf``).

    Format: salmon documentation, "Salmon Output File Formats" — a tab-separated file with
    one header line, columns ``Name Length EffectiveLength TPM NumReads``
    (https://salmon.readthedocs.io/en/latest/file_formats.html; Patro et al., Nat Methods
    2017, doi:10.1038/nmeth.4197). ``NumReads`` (estimated reads) goes to ``count``.
    Transcript-level ``quant.sf`` is summed to genes (TPM and NumReads); the transcript's
    gene comes from GENCODE-style names (salmon indexed on the GENCODE transcriptome without
    ``--gencode`` keeps the whole ``|``-separated header) or from ``gene_map`` (a tx2gene
    table or the GTF). ``quant.genes.sf`` (salmon ``-g``) names genes by whatever the
    mapping gave: symbols, or Ensembl ids that need ``gene_map``. A directory is read as its
    ``quant.sf``. ``tool_version`` comes from ``cmd_info.json`` or ``aux_info/meta_info.json``
    next to the file (``salmon_version``) when present. ``sample`` is ignored: the file is
    one sample.

    Raises
    ------
    InputError
        Missing salmon columns; missing, non-numeric or negative values (line and column);
        duplicate names; transcripts/genes that cannot be mapped to symbols; truncated gzip.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "quant.sf"
    gmap = _load_gene_map(gene_map)
    mf = MatrixFile.open(p, what="salmon quant.sf (Name Length EffectiveLength TPM NumReads)")
    missing = [c for c in _SALMON_COLUMNS if c not in mf.names]
    if missing:
        raise InputError(
            f"not a salmon quant.sf: column(s) {', '.join(missing)} missing",
            file=mf.path, line=mf.header_line,
            expected="header 'Name Length EffectiveLength TPM NumReads' (tab-separated)",
            fix="give salmon's quant.sf or quant.genes.sf unchanged",
        )
    name_i, tpm_i, reads_i = (mf.names.index(c) for c in ("Name", "TPM", "NumReads"))
    data = mf.read([name_i, tpm_i, reads_i], numeric={tpm_i, reads_i})
    _check_values(mf, data[tpm_i], "TPM", "TPM")
    _check_values(mf, data[reads_i], "NumReads", "NumReads")
    _check_duplicates(mf, data[name_i].astype("str"), "Name")
    notes: list[str] = []
    table = _gene_table(mf, data[name_i], None, data[tpm_i], data[reads_i], gene_map=gmap,
                        notes=notes)
    return LayerData(tables={"expression": table}, tool="salmon",
                     tool_version=_salmon_version(mf.path), notes=notes)


def read_rsem(
    path: str | Path,
    *,
    sample: str | None = None,
    gene_map: str | Path | GeneMap | None = None,
) -> LayerData:
    """Read an RSEM ``*.genes.results`` file (``*.isoforms.results`` is summed to genes).

    Format: RSEM README, "Output" of ``rsem-calculate-expression``: tab-separated with
    header ``gene_id transcript_id(s) length effective_length expected_count TPM FPKM``
    (more columns with ``--calc-pme``/``--calc-ci``); isoform files start with
    ``transcript_id gene_id`` (https://deweylab.github.io/RSEM/rsem-calculate-expression.html;
    Li & Dewey, BMC Bioinformatics 2011, doi:10.1186/1471-2105-12-323). ``expected_count``
    goes to ``count``. ``gene_id`` is resolved like any gene identifier (symbols, combined
    ``ENSG..._SYMBOL`` ids, or Ensembl ids with ``gene_map``). ``sample`` is ignored.

    Raises
    ------
    InputError
        Missing RSEM columns; missing, non-numeric or negative values (line and column);
        duplicate ids; Ensembl ids without a gene map; truncated gzip.
    """
    gmap = _load_gene_map(gene_map)
    mf = MatrixFile.open(path, what="RSEM genes.results (gene_id ... expected_count TPM FPKM)")
    missing = [c for c in ("gene_id", "expected_count", "TPM") if c not in mf.names]
    if missing:
        raise InputError(
            f"not an RSEM results file: column(s) {', '.join(missing)} missing",
            file=mf.path, line=mf.header_line,
            expected="header 'gene_id transcript_id(s) length effective_length "
            "expected_count TPM FPKM'",
            fix="give RSEM's *.genes.results unchanged",
        )
    isoforms = mf.names[0] == "transcript_id"
    gid_i, count_i, tpm_i = (mf.names.index(c) for c in ("gene_id", "expected_count", "TPM"))
    key_i = 0 if isoforms else gid_i
    data = mf.read(sorted({key_i, gid_i, count_i, tpm_i}), numeric={count_i, tpm_i})
    _check_values(mf, data[tpm_i], "TPM", "TPM")
    _check_values(mf, data[count_i], "expected_count", "expected_count")
    _check_duplicates(mf, data[key_i].astype("str"), "transcript_id" if isoforms else "gene_id")
    notes: list[str] = []
    table = _gene_table(mf, data[gid_i], None, data[tpm_i], data[count_i], gene_map=gmap,
                        notes=notes)
    if isoforms:
        notes.append(f"isoform results summed to {plural(len(table), 'gene')}")
    return LayerData(tables={"expression": table}, tool="RSEM", notes=notes)

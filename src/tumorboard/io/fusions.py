"""Gene-fusion readers: Arriba, STAR-Fusion (and FusionInspector) and generic fusion tables.

Every reader returns the ``fusions`` table (:data:`tumorboard.io.tables.TABLES`) with the
partners oriented 5'→3' and named by the HGNC fusion nomenclature, ``GENE5::GENE3`` (Bruford
et al., Leukemia 2021, doi:10.1038/s41375-021-01436-6). Breakpoints are written
``chrN:position`` (1-based, ``chr``-prefixed for the human chromosomes; other contigs such as
viral genomes keep the file's name).

Formats
-------
Arriba ``fusions.tsv`` (Uhrig et al., Genome Res 2021, doi:10.1101/gr.257246.119; column
definitions: Arriba documentation, "Output files",
https://arriba.readthedocs.io/en/latest/output-files/). Arriba 2.x writes the header
``#gene1 gene2 strand1(gene/fusion) strand2(gene/fusion) breakpoint1 breakpoint2 site1 site2
type split_reads1 split_reads2 discordant_mates coverage1 coverage2 confidence reading_frame
tags retained_protein_domains closest_genomic_breakpoint1 closest_genomic_breakpoint2
gene_id1 gene_id2 transcript_id1 transcript_id2 direction1 direction2 filters
fusion_transcript peptide_sequence read_identifiers`` and no version line.

STAR-Fusion ``star-fusion.fusion_predictions.tsv`` / ``.abridged.tsv`` (Haas et al., Genome
Biol 2019, doi:10.1186/s13059-019-1842-9; STAR-Fusion wiki,
https://github.com/STAR-Fusion/STAR-Fusion/wiki): ``#FusionName JunctionReadCount
SpanningFragCount est_J est_S SpliceType LeftGene LeftBreakpoint RightGene RightBreakpoint
[JunctionReads SpanningFrags] LargeAnchorSupport FFPM LeftBreakDinuc LeftBreakEntropy
RightBreakDinuc RightBreakEntropy annots``, with ``--examine_coding_effect`` (and in
FusionInspector output) followed by ``CDS_LEFT_ID CDS_LEFT_RANGE CDS_RIGHT_ID CDS_RIGHT_RANGE
PROT_FUSION_TYPE FUSION_MODEL FUSION_CDS FUSION_TRANSL PFAM_LEFT PFAM_RIGHT``. The left gene is
the 5' partner; genes are written ``SYMBOL^ENSG…`` and breakpoints ``chr:pos:strand``.
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
    parse_table,
    raise_bad_value,
    to_int,
)
from tumorboard.io.tables import LayerData, conform

__all__ = ["read_arriba", "read_fusion_table", "read_star_fusion"]

_READING_FRAMES = ("in-frame", "out-of-frame", "stop-codon", "unknown")
_BREAKPOINT = re.compile(r"^(?P<chrom>[^:\s]+):(?P<pos>[0-9][0-9,]*)(?::(?P<strand>[+\-.]))?$")


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------


def _human_chrom(name: str) -> str:
    """``22``/``chr22``/``MT`` -> ``chr22``/``chrM``; other contigs unchanged."""
    core = name[3:] if name.lower().startswith("chr") else name
    upper = core.upper()
    if upper in {str(i) for i in range(1, 23)} | {"X", "Y"}:
        return "chr" + upper
    if upper in ("M", "MT"):
        return "chrM"
    return name


def _breakpoints(table: TextTable, column: str) -> tuple[pd.Series, pd.Series]:
    """Parse ``chr:pos`` or ``chr:pos:strand`` cells -> (``chrN:pos``, strand or NA)."""
    cells = column_cells(table, column)
    parts = cells.str.extract(_BREAKPOINT)
    bad = parts["chrom"].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise_bad_value(table, column, i, cells.iloc[i], "'chromosome:position', e.g. "
                        "'chr22:29287134'",
                        problem=f"'{cells.iloc[i]}' is not a breakpoint")
    pos = parts["pos"].str.replace(",", "", regex=False).astype("int64")
    if (pos < 1).any():
        i = int(np.flatnonzero((pos < 1).to_numpy())[0])
        raise_bad_value(table, column, i, cells.iloc[i], "a 1-based position > 0",
                        problem=f"breakpoint position in '{cells.iloc[i]}' is not > 0")
    chrom = parts["chrom"].map(_human_chrom)
    strand = parts["strand"].where(parts["strand"].isin(["+", "-"]))
    return chrom + ":" + pos.astype(str), strand


def _fusions_frame(
    gene5: pd.Series | np.ndarray,
    gene3: pd.Series | np.ndarray,
    *,
    breakpoint5: object,
    breakpoint3: object,
    strand5: object,
    strand3: object,
    split_reads: object,
    spanning_pairs: object,
    reading_frame: object,
    confidence: object,
    caller: object,
    source: Path,
) -> pd.DataFrame:
    g5 = pd.Series(np.asarray(gene5, dtype=object))
    g3 = pd.Series(np.asarray(gene3, dtype=object))
    n = len(g5)

    def col(values: object) -> object:
        if isinstance(values, pd.Series):
            return values.to_numpy(dtype=object)
        return values if isinstance(values, np.ndarray) else [values] * n

    # A partner without an annotated gene (viral contig, Arriba '.') is named by its contig.
    fusion = (g5.fillna(_contig_of(col(breakpoint5))) + "::"
              + g3.fillna(_contig_of(col(breakpoint3))))
    frame = pd.DataFrame({
        "gene5": g5.to_numpy(),
        "gene3": g3.to_numpy(),
        "fusion": fusion.to_numpy(),
        "breakpoint5": col(breakpoint5),
        "breakpoint3": col(breakpoint3),
        "strand5": col(strand5),
        "strand3": col(strand3),
        "split_reads": col(split_reads),
        "spanning_pairs": col(spanning_pairs),
        "reading_frame": col(reading_frame),
        "confidence": col(confidence),
        "caller": col(caller),
    })
    for name in ("split_reads", "spanning_pairs"):
        frame[name] = pd.Series(frame[name], dtype="float64").astype("Int64")
    return conform(frame, "fusions", source=str(source))


def _contig_of(breakpoints: object) -> pd.Series:
    values = pd.Series(np.asarray(breakpoints, dtype=object))
    return values.str.split(":", n=1).str[0].fillna("?")


def _gene_notes(frame: pd.DataFrame, notes: list[str]) -> None:
    genes = pd.concat([frame["gene5"], frame["gene3"]]).dropna().unique()
    unknown = [g for g in genes if g not in reference.gene_symbols()]
    if unknown:
        notes.append(f"{len(unknown):,} partner gene name(s) not in GENCODE "
                     f"({listing(sorted(unknown), 5)}); kept as written")


def _summary(frame: pd.DataFrame, notes: list[str]) -> None:
    if len(frame) == 0:
        notes.insert(0, "no fusions reported")
        return
    text = f"{len(frame):,} fusion call(s)"
    frames = frame["reading_frame"].value_counts()
    if frames.get("in-frame", 0):
        text += f", {frames['in-frame']:,} in-frame"
    notes.insert(0, text)


# ---------------------------------------------------------------------------------------------
# Arriba
# ---------------------------------------------------------------------------------------------

_ARRIBA_REQUIRED = ("gene1", "gene2", "strand1(gene/fusion)", "strand2(gene/fusion)",
                    "breakpoint1", "breakpoint2", "split_reads1", "split_reads2",
                    "discordant_mates", "confidence")
_INTERGENIC = re.compile(r"([^,()]+)\((\d+)\)")


def _arriba_gene(name: str) -> tuple[str | None, bool]:
    """Arriba gene cell -> (symbol, intergenic?).

    An intergenic breakpoint is written as the flanking genes with their distances,
    ``GENE1(1234),GENE2(5678)``; the nearer one names the partner. ``.`` = no annotated gene.
    """
    name = name.strip()
    if name in ("", "."):
        return None, False
    hits = _INTERGENIC.findall(name)
    if hits:
        nearest = min(hits, key=lambda hit: int(hit[1]))
        return nearest[0].strip(), True
    return name, False


def _arriba_roles(fusion_strand: pd.Series, gene_strand: pd.Series,
                  direction: pd.Series) -> np.ndarray:
    """'5', '3' or '' per breakpoint from its transcribed strand and direction.

    Arriba's ``direction`` says on which side of the breakpoint the partner is fused
    ("downstream" = at higher coordinates). A 5' partner keeps the part of its transcript
    before the breakpoint, so transcribed on + the partner lies downstream, on - upstream;
    a 3' partner is the reverse. When the transcribed strand is unknown (``.``), the gene's
    annotated strand is used, as Arriba itself does when predicting the 5' end.
    """
    strand = fusion_strand.where(fusion_strand.isin(["+", "-"]), gene_strand)
    down = direction == "downstream"
    up = direction == "upstream"
    five = ((strand == "+") & down) | ((strand == "-") & up)
    three = ((strand == "+") & up) | ((strand == "-") & down)
    return np.where(five, "5", np.where(three, "3", ""))


def read_arriba(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read an Arriba ``fusions.tsv`` (Arriba 1.x/2.x).

    Arriba writes the 5' partner as ``gene1`` when it can tell which promoter drives the
    fusion transcript, and the file order otherwise (Arriba docs, "Output files": gene1/gene2;
    source ``write_fusions_to_file``). The reader therefore re-derives the orientation of every
    row from ``strand1/2(gene/fusion)`` and ``direction1/2`` and swaps the partners when
    ``gene1`` is the 3' end; rows whose orientation cannot be told keep the file order (noted).

    Parameters
    ----------
    path
        ``fusions.tsv`` (or ``fusions.discarded.tsv``), plain or gzipped.
    sample
        Ignored: an Arriba file holds one sample and names none.

    Returns
    -------
    LayerData
        ``fusions`` with ``split_reads = split_reads1 + split_reads2``,
        ``spanning_pairs = discordant_mates``, ``reading_frame`` as Arriba states it (``.`` ->
        ``unknown``), ``confidence`` high/medium/low, ``caller = 'arriba'``;
        ``tool_version`` is ``None`` (Arriba writes no version into the file).

    Raises
    ------
    InputError
        Missing Arriba columns (named); malformed breakpoints, strands, read counts,
        confidence or reading frame (line and column named).
    """
    del sample  # single-sample format
    p, text, notes = read_text(path)
    table = parse_table(p, text, hash_header=True, sep="\t")
    for name in _ARRIBA_REQUIRED:
        if name not in table.header:
            raise InputError(
                f"no '{name}' column: not an Arriba fusions.tsv",
                file=p, line=table.header_line, column=name,
                expected="the Arriba header '#gene1<TAB>gene2<TAB>strand1(gene/fusion)...'",
                fix="give Arriba's fusions.tsv as written, or use format 'fusion_tsv' for "
                    "other tables",
            )
    n = len(table.frame)

    strands = {}
    for k in ("1", "2"):
        column = f"strand{k}(gene/fusion)"
        cells = column_cells(table, column)
        parts = cells.str.extract(r"^([+\-.])/([+\-.])$")
        bad = parts[0].isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise_bad_value(table, column, i, cells.iloc[i], "'+/+', '-/-', '+/.', './-' ...",
                            problem=f"'{cells.iloc[i]}' is not an Arriba strand pair")
        strands[k] = (parts[0], parts[1])  # (gene strand, transcribed strand)

    directions = {}
    for k in ("1", "2"):
        column = f"direction{k}"
        if column in table.header:
            cells = column_cells(table, column)
            bad = (~cells.isin(["upstream", "downstream"])).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise_bad_value(table, column, i, cells.iloc[i], "upstream or downstream",
                                problem=f"'{cells.iloc[i]}' is not a direction")
            directions[k] = cells
        else:
            directions[k] = pd.Series([""] * n)

    bp = {k: _breakpoints(table, f"breakpoint{k}") for k in ("1", "2")}
    reads1 = to_int(table, "split_reads1", minimum=0)
    reads2 = to_int(table, "split_reads2", minimum=0)
    mates = to_int(table, "discordant_mates", minimum=0)

    confidence = column_cells(table, "confidence").str.lower()
    bad = (~confidence.isin(["high", "medium", "low"])).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise_bad_value(table, "confidence", i, confidence.iloc[i], "high, medium or low",
                        problem=f"'{confidence.iloc[i]}' is not an Arriba confidence")

    if "reading_frame" in table.header:
        frame_cells = column_cells(table, "reading_frame").replace({".": "unknown", "": "unknown"})
        bad = (~frame_cells.isin(_READING_FRAMES)).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise_bad_value(table, "reading_frame", i, frame_cells.iloc[i],
                            "in-frame, out-of-frame, stop-codon or '.'",
                            problem=f"'{frame_cells.iloc[i]}' is not an Arriba reading frame")
    else:
        frame_cells = pd.Series(["unknown"] * n)

    genes = {}
    intergenic = np.zeros(n, dtype=bool)
    for k in ("1", "2"):
        cells = column_cells(table, f"gene{k}")
        parsed = {v: _arriba_gene(v) for v in cells.unique()}
        genes[k] = cells.map(lambda v, parsed=parsed: parsed[v][0])
        intergenic |= cells.map(lambda v, parsed=parsed: parsed[v][1]).to_numpy(dtype=bool)

    role1 = _arriba_roles(strands["1"][1], strands["1"][0], directions["1"])
    role2 = _arriba_roles(strands["2"][1], strands["2"][0], directions["2"])
    swap = ((role1 == "3") & (role2 != "3")) | ((role1 == "") & (role2 == "5"))
    undetermined = ~swap & ~((role1 == "5") | (role2 == "3"))

    def pick(first: object, second: object) -> tuple[np.ndarray, np.ndarray]:
        a = np.asarray(first, dtype=object)
        b = np.asarray(second, dtype=object)
        return np.where(swap, b, a), np.where(swap, a, b)

    gene5, gene3 = pick(genes["1"], genes["2"])
    bp5, bp3 = pick(bp["1"][0], bp["2"][0])
    transcribed = {k: strands[k][1].where(strands[k][1] != ".", strands[k][0]) for k in "12"}
    s5, s3 = pick(transcribed["1"].where(transcribed["1"] != "."),
                  transcribed["2"].where(transcribed["2"] != "."))

    frame = _fusions_frame(
        gene5, gene3,
        breakpoint5=bp5, breakpoint3=bp3, strand5=s5, strand3=s3,
        split_reads=reads1 + reads2, spanning_pairs=mates,
        reading_frame=frame_cells, confidence=confidence, caller="arriba", source=p,
    )
    if swap.any():
        notes.append(f"{int(swap.sum()):,} fusion(s) listed with gene1 as the 3' partner; "
                     "re-oriented 5'→3' from strands and directions")
    if undetermined.any():
        notes.append(f"{int(undetermined.sum()):,} fusion(s) whose 5'/3' order could not be "
                     "determined (strand unknown); file order kept")
    if intergenic.any():
        notes.append(f"{int(intergenic.sum()):,} fusion(s) with an intergenic breakpoint; the "
                     "nearest flanking gene names the partner")
    counts = frame["confidence"].value_counts()
    if len(frame):
        notes.append("confidence: " + ", ".join(
            f"{counts.get(level, 0):,} {level}" for level in ("high", "medium", "low")))
    _gene_notes(frame, notes)
    _summary(frame, notes)
    return LayerData(tables={"fusions": frame}, samples_in_file=[], tool="Arriba",
                     tool_version=None, notes=notes)


# ---------------------------------------------------------------------------------------------
# STAR-Fusion / FusionInspector
# ---------------------------------------------------------------------------------------------

_STAR_REQUIRED = ("FusionName", "JunctionReadCount", "SpanningFragCount", "LeftGene",
                  "LeftBreakpoint", "RightGene", "RightBreakpoint")
#: PROT_FUSION_TYPE of STAR-Fusion --examine_coding_effect / FusionInspector.
_PROT_FUSION_TYPE = {"INFRAME": "in-frame", "FRAMESHIFT": "out-of-frame"}


def read_star_fusion(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read STAR-Fusion ``star-fusion.fusion_predictions(.abridged)(.coding_effect).tsv``.

    The left gene is the 5' partner (STAR-Fusion wiki, "Output"). ``split_reads`` =
    ``JunctionReadCount`` and ``spanning_pairs`` = ``SpanningFragCount`` (whole fragments, not
    the multi-mapping-weighted ``est_J``/``est_S``). ``reading_frame`` comes from
    ``PROT_FUSION_TYPE`` when the file has it (``--examine_coding_effect`` or FusionInspector:
    ``INFRAME`` -> in-frame, ``FRAMESHIFT`` -> out-of-frame, ``.`` -> unknown), else unknown.

    Parameters
    ----------
    path
        The predictions file, plain or gzipped.
    sample
        Ignored: a STAR-Fusion file holds one sample and names none.

    Returns
    -------
    LayerData
        ``fusions`` with ``caller = 'star-fusion'`` (``'fusioninspector'`` for
        FusionInspector output) and ``confidence`` missing (STAR-Fusion gives none).

    Raises
    ------
    InputError
        Missing STAR-Fusion columns (named); malformed genes, breakpoints or read counts (line
        and column named).
    """
    del sample
    p, text, notes = read_text(path)
    table = parse_table(p, text, hash_header=True, sep="\t")
    for name in _STAR_REQUIRED:
        if name not in table.header:
            raise InputError(
                f"no '{name}' column: not a STAR-Fusion predictions file",
                file=p, line=table.header_line, column=name,
                expected="the STAR-Fusion header '#FusionName<TAB>JunctionReadCount<TAB>...'",
                fix="give star-fusion.fusion_predictions(.abridged).tsv as written, or use "
                    "format 'fusion_tsv' for other tables",
            )
    fusion_inspector = "NumCounterFusionLeft" in table.header
    caller = "fusioninspector" if fusion_inspector else "star-fusion"
    n = len(table.frame)

    names = column_cells(table, "FusionName").str.split("--", n=1, expand=True, regex=False)
    names = names.reindex(columns=[0, 1])
    genes = {}
    for side, k in (("Left", 0), ("Right", 1)):
        column = f"{side}Gene"
        symbol = column_cells(table, column).str.split("^", n=1, regex=False).str[0].str.strip()
        symbol = symbol.where(symbol != "", names[k])
        missing = symbol.isna() | (symbol == "")
        if missing.any():
            i = int(np.flatnonzero(missing.to_numpy())[0])
            raise_bad_value(table, column, i, "", "'SYMBOL^ENSG…'",
                            problem="gene name is empty")
        genes[side] = symbol
    left_bp, left_strand = _breakpoints(table, "LeftBreakpoint")
    right_bp, right_strand = _breakpoints(table, "RightBreakpoint")
    junction = to_int(table, "JunctionReadCount", minimum=0)
    spanning = to_int(table, "SpanningFragCount", minimum=0)

    if "PROT_FUSION_TYPE" in table.header:
        raw = column_cells(table, "PROT_FUSION_TYPE").str.upper()
        frame_cells = raw.map(_PROT_FUSION_TYPE).fillna("unknown")
    else:
        frame_cells = pd.Series(["unknown"] * n)
        if n:
            notes.append("no coding-effect columns: reading frames unknown (run STAR-Fusion "
                         "with --examine_coding_effect, or FusionInspector, to get them)")

    frame = _fusions_frame(
        genes["Left"], genes["Right"],
        breakpoint5=left_bp, breakpoint3=right_bp, strand5=left_strand, strand3=right_strand,
        split_reads=junction, spanning_pairs=spanning, reading_frame=frame_cells,
        confidence=pd.NA, caller=caller, source=p,
    )
    _gene_notes(frame, notes)
    _summary(frame, notes)
    return LayerData(tables={"fusions": frame}, samples_in_file=[],
                     tool="FusionInspector" if fusion_inspector else "STAR-Fusion",
                     tool_version=None, notes=notes)


# ---------------------------------------------------------------------------------------------
# Generic fusion table
# ---------------------------------------------------------------------------------------------

_G5 = ("gene5", "5_prime_gene", "five_prime_gene", "gene_5prime", "5p_gene", "gene5p",
       "5'gene", "5' gene", "gene_5", "left_gene")
_G3 = ("gene3", "3_prime_gene", "three_prime_gene", "gene_3prime", "3p_gene", "gene3p",
       "3'gene", "3' gene", "gene_3", "right_gene")
_FUSION_NAME = ("fusion", "fusion_name", "FusionName")
_BP5 = ("breakpoint5", "5_prime_breakpoint", "five_prime_breakpoint", "breakpoint_5prime",
        "5p_breakpoint", "left_breakpoint")
_BP3 = ("breakpoint3", "3_prime_breakpoint", "three_prime_breakpoint", "breakpoint_3prime",
        "3p_breakpoint", "right_breakpoint")
_SPLIT = ("split_reads", "supporting_reads", "junction_reads", "JunctionReadCount",
          "junction_read_count", "split_read_count")
_SPAN = ("spanning_pairs", "spanning_reads", "spanning_fragments", "SpanningFragCount",
         "discordant_mates", "discordant_pairs")
_FRAME = ("reading_frame", "frame", "PROT_FUSION_TYPE")
_CONFIDENCE = ("confidence",)
_CALLER = ("caller", "tool", "method")
_FUSION_SAMPLE = ("sample", "sample_id", "sample_name", "Tumor_Sample_Barcode")
#: Reading-frame spellings (by :func:`~tumorboard.io._tabular.column_key`) -> contract value.
_FRAME_VALUES = {
    "inframe": "in-frame", "outofframe": "out-of-frame", "frameshift": "out-of-frame",
    "stopcodon": "stop-codon", "unknown": "unknown", "": "unknown", "na": "unknown",
}


def read_fusion_table(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read a generic fusion table (TSV or CSV), e.g. a clinical panel report export.

    Columns (matched ignoring case and punctuation): 5' gene ``gene5``/``5_prime_gene``/
    ``five_prime_gene``, 3' gene ``gene3``/``3_prime_gene``/… (or one ``fusion`` column
    ``GENE5::GENE3``, the legacy ``GENE5--GENE3`` also accepted); supporting reads
    ``split_reads``/``supporting_reads``/``junction_reads`` (required); optional
    ``breakpoint5``/``breakpoint3`` (``chr:pos``), ``spanning_pairs``, ``reading_frame``
    (in-frame / out-of-frame / frameshift / stop-codon / unknown), ``confidence``,
    ``caller``, and ``sample`` for multi-sample tables.

    Parameters
    ----------
    path
        The table, plain or gzipped; comma-separated if the header has commas but no tabs.
    sample
        The ``sample`` value to read when the table holds several samples.

    Returns
    -------
    LayerData
        ``fusions``; ``caller`` from the ``caller`` column, else missing.

    Raises
    ------
    InputError
        No partner-gene or supporting-read column (named); empty gene names, non-integer read
        counts, malformed breakpoints or unknown reading frames (line and column named);
        several samples and none chosen.
    """
    p, text, notes = read_text(path)
    table = parse_table(p, text)
    g5_col = find_column(table, _G5)
    g3_col = find_column(table, _G3)
    name_col = find_column(table, _FUSION_NAME)
    if (g5_col is None or g3_col is None) and name_col is None:
        find_column(table, _G5 if g5_col is None else _G3, required=True,
                    what="fusion partner gene")
    split_col = find_column(table, _SPLIT, required=True, what="junction-spanning reads")
    n = len(table.frame)

    keep = np.ones(n, dtype=bool)
    sample_col = find_column(table, _FUSION_SAMPLE)
    samples_in_file: list[str] = []
    if sample_col is not None:
        ids = column_cells(table, sample_col)
        samples_in_file = list(dict.fromkeys(ids[ids != ""]))
        if samples_in_file:
            chosen = choose_sample(samples_in_file, sample, file=p, column=sample_col)
            keep = (ids == chosen).to_numpy()

    if g5_col is not None and g3_col is not None:
        gene5, gene3 = column_cells(table, g5_col), column_cells(table, g3_col)
        gene_cols = (g5_col, g3_col)
    else:
        assert name_col is not None
        parts = column_cells(table, name_col).str.extract(
            r"^\s*([^:\s]+?)\s*(?:::|--)\s*(\S+?)\s*$")
        gene5, gene3 = parts[0], parts[1]
        gene_cols = (name_col, name_col)
        bad = gene5.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise_bad_value(table, name_col, i, column_cells(table, name_col).iloc[i],
                            "'GENE5::GENE3'",
                            problem=f"'{column_cells(table, name_col).iloc[i]}' is not a fusion "
                                     "name")
    for genes, column in ((gene5, gene_cols[0]), (gene3, gene_cols[1])):
        empty = (genes.isna() | (genes == "")).to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise_bad_value(table, column, i, "", "an HGNC gene symbol",
                            problem="gene name is empty")

    na = pd.Series([pd.NA] * n, dtype=object)
    bp5 = bp3 = strand5 = strand3 = na
    bp5_col, bp3_col = find_column(table, _BP5), find_column(table, _BP3)
    if bp5_col is not None:
        bp5, strand5 = _breakpoints_optional(table, bp5_col)
    if bp3_col is not None:
        bp3, strand3 = _breakpoints_optional(table, bp3_col)
    split = to_int(table, split_col, minimum=0)
    span_col = find_column(table, _SPAN)
    spanning = (to_int(table, span_col, allow_missing=True, minimum=0)
                if span_col else np.full(n, np.nan))

    frame_col = find_column(table, _FRAME)
    if frame_col is not None:
        raw = column_cells(table, frame_col)
        mapped = raw.map(lambda v: _FRAME_VALUES.get(column_key(v)))
        bad = mapped.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise_bad_value(table, frame_col, i, raw.iloc[i],
                            "in-frame, out-of-frame, frameshift, stop-codon or unknown",
                            problem=f"'{raw.iloc[i]}' is not a reading frame")
        frames = mapped
    else:
        frames = pd.Series(["unknown"] * n)
    conf_col = find_column(table, _CONFIDENCE)
    confidence = (column_cells(table, conf_col).str.lower().replace({"": pd.NA})
                  if conf_col else na)
    caller_col = find_column(table, _CALLER)
    caller = column_cells(table, caller_col).replace({"": pd.NA}) if caller_col else na

    sel = np.flatnonzero(keep)

    def take(values: object) -> np.ndarray:
        return np.asarray(values, dtype=object)[sel]

    frame = _fusions_frame(
        take(gene5), take(gene3),
        breakpoint5=take(bp5), breakpoint3=take(bp3), strand5=take(strand5),
        strand3=take(strand3), split_reads=take(split), spanning_pairs=take(spanning),
        reading_frame=take(frames), confidence=take(confidence), caller=take(caller),
        source=p,
    )
    _gene_notes(frame, notes)
    _summary(frame, notes)
    return LayerData(tables={"fusions": frame}, samples_in_file=samples_in_file, notes=notes)


def _breakpoints_optional(table: TextTable, column: str) -> tuple[pd.Series, pd.Series]:
    """Like :func:`_breakpoints`, with empty/NA cells allowed (-> missing)."""
    cells = column_cells(table, column)
    present = ~cells.isin(["", "NA", ".", "-"])
    bp = pd.Series([pd.NA] * len(cells), dtype=object)
    strand = pd.Series([pd.NA] * len(cells), dtype=object)
    if present.any():
        rows = np.flatnonzero(present.to_numpy())
        sub = TextTable(table.path, table.header, table.header_line,
                        table.frame.iloc[rows].reset_index(drop=True), table.lines[rows])
        b, s = _breakpoints(sub, column)
        bp.iloc[rows] = b.to_numpy(dtype=object)
        strand.iloc[rows] = s.to_numpy(dtype=object)
    return bp, strand

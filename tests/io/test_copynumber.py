"""Tests of the copy-number readers (SEG, ASCAT/FACETS segments, gene-level tables)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard import reference
from tumorboard.errors import InputError
from tumorboard.io.copynumber import read_gene_copy_number, read_seg, segments_to_genes
from tumorboard.io.tables import TABLES

DATA = Path(__file__).resolve().parents[1] / "data" / "copynumber"
COHORT_SEG = DATA / "cohort.seg"
ASCAT = DATA / "DDLS_02_T.ascat.segments.txt"
GISTIC = DATA / "all_data_by_genes.txt"

SEG_HEADER = "ID\tchrom\tloc.start\tloc.end\tnum.mark\tseg.mean\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def gene_row(table: pd.DataFrame, gene: str) -> pd.Series:
    rows = table[table["gene"] == gene]
    assert len(rows) == 1, f"{gene}: {len(rows)} rows"
    return rows.iloc[0]


# -- SEG: the DDLS 12q14-q15 amplicon ---------------------------------------------------------


@pytest.fixture(scope="module")
def ddls():
    return read_seg(COHORT_SEG, sample="DDLS_02_T", genome_build="GRCh38")


def test_seg_tables_follow_the_contract(ddls):
    for name in ("segments", "gene_copy_number"):
        table = ddls.tables[name]
        assert list(table.columns) == list(TABLES[name])
        assert {c: str(t) for c, t in table.dtypes.items()} == TABLES[name]


def test_seg_reads_only_the_chosen_sample_in_genome_order(ddls):
    seg = ddls.tables["segments"]
    assert ddls.samples_in_file == ["DSRCT_01_T", "DDLS_02_T"]
    assert ddls.genome_build == "GRCh38"
    assert len(seg) == 10
    assert list(seg["chrom"].unique()) == ["chr9", "chr11", "chr12", "chr22"]
    amp = seg[(seg["chrom"] == "chr12") & (seg["start"] == 68700213)].iloc[0]
    assert amp["end"] == 69650000
    assert amp["num_markers"] == 57
    assert amp["log2_ratio"] == pytest.approx(3.1021)
    assert pd.isna(amp["total_cn"])


@pytest.mark.parametrize(
    ("gene", "log2"),
    [("MDM2", 3.1021), ("FRS2", 3.1021), ("CDK4", 2.8734), ("HMGA2", 0.4120),
     ("CDKN2A", -1.1873)],
)
def test_seg_amplicon_genes_get_the_segment_log2(ddls, gene, log2):
    row = gene_row(ddls.tables["gene_copy_number"], gene)
    assert row["log2_ratio"] == pytest.approx(log2)
    assert row["segment_fraction"] == pytest.approx(1.0)
    assert row["n_segments"] == 1


def test_seg_gene_positions_come_from_gencode(ddls):
    row = gene_row(ddls.tables["gene_copy_number"], "MDM2")
    assert (row["chrom"], row["start"], row["end"]) == ("chr12", 68808177, 68845544)


def test_seg_gene_across_a_breakpoint_takes_the_larger_part(ddls):
    # BEST3 chr12:69,643,360-69,699,476 straddles the amplicon end at 69,650,000:
    # 6,641 bp in the amplicon, 49,476 bp in the next segment.
    row = gene_row(ddls.tables["gene_copy_number"], "BEST3")
    assert row["n_segments"] == 2
    assert row["log2_ratio"] == pytest.approx(-0.0211)
    assert row["segment_fraction"] == pytest.approx(49476 / 56117)


def test_seg_gene_table_is_protein_coding_only(ddls):
    genes = reference.genes()
    coding = set(genes.loc[genes["gene_type"] == "protein_coding", "symbol"])
    table = ddls.tables["gene_copy_number"]
    assert set(table["gene"]) <= coding
    assert "MDM2" in set(table["gene"])
    assert not table["gene"].duplicated().any()
    assert any("protein-coding" in note for note in ddls.notes)


def test_seg_other_sample_is_not_amplified():
    data = read_seg(COHORT_SEG, sample="DSRCT_01_T", genome_build="GRCh38")
    assert gene_row(data.tables["gene_copy_number"], "MDM2")["log2_ratio"] == pytest.approx(
        0.0213)
    assert "CDKN2A" in set(data.tables["gene_copy_number"]["gene"])


def test_seg_several_samples_and_none_chosen():
    with pytest.raises(InputError) as err:
        read_seg(COHORT_SEG)
    msg = str(err.value)
    assert "cohort.seg" in msg and "'DSRCT_01_T'" in msg and "'DDLS_02_T'" in msg
    assert "column:" in msg


def test_seg_sample_not_in_file():
    with pytest.raises(InputError) as err:
        read_seg(COHORT_SEG, sample="LMS_99_T")
    assert "'LMS_99_T' is not in the file" in str(err.value)
    assert "'DDLS_02_T'" in str(err.value)


# -- allele-specific segments -----------------------------------------------------------------


def test_ascat_segments_give_absolute_copy_numbers():
    data = read_seg(ASCAT)
    assert data.tool == "ASCAT"
    assert data.samples_in_file == ["DDLS_02_T"]
    # chrX ends at 155,701,383: beyond GRCh37's chrX (155,270,560), within GRCh38.
    assert data.genome_build == "GRCh38"
    assert any("inferred" in note for note in data.notes)
    genes = data.tables["gene_copy_number"]
    mdm2 = gene_row(genes, "MDM2")
    assert (mdm2["total_cn"], mdm2["major_cn"], mdm2["minor_cn"]) == (18, 17, 1)
    assert np.isnan(mdm2["log2_ratio"])
    cdkn2a = gene_row(genes, "CDKN2A")
    assert (cdkn2a["total_cn"], cdkn2a["major_cn"], cdkn2a["minor_cn"]) == (1, 1, 0)
    assert gene_row(genes, "AR")["chrom"] == "chrX"


def test_facets_cncf_columns_and_chromosome_23(tmp_path):
    text = (
        "ID\tchrom\tseg\tnum.mark\tnhet\tcnlr.median\tmafR\tsegclust\tcnlr.median.clust\t"
        "mafR.clust\tstart\tend\tcf.em\ttcn.em\tlcn.em\n"
        "T1\t12\t1\t2200\t310\t1.412\t0.51\t3\t1.401\t0.49\t68700213\t69650000\t0.81\t9\t2\n"
        "T1\t23\t2\t4100\t0\t-0.512\t0.02\t1\t-0.498\t0.02\t2781480\t155701383\t0.9\t1\tNA\n"
    )
    data = read_seg(write(tmp_path, "T1.cncf.txt", text), genome_build="GRCh38")
    assert data.tool == "FACETS"
    seg = data.tables["segments"]
    assert list(seg["chrom"]) == ["chr12", "chrX"]
    assert seg["log2_ratio"].tolist() == pytest.approx([1.412, -0.512])
    assert (seg.loc[0, "total_cn"], seg.loc[0, "major_cn"], seg.loc[0, "minor_cn"]) == (9, 7, 2)
    assert seg.loc[1, "total_cn"] == 1
    assert pd.isna(seg.loc[1, "minor_cn"]) and pd.isna(seg.loc[1, "major_cn"])


def test_tcga_spelling_scientific_positions_and_track_line(tmp_path):
    text = (
        "#track name=DDLS graphType=heatmap\n"
        "Sample\tChromosome\tStart\tEnd\tNum_Probes\tSegment_Mean\n"
        "TCGA-DX-A1KU-01A\tchr12\t6.8700213E7\t69650000\t57\t3.1021\n"
    )
    data = read_seg(write(tmp_path, "tcga.seg.txt", text), genome_build="hg38")
    seg = data.tables["segments"]
    assert seg.loc[0, "start"] == 68700213
    assert data.samples_in_file == ["TCGA-DX-A1KU-01A"]
    assert gene_row(data.tables["gene_copy_number"], "MDM2")["log2_ratio"] == pytest.approx(
        3.1021)


def test_alt_contigs_are_dropped_with_a_note(tmp_path):
    text = SEG_HEADER + "S\t12\t100\t200\t5\t0.1\nS\tGL000220.1\t1\t5000\t3\t0.4\n"
    data = read_seg(write(tmp_path, "alt.seg", text), genome_build="GRCh38")
    assert len(data.tables["segments"]) == 1
    assert any("GL000220.1" in note for note in data.notes)


def test_grch37_file_has_no_gene_table_and_says_liftover(tmp_path):
    text = SEG_HEADER + "S\t12\t69203000\t70000000\t40\t3.0\n"
    data = read_seg(write(tmp_path, "b37.seg", text), genome_build="hg19")
    assert data.genome_build == "GRCh37"
    assert len(data.tables["segments"]) == 1
    assert len(data.tables["gene_copy_number"]) == 0
    assert list(data.tables["gene_copy_number"].columns) == list(TABLES["gene_copy_number"])
    assert any("lift" in note and "GRCh38" in note for note in data.notes)


def test_gzipped_seg_reads_like_plain(tmp_path):
    path = tmp_path / "cohort.seg.gz"
    path.write_bytes(gzip.compress(COHORT_SEG.read_bytes()))
    data = read_seg(path, sample="DDLS_02_T", genome_build="GRCh38")
    assert gene_row(data.tables["gene_copy_number"], "CDK4")["log2_ratio"] == pytest.approx(
        2.8734)


# -- SEG: bad input ---------------------------------------------------------------------------


def test_segment_beyond_grch37_chromosome_end_says_other_build(tmp_path):
    # chr1 is 249,250,621 bp on GRCh37 and 248,956,422 on GRCh38; chrX 155,270,560 / 156,040,895.
    text = SEG_HEADER + "S\t1\t100\t248000000\t90\t0.0\nS\tX\t100\t155900000\t80\t0.1\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "b38.seg", text), genome_build="GRCh37")
    e = err.value
    assert (e.line, e.column) == (3, "loc.end")
    assert "b38.seg:3" in str(e)
    assert "beyond the end of chrX in GRCh37" in str(e)
    assert "probably on GRCh38" in str(e)


def test_end_before_start_names_line_and_column(tmp_path):
    text = SEG_HEADER + "S\t12\t100\t200\t5\t0.1\nS\t12\t900\t300\t5\t0.2\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "rev.seg", text))
    assert (err.value.line, err.value.column) == (3, "loc.end")
    assert "rev.seg:3" in str(err.value) and "before its start" in str(err.value)


def test_non_numeric_seg_mean_names_line_and_column(tmp_path):
    text = SEG_HEADER + "S\t12\t100\t200\t5\t0.1\n\nS\t12\t300\t400\t5\t0,45\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "comma.seg", text))
    e = err.value
    # Line 4: the blank line 3 still counts, as an editor shows it.
    assert (e.line, e.column) == (4, "seg.mean")
    assert "'0,45' is not a number" in str(e)
    assert "decimal separator" in str(e)


def test_missing_value_column_is_named(tmp_path):
    text = "ID\tchrom\tloc.start\tloc.end\tnum.mark\n" + "S\t12\t100\t200\t5\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "noval.seg", text))
    assert "'seg.mean'" in str(err.value)
    assert err.value.line == 1


def test_missing_chromosome_column_is_named(tmp_path):
    text = "ID\tcontig\tloc.start\tloc.end\tnum.mark\tseg.mean\nS\t12\t100\t200\t5\t0.1\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "nochrom.seg", text))
    assert err.value.column == "chrom"
    assert "no 'chrom' column" in str(err.value)


def test_overlapping_segments_of_one_sample(tmp_path):
    text = (SEG_HEADER + "S\t12\t100\t5000\t5\t0.1\nT\t12\t100\t5000\t5\t0.1\n"
            "S\t12\t4000\t9000\t5\t0.2\n")
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "overlap.seg", text), sample="S")
    e = err.value
    assert e.line == 4 and "overlaps the segment on line 2" in str(e)
    assert e.sample == "S"


def test_shared_boundary_base_is_tolerated(tmp_path):
    text = SEG_HEADER + "S\t12\t100\t5000\t5\t0.1\nS\t12\t5000\t9000\t5\t0.2\n"
    data = read_seg(write(tmp_path, "touch.seg", text))
    assert len(data.tables["segments"]) == 2
    assert any("adjacent" in note for note in data.notes)


def test_unknown_chromosome(tmp_path):
    text = SEG_HEADER + "S\t12\t100\t200\t5\t0.1\nS\tchr25\t100\t200\t5\t0.1\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "chr25.seg", text))
    assert (err.value.line, err.value.column) == (3, "chrom")
    assert "unknown chromosome 'chr25'" in str(err.value)


def test_position_zero_is_rejected(tmp_path):
    text = SEG_HEADER + "S\t12\t0\t200\t5\t0.1\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "zero.seg", text))
    assert (err.value.line, err.value.column) == (2, "loc.start")
    assert "1-based" in str(err.value)


def test_truncated_gzip(tmp_path):
    payload = gzip.compress(COHORT_SEG.read_bytes() * 50)
    path = tmp_path / "cut.seg.gz"
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(InputError) as err:
        read_seg(path, sample="DDLS_02_T")
    assert "cut.seg.gz" in str(err.value)
    assert "truncated or not valid gzip" in str(err.value)
    assert "re-copy" in str(err.value)


def test_empty_file(tmp_path):
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "empty.seg", "\n"))
    assert "empty.seg" in str(err.value) and "file is empty" in str(err.value)


def test_header_only_seg(tmp_path):
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "h.seg", SEG_HEADER))
    assert "no segments after the header" in str(err.value) and "h.seg:1" in str(err.value)


def test_row_with_too_many_fields(tmp_path):
    text = SEG_HEADER + "S\t12\t100\t200\t5\t0.1\nS\t12\t300\t400\t5\t0.1\textra\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "wide.seg", text))
    assert err.value.line == 3
    assert "7 fields but the header has 6 columns" in str(err.value)


def test_r_write_table_row_names_are_dropped(tmp_path):
    # write.table(ascat.output$segments, sep="\t", quote=FALSE): header one field shorter.
    text = ("sample\tchr\tstartpos\tendpos\tnMajor\tnMinor\n"
            "1\tT1\t12\t68700213\t69650000\t17\t1\n"
            "2\tT1\t12\t69650001\t133264876\t1\t1\n")
    data = read_seg(write(tmp_path, "T1.segments.txt", text), genome_build="GRCh38")
    seg = data.tables["segments"]
    assert data.samples_in_file == ["T1"]
    assert list(seg["start"]) == [68700213, 69650001]
    assert list(seg["total_cn"]) == [18, 2]


def test_unknown_build_name(tmp_path):
    text = SEG_HEADER + "S\t12\t100\t200\t5\t0.1\n"
    with pytest.raises(InputError) as err:
        read_seg(write(tmp_path, "x.seg", text), genome_build="hg17")
    assert "hg17" in str(err.value)


# -- segments_to_genes ------------------------------------------------------------------------


def _segments(rows):
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end", "log2_ratio"])
    for column in ("num_markers", "total_cn", "major_cn", "minor_cn"):
        frame[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
    return frame


def test_segments_to_genes_largest_overlap_closed_form():
    segments = _segments([("chr1", 1, 1000, 0.5), ("chr1", 1001, 2000, -1.0),
                          ("chr2", 1, 100, 2.0)])
    genes = pd.DataFrame({
        "symbol": ["A", "B", "C", "D"],
        "chrom": ["chr1", "chr1", "chr2", "chr3"],
        "start": [701, 1500, 50, 1],
        "end": [1700, 1600, 200, 10],
    })
    out = segments_to_genes(segments, genes=genes).set_index("gene")
    # A: 300 bp in segment 1, 700 bp in segment 2 -> segment 2.
    assert out.loc["A", "log2_ratio"] == -1.0
    assert out.loc["A", "segment_fraction"] == pytest.approx(0.7)
    assert out.loc["A", "n_segments"] == 2
    assert out.loc["B", "log2_ratio"] == -1.0 and out.loc["B", "segment_fraction"] == 1.0
    # C: 51 of 151 bp covered.
    assert out.loc["C", "segment_fraction"] == pytest.approx(51 / 151)
    assert "D" not in out.index
    assert list(out.index) == ["A", "B", "C"]


def test_segments_to_genes_rejects_overlapping_segments():
    segments = _segments([("chr1", 1, 1000, 0.5), ("chr1", 500, 2000, -1.0)])
    genes = pd.DataFrame({"symbol": ["A"], "chrom": ["chr1"], "start": [1], "end": [10]})
    with pytest.raises(InputError, match="segments overlap"):
        segments_to_genes(segments, genes=genes)


def test_segments_to_genes_empty():
    out = segments_to_genes(_segments([]))
    assert len(out) == 0 and list(out.columns) == list(TABLES["gene_copy_number"])


# -- gene-level tables ------------------------------------------------------------------------


def test_gistic_matrix_column_for_the_chosen_sample():
    data = read_gene_copy_number(GISTIC, sample="DDLS_02_T")
    assert data.samples_in_file == ["DSRCT_01_T", "DDLS_02_T", "LMS_03_T"]
    table = data.tables["gene_copy_number"]
    assert list(table.columns) == list(TABLES["gene_copy_number"])
    assert gene_row(table, "MDM2")["log2_ratio"] == pytest.approx(3.102)
    assert gene_row(table, "CDK4")["log2_ratio"] == pytest.approx(2.873)
    assert gene_row(table, "MDM2")["start"] == 68808177
    # GISTIC's 'PTEN|chr10' locus suffix is removed.
    assert gene_row(table, "PTEN")["chrom"] == "chr10"
    old = gene_row(table, "C11orf95")  # renamed ZFTA: kept, counted, no coordinates
    assert pd.isna(old["chrom"])
    assert any("1 gene symbol(s) not in GENCODE" in note for note in data.notes)
    assert table["n_segments"].isna().all()


def test_gistic_matrix_needs_a_sample_choice():
    with pytest.raises(InputError) as err:
        read_gene_copy_number(GISTIC)
    assert "3 samples" in str(err.value) and "'LMS_03_T'" in str(err.value)


def test_cbioportal_log2_matrix_non_numeric_cell(tmp_path):
    text = ("Hugo_Symbol\tEntrez_Gene_Id\tP1\tP2\n"
            "MDM2\t4193\t3.1\t0.0\nCDK4\t1019\tamp\t0.1\n")
    with pytest.raises(InputError) as err:
        read_gene_copy_number(write(tmp_path, "data_log2_cna.txt", text), sample="P1")
    assert (err.value.line, err.value.column) == (3, "P1")


def test_discrete_gistic_calls_are_refused(tmp_path):
    genes = ["MDM2", "CDK4", "TP53", "RB1", "PTEN"] * 5
    body = "".join(f"{g}{i}\t1\t12q15\t{(i % 5) - 2}\n" for i, g in enumerate(genes))
    path = write(tmp_path, "all_thresholded.by_genes.txt",
                 "Gene Symbol\tLocus ID\tCytoband\tT1\n" + body)
    with pytest.raises(InputError) as err:
        read_gene_copy_number(path)
    assert "discrete" in str(err.value) and err.value.column == "T1"


def test_long_gene_table(tmp_path):
    text = ("gene,sample,log2,total_cn\nMDM2,T1,3.2,24\nCDK4,T1,2.9,18\n"
            "MDM2,T2,0.0,2\n")
    data = read_gene_copy_number(write(tmp_path, "genes.csv", text), sample="T1")
    table = data.tables["gene_copy_number"]
    assert data.samples_in_file == ["T1", "T2"]
    assert list(table["gene"]) == ["MDM2", "CDK4"]
    assert gene_row(table, "MDM2")["total_cn"] == 24
    assert gene_row(table, "CDK4")["log2_ratio"] == pytest.approx(2.9)


def test_gene_table_without_gene_column(tmp_path):
    with pytest.raises(InputError) as err:
        read_gene_copy_number(write(tmp_path, "g.tsv", "name\tT1\nMDM2\t3.0\n"))
    assert "'Hugo_Symbol'" in str(err.value) and "g.tsv:1" in str(err.value)

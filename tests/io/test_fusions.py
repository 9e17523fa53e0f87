"""Tests of the fusion readers (Arriba, STAR-Fusion, generic tables)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.io.fusions import read_arriba, read_fusion_table, read_star_fusion
from tumorboard.io.tables import TABLES

DATA = Path(__file__).resolve().parents[1] / "data" / "fusions"
ARRIBA = DATA / "arriba.fusions.tsv"
STAR_ABRIDGED = DATA / "star-fusion.fusion_predictions.abridged.tsv"
STAR_CODING = DATA / "star-fusion.fusion_predictions.abridged.coding_effect.tsv"
PANEL = DATA / "panel_fusions.csv"

ARRIBA_HEADER = ARRIBA.read_text().splitlines()[0]
STAR_HEADER = STAR_ABRIDGED.read_text().splitlines()[0]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def arriba_line(**changes: str) -> str:
    """The EWSR1::WT1 line of the test file with some columns changed."""
    header = ARRIBA_HEADER.lstrip("#").split("\t")
    values = dict(zip(header, ARRIBA.read_text().splitlines()[1].split("\t"), strict=True))
    values.update(changes)
    return "\t".join(values[h] for h in header)


def assert_contract(table: pd.DataFrame) -> None:
    assert list(table.columns) == list(TABLES["fusions"])
    assert {c: str(t) for c, t in table.dtypes.items()} == TABLES["fusions"]


# -- Arriba -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def arriba():
    return read_arriba(ARRIBA)


def test_arriba_ewsr1_wt1(arriba):
    table = arriba.tables["fusions"]
    assert_contract(table)
    row = table.iloc[0]
    assert (row["gene5"], row["gene3"], row["fusion"]) == ("EWSR1", "WT1", "EWSR1::WT1")
    assert (row["breakpoint5"], row["breakpoint3"]) == ("chr22:29287134", "chr11:32396399")
    assert (row["strand5"], row["strand3"]) == ("+", "-")
    assert row["split_reads"] == 38 + 41
    assert row["spanning_pairs"] == 27
    assert row["reading_frame"] == "in-frame"
    assert row["confidence"] == "high"
    assert row["caller"] == "arriba"
    assert arriba.tool == "Arriba" and arriba.tool_version is None
    assert arriba.samples_in_file == []


def test_arriba_gene1_as_3prime_partner_is_reoriented(arriba):
    row = arriba.tables["fusions"].iloc[1]
    # File: gene1 WT1 (-/-, downstream) = 3' end; gene2 EWSR1 (+/+, downstream) = 5' end.
    assert row["fusion"] == "EWSR1::WT1"
    assert (row["breakpoint5"], row["breakpoint3"]) == ("chr22:29288251", "chr11:32396399")
    assert (row["strand5"], row["strand3"]) == ("+", "-")
    assert row["split_reads"] == 8 and row["spanning_pairs"] == 2
    assert row["reading_frame"] == "unknown"  # '.' in the file
    assert row["confidence"] == "medium"
    assert any("re-oriented" in note for note in arriba.notes)


def test_arriba_intergenic_partner_takes_the_nearest_gene(arriba):
    row = arriba.tables["fusions"].iloc[2]
    assert row["gene3"] == "CCDC73"  # 'CCDC73(16375),PRRG4(18890)'
    assert row["fusion"] == "EWSR1::CCDC73"
    assert pd.isna(row["strand3"])
    assert row["confidence"] == "low"
    assert any("intergenic" in note for note in arriba.notes)
    assert "confidence: 1 high, 1 medium, 1 low" in arriba.notes


def test_arriba_without_chr_prefix_and_swap_by_directions(tmp_path):
    line = arriba_line(**{
        "gene1": "WT1", "gene2": "EWSR1",
        "strand1(gene/fusion)": "-/-", "strand2(gene/fusion)": "+/+",
        "breakpoint1": "11:32396399", "breakpoint2": "22:29287134",
        "split_reads1": "10", "split_reads2": "4",
    })
    data = read_arriba(write(tmp_path, "fusions.tsv", ARRIBA_HEADER + "\n" + line + "\n"))
    row = data.tables["fusions"].iloc[0]
    assert row["fusion"] == "EWSR1::WT1"
    assert (row["breakpoint5"], row["breakpoint3"]) == ("chr22:29287134", "chr11:32396399")
    assert row["split_reads"] == 14


def test_arriba_undetermined_orientation_keeps_file_order(tmp_path):
    line = arriba_line(**{
        "gene1": "AAA1(100),BBB2(200)", "gene2": "CCC3(50)",
        "strand1(gene/fusion)": "./.", "strand2(gene/fusion)": "./.",
    })
    data = read_arriba(write(tmp_path, "fusions.tsv", ARRIBA_HEADER + "\n" + line + "\n"))
    row = data.tables["fusions"].iloc[0]
    assert row["fusion"] == "AAA1::CCC3"
    assert any("could not be determined" in note for note in data.notes)
    assert any("not in GENCODE" in note for note in data.notes)


def test_arriba_header_only_is_no_fusions(tmp_path):
    data = read_arriba(write(tmp_path, "fusions.tsv", ARRIBA_HEADER + "\n"))
    assert len(data.tables["fusions"]) == 0
    assert_contract(data.tables["fusions"])
    assert data.notes == ["no fusions reported"]


def test_arriba_gzipped(tmp_path):
    path = tmp_path / "fusions.tsv.gz"
    path.write_bytes(gzip.compress(ARRIBA.read_bytes()))
    assert read_arriba(path).tables["fusions"]["fusion"].iloc[0] == "EWSR1::WT1"


def test_arriba_truncated_gzip(tmp_path):
    payload = gzip.compress(ARRIBA.read_bytes() * 20)
    path = tmp_path / "fusions.tsv.gz"
    path.write_bytes(payload[:-40])
    with pytest.raises(InputError) as err:
        read_arriba(path)
    assert "fusions.tsv.gz" in str(err.value)
    assert "truncated or not valid gzip" in str(err.value)


def test_arriba_missing_column_is_named(tmp_path):
    header = ARRIBA_HEADER.replace("\tdiscordant_mates", "")
    line = arriba_line().split("\t")
    del line[11]
    with pytest.raises(InputError) as err:
        read_arriba(write(tmp_path, "fusions.tsv", header + "\n" + "\t".join(line) + "\n"))
    assert err.value.column == "discordant_mates"
    assert "no 'discordant_mates' column" in str(err.value)


def test_arriba_bad_read_count_names_line_and_column(tmp_path):
    text = ARRIBA_HEADER + "\n" + arriba_line() + "\n" + arriba_line(split_reads2="many") + "\n"
    with pytest.raises(InputError) as err:
        read_arriba(write(tmp_path, "fusions.tsv", text))
    assert (err.value.line, err.value.column) == (3, "split_reads2")
    assert "fusions.tsv:3" in str(err.value)


def test_arriba_bad_breakpoint(tmp_path):
    text = ARRIBA_HEADER + "\n" + arriba_line(breakpoint2="chr11-32396399") + "\n"
    with pytest.raises(InputError) as err:
        read_arriba(write(tmp_path, "fusions.tsv", text))
    assert (err.value.line, err.value.column) == (2, "breakpoint2")
    assert "is not a breakpoint" in str(err.value)


def test_arriba_bad_confidence(tmp_path):
    text = ARRIBA_HEADER + "\n" + arriba_line(confidence="certain") + "\n"
    with pytest.raises(InputError) as err:
        read_arriba(write(tmp_path, "fusions.tsv", text))
    assert err.value.column == "confidence" and "high, medium or low" in str(err.value)


def test_star_fusion_file_given_to_arriba_reader():
    with pytest.raises(InputError) as err:
        read_arriba(STAR_ABRIDGED)
    assert "not an Arriba fusions.tsv" in str(err.value)


# -- STAR-Fusion ------------------------------------------------------------------------------


def test_star_fusion_abridged():
    data = read_star_fusion(STAR_ABRIDGED)
    table = data.tables["fusions"]
    assert_contract(table)
    assert list(table["fusion"]) == ["SS18::SSX1", "EML4::ALK"]
    ss18 = table.iloc[0]
    assert (ss18["gene5"], ss18["gene3"]) == ("SS18", "SSX1")
    assert (ss18["breakpoint5"], ss18["breakpoint3"]) == ("chr18:26022540", "chrX:48265882")
    assert (ss18["strand5"], ss18["strand3"]) == ("-", "+")
    assert (ss18["split_reads"], ss18["spanning_pairs"]) == (54, 31)
    assert ss18["reading_frame"] == "unknown"
    assert pd.isna(ss18["confidence"])
    assert ss18["caller"] == "star-fusion"
    alk = table.iloc[1]
    assert (alk["breakpoint5"], alk["breakpoint3"]) == ("chr2:42295516", "chr2:29223528")
    assert (alk["split_reads"], alk["spanning_pairs"]) == (12, 7)
    assert data.tool == "STAR-Fusion" and data.tool_version is None
    assert any("--examine_coding_effect" in note for note in data.notes)


def test_star_fusion_coding_effect_gives_reading_frames():
    table = read_star_fusion(STAR_CODING).tables["fusions"].set_index("fusion")
    assert table.loc["SS18::SSX1", "reading_frame"] == "in-frame"
    assert table.loc["EML4::ALK", "reading_frame"] == "in-frame"
    assert table.loc["CTBS::GNG5", "reading_frame"] == "out-of-frame"


def test_star_fusion_bad_breakpoint_names_line_and_column(tmp_path):
    lines = STAR_ABRIDGED.read_text().splitlines()
    lines[2] = lines[2].replace("chr2:29223528:-", "chr2:-")
    with pytest.raises(InputError) as err:
        read_star_fusion(write(tmp_path, "sf.tsv", "\n".join(lines) + "\n"))
    assert (err.value.line, err.value.column) == (3, "RightBreakpoint")


def test_star_fusion_missing_column(tmp_path):
    text = STAR_HEADER.replace("SpanningFragCount", "SpanningFrags") + "\n"
    with pytest.raises(InputError) as err:
        read_star_fusion(write(tmp_path, "sf.tsv", text))
    assert err.value.column == "SpanningFragCount"


# -- generic table ----------------------------------------------------------------------------


def test_panel_table_needs_a_sample_choice():
    with pytest.raises(InputError) as err:
        read_fusion_table(PANEL)
    assert "'DSRCT_01_T'" in str(err.value) and "'SYNS_04_T'" in str(err.value)


def test_panel_table_for_one_sample():
    data = read_fusion_table(PANEL, sample="DSRCT_01_T")
    table = data.tables["fusions"]
    assert_contract(table)
    assert data.samples_in_file == ["DSRCT_01_T", "SYNS_04_T"]
    row = table.iloc[0]
    assert len(table) == 1
    assert row["fusion"] == "EWSR1::WT1"
    assert (row["split_reads"], row["spanning_pairs"]) == (57, 12)
    assert row["caller"] == "Archer FusionPlex"


def test_panel_table_optional_values():
    table = read_fusion_table(PANEL, sample="SYNS_04_T").tables["fusions"]
    assert list(table["fusion"]) == ["SS18::SSX2", "COL1A1::PDGFB"]
    assert pd.isna(table.loc[0, "spanning_pairs"])
    assert table.loc[1, "reading_frame"] == "out-of-frame"  # 'frameshift'
    assert pd.isna(table.loc[1, "breakpoint5"])
    assert table.loc[0, "breakpoint3"] == "chrX:52698017"


def test_fusion_name_column_only(tmp_path):
    text = "fusion\tsupporting_reads\tframe\nEWSR1::WT1\t20\tin-frame\nFUS--DDIT3\t9\t.\n"
    table = read_fusion_table(write(tmp_path, "f.tsv", text)).tables["fusions"]
    assert list(table["gene5"]) == ["EWSR1", "FUS"]
    assert list(table["fusion"]) == ["EWSR1::WT1", "FUS::DDIT3"]
    assert list(table["reading_frame"]) == ["in-frame", "unknown"]


def test_generic_missing_read_column(tmp_path):
    with pytest.raises(InputError) as err:
        read_fusion_table(write(tmp_path, "f.tsv", "gene5\tgene3\nEWSR1\tWT1\n"))
    assert "'split_reads'" in str(err.value) and "f.tsv:1" in str(err.value)


def test_generic_unknown_reading_frame(tmp_path):
    text = "gene5,gene3,split_reads,reading_frame\nEWSR1,WT1,20,in-frame\nFUS,DDIT3,3,maybe\n"
    with pytest.raises(InputError) as err:
        read_fusion_table(write(tmp_path, "f.csv", text))
    assert (err.value.line, err.value.column) == (3, "reading_frame")


def test_generic_empty_gene(tmp_path):
    text = "gene5\tgene3\tsplit_reads\nEWSR1\t\t20\n"
    with pytest.raises(InputError) as err:
        read_fusion_table(write(tmp_path, "f.tsv", text))
    assert (err.value.line, err.value.column) == (2, "gene3")

"""Tests of HLA allele normalisation and the OptiType / arcasHLA readers."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tumorboard.errors import InputError
from tumorboard.io.formats import FORMATS
from tumorboard.io.hla import normalise_hla_allele, read_arcashla, read_optitype
from tumorboard.io.tables import TABLES

DATA = Path(__file__).resolve().parent.parent / "data" / "hla"
OPTITYPE = DATA / "DSRCT01_result.tsv"
ARCAS = DATA / "DSRCT01.genotype.json"
OPTITYPE_HEADER = "\tA1\tA2\tB1\tB2\tC1\tC2\tReads\tObjective\n"


def test_formats_point_to_these_readers():
    assert FORMATS["optitype"].load_reader() is read_optitype
    assert FORMATS["arcashla"].load_reader() is read_arcashla


@pytest.mark.parametrize(
    "text",
    ["A*02:01", "HLA-A*02:01:01:01", "A*02:01:01G", "A02:01", "HLA-A02:01", "hla-a*02:01",
     " A*02:01:01 ", "A*02:01P", "hla_a_02_01_01_01"],
)
def test_normalise_to_two_fields(text):
    assert normalise_hla_allele(text) == "HLA-A*02:01"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DRB1*15:01:01", "HLA-DRB1*15:01"),
        ("DRB102:01", "HLA-DRB1*02:01"),  # longest gene name first, not 'DRB' + '102'
        ("DQA1*01:02:01:01", "HLA-DQA1*01:02"),
        ("B*15:220", "HLA-B*15:220"),  # three-digit second field
        ("A*24:09N", "HLA-A*24:09N"),  # null allele keeps its suffix
        ("C*04:09:01:01L", "HLA-C*04:09L"),
    ],
)
def test_normalise_other_genes_and_suffixes(text, expected):
    assert normalise_hla_allele(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("A*02", "one field"),
        ("A*0201", "pre-2010"),
        ("X*01:01", "unknown HLA gene 'X'"),
        ("HLA-A", "no HLA gene"),
        ("A*02:XY", "not colon-separated"),
        ("", "empty"),
    ],
)
def test_normalise_rejects_malformed(text, reason):
    with pytest.raises(InputError) as err:
        normalise_hla_allele(text)
    assert f"'{text}'" in str(err.value)
    assert reason in str(err.value)
    assert "HLA-A*02:01" in err.value.expected


def test_optitype_reads_class_i_with_homozygous_copies():
    data = read_optitype(OPTITYPE)
    table = data.tables["hla"]
    assert list(table.columns) == list(TABLES["hla"])
    assert data.tool == "OptiType"
    assert data.samples_in_file == []
    assert list(zip(table["gene"], table["allele"], strict=True)) == [
        ("HLA-A", "HLA-A*02:01"), ("HLA-A", "HLA-A*24:02"),
        ("HLA-B", "HLA-B*07:02"), ("HLA-B", "HLA-B*44:02"),
        ("HLA-C", "HLA-C*05:01"), ("HLA-C", "HLA-C*05:01"),
    ]
    notes = " | ".join(data.notes)
    assert "HLA-C homozygous" in notes
    assert "1487.0 reads" in notes


def test_optitype_uses_first_of_several_solutions(tmp_path):
    path = tmp_path / "r_result.tsv"
    path.write_text(OPTITYPE.read_text()
                    + "1\tA*02:01\tA*24:03\tB*07:02\tB*44:02\tC*05:01\tC*07:02\t1480.0\t1433.2\n")
    data = read_optitype(path)
    assert "HLA-A*24:03" not in set(data.tables["hla"]["allele"])
    assert any("2 solutions" in n for n in data.notes)


def test_optitype_gzipped(tmp_path):
    path = tmp_path / "r_result.tsv.gz"
    path.write_bytes(gzip.compress(OPTITYPE.read_bytes()))
    assert len(read_optitype(path).tables["hla"]) == 6


def test_optitype_missing_columns(tmp_path):
    path = tmp_path / "r_result.tsv"
    path.write_text("\tA1\tA2\tB1\tB2\tReads\tObjective\n0\tA*02:01\tA*24:02\tB*07:02\tB*44:02\t9\t8\n")
    with pytest.raises(InputError) as err:
        read_optitype(path)
    assert "C1, C2" in str(err.value)
    assert err.value.line == 1
    assert str(path) in str(err.value)


def test_optitype_malformed_allele_names_line_and_column(tmp_path):
    path = tmp_path / "r_result.tsv"
    path.write_text(OPTITYPE_HEADER
                    + "0\tA*02:01\tA*24:02\tB*0702\tB*44:02\tC*05:01\tC*05:01\t10.0\t9.0\n")
    with pytest.raises(InputError) as err:
        read_optitype(path)
    assert (err.value.line, err.value.column) == (2, "B1")
    assert "'B*0702'" in str(err.value)
    assert str(path) in str(err.value)


def test_optitype_allele_in_wrong_column(tmp_path):
    path = tmp_path / "r_result.tsv"
    path.write_text(OPTITYPE_HEADER
                    + "0\tB*07:02\tA*24:02\tB*07:02\tB*44:02\tC*05:01\tC*05:01\t10.0\t9.0\n")
    with pytest.raises(InputError, match="not of HLA-A") as err:
        read_optitype(path)
    assert err.value.column == "A1"


def test_optitype_empty_or_header_only(tmp_path):
    empty = tmp_path / "empty_result.tsv"
    empty.write_text("")
    with pytest.raises(InputError, match="file is empty") as err:
        read_optitype(empty)
    assert str(empty) in str(err.value)
    header = tmp_path / "header_result.tsv"
    header.write_text(OPTITYPE_HEADER)
    with pytest.raises(InputError, match="no typing row"):
        read_optitype(header)


def test_arcashla_class_i_and_ii_with_homozygous_copies():
    data = read_arcashla(ARCAS)
    table = data.tables["hla"]
    assert list(table.columns) == list(TABLES["hla"])
    assert data.tool == "arcasHLA"
    assert table["allele"].tolist() == [
        "HLA-A*02:01", "HLA-A*01:01", "HLA-B*08:01", "HLA-B*44:02", "HLA-C*07:01",
        "HLA-C*05:01", "HLA-DPB1*04:01", "HLA-DPB1*02:01", "HLA-DQA1*01:02", "HLA-DQA1*01:02",
        "HLA-DQB1*06:02", "HLA-DQB1*02:01", "HLA-DRB1*15:01", "HLA-DRB1*03:01",
    ]
    assert table["gene"].tolist()[12:] == ["HLA-DRB1", "HLA-DRB1"]
    assert any("HLA-DQA1 homozygous" in n for n in data.notes)


def test_arcashla_notes_untyped_loci(tmp_path):
    path = tmp_path / "s.genotype.json"
    path.write_text('{"A": ["A*02:01:01", "A*03:01:01"], "B": [], "DRB1": ["DRB1*04:01:01"]}')
    data = read_arcashla(path)
    assert data.tables["hla"]["allele"].tolist() == [
        "HLA-A*02:01", "HLA-A*03:01", "HLA-DRB1*04:01", "HLA-DRB1*04:01"]
    notes = " | ".join(data.notes)
    assert "HLA-B not typed" in notes
    assert "class I gene(s) not typed: HLA-B, HLA-C" in notes


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ('{"A": ["A*02:01:01",\n "A*01:01:01"\n', "not valid JSON", 3),
        ('["A*02:01"]', "not a non-empty JSON object", None),
        ("{}", "not a non-empty JSON object", None),
        ('{"A": "A*02:01:01"}', "not a list of alleles", 1),
        ('{"A": ["A*02:01", "A*01:01", "A*03:01"]}', "3 alleles", 1),
        ('{"A": ["A*02:01:01"],\n "B": ["A*01:01:01"]}', "not of HLA-B", 2),
        ('{"A": ["A*02:01:01"],\n "B": ["B*08"]}', "'B*08'", 2),
    ],
)
def test_arcashla_bad_inputs(tmp_path, content, message, line):
    path = tmp_path / "bad.genotype.json"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_arcashla(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert err.value.line == line


def test_arcashla_empty_file(tmp_path):
    path = tmp_path / "e.genotype.json"
    path.write_text("  \n")
    with pytest.raises(InputError, match="file is empty"):
        read_arcashla(path)

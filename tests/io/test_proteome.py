"""Tests of the proteome / phosphoproteome readers (MaxQuant, RPPA, generic tables)."""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.io.formats import FORMATS
from tumorboard.io.proteome import (
    read_maxquant_phosphosites,
    read_maxquant_proteingroups,
    read_phospho_table,
    read_protein_table,
    read_rppa,
)
from tumorboard.io.tables import TABLES

DATA = Path(__file__).resolve().parent.parent / "data" / "proteome"
PROTEIN_GROUPS = DATA / "proteinGroups.txt"
SITES = DATA / "Phospho (STY)Sites.txt"
RPPA = DATA / "tcga_sarc_rppa_subset.csv"
SAMPLES = ["DSRCT_01", "DSRCT_02", "DSRCT_03"]


def _rows(df: pd.DataFrame, key: str) -> dict[str, pd.Series]:
    return {row[key]: row for _, row in df.iterrows()}


def _assert_contract(df: pd.DataFrame, name: str) -> None:
    assert list(df.columns) == list(TABLES[name])
    assert {c: str(t) for c, t in df.dtypes.items()} == TABLES[name]


def _rewrite_tsv(src: Path, dst: Path, edit) -> Path:
    """Copy a tab-separated file through ``edit(header, rows) -> (header, rows)``."""
    lines = src.read_text().splitlines()
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:]]
    header, rows = edit(header, rows)
    dst.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return dst


def _drop_columns(src: Path, dst: Path, keep) -> Path:
    def edit(header, rows):
        idx = [i for i, c in enumerate(header) if keep(c)]
        return [header[i] for i in idx], [[r[i] for i in idx] for r in rows]

    return _rewrite_tsv(src, dst, edit)


def _set_cell(src: Path, dst: Path, row: int, column: str, value: str) -> Path:
    def edit(header, rows):
        rows[row][header.index(column)] = value
        return header, rows

    return _rewrite_tsv(src, dst, edit)


def test_formats_point_to_these_readers():
    for name in ("protein_table", "maxquant_proteingroups", "rppa", "phospho_table",
                 "maxquant_phosphosites"):
        assert FORMATS[name].load_reader().__module__ == "tumorboard.io.proteome"


# --------------------------------------------------------------------------- proteinGroups


def test_proteingroups_lfq_values_and_filters():
    data = read_maxquant_proteingroups(PROTEIN_GROUPS, sample="DSRCT_01")
    table = data.tables["proteome"]
    _assert_contract(table, "proteome")
    assert data.samples_in_file == SAMPLES
    assert data.tool == "MaxQuant"
    assert data.platform == "MaxQuant LFQ"
    # 13 groups: one reverse, one contaminant, one only identified by site removed.
    assert len(table) == 10
    ids = set(table["feature_id"])
    assert not any(i.startswith(("REV__", "CON__")) for i in ids)
    assert "Q15418" not in ids
    rows = _rows(table, "feature_id")
    erbb2 = rows["P04626"]
    assert erbb2["gene"] == "ERBB2"
    assert erbb2["intensity"] == 1834500000
    assert erbb2["log2_abundance"] == pytest.approx(math.log2(1834500000))
    assert rows["P62805"]["gene"] == "H4C1"  # first of the ';'-joined gene names
    assert rows["Q01844"]["gene"] == "EWSR1"  # first accession of 'Majority protein IDs'
    notes = " | ".join(data.notes)
    assert "1 reverse (decoy) hits removed" in notes
    assert "1 potential contaminants removed" in notes
    assert "1 protein groups only identified by a modification site removed" in notes


def test_proteingroups_zero_intensity_is_not_quantified():
    table = read_maxquant_proteingroups(PROTEIN_GROUPS, sample="DSRCT_02").tables["proteome"]
    tyro3 = _rows(table, "feature_id")["Q06418"]
    assert tyro3["intensity"] == 0
    assert np.isnan(tyro3["log2_abundance"])
    table3 = read_maxquant_proteingroups(PROTEIN_GROUPS, sample="DSRCT_03").tables["proteome"]
    assert int(table3["log2_abundance"].isna().sum()) == 3  # CLDN6, WT1, no-gene group


def test_proteingroups_group_without_gene_keeps_feature_id():
    data = read_maxquant_proteingroups(PROTEIN_GROUPS, sample="DSRCT_01")
    row = _rows(data.tables["proteome"], "feature_id")["A0A0A0MS00"]
    assert pd.isna(row["gene"])
    assert row["intensity"] == 5003100
    assert any("1 protein groups without a gene name" in n for n in data.notes)


@pytest.mark.parametrize(
    ("quantity", "platform", "expected"),
    [("Intensity", "MaxQuant intensity", 2415300000), ("iBAQ", "MaxQuant iBAQ", 63560526)],
)
def test_proteingroups_other_quantities(quantity, platform, expected):
    data = read_maxquant_proteingroups(PROTEIN_GROUPS, sample="DSRCT_01", quantity=quantity)
    assert data.platform == platform
    assert data.samples_in_file == SAMPLES  # 'iBAQ peptides' is not a sample
    assert _rows(data.tables["proteome"], "feature_id")["P04626"]["intensity"] == expected


def test_proteingroups_missing_intensity_columns(tmp_path):
    """MaxQuant table missing its intensity columns: say what was expected and what exists."""
    path = _drop_columns(PROTEIN_GROUPS, tmp_path / "proteinGroups.txt",
                         lambda c: not c.startswith("LFQ intensity"))
    with pytest.raises(InputError) as err:
        read_maxquant_proteingroups(path, sample="DSRCT_01")
    message = str(err.value)
    assert str(path) in message
    assert err.value.line == 1
    assert "'LFQ intensity DSRCT_01'" in message
    assert "'Intensity <sample>' for 3 sample(s)" in message
    assert "'iBAQ <sample>'" in message
    assert "quantity" in err.value.fix

    with pytest.raises(InputError, match=r"'LFQ intensity <sample>'"):
        read_maxquant_proteingroups(path)


def test_proteingroups_sample_choice_errors():
    with pytest.raises(InputError) as err:
        read_maxquant_proteingroups(PROTEIN_GROUPS)
    assert "3 samples" in str(err.value)
    assert "'DSRCT_02'" in str(err.value)
    assert "column:" in str(err.value)
    with pytest.raises(InputError) as err:
        read_maxquant_proteingroups(PROTEIN_GROUPS, sample="DSRCT_09")
    assert err.value.sample == "DSRCT_09"
    assert "'DSRCT_01'" in str(err.value)


def test_proteingroups_single_sample_needs_no_name(tmp_path):
    path = _drop_columns(PROTEIN_GROUPS, tmp_path / "pg.txt",
                         lambda c: not c.endswith(("DSRCT_02", "DSRCT_03")))
    data = read_maxquant_proteingroups(path)
    assert data.samples_in_file == ["DSRCT_01"]
    assert len(data.tables["proteome"]) == 10


def test_proteingroups_old_contaminant_column(tmp_path):
    def edit(header, rows):
        header[header.index("Potential contaminant")] = "Contaminant"
        return header, rows

    path = _rewrite_tsv(PROTEIN_GROUPS, tmp_path / "pg.txt", edit)
    data = read_maxquant_proteingroups(path, sample="DSRCT_01")
    assert "P13645" not in set(data.tables["proteome"]["feature_id"])
    assert any("('+' in 'Contaminant')" in n for n in data.notes)


def test_proteingroups_tmt_reporter_channels(tmp_path):
    path = tmp_path / "proteinGroups.txt"
    path.write_text(
        "Protein IDs\tMajority protein IDs\tGene names\tReporter intensity corrected 1"
        "\tReporter intensity corrected 2\tReporter intensity corrected 1 TMT1"
        "\tReporter intensity corrected 2 TMT1\tReverse\tPotential contaminant\n"
        "P04626\tP04626\tERBB2\t5000\t7000\t5000\t7000\t\t\n"
        "P00533\tP00533\tEGFR\t300\t0\t300\t0\t\t\n"
    )
    data = read_maxquant_proteingroups(path, sample="2 TMT1",
                                       quantity="Reporter intensity corrected")
    assert data.samples_in_file == ["1 TMT1", "2 TMT1"]
    assert data.platform == "MaxQuant TMT"
    table = data.tables["proteome"]
    assert table["intensity"].tolist() == [7000, 0]
    assert np.isnan(table["log2_abundance"].iloc[1])


def test_proteingroups_non_numeric_intensity_names_line_and_column(tmp_path):
    path = _set_cell(PROTEIN_GROUPS, tmp_path / "pg.txt", 1, "LFQ intensity DSRCT_01", "1,2e9")
    with pytest.raises(InputError) as err:
        read_maxquant_proteingroups(path, sample="DSRCT_01")
    assert err.value.line == 3  # header is line 1, EGFR is the second group
    assert err.value.column == "LFQ intensity DSRCT_01"
    assert "'1,2e9' is not a number" in str(err.value)


def test_proteingroups_missing_gene_names_column(tmp_path):
    path = _drop_columns(PROTEIN_GROUPS, tmp_path / "pg.txt", lambda c: c != "Gene names")
    with pytest.raises(InputError) as err:
        read_maxquant_proteingroups(path, sample="DSRCT_01")
    assert "'Gene names'" in str(err.value)
    assert err.value.line == 1


def test_proteingroups_unknown_quantity():
    with pytest.raises(InputError, match="unknown MaxQuant quantity 'LFQ'"):
        read_maxquant_proteingroups(PROTEIN_GROUPS, sample="DSRCT_01", quantity="LFQ")


def test_proteingroups_gzip_and_truncated_gzip(tmp_path):
    gz = tmp_path / "proteinGroups.txt.gz"
    gz.write_bytes(gzip.compress(PROTEIN_GROUPS.read_bytes()))
    table = read_maxquant_proteingroups(gz, sample="DSRCT_01").tables["proteome"]
    assert _rows(table, "feature_id")["P00533"]["intensity"] == 287400000

    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(gz.read_bytes()[:-200])
    with pytest.raises(InputError) as err:
        read_maxquant_proteingroups(broken, sample="DSRCT_01")
    assert "truncated or not valid gzip" in str(err.value)
    assert str(broken) in str(err.value)


def test_proteingroups_empty_and_header_only(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(InputError, match="file is empty") as err:
        read_maxquant_proteingroups(empty)
    assert str(empty) in str(err.value)
    header_only = tmp_path / "header.txt"
    header_only.write_text(PROTEIN_GROUPS.read_text().splitlines()[0] + "\n")
    with pytest.raises(InputError, match="no protein groups"):
        read_maxquant_proteingroups(header_only, sample="DSRCT_01")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_maxquant_proteingroups(tmp_path / "nope.txt")


# --------------------------------------------------------------------------- Phospho (STY)Sites


def test_phosphosites_use_singly_phosphorylated_intensity():
    data = read_maxquant_phosphosites(SITES, sample="DSRCT_01")
    table = data.tables["phosphoproteome"]
    _assert_contract(table, "phosphoproteome")
    assert data.samples_in_file == SAMPLES
    assert data.tool == "MaxQuant"
    # 8 sites: one reverse, one contaminant removed.
    assert table["feature_id"].tolist() == [
        "ERBB2_Y1248", "EGFR_Y1092", "EGFR_Y1197", "KDR_Y1175", "EWSR1_S266", "A0A0A0MS00_S87",
    ]
    rows = _rows(table, "feature_id")
    erbb2 = rows["ERBB2_Y1248"]
    assert (erbb2["gene"], erbb2["site"]) == ("ERBB2", "Y1248")
    # ___1 = 45,120,000; the plain column (48,141,000) adds the doubly phosphorylated form.
    assert erbb2["intensity"] == 45120000
    assert erbb2["log2_abundance"] == pytest.approx(math.log2(45120000))
    assert erbb2["localization_prob"] == pytest.approx(0.998234)
    assert rows["KDR_Y1175"]["intensity"] == 2250000
    # Only seen doubly phosphorylated in this sample: ___1 is 0, so not quantified.
    assert rows["EGFR_Y1197"]["intensity"] == 0
    assert np.isnan(rows["EGFR_Y1197"]["log2_abundance"])
    assert pd.isna(rows["A0A0A0MS00_S87"]["gene"])
    notes = " | ".join(data.notes)
    assert "'Intensity DSRCT_01___1'" in notes
    assert "4 are class I" in notes
    assert "1 reverse (decoy) sites removed" in notes


def test_phosphosites_min_localization_prob():
    data = read_maxquant_phosphosites(SITES, sample="DSRCT_02", min_localization_prob=0.75)
    table = data.tables["phosphoproteome"]
    assert set(table["feature_id"]) == {"ERBB2_Y1248", "EGFR_Y1092", "KDR_Y1175",
                                        "A0A0A0MS00_S87"}
    assert (table["localization_prob"] >= 0.75).all()
    assert any("2 sites with localization prob < 0.75 removed" in n for n in data.notes)
    assert _rows(table, "feature_id")["EGFR_Y1092"]["intensity"] == 12040000


def test_phosphosites_without_multiplicity_columns_use_plain_intensity(tmp_path):
    path = _drop_columns(SITES, tmp_path / "sites.txt", lambda c: "___" not in c)
    data = read_maxquant_phosphosites(path, sample="DSRCT_01")
    erbb2 = _rows(data.tables["phosphoproteome"], "feature_id")["ERBB2_Y1248"]
    assert erbb2["intensity"] == 45120000 + 3021000
    assert any("no multiplicity-expanded" in n for n in data.notes)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, "high"])
def test_phosphosites_bad_threshold(threshold):
    with pytest.raises(InputError, match="is not a probability"):
        read_maxquant_phosphosites(SITES, sample="DSRCT_01", min_localization_prob=threshold)


def test_phosphosites_missing_columns(tmp_path):
    path = _drop_columns(SITES, tmp_path / "sites.txt", lambda c: c != "Amino acid")
    with pytest.raises(InputError) as err:
        read_maxquant_phosphosites(path, sample="DSRCT_01")
    assert "'Amino acid'" in str(err.value)
    assert err.value.line == 1
    no_intensity = _drop_columns(SITES, tmp_path / "s2.txt",
                                 lambda c: not c.startswith("Intensity"))
    with pytest.raises(InputError, match="no 'Intensity <sample>' columns"):
        read_maxquant_phosphosites(no_intensity)


def test_phosphosites_bad_localization_probability(tmp_path):
    path = _set_cell(SITES, tmp_path / "sites.txt", 3, "Localization prob", "87.1")
    with pytest.raises(InputError) as err:
        read_maxquant_phosphosites(path, sample="DSRCT_01")
    assert err.value.line == 5
    assert err.value.column == "Localization prob"


# --------------------------------------------------------------------------- RPPA


def _rppa_value(antibody: str, sample: str) -> float:
    with RPPA.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["attrib_name"] == antibody:
                return float(row[sample])
    raise AssertionError(antibody)


def test_rppa_splits_total_and_phospho_antibodies():
    data = read_rppa(RPPA, sample="TCGA.3B.A9HI")
    proteome, phospho = data.tables["proteome"], data.tables["phosphoproteome"]
    _assert_contract(proteome, "proteome")
    _assert_contract(phospho, "phosphoproteome")
    assert (len(proteome), len(phospho)) == (137, 45)
    assert data.platform == "RPPA"
    assert len(data.samples_in_file) == 12
    assert data.samples_in_file[0] == "TCGA.3B.A9HI"

    her2 = _rows(phospho, "feature_id")["ERBB2|HER2_pY1248"]
    assert (her2["gene"], her2["site"]) == ("ERBB2", "Y1248")
    assert her2["log2_abundance"] == 0.2511
    assert her2["log2_abundance"] == _rppa_value("ERBB2|HER2_pY1248", "TCGA.3B.A9HI")
    assert np.isnan(her2["intensity"])
    assert np.isnan(her2["localization_prob"])
    sites = dict(zip(phospho["feature_id"], phospho["site"], strict=True))
    assert sites["EGFR|EGFR_pY1068"] == "Y1068"
    assert sites["MAPK8|JNK_pT183_pY185"] == "T183_Y185"
    assert sites["EIF4EBP1|4E-BP1_pT37_T46"] == "T37_T46"

    total = _rows(proteome, "feature_id")
    assert total["ERBB2|HER2"]["log2_abundance"] == _rppa_value("ERBB2|HER2", "TCGA.3B.A9HI")
    assert "CASP7|Caspase-7_cleavedD198" in total  # cleaved, not phospho
    assert total["ANXA7|Annexin_VII"]["gene"] == "ANXA7"  # 'ANXA7 |' in the file
    assert np.isnan(total["YWHAE|14-3-3_epsilon"]["intensity"])


def test_rppa_sample_with_dashes_matches_dotted_barcode():
    dashed = read_rppa(RPPA, sample="TCGA-DX-A1KZ").tables["phosphoproteome"]
    her2 = _rows(dashed, "feature_id")["ERBB2|HER2_pY1248"]
    assert her2["log2_abundance"] == _rppa_value("ERBB2|HER2_pY1248", "TCGA.DX.A1KZ")


def test_rppa_corrects_outdated_gene_symbols():
    data = read_rppa(RPPA, sample="TCGA.3B.A9HJ")
    genes = dict(zip(data.tables["proteome"]["feature_id"], data.tables["proteome"]["gene"],
                     strict=True))
    assert genes["FRAP1|mTOR"] == "MTOR"
    assert genes["TTF1|TTF1"] == "NKX2-1"
    assert genes["CTNNB2|beta-Catenin"] == "CTNNB1"
    phospho = _rows(data.tables["phosphoproteome"], "feature_id")
    assert phospho["NFKB1|NF-kB-p65_pS536"]["gene"] == "RELA"
    assert any("FRAP1->MTOR" in n for n in data.notes)


def test_rppa_multi_gene_antibody_takes_first_gene(tmp_path):
    path = tmp_path / "rppa.csv"
    path.write_text("attrib_name,TCGA.AA.0001\n"
                    "MAPK1 MAPK3|MAPK_pT202_Y204,1.25\n"
                    "AKT1 AKT2 AKT3|Akt,-0.5\n")
    data = read_rppa(path)
    row = data.tables["phosphoproteome"].iloc[0]
    assert (row["gene"], row["site"], row["feature_id"]) == (
        "MAPK1", "T202_Y204", "MAPK1 MAPK3|MAPK_pT202_Y204")
    assert data.tables["proteome"]["gene"].tolist() == ["AKT1"]
    assert any("2 antibodies name several genes" in n for n in data.notes)


def test_rppa_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="12 samples"):
        read_rppa(RPPA)
    with pytest.raises(InputError) as err:
        read_rppa(RPPA, sample="TCGA-XX-0000")
    assert "'TCGA.3B.A9HI'" in str(err.value)

    no_pipe = tmp_path / "a.csv"
    no_pipe.write_text("attrib_name,S1\nERBB2|HER2,0.1\nHER2_pY1248,0.2\n")
    with pytest.raises(InputError) as err:
        read_rppa(no_pipe)
    assert err.value.line == 3
    assert "not 'GENE|ANTIBODY'" in str(err.value)

    text = tmp_path / "b.csv"
    text.write_text("attrib_name,S1\nERBB2|HER2,0.1\nEGFR|EGFR,high\n")
    with pytest.raises(InputError) as err:
        read_rppa(text)
    assert (err.value.line, err.value.column) == (3, "S1")

    dup = tmp_path / "c.csv"
    dup.write_text("attrib_name,S1\nERBB2|HER2,0.1\nERBB2 |HER2,0.2\n")
    with pytest.raises(InputError, match="appears twice"):
        read_rppa(dup)


# --------------------------------------------------------------------------- generic tables


def test_protein_table_wide_log2_autodetected():
    data = read_protein_table(DATA / "protein_table_wide_log2.tsv", sample="DSRCT_01")
    table = data.tables["proteome"]
    _assert_contract(table, "proteome")
    assert data.samples_in_file == SAMPLES
    rows = _rows(table, "feature_id")
    assert rows["P04626"]["gene"] == "ERBB2"
    assert rows["P04626"]["log2_abundance"] == 30.77
    assert np.isnan(rows["P04626"]["intensity"])
    assert pd.isna(rows["A0A0A0MS00"]["gene"])
    assert any("read as log2" in n and "30.77 < 50" in n for n in data.notes)
    cldn6 = _rows(read_protein_table(DATA / "protein_table_wide_log2.tsv", sample="DSRCT_03")
                  .tables["proteome"], "feature_id")["P56747"]
    assert np.isnan(cldn6["log2_abundance"])  # 'NA' in the file


def test_protein_table_log2_option_overrides_detection():
    data = read_protein_table(DATA / "protein_table_wide_log2.tsv", sample="DSRCT_01",
                              log2=False)
    erbb2 = _rows(data.tables["proteome"], "feature_id")["P04626"]
    assert erbb2["intensity"] == 30.77
    assert erbb2["log2_abundance"] == pytest.approx(math.log2(30.77))


def test_protein_table_negative_values_mean_log2(tmp_path):
    path = tmp_path / "centred.csv"
    path.write_text("gene,S1,S2\nERBB2,2.5,-1.0\nEGFR,1000.0,0.3\n")
    data = read_protein_table(path, sample="S1")
    assert data.tables["proteome"]["log2_abundance"].tolist() == [2.5, 1000.0]
    assert data.tables["proteome"]["feature_id"].tolist() == ["ERBB2", "EGFR"]
    with pytest.raises(InputError) as err:
        read_protein_table(path, sample="S2", log2=False)
    assert (err.value.line, err.value.column) == (2, "S2")


def test_phospho_table_long_raw_intensities():
    data = read_phospho_table(DATA / "phospho_table_long.csv", sample="DSRCT_01")
    table = data.tables["phosphoproteome"]
    _assert_contract(table, "phosphoproteome")
    assert data.samples_in_file == ["DSRCT_01", "DSRCT_02"]
    assert table["feature_id"].tolist() == ["ERBB2_Y1248", "EGFR_Y1092", "MAPK3_T202_Y204"]
    assert table["site"].tolist() == ["Y1248", "Y1092", "T202_Y204"]  # 'pY1248' normalised
    assert table["intensity"].tolist() == [45120000, 8120000, 0]
    assert table["log2_abundance"].iloc[0] == pytest.approx(math.log2(45120000))
    assert np.isnan(table["log2_abundance"].iloc[2])
    assert table["localization_prob"].tolist() == [0.998, 0.953, 0.91]
    assert any("raw intensities" in n for n in data.notes)


def test_phospho_table_wide_with_feature_ids(tmp_path):
    path = tmp_path / "sites.tsv"
    path.write_text("feature_id\tP1\tP2\nERBB2_pY1248\t1.5\t-0.2\nKDR_Y1175\t0.4\t0.1\n")
    table = read_phospho_table(path, sample="P2").tables["phosphoproteome"]
    assert table["gene"].tolist() == ["ERBB2", "KDR"]
    assert table["site"].tolist() == ["Y1248", "Y1175"]
    assert table["feature_id"].tolist() == ["ERBB2_pY1248", "KDR_Y1175"]
    assert table["log2_abundance"].tolist() == [-0.2, 0.1]


def test_generic_tables_parquet(tmp_path):
    path = tmp_path / "proteins.parquet"
    pd.DataFrame({"gene": ["ERBB2", "KDR"], "S1": [1.0e9, 2.0e6]}).to_parquet(path)
    table = read_protein_table(path).tables["proteome"]
    assert table["intensity"].tolist() == [1.0e9, 2.0e6]
    assert table["log2_abundance"].iloc[1] == pytest.approx(math.log2(2.0e6))


def test_generic_table_bad_inputs(tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("gene,site,sample,value\nERBB2,Y1248,S1,1\nERBB2,pY1248,S1,2\n")
    with pytest.raises(InputError) as err:
        read_phospho_table(dup)
    assert err.value.line == 3
    assert "'ERBB2_Y1248' appears twice" in str(err.value)

    bad_site = tmp_path / "site.csv"
    bad_site.write_text("gene,site,sample,value\nERBB2,Y1248,S1,1\nEGFR,tyrosine 1068,S1,2\n")
    with pytest.raises(InputError) as err:
        read_phospho_table(bad_site)
    assert (err.value.line, err.value.column) == (3, "site")
    assert "Y1248" in err.value.expected

    no_ids = tmp_path / "ids.csv"
    no_ids.write_text("name,S1\nERBB2,1\n")
    with pytest.raises(InputError, match="lacks a gene or protein column") as err:
        read_protein_table(no_ids)
    assert str(no_ids) in str(err.value)

    no_site = tmp_path / "nosite.csv"
    no_site.write_text("gene,S1\nERBB2,1\n")
    with pytest.raises(InputError, match="lacks gene and site columns"):
        read_phospho_table(no_site)

    text = tmp_path / "text.tsv"
    text.write_text("gene\tS1\nERBB2\t1.5\nEGFR\tn.d.\n")
    with pytest.raises(InputError) as err:
        read_protein_table(text)
    assert (err.value.line, err.value.column) == (3, "S1")

    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("gene\tS1\nERBB2\t1.5\nEGFR\t2.0\t7\n")
    with pytest.raises(InputError) as err:
        read_protein_table(ragged)
    assert err.value.line == 3

    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="file is empty"):
        read_protein_table(empty)

"""Tests for tumorboard.io.methylation: beta matrices, platform detection, probe filters."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.io.formats import FORMATS
from tumorboard.io.methylation import (
    HM450_PROBES,
    detect_platform,
    probe_filter,
    read_beta_matrix,
)
from tumorboard.io.tables import TABLES

DATA = Path(__file__).parent.parent / "data" / "methylation"
MINFI = DATA / "betas_minfi.csv"
EPICV2 = DATA / "betas_epicv2.tsv"


def betas(layer) -> pd.Series:
    table = layer.tables["methylation"]
    return table.set_index("probe_id")["beta"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cg_ids(start: int, n: int) -> list[str]:
    return [f"cg{i:08d}" for i in range(start, start + n)]


def test_format_points_at_this_reader():
    assert FORMATS["beta_matrix"].load_reader() is read_beta_matrix


# --- reading ----------------------------------------------------------------------------------


def test_minfi_csv_second_sample():
    layer = read_beta_matrix(MINFI, sample="DSRCT_02_T")
    table = layer.tables["methylation"]
    assert list(table.columns) == list(TABLES["methylation"])
    assert str(table["beta"].dtype) == "float32"
    values = betas(layer)
    assert values["cg00000029"] == pytest.approx(0.602117383, abs=1e-6)
    assert values["ch.16.2085963R"] == pytest.approx(0.028761135, abs=1e-6)
    assert np.isnan(values["cg00000158"])
    assert len(table) == 14
    assert layer.samples_in_file == ["DSRCT_01_T", "DSRCT_02_T"]
    assert layer.platform == "unknown (sparse)"
    assert layer.notes[0].startswith("1 of 14 probes (7.1%) have no beta value")


def test_minfi_csv_needs_column():
    with pytest.raises(InputError) as err:
        read_beta_matrix(MINFI)
    assert ("betas_minfi.csv:1: file holds 2 samples ('DSRCT_01_T', 'DSRCT_02_T')"
            in str(err.value))
    assert "set `column:` in case.yaml" in str(err.value)


def test_epicv2_suffix_stripped_and_replicates_averaged():
    layer = read_beta_matrix(EPICV2)
    values = betas(layer)
    assert layer.platform == "EPICv2"
    assert "cg00000029" in values.index
    assert not any("_" in p for p in values.index if p.startswith("cg"))
    # cg06373096 _TC11/_TC12/_TC13(NA)/_TC14: mean of the three measured replicates.
    assert values["cg06373096"] == pytest.approx((0.8120 + 0.8260 + 0.8000) / 3, abs=1e-6)
    assert values["rs1019916"] == pytest.approx(0.4981, abs=1e-6)
    assert values["nv-GRCh38-chr19-3118944-3118944-A-C"] == pytest.approx(0.0311, abs=1e-6)
    assert len(values) == 9
    assert list(values.index[:5]) == ["cg00000029", "cg00000109", "cg00000155", "cg00000158",
                                      "cg00000165"]
    assert values.index[5] == "cg06373096"  # in the place of its first replicate
    assert "1 CpG measured by several EPIC v2 replicate probes (4 rows); their betas were " \
        "averaged" in layer.notes


def test_geo_series_matrix(tmp_path):
    path = write(tmp_path, "GSE000001_series_matrix.txt",
                 '!Series_title\t"test series"\n!Series_geo_accession\t"GSE000001"\n\n'
                 '!series_matrix_table_begin\n"ID_REF"\t"GSM0000001"\t"GSM0000002"\n'
                 '"cg00000029"\t0.41\t0.52\n"cg00000109"\t0.9\tnull\n'
                 "!series_matrix_table_end\n")
    layer = read_beta_matrix(path, sample="GSM0000002")
    values = betas(layer)
    assert values["cg00000029"] == pytest.approx(0.52)
    assert np.isnan(values["cg00000109"])
    assert layer.samples_in_file == ["GSM0000001", "GSM0000002"]
    # Lines are counted from the file's start, preamble included.
    bad = write(tmp_path, "bad_series_matrix.txt",
                path.read_text().replace("0.9\t", "90\t"))
    with pytest.raises(InputError) as err:
        read_beta_matrix(bad, sample="GSM0000001")
    assert "bad_series_matrix.txt:7, column 'GSM0000001': beta value 90 outside [0, 1]" \
        in str(err.value)


def test_r_write_table_short_header_and_detection_columns(tmp_path):
    path = write(tmp_path, "betas.tsv",
                 "S1\tS1.Detection Pval\ncg00000029\t0.2\t0.001\ncg00000109\t0.3\t0.02\n")
    layer = read_beta_matrix(path)
    assert layer.samples_in_file == ["S1"]
    assert betas(layer)["cg00000109"] == pytest.approx(0.3)


def test_genomestudio_avg_beta_columns(tmp_path):
    path = write(tmp_path, "FinalReport.txt",
                 "TargetID\tT1.AVG_Beta\tT1.Detection Pval\tT2.AVG_Beta\tT2.Detection Pval\n"
                 "cg00000029\t0.25\t0.00\t0.35\t0.00\n")
    layer = read_beta_matrix(path, sample="T2")
    assert layer.samples_in_file == ["T1", "T2"]
    assert betas(layer)["cg00000029"] == pytest.approx(0.35)


def test_parquet_beta_matrix(tmp_path):
    frame = pd.DataFrame({"S1": [0.1, 0.2], "S2": [0.3, np.nan]},
                         index=["cg00000029", "cg00000109"])
    path = tmp_path / "betas.parquet"
    frame.to_parquet(path)
    layer = read_beta_matrix(path, sample="S2")
    assert betas(layer)["cg00000029"] == pytest.approx(0.3)
    bad = tmp_path / "bad.parquet"
    frame.assign(S1=[0.1, 1.2]).to_parquet(bad)
    with pytest.raises(InputError) as err:
        read_beta_matrix(bad, sample="S1")
    assert "row 2: beta value 1.2 outside [0, 1]" in str(err.value)


def test_gzipped_and_truncated(tmp_path):
    good = tmp_path / "betas.tsv.gz"
    good.write_bytes(gzip.compress(EPICV2.read_bytes()))
    assert len(betas(read_beta_matrix(good))) == 9
    body = "\tS1\n" + "".join(f"cg{i:08d}\t0.{i % 10}\n" for i in range(30000))
    truncated = tmp_path / "big.tsv.gz"
    truncated.write_bytes(gzip.compress(body.encode())[:6000])
    with pytest.raises(InputError) as err:
        read_beta_matrix(truncated)
    assert "big.tsv.gz: file is truncated or not valid gzip" in str(err.value)


# --- bad values -------------------------------------------------------------------------------


def test_beta_above_one_names_line_column_value(tmp_path):
    path = write(tmp_path, "betas.csv",
                 '"","A","B"\n"cg00000029",0.5,0.5\n"cg00000109",0.6,1.7\n'
                 '"cg00000155",0.7,0.1\n')
    with pytest.raises(InputError) as err:
        read_beta_matrix(path, sample="B")
    assert err.value.line == 3
    assert err.value.column == "B"
    assert "betas.csv:3, column 'B': beta value 1.7 outside [0, 1]" in str(err.value)
    assert "M-values" not in str(err.value)


def test_m_values_get_conversion_hint(tmp_path):
    rng = np.random.default_rng(1)
    m = rng.normal(0, 2.5, 200)
    rows = "".join(f"cg{i:08d}\t{v:.3f}\n" for i, v in enumerate(m))
    path = write(tmp_path, "mvalues.tsv", "probe\tS1\n" + rows)
    with pytest.raises(InputError) as err:
        read_beta_matrix(path)
    msg = str(err.value)
    first_bad = int(np.flatnonzero((m < 0) | (m > 1))[0])
    assert f"mvalues.tsv:{first_bad + 2}" in msg
    assert "these look like M-values; convert with beta = 2^M/(2^M+1)" in msg


def test_percentages_get_hint(tmp_path):
    rows = "".join(f"cg{i:08d}\t{(i * 7) % 100}\n" for i in range(50))
    path = write(tmp_path, "pct.tsv", "probe\tS1\n" + rows)
    with pytest.raises(InputError, match="these look like percentages; divide by 100"):
        read_beta_matrix(path)


def test_non_numeric_beta(tmp_path):
    path = write(tmp_path, "betas.tsv", "probe\tS1\ncg00000029\t0.5\ncg00000109\tfailed\n")
    with pytest.raises(InputError) as err:
        read_beta_matrix(path)
    assert "betas.tsv:3, column 'S1': 'failed' is not a number" in str(err.value)


def test_bad_probe_id(tmp_path):
    path = write(tmp_path, "betas.tsv",
                 "probe\tS1\ncg00000029\t0.5\nERBB2\t0.4\nctl-123\t0.1\n")
    with pytest.raises(InputError) as err:
        read_beta_matrix(path)
    msg = str(err.value)
    assert "betas.tsv:3, column 'probe': 'ERBB2' is not an Illumina methylation probe id " \
        "(2 such rows)" in msg


def test_duplicate_probe(tmp_path):
    path = write(tmp_path, "betas.tsv",
                 "probe\tS1\ncg00000029\t0.5\ncg00000109\t0.4\ncg00000029\t0.1\n")
    with pytest.raises(InputError) as err:
        read_beta_matrix(path)
    assert "betas.tsv:4: duplicate probe id 'cg00000029' (first at line 2)" in str(err.value)


def test_all_missing_column(tmp_path):
    path = write(tmp_path, "betas.tsv", "probe\tS1\ncg00000029\tNA\ncg00000109\tNA\n")
    with pytest.raises(InputError, match="no beta values"):
        read_beta_matrix(path)


# --- platform detection -----------------------------------------------------------------------


def test_platform_epicv2():
    ids = [f"{p}_TC21" for p in cg_ids(1, 800)] + ["cg00000029", "rs1019916"]
    assert detect_platform(ids) == "EPICv2"


def test_platform_450k_full_and_subset():
    only_450k = sorted(probe_filter("not_on_epic"))
    shared = cg_ids(90_000_000, 453_317)  # ids outside the 450k-only list
    assert detect_platform(shared + only_450k) == "450k"  # 485,577 probes
    assert len(shared) + len(only_450k) == HM450_PROBES
    # A random 5 % of a 450k file still carries its 450k-only probes (~6.6 %).
    rng = np.random.default_rng(0)
    full = np.array(shared + only_450k)
    assert detect_platform(rng.choice(full, 24_000, replace=False)) == "450k"


def test_platform_epic_v1():
    ids = pd.Series(cg_ids(90_000_000, HM450_PROBES + 380_000))  # 865,577 probes
    assert detect_platform(ids) == "EPIC"
    assert detect_platform(ids[:400_000]) == "unknown (sparse)"


def test_platform_mixed_and_sparse():
    only_450k = sorted(probe_filter("not_on_epic"))
    assert detect_platform(cg_ids(90_000_000, 860_000) + only_450k) == "unknown (mixed)"
    assert detect_platform(cg_ids(90_000_000, 10_000)) == "unknown (sparse)"
    # A few 450k-only probes in a large file are not enough to call 450k.
    assert detect_platform(cg_ids(90_000_000, 10_000) + only_450k[:9]) == "unknown (sparse)"
    assert detect_platform([]) == "unknown (sparse)"


# --- probe filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "size"), [
    ("not_on_epic", 32_260), ("xy", 11_551), ("snp", 7_998), ("ambiguous", 3_965),
    ("amb", 3_965), ("epicV1B2", 32_260),
])
def test_probe_filter_sizes(name, size):
    probes = probe_filter(name)
    assert len(probes) == size
    assert all(p.startswith("cg") and "\r" not in p for p in probes)


def test_probe_filter_known_member_and_unknown_name():
    assert "cg00000108" in probe_filter("not_on_epic")
    with pytest.raises(ValueError, match="unknown probe filter 'cross'"):
        probe_filter("cross")

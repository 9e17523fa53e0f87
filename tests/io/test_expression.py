"""Tests for tumorboard.io.expression: matrices, salmon, RSEM, gene identifier resolution."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.io.expression import (
    read_expression_matrix,
    read_gene_map,
    read_rsem,
    read_salmon,
)
from tumorboard.io.formats import FORMATS
from tumorboard.io.tables import TABLES

DATA = Path(__file__).parent.parent / "data" / "expression"
NFCORE = DATA / "salmon.merged.gene_tpm.tsv"
QUANT = DATA / "salmon_S1" / "quant.sf"
QUANT_GENES = DATA / "salmon_S1" / "quant.genes.sf"
RSEM = DATA / "DSRCT_01_T.genes.results"


def by_gene(layer) -> pd.DataFrame:
    return layer.tables["expression"].set_index("gene")


def check_contract(table: pd.DataFrame) -> None:
    assert list(table.columns) == list(TABLES["expression"])
    assert {c: str(t) for c, t in table.dtypes.items()} == TABLES["expression"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- readers named in FORMATS exist ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["expression_matrix", "salmon", "rsem"])
def test_formats_point_at_these_readers(fmt):
    assert callable(FORMATS[fmt].load_reader())


# --- nf-core matrix ---------------------------------------------------------------------------


def test_nfcore_matrix_values_symbols_and_summed_par_y():
    layer = read_expression_matrix(NFCORE, sample="DSRCT_03_T")
    table = layer.tables["expression"]
    check_contract(table)
    genes = by_gene(layer)
    assert genes.loc["ERBB2", "tpm"] == pytest.approx(240.75)
    assert genes.loc["ERBB2", "gene_id"] == "ENSG00000141736"  # version stripped
    assert genes.loc["CLDN6", "tpm"] == pytest.approx(55.5)
    assert genes.loc["SSTR2", "tpm"] == pytest.approx(19.25)
    # PLCXD1 on X and its PAR_Y copy: two ids, one symbol -> summed (4 + 0).
    assert genes.loc["PLCXD1", "tpm"] == pytest.approx(4.0)
    assert genes.loc["PLCXD1", "gene_id"] == "ENSG00000182378;ENSG00000182378_PAR_Y"
    # Unnamed genes (nf-core writes gene_name == gene_id) are kept under the Ensembl id.
    assert genes.loc["ENSG00000286112", "tpm"] == pytest.approx(1.25)
    assert table["count"].isna().all()
    assert len(table) == 9
    assert list(table["gene"][:3]) == ["ERBB2", "CLDN6", "SSTR2"]  # file order kept
    assert layer.samples_in_file == ["DSRCT_01_T", "DSRCT_02_T", "DSRCT_03_T"]
    assert any("PLCXD1" in n and "summed" in n for n in layer.notes)
    assert any(n.startswith("2 genes without a symbol") for n in layer.notes)


def test_matrix_needs_column_when_several_samples():
    with pytest.raises(InputError) as err:
        read_expression_matrix(NFCORE)
    msg = str(err.value)
    assert "salmon.merged.gene_tpm.tsv:1" in msg
    assert "3 samples ('DSRCT_01_T', 'DSRCT_02_T', 'DSRCT_03_T')" in msg
    assert "column:" in msg


def test_matrix_unknown_sample_lists_columns():
    with pytest.raises(InputError) as err:
        read_expression_matrix(NFCORE, sample="DSRCT_09_T")
    assert "'DSRCT_09_T' is not in the file" in str(err.value)
    assert "one of: 'DSRCT_01_T', 'DSRCT_02_T', 'DSRCT_03_T'" in str(err.value)


def test_counts_matrix_keeps_counts_and_leaves_tpm_empty(tmp_path):
    path = write(tmp_path, "salmon.merged.gene_counts.tsv",
                 "gene_id\tgene_name\tS1\nENSG00000141736.14\tERBB2\t2894\n"
                 "ENSG00000184697.7\tCLDN6\t2350\n")
    layer = read_expression_matrix(path, value="counts")
    genes = by_gene(layer)
    assert genes.loc["ERBB2", "count"] == 2894
    assert genes["tpm"].isna().all()
    assert any("TPM left empty because it needs gene lengths" in n for n in layer.notes)


def test_unknown_value_kind():
    with pytest.raises(InputError, match="expected tpm or counts"):
        read_expression_matrix(NFCORE, sample="DSRCT_01_T", value="fpkm")


def test_symbol_matrix_r_write_table_header_and_unknown_symbols(tmp_path):
    # R write.table(m, sep="\t", quote=FALSE): the header has no cell for the row names.
    path = write(tmp_path, "tpm.tsv",
                 "S1\tS2\nERBB2\t10.5\t1\nCLDN6\t3\t2\nNOTAGENE1\t1\t0\nNOTAGENE2\t2\t0\n")
    layer = read_expression_matrix(path, sample="S1")
    genes = by_gene(layer)
    assert genes.loc["ERBB2", "tpm"] == 10.5
    assert genes.loc["NOTAGENE2", "tpm"] == 2
    assert genes["gene_id"].isna().all()
    assert "2 identifiers not in GENCODE symbols, e.g. NOTAGENE1, NOTAGENE2 (kept as given)" \
        in layer.notes


@pytest.mark.parametrize("sep", ["|", "_"])
def test_combined_ensembl_symbol_ids(tmp_path, sep):
    path = write(tmp_path, "tpm.csv",
                 f"gene,S1\nENSG00000141736.14{sep}ERBB2,7.5\nENSG00000180616.9{sep}SSTR2,2\n"
                 f"ENSG00000182378.14_PAR_Y{sep}PLCXD1,1\nENSG00000182378.14{sep}PLCXD1,0.5\n")
    genes = by_gene(read_expression_matrix(path))
    assert genes.loc["ERBB2", "tpm"] == 7.5
    assert genes.loc["ERBB2", "gene_id"] == "ENSG00000141736"
    assert genes.loc["PLCXD1", "tpm"] == 1.5


def test_tcga_symbol_entrez_ids(tmp_path):
    path = write(tmp_path, "rsem.tsv", "gene_id\tTCGA-01\nERBB2|2064\t33.2\n?|100130426\t1\n")
    layer = read_expression_matrix(path)
    genes = by_gene(layer)
    assert list(genes.index) == ["ERBB2"]
    assert any("1 row without a usable gene identifier" in n for n in layer.notes)


def test_parquet_matrix(tmp_path):
    frame = pd.DataFrame({"S1": [5.0, 6.0], "S2": [1.0, 2.0]}, index=["ERBB2", "CLDN6"])
    frame.index.name = "gene"
    path = tmp_path / "tpm.parquet"
    frame.to_parquet(path)
    layer = read_expression_matrix(path, sample="S2")
    assert by_gene(layer)["tpm"].to_dict() == {"ERBB2": 1.0, "CLDN6": 2.0}
    assert layer.samples_in_file == ["S1", "S2"]


def test_gzipped_matrix(tmp_path):
    path = tmp_path / "tpm.tsv.gz"
    path.write_bytes(gzip.compress(NFCORE.read_bytes()))
    genes = by_gene(read_expression_matrix(path, sample="DSRCT_01_T"))
    assert genes.loc["ERBB2", "tpm"] == pytest.approx(85.412)


def test_bare_ensembl_ids_need_gene_map(tmp_path):
    path = write(tmp_path, "tpm.tsv",
                 "gene_id\tS1\nENSG00000141736.14\t5\nENSG00000184697.7\t6\n")
    with pytest.raises(InputError) as err:
        read_expression_matrix(path)
    msg = str(err.value)
    assert "2 of 2 identifiers are bare Ensembl gene ids (e.g. ENSG00000141736.14)" in msg
    assert "gene_map: genes.tsv" in msg
    genes = by_gene(read_expression_matrix(path, gene_map=DATA / "genes.tsv"))
    assert genes.loc["CLDN6", "tpm"] == 6
    assert genes.loc["ERBB2", "gene_id"] == "ENSG00000141736"


# --- bad values -------------------------------------------------------------------------------


def test_negative_tpm_names_line_column_and_value(tmp_path):
    path = write(tmp_path, "tpm.tsv",
                 "gene\tS1\tS2\nERBB2\t1\t2\nCLDN6\t3\t4\nSSTR2\t5\t-1.5\n")
    with pytest.raises(InputError) as err:
        read_expression_matrix(path, sample="S2")
    assert err.value.line == 4
    assert err.value.column == "S2"
    assert "tpm.tsv:4, column 'S2': negative TPM -1.5" in str(err.value)


def test_non_numeric_value_names_line_and_column(tmp_path):
    path = write(tmp_path, "tpm.csv", "gene,S1,S2\nERBB2,1,2\n\nCLDN6,n.d.,4\n")
    with pytest.raises(InputError) as err:
        read_expression_matrix(path, sample="S1")
    assert "tpm.csv:4, column 'S1': 'n.d.' is not a number" in str(err.value)
    # Other sample columns are not parsed, so their contents do not matter.
    assert by_gene(read_expression_matrix(path, sample="S2")).loc["CLDN6", "tpm"] == 4


def test_missing_value_is_an_error(tmp_path):
    path = write(tmp_path, "tpm.tsv", "gene\tS1\nERBB2\t1\nCLDN6\tNA\n")
    with pytest.raises(InputError) as err:
        read_expression_matrix(path)
    assert "tpm.tsv:3, column 'S1': missing value" in str(err.value)


def test_ragged_line(tmp_path):
    path = write(tmp_path, "tpm.tsv", "gene\tS1\tS2\nERBB2\t1\t2\nCLDN6\t3\n")
    with pytest.raises(InputError) as err:
        read_expression_matrix(path, sample="S1")
    assert "tpm.tsv:3: line has 2 fields but the header has 3" in str(err.value)


def test_duplicate_gene_rows(tmp_path):
    path = write(tmp_path, "tpm.tsv", "gene\tS1\nERBB2\t1\nCLDN6\t2\nERBB2\t3\n")
    with pytest.raises(InputError) as err:
        read_expression_matrix(path)
    assert "tpm.tsv:4: duplicate gene identifier 'ERBB2' (first at line 2)" in str(err.value)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "tpm.tsv.gz"
    body = "gene\tS1\n" + "".join(f"GENE{i}\t{i}.5\n" for i in range(20000))
    path.write_bytes(gzip.compress(body.encode())[:5000])
    with pytest.raises(InputError) as err:
        read_expression_matrix(path)
    assert "tpm.tsv.gz" in str(err.value)
    assert "truncated or not valid gzip" in str(err.value)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "file is empty"),
    ("gene\tS1\n", "header but no data rows"),
    ("\n\n", "no header line"),
])
def test_empty_files(tmp_path, text, problem):
    path = tmp_path / "tpm.tsv"
    path.write_text(text)
    with pytest.raises(InputError, match=problem):
        read_expression_matrix(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.tsv: file not found"):
        read_expression_matrix(tmp_path / "nope.tsv")


# --- salmon -----------------------------------------------------------------------------------


def test_salmon_transcripts_with_gencode_names_summed_to_genes():
    layer = read_salmon(QUANT)
    table = layer.tables["expression"]
    check_contract(table)
    genes = by_gene(layer)
    # ERBB2-201 + ERBB2-210 + ERBB2-205
    assert genes.loc["ERBB2", "tpm"] == pytest.approx(60.25 + 20.5 + 4.662)
    assert genes.loc["ERBB2", "count"] == pytest.approx(2154 + 720.5 + 19.85)
    assert genes.loc["CLDN6", "tpm"] == 250
    assert genes.loc["PLCXD1", "count"] == pytest.approx(63 + 9)
    assert genes.loc["DDX11L2", "gene_id"] == "ENSG00000290825"
    assert len(table) == 6
    assert layer.tool == "salmon"
    assert layer.tool_version == "1.10.3"
    assert layer.samples_in_file == []
    assert "9 transcripts summed into 6 genes (TPM and counts)" in layer.notes


def test_salmon_directory_reads_quant_sf():
    assert by_gene(read_salmon(QUANT.parent)).loc["SSTR2", "tpm"] == pytest.approx(42.118)


def test_salmon_gene_level_with_gene_ids_needs_map():
    with pytest.raises(InputError, match="bare Ensembl gene ids"):
        read_salmon(QUANT_GENES)


def test_salmon_gene_level_with_tsv_gene_map():
    layer = read_salmon(QUANT_GENES, gene_map=DATA / "genes.tsv")
    genes = by_gene(layer)
    assert genes.loc["ERBB2", "tpm"] == pytest.approx(85.412)
    assert genes.loc["ERBB2", "count"] == pytest.approx(2894.35)
    # genes.tsv has no PAR_Y row: that copy keeps its Ensembl id, not summed into PLCXD1.
    assert genes.loc["PLCXD1", "tpm"] == pytest.approx(3.5)
    assert genes.loc["ENSG00000182378_PAR_Y", "tpm"] == pytest.approx(0.5)
    assert "2 genes without a symbol, kept under the Ensembl gene id" in layer.notes


def test_salmon_gene_level_with_gtf_gene_map():
    genes = by_gene(read_salmon(QUANT_GENES, gene_map=DATA / "genes.gtf"))
    assert genes.loc["PLCXD1", "tpm"] == pytest.approx(4.0)  # GTF has the PAR_Y gene
    assert genes.loc["PLCXD1", "gene_id"] == "ENSG00000182378;ENSG00000182378_PAR_Y"
    assert genes.loc["CLDN6", "count"] == 2350


def test_salmon_plain_transcript_ids_with_tx2gene(tmp_path):
    # salmon --gencode keeps only the transcript id: genes must come from a tx2gene table.
    lines = QUANT.read_text().splitlines()
    body = [lines[0]] + [line.split("|", 1)[0] + "\t" + line.split("\t", 1)[1]
                         for line in lines[1:]]
    path = write(tmp_path, "quant.sf", "\n".join(body) + "\n")
    layer = read_salmon(path, gene_map=DATA / "tx2gene.tsv")
    genes = by_gene(layer)
    assert genes.loc["ERBB2", "tpm"] == pytest.approx(85.412)
    assert set(genes.index) == {"ERBB2", "CLDN6", "SSTR2", "GAPDH"}
    assert any(n.startswith("3 transcripts could not be assigned") for n in layer.notes)
    assert layer.tool_version is None
    with pytest.raises(InputError, match="bare Ensembl transcript ids"):
        read_salmon(path)
    # The small test GTF lists 3 of the 9 transcripts: most cannot be placed, so it is an
    # error that names the map and what it covers.
    with pytest.raises(InputError) as err:
        read_salmon(path, gene_map=DATA / "genes.gtf")
    assert "6 of 9 identifiers are bare Ensembl transcript ids" in str(err.value)
    assert "genes.gtf maps 6 genes and 3 transcripts" in str(err.value)


def test_salmon_missing_column(tmp_path):
    path = write(tmp_path, "quant.sf", "Name\tLength\tTPM\nERBB2\t10\t1\n")
    with pytest.raises(InputError) as err:
        read_salmon(path)
    assert "quant.sf:1: not a salmon quant.sf: column(s) EffectiveLength, NumReads missing" \
        in str(err.value)


def test_salmon_negative_numreads(tmp_path):
    path = write(tmp_path, "quant.sf",
                 "Name\tLength\tEffectiveLength\tTPM\tNumReads\n"
                 "ERBB2\t4624\t4474.000\t1.0\t10.000\nCLDN6\t1327\t1177.000\t2.0\t-3.000\n")
    with pytest.raises(InputError) as err:
        read_salmon(path)
    assert "quant.sf:3, column 'NumReads': negative NumReads -3" in str(err.value)


# --- RSEM -------------------------------------------------------------------------------------


def test_rsem_with_gtf_gene_map():
    layer = read_rsem(RSEM, gene_map=DATA / "genes.gtf")
    table = layer.tables["expression"]
    check_contract(table)
    genes = by_gene(layer)
    assert genes.loc["GAPDH", "tpm"] == pytest.approx(1520.33)
    assert genes.loc["GAPDH", "count"] == pytest.approx(20961)
    assert genes.loc["ERBB2", "count"] == pytest.approx(2894.35)
    assert genes.loc["ENSG00000290825", "tpm"] == 0
    assert layer.tool == "RSEM"


def test_rsem_without_map_says_how_to_fix():
    with pytest.raises(InputError) as err:
        read_rsem(RSEM)
    assert "DSRCT_01_T.genes.results" in str(err.value)
    assert "gene_map" in str(err.value)


def test_rsem_symbol_ids_and_isoforms(tmp_path):
    genes_file = write(tmp_path, "s.genes.results",
                       "gene_id\ttranscript_id(s)\tlength\teffective_length\texpected_count"
                       "\tTPM\tFPKM\nERBB2\tNM_004448\t4624\t4474\t100.00\t12.50\t10.00\n")
    assert by_gene(read_rsem(genes_file)).loc["ERBB2", "count"] == 100
    iso = write(tmp_path, "s.isoforms.results",
                "transcript_id\tgene_id\tlength\teffective_length\texpected_count\tTPM\tFPKM"
                "\tIsoPct\nNM_004448\tERBB2\t4624\t4474\t100\t12.5\t10\t80\n"
                "NM_001005862\tERBB2\t4500\t4350\t20\t3.5\t2.5\t20\n")
    layer = read_rsem(iso)
    assert by_gene(layer).loc["ERBB2", "tpm"] == pytest.approx(16.0)
    assert "isoform results summed to 1 gene" in layer.notes


def test_rsem_non_numeric_count(tmp_path):
    path = write(tmp_path, "s.genes.results",
                 "gene_id\ttranscript_id(s)\tlength\teffective_length\texpected_count\tTPM"
                 "\tFPKM\nERBB2\tNM_004448\t4624\t4474\tmany\t12.50\t10.00\n")
    with pytest.raises(InputError) as err:
        read_rsem(path)
    assert "s.genes.results:2, column 'expected_count': 'many' is not a number" \
        in str(err.value)


# --- gene maps --------------------------------------------------------------------------------


def test_gene_map_tsv_gtf_and_headerless_tx2gene():
    tsv = read_gene_map(DATA / "genes.tsv")
    assert tsv.gene_symbol["ENSG00000141736"] == "ERBB2"
    gtf = read_gene_map(DATA / "genes.gtf")
    assert gtf.gene_symbol["ENSG00000182378_PAR_Y"] == "PLCXD1"
    assert gtf.transcript_gene["ENST00000584601"] == "ENSG00000141736"
    tx = read_gene_map(DATA / "tx2gene.tsv")
    assert tx.transcript_gene["ENST00000229239"] == "ENSG00000111640"
    assert tx.gene_symbol["ENSG00000184697"] == "CLDN6"


def test_gene_map_without_names(tmp_path):
    path = write(tmp_path, "map.tsv", "gene_id\tlength\nENSG00000141736\t4624\n")
    with pytest.raises(InputError, match="no gene_name column"):
        read_gene_map(path)


def test_gene_map_unrecognised(tmp_path):
    path = write(tmp_path, "map.tsv", "a\tb\nx\ty\n")
    with pytest.raises(InputError) as err:
        read_gene_map(path)
    assert "map.tsv:1: gene map has no gene_id / gene_name / transcript_id columns" \
        in str(err.value)


def test_summed_values_are_exact_sums():
    layer = read_expression_matrix(NFCORE, sample="DSRCT_01_T")
    genes = by_gene(layer)
    assert math.isclose(genes.loc["PLCXD1", "tpm"], 3.5 + 0.5)

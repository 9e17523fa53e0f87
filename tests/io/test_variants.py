"""Tests for tumorboard.io.variants: VEP/snpEff VCF and GDC MAF readers.

Test files are in tests/data/variants (see tests/data/README.md, section "variants"); bad
inputs are derived from them in tmp_path.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import cyvcf2
import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.io import variants
from tumorboard.io.tables import TABLES
from tumorboard.io.variants import read_maf, read_vcf
from tumorboard.reference import CHROM_LENGTHS

DATA = Path(__file__).parent.parent / "data" / "variants"
VEP = DATA / "vep_somatic.vcf"
SNPEFF = DATA / "snpeff.vcf"
STRELKA37 = DATA / "strelka_grch37.vcf"
MAF = DATA / "gdc.maf"
TUMOUR_A = "TCGA-ZZ-A001-01A-11D-A00X-09"
TUMOUR_B = "TCGA-ZZ-A002-01A-11D-A00Y-09"


def row(df: pd.DataFrame, pos: int, alt: str | None = None) -> pd.Series:
    sel = df["pos"] == pos
    if alt is not None:
        sel &= df["alt"] == alt
    assert sel.sum() == 1, f"expected one row at {pos} {alt}, got {int(sel.sum())}"
    return df.loc[sel].iloc[0]


def bgzip_copy(src: Path, dest: Path) -> Path:
    """Write ``src`` as BGZF with htslib (via cyvcf2), as bgzip would."""
    reader = cyvcf2.VCF(str(src))
    writer = cyvcf2.Writer(str(dest), reader, mode="wz")
    for rec in reader:
        writer.write_record(rec)
    writer.close()
    reader.close()
    return dest


def header_end(path: Path) -> int:
    """1-based line number of the #CHROM line."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#CHROM"):
            return i
    raise AssertionError("no #CHROM line")


@pytest.fixture(scope="module")
def vep() -> pd.DataFrame:
    return read_vcf(VEP).tables["variants"]


# --- VEP CSQ -------------------------------------------------------------------------------


def test_vep_table_has_contract_columns_and_dtypes(vep: pd.DataFrame) -> None:
    assert list(vep.columns) == list(TABLES["variants"])
    assert {c: str(t) for c, t in vep.dtypes.items()} == TABLES["variants"]
    assert len(vep) == 9  # 7 records, two of them with two ALT alleles


def test_vep_csq_values_of_tp53_r273h(vep: pd.DataFrame) -> None:
    r = row(vep, 7673802)
    assert (r["chrom"], r["ref"], r["alt"], r["filter"]) == ("chr17", "C", "T", "PASS")
    assert r["gene"] == "TP53"
    assert r["transcript_id"] == "ENST00000269305.9"
    assert r["consequence"] == "missense_variant"
    assert r["impact"] == "MODERATE"
    assert r["hgvsc"] == "c.818G>A"
    assert r["hgvsp"] == "p.Arg273His"
    # tumour column DSRCT01_T: AD 33,41, DP 75
    assert (r["depth"], r["alt_depth"]) == (75, 41)
    assert r["vaf"] == pytest.approx(41 / 74)


def test_canonical_pick_takes_the_canonical_transcript_not_the_first(vep: pd.DataFrame) -> None:
    # TP53: CANONICAL=YES is the third of four entries
    assert row(vep, 7673802)["transcript_id"] == "ENST00000269305.9"
    first = read_vcf(VEP, annotation_pick="first").tables["variants"]
    assert row(first, 7673802)["transcript_id"] == "ENST00000576024.1"
    assert row(first, 7673802)["consequence"] == "intron_variant"


def test_canonical_flag_used_without_mane(tmp_path: Path) -> None:
    text = VEP.read_text()
    path = tmp_path / "no_mane.vcf"
    path.write_text(re.sub(r"\|NM_\d+\.\d+\|", "||", text))
    assert "|NM_" not in path.read_text()
    df = read_vcf(path).tables["variants"]
    assert row(df, 7673802)["transcript_id"] == "ENST00000269305.9"
    assert row(df, 25245350, "A")["transcript_id"] == "ENST00000311936.8"


def test_several_canonical_transcripts_most_severe_wins(vep: pd.DataFrame) -> None:
    # CDKN2A: canonical CDKN2B-AS1 upstream entry listed first, canonical p16 stop_gained last
    r = row(vep, 21971120)
    assert (r["gene"], r["transcript_id"]) == ("CDKN2A", "ENST00000304494.10")
    assert (r["consequence"], r["impact"], r["hgvsp"]) == ("stop_gained", "HIGH", "p.Arg80Ter")


def test_most_severe_pick_can_differ_from_canonical(vep: pd.DataFrame) -> None:
    # ARID1A: canonical is synonymous; a non-canonical transcript adds splice_region_variant
    assert row(vep, 26760856)["transcript_id"] == "ENST00000324856.13"
    severe = read_vcf(VEP, annotation_pick="most_severe").tables["variants"]
    r = row(severe, 26760856)
    assert r["transcript_id"] == "ENST00000457599.6"
    assert r["consequence"] == "splice_region_variant&synonymous_variant"
    # among equally severe missense entries, the canonical one
    assert row(severe, 7673802)["transcript_id"] == "ENST00000269305.9"


def test_mane_select_used_when_no_canonical_flag(tmp_path: Path) -> None:
    lines = VEP.read_text().splitlines(keepends=True)
    body = [line.replace("|YES|", "||") if not line.startswith("#") else line for line in lines]
    path = tmp_path / "no_canonical.vcf"
    path.write_text("".join(body))
    df = read_vcf(path).tables["variants"]
    # TP53: MANE_SELECT NM_000546.6 is on ENST00000269305.9
    assert row(df, 7673802)["transcript_id"] == "ENST00000269305.9"
    # KRAS G12: MANE transcript ENST00000311936.8 for both alleles
    assert set(df.loc[df["pos"] == 25245350, "transcript_id"]) == {"ENST00000311936.8"}


def test_hgvsp_percent_encoding_decoded(vep: pd.DataFrame) -> None:
    r = row(vep, 26760856)
    assert r["hgvsp"] == "p.Pro412="  # VEP writes p.Pro412%3D
    assert r["hgvsc"] == "c.1236C>T"


def test_multiallelic_snv_split_with_own_annotation_and_reads(vep: pd.DataFrame) -> None:
    g12v = row(vep, 25245350, "A")
    g12d = row(vep, 25245350, "T")
    assert (g12v["hgvsp"], g12d["hgvsp"]) == ("p.Gly12Val", "p.Gly12Asp")
    assert (g12v["hgvsc"], g12d["hgvsc"]) == ("c.35G>T", "c.35G>A")
    assert g12v["transcript_id"] == g12d["transcript_id"] == "ENST00000311936.8"
    # tumour AD 40,12,6 and DP 60
    assert (g12v["alt_depth"], g12d["alt_depth"]) == (12, 6)
    assert g12v["depth"] == g12d["depth"] == 60
    assert g12v["vaf"] == pytest.approx(12 / 58)
    assert g12d["vaf"] == pytest.approx(6 / 58)
    assert g12v["filter"] == g12d["filter"] == "multiallelic"


def test_multiallelic_indel_matched_with_vep_allele_trimming(vep: pd.DataFrame) -> None:
    # CA -> C,CAA: VEP alleles '-' and 'AA' (shared first base removed)
    deletion = row(vep, 25209915, "C")
    duplication = row(vep, 25209915, "CAA")
    assert (deletion["hgvsc"], duplication["hgvsc"]) == ("c.*1021del", "c.*1021dup")
    assert (deletion["alt_depth"], duplication["alt_depth"]) == (8, 4)
    assert deletion["vaf"] == pytest.approx(8 / 62)


def test_indels_annotated(vep: pd.DataFrame) -> None:
    egfr = row(vep, 55174771)
    assert (egfr["ref"], egfr["alt"]) == ("AGGAATTAAGAGAAGC", "A")
    assert (egfr["gene"], egfr["hgvsp"]) == ("EGFR", "p.Glu746_Ala750del")
    assert egfr["vaf"] == pytest.approx(0.3)
    erbb2 = row(vep, 39724729)
    assert (erbb2["consequence"], erbb2["hgvsp"]) == ("inframe_insertion", "p.Tyr772_Ala775dup")


def test_allele_num_matching(tmp_path: Path) -> None:
    # Same KRAS record with VEP --allele_number: entries carry ALLELE_NUM and the
    # Allele field is not used (here deliberately wrong to prove it).
    text = VEP.read_text()
    text = text.replace("|TRANSCRIPTION_FACTORS\">", "|TRANSCRIPTION_FACTORS|ALLELE_NUM\">")
    out = []
    for line in text.splitlines():
        if line.startswith("chr12\t25245350"):
            info = line.split("\t")[7]
            head, csq = info.split("CSQ=")
            entries = []
            for e in csq.split(","):
                allele_num = "1" if e.startswith("A|") else "2"
                entries.append("X" + e[1:] + "|" + allele_num)
            line = line.replace(info, head + "CSQ=" + ",".join(entries))
        out.append(line)
    path = tmp_path / "allele_num.vcf"
    path.write_text("\n".join(out) + "\n")
    df = read_vcf(path).tables["variants"]
    assert row(df, 25245350, "A")["hgvsp"] == "p.Gly12Val"
    assert row(df, 25245350, "T")["hgvsp"] == "p.Gly12Asp"


def test_filter_kept_and_flagged_or_dropped(vep: pd.DataFrame) -> None:
    assert row(vep, 26760856)["filter"] == "weak_evidence"
    info = read_vcf(VEP)
    assert any("2 records with FILTER != PASS kept" in n for n in info.notes)
    passed = read_vcf(VEP, pass_only=True)
    df = passed.tables["variants"]
    assert len(df) == 6
    assert set(df["filter"]) == {"PASS"}
    assert 26760856 not in set(df["pos"]) and 25245350 not in set(df["pos"])
    assert any("2 records with FILTER != PASS dropped" in n for n in passed.notes)


def test_header_metadata() -> None:
    data = read_vcf(VEP)
    assert data.samples_in_file == ["DSRCT01_N", "DSRCT01_T"]
    assert data.genome_build == "GRCh38"
    assert (data.tool, data.tool_version) == ("Mutect2", "4.4.0.0")
    assert any("##tumor_sample" in n for n in data.notes)
    assert any("2 multi-allelic records split" in n for n in data.notes)


def test_normal_column_selected_by_name() -> None:
    df = read_vcf(VEP, sample="DSRCT01_N").tables["variants"]
    r = row(df, 7673802)
    assert (r["depth"], r["alt_depth"], r["vaf"]) == (24, 0, 0.0)


def test_unknown_sample_lists_columns() -> None:
    with pytest.raises(InputError) as err:
        read_vcf(VEP, sample="DSRCT01_X")
    msg = str(err.value)
    assert "vep_somatic.vcf" in msg
    assert "DSRCT01_X" in msg and "'DSRCT01_N', 'DSRCT01_T'" in msg
    assert "column:" in msg


def test_tumour_normal_without_tumour_header_is_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "pair.vcf"
    path.write_text("".join(line for line in VEP.read_text().splitlines(keepends=True)
                            if not line.startswith("##tumor_sample")))
    with pytest.raises(InputError) as err:
        read_vcf(path)
    msg = str(err.value)
    assert "pair.vcf" in msg
    assert "'DSRCT01_N', 'DSRCT01_T'" in msg
    assert "`column:` in case.yaml" in msg
    # naming the column resolves it
    assert row(read_vcf(path, sample="DSRCT01_T").tables["variants"], 7673802)["alt_depth"] == 41


def test_rows_moved_to_columns_in_chunks_give_the_same_table(
        monkeypatch: pytest.MonkeyPatch, vep: pd.DataFrame) -> None:
    monkeypatch.setattr(variants, "_CHUNK_ROWS", 2)
    pd.testing.assert_frame_equal(read_vcf(VEP).tables["variants"], vep)


def test_bgzipped_vcf_reads_like_plain(tmp_path: Path, vep: pd.DataFrame) -> None:
    path = bgzip_copy(VEP, tmp_path / "vep_somatic.vcf.gz")
    assert path.read_bytes()[12:14] == b"BC"  # really BGZF
    data = read_vcf(path)
    pd.testing.assert_frame_equal(data.tables["variants"], vep)
    assert data.genome_build == "GRCh38"


def test_truncated_bgzip(tmp_path: Path) -> None:
    full = bgzip_copy(VEP, tmp_path / "full.vcf.gz").read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(full[: len(full) * 2 // 3])
    with pytest.raises(InputError) as err:
        read_vcf(cut)
    msg = str(err.value)
    assert "cut.vcf.gz" in msg
    assert "truncated or not valid gzip" in msg


def test_truncated_plain_gzip(tmp_path: Path) -> None:
    data = gzip.compress(VEP.read_bytes())
    cut = tmp_path / "cut_plain.vcf.gz"
    cut.write_bytes(data[:-40])
    with pytest.raises(InputError, match=r"cut_plain\.vcf\.gz.*truncated or not valid gzip"):
        read_vcf(cut)
    whole = tmp_path / "plain.vcf.gz"
    whole.write_bytes(data)
    assert len(read_vcf(whole).tables["variants"]) == 9


def test_missing_fileformat_header(tmp_path: Path) -> None:
    path = tmp_path / "noheader.vcf"
    path.write_text("".join(VEP.read_text().splitlines(keepends=True)[1:]))
    with pytest.raises(InputError) as err:
        read_vcf(path)
    assert err.value.line == 1
    assert "noheader.vcf:1" in str(err.value)
    assert "not a VCF: no ##fileformat header" in str(err.value)


def test_empty_vcf(tmp_path: Path) -> None:
    path = tmp_path / "empty.vcf"
    path.write_text("")
    with pytest.raises(InputError, match=r"empty\.vcf.*file is empty"):
        read_vcf(path)


def test_bad_record_names_line_and_column(tmp_path: Path) -> None:
    lines = VEP.read_text().splitlines(keepends=True)
    n = header_end(VEP)
    fields = lines[n + 1].split("\t")  # second record
    fields[1] = "55l74771"
    lines[n + 1] = "\t".join(fields)
    path = tmp_path / "badpos.vcf"
    path.write_text("".join(lines))
    with pytest.raises(InputError) as err:
        read_vcf(path)
    assert err.value.line == n + 2
    assert err.value.column == "POS"
    assert f"badpos.vcf:{n + 2}" in str(err.value)
    assert "55l74771" in str(err.value)


def test_unknown_annotation_pick() -> None:
    with pytest.raises(InputError, match="canonical / most_severe / first"):
        read_vcf(VEP, annotation_pick="best")


# --- snpEff ANN ----------------------------------------------------------------------------


def test_snpeff_ann() -> None:
    data = read_vcf(SNPEFF)
    df = data.tables["variants"]
    assert data.samples_in_file == ["DSRCT02_T"]  # single tumour column, no sample needed
    assert data.genome_build == "GRCh38"  # from ##SnpEffCmd database GRCh38.105
    assert len(df) == 5
    h1047r, h1047l = row(df, 179234297, "G"), row(df, 179234297, "T")
    assert (h1047r["gene"], h1047r["hgvsp"], h1047r["hgvsc"]) == ("PIK3CA", "p.His1047Arg",
                                                                   "c.3140A>G")
    assert h1047l["hgvsp"] == "p.His1047Leu"
    assert (h1047r["alt_depth"], h1047l["alt_depth"]) == (20, 5)
    assert h1047r["vaf"] == pytest.approx(20 / 75)
    braf = row(df, 140753336)
    assert braf["transcript_id"] == "ENST00000646891.2"  # first entry (snpEff sorts by impact)
    assert (braf["consequence"], braf["impact"]) == ("missense_variant", "MODERATE")
    pten = row(df, 87933147)  # snpEff Allele is the full ALT 'G' of GA>G
    assert (pten["consequence"], pten["impact"], pten["hgvsc"]) == ("frameshift_variant", "HIGH",
                                                                    "c.389delG")
    assert row(df, 7675088)["filter"] == "panel_of_normals"


# --- build detection, Strelka, no annotation -----------------------------------------------


def test_grch37_strelka_vcf() -> None:
    data = read_vcf(STRELKA37)
    df = data.tables["variants"]
    assert data.genome_build == "GRCh37"
    assert (data.tool, data.tool_version) == ("Strelka", "2.9.10")
    assert data.samples_in_file == ["NORMAL", "TUMOR"]
    braf = row(df, 140453136)
    assert braf["chrom"] == "chr7"  # '7' normalised
    # Strelka tier-1 counts: AU 55, TU 36 in TUMOR; FORMAT DP 92
    assert (braf["depth"], braf["alt_depth"]) == (92, 36)
    assert braf["vaf"] == pytest.approx(36 / 91)
    assert df["gene"].isna().all() and df["hgvsp"].isna().all()
    assert any("no VEP CSQ or snpEff ANN annotation" in n for n in data.notes)
    assert row(df, 32417945)["filter"] == "LowEVS"


def _minimal_vcf(path: Path, meta: list[str]) -> Path:
    path.write_text(
        "##fileformat=VCFv4.2\n" + "".join(m + "\n" for m in meta)
        + '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT1\n"
        + "chr1\t1000\t.\tA\tG\t.\tPASS\t.\tAD\t30,10\n"
    )
    return path


@pytest.mark.parametrize("build", ["GRCh37", "GRCh38"])
def test_build_from_contig_lengths(tmp_path: Path, build: str) -> None:
    contigs = [f"##contig=<ID={c},length={n}>" for c, n in CHROM_LENGTHS[build].items()]
    data = read_vcf(_minimal_vcf(tmp_path / "c.vcf", contigs))
    assert data.genome_build == build
    r = data.tables["variants"].iloc[0]
    assert (r["depth"], r["alt_depth"], r["vaf"]) == (40, 10, 0.25)  # no DP: AD sum


@pytest.mark.parametrize(("reference", "build"), [
    ("##reference=file:///refs/hs38DH.fa", "GRCh38"),
    ("##reference=/data/ucsc.hg19.fasta", "GRCh37"),
    ("##reference=file:///gatk/human_g1k_v37.fasta", "GRCh37"),
    ("##reference=file:///refs/genome.fa", None),
])
def test_build_from_reference_path(tmp_path: Path, reference: str, build: str | None) -> None:
    assert read_vcf(_minimal_vcf(tmp_path / "r.vcf", [reference])).genome_build == build


def test_strelka_indel_tier_counts(tmp_path: Path) -> None:
    path = tmp_path / "somatic.indels.vcf"
    path.write_text(
        "##fileformat=VCFv4.1\n##source=strelka\n##source_version=2.9.10\n"
        "##content=strelka somatic indel calls\n"
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth for tier1">\n'
        '##FORMAT=<ID=TAR,Number=2,Type=Integer,Description="Reads strongly supporting '
        'alternate allele for tiers 1,2">\n'
        '##FORMAT=<ID=TIR,Number=2,Type=Integer,Description="Reads strongly supporting indel '
        'allele for tiers 1,2">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
        "chr7\t55174771\t.\tAGGAATTAAGAGAAGC\tA\t.\tPASS\t.\tDP:TAR:TIR\t40:40,41:0,0\t"
        "95:66,68:27,29\n"
    )
    r = read_vcf(path).tables["variants"].iloc[0]
    assert (r["depth"], r["alt_depth"]) == (95, 27)
    assert r["vaf"] == pytest.approx(27 / 93)


def test_sites_only_vcf_reads_info_af_dp(tmp_path: Path) -> None:
    path = tmp_path / "sites.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n"
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">\n'
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "17\t7673802\t.\tC\tT\t.\t.\tDP=80;AF=0.45\n"
        "MT\t16519\t.\tT\tC\t.\tPASS\tDP=20;AF=1\n"
    )
    data = read_vcf(path)
    df = data.tables["variants"]
    assert data.samples_in_file == []
    assert list(df["chrom"]) == ["chr17", "chrM"]
    assert list(df["filter"]) == ["PASS", "PASS"]  # '.' counts as PASS
    assert list(df["depth"]) == [80, 20]
    assert list(df["vaf"]) == pytest.approx([0.45, 1.0])
    assert df["alt_depth"].isna().all()
    with pytest.raises(InputError, match=r"'T1' is not in the file: it is a sites-only VCF"):
        read_vcf(path, sample="T1")


# --- GDC MAF -------------------------------------------------------------------------------


def maf_rows(path: Path = MAF) -> tuple[list[str], list[str], list[list[str]]]:
    lines = path.read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    rest = [line for line in lines if not line.startswith("#")]
    return comments, rest[0].split("\t"), [r.split("\t") for r in rest[1:]]


def write_maf(path: Path, comments: list[str], header: list[str],
              rows: list[list[str]]) -> Path:
    path.write_text("\n".join(comments + ["\t".join(header)] + ["\t".join(r) for r in rows])
                    + "\n")
    return path


def test_maf_values_of_one_tumour() -> None:
    data = read_maf(MAF, sample=TUMOUR_A)
    df = data.tables["variants"]
    assert list(df.columns) == list(TABLES["variants"])
    assert data.samples_in_file == [TUMOUR_A, TUMOUR_B]
    assert data.genome_build == "GRCh38"
    assert len(df) == 4
    tp53 = row(df, 7673802)
    assert (tp53["chrom"], tp53["ref"], tp53["alt"]) == ("chr17", "C", "T")
    assert (tp53["gene"], tp53["transcript_id"]) == ("TP53", "ENST00000269305")
    assert (tp53["hgvsc"], tp53["hgvsp"]) == ("c.818G>A", "p.Arg273His")
    assert (tp53["consequence"], tp53["impact"]) == ("missense_variant", "MODERATE")
    assert (tp53["depth"], tp53["alt_depth"]) == (75, 41)
    assert tp53["vaf"] == pytest.approx(41 / 74)  # t_alt / (t_ref + t_alt)
    # indels stay in MAF form
    egfr = row(df, 55174772)
    assert (egfr["ref"], egfr["alt"]) == ("GGAATTAAGAGAAGC", "-")
    assert row(df, 39724729)["ref"] == "-"
    assert any("2 indels kept in MAF form" in n for n in data.notes)
    arid1a = row(df, 26760856)
    assert arid1a["filter"] == "panel_of_normals;weak_evidence"
    assert arid1a["consequence"] == "splice_region_variant&synonymous_variant"
    assert arid1a["hgvsp"] == "p.Pro412="


def test_maf_second_tumour_and_intergenic_row() -> None:
    df = read_maf(MAF, sample=TUMOUR_B).tables["variants"]
    assert len(df) == 2
    assert row(df, 25245350)["hgvsp"] == "p.Gly12Asp"
    igr = row(df, 127500112)
    assert pd.isna(igr["gene"])  # Hugo_Symbol 'Unknown'
    assert igr["consequence"] == "intergenic_variant"
    assert pd.isna(igr["hgvsp"])


def test_maf_several_tumours_need_a_sample() -> None:
    with pytest.raises(InputError) as err:
        read_maf(MAF)
    msg = str(err.value)
    assert "gdc.maf" in msg and "Tumor_Sample_Barcode" in msg
    assert TUMOUR_A in msg and TUMOUR_B in msg
    assert "column:" in msg


def test_maf_unknown_sample() -> None:
    with pytest.raises(InputError,
                       match=r"TCGA-ZZ-9999.*is not in the file.*one of: 'TCGA-ZZ-A001"):
        read_maf(MAF, sample="TCGA-ZZ-9999-01A-11D-A00Z-09")


def test_maf_single_tumour_needs_no_sample(tmp_path: Path) -> None:
    comments, header, rows = maf_rows()
    i = header.index("Tumor_Sample_Barcode")
    path = write_maf(tmp_path / "one.maf", comments, header, [r for r in rows if r[i] == TUMOUR_B])
    data = read_maf(path)
    assert data.samples_in_file == [TUMOUR_B]
    assert len(data.tables["variants"]) == 2


def test_maf_missing_required_column_is_named(tmp_path: Path) -> None:
    comments, header, rows = maf_rows()
    i = header.index("Tumor_Seq_Allele2")
    path = write_maf(tmp_path / "nocol.maf", comments, header[:i] + header[i + 1:],
                     [r[:i] + r[i + 1:] for r in rows])
    with pytest.raises(InputError) as err:
        read_maf(path, sample=TUMOUR_A)
    assert err.value.column == "Tumor_Seq_Allele2"
    assert err.value.line == len(comments) + 1
    assert "Tumor_Seq_Allele2" in str(err.value) and "nocol.maf" in str(err.value)


def test_maf_non_numeric_count_names_line_and_column(tmp_path: Path) -> None:
    comments, header, rows = maf_rows()
    rows[1][header.index("t_alt_count")] = "thirty"
    path = write_maf(tmp_path / "badcount.maf", comments, header, rows)
    with pytest.raises(InputError) as err:
        read_maf(path, sample=TUMOUR_A)
    assert err.value.column == "t_alt_count"
    assert err.value.line == len(comments) + 3  # header, row 1, row 2
    assert "'thirty' is not a whole number" in str(err.value)


def test_maf_mixed_builds(tmp_path: Path) -> None:
    comments, header, rows = maf_rows()
    rows[4][header.index("NCBI_Build")] = "GRCh37"
    path = write_maf(tmp_path / "mixed.maf", comments, header, rows)
    with pytest.raises(InputError) as err:
        read_maf(path, sample=TUMOUR_A)
    assert "mixes genome builds (GRCh38, GRCh37)" in str(err.value)
    assert err.value.line == len(comments) + 1 + 5
    assert err.value.column == "NCBI_Build"


def test_maf_build_spellings(tmp_path: Path) -> None:
    comments, header, rows = maf_rows()
    for r in rows:
        r[header.index("NCBI_Build")] = "37"
    path = write_maf(tmp_path / "b37.maf", comments, header, rows)
    assert read_maf(path, sample=TUMOUR_B).genome_build == "GRCh37"


def test_maf_hgvsp_short_fallback(tmp_path: Path) -> None:
    comments, header, rows = maf_rows()
    i = header.index("HGVSp")
    path = write_maf(tmp_path / "short.maf", comments, header[:i] + header[i + 1:],
                     [r[:i] + r[i + 1:] for r in rows])
    data = read_maf(path, sample=TUMOUR_A)
    assert row(data.tables["variants"], 7673802)["hgvsp"] == "p.R273H"
    assert any("HGVSp_Short" in n for n in data.notes)


def test_maf_gzip_and_truncated_gzip(tmp_path: Path) -> None:
    packed = gzip.compress(MAF.read_bytes())
    whole = tmp_path / "gdc.maf.gz"
    whole.write_bytes(packed)
    assert len(read_maf(whole, sample=TUMOUR_A).tables["variants"]) == 4
    cut = tmp_path / "cut.maf.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match=r"cut\.maf\.gz.*truncated or not valid gzip"):
        read_maf(cut, sample=TUMOUR_A)

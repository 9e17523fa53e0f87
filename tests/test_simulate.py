"""Tests of the cohort simulator: determinism, valid manifests, truth consistent with files,
and every file read back by the project's own readers."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cyvcf2 import VCF

from tumorboard import reference
from tumorboard.errors import InputError
from tumorboard.intake import validate_case
from tumorboard.io.case import read_case
from tumorboard.io.formats import FORMATS
from tumorboard.simulate import (
    ENTITIES,
    FUSIONS,
    TMB_TERRITORY_MB,
    CohortTruth,
    PatientTruth,
    simulate_cohort,
    write_large_case,
)

# Twelve patients; their positions in the cohort (0-11) cycle through every format variant:
# VCF/MAF, SEG with and without allele-specific columns, Arriba/STAR-Fusion (with coding
# effect at position 6, ES-001), salmon/RSEM, EPIC/EPICv2 and the three HLA sources.
SMALL_OTHERS = {"SYNS": 1, "ES": 1, "DDLS": 1, "LMS": 1, "GIST": 1, "IMT": 1, "ASPS": 1}
NONSYN = {"missense_variant", "stop_gained", "frameshift_variant", "inframe_deletion",
          "splice_donor_variant", "splice_acceptor_variant"}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def _read_tsv(path: Path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", encoding="utf-8-sig", low_memory=False, **kw)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CohortTruth]:
    root = tmp_path_factory.mktemp("small_cohort")
    truth = simulate_cohort(root, n_dsrct=5, others=SMALL_OTHERS, size="small")
    return root, truth


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CohortTruth]:
    root = tmp_path_factory.mktemp("default_cohort")
    truth = simulate_cohort(root)
    return root, truth


def _first(truth: CohortTruth, **where: object) -> PatientTruth:
    for p in truth.patients:
        if all(getattr(p, k) == v for k, v in where.items()):
            return p
    raise AssertionError(f"no patient with {where}")


def _with_format(truth: CohortTruth, layer: str, fmt: str) -> PatientTruth:
    for p in truth.patients:
        if p.formats.get(layer) == fmt:
            return p
    raise AssertionError(f"no patient with {layer} format {fmt}")


# --- determinism and manifests ------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    kwargs = {"n_dsrct": 2, "others": {"DDLS": 1, "LMS": 1}, "size": "small"}
    simulate_cohort(tmp_path / "a", seed=7, **kwargs)
    # The second run in another interpreter with another string-hash seed: nothing may
    # depend on set or dict iteration order of strings.
    code = (f"from tumorboard.simulate import simulate_cohort; "
            f"simulate_cohort({str(tmp_path / 'b')!r}, seed=7, **{kwargs!r})")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "12345"})
    simulate_cohort(tmp_path / "c", seed=8, **kwargs)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert len(a) > 30
    assert a == b
    assert a.keys() == c.keys()
    assert a != c  # another seed, other patients


def test_every_case_yaml_passes_read_case(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    for p in truth.patients:
        case = read_case(root / p.patient_id)
        assert case.patient.id == p.patient_id
        assert case.diagnosis.oncotree_code == p.submitted_code
        assert case.diagnosis.histology == p.submitted_histology
        assert case.genome_build == "GRCh38"
        tumour = case.sample(p.tumour_sample)
        assert tumour.type == "tumour"
        assert 0.3 <= tumour.tumour_cell_content <= 0.9
        assert case.sample(p.normal_sample).site == "blood"
        layers = {f.layer for s in case.samples for f in s.files}
        expected = {"variants", "copy_number", "fusions", "expression", "methylation",
                    "proteome", "phosphoproteome"}
        assert expected <= layers
        if p.hla_source == "case.yaml":
            assert case.hla is not None
            assert list(case.hla.alleles) == p.hla_alleles
        else:
            assert "hla" in layers


def test_intake_validates_every_case(small: tuple[Path, CohortTruth]) -> None:
    """The intake reads every file with its reader and cross-checks it against case.yaml
    (genome build from the headers, VCF sample columns named by column/normal_column)."""
    root, truth = small
    for p in truth.patients:
        validate_case(root / p.patient_id)


def test_truth_json_round_trips(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    loaded = CohortTruth.from_json(root / "truth.json")
    assert loaded == truth
    raw = json.loads((root / "truth.json").read_text(encoding="utf-8"))
    assert raw["tmb_territory_mb"] == TMB_TERRITORY_MB
    assert [p["patient_id"] for p in raw["patients"]][4:7] == ["DSRCT-005", "SYNS-001", "ES-001"]


def test_patient_ids_are_pseudonymous(small: tuple[Path, CohortTruth]) -> None:
    _, truth = small
    for p in truth.patients:
        assert re.fullmatch(r"[A-Z]+-\d{3}", p.patient_id)
        assert p.tumour_sample == f"{p.patient_id}-T1"
        assert p.normal_sample == f"{p.patient_id}-N"


def test_every_format_is_used_in_the_small_cohort(small: tuple[Path, CohortTruth]) -> None:
    _, truth = small
    used = {f for p in truth.patients for f in p.formats.values()}
    assert used >= {"vcf", "maf", "seg", "arriba", "star_fusion", "salmon", "rsem",
                    "beta_matrix", "maxquant_proteingroups", "maxquant_phosphosites",
                    "optitype", "arcashla"}
    assert {p.hla_source for p in truth.patients} == {"optitype", "arcashla", "case.yaml"}
    assert {p.methylation_platform for p in truth.patients} == {"EPIC", "EPICv2"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"others": {"XYZ": 1}},
     r"unknown entity code\(s\) in others: XYZ \(expected OncoTree codes among SYNS, ES, DDLS"),
    ({"others": {"DSRCT": 2}}, r"others: DSRCT .*Fix: give DSRCT patients with n_dsrct"),
    ({"size": "huge"}, r"unknown cohort size 'huge' \(expected 'demo' or 'small'\)"),
    ({"n_dsrct": -1}, r"n_dsrct is -1 \(expected a whole number >= 0\)"),
    ({"others": {"ES": -2}}, r"others\['ES'\] is -2 \(expected a whole number >= 0\)"),
    ({"others": {"ES": 1.5}}, r"others\['ES'\] is 1.5"),
    ({"seed": -3}, r"seed is -3 \(expected a whole number >= 0\)"),
])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        simulate_cohort(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()  # refused before anything is written


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_variants": 0}, r"n_variants is 0 \(expected a whole number >= 1\)"),
    ({"n_genes": 61_218}, r"n_genes is 61218 \(expected a whole number from 1 to 61,217\)"),
    ({"n_cpgs": 900_000}, r"n_cpgs is 900000 \(expected a whole number from 1 to 850,000\)"),
    ({"n_proteins": 25_000},
     r"n_proteins is 25000 \(expected a whole number from 1 to 19,\d{3}\)\. Fix: there is one "),
    ({"n_proteins": 2, "n_sites": 5_000},
     r"n_sites is 5000 .*Fix: at most one site per 10 residues of the 2 proteins: raise "),
    ({"seed": "7"}, r"seed is '7'"),
])
def test_write_large_case_refuses_bad_sizes(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        write_large_case(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


# --- truth consistent with the raw files (parsed here without the readers) ----------------


def test_fusion_breakpoints_lie_inside_their_genes() -> None:
    genes = reference.genes().drop_duplicates("symbol").set_index("symbol")
    for fusion in FUSIONS.values():
        for gene, bp in ((fusion.gene5, fusion.breakpoint5), (fusion.gene3, fusion.breakpoint3)):
            assert genes.loc[gene, "start"] <= bp <= genes.loc[gene, "end"], (fusion.name, gene)


def test_ddls_seg_has_a_high_segment_over_mdm2_and_cdk4(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = _first(truth, entity="DDLS")
    seg = _read_tsv(root / p.patient_id / p.files["copy_number"])
    seg["chrom"] = seg["chrom"].astype(str).str.removeprefix("chr")
    for start, end in ((68_808_177, 68_850_686), (57_747_727, 57_752_310)):  # MDM2, CDK4
        over = seg[(seg["chrom"] == "12") & (seg["loc.start"] <= start) & (seg["loc.end"] >= end)]
        assert len(over) == 1
        assert 2.0 <= over["seg.mean"].iloc[0] <= 4.5
    assert "MDM2 amplification" in p.driver_alterations
    # Elsewhere the genome is near diploid.
    assert seg.loc[seg["chrom"] == "1", "seg.mean"].abs().max() < 1.0


def test_lms_has_tp53_and_rb1_losses(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = _first(truth, entity="LMS")
    seg = _read_tsv(root / p.patient_id / p.files["copy_number"])
    seg["chrom"] = seg["chrom"].astype(str).str.removeprefix("chr")
    tp53 = seg[(seg["chrom"] == "17") & (seg["loc.start"] <= 7_661_779)
               & (seg["loc.end"] >= 7_687_538)]
    assert tp53["seg.mean"].iloc[0] < -0.1
    rb1 = seg[(seg["chrom"] == "13") & (seg["loc.start"] <= 48_400_000)
              & (seg["loc.end"] >= 48_400_000)]
    assert rb1["seg.mean"].iloc[0] < -0.3
    assert any(a.startswith("TP53 p.") for a in p.driver_alterations)


def test_fusion_files_hold_the_defining_fusion(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    for p in truth.patients:
        df = _read_tsv(root / p.patient_id / p.files["fusions"])
        if p.formats["fusions"] == "arriba":
            names = set(df["#gene1"] + "::" + df["gene2"])
            high = df[df["confidence"] == "high"]
        else:
            names = set(df["#FusionName"].str.replace("--", "::"))
            high = df[df["LargeAnchorSupport"] == "YES_LDAS"]
        if p.defining_fusion is None:
            assert not any(n in names for n in (f.name for f in FUSIONS.values()))
            continue
        assert p.defining_fusion in names
        assert len(high) >= 1
    dsrct = next(p for p in truth.patients
                 if p.entity == "DSRCT" and p.formats["fusions"] == "arriba")
    arriba = _read_tsv(root / dsrct.patient_id / dsrct.files["fusions"])
    row = arriba[(arriba["#gene1"] == "EWSR1") & (arriba["gene2"] == "WT1")].iloc[0]
    assert row["breakpoint1"] == "chr22:29287134"
    assert row["type"] == "translocation"
    assert row["reading_frame"] == "in-frame"


def test_variant_files_match_truth_tmb(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    for p in truth.patients:
        path = root / p.patient_id / p.files["variants"]
        if p.formats["variants"] == "vcf":
            n = 0
            vcf = VCF(str(path))
            assert vcf.samples and p.file_samples["variants"] in vcf.samples
            for rec in vcf:
                csq = rec.INFO.get("CSQ").split(",")[0].split("|")
                if rec.FILTER is None and csq[1] in NONSYN:
                    n += 1
            vcf.close()
        else:
            maf = _read_tsv(path, comment="#")
            n = int(((maf["FILTER"] == "PASS") & maf["One_Consequence"].isin(NONSYN)).sum())
        assert n / TMB_TERRITORY_MB == pytest.approx(p.tmb, abs=1e-3)
        lo, hi = ENTITIES[p.entity].tmb
        assert 0.5 * lo <= p.tmb <= hi + 0.2


def test_vcf_is_valid_bgzf_with_grch38_contigs(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = _with_format(truth, "variants", "vcf")
    raw = (root / p.patient_id / p.files["variants"]).read_bytes()
    # BGZF: every block is a gzip member with the 'BC' extra field; the file ends with the
    # 28-byte empty EOF block (SAM/BAM specification 4.1).
    offset, blocks = 0, 0
    while offset < len(raw):
        assert raw[offset:offset + 4] == b"\x1f\x8b\x08\x04"
        assert raw[offset + 12:offset + 14] == b"BC"
        bsize = struct.unpack("<H", raw[offset + 16:offset + 18])[0]
        offset += bsize + 1
        blocks += 1
    assert offset == len(raw)
    assert raw.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    text = gzip.decompress(raw).decode()
    assert text.startswith("##fileformat=VCFv4.2\n")
    assert "##contig=<ID=chr1,length=248956422>" in text
    assert f"##tumor_sample={p.file_samples['variants']}" in text
    assert "Format: Allele|Consequence|IMPACT|SYMBOL|Gene|" in text
    assert "|CANONICAL|MANE_SELECT|" in text


def test_lms_vcf_carries_its_tp53_driver(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = _first(truth, entity="LMS")
    driver = next(a for a in p.driver_alterations if a.startswith("TP53 p."))
    text = gzip.decompress((root / p.patient_id / p.files["variants"]).read_bytes()).decode()
    line = next(x for x in text.splitlines() if "|TP53|" in x and ":" + driver[5:] in x)
    fields = line.split("\t")
    assert fields[0] == "chr17"
    assert fields[6] == "PASS"
    assert "ENST00000269305.9:c." in fields[7]
    assert "NM_000546.6" in fields[7]


def test_expression_follows_target_states(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    values = {}
    for p in truth.patients:
        df = _read_tsv(root / p.patient_id / p.files["expression"])
        name = "Name" if "Name" in df else "gene_id"
        tpm = df.set_index(name)["TPM"]
        assert tpm.sum() == pytest.approx(1e6, rel=1e-3)
        values[p.patient_id] = tpm
    # TPM depends on how many genes a file has (size="small": 2,000), so compare tumours.
    for gene, state in (("ERBB2", "erbb2_expressed"), ("CLDN6", "cldn6_high")):
        on = [values[p.patient_id][gene] for p in truth.patients if getattr(p, state)]
        off = [values[p.patient_id][gene] for p in truth.patients if not getattr(p, state)]
        assert on and off
        assert min(on) > 2 * max(off), gene
    wt1_dsrct = [values[p.patient_id]["WT1"] for p in truth.patients if p.entity == "DSRCT"]
    wt1_other = [values[p.patient_id]["WT1"] for p in truth.patients if p.entity != "DSRCT"]
    assert min(wt1_dsrct) > 3 * np.median(wt1_other)


def test_phosphoproteome_shows_kdr_activation_not_erbb2(
    default: tuple[Path, CohortTruth],
) -> None:
    root, truth = default
    rows = []
    for p in truth.patients:
        df = _read_tsv(root / p.patient_id / p.files["phosphoproteome"])
        df = df[df["Reverse"].isna()]
        key = df["Gene names"] + "_" + df["Amino acid"] + df["Position"].astype(str)
        col = df[f"Intensity {p.file_samples['phosphoproteome']}"]
        site = dict(zip(key, np.log2(col.replace(0, np.nan)), strict=True))
        rows.append({"kdr": p.kdr_activated, "erbb2": p.erbb2_expressed,
                     "KDR_Y1175": site.get("KDR_Y1175"), "KDR_Y1214": site.get("KDR_Y1214"),
                     "PLCG1_Y783": site.get("PLCG1_Y783"),
                     "ERBB2_Y1248": site.get("ERBB2_Y1248")})
    t = pd.DataFrame(rows)
    assert t["kdr"].sum() == 2
    for s in ("KDR_Y1175", "KDR_Y1214"):
        assert t.loc[t["kdr"], s].min() > t.loc[~t["kdr"], s].quantile(0.95) + 0.5
    assert t.loc[t["kdr"], "PLCG1_Y783"].mean() > t.loc[~t["kdr"], "PLCG1_Y783"].mean() + 1
    # ERBB2 expressed, not activated: its sites are no higher than in the other tumours.
    diff = t.loc[t["erbb2"], "ERBB2_Y1248"].mean() - t.loc[~t["erbb2"], "ERBB2_Y1248"].mean()
    assert abs(diff) < 0.5


def test_proteome_has_erbb2_high_in_expressing_dsrct(default: tuple[Path, CohortTruth]) -> None:
    root, truth = default
    on, off = [], []
    for p in truth.patients:
        df = _read_tsv(root / p.patient_id / p.files["proteome"])
        assert df["Protein IDs"].str.startswith("REV__").any()
        assert (df["Potential contaminant"] == "+").any()
        lfq = df.set_index("Gene names")[f"LFQ intensity {p.file_samples['proteome']}"]
        value = np.log2(lfq.get("ERBB2", 0)) if lfq.get("ERBB2", 0) > 0 else np.nan
        (on if p.erbb2_expressed else off).append(value)
    assert np.nanmean(on) > np.nanmean(off) + 1.0
    assert np.isnan(on).mean() < 0.2


def test_methylation_classes_are_learnable(default: tuple[Path, CohortTruth]) -> None:
    """Leave-one-out nearest centroid on the beta values recovers the true entity."""
    root, truth = default
    betas, labels = [], []
    for p in truth.patients:
        df = _read_tsv(root / p.patient_id / p.files["methylation"])
        assert df.columns[0] == "ID_REF"
        values = df.iloc[:, 1].to_numpy(dtype=float)
        assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1
        assert 0 < np.isnan(values).sum() < 0.01 * len(values)
        ids = df["ID_REF"].str.slice(0, 10)
        betas.append(pd.Series(values, index=ids))
        labels.append(p.entity)
    x = pd.concat(betas, axis=1).fillna(0.5).to_numpy().T
    labels = np.array(labels)
    correct = 0
    for i in range(len(labels)):
        keep = np.arange(len(labels)) != i
        cents = {e: x[keep & (labels == e)].mean(axis=0) for e in set(labels[keep])}
        guess = min(cents, key=lambda e: np.abs(x[i] - cents[e]).mean())
        correct += guess == labels[i]
    assert correct / len(labels) >= 0.9


# --- the default cohort -------------------------------------------------------------------


@pytest.mark.slow
def test_default_cohort_composition(default: tuple[Path, CohortTruth]) -> None:
    root, truth = default
    assert len(truth.patients) >= 40
    assert len(truth.entities) >= 7
    contradicting = [p for p in truth.patients if p.histology_contradicts]
    assert 4 <= len(contradicting) <= 8
    assert {p.submitted_code for p in contradicting} >= {"ES", "RCSNOS", "DSRCT", "MFH"}
    dsrct = [p for p in truth.patients if p.entity == "DSRCT"]
    assert len(dsrct) == 30
    assert all(p.defining_fusion == "EWSR1::WT1" for p in dsrct)
    assert sum(p.sex == "male" for p in dsrct) == 24  # 4:1 (Gerald et al. 1998)
    assert all(15 <= p.age_at_diagnosis <= 35 for p in dsrct)
    assert sum(p.erbb2_expressed for p in dsrct) == 24
    assert not any(p.erbb2_activated for p in truth.patients)
    assert sum(p.cldn6_high for p in dsrct) == 10
    assert sum(p.kdr_activated for p in truth.patients) == 2
    assert 1 <= sum(p.tyro3_high for p in dsrct) <= 4
    assert all(0.3 <= p.tmb <= 1.2 for p in dsrct)
    carriers = np.mean([any(a == "HLA-A*02:01" for a in p.hla_alleles) for p in truth.patients])
    assert 0.2 <= carriers <= 0.7
    ddls = [p for p in truth.patients if p.entity == "DDLS"]
    assert all({"MDM2 amplification", "CDK4 amplification"} <= set(p.driver_alterations)
               for p in ddls)
    gist = [p for p in truth.patients if p.entity == "GIST"]
    assert all(any(a.startswith("KIT p.") for a in p.driver_alterations) for p in gist)
    assert all("ALK" in (p.defining_fusion or "") for p in truth.patients if p.entity == "IMT")
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert size < 150e6
    for p in truth.patients:
        read_case(root / p.patient_id)


# --- the large case -------------------------------------------------------------------------


def test_write_large_case_writes_the_requested_sizes(tmp_path: Path) -> None:
    """Every count is what the project's readers keep, after their filtering."""
    case_dir = write_large_case(tmp_path, n_variants=2_000, n_genes=3_000, n_cpgs=5_000,
                                n_proteins=1_500, n_sites=5_000)
    case = read_case(case_dir)
    files = {f.layer: (case_dir / f.path, f.format) for s in case.samples for f in s.files}

    def read(layer: str):
        path, fmt = files[layer]
        return FORMATS[fmt].load_reader()(path)

    assert len(read("variants").tables["variants"]) == 2_000
    assert len(read("expression").tables["expression"]) == 3_000
    assert len(read("methylation").tables["methylation"]) == 5_000
    proteome = read("proteome")
    assert len(proteome.tables["proteome"]) == 1_500
    assert proteome.tables["proteome"]["feature_id"].is_unique
    # The table holds what the reader removes: decoys, contaminants and 1 % site-only groups.
    notes = " | ".join(proteome.notes)
    assert "15 protein groups only identified by a modification site removed" in notes
    assert "6 potential contaminants removed" in notes
    assert "reverse (decoy) hits removed" in notes
    assert "1,500 of 1,528 protein groups kept; 0 not quantified" in notes
    sites = read("phosphoproteome")
    assert len(sites.tables["phosphoproteome"]) == 5_000
    assert sites.tables["phosphoproteome"]["feature_id"].is_unique
    assert "5,000 of 5,050 sites kept" in " | ".join(sites.notes)
    # The target and marker proteins are never the site-only groups the reader drops.
    assert {"ERBB2", "CLDN6", "KDR", "WT1"} <= set(proteome.tables["proteome"]["gene"])


# --- read back with the project's readers --------------------------------------------------


def _read(root: Path, p: PatientTruth, layer: str):
    case = read_case(root / p.patient_id)
    for s in case.samples:
        for f in s.files:
            if f.layer == layer:
                reader = FORMATS[f.format].load_reader()
                # As the intake calls readers: the file's own sample name for multi-sample
                # formats (column:, else the sample id), nothing for single-sample ones.
                multi = FORMATS[f.format].multi_sample
                return reader(root / p.patient_id / f.path,
                              sample=f.column or (s.id if multi else None))
    raise AssertionError(f"{p.patient_id} has no {layer} file")


def test_reader_vcf(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = _first(truth, entity="LMS")
    assert p.formats["variants"] == "vcf"
    data = _read(root, p, "variants")
    assert data.genome_build == "GRCh38"
    v = data.tables["variants"]
    tp53 = v[v["gene"] == "TP53"].iloc[0]
    driver = next(a for a in p.driver_alterations if a.startswith("TP53 p."))
    assert tp53["hgvsp"].endswith(driver.split(" ")[1])
    assert tp53["filter"] == "PASS"
    assert tp53["chrom"] == "chr17"
    assert tp53["transcript_id"].startswith("ENST00000269305")
    # LOH of 17p: the mutation is on every tumour copy, so its VAF is above purity / 2.
    assert tp53["vaf"] > p.tumour_cell_content / 2


def test_reader_vcf_normal_first_picks_the_tumour(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = truth.patients[1]  # order 1: normal column first and lab sample names
    text = gzip.decompress((root / p.patient_id / p.files["variants"]).read_bytes()).decode()
    header = next(x for x in text.splitlines() if x.startswith("#CHROM")).split("\t")
    assert header[9].endswith("_N_WGS")
    data = _read(root, p, "variants")
    assert (data.tables["variants"]["alt_depth"] > 0).all()


def test_reader_maf(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = _with_format(truth, "variants", "maf")
    raw = _read_tsv(root / p.patient_id / p.files["variants"], comment="#")
    data = _read(root, p, "variants")
    v = data.tables["variants"]
    assert len(v) == len(raw)
    assert data.samples_in_file == [p.file_samples["variants"]]
    first = raw.iloc[0]
    assert v["gene"].iloc[0] == first["Hugo_Symbol"]
    assert v["depth"].iloc[0] == first["t_depth"]


def test_reader_seg(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = _first(truth, entity="DDLS")
    data = _read(root, p, "copy_number")
    genes = data.tables["gene_copy_number"].set_index("gene")
    assert genes.loc["MDM2", "log2_ratio"] >= 2.0
    assert genes.loc["CDK4", "log2_ratio"] >= 2.0
    assert abs(genes.loc["TP53", "log2_ratio"]) < 0.5
    allele_specific = next(q for q in truth.patients if "ascat" in q.files["copy_number"])
    segs = _read(root, allele_specific, "copy_number").tables["segments"]
    assert segs["major_cn"].notna().all()
    assert (segs["total_cn"] == segs["major_cn"] + segs["minor_cn"]).all()


@pytest.mark.parametrize("fmt", ["arriba", "star_fusion"])
def test_reader_fusions(small: tuple[Path, CohortTruth], fmt: str) -> None:
    root, truth = small
    for p in truth.patients:
        if p.formats["fusions"] != fmt or p.defining_fusion is None:
            continue
        fusions = _read(root, p, "fusions").tables["fusions"]
        hit = fusions[fusions["fusion"] == p.defining_fusion]
        assert len(hit) == 1, p.patient_id
        assert list(hit[["breakpoint5", "breakpoint3"]].iloc[0]) == p.fusion_breakpoints
        assert hit["split_reads"].iloc[0] >= 10
        if fmt == "arriba":
            assert hit["confidence"].iloc[0] == "high"
            assert hit["reading_frame"].iloc[0] == "in-frame"


def test_reader_star_fusion_coding_effect(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = truth.patients[6]  # ES-001: STAR-Fusion with --examine_coding_effect
    assert p.formats["fusions"] == "star_fusion"
    assert p.defining_fusion == "EWSR1::FLI1"
    fusions = _read(root, p, "fusions").tables["fusions"]
    assert fusions.loc[fusions["fusion"] == p.defining_fusion, "reading_frame"].iloc[0] \
        == "in-frame"


@pytest.mark.parametrize("fmt", ["salmon", "rsem"])
def test_reader_expression(small: tuple[Path, CohortTruth], fmt: str) -> None:
    root, truth = small
    p = _with_format(truth, "expression", fmt)
    expr = _read(root, p, "expression").tables["expression"].set_index("gene")
    raw = _read_tsv(root / p.patient_id / p.files["expression"])
    raw = raw.set_index("Name" if fmt == "salmon" else "gene_id")
    assert expr["tpm"].sum() == pytest.approx(1e6, rel=1e-3)
    assert expr.loc["ERBB2", "tpm"] == pytest.approx(raw.loc["ERBB2", "TPM"])
    count = "NumReads" if fmt == "salmon" else "expected_count"
    assert expr.loc["WT1", "count"] == pytest.approx(raw.loc["WT1", count])


@pytest.mark.parametrize("platform", ["EPIC", "EPICv2"])
def test_reader_beta_matrix(small: tuple[Path, CohortTruth], platform: str) -> None:
    root, truth = small
    p = next(q for q in truth.patients if q.methylation_platform == platform)
    data = _read(root, p, "methylation")
    m = data.tables["methylation"]
    assert len(m) == 1_000
    assert m["probe_id"].str.fullmatch(r"cg\d{8}").all()  # EPICv2 suffix removed
    raw = _read_tsv(root / p.patient_id / p.files["methylation"])
    first = raw.iloc[0]
    got = m.loc[m["probe_id"] == first["ID_REF"][:10], "beta"].iloc[0]
    assert got == pytest.approx(first.iloc[1], abs=1e-5)


def test_reader_maxquant_proteingroups(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    p = truth.patients[1]  # second sample of MaxQuant run MQ01 (MaxQuant 1.6, no BOM)
    data = _read(root, p, "proteome")
    assert data.samples_in_file == ["MQ01_1", "MQ01_2"]
    prot = data.tables["proteome"]
    assert not prot["feature_id"].str.startswith(("REV__", "CON__")).any()
    raw = _read_tsv(root / p.patient_id / p.files["proteome"])
    raw = raw[raw["Reverse"].isna() & raw["Potential contaminant"].isna()
              & raw["Only identified by site"].isna()]
    lfq = raw[f"LFQ intensity {p.file_samples['proteome']}"]
    row = raw.loc[lfq.idxmax()]
    got = prot.loc[prot["gene"] == row["Gene names"].split(";")[0], "log2_abundance"]
    assert got.iloc[0] == pytest.approx(np.log2(lfq.max()), abs=1e-6)
    assert prot["log2_abundance"].isna().sum() == (lfq == 0).sum()


def test_reader_maxquant_with_bom_and_gzip(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    bom = next(q for q in truth.patients if q.proteome_batch % 2 == 0)
    assert (root / bom.patient_id / bom.files["proteome"]).read_bytes()[:3] == b"\xef\xbb\xbf"
    assert len(_read(root, bom, "proteome").tables["proteome"]) > 100
    gz = next(q for q in truth.patients if q.files["proteome"].endswith(".gz"))
    assert len(_read(root, gz, "phosphoproteome").tables["phosphoproteome"]) > 100


def test_reader_maxquant_phosphosites(small: tuple[Path, CohortTruth]) -> None:
    root, truth = small
    kdr = _first(truth, kdr_activated=True)
    others = [q for q in truth.patients if not q.kdr_activated]

    def site(p: PatientTruth, feature: str) -> float:
        ph = _read(root, p, "phosphoproteome").tables["phosphoproteome"]
        hit = ph.loc[ph["feature_id"] == feature, "log2_abundance"]
        return float(hit.iloc[0]) if len(hit) else np.nan
    activated = site(kdr, "KDR_Y1175")
    rest = [site(q, "KDR_Y1175") for q in others]
    assert activated > np.nanmax(rest) + 1


@pytest.mark.parametrize("source", ["optitype", "arcashla"])
def test_reader_hla(small: tuple[Path, CohortTruth], source: str) -> None:
    root, truth = small
    p = next(q for q in truth.patients if q.hla_source == source)
    hla = _read(root, p, "hla").tables["hla"]
    class1 = hla[hla["gene"].isin(["HLA-A", "HLA-B", "HLA-C"])]
    assert sorted(class1["allele"]) == sorted(p.hla_alleles)

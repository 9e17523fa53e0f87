"""cBioPortal study export (tumorboard.report.cbioportal)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard.analysis import analyze
from tumorboard.config import Settings
from tumorboard.errors import InputError
from tumorboard.intake import import_case
from tumorboard.report.cbioportal import (
    _maf_alleles,
    expression_zscores,
    hgvsp_short,
    maf_variant_classification,
    write_cbioportal_study,
)
from tumorboard.simulate import CohortTruth, simulate_cohort
from tumorboard.workspace import Workspace

META_KEYS = {
    "meta_study.txt": {"type_of_cancer", "cancer_study_identifier", "name", "description"},
    "meta_clinical_patient.txt": {"cancer_study_identifier", "genetic_alteration_type",
                                  "datatype", "data_filename"},
    "meta_mutations.txt": {"cancer_study_identifier", "genetic_alteration_type", "datatype",
                           "stable_id", "show_profile_in_analysis_tab", "profile_name",
                           "profile_description", "data_filename"},
    "meta_cna.txt": {"cancer_study_identifier", "genetic_alteration_type", "datatype",
                     "stable_id", "show_profile_in_analysis_tab", "profile_name",
                     "profile_description", "data_filename"},
    "meta_sv.txt": {"cancer_study_identifier", "genetic_alteration_type", "datatype",
                    "stable_id", "show_profile_in_analysis_tab", "profile_name",
                    "profile_description", "data_filename"},
}


# --- pure helpers -------------------------------------------------------------------------


def test_hgvsp_short() -> None:
    assert hgvsp_short("p.Val600Glu") == "p.V600E"
    assert hgvsp_short("ENSP00000288602.6:p.Val600Glu") == "p.V600E"
    assert hgvsp_short("p.Arg213Ter") == "p.R213*"
    assert hgvsp_short("p.Lys55ArgfsTer12") == "p.K55Rfs*12"
    assert hgvsp_short(None) == ""


@pytest.mark.parametrize(("consequence", "ref", "alt", "expected"), [
    ("missense_variant", "A", "G", "Missense_Mutation"),
    ("stop_gained&splice_region_variant", "C", "T", "Nonsense_Mutation"),
    ("frameshift_variant", "AT", "A", "Frame_Shift_Del"),
    ("frameshift_variant", "A", "AT", "Frame_Shift_Ins"),
    ("inframe_deletion", "ATTT", "A", "In_Frame_Del"),
    ("protein_altering_variant", "A", "ATTT", "In_Frame_Ins"),
    ("splice_donor_variant", "G", "A", "Splice_Site"),
    ("start_lost", "A", "G", "Translation_Start_Site"),
    ("synonymous_variant", "A", "G", "Silent"),
    ("something_new", "A", "G", "Targeted_Region"),
])
def test_variant_classification_as_vcf2maf(consequence, ref, alt, expected) -> None:
    assert maf_variant_classification(consequence, ref, alt) == expected


def test_vcf_alleles_to_maf() -> None:
    assert _maf_alleles(100, "A", "G") == (100, 100, "A", "G")
    assert _maf_alleles(100, "ATG", "A") == (101, 102, "TG", "-")  # deletion after padding
    assert _maf_alleles(100, "A", "ACC") == (100, 101, "-", "CC")  # insertion between 100/101


def test_expression_zscores_closed_form() -> None:
    """TPM 0, 1, 3 -> log2(TPM+1) 0, 1, 2: mean 1, SD 1 -> z -1, 0, 1; a flat gene is NaN."""
    tpm = pd.DataFrame({"G1": [0.0, 1.0, 3.0], "FLAT": [5.0, 5.0, 5.0]},
                       index=["S1", "S2", "S3"])
    z = expression_zscores(tpm)
    assert list(z.columns) == ["S1", "S2", "S3"]
    np.testing.assert_allclose(z.loc["G1"].to_numpy(), [-1.0, 0.0, 1.0])
    assert z.loc["FLAT"].isna().all()


# --- a small simulated cohort, exported -------------------------------------------------


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, CohortTruth, Path]:
    root = tmp_path_factory.mktemp("cbioportal")
    truth = simulate_cohort(root / "cases", n_dsrct=3, others={"DDLS": 1, "SYNS": 1},
                            size="small")
    ws = Workspace.init(Settings.resolve(root / "ws", None))
    for case in sorted((root / "cases").glob("*/case.yaml")):
        import_case(ws, case.parent)
    analyze(ws)
    return ws, truth, root


@pytest.fixture(scope="module")
def study(cohort) -> tuple[Path, list[Path]]:
    ws, _, root = cohort
    out = root / "export" / "study"
    return out, write_cbioportal_study(ws, out, study_id="tb_test")


def _meta(path: Path) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in path.read_text().splitlines() if line)


def _clinical(path: Path) -> tuple[list[str], pd.DataFrame]:
    lines = path.read_text().splitlines()
    return lines[:4], pd.read_csv(path, sep="\t", skiprows=4, dtype=str,
                                  keep_default_na=False)


def _tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_files_exist(study) -> None:
    out, paths = study
    names = {p.relative_to(out).as_posix() for p in paths}
    assert names >= {
        "meta_study.txt", "meta_clinical_patient.txt", "data_clinical_patient.txt",
        "meta_clinical_sample.txt", "data_clinical_sample.txt", "meta_mutations.txt",
        "data_mutations.txt", "meta_cna.txt", "data_cna.txt", "meta_sv.txt", "data_sv.txt",
        "meta_mrna_seq_zscores.txt", "data_mrna_seq_zscores.txt", "meta_timeline_status.txt",
        "data_timeline_status.txt", "meta_timeline_specimen.txt",
        "data_timeline_specimen.txt", "case_lists/cases_all.txt",
        "case_lists/cases_sequenced.txt", "case_lists/cases_cna.txt",
        "case_lists/cases_sv.txt", "case_lists/cases_rna_seq_mrna.txt"}
    assert all(p.is_file() for p in paths)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_meta_files(study) -> None:
    out, _ = study
    for name, keys in META_KEYS.items():
        meta = _meta(out / name)
        assert keys <= set(meta), name
        assert meta["cancer_study_identifier"] == "tb_test"
    assert _meta(out / "meta_study.txt")["type_of_cancer"] == "mixed"
    assert _meta(out / "meta_mutations.txt")["genetic_alteration_type"] == "MUTATION_EXTENDED"
    cna = _meta(out / "meta_cna.txt")
    assert (cna["genetic_alteration_type"], cna["datatype"]) == ("COPY_NUMBER_ALTERATION",
                                                                 "DISCRETE")
    sv = _meta(out / "meta_sv.txt")
    assert (sv["genetic_alteration_type"], sv["datatype"], sv["stable_id"]) == (
        "STRUCTURAL_VARIANT", "SV", "structural_variants")
    z = _meta(out / "meta_mrna_seq_zscores.txt")
    assert (z["genetic_alteration_type"], z["datatype"]) == ("MRNA_EXPRESSION", "Z-SCORE")
    for name in ("meta_timeline_status.txt", "meta_timeline_specimen.txt"):
        assert _meta(out / name)["datatype"] == "TIMELINE"
    for path in sorted((out / "case_lists").iterdir()):
        meta = _meta(path)
        assert meta["stable_id"].startswith("tb_test_")
        assert {"case_list_name", "case_list_description", "case_list_ids"} <= set(meta)


def test_clinical_headers(study, cohort) -> None:
    out, _ = study
    _, truth, _ = cohort
    head, patients = _clinical(out / "data_clinical_patient.txt")
    assert all(line.startswith("#") for line in head)
    assert [len(line.split("\t")) for line in head] == [len(patients.columns)] * 4
    assert head[2].lstrip("#").split("\t")[0] == "STRING"
    assert set(head[2].lstrip("#").split("\t")) <= {"STRING", "NUMBER", "BOOLEAN"}
    assert patients.columns[0] == "PATIENT_ID"
    assert set(patients["PATIENT_ID"]) == {p.patient_id for p in truth.patients}
    head, samples = _clinical(out / "data_clinical_sample.txt")
    assert list(samples.columns[:2]) == ["PATIENT_ID", "SAMPLE_ID"]
    assert all(line.startswith("#") for line in head)
    # Submitted diagnoses: the simulator lets some DSRCT arrive under another entity.
    assert "DSRCT" in set(samples["ONCOTREE_CODE"])
    assert samples["CANCER_TYPE"].ne("NA").all()
    assert not samples["SAMPLE_ID"].str.endswith("-N").any()  # normal samples are not exported


def test_sample_ids_consistent_across_files(study) -> None:
    out, _ = study
    _, samples = _clinical(out / "data_clinical_sample.txt")
    ids = set(samples["SAMPLE_ID"])
    assert set(_tsv(out / "data_mutations.txt")["Tumor_Sample_Barcode"]) <= ids
    assert set(_tsv(out / "data_cna.txt").columns[1:]) <= ids
    assert set(_tsv(out / "data_sv.txt")["Sample_Id"]) <= ids
    assert set(_tsv(out / "data_mrna_seq_zscores.txt").columns[1:]) <= ids
    assert set(_tsv(out / "data_timeline_specimen.txt")["SAMPLE_ID"]) <= ids
    for path in (out / "case_lists").iterdir():
        listed = _meta(path)["case_list_ids"].split("\t")
        assert set(listed) <= ids, path.name
    assert set(_meta(out / "case_lists/cases_all.txt")["case_list_ids"].split("\t")) == ids


def test_mutations_are_a_maf(study) -> None:
    out, _ = study
    maf = _tsv(out / "data_mutations.txt")
    assert {"Hugo_Symbol", "Tumor_Sample_Barcode", "Variant_Classification",
            "HGVSp_Short"} <= set(maf.columns)
    assert len(maf)
    allowed = {"Frame_Shift_Del", "Frame_Shift_Ins", "In_Frame_Del", "In_Frame_Ins",
               "Missense_Mutation", "Nonsense_Mutation", "Silent", "Splice_Site",
               "Translation_Start_Site", "Nonstop_Mutation", "3'UTR", "3'Flank", "5'UTR",
               "5'Flank", "IGR", "Intron", "RNA", "Targeted_Region", "Splice_Region",
               "Unknown"}
    assert set(maf["Variant_Classification"]) <= allowed
    assert maf["NCBI_Build"].eq("GRCh38").all()
    assert not maf["Chromosome"].str.startswith("chr").any()
    missense = maf[maf["Variant_Classification"] == "Missense_Mutation"]
    assert missense["HGVSp_Short"].str.fullmatch(r"p\.[A-Z*]\d+[A-Z*]").all()


def test_cna_values_are_discrete(study) -> None:
    out, _ = study
    cna = _tsv(out / "data_cna.txt")
    assert cna.columns[0] == "Hugo_Symbol"
    values = set(np.unique(cna.iloc[:, 1:].to_numpy()))
    assert values <= {"-2", "-1", "0", "1", "2"}
    assert len(values) > 1


def test_mdm2_is_amplified_in_ddls(study, cohort) -> None:
    out, _ = study
    _, truth, _ = cohort
    cna = _tsv(out / "data_cna.txt").set_index("Hugo_Symbol")
    ddls = [p.patient_id for p in truth.patients if p.entity == "DDLS"]
    assert ddls
    for pid in ddls:
        sample = next(c for c in cna.columns if c.startswith(pid))
        assert cna.loc["MDM2", sample] == "2"


def test_dsrct_fusion_in_sv_file(study, cohort) -> None:
    out, _ = study
    _, truth, _ = cohort
    sv = _tsv(out / "data_sv.txt")
    assert {"Sample_Id", "SV_Status", "Site1_Hugo_Symbol", "Site2_Hugo_Symbol",
            "Event_Info"} <= set(sv.columns)
    assert set(sv["SV_Status"]) == {"SOMATIC"}
    fusions = sv[(sv["Site1_Hugo_Symbol"] == "EWSR1") & (sv["Site2_Hugo_Symbol"] == "WT1")]
    dsrct = [p.patient_id for p in truth.patients if p.entity == "DSRCT"]
    assert len(dsrct) == 3
    for pid in dsrct:
        rows = fusions[fusions["Sample_Id"].str.startswith(pid + "-")]
        assert len(rows) >= 1, pid
        assert rows["Class"].eq("TRANSLOCATION").all()  # chr22 to chr11
        assert rows["RNA_Support"].eq("Yes").all()


def test_expression_zscores_are_standardised(study) -> None:
    out, _ = study
    z = _tsv(out / "data_mrna_seq_zscores.txt").set_index("Hugo_Symbol")
    values = z.replace("NA", np.nan).astype(float)
    rows = values.dropna()
    assert len(rows) > 100
    np.testing.assert_allclose(rows.mean(axis=1), 0.0, atol=1e-3)
    np.testing.assert_allclose(rows.std(axis=1, ddof=1), 1.0, atol=1e-3)


def test_timeline_days_from_diagnosis(study, cohort) -> None:
    out, _ = study
    ws = cohort[0]
    from tumorboard.registry.queries import patient_detail

    status = _tsv(out / "data_timeline_status.txt")
    specimen = _tsv(out / "data_timeline_specimen.txt")
    assert set(status["EVENT_TYPE"]) == {"STATUS"}
    assert set(specimen["EVENT_TYPE"]) == {"SPECIMEN"}
    assert status.groupby("PATIENT_ID")["START_DATE"].apply(
        lambda s: min(int(x) for x in s)).eq(0).all()
    row = specimen.iloc[0]
    with ws.session() as s:
        p = patient_detail(s, row["PATIENT_ID"])
    diagnosed = min(pd.Timestamp(d["date"]) for d in p["diagnoses"] if d["date"])
    sample = next(x for x in p["samples"] if x["id"] == row["SAMPLE_ID"])
    assert int(row["START_DATE"]) == (pd.Timestamp(sample["collection_date"]) - diagnosed).days
    assert row["STOP_DATE"] == ""


def test_rewrite_replaces_previous_export(cohort, study) -> None:
    ws, _, _ = cohort
    out, first = study
    marker = out / "stale.txt"
    marker.write_text("from an older export")
    again = write_cbioportal_study(ws, out, study_id="tb_test")
    assert [p.name for p in again] == [p.name for p in first]
    assert not marker.exists()


def test_refuses_a_folder_that_is_not_an_export(cohort, tmp_path) -> None:
    ws, _, _ = cohort
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="is not a cBioPortal study export"):
        write_cbioportal_study(ws, target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_bad_study_id_writes_nothing(cohort, tmp_path) -> None:
    ws, _, _ = cohort
    with pytest.raises(InputError, match=r"study id.*cannot be used in cBioPortal"):
        write_cbioportal_study(ws, tmp_path / "x", study_id="bad id!")
    assert list(tmp_path.iterdir()) == []


def test_treatment_timeline_round_trips_through_our_reader(cohort, tmp_path) -> None:
    """Lines and events exported as cBioPortal timelines read back as the same lines."""
    from tumorboard.io.outcomes import read_cbioportal_timeline
    from tumorboard.outcomes.records import import_outcome_files, lines_table
    from tumorboard.registry.queries import patient_detail
    from tumorboard.simulate import simulate_outcomes

    ws, truth, _ = cohort
    simulate_outcomes(tmp_path / "outcomes", truth)
    import_outcome_files(ws, sorted((tmp_path / "outcomes").glob("*.csv")))
    out = tmp_path / "study"
    write_cbioportal_study(ws, out, study_id="tb_outcomes")
    with ws.session() as s:
        lines = lines_table(s)
        anchors = {p.patient_id: min(pd.Timestamp(d["date"]) for d in patient_detail(
            s, p.patient_id)["diagnoses"] if d["date"]).date() for p in truth.patients}
    back = read_cbioportal_timeline([out / "data_timeline_treatment.txt",
                                     out / "data_timeline_status.txt"], anchors)["lines"]
    cols = ["patient", "line", "modality", "start", "stop", "progression"]
    mine = lines[cols].sort_values(["patient", "line"]).reset_index(drop=True)
    theirs = back[cols].sort_values(["patient", "line"]).reset_index(drop=True)
    theirs["line"] = theirs["line"].astype(int)
    pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)
    assert back["agents"].iloc[0] == lines["agents"].iloc[0].split(";")

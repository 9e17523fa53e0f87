"""Tests of the MOAlmanac and CIViC importers on real-format excerpts (tests/data/knowledge)."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from tumorboard.errors import InputError
from tumorboard.knowledge.civic import (
    CURRENT_COLUMNS,
    DOID_ONCOTREE,
    profile_conditions,
    read_civic,
)
from tumorboard.knowledge.moalmanac import (
    _COMBINATION_ORDER,
    GENE_BASKETS,
    SkipRecord,
    classify_agent,
    classify_therapy,
    read_moalmanac,
    resolve_oncotree,
)
from tumorboard.knowledge.schema import ANY_SOLID, BASKETS, DRUG_CLASSES
from tumorboard.reference import oncotree

DATA = Path(__file__).resolve().parents[1] / "data" / "knowledge"
MOA = DATA / "moalmanac_excerpt.json"
CIVIC = DATA / "civic_ClinicalEvidenceSummaries_excerpt.tsv"
CIVIC_LEGACY = DATA / "civic_ClinicalEvidenceSummaries_legacy_excerpt.tsv"
SHARED_MOA = (Path(__file__).resolve().parents[3] / "shared" / "data"
              / "moalmanac_molecular-oncology-almanac.json")


@pytest.fixture(scope="module")
def moa():
    kb, report = read_moalmanac(MOA)
    return kb, report, {r.id: r for r in kb.rules}


@pytest.fixture(scope="module")
def civic():
    kb, report = read_civic(CIVIC)
    return kb, report, {r.id: r for r in kb.rules}


# ---------------------------------------------------------------------------------------------
# MOAlmanac


def test_moalmanac_excerpt_imports_with_counts(moa):
    kb, report, _ = moa
    assert kb.name == "moalmanac"
    assert kb.version == "2025-02-07"
    assert kb.licence == "GPL-2.0 repository; facts restated with citation"
    assert "format version 1.3.0" in kb.description
    assert report.total == 55
    assert report.imported == len(kb.rules) == 43
    assert report.skipped == {
        "aneuploidy": 1, "deprecated": 1, "germline_variant": 2, "knockdown": 1,
        "microsatellite_stability": 1, "mutational_signature": 1, "no_therapy": 2,
        "not_sensitive": 2, "unmapped_entity": 1}
    assert report.examples["germline_variant"] == ["587", "656"]
    assert report.examples["not_sensitive"] == ["355", "451"]  # KIT D816H, PDGFRA D842V
    assert report.n_skipped + report.imported == report.total
    assert "43 rules from 55" in report.describe()
    assert all(r.id.startswith("moalmanac:") and r.source == "MOAlmanac 2025-02-07"
               for r in kb.rules)


def test_moalmanac_kit_imatinib_gist_approval_and_exon11_guideline(moa):
    _, _, rules = moa
    approval = rules["moalmanac:335"]
    (cond,) = approval.conditions
    assert (cond.kind, cond.gene, cond.variant) == ("mutation", "KIT", "oncogenic")
    assert approval.therapy.agents == ("Imatinib",)
    assert approval.therapy.drug_class == "kinase_inhibitor"
    assert approval.basket == "tyrosine_kinases"
    (ev,) = approval.evidence
    assert ev.type == "approval" and ev.entities == ("GIST",) and ev.direction == "sensitivity"
    assert ev.citation.startswith("FDA label: Gleevec (imatinib), revised August 2020; https://")
    assert approval.therapy.approval.startswith("FDA 2020")

    exon11 = rules["moalmanac:357"]
    assert exon11.conditions[0].variant == "exon 11"
    assert exon11.evidence[0].type == "guideline"
    assert exon11.evidence[0].entities == ("GIST",)
    assert exon11.evidence[0].citation == (
        "NCCN Guidelines: Gastrointestinal Stromal Tumors V.2.2019")


def test_moalmanac_resistance_direction(moa):
    _, _, rules = moa
    t790m = rules["moalmanac:245"]  # EGFR T790M, gefitinib, NCCN NSCLC
    assert t790m.conditions[0].variant == "p.T790M"
    assert t790m.evidence[0].direction == "resistance"
    assert t790m.resistance
    assert t790m.title.endswith("(resistance)")
    rb1 = rules["moalmanac:892"]  # RB1 loss, palbociclib, osteosarcoma models
    assert rb1.evidence[0].direction == "resistance"
    assert rb1.evidence[0].type == "preclinical" and rb1.evidence[0].entities == ("OS",)


def test_moalmanac_ntrk_fusion_is_tumour_agnostic(moa):
    _, _, rules = moa
    for aid, gene in (("36", "NTRK1"), ("42", "NTRK3")):
        rule = rules[f"moalmanac:{aid}"]
        (cond,) = rule.conditions
        assert (cond.kind, cond.gene, cond.variant) == ("fusion", gene, "any")
        assert rule.evidence[0].entities == (ANY_SOLID,)
        assert rule.evidence[0].type == "approval"
        assert "Vitrakvi (larotrectinib)" in rule.evidence[0].citation
        assert "NCT02122913" in rule.evidence[0].summary  # trial kept beside the label


def test_moalmanac_fusion_partners_and_gene(moa):
    _, _, rules = moa
    bcr_abl = rules["moalmanac:1"].conditions[0]
    assert (bcr_abl.gene, bcr_abl.variant) == ("ABL1", "BCR::ABL1")  # 5'::3', kinase gene
    fgfr2 = rules["moalmanac:28"]
    assert fgfr2.conditions[0].gene == "FGFR2"
    assert fgfr2.conditions[0].variant == "FGFR2::TACC3"
    assert fgfr2.evidence[0].type == "case_report"  # "a patient with a FGFR2-TACC3 fusion"
    alk_trial = rules["moalmanac:14"]  # ceritinib, ASCEND-1 (NEJM 2014)
    assert alk_trial.evidence[0].type == "prospective_trial"
    assert alk_trial.evidence[0].citation == "PMID:24670165"


def test_moalmanac_clinical_evidence_cohort_versus_case_report(moa):
    _, _, rules = moa
    assert rules["moalmanac:264"].evidence[0].type == "retrospective_study"
    assert rules["moalmanac:276"].evidence[0].type == "retrospective_study"
    for aid in ("47", "173", "843"):  # single patients / two patients
        assert rules[f"moalmanac:{aid}"].evidence[0].type == "case_report", aid


def test_moalmanac_copy_number_and_tmb(moa):
    _, _, rules = moa
    cdk4 = rules["moalmanac:704"]
    assert cdk4.conditions[0].kind == "amplification" and cdk4.conditions[0].gene == "CDK4"
    assert cdk4.therapy.drug_class == "cdk4_6_inhibitor" and cdk4.basket == "cell_cycle"
    assert cdk4.evidence[0].entities == ("WDLS",)
    trial = rules["moalmanac:706"]
    assert trial.evidence[0].type == "prospective_trial"
    assert trial.evidence[0].citation == "PMID:23569312"  # Dickson et al., JCO 2013
    mdm2 = rules["moalmanac:745"]
    assert mdm2.therapy.drug_class == "mdm2_inhibitor" and mdm2.basket == "cell_cycle"
    cdkn2a = rules["moalmanac:843"].conditions[0]
    assert (cdkn2a.kind, cdkn2a.gene) == ("deletion", "CDKN2A")
    tmb = rules["moalmanac:799"]
    assert tmb.conditions[0].kind == "tmb" and tmb.conditions[0].min_value == 10.0
    assert tmb.basket == "immune_evasion" and tmb.therapy.drug_class == "checkpoint_inhibitor"
    assert tmb.evidence[0].entities == (ANY_SOLID,)
    tmb_count = rules["moalmanac:796"].conditions[0]  # 178 mutations, no per-Mb threshold
    assert tmb_count.calls == ("high",) and tmb_count.min_value is None


def test_moalmanac_truncating_and_gene_level_variants(moa):
    _, _, rules = moa
    assert rules["moalmanac:572"].conditions[0].variant == "truncating"  # TSC1 nonsense
    assert rules["moalmanac:456"].conditions[0].variant == "oncogenic"  # PIK3CA gene level
    assert rules["moalmanac:272"].conditions[0].variant == "exon 19"  # EGFR exon 19 deletion


def test_moalmanac_drug_classes_and_baskets(moa):
    _, _, rules = moa
    tdm1 = rules["moalmanac:715"]
    assert tdm1.therapy.drug_class == "adc" and tdm1.basket == "antigen_directed"
    assert tdm1.therapy.antigen_directed
    trastuzumab = rules["moalmanac:720"]
    assert trastuzumab.therapy.drug_class == "monoclonal_antibody"
    assert trastuzumab.basket == "tyrosine_kinases"
    assert rules["moalmanac:992"].therapy.drug_class == "bispecific"  # amivantamab
    assert rules["moalmanac:372"].therapy.drug_class == "other"  # sotorasib: not a kinase
    assert rules["moalmanac:372"].basket == "raf_mek_erk"
    assert rules["moalmanac:899"].basket == "pi3k_akt_mtor"  # PTEN deletion


def test_moalmanac_retired_oncotree_codes_are_remapped(moa):
    _, report, rules = moa
    assert rules["moalmanac:3"].evidence[0].entities == ("BLL", "TLL")  # ALL revoked
    assert rules["moalmanac:19"].evidence[0].entities == ("PCM",)  # MM renamed
    assert rules["moalmanac:854"].evidence[0].entities == ("MLNER",)  # by name
    assert "OncoTree MM -> PCM (renamed)" in report.notes
    assert report.examples["unmapped_entity"] == ["108"]  # no code, no term


@pytest.mark.parametrize(("code", "term", "expected"), [
    ("GIST", "Gastrointestinal Stromal Tumor", (("GIST",), "code")),
    ("", "Any solid tumor", ((ANY_SOLID,), "any_solid")),
    ("MM", "Multiple Myeloma", (("PCM",), "renamed")),
    ("TALL", "", (("TLL",), "replaced")),
    ("XYZ", "Desmoplastic Small-Round-Cell Tumor", (("DSRCT",), "name")),
    ("", "", ((), "unmapped")),
])
def test_resolve_oncotree(code, term, expected):
    assert resolve_oncotree(code, term) == expected


@pytest.mark.parametrize(("agent", "strategy", "ttype", "expected"), [
    ("Trastuzumab deruxtecan", None, None, "adc"),
    ("Pembrolizumab", None, None, "checkpoint_inhibitor"),
    ("Dostarlimab-gxly", "PD-1/PD-L1 inhibition", "Immunotherapy", "checkpoint_inhibitor"),
    ("Olaparib", None, None, "parp_inhibitor"),
    ("Palbociclib", None, None, "cdk4_6_inhibitor"),
    ("Trametinib", "MEK inhibition", "Targeted therapy", "mek_inhibitor"),
    ("Everolimus", None, None, "mtor_inhibitor"),
    ("Alpelisib", None, None, "pi3k_akt_inhibitor"),
    ("Tazemetostat", None, None, "ezh2_inhibitor"),
    ("Imatinib", "KIT inhibition", "Targeted therapy", "kinase_inhibitor"),
    ("AZD3759", "EGFR inhibition", "Targeted therapy", "kinase_inhibitor"),
    ("Ivosidenib", "IDH1 inhibition", "Targeted therapy", "other"),
    ("Revumenib", "Menin inhibition", "Targeted therapy", "other"),
    ("Lapatinib", "ER signaling inhibition", "Targeted therapy", "kinase_inhibitor"),
    ("Tamoxifen", "ER signaling inhibition", "Hormone therapy", "hormone_therapy"),
    ("Carboplatin", "Platinum-based chemotherapy", "Chemotherapy", "chemotherapy"),
    ("Radiation therapy", "Radiation", "Radiation therapy", "other"),
])
def test_classify_agent(agent, strategy, ttype, expected):
    assert classify_agent(agent, strategy, ttype) == expected


def test_classify_therapy_picks_the_targeted_agent():
    assert classify_therapy(("Abiraterone", "Olaparib"), "Antiandrogen + PARP inhibition",
                            "Combination therapy") == "parp_inhibitor"
    assert classify_therapy(("Bevacizumab", "Olaparib")) == "parp_inhibitor"
    assert classify_therapy(("Cetuximab", "Encorafenib")) == "kinase_inhibitor"
    assert sorted(_COMBINATION_ORDER) == sorted(DRUG_CLASSES)
    assert set(GENE_BASKETS.values()) <= set(BASKETS)


def test_moalmanac_gzipped_reads_the_same(tmp_path):
    gz = tmp_path / "moalmanac.json.gz"
    gz.write_bytes(gzip.compress(MOA.read_bytes()))
    kb, report = read_moalmanac(gz)
    assert report.imported == 43 and len(kb.rules) == 43


def _excerpt() -> dict:
    return json.loads(MOA.read_text(encoding="utf-8"))


def test_moalmanac_no_citation_and_unknown_gene_are_skipped(tmp_path):
    data = _excerpt()
    base = next(a for a in data["content"] if a["assertion_id"] == 14)  # ALK ceritinib, journal
    uncited = copy.deepcopy(base) | {"assertion_id": 5001, "pmid": "", "doi": "", "nct": ""}
    bad_gene = copy.deepcopy(base) | {"assertion_id": 5002, "gene1": "NOTAGENE1"}
    retired = copy.deepcopy(base) | {"assertion_id": 5003, "gene1": "MRE11A"}
    data["content"] = [uncited, bad_gene, retired]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    kb, report = read_moalmanac(path)
    assert report.skipped == {"no_citation": 1, "unknown_gene": 1}
    assert [r.conditions[0].gene for r in kb.rules] == ["MRE11"]  # retired symbol renamed


def test_moalmanac_truncated_json_names_file_line_and_column(tmp_path):
    text = MOA.read_text(encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(text[:5000], encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_moalmanac(cut)
    message = str(err.value)
    line = text[:5000].count("\n") + 1
    assert str(cut) in message
    assert f"{cut}:{line}:" in message
    assert f"at line {line}, column" in message
    assert "truncated" in message
    assert err.value.line == line


def test_moalmanac_not_json_names_line_and_column(tmp_path):
    path = tmp_path / "notjson.json"
    path.write_text('{\n  "release": "2025-02-07",\n  content: []\n}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_moalmanac(path)
    assert f"{path}:3:" in str(err.value)
    assert "at line 3, column 3" in str(err.value)
    assert "truncated" not in str(err.value)


def test_moalmanac_wrong_shape_says_which_key(tmp_path):
    path = tmp_path / "civic.json"
    path.write_text(json.dumps({"release": "x", "evidence_items": []}), encoding="utf-8")
    with pytest.raises(InputError, match="no key 'content'") as err:
        read_moalmanac(path)
    assert str(path) in str(err.value)
    path.write_text(json.dumps({"content": [{"assertion_id": 1}]}), encoding="utf-8")
    with pytest.raises(InputError, match="content\\[0\\] \\(assertion 1\\) has no key "
                                         "'feature_type'"):
        read_moalmanac(path)
    path.write_text(json.dumps({"content": {"a": 1}}), encoding="utf-8")
    with pytest.raises(InputError, match="'content' is a JSON dict"):
        read_moalmanac(path)


def test_moalmanac_missing_and_empty_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_moalmanac(tmp_path / "absent.json")
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(InputError, match="file is empty"):
        read_moalmanac(empty)


def test_moalmanac_whole_release_imports():
    """The whole shared MOAlmanac release 2025-02-07 (1,007 assertions) imports.

    Recorded counts (tumorboard importer, this commit): 674 rules imported; 333 assertions
    skipped: no_therapy 157, germline_variant 113, mutational_signature 20, not_sensitive 16,
    knockdown 12, microsatellite_stability 9, deprecated 3, unmapped_entity 2, aneuploidy 1.
    Evidence types: approval 247, preclinical 125, retrospective_study 119, guideline 86,
    rationale 55, prospective_trial 34, case_report 8. OncoTree remaps: ALL -> BLL/TLL x9,
    TALL -> TLL x6, MM -> PCM x4, LEUK -> MNM x2, MLN -> MLNER x1.
    """
    if not SHARED_MOA.exists():
        pytest.skip("shared MOAlmanac release not available (../shared/data)")
    kb, report = read_moalmanac(SHARED_MOA)
    assert report.total == 1007
    assert report.imported == len(kb.rules) == 674
    assert report.skipped == {
        "no_therapy": 157, "germline_variant": 113, "mutational_signature": 20,
        "not_sensitive": 16, "knockdown": 12, "microsatellite_stability": 9, "deprecated": 3,
        "unmapped_entity": 2, "aneuploidy": 1}
    types: dict[str, int] = {}
    for rule in kb.rules:
        types[rule.evidence[0].type] = types.get(rule.evidence[0].type, 0) + 1
    assert types == {"approval": 247, "preclinical": 125, "retrospective_study": 119,
                     "guideline": 86, "rationale": 55, "prospective_trial": 34,
                     "case_report": 8}
    assert "OncoTree LEUK -> MNM (replaced) x2" in report.notes


# ---------------------------------------------------------------------------------------------
# CIViC


def test_civic_excerpt_imports_with_counts(civic):
    kb, report, _ = civic
    assert kb.name == "civic"
    assert "CC0" in kb.licence
    assert report.total == 22
    assert report.imported == len(kb.rules) == 13
    assert report.skipped == {
        "not_predictive": 2, "does_not_support": 1, "complex_profile": 1, "germline": 1,
        "unmapped_disease": 1, "not_accepted": 1, "significance_not_mapped": 1,
        "no_citation": 1, "unparsed_profile": 1}
    assert report.examples["does_not_support"] == ["816"]
    assert report.examples["not_predictive"] == ["367", "358"]
    assert all(r.source == f"CIViC {kb.version}" for r in kb.rules)


def test_civic_levels_to_evidence_types(civic):
    _, _, rules = civic
    afatinib = rules["civic:eid2997"]  # level A, EGFR L858R, NSCLC
    assert afatinib.evidence[0].type == "prospective_trial"
    assert afatinib.evidence[0].citation == "PMID:23982599"
    assert afatinib.evidence[0].entities == ("NSCLC",)
    assert rules["civic:eid900001"].evidence[0].type == "prospective_trial"  # B, "phase II"
    assert rules["civic:eid900004"].evidence[0].type == "prospective_trial"  # B, NCT id
    assert rules["civic:eid900010"].evidence[0].type == "retrospective_study"  # B, no trial
    assert rules["civic:eid900009.gefitinib"].evidence[0].type == "case_report"  # C
    assert rules["civic:eid900006"].evidence[0].type == "preclinical"  # D


def test_civic_kit_exon11_gist_and_pdgfra_resistance(civic):
    _, _, rules = civic
    kit = rules["civic:eid900001"]
    assert (kit.conditions[0].kind, kit.conditions[0].gene, kit.conditions[0].variant) == (
        "mutation", "KIT", "exon 11")
    assert kit.evidence[0].entities == ("GIST",)
    d842v = rules["civic:eid900002"]
    assert d842v.conditions[0].variant == "p.D842V"
    assert d842v.evidence[0].direction == "resistance" and d842v.resistance


def test_civic_fusion_amplification_overexpression_and_diseases(civic):
    _, _, rules = civic
    ntrk = rules["civic:eid900003"]
    assert (ntrk.conditions[0].gene, ntrk.conditions[0].variant) == ("NTRK3", "ETV6::NTRK3")
    assert ntrk.evidence[0].entities == (ANY_SOLID,)  # DOID:162 cancer
    cdk4 = rules["civic:eid900004"]
    assert cdk4.conditions[0].kind == "amplification" and cdk4.evidence[0].entities == ("LIPO",)
    her2 = rules["civic:eid900005"]
    assert her2.conditions[0].kind == "overexpression"
    assert her2.therapy.drug_class == "monoclonal_antibody"
    mdm2 = rules["civic:eid900006"]
    assert mdm2.evidence[0].entities == ("SOFT_TISSUE", "BONE")  # DOID:1115 sarcoma
    assert mdm2.therapy.drug_class == "mdm2_inhibitor"


def test_civic_combination_and_substitutes(civic):
    _, _, rules = civic
    combo = rules["civic:eid3017"]
    assert combo.therapy.agents == ("Trametinib", "Dabrafenib")
    assert combo.basket == "raf_mek_erk"
    assert "NCT01336634" in combo.evidence[0].summary
    subs = [r for r in rules if r.startswith("civic:eid900009.")]
    assert sorted(subs) == ["civic:eid900009.erlotinib", "civic:eid900009.gefitinib"]
    assert all(rules[r].evidence[0].direction == "resistance" for r in subs)


def test_civic_legacy_layout():
    kb, report = read_civic(CIVIC_LEGACY)
    rules = {r.id: r for r in kb.rules}
    assert report.total == 3 and report.skipped == {"not_predictive": 1}
    assert rules["civic:eid3017"].conditions[0].variant == "p.V600E"
    ranbp2 = rules["civic:eid900201"]
    assert (ranbp2.conditions[0].gene, ranbp2.conditions[0].variant) == ("ALK", "RANBP2::ALK")
    assert ranbp2.evidence[0].entities == ("IMT",)  # matched by OncoTree name
    assert ranbp2.evidence[0].type == "case_report"


@pytest.mark.parametrize(("profile", "expected"), [
    ("BRAF V600E", ("mutation", "BRAF", "p.V600E")),
    ("KRAS G12", ("mutation", "KRAS", "p.G12")),
    ("EGFR E746_A750DEL", ("mutation", "EGFR", "p.E746_A750del")),
    ("TP53 W288fs", ("mutation", "TP53", "p.W288fs")),
    ("EGFR Exon 19 Deletion", ("mutation", "EGFR", "exon 19")),
    ("TP53 Mutation", ("mutation", "TP53", "any")),
    ("EML4::ALK e6-e20", ("fusion", "ALK", "EML4::ALK")),
    ("ALK Fusion", ("fusion", "ALK", "any")),
    ("ERBB2 Amplification", ("amplification", "ERBB2", None)),
    ("PTEN Loss", ("loss", "PTEN", None)),
    ("CDKN2A Deletion", ("deletion", "CDKN2A", None)),
    ("MGMT Promoter Hypermethylation", ("promoter_methylation", "MGMT", None)),
])
def test_civic_profile_conditions(profile, expected):
    (cond,) = profile_conditions(profile)
    assert (cond.kind, cond.gene, cond.variant) == expected


@pytest.mark.parametrize(("profile", "reason"), [
    ("BRAF V600E AND NRAS Q61K", "complex_profile"),
    ("NOT EGFR T790M", "complex_profile"),
    ("FLT3 ITD", "unparsed_profile"),
    ("NOTAGENE V600E", "unknown_gene"),
])
def test_civic_profile_skips(profile, reason):
    with pytest.raises(SkipRecord) as skip:
        profile_conditions(profile)
    assert skip.value.reason == reason


def test_civic_doid_table_codes_are_in_oncotree():
    tree = oncotree()
    for doid, codes in DOID_ONCOTREE.items():
        for code in codes:
            assert code == ANY_SOLID or code in tree, (doid, code)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def test_civic_missing_column_names_file_line_and_column(tmp_path):
    lines = CIVIC.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    drop = header.index("evidence_level")
    rows = [line.split("\t") for line in lines[1:3]]
    path = _write(tmp_path / "no_level.tsv", header[:drop] + header[drop + 1:],
                  [r[:drop] + r[drop + 1:] for r in rows])
    with pytest.raises(InputError) as err:
        read_civic(path)
    message = str(err.value)
    assert f"{path}:1" in message
    assert "column 'evidence_level'" in message
    assert err.value.column == "evidence_level" and err.value.line == 1


def test_civic_ragged_row_names_the_line(tmp_path):
    lines = CIVIC.read_text(encoding="utf-8").splitlines()
    short = "\t".join(lines[2].split("\t")[:10])
    path = tmp_path / "ragged.tsv"
    path.write_text("\n".join([lines[0], lines[1], short]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_civic(path)
    assert f"{path}:3:" in str(err.value)
    assert "10 tab-separated fields, the header has 25" in str(err.value)


def test_civic_not_a_civic_header(tmp_path):
    path = _write(tmp_path / "other.tsv", ["sample", "gene", "value"], [["S1", "KIT", "1"]])
    with pytest.raises(InputError, match="not a CIViC ClinicalEvidenceSummaries header"):
        read_civic(path)


def test_civic_header_is_the_published_one():
    assert CIVIC.read_text(encoding="utf-8").splitlines()[0].split("\t") == list(
        CURRENT_COLUMNS)
    assert len(CURRENT_COLUMNS) == 25

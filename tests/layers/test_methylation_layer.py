"""Tests of the methylation layer: class findings from the classifier, and their use in the
molecular concordance of a submitted diagnosis."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from tumorboard.diagnosis.classifier import MethylationClassifier
from tumorboard.diagnosis.concordance import molecular_concordance
from tumorboard.diagnosis.placement import fit_placement
from tumorboard.diagnosis.reference import class_families, family_to_oncotree
from tumorboard.layers.methylation import CITATION, methylation_class_findings
from tumorboard.model import FINDING_COLUMNS
from tumorboard.simulate import simulate_reference

SIZES = {"DSRCT": 10, "EWS": 10, "SYSA": 10, "CSA-IDH-A": 10, "CSA-MES": 10, "CTRL-BLOOD": 10}
MODEL = {"name": "demo", "sha256": "ab" * 32, "training_sha256": "cd" * 32,
         "simulated": True, "description": "not copied"}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with threadpool_limits(limits=1):
        yield


# scikit-learn warns about classes smaller than the folds of these small references
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def clf():
    X, y = simulate_reference(SIZES, n_probes=1_500, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted = MethylationClassifier(n_features=600, cv_folds=3).fit(X, y)
    return fit_placement(fitted, X, y)


@pytest.fixture(scope="module")
def cases():
    return simulate_reference(SIZES, n_probes=1_500, seed=2)


def patients_of(betas):
    return {s: f"P{i}" for i, s in enumerate(betas.index)}


@pytest.fixture(scope="module")
def findings(clf, cases):
    X, _ = cases
    return methylation_class_findings(X, classifier=clf, model=MODEL, patients=patients_of(X))


def test_one_finding_per_sample_with_the_findings_columns(findings, cases):
    X, _ = cases
    assert list(findings.columns) == list(FINDING_COLUMNS)
    assert list(findings["sample"]) == list(X.index)
    assert list(findings["patient"]) == [f"P{i}" for i in range(len(X))]
    assert set(findings["layer"]) == {"methylation"}
    assert set(findings["kind"]) == {"methylation_class"}
    assert findings["gene"].isna().all()
    assert findings["z_score"].isna().all()
    assert findings["percentile_cohort"].isna().all()


def test_findings_agree_with_the_classifier_call(findings, clf, cases):
    X, y = cases
    table = clf.call(X, families=class_families())
    level = table["call_level"].map({"class": "class", "family": "family", "none": "no_match"})
    assert list(findings["call"]) == list(level)
    assert list(findings["feature"]) == list(table["call"])
    np.testing.assert_allclose(findings["value"], table["score"])
    # on this simulated test set: all three call levels occur, and class calls are right
    assert {"class", "family", "no_match"} <= set(findings["call"])
    is_class = (findings["call"] == "class").to_numpy()
    assert is_class.sum() >= 50
    assert (findings["feature"].to_numpy()[is_class] == y.to_numpy()[is_class]).all()


def test_provenance_of_a_class_call(findings):
    row = findings[(findings["call"] == "class") & (findings["feature"] == "DSRCT")].iloc[0]
    prov = row["provenance"]
    assert prov["call_level"] == "class"
    assert prov["oncotree_code"] == "DSRCT"
    assert prov["call_name"] == "desmoplastic small round cell tumour"
    assert prov["family"] == "DSRCT"
    assert prov["family_score"] == pytest.approx(row["value"])  # a family of one class
    assert prov["model"] == {"name": "demo", "sha256": "ab" * 32,
                             "training_sha256": "cd" * 32, "simulated": True}
    assert prov["threshold"] == 0.9
    assert prov["features_total"] == 600 and prov["features_required"] == 120
    assert prov["features_present"] >= 560  # 1 % of the betas are missing
    assert prov["citation"] == CITATION
    top = prov["top_classes"]
    assert len(top) == 3
    assert top[0]["class"] == "DSRCT" and top[0]["score"] == pytest.approx(row["value"])
    assert top[0]["name"] == "desmoplastic small round cell tumour"
    assert [t["score"] for t in top] == sorted((t["score"] for t in top), reverse=True)
    assert prov["placement"]["nearest_reference_class"] == "DSRCT"
    assert {"x", "y"} <= set(prov["placement"])


def test_oncotree_codes_of_classes_families_and_controls(findings):
    by = {r.feature: r.provenance for r in findings.itertuples()}
    assert by["CSA-MES"]["oncotree_code"] == "MCHS"
    assert by["EWS"]["oncotree_code"] == "ES"
    assert by["SYSA"]["oncotree_code"] == "SYNS"
    assert by["CSA-IDH-A"]["oncotree_code"] == "CHS"
    assert by["CTRL-BLOOD"]["oncotree_code"] is None
    fam = findings[findings["call"] == "family"].iloc[0]
    assert fam["feature"] == "CSA"
    assert fam["provenance"]["oncotree_code"] == "CHS"
    assert fam["provenance"]["call_name"] == "CSA family"
    assert fam["value"] >= 0.9
    nomatch = findings[findings["call"] == "no_match"].iloc[0]
    assert nomatch["feature"] == "no match"
    assert nomatch["provenance"]["oncotree_code"] is None
    assert nomatch["provenance"]["call_name"] == "no match"
    assert nomatch["value"] < 0.9


def test_family_to_oncotree():
    table = family_to_oncotree()
    assert table["CSA"] == "CHS"
    assert table["CTRL"] is None
    assert table["RMS"] == "RMS"
    assert table["DSRCT"] == "DSRCT"


def test_a_sparse_sample_is_not_classified(clf, cases):
    X, _ = cases
    X = X.iloc[[0, 10]].copy()
    kept = list(clf.features_[:100])  # 100 of 600 CpGs, 120 needed
    X.loc[X.index[0], ~X.columns.isin(kept)] = np.nan
    present = int(X.loc[X.index[0], kept].notna().sum())
    out = methylation_class_findings(X, classifier=clf, model=MODEL, patients=patients_of(X))
    sparse, full = out.iloc[0], out.iloc[1]
    assert sparse["call"] == "not_classified"
    assert sparse["feature"] == "not classified"
    assert np.isnan(sparse["value"])
    assert sparse["provenance"]["features_present"] == present
    assert sparse["provenance"]["message"] == (
        f"only {present} of the model's 600 CpGs measured; at least 120 are needed")
    assert "top_classes" not in sparse["provenance"]
    assert full["call"] == "class" and full["feature"] == "EWS"


def test_all_samples_sparse(clf, cases):
    X, _ = cases
    X = X.iloc[:2].copy()
    X.loc[:, :] = np.nan
    out = methylation_class_findings(X, classifier=clf, model=MODEL,
                                     patients=pd.Series(patients_of(X)))
    assert list(out["call"]) == ["not_classified", "not_classified"]
    assert out["provenance"].iloc[0]["message"] == (
        "only 0 of the model's 600 CpGs measured; at least 120 are needed")


def test_no_placement_without_a_map(clf, cases):
    X, _ = cases
    plain = copy.deepcopy(clf)
    del plain.placement_
    out = methylation_class_findings(X.iloc[:2], classifier=plain, model=MODEL,
                                     patients=patients_of(X))
    assert all("placement" not in p for p in out["provenance"])
    assert list(out["call"]) == ["class", "class"]


def test_a_stricter_threshold_turns_calls_into_no_match(clf, cases):
    X, _ = cases
    strict = copy.deepcopy(clf)
    strict.threshold = 0.9999
    out = methylation_class_findings(X.iloc[:3], classifier=strict, model=MODEL,
                                     patients=patients_of(X))
    assert list(out["call"]) == ["no_match"] * 3
    assert out["provenance"].iloc[0]["threshold"] == 0.9999


def test_unlisted_patient_is_refused(clf, cases):
    X, _ = cases
    with pytest.raises(ValueError, match=r"no patient given for sample\(s\) SIMULATED_0002, "
                                         r"SIMULATED_0003"):
        methylation_class_findings(X.iloc[:3], classifier=clf, model=MODEL,
                                   patients={"SIMULATED_0001": "P1"})


def test_empty_betas_give_an_empty_findings_table(clf):
    out = methylation_class_findings(pd.DataFrame(), classifier=clf, model=MODEL, patients={})
    assert out.empty and list(out.columns) == list(FINDING_COLUMNS)


# ------------------------------------------------------------------ into concordance


def test_a_dsrct_profile_contradicts_a_submitted_ewing_sarcoma(findings):
    one = findings[findings["sample"] == "SIMULATED_0001"].reset_index(drop=True)
    result = molecular_concordance("ES", one)
    assert result["status"] == "discordant"
    assert result["alert"] is True
    assert result["suggested"] == "DSRCT"
    assert result["evidence"][0]["evidence"].startswith("methylation class DSRCT (0.")
    assert result["evidence"][0]["evidence"].endswith("[simulated demo model]")
    assert result["message"].startswith(
        "methylation class DSRCT")
    assert molecular_concordance("DSRCT", one)["status"] == "concordant"


def test_a_control_profile_is_a_sample_warning(findings):
    one = findings[findings["feature"] == "CTRL-BLOOD"].iloc[:1].reset_index(drop=True)
    result = molecular_concordance("DSRCT", one)
    assert result["status"] == "no_molecular_evidence"
    assert result["warnings"] == [
        f"{one['sample'][0]}: the methylation profile matches control tissue (control (blood)); "
        "the sample may hold little tumour; check the tumour cell content"]


def test_a_family_call_confirms_a_submitted_chondrosarcoma_subtype(findings):
    fam = findings[findings["call"] == "family"].iloc[:1].reset_index(drop=True)
    result = molecular_concordance("MCHS", fam)
    assert result["status"] == "concordant"
    assert result["evidence"][0]["entities"] == ["CHS"]
    assert molecular_concordance("BONE", fam)["status"] == "refined"

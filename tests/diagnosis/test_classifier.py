"""Tests of the methylation classifier, its metrics, artifacts and the simulated reference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tumorboard.diagnosis import classifier as mc
from tumorboard.diagnosis.classifier import (
    NO_MATCH,
    MethylationClassifier,
    brier_score,
    family_of,
    load_model,
    log_loss,
    nested_cross_validate,
    save_model,
)
from tumorboard.diagnosis.reference import (
    class_families,
    class_to_oncotree,
    gse140686_classes,
)
from tumorboard.errors import InputError
from tumorboard.io.methylation import probe_filter
from tumorboard.reference import oncotree
from tumorboard.simulate import simulate_reference

#: A small reference: three chondrosarcoma subgroups (one family), two RMS, three singletons.
SIZES = {"CSA-IDH-A": 12, "CSA-IDH-B": 12, "CSA-MES": 12, "RMS-ALV": 12, "RMS-EMB": 12,
         "DSRCT": 12, "EWS": 12, "SYSA": 12}


# scikit-learn warns about classes smaller than the folds of these small references
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def reference():
    return simulate_reference(SIZES, n_probes=2_000, seed=3)


@pytest.fixture(scope="module")
def fitted(reference):
    X, y = reference
    return MethylationClassifier(n_features=800, cv_folds=4).fit(X, y)


# ---------------------------------------------------------------- closed-form metrics


def test_brier_and_log_loss_closed_forms():
    """Closed forms, worked by hand.

    Sample 1, truth A, p = (0.7, 0.2, 0.1): (0.3² + 0.2² + 0.1²) = 0.14, -ln 0.7.
    Sample 2, truth C, p = (0.25, 0.25, 0.5): (0.25² + 0.25² + 0.5²) = 0.375, -ln 0.5.
    Brier = (0.14 + 0.375) / 2 = 0.2575; log-loss = (ln(1/0.7) + ln 2) / 2.
    A uniform prediction over K classes: Brier = (1 - 1/K)² + (K - 1)/K² = 1 - 1/K,
    log-loss = ln K. A perfect prediction: 0 and 0; a confident wrong one: Brier 2.
    """
    classes = ["A", "B", "C"]
    p = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    assert brier_score(["A", "C"], p, classes) == pytest.approx(0.2575)
    assert log_loss(["A", "C"], p, classes) == pytest.approx((np.log(1 / 0.7) + np.log(2)) / 2)
    for k in (2, 5, 65):
        uniform = np.full((1, k), 1 / k)
        ks = [str(i) for i in range(k)]
        assert brier_score(["0"], uniform, ks) == pytest.approx(1 - 1 / k)
        assert log_loss(["0"], uniform, ks) == pytest.approx(np.log(k))
    assert brier_score(["A"], np.array([[1.0, 0, 0]]), classes) == 0
    assert brier_score(["A"], np.array([[0, 1.0, 0]]), classes) == pytest.approx(2)
    with pytest.raises(InputError, match="not classes of the model"):
        brier_score(["Z"], p[:1], classes)


# ---------------------------------------------------------------- estimator contract


def test_estimator_contract(reference):
    X, y = reference
    clf = MethylationClassifier(n_features=300, cv_folds=3, calibration_C=3.0)
    params = clf.get_params()
    assert params["calibration_C"] == 3.0 and params["model"] == "linear"
    twin = clone(clf)
    assert twin.get_params() == params
    assert clf.set_params(n_features=200) is clf and clf.n_features == 200
    with pytest.raises(NotFittedError):
        clf.predict_proba(X)
    assert clf.fit(X, y) is clf
    learned = [a for a in vars(clf) if a.endswith("_") and not a.startswith("_")]
    assert {"classes_", "features_", "base_", "calibrator_coef_"} <= set(learned)
    assert set(vars(clf)) - set(learned) == set(params)  # nothing else is set by fit
    assert clf.features_.shape == (200,)
    assert clone(clf).get_params() == clf.get_params()
    assert not hasattr(clone(clf), "classes_")


def test_filters_dkfz_probes_before_selection(reference):
    X, y = reference
    xy_probe = sorted(probe_filter("xy"))[0]
    X2 = X.copy()
    X2[xy_probe] = np.where(y == "DSRCT", 1.0, 0.0)  # the most variable probe of all
    clf = MethylationClassifier(n_features=300, cv_folds=3).fit(X2, y)
    assert xy_probe not in set(clf.features_)
    unfiltered = MethylationClassifier(n_features=300, cv_folds=3, filter_probes=False)
    assert xy_probe in set(unfiltered.fit(X2, y).features_)


def test_bad_inputs_say_what_to_do(reference):
    X, y = reference
    with pytest.raises(InputError, match="DataFrame"):
        MethylationClassifier().fit(X.to_numpy(), y)
    with pytest.raises(InputError, match="labels for"):
        MethylationClassifier().fit(X, y.iloc[:-1])
    with pytest.raises(InputError, match="unknown model"):
        MethylationClassifier(model="svm").fit(X, y)


# ---------------------------------------------------------------- calls


def test_classifies_held_out_simulated_samples(reference, fitted):
    X_new, y_new = simulate_reference(SIZES, n_probes=2_000, seed=3)
    # Same class structure (same seed → same class blocks), new samples: re-draw the noise.
    rng = np.random.default_rng(11)
    X_new = (X_new + rng.normal(0, 0.05, X_new.shape)).clip(0, 1)
    pred = fitted.predict(X_new)
    called = pred != NO_MATCH
    assert called.mean() >= 0.9
    assert (pred[called] == y_new.to_numpy()[called]).all()
    proba = fitted.predict_proba(X_new)
    assert np.allclose(proba.sum(axis=1), 1)
    assert proba.shape == (len(X_new), len(SIZES))


def test_nested_cv_is_accurate_and_calibrated(reference):
    X, y = reference
    res = nested_cross_validate(MethylationClassifier(n_features=800, cv_folds=3), X, y,
                                outer_folds=3)
    assert res["accuracy"] >= 0.95
    assert res["brier"] < 0.1 and res["log_loss"] < 0.3
    assert 0 < res["share_confident"] <= 1
    assert len(res["folds"]) == 3 and all(f["fit_seconds"] > 0 for f in res["folds"])
    assert res["proba"].shape == (len(X), len(SIZES))


def test_no_match_for_noise_and_unseen_class(reference, fitted):
    X, _ = reference
    rng = np.random.default_rng(5)
    noise = pd.DataFrame(rng.random((3, X.shape[1])), columns=X.columns,
                         index=["noise1", "noise2", "noise3"])
    assert (fitted.predict(noise) == NO_MATCH).all()
    # An unseen class: the simulator's blocks for a class the model was not trained on.
    unseen, _ = simulate_reference({**SIZES, "GIST": 3}, n_probes=2_000, seed=3)
    assert (fitted.predict(unseen.iloc[-3:]) == NO_MATCH).all()


def test_call_table_top3_and_family_fallback(reference, fitted):
    X, y = reference
    table = fitted.call(X.iloc[:2])
    assert list(table.index) == list(X.index[:2])
    assert {"call", "call_level", "class_1", "score_1", "class_3", "features_present",
            "features_required", "features_total"} <= set(table.columns)
    assert (table["score_1"] >= table["score_2"]).all()
    # 50:50 mixtures of two chondrosarcoma subgroups: the class signals halve, the family's
    # is whole; where no class reaches 0.9 but the family does, the call is the family.
    a = X[y == "CSA-IDH-A"].iloc[:3].to_numpy()
    b = X[y == "CSA-IDH-B"].iloc[:3].to_numpy()
    mix = pd.DataFrame((a + b) / 2, columns=X.columns, index=["mix1", "mix2", "mix3"])
    proba = fitted.predict_proba(mix)
    fam = proba[:, [family_of(c) == "CSA" for c in fitted.classes_]].sum(axis=1)
    table = fitted.call(mix)
    family_rows = (proba.max(axis=1) < 0.9) & (fam >= 0.9)
    assert family_rows.any()
    assert (table["call"][family_rows] == "CSA").all()
    assert (table["call_level"][family_rows] == "family").all()
    assert np.allclose(table["family_score"][family_rows], fam[family_rows])
    assert (fitted.predict(mix)[family_rows] == NO_MATCH).all()
    assert (table["call_level"][(proba.max(axis=1) < 0.9) & (fam < 0.9)] == "none").all()
    assert family_of("CSA-IDH-A") == "CSA" and family_of("DSRCT") == "DSRCT"


# ---------------------------------------------------------------- sparse and EPIC v2 input


def test_sparse_input_classifies_above_minimum_and_refuses_below(reference, fitted):
    X, y = reference
    rng = np.random.default_rng(2)
    sample = X.iloc[[0]].copy()
    keep = rng.random(X.shape[1]) < 0.3
    sparse = sample.loc[:, keep]  # 30 % of the probes measured, the rest absent
    row = fitted.call(sparse).iloc[0]
    assert row["features_present"] < 0.4 * row["features_total"]
    assert row["class_1"] == y.iloc[0]
    assert fitted.predict(sparse)[0] in (y.iloc[0], NO_MATCH)
    very_sparse = sample.loc[:, rng.random(X.shape[1]) < 0.1]
    with pytest.raises(InputError) as err:
        fitted.predict(very_sparse)
    msg = str(err.value)
    assert "of the model's 800 CpGs are present" in msg
    assert "at least 160" in msg and X.index[0] in msg


def test_epicv2_suffixed_probe_ids_map_to_legacy_ids(reference, fitted):
    X, _ = reference
    sample = X.iloc[[0]]
    v2 = sample.copy()
    v2.columns = [f"{c}_TC21" for c in sample.columns]
    assert np.allclose(fitted.predict_proba(v2), fitted.predict_proba(sample))
    # Two replicate probes of one CpG are averaged.
    first = sample.columns[list(sample.columns).index(fitted.features_[0])]
    rep = v2.copy()
    rep[f"{first}_BC22"] = rep[f"{first}_TC21"]
    assert np.allclose(fitted.predict_proba(rep), fitted.predict_proba(sample))


# ---------------------------------------------------------------- artifacts


def test_artifact_round_trip_and_version_check(tmp_path, reference, fitted):
    X, _ = reference
    path = save_model(fitted, tmp_path / "model.npz", metrics={"accuracy": 1.0},
                      extra={"simulated": True})
    loaded = load_model(path)
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert list(loaded.classes_) == list(fitted.classes_)
    assert loaded.get_params() == fitted.get_params()
    meta = loaded.metadata_
    assert meta["format_version"] == mc.MODEL_FORMAT_VERSION
    assert meta["training_sha256"] == fitted.training_sha256_
    assert meta["extra"] == {"simulated": True} and meta["metrics"] == {"accuracy": 1.0}
    assert "scikit-learn" in meta["software"]
    # The file is plain arrays: it loads with allow_pickle=False.
    with np.load(path, allow_pickle=False) as data:
        assert "metadata" in data.files
        arrays = {k: data[k] for k in data.files}
    meta["format_version"] = 999
    arrays["metadata"] = np.array(json.dumps(meta))
    other = tmp_path / "other.npz"
    np.savez(other, **arrays)
    with pytest.raises(InputError, match="format version 999"):
        load_model(other)
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "missing.npz")


def test_random_forest_runs_and_is_not_saveable(tmp_path, reference):
    X, y = reference
    rf = MethylationClassifier(model="rf", n_features=300, n_trees=50, cv_folds=3).fit(X, y)
    assert (rf.predict(X.iloc[:5]) == y.iloc[:5].to_numpy()).sum() >= 4
    with pytest.raises(InputError, match="cannot be saved"):
        save_model(rf, tmp_path / "rf.npz")
    assert not (tmp_path / "rf.npz").exists()


# ---------------------------------------------------------------- reference data


def test_class_table_matches_gse140686():
    table = gse140686_classes()
    assert len(table) == 65 and table["n_samples"].sum() == 1_077
    assert table["n_samples"].min() == 7 and table["n_samples"].max() == 59
    tree = oncotree()
    codes = class_to_oncotree()
    assert codes["DSRCT"] == "DSRCT" and codes["SYSA"] == "SYNS" and codes["CTRL-BLOOD"] is None
    assert all(c in tree for c in codes.values() if c)
    assert class_families()["CSA-IDH-B"] == "CSA"


def test_simulated_reference_is_deterministic_and_labelled():
    X1, y1 = simulate_reference({"A": 3, "B-1": 2, "B-2": 2}, n_probes=500, seed=1)
    X2, y2 = simulate_reference({"A": 3, "B-1": 2, "B-2": 2}, n_probes=500, seed=1)
    pd.testing.assert_frame_equal(X1, X2)
    pd.testing.assert_series_equal(y1, y2)
    assert X1.attrs["simulated"] and y1.attrs["simulated"]
    assert all(s.startswith("SIMULATED_") for s in X1.index)
    assert list(y1.value_counts().sort_index()) == [3, 2, 2]
    assert 0 < X1.isna().to_numpy().mean() < 0.05
    assert not set(X1.columns) & probe_filter("snp")
    full, labels = simulate_reference(n_probes=5_000)
    assert full.shape == (1_077, 5_000) and labels.nunique() == 65
    with pytest.raises(InputError, match="at least 100 probes"):
        simulate_reference(n_probes=50)


def test_labels_keyed_by_sample_are_aligned(reference):
    X, y = reference
    shuffled = y.sample(frac=1, random_state=0)
    a = MethylationClassifier(n_features=300, cv_folds=3).fit(X, y)
    b = MethylationClassifier(n_features=300, cv_folds=3).fit(X, shuffled)
    assert a.training_sha256_ == b.training_sha256_
    assert np.allclose(a.predict_proba(X.iloc[:3]), b.predict_proba(X.iloc[:3]))

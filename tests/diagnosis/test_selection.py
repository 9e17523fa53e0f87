"""Tests of CpG selection (ANOVA F, variance), the soft binarisation and the simulated
reference the classifier is trained on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import f_oneway

from tumorboard.diagnosis.classifier import MethylationClassifier, _encode, anova_f
from tumorboard.errors import InputError
from tumorboard.simulate import (
    _probe_universe,
    methylation_class_profile,
    simulate_reference,
)

SIZES = {"DSRCT": 10, "EWS": 10, "SYSA": 10, "CSA-IDH-A": 10, "CSA-MES": 10, "CTRL-BLOOD": 10}


# scikit-learn warns about classes smaller than the folds of these small references
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def reference():
    return simulate_reference(SIZES, n_probes=1_500, seed=1)


# ------------------------------------------------------------------ anova_f


def _groups(X, y, j):
    return [X[y == c, j] for c in np.unique(y)]


def test_anova_f_matches_scipy_on_complete_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.array(["a", "b", "c", "d"]), [5, 7, 6, 4])
    X = rng.normal(size=(len(y), 30)) + (y == "b")[:, None] * np.linspace(0, 2, 30)
    expected = np.array([f_oneway(*_groups(X, y, j)).statistic for j in range(X.shape[1])])
    np.testing.assert_allclose(anova_f(X, y), expected, rtol=1e-9)
    assert anova_f(X, y)[-1] > anova_f(X, y)[0]  # the shifted columns separate the classes


def test_anova_f_ignores_missing_values_per_column():
    rng = np.random.default_rng(1)
    y = np.repeat(np.array(["a", "b", "c"]), 8)
    X = rng.normal(size=(len(y), 12)) + (y == "c")[:, None]
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:8, 5] = np.nan  # column 5: class 'a' entirely missing, two classes left
    got = anova_f(X, y)
    for j in range(X.shape[1]):
        keep = ~np.isnan(X[:, j])
        groups = [g for g in _groups(X[keep], y[keep], j) if len(g)]
        assert got[j] == pytest.approx(f_oneway(*groups).statistic, rel=1e-9), j


def test_anova_f_is_zero_where_undefined():
    y = np.array(["a", "a", "b", "b"])
    X = np.array([[0.3, 0.1, np.nan],
                  [0.3, 0.2, np.nan],
                  [0.3, 0.3, np.nan],
                  [0.3, 0.4, 0.5]])
    got = anova_f(X, y)
    assert got[0] == 0.0  # constant column
    assert got[2] == 0.0  # one value, one class
    assert got[1] == pytest.approx(f_oneway([0.1, 0.2], [0.3, 0.4]).statistic)


def test_anova_f_perfect_separation_is_finite_and_huge():
    y = np.array(["a", "a", "b", "b"])
    X = np.array([[0.1], [0.1], [0.9], [0.9]])
    assert anova_f(X, y)[0] == np.finfo(float).max


# ------------------------------------------------------------------ binarisation


def test_soft_binarisation_is_tanh_around_one_half():
    Xs = np.array([[0.5, 0.6, 0.2, np.nan]], dtype=np.float32)
    enc, means = _encode(Xs, np.zeros(4), scale=0.1)
    np.testing.assert_allclose(enc[0], [0.0, np.tanh(1.0), np.tanh(-3.0), 0.0], rtol=1e-6)
    np.testing.assert_array_equal(means, np.zeros(4))


def test_binarise_scale_zero_is_a_hard_step():
    Xs = np.array([[0.5, 0.51, 0.49, 0.99, 0.01, np.nan]], dtype=np.float32)
    enc, _ = _encode(Xs, np.zeros(6), scale=0)
    np.testing.assert_array_equal(enc[0], [1.0, 1.0, -1.0, 1.0, -1.0, 0.0])


def test_encode_centres_by_the_training_mean_of_present_values():
    Xs = np.array([[0.9, 0.1], [0.1, np.nan], [0.9, 0.1]], dtype=np.float32)
    enc, means = _encode(Xs, scale=0)
    np.testing.assert_allclose(means, [1 / 3, -1.0], rtol=1e-6)
    np.testing.assert_allclose(enc, [[2 / 3, 0.0], [-4 / 3, 0.0], [2 / 3, 0.0]], rtol=1e-6)


def test_hard_step_model_only_sees_the_side_of_one_half(reference):
    X, y = reference
    clf = MethylationClassifier(n_features=600, cv_folds=3, binarise_scale=0).fit(X, y)
    assert clf.base_["scale"] == 0
    faint = X.where(X.isna(), np.where(X >= 0.5, 0.51, 0.49))
    np.testing.assert_allclose(clf.decision_function(faint), clf.decision_function(X),
                               rtol=1e-5, atol=1e-6)
    soft = MethylationClassifier(n_features=600, cv_folds=3).fit(X, y)
    assert not np.allclose(soft.decision_function(faint), soft.decision_function(X))


# ------------------------------------------------------------------ selection


def _fit_unfiltered(X, y, **params):
    return MethylationClassifier(n_features=200, cv_folds=3, filter_probes=False,
                                 **params).fit(X, y)


def test_variance_selection_keeps_the_most_variable_cpgs(reference):
    X, y = reference
    clf = _fit_unfiltered(X, y, selection="variance")
    var = np.nanvar(X.to_numpy(dtype=np.float32), axis=0)
    expected = X.columns[np.argsort(-var, kind="stable")[:200]]
    assert sorted(clf.features_) == sorted(expected)
    assert len(clf.features_) == 200


def test_anova_selection_ranks_the_most_variable_candidates_by_f(reference):
    X, y = reference
    clf = _fit_unfiltered(X, y, selection="anova", n_candidates=500)
    values = X.to_numpy(dtype=np.float32)
    cand = np.sort(np.argsort(-np.nanvar(values, axis=0), kind="stable")[:500])
    f = anova_f(values[:, cand], np.asarray(y))
    expected = X.columns[cand[np.argsort(-f, kind="stable")[:200]]]
    assert sorted(clf.features_) == sorted(expected)
    variance = _fit_unfiltered(X, y, selection="variance")
    assert set(clf.features_) != set(variance.features_)


def test_anova_selection_with_all_candidates_kept_equals_variance(reference):
    """When n_features equals the candidates, nothing is left to rank: all are kept."""
    X, y = reference
    a = _fit_unfiltered(X, y, selection="anova", n_candidates=200)
    v = _fit_unfiltered(X, y, selection="variance")
    assert sorted(a.features_) == sorted(v.features_)


@pytest.mark.parametrize(("param", "value", "message"), [
    ("selection", "lasso", "unknown selection 'lasso'"),
    ("weighting", "rf", "unknown weighting 'rf'"),
])
def test_unknown_selection_or_weighting_is_refused(reference, param, value, message):
    X, y = reference
    with pytest.raises(InputError, match=message):
        MethylationClassifier(n_features=50, cv_folds=3, **{param: value}).fit(X, y)


# ------------------------------------------------------------------ simulated reference


def test_simulate_reference_is_deterministic_and_marked_simulated():
    a_X, a_y = simulate_reference({"DSRCT": 3, "EWS": 2}, n_probes=300, seed=5)
    b_X, b_y = simulate_reference({"DSRCT": 3, "EWS": 2}, n_probes=300, seed=5)
    pd.testing.assert_frame_equal(a_X, b_X)
    pd.testing.assert_series_equal(a_y, b_y)
    assert a_X.shape == (5, 300)
    assert list(a_y) == ["DSRCT"] * 3 + ["EWS"] * 2
    assert all(s.startswith("SIMULATED_") for s in a_X.index)
    assert a_X.attrs["simulated"] is True and a_y.attrs["simulated"] is True
    c_X, _ = simulate_reference({"DSRCT": 3, "EWS": 2}, n_probes=300, seed=6)
    assert not np.allclose(a_X.fillna(0), c_X.fillna(0))


def test_reference_profiles_are_prefix_stable():
    """The first 1,000 probes of a 2,000-probe profile equal the 1,000-probe profile."""
    long_base = _probe_universe(2_000)["base"]
    short_base = _probe_universe(1_000)["base"]
    np.testing.assert_array_equal(long_base[:1_000], short_base)
    for cls in ("DSRCT", "CSA-IDH-A"):
        long = methylation_class_profile(cls, long_base)
        short = methylation_class_profile(cls, short_base)
        np.testing.assert_array_equal(long[:1_000], short)
    assert (_probe_universe(2_000)["ids"][:1_000] == _probe_universe(1_000)["ids"]).all()


def test_lower_class_fraction_flips_a_subset_of_a_higher_one():
    base = _probe_universe(4_000)["base"]
    high = methylation_class_profile("DSRCT", base, class_fraction=0.08)
    low = methylation_class_profile("DSRCT", base, class_fraction=0.04)
    flipped_high = high != base
    flipped_low = low != base
    assert flipped_low.sum() > 0
    assert flipped_low.sum() < flipped_high.sum()
    assert not (flipped_low & ~flipped_high).any()
    np.testing.assert_array_equal(low[flipped_low], high[flipped_low])
    # the flips move each CpG to the other side of one half
    assert ((base[flipped_high] > 0.5) != (high[flipped_high] > 0.5)).mean() > 0.95


def test_family_members_share_the_family_flips():
    base = _probe_universe(4_000)["base"]
    a = methylation_class_profile("CSA-IDH-A", base, class_fraction=0.0)
    b = methylation_class_profile("CSA-MES", base, class_fraction=0.0)
    np.testing.assert_array_equal(a, b)
    assert (a != base).mean() == pytest.approx(0.03, abs=0.01)
    solo = methylation_class_profile("DSRCT", base, class_fraction=0.0)
    np.testing.assert_array_equal(solo, base)


# ------------------------------------------------------------------ known bug


def _with_perfect_cpg(X, y):
    """``X`` plus one CpG constant within each class: 0.1 in DSRCT, 0.9 elsewhere."""
    out = X.copy()
    out["cgPERFECT"] = np.where(np.asarray(y) == "DSRCT", 0.1, 0.9).astype(np.float32)
    return out


def _accuracy(clf, X, y):
    return float(np.mean(clf.classes_[clf.predict_proba(X).argmax(axis=1)] == np.asarray(y)))


def test_a_perfect_cpg_is_harmless_without_anova_weighting(reference):
    X, y = reference
    Xt, yt = simulate_reference(SIZES, n_probes=1_500, seed=2)
    clf = _fit_unfiltered(_with_perfect_cpg(X, y), y, weighting="none")
    assert "cgPERFECT" in clf.features_
    assert _accuracy(clf, _with_perfect_cpg(Xt, yt), yt) >= 0.95


def test_a_perfect_cpg_does_not_swamp_the_anova_weights(reference):
    """anova_f is unbounded for a CpG without variance inside any class; before the weights
    were capped at the 99th percentile that one CpG took all the weight (accuracy 0.33)."""
    X, y = reference
    Xt, yt = simulate_reference(SIZES, n_probes=1_500, seed=2)
    clf = _fit_unfiltered(_with_perfect_cpg(X, y), y)  # default weighting='anova'
    assert "cgPERFECT" in clf.features_
    assert _accuracy(clf, _with_perfect_cpg(Xt, yt), yt) >= 0.95

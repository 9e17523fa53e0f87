"""Tests of the reference map (t-SNE) and the placement of new cases on it."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from tumorboard.diagnosis.classifier import MethylationClassifier, load_model, save_model
from tumorboard.diagnosis.placement import _encoded, fit_placement, place
from tumorboard.simulate import simulate_reference

SIZES = {"DSRCT": 10, "EWS": 10, "SYSA": 10, "CSA-IDH-A": 10, "CSA-MES": 10, "CTRL-BLOOD": 10}


# scikit-learn warns about classes smaller than the folds of these small references
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """t-SNE's OpenMP threads can oversubscribe a busy machine (100x slower): use one."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def reference():
    return simulate_reference(SIZES, n_probes=1_500, seed=1)


@pytest.fixture(scope="module")
def mapped(reference):
    X, y = reference
    clf = MethylationClassifier(n_features=600, cv_folds=3).fit(X, y)
    return fit_placement(clf, X, y)


def test_fit_placement_stores_the_map(mapped, reference):
    _, y = reference
    p = mapped.placement_
    assert set(p) == {"pca_mean", "pca_components", "scores", "coords", "labels"}
    assert p["pca_mean"].shape == (600,)
    assert p["pca_components"].shape == (50, 600)
    assert p["scores"].shape == (60, 50)
    assert p["coords"].shape == (60, 2)
    assert p["coords"].dtype == np.float32
    assert list(p["labels"]) == list(y)
    assert np.isfinite(p["coords"]).all()


def test_n_pcs_is_capped_by_the_samples(reference):
    X, y = reference
    small_X, small_y = X.iloc[::6], y.iloc[::6]  # 10 samples
    clf = MethylationClassifier(n_features=100, cv_folds=3, calibration="none").fit(X, y)
    fit_placement(clf, small_X, small_y, n_pcs=50, perplexity=30)
    assert clf.placement_["scores"].shape == (10, 9)
    assert clf.placement_["coords"].shape == (10, 2)


def test_fit_placement_is_deterministic(mapped, reference):
    X, y = reference
    clf = MethylationClassifier(n_features=600, cv_folds=3).fit(X, y)
    fit_placement(clf, X, y)
    np.testing.assert_array_equal(clf.placement_["coords"], mapped.placement_["coords"])


def test_a_reference_sample_lands_on_itself(mapped, reference):
    X, _ = reference
    where = place(mapped, X.iloc[:5])
    assert list(where.columns) == ["x", "y", "nearest", "nearest_distance"]
    assert list(where.index) == list(X.index[:5])
    assert list(where["nearest"]) == ["DSRCT"] * 5
    np.testing.assert_allclose(where["nearest_distance"], 0, atol=1e-3)
    np.testing.assert_allclose(where[["x", "y"]].to_numpy(), mapped.placement_["coords"][:5],
                               atol=1e-2)


def test_new_cases_land_among_their_class(mapped):
    X, y = simulate_reference(SIZES, n_probes=1_500, seed=2)
    where = place(mapped, X)
    assert (where["nearest"].to_numpy() == y.to_numpy()).mean() >= 0.95
    assert (where["nearest_distance"] > 0).all()
    # each case lies within the bounding box of its class on the map
    p = mapped.placement_
    for cls in ("DSRCT", "CTRL-BLOOD"):
        box = p["coords"][p["labels"] == cls]
        pts = where.loc[(y == cls).to_numpy(), ["x", "y"]].to_numpy()
        assert (pts >= box.min(axis=0) - 1e-3).all() and (pts <= box.max(axis=0) + 1e-3).all()


def test_placement_is_a_weighted_mean_of_the_k_nearest(mapped):
    X, _ = simulate_reference(SIZES, n_probes=1_500, seed=2)
    one = place(mapped, X.iloc[:3], k=1)
    p = mapped.placement_
    # with k=1 the position is the nearest reference sample's own
    for i in range(3):
        matches = np.isclose(p["coords"], one[["x", "y"]].to_numpy()[i], atol=1e-5).all(axis=1)
        assert matches.sum() == 1
        assert p["labels"][matches][0] == one["nearest"].iloc[i]
    big = place(mapped, X.iloc[:3], k=1_000)  # k is capped at the reference size
    scores = (_encoded(mapped, X.iloc[:3]) - p["pca_mean"]) @ p["pca_components"].T
    dist = np.sqrt(((scores[:, None, :] - p["scores"][None]) ** 2).sum(axis=2))
    w = 1 / dist
    expected = (w @ p["coords"]) / w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(big[["x", "y"]].to_numpy(), expected, rtol=1e-4, atol=1e-4)
    assert list(big["nearest"]) == list(one["nearest"])
    np.testing.assert_allclose(big["nearest_distance"], dist.min(axis=1), rtol=1e-4)


def test_no_map_gives_an_empty_placement(reference):
    X, y = reference
    clf = MethylationClassifier(n_features=100, cv_folds=3).fit(X, y)
    where = place(clf, X.iloc[:2])
    assert where.empty
    assert list(where.columns) == ["x", "y", "nearest", "nearest_distance"]


def test_map_survives_save_and_load(mapped, reference, tmp_path):
    X, _ = reference
    path = save_model(mapped, tmp_path / "m.npz")
    loaded = load_model(path)
    for key in ("pca_mean", "pca_components", "scores", "coords"):
        np.testing.assert_array_equal(loaded.placement_[key], mapped.placement_[key])
    assert list(loaded.placement_["labels"]) == list(mapped.placement_["labels"])
    assert all(isinstance(v, str) for v in loaded.placement_["labels"])
    new = X.iloc[10:14]
    before, after = place(mapped, new), place(loaded, new)
    np.testing.assert_allclose(after[["x", "y"]].to_numpy(), before[["x", "y"]].to_numpy(),
                               rtol=1e-5, atol=1e-5)
    assert list(after["nearest"]) == list(before["nearest"]) == ["EWS"] * 4


def test_a_model_without_map_loads_without_one(reference, tmp_path):
    X, y = reference
    clf = MethylationClassifier(n_features=100, cv_folds=3).fit(X, y)
    loaded = load_model(save_model(clf, tmp_path / "plain.npz"))
    assert getattr(loaded, "placement_", None) is None

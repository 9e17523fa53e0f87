"""Tests of the methylation models installed in a workspace."""

from __future__ import annotations

import json

import pytest

from tumorboard.config import Settings
from tumorboard.diagnosis.classifier import MethylationClassifier, save_model
from tumorboard.diagnosis.installed import (
    activate_model,
    active_model,
    get_model,
    install_model,
    list_models,
    models_dir,
)
from tumorboard.errors import InputError, NotFoundError
from tumorboard.simulate import simulate_reference
from tumorboard.workspace import Workspace

SIZES = {"DSRCT": 8, "EWS": 8, "SYSA": 8}


# scikit-learn warns about classes smaller than the folds of these small references
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def fitted():
    X, y = simulate_reference(SIZES, n_probes=600, seed=4)
    return MethylationClassifier(n_features=200, cv_folds=3).fit(X, y)


@pytest.fixture(scope="module")
def other():
    X, y = simulate_reference(SIZES, n_probes=600, seed=5)
    return MethylationClassifier(n_features=150, cv_folds=3).fit(X, y)


@pytest.fixture
def ws(tmp_path):
    return Workspace.init(Settings.resolve(workspace=tmp_path / "ws"))


def test_install_names_and_activates_by_default(ws, fitted):
    info = install_model(ws, fitted, metrics={"accuracy": 0.97, "proba": "dropped"},
                         extra={"simulated": True, "description": "demo"})
    name = f"sarcoma-{fitted.training_sha256_[:12]}"
    assert info["name"] == name
    assert info["active"] is True
    assert info["simulated"] is True
    assert info["description"] == "demo"
    assert info["classes"] == 3 and info["features"] == 200
    assert info["features_required"] == 40
    assert info["cv_accuracy"] == 0.97
    assert info["training_sha256"] == fitted.training_sha256_
    assert info["file"] == str(models_dir(ws) / f"{name}.npz")
    assert len(info["sha256"]) == 64
    pointer = json.loads((models_dir(ws) / "active.json").read_text())
    assert pointer["name"] == name and pointer["sha256"] == info["sha256"]
    clf, record = active_model(ws)
    assert list(clf.features_) == list(fitted.features_)
    assert record["name"] == name and record["active"] is True


def test_list_and_activate(ws, fitted, other):
    install_model(ws, fitted, name="first")
    info = install_model(ws, other, name="second", activate=False)
    assert info["active"] is False
    listed = list_models(ws)
    assert [m["name"] for m in listed] == ["first", "second"]
    assert [m["active"] for m in listed] == [True, False]
    assert [m["features"] for m in listed] == [200, 150]
    activated = activate_model(ws, "second")
    assert activated["name"] == "second" and activated["active"] is True
    assert [m["active"] for m in list_models(ws)] == [False, True]
    clf, record = get_model(ws)
    assert record["name"] == "second" and len(clf.features_) == 150
    clf, record = get_model(ws, "first")
    assert record["active"] is False and len(clf.features_) == 200


def test_empty_workspace(ws):
    assert list_models(ws) == []
    assert active_model(ws) is None
    with pytest.raises(NotFoundError, match="no methylation classifier is active"):
        get_model(ws)


def test_unknown_model_lists_the_installed_ones(ws, fitted, other):
    install_model(ws, fitted, name="alpha")
    install_model(ws, other, name="beta", activate=False)
    with pytest.raises(NotFoundError, match=r"no methylation model 'gamma' in this workspace "
                                            r"\(installed: alpha, beta\)"):
        get_model(ws, "gamma")
    with pytest.raises(NotFoundError, match=r"'gamma'.*installed: alpha, beta"):
        activate_model(ws, "gamma")
    assert get_model(ws)[1]["name"] == "alpha"  # the failed activation changed nothing


def test_activating_in_an_empty_workspace_says_none(ws):
    with pytest.raises(NotFoundError, match=r"\(installed: none\)"):
        activate_model(ws, "anything")


@pytest.mark.parametrize("bad", ["../escape", "-lead", ".hidden", "a" * 65, "sp ace", "a/b"])
def test_bad_names_are_refused(ws, fitted, bad):
    with pytest.raises(InputError, match="is not allowed"):
        install_model(ws, fitted, name=bad)
    assert list(models_dir(ws).glob("*.npz")) == []


def test_install_from_an_artifact_copies_it(ws, fitted, tmp_path):
    source = save_model(fitted, tmp_path / "external.npz", extra={"simulated": False})
    info = install_model(ws, source, name="copied")
    target = models_dir(ws) / "copied.npz"
    assert target.read_bytes() == source.read_bytes()
    assert info["active"] is True and info["simulated"] is False
    default = install_model(ws, source, activate=False)
    assert default["name"] == f"sarcoma-{fitted.training_sha256_[:12]}"


def test_an_empty_name_falls_back_to_the_default(ws, fitted):
    info = install_model(ws, fitted, name="")
    assert info["name"] == f"sarcoma-{fitted.training_sha256_[:12]}"


def test_a_broken_artifact_is_refused_before_writing(ws, tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a readable model artifact"):
        install_model(ws, junk, name="junk")
    assert list(models_dir(ws).iterdir()) == []


def test_a_missing_active_model_is_reported(ws, fitted):
    install_model(ws, fitted, name="gone")
    (models_dir(ws) / "gone.npz").unlink()
    with pytest.raises(NotFoundError, match="the active methylation model 'gone' is missing"):
        active_model(ws)
    with pytest.raises(NotFoundError, match="'gone' is missing"):
        get_model(ws)


def test_reinstall_under_the_same_name_replaces_it(ws, fitted, other):
    install_model(ws, fitted, name="m")
    info = install_model(ws, other, name="m")
    assert info["features"] == 150
    assert [m["name"] for m in list_models(ws)] == ["m"]
    pointer = json.loads((models_dir(ws) / "active.json").read_text())
    assert pointer["sha256"] == info["sha256"]

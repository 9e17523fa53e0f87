"""The `tumorboard classifier` commands: train, list, predict, evaluate, activate, install."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tumorboard.cli import app
from tumorboard.simulate import simulate_reference

runner = CliRunner()
CLASSES = {"DSRCT": 8, "EWS": 8, "SYSA": 8, "CSA-IDH-A": 8, "CSA-MES": 8}


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.Series]:
    """A small simulated reference written as a probe x sample TSV, and its labels CSV."""
    out = tmp_path_factory.mktemp("classifier-reference")
    betas, labels = simulate_reference(CLASSES, n_probes=1500, seed=3)
    betas_path = out / "betas.tsv"
    betas.T.to_csv(betas_path, sep="\t", na_rep="NA")
    labels_path = out / "labels.csv"
    labels.rename("class").to_csv(labels_path)
    return betas_path, labels_path, labels


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory,
            reference: tuple[Path, Path, pd.Series]) -> tuple[str, dict]:
    """A workspace with one model trained on the reference (nested CV, 2 outer folds)."""
    betas, labels, _ = reference
    ws = str(tmp_path_factory.mktemp("classifier-ws") / "ws")
    assert run("init", "--workspace", ws)[0] == 0
    code, out, err = run("classifier", "train", "--betas", str(betas), "--labels",
                         str(labels), "--name", "sim", "--cv-folds", "3", "--outer-folds", "2",
                         "--workspace", ws, "--json")
    assert code == 0, err
    return ws, json.loads(out)


def test_train_list_predict(trained: tuple[str, dict],
                            reference: tuple[Path, Path, pd.Series]) -> None:
    ws, info = trained
    betas, _, labels = reference
    assert info["name"] == "sim"
    assert info["active"] is True
    assert info["classes"] == len(CLASSES)
    assert info["cv_accuracy"] is not None and info["cv_accuracy"] > 0.9

    code, out, _ = run("classifier", "list", "--workspace", ws, "--json")
    assert code == 0
    models = json.loads(out)["models"]
    assert [(m["name"], m["active"]) for m in models] == [("sim", True)]

    code, out, err = run("classifier", "predict", "--betas", str(betas), "--workspace", ws,
                         "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"]["name"] == "sim"
    calls = {c["sample"]: c for c in doc["calls"]}
    assert list(calls) == list(labels.index)
    assert {s: c["call"] for s, c in calls.items()} == labels.to_dict()
    first = doc["calls"][0]
    assert first["call_level"] == "class"
    assert len(first["top"]) == 3
    assert first["features_present"] >= first["features_required"] > 0

    code, out, _ = run("classifier", "predict", "--betas", str(betas), "--model", "sim",
                       "--workspace", ws)
    assert code == 0
    assert "SIMULATED_0001" in out and "DSRCT" in out


def test_train_text_output_no_activate_and_activate(
        tmp_path: Path, trained: tuple[str, dict],
        reference: tuple[Path, Path, pd.Series]) -> None:
    betas, labels, _ = reference
    ws = str(tmp_path / "ws")
    assert run("init", "--workspace", ws)[0] == 0
    code, out, err = run("classifier", "train", "--betas", str(betas), "--labels", str(labels),
                         "--name", "plain", "--cv-folds", "3", "--features", "500",
                         "--no-activate", "--workspace", ws)
    assert code == 0, err
    assert "installed model plain: 5 classes, 500 CpGs" in out
    assert "training on 40 samples" in err

    code, _, err = run("classifier", "predict", "--betas", str(betas), "--workspace", ws)
    assert code == 1
    assert "no methylation classifier is active" in err

    code, out, _ = run("classifier", "activate", "plain", "--workspace", ws, "--json")
    assert code == 0
    assert json.loads(out)["active"] is True

    # install the artifact of the other workspace under a new name
    artifact = trained[1]["file"]
    code, out, _ = run("classifier", "install", artifact, "--name", "copied", "--no-activate",
                       "--workspace", ws, "--json")
    assert code == 0
    assert json.loads(out)["active"] is False
    code, out, _ = run("classifier", "list", "--workspace", ws, "--json")
    assert {m["name"]: m["active"] for m in json.loads(out)["models"]} == {
        "copied": False, "plain": True}

    code, _, err = run("classifier", "activate", "missing", "--workspace", ws)
    assert code == 1
    assert "no methylation model 'missing'" in err


def test_evaluate_json(reference: tuple[Path, Path, pd.Series]) -> None:
    betas, labels, _ = reference
    code, out, err = run("classifier", "evaluate", "--betas", str(betas), "--labels",
                         str(labels), "--outer-folds", "2", "--cv-folds", "3",
                         "--features", "500", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert {"accuracy", "brier", "log_loss", "share_confident", "accuracy_confident",
            "n_samples", "outer_folds", "folds", "classes", "per_class"} <= set(doc)
    assert "proba" not in doc
    assert doc["n_samples"] == 40 and doc["outer_folds"] == 2
    assert [r["class"] for r in doc["per_class"]] == sorted(CLASSES)
    assert sum(r["n"] for r in doc["per_class"]) == 40
    assert 0 <= doc["brier"] <= 2


def test_predict_with_too_few_cpgs_fails(tmp_path: Path, trained: tuple[str, dict],
                                         reference: tuple[Path, Path, pd.Series]) -> None:
    ws, _ = trained
    betas, _, _ = reference
    table = pd.read_csv(betas, sep="\t", index_col=0)
    sparse = tmp_path / "sparse.tsv"
    table.iloc[: len(table) // 10].to_csv(sparse, sep="\t", na_rep="NA")
    code, out, err = run("classifier", "predict", "--betas", str(sparse), "--workspace", ws)
    assert code == 1
    assert out == ""
    assert "CpGs are present" in err and "are needed" in err


def test_unlabelled_samples(tmp_path: Path, reference: tuple[Path, Path, pd.Series]) -> None:
    betas, _, labels = reference
    partial = tmp_path / "partial.csv"
    labels.iloc[:-8].rename("class").to_csv(partial)  # the 8 CSA-MES samples lack a label
    ws = str(tmp_path / "ws")
    assert run("init", "--workspace", ws)[0] == 0
    code, _, err = run("classifier", "train", "--betas", str(betas), "--labels", str(partial),
                       "--cv-folds", "3", "--workspace", ws)
    assert code == 1
    assert "8 samples of the beta matrix without a label: 'SIMULATED_0033'" in err
    assert "--drop-unlabelled" in err
    assert not list((Path(ws) / "models").glob("**/*.npz"))

    code, out, err = run("classifier", "train", "--betas", str(betas), "--labels",
                         str(partial), "--cv-folds", "3", "--features", "300",
                         "--drop-unlabelled", "--workspace", ws, "--json")
    assert code == 0, err
    assert "dropped 8 samples without a label" in err
    assert json.loads(out)["classes"] == 4


def test_bad_labels_file(tmp_path: Path, reference: tuple[Path, Path, pd.Series]) -> None:
    betas, _, _ = reference
    no_class = tmp_path / "no_class.csv"
    no_class.write_text("sample,diagnosis\nSIMULATED_0001,DSRCT\n", encoding="utf-8")
    code, _, err = run("classifier", "evaluate", "--betas", str(betas), "--labels",
                       str(no_class))
    assert code == 1
    assert f"{no_class}:1" in err and "no 'class' column" in err

    empty = tmp_path / "empty_label.csv"
    empty.write_text("sample,class\nSIMULATED_0001,DSRCT\nSIMULATED_0002,\n", encoding="utf-8")
    code, _, err = run("classifier", "evaluate", "--betas", str(betas), "--labels", str(empty))
    assert code == 1
    assert f"{empty}:3" in err and "class is empty" in err


def test_duplicate_probe_id_names_the_line(tmp_path: Path,
                                           reference: tuple[Path, Path, pd.Series]) -> None:
    betas, labels, _ = reference
    lines = betas.read_text(encoding="utf-8").splitlines()
    lines.insert(6, lines[3])  # probe of line 4 repeated as line 7
    dup = tmp_path / "dup.tsv"
    dup.write_text("\n".join(lines) + "\n", encoding="utf-8")
    probe = lines[3].split("\t")[0]
    code, _, err = run("classifier", "evaluate", "--betas", str(dup), "--labels", str(labels))
    assert code == 1
    assert f"{dup}:7" in err
    assert f"duplicate probe id '{probe}' (first at line 4)" in err


def test_class_too_small_for_folds(tmp_path: Path,
                                   reference: tuple[Path, Path, pd.Series]) -> None:
    betas, labels, _ = reference
    code, _, err = run("classifier", "evaluate", "--betas", str(betas), "--labels",
                       str(labels), "--outer-folds", "5", "--cv-folds", "8")
    assert code == 1
    assert "5 class(es) have too few samples" in err

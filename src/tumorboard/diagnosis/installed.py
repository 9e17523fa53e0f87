"""Methylation classifiers installed in a workspace, and which one ``analyze`` uses.

::

    <workspace>/models/methylation/
      <name>.npz       one artifact per model (tumorboard.diagnosis.classifier.save_model)
      active.json      {"name": ..., "sha256": ..., "activated": ...}: the model analyses use

A model is installed by copying its artifact in (after reading it, so a broken or foreign file
is refused before anything is written) and is named by the user or, by default, after the
first 12 hex digits of its training-set hash. The active model's file hash is recorded with
every methylation finding, so a report says which model made the call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from tumorboard.diagnosis.classifier import MethylationClassifier, load_model, save_model
from tumorboard.errors import InputError, NotFoundError
from tumorboard.workspace import Workspace

SUBDIR = "methylation"
ACTIVE_FILE = "active.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def models_dir(ws: Workspace) -> Path:
    return ws.models_dir / SUBDIR


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError(f"model name '{name}' is not allowed",
                         expected="letters, digits, '.', '_' or '-', at most 64 characters")
    return name


def model_info(clf: MethylationClassifier, *, name: str, path: Path,
               active: bool = False) -> dict[str, Any]:
    """What a user needs to know about an installed model (one JSON-ready record)."""
    meta = getattr(clf, "metadata_", {}) or {}
    metrics = meta.get("metrics") or {}
    extra = meta.get("extra") or {}
    return {
        "name": name, "file": str(path), "sha256": _sha256(path), "active": active,
        "simulated": bool(extra.get("simulated", False)),
        "description": extra.get("description", ""),
        "trained": extra.get("trained"),
        "classes": len(clf.classes_), "features": len(clf.features_),
        "features_required": clf.features_required_,
        "training_sha256": clf.training_sha256_,
        "model": clf.model, "threshold": clf.threshold,
        "cv_accuracy": metrics.get("accuracy"), "cv_brier": metrics.get("brier"),
        "cv_log_loss": metrics.get("log_loss"),
        "software": meta.get("software", {}),
    }


def install_model(ws: Workspace, model: MethylationClassifier | str | Path, *,
                  name: str | None = None, activate: bool = True,
                  metrics: dict[str, Any] | None = None,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Install a fitted classifier (or an artifact file) into the workspace.

    Parameters
    ----------
    model
        A fitted :class:`MethylationClassifier` (saved with ``metrics`` and ``extra``) or the
        path of an artifact written by :func:`save_model` (copied after it loads).
    name
        Model name; default ``sarcoma-<first 12 hex digits of the training-set hash>``.
    activate
        Make it the model ``analyze`` uses.

    Raises
    ------
    InputError
        An unreadable or foreign artifact, a random-forest model, a bad name.
    """
    folder = models_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(model, MethylationClassifier):
        clf = model
        name = _check_name(name or f"sarcoma-{clf.training_sha256_[:12]}")
        target = folder / f"{name}.npz"
        stamp = {"trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 **(extra or {})}
        save_model(clf, target, metrics=metrics, extra=stamp)
    else:
        source = Path(model)
        clf = load_model(source)  # refuses a bad file before anything is written
        name = _check_name(name or f"sarcoma-{clf.training_sha256_[:12]}")
        target = folder / f"{name}.npz"
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(source.read_bytes())
        tmp.replace(target)
    if activate:
        activate_model(ws, name)
    return model_info(load_model(target), name=name, path=target,
                      active=_active_name(ws) == name)


def _active_name(ws: Workspace) -> str | None:
    path = models_dir(ws) / ACTIVE_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("name")


def list_models(ws: Workspace) -> list[dict[str, Any]]:
    """Every installed model, the active one flagged."""
    active = _active_name(ws)
    out = []
    for path in sorted(models_dir(ws).glob("*.npz")):
        out.append(model_info(load_model(path), name=path.stem, path=path,
                              active=path.stem == active))
    return out


def activate_model(ws: Workspace, name: str) -> dict[str, Any]:
    """Make an installed model the one ``analyze`` uses.

    Raises
    ------
    NotFoundError
        No installed model of that name.
    """
    path = _installed(ws, name)
    clf = load_model(path)
    record = {"name": name, "sha256": _sha256(path),
              "activated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    pointer = models_dir(ws) / ACTIVE_FILE
    tmp = pointer.with_name(pointer.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(pointer)
    return model_info(clf, name=name, path=path, active=True)


def active_model(ws: Workspace) -> tuple[MethylationClassifier, dict[str, Any]] | None:
    """The active model and its record, or None when no model is active."""
    name = _active_name(ws)
    if name is None:
        return None
    path = models_dir(ws) / f"{name}.npz"
    if not path.is_file():
        raise NotFoundError(f"the active methylation model '{name}' is missing from "
                            f"{models_dir(ws)}; activate another with `tumorboard classifier "
                            "activate NAME`")
    clf = load_model(path)
    return clf, model_info(clf, name=name, path=path, active=True)


def get_model(ws: Workspace, name: str | None = None) -> tuple[MethylationClassifier,
                                                               dict[str, Any]]:
    """An installed model by name, or the active one.

    Raises
    ------
    NotFoundError
        No such model, or no active model.
    """
    if name is None:
        found = active_model(ws)
        if found is None:
            raise NotFoundError("no methylation classifier is active in this workspace; "
                                "train one (`tumorboard classifier train`) or install one "
                                "(`tumorboard classifier install FILE`)")
        return found
    path = _installed(ws, name)
    clf = load_model(path)
    return clf, model_info(clf, name=name, path=path, active=_active_name(ws) == name)


def _installed(ws: Workspace, name: str) -> Path:
    path = models_dir(ws) / f"{_check_name(name)}.npz"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(models_dir(ws).glob("*.npz"))) or "none"
        raise NotFoundError(f"no methylation model '{name}' in this workspace (installed: "
                            f"{known}); install one with `tumorboard classifier train` or "
                            "`tumorboard classifier install FILE`")
    return path

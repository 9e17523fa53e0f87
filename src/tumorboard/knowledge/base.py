"""Loading, installing and listing knowledge bases.

Two kinds of knowledge base feed the recommendation engine, both on the schema of
:mod:`tumorboard.knowledge.schema`:

- the **curated** sarcoma rules shipped with tumorboard (``knowledge/rules/*.yaml``), written
  from the literature with citations per evidence item;
- **imported** ones, installed into a workspace by ``tumorboard kb import`` from a MOAlmanac
  JSON, a CIViC nightly TSV or a YAML file on our schema. They are stored as
  ``<workspace>/knowledge/<name>.json`` (written to a temporary name, then renamed), so a
  workspace's recommendations depend only on files inside it; nothing is downloaded.

The *release* of the knowledge in use (:func:`release`) names every knowledge base with its
version and the sha256 of its content; recommendations and reports record it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tumorboard.errors import InputError, NotFoundError
from tumorboard.io._yaml import read_yaml_with_lines, strip_lines, validation_problems
from tumorboard.knowledge.schema import KnowledgeBase, Rule

KB_DIR = "knowledge"
_KEYS_DOC = "docs/knowledge.md"


@dataclass(frozen=True)
class InstalledBase:
    """A knowledge base as loaded: its rules, where it came from, a content digest."""

    kb: KnowledgeBase
    origin: str  # 'curated' or the path of the installed file
    sha256: str

    @property
    def label(self) -> str:
        return f"{self.kb.name} {self.kb.version}"


def _digest(kb: KnowledgeBase) -> str:
    text = json.dumps(kb.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _invalid(path: Path, problems: list[InputError]) -> InputError:
    first = problems[0]
    more = "" if len(problems) == 1 else f" (and {len(problems) - 1} more: " + "; ".join(
        p.problem + (f" at line {p.line}" if p.line else "") for p in problems[1:4]) + ")"
    return InputError(first.problem + more, file=path, line=first.line,
                      fix=f"correct the rule as described in {_KEYS_DOC}")


def read_knowledge_yaml(path: str | Path) -> KnowledgeBase:
    """Read a knowledge base written on the tumorboard schema (YAML or JSON).

    Raises
    ------
    InputError
        Unreadable or invalid document; the message names the line of the first bad key and
        what is wrong (unknown drug class, a citation that is not a PMID/DOI/NCT, ...).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("knowledge-base file does not exist", file=path,
                         fix="give the path of a YAML or JSON knowledge base")
    raw = read_yaml_with_lines(path, what="the knowledge base")  # JSON is YAML
    if not isinstance(raw, dict):
        raise InputError("a knowledge base must be a mapping with name, version and rules",
                         file=path, fix=f"see {_KEYS_DOC}")
    try:
        return KnowledgeBase.model_validate(strip_lines(raw))
    except ValidationError as exc:
        raise _invalid(path, validation_problems(exc, raw, path, keys_doc=_KEYS_DOC)) from exc


@cache
def curated_bases() -> tuple[InstalledBase, ...]:
    """The curated knowledge bases shipped in ``tumorboard/knowledge/rules``."""
    folder = resources.files("tumorboard.knowledge") / "rules"
    out: list[InstalledBase] = []
    if not folder.is_dir():
        return ()
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            with resources.as_file(entry) as path:
                kb = read_knowledge_yaml(path)
            out.append(InstalledBase(kb, "curated", _digest(kb)))
    return tuple(out)


def installed_bases(workspace_root: Path) -> list[InstalledBase]:
    """Curated bases, then those imported into the workspace (sorted by name)."""
    out = list(curated_bases())
    folder = Path(workspace_root) / KB_DIR
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                kb = KnowledgeBase.model_validate_json(path.read_text(encoding="utf-8"))
            except ValidationError as exc:
                raise InputError(
                    f"installed knowledge base is damaged: {exc.errors()[0]['msg']}", file=path,
                    fix="re-import it with 'tumorboard kb import' or delete the file") from exc
            out.append(InstalledBase(kb, str(path), _digest(kb)))
    return out


def all_rules(workspace_root: Path) -> list[Rule]:
    """Every rule of every installed knowledge base, curated first."""
    return [rule for base in installed_bases(workspace_root) for rule in base.kb.rules]


def release(bases: list[InstalledBase]) -> list[dict[str, Any]]:
    """What a recommendation records about the knowledge it came from."""
    return [{"name": b.kb.name, "version": b.kb.version, "rules": len(b.kb.rules),
             "sha256": b.sha256, "origin": "curated" if b.origin == "curated" else "imported"}
            for b in bases]


def install(workspace_root: Path, kb: KnowledgeBase) -> Path:
    """Write an imported knowledge base into the workspace, replacing one of the same name.

    Raises
    ------
    InputError
        If the name is that of a curated base (those cannot be shadowed).
    """
    if any(b.kb.name == kb.name for b in curated_bases()):
        raise InputError(f"'{kb.name}' is the name of a curated knowledge base",
                         fix="give the imported knowledge base another name")
    folder = Path(workspace_root) / KB_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kb.name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(kb.model_dump_json(indent=1, exclude_defaults=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def find_rule(workspace_root: Path, rule_id: str) -> tuple[Rule, InstalledBase]:
    """A rule by id, with the base it belongs to.

    Raises
    ------
    NotFoundError
        No installed rule has this id.
    """
    for base in installed_bases(workspace_root):
        for rule in base.kb.rules:
            if rule.id == rule_id:
                return rule, base
    raise NotFoundError(f"no rule '{rule_id}' in the installed knowledge bases; "
                        "'tumorboard kb list' shows the rule ids")


def _detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith((".tsv", ".tsv.gz", ".txt")):
        return "civic"
    if name.endswith((".json", ".json.gz")):
        head = path.read_bytes()[:4096] if not name.endswith(".gz") else b""
        return "yaml" if b'"rules"' in head else "moalmanac"
    raise InputError("cannot tell the knowledge-base format from the file name", file=path,
                     fix="give --format moalmanac, civic or yaml")


def import_knowledge(workspace_root: Path, path: str | Path, *, fmt: str | None = None
                     ) -> dict[str, Any]:
    """Read a MOAlmanac JSON, CIViC nightly TSV or tumorboard YAML and install it.

    Nothing is installed unless the whole file reads (an import lands whole or not at all).

    Raises
    ------
    InputError
        Unreadable file or unknown format.
    """
    path = Path(path)
    fmt = (fmt or _detect_format(path)).lower()
    skipped: dict[str, int] = {}
    if fmt == "yaml":
        kb = read_knowledge_yaml(path)
    elif fmt == "moalmanac":
        from tumorboard.knowledge.moalmanac import read_moalmanac

        kb, report = read_moalmanac(path)
        skipped = dict(report.skipped)
    elif fmt == "civic":
        from tumorboard.knowledge.civic import read_civic

        kb, report = read_civic(path)
        skipped = dict(report.skipped)
    else:
        raise InputError(f"unknown knowledge-base format '{fmt}'",
                         expected="moalmanac, civic or yaml")
    target = install(workspace_root, kb)
    return {"name": kb.name, "version": kb.version, "rules": len(kb.rules),
            "path": str(target), "skipped": skipped}

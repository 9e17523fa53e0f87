"""YAML read with the line of every key, so that validation errors can name the line.

Used by the case manifest (:mod:`tumorboard.io.case`) and the knowledge base
(:mod:`tumorboard.knowledge.base`). PyYAML's ``SafeLoader`` keeps each node's start mark; the
loader below stores it beside the data under ``__lines__`` / ``__line__``, which
:func:`strip_lines` removes before validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tumorboard.errors import InputError


class LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key, for error messages."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {}
    for key_node, _ in node.value:
        lines[str(loader.construct_object(key_node))] = key_node.start_mark.line + 1
    mapping["__lines__"] = lines
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def strip_lines(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: strip_lines(v) for k, v in obj.items() if k not in ("__lines__", "__line__")}
    if isinstance(obj, list):
        return [strip_lines(v) for v in obj]
    return obj


def line_of(raw: Any, loc: tuple[Any, ...]) -> int | None:
    """Line of the deepest key on ``loc`` in the raw (line-annotated) YAML."""
    line = None
    node = raw
    for part in loc:
        if isinstance(node, dict):
            line = node.get("__lines__", {}).get(str(part), line)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, dict):
                line = node.get("__line__", line)
        else:
            break
    return line


def loc_text(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_yaml_with_lines(path: Path, *, what: str) -> Any:
    """Parse ``path`` with :class:`LineLoader`.

    Raises
    ------
    InputError
        Not UTF-8, or not valid YAML (with the line of the problem).
    """
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=path,
                         line=mark.line + 1 if mark else None,
                         fix="check indentation and quoting at that line") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text", file=path,
                         fix="save the file as UTF-8") from exc


def validation_problems(exc: ValidationError, raw: Any, path: Path, *,
                        keys_doc: str) -> list[InputError]:
    """One :class:`InputError` per pydantic error, each with the line of the offending key."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (a typo?); see {keys_doc} for the keys allowed here"
        problems.append(InputError(f"{loc_text(loc) or 'document'}: {msg}", file=path,
                                   line=line_of(raw, loc)))
    return problems

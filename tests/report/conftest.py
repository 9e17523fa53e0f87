"""Shared fixtures of the report tests: a real report document with hand-written additions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parents[1] / "data" / "report"


def report_document() -> dict[str, Any]:
    """The real DSRCT-001 document plus the hand-written recommendations of the fixture."""
    doc = json.loads((DATA / "report_DSRCT-001.json").read_text(encoding="utf-8"))
    extra = json.loads((DATA / "recommendations.json").read_text(encoding="utf-8"))
    doc["findings"]["variants"] = extra["variants"] + doc["findings"]["variants"]
    doc["recommendations"] = extra["recommendations"]
    doc["resistance"] = extra["resistance"]
    return doc


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return report_document()

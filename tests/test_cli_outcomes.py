"""The `tumorboard outcomes` and `tumorboard cohort` commands on a small registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.outcomes.test_records import EVENTS, LAT, LINES, PATIENTS, _write
from tumorboard.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def registry(tmp_path: Path) -> tuple[str, list[Path]]:
    ws = str(tmp_path / "ws")
    assert run("init", "-w", ws)[0] == 0
    files = _write(tmp_path, patients=PATIENTS, lines=LINES, local_therapies=LAT,
                   events=EVENTS)
    return ws, files


def test_dry_run_writes_nothing_then_import_lands(registry) -> None:
    ws, files = registry
    code, out, _ = run("outcomes", "import", *map(str, files), "--dry-run", "-w", ws)
    assert code == 0 and "dry run, nothing written" in out
    code, out, err = run("cohort", "pfsr", "-w", ws, "--json")
    assert code == 0, err
    assert json.loads(out)["summary"]["n_guided"] == 0
    code, out, _ = run("outcomes", "import", *map(str, files), "-w", ws, "--json")
    assert code == 0 and json.loads(out)["rows"]["lines"] == 3


def test_bad_file_exits_1_with_line_and_column(registry, tmp_path: Path) -> None:
    ws, _ = registry
    bad = _write(tmp_path, lines=LINES.replace("2020-03-20", "2020-02-30"))
    code, _, err = run("outcomes", "import", str(bad[0]), "-w", ws)
    assert code == 1
    assert "lines.csv:3" in err and "column 'start'" in err


def test_add_line_and_event_then_show(registry) -> None:
    ws, files = registry
    run("outcomes", "import", *map(str, files), "-w", ws)
    code, _, err = run("outcomes", "add-line", "P2", "--line", "2", "--regimen", "trabectedin",
                       "--modality", "chemotherapy", "--start", "2018-02-01", "--mtb-guided",
                       "-w", ws)
    assert code == 0, err
    code, _, err = run("outcomes", "add-event", "P2", "--kind", "death", "--date",
                       "2017-01-01", "-w", ws)
    assert code == 1 and "after the death on 2017-01-01" in err  # nothing changed
    code, out, _ = run("outcomes", "show", "P2", "-w", ws)
    assert code == 0
    assert "line 2: trabectedin" in out and "MTB-guided" in out
    assert "PFS ratio line 2" in out
    code, out, _ = run("outcomes", "show", "P2", "-w", ws, "--json")
    doc = json.loads(out)
    assert [r["line"] for r in doc["lines"]] == [1, 2]
    assert doc["ratios"][0]["verdict"] in ("benefit", "no_benefit", "not_evaluable")
    assert run("outcomes", "show", "NOBODY", "-w", ws)[0] == 1


def test_cohort_pages_are_written(registry) -> None:
    ws, files = registry
    run("outcomes", "import", *map(str, files), "-w", ws)
    code, out, err = run("cohort", "survival", "--from", "diagnosis", "-w", ws)
    assert code == 0, err
    assert "OS from diagnosis: 2 patients, 1 events" in out  # P2 is alive
    page = Path(ws) / "reports" / "cohort" / "survival-os-diagnosis.html"
    assert page.exists() and "<svg" in page.read_text()
    code, out, _ = run("cohort", "pfsr", "-w", ws, "--json")
    doc = json.loads(out)
    assert doc["summary"]["n_guided"] == 1 and doc["ratios"][0]["verdict"] == "no_benefit"
    assert doc["simulated"] is False
    code, _, err = run("cohort", "survival", "--endpoint", "pfs", "--from", "diagnosis",
                       "-w", ws)
    assert code == 1 and "PFS from diagnosis" in err


def test_template_round_trip(tmp_path: Path) -> None:
    code, _, _ = run("outcomes", "template", str(tmp_path / "tpl"))
    assert code == 0
    from tumorboard.io.outcomes import read_template

    recs = read_template([tmp_path / "tpl" / "tumorboard-outcomes-template.xlsx"])
    assert set(recs.tables) == {"patients", "lines", "local_therapies", "recist", "events",
                                "plasma"}
    assert all(len(df) == 0 for df in recs.tables.values())

"""The command line: exit codes, --json documents, and messages on stderr."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tumorboard.cli import app
from tumorboard.simulate import simulate_cohort

runner = CliRunner()


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-cohort")
    simulate_cohort(out, n_dsrct=2, others={"DDLS": 1}, size="small")
    return out


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.startswith("tumorboard ")
    code, out, _ = run("--help")
    assert code == 0
    assert "import" in out


def test_full_flow_with_json(tmp_path: Path, cases: Path) -> None:
    ws = str(tmp_path / "ws")
    code, out, _ = run("init", "--workspace", ws, "--json")
    assert code == 0
    assert json.loads(out)["workspace"].endswith("ws")

    code, out, _ = run("validate", str(cases / "DSRCT-001"), "-w", ws, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["valid"] is True
    assert {f["action"] for f in doc["files"]} == {"new"}

    code, out, _ = run("import", str(cases / "DSRCT-001"), str(cases / "DDLS-001"), "-w", ws,
                       "--json")
    assert code == 0
    assert [i["written"] for i in json.loads(out)["imports"]] == [True, True]

    code, out, _ = run("import", str(cases / "DSRCT-001"), "-w", ws, "--json")
    assert json.loads(out)["imports"][0]["noop"] is True

    code, out, _ = run("patients", "list", "-w", ws, "--json")
    assert code == 0
    patients = json.loads(out)["patients"]
    assert [p["patient"] for p in patients] == ["DDLS-001", "DSRCT-001"]
    assert "expression" in patients[1]["layers"]

    code, out, _ = run("patients", "list", "-w", ws, "--entity", "DDLS")
    assert code == 0
    assert "DDLS-001" in out
    assert "DSRCT-001" not in out

    code, out, _ = run("patients", "show", "DSRCT-001", "-w", ws, "--json")
    assert code == 0
    assert json.loads(out)["samples"][0]["assays"][0]["sha256"]


def test_domain_errors_exit_1_with_message_on_stderr(tmp_path: Path, cases: Path) -> None:
    ws = str(tmp_path / "ws")
    code, out, err = run("patients", "list", "-w", ws)
    assert code == 1
    assert "no tumorboard workspace" in err
    assert out == ""

    broken = tmp_path / "broken"
    shutil.copytree(cases / "DSRCT-002", broken)
    text = (broken / "case.yaml").read_text()
    code_line = next(line for line in text.splitlines() if "oncotree_code:" in line)
    (broken / "case.yaml").write_text(text.replace(code_line, "  oncotree_code: X1"))
    run("init", "-w", ws)
    code, out, err = run("import", str(broken), "-w", ws, "--json")
    assert code == 1
    assert "'X1' is not an OncoTree code" in err
    assert "Nothing was written." in err
    assert out == ""

    code, _, err = run("patients", "show", "NOBODY", "-w", ws)
    assert code == 1
    assert "no patient 'NOBODY'" in err


def test_usage_errors_exit_2() -> None:
    code, _, _ = run("import")
    assert code == 2
    code, _, _ = run("frobnicate")
    assert code == 2


@pytest.mark.slow
def test_demo_loads_the_cohort(tmp_path: Path) -> None:
    """`tumorboard demo`: >= 40 patients over >= 7 entities with all layers, pages written."""
    ws = tmp_path / "demo"
    code, out, err = run("demo", "--workspace", str(ws), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["patients"] >= 40
    assert len(doc["entities"]) >= 7
    assert Path(doc["index"]).is_file()
    assert len(doc["pages"]) == doc["patients"]
    page = Path(doc["pages"][0]).read_text()
    assert "methylation" in page
    assert "phosphoproteome" in page
    code, out, _ = run("patients", "list", "-w", str(ws), "--json")
    layers = {"variants", "copy_number", "fusions", "expression", "methylation", "proteome",
              "phosphoproteome", "hla"}
    listed = json.loads(out)["patients"]
    cases = [p for p in listed if not p["patient"].startswith("SIM-LAT-")]
    assert len(cases) == doc["patients"]
    # three quarters of the patients also have a drug-screened organoid (simulate screens=)
    assert all(set(p["layers"]) in (layers, layers | {"drug_screen"}) for p in cases)
    screened = sum("drug_screen" in p["layers"] for p in cases)
    assert 0.6 * len(cases) <= screened <= 0.9 * len(cases)
    # outcomes: the demo cohort's therapy histories and the simulated LAT registry (no omics)
    assert len(listed) - len(cases) == doc["outcomes"]["lat_registry"]["patients"] == 246
    assert doc["outcomes"]["cohort"]["rows"]["lines"] >= doc["patients"]
    assert set(doc["cohort_pages"]) == {"survival-os-lat", "survival-pfs-lat", "prognostic-os",
                                        "survival-os-diagnosis", "pfsr", "ctdna",
                                        "drug-screens"}
    assert all("SIMULATED" in Path(p).read_text() for p in doc["cohort_pages"].values())
    # a second run re-simulates identical files: every import is a no-op
    code, out, _ = run("demo", "--workspace", str(ws), "--json")
    assert code == 0
    assert json.loads(out)["imported"] == 0

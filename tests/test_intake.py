"""Case intake end to end: import, idempotence, versions, and bad input that writes nothing.

Cases come from the simulator (size "small"); each bad-input test breaks one thing in a copy of
a good case and asserts the message and that the registry and the store are unchanged.
"""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tumorboard.errors import CaseValidationError
from tumorboard.intake import import_case, validate_case
from tumorboard.registry.models import Assay, Diagnosis, Finding, Patient, Sample
from tumorboard.simulate import simulate_cohort
from tumorboard.workspace import Workspace


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    simulate_cohort(out, n_dsrct=3, others={"DDLS": 1, "SYNS": 1}, size="small")
    return out


@pytest.fixture
def case(cohort: Path, tmp_path: Path) -> Path:
    """A private copy of DSRCT-001 (VCF.gz, SEG, Arriba, salmon, EPIC betas, MaxQuant, OptiType)."""
    dest = tmp_path / "DSRCT-001"
    shutil.copytree(cohort / "DSRCT-001", dest)
    return dest


def snapshot(ws: Workspace) -> tuple[dict[str, int], list[str]]:
    """Row counts of every registry table and every file in the store (incl. staged ones)."""
    with ws.session() as s:
        counts = {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                  for m in (Patient, Diagnosis, Sample, Assay, Finding)}
    files = sorted(str(p.relative_to(ws.store.root)) for p in ws.store.root.rglob("*")
                   if p.is_file())
    return counts, files


def edit_yaml(case_dir: Path, change) -> None:
    path = case_dir / "case.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def entry(case_dir: Path, layer: str) -> dict:
    doc = yaml.safe_load((case_dir / "case.yaml").read_text())
    return next(f for s in doc["samples"] for f in s.get("files", []) if f["layer"] == layer)


def assert_refused(ws: Workspace, case_dir: Path, *needles: str) -> None:
    before = snapshot(ws)
    with pytest.raises(CaseValidationError) as info:
        import_case(ws, case_dir)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    assert "Nothing was written." in message
    assert snapshot(ws) == before


# --- good imports ---------------------------------------------------------------------------


def test_import_cohort_and_read_matrices(workspace: Workspace, cohort: Path) -> None:
    case_dirs = sorted(p.parent for p in cohort.glob("*/case.yaml"))
    for case_dir in case_dirs:
        assert import_case(workspace, case_dir).written
    counts, files = snapshot(workspace)
    assert counts["patients"] == 5
    assert counts["samples"] == 10
    assert not any(f.endswith(".pending") for f in files)
    tpm = workspace.matrix("expression")
    assert tpm.shape[0] == 5
    assert tpm.notna().sum(axis=1).min() > 1000
    assert workspace.matrix("methylation").shape[0] == 5
    assert workspace.matrix("proteome").shape[0] == 5
    fusions = workspace.table("fusions")
    dsrct = fusions[fusions["sample_id"] == "DSRCT-001-T1"]
    assert "EWSR1::WT1" in set(dsrct["fusion"])
    cn = workspace.matrix("gene_copy_number")
    assert cn.loc["DDLS-001-T1", "MDM2"] > 1.0
    hla = workspace.table("hla")
    assert set(hla["sample_id"]) >= {"DSRCT-001-N"}


def test_reimport_is_a_noop(sqlite_workspace: Workspace, case: Path) -> None:
    assert import_case(sqlite_workspace, case).written
    before = snapshot(sqlite_workspace)
    result = import_case(sqlite_workspace, case)
    assert not result.written
    assert result.plan.is_noop
    assert snapshot(sqlite_workspace) == before


def test_changed_file_becomes_a_new_version(sqlite_workspace: Workspace, case: Path) -> None:
    import_case(sqlite_workspace, case)
    path = case / entry(case, "expression")["path"]
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    tpm_col = header.index("TPM")
    cells = lines[1].split("\t")
    gene = cells[0]
    cells[tpm_col] = "12345.0"
    lines[1] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    result = import_case(sqlite_workspace, case)
    assert result.written
    [planned] = [f for f in result.plan.files if f.layer == "expression"]
    assert (planned.action, planned.version) == ("new_version", 2)
    assert all(f.action == "unchanged" for f in result.plan.files if f.layer != "expression")
    tpm = sqlite_workspace.matrix("expression")
    assert tpm.loc["DSRCT-001-T1", gene] == pytest.approx(12345.0)
    with sqlite_workspace.session() as s:
        versions = s.scalars(select(Assay.version).where(Assay.layer == "expression")).all()
    assert sorted(versions) == [1, 2]


def test_metadata_change_needs_consent(sqlite_workspace: Workspace, case: Path) -> None:
    import_case(sqlite_workspace, case)
    edit_yaml(case, lambda d: d["patient"].update(year_of_birth=1980))
    assert_refused(sqlite_workspace, case, "year_of_birth", "--update-metadata")
    assert import_case(sqlite_workspace, case, update_metadata=True).written
    with sqlite_workspace.session() as s:
        assert s.scalar(select(Patient.year_of_birth)) == 1980


def test_new_diagnosis_is_added_to_history(sqlite_workspace: Workspace, case: Path) -> None:
    import_case(sqlite_workspace, case)
    edit_yaml(case, lambda d: d["diagnosis"].update(oncotree_code="ES", histology="Ewing"))
    assert import_case(sqlite_workspace, case).written
    with sqlite_workspace.session() as s:
        codes = s.scalars(select(Diagnosis.oncotree_code).order_by(Diagnosis.id)).all()
    assert codes == ["DSRCT", "ES"]


def test_validate_writes_nothing(sqlite_workspace: Workspace, case: Path) -> None:
    before = snapshot(sqlite_workspace)
    plan = validate_case(case, workspace=sqlite_workspace)
    assert {f.action for f in plan.files} == {"new"}
    assert all(f.data is not None for f in plan.files)
    assert snapshot(sqlite_workspace) == before


# --- bad input: a clear message, nothing written ---------------------------------------------


def test_truncated_gzip(sqlite_workspace: Workspace, case: Path) -> None:
    path = case / entry(case, "variants")["path"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_refused(sqlite_workspace, case, path.name, "truncated")


def test_vcf_without_header(sqlite_workspace: Workspace, case: Path) -> None:
    path = case / entry(case, "variants")["path"]
    with gzip.open(path, "rt") as fh:
        body = [line for line in fh if not line.startswith("##")]
    with gzip.open(path, "wt") as fh:
        fh.writelines(body)
    assert_refused(sqlite_workspace, case, path.name, "##fileformat")


def test_vcf_sample_not_in_case(sqlite_workspace: Workspace, case: Path) -> None:
    path = case / entry(case, "variants")["path"]
    with gzip.open(path, "rt") as fh:
        text = fh.read()
    with gzip.open(path, "wt") as fh:
        fh.write(text.replace("DSRCT-001-N", "SOMEONE-ELSE-N"))
    assert_refused(sqlite_workspace, case, "VCF sample column 'SOMEONE-ELSE-N'",
                   "not a sample of case.yaml")


def test_genome_build_disagrees(sqlite_workspace: Workspace, case: Path) -> None:
    edit_yaml(case, lambda d: d.update(genome_build="GRCh37"))
    assert_refused(sqlite_workspace, case, "file is on GRCh38", "declares GRCh37")


def test_unknown_oncotree_code(sqlite_workspace: Workspace, case: Path) -> None:
    edit_yaml(case, lambda d: d["diagnosis"].update(oncotree_code="DSRTC"))
    assert_refused(sqlite_workspace, case, "'DSRTC' is not an OncoTree code", "case.yaml:")


def test_duplicate_sample_ids(sqlite_workspace: Workspace, case: Path) -> None:
    edit_yaml(case, lambda d: d["samples"][1].update(id="DSRCT-001-T1"))
    assert_refused(sqlite_workspace, case, "duplicate sample id(s) DSRCT-001-T1")


def _replace_first_value(path: Path, column: str, value: str) -> int:
    """Set ``column`` of the first data row to ``value``; return that 1-based line."""
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    cells = lines[1].split("\t")
    cells[header.index(column)] = value
    lines[1] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return 2


def test_negative_expression(sqlite_workspace: Workspace, case: Path) -> None:
    path = case / entry(case, "expression")["path"]
    line = _replace_first_value(path, "TPM", "-3.5")
    assert_refused(sqlite_workspace, case, path.name, f":{line}", "TPM", "-3.5")


def test_non_numeric_expression(sqlite_workspace: Workspace, case: Path) -> None:
    path = case / entry(case, "expression")["path"]
    line = _replace_first_value(path, "TPM", "high")
    assert_refused(sqlite_workspace, case, path.name, f":{line}", "'high'")


def test_betas_outside_unit_interval(sqlite_workspace: Workspace, case: Path) -> None:
    path = case / entry(case, "methylation")["path"]
    lines = path.read_text().splitlines()
    cells = lines[3].split("\t")
    cells[1] = "1.7"
    lines[3] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    assert_refused(sqlite_workspace, case, path.name, ":4", "1.7")


def test_maxquant_without_intensity_columns(sqlite_workspace: Workspace, case: Path) -> None:
    path = case / entry(case, "proteome")["path"]
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    header, rest = text.split("\n", 1)
    header = header.replace("LFQ intensity ", "Ratio H/L ")
    path.write_text(header + "\n" + rest)
    assert_refused(sqlite_workspace, case, path.name, "LFQ intensity")


def test_missing_file(sqlite_workspace: Workspace, case: Path) -> None:
    (case / entry(case, "fusions")["path"]).unlink()
    assert_refused(sqlite_workspace, case, "does not exist", "layer fusions")


def test_sample_of_another_patient(sqlite_workspace: Workspace, case: Path, cohort: Path,
                                   tmp_path: Path) -> None:
    import_case(sqlite_workspace, case)
    other = tmp_path / "DSRCT-002"
    shutil.copytree(cohort / "DSRCT-002", other)
    edit_yaml(other, lambda d: d["samples"][1].update(id="DSRCT-001-N"))
    assert_refused(sqlite_workspace, other, "already belongs to patient DSRCT-001")


def test_all_problems_reported_at_once(sqlite_workspace: Workspace, case: Path) -> None:
    _replace_first_value(case / entry(case, "expression")["path"], "TPM", "-1")
    (case / entry(case, "fusions")["path"]).unlink()
    with pytest.raises(CaseValidationError) as info:
        validate_case(case)
    assert len(info.value.problems) == 2


# --- a real process killed mid-import ---------------------------------------------------------

KILL_SCRIPT = """
import sys
from tumorboard.config import Settings
from tumorboard.intake import import_case
from tumorboard.workspace import Workspace
ws = Workspace.open(Settings.resolve(sys.argv[1], sys.argv[2]))
import_case(ws, sys.argv[3])
"""


def test_import_killed_midway_leaves_registry_as_it_was(workspace: Workspace, cohort: Path,
                                                        tmp_path: Path) -> None:
    """SIGKILL the importing process while it stages store files (inside its transaction)."""
    case_dir = tmp_path / "DDLS-001"
    shutil.copytree(cohort / "DDLS-001", case_dir)
    before = snapshot(workspace)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(workspace.root),
         workspace.settings.database_url, str(case_dir)], env=env)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if workspace.store.pending():  # staging has begun; the transaction is still open
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    counts, files = snapshot(workspace)
    assert counts == before[0]
    # what a reader can see (published files) is unchanged; staged leftovers are invisible
    assert [f for f in files if f.endswith(".parquet")] == before[1]
    # The next import recovers: stale staged files are never read, and the case imports whole.
    assert import_case(workspace, case_dir).written
    assert workspace.matrix("expression").shape[0] == 1

"""Scale-out (issue 8): the same analysis in process, on a real multi-process Dask
LocalCluster, after a worker is killed, out of core, resumed after an interruption."""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tumorboard.analysis import analyze, finished_patients
from tumorboard.cli import app
from tumorboard.config import Settings
from tumorboard.errors import InputError
from tumorboard.executor import Executor, Outcome, open_executor
from tumorboard.registry.models import (
    Analysis,
    DiagnosisReview,
    Finding,
    Patient,
    TargetEvidence,
)
from tumorboard.workspace import Workspace


def results(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every patient's current findings, target evidence and diagnosis review, comparable
    across runs (no ids or times)."""
    with ws.session() as s:
        conn = s.connection()
        f = pd.read_sql(select(Patient.pseudonym, Finding.layer, Finding.gene, Finding.feature,
                               Finding.kind, Finding.value, Finding.z_score,
                               Finding.percentile_cohort, Finding.percentile_entity,
                               Finding.reference_size, Finding.call, Finding.provenance)
                        .join(Patient, Patient.id == Finding.patient_id), conn)
        t = pd.read_sql(select(Patient.pseudonym, TargetEvidence.gene, TargetEvidence.state,
                               TargetEvidence.rna_z, TargetEvidence.protein_z,
                               TargetEvidence.activation_score, TargetEvidence.activation_call,
                               TargetEvidence.provenance)
                        .join(Patient, Patient.id == TargetEvidence.patient_id), conn)
        r = pd.read_sql(select(Patient.pseudonym, DiagnosisReview.status,
                               DiagnosisReview.suggested_code)
                        .join(Patient, Patient.id == DiagnosisReview.patient_id), conn)
    for frame in (f, t):
        frame["provenance"] = [json.dumps(p if isinstance(p, dict) else json.loads(p),
                                          sort_keys=True) for p in frame["provenance"]]
    return (f.sort_values(["pseudonym", "layer", "feature", "kind"]).reset_index(drop=True),
            t.sort_values(["pseudonym", "gene"]).reset_index(drop=True),
            r.sort_values("pseudonym").reset_index(drop=True))


def assert_same_results(a: Workspace, b: Workspace, *, rtol: float = 0.0) -> None:
    for x, y in zip(results(a), results(b), strict=True):
        assert len(x) > 0
        pd.testing.assert_frame_equal(x, y, check_dtype=False, rtol=rtol or 1e-15)


@pytest.fixture
def copy_of(analysed, tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the shared analysed workspace (SQLite file and store)."""
    source, _ = analysed
    root = tmp_path / "ws"
    shutil.copytree(source.root, root)
    ws = Workspace.open(Settings.resolve(root, None))
    yield ws
    ws.engine.dispose()


def make_stale(ws: Workspace) -> None:
    """Mark every stored analysis as made by an older tumorboard (so all need re-analysis)."""
    from sqlalchemy import update

    with ws.session() as s:
        s.execute(update(Analysis).values(software_version="0.0.0"))
        s.commit()


def n_analyses(ws: Workspace) -> int:
    with ws.session() as s:
        return s.scalar(select(func.count()).select_from(Analysis))


# --- the executor -------------------------------------------------------------------------


def _double(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return 2 * x


def test_in_process_executor_returns_values_and_errors() -> None:
    out = list(Executor().map(_double, [("a", (1,)), ("b", (-1,)), ("c", (3,))]))
    assert [o.key for o in out] == ["a", "b", "c"]
    assert [o.value for o in out if o.ok] == [2, 6]
    bad = out[1]
    assert not bad.ok and bad.error == "ValueError: negative: -1" and "Traceback" in bad.detail
    assert Outcome("x", 1).ok


def test_open_executor_refuses_both_and_zero_workers() -> None:
    with pytest.raises(InputError, match="not both"), \
            open_executor(workers=2, scheduler="tcp://127.0.0.1:1"):
        pass
    with pytest.raises(InputError, match="at least 1"), open_executor(workers=0):
        pass


def test_dask_executor_window_keeps_every_task() -> None:
    """More tasks than the in-flight window: every outcome comes back exactly once."""
    with open_executor(workers=1) as ex:
        tasks = [(str(i), (i,)) for i in range(-1, 30)]
        out = {o.key: o for o in ex.map(_double, tasks, label="double")}
        assert ex.workers == 1 and ex.memory_budget() > 0
    assert sorted(out, key=int) == [k for k, _ in tasks]
    assert out["-1"].error == "ValueError: negative: -1"
    assert all(out[str(i)].value == 2 * i for i in range(30))


# --- the analysis on a cluster --------------------------------------------------------------


def test_local_cluster_gives_the_in_process_results(analysed, copy_of) -> None:
    """Two worker processes, patients in batches of three: the registry ends up exactly as
    after the in-process analysis of the shared fixture."""
    source, _ = analysed
    with open_executor(workers=2) as ex:
        result = analyze(copy_of, executor=ex, batch_size=3)
    assert not result.failed and result.executor["workers"] == 2
    assert len(result.patients) == 18
    assert_same_results(source, copy_of)


def test_worker_killed_mid_run_loses_nothing(analysed, copy_of) -> None:
    """SIGKILL a worker process after the first batch is stored: the scheduler re-runs its
    tasks elsewhere (the nanny restarts it), every patient is stored once, results equal."""
    source, _ = analysed
    killed: list[int] = []
    with open_executor(workers=2) as ex:
        def kill_one(stage: str, done: int, total: int) -> None:
            if stage == "patients" and done == 1 and not killed:
                busy = [w for w, keys in ex.client.processing().items() if keys]
                pids = ex.client.run(os.getpid, workers=busy[:1] or None)
                pid = next(iter(pids.values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        before = n_analyses(copy_of)
        result = analyze(copy_of, executor=ex, batch_size=1, progress=kill_one)
        alive = set(ex.client.run(os.getpid).values())
    assert killed and killed[0] not in alive
    assert not result.failed and len(result.patients) == 18
    assert n_analyses(copy_of) == before + 18  # each patient stored exactly once
    assert_same_results(source, copy_of)


class _Interrupt(Exception):
    pass


def test_interrupted_run_resumes_where_it_stopped(analysed, copy_of) -> None:
    """A run stopped after two stored batches keeps them; --resume analyses only the rest."""
    source, _ = analysed

    def stop(stage: str, done: int, total: int) -> None:
        if stage == "patients" and done == 2:
            raise _Interrupt

    make_stale(copy_of)  # e.g. after an upgrade: every patient needs re-analysis
    with pytest.raises(_Interrupt):
        analyze(copy_of, batch_size=4, progress=stop)
    assert not any(p.name.startswith("analysis-") for p in
                   (copy_of.store.root / "_scratch").glob("*")), "scratch left behind"
    resumed = analyze(copy_of, resume=True, batch_size=4)
    assert len(resumed.skipped) == 8 and len(resumed.patients) == 10
    assert set(resumed.skipped).isdisjoint(resumed.patients)
    assert_same_results(source, copy_of)
    again = analyze(copy_of, resume=True)
    assert again.patients == [] and len(again.skipped) == 18


def test_a_failed_patient_does_not_stop_the_others(analysed, copy_of) -> None:
    """One patient's variant file is corrupt: that patient fails with an error naming the
    problem, every other patient is analysed and stored."""
    from tumorboard.analysis import load_cohort

    cohort = load_cohort(copy_of)
    variants = cohort.assays[cohort.assays["layer"] == "variants"].iloc[0]
    victim = cohort.samples.loc[variants["sample"], "patient"]
    path = copy_of.store.path("variants", variants["uid"])
    path.write_bytes(b"not a parquet file")
    make_stale(copy_of)
    result = analyze(copy_of, batch_size=5)
    assert list(result.failed) == [victim]
    assert "parquet" in result.failed[victim].lower() or "magic" in result.failed[victim].lower()
    assert len(result.patients) == 17 and victim not in result.patients
    assert victim not in finished_patients(copy_of, result.cohort_digest,
                                           {"layers": _layers()})


def _layers() -> list[str]:
    from tumorboard.analysis import _parameters

    return _parameters()["layers"]


def test_out_of_core_scoring_matches_in_memory(analysed, copy_of) -> None:
    """A memory budget far below the cohort matrices: expression, proteome and
    phosphoproteome are scored by blocks of features from their Zarr transposition, on two
    workers, and the registry ends up as after the in-memory analysis."""
    from tumorboard.outofcore import DEFAULT_RESERVE_BYTES, FLOAT64_BYTES, WORKING_COPIES

    source, _ = analysed
    # room for 200 features of the 18 samples at once: 10 blocks of the 2,000 genes, 2 of
    # the 300 proteins and 2 of the 400 phosphosites
    budget = DEFAULT_RESERVE_BYTES + int(FLOAT64_BYTES * WORKING_COPIES * 18 * 200)
    with open_executor(workers=2) as ex:
        result = analyze(copy_of, executor=ex, memory_budget=budget)
    assert set(result.out_of_core) == {"expression", "proteome", "phosphoproteome"}
    assert not result.failed
    assert_same_results(source, copy_of, rtol=1e-9)


def test_workers_read_the_store_through_an_fsspec_url(analysed, copy_of) -> None:
    source, _ = analysed
    result = analyze(copy_of, store_url=copy_of.store.root.as_uri(), batch_size=6)
    assert len(result.patients) == 18
    assert_same_results(source, copy_of)


def test_cli_analyze_on_workers_with_resume(copy_of) -> None:
    runner = CliRunner()
    args = ["analyze", "--all", "-w", str(copy_of.root), "--json"]
    make_stale(copy_of)
    out = runner.invoke(app, [*args, "--workers", "1", "--batch-size", "9"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert len(doc["patients"]) == 18 and doc["executor"]["executor"] == "dask"
    out = runner.invoke(app, [*args, "--resume"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["patients"] == [] and len(doc["skipped"]) == 18
    out = runner.invoke(app, [*args, "--workers", "1", "--scheduler", "tcp://x:1"])
    assert out.exit_code != 0 and "not both" in out.output
    out = runner.invoke(app, [*args, "--memory-budget", "lots"])
    assert out.exit_code == 2 and "2GiB" in out.output


def test_batched_writes_and_resume_on_postgresql(analysed, workspace) -> None:
    """The coordinator's batch transactions on both backends (the `workspace` fixture runs
    on SQLite and PostgreSQL): a cluster run equals an in-process run; resume skips all."""
    from tumorboard.intake import import_case

    source, _ = analysed
    cases = sorted((source.root.parent / "cases").glob("*/case.yaml"))[:8]
    for case in cases:
        import_case(workspace, case.parent)
    first = analyze(workspace)
    before = results(workspace)
    with open_executor(workers=2) as ex:
        second = analyze(workspace, executor=ex, batch_size=3)
    assert sorted(first.patients) == sorted(second.patients) and len(second.patients) == 8
    for x, y in zip(before, results(workspace), strict=True):
        pd.testing.assert_frame_equal(x, y, check_dtype=False)
    assert len(analyze(workspace, resume=True).skipped) == 8

"""The omics store: staging, publishing, recovery and cohort matrices."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import InputError, NotFoundError, WorkspaceError
from tumorboard.io.tables import conform, empty_table
from tumorboard.store import ABANDONED_AFTER_S, OmicsStore


def _expression(genes: list[str], tpm: list[float]) -> pd.DataFrame:
    return conform(pd.DataFrame({"gene": genes, "gene_id": pd.NA, "tpm": tpm, "count": np.nan}),
                   "expression")


def test_stage_is_invisible_until_published(tmp_path) -> None:
    store = OmicsStore(tmp_path)
    store.stage("expression", "u1", _expression(["ERBB2", "WT1"], [50.0, 300.0]), sample_id="S1")
    assert not store.path("expression", "u1").exists()
    assert [(t, u) for t, u, _ in store.pending()] == [("expression", "u1")]
    store.publish("expression", "u1")
    assert store.path("expression", "u1").exists()
    assert store.pending() == []


def test_read_round_trips_values_and_dtypes(tmp_path) -> None:
    store = OmicsStore(tmp_path)
    frame = conform(pd.DataFrame({
        "chrom": ["chr17"], "pos": [39724000], "ref": ["C"], "alt": ["T"], "filter": ["PASS"],
        "gene": ["ERBB2"], "transcript_id": ["ENST00000269571"], "consequence": ["missense"],
        "impact": ["MODERATE"], "hgvsc": ["c.2329G>T"], "hgvsp": ["p.Val777Leu"],
        "depth": [pd.NA], "alt_depth": [12], "vaf": [0.25]}), "variants")
    store.stage("variants", "v1", frame, sample_id="S1")
    store.publish("variants", "v1")
    back = store.read("variants", ["v1"])
    assert list(back.columns) == ["sample_id", *frame.columns]
    assert back.loc[0, "sample_id"] == "S1"
    assert back.loc[0, "pos"] == 39724000 and back.loc[0, "vaf"] == 0.25
    assert pd.isna(back.loc[0, "depth"]) and back.loc[0, "alt_depth"] == 12
    assert back.dtypes.astype(str).to_dict() == {"sample_id": "string", **{
        c: str(t) for c, t in frame.dtypes.items()}}


def test_matrix_pivots_samples_by_features(tmp_path) -> None:
    store = OmicsStore(tmp_path)
    for uid, sample, values in [("a", "S2", [1.0, 2.0]), ("b", "S1", [3.0, 4.0])]:
        store.stage("expression", uid, _expression(["ERBB2", "WT1"], values), sample_id=sample)
        store.publish("expression", uid)
    m = store.matrix("expression", {"a": "S2", "b": "S1"})
    assert list(m.index) == ["S1", "S2"]
    assert m.loc["S1", "WT1"] == 4.0 and m.loc["S2", "ERBB2"] == 1.0
    assert store.matrix("expression", []).shape == (0, 0)


def test_matrix_refuses_duplicate_features(tmp_path) -> None:
    store = OmicsStore(tmp_path)
    store.stage("expression", "a", _expression(["ERBB2", "ERBB2"], [1.0, 2.0]), sample_id="S1")
    store.publish("expression", "a")
    with pytest.raises(WorkspaceError, match="'ERBB2' occurs twice in sample 'S1'"):
        store.matrix("expression", ["a"])


def test_recover_publishes_committed_and_removes_abandoned(tmp_path) -> None:
    store = OmicsStore(tmp_path)
    empty = empty_table("methylation")
    store.stage("methylation", "committed", empty, sample_id="S1")
    store.stage("methylation", "abandoned", empty, sample_id="S2")
    store.stage("methylation", "in_progress", empty, sample_id="S3")
    half_written = store.table_dir("methylation") / ".x.parquet.123.tmp"
    half_written.write_bytes(b"PAR1")
    old = time.time() - ABANDONED_AFTER_S - 10
    os.utime(store.path("methylation", "abandoned").with_suffix(".parquet.pending"), (old, old))
    os.utime(half_written, (old, old))
    result = store.recover({"committed"})
    assert result == {"published": 1, "removed": 2}
    assert not half_written.exists()
    assert store.path("methylation", "committed").exists()
    assert [u for _, u, _ in store.pending()] == ["in_progress"]  # another import may own it


def test_reading_a_committed_but_unpublished_file_rolls_forward(tmp_path) -> None:
    store = OmicsStore(tmp_path)
    store.stage("expression", "u", _expression(["WT1"], [9.0]), sample_id="S1")
    assert store.read("expression", ["u"]).loc[0, "tpm"] == 9.0
    assert store.path("expression", "u").exists()


def test_missing_file_and_unknown_table_are_clear_errors(tmp_path) -> None:
    store = OmicsStore(tmp_path)
    with pytest.raises(WorkspaceError, match="missing although the registry lists"):
        store.read("expression", ["gone"])
    with pytest.raises(NotFoundError, match="no store table 'rna'"):
        store.path("rna", "x")
    with pytest.raises(NotFoundError, match="no default matrix"):
        store.matrix("variants", [])


# --- fsspec URLs (issue 8) -----------------------------------------------------------------


def _published_store(root) -> OmicsStore:
    store = OmicsStore(root)
    rows = [("a", "S2", ["ERBB2", "WT1"], [1.0, np.nan]), ("b", "S1", ["WT1", "MDM2"], [3.0, 4.0])]
    for uid, sample, genes, values in rows:
        store.stage("expression", uid, _expression(genes, values), sample_id=sample)
        store.publish("expression", uid)
    return store


def _copy_to_memory(local: OmicsStore, prefix: str) -> OmicsStore:
    """The store's files copied byte for byte into fsspec's in-memory filesystem."""
    import fsspec

    fs = fsspec.filesystem("memory")
    for path in sorted(local.root.rglob("*.parquet")):
        fs.pipe(f"/{prefix}/{path.relative_to(local.root).as_posix()}", path.read_bytes())
    return OmicsStore(f"memory://{prefix}")


def test_file_url_and_memory_store_read_what_the_local_store_reads(tmp_path) -> None:
    local = _published_store(tmp_path / "store")
    expected_long = local.read("expression", ["a", "b"])
    expected = local.matrix("expression", ["a", "b"])
    as_url = OmicsStore(f"file://{tmp_path / 'store'}")
    memory = _copy_to_memory(local, "test-read-store")
    assert as_url.is_local and as_url.root == tmp_path / "store"
    assert not memory.is_local and memory.url == "memory://test-read-store"
    for store in (as_url, memory):
        pd.testing.assert_frame_equal(store.read("expression", ["a", "b"]), expected_long)
        pd.testing.assert_frame_equal(store.read("expression", ["b"], columns=["tpm"]),
                                      local.read("expression", ["b"], columns=["tpm"]))
        pd.testing.assert_frame_equal(store.matrix("expression", ["a", "b"]), expected)
    assert expected.loc["S1", "MDM2"] == 4.0 and np.isnan(expected.loc["S1", "ERBB2"])


def test_store_pickles_and_reads_the_same_after(tmp_path) -> None:
    import pickle

    local = _published_store(tmp_path / "store")
    memory = _copy_to_memory(local, "test-pickle-store")
    expected = local.matrix("expression", ["a", "b"])
    for store in (local, OmicsStore(f"file://{tmp_path / 'store'}"), memory):
        store.read("expression", ["a"])  # the filesystem exists before pickling
        back = pickle.loads(pickle.dumps(store))
        assert back.url == store.url and back.is_local == store.is_local
        pd.testing.assert_frame_equal(back.matrix("expression", ["a", "b"]), expected)


def test_a_remote_store_is_read_only_and_says_so(tmp_path) -> None:
    memory = _copy_to_memory(_published_store(tmp_path / "store"), "test-readonly-store")
    frame = _expression(["WT1"], [1.0])
    calls = [lambda: memory.stage("expression", "c", frame, sample_id="S3"),
             lambda: memory.publish("expression", "a"), lambda: memory.discard("expression", "a"),
             memory.pending, lambda: memory.recover(set())]
    for call in calls:
        with pytest.raises(WorkspaceError, match="store at memory://test-readonly-store is "
                                                 "read-only from this process"):
            call()
    with pytest.raises(WorkspaceError, match="has no local root"):
        memory.root  # noqa: B018
    with pytest.raises(WorkspaceError, match=r"c\.parquet is missing although the registry"):
        memory.read("expression", ["c"])


def test_a_remote_store_does_not_roll_a_staged_file_forward(tmp_path) -> None:
    import fsspec

    local = OmicsStore(tmp_path / "store")
    local.stage("expression", "u", _expression(["WT1"], [9.0]), sample_id="S1")
    fs = fsspec.filesystem("memory")
    fs.pipe("/test-staged-store/expression/u.parquet.pending",
            (local.table_dir("expression") / "u.parquet.pending").read_bytes())
    remote = OmicsStore("memory://test-staged-store")
    with pytest.raises(WorkspaceError, match=r"still staged \(\.pending\).*recover step"):
        remote.read("expression", ["u"])
    assert fs.exists("/test-staged-store/expression/u.parquet.pending")
    assert not fs.exists("/test-staged-store/expression/u.parquet")


def test_scratch_folders_are_created_removed_and_recovered(tmp_path) -> None:
    store = OmicsStore(tmp_path)
    fresh, stale = store.scratch_url("fresh"), store.scratch_url("stale-1")
    assert fresh == str(tmp_path / "_scratch" / "fresh")
    deep = tmp_path / "_scratch" / "stale-1" / "values" / "c"
    deep.mkdir(parents=True)
    (deep / "0").write_bytes(b"chunk")
    old = time.time() - ABANDONED_AFTER_S - 10
    for path in [deep / "0", deep, deep.parent, deep.parent.parent]:
        os.utime(path, (old, old))
    (tmp_path / "_scratch" / "fresh" / "meta.json").write_text("{}")
    assert store.recover(set()) == {"published": 0, "removed": 1}
    assert not os.path.exists(stale) and os.path.exists(fresh)
    # a folder whose top is old but in which something was written recently is kept
    os.utime(fresh, (old, old))
    assert store.recover(set()) == {"published": 0, "removed": 0}
    store.remove_scratch("fresh")
    store.remove_scratch("fresh")  # absent: no error
    assert not os.path.exists(fresh)
    assert OmicsStore(f"file://{tmp_path}").scratch_url("x") == f"file://{tmp_path}/_scratch/x"
    with pytest.raises(InputError, match="not a plain folder name"):
        store.scratch_url("../escape")


def test_scratch_on_a_remote_store(tmp_path) -> None:
    import fsspec

    memory = OmicsStore("memory://test-scratch-store")
    url = memory.scratch_url("block-7")
    assert url == "memory://test-scratch-store/_scratch/block-7"
    with fsspec.open(url + "/x.bin", "wb") as fh:
        fh.write(b"1")
    fs = fsspec.filesystem("memory")
    assert fs.exists("/test-scratch-store/_scratch/block-7/x.bin")
    memory.remove_scratch("block-7")
    assert not fs.exists("/test-scratch-store/_scratch/block-7")


def test_workspace_recover_removes_a_killed_runs_scratch(sqlite_workspace) -> None:
    """A coordinator killed mid-run (no ``finally``) leaves its scratch folder; the next
    recovery (``analyze`` and imports start with one) removes it once abandoned, even with
    no import staged."""
    ws = sqlite_workspace
    dead = Path(ws.store.scratch_url("analysis-dead"))
    (dead / "b00000").mkdir()
    (dead / "b00000" / "0-all.parquet").write_bytes(b"x")
    live = Path(ws.store.scratch_url("analysis-live"))
    old = time.time() - ABANDONED_AFTER_S - 10
    for path in [dead / "b00000" / "0-all.parquet", dead / "b00000", dead]:
        os.utime(path, (old, old))
    assert not ws.store.pending()
    assert ws.recover() == {"published": 0, "removed": 1}
    assert not dead.exists() and live.exists()

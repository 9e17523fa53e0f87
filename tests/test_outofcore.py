"""Out-of-core matrices: the Zarr transposition equals the in-memory store matrix exactly."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import InputError, WorkspaceError
from tumorboard.io.tables import conform
from tumorboard.layers import scoring
from tumorboard.layers.expression import expression_findings
from tumorboard.outofcore import (
    DEFAULT_RESERVE_BYTES,
    WORKING_COPIES,
    TransposedMatrix,
    fits_in_memory,
    open_transposed,
    plan_blocks,
    remove,
    transpose_table,
)
from tumorboard.store import OmicsStore

GENES = [f"G{i:02d}" for i in range(37)] + ["ERBB2", "WT1", "MDM2", "CDK4"]
# 96 elements: chunks of 2 samples x 4 genes for 24 samples of 41 genes (no reserve)
TINY = {"budget_bytes": int(8 * WORKING_COPIES * 24 * 4), "reserve_bytes": 0}


def _expression(genes: list[str], tpm: np.ndarray) -> pd.DataFrame:
    return conform(pd.DataFrame({"gene": genes, "gene_id": pd.NA, "tpm": tpm,
                                 "count": np.nan}), "expression")


def _store(root, *, n_samples: int = 24, seed: int = 7) -> tuple[OmicsStore, list[str]]:
    """Samples with different gene sets (in shuffled order), log-normal TPM, some NaN."""
    rng = np.random.default_rng(seed)
    store = OmicsStore(root)
    uids = []
    for i in rng.permutation(n_samples):  # uid order differs from the sorted sample order
        genes = list(rng.choice(GENES, size=int(rng.integers(25, len(GENES) + 1)),
                                replace=False))
        tpm = rng.lognormal(1.0, 2.0, size=len(genes))
        tpm[rng.random(len(genes)) < 0.1] = np.nan
        tpm[rng.random(len(genes)) < 0.1] = 0.0
        uid = f"u{i:03d}"
        store.stage("expression", uid, _expression(genes, tpm), sample_id=f"S{i:03d}")
        store.publish("expression", uid)
        uids.append(uid)
    return store, uids


def _whole(tm: TransposedMatrix) -> pd.DataFrame:
    return pd.concat([tm.block(j) for j in range(tm.n_blocks)], axis=1)


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_blocks_make_exactly_the_store_matrix(tmp_path, scheduler) -> None:
    store, uids = _store(tmp_path / "store")
    expected = store.matrix("expression", uids)
    assert expected.isna().to_numpy().any()  # missing values and absent genes
    tm = transpose_table(store, "expression", uids, str(tmp_path / "t"), scheduler=scheduler,
                         **TINY)
    assert tm.features_per_block == 4 and tm.n_blocks == 11
    assert tm.shape == expected.shape == (24, len(GENES))
    meta = open_transposed(tm.url)
    assert meta == tm
    import json
    assert json.loads((tmp_path / "t" / "meta.json").read_text())["rows_per_partition"] == 2
    pd.testing.assert_frame_equal(_whole(tm), expected, check_exact=True)
    assert tm.block_features(10) == list(expected.columns[40:])


def test_many_partitions_and_fsspec_urls(tmp_path) -> None:
    store, uids = _store(tmp_path / "store")
    expected = store.matrix("expression", uids)
    url_store = OmicsStore(f"file://{tmp_path / 'store'}")
    # a budget for 3 samples of all 41 genes in pass 1 and 5 genes of all samples in pass 2
    budget = int(8 * WORKING_COPIES * 41 * 3)
    assert plan_blocks(24, 41, budget, reserve_bytes=0) == (3, 5)
    tm = transpose_table(url_store, "expression", dict.fromkeys(uids, "x"),
                         f"file://{tmp_path / 'zarr'}", budget_bytes=budget, reserve_bytes=0,
                         scheduler="threads")
    import zarr
    assert zarr.open_array(str(tmp_path / "zarr" / "values"), mode="r").chunks == (3, 5)
    pd.testing.assert_frame_equal(_whole(tm), expected, check_exact=True)
    # a second transposition to the same place replaces the first
    tm2 = transpose_table(store, "expression", uids[:5], tm.url, budget_bytes=budget,
                          reserve_bytes=0, scheduler="synchronous")
    pd.testing.assert_frame_equal(_whole(tm2), store.matrix("expression", uids[:5]),
                                  check_exact=True)


def test_read_arbitrary_columns_and_pickle(tmp_path) -> None:
    store, uids = _store(tmp_path / "store")
    expected = store.matrix("expression", uids)
    tm = pickle.loads(pickle.dumps(transpose_table(
        store, "expression", uids, str(tmp_path / "t"), scheduler="synchronous", **TINY)))
    wanted = ["WT1", "G03", "ERBB2", "G03", "G36"]
    pd.testing.assert_frame_equal(tm.read(wanted), expected[wanted], check_exact=True)
    assert tm.read([]).shape == (24, 0)
    with pytest.raises(InputError, match=r"features \['NOPE'\] are not columns"):
        tm.read(["WT1", "NOPE"])
    with pytest.raises(InputError, match="block 11 does not exist"):
        tm.block(11)


def test_sample_medians_are_those_of_the_proteome_centring(tmp_path) -> None:
    store, uids = _store(tmp_path / "store")
    expected = store.matrix("expression", uids)
    tm = transpose_table(store, "expression", uids, str(tmp_path / "t"), sample_medians=True,
                         budget_bytes=int(8 * WORKING_COPIES * 41 * 5), reserve_bytes=0,
                         scheduler="threads")
    medians = tm.sample_medians()
    # proteome.centre_by_batch_inplace centres each sample on nan_median_columns of the
    # features x samples array; numpy's nanmedian is the independent reference (the mean of
    # the two middle values is exact as 0.5 * (a + b) and as (a + b) / 2).
    by_columns = scoring.nan_median_columns(np.ascontiguousarray(expected.to_numpy().T))
    np.testing.assert_array_equal(medians.to_numpy(), by_columns)
    np.testing.assert_array_equal(medians.to_numpy(), np.nanmedian(expected.to_numpy(), axis=1))
    assert list(medians.index) == list(expected.index) and medians.index.name == "sample_id"
    plain = transpose_table(store, "expression", uids, str(tmp_path / "p"),
                            scheduler="synchronous", **TINY)
    assert plain.sample_medians() is None


def test_findings_block_by_block_equal_the_whole_cohort(tmp_path) -> None:
    store, uids = _store(tmp_path / "store", n_samples=30, seed=11)
    whole = store.matrix("expression", uids)
    entities = pd.Series(np.where(np.arange(30) % 3 == 0, "ES", "DSRCT"), index=whole.index)
    patients = pd.Series([f"P{s}" for s in whole.index], index=whole.index)
    kwargs = {"entities": entities, "patients": patients, "genes": ["ERBB2", "WT1"]}
    expected = expression_findings(whole, **kwargs)
    tm = transpose_table(store, "expression", uids, str(tmp_path / "t"),
                         budget_bytes=int(8 * WORKING_COPIES * 41 * 30 // 4), reserve_bytes=0,
                         scheduler="threads")
    assert tm.n_blocks > 1
    got = pd.concat([expression_findings(tm.block(j), **kwargs) for j in range(tm.n_blocks)],
                    ignore_index=True)
    assert len(expected) > 0 and set(expected["kind"]) >= {"overexpression", "expression"}

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(["sample", "feature"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(got), ordered(expected), check_exact=True)


def test_duplicate_features_raise_the_store_matrix_error(tmp_path) -> None:
    store, uids = _store(tmp_path / "store", n_samples=12)
    store.stage("expression", "dup", _expression(["WT1", "G01", "WT1"], np.ones(3)),
                sample_id="S900")
    store.publish("expression", "dup")
    # a sample in two files that both have MDM2 (the earlier duplicate in long-table order)
    store.stage("expression", "half1", _expression(["MDM2", "CDK4"], np.ones(2)),
                sample_id="S100")
    store.stage("expression", "half2", _expression(["ERBB2", "MDM2"], np.ones(2)),
                sample_id="S100")
    for uid in ("half1", "half2"):
        store.publish("expression", uid)
    for chosen in ([*uids, "dup"], [*uids, "half1", "half2", "dup"],
                   [*uids, "dup", "half1", "half2"]):
        with pytest.raises(WorkspaceError) as in_memory:
            store.matrix("expression", chosen)
        with pytest.raises(WorkspaceError) as out_of_core:
            transpose_table(store, "expression", chosen, str(tmp_path / "t"),
                            scheduler="synchronous", **TINY)
        assert str(out_of_core.value) == str(in_memory.value)
        assert "occurs twice in sample" in str(in_memory.value)
    assert not (tmp_path / "t").exists()  # nothing written
    # two files of one sample without a shared feature are one row, as in the pivot
    merged = [*uids, "half1"]
    store.stage("expression", "half3", _expression(["ERBB2"], np.array([5.0])),
                sample_id="S100")
    store.publish("expression", "half3")
    merged.append("half3")
    tm = transpose_table(store, "expression", merged, str(tmp_path / "m"),
                         scheduler="synchronous", **TINY)
    pd.testing.assert_frame_equal(_whole(tm), store.matrix("expression", merged),
                                  check_exact=True)


def test_plan_blocks_memory_model_and_minimum_budget() -> None:
    # 10,000 x 60,000 under 2 GiB: (2 GiB - reserve) / (8 bytes x 4 copies) elements per side
    usable = (2 * 2**30 - DEFAULT_RESERVE_BYTES) / (8 * WORKING_COPIES)
    assert plan_blocks(10_000, 60_000, 2 * 2**30) == (int(usable // 60_000),
                                                       int(usable // 10_000))
    assert plan_blocks(10, 20, 10**9, reserve_bytes=0) == (10, 20)  # capped at the matrix
    assert plan_blocks(10, 20, 8 * 4 * 20, working_copies=4, reserve_bytes=0) == (1, 2)
    assert plan_blocks(10, 20, 8 * 4 * 20 + 8 * 4 * 10 - 1, working_copies=4,
                       reserve_bytes=0) == (1, 2)
    assert plan_blocks(10, 20, 8 * 4 * 30, working_copies=4, reserve_bytes=0) == (1, 3)
    with pytest.raises(InputError, match=r"need 641 bytes.*budget_bytes >= 641"):
        plan_blocks(10, 20, 640, working_copies=4, reserve_bytes=1)
    plan_blocks(10, 20, 641, working_copies=4, reserve_bytes=1)  # the minimum is enough
    assert fits_in_memory(10, 20, 8 * 4 * 200, working_copies=4, reserve_bytes=0)
    assert not fits_in_memory(10, 20, 8 * 4 * 200 - 1, working_copies=4, reserve_bytes=0)
    assert not fits_in_memory(10_000, 60_000, 2 * 2**30)
    assert fits_in_memory(2_000, 60_000, 24 * 2**30)


def test_empty_cohort_remove_and_missing_matrix(tmp_path) -> None:
    store, _ = _store(tmp_path / "store", n_samples=2)
    tm = transpose_table(store, "expression", [], str(tmp_path / "t"), scheduler="synchronous",
                         **TINY)
    assert tm.n_blocks == 0 and tm.shape == (0, 0) and tm.samples == []
    assert store.matrix("expression", []).shape == (0, 0)
    remove(tm.url)
    remove(tm.url)  # absent: no error
    with pytest.raises(WorkspaceError, match="no transposed matrix at"):
        open_transposed(tm.url)
    with pytest.raises(InputError, match="too small"):
        transpose_table(store, "expression", ["u000", "u001"], str(tmp_path / "x"),
                        budget_bytes=10, reserve_bytes=0, scheduler="synchronous")


def test_a_distributed_cluster_writes_the_same_matrix(tmp_path) -> None:
    """With a Client open, the default scheduler is the cluster: worker processes read/write."""
    distributed = pytest.importorskip("distributed")
    store, uids = _store(tmp_path / "store")
    expected = store.matrix("expression", uids)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
        tm = transpose_table(OmicsStore(f"file://{tmp_path / 'store'}"), "expression", uids,
                             f"file://{tmp_path / 't'}", sample_medians=True, **TINY)
    assert worker_pids and __import__("os").getpid() not in worker_pids
    pd.testing.assert_frame_equal(_whole(tm), expected, check_exact=True)
    np.testing.assert_array_equal(tm.sample_medians().to_numpy(),
                                  np.nanmedian(expected.to_numpy(), axis=1))


def test_memory_filesystem_store_and_array(tmp_path) -> None:
    """Store and Zarr array both behind fsspec URLs other than the local disk."""
    import fsspec

    local, uids = _store(tmp_path / "store")
    fs = fsspec.filesystem("memory")
    for path in sorted((tmp_path / "store").rglob("*.parquet")):
        fs.pipe(f"/ooc-store/{path.relative_to(tmp_path / 'store').as_posix()}",
                path.read_bytes())
    remote = OmicsStore("memory://ooc-store")
    tm = transpose_table(remote, "expression", uids, remote.scratch_url("t"),
                         scheduler="threads", sample_medians=True, **TINY)
    assert tm.url == "memory://ooc-store/_scratch/t" and fs.exists("/ooc-store/_scratch/t/values")
    expected = local.matrix("expression", uids)
    pd.testing.assert_frame_equal(_whole(tm), expected, check_exact=True)
    assert open_transposed(tm.url) == tm
    remote.remove_scratch("t")
    assert not fs.exists("/ooc-store/_scratch/t")


def test_refuses_to_replace_a_folder_that_is_not_a_matrix(tmp_path) -> None:
    store, uids = _store(tmp_path / "store", n_samples=3)
    target = tmp_path / "results"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match=r"holds files that are not a transposed matrix"):
        transpose_table(store, "expression", uids, str(target), scheduler="synchronous", **TINY)
    assert (target / "keep.txt").read_text() == "mine"

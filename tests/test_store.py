"""The omics store: staging, publishing, recovery and cohort matrices."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import NotFoundError, WorkspaceError
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

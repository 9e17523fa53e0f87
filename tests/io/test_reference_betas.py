"""Tests for the classifier's readers: whole reference beta matrices and methylation labels."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.io import methylation
from tumorboard.io.methylation import (
    align_labels,
    read_methylation_labels,
    read_reference_betas,
)

PROBES = [f"cg{i:08d}" for i in range(1, 7)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def frame() -> pd.DataFrame:
    """Probes x samples betas with a missing value."""
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, size=(len(PROBES), 3)).round(4)
    values[2, 1] = np.nan
    return pd.DataFrame(values, index=pd.Index(PROBES, name="probe"),
                        columns=["S1", "S2", "S3"])


@pytest.mark.parametrize("kind", ["tsv", "csv", "tsv.gz", "parquet"])
def test_whole_matrix_samples_by_probes(tmp_path: Path, frame: pd.DataFrame, kind: str) -> None:
    path = tmp_path / f"betas.{kind}"
    if kind == "parquet":
        frame.to_parquet(path)
    elif kind == "tsv.gz":
        with gzip.open(path, "wt") as fh:
            frame.to_csv(fh, sep="\t", na_rep="NA")
    else:
        frame.to_csv(path, sep="," if kind == "csv" else "\t", na_rep="NA")
    out = read_reference_betas(path)
    assert out.shape == (3, len(PROBES))
    assert list(out.index) == ["S1", "S2", "S3"] and out.index.name == "sample"
    assert list(out.columns) == PROBES and out.columns.name == "probe_id"
    assert (out.dtypes == np.float32).all()
    np.testing.assert_array_equal(out.to_numpy(), frame.T.to_numpy(dtype=np.float32))
    assert np.isnan(out.loc["S2", "cg00000003"])
    assert out.attrs["platform"] == "unknown (sparse)"


def test_row_names_header_detection_columns_and_batches(
        tmp_path: Path, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    # R write.table layout (header one field short), a detection p-value column per sample
    header = "S1\tS1.Detection Pval\tS2\tS3"
    rows = [f"{p}\t{a}\t0.01\t{'NA' if np.isnan(b) else b}\t{c}"
            for p, (a, b, c) in zip(PROBES, frame.to_numpy(), strict=True)]
    path = write(tmp_path, "betas.tsv", "\n".join([header, *rows]) + "\n")
    monkeypatch.setattr(methylation, "_COLUMN_BATCH", 2)  # two passes over the file
    out = read_reference_betas(path)
    assert list(out.index) == ["S1", "S2", "S3"]
    np.testing.assert_array_equal(out.to_numpy(), frame.T.to_numpy(dtype=np.float32))


def test_genomestudio_and_epicv2_ids_kept(tmp_path: Path) -> None:
    text = ("TargetID\tA.AVG_Beta\tA.Detection Pval\tB.AVG_Beta\tB.Intensity\n"
            "cg00000029_TC21\t0.1\t0.0\t0.2\t1000\n"
            "cg00000029_TC22\t0.3\t0.0\t0.4\t1000\n"
            "cg00000108_BC11\t0.5\t0.0\t0.6\t1000\n")
    out = read_reference_betas(write(tmp_path, "gs.tsv", text))
    assert list(out.index) == ["A", "B"]
    assert list(out.columns) == ["cg00000029_TC21", "cg00000029_TC22", "cg00000108_BC11"]
    assert out.loc["B", "cg00000029_TC22"] == pytest.approx(0.4)


def test_duplicate_probe_and_sample_errors(tmp_path: Path) -> None:
    dup_probe = write(tmp_path, "dp.tsv", "probe\tS1\tS2\ncg00000001\t0.1\t0.2\n"
                      "cg00000002\t0.1\t0.2\ncg00000001\t0.3\t0.4\n")
    with pytest.raises(InputError) as err:
        read_reference_betas(dup_probe)
    assert err.value.line == 4
    assert "duplicate probe id 'cg00000001' (first at line 2)" in err.value.message

    dup_sample = write(tmp_path, "ds.tsv", "probe\tS1\tS2\tS1\ncg00000001\t0.1\t0.2\t0.3\n")
    with pytest.raises(InputError) as err:
        read_reference_betas(dup_sample)
    assert err.value.line == 1 and err.value.column == "S1"
    assert "sample 'S1' appears twice in the header" in err.value.message

    gs = write(tmp_path, "gs.tsv", "probe\tS1.AVG_Beta\tS1.AVG_Beta\ncg00000001\t0.1\t0.2\n")
    with pytest.raises(InputError, match="sample 'S1' appears twice"):
        read_reference_betas(gs)


def test_bad_values_name_line_and_column(tmp_path: Path) -> None:
    text = "probe\tS1\tS2\ncg00000001\t0.1\t0.2\ncg00000002\t0.1\thigh\n"
    with pytest.raises(InputError) as err:
        read_reference_betas(write(tmp_path, "text.tsv", text))
    assert (err.value.line, err.value.column) == (3, "S2")
    assert "'high' is not a number" in err.value.message

    text = "probe\tS1\tS2\ncg00000001\t0.1\t0.2\ncg00000002\t0.1\t42\n"
    with pytest.raises(InputError) as err:
        read_reference_betas(write(tmp_path, "range.tsv", text))
    assert (err.value.line, err.value.column) == (3, "S2")
    assert "beta value 42 outside [0, 1]" in err.value.message

    text = "probe\tS1\tS2\ncg00000001\t0.1\tNA\ncg00000002\t0.1\tNA\n"
    with pytest.raises(InputError, match="no beta values") as err:
        read_reference_betas(write(tmp_path, "empty.tsv", text))
    assert err.value.column == "S2"

    text = "probe\tS1\nCONTROL_1\t0.1\n"
    with pytest.raises(InputError, match="not an Illumina methylation probe id") as err:
        read_reference_betas(write(tmp_path, "ids.tsv", text))
    assert err.value.line == 2


# ----------------------------------------------------------------------------- labels


def test_labels_sample_and_class(tmp_path: Path) -> None:
    path = write(tmp_path, "labels.tsv", "sample\tclass\nS1\tDSRCT\n\nS2\tEWS\n")
    labels = read_methylation_labels(path)
    assert labels.to_dict() == {"S1": "DSRCT", "S2": "EWS"}
    assert labels.index.name == "sample" and labels.name == "methylation_class"

    path = write(tmp_path, "labels.csv", "Sample_ID,Methylation_Class\nS1,DSRCT\n")
    assert read_methylation_labels(path).to_dict() == {"S1": "DSRCT"}


GSE_EXCERPT = (
    ",ID,Site,Diagnosis,IDAT,Meth_Class\n"
    '303,REFERENCE_SAMPLE 303,"Soft tissue, trunk, buttock",Rhabdomyosarcoma (alveolar),'
    "200511510045_R02C01,RMS-ALV\n"
    '304,REFERENCE_SAMPLE 304,"Soft tissue,trunk,  pelvis",Rhabdomyosarcoma (embryonal),'
    "8221932018_R03C01,RMS-EMB\n"
)


def test_labels_gse140686_layout(tmp_path: Path) -> None:
    path = write(tmp_path, "gse.csv", GSE_EXCERPT)
    labels = read_methylation_labels(path)
    assert labels.to_dict() == {"200511510045_R02C01": "RMS-ALV",
                                "8221932018_R03C01": "RMS-EMB"}
    assert labels.attrs["sample_column"] == "IDAT"
    by_id = read_methylation_labels(path, sample_column="id")
    assert list(by_id.index) == ["REFERENCE_SAMPLE 303", "REFERENCE_SAMPLE 304"]
    # without a named column, the one matching the matrix's samples is chosen
    matched = read_methylation_labels(path, samples=["REFERENCE_SAMPLE 304"])
    assert matched.attrs["sample_column"] == "ID"


def test_labels_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_methylation_labels(write(tmp_path, "a.csv", "sample,diagnosis\nS1,DSRCT\n"))
    assert err.value.line == 1 and "no 'class' column" in err.value.message
    assert err.value.fix

    with pytest.raises(InputError) as err:
        read_methylation_labels(write(tmp_path, "b.csv", "name,class\nS1,DSRCT\n"))
    assert err.value.line == 1 and "no sample id column" in err.value.message

    with pytest.raises(InputError, match="no column 'IDAT'") as err:
        read_methylation_labels(write(tmp_path, "c.csv", "sample,class\nS1,X\n"),
                                sample_column="IDAT")

    with pytest.raises(InputError) as err:
        read_methylation_labels(write(tmp_path, "d.csv", "sample,class\nS1,X\nS2,NA\n"))
    assert (err.value.line, err.value.column, err.value.sample) == (3, "class", "S2")
    assert "class is empty" in err.value.message

    with pytest.raises(InputError) as err:
        read_methylation_labels(write(tmp_path, "e.csv", "sample,class\nS1,X\nS2,Y\nS1,X\n"))
    assert err.value.line == 4
    assert "sample 'S1' is listed twice (first on line 2)" in err.value.message

    with pytest.raises(InputError, match="no labels after the header"):
        read_methylation_labels(write(tmp_path, "f.csv", "sample,class\n"))

    with pytest.raises(InputError) as err:
        read_methylation_labels(write(tmp_path, "g.csv", "sample,class\nS1,X\nS2,Y,extra\n"))
    assert err.value.line == 3


def test_align_labels() -> None:
    betas = pd.DataFrame(np.zeros((3, 2), dtype=np.float32), index=["S1", "S2", "S3"],
                         columns=PROBES[:2])
    labels = pd.Series({"S3": "B", "S1": "A", "S9": "C"})
    with pytest.raises(InputError) as err:
        align_labels(betas, labels)
    assert "1 sample of the beta matrix without a label: 'S2'" in err.value.message
    assert "1 label for samples not in the beta matrix: 'S9'" in err.value.message
    x, y, notes = align_labels(betas, labels, drop_unlabelled=True, ignore_extra_labels=True)
    assert list(x.index) == ["S1", "S3"] and list(y) == ["A", "B"]
    assert len(notes) == 2
    with pytest.raises(InputError, match="no sample of the beta matrix has a label"):
        align_labels(betas, pd.Series({"S9": "C"}), drop_unlabelled=True,
                     ignore_extra_labels=True)

"""Tests of the file handling shared by the readers (tumorboard.io._files)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest

from tumorboard.errors import InputError
from tumorboard.io._files import (
    BGZF_EOF,
    check_file,
    check_gzip_complete,
    choose_sample,
    gzip_error,
    gzip_kind,
    is_gzip,
    listing,
    numbered_lines,
    plural,
    read_text,
)
from tumorboard.io._tabular import MatrixFile

TEXT = b"##header\nline two\r\nline three\n"


def bgzf_block(data: bytes) -> bytes:
    """One BGZF block as bgzip writes it (SAM/BAM format specification, section 4.1)."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    bsize = 18 + len(body) + 8 - 1  # BSIZE is the total block size minus 1
    header = (b"\x1f\x8b\x08\x04" + b"\x00\x00\x00\x00" + b"\x00\xff" + (6).to_bytes(2, "little")
              + b"BC" + (2).to_bytes(2, "little") + bsize.to_bytes(2, "little"))
    trailer = zlib.crc32(data).to_bytes(4, "little") + len(data).to_bytes(4, "little")
    return header + body + trailer


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- files --------------------------------------------------------------------------------------


def test_check_file_returns_path(tmp_path: Path) -> None:
    path = write(tmp_path / "a.tsv", b"x\n")
    assert check_file(str(path)) == path


def test_check_file_missing_directory_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.tsv: file not found"):
        check_file(tmp_path / "nope.tsv")
    with pytest.raises(InputError, match="is a directory, not a file"):
        check_file(tmp_path)
    empty = write(tmp_path / "empty.tsv", b"")
    with pytest.raises(InputError) as err:
        check_file(empty)
    assert err.value.file == str(empty)
    assert "empty.tsv: file is empty" in str(err.value)


# -- gzip ---------------------------------------------------------------------------------------


def test_gzip_kind_from_magic_bytes_not_name(tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.vcf.gz", TEXT)  # name says gzip, bytes do not
    gz = write(tmp_path / "data.txt", gzip.compress(TEXT))
    bgz = write(tmp_path / "data.bgz", bgzf_block(TEXT) + BGZF_EOF)
    assert gzip_kind(plain) is None and not is_gzip(plain)
    assert gzip_kind(gz) == "gzip" and is_gzip(gz)
    assert gzip_kind(bgz) == "bgzf" and is_gzip(bgz)
    assert gzip.decompress(bgz.read_bytes()) == TEXT  # the test block is real BGZF


def test_gzip_error_names_file_and_says_recopy(tmp_path: Path) -> None:
    err = gzip_error(tmp_path / "cut.tsv.gz", "gzip stream ends early")
    assert str(err).startswith(f"{tmp_path / 'cut.tsv.gz'}: file is truncated or not valid gzip; "
                               "re-copy it (gzip stream ends early)")
    assert err.file == str(tmp_path / "cut.tsv.gz")


def test_complete_gzip_and_bgzf_pass(tmp_path: Path) -> None:
    gz = write(tmp_path / "a.gz", gzip.compress(TEXT) + gzip.compress(b"second member\n"))
    assert check_gzip_complete(gz, "gzip") == []
    bgz = write(tmp_path / "a.bgz", bgzf_block(TEXT) + bgzf_block(b"more\n") + BGZF_EOF)
    assert check_gzip_complete(bgz, "bgzf") == []


def test_bgzf_without_eof_marker_is_noted_not_refused(tmp_path: Path) -> None:
    bgz = write(tmp_path / "noeof.bgz", bgzf_block(TEXT) + bgzf_block(b"more\n"))
    notes = check_gzip_complete(bgz, "bgzf")
    assert len(notes) == 1 and "end-of-file marker missing" in notes[0]


@pytest.mark.parametrize(("kind", "detail"), [
    ("bgzf", "last BGZF block ends"),
    ("gzip", "gzip stream ends early"),
])
def test_truncated_gzip_is_refused_naming_file(tmp_path: Path, kind: str, detail: str) -> None:
    data = (bgzf_block(TEXT * 50) + bgzf_block(TEXT) if kind == "bgzf"
            else gzip.compress(TEXT * 50))
    cut = write(tmp_path / "cut.txt.gz", data[: len(data) - 30])
    with pytest.raises(InputError) as err:
        check_gzip_complete(cut, kind)
    assert f"{cut}: file is truncated or not valid gzip; re-copy it" in str(err.value)
    assert detail in str(err.value)


def test_corrupt_gzip_data_is_refused(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(TEXT * 50))
    data[20:30] = b"\xff" * 10
    bad = write(tmp_path / "bad.gz", bytes(data))
    with pytest.raises(InputError, match=r"bad\.gz: file is truncated or not valid gzip"):
        check_gzip_complete(bad, "gzip")


# -- text ---------------------------------------------------------------------------------------


def test_numbered_lines_plain_and_gzip(tmp_path: Path) -> None:
    expected = [(1, "##header"), (2, "line two"), (3, "line three")]
    assert list(numbered_lines(write(tmp_path / "a.txt", TEXT))) == expected
    assert list(numbered_lines(write(tmp_path / "a.txt.gz", gzip.compress(TEXT)))) == expected


def test_numbered_lines_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b"row %d\n" % i for i in range(20000)))
    cut = write(tmp_path / "rows.txt.gz", data[:3000])
    lines = numbered_lines(cut)
    with pytest.raises(InputError) as err:
        for _ in lines:
            pass
    assert f"{cut}: file is truncated or not valid gzip" in str(err.value)


def test_read_text_gzip_crlf_and_latin1(tmp_path: Path) -> None:
    path, text, notes = read_text(write(tmp_path / "a.seg.gz", gzip.compress(TEXT)))
    assert path == tmp_path / "a.seg.gz"
    assert text == "##header\nline two\nline three\n"
    assert notes == []
    _, text, notes = read_text(write(tmp_path / "l1.tsv", "gène\tS1\n".encode("latin-1")))
    assert text == "gène\tS1\n"
    assert notes == ["l1.tsv is not UTF-8 text; read as Latin-1"]


def test_read_text_refusals(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"blank\.seg: file is empty"):
        read_text(write(tmp_path / "blank.seg", b" \n\n"))
    with pytest.raises(InputError, match=r"empty\.seg\.gz: file is empty"):
        read_text(write(tmp_path / "empty.seg.gz", gzip.compress(b"")))
    with pytest.raises(InputError, match=r"plain\.seg\.gz: file name ends in \.gz but the file "
                                         "is not gzip-compressed"):
        read_text(write(tmp_path / "plain.seg.gz", TEXT))
    data = gzip.compress(TEXT * 100)
    with pytest.raises(InputError, match=r"cut\.seg\.gz: file is truncated or not valid gzip"):
        read_text(write(tmp_path / "cut.seg.gz", data[:-20]))


# -- samples and messages -----------------------------------------------------------------------


def test_choose_sample_takes_the_only_one_or_the_named_one(tmp_path: Path) -> None:
    f = tmp_path / "m.tsv"
    assert choose_sample(["S1"], None, file=f) == "S1"
    assert choose_sample(["S1", "S2"], "S2", file=f) == "S2"
    assert choose_sample(["1001", "1002"], 1002, file=f) == "1002"  # type: ignore[arg-type]
    assert choose_sample(["S1", "S2"], " S2 ", file=f) == "S2"


def test_choose_sample_key_returns_the_files_spelling(tmp_path: Path) -> None:
    samples = ["TCGA.3B.A9HI.01", "TCGA.3B.A9HJ.01"]
    chosen = choose_sample(samples, "TCGA-3B-A9HJ-01", file=tmp_path / "rppa.csv",
                           key=lambda s: s.replace(".", "-"))
    assert chosen == "TCGA.3B.A9HJ.01"


def test_choose_sample_several_and_none_chosen(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        choose_sample(["S1", "S2", "S3"], None, file=tmp_path / "m.tsv", line=1,
                      column="Tumor_Sample_Barcode", noun="tumour sample")
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'm.tsv'}:1, column 'Tumor_Sample_Barcode': "
                          "file holds 3 tumour samples ('S1', 'S2', 'S3') and no sample was "
                          "chosen")
    assert "set `column:` in case.yaml for this file" in msg


def test_choose_sample_unknown_name_lists_the_files_samples(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        choose_sample(["S1", "S2"], "S9", file=tmp_path / "m.tsv")
    assert err.value.sample == "S9"
    assert "sample 'S9' is not in the file" in str(err.value)
    assert err.value.expected == "one of: 'S1', 'S2'"
    assert "set `column:` in case.yaml" in str(err.value)


def test_choose_sample_file_without_samples(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file names no samples"):
        choose_sample([], None, file=tmp_path / "m.tsv")
    with pytest.raises(InputError, match="'S1' is not in the file; the file names no samples"):
        choose_sample([], "S1", file=tmp_path / "m.tsv")


def test_listing_and_plural() -> None:
    assert listing(["a", "b"]) == "'a', 'b'"
    assert listing(["a", "b"], quote=False) == "a, b"
    assert listing([f"s{i}" for i in range(25)], 3) == "'s0', 's1', 's2', ... (22 more)"
    assert plural(1, "gene") == "1 gene"
    assert plural(1203, "gene") == "1,203 genes"
    assert plural(0, "sample column") == "0 sample columns"


def test_matrix_column_named_twice_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.tsv", b"gene\tS1\tS1\nERBB2\t1\t2\n")
    mf = MatrixFile.open(path, what="a matrix")
    with pytest.raises(InputError, match=r"dup\.tsv:1: sample column 'S1' appears 2 times"):
        mf.choose_column(["S1", "S1"], "S1")
    assert MatrixFile.open(write(tmp_path / "one.tsv", b"gene\tS1\nERBB2\t1\n"),
                           what="a matrix").choose_column(["S1"], None) == 1

"""File handling shared by every reader: checks, gzip, sample choice, counts in messages.

One implementation of each job the readers all need, so that every reader words the same
problem the same way:

- :func:`check_file` — the path is a readable, non-empty file;
- :func:`gzip_kind` / :func:`is_gzip` — gzip detected by its magic bytes ``1f 8b`` (RFC 1952,
  section 2.3.1), BGZF by its ``BC`` extra subfield (SAM/BAM format specification, section
  4.1, samtools/hts-specs); :func:`check_gz_name` refuses a ``.gz`` name on a plain file;
- :func:`gzip_error` — the one message for a truncated or corrupt gzip file;
- :func:`check_gzip_complete` — a cheap completeness check of a (b)gzip file (the VCF reader's);
- :func:`numbered_lines` / :func:`read_text` — text of a plain or gzipped file, with every
  decompression failure turned into :func:`gzip_error`;
- :func:`choose_sample` — the wanted sample among those a file declares (reader convention in
  :mod:`tumorboard.io.tables`), with the error listing what the file has;
- :func:`plural` / :func:`listing` — ``1 gene``, ``2 genes``; ``'a', 'b', ... (3 more)``.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tumorboard.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
#: What decompressing a cut or damaged gzip stream raises (BadGzipFile is an OSError).
GZIP_ERRORS: tuple[type[Exception], ...] = (EOFError, zlib.error, gzip.BadGzipFile)
#: The fixed 28-byte empty block that ends a BGZF file (SAM/BAM format spec, 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


# ---------------------------------------------------------------------------------------------
# messages


def plural(n: int, noun: str) -> str:
    """``'1 gene'``, ``'2 genes'``, ``'1,203 genes'``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def listing(items: Iterable[object], limit: int = 20, *, quote: bool = True) -> str:
    """Items for a message, comma-separated, at most ``limit`` of them, then how many more."""
    names = [str(x) for x in items]
    shown = ", ".join(f"'{x}'" if quote else x for x in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit:,} more)"
    return shown


# ---------------------------------------------------------------------------------------------
# files and gzip


def check_file(path: str | Path) -> Path:
    """The path as a :class:`Path` if it names a readable, non-empty file; else InputError."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p, fix="check the path in case.yaml")
    if p.is_dir():
        raise InputError("is a directory, not a file", file=p,
                         fix="name the file inside it in case.yaml")
    try:
        size = p.stat().st_size
        with p.open("rb"):
            pass
    except OSError as exc:
        raise InputError(f"file cannot be opened: {exc.strerror or exc}", file=p,
                         fix="check the file's permissions") from exc
    if size == 0:
        raise InputError("file is empty", file=p, fix="re-export or re-copy the file")
    return p


def file_head(path: Path, n: int = 18) -> bytes:
    """The first ``n`` bytes of a file (fewer if it is shorter)."""
    with open(path, "rb") as fh:
        return fh.read(n)


def gzip_kind(path: Path) -> str | None:
    """``'bgzf'``, ``'gzip'`` or ``None`` (not compressed), from the first bytes."""
    head = file_head(path, 18)
    if head[:2] != GZIP_MAGIC:
        return None
    # BGZF: FEXTRA flag set and a 'BC' subfield (SAM/BAM spec section 4.1).
    if len(head) >= 18 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzf"
    return "gzip"


def is_gzip(path: Path) -> bool:
    """Whether the file is gzip-compressed (BGZF included), from its magic bytes."""
    return file_head(path, 2) == GZIP_MAGIC


def check_gz_name(path: Path, compressed: bool) -> None:
    """Refuse a file named ``.gz``/``.bgz`` that is not compressed: the copy is not the file."""
    if not compressed and path.suffix.lower() in (".gz", ".bgz"):
        raise InputError(
            f"file name ends in {path.suffix} but the file is not gzip-compressed",
            file=path,
            fix="re-copy it from the source, or remove the .gz ending if it is plain text",
        )


def gzip_error(path: Path, detail: str | None = None) -> InputError:
    """The InputError for a gzip file that is cut short or damaged."""
    problem = "file is truncated or not valid gzip; re-copy it"
    if detail:
        problem += f" ({detail})"
    return InputError(
        problem,
        file=path,
        expected="a complete gzip/bgzip file",
        fix="copy the file again from its source and compare its checksum",
    )


def check_gzip_complete(path: Path, kind: str) -> list[str]:
    """Raise :func:`gzip_error` if a (b)gzip file is cut short; return QC notes.

    BGZF files end with a fixed 28-byte end-of-file block (SAM/BAM format spec, 4.1.2); if it
    is missing, the block sizes are walked (no decompression) to tell a cut from a file a tool
    wrote without the marker. Plain gzip has no such index, so it is decompressed once.
    """
    notes: list[str] = []
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if kind == "bgzf":
            if size >= 28:
                fh.seek(size - 28)
                if fh.read(28) == BGZF_EOF:
                    return notes
            offset = 0
            while offset < size:
                fh.seek(offset)
                head = fh.read(18)
                if len(head) < 18 or head[:2] != GZIP_MAGIC or head[12:14] != b"BC":
                    raise gzip_error(path, f"no valid BGZF block at byte {offset:,}")
                block = int.from_bytes(head[16:18], "little") + 1
                if offset + block > size:
                    raise gzip_error(path, f"last BGZF block ends {offset + block - size:,} "
                                           "bytes after the end of the file")
                offset += block
            notes.append("bgzip end-of-file marker missing (all blocks complete); if records "
                         "seem to be missing, re-copy the file")
            return notes
        decomp = zlib.decompressobj(wbits=31)
        try:
            while chunk := fh.read(1 << 20):
                data = decomp.decompress(chunk)
                while decomp.eof and decomp.unused_data:  # concatenated gzip members
                    rest = decomp.unused_data
                    decomp = zlib.decompressobj(wbits=31)
                    data = decomp.decompress(rest)
                del data
        except zlib.error as exc:
            raise gzip_error(path, f"corrupt gzip data: {exc}") from exc
        if not decomp.eof:
            raise gzip_error(path, "gzip stream ends early")
    return notes


# ---------------------------------------------------------------------------------------------
# text


def numbered_lines(path: Path, *, gz: bool | None = None, encoding: str = "utf-8-sig",
                   errors: str = "replace") -> Iterator[tuple[int, str]]:
    """Yield ``(1-based line number, text without line end)`` of a plain or gzipped file.

    ``gz`` says whether the file is gzip (``None``: look at its first bytes). A cut or damaged
    gzip stream raises :func:`gzip_error`; with ``errors='strict'`` undecodable text raises
    :class:`UnicodeDecodeError` for the caller to word.
    """
    if gz is None:
        gz = is_gzip(path)
    try:
        opener = gzip.open if gz else open
        with opener(path, "rt", encoding=encoding, errors=errors) as fh:  # type: ignore[operator]
            for number, line in enumerate(fh, 1):
                yield number, line.rstrip("\r\n")
    except GZIP_ERRORS as exc:
        raise gzip_error(path, str(exc)) from exc
    except OSError as exc:
        if gz:
            raise gzip_error(path, str(exc)) from exc
        raise InputError(f"file cannot be read: {exc}", file=path) from exc


def read_bytes(path: str | Path) -> tuple[Path, bytes]:
    """Read a whole plain or gzipped file (gzip told by its magic bytes); ``(path, bytes)``.

    Raises
    ------
    InputError
        Missing or empty file, a ``.gz`` name on a plain file or the reverse, corrupt gzip.
    """
    p = check_file(path)
    data = p.read_bytes()
    compressed = data[:2] == GZIP_MAGIC
    check_gz_name(p, compressed)
    if compressed:
        try:
            data = gzip.decompress(data)
        except (OSError, *GZIP_ERRORS) as exc:
            raise gzip_error(p, str(exc)) from exc
    return p, data


def read_text(path: str | Path) -> tuple[Path, str, list[str]]:
    """Read a whole plain or gzipped text file; return ``(path, text, notes)``.

    For files small enough to hold in memory (segment, fusion and HLA files). Text is UTF-8
    (a byte-order mark is dropped), else Latin-1 with a note: spreadsheet exports on Windows
    are often cp1252/Latin-1, in which every byte decodes. Line ends become ``\\n``. A file
    that holds only whitespace is empty.
    """
    p, data = read_bytes(path)
    notes: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        notes.append(f"{p.name} is not UTF-8 text; read as Latin-1")
    if not text.strip():
        raise InputError("file is empty", file=p, fix="re-export or re-copy the file")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return p, text, notes


# ---------------------------------------------------------------------------------------------
# samples


def choose_sample(
    samples: list[str],
    wanted: str | None,
    *,
    file: Path,
    line: int | None = None,
    column: str | None = None,
    noun: str = "sample",
    name_in_file: str = "the sample's name in the file",
    key: Callable[[str], str] | None = None,
) -> str:
    """The wanted sample among the ``samples`` a file declares (reader convention).

    ``wanted=None`` takes the only sample; with several, or with a name the file lacks, the
    InputError lists the file's samples and says to set ``column:`` in case.yaml.

    Parameters
    ----------
    file, line, column
        Where the samples are declared, for the message.
    noun
        What a sample is in this format ('sample column', 'tumour sample').
    name_in_file
        What ``column:`` must be set to ('the tumour's Tumor_Sample_Barcode').
    key
        Optional normalisation under which ``wanted`` may match (e.g. TCGA barcodes written
        with dots or dashes); the file's spelling is returned.
    """
    where = {"file": file, "line": line, "column": column}
    if wanted is None:
        if len(samples) == 1:
            return samples[0]
        if not samples:
            raise InputError("file names no samples", **where,
                             expected=f"at least one {noun}")
        raise InputError(
            f"file holds {plural(len(samples), noun)} ({listing(samples)}) and no sample was "
            "chosen",
            **where,
            fix=f"set `column:` in case.yaml for this file to {name_in_file}",
        )
    wanted = str(wanted).strip()  # case.yaml may give a number-like name as an int
    if wanted in samples:
        return wanted
    if key is not None:
        normalised = key(wanted)
        for s in samples:
            if key(s) == normalised:
                return s
    raise InputError(
        f"{noun} '{wanted}' is not in the file"
        + ("" if samples else "; the file names no samples"),
        **where,
        sample=wanted,
        expected=f"one of: {listing(samples)}" if samples else None,
        fix=f"set `column:` in case.yaml for this file to {name_in_file}",
    )

"""Delimited tables shared by several readers, with file line numbers kept for messages.

Two readers of delimited text, for two sizes of file:

- :class:`TextTable` / :func:`parse_table` — a small table (segments, fusions, gene-level copy
  number) read whole from text into string cells, each row with its 1-based file line; columns
  are found by their common spellings (:func:`find_column`) and parsed by :func:`to_float` /
  :func:`to_int`, whose errors name line and column. Used by :mod:`tumorboard.io.copynumber`
  and :mod:`tumorboard.io.fusions`.
- :class:`MatrixFile` — a wide gene/probe x sample matrix (TSV/CSV, plain or gzip, or
  Parquet) of which only the needed columns are parsed, with pyarrow's multi-threaded CSV
  reader; bad values are reported with their 1-based file line. Used by
  :mod:`tumorboard.io.expression` and :mod:`tumorboard.io.methylation`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tumorboard.errors import InputError
from tumorboard.io._files import (
    GZIP_MAGIC,
    check_file,
    check_gz_name,
    choose_sample,
    file_head,
    gzip_error,
    numbered_lines,
)


def split_fields(text: str, sep: str) -> list[str]:
    """One delimited line split into fields, honouring CSV quoting."""
    return next(csv.reader([text], delimiter=sep))


# ---------------------------------------------------------------------------------------------
# Small tables read whole (copy number, fusions)
# ---------------------------------------------------------------------------------------------

#: Cell values read as "missing" in numeric columns.
MISSING_CELLS = frozenset({"", "NA", "NaN", "nan", "N/A", "NULL", "null", "None", "."})


@dataclass
class TextTable:
    """A delimited text file split into string cells, with each row's line number."""

    path: Path
    header: list[str]
    header_line: int  # 1-based
    frame: pd.DataFrame  # all cells as str, columns = header names
    lines: np.ndarray  # 1-based file line of each row of ``frame``

    def line_of(self, row_position: int) -> int:
        return int(self.lines[row_position])


def locate_header(
    p: Path, text: str, hash_header: bool, sep: str | None
) -> tuple[list[str], int, int, str]:
    """Find the header line: (column names, 1-based line, offset of the body, delimiter)."""
    offset = 0
    header_text = None
    header_line = 0
    number = 0
    while offset <= len(text):
        stop = text.find("\n", offset)
        stop = len(text) if stop < 0 else stop
        line = text[offset:stop]
        number += 1
        offset = stop + 1
        stripped = line.strip()
        if stripped and (hash_header or not stripped.startswith("#")):
            header_text, header_line = line, number
            break
    if header_text is None:
        raise InputError("no header line found", file=p, expected="a header line of column names")
    if hash_header:
        header_text = header_text.lstrip().lstrip("#")
    if sep is None:
        sep = "\t" if "\t" in header_text else ("," if "," in header_text else "\t")
    if sep == "\t":
        header = [h.strip() for h in header_text.split("\t")]
    else:
        header = [h.strip() for h in split_fields(header_text, sep)]
    while header and header[-1] == "":
        header.pop()
    seen: set[str] = set()
    for name in header:
        if name in seen and name:
            raise InputError(
                f"column '{name}' appears twice in the header",
                file=p, line=header_line, column=name,
                fix="give every column a distinct name",
            )
        seen.add(name)
    return header, header_line, offset, sep


def parse_table(
    p: Path,
    text: str,
    *,
    hash_header: bool = False,
    sep: str | None = None,
    usecols: Sequence[str] | None = None,
) -> TextTable:
    """Split ``text`` into a header and string cells, keeping file line numbers.

    Parameters
    ----------
    hash_header
        The header is the first non-blank line and starts with ``#`` (Arriba, STAR-Fusion),
        which is stripped. Otherwise lines starting with ``#`` before the header are skipped
        (IGV ``#track`` lines) and the header is the first other non-blank line.
    sep
        Delimiter; ``None`` guesses tab, else comma, from the header line.
    usecols
        Header names of the columns to keep (all if ``None``); reading two columns of a wide
        gene x sample matrix is much cheaper than reading all of them.

    Notes
    -----
    Rows with more fields than the header are an error (line named) unless the surplus fields
    are empty, or unless *every* row has exactly one more field: that is R's
    ``write.table(row.names = TRUE)`` layout, whose first field is a row name and is dropped.
    """
    header, header_line, offset, sep = locate_header(p, text, hash_header, sep)
    wanted = list(header) if usecols is None else list(usecols)
    body = text[offset:]
    if body.endswith("\n"):
        body = body[:-1]
    if not body.strip():
        frame = pd.DataFrame({h: pd.Series(dtype=object) for h in wanted})
        return TextTable(p, header, header_line, frame, np.zeros(0, dtype=np.int64))

    raw_lines = body.split("\n")
    # str methods per line run in C; pandas' arrow-backed .str.count is far slower on long
    # lines such as those of a 1,000-sample matrix.
    blank = np.fromiter((not line.strip() for line in raw_lines), dtype=bool,
                        count=len(raw_lines))
    # a quoted cell may hold the delimiter ("doxorubicin, ifosfamide"): split those lines
    # properly, count the others cheaply
    fields = np.fromiter((line.count(sep) + 1 if sep == "\t" or '"' not in line
                          else len(split_fields(line, sep)) for line in raw_lines),
                         dtype=np.int64, count=len(raw_lines))
    shift = 0
    surplus = ~blank & (fields > len(header))
    if surplus.any():
        if (fields[~blank] == len(header) + 1).all():
            shift = 1  # R write.table row names
        else:
            for i in np.flatnonzero(surplus):
                cells = (raw_lines[i].split(sep) if sep == "\t"
                         else split_fields(raw_lines[i], sep))
                if any(c.strip() for c in cells[len(header):]):
                    raise InputError(
                        f"row has {len(cells)} fields but the header has {len(header)} "
                        "columns",
                        file=p, line=header_line + 1 + int(i),
                        fix="check for a stray delimiter, or add the missing column name "
                            "to the header",
                    )
    width = max(int(fields.max()), len(header) + shift)
    positions = [header.index(name) + shift for name in wanted]
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep=sep,
            header=None,
            names=list(range(width)),
            usecols=positions,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
            engine="c",
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise InputError(
            f"cannot split the file into columns: {exc}",
            file=p, fix="check the delimiter and quoting of the file",
        ) from exc
    if len(frame) != len(raw_lines):
        # Only quoted fields spanning lines get here; line numbers would be wrong.
        raise InputError(
            "a quoted field spans several lines",
            file=p, fix="remove line breaks inside quoted cells",
        )
    frame = frame[positions]
    frame.columns = wanted
    lines = header_line + 1 + np.arange(len(frame), dtype=np.int64)
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]
    return TextTable(p, header, header_line, frame, lines)


def require_rows(table: TextTable, what: str) -> None:
    if len(table.frame) == 0:
        raise InputError(
            f"no {what} after the header", file=table.path, line=table.header_line,
            fix="the file holds only a header; re-export it or check the caller's log",
        )


def column_key(name: str) -> str:
    """Column-name key that ignores case, spaces, dots, underscores and quotes."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_column(
    table: TextTable,
    spellings: Sequence[str],
    *,
    required: bool = False,
    what: str = "",
) -> str | None:
    """The header name matching the first of ``spellings`` present (by :func:`column_key`)."""
    by_key: dict[str, str] = {}
    for name in table.header:
        by_key.setdefault(column_key(name), name)
    for spelling in spellings:
        if column_key(spelling) in by_key:
            return by_key[column_key(spelling)]
    if required:
        raise InputError(
            f"no '{spellings[0]}' column ({what})" if what else f"no '{spellings[0]}' column",
            file=table.path, line=table.header_line, column=spellings[0],
            expected="a header with a column named one of: "
            + ", ".join(f"'{s}'" for s in spellings),
            fix="rename the column in the header or give the file in the format it claims",
        )
    return None


def column_cells(table: TextTable, column: str) -> pd.Series:
    return table.frame[column].str.strip()


def raise_bad_value(table: TextTable, column: str, position: int, value: str, expected: str,
                    problem: str | None = None, fix: str | None = None) -> NoReturn:
    if fix is None and "," in value and re.fullmatch(r"-?\d+,\d+", value):
        fix = "use '.' as the decimal separator (the file looks like a spreadsheet export)"
    raise InputError(
        problem or f"'{value}' is not a number",
        file=table.path, line=table.line_of(position), column=column,
        expected=expected,
        fix=fix or "correct the value or remove the row",
    )


def to_float(table: TextTable, column: str, *, allow_missing: bool = True,
             finite: bool = False, expected: str = "a decimal number such as -0.42",
             problem: Callable[[str], str] | None = None,
             fix: Callable[[str], str | None] | None = None) -> np.ndarray:
    """Parse a column as float64; missing markers -> NaN; anything else non-numeric raises.

    ``finite`` refuses infinities too; ``expected``, ``problem`` and ``fix`` (the last two
    functions of the offending cell) word the error for the reader's column.
    """
    cells = column_cells(table, column)
    missing = cells.isin(MISSING_CELLS).to_numpy()
    values = pd.to_numeric(cells.where(~missing), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & ~missing
    if finite:
        bad |= np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        cell = str(cells.iloc[i])
        raise_bad_value(table, column, i, cell, expected,
                        problem=problem(cell) if problem else None,
                        fix=fix(cell) if fix else None)
    if not allow_missing and missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise_bad_value(table, column, i, cells.iloc[i], "a number",
                        problem="value is missing")
    return values


def to_int(table: TextTable, column: str, *, allow_missing: bool = False,
           minimum: int | None = None) -> np.ndarray:
    """Parse a column of whole numbers (``8.7E+07`` as TCGA writes them is accepted).

    Returns float64 so that missing values stay NaN; every non-NaN value is integral.
    """
    cells = column_cells(table, column)
    values = to_float(table, column, allow_missing=allow_missing)
    finite = ~np.isnan(values)
    frac = finite & (values != np.floor(np.where(finite, values, 0)))
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise_bad_value(table, column, i, cells.iloc[i], "a whole number",
                        problem=f"'{cells.iloc[i]}' is not a whole number")
    if minimum is not None:
        low = finite & (values < minimum)
        if low.any():
            i = int(np.flatnonzero(low)[0])
            raise_bad_value(table, column, i, cells.iloc[i], f"a whole number >= {minimum}",
                            problem=f"{cells.iloc[i]} is below {minimum}")
    return values


# ---------------------------------------------------------------------------------------------
# Wide matrices read column by column (expression, methylation)
# ---------------------------------------------------------------------------------------------

PARQUET_MAGIC = b"PAR1"
#: Lines before the header starting with these are skipped: GEO series-matrix metadata
#: ('!Series_title ...') and comment lines.
PREAMBLE_PREFIXES = ("!", "#")
#: GEO series matrix files end their table with this line.
GEO_TABLE_END = "!series_matrix_table_end"
#: Cell texts read as missing values (pyarrow's defaults, which cover R's NA and pandas' NaN).
MISSING_TEXTS = frozenset(pacsv.ConvertOptions().null_values)


@dataclass
class MatrixFile:
    """A table file read column by column: delimited text (plain or gzip) or Parquet.

    ``names`` has one entry per field of a data row. A header one field shorter than the data
    rows (R's ``write.table`` with row names) gets an empty name for the row-name column.
    """

    path: Path
    kind: str  # 'text' or 'parquet'
    names: list[str]
    is_gzip: bool = False
    sep: str = "\t"
    header_line: int = 1
    geo_series_matrix: bool = False
    _parquet_columns: list[str] = field(default_factory=list)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, what: str) -> MatrixFile:
        """Inspect the header of ``path``; ``what`` names the expected content for messages."""
        p = check_file(path)
        magic = file_head(p, 4)
        if magic == PARQUET_MAGIC:
            return cls._open_parquet(p)
        is_gzip = magic[:2] == GZIP_MAGIC
        check_gz_name(p, is_gzip)
        if not is_gzip and p.suffix.lower() == ".parquet":
            raise InputError("file ends in .parquet but is not a Parquet file", file=p,
                             fix="re-export it, or name it .tsv/.csv if it is text")
        header: tuple[int, str] | None = None
        first_data: tuple[int, str] | None = None
        geo = False
        for number, text in numbered_lines(p, gz=is_gzip):
            if header is None:
                if not text.strip():
                    continue
                if text.startswith(PREAMBLE_PREFIXES):
                    geo = geo or text.startswith("!Series_")
                    continue
                header = (number, text)
                continue
            if text.strip():
                first_data = (number, text)
                break
        if header is None:
            raise InputError("file has no header line", file=p,
                             expected=f"a header line naming the columns of {what}")
        if first_data is None:
            raise InputError("file has a header but no data rows", file=p,
                             line=header[0], expected=what)
        sample_text = header[1] + first_data[1]
        if "\t" in sample_text:
            sep = "\t"
        elif "," in sample_text:
            sep = ","
        else:
            raise InputError(
                "no tab or comma separating columns in the header and first data line",
                file=p, line=header[0], expected=f"a tab- or comma-separated table of {what}",
                fix="save the table as TSV or CSV (tab or comma separated; semicolon-separated "
                "exports are not read)",
            )
        names = [n.strip() for n in split_fields(header[1], sep)]
        n_data = len(split_fields(first_data[1], sep))
        if n_data == len(names) + 1:
            names = ["", *names]
        elif n_data != len(names):
            raise InputError(
                f"data line has {n_data} fields but the header (line {header[0]}) has "
                f"{len(names)}",
                file=p, line=first_data[0], expected="one field per header column",
                fix="check the separator and that the header names every column",
            )
        return cls(path=p, kind="text", names=names, is_gzip=is_gzip, sep=sep,
                   header_line=header[0], geo_series_matrix=geo)

    @classmethod
    def _open_parquet(cls, p: Path) -> MatrixFile:
        try:
            schema = pq.read_schema(p)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"file is not a readable Parquet file: {exc}", file=p,
                             fix="re-export or re-copy the file") from exc
        columns = list(schema.names)
        index_cols: list[str] = []
        meta = schema.pandas_metadata or {}
        for col in meta.get("index_columns", []):
            if isinstance(col, str) and col in columns:
                index_cols.append(col)
        # A pandas index (probe or gene ids) comes first, as the row names of a text matrix.
        ordered = index_cols + [c for c in columns if c not in index_cols]
        names = ["" if c.startswith("__index_level_") else c for c in ordered]
        return cls(path=p, kind="parquet", names=names, _parquet_columns=ordered)

    # -- reading ---------------------------------------------------------------------------

    def read(self, columns: Sequence[int], *, numeric: Collection[int] = ()) -> pd.DataFrame:
        """Columns ``columns`` (indices into :attr:`names`) as a DataFrame keyed by index.

        Numeric columns come back as float64 (missing cells as NaN), the others as strings.
        Non-numeric text in a numeric column raises InputError naming line and column.
        """
        if self.kind == "parquet":
            return self._read_parquet(columns, numeric)
        return self._read_text(columns, numeric)

    def _read_text(self, columns: Sequence[int], numeric: Collection[int]) -> pd.DataFrame:
        keys = [f"f{i}" for i in range(len(self.names))]

        def on_bad_row(row: pacsv.InvalidRow) -> str:
            return "skip" if row.text.strip().lower() == GEO_TABLE_END else "error"

        convert = pacsv.ConvertOptions(
            include_columns=[keys[i] for i in columns],
            column_types={keys[i]: (pa.float64() if i in numeric else pa.string())
                          for i in columns},
            strings_can_be_null=False,
        )
        try:
            source = pa.input_stream(str(self.path),
                                     compression="gzip" if self.is_gzip else None)
            table = pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(column_names=keys, skip_rows=self.header_line,
                                               block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=self.sep,
                                                 invalid_row_handler=on_bad_row),
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            raise self._diagnose(numeric, exc) from exc
        except OSError as exc:
            if self.is_gzip:
                raise gzip_error(self.path, str(exc)) from exc
            raise InputError(f"file cannot be read: {exc}", file=self.path) from exc
        out = table.to_pandas()
        out.columns = [int(k[1:]) for k in out.columns]
        return out[list(columns)]

    def _read_parquet(self, columns: Sequence[int], numeric: Collection[int]) -> pd.DataFrame:
        wanted = [self._parquet_columns[i] for i in columns]
        try:
            table = pq.read_table(self.path, columns=wanted)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"Parquet file cannot be read: {exc}", file=self.path,
                             fix="re-export or re-copy the file") from exc
        out = {}
        for i, name in zip(columns, wanted, strict=True):
            col = table.column(name)
            if i in numeric:
                if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
                    out[i] = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
                    continue
                text = pd.Series(col.to_pandas(), dtype="str")
                values = pd.to_numeric(text, errors="coerce")
                bad = values.isna() & text.notna() & ~text.isin(MISSING_TEXTS)
                if bad.any():
                    row = int(np.flatnonzero(bad.to_numpy())[0])
                    raise self.row_error(row, f"'{text.iloc[row]}' is not a number",
                                         column=self.names[i], expected="a number")
                out[i] = values.to_numpy(dtype="float64")
            else:
                out[i] = pd.Series(col.to_pandas(), dtype="str").to_numpy()
        return pd.DataFrame(out)

    # -- locating rows for messages --------------------------------------------------------

    def _data_lines(self) -> Iterator[tuple[int, str]]:
        """Numbered data lines as pyarrow counts rows: after the header, blank lines skipped."""
        for number, text in numbered_lines(self.path, gz=self.is_gzip):
            if number <= self.header_line or not text:
                continue
            if text.strip().lower() == GEO_TABLE_END:
                continue
            yield number, text

    def line_of(self, row: int) -> int | None:
        """1-based file line of data row ``row`` (0-based), ``None`` for Parquet."""
        if self.kind == "parquet":
            return None
        for i, (number, _) in enumerate(self._data_lines()):
            if i == row:
                return number
        return None

    def row_error(self, row: int, problem: str, *, column: str | None = None,
                  expected: str | None = None, fix: str | None = None) -> InputError:
        """InputError for data row ``row``: with its line for text, 'row N' for Parquet."""
        line = self.line_of(row)
        if line is None:
            problem = f"row {row + 1}: {problem}"
        return InputError(problem, file=self.path, line=line, column=column,
                          expected=expected, fix=fix)

    def _diagnose(self, numeric: Collection[int], exc: Exception) -> InputError:
        """Find the line pyarrow refused (slow path, only run when reading failed)."""
        width = len(self.names)
        for number, text in self._data_lines():
            fields = split_fields(text, self.sep)
            if len(fields) != width:
                return InputError(
                    f"line has {len(fields)} fields but the header has {width}",
                    file=self.path, line=number, expected="one field per header column",
                    fix="check for a truncated line, a stray separator or an unquoted "
                    "separator inside a name",
                )
            for i in numeric:
                cell = fields[i].strip()
                if cell in MISSING_TEXTS:
                    continue
                try:
                    float(cell)
                except ValueError:
                    return InputError(f"'{fields[i]}' is not a number", file=self.path,
                                      line=number, column=self.names[i] or None,
                                      expected="a number")
        return InputError(f"table cannot be read: {exc}", file=self.path,
                          fix="check that the file is a complete TSV/CSV table")

    # -- samples ---------------------------------------------------------------------------

    def choose_column(self, samples: list[str], sample: str | None) -> int:
        """Index in :attr:`names` of the sample column to read (reader convention).

        ``samples`` are the names of the columns that hold samples.
        """
        if not samples:
            raise InputError("file has no sample columns", file=self.path,
                             line=self.header_line,
                             expected="one column per sample after the identifier column(s)")
        chosen = choose_sample(samples, sample, file=self.path, line=self.header_line,
                               name_in_file="the sample's column name")
        matches = [i for i, n in enumerate(self.names) if n == chosen]
        if len(matches) > 1:
            raise InputError(f"sample column '{chosen}' appears {len(matches)} times in the "
                             "header", file=self.path, line=self.header_line,
                             fix="give every sample column a unique name")
        return matches[0]

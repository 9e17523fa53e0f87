"""Readers of outcome records: the tumorboard registry template and cBioPortal timelines.

The **template** (docs/outcomes.md) is one Excel workbook with a sheet per table, or one
CSV/TSV file per table named after it (``lines.csv``, ``events.tsv``, ...). Tables and their
columns are :data:`TEMPLATE`; every table is optional, column order is free, names are
matched ignoring case, spaces and underscores. Dates are ISO 8601 (``2024-03-31``) or Excel
date cells; day-first or month-first dates such as ``03/04/2024`` are refused because they
are ambiguous.

**cBioPortal timelines** (``data_timeline_*.txt``, as ``tumorboard export cbioportal`` also
writes them; cBioPortal file formats, "Timeline Data":
https://docs.cbioportal.org/file-formats/#timeline-data) give ``START_DATE``/``STOP_DATE``
as whole days relative to an anchor the study chooses, usually the diagnosis; the reader
turns them into dates from an anchor date per patient. Read: ``EVENT_TYPE`` TREATMENT
(therapy lines, with ``TREATMENT_TYPE``, ``SUBTYPE``, ``AGENT``), STATUS / PROGRESSION /
RELAPSE / DEATH (clinical events, from ``STATUS`` or the event type) and SURGERY /
RADIATION (local therapies when ``SITE`` says lung or another organ).

Readers return validated tidy tables (:class:`OutcomeRecords`); they check each value once
and name file, line (sheet row) and column of anything wrong. Checks across tables (dates
after death, lines overlapping) are in :func:`tumorboard.outcomes.records.validate`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.errors import InputError
from tumorboard.io._files import check_file
from tumorboard.io._tabular import (
    MISSING_CELLS,
    TextTable,
    column_cells,
    column_key,
    find_column,
    parse_table,
)

#: Therapy modalities of sarcoma and DSRCT care. ``SYSTEMIC`` ones are comparators for the
#: PFS ratio; the others are local.
SYSTEMIC_MODALITIES = (
    "chemotherapy",                   # multi-agent (e.g. P6, VDC/IE, VAC, doxorubicin-based)
    "high_dose_chemotherapy_asct",    # high-dose chemotherapy with autologous stem-cell rescue
    "maintenance",                    # e.g. vinorelbine/cyclophosphamide maintenance
    "targeted_therapy",               # kinase inhibitors (pazopanib, ...)
    "antibody_drug_conjugate",        # e.g. trastuzumab deruxtecan
    "immunotherapy",                  # checkpoint inhibitors
    "cellular_therapy",               # TCR-T, CAR-T
    "radionuclide_therapy",           # e.g. 177Lu-DOTATATE for SSTR-positive tumours
    "other_systemic",
)
LOCAL_MODALITIES = (
    "surgery",
    "cytoreductive_surgery_hipec",    # cytoreduction with hyperthermic intraperitoneal chemo
    "radiotherapy",
    "proton_therapy",
    "whole_abdominopelvic_radiotherapy",
    "thermal_ablation",               # radiofrequency, microwave, cryoablation
    "other_local",
)
MODALITIES = SYSTEMIC_MODALITIES + LOCAL_MODALITIES
INTENTS = ("curative", "palliative", "neoadjuvant", "adjuvant", "maintenance",
           "consolidation", "unknown")
STOP_REASONS = ("progression", "toxicity", "completed", "death", "patient_choice", "other")
LAT_MODALITIES = ("surgery", "radiotherapy", "thermal_ablation", "other")
LAT_SITES = ("lung", "extrapulmonary")
EVENT_KINDS = ("progression", "recurrence", "death", "last_followup")
LESION_KINDS = ("target", "non_target", "new")


@dataclass(frozen=True)
class Column:
    """One template column: name, parser kind, whether required, allowed values."""

    name: str
    kind: str  # 'str', 'date', 'int', 'float', 'bool', 'choice', 'list'
    required: bool = False
    choices: tuple[str, ...] = ()
    spellings: tuple[str, ...] = ()


#: The template's tables and columns (docs/outcomes.md documents each).
TEMPLATE: dict[str, tuple[Column, ...]] = {
    "patients": (
        Column("patient", "str", True, spellings=("patient_id", "pseudonym")),
        Column("sex", "choice", True, ("female", "male", "other", "unknown")),
        Column("year_of_birth", "int"),
        Column("histology", "str", True),
        Column("oncotree_code", "str", True),
        Column("diagnosis_date", "date"),
    ),
    "lines": (
        Column("patient", "str", True, spellings=("patient_id",)),
        Column("line", "int", True, spellings=("line_number",)),
        Column("regimen", "str", True),
        Column("agents", "list"),
        Column("modality", "choice", True, MODALITIES),
        Column("intent", "choice", False, INTENTS),
        Column("start", "date", True, spellings=("start_date",)),
        Column("stop", "date", spellings=("stop_date",)),
        Column("stop_reason", "choice", False, STOP_REASONS),
        Column("progression", "date", spellings=("progression_date",)),
        Column("recommendation_id", "int"),
        Column("mtb_guided", "bool"),
    ),
    "local_therapies": (
        Column("patient", "str", True, spellings=("patient_id",)),
        Column("date", "date", True, spellings=("therapy_date",)),
        Column("modality", "choice", True, LAT_MODALITIES),
        Column("technique", "str"),
        Column("site", "choice", True, LAT_SITES),
        Column("organ", "str"),
        Column("lesion_count", "int", True, spellings=("lesions",)),
        Column("largest_diameter_mm", "float", spellings=("largest_diameter",)),
        Column("dose_per_fraction_gy", "float", spellings=("dose_per_fraction",)),
        Column("fractions", "int"),
        Column("with_systemic", "bool"),
    ),
    "recist": (
        Column("patient", "str", True, spellings=("patient_id",)),
        Column("assessment_date", "date", True, spellings=("date",)),
        Column("lesion_id", "str", True, spellings=("lesion",)),
        Column("kind", "choice", True, LESION_KINDS),
        Column("site", "str"),
        Column("lymph_node", "bool"),
        Column("diameter_mm", "float", spellings=("diameter",)),
        Column("status", "str"),
        Column("line", "int", spellings=("line_number",)),
    ),
    "events": (
        Column("patient", "str", True, spellings=("patient_id",)),
        Column("date", "date", True, spellings=("event_date",)),
        Column("kind", "choice", True, EVENT_KINDS, spellings=("event",)),
        Column("detail", "str"),
    ),
    "plasma": (
        Column("patient", "str", True, spellings=("patient_id",)),
        Column("sample", "str", True, spellings=("sample_id", "plasma_sample")),
        Column("collected", "date", True, spellings=("collection_date", "date")),
        Column("variant", "str", True),
        Column("alt_reads", "int", True, spellings=("alt", "alt_count")),
        Column("depth", "int", True, spellings=("total_reads", "coverage")),
        Column("tumour_vaf", "float", spellings=("tumor_vaf",)),
        Column("background_error", "float"),
    ),
}

_TRUE = frozenset({"yes", "y", "true", "1", "ja", "x"})
_FALSE = frozenset({"no", "n", "false", "0", "nein"})
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class OutcomeRecords:
    """Validated outcome tables keyed by template table name, and where each came from."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, empty_records(name))

    def counts(self) -> dict[str, int]:
        return {name: len(df) for name, df in self.tables.items()}

    def patients(self) -> set[str]:
        return {p for df in self.tables.values() for p in df["patient"]}


def empty_records(name: str) -> pd.DataFrame:
    """An empty table of the template's columns (with their dtypes)."""
    return typed_records(pd.DataFrame({c.name: pd.Series(dtype=object) for c in TEMPLATE[name]}),
                  name)


def typed_records(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """``df`` with the template table's date columns as datetime64 and number columns as float64
    (missing values NaT / NaN), in place; for readers and for rows built in code."""
    for c in TEMPLATE[name]:
        if c.kind == "date":
            df[c.name] = pd.to_datetime(df[c.name])
        elif c.kind in ("int", "float"):
            df[c.name] = pd.to_numeric(df[c.name]).astype("float64")
    return df


# ------------------------------------------------------------------------------ template


def read_template(paths: Sequence[str | Path]) -> OutcomeRecords:
    """Read the template from an Excel workbook and/or CSV/TSV files named after tables.

    Raises
    ------
    InputError
        Unknown table name, missing required column, unparseable or disallowed value
        (file, line and column named), a table given twice.
    """
    records = OutcomeRecords()
    for path in paths:
        p = check_file(path)
        if p.suffix.lower() in (".xlsx", ".xlsm"):
            for sheet, table in _excel_tables(p):
                name = _table_name(sheet, p, sheets=True)
                if name is None:
                    continue
                _add(records, name, _parse(table, name), str(table.path))
        else:
            name = _table_name(_stem(p), p, sheets=False)
            text = p.read_text(encoding="utf-8-sig")
            table = parse_table(p, text)
            _add(records, name, _parse(table, name), str(p))
    return records


def _stem(p: Path) -> str:
    name = p.name.lower()
    for suffix in (".csv", ".tsv", ".txt"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return p.stem.lower()


def _table_name(label: str, p: Path, *, sheets: bool) -> str | None:
    key = column_key(label)
    for name in TEMPLATE:
        if column_key(name) == key:
            return name
    if sheets and key in ("readme", "instructions", "help"):
        return None
    raise InputError(
        f"'{label}' is not a table of the outcomes template", file=p,
        expected="one of: " + ", ".join(TEMPLATE),
        fix=("rename the sheet" if sheets else "name the file after its table, e.g. "
             "lines.csv") + " (docs/outcomes.md lists the tables)",
    )


def _add(records: OutcomeRecords, name: str, df: pd.DataFrame, source: str) -> None:
    if name in records.tables:
        raise InputError(f"table '{name}' is given twice ({records.sources[name]} and "
                         f"{source})", file=source, fix="give each table once")
    records.tables[name] = df
    records.sources[name] = source


def _excel_tables(p: Path) -> list[tuple[str, TextTable]]:
    """Every sheet of a workbook as a :class:`TextTable` whose lines are the sheet's rows."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError on broken files
        raise InputError(f"cannot open the workbook: {exc}", file=p,
                         fix="save it again as .xlsx from Excel or LibreOffice") from exc
    out = []
    try:
        for ws in book.worksheets:
            rows = [(i, row) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)
                    if any(v is not None and str(v).strip() for v in row)]
            if not rows:
                continue
            header_line, header_cells = rows[0]
            header = [str(v).strip() if v is not None else "" for v in header_cells]
            while header and header[-1] == "":
                header.pop()
            cells = {h: [_excel_cell(r[j] if j < len(r) else None) for _, r in rows[1:]]
                     for j, h in enumerate(header) if h}
            frame = pd.DataFrame(cells, dtype=object)
            lines = np.array([i for i, _ in rows[1:]], dtype=np.int64)
            out.append((ws.title, TextTable(Path(f"{p}[{ws.title}]"), header, header_line,
                                            frame, lines)))
    finally:
        book.close()
    return out


def _excel_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _parse(table: TextTable, name: str) -> pd.DataFrame:
    out: dict[str, Any] = {}
    for col in TEMPLATE[name]:
        header = find_column(table, (col.name, *col.spellings), required=col.required,
                             what=f"table '{name}'")
        if header is None:
            out[col.name] = [None] * len(table.frame)
            continue
        out[col.name] = _PARSERS[col.kind](table, header, col)
    df = pd.DataFrame(out)
    df.insert(0, "source_line", table.lines.astype(np.int64))
    return typed_records(df, name)


def _cells(table: TextTable, header: str, col: Column) -> tuple[pd.Series, np.ndarray]:
    cells = column_cells(table, header).astype(str)
    missing = cells.isin(MISSING_CELLS).to_numpy()
    if col.required and missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError("value is missing", file=table.path, line=table.line_of(i),
                         column=header, fix=f"fill in '{col.name}' (a required column)")
    return cells, missing


def _bad(table: TextTable, header: str, i: int, value: str, expected: str,
         fix: str = "correct the value") -> InputError:
    return InputError(f"'{value}' is not valid here", file=table.path, line=table.line_of(i),
                      column=header, expected=expected, fix=fix)


def _parse_str(table: TextTable, header: str, col: Column) -> list[str | None]:
    cells, missing = _cells(table, header, col)
    return [None if m else v for v, m in zip(cells, missing, strict=True)]


def _parse_list(table: TextTable, header: str, col: Column) -> list[list[str]]:
    cells, missing = _cells(table, header, col)
    return [[] if m else [a.strip() for a in re.split(r"[;+]", v) if a.strip()]
            for v, m in zip(cells, missing, strict=True)]


def _parse_date(table: TextTable, header: str, col: Column) -> list[dt.date | None]:
    cells, missing = _cells(table, header, col)
    out: list[dt.date | None] = []
    for i, (v, m) in enumerate(zip(cells, missing, strict=True)):
        if m:
            out.append(None)
            continue
        text = v[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", v) else v
        try:
            if not _ISO.match(text):
                raise ValueError
            out.append(dt.date.fromisoformat(text))
        except ValueError:
            raise _bad(table, header, i, v, "an ISO 8601 date such as 2024-03-31",
                       fix="write dates as YYYY-MM-DD (day/month orders are ambiguous)"
                       ) from None
    return out


def _parse_number(table: TextTable, header: str, col: Column) -> list[float | None]:
    cells, missing = _cells(table, header, col)
    values = pd.to_numeric(cells.where(~missing), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & ~missing
    if col.kind == "int":
        bad |= ~np.isnan(values) & (values != np.round(values))
    bad |= ~np.isnan(values) & (values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _bad(table, header, i, cells.iloc[i],
                   "a whole number >= 0" if col.kind == "int" else "a number >= 0")
    return [None if np.isnan(x) else float(x) for x in values]


def _parse_bool(table: TextTable, header: str, col: Column) -> list[bool | None]:
    cells, missing = _cells(table, header, col)
    out: list[bool | None] = []
    for i, (v, m) in enumerate(zip(cells, missing, strict=True)):
        key = v.strip().lower()
        if m:
            out.append(None)
        elif key in _TRUE:
            out.append(True)
        elif key in _FALSE:
            out.append(False)
        else:
            raise _bad(table, header, i, v, "yes or no")
    return out


def _parse_choice(table: TextTable, header: str, col: Column) -> list[str | None]:
    cells, missing = _cells(table, header, col)
    allowed = {column_key(c): c for c in col.choices}
    out: list[str | None] = []
    for i, (v, m) in enumerate(zip(cells, missing, strict=True)):
        if m:
            out.append(None)
            continue
        c = allowed.get(column_key(v))
        if c is None:
            raise _bad(table, header, i, v, "one of: " + ", ".join(col.choices))
        out.append(c)
    return out


_PARSERS: Mapping[str, Callable[[TextTable, str, Column], list[Any]]] = {
    "str": _parse_str, "list": _parse_list, "date": _parse_date, "int": _parse_number,
    "float": _parse_number, "bool": _parse_bool, "choice": _parse_choice,
}


# ------------------------------------------------------------------------------ cBioPortal

#: cBioPortal TREATMENT_TYPE / SUBTYPE words -> our modality (lower-cased substrings,
#: first match wins).
_CBIO_MODALITY = (
    ("stem cell", "high_dose_chemotherapy_asct"), ("high dose", "high_dose_chemotherapy_asct"),
    ("hipec", "cytoreductive_surgery_hipec"), ("proton", "proton_therapy"),
    ("radiation", "radiotherapy"), ("radiotherapy", "radiotherapy"),
    ("immuno", "immunotherapy"), ("targeted", "targeted_therapy"),
    ("maintenance", "maintenance"), ("chemo", "chemotherapy"), ("surgery", "surgery"),
    ("ablation", "thermal_ablation"), ("antibody", "antibody_drug_conjugate"),
    ("radionuclide", "radionuclide_therapy"), ("cellular", "cellular_therapy"),
)


def read_cbioportal_timeline(paths: Sequence[str | Path],
                             anchors: Mapping[str, dt.date]) -> OutcomeRecords:
    """Therapy lines, clinical events and local therapies from cBioPortal timeline files.

    ``anchors`` maps PATIENT_ID to the date that day 0 stands for (the registry's diagnosis
    date unless the study says otherwise). Treatments become lines numbered in start order;
    a progression event between a line's start and the next line's start is that line's
    progression.

    Raises
    ------
    InputError
        Missing PATIENT_ID/START_DATE/EVENT_TYPE column, non-integer day, no anchor for a
        patient (line and column named).
    """
    lines: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    lat: list[dict[str, Any]] = []
    sources = []
    for path in paths:
        p = check_file(path)
        sources.append(str(p))
        table = parse_table(p, p.read_text(encoding="utf-8-sig"), sep="\t")
        pid = find_column(table, ("PATIENT_ID",), required=True, what="cBioPortal timeline")
        start = find_column(table, ("START_DATE",), required=True, what="cBioPortal timeline")
        kind = find_column(table, ("EVENT_TYPE",), required=True, what="cBioPortal timeline")
        stop = find_column(table, ("STOP_DATE",))
        extra = {k: find_column(table, (k,)) for k in
                 ("TREATMENT_TYPE", "SUBTYPE", "AGENT", "STATUS", "SITE", "STOP_REASON")}
        f = table.frame
        for i in range(len(f)):
            patient = f[pid].iloc[i].strip()
            if patient not in anchors:
                raise InputError(f"no anchor date for patient '{patient}'", file=p,
                                 line=table.line_of(i), column=pid,
                                 fix="record the patient's diagnosis date in the registry, "
                                     "or give --anchor-date")
            day0 = anchors[patient]
            begin = day0 + dt.timedelta(days=_day(table, start, i))
            end = (day0 + dt.timedelta(days=_day(table, stop, i))
                   if stop and f[stop].iloc[i].strip() not in MISSING_CELLS else None)
            if end is not None and end < begin:
                raise InputError("STOP_DATE is before START_DATE", file=p,
                                 line=table.line_of(i), column=stop,
                                 fix="correct the days or swap them")
            ev = f[kind].iloc[i].strip().upper()
            get = {k: (f[c].iloc[i].strip() if c else "") for k, c in extra.items()}
            if ev == "TREATMENT":
                words = f"{get['TREATMENT_TYPE']} {get['SUBTYPE']}".lower()
                exact = get["SUBTYPE"].strip().lower().replace(" ", "_")
                modality = exact if exact in MODALITIES else next(
                    (m for w, m in _CBIO_MODALITY if w in words), "other_systemic")
                agents = [a.strip() for a in re.split(r"[;,+/]", get["AGENT"]) if a.strip()]
                lines.append({"patient": patient, "regimen": get["AGENT"] or words.strip()
                              or "treatment", "agents": agents, "modality": modality,
                              "start": begin, "stop": end,
                              "stop_reason": _stop_reason(get["STOP_REASON"]),
                              "source_line": table.line_of(i)})
            elif ev in ("SURGERY", "RADIATION", "RADIOTHERAPY"):
                site = "lung" if "lung" in get["SITE"].lower() else "extrapulmonary"
                lat.append({"patient": patient, "date": begin,
                            "modality": "surgery" if ev == "SURGERY" else "radiotherapy",
                            "technique": get["SUBTYPE"] or None, "site": site,
                            "organ": get["SITE"] or None, "lesion_count": 1.0,
                            "source_line": table.line_of(i)})
            else:
                word = (get["STATUS"] or ev).lower()
                k = next((k for k in ("death", "progression", "recurrence") if k in word
                          or (k == "death" and ("dead" in word or "deceased" in word))
                          or (k == "recurrence" and "relapse" in word)), None)
                if k is None and ("alive" in word or "follow" in word):
                    k = "last_followup"
                if k is not None:
                    events.append({"patient": patient, "date": begin, "kind": k,
                                   "detail": get["STATUS"] or ev,
                                   "source_line": table.line_of(i)})
    records = OutcomeRecords()
    source = ", ".join(sources)
    if lines:
        df = pd.DataFrame(lines).sort_values(["patient", "start"], kind="stable")
        df["line"] = df.groupby("patient").cumcount().astype(float) + 1
        ev = pd.DataFrame(events) if events else pd.DataFrame(
            columns=["patient", "date", "kind"])
        df["progression"] = [_progression_of(r, df, ev) for r in df.itertuples()]
        records.tables["lines"] = _complete(df, "lines")
        records.sources["lines"] = source
    if events:
        records.tables["events"] = _complete(pd.DataFrame(events), "events")
        records.sources["events"] = source
    if lat:
        records.tables["local_therapies"] = _complete(pd.DataFrame(lat), "local_therapies")
        records.sources["local_therapies"] = source
    return records


def _day(table: TextTable, column: str, i: int) -> int:
    v = table.frame[column].iloc[i].strip()
    try:
        return int(v)
    except ValueError:
        raise InputError(f"'{v}' is not a whole number of days", file=table.path,
                         line=table.line_of(i), column=column,
                         expected="days relative to the study's anchor, e.g. -30 or 412",
                         fix="cBioPortal timelines count days, not dates") from None


def _stop_reason(text: str) -> str | None:
    t = text.lower()
    return next((r for r in STOP_REASONS if r.split("_")[0] in t), None) if t else None


def _progression_of(row: Any, lines: pd.DataFrame, events: pd.DataFrame) -> dt.date | None:
    mine = lines[(lines["patient"] == row.patient) & (lines["start"] > row.start)]
    until = mine["start"].min() if len(mine) else dt.date.max
    prog = events[(events["patient"] == row.patient) & (events["kind"] == "progression")]
    dates = sorted(d for d in prog["date"] if row.start <= d < until) if len(prog) else []
    return dates[0] if dates else None


def _complete(df: pd.DataFrame, name: str) -> pd.DataFrame:
    for c in TEMPLATE[name]:
        if c.name not in df:
            df[c.name] = [[] for _ in range(len(df))] if c.kind == "list" else None
    cols = ["source_line"] + [c.name for c in TEMPLATE[name]]
    return typed_records(df[cols].reset_index(drop=True), name)


# ------------------------------------------------------------------------------ blank template

_KIND_TEXT = {"str": "text", "list": "list separated by ';'", "date": "date YYYY-MM-DD",
              "int": "whole number", "float": "number", "bool": "yes / no", "choice": "one of"}


def write_template(out_dir: str | Path) -> dict[str, Path]:
    """Write a blank template: one workbook (a sheet per table and a README sheet that lists
    every column, whether it is required and its allowed values) and one CSV per table with
    the header only. Returns the paths written."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    out = Path(out_dir)
    (out / "csv").mkdir(parents=True, exist_ok=True)
    book = Workbook()
    readme = book.active
    readme.title = "README"
    readme.append(["table", "column", "required", "type", "allowed values"])
    for cell in readme[1]:
        cell.font = Font(bold=True)
    paths: dict[str, Path] = {}
    for name, cols in TEMPLATE.items():
        sheet = book.create_sheet(name)
        sheet.append([c.name for c in cols])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for c in cols:
            readme.append([name, c.name, "yes" if c.required else "no", _KIND_TEXT[c.kind],
                           ", ".join(c.choices)])
        csv_path = out / "csv" / f"{name}.csv"
        csv_path.write_text(",".join(c.name for c in cols) + "\n", encoding="utf-8")
        paths[name] = csv_path
    xlsx = out / "tumorboard-outcomes-template.xlsx"
    book.save(xlsx)
    paths["workbook"] = xlsx
    return paths

"""Reader of drug screens on patient-derived models (organoids, spheroids, explants).

A screen is a long table, one row per well (or per measurement): the model, the plate and
well, the drug and its concentration, the well's role (treatment or plate control), the
replicate and the readout, either the raw ``signal`` (luminescence of CellTiter-Glo,
fluorescence, absorbance, ...) with the plate's own negative (vehicle) and positive (kill)
controls, or a ``viability`` the lab has already normalised to vehicle. The reader validates
the table once and returns the ``drug_screen`` store table
(:data:`tumorboard.io.tables.TABLES`): concentrations in micromolar, drug names canonical
(:func:`tumorboard.knowledge.drugs.canonical_combination`, the name as given kept beside it),
controls named ``vehicle`` / ``positive control``. Normalisation, plate QC (Z'-factor) and
curve fitting are the layer's work (:mod:`tumorboard.layers.drugscreen`), not the reader's.

The column names and aliases, the role words and the units are tumorboard's own format,
documented in ``docs/formats.md`` ("Drug screens"). They follow the words screening labs use
in their plate-reader exports and in the long tables of published screens (e.g. the
per-well layout of the Genomics of Drug Sensitivity in Cancer raw data, Iorio et al., Cell
2016, doi:10.1016/j.cell.2016.06.017; the plate-control design of Zhang, Chung & Oldenburg,
J Biomol Screen 1999, doi:10.1177/108705719900400206).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.errors import InputError
from tumorboard.io._files import check_file, listing, plural, read_text
from tumorboard.io._tabular import (
    MISSING_CELLS,
    TextTable,
    column_cells,
    column_key,
    parse_table,
    raise_bad_value,
    to_float,
    to_int,
)
from tumorboard.io.tables import LayerData, conform
from tumorboard.knowledge.drugs import canonical_combination, canonical_drug

__all__ = [
    "COLUMNS",
    "MODEL_TYPES",
    "NEGATIVE_CONTROL_DRUGS",
    "POSITIVE_CONTROL_DRUGS",
    "ROLE_WORDS",
    "UNITS_TO_UM",
    "read_drug_screen",
]

#: Column -> accepted header names, first found wins (matched ignoring case, spaces and
#: punctuation, with ``µ``/``μ`` read as ``u``). tumorboard's own format (issue 9 spec §1).
COLUMNS: dict[str, tuple[str, ...]] = {
    "model": ("model", "model_id", "model_name", "pdo", "pdo_id", "organoid"),
    "model_type": ("model_type", "model_kind"),
    "plate": ("plate", "plate_id", "barcode", "plate_barcode"),
    "well": ("well", "well_id", "position"),
    "drug": ("drug", "compound", "drug_name", "treatment", "agent", "compound_name"),
    "concentration": ("concentration", "conc", "dose", "concentration_um", "concentration_nm",
                      "concentration_m", "conc_um", "conc_nm", "dose_um", "dose_nm"),
    "unit": ("unit", "concentration_unit", "conc_unit", "dose_unit"),
    "role": ("role", "well_type", "content", "control", "type"),
    "replicate": ("replicate", "rep", "replicate_id"),
    "signal": ("signal", "raw", "value", "rlu", "luminescence", "fluorescence", "absorbance",
               "intensity", "counts"),
    "viability": ("viability", "viability_pct", "percent_viability", "viability_percent",
                  "normalised_viability", "normalized_viability"),
}

#: Concentration units -> factor to micromolar (SI prefixes; mol/L spellings accepted).
UNITS_TO_UM: dict[str, float] = {"M": 1e6, "mM": 1e3, "uM": 1.0, "nM": 1e-3, "pM": 1e-6}

#: Unit spellings (after :func:`_unit_key`) -> unit of :data:`UNITS_TO_UM`.
_UNIT_SPELLINGS: dict[str, str] = {
    **{key: unit for unit in UNITS_TO_UM
       for key in (unit.lower(), f"{unit[:-1].lower()}mol/l", f"{unit[:-1].lower()}moll",
                   f"{unit[:-1].lower()}mol")},
}

#: Base words of a concentration header that may carry a unit suffix ("conc_nM").
_CONCENTRATION_BASES = ("concentration", "conc", "dose")

#: Role words (lower case) -> role. tumorboard's own list of the words plate maps use.
ROLE_WORDS: dict[str, str] = {
    **dict.fromkeys(("treatment", "sample", "drug", "compound"), "treatment"),
    **dict.fromkeys(("negative", "neg", "negative_control", "neg_control", "vehicle", "dmso",
                     "untreated", "medium", "nc"), "negative_control"),
    **dict.fromkeys(("positive", "pos", "positive_control", "pos_control", "kill",
                     "max_kill", "pc"), "positive_control"),
}
ROLES = ("treatment", "negative_control", "positive_control")

#: Drugs read as vehicle (negative) controls when a file has no role column. DMSO is the
#: usual compound solvent; medium/PBS/water/untreated wells are the other common blanks.
NEGATIVE_CONTROL_DRUGS: frozenset[str] = frozenset(
    {"dmso", "vehicle", "medium", "untreated", "pbs", "water", "none", ""})
#: Drugs read as positive (maximal kill) controls when a file has no role column:
#: benzethonium chloride is the kill control of organoid screens (e.g. Driehuis et al.,
#: Nat Protoc 2020, doi:10.1038/s41596-020-0379-4), staurosporine a common alternative.
POSITIVE_CONTROL_DRUGS: frozenset[str] = frozenset(
    {"benzethonium chloride", "bzcl", "staurosporine", "positive control"})
#: The ``drug`` value written for control wells (the lab's own name stays in drug_as_given).
CONTROL_DRUG = {"negative_control": "vehicle", "positive_control": "positive control"}

#: Kinds of patient-derived model, with accepted spellings.
MODEL_TYPES: tuple[str, ...] = ("organoid", "spheroid", "explant", "cell_line_2d", "other")
_MODEL_TYPE_SPELLINGS: dict[str, str] = {
    **{t: t for t in MODEL_TYPES},
    **{f"{t}s": t for t in ("organoid", "spheroid", "explant")},
    "pdo": "organoid", "tumoroid": "organoid", "cell_line": "cell_line_2d", "2d": "cell_line_2d",
    "monolayer": "cell_line_2d",
}
DEFAULT_MODEL_TYPE = "organoid"

#: Viability scales the ``viability_scale`` option accepts.
VIABILITY_SCALES = ("percent", "fraction")
#: All viability values at or below this on the percent scale mean the lab wrote fractions
#: (vehicle wells sit near 1.0, not 100). tumorboard's own margin: fractions go a little above
#: 1 from well-to-well noise, while a real percent screen has vehicle wells near 100.
FRACTION_LIMIT = 1.5

_WELL = re.compile(r"^([A-Za-z]{1,2})0*(\d{1,3})$")
_XLSX_MAGIC = b"PK\x03\x04"


# ---------------------------------------------------------------------------------------------
# columns


def _header_key(name: str) -> str:
    """:func:`column_key` with the micro sign and Greek mu read as ``u`` ("conc (µM)")."""
    return column_key(name.replace("µ", "u").replace("μ", "u"))


def _find(table: TextTable, column: str) -> str | None:
    """The header name of ``column`` (first alias found), or ``None``."""
    by_key: dict[str, str] = {}
    for name in table.header:
        by_key.setdefault(_header_key(name), name)
    aliases = COLUMNS[column]
    for alias in aliases:
        if _header_key(alias) in by_key:
            return by_key[_header_key(alias)]
    if column == "concentration":
        # any base word with any unit suffix ("dose_pM", "concentration [mM]")
        for name in table.header:
            if _unit_suffix(name) is not None:
                return name
    return None


def _missing_column(table: TextTable, column: str, why: str) -> InputError:
    return InputError(
        f"no '{column}' column ({why}); the file's columns are: "
        + listing([h for h in table.header if h]),
        file=table.path, line=table.header_line, column=column,
        expected="a header naming one of: " + ", ".join(f"'{a}'" for a in COLUMNS[column]),
        fix="rename the column in the header (docs/formats.md, 'Drug screens', lists the "
            "names read)",
    )


def _unit_suffix(header: str) -> str | None:
    """The unit a concentration header names ("conc_nM" -> "nM"), else ``None``."""
    key = _header_key(header)
    for base in _CONCENTRATION_BASES:
        if key.startswith(base) and key != base:
            return _UNIT_SPELLINGS.get(key[len(base):])
    return None


def _unit_key(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("µ", "u").replace("μ", "u")).lower()


def _parse_unit(text: str) -> str | None:
    return _UNIT_SPELLINGS.get(_unit_key(text))


# ---------------------------------------------------------------------------------------------
# reading the file


def _excel_cell(value: Any) -> str:
    """A worksheet cell as text, numbers without a spurious ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _excel_table(p: Path, sheet: str | int | None) -> TextTable:
    """One worksheet as a :class:`TextTable` whose line numbers are the sheet's row numbers.

    The same approach as the outcomes reader (:mod:`tumorboard.io.outcomes`): openpyxl in
    read-only mode, cached values of formula cells, blank rows skipped.
    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError on broken files
        raise InputError(f"cannot open the workbook: {exc}", file=p,
                         fix="save it again as .xlsx from Excel or LibreOffice") from exc
    try:
        names = book.sheetnames
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 1 <= sheet <= len(names):
                raise InputError(f"the workbook has no sheet number {sheet}", file=p,
                                 expected=f"1 to {len(names)} or one of: {listing(names)}",
                                 fix="correct the option `sheet:` in case.yaml")
            ws = book.worksheets[sheet - 1]
        else:
            if str(sheet) not in names:
                raise InputError(f"the workbook has no sheet '{sheet}'", file=p,
                                 expected=f"one of: {listing(names)}",
                                 fix="correct the option `sheet:` in case.yaml")
            ws = book[str(sheet)]
        rows = [(i, row) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)
                if any(v is not None and str(v).strip() for v in row)]
        title = ws.title
    finally:
        book.close()
    where = Path(f"{p}[{title}]")
    if not rows:
        raise InputError("the sheet is empty", file=where,
                         fix="put the screen on the first sheet or name its sheet with "
                             "`sheet:`")
    header_line, header_cells = rows[0]
    header = [_excel_cell(v).strip() for v in header_cells]
    while header and header[-1] == "":
        header.pop()
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise InputError(f"column '{name}' appears twice in the header", file=where,
                             line=header_line, column=name,
                             fix="give every column a distinct name")
        seen.add(name)
    cells = {h: [_excel_cell(r[j]) if j < len(r) else "" for _, r in rows[1:]]
             for j, h in enumerate(header) if h}
    frame = pd.DataFrame(cells, dtype=object)
    lines = np.array([i for i, _ in rows[1:]], dtype=np.int64)
    return TextTable(where, [h for h in header if h], header_line, frame, lines)


def _text_table(path: Path) -> tuple[TextTable, list[str]]:
    p, text, notes = read_text(path)
    first = next((line for line in text.split("\n")
                  if line.strip() and not line.lstrip().startswith("#")), "")
    # European spreadsheet exports separate with ';' (decimal commas then get their own hint)
    sep = ";" if ";" in first and "\t" not in first and "," not in first else None
    return parse_table(p, text, sep=sep), notes


def _open(path: str | Path, sheet: str | int | None) -> tuple[TextTable, list[str]]:
    p = check_file(path)
    with open(p, "rb") as fh:
        magic = fh.read(4)
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise InputError("old Excel .xls workbooks are not read", file=p,
                         fix="save the workbook as .xlsx, or export the sheet as CSV")
    if magic == _XLSX_MAGIC or suffix in (".xlsx", ".xlsm"):
        if magic != _XLSX_MAGIC:
            raise InputError(f"file ends in {suffix} but is not an Excel workbook", file=p,
                             fix="save it again as .xlsx, or name it .csv/.tsv if it is text")
        return _excel_table(p, sheet), []
    if sheet is not None:
        raise InputError("option `sheet:` applies only to Excel workbooks", file=p,
                         fix="remove `sheet:` from the file entry in case.yaml")
    return _text_table(p)


def _subset(table: TextTable, keep: np.ndarray) -> TextTable:
    return TextTable(table.path, table.header, table.header_line,
                     table.frame.loc[keep].reset_index(drop=True), table.lines[keep])


def _model_note(model: str) -> str:
    return f" (model '{model}')"


# ---------------------------------------------------------------------------------------------
# the reader


def read_drug_screen(
    path: str | Path,
    *,
    sample: str | None = None,
    model: str | None = None,
    model_type: str | None = None,
    unit: str | None = None,
    sheet: str | int | None = None,
    viability_scale: str = "percent",
) -> LayerData:
    """Read a drug screen on a patient-derived model (long table, one row per well).

    Columns, their aliases and the role words are :data:`COLUMNS` / :data:`ROLE_WORDS`
    (documented in ``docs/formats.md``, "Drug screens"); the format is tumorboard's own.
    Required: a drug column, a concentration (on treatment rows), and a readout: ``signal``
    (raw, then a ``plate`` column and negative-control wells on every plate) and/or
    ``viability`` (% of vehicle).

    Parameters
    ----------
    path
        CSV or TSV (plain or gzip; delimiter from the header line) or an Excel ``.xlsx``
        workbook (first sheet unless ``sheet``).
    sample
        The case's sample id; names the model when the file has no model column and no
        ``model`` option.
    model
        The model to read from a file with a model column (rows of other models are
        ignored); without a model column, the model's id.
    model_type
        organoid / spheroid / explant / cell_line_2d / other, when the file has no
        ``model_type`` column (default ``organoid``).
    unit
        Concentration unit (M, mM, uM/µM/μM, nM, pM) when neither a unit column nor the
        concentration header ("conc_nM") gives it.
    sheet
        Worksheet name (or 1-based number) of an Excel workbook.
    viability_scale
        ``percent`` (0-100, default) or ``fraction`` (0-1, multiplied by 100).

    Returns
    -------
    LayerData
        Table ``drug_screen``: concentration in µM (NaN on control rows), ``drug`` the
        canonical name (controls ``vehicle`` / ``positive control``), ``viability`` in %.

    Raises
    ------
    InputError
        Naming file, line and column (Excel: the sheet's row number) and the model: a missing
        required column (the file's columns listed), several models and none chosen, a
        non-numeric or negative concentration, a zero or missing concentration on a treatment
        row, a non-numeric signal or viability, an unknown unit, role or model type, a plate
        with signal but no negative controls, a duplicate (plate, well), viability values that
        look like fractions.
    """
    if viability_scale not in VIABILITY_SCALES:
        raise InputError(f"unknown viability_scale '{viability_scale}'", file=path,
                         expected=" or ".join(VIABILITY_SCALES),
                         fix="correct the option `viability_scale:` in case.yaml")
    option_unit = None
    if unit is not None:
        option_unit = _parse_unit(str(unit))
        if option_unit is None:
            raise InputError(f"unknown concentration unit '{unit}' (option `unit:`)", file=path,
                             expected="one of: " + ", ".join(UNITS_TO_UM),
                             fix="correct the option `unit:` in case.yaml")
    option_type = None if model_type is None else _model_type(str(model_type))
    if model_type is not None and option_type is None:
        raise InputError(f"unknown model type '{model_type}' (option `model_type:`)",
                         file=path, expected="one of: " + ", ".join(MODEL_TYPES),
                         fix="correct the option `model_type:` in case.yaml")

    table, notes = _open(path, sheet)
    if len(table.frame) == 0:
        raise InputError("no rows after the header", file=table.path, line=table.header_line,
                         fix="the file holds only a header; re-export the screen")
    cols = {name: _find(table, name) for name in COLUMNS}
    if cols["drug"] is None:
        raise _missing_column(table, "drug", "the drug or combination of each well")
    if cols["concentration"] is None:
        raise _missing_column(table, "concentration", "the drug's concentration")
    if cols["signal"] is None and cols["viability"] is None:
        raise _missing_column(table, "signal",
                              "a raw readout, or a 'viability' column normalised by the lab")
    if cols["signal"] is not None and cols["plate"] is None:
        raise _missing_column(table, "plate",
                              "raw signals are normalised to the controls of their plate")

    table, chosen, ignored = _select_model(table, cols["model"], model, sample)
    if ignored:
        notes.append(f"{plural(ignored, 'row')} of other models ignored (model '{chosen}' "
                     "chosen by option `model:`)")
    n = len(table.frame)
    at = _model_note(chosen)

    drug_as_given = column_cells(table, cols["drug"]).astype(str)
    conc = _concentrations(table, cols["concentration"], at)
    conc_um = _to_micromolar(table, cols, conc, option_unit, at)
    roles = _roles(table, cols["role"], drug_as_given, conc, at)
    is_treatment = roles == "treatment"

    # treatment rows need a drug and a positive concentration
    conc_col = cols["concentration"]
    for i in np.flatnonzero(is_treatment & (drug_as_given.str.strip() == "").to_numpy()):
        raise InputError("a treatment row has no drug" + at, file=table.path,
                         line=table.line_of(int(i)), column=cols["drug"],
                         fix="name the drug, or mark the well as a control in a 'role' column")
    for i in np.flatnonzero(is_treatment & np.isnan(conc)):
        raise InputError(
            f"treatment '{drug_as_given.iloc[i]}' has no concentration" + at,
            file=table.path, line=table.line_of(int(i)), column=conc_col,
            expected="a concentration > 0 on every treatment row (every drug needs at least "
                     "one)",
            fix="fill in the concentration, or mark the well as a control in a 'role' column")
    for i in np.flatnonzero(is_treatment & (conc == 0)):
        raise InputError(
            f"treatment '{drug_as_given.iloc[i]}' at concentration 0" + at,
            file=table.path, line=table.line_of(int(i)), column=conc_col,
            expected="a concentration > 0 on treatment rows",
            fix="mark untreated wells as negative_control in a 'role' column (or name their "
                "drug DMSO/vehicle)")
    vehicle_dosed = ~is_treatment & ~np.isnan(conc) & (conc > 0)
    if vehicle_dosed.any():
        notes.append(f"{plural(int(vehicle_dosed.sum()), 'control row')} with a concentration "
                     "(e.g. % DMSO): the concentration is not kept for controls")

    signal = _readout(table, cols["signal"], at)
    viability = _readout(table, cols["viability"], at)
    given = [c for c in (cols["signal"], cols["viability"]) if c is not None]
    no_value = np.isnan(signal) & np.isnan(viability)
    if no_value.any():
        i = int(np.flatnonzero(no_value)[0])
        raise InputError("the well has no readout" + at, file=table.path,
                         line=table.line_of(i), column=given[0],
                         expected=f"a number in {' or '.join(repr(c) for c in given)}",
                         fix="fill in the value, or remove the row of an empty well")
    viability = _viability_scale(table, cols["viability"], viability, viability_scale, at)

    plates = (column_cells(table, cols["plate"]).astype(str) if cols["plate"] is not None
              else pd.Series([""] * n, dtype=object))
    wells = (column_cells(table, cols["well"]).astype(str).map(_normalise_well)
             if cols["well"] is not None else pd.Series([""] * n, dtype=object))
    _check_plates(table, cols, plates, roles, signal, at, notes)
    _check_duplicate_wells(table, cols, plates, wells, at)

    replicate = (to_int(table, cols["replicate"], allow_missing=True, minimum=0)
                 if cols["replicate"] is not None else np.full(n, np.nan))
    types = _model_types(table, cols["model_type"], option_type, at)

    drug = [CONTROL_DRUG[r] if r in CONTROL_DRUG else canonical_combination(d)
            for r, d in zip(roles, drug_as_given, strict=True)]
    frame = pd.DataFrame({
        "model": [chosen] * n,
        "model_type": types,
        "plate": plates.where(plates != "", None),
        "well": wells.where(wells != "", None),
        "drug": drug,
        "drug_as_given": drug_as_given.where(drug_as_given.str.strip() != "", None),
        "concentration_um": np.where(is_treatment, conc_um, np.nan),
        "role": roles,
        "replicate": pd.array([None if np.isnan(r) else int(r) for r in replicate],
                              dtype="Int64"),
        "signal": signal,
        "viability": viability,
    })
    return LayerData(tables={"drug_screen": conform(frame, "drug_screen",
                                                    source=str(table.path))},
                     notes=notes)


# ---------------------------------------------------------------------------------------------
# pieces


def _select_model(table: TextTable, column: str | None, model: str | None,
                  sample: str | None) -> tuple[TextTable, str, int]:
    """The rows of the chosen model, its id, and how many rows of other models were dropped."""
    if column is None:
        chosen = model if model is not None else sample
        if chosen is None or not str(chosen).strip():
            raise InputError("the file has no model column and no model was named",
                             file=table.path, line=table.header_line, column="model",
                             expected="a 'model' column, or option `model:`",
                             fix="set `model:` in the file entry in case.yaml")
        return table, str(chosen).strip(), 0
    ids = column_cells(table, column).astype(str)
    empty = (ids == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError("the model is missing", file=table.path, line=table.line_of(i),
                         column=column, fix="fill in the model id of every row")
    found = list(dict.fromkeys(ids))
    if model is None:
        if len(found) > 1:
            raise InputError(
                f"the file holds {plural(len(found), 'model')} ({listing(found)}) and no "
                "model was chosen",
                file=table.path, line=table.header_line, column=column,
                fix="set `model:` in the file entry in case.yaml to the model of this sample",
            )
        return table, found[0], 0
    wanted = str(model).strip()
    if wanted not in found:
        raise InputError(f"model '{wanted}' is not in the file", file=table.path,
                         line=table.header_line, column=column,
                         expected=f"one of: {listing(found)}",
                         fix="correct `model:` in the file entry in case.yaml")
    keep = (ids == wanted).to_numpy()
    return _subset(table, keep), wanted, int((~keep).sum())


def _concentrations(table: TextTable, column: str, at: str) -> np.ndarray:
    values = to_float(
        table, column, finite=True, expected="a number such as 0.1",
        problem=lambda cell: f"concentration '{cell}' is not a number" + at,
        fix=lambda cell: ("put the unit in a 'unit' column or the header "
                          "('concentration_uM'), not in the cells")
        if re.search(r"[a-zA-Zµμ]+\s*$", cell) else None)
    cells = column_cells(table, column).astype(str)
    negative = values < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise_bad_value(table, column, i, cells.iloc[i], "a concentration >= 0",
                        problem=f"negative concentration {cells.iloc[i]}" + at,
                        fix="give the concentration itself, not its logarithm; or correct "
                            "the value")
    return values


def _to_micromolar(table: TextTable, cols: dict[str, str | None], conc: np.ndarray,
                   option_unit: str | None, at: str) -> np.ndarray:
    """Concentrations in µM, the unit from the unit column, else the header, else the option."""
    conc_col = cols["concentration"]
    assert conc_col is not None
    header_unit = _unit_suffix(conc_col)
    if header_unit is not None and option_unit is not None and header_unit != option_unit:
        raise InputError(
            f"the header says {header_unit} but option `unit:` says {option_unit}" + at,
            file=table.path, line=table.header_line, column=conc_col,
            fix="remove `unit:` from case.yaml or correct it")
    default = header_unit or option_unit
    if cols["unit"] is None:
        if default is None:
            if np.all(np.isnan(conc) | (conc == 0)):
                return conc  # controls only: nothing to convert (caught later)
            raise InputError(
                "the concentration unit is not given" + at,
                file=table.path, line=table.header_line, column=conc_col,
                expected="a 'unit' column, a unit in the header ('concentration_uM') or "
                         "option `unit:` (M, mM, uM, nM, pM)",
                fix="add the unit; tumorboard does not guess it")
        return conc * UNITS_TO_UM[default]
    cells = column_cells(table, cols["unit"]).astype(str)
    factors = np.empty(len(conc))
    for i, text in enumerate(cells):
        found = _parse_unit(text) if text not in MISSING_CELLS else default
        if found is None and text not in MISSING_CELLS:
            raise InputError(f"unknown concentration unit '{text}'" + at, file=table.path,
                             line=table.line_of(i), column=cols["unit"],
                             expected="one of: " + ", ".join(UNITS_TO_UM),
                             fix="write the unit as M, mM, uM (µM), nM or pM")
        if found is None:
            if not np.isnan(conc[i]) and conc[i] != 0:
                raise InputError("the concentration unit is missing" + at, file=table.path,
                                 line=table.line_of(i), column=cols["unit"],
                                 expected="M, mM, uM (µM), nM or pM",
                                 fix="fill in the unit of this row")
            factors[i] = 1.0
        else:
            factors[i] = UNITS_TO_UM[found]
    return conc * factors


def _drug_key(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def _roles(table: TextTable, column: str | None, drugs: pd.Series, conc: np.ndarray,
           at: str) -> np.ndarray:
    """Role of each row, from the role column, else inferred from the drug name."""
    inferred = np.array([_infer_role(d, c) for d, c in zip(drugs, conc, strict=True)],
                        dtype=object)
    if column is None:
        return inferred
    cells = column_cells(table, column).astype(str)
    out = inferred.copy()
    for i, text in enumerate(cells):
        if text in MISSING_CELLS:
            continue  # an empty role cell: the drug name decides, as without the column
        role = ROLE_WORDS.get(re.sub(r"[\s\-]+", "_", text.strip().lower()))
        if role is None:
            raise InputError(f"unknown role '{text}'" + at, file=table.path,
                             line=table.line_of(i), column=column,
                             expected="treatment, negative_control (vehicle, DMSO, ...) or "
                                      "positive_control (kill, ...)",
                             fix="use one of the role words of docs/formats.md")
        out[i] = role
    return out


def _infer_role(drug: str, conc: float) -> str:
    """Role from the drug name alone (tumorboard's own rule, issue 9 spec §1)."""
    key = _drug_key(drug)
    names = {key, canonical_drug(drug) if key else ""}
    if names & NEGATIVE_CONTROL_DRUGS:
        # a vehicle given with a concentration (e.g. % DMSO) is still the vehicle control
        return "negative_control"
    if names & POSITIVE_CONTROL_DRUGS:
        return "positive_control"
    return "treatment"


def _readout(table: TextTable, column: str | None, at: str) -> np.ndarray:
    n = len(table.frame)
    if column is None:
        return np.full(n, np.nan)
    return to_float(table, column, finite=True, expected="a number such as 12345 or 87.5",
                    problem=lambda cell: f"'{cell}' is not a number" + at)


def _viability_scale(table: TextTable, column: str | None, viability: np.ndarray,
                     scale: str, at: str) -> np.ndarray:
    if column is None:
        return viability
    finite = viability[~np.isnan(viability)]
    if scale == "fraction":
        return viability * 100.0
    if len(finite) and np.all(finite <= FRACTION_LIMIT):
        raise InputError(
            f"every viability is at most {FRACTION_LIMIT} (largest {finite.max():g}): the "
            "values look like fractions, not percent" + at,
            file=table.path, line=table.header_line, column=column,
            expected="viability in % of vehicle (vehicle wells near 100)",
            fix="set option `viability_scale: fraction` in the file entry in case.yaml")
    return viability


def _normalise_well(text: str) -> str:
    """``a1`` -> ``A01``; anything not a row letter + column number is kept as written."""
    m = _WELL.match(text.strip())
    if m is None:
        return text.strip()
    return f"{m.group(1).upper()}{int(m.group(2)):02d}"


def _check_plates(table: TextTable, cols: dict[str, str | None], plates: pd.Series,
                  roles: np.ndarray, signal: np.ndarray, at: str, notes: list[str]) -> None:
    if cols["signal"] is None:
        return
    has_signal = ~np.isnan(signal)
    empty = has_signal & (plates == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError("a well with a raw signal names no plate" + at, file=table.path,
                         line=table.line_of(i), column=cols["plate"],
                         fix="fill in the plate: raw signals are normalised per plate")
    without_positive = []
    for plate in dict.fromkeys(plates[has_signal]):
        on_plate = (plates == plate).to_numpy() & has_signal
        plate_roles = roles[on_plate]
        if not (plate_roles == "negative_control").any():
            i = int(np.flatnonzero(on_plate)[0])
            raise InputError(
                f"plate '{plate}' has raw signals but no negative-control wells" + at,
                file=table.path, line=table.line_of(i), column=cols["plate"],
                expected="vehicle (DMSO) wells on every plate to normalise to",
                fix="add the plate's DMSO/vehicle wells, or give a 'viability' column the lab "
                    "normalised already")
        if not (plate_roles == "positive_control").any():
            without_positive.append(plate)
    if without_positive:
        notes.append(f"no positive-control wells on plate(s) {listing(without_positive)}: "
                     "their Z'-factor cannot be assessed")


def _check_duplicate_wells(table: TextTable, cols: dict[str, str | None], plates: pd.Series,
                           wells: pd.Series, at: str) -> None:
    if cols["well"] is None:
        return
    named = (wells != "").to_numpy()
    keys = list(zip(plates, wells, strict=True))
    dup = pd.Series(keys, dtype=object).duplicated().to_numpy() & named
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = keys.index(keys[i])
        plate = f"plate '{plates.iloc[i]}', " if plates.iloc[i] else ""
        raise InputError(
            f"{plate}well {wells.iloc[i]} appears twice (first at line "
            f"{table.line_of(first)})" + at,
            file=table.path, line=table.line_of(i), column=cols["well"],
            fix="remove the duplicate row, or correct the plate or well")


def _model_type(text: str) -> str | None:
    return _MODEL_TYPE_SPELLINGS.get(re.sub(r"[\s\-]+", "_", text.strip().lower()))


def _model_types(table: TextTable, column: str | None, option: str | None,
                 at: str) -> Sequence[str]:
    n = len(table.frame)
    default = option or DEFAULT_MODEL_TYPE
    if column is None:
        return [default] * n
    out = []
    for i, text in enumerate(column_cells(table, column).astype(str)):
        if text in MISSING_CELLS:
            out.append(default)
            continue
        kind = _model_type(text)
        if kind is None:
            raise InputError(f"unknown model type '{text}'" + at, file=table.path,
                             line=table.line_of(i), column=column,
                             expected="one of: " + ", ".join(MODEL_TYPES),
                             fix="use one of the model types of docs/formats.md")
        out.append(kind)
    return out

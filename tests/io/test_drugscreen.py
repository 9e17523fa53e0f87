"""Tests of the drug-screen reader (``drug_screen`` format) and its import into a case.

Reference values are the constructed files' own cells (tests/data/drugscreen/README.md):
concentrations converted to µM by hand (1 nM = 0.001 µM), roles as the spec's inference rule
assigns them, canonical drug names as :mod:`tumorboard.knowledge.drugs` lists them.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from tumorboard.errors import CaseValidationError, InputError
from tumorboard.intake import import_case
from tumorboard.io.drugscreen import read_drug_screen
from tumorboard.io.formats import FORMATS, LAYERS
from tumorboard.io.tables import TABLES, layer_qc
from tumorboard.model import FINDING_KINDS
from tumorboard.registry.models import Assay, Patient, Sample
from tumorboard.workspace import Workspace

DATA = Path(__file__).resolve().parents[1] / "data" / "drugscreen"
SCREEN = DATA / "pdo_screen.csv"
TWO_MODELS = DATA / "two_models_viability.tsv"

#: µM of each row of pdo_screen.csv (nM / 1000; NaN on control rows).
SCREEN_UM = [np.nan] * 4 + [0.001, 0.01, 0.1, 1.0, 1.0] + [np.nan, np.nan] + [0.005, 0.05]
SCREEN_ROLES = (["negative_control"] * 2 + ["positive_control"] * 2 + ["treatment"] * 5
                + ["negative_control", "positive_control"] + ["treatment"] * 2)
SCREEN_DRUGS = (["vehicle"] * 2 + ["positive control"] * 2 + ["pazopanib"] * 5
                + ["vehicle", "positive control"] + ["dabrafenib + trametinib"] * 2)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(path: Path, **options) -> pd.DataFrame:
    return read_drug_screen(path, **options).tables["drug_screen"]


def error(path: Path, **options) -> InputError:
    with pytest.raises(InputError) as info:
        read_drug_screen(path, **options)
    return info.value


def assert_contract(table: pd.DataFrame) -> None:
    assert list(table.columns) == list(TABLES["drug_screen"])
    assert {c: str(t) for c, t in table.dtypes.items()} == TABLES["drug_screen"]


def csv_rows(tmp_path: Path, *rows: str, header: str = "plate,well,drug,conc_uM,signal",
             name: str = "screen.csv") -> Path:
    return write(tmp_path, name, "\n".join([header, *rows]) + "\n")


#: A valid one-plate raw-signal screen body (header: plate,well,drug,conc_uM,signal).
GOOD_ROWS = ("P1,A01,DMSO,,1000", "P1,A02,BzCl,,10", "P1,B01,pazopanib,1,500")


# --- the contract and the registry of formats -------------------------------------------------


def test_format_layer_and_finding_kind_are_registered() -> None:
    fmt = FORMATS["drug_screen"]
    assert fmt.layer == "drug_screen" and fmt.tables == ("drug_screen",)
    assert fmt.load_reader() is read_drug_screen
    assert not fmt.multi_sample and fmt.takes_sample_id
    assert LAYERS[-1] == "drug_screen" and LAYERS[-2] == "hla"
    assert FINDING_KINDS["drug_screen"] == ("drug_sensitivity",)


def test_csv_raw_signal_screen() -> None:
    data = read_drug_screen(SCREEN, sample="DSRCT-001-T1")
    table = data.tables["drug_screen"]
    assert_contract(table)
    assert len(table) == 13
    assert (table["model"] == "DSRCT-001-T1").all()  # no model column: the sample names it
    assert (table["model_type"] == "organoid").all()  # the default
    assert table["plate"].tolist() == ["P1"] * 9 + ["P2"] * 4
    assert table["well"].tolist()[:3] == ["A01", "A02", "A03"]
    np.testing.assert_allclose(table["concentration_um"].to_numpy(dtype=float), SCREEN_UM,
                               rtol=1e-15)
    assert table["role"].tolist() == SCREEN_ROLES
    assert table["drug"].tolist() == SCREEN_DRUGS
    assert table["drug_as_given"].tolist()[4:9] == ["Pazopanib hydrochloride"] * 4 + ["Votrient"]
    assert table["drug_as_given"].iloc[0] == "DMSO"
    assert table["replicate"].tolist() == [1, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1, 1, 2]
    assert table["signal"].iloc[0] == 10000.0 and table["signal"].iloc[-1] == 4000.0
    assert table["viability"].isna().all()
    # every plate has a positive control: nothing to remark
    assert data.notes == []
    qc = layer_qc("drug_screen", table)
    assert qc == {"wells": 13, "models": "DSRCT-001-T1", "drugs": 2, "plates": 2,
                  "negative controls": 3, "positive controls": 3, "readout": "raw signal"}


def test_tsv_and_gzip_tsv_read_the_same(tmp_path: Path) -> None:
    reference = read(SCREEN, sample="S")
    tsv_text = SCREEN.read_text().replace(",", "\t")
    tsv = write(tmp_path, "screen.tsv", tsv_text)
    gz = tmp_path / "screen.tsv.gz"
    gz.write_bytes(gzip.compress(tsv_text.encode()))
    pd.testing.assert_frame_equal(read(tsv, sample="S"), reference)
    pd.testing.assert_frame_equal(read(gz, sample="S"), reference)


def test_semicolon_export_is_split(tmp_path: Path) -> None:
    path = write(tmp_path, "screen.csv", SCREEN.read_text().replace(",", ";"))
    pd.testing.assert_frame_equal(read(path, sample="S"), read(SCREEN, sample="S"))


def _write_xlsx(path: Path, rows: list[list], *, sheet: str = "screen",
                extra: dict[str, list[list]] | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for name, other in (extra or {}).items():
        ws2 = book.create_sheet(name)
        for row in other:
            ws2.append(row)
    book.save(path)
    return path


def _screen_rows() -> list[list]:
    """pdo_screen.csv as worksheet rows with numbers as numbers and empty cells as None."""
    out: list[list] = []
    for i, line in enumerate(SCREEN.read_text().splitlines()):
        cells = line.split(",")
        if i:
            cells = [c if j < 3 else (float(c) if c else None) for j, c in enumerate(cells)]
        out.append(cells)
    return out


def test_xlsx_reads_like_csv(tmp_path: Path) -> None:
    path = _write_xlsx(tmp_path / "screen.xlsx", _screen_rows())
    pd.testing.assert_frame_equal(read(path, sample="S"), read(SCREEN, sample="S"))


def test_xlsx_sheet_option_and_row_numbers(tmp_path: Path) -> None:
    rows = _screen_rows()
    bad = [list(r) for r in rows]
    bad.insert(3, [None] * 6)  # a blank row: the next rows are sheet rows 5, 6, ...
    bad[6][5] = "n.d."  # pdo_screen.csv row 5 (A04), now on sheet row 7
    path = _write_xlsx(tmp_path / "book.xlsx", [["notes"], ["see the second sheet"]],
                       sheet="README", extra={"raw": bad, "clean": rows})
    pd.testing.assert_frame_equal(read(path, sample="S", sheet="clean"),
                                  read(SCREEN, sample="S"))
    pd.testing.assert_frame_equal(read(path, sample="S", sheet=3), read(SCREEN, sample="S"))
    exc = error(path, sample="S", sheet="raw")
    assert exc.line == 7 and exc.column == "signal"
    assert exc.file is not None and exc.file.endswith("book.xlsx[raw]")
    assert "'n.d.' is not a number" in exc.message
    missing = error(path, sheet="plates")
    assert "no sheet 'plates'" in missing.problem and "'clean'" in (missing.expected or "")
    # the first sheet is a README, not a screen: its missing columns are named
    first = error(path, sample="S")
    assert "no 'drug' column" in first.problem and "'notes'" in first.problem


def test_sheet_option_on_text_file() -> None:
    assert "only to Excel" in error(SCREEN, sample="S", sheet="x").problem


# --- columns, aliases, units ------------------------------------------------------------------


def test_alias_columns(tmp_path: Path) -> None:
    path = csv_rows(
        tmp_path,
        "PDO-7,organoid,B1,A1,Dimethyl sulfoxide,,Vehicle,1,1000",
        "PDO-7,organoid,B1,A2,BzCl,,max_kill,1,10",
        "PDO-7,organoid,B1,p24,GW786034,0.5,Sample,2,600",
        header="PDO_ID,Model Kind,Plate Barcode,Position,Compound Name,Dose (µM),Well Type,"
               "Rep,RLU",
    )
    table = read(path)
    assert_contract(table)
    assert table["model"].tolist() == ["PDO-7"] * 3
    assert table["plate"].tolist() == ["B1"] * 3
    assert table["well"].tolist() == ["A01", "A02", "P24"]
    assert table["role"].tolist() == ["negative_control", "positive_control", "treatment"]
    assert table["drug"].tolist() == ["vehicle", "positive control", "pazopanib"]
    assert table["concentration_um"].iloc[2] == 0.5
    assert table["replicate"].tolist() == [1, 1, 2]
    assert table["signal"].tolist() == [1000.0, 10.0, 600.0]


@pytest.mark.parametrize(("header", "factor"), [
    ("conc_nM", 1e-3), ("Concentration [mM]", 1e3), ("dose_pM", 1e-6),
    ("concentration_M", 1e6), ("Concentration (μM)", 1.0), ("conc (nmol/L)", 1e-3),
])
def test_unit_in_column_name(tmp_path: Path, header: str, factor: float) -> None:
    path = csv_rows(tmp_path, "P1,A01,DMSO,,1000", "P1,B01,pazopanib,2.5,500",
                    header=f'plate,well,drug,"{header}",signal')
    assert read(path, sample="S")["concentration_um"].iloc[1] == pytest.approx(2.5 * factor,
                                                                                rel=1e-15)


def test_unit_column_and_unit_option(tmp_path: Path) -> None:
    table = read(TWO_MODELS, model="PDO-A")
    # 0.01 uM, 100 nM, 1 µM (micro sign)
    np.testing.assert_allclose(table["concentration_um"], [0.01, 0.1, 1.0], rtol=1e-15)
    table = read(TWO_MODELS, model="PDO-B")
    # 10 nM, 0.1 μM (Greek mu), 1000 nM
    np.testing.assert_allclose(table["concentration_um"], [0.01, 0.1, 1.0], rtol=1e-15)
    path = csv_rows(tmp_path, *GOOD_ROWS, header="plate,well,drug,conc,signal")
    assert read(path, sample="S", unit="nM")["concentration_um"].iloc[2] == 1e-3
    assert read(path, sample="S", unit="µM")["concentration_um"].iloc[2] == 1.0


def test_no_unit_anywhere_is_an_error(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, *GOOD_ROWS, header="plate,well,drug,dose,signal")
    exc = error(path, sample="S")
    assert exc.line == 1 and exc.column == "dose"
    assert "unit is not given" in exc.problem and "model 'S'" in exc.problem
    assert "option `unit:`" in (exc.expected or "")


def test_unknown_units(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, "P1,A01,DMSO,,,1000", "P1,B01,pazopanib,1,ng/ml,500",
                    header="plate,well,drug,conc,unit,signal")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (3, "unit")
    assert "unknown concentration unit 'ng/ml'" in exc.problem
    option = error(csv_rows(tmp_path, *GOOD_ROWS, header="plate,well,drug,conc,signal"),
                   sample="S", unit="mg")
    assert "unknown concentration unit 'mg'" in option.problem
    clash = error(csv_rows(tmp_path, *GOOD_ROWS), sample="S", unit="nM")
    assert (clash.line, clash.column) == (1, "conc_uM")
    assert "header says uM but option `unit:` says nM" in clash.problem


def test_missing_unit_cell_on_a_treatment_row(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, "P1,A01,DMSO,,,1000", "P1,B01,pazopanib,1,,500",
                    header="plate,well,drug,conc,unit,signal")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (3, "unit") and "unit is missing" in exc.problem
    # the header's unit fills an empty unit cell
    path = csv_rows(tmp_path, "P1,A01,DMSO,,,1000", "P1,B01,pazopanib,1,,500",
                    "P1,B02,pazopanib,1,uM,400", header="plate,well,drug,conc_nM,unit,signal")
    assert read(path, sample="S")["concentration_um"].tolist()[1:] == [1e-3, 1.0]


# --- roles --------------------------------------------------------------------------------


def test_role_inference_without_role_column(tmp_path: Path) -> None:
    rows = ["P1,A01,DMSO,0,1000", "P1,A02,,,1000", "P1,A03,Medium,,990", "P1,A04,none,,995",
            "P1,A05,PBS,,1005", "P1,A06,Untreated,,1001", "P1,A07,water,,999",
            "P1,A08,vehicle,,1002",
            "P1,A09,Benzethonium Chloride,,5", "P1,A10,BZCL,,6", "P1,A11,staurosporine,1,4",
            "P1,A12,Positive control,,5", "P1,B01,doxorubicin,1,300"]
    data = read_drug_screen(csv_rows(tmp_path, *rows), sample="S")
    table = data.tables["drug_screen"]
    assert table["role"].tolist() == (["negative_control"] * 8 + ["positive_control"] * 4
                                      + ["treatment"])
    assert table["drug"].tolist() == ["vehicle"] * 8 + ["positive control"] * 4 + ["doxorubicin"]
    # controls keep no concentration; the staurosporine dose is noted, not lost silently
    assert table["concentration_um"].isna().tolist() == [True] * 12 + [False]
    assert any("control row with a concentration" in n for n in data.notes)
    assert table["drug_as_given"].iloc[1] is pd.NA


def test_role_column_words(tmp_path: Path) -> None:
    rows = ["P1,A01,DMSO,,NC,1000", "P1,A02,,,neg control,1000", "P1,A03,Triton X-100,,Kill,5",
            "P1,A04,digitonin,,pos,5", "P1,B01,DMSO,,,1000", "P1,B02,pazopanib,1,compound,500",
            "P1,B03,imatinib,1,,400"]
    path = csv_rows(tmp_path, *rows, header="plate,well,drug,conc_uM,well_type,signal")
    table = read(path, sample="S")
    assert table["role"].tolist() == ["negative_control"] * 2 + ["positive_control"] * 2 + [
        "negative_control", "treatment", "treatment"]
    assert table["drug"].tolist()[2:4] == ["positive control"] * 2
    assert table["drug_as_given"].tolist()[2:4] == ["Triton X-100", "digitonin"]


def test_unknown_role(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, "P1,A01,DMSO,,vehicle,1000", "P1,B01,pazopanib,1,blank?,500",
                    header="plate,well,drug,conc_uM,role,signal")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (3, "role") and "unknown role 'blank?'" in exc.problem


# --- models -------------------------------------------------------------------------------


def test_multi_model_file_needs_model_option() -> None:
    exc = error(TWO_MODELS, sample="DSRCT-001-T1")
    assert exc.column == "model_id" and exc.line == 1
    assert "2 models ('PDO-A', 'PDO-B')" in exc.problem and "`model:`" in (exc.fix or "")


def test_multi_model_file_with_model_option() -> None:
    data = read_drug_screen(TWO_MODELS, model="PDO-B")
    table = data.tables["drug_screen"]
    assert_contract(table)
    assert table["model"].tolist() == ["PDO-B"] * 3
    assert table["model_type"].tolist() == ["spheroid"] * 3
    assert table["viability"].tolist() == [101.0, 95.0, 80.0]
    assert table["signal"].isna().all() and table["plate"].isna().all()
    assert table["well"].isna().all()
    assert data.notes == ["3 rows of other models ignored (model 'PDO-B' chosen by option "
                          "`model:`)"]
    absent = error(TWO_MODELS, model="PDO-C")
    assert "model 'PDO-C' is not in the file" in absent.problem
    assert "'PDO-A', 'PDO-B'" in (absent.expected or "")


def test_bad_cells_of_ignored_models_do_not_matter(tmp_path: Path) -> None:
    text = TWO_MODELS.read_text().replace("80.0", "n/a?")
    path = write(tmp_path, "screen.tsv", text)
    assert len(read(path, model="PDO-A")) == 3
    exc = error(path, model="PDO-B")
    assert (exc.line, exc.column) == (7, "viability_pct") and "model 'PDO-B'" in exc.problem


def test_single_model_column_needs_no_option(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, *(f"PDO-9,{r}" for r in GOOD_ROWS),
                    header="model,plate,well,drug,conc_uM,signal")
    assert read(path, sample="S")["model"].tolist() == ["PDO-9"] * 3


def test_model_without_model_column(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, *GOOD_ROWS)
    assert read(path, sample="S", model="PDO-1")["model"].tolist() == ["PDO-1"] * 3
    exc = error(path)
    assert "no model column and no model was named" in exc.problem


def test_model_type_column_option_and_errors(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, *GOOD_ROWS)
    assert read(path, sample="S", model_type="Explant")["model_type"].tolist() == ["explant"] * 3
    assert "unknown model type 'mouse'" in error(path, sample="S", model_type="mouse").problem
    path = csv_rows(tmp_path, "P1,A01,DMSO,,1000,organoid", "P1,B01,pazopanib,1,500,PDX",
                    header="plate,well,drug,conc_uM,signal,model_type")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (3, "model_type") and "unknown model type 'PDX'" in exc.problem


def test_missing_model_cell(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, "PDO-1,P1,A01,DMSO,,1000", ",P1,B01,pazopanib,1,500",
                    header="model,plate,well,drug,conc_uM,signal")
    exc = error(path)
    assert (exc.line, exc.column) == (3, "model") and "model is missing" in exc.problem


# --- validation errors (spec §1) ----------------------------------------------------------


@pytest.mark.parametrize(("header", "missing", "why"), [
    ("plate,well,conc_uM,signal", "drug", "drug or combination"),
    ("plate,well,drug,signal", "concentration", "concentration"),
    ("plate,well,drug,conc_uM", "signal", "raw readout"),
    ("well,drug,conc_uM,signal", "plate", "normalised to the controls of their plate"),
])
def test_missing_required_column(tmp_path: Path, header: str, missing: str, why: str) -> None:
    width = header.count(",") + 1
    path = csv_rows(tmp_path, ",".join(["1"] * width), header=header)
    exc = error(path, sample="S")
    assert exc.line == 1 and exc.column == missing
    assert f"no '{missing}' column" in exc.problem and why in exc.problem
    # the file's columns and the accepted names are both listed
    for found in header.split(","):
        assert f"'{found}'" in exc.problem
    assert f"'{missing}'" in (exc.expected or "")


def test_non_numeric_and_negative_concentration(tmp_path: Path) -> None:
    exc = error(csv_rows(tmp_path, *GOOD_ROWS[:2], "P1,B01,pazopanib,1 uM,500"), sample="S")
    assert (exc.line, exc.column) == (4, "conc_uM")
    assert "concentration '1 uM' is not a number (model 'S')" in exc.problem
    assert "unit" in (exc.fix or "")
    exc = error(csv_rows(tmp_path, *GOOD_ROWS[:2], "P1,B01,pazopanib,-6,500"), sample="S")
    assert (exc.line, exc.column) == (4, "conc_uM") and "negative concentration -6" in exc.problem


def test_zero_and_missing_concentration_on_treatment(tmp_path: Path) -> None:
    exc = error(csv_rows(tmp_path, *GOOD_ROWS[:2], "P1,B01,pazopanib,0,500"), sample="S")
    assert (exc.line, exc.column) == (4, "conc_uM")
    assert "treatment 'pazopanib' at concentration 0" in exc.problem
    assert "negative_control" in (exc.fix or "")
    exc = error(csv_rows(tmp_path, *GOOD_ROWS[:2], "P1,B01,pazopanib,,500"), sample="S")
    assert (exc.line, exc.column) == (4, "conc_uM")
    assert "treatment 'pazopanib' has no concentration" in exc.problem
    assert "at least one" in (exc.expected or "")


def test_treatment_without_drug(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, "P1,A01,DMSO,,vehicle,1000", "P1,B01,,1,treatment,500",
                    header="plate,well,drug,conc_uM,role,signal")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (3, "drug") and "no drug" in exc.problem


def test_non_numeric_signal_and_viability(tmp_path: Path) -> None:
    exc = error(csv_rows(tmp_path, *GOOD_ROWS[:2], "P1,B01,pazopanib,1,OVER"), sample="S")
    assert (exc.line, exc.column) == (4, "signal") and "'OVER' is not a number" in exc.problem
    path = csv_rows(tmp_path, "doxorubicin,1,87.5", "doxorubicin,10,12,5",
                    header="drug,conc_uM,viability")
    with pytest.raises(InputError) as info:  # a decimal comma splits into an extra field
        read_drug_screen(path, sample="S")
    assert info.value.line == 3
    path = csv_rows(tmp_path, "doxorubicin,1,87.5", 'doxorubicin,10,"12,5"',
                    header="drug,conc_uM,viability")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (3, "viability") and "decimal separator" in (exc.fix or "")


def test_well_without_any_readout(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, "P1,A01,DMSO,,1000,", "P1,B01,pazopanib,1,,",
                    header="plate,well,drug,conc_uM,signal,viability")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (3, "signal") and "no readout" in exc.problem


def test_plate_without_negative_controls(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, *GOOD_ROWS, "P2,A01,BzCl,,12", "P2,B01,pazopanib,1,600")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (5, "plate")
    assert "plate 'P2' has raw signals but no negative-control wells" in exc.problem
    assert "DMSO/vehicle" in (exc.fix or "") and "viability" in (exc.fix or "")


def test_plate_without_positive_controls_is_a_note(tmp_path: Path) -> None:
    data = read_drug_screen(csv_rows(tmp_path, "P1,A01,DMSO,,1000", "P1,B01,pazopanib,1,500"),
                            sample="S")
    assert data.notes == ["no positive-control wells on plate(s) 'P1': their Z'-factor cannot "
                          "be assessed"]


def test_signal_without_plate_cell(tmp_path: Path) -> None:
    exc = error(csv_rows(tmp_path, *GOOD_ROWS, ",B02,pazopanib,2,400"), sample="S")
    assert (exc.line, exc.column) == (5, "plate") and "names no plate" in exc.problem


def test_duplicate_plate_and_well(tmp_path: Path) -> None:
    exc = error(csv_rows(tmp_path, *GOOD_ROWS, "P1,b1,pazopanib,2,400"), sample="S")
    assert (exc.line, exc.column) == (5, "well")
    assert "plate 'P1', well B01 appears twice (first at line 4)" in exc.problem
    # the same well on another plate is not a duplicate
    path = csv_rows(tmp_path, *GOOD_ROWS, "P2,A01,DMSO,,990", "P2,B01,pazopanib,2,400")
    assert len(read(path, sample="S")) == 5


def test_viability_as_fractions(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, "doxorubicin,0.1,1.02", "doxorubicin,1,0.60",
                    "doxorubicin,10,0.08", header="drug,conc_uM,viability")
    exc = error(path, sample="S")
    assert (exc.line, exc.column) == (1, "viability")
    assert "look like fractions" in exc.problem and "viability_scale: fraction" in (exc.fix or "")
    table = read(path, sample="S", viability_scale="fraction")
    np.testing.assert_allclose(table["viability"], [102.0, 60.0, 8.0], rtol=1e-15)
    assert "unknown viability_scale" in error(path, viability_scale="log").problem


def test_viability_only_file_without_plates_or_controls(tmp_path: Path) -> None:
    path = csv_rows(tmp_path, "gemcitabine,0.001,99", "gemcitabine,0.01,80",
                    "gemcitabine,0.1,-2.5", header="Drug,Concentration_nM,Percent Viability")
    data = read_drug_screen(path, sample="S")
    table = data.tables["drug_screen"]
    assert_contract(table)
    assert table["role"].tolist() == ["treatment"] * 3
    assert table["viability"].tolist() == [99.0, 80.0, -2.5]  # below 0 is kept (noise)
    assert table["signal"].isna().all() and table["plate"].isna().all()
    assert table["replicate"].isna().all()
    assert data.notes == []


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    exc = error(write(tmp_path, "h.csv", "drug,conc_uM,viability\n"), sample="S")
    assert "no rows after the header" in exc.problem
    assert "file is empty" in error(write(tmp_path, "e.csv", ""), sample="S").problem


def test_xls_and_fake_xlsx(tmp_path: Path) -> None:
    assert "save the workbook as .xlsx" in (error(write(tmp_path, "a.xls", "x"), sample="S").fix
                                            or "")
    fake = write(tmp_path, "b.xlsx", "drug,conc_uM,viability\nx,1,2\n")
    assert "not an Excel workbook" in error(fake, sample="S").problem


# --- import of a case end to end ----------------------------------------------------------

CASE_YAML = """\
tumorboard_case: 1
patient:
  id: DSRCT-901
  sex: male
  year_of_birth: 2001
diagnosis:
  histology: Desmoplastic small round cell tumour
  oncotree_code: DSRCT
samples:
  - id: DSRCT-901-T1
    type: tumour
    files:
      - layer: drug_screen
        format: drug_screen
        path: {path}
        tool: CellTiter-Glo 3D
        options: {options}
"""


def _case(tmp_path: Path, screen: Path, options: str = "{}") -> Path:
    case_dir = tmp_path / "DSRCT-901"
    case_dir.mkdir()
    shutil.copy(screen, case_dir / screen.name)
    (case_dir / "case.yaml").write_text(CASE_YAML.format(path=screen.name, options=options))
    return case_dir


def _counts(ws: Workspace) -> tuple[dict[str, int], list[str]]:
    with ws.session() as s:
        counts = {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                  for m in (Patient, Sample, Assay)}
    files = sorted(str(p.relative_to(ws.store.root)) for p in ws.store.root.rglob("*")
                   if p.is_file())
    return counts, files


def test_import_case_with_a_drug_screen(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    case_dir = _case(tmp_path, TWO_MODELS, "{model: PDO-A, model_type: organoid}")
    result = import_case(sqlite_workspace, case_dir)
    assert result.written
    stored = sqlite_workspace.table("drug_screen", samples=["DSRCT-901-T1"])
    assert stored["sample_id"].unique().tolist() == ["DSRCT-901-T1"]
    expected = read(TWO_MODELS, model="PDO-A", model_type="organoid")
    pd.testing.assert_frame_equal(
        stored.drop(columns="sample_id").reset_index(drop=True), expected, check_dtype=False)
    assert_contract(stored.drop(columns="sample_id"))
    with sqlite_workspace.session() as s:
        assay = s.scalars(select(Assay).where(Assay.layer == "drug_screen")).one()
        assert assay.format == "drug_screen" and assay.tool == "CellTiter-Glo 3D"
        assert assay.store_tables == {"drug_screen": 3}
        assert assay.qc["drug_screen"]["readout"] == "viability"
    # re-importing the same case is a no-op
    assert import_case(sqlite_workspace, case_dir).plan.is_noop


def test_import_names_the_model_after_the_sample(sqlite_workspace: Workspace,
                                                 tmp_path: Path) -> None:
    import_case(sqlite_workspace, _case(tmp_path, SCREEN))
    stored = sqlite_workspace.table("drug_screen", samples=["DSRCT-901-T1"])
    assert stored["model"].unique().tolist() == ["DSRCT-901-T1"]
    assert stored["drug"].tolist() == SCREEN_DRUGS


def test_import_of_a_bad_screen_writes_nothing(sqlite_workspace: Workspace,
                                               tmp_path: Path) -> None:
    bad = write(tmp_path, "drug_screen.csv",
                SCREEN.read_text().replace("P1,B03,Pazopanib hydrochloride,100,1,6200",
                                           "P1,B03,Pazopanib hydrochloride,100,1,saturated"))
    case_dir = _case(tmp_path, bad)
    before = _counts(sqlite_workspace)
    with pytest.raises(CaseValidationError) as info:
        import_case(sqlite_workspace, case_dir)
    message = str(info.value)
    assert "drug_screen.csv:8" in message and "column 'signal'" in message
    assert "'saturated' is not a number" in message and "Nothing was written." in message
    assert _counts(sqlite_workspace) == before


def test_import_refuses_unknown_options(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    case_dir = _case(tmp_path, SCREEN, "{modle: PDO-1}")
    with pytest.raises(CaseValidationError) as info:
        import_case(sqlite_workspace, case_dir)
    assert "unknown option(s) modle" in str(info.value)

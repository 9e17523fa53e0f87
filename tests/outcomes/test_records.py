"""Outcome records: template reader, cBioPortal timelines, atomic import, tidy reads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from tumorboard.errors import InputError
from tumorboard.io.outcomes import read_cbioportal_timeline, read_template
from tumorboard.outcomes import records
from tumorboard.registry.db import transaction
from tumorboard.registry.models import ClinicalEvent, Patient, TherapyLine

PATIENTS = """patient,sex,year_of_birth,histology,oncotree_code,diagnosis_date
P1,male,1990,Desmoplastic small round cell tumour,DSRCT,2019-01-10
P2,female,1961,Leiomyosarcoma,LMS,2015-06-01
"""
LINES = """patient,line,regimen,agents,modality,intent,start,stop,stop_reason,progression,mtb_guided
P1,1,"VDC/IE, 14 cycles",vincristine;doxorubicin;cyclophosphamide,chemotherapy,curative,2019-02-01,2019-09-30,completed,2020-03-01,no
P1,2,T-DXd,trastuzumab deruxtecan,antibody_drug_conjugate,palliative,2020-03-20,2021-01-15,progression,2021-01-15,yes
P2,1,Doxorubicin,doxorubicin,chemotherapy,palliative,2016-01-05,2016-06-01,toxicity,,no
"""  # noqa: E501
LAT = """patient,date,modality,technique,site,organ,lesion_count,largest_diameter_mm,dose_per_fraction_gy,fractions,with_systemic
P2,2017-02-01,radiotherapy,SBRT,lung,lung,2,25,15,3,
P2,2017-02-01,surgery,metastasectomy,extrapulmonary,liver,1,18,,,
"""  # noqa: E501
EVENTS = """patient,date,kind,detail
P1,2021-06-01,death,
P2,2018-01-10,progression,new lung nodules
P2,2020-05-05,last_followup,
"""


def _write(tmp: Path, **tables: str) -> list[Path]:
    paths = []
    for name, text in tables.items():
        p = tmp / f"{name}.csv"
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths


def _import(ws, paths):
    recs = read_template(paths)
    with transaction(ws.engine) as s:
        return records.import_records(s, recs)


def test_template_reads_quoted_cells_dates_lists_and_choices(tmp_path: Path) -> None:
    recs = read_template(_write(tmp_path, lines=LINES))
    lines = recs["lines"]
    assert lines["regimen"].iloc[0] == "VDC/IE, 14 cycles"
    assert lines["agents"].iloc[0] == ["vincristine", "doxorubicin", "cyclophosphamide"]
    assert lines["start"].iloc[1] == pd.Timestamp("2020-03-20")
    assert pd.isna(lines["progression"].iloc[2])
    assert lines["mtb_guided"].tolist() == [False, True, False]
    assert lines["source_line"].tolist() == [2, 3, 4]


def test_template_refuses_ambiguous_dates_with_line_and_column(tmp_path: Path) -> None:
    bad = LINES.replace("2020-03-20", "20/03/2020")
    with pytest.raises(InputError) as err:
        read_template(_write(tmp_path, lines=bad))
    assert err.value.line == 3 and err.value.column == "start"
    assert "YYYY-MM-DD" in err.value.message


def test_template_refuses_unknown_modality_and_table(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="one of: chemotherapy"):
        read_template(_write(tmp_path, lines=LINES.replace("antibody_drug_conjugate",
                                                           "magic")))
    with pytest.raises(InputError, match="not a table of the outcomes template"):
        read_template(_write(tmp_path, therapies=LINES))


def test_excel_workbook_reads_every_sheet_with_row_numbers(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "lines"
    ws.append(["patient", "line", "regimen", "modality", "start", "stop"])
    ws.append(["P1", 1, "P6", "chemotherapy", dt.datetime(2019, 2, 1), None])
    ws.append(["P1", 2, "pazopanib", "targeted_therapy", dt.datetime(2019, 1, 1),
               dt.datetime(2018, 12, 1)])
    ev = wb.create_sheet("README")
    ev.append(["anything"])
    p = tmp_path / "registry.xlsx"
    wb.save(p)
    recs = read_template([p])
    assert recs["lines"]["start"].iloc[0] == pd.Timestamp("2019-02-01")
    with pytest.raises(InputError) as err:
        records.validate(recs)
    assert err.value.line == 3 and err.value.column == "stop"
    assert "registry.xlsx[lines]" in err.value.message


def test_import_creates_patients_and_is_idempotent(workspace, tmp_path: Path) -> None:
    paths = _write(tmp_path, patients=PATIENTS, lines=LINES, local_therapies=LAT,
                   events=EVENTS)
    first = _import(workspace, paths)
    assert first["rows"] == {"lines": 3, "local_therapies": 2, "events": 3}
    _import(workspace, paths)
    with workspace.session() as s:
        assert s.scalar(select(func.count()).select_from(TherapyLine)) == 3
        assert s.scalar(select(func.count()).select_from(Patient)) == 2
        lines = records.lines_table(s)
        follow = records.followup_table(s).set_index("patient")
        lat = records.local_therapy_table(s)
    assert lines["mtb_guided"].tolist() == [False, True, False]
    assert follow.loc["P1", "death"] == pd.Timestamp("2021-06-01")
    assert follow.loc["P2", "last_followup"] == pd.Timestamp("2020-05-05")
    sbrt = lat[lat["technique"] == "SBRT"].iloc[0]
    assert sbrt["total_dose_gy"] == pytest.approx(45.0)
    assert sbrt["bed_gy"] > sbrt["eqd2_gy"] > sbrt["total_dose_gy"]


def test_record_after_death_fails_and_writes_nothing(workspace, tmp_path: Path) -> None:
    bad = EVENTS.replace("P1,2021-06-01,death", "P1,2020-12-01,death")
    paths = _write(tmp_path, patients=PATIENTS, lines=LINES, events=bad)
    with pytest.raises(InputError) as err:
        _import(workspace, paths)
    assert "after the death on 2020-12-01" in err.value.message
    assert err.value.column in ("stop", "progression")
    with workspace.session() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 0
        assert s.scalar(select(func.count()).select_from(ClinicalEvent)) == 0


def test_unknown_patient_is_refused(workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'P1' is not in the registry"):
        _import(workspace, _write(tmp_path, lines=LINES))


def test_duplicate_line_is_refused(tmp_path: Path) -> None:
    recs = read_template(_write(tmp_path, lines=LINES + LINES.splitlines()[1] + "\n"))
    with pytest.raises(InputError, match="a second row for patient P1, line 1") as err:
        records.validate(recs)
    assert err.value.line == 5


def test_lat_cohort_derives_times_and_systemic_flag(workspace, tmp_path: Path) -> None:
    _import(workspace, _write(tmp_path, patients=PATIENTS, lines=LINES, local_therapies=LAT,
                              events=EVENTS))
    with workspace.session() as s:
        lat = records.lat_cohort(s)
    row = lat.set_index("patient").loc["P2"]
    assert row["os_days"] == (pd.Timestamp("2020-05-05") - pd.Timestamp("2017-02-01")).days
    assert not row["os_event"]
    assert row["pfs_days"] == (pd.Timestamp("2018-01-10") - pd.Timestamp("2017-02-01")).days
    assert row["pfs_event"]
    assert row["lesion_count"] == 3 and row["largest_diameter_mm"] == 25
    # the last treatment before the LAT stopped on 2016-06-01
    assert row["treatment_free_interval_months"] == pytest.approx(245 / 30.4375)
    assert not row["systemic_with_lat"]
    assert row["age"] == pytest.approx((pd.Timestamp("2017-02-01")
                                        - pd.Timestamp("1961-07-01")).days / 365.25)


def test_cbioportal_timeline_lines_and_progression(tmp_path: Path) -> None:
    p = tmp_path / "data_timeline_treatment.txt"
    p.write_text("PATIENT_ID\tSTART_DATE\tSTOP_DATE\tEVENT_TYPE\tTREATMENT_TYPE\tSUBTYPE\tAGENT\n"
                 "P1\t20\t200\tTREATMENT\tMedical Therapy\tChemotherapy\t"
                 "Vincristine+Doxorubicin\n"
                 "P1\t420\t\tTREATMENT\tMedical Therapy\tTargeted\tPazopanib\n"
                 "P1\t430\t\tTREATMENT\tMedical Therapy\t\tInvestigational\n")
    q = tmp_path / "data_timeline_status.txt"
    q.write_text("PATIENT_ID\tSTART_DATE\tSTOP_DATE\tEVENT_TYPE\tSTATUS\n"
                 "P1\t400\t\tSTATUS\tProgression\n"
                 "P1\t900\t\tSTATUS\tDeceased\n")
    recs = read_cbioportal_timeline([p, q], {"P1": dt.date(2019, 1, 1)})
    lines = recs["lines"]
    # a medical therapy without a subtype is not guessed to be chemotherapy
    assert lines["modality"].tolist() == ["chemotherapy", "targeted_therapy", "other_systemic"]
    assert lines["agents"].iloc[0] == ["Vincristine", "Doxorubicin"]
    assert lines["progression"].iloc[0] == pd.Timestamp("2019-01-01") + pd.Timedelta(days=400)
    assert pd.isna(lines["progression"].iloc[1])
    assert lines["line"].tolist() == [1, 2, 3]
    assert recs["events"]["kind"].tolist() == ["progression", "death"]
    with pytest.raises(InputError, match="no anchor date for patient 'P1'"):
        read_cbioportal_timeline([p], {})

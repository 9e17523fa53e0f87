"""Entering outcome records one at a time: lines, events, RECIST assessments, plasma
samples and local therapies, checked as an import, with an audit entry per entry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.outcomes.test_records import EVENTS, LINES, PATIENTS, _import, _write
from tumorboard.errors import InputError, NotFoundError
from tumorboard.outcomes import records
from tumorboard.registry.db import transaction
from tumorboard.registry.models import (
    AuditEntry,
    LocalTherapy,
    PlasmaMeasurement,
    RecistMeasurement,
    TherapyLine,
)


@pytest.fixture
def ws(sqlite_workspace, tmp_path: Path):
    _import(sqlite_workspace, _write(tmp_path, patients=PATIENTS, lines=LINES, events=EVENTS))
    return sqlite_workspace


def _count(ws, model) -> int:
    with ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def _audit(ws, action: str) -> list[AuditEntry]:
    with ws.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


def _lesions(date: str, sizes: dict[str, float], line: int = 2) -> list[dict]:
    return [{"patient": "P1", "assessment_date": date, "lesion_id": k, "kind": "target",
             "site": "liver", "diameter_mm": v, "line": line} for k, v in sizes.items()]


def test_recist_assessment_replaces_rows_of_the_same_date_with_audit(ws) -> None:
    records.add_outcome(ws, "recist", _lesions("2020-03-18", {"L1": 30, "L2": 20}))
    records.add_outcome(ws, "recist", _lesions("2020-06-18", {"L1": 20, "L2": 10}))
    out = records.add_outcome(ws, "recist", _lesions("2020-06-18", {"L1": 18, "L2": 9}))
    assert _count(ws, RecistMeasurement) == 4
    assert [r["diameter_mm"] for r in out["replaced"]] == [20.0, 10.0]
    assert [r["diameter_mm"] for r in out["added"]] == [18.0, 9.0]
    entries = _audit(ws, "outcomes.add_recist")
    assert len(entries) == 3 and entries[0].before is None
    assert entries[0].entity == "recist_measurements"
    assert entries[-1].before["rows"][0]["diameter_mm"] == 20.0
    assert entries[-1].after["rows"][1]["lesion_id"] == "L2"
    assert repr(entries[-1].after["rows"][1]["line"]) == "2"  # the line number, not 2.0
    with ws.session() as s:
        from tumorboard.outcomes.cohort import recist_responses

        resp = recist_responses(records.recist_table(s, ["P1"]))
    assert resp["overall"].tolist() == ["baseline", "PR"]  # 50 -> 27 mm: -46 %


def test_plasma_sample_with_several_variants(ws) -> None:
    rows = [{"patient": "P1", "sample": "PL1", "collected": dt.date(2020, 4, 1),
             "variant": v, "alt_reads": 12, "depth": 5000, "tumour_vaf": 0.4}
            for v in ("chr1:100A>T", "chr2:200G>C")]
    out = records.add_outcome(ws, "plasma", rows)
    assert len(out["added"]) == 2 and _count(ws, PlasmaMeasurement) == 2
    rows[0]["alt_reads"] = 6000
    with pytest.raises(InputError, match="6000 alt reads but depth 5000"):
        records.add_outcome(ws, "plasma", rows)
    assert _count(ws, PlasmaMeasurement) == 2
    assert len(_audit(ws, "outcomes.add_plasma")) == 1


def test_local_therapy_and_event_entries(ws) -> None:
    records.add_outcome(ws, "local_therapies", {
        "patient": "P2", "date": "2017-02-01", "modality": "radiotherapy", "site": "lung",
        "lesion_count": 1, "dose_per_fraction_gy": 15, "fractions": 3})
    assert _count(ws, LocalTherapy) == 1
    records.add_outcome(ws, "events", {"patient": "P2", "date": "2019-01-01",
                                       "kind": "recurrence", "detail": "liver"})
    assert len(_audit(ws, "outcomes.add_event")) == 1
    assert len(_audit(ws, "outcomes.add_local_therapy")) == 1


@pytest.mark.parametrize(("row", "message"), [
    ({"start": "2021-13-01"}, "lines row 1, column 'start': '2021-13-01' is not valid"),
    ({"modality": "magic"}, "column 'modality': 'magic' is not valid here (expected one of"),
    ({"stop": "2020-01-01"}, "stop 2020-01-01 is before the start 2021-02-01"),
    ({"regimen": ""}, "column 'regimen': value is missing"),
    ({"line": "1.5"}, "a whole number >= 0"),
    ({"recommendation_id": 999999}, "recommendation 999999 is not one of patient"),
])
def test_bad_line_is_refused_and_nothing_written(ws, row, message) -> None:
    good = {"patient": "P1", "line": 3, "regimen": "pazopanib", "modality": "targeted_therapy",
            "start": "2021-02-01"}
    before = _count(ws, TherapyLine)
    with pytest.raises(InputError) as err:
        records.add_outcome(ws, "lines", good | row)
    assert message in err.value.message
    assert _count(ws, TherapyLine) == before
    assert _audit(ws, "outcomes.add_line") == []


def test_entry_needs_one_patient_one_date_and_a_known_patient(ws) -> None:
    rows = _lesions("2020-03-18", {"L1": 30}) + _lesions("2020-04-18", {"L1": 30})
    with pytest.raises(InputError, match="need the same assessment_date"):
        records.add_outcome(ws, "recist", rows)
    with pytest.raises(NotFoundError):
        records.add_outcome(ws, "events", {"patient": "NOBODY", "date": "2020-01-01",
                                           "kind": "death"})
    with pytest.raises(InputError, match="cannot enter 'patients' rows"):
        records.add_outcome(ws, "patients", {"patient": "P1"})
    with pytest.raises(InputError, match="no row given"):
        records.add_outcome(ws, "recist", [])


def test_inconsistent_recist_series_is_refused(ws) -> None:
    records.add_outcome(ws, "recist", _lesions("2020-03-18", {"L1": 30}))
    bad = [{"patient": "P1", "assessment_date": "2020-06-18", "lesion_id": "L1",
            "kind": "non_target", "line": 2}]
    with pytest.raises(InputError):
        records.add_outcome(ws, "recist", bad)
    assert _count(ws, RecistMeasurement) == 1


def test_line_replaces_by_number_and_keeps_the_others(ws) -> None:
    out = records.add_outcome(ws, "lines", {
        "patient": "P1", "line": 2, "regimen": "T-DXd", "agents": "trastuzumab deruxtecan",
        "modality": "antibody_drug_conjugate", "start": dt.date(2020, 3, 20),
        "progression": "2021-02-01", "mtb_guided": True})
    assert out["replaced"][0]["progression"] == "2021-01-15"
    assert out["added"][0]["agents"] == ["trastuzumab deruxtecan"]
    assert out["implemented"] == []
    with transaction(ws.engine) as s:
        lines = records.lines_table(s, ["P1"])
    assert lines["line"].tolist() == [1, 2]
    assert lines["progression"].iloc[1] == dt.datetime(2021, 2, 1)


def test_entry_must_agree_with_the_patients_other_tables(sqlite_workspace,
                                                         tmp_path: Path) -> None:
    """P1's lines run to 2021-01-15: a death before that is refused, nothing written."""
    ws = sqlite_workspace
    _import(ws, _write(tmp_path, patients=PATIENTS, lines=LINES))
    with pytest.raises(InputError, match="lines stop 2021-01-15 is after the death on "
                                         "2020-12-01"):
        records.add_outcome(ws, "events", {"patient": "P1", "date": "2020-12-01",
                                           "kind": "death"})
    with ws.session() as s:
        assert records.events_table(s, ["P1"]).empty
    assert _audit(ws, "outcomes.add_event") == []


@pytest.mark.parametrize(("value", "message"), [
    ("0001-01-01", "a date from 1900-01-01 to 2199-12-31"),
    (dt.date(2300, 1, 1), "a date from 1900-01-01"),
])
def test_implausible_dates_are_refused(ws, value, message) -> None:
    with pytest.raises(InputError, match=message):
        records.add_outcome(ws, "events", {"patient": "P2", "date": value,
                                           "kind": "progression"})


def test_text_with_nul_or_too_long_is_refused(ws) -> None:
    row = {"patient": "P2", "date": "2019-01-01", "kind": "progression"}
    with pytest.raises(InputError, match="without NUL characters"):
        records.add_outcome(ws, "events", row | {"detail": "new\x00lesion"})
    with pytest.raises(InputError, match="at most 64 characters"):
        records.add_outcome(ws, "recist", {"patient": "P2", "assessment_date": "2019-01-01",
                                           "lesion_id": "L" * 65, "kind": "target",
                                           "diameter_mm": 12})

"""Outcome records in the registry: checks across tables, atomic import, tidy reads.

Import (:func:`import_records`) takes the tables read by :mod:`tumorboard.io.outcomes`,
checks them against each other and the registry (:func:`validate`) and writes them in one
transaction: for every patient a table names, that patient's rows of that table are
replaced, so re-importing the same file changes nothing and a corrected file replaces
what it corrects. Nothing is written when any check fails.

The reads return the tables of the conventions in :mod:`tumorboard.outcomes`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tumorboard import reference
from tumorboard.errors import InputError, NotFoundError
from tumorboard.io.outcomes import SYSTEMIC_MODALITIES, OutcomeRecords
from tumorboard.outcomes import DAYS_PER_MONTH
from tumorboard.registry import audit
from tumorboard.registry.models import (
    ClinicalEvent,
    Diagnosis,
    LocalTherapy,
    Patient,
    PlasmaMeasurement,
    RecistMeasurement,
    Recommendation,
    TherapyLine,
)

#: Days around a local ablative therapy within which a systemic line counts as given "with"
#: it (our operational definition of LAT with complementary systemic therapy, for
#: registries that do not record it; the template's ``with_systemic`` overrides it).
SYSTEMIC_WINDOW_DAYS = 90

#: Registry model and key columns of each template table.
_KEYS = {
    "lines": ("patient", "line"),
    "local_therapies": ("patient", "date", "modality", "site"),
    "recist": ("patient", "assessment_date", "lesion_id"),
    "events": ("patient", "date", "kind"),
    "plasma": ("patient", "sample", "variant"),
}
_MODELS: dict[str, Any] = {"lines": TherapyLine, "local_therapies": LocalTherapy,
                           "recist": RecistMeasurement, "events": ClinicalEvent,
                           "plasma": PlasmaMeasurement}


def _where(records: OutcomeRecords, name: str, row: Any) -> dict[str, Any]:
    return {"file": records.sources.get(name), "line": int(row.source_line)
            if not pd.isna(getattr(row, "source_line", np.nan)) else None}


def _d(value: Any) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def validate(records: OutcomeRecords, *, registry_deaths: dict[str, dt.date] | None = None
             ) -> None:
    """Checks across rows and tables; raises the first problem found.

    Raises
    ------
    InputError
        A duplicate key (two line 2 of one patient), stop or progression before start,
        a record dated after the patient's death, two different death dates, more alt reads
        than depth, radiotherapy dose without fractions (file, line and column named).
    """
    for name, keys in _KEYS.items():
        df = records.tables.get(name)
        if df is None or df.empty:
            continue
        dup = df.duplicated(list(keys), keep="first")
        if dup.any():
            row = next(df[dup].itertuples())
            raise InputError(
                f"{name}: a second row for " + ", ".join(
                    f"{k} {_fmt(getattr(row, k))}" for k in keys),
                **_where(records, name, row), column=keys[-1],
                fix="merge the rows or correct the key")
    lines = records["lines"]
    for row in lines.itertuples():
        for col in ("stop", "progression"):
            value = getattr(row, col)
            if not pd.isna(value) and value < row.start:
                raise InputError(
                    f"patient '{row.patient}' line {int(row.line)}: {col} "
                    f"{_fmt(value)} is before the start {_fmt(row.start)}",
                    **_where(records, "lines", row), column=col,
                    fix="correct the dates (a zero-length line has the same start and stop)")
    deaths = dict(registry_deaths or {})
    events = records["events"]
    for row in events[events["kind"] == "death"].itertuples():
        day = _d(row.date)
        if row.patient in deaths and deaths[row.patient] != day:
            raise InputError(
                f"patient '{row.patient}' has two death dates ({deaths[row.patient]} and "
                f"{day})", **_where(records, "events", row), column="date",
                fix="keep the correct one")
        deaths[row.patient] = day
    dated = {"lines": ("start", "stop", "progression"), "local_therapies": ("date",),
             "recist": ("assessment_date",), "events": ("date",), "plasma": ("collected",)}
    for name, cols in dated.items():
        df = records[name]
        if df.empty or not deaths:
            continue
        death = df["patient"].map(deaths)
        for col in cols:
            after = pd.to_datetime(df[col]) > pd.to_datetime(death)
            if name == "events":
                after &= df["kind"] != "death"
            if after.any():
                row = next(df[after].itertuples())
                raise InputError(
                    f"patient '{row.patient}': {name} {col} {_fmt(getattr(row, col))} is "
                    f"after the death on {deaths[row.patient]}",
                    **_where(records, name, row), column=col,
                    fix="correct the date, or the death date in the events table")
    plasma = records["plasma"]
    bad = plasma["alt_reads"] > plasma["depth"]
    if bad.any():
        row = next(plasma[bad].itertuples())
        raise InputError(f"sample '{row.sample}' variant {row.variant}: {int(row.alt_reads)} "
                         f"alt reads but depth {int(row.depth)}",
                         **_where(records, "plasma", row), column="alt_reads",
                         sample=row.sample, fix="alt reads are part of the depth")
    lat = records["local_therapies"]
    half = lat["dose_per_fraction_gy"].isna() != lat["fractions"].isna()
    if half.any():
        row = next(lat[half].itertuples())
        raise InputError(f"patient '{row.patient}' local therapy on {_fmt(row.date)}: give "
                         "both dose per fraction and fractions, or neither",
                         **_where(records, "local_therapies", row),
                         column="fractions" if pd.isna(row.fractions)
                         else "dose_per_fraction_gy",
                         fix="e.g. 5 x 5 Gy: dose_per_fraction_gy 5, fractions 5")


def _fmt(value: Any) -> str:
    if isinstance(value, pd.Timestamp | dt.date):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def import_records(session: Session, records: OutcomeRecords, *, source: str = "template"
                   ) -> dict[str, Any]:
    """Validate and write outcome records in the caller's transaction (all or nothing).

    Patients must be in the registry or in the records' ``patients`` table (which creates
    the missing ones with their diagnosis).

    Raises
    ------
    InputError
        Any check of :func:`validate`; an unknown patient; a recommendation id that is not
        one of the patient's recommendations; an unknown OncoTree code.
    """
    ids = _resolve_patients(session, records, source)
    deaths = dict(session.execute(
        select(Patient.pseudonym, ClinicalEvent.event_date)
        .join(ClinicalEvent, ClinicalEvent.patient_id == Patient.id)
        .where(ClinicalEvent.kind == "death")).all())
    # the file replaces what the registry holds for the patients it names
    replaced = set(records["events"]["patient"])
    validate(records, registry_deaths={p: d for p, d in deaths.items() if p not in replaced})
    lines = records["lines"]
    recs = lines.dropna(subset=["recommendation_id"])
    if len(recs):
        owner = dict(session.execute(
            select(Recommendation.id, Recommendation.patient_id)
            .where(Recommendation.id.in_([int(x) for x in recs["recommendation_id"]]))).all())
        for row in recs.itertuples():
            if owner.get(int(row.recommendation_id)) != ids[row.patient]:
                raise InputError(
                    f"recommendation {int(row.recommendation_id)} is not one of patient "
                    f"'{row.patient}''s recommendations",
                    **_where(records, "lines", row), column="recommendation_id",
                    fix="see `tumorboard recommend show PATIENT --json` for the ids")
    counts: dict[str, int] = {}
    for name, model in _MODELS.items():
        df = records.tables.get(name)
        if df is None or df.empty:
            continue
        pids = sorted({ids[p] for p in df["patient"]})
        session.execute(delete(model).where(model.patient_id.in_(pids)))
        session.add_all(_rows(name, df, ids, source))
        counts[name] = len(df)
    session.flush()
    return {"patients": len(records.patients()), "rows": counts}


def _resolve_patients(session: Session, records: OutcomeRecords, source: str
                      ) -> dict[str, int]:
    named = records.patients()
    known = dict(session.execute(select(Patient.pseudonym, Patient.id)
                                 .where(Patient.pseudonym.in_(named))).all())
    for row in records["patients"].itertuples():
        if row.patient in known:
            continue
        try:
            code = reference.tumour_type(row.oncotree_code).code
        except InputError as exc:
            raise InputError(exc.problem, **_where(records, "patients", row),
                             column="oncotree_code", fix=exc.fix) from None
        patient = Patient(pseudonym=row.patient, sex=row.sex,
                          year_of_birth=None if pd.isna(row.year_of_birth)
                          else int(row.year_of_birth))
        patient.diagnoses.append(Diagnosis(
            histology=row.histology, oncotree_code=code,
            oncotree_version=reference.ONCOTREE_VERSION,
            diagnosis_date=_d(row.diagnosis_date), source=f"outcomes {source}"))
        session.add(patient)
        session.flush()
        known[row.patient] = patient.id
    for name, df in records.tables.items():
        missing = df[~df["patient"].isin(list(known))]
        if len(missing):
            row = next(missing.itertuples())
            raise InputError(
                f"patient '{row.patient}' is not in the registry",
                **_where(records, name, row), column="patient",
                fix="import the patient's case first, or add the patient to the template's "
                    "patients table")
    return known


def _none(value: Any) -> Any:
    return None if value is None or (not isinstance(value, list) and pd.isna(value)) else value


def _rows(name: str, df: pd.DataFrame, ids: dict[str, int], source: str) -> Iterable[Any]:
    for r in df.itertuples():
        pid = ids[r.patient]
        if name == "lines":
            rec = _none(r.recommendation_id)
            yield TherapyLine(
                patient_id=pid, line_number=int(r.line), regimen=r.regimen,
                agents=list(r.agents or []), modality=r.modality,
                intent=_none(r.intent) or "unknown", start_date=_d(r.start),
                stop_date=_d(r.stop), stop_reason=_none(r.stop_reason),
                progression_date=_d(r.progression),
                recommendation_id=None if rec is None else int(rec),
                mtb_guided=bool(_none(r.mtb_guided)) or rec is not None, source=source)
        elif name == "local_therapies":
            yield LocalTherapy(
                patient_id=pid, therapy_date=_d(r.date), modality=r.modality,
                technique=_none(r.technique), site=r.site, organ=_none(r.organ),
                lesion_count=int(r.lesion_count),
                largest_diameter_mm=_none(r.largest_diameter_mm),
                dose_per_fraction_gy=_none(r.dose_per_fraction_gy),
                fractions=None if pd.isna(r.fractions) else int(r.fractions),
                with_systemic=_none(r.with_systemic), source=source)
        elif name == "recist":
            yield RecistMeasurement(
                patient_id=pid, assessment_date=_d(r.assessment_date), lesion_id=r.lesion_id,
                kind=r.kind, site=_none(r.site), lymph_node=bool(_none(r.lymph_node)),
                diameter_mm=_none(r.diameter_mm), status=_none(r.status),
                line_number=None if pd.isna(r.line) else int(r.line), source=source)
        elif name == "events":
            yield ClinicalEvent(patient_id=pid, event_date=_d(r.date), kind=r.kind,
                                detail=_none(r.detail), source=source)
        else:
            yield PlasmaMeasurement(
                patient_id=pid, sample_key=r.sample, collected=_d(r.collected),
                variant=r.variant, alt_reads=int(r.alt_reads), depth=int(r.depth),
                tumour_vaf=_none(r.tumour_vaf), background_error=_none(r.background_error),
                source=source)


# ------------------------------------------------------------------------------ reads


def _frame(rows: list[dict[str, Any]], columns: list[str], dates: Iterable[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    for c in dates:
        df[c] = pd.to_datetime(df[c])
    return df


def _patient_filter(stmt: Any, patients: Iterable[str] | None) -> Any:
    return stmt if patients is None else stmt.where(Patient.pseudonym.in_(list(patients)))


def lines_table(session: Session, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """Therapy lines in the ``lines`` convention of :mod:`tumorboard.outcomes`."""
    t = TherapyLine  # columns, not ORM objects: a registry-wide read stays fast
    stmt = _patient_filter(select(
        Patient.pseudonym, t.line_number, t.regimen, t.agents, t.modality, t.intent,
        t.start_date, t.stop_date, t.stop_reason, t.progression_date, t.recommendation_id,
        t.mtb_guided).join(t, t.patient_id == Patient.id), patients)
    rows = [{"patient": r.pseudonym, "line": r.line_number, "regimen": r.regimen,
             "agents": ";".join(r.agents), "modality": r.modality, "intent": r.intent,
             "start": r.start_date, "stop": r.stop_date, "stop_reason": r.stop_reason,
             "progression": r.progression_date, "recommendation_id": r.recommendation_id,
             "mtb_guided": bool(r.mtb_guided), "systemic": r.modality in SYSTEMIC_MODALITIES}
            for r in session.execute(stmt.order_by(Patient.pseudonym, t.line_number))]
    cols = ["patient", "line", "regimen", "agents", "modality", "intent", "start", "stop",
            "stop_reason", "progression", "recommendation_id", "mtb_guided", "systemic"]
    df = _frame(rows, cols, ("start", "stop", "progression"))
    df["recommendation_id"] = df["recommendation_id"].astype("Int64")
    return df


def events_table(session: Session, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """Clinical events: patient, date, kind, detail."""
    e = ClinicalEvent
    stmt = _patient_filter(select(Patient.pseudonym, e.event_date, e.kind, e.detail).join(
        e, e.patient_id == Patient.id), patients)
    rows = [{"patient": r.pseudonym, "date": r.event_date, "kind": r.kind, "detail": r.detail}
            for r in session.execute(stmt.order_by(Patient.pseudonym, e.event_date))]
    return _frame(rows, ["patient", "date", "kind", "detail"], ("date",))


def followup_table(session: Session, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per patient with outcome records: patient, last_followup, death.

    ``last_followup`` is the latest date the registry knows the patient alive or dead: the
    latest of the last-follow-up events and every recorded date (a line, an assessment, a
    plasma sample is a contact too) — the usual convention for the censoring date.
    """
    lines = lines_table(session, patients)
    events = events_table(session, patients)
    dates = [events[["patient", "date"]]]
    for c in ("start", "stop", "progression"):
        dates.append(lines[["patient", c]].rename(columns={c: "date"}))
    for table, col in ((LocalTherapy, LocalTherapy.therapy_date),
                       (RecistMeasurement, RecistMeasurement.assessment_date),
                       (PlasmaMeasurement, PlasmaMeasurement.collected)):
        stmt = _patient_filter(select(Patient.pseudonym, col).join(
            table, table.patient_id == Patient.id), patients)
        dates.append(pd.DataFrame(session.execute(stmt).all(), columns=["patient", "date"]))
    every = pd.concat([d for d in dates if len(d)], ignore_index=True) if any(
        len(d) for d in dates) else pd.DataFrame(columns=["patient", "date"])
    every["date"] = pd.to_datetime(every["date"])
    out = every.dropna().groupby("patient", as_index=False)["date"].max().rename(
        columns={"date": "last_followup"})
    death = events[events["kind"] == "death"].groupby("patient")["date"].min()
    out["death"] = pd.to_datetime(out["patient"].map(death))
    return out


def local_therapy_table(session: Session, patients: Iterable[str] | None = None
                        ) -> pd.DataFrame:
    """Local ablative therapies with the patient's histology, and BED/EQD2 for radiotherapy
    (:func:`tumorboard.outcomes.radiotherapy.schedule_table`)."""
    stmt = _patient_filter(select(Patient.pseudonym, LocalTherapy).join(
        LocalTherapy, LocalTherapy.patient_id == Patient.id), patients)
    rows = [{"patient": p, "date": t.therapy_date, "modality": t.modality,
             "technique": t.technique, "site": t.site, "organ": t.organ,
             "lesion_count": t.lesion_count, "largest_diameter_mm": t.largest_diameter_mm,
             "dose_per_fraction_gy": t.dose_per_fraction_gy, "fractions": t.fractions,
             "with_systemic": t.with_systemic}
            for p, t in session.execute(stmt.order_by(Patient.pseudonym,
                                                      LocalTherapy.therapy_date))]
    cols = ["patient", "date", "modality", "technique", "site", "organ", "lesion_count",
            "largest_diameter_mm", "dose_per_fraction_gy", "fractions", "with_systemic"]
    df = _frame(rows, cols, ("date",))
    df["histology"] = df["patient"].map(_histologies(session, set(df["patient"])))
    return _with_dose(df)


def _with_dose(df: pd.DataFrame) -> pd.DataFrame:
    from tumorboard.outcomes.radiotherapy import schedule_table

    rt = df["dose_per_fraction_gy"].notna() & df["fractions"].notna()
    for c in ("total_dose_gy", "alpha_beta_gy", "bed_gy", "eqd2_gy"):
        df[c] = np.nan
    if rt.any():
        sched = schedule_table(df.loc[rt, ["dose_per_fraction_gy", "fractions", "histology"]]
                               .reset_index(drop=True))
        for c in ("total_dose_gy", "alpha_beta_gy", "bed_gy", "eqd2_gy"):
            df.loc[rt, c] = sched[c].to_numpy()
    return df


def _histologies(session: Session, patients: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    stmt = (select(Patient.pseudonym, Diagnosis.oncotree_code)
            .join(Diagnosis, Diagnosis.patient_id == Patient.id)
            .where(Patient.pseudonym.in_(list(patients))).order_by(Diagnosis.id))
    for p, code in session.execute(stmt):
        out[p] = code  # the latest diagnosis wins
    return out


def recist_table(session: Session, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """Lesion measurements in the shape :mod:`tumorboard.outcomes.recist` reads."""
    stmt = _patient_filter(select(Patient.pseudonym, RecistMeasurement).join(
        RecistMeasurement, RecistMeasurement.patient_id == Patient.id), patients)
    rows = [{"patient": p, "assessment_date": m.assessment_date, "lesion_id": m.lesion_id,
             "kind": m.kind, "site": m.site, "lymph_node": bool(m.lymph_node),
             "diameter_mm": m.diameter_mm, "status": m.status, "line": m.line_number}
            for p, m in session.execute(stmt.order_by(
                Patient.pseudonym, RecistMeasurement.assessment_date,
                RecistMeasurement.lesion_id))]
    cols = ["patient", "assessment_date", "lesion_id", "kind", "site", "lymph_node",
            "diameter_mm", "status", "line"]
    df = _frame(rows, cols, ("assessment_date",))
    df["diameter_mm"] = df["diameter_mm"].astype(float)
    return df


def plasma_table(session: Session, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """Plasma reads per tracked variant in the shape :mod:`tumorboard.outcomes.ctdna` reads."""
    stmt = _patient_filter(select(Patient.pseudonym, PlasmaMeasurement).join(
        PlasmaMeasurement, PlasmaMeasurement.patient_id == Patient.id), patients)
    rows = [{"patient": p, "sample": m.sample_key, "collected": m.collected,
             "variant": m.variant, "alt_reads": m.alt_reads, "depth": m.depth,
             "tumour_vaf": m.tumour_vaf, "background_error": m.background_error}
            for p, m in session.execute(stmt.order_by(
                Patient.pseudonym, PlasmaMeasurement.collected, PlasmaMeasurement.variant))]
    cols = ["patient", "sample", "collected", "variant", "alt_reads", "depth", "tumour_vaf",
            "background_error"]
    return _frame(rows, cols, ("collected",))


def lat_cohort(session: Session, patients: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per patient with a local ablative therapy (LAT), time zero = the first LAT:
    the table :func:`tumorboard.outcomes.survival.subgroup_analyses` reads.

    Definitions (ours, for registries that record dates, documented in docs/outcomes.md):
    ``os`` LAT → death, censored at last follow-up; ``pfs`` LAT → first progression or
    recurrence after it (an event, a line's progression) or death; ``age`` at LAT from the
    year of birth (1 July assumed); ``treatment_free_interval_months`` from the end of the
    last treatment before the LAT (a line's stop or an earlier LAT), else from the
    diagnosis; ``systemic_with_lat`` the template's flag, else a systemic line running
    within :data:`SYSTEMIC_WINDOW_DAYS` of the LAT; ``systemic_start_days`` days from the
    LAT to the start of that line (0 when it was already running or when only the flag says
    so; NaN without systemic therapy).
    """
    lat = local_therapy_table(session, patients)
    cols = ["patient", "lat_date", "os_days", "os_event", "pfs_days", "pfs_event", "age",
            "histology", "treatment_free_interval_months", "site", "lat_modality",
            "lesion_count", "largest_diameter_mm", "systemic_with_lat", "systemic_start_days"]
    if lat.empty:
        return pd.DataFrame(columns=cols)
    who = set(lat["patient"])
    lines = lines_table(session, who)
    events = events_table(session, who)
    follow = followup_table(session, who).set_index("patient")
    info = dict(session.execute(select(Patient.pseudonym, Patient.year_of_birth)
                                .where(Patient.pseudonym.in_(list(who)))).all())
    diag = dict(session.execute(select(Patient.pseudonym, Diagnosis.diagnosis_date)
                                .join(Diagnosis, Diagnosis.patient_id == Patient.id)
                                .where(Patient.pseudonym.in_(list(who)))
                                .order_by(Diagnosis.id)).all())
    # split once: filtering the whole tables per patient is quadratic in registry size
    empty_lines, empty_events = lines.iloc[:0], events.iloc[:0]
    lines_of = dict(tuple(lines.groupby("patient")))
    events_of = dict(tuple(events.groupby("patient")))
    rows = []
    for patient, mine in lat.groupby("patient", sort=True):
        first = mine.sort_values("date").iloc[0]
        t0 = first["date"]
        death = follow.loc[patient, "death"]
        last = follow.loc[patient, "last_followup"]
        lp = lines_of.get(patient, empty_lines)
        ev = events_of.get(patient, empty_events)
        progs = pd.concat([ev.loc[ev["kind"].isin(["progression", "recurrence"]), "date"],
                           lp["progression"]]).dropna()
        progs = progs[progs > t0]
        end_os = death if pd.notna(death) else last
        pfs_end = min([d for d in (progs.min() if len(progs) else pd.NaT, death)
                       if pd.notna(d)], default=pd.NaT)
        before = pd.concat([lp.loc[lp["start"] < t0, "stop"],
                            mine.loc[mine["date"] < t0, "date"]]).dropna()
        before = before[before <= t0]
        since = before.max() if len(before) else pd.Timestamp(diag.get(patient)) \
            if diag.get(patient) else pd.NaT
        sl = lp[lp["systemic"]]
        window = pd.Timedelta(days=SYSTEMIC_WINDOW_DAYS)
        near = sl[(sl["start"] <= t0 + window) & (sl["stop"].fillna(last) >= t0 - window)]
        systemic = first["with_systemic"]
        if systemic is None or pd.isna(systemic):
            systemic = len(near) > 0
        # when the systemic therapy began, counted from the LAT (0 if already running): the
        # exposure time of a landmark analysis
        start_days = (float(max((near["start"].min() - t0).days, 0)) if systemic and len(near)
                      else 0.0 if systemic else np.nan)
        yob = info.get(patient)
        rows.append({
            "patient": patient, "lat_date": t0,
            "os_days": float((end_os - t0).days), "os_event": bool(pd.notna(death)),
            "pfs_days": float(((pfs_end if pd.notna(pfs_end) else last) - t0).days),
            "pfs_event": bool(pd.notna(pfs_end)),
            "age": np.nan if yob is None else (t0 - pd.Timestamp(yob, 7, 1)).days / 365.25,
            "histology": first["histology"],
            "treatment_free_interval_months": np.nan if pd.isna(since)
            else (t0 - since).days / DAYS_PER_MONTH,
            "site": first["site"], "lat_modality": first["modality"],
            "lesion_count": int(mine.loc[mine["date"] == t0, "lesion_count"].sum()),
            "largest_diameter_mm": mine.loc[mine["date"] == t0,
                                            "largest_diameter_mm"].max(),
            "systemic_with_lat": bool(systemic), "systemic_start_days": start_days})
    return pd.DataFrame(rows, columns=cols)


def patient_outcomes(session: Session, patient: str) -> dict[str, pd.DataFrame]:
    """Every outcome table of one patient (for ``outcomes show`` and the report).

    Raises
    ------
    NotFoundError
        The patient is not in the registry.
    """
    if session.scalar(select(Patient.id).where(Patient.pseudonym == patient)) is None:
        raise NotFoundError(f"patient '{patient}' is not in the registry")
    who = [patient]
    return {"lines": lines_table(session, who), "events": events_table(session, who),
            "local_therapies": local_therapy_table(session, who),
            "recist": recist_table(session, who), "plasma": plasma_table(session, who),
            "followup": followup_table(session, who)}


def outcome_sources(session: Session) -> set[str]:
    """The distinct ``source`` values of every outcome table."""
    seen: set[str] = set()
    for model in _MODELS.values():
        seen |= set(session.scalars(select(model.source).distinct()))
    return seen


def all_simulated(session: Session) -> bool:
    """Whether every outcome record came from the simulator (imported with source
    ``simulated``): pages built on them then say SIMULATED."""
    seen = outcome_sources(session)
    return bool(seen) and all(s.startswith("simulated") for s in seen)


def any_simulated(session: Session) -> bool:
    """Whether some outcome record came from the simulator: a figure drawn from the
    registry then mixes simulated and recorded data and must say so."""
    return any(s.startswith("simulated") for s in outcome_sources(session))


#: The tables one entry can add rows to, and the audit action of each entry.
ENTRY_ACTIONS = {"lines": "outcomes.add_line", "events": "outcomes.add_event",
                 "recist": "outcomes.add_recist", "plasma": "outcomes.add_plasma",
                 "local_therapies": "outcomes.add_local_therapy"}
#: What one entry replaces of the patient's rows, per table: the rows with the same values
#: of these columns (a RECIST assessment is all lesions of one date, a plasma sample all
#: its variants; lines, events and local therapies their template key).
_ENTRY_KEYS = {"lines": ("line",), "events": ("date", "kind"),
               "recist": ("assessment_date",), "plasma": ("sample",),
               "local_therapies": ("date", "modality", "site")}
#: Longest text the registry's columns hold (the others are unbounded ``Text``; 2,000
#: characters is more than any regimen or note needs).
_MAX_TEXT = {"lesion_id": 64, "status": 32, "technique": 64, "sample": 64, "variant": 128}
_MAX_TEXT_DEFAULT = 2000
#: Largest whole number a registry integer column holds (32-bit).
_MAX_INT = 2**31 - 1
#: Plausible dates of a patient's follow-up.
_FIRST_DAY, _LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)
_YES = frozenset({"yes", "y", "true", "1", "on"})
_NO = frozenset({"no", "n", "false", "0", "off"})


def _choice_key(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def entry_rows(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows entered by hand (a form, the API, the command line) as a typed template table,
    each value checked as :func:`tumorboard.io.outcomes.read_template` checks a file's cells:
    required values present, dates ISO 8601, numbers >= 0 (whole for counts), yes/no flags,
    values of a fixed vocabulary from it. Values may be typed (``date``, ``int``) or text.

    Raises
    ------
    InputError
        The first bad value, naming the table, the row (1-based) and the column.
    """
    from tumorboard.io.outcomes import TEMPLATE, typed_records

    if name not in ENTRY_ACTIONS:
        raise InputError(f"cannot enter '{name}' rows one by one",
                         expected=", ".join(ENTRY_ACTIONS),
                         fix="import the other tables from the template")
    if not rows:
        raise InputError(f"{name}: no row given", fix="fill in at least one row")
    out = []
    for i, row in enumerate(rows, start=1):
        where = f"{name} row {i}"
        typed: dict[str, Any] = {}
        for col in TEMPLATE[name]:
            typed[col.name] = _entry_value(row.get(col.name), col, where)
        out.append(typed)
    df = pd.DataFrame(out, columns=[c.name for c in TEMPLATE[name]])
    df.insert(0, "source_line", np.nan)
    return typed_records(df, name)


def _entry_value(value: Any, col: Any, where: str) -> Any:
    if isinstance(value, str):
        value = value.strip()
    missing = value is None or value == "" or (col.kind == "list" and value == [])
    if missing:
        if col.required:
            raise InputError("value is missing", file=where, column=col.name,
                             fix=f"fill in '{col.name}' (required)")
        return [] if col.kind == "list" else None

    def bad(expected: str) -> InputError:
        return InputError(f"'{value}' is not valid here", file=where, column=col.name,
                          expected=expected, fix="correct the value")

    if col.kind in ("str", "list"):
        text = ";".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        limit = _MAX_TEXT.get(col.name, _MAX_TEXT_DEFAULT)
        if "\x00" in text or len(text) > limit:
            value = text[:40] + ("…" if len(text) > 40 else "")
            raise bad(f"text of at most {limit} characters without NUL characters")
        if col.kind == "str":
            return text
        items = value if isinstance(value, list | tuple) else re.split(r"[;+]", text)
        return [str(a).strip() for a in items if str(a).strip()]
    if col.kind == "date":
        if isinstance(value, dt.datetime | pd.Timestamp):
            day = value.date()
        elif isinstance(value, dt.date):
            day = value
        else:
            text = str(value)
            try:
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                    raise ValueError
                day = dt.date.fromisoformat(text)
            except ValueError:
                raise bad("an ISO 8601 date such as 2024-03-31") from None
        if not _FIRST_DAY <= day <= _LAST_DAY:  # also keeps pandas' datetime64[ns] range
            raise bad(f"a date from {_FIRST_DAY} to {_LAST_DAY}")
        return day
    if col.kind in ("int", "float"):
        if isinstance(value, bool):
            raise bad("a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        whole = col.kind != "int" or (math.isfinite(number) and number == round(number)
                                      and number <= _MAX_INT)
        if not math.isfinite(number) or number < 0 or not whole:
            raise bad("a whole number >= 0" if col.kind == "int" else "a number >= 0")
        return number
    if col.kind == "bool":
        if isinstance(value, bool):
            return value
        key = str(value).lower()
        if key in _YES or key in _NO:
            return key in _YES
        raise bad("yes or no")
    allowed = {_choice_key(c): c for c in col.choices}
    found = allowed.get(_choice_key(str(value)))
    if found is None:
        raise bad("one of: " + ", ".join(col.choices))
    return found


def _current_rows(session: Session, name: str, patient: str) -> pd.DataFrame:
    """The patient's rows of a template table as the registry holds them."""
    from tumorboard.io.outcomes import TEMPLATE

    read = {"lines": lines_table, "events": events_table, "recist": recist_table,
            "plasma": plasma_table, "local_therapies": local_therapy_table}[name]
    current = read(session, [patient])
    if name == "lines":
        current["agents"] = [a.split(";") if a else [] for a in current["agents"]]
    return current[[c.name for c in TEMPLATE[name]]]


def _validate_patient(session: Session, patient: str) -> None:
    """:func:`validate` on all of a patient's outcome rows as written: an entry in one table
    must agree with the others (a death entered before a recorded line is refused)."""
    from tumorboard.io.outcomes import typed_records

    tables = {}
    for name in ENTRY_ACTIONS:
        df = _current_rows(session, name, patient).reset_index(drop=True)
        df.insert(0, "source_line", np.nan)
        tables[name] = typed_records(df, name)
    validate(OutcomeRecords(tables, {}))


def _records_of(df: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    """Rows as the audit log records them, whole numbers as integers (a column with a
    missing value is float in pandas: line 2 must not read 2.0)."""
    from tumorboard.io.outcomes import TEMPLATE
    from tumorboard.outcomes import jsonable

    ints = {c.name for c in TEMPLATE[name] if c.kind == "int"}
    rows = jsonable(df.drop(columns=["source_line"], errors="ignore").reset_index(drop=True))
    return [{k: int(v) if k in ints and isinstance(v, float) and v.is_integer() else v
             for k, v in row.items()} for row in rows]


def add_record(session: Session, name: str, row: dict[str, Any] | list[dict[str, Any]], *,
               source: str = "cli") -> dict[str, Any]:
    """Add (or replace) one entry of a patient's outcome records, keeping their other rows:
    the entry path of the command line and the browser. Checks as an import does.

    An entry is one therapy line (``lines``, replacing the line of the same number), one
    clinical event (``events``, same date and kind), one RECIST assessment (``recist``: all
    lesion rows of one assessment date, replacing that date's rows), one plasma sample
    (``plasma``: its variant rows, replacing that sample's rows) or one local therapy
    (``local_therapies``, same date, modality and site). Writes an audit entry
    (:data:`ENTRY_ACTIONS`) with the replaced rows as ``before`` and the new ones as
    ``after``, in the caller's transaction.

    Parameters
    ----------
    name
        The template table (:data:`ENTRY_ACTIONS`).
    row
        One row, or the rows of one assessment / plasma sample, as template columns
        (``patient`` in every row).

    Returns
    -------
    dict
        ``patients``, ``rows`` (as :func:`import_records`), ``added`` (the new rows) and
        ``replaced`` (the rows they replaced), JSON-ready.

    Raises
    ------
    InputError
        An unknown table, rows of several patients or several assessments / samples, any
        value or check of :func:`import_records`; for RECIST, lesions that do not make
        an assessable series (:func:`tumorboard.outcomes.recist.validate_lesions`).
    NotFoundError
        The patient is not in the registry.
    """
    from tumorboard.io.outcomes import TEMPLATE, typed_records

    new = entry_rows(name, [row] if isinstance(row, dict) else list(row))
    keys = _ENTRY_KEYS[name]
    for col in ("patient", *keys):
        if new[col].nunique(dropna=False) > 1:
            raise InputError(f"{name}: the rows of one entry need the same {col}",
                             column=col, fix="enter each one separately")
    patient = str(new["patient"].iloc[0])
    pid = session.scalar(select(Patient.id).where(Patient.pseudonym == patient))
    if pid is None:
        raise NotFoundError(f"patient '{patient}' is not in the registry")
    current = _current_rows(session, name, patient)
    same = np.ones(len(current), dtype=bool)
    for k in keys:
        same &= (current[k] == new[k].iloc[0]).to_numpy()
    cols = [c.name for c in TEMPLATE[name]]
    # rows, not pd.concat: concatenating all-NA columns changes dtypes (pandas FutureWarning)
    table = pd.DataFrame(current.loc[~same, cols].to_dict("records")
                         + new[cols].to_dict("records"), columns=cols)
    table.insert(0, "source_line", np.nan)
    recs = OutcomeRecords({name: typed_records(table, name)}, {name: f"{name} entry"})
    result = import_records(session, recs, source=source)
    _validate_patient(session, patient)
    if name == "recist":
        from tumorboard.outcomes.cohort import recist_responses

        # as the follow-up page will read them: refuse a series it could not assess (the
        # caller's transaction then rolls back)
        try:
            recist_responses(recist_table(session, [patient]))
        except InputError as exc:
            # recist_responses keys its series as patient + unit separator + line
            problem = re.sub(r"\x1f(<NA>|\d+)", lambda m: "" if m.group(1) == "<NA>"
                             else f" line {m.group(1)}", exc.problem)
            raise InputError(problem, file="recist entry", column=exc.column,
                             expected=exc.expected, fix=exc.fix) from None
    replaced, added = _records_of(current.loc[same], name), _records_of(new, name)
    key = ", ".join(f"{k} {_fmt(new[k].iloc[0])}" for k in keys)
    audit.record(session, ENTRY_ACTIONS[name], _MODELS[name].__tablename__, key,
                 patient_id=pid, before={"rows": replaced} if replaced else None,
                 after={"rows": added})
    return result | {"added": added, "replaced": replaced}


# ------------------------------------------------------------------------------ workspace


def import_outcome_files(ws: Any, paths: list[Any], *, cbioportal: bool = False,
                         anchor_date: dt.date | None = None, dry_run: bool = False,
                         source: str | None = None) -> dict[str, Any]:
    """Read template or cBioPortal timeline files and import them in one transaction.

    cBioPortal days count from ``anchor_date`` or, without it, each patient's diagnosis
    date in the registry. ``dry_run`` runs every check and rolls back.

    Raises
    ------
    InputError
        Anything :mod:`tumorboard.io.outcomes` or :func:`import_records` refuses.
    """
    from tumorboard.io.outcomes import read_cbioportal_timeline, read_template
    from tumorboard.registry.db import transaction

    if cbioportal:
        with ws.session() as s:
            rows = s.execute(select(Patient.pseudonym, Diagnosis.diagnosis_date)
                             .join(Diagnosis, Diagnosis.patient_id == Patient.id)
                             .order_by(Diagnosis.id)).all()
        anchors = {p: anchor_date or d for p, d in rows if anchor_date or d}
        recs = read_cbioportal_timeline(paths, anchors)
    else:
        recs = read_template(paths)
    source = source or ("cbioportal" if cbioportal else "template")
    with transaction(ws.engine) as s:
        result = import_records(s, recs, source=source)
        if dry_run:
            s.rollback()
    return result | {"dry_run": dry_run}


def add_outcome(ws: Any, name: str, row: dict[str, Any] | list[dict[str, Any]], *,
                source: str = "cli", recorded_by: str | None = None) -> dict[str, Any]:
    """:func:`add_record` in its own transaction. A line that implements an ``accepted``
    recommendation then also records the board decision ``implemented`` on it, so that the
    recommendation's status follows the follow-up (``implemented`` in the result lists the
    recommendation ids).

    Raises
    ------
    InputError, NotFoundError
        As :func:`add_record`; nothing is written.
    """
    from tumorboard.registry.db import transaction

    with transaction(ws.engine) as s:
        result = add_record(s, name, row, source=source)
    result["implemented"] = (implement_linked_recommendations(ws, result["added"],
                                                              recorded_by=recorded_by)
                             if name == "lines" else [])
    return result


def implement_linked_recommendations(ws: Any, lines: list[dict[str, Any]], *,
                                     recorded_by: str | None = None) -> list[int]:
    """Record the decision ``implemented`` on every still ``accepted`` recommendation that
    one of ``lines`` (line records with ``recommendation_id``) implements; returns their ids.
    """
    from tumorboard.recommend import record_decision

    ids = sorted({int(r["recommendation_id"]) for r in lines
                  if r.get("recommendation_id") is not None})
    if not ids:
        return []
    with ws.session() as s:
        accepted = list(s.scalars(select(Recommendation.id).where(
            Recommendation.id.in_(ids), Recommendation.status == "accepted")))
    for rec_id in accepted:
        record_decision(ws, rec_id, "implemented", reason=None, recorded_by=recorded_by)
    return sorted(accepted)

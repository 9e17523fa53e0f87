"""Registry-wide outcome analyses: the documents behind ``tumorboard cohort …``.

Each function reads the registry through :mod:`tumorboard.outcomes.records`, runs the pure
analyses of the sibling modules and returns a document of DataFrames and numbers (what the
CLI prints with ``--json`` and :mod:`tumorboard.report.outcomes` renders). Nothing here
computes statistics itself.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from tumorboard.errors import InputError
from tumorboard.outcomes import jsonable, records
from tumorboard.registry.models import Diagnosis, Patient


def table_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-able rows: dates as ISO strings, NaN/NaT as None, numpy scalars as Python."""
    return jsonable(df)


# ------------------------------------------------------------------------------ PFS ratio


def select_patients(session: Session, patterns: Iterable[str] | None) -> list[str] | None:
    """Registry patient ids matching any of the shell-style ``patterns`` (``SIM-LAT-*``,
    ``DSRCT-0??``); None (everyone) without patterns.

    Raises
    ------
    InputError
        No patient matches.
    """
    if not patterns:
        return None
    patterns = list(patterns)
    ids = [p for p in session.scalars(select(Patient.pseudonym).order_by(Patient.pseudonym))
           if any(fnmatch.fnmatchcase(p, pat) for pat in patterns)]
    if not ids:
        raise InputError("no patient matches " + ", ".join(f"'{p}'" for p in patterns),
                         fix="see `tumorboard patients list`; patterns take * and ?")
    return ids


def pfsr_analysis(session: Session, *, threshold: float = 1.3,
                  patients: list[str] | None = None) -> dict[str, Any]:
    """PFS per line, PFS ratio of every MTB-guided line and the cohort summary
    (:mod:`tumorboard.outcomes.pfsr`)."""
    from tumorboard.outcomes.pfsr import line_pfs, pfs_ratio, pfsr_summary

    lines = records.lines_table(session, patients)
    follow = records.followup_table(session, patients)
    pfs = line_pfs(lines, follow)
    ratios = pfs_ratio(lines, follow, threshold=threshold)
    events = timeline_events({"lines": lines,
                              "events": records.events_table(session, patients)})
    return {"kind": "pfsr", "threshold": threshold, "pfs": pfs, "ratios": ratios,
            "lines": lines, "events": events,
            "summary": pfsr_summary(ratios, threshold=threshold),
            "patients": sorted(set(lines["patient"]))}


# ------------------------------------------------------------------------------ survival


def diagnosis_cohort(session: Session, patients: list[str] | None = None) -> pd.DataFrame:
    """Overall survival from diagnosis for every patient with a diagnosis date and outcome
    records: patient, entity, os_days, os_event."""
    follow = records.followup_table(session, patients)
    diag = pd.DataFrame(session.execute(
        select(Patient.pseudonym, Diagnosis.oncotree_code, Diagnosis.diagnosis_date)
        .join(Diagnosis, Diagnosis.patient_id == Patient.id).order_by(Diagnosis.id)).all(),
        columns=["patient", "entity", "diagnosed"]).drop_duplicates("patient", keep="last")
    df = follow.merge(diag, on="patient", how="inner").dropna(subset=["diagnosed"])
    df["diagnosed"] = pd.to_datetime(df["diagnosed"])
    end = df["death"].fillna(df["last_followup"])
    df["os_days"] = (end - df["diagnosed"]).dt.days.astype(float)
    df["os_event"] = df["death"].notna()
    return df[["patient", "entity", "os_days", "os_event"]].reset_index(drop=True)


def survival_analysis(session: Session, *, endpoint: Literal["os", "pfs"] = "os",
                      time_zero: Literal["lat", "diagnosis"] = "lat",
                      patients: list[str] | None = None) -> dict[str, Any]:
    """Kaplan–Meier, log-rank, Cox and the subgroup analyses of the registry.

    ``time_zero='lat'``: the local-ablative-therapy cohort (:func:`records.lat_cohort`),
    overall and by site, treatment-free interval and systemic therapy with LAT, the study
    group's subgroup table with its forest plot, and a multivariable Cox model with its
    proportional-hazards check. ``time_zero='diagnosis'``: overall survival from diagnosis
    by entity (``endpoint`` must be ``'os'``).

    Raises
    ------
    InputError
        No patients with the data the analysis needs.
    """
    from tumorboard.outcomes.survival import (
        cox_regression,
        forest_table,
        kaplan_meier,
        landmark,
        subgroup_analyses,
    )

    if time_zero == "diagnosis":
        if endpoint != "os":
            raise InputError("PFS from diagnosis is not defined here",
                             fix="use --endpoint os with --from diagnosis, or --from lat")
        table = diagnosis_cohort(session, patients)
        if table.empty:
            raise InputError("no patient has a diagnosis date and outcome records",
                             fix="import outcome records (tumorboard outcomes import)")
        km = {"overall": kaplan_meier(table, duration="os_days", event="os_event"),
              "entity": kaplan_meier(table, duration="os_days", event="os_event",
                                     group="entity")}
        return {"kind": "survival", "endpoint": "os", "time_zero": time_zero,
                "n": len(table), "table": table, "km": km, "subgroups": None,
                "forest": None, "cox": None, "landmark": None,
                "patients": sorted(table["patient"])}
    table = records.lat_cohort(session, patients)
    if table.empty:
        raise InputError("no patient has a local ablative therapy in the registry",
                         fix="import local_therapies (tumorboard outcomes import), or use "
                             "--from diagnosis")
    d, e = f"{endpoint}_days", f"{endpoint}_event"
    groups = table.assign(
        treatment_free_interval=np.where(table["treatment_free_interval_months"] >= 12,
                                         ">= 12 months", "< 12 months"),
        systemic=np.where(table["systemic_with_lat"], "LAT + systemic", "LAT alone"))
    km = {"overall": kaplan_meier(groups, duration=d, event=e)}
    for name, col in (("site", "site"), ("treatment-free interval", "treatment_free_interval"),
                      ("systemic therapy", "systemic")):
        if groups[col].nunique() >= 2:
            km[name] = kaplan_meier(groups, duration=d, event=e, group=col)
    subgroups = subgroup_analyses(table, endpoint=endpoint)
    model = groups.assign(
        tfi_12_months=(table["treatment_free_interval_months"] >= 12).astype(float),
        extrapulmonary=(table["site"] == "extrapulmonary").astype(float),
        surgery_or_radiotherapy=table["lat_modality"].isin(["surgery", "radiotherapy"])
        .astype(float),
        systemic_with_lat=table["systemic_with_lat"].astype(float),
        age_over_60=(table["age"] > 60).astype(float),
        four_or_more_lesions=(table["lesion_count"] >= 4).astype(float))
    covariates = [c for c in ("tfi_12_months", "extrapulmonary", "surgery_or_radiotherapy",
                              "systemic_with_lat", "age_over_60", "four_or_more_lesions")
                  if model[c].nunique() > 1]
    cox = cox_regression(model.dropna(subset=covariates), duration=d, event=e,
                         covariates=covariates) if covariates else None
    # Systemic therapy can start up to SYSTEMIC_WINDOW_DAYS after the LAT: comparing "with"
    # and "without" from day 0 credits the treated with the time before it began (immortal
    # time, Suissa 2008). The landmark at the window's end classifies by exposure then.
    lm = None
    exposed_later = table["systemic_start_days"] > 0
    if exposed_later.any() and table["systemic_with_lat"].nunique() > 1:
        lm = landmark(table, landmark_days=float(records.SYSTEMIC_WINDOW_DAYS),
                      exposure_start="systemic_start_days", duration=d, event=e)
    return {"kind": "survival", "endpoint": endpoint, "time_zero": time_zero,
            "n": len(table), "table": table, "km": km, "subgroups": subgroups,
            "forest": forest_table(subgroups) if len(subgroups) else None, "cox": cox,
            "landmark": lm, "patients": sorted(table["patient"])}


# ------------------------------------------------------------------------------ prognostic

#: Registry variables the prognostic score uses by default (after metastasectomy / LAT).
PROGNOSTIC_COVARIATES = ("treatment_free_interval_months", "site", "histology_group",
                         "lat_modality_group", "age", "lesion_count", "largest_diameter_mm",
                         "systemic_with_lat")


def prognostic_table(session: Session, *, endpoint: Literal["os", "pfs"] = "os",
                     min_histology_patients: int = 10,
                     patients: list[str] | None = None) -> pd.DataFrame:
    """The LAT cohort with the prognostic score's covariates (rare histologies pooled)."""
    table = records.lat_cohort(session, patients)
    counts = table["histology"].value_counts()
    common = set(counts[counts >= min_histology_patients].index)
    return table.assign(
        histology_group=table["histology"].where(table["histology"].isin(common), "other"),
        lat_modality_group=np.where(table["lat_modality"].isin(["surgery", "radiotherapy"]),
                                    "surgery_or_radiotherapy", "other"),
        systemic_with_lat=table["systemic_with_lat"].astype(float),
        duration=table[f"{endpoint}_days"], event=table[f"{endpoint}_event"])


def prognostic_analysis(session: Session, *, endpoint: Literal["os", "pfs"] = "os",
                        covariates: tuple[str, ...] = PROGNOSTIC_COVARIATES,
                        n_bootstrap: int = 200, random_state: int = 0,
                        patients: list[str] | None = None) -> dict[str, Any]:
    """Fit and internally validate the prognostic score (:mod:`tumorboard.outcomes.prognostic`)
    on the registry's LAT cohort; risk groups with their Kaplan–Meier curves.

    Raises
    ------
    InputError
        Too few patients or events for the model.
    """
    from tumorboard.outcomes.prognostic import PrognosticScore
    from tumorboard.outcomes.survival import kaplan_meier

    table = prognostic_table(session, endpoint=endpoint, patients=patients)
    if table.empty:
        raise InputError("no patient has a local ablative therapy in the registry",
                         fix="import local_therapies (tumorboard outcomes import)")
    table = table.dropna(subset=list(covariates)).reset_index(drop=True)
    score = PrognosticScore(n_bootstrap=n_bootstrap, random_state=random_state)
    score.fit(table, duration="duration", event="event", covariates=list(covariates))
    groups = table.assign(risk_group=np.asarray(score.risk_groups(table)))
    km = kaplan_meier(groups, duration="duration", event="event", group="risk_group")
    return {"kind": "prognostic", "endpoint": endpoint, "n": len(table),
            "events": int(table["event"].sum()), "covariates": list(covariates),
            "model": score, "tables": score.report_tables(), "km": km,
            "patients": sorted(table["patient"])}


# ------------------------------------------------------------------------------ ctDNA


def ctdna_analysis(session: Session, patients: list[str] | None = None) -> dict[str, Any]:
    """Tumour fraction and MRD call per plasma sample, molecular response between samples and
    lead time over radiological progression (:mod:`tumorboard.outcomes.ctdna`)."""
    from tumorboard.outcomes.ctdna import lead_time, molecular_response, tumour_fraction

    plasma = records.plasma_table(session, patients)
    if plasma.empty:
        empty = pd.DataFrame()
        return {"kind": "ctdna", "fractions": empty, "responses": empty, "lead_times": empty,
                "patients": []}
    fractions = tumour_fraction(plasma)
    lines = records.lines_table(session, patients)
    events = records.events_table(session, patients)
    prog = pd.concat([
        lines[["patient", "progression"]].rename(columns={"progression": "progression_date"}),
        events.loc[events["kind"].isin(["progression", "recurrence"]), ["patient", "date"]]
        .rename(columns={"date": "progression_date"})]).dropna()
    return {"kind": "ctdna", "fractions": fractions, "responses": molecular_response(fractions),
            "lead_times": lead_time(fractions, prog.sort_values(["patient",
                                                                 "progression_date"])),
            "patients": sorted(set(plasma["patient"]))}


# ------------------------------------------------------------------------------ one patient


def recist_responses(measurements: pd.DataFrame) -> pd.DataFrame:
    """RECIST 1.1 time-point responses per patient and line: each line's first assessment is
    its baseline (Eisenhauer et al. 2009, section 4.3: a new baseline before a new therapy).
    Assessments without a line form one series per patient."""
    from tumorboard.outcomes.recist import assess

    if measurements.empty:
        return pd.DataFrame(columns=["patient", "line", "assessment_date", "overall",
                                     "sum_mm"])
    m = measurements.copy()
    m["line"] = m["line"].astype("Int64")
    key = m["patient"] + "\x1f" + m["line"].astype(str)
    out = assess(m.assign(patient=key))
    split = out["patient"].str.split("\x1f", n=1, expand=True)
    out["patient"] = split[0]
    out.insert(1, "line", pd.to_numeric(split[1], errors="coerce").astype("Int64"))
    return out


def patient_course(session: Session, patient: str) -> dict[str, Any]:
    """One patient's outcomes: lines with PFS and PFS ratio, events, local therapies, RECIST
    responses per line, ctDNA (the ``outcomes show`` document and the report's timeline).

    Raises
    ------
    NotFoundError
        The patient is not in the registry.
    """
    from tumorboard.outcomes.pfsr import line_pfs, pfs_ratio

    tables = records.patient_outcomes(session, patient)
    lines, follow = tables["lines"], tables["followup"]
    pfs = line_pfs(lines, follow) if len(lines) else pd.DataFrame()
    ratios = pfs_ratio(lines, follow) if len(lines) else pd.DataFrame()
    ct = ctdna_analysis(session, [patient])
    return {"patient": patient, **tables, "pfs": pfs, "ratios": ratios,
            "responses": recist_responses(tables["recist"]),
            "ctdna": ct["fractions"], "ctdna_responses": ct["responses"],
            "lead_times": ct["lead_times"]}


def timeline_events(course: dict[str, Any]) -> pd.DataFrame:
    """The events of a patient course as the swimmer/timeline plots read them:
    patient, date, kind in progression / death / response / ctdna_positive / ctdna_negative /
    last_followup."""
    rows = []
    for r in course["events"].itertuples():
        kind = "progression" if r.kind in ("progression", "recurrence") else r.kind
        rows.append((r.patient, r.date, kind))
    for r in course["lines"].dropna(subset=["progression"]).itertuples():
        rows.append((r.patient, r.progression, "progression"))
    resp = course.get("responses", pd.DataFrame())
    if len(resp):
        for r in resp[resp["overall"].isin(["CR", "PR"])].itertuples():
            rows.append((r.patient, r.assessment_date, "response"))
    ct = course.get("ctdna", pd.DataFrame())
    if len(ct):
        for r in ct[ct["mrd"].isin(["positive", "negative"])].itertuples():
            rows.append((r.patient, r.collected, f"ctdna_{r.mrd}"))
    df = pd.DataFrame(rows, columns=["patient", "date", "kind"]).drop_duplicates()
    df["date"] = pd.to_datetime(df["date"])
    return df.sort_values(["patient", "date"]).reset_index(drop=True)

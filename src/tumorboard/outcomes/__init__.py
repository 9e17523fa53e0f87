"""Outcomes: what was given, how it worked, and what the registry says about survival.

Modules (each a set of pure functions on pandas tables; the registry is touched only by
:mod:`tumorboard.outcomes.records`):

``records``       therapy lines, local ablative therapies, RECIST assessments, plasma
                  samples and follow-up: validation, import (CSV/Excel template, cBioPortal
                  timelines), registry read/write
``radiotherapy``  BED and EQD2 of a fractionation schedule, alpha/beta per histology
``recist``        RECIST 1.1 responses from lesion measurements
``pfsr``          PFS per therapy line, PFS ratio (PFSr) per MTB-guided line, cohort summary
``survival``      Kaplan–Meier, log-rank, Cox with proportional-hazards checks, subgroups,
                  landmark analysis
``prognostic``    penalised Cox prognostic score with bootstrap internal validation
``ctdna``         tumour-informed ctDNA: tumour fraction, MRD call, molecular response

Shared table conventions
------------------------
- Patients are identified by their registry id string (``patient``: ``"DSRCT-001"``).
- Dates are ``datetime64[ns]`` columns (missing: ``NaT``); durations are **days**
  (float); plots and reports show months = days / 30.4375.
- An event indicator is a bool column (True = event observed, False = censored).

``lines`` (one row per systemic or local therapy line)
    patient, line (int, 1-based, in start order per patient), regimen (str), agents
    (str, ``;``-separated), modality (str, :data:`records.MODALITIES`), intent (str),
    start, stop (date or NaT while ongoing), stop_reason (str or None), progression (date
    of progression on this line, or NaT), recommendation_id (int or None), mtb_guided (bool)
``followup`` (one row per patient)
    patient, last_followup (date), death (date or NaT)
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

#: Julian year in days, the convention of R ``survival`` (``xscale = 365.25``).
DAYS_PER_YEAR = 365.25
#: Mean month in days (365.25 / 12 = 30.4375): months = days / DAYS_PER_MONTH on every axis
#: and in every table of the outcomes package.
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


def jsonable(value: Any) -> Any:
    """``value`` with every numpy/pandas object made plain JSON: DataFrames as lists of row
    dicts, dates as ISO strings (date only at midnight), NaN, NaT, NA and ±inf as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, pd.DataFrame):
        return [{str(k): jsonable(v) for k, v in row.items()}
                for row in value.to_dict(orient="records")]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value

"""PFS per therapy line, the PFS ratio (PFSr) of each MTB-guided line, and a cohort summary.

The PFS ratio compares, within one patient, the progression-free survival on the molecularly
guided therapy (PFS2) with the PFS on the most recent prior systemic therapy (PFS1); a ratio
of at least 1.3 counts as benefit.

References
----------
- Von Hoff DD, Stephenson JJ Jr, Rosen P, et al. Pilot study using molecular profiling of
  patients' tumors to find potential targets and select treatments for their refractory
  cancers. J Clin Oncol 2010;28:4877–4883. doi:10.1200/JCO.2009.26.5983. PMID 20921468.
  (PFS2/PFS1 of the matched therapy over the most recent prior therapy; benefit at ≥ 1.3.)
- Mock A, Heilig CE, Kreutzfeldt S, et al. Community-driven development of a modified
  progression-free survival ratio for precision oncology. ESMO Open 2019;4:e000583.
  doi:10.1136/esmoopen-2019-000583. PMID 31798980. (PFS1 = PFS on the last prior *systemic*
  therapy; thresholds 1.3, 1.33 or 1.5 in use.)
- Horak P, Heining C, Kreutzfeldt S, et al. Comprehensive genomic and transcriptomic
  analysis for guiding therapeutic decisions in patients with rare cancers. Cancer Discov
  2021;11:2780–2795. doi:10.1158/2159-8290.CD-21-0126. (MASTER: PFSr > 1.3 as benefit.)
- Texier M, Rotolo F, Ducreux M, Bouché O, Pignon JP, Michiels S. Evaluation of treatment
  effect with paired failure times in a single-arm phase II trial in oncology. Comput Math
  Methods Med 2018;2018:1672176. doi:10.1155/2018/1672176. PMID 29568321. (Midrank estimator
  of P(PFS2/PFS1 ≥ threshold) under censoring of PFS2.)
- Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case
  of the binomial. Biometrika 1934;26:404–413. doi:10.1093/biomet/26.4.404.
- U.S. FDA. Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics,
  Guidance for Industry, December 2018 (PFS is censored when a new anticancer therapy
  starts before progression, at the last assessment before it).

The *modified* PFS ratio of Mock et al. 2019 is not implemented: its exact formula could not
be read from the paper itself (see ``docs/pfsr.md``).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
from scipy import stats

from tumorboard.errors import InputError
from tumorboard.io.outcomes import LOCAL_MODALITIES as _TEMPLATE_LOCAL

#: PFSr at or above which a guided line counts as benefit (Von Hoff et al. 2010, J Clin Oncol
#: 28:4877, doi:10.1200/JCO.2009.26.5983; used by MASTER, Horak et al. 2021,
#: doi:10.1158/2159-8290.CD-21-0126).
DEFAULT_THRESHOLD = 1.3

#: Modalities of local (ablative) therapy lines. They are never the PFS1 comparator: the PFS
#: ratio compares with the last prior *systemic* therapy (Mock et al. 2019, ESMO Open
#: 4:e000583, doi:10.1136/esmoopen-2019-000583). The local modalities of the lines template
#: (``tumorboard.io.outcomes.LOCAL_MODALITIES``) plus common spellings of local ablative
#: therapy (surgery, SBRT/radiotherapy, thermal ablation). Matched case-insensitively; used
#: only when the lines table has no ``systemic`` column.
LOCAL_MODALITIES = frozenset(_TEMPLATE_LOCAL) | {
    "local", "metastasectomy", "resection", "radiation", "sbrt", "sabr", "ablation",
    "radiofrequency_ablation", "microwave_ablation", "cryoablation", "local_ablative_therapy",
}

VERDICTS = ("benefit", "no_benefit", "not_evaluable")

_LINE_COLUMNS = ("patient", "line", "start", "stop", "progression")
_RATIO_LINE_COLUMNS = ("modality", "mtb_guided")
_FOLLOWUP_COLUMNS = ("patient", "last_followup", "death")
_RATIO_COLUMNS = ("pfs1_days", "pfs1_event", "pfs2_days", "pfs2_event", "pfs_ratio", "verdict")
_DAY = np.timedelta64(1, "D")


# --------------------------------------------------------------------------- validation


def _require(table: pd.DataFrame, columns: Collection[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"the {name} table has no column(s) {', '.join(missing)}",
                         column=missing[0], expected=", ".join(columns),
                         fix=f"add the column(s) to the {name} table "
                             f"(see tumorboard.outcomes: shared table conventions)")


def _require_dates(table: pd.DataFrame, columns: Collection[str], name: str) -> None:
    for col in columns:
        if not pd.api.types.is_datetime64_any_dtype(table[col]):
            raise InputError(f"the {name} column {col} holds {table[col].dtype}, not dates",
                             column=col, expected="datetime64",
                             fix=f"convert it with pandas.to_datetime({name}['{col}'])")


def _first_bad(frame: pd.DataFrame, bad: np.ndarray, problem: str, column: str,
               fix: str) -> None:
    """Raise for the first row flagged in ``bad``, naming patient, line and column."""
    if not bad.any():
        return
    idx = np.flatnonzero(bad)
    row = frame.iloc[idx[0]]
    more = f" ({len(idx) - 1} more row(s) like it)" if len(idx) > 1 else ""
    values = {c: row[c] for c in ("start", "stop", "progression", "last_followup", "death")
              if c in row.index}
    shown = ", ".join(f"{k} {_day(v)}" for k, v in values.items() if not pd.isna(v))
    raise InputError(f"patient {row['patient']}, line {row['line']}: {problem} ({shown}){more}",
                     column=column, fix=fix)


def _day(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def _validated(lines: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """Lines joined with their patient's follow-up, checked for impossible dates."""
    _require(lines, _LINE_COLUMNS, "lines")
    _require(followup, _FOLLOWUP_COLUMNS, "followup")
    _require_dates(lines, ("start", "stop", "progression"), "lines")
    _require_dates(followup, ("last_followup", "death"), "followup")

    dup = followup["patient"].duplicated(keep=False).to_numpy()
    if dup.any():
        p = followup.loc[dup, "patient"].iloc[0]
        raise InputError(f"patient {p} has more than one follow-up row", column="patient",
                         fix="keep one row per patient in the followup table")
    dup = lines.duplicated(["patient", "line"], keep=False).to_numpy()
    if dup.any():
        row = lines.loc[dup].iloc[0]
        raise InputError(f"patient {row['patient']}, line {row['line']}: the line number is "
                         f"given more than once", column="line",
                         fix="number each patient's lines 1, 2, 3, ... in start order")

    keep = list(_LINE_COLUMNS)
    fu = followup[list(_FOLLOWUP_COLUMNS)]
    frame = lines[keep].merge(fu, on="patient", how="left", indicator=True, validate="m:1")
    no_fu = (frame["_merge"] == "left_only").to_numpy()
    if no_fu.any():
        row = frame.loc[no_fu].iloc[0]
        raise InputError(f"patient {row['patient']}, line {row['line']}: the patient has no "
                         f"follow-up row", column="patient",
                         fix="add the patient's last follow-up (and death date, if any) to the "
                             "followup table")
    frame = frame.drop(columns="_merge")

    start, stop, prog = frame["start"], frame["stop"], frame["progression"]
    last, death = frame["last_followup"], frame["death"]
    _first_bad(frame, start.isna().to_numpy(), "the start date is missing", "start",
               "give the date the line started")
    _first_bad(frame, last.isna().to_numpy(), "the last follow-up date is missing",
               "last_followup", "give the date the patient was last known alive (or died)")
    _first_bad(frame, (stop < start).to_numpy(), "the line stops before it starts", "stop",
               "correct start or stop (stop is the last day of treatment, on or after start)")
    _first_bad(frame, (prog < start).to_numpy(), "progression is before the line started",
               "progression", "record the progression on the line during or after which it "
               "happened, or correct the date")
    for col in ("start", "stop", "progression"):
        _first_bad(frame, (frame[col] > death).to_numpy(), f"{col} is after the death date",
                   col, f"correct {col} or the death date in the followup table")
    _first_bad(frame, (last > death).to_numpy(), "the last follow-up is after the death date",
               "last_followup", "set last_followup to the death date or earlier")
    alive = death.isna()
    for col in ("start", "stop", "progression"):
        _first_bad(frame, (alive & (frame[col] > last)).to_numpy(),
                   f"{col} is after the last follow-up", col,
                   f"update last_followup in the followup table (it must be on or after every "
                   f"recorded date) or correct {col}")
    return frame


# --------------------------------------------------------------------------- PFS per line


def line_pfs(lines: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """Progression-free survival of every therapy line, in days, with its event indicator.

    The PFS of a line runs from its start to the first of

    - progression recorded on this line (event, ``end_reason`` ``'progression'``),
    - death without recorded progression (event, ``'death'``),
    - the start of the patient's next line, of any modality, that starts later (censored,
      ``'next line'``: a switch without progression, e.g. for toxicity, ends the time on this
      therapy without telling its PFS; U.S. FDA Guidance *Clinical Trial Endpoints for the
      Approval of Cancer Drugs and Biologics*, 2018, censors PFS when a new anticancer
      therapy starts, at the last assessment before it; the lines table has no assessment
      dates, so the start of the new line is used),
    - the last follow-up (censored, ``'last follow-up'``), for patients alive.

    This is the per-line PFS of the PFS-ratio literature: PFS on a therapy until progression on
    it (Von Hoff et al. 2010, J Clin Oncol 28:4877, doi:10.1200/JCO.2009.26.5983; Mock et al.
    2019, ESMO Open 4:e000583, doi:10.1136/esmoopen-2019-000583; MASTER, Horak et al. 2021,
    Cancer Discov 11:2780, doi:10.1158/2159-8290.CD-21-0126). A progression after the line was
    stopped but before the next line started still ends this line's PFS (the stop date is not
    a censoring point). A progression or death on the same day the next line starts is an
    event (the progression is why the therapy changed). When a death date is recorded, death
    ends follow-up and ``last_followup`` is not used for censoring. A line that starts and
    progresses on the same day has ``pfs_days`` 0 with an event; that is allowed.

    Parameters
    ----------
    lines, followup
        Tables as described in :mod:`tumorboard.outcomes` (``lines`` needs patient, line,
        start, stop, progression; ``followup`` patient, last_followup, death). Neither is
        modified.

    Returns
    -------
    pandas.DataFrame
        One row per line, sorted by patient and line: patient, line, start, end (date PFS
        ended), pfs_days (float), pfs_event (bool), end_reason.

    Raises
    ------
    InputError
        A column is missing or not dates; a line stops, or progresses, before it starts; a
        date lies after the death date (or, for living patients, after the last follow-up);
        a patient has no follow-up; a line number repeats. The message names the patient,
        the line and the column, and says how to fix it.
    """
    frame = _validated(lines, followup)
    start = frame["start"].to_numpy("datetime64[ns]")
    # next strictly later start per patient: a concurrent line started the same day is not a
    # switch away from this one
    firsts = (frame[["patient", "start"]].drop_duplicates()
              .sort_values(["patient", "start"], kind="stable"))
    firsts["next_start"] = firsts.groupby("patient", sort=False)["start"].shift(-1)
    nxt = frame[["patient", "start"]].merge(firsts, on=["patient", "start"], how="left")
    next_start = nxt["next_start"].to_numpy("datetime64[ns]")

    prog = frame["progression"].to_numpy("datetime64[ns]")
    death = frame["death"].to_numpy("datetime64[ns]")
    last = frame["last_followup"].to_numpy("datetime64[ns]")
    nat = np.datetime64("NaT")
    # death ends follow-up; the last follow-up censors only living patients
    follow_end = np.where(np.isnat(death), last, nat)

    def earliest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(np.isnat(a) | (~np.isnat(b) & (b < a)), b, a)

    event_at = earliest(prog, death)
    censor_at = earliest(next_start, follow_end)
    is_event = ~np.isnat(event_at) & (np.isnat(censor_at) | (event_at <= censor_at))
    end = np.where(is_event, event_at, censor_at)
    by_progression = ~np.isnat(prog) & (prog == event_at)
    by_next = ~np.isnat(next_start) & (next_start == censor_at)
    reason = np.select([is_event & by_progression, is_event, by_next],
                       ["progression", "death", "next line"], "last follow-up")
    out = pd.DataFrame({
        "patient": frame["patient"].to_numpy(),
        "line": frame["line"].to_numpy(),
        "start": start,
        "end": end,
        "pfs_days": ((end - start) / _DAY).astype(float),
        "pfs_event": is_event,
        "end_reason": reason,
    })
    return out.sort_values(["patient", "line"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- PFS ratio


def _check_threshold(threshold: float) -> None:
    if not (np.isfinite(threshold) and threshold > 0):
        raise InputError(f"the PFS-ratio threshold {threshold!r} is not a positive number",
                         expected="a positive number such as 1.3 (Von Hoff 2010)",
                         fix="pass threshold=1.3 (or 1.33 / 1.5 as in the trial protocol)")


def pfs_ratio(lines: pd.DataFrame, followup: pd.DataFrame, *,
              threshold: float = DEFAULT_THRESHOLD,
              local_modalities: Collection[str] = LOCAL_MODALITIES) -> pd.DataFrame:
    """PFS ratio PFS2/PFS1 and a benefit verdict for every MTB-guided line.

    PFS2 is the PFS of the guided line (``mtb_guided`` True), PFS1 the PFS of the most recent
    prior *systemic* line: the line, not of a local modality, with the latest start strictly
    before the guided line's start (ties: the higher line number). Local ablative therapy
    lines are not a comparator (Mock et al. 2019, ESMO Open 4:e000583,
    doi:10.1136/esmoopen-2019-000583: PFS1 is the PFS of "the last prior systemic
    therapy"; Von Hoff et al. 2010, J Clin Oncol 28:4877, doi:10.1200/JCO.2009.26.5983:
    the most recent prior therapy). PFS per line is :func:`line_pfs`.

    Verdicts, with ``t`` the threshold (1.3, Von Hoff 2010) and r = PFS2/PFS1 of the observed
    (possibly censored) durations. A censored duration is a lower bound of the true one, so a
    censored PFS2 can only raise r and a censored PFS1 can only lower it:

    ===================  ===================  ============  ===============================
    PFS1                 PFS2                 r             verdict
    ===================  ===================  ============  ===============================
    observed             observed             ≥ t           benefit
    observed             observed             < t           no_benefit
    observed             censored             ≥ t           benefit (r can only grow)
    observed             censored             < t           not_evaluable
    censored             observed             < t           no_benefit (r can only shrink)
    censored             observed             ≥ t           not_evaluable
    censored             censored             any           not_evaluable
    ===================  ===================  ============  ===============================

    No prior systemic line, or PFS1 of 0 days, is ``not_evaluable`` (r undefined).

    Parameters
    ----------
    lines, followup
        Tables as described in :mod:`tumorboard.outcomes`; not modified.
    threshold
        PFSr at or above which a line counts as benefit (default 1.3, Von Hoff 2010; 1.33 or
        1.5 in some trials, Mock et al. 2019).
    local_modalities
        Modalities (case-insensitive) that are never the PFS1 comparator
        (default :data:`LOCAL_MODALITIES`). Used only when ``lines`` has no bool ``systemic``
        column (as :func:`tumorboard.outcomes.records` tables do); with it, that column
        decides.

    Returns
    -------
    pandas.DataFrame
        One row per guided line, sorted by patient and line: patient, line, previous_line
        (nullable int), pfs1_days, pfs1_event (nullable bool), pfs2_days, pfs2_event,
        pfs_ratio (NaN if not computable), verdict (one of :data:`VERDICTS`), reason.

    Raises
    ------
    InputError
        As :func:`line_pfs`; also for a threshold that is not a positive number, or an
        ``mtb_guided`` value that is not true/false.
    """
    _check_threshold(threshold)
    _require(lines, _RATIO_LINE_COLUMNS, "lines")
    pfs = line_pfs(lines, followup)
    info = lines[["patient", "line", "modality", "mtb_guided"]].copy()
    if "systemic" in lines.columns:
        info["systemic"] = lines["systemic"].astype("boolean").fillna(False).to_numpy(bool)
    else:
        local = {str(m).strip().lower() for m in local_modalities}
        info["systemic"] = ~info["modality"].astype(str).str.strip().str.lower().isin(local)
    flag = info["mtb_guided"]
    if pd.api.types.is_bool_dtype(flag.dtype):
        not_bool = flag.isna().to_numpy(bool)
    else:  # object columns: only True/False themselves, not 1/"yes"
        not_bool = ~flag.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(bool)
    if not_bool.any():
        row = info.loc[not_bool].iloc[0]
        raise InputError(f"patient {row['patient']}, line {row['line']}: mtb_guided is "
                         f"{row['mtb_guided']!r}, not True or False", column="mtb_guided",
                         fix="set mtb_guided to True for MTB-guided lines, else False")
    pfs = pfs.merge(info, on=["patient", "line"], how="left", validate="1:1")
    systemic = pfs["systemic"].to_numpy(bool)

    guided = pfs.loc[pfs["mtb_guided"].astype(bool), ["patient", "line", "start", "pfs_days",
                                                      "pfs_event"]]
    guided = guided.rename(columns={"pfs_days": "pfs2_days", "pfs_event": "pfs2_event"})
    prior = pfs.loc[systemic, ["patient", "line", "start", "pfs_days", "pfs_event"]]
    prior = prior.rename(columns={"line": "previous_line", "pfs_days": "pfs1_days",
                                  "pfs_event": "pfs1_event"})
    # merge_asof picks the last row among equal starts: sort so that is the higher line number
    prior = prior.sort_values(["start", "previous_line"], kind="stable")
    pairs = pd.merge_asof(guided.sort_values("start", kind="stable"), prior, on="start",
                          by="patient", direction="backward", allow_exact_matches=False)
    pairs = pairs.sort_values(["patient", "line"], kind="stable").reset_index(drop=True)

    p1 = pairs["pfs1_days"].to_numpy(float)
    p2 = pairs["pfs2_days"].to_numpy(float)
    has_prev = ~np.isnan(p1)
    pfs1_event = pairs["pfs1_event"].astype("boolean")
    e1 = pfs1_event.fillna(False).to_numpy(bool)
    e2 = pairs["pfs2_event"].to_numpy(bool)
    computable = has_prev & (p1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(computable, p2 / np.where(computable, p1, 1.0), np.nan)
    high = computable & (ratio >= threshold)
    low = computable & (ratio < threshold)
    t = f"{threshold:g}"
    conditions = [
        ~has_prev,
        has_prev & ~computable,
        e1 & e2 & high,
        e1 & e2 & low,
        e1 & ~e2 & high,
        e1 & ~e2 & low,
        ~e1 & e2 & low,
        ~e1 & e2 & high,
        ~e1 & ~e2,
    ]
    verdicts = ["not_evaluable", "not_evaluable", "benefit", "no_benefit", "benefit",
                "not_evaluable", "no_benefit", "not_evaluable", "not_evaluable"]
    reasons = [
        "no previous line",
        "PFS1 is 0 days: the ratio is undefined",
        f"PFSr >= {t} with progression or death observed on the guided line",
        f"PFSr < {t} with progression or death observed on the guided line",
        f"PFS2 censored but already >= {t} x PFS1: the ratio can only grow",
        f"PFS2 censored below {t} x PFS1: follow-up too short to judge",
        f"PFSr < {t} with PFS2 observed; PFS1 censored, a longer true PFS1 only lowers it",
        f"PFS1 censored (previous line ended without progression): the true PFS1 may be "
        f"longer, so PFSr >= {t} is not certain",
        "PFS1 and PFS2 both censored: the ratio is not bounded",
    ]
    out = pd.DataFrame({
        "patient": pairs["patient"].to_numpy(),
        "line": pairs["line"].to_numpy(),
        "previous_line": pairs["previous_line"].astype("Int64").array,
        "pfs1_days": p1,
        "pfs1_event": pfs1_event.array,
        "pfs2_days": p2,
        "pfs2_event": e2,
        "pfs_ratio": ratio,
        "verdict": np.select(conditions, verdicts, "not_evaluable"),
        "reason": np.select(conditions, reasons, ""),
    })
    return out


# --------------------------------------------------------------------------- summary


def clopper_pearson(successes: int, trials: int, *,
                    confidence_level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) confidence interval of a binomial proportion.

    Clopper CJ, Pearson ES. Biometrika 1934;26:404–413, doi:10.1093/biomet/26.4.404; computed
    with :meth:`scipy.stats.binomtest(...).proportion_ci(method='exact')
    <scipy.stats._result_classes.BinomTestResult.proportion_ci>`, the same interval as R's
    ``binom.test``. ``(nan, nan)`` when ``trials`` is 0.
    """
    if trials == 0:
        return (float("nan"), float("nan"))
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(
        confidence_level=confidence_level, method="exact")
    return (float(ci.low), float(ci.high))


def texier_midrank(pfs1_days: np.ndarray, pfs2_days: np.ndarray, pfs2_event: np.ndarray, *,
                   threshold: float = DEFAULT_THRESHOLD) -> float:
    """Midrank estimate of P(PFS2/PFS1 ≥ threshold) with censored PFS2 (Texier et al. 2018).

    Texier M, Rotolo F, Ducreux M, Bouché O, Pignon JP, Michiels S. Comput Math Methods Med
    2018;2018:1672176, doi:10.1155/2018/1672176 (nonparametric method, recommended over
    their parametric one). PFS1 is assumed observed for every patient, as in their design.
    Each of the 2n values ``threshold * PFS1_i`` and ``PFS2_i`` is an interval: ``[x, x]`` when
    observed, ``[c, inf)`` for a PFS2 censored at c. With L the sorted left ends and R the
    sorted right ends of all 2n intervals, an interval ``[a, b]`` gets the midrank
    ``(rank of the first R >= a + rank of the last L <= b) / 2`` (1-based ranks), and
    patient i counts as success when midrank(PFS2_i) ≥ midrank(threshold * PFS1_i). The
    estimate is the share of successes. Written from the authors' R example
    (``TexierRotoloMichiels_example.R`` in github.com/Oncostat/TTPratio, Gustave Roussy
    biostatistics unit), vectorised with sorted searches instead of per-value scans.

    Without censoring the midrank comparison is the plain comparison
    ``PFS2_i ≥ threshold * PFS1_i``; a PFS2 censored at c has midrank between the rank of c
    and 2n, so it can count as success even when ``c < threshold * PFS1_i`` (the estimator's
    way of crediting what is not yet known).

    Returns NaN for no pairs.
    """
    p1 = np.asarray(pfs1_days, float) * threshold
    p2 = np.asarray(pfs2_days, float)
    event = np.asarray(pfs2_event, bool)
    n = p1.size
    if n == 0:
        return float("nan")
    left = np.sort(np.concatenate([p1, p2]))
    right = np.sort(np.concatenate([p1, np.where(event, p2, np.inf)]))

    def midrank(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        first_right = np.searchsorted(right, lo, side="left") + 1
        last_left = np.searchsorted(left, hi, side="right")
        return (first_right + last_left) / 2.0

    mid1 = midrank(p1, p1)
    mid2 = midrank(p2, np.where(event, p2, np.inf))
    return float(np.mean(mid2 >= mid1))


def pfsr_summary(ratios: pd.DataFrame, *, threshold: float = DEFAULT_THRESHOLD,
                 alpha: float = 0.05) -> dict[str, object]:
    """Cohort summary of the PFS ratios of :func:`pfs_ratio`.

    - counts of guided lines by verdict; ``n_evaluable`` = benefit + no_benefit;
    - share with benefit among the evaluable lines and among all guided lines, each with an
      exact Clopper–Pearson ``1 - alpha`` interval (Clopper & Pearson 1934,
      doi:10.1093/biomet/26.4.404; :func:`clopper_pearson`). MASTER reports the share of all
      guided patients (Horak et al. 2021, doi:10.1158/2159-8290.CD-21-0126);
    - ``median_pfs_ratio``: median of the computable ratios of observed durations, censored
      or not, as reported in single-arm series (Von Hoff 2010, doi:10.1200/JCO.2009.26.5983);
      it ignores censoring and is descriptive only;
    - ``texier_estimate``: P(PFS2/PFS1 ≥ threshold) by the midrank estimator of Texier et al.
      2018 (doi:10.1155/2018/1672176; :func:`texier_midrank`), over the ``texier_n`` lines
      with a computable ratio and an observed PFS1 (their method assumes PFS1 observed; lines
      with censored PFS1 are left out and counted in ``texier_excluded_pfs1_censored``), with
      the authors' Wald interval ``p ± z(1 - alpha/2) sqrt(p(1 - p)/n)`` clipped to [0, 1].

    The modified PFSr of Mock et al. 2019 (doi:10.1136/esmoopen-2019-000583) is not computed:
    its formula could not be confirmed from the paper (see ``docs/pfsr.md``).

    Parameters
    ----------
    ratios
        Output of :func:`pfs_ratio` (columns pfs1_days, pfs1_event, pfs2_days, pfs2_event,
        pfs_ratio, verdict).
    threshold
        Threshold of the Texier estimate; use the one given to :func:`pfs_ratio`.
    alpha
        1 - confidence level of the intervals (0.05: 95 %).

    Returns
    -------
    dict
        n_guided, n_evaluable, n_benefit, n_no_benefit, n_not_evaluable,
        share_benefit_evaluable, share_benefit_evaluable_ci, share_benefit_guided,
        share_benefit_guided_ci, median_pfs_ratio, texier_estimate, texier_ci, texier_n,
        texier_excluded_pfs1_censored, threshold, confidence_level.
    """
    _require(ratios, _RATIO_COLUMNS, "ratios")
    _check_threshold(threshold)
    if not (0 < alpha < 1):
        raise InputError(f"alpha {alpha!r} is not between 0 and 1", expected="e.g. 0.05",
                         fix="pass alpha=0.05 for 95 % intervals")
    unknown = ~ratios["verdict"].isin(VERDICTS)
    if unknown.any():
        bad = ratios.loc[unknown, "verdict"].iloc[0]
        raise InputError(f"verdict {bad!r} is not one of {', '.join(VERDICTS)}",
                         column="verdict", fix="pass the output of pfs_ratio unchanged")
    level = 1.0 - alpha
    verdict = ratios["verdict"]
    n_guided = len(ratios)
    n_benefit = int((verdict == "benefit").sum())
    n_no = int((verdict == "no_benefit").sum())
    n_ne = int((verdict == "not_evaluable").sum())
    n_eval = n_benefit + n_no

    ratio = ratios["pfs_ratio"].to_numpy(float)
    computable = ~np.isnan(ratio)
    e1 = ratios["pfs1_event"].astype("boolean").fillna(False).to_numpy(bool)
    use = computable & e1
    estimate = texier_midrank(ratios["pfs1_days"].to_numpy(float)[use],
                              ratios["pfs2_days"].to_numpy(float)[use],
                              ratios["pfs2_event"].to_numpy(bool)[use], threshold=threshold)
    n_tex = int(use.sum())
    if n_tex:
        half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(estimate * (1 - estimate) / n_tex)
        texier_ci = (float(max(0.0, estimate - half)), float(min(1.0, estimate + half)))
    else:
        texier_ci = (float("nan"), float("nan"))
    return {
        "n_guided": n_guided,
        "n_evaluable": n_eval,
        "n_benefit": n_benefit,
        "n_no_benefit": n_no,
        "n_not_evaluable": n_ne,
        "share_benefit_evaluable": n_benefit / n_eval if n_eval else float("nan"),
        "share_benefit_evaluable_ci": clopper_pearson(n_benefit, n_eval,
                                                      confidence_level=level),
        "share_benefit_guided": n_benefit / n_guided if n_guided else float("nan"),
        "share_benefit_guided_ci": clopper_pearson(n_benefit, n_guided,
                                                   confidence_level=level),
        "median_pfs_ratio": float(np.median(ratio[computable])) if computable.any()
        else float("nan"),
        "texier_estimate": estimate,
        "texier_ci": texier_ci,
        "texier_n": n_tex,
        "texier_excluded_pfs1_censored": int((computable & ~e1).sum()),
        "threshold": float(threshold),
        "confidence_level": level,
    }

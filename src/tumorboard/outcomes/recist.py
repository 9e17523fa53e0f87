"""RECIST 1.1 responses from lesion measurements.

Implements the Response Evaluation Criteria in Solid Tumours version 1.1: Eisenhauer EA,
Therasse P, Bogaerts J, et al. New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247, doi:10.1016/j.ejca.2008.10.026
(cited below as "RECIST 1.1" with its section numbers). Written by hand: no maintained Python
library implements RECIST 1.1 response assignment.

Input table (one row per lesion per assessment)
-----------------------------------------------
patient (str), assessment_date (date), lesion_id (str), kind (``target`` | ``non_target`` |
``new``), site (str, optional: the organ, used for the two-per-organ rule), lymph_node (bool),
diameter_mm (float: longest diameter, short axis for nodes; NaN for non-target and new lesions),
status:

- target: empty when measured; ``too_small`` (present but too small to measure, counted as
  5 mm, RECIST 1.1 section 4.3.2) or ``not_evaluated``. A target that disappeared is 0 mm.
- non_target: ``present`` | ``absent`` | ``unequivocal_progression`` | ``not_evaluated``.
  For a node, ``absent`` means no longer pathological (short axis < 10 mm).
- new: ``new`` (unequivocal; the default when empty) | ``equivocal``.

The first assessment of a patient is the baseline. Time-point codes are ``CR``, ``PR``,
``SD``, ``PD``, ``NE``; non-target lesions are ``CR``, ``non-CR/non-PD``, ``PD``, ``NE`` or
``none`` (no non-target lesion at baseline); the baseline row carries ``baseline``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from tumorboard.errors import InputError

__all__ = [
    "assess",
    "best_overall_response",
    "non_target_response",
    "overall_response",
    "target_response",
    "validate_lesions",
]

#: At most five target lesions in total, RECIST 1.1 section 4.2.
MAX_TARGETS = 5
#: At most two target lesions per organ, RECIST 1.1 section 4.2.
MAX_TARGETS_PER_ORGAN = 2
#: Smallest measurable longest diameter of a non-nodal lesion by CT (slice thickness <= 5 mm),
#: RECIST 1.1 section 3.1.1.
MIN_MEASURABLE_MM = 10.0
#: Smallest short axis of a lymph node to be measurable (pathological), RECIST 1.1 section 3.1.1.
MIN_MEASURABLE_NODE_MM = 15.0
#: Nodes with short axis below 10 mm are normal; a CR needs every target node below it,
#: RECIST 1.1 sections 3.1.1 and 4.3.1.
NORMAL_NODE_MM = 10.0
#: Value of a target lesion "too small to measure" but present, RECIST 1.1 section 4.3.2.
TOO_SMALL_DEFAULT_MM = 5.0
#: PR: at least 30 % decrease of the sum of diameters from baseline, RECIST 1.1 section 4.3.1.
PR_DECREASE_PCT = 30.0
#: PD: at least 20 % increase over the smallest sum on study (nadir, baseline included) ...
PD_INCREASE_PCT = 20.0
#: ... and at least 5 mm absolute increase, RECIST 1.1 section 4.3.1.
PD_ABSOLUTE_MM = 5.0

KINDS = ("target", "non_target", "new")
TARGET_STATUSES = ("too_small", "not_evaluated")
NON_TARGET_STATUSES = ("present", "absent", "unequivocal_progression", "not_evaluated")
NEW_STATUSES = ("new", "equivocal")
RESPONSES = ("CR", "PR", "SD", "PD", "NE")
NON_TARGET_RESPONSES = ("CR", "non-CR/non-PD", "PD", "NE", "none")
BASELINE = "baseline"

# Diameters are decimal millimetres that binary floats do not represent exactly (0.7 * 33 is
# 23.099999999999998); thresholds are compared with this slack so that "exactly 30 %" is 30 %.
_EPS = 1e-9

_REQUIRED = ("patient", "assessment_date", "lesion_id", "kind", "lymph_node", "diameter_mm")


def _where(patient: object, date: object, lesion: object | None = None) -> str:
    day = pd.Timestamp(date).date().isoformat() if not pd.isna(date) else "no date"
    text = f"patient {patient}, assessment {day}"
    return text + (f", lesion {lesion}" if lesion is not None else "")


def _bool(value: object) -> bool | None:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "1.0", "yes", "y", "t"):
        return True
    if text in ("false", "0", "0.0", "no", "n", "f", ""):
        return False
    return None


def _status(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    return text or None


def validate_lesions(table: pd.DataFrame) -> pd.DataFrame:
    """Check a lesion-measurement table against the RECIST 1.1 rules and normalise it.

    Baseline (first assessment per patient): 1 to :data:`MAX_TARGETS` target lesions, at most
    :data:`MAX_TARGETS_PER_ORGAN` per ``site`` (checked when the column is present), each
    measured and measurable (>= 10 mm, nodes >= 15 mm short axis; RECIST 1.1 sections 3.1.1 and
    4.2); no new lesions. Follow-up: every baseline target is reported at every assessment,
    with a diameter (0 if it disappeared), ``too_small`` (counted 5 mm, section 4.3.2) or
    ``not_evaluated``; no target lesion added after baseline. Everywhere: known ``kind`` and
    status, no negative diameter, no lesion twice on one date, a lesion keeps its kind.
    A non-target lesion missing at a follow-up is not an error; it makes that time point's
    non-target response ``NE``.

    Returns
    -------
    DataFrame
        A copy sorted by patient, assessment_date, kind, lesion_id with normalised dtypes
        (patient/lesion_id str, assessment_date datetime64, lymph_node bool, status lower-case
        or None; non-target status ``present`` and new-lesion status ``new`` where empty).

    Raises
    ------
    InputError
        On the first problem, naming patient, assessment date, lesion and column, and saying
        how to fix it; ``line`` is the 1-based row of the offending lesion in ``table``.
    """
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise InputError(
            f"lesion table lacks column(s) {', '.join(missing)}",
            expected="patient, assessment_date, lesion_id, kind, lymph_node, diameter_mm, "
                     "status (site optional)",
            fix="add the missing column(s); see tumorboard.outcomes.recist for the layout",
        )
    t = table.copy().reset_index(drop=True)
    t["_row"] = np.arange(1, len(t) + 1)
    if "status" not in t.columns:
        t["status"] = None
    t["patient"] = t["patient"].astype(str)
    t["lesion_id"] = t["lesion_id"].astype(str)
    dates = pd.to_datetime(t["assessment_date"], errors="coerce")
    for i in np.flatnonzero(dates.isna().to_numpy()):
        raise InputError(
            f"patient {t.at[i, 'patient']}, lesion {t.at[i, 'lesion_id']}: assessment date "
            f"{t.at[i, 'assessment_date']!r} is missing or not a date",
            line=int(t.at[i, "_row"]), column="assessment_date", expected="a date (YYYY-MM-DD)",
            fix="give the imaging date of the assessment")
    t["assessment_date"] = dates.astype("datetime64[ns]")
    diam = pd.to_numeric(t["diameter_mm"], errors="coerce")
    for i in np.flatnonzero((diam.isna() & t["diameter_mm"].notna()).to_numpy()):
        raise InputError(
            f"{_where(t.at[i, 'patient'], t.at[i, 'assessment_date'], t.at[i, 'lesion_id'])}: "
            f"diameter {t.at[i, 'diameter_mm']!r} is not a number",
            line=int(t.at[i, "_row"]), column="diameter_mm", expected="millimetres",
            fix="give the diameter in mm (0 if the lesion disappeared), or leave it empty")
    t["diameter_mm"] = diam.astype(float)
    t["kind"] = [_status(k) for k in t["kind"]]
    t["status"] = [_status(s) for s in t["status"]]
    # object dtype, so that writing a bool into a float column of 1/0/NaN read from a CSV
    # neither upcasts nor warns
    t["lymph_node"] = t["lymph_node"].astype(object)

    for i, rec in t.iterrows():
        where = _where(rec["patient"], rec["assessment_date"], rec["lesion_id"])
        row = int(rec["_row"])
        kind = rec["kind"]
        if kind not in KINDS:
            raise InputError(f"{where}: unknown lesion kind {table['kind'].iloc[i]!r}",
                             line=row, column="kind", expected=" | ".join(KINDS),
                             fix="classify the lesion as target, non_target or new")
        if rec["diameter_mm"] < 0:
            raise InputError(f"{where}: negative diameter {rec['diameter_mm']} mm", line=row,
                             column="diameter_mm", expected="a diameter >= 0 mm",
                             fix="correct the measurement (0 if the lesion disappeared)")
        node = _bool(rec["lymph_node"])
        if node is None:
            if kind == "target" or not pd.isna(rec["lymph_node"]):
                raise InputError(f"{where}: lymph_node {rec['lymph_node']!r} is not yes/no",
                                 line=row, column="lymph_node", expected="True or False",
                                 fix="say whether the lesion is a lymph node (its short axis "
                                     "is then measured)")
            node = False
        t.at[i, "lymph_node"] = node
        status = rec["status"]
        allowed = {"target": (None, *TARGET_STATUSES), "non_target": (None, *NON_TARGET_STATUSES),
                   "new": (None, *NEW_STATUSES)}[kind]
        if status not in allowed:
            raise InputError(f"{where}: status {table['status'].iloc[i]!r} is not valid for a "
                             f"{kind} lesion", line=row, column="status",
                             expected=" | ".join(a for a in allowed if a),
                             fix="use one of the RECIST statuses listed")
        if kind == "non_target" and status is None:
            t.at[i, "status"] = "present"
        if kind == "new" and status is None:
            t.at[i, "status"] = "new"
    t["lymph_node"] = t["lymph_node"].astype(bool)

    dup = t.duplicated(["patient", "assessment_date", "lesion_id"], keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        rec = t.iloc[i]
        raise InputError(
            f"{_where(rec['patient'], rec['assessment_date'], rec['lesion_id'])}: the lesion is "
            "listed twice on the same date", line=int(rec["_row"]), column="lesion_id",
            fix="keep one row per lesion per assessment (merge or rename the duplicate)")

    for patient, rows in t.groupby("patient", sort=False):
        _validate_patient(str(patient), rows)

    t = t.sort_values(["patient", "assessment_date", "kind", "lesion_id"], kind="stable")
    return t.drop(columns="_row").reset_index(drop=True)


def _validate_patient(patient: str, rows: pd.DataFrame) -> None:
    kinds = rows.groupby("lesion_id")["kind"].unique()
    for lesion, ks in kinds.items():
        if len(ks) > 1:
            first = rows[rows["lesion_id"] == lesion].iloc[0]
            raise InputError(
                f"patient {patient}, lesion {lesion}: recorded as {' and '.join(sorted(ks))}; a "
                "lesion keeps the kind it was given", line=int(first["_row"]), column="kind",
                fix="give a lesion that appears after baseline its own id as a new lesion")
    baseline_date = rows["assessment_date"].min()
    base = rows[rows["assessment_date"] == baseline_date]
    where = _where(patient, baseline_date)
    first_row = int(base["_row"].min())
    new = base[base["kind"] == "new"]
    if len(new):
        raise InputError(f"{where}: lesion {new['lesion_id'].iloc[0]} is marked new at baseline",
                         line=int(new["_row"].iloc[0]), column="kind",
                         fix="lesions present at baseline are target or non_target")
    targets = base[base["kind"] == "target"]
    if not 1 <= len(targets) <= MAX_TARGETS:
        raise InputError(
            f"{where}: {len(targets)} target lesions at baseline", line=first_row, column="kind",
            expected=f"1 to {MAX_TARGETS} target lesions (RECIST 1.1 section 4.2)",
            fix="choose up to five measurable lesions as targets and record the others as "
                "non_target" if len(targets) else
                "select at least one measurable lesion as target; patients without measurable "
                "disease are not evaluable by this module")
    if "site" in rows.columns:
        per_site = targets.groupby(targets["site"].astype(str).str.strip().str.lower())
        for site, group in per_site:
            if len(group) > MAX_TARGETS_PER_ORGAN and site not in ("", "nan", "none"):
                raise InputError(
                    f"{where}: {len(group)} target lesions in organ '{group['site'].iloc[0]}' "
                    f"({', '.join(group['lesion_id'])})", line=int(group["_row"].iloc[0]),
                    column="site",
                    expected=f"at most {MAX_TARGETS_PER_ORGAN} per organ (RECIST 1.1 section 4.2)",
                    fix="keep the two largest in this organ as targets, record the rest as "
                        "non_target")
    for _, t in targets.iterrows():
        lesion_where = _where(patient, baseline_date, t["lesion_id"])
        if pd.isna(t["diameter_mm"]) or t["status"] is not None:
            raise InputError(f"{lesion_where}: a target lesion must be measured at baseline",
                             line=int(t["_row"]), column="diameter_mm",
                             fix="give the baseline diameter, or record the lesion as non_target")
        limit = MIN_MEASURABLE_NODE_MM if t["lymph_node"] else MIN_MEASURABLE_MM
        if t["diameter_mm"] < limit:
            what = "short axis of a target node" if t["lymph_node"] else "target lesion diameter"
            raise InputError(
                f"{lesion_where}: {what} {t['diameter_mm']:g} mm is below the measurable minimum",
                line=int(t["_row"]), column="diameter_mm",
                expected=f">= {limit:g} mm at baseline (RECIST 1.1 section 3.1.1)",
                fix="record the lesion as non_target")
    target_ids = set(targets["lesion_id"])
    for date, visit in rows[rows["assessment_date"] > baseline_date].groupby("assessment_date"):
        vt = visit[visit["kind"] == "target"]
        extra = sorted(set(vt["lesion_id"]) - target_ids)
        if extra:
            r = vt[vt["lesion_id"] == extra[0]].iloc[0]
            raise InputError(
                f"{_where(patient, date, extra[0])}: target lesion not among the baseline targets",
                line=int(r["_row"]), column="kind",
                fix="targets are chosen at baseline; record a lesion first seen later as new")
        absent = sorted(target_ids - set(vt["lesion_id"]))
        if absent:
            raise InputError(
                f"{_where(patient, date, absent[0])}: baseline target lesion not reported",
                line=int(visit["_row"].min()), column="lesion_id",
                fix="report every baseline target at every assessment: its diameter (0 if it "
                    "disappeared), status too_small (counted 5 mm) or status not_evaluated")
        unmeasured = vt[vt["diameter_mm"].isna() & vt["status"].isna()]
        if len(unmeasured):
            r = unmeasured.iloc[0]
            raise InputError(
                f"{_where(patient, date, r['lesion_id'])}: target lesion has no diameter",
                line=int(r["_row"]), column="diameter_mm",
                fix="give the diameter (0 if it disappeared), or status too_small (counted "
                    "5 mm) or not_evaluated")


def _measured_mm(lesions: pd.DataFrame) -> pd.Series:
    too_small = (lesions["status"] == "too_small") & lesions["diameter_mm"].isna()
    return lesions["diameter_mm"].where(~too_small, TOO_SMALL_DEFAULT_MM)


def _meets_pd(sum_mm: float, nadir_mm: float) -> bool:
    return bool(sum_mm - nadir_mm >= PD_ABSOLUTE_MM - _EPS
                and sum_mm >= nadir_mm * (1 + PD_INCREASE_PCT / 100) - _EPS)


def target_response(
    lesions: pd.DataFrame,
    *,
    baseline_sum_mm: float,
    nadir_mm: float,
    prior_cr: bool = False,
) -> str:
    """Target-lesion response at one time point (RECIST 1.1 sections 4.3.1, 4.3.2, 4.4.2).

    Parameters
    ----------
    lesions
        The baseline target lesions as measured at this time point (validated rows:
        ``lymph_node``, ``diameter_mm``, ``status``).
    baseline_sum_mm
        Sum of diameters at baseline.
    nadir_mm
        Smallest sum on study before this time point, baseline included (the PD reference).
    prior_cr
        Whether an earlier time point was a target CR: a lesion reappearing after CR is PD
        (section 4.3.2).

    Returns
    -------
    str
        ``CR``: every non-nodal target gone (0 mm) and every target node < 10 mm short axis
        (the sum may then be > 0). ``PD``: sum >= 20 % above the nadir and >= 5 mm above it.
        ``PR``: sum >= 30 % below baseline. ``SD`` otherwise. ``NE`` when a target was not
        evaluated, unless the evaluated targets alone already make PD (section 4.4.2).
        Too-small lesions count 5 mm (section 4.3.2).
    """
    measured = _measured_mm(lesions)
    evaluated = lesions["status"] != "not_evaluated"
    sum_mm = float(measured[evaluated].sum())
    node = lesions["lymph_node"].astype(bool)
    cr = bool((measured[~node] <= 0).all() and (measured[node] < NORMAL_NODE_MM).all())
    if not evaluated.all():
        return "PD" if _meets_pd(sum_mm, nadir_mm) else "NE"
    if cr:
        return "CR"
    if prior_cr or _meets_pd(sum_mm, nadir_mm):
        return "PD"
    if sum_mm <= baseline_sum_mm * (1 - PR_DECREASE_PCT / 100) + _EPS:
        return "PR"
    return "SD"


def non_target_response(
    lesions: pd.DataFrame,
    *,
    baseline_lesions: Iterable[str] | None = None,
) -> str:
    """Non-target response at one time point (RECIST 1.1 sections 4.3.3, 4.3.4).

    Parameters
    ----------
    lesions
        Non-target rows at this time point (``lesion_id``, ``status``).
    baseline_lesions
        Ids of the non-target lesions at baseline; one not reported at this time point makes it
        ``NE``. Defaults to the ids in ``lesions``.

    Returns
    -------
    str
        ``PD`` if any shows unequivocal progression; else ``NE`` if any was not evaluated or
        not reported; else ``CR`` if all are absent (nodes non-pathological); else
        ``non-CR/non-PD``. ``none`` if there were no non-target lesions at baseline.
    """
    expected = set(lesions["lesion_id"]) if baseline_lesions is None else set(baseline_lesions)
    if not expected and lesions.empty:
        return "none"
    status = lesions.set_index("lesion_id")["status"]
    if (status == "unequivocal_progression").any():
        return "PD"
    if (status == "not_evaluated").any() or not expected <= set(status.index):
        return "NE"
    if (status[list(expected)] == "absent").all():
        return "CR"
    return "non-CR/non-PD"


def overall_response(target: str, non_target: str, new_lesions: str) -> str:
    """Overall time-point response from its parts, RECIST 1.1 section 4.4.1, Table 1.

    ``new_lesions`` is ``yes`` (unequivocal new lesion), ``equivocal`` or ``no``; an
    equivocal new lesion does not make PD at its first time point (section 4.3.5). ``none``
    non-target (no non-target disease at baseline) counts as non-target CR.

    ===========  ==================  =====  =======
    target       non-target          new    overall
    ===========  ==================  =====  =======
    CR           CR / none           no     CR
    CR           non-CR/non-PD, NE   no     PR
    PR           non-PD or NE        no     PR
    SD           non-PD or NE        no     SD
    NE           non-PD              no     NE
    PD           any                 any    PD
    any          PD                  any    PD
    any          any                 yes    PD
    ===========  ==================  =====  =======
    """
    for value, allowed, name in ((target, RESPONSES, "target"),
                                 (non_target, NON_TARGET_RESPONSES, "non_target"),
                                 (new_lesions, ("yes", "no", "equivocal"), "new_lesions")):
        if value not in allowed:
            raise InputError(f"{name} response {value!r} is not a RECIST 1.1 code",
                             column=name, expected=" | ".join(allowed),
                             fix="use the codes returned by target_response / "
                                 "non_target_response")
    if new_lesions == "yes" or target == "PD" or non_target == "PD":
        return "PD"
    if target == "CR":
        return "CR" if non_target in ("CR", "none") else "PR"
    return target


def assess(table: pd.DataFrame) -> pd.DataFrame:
    """RECIST 1.1 time-point responses, one row per patient and assessment.

    Validates ``table`` with :func:`validate_lesions`, then applies :func:`target_response`,
    :func:`non_target_response` and :func:`overall_response` at every follow-up.

    Returns
    -------
    DataFrame
        patient, assessment_date, sum_mm (sum of the evaluated targets' diameters; too-small
        lesions 5 mm), targets_evaluated (bool), change_from_baseline_pct, nadir_mm (smallest
        sum of a fully evaluated earlier assessment, baseline included: the PD reference,
        RECIST 1.1 section 4.3.1), change_from_nadir_pct, target, non_target, new_lesions
        (``yes`` | ``equivocal`` | ``no``), overall, new_lesion_first_seen (for time points
        with an unequivocal new lesion: the first date any of those lesions was seen, possibly
        as equivocal; PD then dates from that day, section 4.3.5; NaT otherwise). The baseline
        row has ``baseline`` in the response columns and nadir_mm = sum_mm.
    """
    lesions = validate_lesions(table)
    out: list[dict[str, object]] = []
    for patient, rows in lesions.groupby("patient", sort=True):
        dates = sorted(rows["assessment_date"].unique())
        base = rows[rows["assessment_date"] == dates[0]]
        baseline_sum = float(base.loc[base["kind"] == "target", "diameter_mm"].sum())
        nt_ids = list(base.loc[base["kind"] == "non_target", "lesion_id"])
        out.append({"patient": patient, "assessment_date": dates[0], "sum_mm": baseline_sum,
                    "targets_evaluated": True, "change_from_baseline_pct": 0.0,
                    "nadir_mm": baseline_sum, "change_from_nadir_pct": 0.0,
                    "target": BASELINE, "non_target": BASELINE, "new_lesions": BASELINE,
                    "overall": BASELINE, "new_lesion_first_seen": pd.NaT})
        nadir = baseline_sum
        prior_cr = False
        new_rows = rows[rows["kind"] == "new"]
        first_seen = new_rows.groupby("lesion_id")["assessment_date"].min()
        for date in dates[1:]:
            visit = rows[rows["assessment_date"] == date]
            targets = visit[visit["kind"] == "target"]
            target = target_response(targets, baseline_sum_mm=baseline_sum, nadir_mm=nadir,
                                     prior_cr=prior_cr)
            evaluated = bool((targets["status"] != "not_evaluated").all())
            measured = _measured_mm(targets)
            sum_mm = float(measured[targets["status"] != "not_evaluated"].sum())
            non_target = non_target_response(visit[visit["kind"] == "non_target"],
                                             baseline_lesions=nt_ids)
            new = visit[visit["kind"] == "new"]
            unequivocal = new[new["status"] == "new"]
            new_code = "yes" if len(unequivocal) else ("equivocal" if len(new) else "no")
            seen = (first_seen[list(unequivocal["lesion_id"])].min() if len(unequivocal)
                    else pd.NaT)
            out.append({
                "patient": patient, "assessment_date": date, "sum_mm": sum_mm,
                "targets_evaluated": evaluated,
                "change_from_baseline_pct": _pct(sum_mm, baseline_sum),
                "nadir_mm": nadir, "change_from_nadir_pct": _pct(sum_mm, nadir),
                "target": target, "non_target": non_target, "new_lesions": new_code,
                "overall": overall_response(target, non_target, new_code),
                "new_lesion_first_seen": seen,
            })
            if evaluated:
                nadir = min(nadir, sum_mm)
            prior_cr = prior_cr or target == "CR"
    result = pd.DataFrame(out, columns=[
        "patient", "assessment_date", "sum_mm", "targets_evaluated", "change_from_baseline_pct",
        "nadir_mm", "change_from_nadir_pct", "target", "non_target", "new_lesions", "overall",
        "new_lesion_first_seen"])
    result["assessment_date"] = result["assessment_date"].astype("datetime64[ns]")
    result["new_lesion_first_seen"] = pd.to_datetime(
        result["new_lesion_first_seen"]).astype("datetime64[ns]")
    return result


def _pct(value: float, reference: float) -> float:
    return 100.0 * (value - reference) / reference if reference > 0 else float("nan")


def _confirmed_at(
    codes: list[str],
    dates: list[pd.Timestamp],
    gap: pd.Timedelta,
    *,
    first: tuple[str, ...],
    then: tuple[str, ...],
) -> pd.Timestamp | None:
    """Date of the earliest ``first`` response confirmed by a ``then`` one >= ``gap`` later.

    The response must hold in between: an SD (or PR between two CRs) breaks it, NE does not
    (RECIST 1.1 section 4.4.3, Table 3; section 4.6.1 asks for a repeat assessment that meets
    the criteria, and does not say more about what may lie in between).
    """
    holds = set(then) | {"NE"}
    for i, code in enumerate(codes):
        if code not in first:
            continue
        for j in range(i + 1, len(codes)):
            if codes[j] not in holds:
                break
            if codes[j] in then and dates[j] - dates[i] >= gap:
                return dates[i]
    return None


def best_overall_response(
    responses: pd.DataFrame,
    *,
    confirmation: bool = True,
    min_interval_days: int = 28,
    min_sd_days: int = 42,
) -> pd.DataFrame:
    """Best overall response per patient, RECIST 1.1 section 4.4.3 and Table 3.

    Only time points up to the first PD count. With ``confirmation`` (non-randomised trials
    with response as primary end point, section 4.6.1), CR needs a later CR and PR a later PR
    or CR at least ``min_interval_days`` (4 weeks, section 4.6.1) after it, the response
    holding in between (NE allowed, SD not); CR followed by PR does not confirm either. An
    unconfirmed CR/PR, or any CR/PR/SD, gives SD if it was recorded at least ``min_sd_days``
    after baseline; otherwise the patient is PD if progression followed, else NE. The SD
    minimum is protocol-specific (the guideline says in general not less than 6-8 weeks,
    section 4.4.3); the 42-day default is the lower end, counted from the baseline assessment
    as a proxy for study entry. Without ``confirmation`` the best single time point counts
    (CR > PR > SD, SD with its minimum).

    Parameters
    ----------
    responses
        Output of :func:`assess` (patient, assessment_date, overall; new_lesion_first_seen
        optional).

    Returns
    -------
    DataFrame
        patient, best_response (CR | PR | SD | PD | NE), confirmed (True only for a CR/PR
        confirmed by a repeat assessment as above, whatever ``confirmation``),
        date_of_first_response (first CR or PR date of the best response -- of its confirmed
        episode when confirmed -- the start of the duration of response, section 4.6.2; else
        NaT), progression_date (first PD time point, or the first sighting of an equivocal new
        lesion later confirmed, section 4.3.5; NaT without progression: the progression date
        for PFS).
    """
    need = ["patient", "assessment_date", "overall"]
    missing = [c for c in need if c not in responses.columns]
    if missing:
        raise InputError(f"responses table lacks column(s) {', '.join(missing)}",
                         expected=", ".join(need), fix="pass the output of recist.assess")
    if min_interval_days < 0 or min_sd_days < 0:
        raise InputError("minimum intervals must be >= 0 days",
                         column="min_interval_days" if min_interval_days < 0 else "min_sd_days",
                         fix="give the protocol's intervals in days")
    gap = pd.Timedelta(days=min_interval_days)
    sd_gap = pd.Timedelta(days=min_sd_days)
    rows = []
    for patient, visits in responses.groupby("patient", sort=True):
        visits = visits.sort_values("assessment_date")
        base = visits[visits["overall"] == BASELINE]
        if base.empty:
            raise InputError(f"patient {patient}: no baseline row in the responses",
                             column="overall", fix="pass the output of recist.assess")
        baseline_date = base["assessment_date"].iloc[0]
        post = visits[visits["assessment_date"] > baseline_date]
        bad = post[~post["overall"].isin(RESPONSES)]
        if len(bad):
            raise InputError(
                f"{_where(patient, bad['assessment_date'].iloc[0])}: overall response "
                f"{bad['overall'].iloc[0]!r} is not a RECIST 1.1 code", column="overall",
                expected=" | ".join(RESPONSES), fix="pass the output of recist.assess")
        is_pd = (post["overall"] == "PD").to_numpy()
        progression = pd.NaT
        if is_pd.any():
            k = int(np.flatnonzero(is_pd)[0])
            progression = post["assessment_date"].iloc[k]
            if "new_lesion_first_seen" in post.columns:
                seen = post["new_lesion_first_seen"].iloc[k]
                if not pd.isna(seen) and seen < progression:
                    progression = seen
            before = post.iloc[:k]
        else:
            before = post
        dates = list(before["assessment_date"])
        codes = list(before["overall"])
        confirmed_cr = _confirmed_at(codes, dates, gap, first=("CR",), then=("CR",))
        confirmed_pr = _confirmed_at(codes, dates, gap, first=("PR",), then=("PR", "CR"))
        sd_met = any(c in ("CR", "PR", "SD") and d - baseline_date >= sd_gap
                     for c, d in zip(codes, dates, strict=True))
        if confirmation:
            best = ("CR" if confirmed_cr is not None else
                    "PR" if confirmed_pr is not None else None)
        else:
            best = "CR" if "CR" in codes else "PR" if "PR" in codes else None
        if best is None:
            best = "SD" if sd_met else "PD" if is_pd.any() else "NE"
        start = confirmed_cr if best == "CR" else confirmed_pr if best == "PR" else None
        confirmed = start is not None
        first_response = pd.NaT
        if best in ("CR", "PR") and start is None:
            first_response = next(d for c, d in zip(codes, dates, strict=True)
                                  if c in ("CR", "PR"))
        elif start is not None:
            # the episode starts at the first CR/PR not separated from `start` by an SD
            k = dates.index(start)
            while k > 0 and codes[k - 1] in ("CR", "PR", "NE"):
                k -= 1
            first_response = next(d for c, d in zip(codes[k:], dates[k:], strict=True)
                                  if c in ("CR", "PR"))
        rows.append({"patient": patient, "best_response": best, "confirmed": bool(confirmed),
                     "date_of_first_response": first_response,
                     "progression_date": progression})
    out = pd.DataFrame(rows, columns=["patient", "best_response", "confirmed",
                                      "date_of_first_response", "progression_date"])
    for col in ("date_of_first_response", "progression_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    out["confirmed"] = out["confirmed"].astype(bool)
    return out

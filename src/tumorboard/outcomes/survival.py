"""Kaplan–Meier curves, log-rank tests, Cox regression, landmark and subgroup analyses.

Fitting is done by lifelines (Davidson-Pilon, J Open Source Softw 2019;4:1317,
doi:10.21105/joss.01317); this module adds validation at the boundary, the tables users
and plots need (curves, numbers at risk, medians, survival at fixed times, hazard ratios),
the confidence-interval choices of R ``survival`` where users compare with it, and the
registry's subgroup logic. Durations are days, events are bool (True = event observed),
as in :mod:`tumorboard.outcomes`.

Methods and their sources
-------------------------
- Kaplan–Meier estimator: Kaplan & Meier, J Am Stat Assoc 1958;53:457–481,
  doi:10.1080/01621459.1958.10501452; variance by Greenwood's formula (Greenwood, Reports
  on Public Health and Medical Subjects 1926;33).
- Pointwise confidence intervals, ``conf_type``:
  ``"log-log"`` (default; lifelines' "exponential Greenwood" interval, Kalbfleisch &
  Prentice, The Statistical Analysis of Failure Time Data, Wiley 1980/2002, section 1.4)
  or ``"log"`` (R ``survfit``'s default, ``exp(log S ± z·se(log S))``; Therneau &
  Grambsch, Modeling Survival Data, Springer 2000, doi:10.1007/978-1-4757-3294-8,
  section 2.1). Both are tested (``log`` against R output, ``log-log`` in closed form).
- Median survival and its interval: the time where the curve (resp. its upper and lower
  band) first reaches 0.5 (Brookmeyer & Crowley, Biometrics 1982;38:29–41,
  doi:10.2307/2530286, the construction R's ``quantile.survfit`` uses); where the curve is
  exactly 0.5 over an interval, the midpoint of that interval, as R does.
- Log-rank test: Mantel, Cancer Chemother Rep 1966;50:163–170 (PMID 5910392); k-sample
  form via lifelines ``multivariate_logrank_test``.
- Cox proportional hazards: Cox, J R Stat Soc B 1972;34:187–220; tied event times by
  Efron's approximation (Efron, J Am Stat Assoc 1977;72:557–565,
  doi:10.1080/01621459.1977.10480613), lifelines' only method and R ``coxph``'s default,
  so estimates match R. Proportional-hazards check by the scaled Schoenfeld residual test
  (Grambsch & Therneau, Biometrika 1994;81:515–526, doi:10.1093/biomet/81.3.515) with the
  rank time transform.
- Landmark analysis: Anderson, Cain & Gelber, J Clin Oncol 1983;1:710–719,
  doi:10.1200/JCO.1983.1.11.710; Dafni, Circ Cardiovasc Qual Outcomes 2011;4:363–371,
  doi:10.1161/CIRCOUTCOMES.110.957951; guards against immortal-time bias (Suissa, Am J
  Epidemiol 2008;167:492–499, doi:10.1093/aje/kwm324).
- Subgroups of the local ablative therapy (LAT) registry: the sarcoma study group's
  retrospective multicentre study of 246 patients with metastatic soft-tissue sarcoma
  treated with LAT, Eur J Surg Oncol, 08/2024 (full reference not verified here; see
  :func:`subgroup_analyses`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from scipy.stats import norm, rankdata

from tumorboard.errors import InputError
from tumorboard.outcomes import DAYS_PER_MONTH, DAYS_PER_YEAR
from tumorboard.outcomes import jsonable as _jsonable

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "CoxResult",
    "KaplanMeierResult",
    "LandmarkResult",
    "cox_regression",
    "forest_table",
    "kaplan_meier",
    "landmark",
    "subgroup_analyses",
]

AT_RISK_STEP_DAYS = DAYS_PER_YEAR / 2
"""Default spacing of the numbers-at-risk table: every 6 months (182.625 days), the
spacing usual under oncology Kaplan–Meier plots (Pocock, Clayton & Altman, Lancet
2002;359:1686–1689, doi:10.1016/S0140-6736(02)08594-X, recommend showing numbers at risk
at regular intervals)."""

PH_VIOLATION_P = 0.05
"""p-value below which a covariate is listed in ``CoxResult.ph_violations`` (conventional
5 % level used by Grambsch & Therneau 1994, doi:10.1093/biomet/81.3.515)."""

ConfType = Literal["log-log", "log"]
_ALL = "all"


# --------------------------------------------------------------------------------------
# helpers: JSON output and validation
# --------------------------------------------------------------------------------------


def _where(table: pd.DataFrame, mask: pd.Series, *, limit: int = 5) -> str:
    """Name the offending rows: patient ids when the table has them, else index labels."""
    selected = mask.to_numpy()
    labels = list(table.index[selected][:limit])
    if "patient" in table.columns:
        names = table.loc[selected, "patient"].iloc[:limit]
        shown = [f"patient {p} (row {r})" for p, r in zip(names, labels, strict=True)]
    else:
        shown = [f"row {r}" for r in labels]
    more = f" and {int(mask.sum()) - limit} more" if int(mask.sum()) > limit else ""
    return ", ".join(shown) + more


def _require_columns(table: object, columns: Iterable[str]) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise InputError(
            f"expected a pandas DataFrame, got {type(table).__name__}",
            fix="pass the table as a pandas DataFrame, one row per patient",
        )
    for column in columns:
        if column not in table.columns:
            raise InputError(
                f"column is missing from the table (it has {list(table.columns)})",
                column=column,
                expected=f"a column named '{column}'",
                fix=f"rename the column to '{column}' or pass its name as an argument",
            )
    if table.empty:
        raise InputError("the table has no rows", fix="pass at least one patient")
    return table


def _durations(table: pd.DataFrame, column: str) -> pd.Series:
    raw = table[column]
    if pd.api.types.is_bool_dtype(raw) or not (
        pd.api.types.is_numeric_dtype(raw) or raw.dtype == object
    ):
        raise InputError(
            f"durations must be numbers of days, got dtype {raw.dtype}",
            column=column,
            fix="convert dates to days since time zero (see tumorboard.outcomes)",
        )
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = values.isna() | ~np.isfinite(values)
    if bad.any():
        raise InputError(
            f"duration is missing or not a number in {_where(table, bad)}",
            column=column,
            expected="a non-negative number of days",
            fix="fill in the follow-up time or drop these patients explicitly",
        )
    negative = values < 0
    if negative.any():
        raise InputError(
            f"duration is negative in {_where(table, negative)}",
            column=column,
            expected="a non-negative number of days",
            fix="check the dates: the event or last follow-up precedes time zero",
        )
    return values


def _events(table: pd.DataFrame, column: str) -> pd.Series:
    raw = table[column]
    if pd.api.types.is_bool_dtype(raw) and not raw.isna().any():
        return raw.astype(bool)
    valid = raw.map(lambda v: isinstance(v, bool | np.bool_) or (
        isinstance(v, int | float | np.integer | np.floating) and v in (0, 1)
    ))
    if not valid.all():
        raise InputError(
            f"event indicator is not boolean-like in {_where(table, ~valid)} "
            f"(values {sorted({repr(v) for v in raw[~valid]})[:5]})",
            column=column,
            expected="True/False or 1/0 (True = event observed, False = censored)",
            fix="recode the column, e.g. R's status 2/1 as status == 2",
        )
    return raw.astype(float).astype(bool)


def _groups(table: pd.DataFrame, column: str) -> tuple[pd.Series, list[str]]:
    raw = table[column]
    missing = raw.isna()
    if missing.any():
        raise InputError(
            f"group is missing in {_where(table, missing)}",
            column=column,
            fix="fill in the group or drop these patients before the analysis",
        )
    if isinstance(raw.dtype, pd.CategoricalDtype):
        levels = [str(c) for c in raw.cat.categories]
        counts = raw.value_counts()
        empty = [str(c) for c in raw.cat.categories if counts.get(c, 0) == 0]
        if empty:
            raise InputError(
                f"group level(s) {empty} have no patients",
                column=column,
                fix="drop unused categories (Series.cat.remove_unused_categories())",
            )
    elif pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        # numeric codes sort as numbers (2 before 10), then become labels
        levels = [str(v) for v in sorted(raw.unique())]
    else:
        levels = sorted({str(v) for v in raw})
    return raw.astype(str), levels


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise InputError(
            f"alpha must lie strictly between 0 and 1, got {alpha}",
            expected="e.g. 0.05 for 95 % confidence intervals",
        )


# --------------------------------------------------------------------------------------
# Kaplan–Meier
# --------------------------------------------------------------------------------------


def _median_crossing(times: np.ndarray, curve: np.ndarray) -> float:
    """First time a right-continuous step curve reaches 0.5 (NaN if never).

    Brookmeyer & Crowley, Biometrics 1982;38:29–41, doi:10.2307/2530286; when the curve is
    exactly 0.5 over an interval the midpoint of that interval is returned, as R
    ``quantile.survfit`` does (Therneau, survival package documentation, ``?quantile.survfit``).
    """
    finite = ~np.isnan(curve)
    times, curve = times[finite], curve[finite]
    # R compares with a tolerance of sqrt(machine epsilon) so that 0.5 computed as a
    # product of fractions counts as exactly 0.5.
    tol = math.sqrt(np.finfo(float).eps)
    below = np.nonzero(curve <= 0.5 + tol)[0]
    if below.size == 0:
        return math.nan
    first = below[0]
    if abs(curve[first] - 0.5) <= tol:
        later = np.nonzero(curve < 0.5 - tol)[0]
        if later.size == 0:
            return math.nan  # flat at 0.5 to the end of follow-up: upper end unknown
        return float((times[first] + times[later[0]]) / 2)
    return float(times[first])


def _km_one(
    durations: pd.Series, events: pd.Series, *, alpha: float, conf_type: ConfType
) -> tuple[pd.DataFrame, KaplanMeierFitter]:
    """Step points of one curve with its pointwise confidence band."""
    fitter = KaplanMeierFitter(alpha=alpha).fit(durations, event_observed=events)
    times = fitter.survival_function_.index.to_numpy(dtype=float)
    survival = fitter.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    if conf_type == "log-log":
        band = fitter.confidence_interval_survival_function_
        lower, upper = band.iloc[:, 0].to_numpy(float), band.iloc[:, 1].to_numpy(float)
        # lifelines leaves the band at (1, 1) before the first event and propagates the
        # last finite band once S reaches 0; R reports NA there, so do we.
        lower = np.where(survival == 0, np.nan, lower)
        upper = np.where(survival == 0, np.nan, upper)
    else:
        table = fitter.event_table
        at_risk = table["at_risk"].to_numpy(float)
        observed = table["observed"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Greenwood variance of log S(t): sum d / (n (n - d)) over event times <= t
            terms = np.where(observed > 0, observed / (at_risk * (at_risk - observed)), 0.0)
        var_log = np.cumsum(terms)
        z = norm.ppf(1 - alpha / 2)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lower = survival * np.exp(-z * np.sqrt(var_log))
            upper = np.minimum(1.0, survival * np.exp(z * np.sqrt(var_log)))
        lower = np.where(survival == 0, np.nan, lower)
        upper = np.where(survival == 0, np.nan, upper)
    curve = pd.DataFrame({"time": times, "survival": survival, "lower": lower, "upper": upper})
    if curve["time"].iloc[0] > 0:
        start = pd.DataFrame({"time": [0.0], "survival": [1.0], "lower": [1.0], "upper": [1.0]})
        curve = pd.concat([start, curve], ignore_index=True)
    return curve, fitter


@dataclass
class KaplanMeierResult:
    """Kaplan–Meier estimate per group: curves, numbers at risk, medians, log-rank.

    Attributes
    ----------
    curves
        DataFrame[group, time, survival, lower, upper]: the step points (time 0 and every
        distinct duration) with the pointwise ``1 - alpha`` band of type ``conf_type``.
    at_risk
        DataFrame[group, time, at_risk, events, censored]: patients still at risk just
        before ``time`` (duration ≥ time, R's ``n.risk``) and the cumulative events and
        censorings with duration ≤ time.
    medians
        DataFrame[group, n, events, median, lower, upper]; NaN where not reached.
    logrank
        dict(statistic, df, p) of the k-sample log-rank test when there are ≥ 2 groups,
        else None.
    conf_type, alpha
        The interval type and level used.
    """

    curves: pd.DataFrame
    at_risk: pd.DataFrame
    medians: pd.DataFrame
    logrank: dict[str, float] | None
    conf_type: ConfType
    alpha: float
    group: str | None = None

    def survival_at(self, times: float | Sequence[float]) -> pd.DataFrame:
        """Survival with its band at given times (e.g. 2-, 3-, 5-year OS).

        The Kaplan–Meier curve is right-continuous (Kaplan & Meier 1958,
        doi:10.1080/01621459.1958.10501452): the value at ``t`` is that of the last step
        point ≤ ``t``, i.e. R's ``summary(fit, times=t)``. Times beyond a group's last
        follow-up give NaN (R omits them with ``extend=FALSE``).

        Parameters
        ----------
        times
            Days, e.g. ``[2 * DAYS_PER_YEAR, 3 * DAYS_PER_YEAR, 5 * DAYS_PER_YEAR]``.

        Returns
        -------
        DataFrame[group, time, survival, lower, upper]
        """
        values = np.atleast_1d(np.asarray(times, dtype=float))
        if np.isnan(values).any() or (values < 0).any():
            raise InputError(
                f"times must be non-negative numbers of days, got {list(values)}",
                fix="pass e.g. [730.5, 1095.75, 1826.25] for 2, 3 and 5 years",
            )
        rows = []
        for group, curve in self.curves.groupby("group", sort=False):
            t = curve["time"].to_numpy()
            for value in values:
                if value > t[-1]:
                    rows.append((group, value, math.nan, math.nan, math.nan))
                    continue
                i = int(np.searchsorted(t, value, side="right")) - 1
                point = curve.iloc[i]
                rows.append((group, value, point["survival"], point["lower"], point["upper"]))
        return pd.DataFrame(rows, columns=["group", "time", "survival", "lower", "upper"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of every table (NaN → None)."""
        return _jsonable(
            {
                "group": self.group,
                "conf_type": self.conf_type,
                "alpha": self.alpha,
                "curves": self.curves,
                "at_risk": self.at_risk,
                "medians": self.medians,
                "logrank": self.logrank,
            }
        )


def kaplan_meier(
    table: pd.DataFrame,
    *,
    duration: str = "duration",
    event: str = "event",
    group: str | None = None,
    alpha: float = 0.05,
    at_risk_times: Sequence[float] | None = None,
    conf_type: ConfType = "log-log",
) -> KaplanMeierResult:
    """Kaplan–Meier curves with confidence bands, numbers at risk, medians and log-rank.

    Kaplan & Meier 1958 (doi:10.1080/01621459.1958.10501452) fitted by lifelines; bands
    and medians as described in the module docstring (Greenwood variance; ``log-log`` =
    Kalbfleisch & Prentice 1980, lifelines' default; ``log`` = R ``survfit``'s default;
    median interval by Brookmeyer & Crowley 1982, doi:10.2307/2530286). With ≥ 2 groups
    the k-sample log-rank test (Mantel 1966, PMID 5910392).

    Parameters
    ----------
    table
        One row per patient.
    duration, event
        Column names: days from time zero; True = event observed (1/0 accepted).
    group
        Optional column to stratify by; pandas categorical order is kept, otherwise
        levels are sorted.
    alpha
        1 - confidence level of all intervals.
    at_risk_times
        Days at which to count patients at risk; default 0 and every 6 months
        (:data:`AT_RISK_STEP_DAYS`) up to the longest duration.
    conf_type
        ``"log-log"`` (default) or ``"log"`` (to reproduce R ``survfit`` defaults).

    Returns
    -------
    KaplanMeierResult

    Raises
    ------
    InputError
        Missing columns, negative/missing durations, events not boolean-like, missing
        group values or empty groups.
    """
    _check_alpha(alpha)
    if conf_type not in ("log-log", "log"):
        raise InputError(
            f"unknown conf_type {conf_type!r}", expected="'log-log' or 'log'"
        )
    columns = [duration, event] + ([group] if group is not None else [])
    _require_columns(table, columns)
    durations = _durations(table, duration)
    events = _events(table, event)
    if group is None:
        labels = pd.Series(_ALL, index=table.index)
        levels = [_ALL]
    else:
        labels, levels = _groups(table, group)

    if at_risk_times is None:
        n_steps = math.floor(durations.max() / AT_RISK_STEP_DAYS)
        grid = np.arange(n_steps + 1) * AT_RISK_STEP_DAYS
    else:
        grid = np.asarray(sorted(at_risk_times), dtype=float)
        if np.isnan(grid).any() or (grid < 0).any():
            raise InputError(
                "at_risk_times must be non-negative numbers of days",
                fix="pass e.g. [0, 182.625, 365.25]",
            )

    curves, at_risk, medians = [], [], []
    for level in levels:
        mask = (labels == level).to_numpy()
        d, e = durations[mask], events[mask]
        curve, _ = _km_one(d, e, alpha=alpha, conf_type=conf_type)
        curve.insert(0, "group", level)
        curves.append(curve)
        t = curve["time"].to_numpy()
        medians.append(
            {
                "group": level,
                "n": int(mask.sum()),
                "events": int(e.sum()),
                "median": _median_crossing(t, curve["survival"].to_numpy()),
                # the lower band reaches 0.5 first, so it gives the lower limit
                "lower": _median_crossing(t, curve["lower"].to_numpy()),
                "upper": _median_crossing(t, curve["upper"].to_numpy()),
            }
        )
        for when in grid:
            at_risk.append(
                {
                    "group": level,
                    "time": float(when),
                    "at_risk": int((d >= when).sum()),
                    "events": int(((d <= when) & e).sum()),
                    "censored": int(((d <= when) & ~e).sum()),
                }
            )

    logrank = None
    if len(levels) >= 2:
        test = multivariate_logrank_test(durations, labels, event_observed=events)
        logrank = {
            "statistic": float(test.test_statistic),
            "df": int(test.degrees_of_freedom),
            "p": float(test.p_value),
        }
    return KaplanMeierResult(
        curves=pd.concat(curves, ignore_index=True),
        at_risk=pd.DataFrame(at_risk, columns=["group", "time", "at_risk", "events", "censored"]),
        medians=pd.DataFrame(medians, columns=["group", "n", "events", "median", "lower", "upper"]),
        logrank=logrank,
        conf_type=conf_type,
        alpha=alpha,
        group=group,
    )


# --------------------------------------------------------------------------------------
# Cox regression
# --------------------------------------------------------------------------------------


@dataclass
class CoxResult:
    """Cox proportional-hazards fit: hazard ratios, PH test and fit statistics.

    Attributes
    ----------
    summary
        DataFrame[covariate, hr, lower, upper, p, coef, se]; categorical terms named
        ``column[level]`` (vs ``reference[column]``); Wald CIs and p (Cox 1972).
    ph_test
        DataFrame[covariate, statistic, p]: scaled Schoenfeld residual test per term, rank
        time transform (Grambsch & Therneau 1994, doi:10.1093/biomet/81.3.515).
    ph_violations
        Terms with PH-test p < :data:`PH_VIOLATION_P`.
    concordance
        Harrell's C (Harrell et al., JAMA 1982;247:2543–2546, doi:10.1001/jama.1982.03320430047030).
    n, events, log_likelihood
        Patients, events, maximised partial log-likelihood.
    reference
        Reference level of each categorical covariate.
    notes
        Fitting problems (e.g. lifelines convergence warnings) worth showing to users.
    """

    summary: pd.DataFrame
    ph_test: pd.DataFrame
    ph_violations: list[str]
    concordance: float
    n: int
    events: int
    log_likelihood: float
    reference: dict[str, str] = field(default_factory=dict)
    strata: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of every table (NaN → None)."""
        return _jsonable(
            {
                "summary": self.summary,
                "ph_test": self.ph_test,
                "ph_violations": self.ph_violations,
                "concordance": self.concordance,
                "n": self.n,
                "events": self.events,
                "log_likelihood": self.log_likelihood,
                "reference": self.reference,
                "strata": self.strata,
                "notes": self.notes,
            }
        )


def _design(
    table: pd.DataFrame, covariates: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric design matrix: numbers as they are, bools as 0/1, categories one-hot.

    Treatment (dummy) coding against a reference level, as R's default
    ``contr.treatment`` (Chambers & Hastie, Statistical Models in S, 1992, ch. 2): the
    reference is the first category of a pandas Categorical, otherwise the first level in
    sorted order (R's ``factor`` default), so hazard ratios match R.
    """
    columns: dict[str, pd.Series] = {}
    reference: dict[str, str] = {}
    for name in covariates:
        raw = table[name]
        missing = raw.isna()
        if missing.any():
            raise InputError(
                f"covariate is missing in {_where(table, missing)}",
                column=name,
                fix="impute the value or drop these patients before fitting",
            )
        if pd.api.types.is_bool_dtype(raw) or pd.api.types.is_numeric_dtype(raw):
            columns[name] = raw.astype(float)
        elif isinstance(raw.dtype, pd.CategoricalDtype) or raw.dtype == object or (
            pd.api.types.is_string_dtype(raw)
        ):
            if isinstance(raw.dtype, pd.CategoricalDtype):
                levels = [c for c in raw.cat.categories if (raw == c).any()]
            else:
                levels = sorted({str(v) for v in raw})
            values = raw.astype(str)
            levels = [str(v) for v in levels]
            if len(levels) < 2:
                raise InputError(
                    f"categorical covariate has a single level {levels}",
                    column=name,
                    fix="drop the covariate: it cannot be estimated",
                )
            reference[name] = levels[0]
            for level in levels[1:]:
                columns[f"{name}[{level}]"] = (values == level).astype(float)
        else:
            raise InputError(
                f"covariate has unsupported dtype {raw.dtype}",
                column=name,
                expected="numbers, bool, str or pandas categorical",
            )
    return pd.DataFrame(columns, index=table.index), reference


def _event_time_rank(durations: pd.Series, events: pd.Series, _weights: object) -> pd.Series:
    """Rank transform of time for the Schoenfeld residual test: rank among event times.

    Grambsch & Therneau 1994 (doi:10.1093/biomet/81.3.515) with g(t) = rank of the event
    time, ties averaged as R ``cox.zph(transform = "rank")``. lifelines' built-in
    ``"rank"`` is the running count of events in its internal row order, which is the
    same for an unstratified model without ties but, in a stratified model (rows sorted
    by stratum, then time), ranks the second stratum's events after all of the first's;
    so the rank is computed here on the times themselves.
    """
    times = np.asarray(durations, dtype=float)
    observed = np.asarray(events, dtype=bool)
    rank = np.full(times.shape, np.nan)
    rank[observed] = rankdata(times[observed])
    return pd.Series(rank, index=durations.index)  # lifelines reads `.values`


def _check_rank(design: pd.DataFrame) -> None:
    """Refuse a design whose columns are linearly dependent (incl. constant columns).

    The partial likelihood has no unique maximum then (Therneau & Grambsch 2000,
    doi:10.1007/978-1-4757-3294-8, section 3.5); R drops such terms as NA, we say which.
    """
    centred = design - design.mean()
    constant = [c for c in design.columns if np.allclose(centred[c], 0)]
    if constant:
        raise InputError(
            f"covariate term(s) {constant} take a single value in the data",
            fix="drop them: a constant covariate has no hazard ratio",
        )
    values = centred.to_numpy(dtype=float)
    if np.linalg.matrix_rank(values) < values.shape[1]:
        # name the first term that is a linear combination of the ones before it
        for k in range(2, values.shape[1] + 1):
            if np.linalg.matrix_rank(values[:, :k]) < k:
                raise InputError(
                    f"covariate term '{design.columns[k - 1]}' is a linear combination of "
                    f"{list(design.columns[: k - 1])}",
                    fix="drop one of the collinear covariates",
                )


def cox_regression(
    table: pd.DataFrame,
    *,
    duration: str = "duration",
    event: str = "event",
    covariates: Sequence[str],
    strata: Sequence[str] | None = None,
    penalizer: float = 0.0,
    alpha: float = 0.05,
) -> CoxResult:
    """Cox proportional-hazards regression with a proportional-hazards check.

    Cox 1972 fitted by lifelines ``CoxPHFitter``; tied event times by Efron's method
    (doi:10.1080/01621459.1977.10480613), the same as R ``coxph``'s default, so
    coefficients and standard errors match R. PH assumption tested per term with the
    scaled Schoenfeld residual test on the rank of the event times (Grambsch & Therneau
    1994, doi:10.1093/biomet/81.3.515) through lifelines ``proportional_hazard_test``
    with its own rank transform (:func:`_event_time_rank`: lifelines' ``'rank'`` is wrong
    for stratified models); equal to lifelines' ``time_transform='rank'`` otherwise.

    Parameters
    ----------
    table
        One row per patient.
    duration, event
        Column names (days; True = event).
    covariates
        Columns entering the model. Numeric and bool columns as they are; str and
        categorical columns one-hot against a reference level (first pandas category, else
        alphabetically first, as R), terms named ``column[level]``.
    strata
        Columns whose levels get their own baseline hazard (R ``strata()``).
    penalizer
        L2 penalty of lifelines (0 = ordinary partial likelihood, as R).
    alpha
        1 - confidence level of the hazard-ratio intervals.

    Returns
    -------
    CoxResult

    Raises
    ------
    InputError
        Invalid durations/events, missing covariate values, single-level categories, or a
        model lifelines cannot fit (e.g. a covariate collinear with another).
    """
    _check_alpha(alpha)
    covariates = list(covariates)
    strata = list(strata or [])
    if not covariates:
        raise InputError("no covariates given", fix="pass covariates=['column', ...]")
    _require_columns(table, [duration, event, *covariates, *strata])
    durations = _durations(table, duration)
    events = _events(table, event)
    design, reference = _design(table, covariates)
    frame = design.assign(__duration=durations, __event=events.astype(float))
    for column in strata:
        missing = table[column].isna()
        if missing.any():
            raise InputError(
                f"stratum is missing in {_where(table, missing)}", column=column
            )
        frame[column] = table[column].astype(str)

    _check_rank(design)
    notes: list[str] = []
    fitter = CoxPHFitter(penalizer=penalizer, alpha=alpha)
    with warnings.catch_warnings(record=True) as caught:
        # lifelines warns (ConvergenceWarning; scipy's LinAlgWarning from its Newton steps)
        # on separation, e.g. a level without events; that is a property of the user's
        # data, so it is reported in `notes` instead of escaping as a warning.
        warnings.simplefilter("always")
        try:
            fitter.fit(
                frame,
                duration_col="__duration",
                event_col="__event",
                strata=strata or None,
                # lifelines stops Newton–Raphson once the Newton decrement is < precision
                # (default 1e-7), ~2e-6 short of the maximum on the lung data; at 1e-12
                # R coxph's own criterion (relative log-likelihood change < 1e-9, which
                # lifelines also checks) decides, and the estimates match R to its 6
                # printed decimals (tests/outcomes/test_survival.py)
                fit_options={"precision": 1e-12},
            )
        except ConvergenceError as error:
            raise InputError(
                f"the Cox model could not be fitted: {str(error).splitlines()[0]}",
                expected="covariates that are not collinear and vary within the data",
                fix="drop redundant covariates, merge sparse levels or set penalizer > 0",
            ) from error
    notes += [str(w.message).strip().splitlines()[0] for w in caught]

    s = fitter.summary
    lower_name = next(c for c in s.columns if c.startswith("exp(coef) lower"))
    upper_name = next(c for c in s.columns if c.startswith("exp(coef) upper"))
    summary = pd.DataFrame(
        {
            "covariate": [str(i) for i in s.index],
            "hr": s["exp(coef)"].to_numpy(),
            "lower": s[lower_name].to_numpy(),
            "upper": s[upper_name].to_numpy(),
            "p": s["p"].to_numpy(),
            "coef": s["coef"].to_numpy(),
            "se": s["se(coef)"].to_numpy(),
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ph = proportional_hazard_test(fitter, frame, time_transform=_event_time_rank)
    notes += [str(w.message).strip().splitlines()[0] for w in caught]
    ph_summary = ph.summary
    ph_test = pd.DataFrame(
        {
            "covariate": [str(i) for i in ph_summary.index],
            "statistic": ph_summary["test_statistic"].to_numpy(dtype=float),
            "p": ph_summary["p"].to_numpy(dtype=float),
        }
    )
    return CoxResult(
        summary=summary,
        ph_test=ph_test,
        ph_violations=ph_test.loc[ph_test["p"] < PH_VIOLATION_P, "covariate"].tolist(),
        concordance=float(fitter.concordance_index_),
        n=len(frame),
        events=int(events.sum()),
        log_likelihood=float(fitter.log_likelihood_),
        reference=reference,
        strata=strata,
        notes=notes,
    )


# --------------------------------------------------------------------------------------
# Landmark analysis
# --------------------------------------------------------------------------------------


@dataclass
class LandmarkResult:
    """Survival from a landmark by exposure status at the landmark.

    Attributes
    ----------
    landmark_days
        The landmark (days after time zero); durations in ``km``/``cox`` count from it.
    table
        The analysed patients: the input rows alive and at risk at the landmark, with
        ``duration`` reset to the landmark and a bool ``exposed`` column.
    excluded_events, excluded_censored
        Patients left out because their event, resp. censoring, came at or before the
        landmark.
    km
        Kaplan–Meier by ``exposed`` ("exposed"/"not exposed") with the log-rank test.
    cox
        Cox model of ``exposed`` (+ ``covariates``) or None when not asked for.
    """

    landmark_days: float
    table: pd.DataFrame
    excluded_events: int
    excluded_censored: int
    km: KaplanMeierResult
    cox: CoxResult | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the patient table is left out; counts and results kept)."""
        return _jsonable(
            {
                "landmark_days": self.landmark_days,
                "n": len(self.table),
                "exposed": int(self.table["exposed"].sum()),
                "excluded_events": self.excluded_events,
                "excluded_censored": self.excluded_censored,
                "km": self.km.to_dict(),
                "cox": self.cox.to_dict() if self.cox is not None else None,
            }
        )


EXPOSED, NOT_EXPOSED = "exposed", "not exposed"


def landmark(
    table: pd.DataFrame,
    *,
    landmark_days: float,
    exposure_start: str,
    duration: str = "duration",
    event: str = "event",
    covariates: Sequence[str] | None = None,
    cox: bool = True,
    alpha: float = 0.05,
    conf_type: ConfType = "log-log",
) -> LandmarkResult:
    """Landmark analysis of an exposure that starts during follow-up.

    Comparing patients who *ever* received a therapy with those who did not credits the
    treated group with the time they had to survive to receive it (immortal-time bias;
    Suissa, Am J Epidemiol 2008;167:492–499, doi:10.1093/aje/kwm324). The landmark method
    (Anderson, Cain & Gelber, J Clin Oncol 1983;1:710–719, doi:10.1200/JCO.1983.1.11.710;
    Dafni, Circ Cardiovasc Qual Outcomes 2011;4:363–371,
    doi:10.1161/CIRCOUTCOMES.110.957951) fixes a landmark time, keeps only patients
    still alive and under observation at it (duration > landmark), classifies them by
    exposure status *at* the landmark (exposure started on or before it), resets time to
    the landmark and then compares groups by Kaplan–Meier, log-rank and Cox. Exposures
    starting after the landmark count as "not exposed" (intention-to-treat from the
    landmark, Anderson et al. 1983).

    Parameters
    ----------
    table
        One row per patient.
    landmark_days
        Landmark in days after time zero (e.g. 90 for "systemic therapy within 3 months").
    exposure_start
        Column: days from time zero to the start of the exposure; NaN = never started.
    duration, event
        Column names (days from time zero; True = event).
    covariates
        Extra covariates for the Cox model (adjusted HR of exposure).
    cox
        Fit the Cox model of exposure (+ covariates).
    alpha, conf_type
        As in :func:`kaplan_meier`.

    Returns
    -------
    LandmarkResult

    Raises
    ------
    InputError
        Invalid durations/events/exposure times, a negative landmark, or no patient (or
        only one exposure group) left at the landmark.
    """
    _require_columns(table, [duration, event, exposure_start, *(covariates or [])])
    if not (isinstance(landmark_days, int | float) and math.isfinite(landmark_days)) or (
        landmark_days < 0
    ):
        raise InputError(
            f"landmark_days must be a non-negative number of days, got {landmark_days!r}"
        )
    durations = _durations(table, duration)
    events = _events(table, event)
    start = pd.to_numeric(table[exposure_start], errors="coerce")
    bad = table[exposure_start].notna() & (start.isna() | (start < 0))
    if bad.any():
        raise InputError(
            f"exposure start is not a non-negative number of days in {_where(table, bad)}",
            column=exposure_start,
            expected="days from time zero, or NaN when the exposure never started",
        )
    after_end = start > durations
    if after_end.any():
        raise InputError(
            f"exposure starts after the end of follow-up in {_where(table, after_end)}",
            column=exposure_start,
            fix="check the dates of the exposure and of the last follow-up",
        )
    at_risk = durations > landmark_days
    excluded_events = int((~at_risk & events).sum())
    excluded_censored = int((~at_risk & ~events).sum())
    kept = table.loc[at_risk.to_numpy()].copy()
    if kept.empty:
        raise InputError(
            f"no patient is alive and under follow-up after the landmark ({landmark_days} days)",
            fix="choose an earlier landmark",
        )
    kept[duration] = durations[at_risk] - landmark_days
    kept[event] = events[at_risk]
    kept["exposed"] = (start[at_risk] <= landmark_days).to_numpy()
    labels = np.where(kept["exposed"], EXPOSED, NOT_EXPOSED)
    kept["exposure_at_landmark"] = pd.Categorical(labels, categories=[NOT_EXPOSED, EXPOSED])
    if kept["exposed"].nunique() < 2:
        which = EXPOSED if kept["exposed"].iloc[0] else NOT_EXPOSED
        raise InputError(
            f"every patient at risk at the landmark is '{which}': nothing to compare",
            column=exposure_start,
            fix="choose another landmark",
        )
    km = kaplan_meier(
        kept,
        duration=duration,
        event=event,
        group="exposure_at_landmark",
        alpha=alpha,
        conf_type=conf_type,
    )
    model = None
    if cox:
        model = cox_regression(
            kept,
            duration=duration,
            event=event,
            covariates=["exposed", *(covariates or [])],
            alpha=alpha,
        )
    return LandmarkResult(
        landmark_days=float(landmark_days),
        table=kept,
        excluded_events=excluded_events,
        excluded_censored=excluded_censored,
        km=km,
        cox=model,
    )


# --------------------------------------------------------------------------------------
# Subgroups of the LAT registry
# --------------------------------------------------------------------------------------

LAT_COLUMNS = (
    "patient",
    "os_days",
    "os_event",
    "pfs_days",
    "pfs_event",
    "age",
    "histology",
    "treatment_free_interval_months",
    "site",
    "lat_modality",
    "lesion_count",
    "largest_diameter_mm",
    "systemic_with_lat",
)
"""Columns of the LAT registry table (one row per patient, time zero = first LAT)."""

TREATMENT_FREE_INTERVAL_CUT_MONTHS = 12.0
"""Treatment-free interval cut (≥ 12 vs < 12 months): the cut of the study group's LAT
analysis (Eur J Surg Oncol 08/2024, reference not verified here); a 12-month disease-free
interval is also the classical prognostic cut for lung metastases of soft-tissue sarcoma
(Billingsley, Burt, Jara et al., "Pulmonary metastases from soft tissue sarcoma: analysis
of patterns of disease and postmetastasis survival", Ann Surg 1999;229:602–610: a
disease-free interval > 12 months was favourable in 719 patients)."""

AGE_CUT_YEARS = 60
"""Age cut (≤ 60 years) of the study group's interaction subgroup (Eur J Surg Oncol 08/2024)."""

LESION_COUNT_CUT = 4
"""Lesion-count cut (≥ 4 lesions) of the study group's interaction subgroup (ibid.)."""

DIAMETER_CUT_MM = 20.0
"""Lesion size cut (> 2 cm) of the study group's interaction subgroup (ibid.); 2 cm is
also the size above which lung metastases carry a worse prognosis (review: J Cancer
Metastasis Treat 2023;9:12, doi:10.20517/2394-4722.2022.132)."""

MIN_HISTOLOGY_PATIENTS = 10
"""Histologies with fewer patients are pooled as 'other' so that every level has enough
events for a Cox estimate (about 10 events per parameter: Peduzzi et al., J Clin
Epidemiol 1995;48:1503–1510, doi:10.1016/0895-4356(95)00048-8)."""

SUBGROUP_COLUMNS = [
    "name",
    "population",
    "level",
    "reference",
    "n_level",
    "n_reference",
    "events_level",
    "events_reference",
    "median_level_days",
    "median_reference_days",
    "hr",
    "lower",
    "upper",
    "p_cox",
    "p_logrank",
    "p_interaction",
    "note",
]


def _compare(
    frame: pd.DataFrame,
    *,
    name: str,
    population: str,
    groups: pd.Series,
    reference: str,
    alpha: float,
) -> list[dict[str, Any]]:
    """Rows (one per non-reference level) of a univariable comparison within `frame`."""
    keep = groups.notna().to_numpy()
    data = frame.loc[keep, ["duration", "event"]].copy()
    data["level"] = groups[keep].astype(str).to_numpy()
    # the pooled 'other' level goes last so that tables and forest plots read naturally
    others = sorted(set(data["level"]) - {reference}, key=lambda v: (v == "other", v))
    levels = [reference, *others]
    present = [lv for lv in levels if (data["level"] == lv).any()]
    rows = []
    counts = data.groupby("level")["event"].agg(["size", "sum"])
    medians: dict[str, float] = {}
    note = ""
    p_logrank = math.nan
    fit: CoxResult | None = None
    if len(present) >= 2 and reference in present:
        data["level"] = pd.Categorical(data["level"], categories=present)
        km = kaplan_meier(data, group="level", alpha=alpha, at_risk_times=[0.0])
        medians = dict(zip(km.medians["group"], km.medians["median"], strict=True))
        p_logrank = km.logrank["p"] if km.logrank else math.nan
        no_events = [lv for lv in present if counts["sum"].get(lv, 0) == 0]
        try:
            if no_events:
                # a level without events has an infinite hazard ratio (monotone
                # likelihood, Heinze & Schemper, Biometrics 2001;57:114–119,
                # doi:10.1111/j.0006-341x.2001.00114.x): report it as not estimable
                raise InputError(f"no events in {no_events}: hazard ratio not estimable")
            fit = cox_regression(data, covariates=["level"], alpha=alpha)
        except InputError as error:
            note = error.problem
        else:
            note = "; ".join(fit.notes)
    else:
        note = "fewer than two levels with patients in this population"
    for level in levels[1:]:
        term = f"level[{level}]"
        hr = lower = upper = p_cox = math.nan
        if fit is not None and term in set(fit.summary["covariate"]):
            row = fit.summary.set_index("covariate").loc[term]
            hr, lower, upper, p_cox = row["hr"], row["lower"], row["upper"], row["p"]
        rows.append(
            {
                "name": name,
                "population": population,
                "level": level,
                "reference": reference,
                "n_level": int(counts["size"].get(level, 0)),
                "n_reference": int(counts["size"].get(reference, 0)),
                "events_level": int(counts["sum"].get(level, 0)),
                "events_reference": int(counts["sum"].get(reference, 0)),
                "median_level_days": medians.get(level, math.nan),
                "median_reference_days": medians.get(reference, math.nan),
                "hr": hr,
                "lower": lower,
                "upper": upper,
                "p_cox": p_cox,
                "p_logrank": p_logrank,
                "p_interaction": math.nan,
                "note": note,
            }
        )
    return rows


def _interaction_p(frame: pd.DataFrame, subset: pd.Series, *, alpha: float) -> tuple[float, str]:
    """Wald p of systemic × subgroup in a Cox model on the whole cohort.

    The test of interaction, not the comparison of subgroup p-values, is the valid test
    of effect modification (Brookes et al., J Clin Epidemiol 2004;57:229–236,
    doi:10.1016/j.jclinepi.2003.08.009).
    """
    keep = subset.notna() & frame["systemic"].notna()
    data = frame.loc[keep, ["duration", "event"]].copy()
    systemic = frame.loc[keep, "systemic"].astype(float)
    inside = subset[keep].astype(float)
    data["systemic"] = systemic
    data["subgroup"] = inside
    data["interaction"] = systemic * inside
    try:
        fit = cox_regression(
            data, covariates=["systemic", "subgroup", "interaction"], alpha=alpha
        )
    except InputError as error:
        return math.nan, error.problem
    p = fit.summary.set_index("covariate").loc["interaction", "p"]
    return float(p), "; ".join(fit.notes)


def _validate_lat(lat: pd.DataFrame) -> None:
    _require_columns(lat, LAT_COLUMNS)
    for column in ("os_days", "pfs_days"):
        _durations(lat, column)
    for column in ("os_event", "pfs_event"):
        _events(lat, column)
    for column in ("age", "treatment_free_interval_months", "lesion_count",
                   "largest_diameter_mm"):
        values = pd.to_numeric(lat[column], errors="coerce")
        bad = lat[column].notna() & values.isna()
        if bad.any() or (values < 0).any():
            raise InputError(
                f"value is not a non-negative number in "
                f"{_where(lat, bad | (values < 0).fillna(False))}",
                column=column,
            )
    sites = lat["site"].dropna().astype(str)
    unknown = sorted(set(sites) - {"lung", "extrapulmonary"})
    if unknown:
        raise InputError(
            f"unknown metastatic site(s) {unknown}",
            column="site",
            expected="'lung' or 'extrapulmonary'",
        )
    systemic = lat["systemic_with_lat"]
    ok = systemic.isna() | systemic.map(lambda v: isinstance(v, bool | np.bool_) or v in (0, 1))
    if not ok.all():
        raise InputError(
            f"systemic_with_lat is not boolean-like in {_where(lat, ~ok)}",
            column="systemic_with_lat",
            expected="True/False or 1/0",
        )


def subgroup_analyses(
    lat: pd.DataFrame,
    *,
    endpoint: Literal["os", "pfs"] = "os",
    min_histology_patients: int = MIN_HISTOLOGY_PATIENTS,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The sarcoma study group's subgroup analyses of local ablative therapy (LAT).

    Reproduces the comparisons of the study group's retrospective multicentre study of
    246 patients with metastatic soft-tissue sarcoma treated with LAT (Eur J Surg Oncol,
    08/2024; the exact reference could not be verified from here and should be completed
    from the publication). Time zero is the first LAT. Each comparison gives, per level,
    patients, events and Kaplan–Meier median, the univariable Cox hazard ratio of the
    level against the reference (Efron ties; Cox 1972) with its Wald interval, and the
    log-rank p (Mantel 1966, PMID 5910392):

    1. ``treatment_free_interval``: ≥ 12 vs < 12 months
       (:data:`TREATMENT_FREE_INTERVAL_CUT_MONTHS`; reference < 12).
    2. ``site``: extrapulmonary vs lung (reference lung).
    3. ``histology``: histologies with ≥ ``min_histology_patients`` patients kept, the
       rest pooled as ``other`` (:data:`MIN_HISTOLOGY_PATIENTS`); reference = the most
       common histology; one row per other level, the log-rank p is the k-sample test.
    4. ``lat_modality``: other modalities vs surgery/radiotherapy (reference).
    5. ``systemic_with_lat`` within age ≤ 60 and ≥ 4 lesions: with vs without systemic
       therapy, plus the Wald p of the interaction systemic × (age ≤ 60 and ≥ 4 lesions)
       in a Cox model of the whole cohort (Brookes et al. 2004,
       doi:10.1016/j.jclinepi.2003.08.009).
    6. ``systemic_with_lat`` within largest lesion > 2 cm: likewise, interaction with
       (largest diameter > 20 mm).

    Patients with a missing value in a comparison's defining column(s) are left out of
    that comparison only (the ``n_*`` columns show who was analysed).

    Parameters
    ----------
    lat
        LAT registry table with the columns :data:`LAT_COLUMNS`.
    endpoint
        ``"os"`` (os_days, os_event) or ``"pfs"`` (pfs_days, pfs_event).
    min_histology_patients
        Pooling threshold of rare histologies.
    alpha
        1 - confidence level of the hazard-ratio intervals.

    Returns
    -------
    DataFrame with the columns :data:`SUBGROUP_COLUMNS`, one row per comparison (per
    non-reference level for histology); ``p_interaction`` is NaN except for 5 and 6;
    ``note`` carries fitting problems (e.g. no events in a level).
    """
    if endpoint not in ("os", "pfs"):
        raise InputError(f"unknown endpoint {endpoint!r}", expected="'os' or 'pfs'")
    _check_alpha(alpha)
    _validate_lat(lat)
    frame = pd.DataFrame(
        {
            "duration": _durations(lat, f"{endpoint}_days"),
            "event": _events(lat, f"{endpoint}_event"),
        },
        index=lat.index,
    )
    systemic = lat["systemic_with_lat"].map(
        lambda v: math.nan if pd.isna(v) else float(bool(v))
    )
    frame["systemic"] = systemic
    systemic_label = systemic.map(
        lambda v: math.nan if pd.isna(v) else ("with systemic" if v else "without systemic")
    )
    rows: list[dict[str, Any]] = []

    tfi = pd.to_numeric(lat["treatment_free_interval_months"], errors="coerce")
    cut = TREATMENT_FREE_INTERVAL_CUT_MONTHS
    rows += _compare(
        frame,
        name="treatment_free_interval",
        population="all",
        groups=tfi.map(lambda v: math.nan if pd.isna(v) else (
            f">= {cut:g} months" if v >= cut else f"< {cut:g} months")),
        reference=f"< {cut:g} months",
        alpha=alpha,
    )
    rows += _compare(
        frame, name="site", population="all", groups=lat["site"], reference="lung",
        alpha=alpha,
    )

    histology = lat["histology"].astype("string")
    counts = histology.value_counts()
    common = set(counts[counts >= min_histology_patients].index)
    pooled = histology.map(lambda v: v if pd.isna(v) or v in common else "other")
    pooled_counts = pooled.value_counts()
    named = pooled_counts[pooled_counts.index != "other"]
    reference = str(named.index[0]) if len(named) else "other"
    rows += _compare(
        frame, name="histology", population="all", groups=pooled, reference=reference,
        alpha=alpha,
    )

    modality = lat["lat_modality"].map(
        lambda v: math.nan if pd.isna(v) else (
            "surgery/radiotherapy" if str(v) in ("surgery", "radiotherapy") else "other")
    )
    rows += _compare(
        frame, name="lat_modality", population="all", groups=modality,
        reference="surgery/radiotherapy", alpha=alpha,
    )

    age = pd.to_numeric(lat["age"], errors="coerce")
    lesions = pd.to_numeric(lat["lesion_count"], errors="coerce")
    diameter = pd.to_numeric(lat["largest_diameter_mm"], errors="coerce")
    young_many = ((age <= AGE_CUT_YEARS) & (lesions >= LESION_COUNT_CUT)).astype(float)
    young_many[age.isna() | lesions.isna()] = math.nan
    large = (diameter > DIAMETER_CUT_MM).astype(float)
    large[diameter.isna()] = math.nan
    for subset, population in (
        (young_many, f"age <= {AGE_CUT_YEARS} and >= {LESION_COUNT_CUT} lesions"),
        (large, f"largest lesion > {DIAMETER_CUT_MM / 10:g} cm"),
    ):
        inside = (subset == 1).to_numpy()
        new = _compare(
            frame.loc[inside],
            name="systemic_with_lat",
            population=population,
            groups=systemic_label[inside],
            reference="without systemic",
            alpha=alpha,
        )
        p, note = _interaction_p(frame, subset, alpha=alpha)
        for row in new:
            row["p_interaction"] = p
            if note:
                row["note"] = "; ".join(filter(None, [row["note"], f"interaction: {note}"]))
        rows += new
    return pd.DataFrame(rows, columns=SUBGROUP_COLUMNS)


def forest_table(subgroups: pd.DataFrame) -> pd.DataFrame:
    """Rows ready for a forest plot from :func:`subgroup_analyses`.

    One row per hazard ratio (Lewis & Clarke, BMJ 2001;322:1479–1480,
    doi:10.1136/bmj.322.7300.1479, for the forest-plot layout); ``p`` is the Cox Wald p of
    that hazard ratio (consistent with its interval), ``n`` the patients in the two
    levels compared.

    Returns
    -------
    DataFrame[label, hr, lower, upper, p, n]
    """
    _require_columns(subgroups, ["name", "population", "level", "reference", "hr", "lower",
                                 "upper", "p_cox", "n_level", "n_reference"])
    labels = [
        f"{row.name}: {row.level} vs {row.reference}"
        + ("" if row.population == "all" else f" ({row.population})")
        for row in subgroups.itertuples(index=False)
    ]
    return pd.DataFrame(
        {
            "label": labels,
            "hr": subgroups["hr"].to_numpy(dtype=float),
            "lower": subgroups["lower"].to_numpy(dtype=float),
            "upper": subgroups["upper"].to_numpy(dtype=float),
            "p": subgroups["p_cox"].to_numpy(dtype=float),
            "n": (subgroups["n_level"] + subgroups["n_reference"]).to_numpy(dtype=int),
        }
    )

"""Tests of :mod:`tumorboard.outcomes.survival`.

References: R ``survival`` on the NCCTG lung cancer data (Loprinzi et al., J Clin Oncol
1994;12:601–607), which lifelines ships as ``lifelines.datasets.load_lung()`` with
``status`` recoded to 1 = dead / 0 = censored (R: 2 = dead / 1 = censored; same 228
patients, 165 deaths); closed-form Kaplan–Meier/Greenwood computations by hand; and
simulations whose truth is known (immortal-time bias, interaction).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_lung
from scipy.stats import norm

from tumorboard.errors import InputError
from tumorboard.outcomes.survival import (
    AT_RISK_STEP_DAYS,
    SUBGROUP_COLUMNS,
    cox_regression,
    forest_table,
    kaplan_meier,
    landmark,
    subgroup_analyses,
)


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    """NCCTG lung data as the library expects it (duration days, event bool)."""
    data = load_lung()
    assert len(data) == 228  # R: nrow(lung)
    return data.rename(columns={"time": "duration"}).assign(event=lambda d: d["status"] == 1)


# --------------------------------------------------------------------------------------
# Kaplan–Meier against R survfit
# --------------------------------------------------------------------------------------


def test_overall_median_matches_r_survfit_log_band(lung):
    """R 4.x, survival 3.x (conf.type = "log" is survfit's default)::

        > survfit(Surv(time, status) ~ 1, data = lung)
              n events median 0.95LCL 0.95UCL
        [1,] 228    165    310     285     363
    """
    result = kaplan_meier(lung, conf_type="log")
    row = result.medians.iloc[0]
    assert (row["n"], row["events"]) == (228, 165)
    assert (row["median"], row["lower"], row["upper"]) == (310, 285, 363)
    assert result.logrank is None


def test_median_by_sex_matches_r_survfit_log_band(lung):
    """R::

        > survfit(Surv(time, status) ~ sex, data = lung)
                n events median 0.95LCL 0.95UCL
        sex=1 138    112    270     212     310
        sex=2  90     53    426     348     550
    """
    medians = kaplan_meier(lung, group="sex", conf_type="log").medians.set_index("group")
    assert medians.loc["1"].tolist() == [138, 112, 270, 212, 310]
    assert medians.loc["2"].tolist() == [90, 53, 426, 348, 550]


def test_one_year_survival_matches_r_summary(lung):
    """R (e.g. Zabor, "Survival analysis in R" tutorial, reproduces this)::

        > summary(survfit(Surv(time, status) ~ 1, data = lung), times = 365.25)
         time n.risk n.event survival std.err lower 95% CI upper 95% CI
          365     65     121    0.409  0.0358        0.345        0.486
    """
    result = kaplan_meier(lung, conf_type="log", at_risk_times=[0, 365.25])
    one_year = result.survival_at(365.25).iloc[0]
    assert one_year["survival"] == pytest.approx(0.409, abs=5e-4)
    assert one_year["lower"] == pytest.approx(0.345, abs=5e-4)
    assert one_year["upper"] == pytest.approx(0.486, abs=5e-4)
    at_year = result.at_risk.set_index("time").loc[365.25]
    assert (at_year["at_risk"], at_year["events"]) == (65, 121)


def test_logrank_by_sex_matches_r_survdiff(lung):
    """R::

        > survdiff(Surv(time, status) ~ sex, data = lung)
                N Observed Expected (O-E)^2/E (O-E)^2/V
        sex=1 138      112     91.6      4.55      10.3
        sex=2  90       53     73.4      5.68      10.3
         Chisq= 10.3  on 1 degrees of freedom, p= 0.001
    """
    logrank = kaplan_meier(lung, group="sex").logrank
    assert logrank["df"] == 1
    assert logrank["statistic"] == pytest.approx(10.3, abs=0.05)
    assert round(logrank["p"], 3) == 0.001


def test_log_log_band_in_closed_form():
    """Greenwood variance and the log-log (Kalbfleisch–Prentice) band by hand.

    Durations 1..5, events at 1, 2, 4 (3 and 5 censored): S(1) = 4/5, S(2) = 3/5,
    S(4) = 3/5 · 1/2 = 0.3; Var[log S(4)] = 1/(5·4) + 1/(4·3) + 1/(2·1). The band is
    S^exp(±z·sqrt(V)/log S); the log band S·exp(±z·sqrt(V)).
    """
    table = pd.DataFrame({"duration": [1, 2, 3, 4, 5], "event": [1, 1, 0, 1, 0]})
    z = norm.ppf(0.975)
    var = 1 / 20 + 1 / 12 + 1 / 2
    s = 0.3
    sigma = math.sqrt(var) / abs(math.log(s))
    result = kaplan_meier(table)
    point = result.survival_at(4.0).iloc[0]
    assert point["survival"] == pytest.approx(s)
    assert point["lower"] == pytest.approx(s ** math.exp(z * sigma))
    assert point["upper"] == pytest.approx(s ** math.exp(-z * sigma))
    log_band = kaplan_meier(table, conf_type="log").survival_at(2.0).iloc[0]
    se = math.sqrt(1 / 20 + 1 / 12)
    assert log_band["lower"] == pytest.approx(0.6 * math.exp(-z * se))
    assert log_band["upper"] == pytest.approx(min(1.0, 0.6 * math.exp(z * se)))
    # curves start at time 0 with S = 1 and hold every step point
    curve = result.curves
    assert curve["time"].tolist() == [0, 1, 2, 3, 4, 5]
    assert curve["survival"].tolist() == pytest.approx([1, 0.8, 0.6, 0.6, 0.3, 0.3])


def test_survival_at_is_right_continuous_and_undefined_after_follow_up():
    """S(t) is the value at t+0 (R summary.survfit); past the last time, NaN."""
    table = pd.DataFrame({"duration": [1, 2, 3, 4, 5], "event": [1, 1, 0, 1, 0]})
    at = kaplan_meier(table).survival_at([0.0, 1.999, 2.0, 5.0, 5.5])
    assert at["survival"].iloc[:4].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.3])
    assert math.isnan(at["survival"].iloc[4])


def test_median_on_a_flat_half_is_the_midpoint_and_unreached_is_nan():
    """R ``quantile.survfit``: a curve exactly 0.5 over [2, 3) has median 2.5.

    Durations 1..4, all events: S = 0.75, 0.5, 0.25, 0 → median (2 + 3) / 2. A group
    with no event never reaches 0.5 → NaN (JSON null).
    """
    table = pd.DataFrame(
        {
            "duration": [1, 2, 3, 4, 5, 6],
            "event": [True, True, True, True, False, False],
            "arm": ["a", "a", "a", "a", "b", "b"],
        }
    )
    result = kaplan_meier(table, group="arm")
    medians = result.medians.set_index("group")
    assert medians.loc["a", "median"] == 2.5
    assert math.isnan(medians.loc["b", "median"])
    as_json = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert as_json["medians"][1]["median"] is None


def test_at_risk_table_counts_by_hand():
    """At risk = duration ≥ t (R n.risk); events/censored cumulative up to t."""
    table = pd.DataFrame({"duration": [100.0, 200.0, 400.0], "event": [True, False, True]})
    at_risk = kaplan_meier(table).at_risk
    assert at_risk["time"].tolist() == [0.0, AT_RISK_STEP_DAYS, 2 * AT_RISK_STEP_DAYS]
    assert at_risk["at_risk"].tolist() == [3, 2, 1]
    assert at_risk["events"].tolist() == [0, 1, 1]
    assert at_risk["censored"].tolist() == [0, 0, 1]


def test_categorical_group_order_is_kept():
    table = pd.DataFrame(
        {
            "duration": [1.0, 2.0, 3.0, 4.0],
            "event": [True] * 4,
            "arm": pd.Categorical(["b", "a", "b", "a"], categories=["b", "a"]),
        }
    )
    assert kaplan_meier(table, group="arm").medians["group"].tolist() == ["b", "a"]
    numeric = table.assign(arm=[10, 2, 10, 2])
    assert kaplan_meier(numeric, group="arm").medians["group"].tolist() == ["2", "10"]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("duration", -3.0, "negative in patient P2"),
        ("duration", np.nan, "missing or not a number in patient P2"),
        ("event", "yes", "not boolean-like in patient P2"),
        ("event", 2, "not boolean-like in patient P2"),
    ],
)
def test_bad_durations_and_events_name_column_and_patient(column, value, message):
    table = pd.DataFrame(
        {"patient": ["P1", "P2", "P3"], "duration": [10.0, 20.0, 30.0], "event": [1, 0, 1]}
    ).astype({column: object})
    table.loc[1, column] = value
    with pytest.raises(InputError, match=message) as info:
        kaplan_meier(table)
    assert info.value.column == column


def test_many_bad_rows_are_summarised():
    table = pd.DataFrame({"duration": [-1.0] * 8, "event": [True] * 8})
    with pytest.raises(InputError, match=r"row 0, row 1, row 2, row 3, row 4 and 3 more \("):
        kaplan_meier(table)


def test_empty_group_and_missing_column_are_refused():
    table = pd.DataFrame(
        {
            "duration": [1.0, 2.0],
            "event": [True, False],
            "arm": pd.Categorical(["a", "a"], categories=["a", "b"]),
        }
    )
    with pytest.raises(InputError, match=r"\['b'\] have no patients") as info:
        kaplan_meier(table, group="arm")
    assert info.value.column == "arm"
    with pytest.raises(InputError, match="column is missing") as info:
        kaplan_meier(table, duration="os_days")
    assert info.value.column == "os_days"
    with pytest.raises(InputError, match="group is missing"):
        kaplan_meier(table.assign(arm=["a", None]), group="arm")


# --------------------------------------------------------------------------------------
# Cox regression against R coxph
# --------------------------------------------------------------------------------------


def test_cox_sex_matches_r_coxph(lung):
    """R (ties = "efron" is coxph's default, as lifelines)::

        > coxph(Surv(time, status) ~ sex, data = lung)
               coef exp(coef) se(coef)      z       p
        sex -0.5310    0.5880   0.1672 -3.176 0.00149
    """
    row = cox_regression(lung, covariates=["sex"]).summary.iloc[0]
    assert row["covariate"] == "sex"
    assert row["coef"] == pytest.approx(-0.5310, abs=5e-5)
    assert row["hr"] == pytest.approx(0.5880, abs=5e-5)
    assert row["se"] == pytest.approx(0.1672, abs=5e-5)
    assert row["p"] == pytest.approx(0.00149, abs=5e-6)


def test_cox_age_sex_matches_r_coxph(lung):
    """R::

        > summary(coxph(Surv(time, status) ~ age + sex, data = lung))
                 coef exp(coef)  se(coef)      z Pr(>|z|)
        age  0.017045  1.017191  0.009223  1.848  0.06459
        sex -0.513219  0.598566  0.167458 -3.065  0.00218
        Concordance= 0.603  (se = 0.025 )
    """
    result = cox_regression(lung, covariates=["age", "sex"])
    summary = result.summary.set_index("covariate")
    assert summary.loc["age", "coef"] == pytest.approx(0.017045, abs=5e-7)
    assert summary.loc["age", "hr"] == pytest.approx(1.017191, abs=5e-7)
    assert summary.loc["age", "se"] == pytest.approx(0.009223, abs=5e-7)
    assert summary.loc["age", "p"] == pytest.approx(0.06459, abs=5e-6)
    # matches to R's 6 decimals only because cox_regression tightens lifelines' Newton
    # precision (the default 1e-7 stops at -0.5132169)
    assert summary.loc["sex", "coef"] == pytest.approx(-0.513219, abs=5e-7)
    assert summary.loc["sex", "hr"] == pytest.approx(0.598566, abs=5e-7)
    assert summary.loc["sex", "se"] == pytest.approx(0.167458, abs=5e-7)
    assert summary.loc["sex", "p"] == pytest.approx(0.00218, abs=5e-6)
    assert round(result.concordance, 3) == 0.603
    assert (result.n, result.events) == (228, 165)
    z = norm.ppf(0.975)
    assert summary.loc["sex", "lower"] == pytest.approx(
        math.exp(summary.loc["sex", "coef"] - z * summary.loc["sex", "se"])
    )
    json.dumps(result.to_dict(), allow_nan=False)


def test_categorical_covariate_is_one_hot_against_documented_reference(lung):
    """R codes sex 1 = male, 2 = female; as text the reference is alphabetical (female).

    With reference "female" the male term is the R coefficient with its sign flipped
    (+0.5310); a Categorical ordered [male, female] gives back R's -0.5310.
    """
    labelled = lung.assign(sex=lung["sex"].map({1: "male", 2: "female"}))
    result = cox_regression(labelled, covariates=["sex"])
    assert result.reference == {"sex": "female"}
    row = result.summary.iloc[0]
    assert row["covariate"] == "sex[male]"
    assert row["coef"] == pytest.approx(0.5310, abs=5e-5)
    ordered = labelled.assign(
        sex=pd.Categorical(labelled["sex"], categories=["male", "female"])
    )
    row = cox_regression(ordered, covariates=["sex"]).summary.iloc[0]
    assert row["covariate"] == "sex[female]"
    assert row["coef"] == pytest.approx(-0.5310, abs=5e-5)


def _simulated(n: int, *, crossing: bool, seed: int) -> pd.DataFrame:
    """Two arms; either proportional (HR 0.5) or crossing hazards (Weibull shapes 0.5/3)."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    if crossing:
        scale = np.where(arm == 1, 1.0, 1.0)
        shape = np.where(arm == 1, 0.5, 3.0)
        times = scale * rng.weibull(shape)
    else:
        times = rng.exponential(np.where(arm == 1, 2.0, 1.0))
    censor = rng.uniform(0.5, 3.0, n)
    return pd.DataFrame(
        {"duration": np.minimum(times, censor) * 365, "event": times <= censor, "arm": arm}
    )


def test_ph_test_flags_crossing_hazards_and_passes_proportional_ones():
    """Grambsch & Therneau (1994): the scaled Schoenfeld residual test rejects PH for
    crossing Weibull hazards (shape 0.5 vs 3) and not for two exponentials (HR 0.5)."""
    crossing = cox_regression(_simulated(400, crossing=True, seed=3), covariates=["arm"])
    assert crossing.ph_violations == ["arm"]
    assert crossing.ph_test.iloc[0]["p"] < 1e-6
    proportional = cox_regression(_simulated(400, crossing=False, seed=3), covariates=["arm"])
    assert proportional.ph_violations == []
    assert proportional.ph_test.iloc[0]["p"] > 0.05
    assert proportional.summary.iloc[0]["hr"] == pytest.approx(0.5, rel=0.3)


def test_ph_test_equals_grambsch_therneau_formula_by_hand():
    """The rank-transform test recomputed from its definition, one covariate, no ties.

    Grambsch & Therneau 1994 (doi:10.1093/biomet/81.3.515), the approximation R
    ``cox.zph`` used before survival 3.0 (Therneau & Grambsch 2000, section 6.2): with
    Schoenfeld residuals r_k = x_k - x̄(β̂, t_k) at the D event times, g_k = rank of the
    k-th event time and V = var(β̂),
    T = D·V·(Σ (g_k - ḡ) r_k)² / Σ (g_k - ḡ)², referred to χ²(1).
    """
    from scipy.stats import chi2

    table = _simulated(120, crossing=True, seed=8).sort_values("duration")
    table["centre"] = np.random.default_rng(2).integers(0, 2, len(table))
    assert table["duration"].is_unique
    for strata in (None, ["centre"]):
        result = cox_regression(table, covariates=["arm"], strata=strata)
        beta = result.summary.iloc[0]["coef"]
        var = result.summary.iloc[0]["se"] ** 2
        x = table["arm"].to_numpy(float)
        time = table["duration"].to_numpy()
        # the risk set of a stratified model is the patients of the same stratum
        stratum = table["centre"].to_numpy() if strata else np.zeros(len(table))
        weight = np.exp(beta * x)
        event_rows = np.nonzero(table["event"].to_numpy())[0]
        residuals = []
        for k in event_rows:
            at_risk = (time >= time[k]) & (stratum == stratum[k])
            residuals.append(x[k] - (weight * x)[at_risk].sum() / weight[at_risk].sum())
        # rows are sorted by time, so the k-th event has rank k whatever its stratum
        rank = np.arange(1, len(event_rows) + 1, dtype=float)
        centred = rank - rank.mean()
        statistic = (
            len(event_rows) * var * (centred @ np.array(residuals)) ** 2 / (centred @ centred)
        )
        row = result.ph_test.iloc[0]
        assert row["statistic"] == pytest.approx(statistic, rel=1e-6), strata
        assert row["p"] == pytest.approx(chi2.sf(statistic, 1), rel=1e-6), strata


def test_strata_get_their_own_baseline(lung):
    result = cox_regression(lung, covariates=["age"], strata=["sex"])
    assert result.summary["covariate"].tolist() == ["age"]
    assert result.strata == ["sex"]
    assert result.ph_test["covariate"].tolist() == ["age"]


def test_cox_refuses_collinear_constant_and_missing_covariates(lung):
    with pytest.raises(InputError, match="'double_sex' is a linear combination"):
        cox_regression(lung.assign(double_sex=lung["sex"] * 2), covariates=["sex", "double_sex"])
    with pytest.raises(InputError, match="single value"):
        cox_regression(lung.assign(one=1.0), covariates=["sex", "one"])
    with pytest.raises(InputError, match="covariate is missing in row 13") as info:
        cox_regression(lung, covariates=["ph.ecog"])
    assert info.value.column == "ph.ecog"


def test_separation_is_reported_in_notes_not_as_a_warning(lung):
    """A covariate level without events: lifelines' ConvergenceWarning becomes a note."""
    table = lung.assign(group=np.where(lung.index < 20, "a", "b"))
    table.loc[table["group"] == "a", "event"] = False
    result = cox_regression(table, covariates=["group"])
    assert any("separation" in note for note in result.notes)


# --------------------------------------------------------------------------------------
# Landmark analysis
# --------------------------------------------------------------------------------------


def test_landmark_selects_classifies_and_resets_by_hand():
    """Anderson et al. 1983: only patients with duration > landmark; exposed = started on
    or before the landmark; time restarts at the landmark."""
    table = pd.DataFrame(
        {
            "patient": ["A", "B", "C", "D", "E", "F"],
            "duration": [50.0, 80.0, 150.0, 300.0, 400.0, 500.0],
            "event": [True, False, True, True, False, True],
            "start": [10.0, np.nan, 90.0, 120.0, np.nan, 30.0],
        }
    )
    result = landmark(table, landmark_days=90, exposure_start="start", cox=False)
    kept = result.table.set_index("patient")
    assert list(kept.index) == ["C", "D", "E", "F"]
    assert (result.excluded_events, result.excluded_censored) == (1, 1)
    assert kept["duration"].tolist() == [60.0, 210.0, 310.0, 410.0]
    # C started on the landmark day (exposed); D after it (not exposed at the landmark)
    assert kept["exposed"].tolist() == [True, False, False, True]
    medians = result.km.medians.set_index("group")
    assert medians.loc["exposed", "n"] == 2
    assert medians.loc["not exposed", "n"] == 2
    assert result.cox is None
    json.dumps(result.to_dict(), allow_nan=False)


def test_landmark_removes_immortal_time_bias():
    """Suissa 2008: a therapy without effect looks protective when patients are grouped
    by 'ever treated', because they had to live until it started.

    Simulation: exponential survival, mean 500 days, independent of therapy; 60 % start
    therapy at a uniform time in 0–365 days if still alive. The naive Cox HR is far
    below 1; the 180-day landmark HR is compatible with 1.
    """
    rng = np.random.default_rng(11)
    n = 1500
    death = rng.exponential(500.0, n)
    censor = rng.uniform(300.0, 1500.0, n)
    planned = np.where(rng.random(n) < 0.6, rng.uniform(0, 365.0, n), np.nan)
    duration = np.minimum(death, censor)
    start = np.where(planned < duration, planned, np.nan)
    table = pd.DataFrame(
        {"duration": duration, "event": death <= censor, "start": start,
         "ever": ~np.isnan(start)}
    )
    naive = cox_regression(table, covariates=["ever"]).summary.iloc[0]
    assert naive["upper"] < 0.8
    result = landmark(table, landmark_days=180, exposure_start="start")
    hr = result.cox.summary.set_index("covariate").loc["exposed"]
    assert hr["lower"] < 1 < hr["upper"]
    assert result.km.logrank["p"] > 0.05


def test_landmark_refuses_bad_exposure_times():
    table = pd.DataFrame(
        {"patient": ["A", "B"], "duration": [100.0, 200.0], "event": [True, False],
         "start": [150.0, np.nan]}
    )
    with pytest.raises(InputError, match="after the end of follow-up in patient A"):
        landmark(table, landmark_days=50, exposure_start="start")
    with pytest.raises(InputError, match="no patient is alive"):
        landmark(table.assign(start=np.nan), landmark_days=300, exposure_start="start")
    with pytest.raises(InputError, match="nothing to compare"):
        landmark(table.assign(start=np.nan), landmark_days=50, exposure_start="start")


# --------------------------------------------------------------------------------------
# LAT subgroups
# --------------------------------------------------------------------------------------


def _lat(n: int = 246, *, seed: int = 5) -> pd.DataFrame:
    """A simulated LAT registry: systemic therapy halves the hazard only for lesions
    > 2 cm (HR 0.4 vs 1.0), so the interaction is real; lung metastases do better."""
    rng = np.random.default_rng(seed)
    histology = rng.choice(
        ["leiomyosarcoma", "liposarcoma", "synovial sarcoma", "UPS", "angiosarcoma", "MPNST"],
        n,
        p=[0.35, 0.2, 0.15, 0.2, 0.05, 0.05],
    )
    diameter = rng.uniform(5, 60, n)
    systemic = rng.random(n) < 0.45
    site = rng.choice(["lung", "extrapulmonary"], n)
    hazard = np.where(site == "lung", 1.0, 1.6) * np.where(
        systemic & (diameter > 20), 0.4, 1.0
    )
    death = rng.exponential(700.0 / hazard)
    censor = rng.uniform(300.0, 2500.0, n)
    os_days = np.minimum(death, censor)
    progression = os_days * rng.uniform(0.2, 1.0, n)
    return pd.DataFrame(
        {
            "patient": [f"LAT-{i:03d}" for i in range(n)],
            "os_days": os_days,
            "os_event": death <= censor,
            "pfs_days": progression,
            "pfs_event": (death <= censor) | (rng.random(n) < 0.6),
            "age": rng.integers(20, 85, n),
            "histology": histology,
            "treatment_free_interval_months": rng.exponential(15.0, n),
            "site": site,
            "lat_modality": rng.choice(["surgery", "radiotherapy", "thermal_ablation"], n),
            "lesion_count": rng.integers(1, 8, n),
            "largest_diameter_mm": diameter,
            "systemic_with_lat": systemic,
        }
    )


def test_subgroups_rows_agree_with_the_definitions():
    """Each row re-derived by hand: the subset, the counts, the Cox HR and log-rank p."""
    lat = _lat()
    table = subgroup_analyses(lat)
    assert list(table.columns) == SUBGROUP_COLUMNS
    by = {(r.name, r.population, r.level): r for r in table.itertuples(index=False)}

    tfi = by[("treatment_free_interval", "all", ">= 12 months")]
    long_tfi = lat["treatment_free_interval_months"] >= 12
    assert (tfi.n_level, tfi.n_reference) == (long_tfi.sum(), (~long_tfi).sum())
    assert tfi.events_level == lat.loc[long_tfi, "os_event"].sum()

    large = lat[lat["largest_diameter_mm"] > 20].rename(
        columns={"os_days": "duration", "os_event": "event"}
    )
    row = by[("systemic_with_lat", "largest lesion > 2 cm", "with systemic")]
    direct = cox_regression(large, covariates=["systemic_with_lat"]).summary.iloc[0]
    assert row.hr == pytest.approx(direct["hr"])
    assert row.p_cox == pytest.approx(direct["p"])
    assert row.p_logrank == pytest.approx(
        kaplan_meier(large, group="systemic_with_lat").logrank["p"]
    )
    # the simulated effect (HR 0.4 for > 2 cm only) is found, and so is the interaction
    assert row.upper < 1
    assert row.p_interaction < 0.05

    young = (lat["age"] <= 60) & (lat["lesion_count"] >= 4)
    row = by[("systemic_with_lat", "age <= 60 and >= 4 lesions", "with systemic")]
    assert row.n_level == (young & lat["systemic_with_lat"]).sum()
    assert row.n_reference == (young & ~lat["systemic_with_lat"]).sum()
    assert not math.isnan(row.p_interaction)

    site = by[("site", "all", "extrapulmonary")]
    assert site.reference == "lung"
    assert site.hr > 1


def test_rare_histologies_are_pooled_and_the_most_common_is_reference():
    lat = _lat()
    table = subgroup_analyses(lat, min_histology_patients=20)
    histology = table[table["name"] == "histology"]
    counts = lat["histology"].value_counts()
    assert set(histology["reference"]) == {counts.index[0]}
    rare = counts[counts < 20]
    assert histology["level"].iloc[-1] == "other"
    assert histology["n_level"].iloc[-1] == rare.sum()
    assert set(histology["level"]) == {*counts[counts >= 20].index[1:], "other"}
    assert histology["p_logrank"].nunique() == 1  # the k-sample test of the comparison


def test_pfs_endpoint_and_levels_without_events():
    lat = _lat()
    lat.loc[lat["lat_modality"] == "thermal_ablation", "pfs_event"] = False
    table = subgroup_analyses(lat, endpoint="pfs")
    row = table[table["name"] == "lat_modality"].iloc[0]
    assert row["events_level"] == 0
    assert math.isnan(row["hr"])
    assert "not estimable" in row["note"]


def test_subgroups_refuse_bad_registry_tables():
    lat = _lat(30)
    with pytest.raises(InputError, match="column is missing") as info:
        subgroup_analyses(lat.drop(columns="site"))
    assert info.value.column == "site"
    with pytest.raises(InputError, match="unknown metastatic site"):
        subgroup_analyses(lat.assign(site="liver"))
    with pytest.raises(InputError, match="unknown endpoint"):
        subgroup_analyses(lat, endpoint="dfs")


def test_forest_table_labels_and_counts():
    table = subgroup_analyses(_lat())
    forest = forest_table(table)
    assert list(forest.columns) == ["label", "hr", "lower", "upper", "p", "n"]
    assert len(forest) == len(table)
    assert "site: extrapulmonary vs lung" in set(forest["label"])
    assert forest["n"].tolist() == (table["n_level"] + table["n_reference"]).tolist()
    label = "systemic_with_lat: with systemic vs without systemic (largest lesion > 2 cm)"
    assert label in set(forest["label"])


"""Tests of the penalised Cox prognostic score against independent references.

References: sksurv ``concordance_index_censored`` / ``concordance_index_ipcw`` and lifelines
``concordance_index`` / ``CoxPHFitter`` (other implementations of the same definitions), the
published R ``survival`` fit of the NCCTG lung data, closed-form cases (calibration slope of a
model's own unpenalised linear predictor is 1; of twice it, 1/2) and simulations from a known
Cox model.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_lung
from lifelines.utils import concordance_index
from sklearn.base import clone
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv

from tumorboard.errors import InputError
from tumorboard.outcomes.prognostic import (
    PrognosticScore,
    _EfronCox,
    calibration_slope,
    harrell_c,
    uno_c,
)

#: True per-unit log hazard ratios of the simulated registry (grade and histology against
#: their reference levels '1' and 'LPS').
TRUE_COEF = {"age": 0.02, "size_cm": 0.08, "grade=2": 0.5, "grade=3": 1.0,
             "histology=LMS": 0.3, "histology=MPNST": 0.8, "margin_positive": 0.4}
COVARIATES = ["age", "size_cm", "grade", "histology", "margin_positive"]


def simulate(n: int, *, seed: int = 0, noise: int = 0) -> pd.DataFrame:
    """Weibull times from the Cox model ``TRUE_COEF`` (Bender et al., Stat Med
    2005;24:1713-1723, doi:10.1002/sim.2059: T = (-log U / (lambda exp(lp)))^(1/k)), uniform
    censoring; ``noise`` standard-normal covariates x1.. with no effect."""
    rng = np.random.default_rng(seed)
    age = rng.normal(55, 15, n)
    size = rng.gamma(4, 2.5, n)
    grade = rng.choice(["1", "2", "3"], n, p=[0.3, 0.4, 0.3])
    histology = rng.choice(["LPS", "LMS", "MPNST"], n, p=[0.5, 0.35, 0.15])
    margin = rng.random(n) < 0.3
    lp = (TRUE_COEF["age"] * age + TRUE_COEF["size_cm"] * size
          + np.select([grade == "2", grade == "3"], [0.5, 1.0], 0.0)
          + np.select([histology == "LMS", histology == "MPNST"], [0.3, 0.8], 0.0)
          + TRUE_COEF["margin_positive"] * margin)
    lp -= lp.mean()
    scale, shape = 1 / 2000.0, 1.2
    t = (-np.log(rng.random(n)) / (scale**shape * np.exp(lp))) ** (1 / shape)
    c = rng.uniform(200, 4000, n)
    table = pd.DataFrame({
        "patient": [f"DSRCT-{i:04d}" for i in range(n)],
        "age": age, "size_cm": size,
        "grade": pd.Categorical(grade, categories=["1", "2", "3"]),
        "histology": histology, "margin_positive": margin,
        "days": np.ceil(np.minimum(t, c)), "event": t <= c,
    })
    for k in range(noise):
        table[f"x{k + 1}"] = rng.normal(size=n)
    return table


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return simulate(1500, seed=1)


@pytest.fixture(scope="module")
def fitted(registry: pd.DataFrame) -> PrognosticScore:
    return PrognosticScore(n_bootstrap=20).fit(registry, duration="days", event="event",
                                               covariates=COVARIATES)


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return load_lung()[["time", "status", "age", "sex", "ph.ecog"]].dropna().reset_index(
        drop=True)


# --------------------------------------------------------------------------- concordance


def test_harrell_c_equals_sksurv_with_tied_times_and_risks() -> None:
    """Small integer times and risks make every kind of tie; sksurv is the reference."""
    rng = np.random.default_rng(7)
    checked = 0
    for n in (2, 5, 30, 400):
        for _ in range(25):
            t = rng.integers(1, 15, n).astype(float)
            e = rng.random(n) < 0.6
            r = rng.integers(0, 4, n).astype(float)
            try:  # sksurv raises or returns 0/0 when no pair is comparable
                with np.errstate(invalid="ignore"):
                    expected = concordance_index_censored(e, t, r)[0]
            except Exception:
                continue
            if not np.isfinite(expected):
                continue
            assert harrell_c(t, e, r) == pytest.approx(expected, abs=1e-12)
            checked += 1
    assert checked > 50


def test_harrell_c_lung_against_lifelines_and_r(lung: pd.DataFrame) -> None:
    """NCCTG lung data, Cox model age + sex + ph.ecog (227 complete cases).

    R survival (published output of the standard example)::

        library(survival)
        fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung)
        summary(fit)
        #             coef exp(coef)  se(coef)      z Pr(>|z|)
        # age      0.011067  1.011128  0.009267  1.194 0.232416
        # sex     -0.552612  0.575445  0.167739 -3.294 0.000986
        # ph.ecog  0.463728  1.589991  0.113577  4.083 4.45e-05
        # Concordance= 0.637  (se = 0.025 )
        # Likelihood ratio test= 30.5  on 3 df,   p=1e-06

    lifelines' ``concordance_index`` takes a predicted survival time, so it gets ``-risk``.
    """
    model = PrognosticScore(penalizer=0.0, n_bootstrap=0).fit(
        lung, duration="time", event="status", covariates=["age", "sex", "ph.ecog"])
    coef = model.coefficients().set_index("term")["coef"]
    assert coef["age"] == pytest.approx(0.011067, abs=2e-6)
    assert coef["sex"] == pytest.approx(-0.552612, abs=5e-6)
    assert coef["ph.ecog"] == pytest.approx(0.463728, abs=2e-6)
    se = model.coefficients().set_index("term")["se"]
    assert se["sex"] == pytest.approx(0.167739, abs=2e-6)

    risk = model.predict_risk(lung).to_numpy()
    c = harrell_c(lung["time"], lung["status"].astype(bool), risk)
    assert c == pytest.approx(concordance_index(lung["time"], -risk, lung["status"]), abs=1e-12)
    assert c == pytest.approx(0.637, abs=5e-4)
    apparent = model.validation_.set_index("metric").loc["harrell_c", "apparent"]
    assert apparent == pytest.approx(c, abs=1e-12)


def test_uno_c_equals_sksurv_ipcw(lung: pd.DataFrame) -> None:
    t, e = lung["time"].to_numpy(float), lung["status"].to_numpy(bool)
    risk = lung["ph.ecog"].to_numpy(float) + lung["age"].to_numpy(float) / 100
    y = Surv.from_arrays(e, t)
    for tau in (365.0, 700.0):
        expected = concordance_index_ipcw(y, y, risk, tau=tau)[0]
        assert uno_c(t, e, risk, tau=tau) == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- Cox fits


@pytest.mark.parametrize("penalizer", [0.0, 0.05])
def test_fast_newton_equals_lifelines(registry: pd.DataFrame, penalizer: float) -> None:
    """The bootstrap's hand-written Efron Newton fit equals lifelines on the same design."""
    model = PrognosticScore(penalizer=penalizer, n_bootstrap=0).fit(
        registry, duration="days", event="event", covariates=COVARIATES)
    design = model._design(registry, fitting=False)
    z = (design - model.means_) / model.scales_
    frame = pd.DataFrame(z)
    frame["d"], frame["e"] = registry["days"].to_numpy(), registry["event"].to_numpy()
    # lifelines' default tolerance stops ~1e-5 short of the optimum; tighten it
    ll = CoxPHFitter(penalizer=penalizer).fit(
        frame, "d", "e", fit_options={"precision": 1e-12, "r_precision": 1e-14}).params_
    ll = ll.to_numpy()
    ours = _EfronCox(z, frame["d"].to_numpy(float), frame["e"].to_numpy(bool), penalizer).fit()
    np.testing.assert_allclose(ours, ll, atol=1e-8)
    np.testing.assert_allclose(model.coef_, ll, atol=1e-8)


def test_hazard_ratios_approach_truth_and_corrected_c_not_above_apparent() -> None:
    table = simulate(4000, seed=3)
    model = PrognosticScore(penalizer=0.0, n_bootstrap=10, n_bootstrap_extended=0).fit(
        table, duration="days", event="event", covariates=COVARIATES)
    coef = model.coefficients().set_index("term")
    for term, truth in TRUE_COEF.items():
        est, se = coef.loc[term, "coef"], coef.loc[term, "se"]
        assert abs(est - truth) < 4 * se, term
    assert np.exp(coef.loc["grade=3", "coef"]) == pytest.approx(np.exp(1.0), rel=0.15)
    harrell = model.validation_.set_index("metric").loc["harrell_c"]
    assert harrell["corrected"] <= harrell["apparent"]
    assert 0.6 < harrell["corrected"] < 0.8


def test_predict_survival_equals_lifelines(registry: pd.DataFrame,
                                           fitted: PrognosticScore) -> None:
    design = fitted._design(registry, fitting=False)
    frame = pd.DataFrame((design - fitted.means_) / fitted.scales_, columns=fitted.terms_)
    frame["d"], frame["e"] = registry["days"].to_numpy(), registry["event"].to_numpy()
    cph = CoxPHFitter(penalizer=fitted.penalizer).fit(
        frame, "d", "e", fit_options={"precision": 1e-12, "r_precision": 1e-14})
    # observed durations: lifelines interpolates linearly between them, while the Breslow
    # estimate (and R survfit) is a step function, so compare where both are defined alike
    times = np.sort(registry["days"].unique())[[10, 400, 900]]
    expected = cph.predict_survival_function(frame.iloc[:50], times=times).T.to_numpy()
    ours = fitted.predict_survival(registry.iloc[:50], times).to_numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-8)
    # between two observed durations the step function keeps the earlier value
    between = fitted.predict_survival(registry.iloc[:5], [times[1], times[1] + 0.5])
    np.testing.assert_allclose(between.iloc[:, 0], between.iloc[:, 1])


# --------------------------------------------------------------------------- validation


def test_calibration_slope_closed_form(lung: pd.DataFrame) -> None:
    """The MLE of a Cox model on its own linear predictor is 1 (score equations unchanged);
    on twice the predictor it is 1/2."""
    model = PrognosticScore(penalizer=0.0, n_bootstrap=0).fit(
        lung, duration="time", event="status", covariates=["age", "sex", "ph.ecog"])
    risk = model.predict_risk(lung).to_numpy()
    t, e = lung["time"], lung["status"].astype(bool)
    assert calibration_slope(t, e, risk) == pytest.approx(1.0, abs=1e-6)
    assert calibration_slope(t, e, 2 * risk) == pytest.approx(0.5, abs=1e-6)
    slope = model.validation_.set_index("metric").loc["calibration_slope", "apparent"]
    assert slope == pytest.approx(1.0, abs=1e-6)


def test_optimism_positive_with_noise_covariates() -> None:
    """Small registry, one real effect, ten noise covariates: the model is overfitted, so the
    bootstrap optimism of Harrell's C and of the slope is positive (Harrell et al. 1996)."""
    optimism = []
    for seed in range(3):
        table = simulate(150, seed=10 + seed, noise=10)
        model = PrognosticScore(penalizer=0.0, n_bootstrap=40, n_bootstrap_extended=15,
                                random_state=seed).fit(
            table, duration="days", event="event",
            covariates=["grade", *[f"x{k}" for k in range(1, 11)]])
        val = model.validation_.set_index("metric")
        optimism.append(val.loc["harrell_c", "optimism"])
        assert val.loc["calibration_slope", "corrected"] < 1.0
    assert min(optimism) > 0
    assert np.mean(optimism) > 0.01


def test_validation_table_shape(fitted: PrognosticScore) -> None:
    val = fitted.validation_
    assert list(val.columns) == ["metric", "horizon", "apparent", "optimism", "corrected",
                                 "lower", "upper", "n_resamples"]
    assert val["metric"].tolist() == ["harrell_c", "uno_c", "td_auc", "td_auc", "td_auc",
                                      "calibration_slope"]
    assert val.loc[val["metric"] == "td_auc", "horizon"].tolist() == [730.5, 1095.75, 1826.25]
    assert (val["n_resamples"] == 20).all()
    np.testing.assert_allclose(val["corrected"], val["apparent"] - val["optimism"])
    assert (val["lower"] <= val["upper"]).all()


def test_calibration_table_agrees_with_kaplan_meier(registry: pd.DataFrame,
                                                    fitted: PrognosticScore) -> None:
    cal = fitted.calibration_
    assert set(cal["group"]) == {1, 2, 3, 4, 5}
    assert cal.groupby("horizon")["n"].sum().eq(len(registry)).all()
    # a well-specified model is calibrated: predicted within the KM interval mostly
    inside = (cal["predicted"] >= cal["observed_lower"] - 0.02) & (
        cal["predicted"] <= cal["observed_upper"] + 0.02)
    assert inside.mean() >= 0.8


# --------------------------------------------------------------------------- points, groups


def test_points_monotone_in_risk(registry: pd.DataFrame, fitted: PrognosticScore) -> None:
    points = fitted.predict_points(registry).to_numpy()
    risk = fitted.predict_risk(registry).to_numpy()
    order = np.argsort(risk)
    assert np.all(np.diff(points[order]) >= -1e-9)
    # total points from the table equal predict_points for a patient
    row = registry.iloc[0]
    table = fitted.points_
    total = 0.0
    for cov in COVARIATES:
        sub = table[table["covariate"] == cov]
        if sub["value"].isna().all():
            total += sub.loc[sub["term"] == str(row[cov]), "points"].iloc[0]
        else:  # linear between rows: points per unit from the first and last row
            slope = np.diff(sub["points"].iloc[[0, -1]])[0] / np.diff(sub["value"].iloc[[0, -1]])[0]
            total += sub["points"].iloc[0] + slope * (float(row[cov]) - sub["value"].iloc[0])
    assert total == pytest.approx(points[0], abs=1e-6)
    assert table["points"].max() == pytest.approx(100.0)
    assert table["points"].min() == pytest.approx(0.0)
    surv = fitted.points_to_survival_
    assert surv["total_points"].is_monotonic_increasing
    for col in ("survival_2y", "survival_3y", "survival_5y"):
        assert surv[col].is_monotonic_decreasing
    assert (surv["survival_2y"] >= surv["survival_5y"]).all()


def test_reference_levels(fitted: PrognosticScore) -> None:
    """Categorical dtype: first category; strings: most frequent level."""
    assert fitted.levels_["grade"][0] == "1"
    assert fitted.levels_["histology"][0] == "LPS"
    coef = fitted.coefficients()
    assert coef.loc[coef["term"] == "histology=MPNST", "reference"].item() == "LPS"


def test_risk_groups_ordered_by_kaplan_meier(registry: pd.DataFrame,
                                             fitted: PrognosticScore) -> None:
    groups = fitted.risk_groups(registry)
    assert groups.cat.categories.tolist() == ["low", "intermediate", "high"]
    sizes = groups.value_counts()
    assert (sizes - len(registry) / 3).abs().max() <= 2
    surv = []
    for label in ("low", "intermediate", "high"):
        m = (groups == label).to_numpy()
        km = KaplanMeierFitter().fit(registry["days"][m], registry["event"][m])
        surv.append(km.survival_function_at_times([730.5, 1826.25]).to_numpy())
    assert np.all(surv[0] > surv[1])
    assert np.all(surv[1] > surv[2])
    np.testing.assert_allclose(
        fitted.risk_group_sizes_["km_survival_2y"], [s[0] for s in surv])
    assert np.all(np.diff(fitted.risk_cutpoints_) > 0)


# --------------------------------------------------------------------------- contract


def test_estimator_contract(registry: pd.DataFrame, fitted: PrognosticScore) -> None:
    fresh = clone(fitted)
    assert not hasattr(fresh, "coef_")
    assert fresh.get_params() == fitted.get_params()
    again = fresh.fit(registry, duration="days", event="event", covariates=COVARIATES)
    assert again is fresh
    pd.testing.assert_frame_equal(again.validation_, fitted.validation_)
    other = clone(fitted).set_params(random_state=5).fit(
        registry, duration="days", event="event", covariates=COVARIATES)
    assert not np.allclose(other.validation_["optimism"], fitted.validation_["optimism"])
    np.testing.assert_allclose(other.coef_, fitted.coef_)


def test_to_dict_is_json_and_round_trips(registry: pd.DataFrame,
                                         fitted: PrognosticScore) -> None:
    data = json.loads(json.dumps(fitted.to_dict()))
    restored = PrognosticScore.from_dict(data)
    np.testing.assert_allclose(restored.predict_risk(registry), fitted.predict_risk(registry))
    pd.testing.assert_series_equal(restored.risk_groups(registry), fitted.risk_groups(registry))
    tables = fitted.report_tables()
    assert set(tables) == {"coefficients", "validation", "points", "points_to_survival",
                           "calibration", "risk_groups"}
    np.testing.assert_allclose(restored.validation_["corrected"],
                               fitted.validation_["corrected"])


def test_lasso_path_uses_lifelines(registry: pd.DataFrame) -> None:
    model = PrognosticScore(penalizer=0.02, l1_ratio=0.5, n_bootstrap=2).fit(
        registry.iloc[:300], duration="days", event="event", covariates=COVARIATES)
    assert (model.validation_["n_resamples"] == 2).all()
    assert model.validation_["corrected"].notna().all()


# --------------------------------------------------------------------------- bad input


def _fit(table: pd.DataFrame, covariates: list[str] = COVARIATES) -> PrognosticScore:
    return PrognosticScore(n_bootstrap=0).fit(table, duration="days", event="event",
                                              covariates=covariates)


def test_missing_covariate_column(registry: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="'stage' is missing") as err:
        _fit(registry, [*COVARIATES, "stage"])
    assert err.value.column == "stage"


def test_all_censored(registry: pd.DataFrame) -> None:
    table = registry.assign(event=False)
    with pytest.raises(InputError, match="every patient is censored") as err:
        _fit(table)
    assert err.value.column == "event"


def test_nan_covariate_names_column_and_patients(registry: pd.DataFrame) -> None:
    table = registry.copy()
    table.loc[[3, 17], "size_cm"] = np.nan
    with pytest.raises(InputError, match="DSRCT-0003, DSRCT-0017") as err:
        _fit(table)
    assert err.value.column == "size_cm"


def test_bad_duration_and_event(registry: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="DSRCT-0005") as err:
        _fit(registry.assign(days=registry["days"].where(registry.index != 5, -1.0)))
    assert err.value.column == "days"
    with pytest.raises(InputError, match="not True/False in patients DSRCT-0002") as err:
        _fit(registry.assign(event=registry["event"].astype(object).where(
            registry.index != 2, None)))
    assert err.value.column == "event"


def test_unseen_level_at_prediction(registry: pd.DataFrame, fitted: PrognosticScore) -> None:
    table = registry.iloc[:5].copy()
    table["histology"] = table["histology"].astype(object)
    table.loc[table.index[1], "histology"] = "synovial"
    with pytest.raises(InputError, match="synovial") as err:
        fitted.risk_groups(table)
    assert err.value.column == "histology"


def test_constant_covariate(registry: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="single value") as err:
        _fit(registry.assign(flag=1.0), [*COVARIATES, "flag"])
    assert err.value.column == "flag"


def test_horizons_past_follow_up_are_not_evaluated(lung: pd.DataFrame) -> None:
    """Lung follow-up ends at 1,022 days: 3- and 5-year td-AUC are NaN, Uno's C is truncated
    at 2 years, and no warning is raised on the way."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = PrognosticScore(n_bootstrap=10).fit(
            lung, duration="time", event="status", covariates=["age", "sex", "ph.ecog"])
    val = model.validation_.set_index(["metric", "horizon"])
    assert val.loc[("uno_c", 730.5), "n_resamples"] == 10
    assert np.isnan(val.loc[("td_auc", 1095.75), "apparent"])
    assert np.isnan(val.loc[("td_auc", 1826.25), "corrected"])
    assert val.loc[("td_auc", 730.5), "apparent"] > 0.5
    cal = model.calibration_
    assert cal.loc[cal["horizon"] == 1826.25, "observed"].isna().all()

"""Tests of tumorboard.layers.doseresponse: 4PL fits, DSS, Z'-factor, plate normalisation.

References used here, none of them the code under test:

- simulated curves with known parameters (seeded), recovered within stated tolerances;
- closed-form DSS values worked out on paper, and DSS / AUC against numerical integration
  (``scipy.integrate.quad``) of the fitted curve with an independently found threshold
  crossing (``scipy.optimize.brentq``);
- thunor 0.3.3's ``fit_drc`` on one recorded dataset (numbers in the test's docstring;
  thunor is not a dependency);
- Z' of constructed plates whose sample SDs are exact.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from tumorboard.errors import InputError
from tumorboard.layers.doseresponse import (
    BOTTOM_MIN,
    DSS_RESPONSE_THRESHOLD,
    HILL_BOUNDS,
    TOP_BOUNDS,
    Z_PRIME_MIN,
    CurveFit,
    drug_sensitivity_score,
    fit_dose_response,
    percent_viability,
    z_prime,
)

# 7 concentrations, 1 nM .. 10 µM evenly on the log scale (4.6-fold steps), 3 replicates.
X = np.repeat(np.linspace(-3.0, 1.0, 7), 3)


def ll4(x, top, bottom, hill, log10_ec50):
    """The model written out independently of the module (plain power, no expit)."""
    x = np.asarray(x, dtype=float)
    return bottom + (top - bottom) / (1.0 + 10.0 ** (hill * (x - log10_ec50)))


def simulate(params, noise, seed, x=X):
    rng = np.random.default_rng(seed)
    return ll4(x, *params) + rng.normal(0.0, noise, x.size)


def curve(top, bottom, hill, log10_ec50, *, xmin=-3.0, xmax=1.0, status="fitted"):
    """A CurveFit with given parameters, for closed-form checks of the derived quantities."""
    return CurveFit(
        status, None, top, bottom, hill, log10_ec50, xmin, xmax, 21, 7, 0.99, 1.0, 1e-9
    )


# --- parameter recovery ------------------------------------------------------------------


@pytest.mark.parametrize("params", [(100.0, 10.0, 1.5, -1.0), (100.0, 5.0, 1.0, -1.5)])
def test_recovers_parameters_at_5_percent_noise(params):
    """5 % noise, 7 concentrations x 3 replicates, 20 seeded curves each.

    Tolerance per curve: |d log10 EC50| < 0.15, |d hill| / hill < 40 %, |d bottom| and
    |d top| < 8 % points (about three standard errors at this design; the hill is the least
    determined parameter). Across the 20 curves the estimates must be unbiased: median error
    of log10 EC50 < 0.05, of the hill < 10 %, of the plateaus < 2 % points. And each fit must
    be at least as good as the truth (residual sum of squares), else the optimiser stopped in
    a local minimum.
    """
    top, bottom, hill, ec50 = params
    errors = []
    for seed in range(20):
        y = simulate(params, 5.0, seed)
        fit = fit_dose_response(X, y)
        assert fit.status == "fitted", (seed, fit.reason)
        assert fit.n_points == 21 and fit.n_concentrations == 7
        assert (fit.log10_cmin, fit.log10_cmax) == (-3.0, 1.0)
        err = (
            fit.log10_ec50 - ec50,
            (fit.hill - hill) / hill,
            fit.bottom - bottom,
            fit.top - top,
        )
        assert abs(err[0]) < 0.15 and abs(err[1]) < 0.40, (seed, err)
        assert abs(err[2]) < 8.0 and abs(err[3]) < 8.0, (seed, err)
        rss_fit = float(np.sum((fit.viability(X) - y) ** 2))
        rss_true = float(np.sum((ll4(X, *params) - y) ** 2))
        assert rss_fit <= rss_true + 1e-9, seed
        assert fit.rmse == pytest.approx(math.sqrt(rss_fit / 21), rel=1e-12)
        tss = float(np.sum((y - y.mean()) ** 2))
        assert fit.r2 == pytest.approx(1.0 - rss_fit / tss, rel=1e-12)
        assert fit.f_pvalue < 1e-6
        errors.append(err)
    median = np.median(np.array(errors), axis=0)
    assert abs(median[0]) < 0.05 and abs(median[1]) < 0.10, median
    assert abs(median[2]) < 2.0 and abs(median[3]) < 2.0, median


def test_recovers_parameters_at_15_percent_noise_with_wider_tolerance():
    """15 % noise (three times the above): |d log10 EC50| < 0.45 and |d bottom| < 20 % points
    per curve, median |d log10 EC50| < 0.1; every curve is still recognised as a response."""
    params = (100.0, 10.0, 1.5, -1.0)
    ec50_errors = []
    for seed in range(20):
        fit = fit_dose_response(X, simulate(params, 15.0, seed))
        assert fit.status == "fitted", (seed, fit.reason)
        assert abs(fit.log10_ec50 - params[3]) < 0.45, seed
        assert abs(fit.bottom - params[1]) < 20.0, seed
        ec50_errors.append(fit.log10_ec50 - params[3])
        assert drug_sensitivity_score(fit) > 10.0
    assert abs(float(np.median(ec50_errors))) < 0.1


def test_flat_data_are_flat_with_dss_zero():
    """No effect (100 % +/- 5 %): "flat" for every seed, the F-test reason, DSS 0 of each kind;
    the reported curve is the mean."""
    for seed in range(20):
        y = simulate((100.0, 100.0, 1.0, -1.0), 5.0, seed)
        fit = fit_dose_response(X, y)
        assert fit.status == "flat", (seed, fit)
        assert fit.top == fit.bottom == pytest.approx(float(np.mean(y)), rel=1e-12)
        assert fit.hill is None and fit.log10_ec50 is None and fit.ec50_um is None
        np.testing.assert_allclose(fit.viability([-3.0, 0.0]), [np.mean(y)] * 2, rtol=1e-12)
        assert fit.r2 == 0.0
        assert fit.ic50_um is None and fit.ic50_censored == "above_range"
        for kind in (1, 2, 3):
            assert drug_sensitivity_score(fit, kind=kind) == 0.0
    fit = fit_dose_response(X, simulate((100.0, 100.0, 1.0, -1.0), 5.0, 0))
    assert "F-test" in fit.reason and fit.f_pvalue > 0.05


def test_small_effect_below_threshold_is_flat_even_if_significant():
    """A clean 6 % drop is significant by the F-test but under the 10 % response threshold."""
    y = ll4(X, 100.0, 94.0, 2.0, -1.0) + np.tile([-0.3, 0.0, 0.3], 7)
    fit = fit_dose_response(X, y)
    assert fit.f_pvalue < 0.05
    assert fit.status == "flat"
    assert "threshold" in fit.reason
    assert fit_dose_response(X, y, min_effect=5.0).status == "fitted"


def test_constant_data_are_flat():
    fit = fit_dose_response(X, np.full(X.size, 97.0))
    assert fit.status == "flat" and fit.f_pvalue == 1.0 and fit.rmse == 0.0
    assert fit.top == 97.0 and fit.auc == pytest.approx(0.97, rel=1e-12)


def test_partial_curve_fits_with_censored_ic50_and_small_positive_dss():
    """EC50 2.5 times above the top dose (log10 EC50 1.4 > 1.0): true inhibition at the top dose
    90 / (1 + 10^0.4) = 25.6 %, above the 10 % threshold; IC50 not reached."""
    params = (100.0, 10.0, 1.0, 1.4)
    true_emax = 100.0 - float(ll4(1.0, *params))
    assert true_emax == pytest.approx(90.0 / (1.0 + 10.0**0.4), rel=1e-12)
    for seed in range(10):
        fit = fit_dose_response(X, simulate(params, 5.0, seed))
        assert fit.status == "fitted", (seed, fit.reason)
        assert fit.ic50_censored == "above_range"
        assert fit.ic50_um is None or fit.ic50_um > 10.0
        assert abs(fit.emax - true_emax) < 10.0, seed
        dss = drug_sensitivity_score(fit)
        assert 0.0 < dss < 5.0, (seed, dss)


def test_steep_curve():
    """Hill 8: the drop falls between two concentrations, so EC50 is located to within half a
    step (0.34 log units) and the slope only as "steep" (> 3); plateaus within 5 % points."""
    params = (100.0, 10.0, 8.0, -1.2)
    for seed in range(10):
        fit = fit_dose_response(X, simulate(params, 5.0, seed))
        assert fit.status == "fitted"
        assert abs(fit.log10_ec50 - params[3]) < 0.35
        assert fit.hill > 3.0
        assert abs(fit.bottom - params[1]) < 5.0 and abs(fit.top - params[0]) < 5.0


def test_potent_drug_with_ec50_below_range_is_fitted():
    """EC50 0.6 decades below the lowest dose (thunor would reject the fit): still "fitted",
    IC50 censored below the range, high DSS within the scale (plateau held near 100 %)."""
    params = (100.0, 5.0, 1.5, -3.6)
    for seed in range(10):
        fit = fit_dose_response(X, simulate(params, 5.0, seed))
        assert fit.status == "fitted", (seed, fit.reason)
        assert fit.log10_ec50 < fit.log10_cmin
        assert fit.ic50_censored == "below_range"
        assert abs(fit.bottom - params[1]) < 5.0
        assert 80.0 < drug_sensitivity_score(fit) <= 100.0


def test_drug_that_kills_at_every_dose_is_not_flat():
    """Viability about 3 % at every dose: a constant, but far below any no-effect plateau, so
    the curve is kept as a fit (EC50 below the range) with a note, not called flat."""
    y = simulate((100.0, 3.0, 1.0, -6.0), 2.0, 3)
    fit = fit_dose_response(X, y)
    assert fit.status == "fitted"
    assert "every tested dose" in fit.reason
    assert fit.top == pytest.approx(100.0, abs=1.0)
    assert drug_sensitivity_score(fit) > 90.0
    # The same for identical values (wells read as exactly 0 %).
    fit = fit_dose_response(X, np.zeros(X.size))
    assert fit.status == "fitted" and fit.r2 == 0.0 and fit.ic50_censored == "below_range"
    assert drug_sensitivity_score(fit) > 90.0


def test_parameters_stay_within_documented_bounds():
    rng = np.random.default_rng(11)
    for _ in range(15):
        y = rng.uniform(-30.0, 160.0, X.size)
        fit = fit_dose_response(X, y)
        if fit.status != "fitted":
            continue
        assert TOP_BOUNDS[0] <= fit.top <= TOP_BOUNDS[1]
        assert BOTTOM_MIN <= fit.bottom <= fit.top
        assert HILL_BOUNDS[0] <= fit.hill <= HILL_BOUNDS[1]
        assert -5.0 <= fit.log10_ec50 <= 3.0


@pytest.mark.parametrize(
    ("x", "y", "words"),
    [
        (np.repeat([-2.0, -1.0, 0.0], 3), np.repeat([90.0, 50.0, 10.0], 3), "3 distinct"),
        (np.array([-2.0, -1.0, 0.0, 1.0]), np.array([90.0, 70.0, 40.0, 10.0]), "4 points"),
        (np.append(X[:-1], -np.inf), np.linspace(100, 0, X.size), "non-finite"),
        (X, np.append(np.linspace(100, 0, X.size - 1), np.nan), "non-finite"),
    ],
)
def test_too_few_or_bad_points_fail_with_reason(x, y, words):
    fit = fit_dose_response(x, y)
    assert fit.status == "failed"
    assert words in fit.reason
    assert fit.top is None and fit.r2 is None and fit.f_pvalue is None
    assert np.isnan(fit.viability([0.0])).all()
    assert math.isnan(drug_sensitivity_score(fit))
    assert fit.emax is None and fit.auc is None and fit.ic50_censored is None
    json.dumps(fit.to_dict(), allow_nan=False)


def test_f_test_pvalue_against_incomplete_beta():
    """The p-value of the 4PL against the mean model with df (3, n - 4), recomputed from the
    fit's residuals through the regularised incomplete beta function,
    P(F > f) = I_{d2 / (d2 + d1 f)}(d2 / 2, d1 / 2) (Abramowitz & Stegun 26.6.2)."""
    y = simulate((100.0, 75.0, 1.0, -1.0), 8.0, 4)
    fit = fit_dose_response(X, y)
    assert fit.status == "fitted"
    rss1 = float(np.sum((fit.viability(X) - y) ** 2))
    rss0 = float(np.sum((y - y.mean()) ** 2))
    d1, d2 = 3, X.size - 4
    f = ((rss0 - rss1) / d1) / (rss1 / d2)
    expected = float(special.betainc(d2 / 2, d1 / 2, d2 / (d2 + d1 * f)))
    assert 1e-8 < expected < 0.05
    assert fit.f_pvalue == pytest.approx(expected, rel=1e-9)


def test_fit_does_not_depend_on_point_order():
    y = simulate((100.0, 10.0, 1.5, -1.0), 5.0, 7)
    order = np.random.default_rng(0).permutation(X.size)
    a, b = fit_dose_response(X, y), fit_dose_response(X[order], y[order])
    for name in ("top", "bottom", "hill", "log10_ec50", "r2"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-6, abs=1e-6)


def test_bad_arguments_raise_input_error():
    with pytest.raises(InputError, match="21 concentrations but 20 viabilities"):
        fit_dose_response(X, np.ones(20))
    with pytest.raises(InputError, match="flat_pvalue"):
        fit_dose_response(X, np.ones(21), flat_pvalue=0.0)
    fit = curve(100.0, 0.0, 1.0, -1.0)
    with pytest.raises(InputError, match="kind 4"):
        drug_sensitivity_score(fit, kind=4)
    with pytest.raises(InputError, match="threshold"):
        drug_sensitivity_score(fit, threshold=100.0)


def test_agrees_with_thunor():
    """thunor 0.3.3 ``fit_drc`` (LL.4 by scipy ``curve_fit``, unbounded) on the dataset below.

    Recorded with::

        from thunor.curve_fit import fit_drc, HillCurveLL4
        conc_um = np.repeat([0.01, 0.03, 0.1, 0.3, 1, 3, 10], 3)
        fit = fit_drc(conc_um * 1e-6, v / 100.0, fit_cls=HillCurveLL4)
        b, c, d, e = fit.popt
        # b = 1.3980382229659962       (hill)
        # c = 0.11537202781341797      (bottom, fraction)
        # d = 0.9899276448869728       (top, fraction)
        # e = 2.3312587252957146e-07   (EC50, M; log10 µM -0.6324095253927855)

    Our plain least-squares optimum differs only through the weak top-plateau pseudo-
    observation (top pulled 0.03 % points towards 100): agreement within 0.1 % points on the
    plateaus, 0.01 in the hill and 0.005 in log10 EC50.
    """
    conc_um = np.repeat([0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], 3)
    v = np.array(
        [97.4, 105.5, 95.1, 88.1, 93.1, 93.4, 77.7, 80.8, 84.3, 57.1, 36.8, 42.6,
         20.1, 23.6, 27.8, 12.3, 8.3, 18.9, 2.2, 22.5, 10.1]
    )  # fmt: skip
    fit = fit_dose_response(np.log10(conc_um), v)
    assert fit.status == "fitted"
    assert fit.hill == pytest.approx(1.3980382229659962, abs=0.01)
    assert fit.bottom == pytest.approx(11.537202781341797, abs=0.1)
    assert fit.top == pytest.approx(98.99276448869728, abs=0.1)
    assert fit.log10_ec50 == pytest.approx(math.log10(2.3312587252957146e-07 * 1e6), abs=0.005)


# --- derived quantities --------------------------------------------------------------------


def test_ic50_is_where_the_curve_crosses_50_percent():
    fit = curve(100.0, 0.0, 1.3, -1.0)
    # Symmetric curve from 100 to 0: absolute IC50 = EC50.
    assert fit.ic50_um == pytest.approx(0.1, rel=1e-12) and fit.ic50_censored is None
    fit = curve(95.0, 20.0, 0.8, -1.5)
    x50 = math.log10(fit.ic50_um)
    assert float(fit.viability(x50)) == pytest.approx(50.0, abs=1e-9)
    assert fit.ic50_censored is None
    assert fit.ec50_um == pytest.approx(10**-1.5, rel=1e-12)
    # Bottom above 50 %: never reached.
    assert curve(100.0, 60.0, 1.0, -1.0).ic50_um is None
    assert curve(100.0, 60.0, 1.0, -1.0).ic50_censored == "above_range"
    # Crossing 0.5 decades above the top dose: reported, censored; 3 decades: None.
    assert curve(100.0, 0.0, 1.0, 1.5).ic50_um == pytest.approx(10**1.5, rel=1e-12)
    assert curve(100.0, 0.0, 1.0, 1.5).ic50_censored == "above_range"
    assert curve(100.0, 0.0, 1.0, 4.0).ic50_um is None
    assert curve(100.0, 0.0, 1.0, -3.5).ic50_censored == "below_range"


def test_emax_einf_auc_against_closed_form_and_quadrature():
    fit = curve(100.0, 0.0, 1.0, -1.0)
    # Symmetric logistic over [-3, 1] centred at -1: mean viability exactly 50 %.
    assert fit.auc == pytest.approx(0.5, abs=1e-12) and fit.aoc == pytest.approx(0.5, abs=1e-12)
    assert fit.emax == pytest.approx(100.0 * 100.0 / 101.0, rel=1e-12)  # v(1) = 100/(1 + 10^2)
    assert fit.einf == 100.0
    rng = np.random.default_rng(5)
    for _ in range(20):
        top = rng.uniform(70, 130)
        fit = curve(
            top, rng.uniform(-10, top), rng.uniform(0.1, 10), rng.uniform(-5, 3),
            xmin=rng.uniform(-4, -1), xmax=rng.uniform(0, 2),
        )  # fmt: skip
        area, _ = integrate.quad(
            lambda x, f=fit: float(f.viability(x)), fit.log10_cmin, fit.log10_cmax,
            points=[fit.log10_ec50], limit=200, epsabs=1e-11,
        )  # fmt: skip
        expected = area / (fit.log10_cmax - fit.log10_cmin) / 100.0
        assert fit.auc == pytest.approx(expected, rel=1e-8, abs=1e-10)


def test_to_dict_is_json_ready_and_complete():
    fit = fit_dose_response(X, simulate((100.0, 10.0, 1.5, -1.0), 5.0, 1))
    d = fit.to_dict()
    json.dumps(d, allow_nan=False)
    for key in (
        "status", "reason", "top", "bottom", "hill", "log10_ec50", "log10_cmin", "log10_cmax",
        "n_points", "n_concentrations", "r2", "rmse", "f_pvalue", "ec50_um", "ic50_um",
        "ic50_censored", "emax", "einf", "auc", "aoc",
    ):  # fmt: skip
        assert key in d
    assert d["ec50_um"] == fit.ec50_um and d["auc"] == fit.auc


# --- DSS --------------------------------------------------------------------------------------


def test_dss_full_response_over_the_whole_range_is_100():
    """Inhibition 100 % at every tested dose (EC50 far below): area = (100 - t)(xmax - xmin),
    so DSS1 = 100, DSS2 = 100 / log10(100) = 50, DSS3 = 100 * (2 / 2) * 1 = 100."""
    fit = curve(100.0, 0.0, 1.0, -60.0)
    assert drug_sensitivity_score(fit, kind=1) == pytest.approx(100.0, abs=1e-9)
    assert drug_sensitivity_score(fit, kind=2) == pytest.approx(50.0, abs=1e-9)
    assert drug_sensitivity_score(fit, kind=3) == pytest.approx(100.0, abs=1e-9)


def test_dss_of_a_step_function_by_hand():
    """Hill 1e9 makes the inhibition curve a step from 0 to a = top - bottom at x = c.

    With a = 80 (top 100, bottom 20), t = 10, range [-3, 1], c = -1: the area above t is
    (a - t)(xmax - c) = 70 * 2 = 140; DSS1 = 100 * 140 / (4 * 90) = 38.888...;
    DSS2 = DSS1 / log10(80); DSS3 = DSS1 * (2 / log10(80)) * (1 - (-1)) / 4.
    """
    fit = curve(100.0, 20.0, 1e9, -1.0)
    dss1 = 100.0 * 140.0 / (4.0 * 90.0)
    assert drug_sensitivity_score(fit, kind=1) == pytest.approx(dss1, abs=1e-6)
    assert drug_sensitivity_score(fit, kind=2) == pytest.approx(dss1 / math.log10(80), abs=1e-6)
    dss3 = dss1 * (2.0 / math.log10(80.0)) * 2.0 / 4.0
    assert drug_sensitivity_score(fit, kind=3) == pytest.approx(dss3, abs=1e-6)
    # The response is measured from the fitted top plateau (the R package subtracts the fitted
    # minimum response d): shifting both plateaus leaves the DSS unchanged.
    shifted = curve(90.0, 10.0, 1e9, -1.0)
    assert drug_sensitivity_score(shifted, kind=3) == pytest.approx(dss3, abs=1e-6)
    # Threshold 30: area (80 - 30) * 2 = 100, DSS1 = 100 * 100 / (4 * 70).
    assert drug_sensitivity_score(fit, threshold=30.0, kind=1) == pytest.approx(
        100.0 * 100.0 / 280.0, abs=1e-6
    )


def test_dss_zero_cases():
    # Maximal inhibition a = 8 <= t = 10.
    assert drug_sensitivity_score(curve(100.0, 92.0, 1.0, -1.0)) == 0.0
    # Flat.
    flat = curve(99.0, 99.0, None, None, status="flat")
    assert drug_sensitivity_score(flat) == 0.0
    # Inhibition at the top dose below t: x1 clipped to xmax, no area.
    assert drug_sensitivity_score(curve(100.0, 0.0, 1.0, 3.0)) == 0.0
    # EC50 above the top dose but inhibition at it above t: positive by default, 0 with the
    # R package's rule.
    partial = curve(100.0, 0.0, 1.0, 1.3)
    assert drug_sensitivity_score(partial) > 0.0
    assert drug_sensitivity_score(partial, zero_if_ec50_above_range=True) == 0.0
    assert DSS_RESPONSE_THRESHOLD == 10.0


def test_dss_against_numerical_integration():
    """Random curves: the closed form against quad of max(I(x) - t, 0) over the tested range,
    with I = top - viability(x) and the threshold crossing x1 found by root finding."""
    rng = np.random.default_rng(2014)
    checked = 0
    for _ in range(60):
        top = rng.uniform(70, 130)
        bottom = rng.uniform(-10, top)
        fit = curve(
            top, bottom, rng.uniform(0.1, 10), rng.uniform(-5, 3),
            xmin=rng.uniform(-4, -1), xmax=rng.uniform(0, 2),
        )  # fmt: skip
        t = rng.choice([5.0, 10.0, 20.0])
        xmin, xmax = fit.log10_cmin, fit.log10_cmax
        a = top - bottom

        def excess(x, f=fit, t=t):
            return float(f.top - f.viability(x)) - t

        if a <= t:
            assert drug_sensitivity_score(fit, threshold=t) == 0.0
            continue
        if excess(xmax) <= 0:
            x1 = xmax
        elif excess(xmin) >= 0:
            x1 = xmin
        else:
            x1 = optimize.brentq(excess, xmin, xmax, xtol=1e-13)
        area, _ = integrate.quad(
            lambda x, e=excess: max(e(x), 0.0), xmin, xmax, points=[x1], limit=200,
            epsabs=1e-11,
        )  # fmt: skip
        dss1 = 100.0 * area / ((xmax - xmin) * (100.0 - t))
        dss2 = dss1 / math.log10(a)
        dss3 = dss1 * (2.0 / math.log10(a)) * (xmax - x1) / (xmax - xmin)
        for kind, expected in ((1, dss1), (2, dss2), (3, dss3)):
            got = drug_sensitivity_score(fit, threshold=t, kind=kind)
            assert got == pytest.approx(expected, rel=1e-7, abs=1e-8), (kind, fit)
        checked += dss1 > 0
    assert checked >= 20


# --- plate QC and normalisation --------------------------------------------------------------


def test_z_prime_closed_form():
    """neg = 90, 100, 110 (mean 100, SD 10 exactly), pos = 0, 5, 10 (mean 5, SD 5):
    Z' = 1 - 3 (10 + 5) / 95 = 1 - 45 / 95."""
    assert z_prime([90.0, 100.0, 110.0], [0.0, 5.0, 10.0]) == pytest.approx(
        1.0 - 45.0 / 95.0, rel=1e-14
    )
    # Constant controls: Z' = 1 exactly; the control order does not matter.
    assert z_prime([100.0, 100.0], [3.0, 3.0]) == 1.0
    assert z_prime([0.0, 5.0, 10.0], [90.0, 100.0, 110.0]) == z_prime(
        [90.0, 100.0, 110.0], [0.0, 5.0, 10.0]
    )
    # SD 20 and 10 exactly, means 1000 and 100: Z' = 1 - 3 (20 + 10) / 900 = 0.9.
    assert z_prime([980.0, 1000.0, 1020.0], [90.0, 100.0, 110.0]) == pytest.approx(0.9, rel=1e-14)
    assert Z_PRIME_MIN == 0.5


def test_z_prime_overlap_and_too_few_wells():
    assert z_prime([40.0, 60.0, 80.0], [30.0, 50.0, 70.0]) < 0.0
    assert math.isnan(z_prime([100.0], [0.0, 1.0]))
    assert math.isnan(z_prime([100.0, 101.0], [0.0]))
    # Non-finite wells are ignored (here leaving one positive well).
    assert math.isnan(z_prime([100.0, 101.0], [0.0, float("nan")]))
    assert z_prime([90.0, 100.0, 110.0, np.nan], [0.0, 5.0, 10.0]) == pytest.approx(
        1.0 - 45.0 / 95.0, rel=1e-14
    )
    assert z_prime([1.0, 2.0], [1.0, 2.0]) == float("-inf")


def test_percent_viability():
    got = percent_viability(
        [1000.0, 100.0, 550.0, 1090.0], negative_mean=1000.0, positive_mean=100.0
    )
    np.testing.assert_array_equal(got, [100.0, 0.0, 50.0, 110.0])
    with pytest.raises(InputError, match=r"both 5\.0"):
        percent_viability([1.0], negative_mean=5.0, positive_mean=5.0)
    with pytest.raises(InputError, match="finite control means"):
        percent_viability([1.0], negative_mean=float("nan"), positive_mean=5.0)

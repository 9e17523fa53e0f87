"""Dose-response science: 4-parameter log-logistic fits, DSS, Z'-factor and plate normalisation.

Pure numpy/scipy functions on one drug's replicate points of one patient-derived model; the
drug-screen layer (:mod:`tumorboard.layers.drugscreen`) normalises plates with
:func:`percent_viability`, checks them with :func:`z_prime`, fits every (model, drug) with
:func:`fit_dose_response` and scores it with :func:`drug_sensitivity_score`.

Model
-----
Viability ``v`` (% of vehicle) against ``x = log10(concentration / µM)``::

    v(x) = bottom + (top - bottom) / (1 + 10 ** (hill * (x - log10_ec50)))

the four-parameter log-logistic ("Hill") curve, ``LL.4`` of the R package drc with
``b = hill``, ``c = bottom``, ``d = top``, ``e = 10 ** log10_ec50`` (Ritz C, Baty F, Streibig
JC, Gerhard D, Dose-Response Analysis Using R, PLoS One 2015;10:e0146021,
doi:10.1371/journal.pone.0146021). ``hill > 0``: viability falls with dose.

Fitting: all replicate points jointly, least squares with ``scipy.optimize.least_squares``
(trust-region reflective, bounded; Branch MA, Coleman TF, Li Y, SIAM J Sci Comput
1999;21:1-23, doi:10.1137/S1064827595289108;
https://docs.scipy.org/doc/scipy/reference/generated/scipy.optimize.least_squares.html) and
an analytic Jacobian, refined from two starting points - the drc self-starter of Ritz et al.
2015 and the best node of a grid of EC50 (and Hill) starts across the admissible range - and
the better result kept. A weak pseudo-observation of the top plateau at 100 % (the vehicle
level) settles plateaus the data cannot locate (``_TOP_PRIOR_WEIGHT``). The bounds are module
constants, each with its reason. ``bottom <= top`` is a constraint between two parameters,
which a box cannot express, so the optimiser works on
``bottom = BOTTOM_MIN + f * (top - BOTTOM_MIN)`` with ``f`` in [0, 1].

Flat and failed curves are reported as such, never forced:

- **failed**: fewer than ``MIN_POINTS`` points or ``MIN_CONCENTRATIONS`` distinct
  concentrations, non-finite data, or no start converged;
- **flat**: the 4PL does not explain the data better than a constant (mean) model, by the
  extra-sum-of-squares F-test (Motulsky H, Christopoulos A, *Fitting Models to Biological Data
  Using Linear and Nonlinear Regression*, Oxford University Press 2004, ch. 22), as CurveCurator
  (Bayer FP et al., Nat Commun 2023;14:7902, doi:10.1038/s41467-023-43696-z) and thunor's
  ``fit_drc`` (https://github.com/alubbock/thunor, ``thunor/curve_fit.py``) do - with the
  nested-model degrees of freedom (3, n - 4), where thunor uses (1, n - 4) - or the fitted
  inhibition at the highest tested dose stays below the DSS response threshold. A constant
  *below* the lowest admissible top plateau (``TOP_BOUNDS[0]``) is not "no effect" but a drug
  that kills at every tested dose; such data keep their 4PL fit (EC50 below the range), with
  a reason saying so.

Summaries (properties of :class:`CurveFit`): relative EC50 (inflection point); absolute IC50
(viability 50 %, Sebaugh JL, Guidelines for accurate EC50/IC50 estimation, Pharm Stat
2011;10:128-134, doi:10.1002/pst.426), censored when outside the tested range; Emax (%
inhibition at the highest tested dose) and Einf (at infinite dose); AUC as the mean fitted
viability over the tested log range (Fallahi-Sichani M et al., Metrics other than potency
reveal systematic variation in responses to cancer drugs, Nat Chem Biol 2013;9:708-714,
doi:10.1038/nchembio.1337) and AOC = 1 - AUC; R² and RMSE as goodness of fit.

Drug sensitivity score (DSS): Yadav B, Pemovska T, Szwajda A et al., Quantitative scoring of
differential drug sensitivity for individually optimized anticancer therapies, Sci Rep
2014;4:5193, doi:10.1038/srep05193, PMID 24898935; closed-form integral as in the authors'
DSS R package (https://cran.r-project.org/package=DSS, function ``DSS``), see
:func:`drug_sensitivity_score`.

Why scipy and not a dose-response library
-----------------------------------------
The issue asks for a well-kept fitting library where one fits. Two were evaluated:

- curve-curator 0.6 pins ``pytest<8`` and has bokeh and statsmodels as runtime requirements,
  which clashes with our test tooling (pytest >= 9);
- thunor (0.3.3 resolves here) rejects every fit whose EC50 lies below the lowest dose (a
  potent drug becomes "no fit"), computes AUC/activity area only for descending curves in its
  own conventions, and pulls plotly, seaborn and PyTables.

Neither computes the DSS, and both are built on ``scipy.optimize`` themselves, so the fit is
written here on scipy directly (the model is four lines; the choices - bounds, starts, flat
test - are documented above). The tests check the fit against thunor's on a recorded dataset.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from tumorboard.errors import InputError

__all__ = [
    "BOTTOM_MIN",
    "DSS_RESPONSE_THRESHOLD",
    "EC50_MARGIN_DECADES",
    "HILL_BOUNDS",
    "IC50_EXTRAPOLATION_DECADES",
    "MIN_CONCENTRATIONS",
    "MIN_POINTS",
    "TOP_BOUNDS",
    "Z_PRIME_MIN",
    "CurveFit",
    "drug_sensitivity_score",
    "fit_dose_response",
    "percent_viability",
    "z_prime",
]

Z_PRIME_MIN: float = 0.5
"""Plates with Z' below this fail QC: "an excellent assay" has 0.5 <= Z' < 1 (Zhang JH,
Chung TDY, Oldenburg KR, J Biomol Screen 1999;4:67-73, doi:10.1177/108705719900400206,
PMID 10838414)."""

DSS_RESPONSE_THRESHOLD: float = 10.0
"""% inhibition a response must exceed to count towards the DSS: the activity threshold ``t``
of Yadav et al. 2014 (doi:10.1038/srep05193), the default ``y = 10`` of their DSS R package.
:func:`fit_dose_response` also calls a curve flat when its fitted inhibition at the highest
dose stays below it, so that a "fitted" curve always has a positive DSS."""

TOP_BOUNDS: tuple[float, float] = (70.0, 130.0)
"""Bounds of the top plateau (viability at zero dose), %. Viability is normalised to the
vehicle wells, so the plateau is 100 % by construction; +/-30 % points admit plate effects and
hormesis at low doses but stop the plateau from sliding down to absorb a drug effect (which
would make a potent drug look flat). tumorboard's own choice."""

BOTTOM_MIN: float = -10.0
"""Lowest admissible bottom plateau, %. Normalised viability goes below 0 only through noise
around the positive-control level; -10 % admits that noise without letting an extrapolated
plateau run away. The upper bound of ``bottom`` is ``top`` (viability falls with dose).
tumorboard's own choice."""

HILL_BOUNDS: tuple[float, float] = (0.1, 10.0)
"""Bounds of the Hill slope. Above 10 the curve drops from 90 % to 10 % of its span within
0.2 log units - a step that a 3- to 10-fold dilution series cannot resolve further; below 0.1
that drop would span 40 decades, indistinguishable from a sloped line over any tested range.
Positive only: an increasing (proliferative) response is not a drug sensitivity and ends as a
flat or poor fit. tumorboard's own choice."""

EC50_MARGIN_DECADES: float = 2.0
"""log10 EC50 may lie at most this many decades outside the tested range
[log10_cmin - 2, log10_cmax + 2]: enough for partial and very potent curves, while beyond it
the data carry no information about the inflection point. tumorboard's own choice."""

IC50_EXTRAPOLATION_DECADES: float = 1.0
"""The absolute IC50 is reported (flagged censored) when it lies outside the tested range by at
most one decade; further out it is ``None`` (only its censoring side is reported), since an
extrapolation over more than a decade rests on the model form alone. tumorboard's own
choice."""

MIN_POINTS: int = 5
"""Fewest points for a fit: four parameters plus at least one residual degree of freedom, which
the F-test against the flat model needs (df = n - 4 >= 1)."""

MIN_CONCENTRATIONS: int = 4
"""Fewest distinct concentrations: a four-parameter curve is not identified by fewer distinct
x values, whatever the number of replicates."""

_TOP_PRIOR_WEIGHT: float = 0.3
"""Weight ``w`` of a pseudo-residual ``w * (top - 100)`` added to the least-squares objective:
a weak prior that the top plateau is the vehicle level, 100 % (true by normalisation),
worth ``w**2 = 0.09`` of one observation. On an identified curve it moves the top plateau by
about 1 % of its distance from 100 (0.03 % points on the thunor reference data of the tests);
when the data cannot locate the plateau at all (a potent drug, viability already low at the
lowest dose) it keeps the extrapolated plateau - and with it the DSS - near 100 % instead of
anywhere up to 130 %. tumorboard's own choice (a ridge-type penalty, Hoerl AE, Kennard RW,
Technometrics 1970;12:55-67, doi:10.1080/00401706.1970.10488634)."""

_N_EC50_STARTS: int = 41
"""EC50 nodes of the starting grid, evenly over the admissible EC50 range (0.1-0.2 decades
apart for typical ranges): fine enough that the best node lies in the basin of the global
minimum for partial and steep curves. tumorboard's own choice."""

_N_HILL_STARTS: int = 7
"""Hill nodes of the starting grid, log-spaced over [0.3, 5]. tumorboard's own choice."""

_MAX_NFEV: int = 100
"""Evaluation budget of each local refinement; identified curves converge in 5-30
evaluations from the grid start, only degenerate (flat) data use it up."""

_LN10 = math.log(10.0)


def z_prime(negative: ArrayLike, positive: ArrayLike) -> float:
    """Z'-factor of a plate from its negative and positive control wells.

    ``Z' = 1 - 3 (sd_pos + sd_neg) / |mean_pos - mean_neg|`` with sample standard deviations
    (ddof = 1), as defined by Zhang JH, Chung TDY, Oldenburg KR, J Biomol Screen 1999;4:67-73,
    doi:10.1177/108705719900400206, PMID 10838414. Plates below :data:`Z_PRIME_MIN` fail QC.

    Parameters
    ----------
    negative, positive
        Raw signals of the negative (vehicle) and positive (kill) control wells; non-finite
        values are ignored.

    Returns
    -------
    float
        Z' (at most 1; negative when the control bands overlap); NaN with fewer than two
        finite wells of either control, or when both controls are constant and equal;
        ``-inf`` when the means are equal but the wells vary.
    """
    neg = _finite(negative)
    pos = _finite(positive)
    if neg.size < 2 or pos.size < 2:
        return float("nan")
    spread = 3.0 * (float(np.std(pos, ddof=1)) + float(np.std(neg, ddof=1)))
    window = abs(float(np.mean(pos)) - float(np.mean(neg)))
    if window == 0.0:
        return float("nan") if spread == 0.0 else float("-inf")
    return 1.0 - spread / window


def percent_viability(
    signal: ArrayLike, *, negative_mean: float, positive_mean: float
) -> np.ndarray:
    """Normalise raw signals to % viability between the plate's controls.

    ``100 (x - positive_mean) / (negative_mean - positive_mean)``: the negative (vehicle)
    control is 100 %, the positive (kill) control 0 % - the normalised percent inhibition of
    high-throughput screening written as viability (Malo N et al., Statistical practice in
    high-throughput screening data analysis, Nat Biotechnol 2006;24:167-175,
    doi:10.1038/nbt1186). Values outside 0-100 % are kept: clipping would bias the fit.

    Raises
    ------
    InputError
        If a control mean is not finite or both means are equal (nothing to scale by).
    """
    neg = float(negative_mean)
    pos = float(positive_mean)
    if not (math.isfinite(neg) and math.isfinite(pos)):
        raise InputError(
            f"cannot normalise to controls: negative mean {neg}, positive mean {pos}",
            expected="finite control means",
            fix="check that the plate has negative and positive control wells with numeric "
            "signal",
        )
    if neg == pos:
        raise InputError(
            f"cannot normalise to controls: negative and positive control means are both {neg}",
            expected="different negative (vehicle) and positive (kill) control signals",
            fix="check the role of the control wells, or give normalised viability instead",
        )
    values = np.asarray(signal, dtype=float)
    return 100.0 * (values - pos) / (neg - pos)


@dataclass(frozen=True)
class CurveFit:
    """One fitted dose-response curve (see the module docstring for the model and choices).

    Attributes
    ----------
    status
        ``"fitted"``, ``"flat"`` (the 4PL does not beat a constant, or no inhibition above the
        DSS threshold) or ``"failed"`` (too few data, non-finite data, no convergence).
    reason
        Why the curve is flat or failed, in words; for a fitted curve a note or ``None``.
    top, bottom
        Upper plateau (zero dose) and lower plateau (infinite dose), % viability. A flat curve
        has ``top == bottom ==`` the mean viability; failed: ``None``.
    hill
        Hill slope (> 0: viability falls with dose); ``None`` unless fitted.
    log10_ec50
        log10 of the relative EC50 (inflection point), µM; ``None`` unless fitted.
    log10_cmin, log10_cmax
        Tested range, log10 µM (NaN when the concentrations are not finite).
    n_points, n_concentrations
        Points used and distinct concentrations among them.
    r2, rmse
        Goodness of fit of the reported curve: ``1 - RSS/TSS`` and ``sqrt(RSS / n)``
        (a flat curve is the mean model: r2 0).
    f_pvalue
        p-value of the F-test of the 4PL against the constant (mean) model.
    """

    status: str
    reason: str | None
    top: float | None
    bottom: float | None
    hill: float | None
    log10_ec50: float | None
    log10_cmin: float
    log10_cmax: float
    n_points: int
    n_concentrations: int
    r2: float | None
    rmse: float | None
    f_pvalue: float | None

    def viability(self, log10_conc: ArrayLike) -> np.ndarray:
        """Fitted % viability at ``log10_conc`` (log10 µM): the 4PL; flat: the constant mean;
        failed: NaN."""
        x = np.asarray(log10_conc, dtype=float)
        if self.status == "failed" or self.top is None or self.bottom is None:
            return np.full(x.shape, np.nan)
        if self.hill is None or self.log10_ec50 is None:
            return np.full(x.shape, float(self.top))
        return _ll4(x, self.top, self.bottom, self.hill, self.log10_ec50)

    @property
    def ec50_um(self) -> float | None:
        """Relative EC50 (inflection point), µM; ``None`` unless fitted."""
        if self.status != "fitted" or self.log10_ec50 is None:
            return None
        return float(10.0**self.log10_ec50)

    def _ic50(self) -> tuple[float | None, str | None]:
        # Absolute IC50 (v = 50 %) and its censoring side (Sebaugh 2011, doi:10.1002/pst.426).
        if self.status == "failed" or self.top is None or self.bottom is None:
            return None, None
        if self.hill is None or self.log10_ec50 is None:
            return None, ("above_range" if self.top > 50.0 else "below_range")
        if self.bottom >= 50.0:
            return None, "above_range"
        if self.top <= 50.0:
            return None, "below_range"
        x50 = self.log10_ec50 + math.log10((self.top - 50.0) / (50.0 - self.bottom)) / self.hill
        censored: str | None = None
        if x50 > self.log10_cmax:
            censored = "above_range"
        elif x50 < self.log10_cmin:
            censored = "below_range"
        near = (
            self.log10_cmin - IC50_EXTRAPOLATION_DECADES
            <= x50
            <= self.log10_cmax + IC50_EXTRAPOLATION_DECADES
        )
        return (float(10.0**x50) if near else None), censored

    @property
    def ic50_um(self) -> float | None:
        """Absolute IC50 (fitted viability 50 %), µM; ``None`` when the curve does not reach
        50 % or reaches it more than :data:`IC50_EXTRAPOLATION_DECADES` outside the range."""
        return self._ic50()[0]

    @property
    def ic50_censored(self) -> str | None:
        """``"above_range"`` when viability stays above 50 % up to the highest tested dose,
        ``"below_range"`` when it is already below 50 % at the lowest, else ``None``."""
        return self._ic50()[1]

    @property
    def emax(self) -> float | None:
        """% inhibition (100 - viability) of the fitted curve at the highest tested dose."""
        if self.status == "failed":
            return None
        return float(100.0 - self.viability(self.log10_cmax))

    @property
    def einf(self) -> float | None:
        """% inhibition at infinite dose, ``100 - bottom``."""
        if self.status == "failed" or self.bottom is None:
            return None
        return float(100.0 - self.bottom)

    @property
    def auc(self) -> float | None:
        """Mean fitted viability / 100 over the tested log10 range (0 .. ~1; closed form).

        Area under the fitted curve normalised by the width of the log range (Fallahi-Sichani
        et al. 2013, doi:10.1038/nchembio.1337); smaller is more sensitive.
        """
        if self.status == "failed" or self.top is None or self.bottom is None:
            return None
        lo, hi = self.log10_cmin, self.log10_cmax
        if self.hill is None or self.log10_ec50 is None or not hi > lo:
            return float(self.viability(lo) / 100.0)
        span = self.top - self.bottom
        # The antiderivative of 1 / (1 + 10^(h (x - c))) is -log10(1 + 10^(h (c - x))) / h.
        def antiderivative(x: float) -> float:
            return self.bottom * x - span * _log10_1p_exp10(self.hill * (self.log10_ec50 - x)) / (
                self.hill
            )

        mean = (antiderivative(hi) - antiderivative(lo)) / (hi - lo)
        return float(mean / 100.0)

    @property
    def aoc(self) -> float | None:
        """Area over the curve, ``1 - auc``; larger is more sensitive."""
        auc = self.auc
        return None if auc is None else 1.0 - auc

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field and property (non-finite numbers become ``None``)."""
        out: dict[str, Any] = asdict(self)
        out.update(
            ec50_um=self.ec50_um,
            ic50_um=self.ic50_um,
            ic50_censored=self.ic50_censored,
            emax=self.emax,
            einf=self.einf,
            auc=self.auc,
            aoc=self.aoc,
        )
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out


def fit_dose_response(
    log10_conc: ArrayLike,
    viability: ArrayLike,
    *,
    flat_pvalue: float = 0.05,
    min_effect: float = DSS_RESPONSE_THRESHOLD,
) -> CurveFit:
    """Fit a 4-parameter log-logistic curve to one drug's replicate points; flat/failed as such.

    The method, bounds, starting points and the flat test are described in the module
    docstring (drc LL.4, Ritz et al. 2015, doi:10.1371/journal.pone.0146021; F-test as
    CurveCurator, doi:10.1038/s41467-023-43696-z).

    Parameters
    ----------
    log10_conc
        log10 of each point's concentration in µM (replicates repeat a value).
    viability
        % viability of each point (vehicle = 100 %).
    flat_pvalue
        The curve is flat when the F-test p-value of the 4PL against the mean model exceeds
        this (0.05, thunor's default ``null_rejection_threshold``).
    min_effect
        The curve is flat when its fitted inhibition relative to the top plateau at the
        highest dose, ``top - v(log10_cmax)``, is below this (% points; the DSS threshold).

    Returns
    -------
    CurveFit
        ``status`` "fitted", "flat" or "failed"; a failed curve carries the reason, never a
        forced fit.

    Raises
    ------
    InputError
        If the two arrays differ in length, or ``flat_pvalue`` is not in (0, 1].
    """
    x = np.asarray(log10_conc, dtype=float).ravel()
    y = np.asarray(viability, dtype=float).ravel()
    if x.shape != y.shape:
        raise InputError(
            f"dose-response data: {x.size} concentrations but {y.size} viabilities",
            expected="one concentration per viability value",
            fix="pass the concentration and viability of each well, in the same order",
        )
    if not 0.0 < flat_pvalue <= 1.0:
        raise InputError(
            f"flat_pvalue {flat_pvalue} is not a p-value threshold", expected="0 < p <= 1"
        )
    n = int(x.size)
    finite_x = x[np.isfinite(x)]
    cmin = float(finite_x.min()) if finite_x.size else float("nan")
    cmax = float(finite_x.max()) if finite_x.size else float("nan")
    n_conc = int(np.unique(np.round(finite_x, 9)).size)

    def failed(reason: str) -> CurveFit:
        return CurveFit(
            "failed", reason, None, None, None, None, cmin, cmax, n, n_conc, None, None, None
        )

    bad = int(np.count_nonzero(~(np.isfinite(x) & np.isfinite(y))))
    if bad:
        return failed(
            f"{bad} of {n} points have a non-finite concentration or viability "
            "(zero concentration on a log scale, or a missing value); drop or correct them"
        )
    if n < MIN_POINTS or n_conc < MIN_CONCENTRATIONS:
        return failed(
            f"too few data for a 4-parameter fit: {n} points at {n_conc} distinct "
            f"concentrations (need at least {MIN_POINTS} points at {MIN_CONCENTRATIONS} "
            "concentrations)"
        )

    params = _fit_ll4(x, y, cmin, cmax)
    if params is None:
        return failed("the optimiser did not converge from any starting point")
    top, bottom, hill, ec50 = params

    mean = float(np.mean(y))
    rss0 = float(np.sum((y - mean) ** 2))
    rss1 = float(np.sum((_ll4(x, top, bottom, hill, ec50) - y) ** 2))
    df2 = n - 4
    if rss0 == 0.0:
        pvalue = 1.0
    elif rss1 <= 0.0:
        pvalue = 0.0
    else:
        f_stat = ((rss0 - rss1) / 3.0) / (rss1 / df2)
        pvalue = float(stats.f.sf(f_stat, 3, df2)) if f_stat > 0 else 1.0
    effect = float(top - _ll4(np.array(cmax), top, bottom, hill, ec50))

    def flat(reason: str) -> CurveFit:
        rmse0 = math.sqrt(rss0 / n)
        return CurveFit(
            "flat", reason, mean, mean, None, None, cmin, cmax, n, n_conc, 0.0, rmse0, pvalue
        )

    if rss0 == 0.0 and mean >= TOP_BOUNDS[0]:
        return flat(f"all {n} viabilities are equal ({mean:.4g} %)")
    if pvalue > flat_pvalue and mean >= TOP_BOUNDS[0]:
        return flat(
            f"no dose dependence: the 4-parameter fit is not better than a constant "
            f"(F-test p = {pvalue:.3g} > {flat_pvalue:g}); mean viability {mean:.1f} %"
        )
    if effect < min_effect:
        return flat(
            f"fitted inhibition at the highest dose is {effect:.1f} % points below the top "
            f"plateau, under the {min_effect:g} % response threshold"
        )
    note = None
    if pvalue > flat_pvalue:
        note = (
            f"viability is low at every tested dose (mean {mean:.1f} % < "
            f"{TOP_BOUNDS[0]:g} %): the response is complete below the lowest concentration; "
            "EC50 and plateau are extrapolated, test lower concentrations"
        )
    return CurveFit(
        "fitted",
        note,
        float(top),
        float(bottom),
        float(hill),
        float(ec50),
        cmin,
        cmax,
        n,
        n_conc,
        1.0 - rss1 / rss0 if rss0 > 0.0 else 0.0,
        math.sqrt(rss1 / n),
        pvalue,
    )


def drug_sensitivity_score(
    fit: CurveFit,
    *,
    threshold: float = DSS_RESPONSE_THRESHOLD,
    kind: int = 3,
    zero_if_ec50_above_range: bool = False,
) -> float:
    """Drug sensitivity score (DSS1, DSS2 or DSS3) of a fitted curve.

    Yadav B et al., Sci Rep 2014;4:5193, doi:10.1038/srep05193, PMID 24898935, in the closed
    form of the authors' DSS R package (https://cran.r-project.org/package=DSS). The response
    is % inhibition relative to the fitted top plateau, ``I(x) = top - v(x)``
    ``= a / (1 + 10^(hill (log10_ec50 - x)))`` with ``a = top - bottom``: the package's
    convention of subtracting the fitted minimum response ``d`` (``a = a - d; d = 0``), here
    ``d = 100 - top``. With ``t = threshold``, ``x1`` the concentration where ``I`` reaches
    ``t`` clipped to the tested range [xmin, xmax], and ``A`` the area of ``I - t`` over
    [x1, xmax] (closed-form integral of the logistic)::

        DSS1 = 100 A / ((xmax - xmin) (100 - t))
        DSS2 = DSS1 / log10(a)
        DSS3 = DSS1 * (log10(100) / log10(a)) * (xmax - x1) / (xmax - xmin)

    0 when ``a <= t`` (or ``a <= 1``, where log10(a) is not a positive normaliser) or the curve
    is flat; NaN when the fit failed.

    Parameters
    ----------
    fit
        A :class:`CurveFit`.
    threshold
        Activity threshold ``t``, % inhibition, in [0, 100); default 10 (Yadav 2014).
    kind
        1, 2 or 3.
    zero_if_ec50_above_range
        The R package returns 0 whenever the EC50 is at or above the highest tested
        concentration. Off by default (tumorboard's choice): that rule makes the score jump from
        a clearly positive value to 0 as the EC50 crosses the top dose and drops partial
        responses whose inhibition at the top dose exceeds ``t``, while the area itself is
        already small for them. Set True to reproduce the package exactly.

    Returns
    -------
    float
        The score (0 .. ~100; DSS1 can exceed 100 only for a > 100).
    """
    if kind not in (1, 2, 3):
        raise InputError(f"DSS kind {kind!r} does not exist", expected="1, 2 or 3")
    if not 0.0 <= threshold < 100.0:
        raise InputError(
            f"DSS threshold {threshold} is outside [0, 100)", expected="% inhibition, e.g. 10"
        )
    if fit.status == "failed":
        return float("nan")
    if (
        fit.status != "fitted"
        or fit.top is None
        or fit.bottom is None
        or fit.hill is None
        or fit.log10_ec50 is None
    ):
        return 0.0
    a = fit.top - fit.bottom
    b = fit.hill
    c = fit.log10_ec50
    xmin, xmax = fit.log10_cmin, fit.log10_cmax
    if not xmax > xmin or a <= threshold or a <= 1.0:
        return 0.0
    if zero_if_ec50_above_range and c >= xmax:
        return 0.0
    x1 = c - math.log10((a - threshold) / threshold) / b if threshold > 0 else xmin
    x1 = min(max(x1, xmin), xmax)

    def integral(x: float) -> float:
        # Antiderivative of a / (1 + 10^(b (c - x))): a x + a log10(1 + 10^(b (c - x))) / b.
        return a * x + a * _log10_1p_exp10(b * (c - x)) / b

    area = max(integral(xmax) - integral(x1) - threshold * (xmax - x1), 0.0)
    dss1 = 100.0 * area / ((xmax - xmin) * (100.0 - threshold))
    if kind == 1:
        return float(dss1)
    if kind == 2:
        return float(dss1 / math.log10(a))
    return float(dss1 * (2.0 / math.log10(a)) * (xmax - x1) / (xmax - xmin))


def _finite(values: ArrayLike) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def _log10_1p_exp10(z: float | np.ndarray) -> float | np.ndarray:
    # log10(1 + 10^z) without overflow for large z.
    return np.logaddexp(0.0, np.asarray(z) * _LN10) / _LN10


def _ll4(x: np.ndarray, top: float, bottom: float, hill: float, ec50: float) -> np.ndarray:
    # expit(-ln10 h (x - c)) = 1 / (1 + 10^(h (x - c))), stable for any exponent.
    s = special.expit(-_LN10 * hill * (np.asarray(x, dtype=float) - ec50))
    return bottom + (top - bottom) * s


def _self_start(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """drc's LL.4 self-starter (Ritz et al. 2015): plateaus just outside the response range,
    slope and EC50 from a linear regression of the logit-transformed response on log dose."""
    ymin, ymax = float(y.min()), float(y.max())
    pad = 0.001 * (ymax - ymin)
    lo, hi = ymin - pad, ymax + pad
    hill, ec50 = 1.0, float(np.median(x))
    if hi > lo:
        z = np.log10((hi - y) / (y - lo))
        slope, intercept = np.polyfit(x, z, 1)
        if np.isfinite(slope) and slope > 0:
            hill = float(slope)
            ec50 = float(-intercept / slope)
    return hi, lo, hill, ec50


def _grid_start(
    x: np.ndarray, y: np.ndarray, cmin: float, cmax: float
) -> tuple[float, float, float, float]:
    """Best starting point on a grid of (hill, log10 EC50), plateaus by linear least squares.

    For fixed hill and EC50 the curve is linear in (top, bottom) - ``v = bottom (1 - s) +
    top s`` - so each grid node costs one 2 x 2 solve, all nodes in one vectorised pass
    (variable projection, Golub GH, Pereyra V, SIAM J Numer Anal 1973;10:413-432,
    doi:10.1137/0710036). The plateaus are then clipped into their bounds.
    """
    hills = np.geomspace(HILL_BOUNDS[0] * 3.0, HILL_BOUNDS[1] / 2.0, _N_HILL_STARTS)
    ec50s = np.linspace(cmin - EC50_MARGIN_DECADES, cmax + EC50_MARGIN_DECADES, _N_EC50_STARTS)
    h = hills[:, None, None]
    c = ec50s[None, :, None]
    s = special.expit(-_LN10 * h * (x[None, None, :] - c))
    u = 1.0 - s
    # Normal equations of y ~ top * s + bottom * u.
    ss, uu, su = (s * s).sum(-1), (u * u).sum(-1), (s * u).sum(-1)
    sy, uy = (s * y).sum(-1), (u * y).sum(-1)
    det = ss * uu - su * su
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.where(det > 1e-12, (sy * uu - uy * su) / det, np.mean(y))
        bottom = np.where(det > 1e-12, (uy * ss - sy * su) / det, np.mean(y))
    top = np.clip(top, TOP_BOUNDS[0], TOP_BOUNDS[1])
    bottom = np.clip(bottom, BOTTOM_MIN, top)
    pred = bottom[..., None] * u + top[..., None] * s
    cost = ((pred - y) ** 2).sum(-1)
    i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    return float(top[i, j]), float(bottom[i, j]), float(hills[i]), float(ec50s[j])


def _fit_ll4(
    x: np.ndarray, y: np.ndarray, cmin: float, cmax: float
) -> tuple[float, float, float, float] | None:
    """Best bounded least-squares LL.4 fit over several starts, or None if none converged."""
    lower = np.array([TOP_BOUNDS[0], 0.0, HILL_BOUNDS[0], cmin - EC50_MARGIN_DECADES])
    upper = np.array([TOP_BOUNDS[1], 1.0, HILL_BOUNDS[1], cmax + EC50_MARGIN_DECADES])

    def unpack(theta: np.ndarray) -> tuple[float, float, float, float]:
        top, frac, hill, ec50 = (float(v) for v in theta)
        return top, BOTTOM_MIN + frac * (top - BOTTOM_MIN), hill, ec50

    def residuals(theta: np.ndarray) -> np.ndarray:
        top, bottom, hill, ec50 = unpack(theta)
        r = _ll4(x, top, bottom, hill, ec50) - y
        return np.append(r, _TOP_PRIOR_WEIGHT * (top - 100.0))

    def jacobian(theta: np.ndarray) -> np.ndarray:
        top, frac, hill, ec50 = (float(v) for v in theta)
        bottom = BOTTOM_MIN + frac * (top - BOTTOM_MIN)
        s = special.expit(-_LN10 * hill * (x - ec50))
        ds = (top - bottom) * s * (1.0 - s) * _LN10
        jac = np.zeros((x.size + 1, 4))
        jac[:-1, 0] = s + frac * (1.0 - s)
        jac[:-1, 1] = (top - BOTTOM_MIN) * (1.0 - s)
        jac[:-1, 2] = -ds * (x - ec50)
        jac[:-1, 3] = ds * hill
        jac[-1, 0] = _TOP_PRIOR_WEIGHT
        return jac

    starts = [_grid_start(x, y, cmin, cmax)]
    top0, bottom0, hill0, ec50_0 = _self_start(x, y)
    top0 = min(max(top0, TOP_BOUNDS[0]), TOP_BOUNDS[1])
    bottom0 = min(max(bottom0, BOTTOM_MIN), top0)
    starts.append((top0, bottom0, hill0, ec50_0))

    best: tuple[float, np.ndarray] | None = None
    for top_s, bottom_s, hill_s, ec50_s in starts:
        frac_s = (bottom_s - BOTTOM_MIN) / (top_s - BOTTOM_MIN)
        theta0 = np.clip(np.array([top_s, frac_s, hill_s, ec50_s]), lower, upper)
        try:
            result = optimize.least_squares(
                residuals,
                theta0,
                jac=jacobian,
                bounds=(lower, upper),
                method="trf",
                x_scale="jac",
                max_nfev=_MAX_NFEV,
            )
        except (ValueError, np.linalg.LinAlgError):
            continue
        # status 0 (evaluation budget spent) still holds the best point found; only a
        # non-finite result is a failure. Budget exhaustion happens on flat, degenerate data.
        if result.status < 0 or not np.all(np.isfinite(result.x)):
            continue
        cost = float(result.cost)
        if math.isfinite(cost) and (best is None or cost < best[0]):
            best = (cost, result.x)
    if best is None:
        return None
    return unpack(best[1])

"""Tumour-informed ctDNA monitoring: tumour fraction, MRD call, molecular response, lead time.

Tumour-informed means the patient's own tumour variants, found by tumour sequencing, are
tracked in plasma by deep targeted sequencing; the evidence of all tracked loci of one plasma
sample is pooled into one likelihood, as in INVAR (Wan et al., Sci Transl Med
2020;12:eaaz8084, doi:10.1126/scitranslmed.aaz8084).

Model
-----
The tumour fraction ``TF`` is the fraction of cell-free DNA fragments that come from the
tumour. Locus ``i`` carries the variant on a fraction ``w_i`` of tumour DNA fragments
(``tumour_vaf``: 0.5 for a clonal heterozygous variant in a pure tumour; pass the
purity-corrected cancer-cell allele fraction when the biopsy was impure). A plasma read at
locus ``i`` then shows the variant allele with probability

    p_i(TF) = e_i + (1 - e_i) * TF * w_i

where ``e_i`` is the background error rate of the locus (a wild-type fragment read as the
variant; back-errors on mutant fragments are negligible at these rates). Alt reads are
``Binomial(depth_i, p_i)``, independent across loci.

Tables
------
``plasma`` (one row per plasma sample and tracked variant)
    patient, sample (plasma sample id), collected (date), variant (id, e.g.
    ``chr17:7674220:C>T``), alt_reads (int), depth (int); optional tumour_vaf (float in
    (0, 1], default 0.5) and background_error (float in [0, 1), per-locus error rate).
``fractions`` (one row per plasma sample; returned by :func:`tumour_fraction`)
    patient, sample, collected, n_variants, alt_reads, depth, tumour_fraction, lower, upper,
    log_likelihood_ratio, p_value, mrd (``positive`` | ``negative`` | ``not_evaluable``),
    n_variants_detected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import xlog1py, xlogy

from tumorboard.errors import InputError

__all__ = [
    "DEFAULT_ERROR_RATE",
    "DEFAULT_TUMOUR_VAF",
    "MRD_ALPHA",
    "PROGRESSION_FOLD_CHANGE",
    "RESPONSE_FOLD_CHANGE",
    "background_error_model",
    "lead_time",
    "molecular_response",
    "simulate_plasma",
    "tumour_fraction",
]

#: Background error rate per base used when neither a per-locus rate nor a panel-of-normals
#: model is given. Error-suppressed (UMI/duplex) deep sequencing reaches errors of the order
#: of 1e-5 to 1e-4 per base (iDES: Newman et al., Nat Biotechnol 2016;34:547-555,
#: doi:10.1038/nbt.3520; INVAR: Wan et al. 2020, doi:10.1126/scitranslmed.aaz8084); the
#: default takes the upper, conservative end of that range so that unmodelled loci do not
#: produce false positives.
DEFAULT_ERROR_RATE = 1e-4

#: Variant allele fraction in tumour DNA of a clonal heterozygous variant in a pure tumour
#: (one of two alleles); the model definition, not an empirical figure.
DEFAULT_TUMOUR_VAF = 0.5

#: Significance level of the MRD likelihood-ratio test, a documented default of this module
#: (chosen so that specificity is >= 99 % by construction of the test; measured in
#: docs/validation.md, section "Tumour-informed ctDNA (issue 6)").
MRD_ALPHA = 0.01

_PLASMA_COLUMNS = ("patient", "sample", "collected", "variant", "alt_reads", "depth")
_FRACTION_COLUMNS = ("patient", "sample", "collected", "tumour_fraction", "mrd")
# Bisection halves [0, 1] each step; 2**-64 is below any tumour fraction worth reporting.
_BISECTION_STEPS = 64


# --------------------------------------------------------------------------------------------
# input validation


def _require_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"the {what} table has no column(s) {', '.join(repr(c) for c in missing)}",
            column=missing[0],
            expected=f"columns {', '.join(columns)}",
            fix=f"add the missing column(s) to the {what} table",
        )


def _row_where(table: pd.DataFrame, bad: np.ndarray) -> tuple[str | None, str]:
    """Sample id and a 'variant …, row …' phrase for the first offending row."""
    pos = int(np.flatnonzero(bad)[0])
    row = table.iloc[pos]
    sample = str(row["sample"]) if "sample" in table.columns else None
    parts = []
    if "variant" in table.columns:
        parts.append(f"variant {row['variant']}")
    parts.append(f"row {pos + 1}")
    return sample, ", ".join(parts)


def _check_counts(table: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    """alt_reads and depth as int64, after checking they are whole, >= 0 and alt <= depth."""
    out = []
    for col in ("alt_reads", "depth"):
        values = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
        if bad.any():
            sample, where = _row_where(table, bad)
            raise InputError(
                f"{col} is {table[col].iloc[int(np.flatnonzero(bad)[0])]!r} at {where} "
                f"of the {what} table",
                column=col,
                sample=sample,
                expected="a whole number of reads >= 0",
                fix=f"correct {col} for this variant or drop the row",
            )
        out.append(values.astype(np.int64))
    alt, depth = out
    bad = alt > depth
    if bad.any():
        sample, where = _row_where(table, bad)
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"alt_reads ({alt[i]}) exceed depth ({depth[i]}) at {where} of the {what} table",
            column="alt_reads",
            sample=sample,
            expected="alt_reads <= depth",
            fix="check that alt_reads and depth were not swapped and come from the same locus",
        )
    return alt, depth


def _check_rate(
    table: pd.DataFrame, col: str, *, low_open: bool, high_open: bool, what: str
) -> np.ndarray:
    """A per-row rate in [0, 1] (open where asked); missing values stay NaN."""
    values = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
    given = table[col].notna().to_numpy()
    lo_bad = values <= 0 if low_open else values < 0
    hi_bad = values >= 1 if high_open else values > 1
    bad = given & (~np.isfinite(values) | lo_bad | hi_bad)
    if bad.any():
        sample, where = _row_where(table, bad)
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise InputError(
            f"{col} is {table[col].iloc[int(np.flatnonzero(bad)[0])]!r} at {where} "
            f"of the {what} table",
            column=col,
            sample=sample,
            expected=f"a fraction in {interval}",
            fix=f"give {col} as a fraction (not a percentage) or leave it empty",
        )
    return values


def _check_plasma(plasma: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(plasma, pd.DataFrame):
        raise InputError("plasma must be a pandas DataFrame", expected="a DataFrame")
    _require_columns(plasma, _PLASMA_COLUMNS, "plasma")
    table = plasma.reset_index(drop=True)
    for col in ("patient", "sample", "variant"):
        bad = table[col].isna().to_numpy()
        if bad.any():
            sample, where = _row_where(table, bad)
            raise InputError(
                f"{col} is missing at {where} of the plasma table",
                column=col,
                sample=sample,
                fix=f"fill in {col} for every row",
            )
    collected = pd.to_datetime(table["collected"], errors="coerce")
    bad = collected.isna().to_numpy()
    if bad.any():
        sample, where = _row_where(table, bad)
        raise InputError(
            f"collected is {table['collected'].iloc[int(np.flatnonzero(bad)[0])]!r} at {where} "
            "of the plasma table",
            column="collected",
            sample=sample,
            expected="a date (YYYY-MM-DD)",
            fix="give the date the plasma sample was drawn",
        )
    dup = table.duplicated(["sample", "variant"]).to_numpy()
    if dup.any():
        sample, where = _row_where(table, dup)
        raise InputError(
            f"the same variant appears twice for one plasma sample ({where})",
            column="variant",
            sample=sample,
            fix="merge the reads of repeated rows or drop the duplicate",
        )
    per_sample = table.assign(collected=collected).groupby("sample", sort=False)
    inconsistent = (per_sample["patient"].nunique() > 1) | (per_sample["collected"].nunique() > 1)
    if inconsistent.any():
        sample = str(inconsistent[inconsistent].index[0])
        raise InputError(
            "one plasma sample id has more than one patient or collection date",
            column="sample",
            sample=sample,
            fix="give each plasma sample (tube/draw) its own id",
        )
    alt, depth = _check_counts(table, "plasma")
    out = pd.DataFrame(
        {
            "patient": table["patient"].astype(str).to_numpy(),
            "sample": table["sample"].astype(str).to_numpy(),
            "collected": collected.astype("datetime64[ns]").to_numpy(),
            "variant": table["variant"].astype(str).to_numpy(),
            "alt_reads": alt,
            "depth": depth,
        }
    )
    if "tumour_vaf" in table.columns:
        vaf = _check_rate(table, "tumour_vaf", low_open=True, high_open=False, what="plasma")
        out["tumour_vaf"] = np.where(np.isnan(vaf), DEFAULT_TUMOUR_VAF, vaf)
    else:
        out["tumour_vaf"] = DEFAULT_TUMOUR_VAF
    if "background_error" in table.columns:
        out["background_error"] = _check_rate(
            table, "background_error", low_open=False, high_open=True, what="plasma"
        )
    else:
        out["background_error"] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# background error


def background_error_model(
    normal_plasma: pd.DataFrame, *, prior_depth: float | None = None
) -> pd.DataFrame:
    """Per-locus background error rates from a panel of normal (tumour-free) plasmas.

    Every alt read at a tracked locus in a plasma without tumour DNA is an error. The rate of
    locus ``j`` is the posterior mean of a beta-binomial model,

        error_rate_j = (A_j + k * r) / (D_j + k),

    with ``A_j``, ``D_j`` the alt reads and depth pooled over the normals, ``r`` the
    panel-wide rate and ``k`` the prior strength in reads (empirical Bayes shrinkage toward
    the panel-wide rate: Kleinman, J Am Stat Assoc 1973;68:46-54,
    doi:10.1080/01621459.1973.10481332). A locus never seen with an error therefore gets a
    small positive rate rather than 0, which would make any single alt read infinitely
    convincing. ``r = (sum A + 0.5) / (sum D + 1)`` carries a Jeffreys half count (Jeffreys
    prior Beta(1/2, 1/2); Brown, Cai & DasGupta, Stat Sci 2001;16:101-133,
    doi:10.1214/ss/1009213286) so that even an error-free panel gives ``r > 0``.

    Parameters
    ----------
    normal_plasma
        One row per normal plasma and locus: variant, alt_reads, depth (other columns, e.g.
        sample, are ignored).
    prior_depth
        ``k``. ``None`` (default) estimates it by the method of moments from the spread of
        the per-locus rates beyond binomial noise (Kleinman 1973); when that spread is not
        larger than binomial noise the loci are pooled completely (every locus gets ``r``).

    Returns
    -------
    DataFrame
        variant, alt_reads, depth (pooled), error_rate; one row per variant.
    """
    if not isinstance(normal_plasma, pd.DataFrame):
        raise InputError("normal_plasma must be a pandas DataFrame", expected="a DataFrame")
    _require_columns(normal_plasma, ("variant", "alt_reads", "depth"), "normal plasma")
    table = normal_plasma.reset_index(drop=True)
    alt, depth = _check_counts(table, "normal plasma")
    if len(table) == 0 or depth.sum() == 0:
        raise InputError(
            "the normal plasma table has no reads",
            column="depth",
            fix="give at least one normal plasma with depth > 0 at the tracked loci",
        )
    if prior_depth is not None and not prior_depth > 0:
        raise InputError(
            f"prior_depth is {prior_depth!r}", expected="a positive number of reads or None"
        )
    pooled = (
        pd.DataFrame({"variant": table["variant"].astype(str), "alt_reads": alt, "depth": depth})
        .groupby("variant", sort=True, as_index=False)[["alt_reads", "depth"]]
        .sum()
    )
    a = pooled["alt_reads"].to_numpy(dtype=float)
    d = pooled["depth"].to_numpy(dtype=float)
    r = (a.sum() + 0.5) / (d.sum() + 1.0)
    if prior_depth is None:
        seen = d > 0
        if seen.sum() >= 2:
            rates = a[seen] / d[seen]
            # Variance of the true rates = observed variance minus mean binomial variance.
            between = rates.var(ddof=1) - np.mean(r * (1 - r) / d[seen])
            k = r * (1 - r) / between - 1 if between > 0 else np.inf
            k = max(k, 1.0)
        else:
            k = np.inf
    else:
        k = float(prior_depth)
    rate = np.full_like(a, r) if np.isinf(k) else (a + k * r) / (d + k)
    pooled["alt_reads"] = pooled["alt_reads"].astype(np.int64)
    pooled["depth"] = pooled["depth"].astype(np.int64)
    pooled["error_rate"] = rate
    return pooled


# --------------------------------------------------------------------------------------------
# likelihood, vectorised over samples


class _Loci:
    """All loci of all samples in one flat array, samples as contiguous segments.

    scipy.optimize minimises one scalar function at a time; solving 10,000 samples one by
    one costs ~10,000 optimiser loops in Python. The log-likelihood is concave in TF (each
    p_i is linear in TF), so its score is monotone and a bisection run on every sample at
    once, with np.add.reduceat summing loci per sample, finds the same root in 64 steps.
    The tests check it against scipy.optimize.minimize_scalar per sample.
    """

    def __init__(self, alt, depth, error, weight, starts):
        self.alt = alt.astype(float)
        self.ref = (depth - alt).astype(float)
        self.error = error
        self.slope = (1.0 - error) * weight  # dp_i / dTF
        self.starts = starts

    def _expand(self, tf: np.ndarray) -> np.ndarray:
        counts = np.diff(np.append(self.starts, len(self.alt)))
        return np.repeat(tf, counts)

    def loglik(self, tf: np.ndarray) -> np.ndarray:
        p = self.error + self.slope * self._expand(tf)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = xlogy(self.alt, p) + xlog1py(self.ref, -p)
        return np.add.reduceat(terms, self.starts)

    def score(self, tf: np.ndarray) -> np.ndarray:
        p = self.error + self.slope * self._expand(tf)
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.where(self.alt > 0, self.alt / p, 0.0)
            down = np.where(self.ref > 0, self.ref / (1.0 - p), 0.0)
            terms = self.slope * (up - down)
        terms = np.where(self.slope > 0, terms, 0.0)
        return np.add.reduceat(terms, self.starts)


def _bisect(fun, lo: np.ndarray, hi: np.ndarray, *, rising: bool) -> np.ndarray:
    """Root of a monotone function per element, bracketed by [lo, hi]."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        value = fun(mid)
        below = value < 0 if rising else value > 0
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _chibar_p_value(lrt: np.ndarray) -> np.ndarray:
    """P-value of the LRT of TF = 0 on the boundary of [0, 1].

    Under H0 the statistic follows the 50:50 mixture of chi-square(0) and chi-square(1)
    (Self & Liang, J Am Stat Assoc 1987;82:605-610, doi:10.1080/01621459.1987.10478472).
    """
    return np.where(lrt > 0, 0.5 * stats.chi2.sf(lrt, df=1), 1.0)


def tumour_fraction(
    plasma: pd.DataFrame,
    *,
    errors: pd.DataFrame | None = None,
    default_error_rate: float = DEFAULT_ERROR_RATE,
    alpha: float = MRD_ALPHA,
    confidence: float = 0.95,
    min_variants_detected: int = 0,
    variant_alpha: float = 0.01,
    detection_limit: float = 1e-3,
    power: float = 0.8,
) -> pd.DataFrame:
    """Tumour fraction, its confidence interval and the MRD call of every plasma sample.

    Estimate
        Maximum-likelihood TF in [0, 1] of the binomial model in the module docstring,
        pooling all tracked loci of the sample (INVAR: Wan et al. 2020,
        doi:10.1126/scitranslmed.aaz8084).
    Interval
        Profile-likelihood interval ``{TF: 2 (l(TF_hat) - l(TF)) <= chi2_1(confidence)}``
        (Venzon & Moolgavkar, Appl Stat 1988;37:87-94, doi:10.2307/2347496), clipped to
        [0, 1].
    Test
        Likelihood-ratio test of H0: TF = 0 with the chi-bar-square null distribution of a
        parameter on its boundary (Self & Liang 1987, doi:10.1080/01621459.1987.10478472);
        ``log_likelihood_ratio`` is ``l(TF_hat) - l(0)`` (natural log; the statistic is twice
        that).
    Variant rule
        A variant is *detected* when its alt reads exceed the background by a one-sided exact
        binomial test at ``variant_alpha`` (a documented default). With
        ``min_variants_detected=2`` a sample is called positive only when, besides the
        test, at least two variants are detected, the TRACERx rule (Abbosh et al., Nature
        2017;545:446-451, doi:10.1038/nature22364). The default 0 uses the test alone.
    MRD call
        ``positive`` when ``p_value < alpha`` (and the variant rule holds). Otherwise
        ``negative`` when the sample could have detected TF = ``detection_limit`` with
        probability >= ``power``, else ``not_evaluable``: a negative from too few informative
        reads is not evidence of absence. The power is that of the pooled count test: with
        ``B = sum depth_i e_i`` background reads expected and ``M = sum depth_i w_i (1 - e_i)``
        informative reads, the critical count ``c`` is the smallest with
        ``P(Poisson(B) >= c) <= alpha`` and the power is ``P(Poisson(B + TF_lod M) >= c)``
        (the Poisson limit of the LRT when loci share one error rate and VAF; the variant
        rule is not part of this power, so it overstates power when the rule is on). The limit
        1e-3 and power 0.8 are documented defaults of this module, not published cut-offs.

    Error rates per locus come, in this order, from the ``background_error`` column of
    ``plasma``, from ``errors`` (:func:`background_error_model`, matched on variant) and
    from ``default_error_rate`` (:data:`DEFAULT_ERROR_RATE`, Newman et al. 2016,
    doi:10.1038/nbt.3520).

    Parameters
    ----------
    plasma
        See the module docstring.
    errors
        variant, error_rate, e.g. from :func:`background_error_model`.
    default_error_rate, alpha, confidence, min_variants_detected, variant_alpha,
    detection_limit, power
        As described above.

    Returns
    -------
    DataFrame
        One row per plasma sample, ordered by patient, collected, sample: patient, sample,
        collected, n_variants, alt_reads, depth, tumour_fraction, lower, upper,
        log_likelihood_ratio, p_value, mrd, n_variants_detected. Samples without any read
        have NaN estimates and ``mrd = 'not_evaluable'``.
    """
    for name, value in (("alpha", alpha), ("confidence", confidence),
                        ("variant_alpha", variant_alpha), ("power", power),
                        ("detection_limit", detection_limit)):
        if not 0 < value < 1:
            raise InputError(f"{name} is {value!r}", expected="a number strictly between 0 and 1")
    if not 0 <= default_error_rate < 1:
        raise InputError(f"default_error_rate is {default_error_rate!r}", expected="in [0, 1)")
    table = _check_plasma(plasma)
    error = table["background_error"].to_numpy(dtype=float)
    if errors is not None:
        _require_columns(errors, ("variant", "error_rate"), "errors")
        checked = _check_rate(errors.reset_index(drop=True), "error_rate", low_open=False,
                              high_open=True, what="errors")
        lookup = pd.Series(checked, index=errors["variant"].astype(str).to_numpy())
        lookup = lookup[~lookup.index.duplicated(keep="first")]
        from_model = table["variant"].map(lookup).to_numpy(dtype=float)
        error = np.where(np.isnan(error), from_model, error)
    error = np.where(np.isnan(error), default_error_rate, error)

    table = table.assign(error=error)
    table = table.sort_values(["patient", "collected", "sample"], kind="stable")
    table = table.reset_index(drop=True)
    codes, _ = pd.factorize(table["sample"], sort=False)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.array(
        [], dtype=int)
    firsts = table.iloc[starts]
    alt = table["alt_reads"].to_numpy()
    depth = table["depth"].to_numpy()
    weight = table["tumour_vaf"].to_numpy(dtype=float)
    n = len(starts)
    if n == 0:
        return _empty_fractions()
    loci = _Loci(alt, depth, error, weight, starts)
    sum_alt = np.add.reduceat(alt, starts)
    sum_depth = np.add.reduceat(depth, starts)
    n_variants = np.add.reduceat((depth > 0).astype(np.int64), starts)
    informative = sum_depth > 0

    zeros, ones = np.zeros(n), np.ones(n)
    s0, s1 = loci.score(zeros), loci.score(ones)
    tf = _bisect(loci.score, zeros, ones, rising=False)
    tf = np.where(s0 <= 0, 0.0, np.where(s1 >= 0, 1.0, tf))
    # A root within rounding of 0 (pooled alt fraction equal to the error rate) is 0.
    tf = np.where(tf < 2.0**-60, 0.0, tf)

    l_hat, l0, l1 = loci.loglik(tf), loci.loglik(zeros), loci.loglik(ones)
    llr = np.where(tf > 0, l_hat - l0, 0.0)
    lrt = 2.0 * llr
    p_value = _chibar_p_value(lrt)

    half_q = 0.5 * stats.chi2.ppf(confidence, df=1)
    target = l_hat - half_q
    lower = _bisect(lambda t: loci.loglik(t) - target, zeros, tf, rising=True)
    lower = np.where(l0 >= target, 0.0, lower)
    upper = _bisect(lambda t: loci.loglik(t) - target, tf, ones, rising=False)
    upper = np.where(l1 >= target, 1.0, upper)

    with np.errstate(divide="ignore", invalid="ignore"):
        locus_p = stats.binom.sf(alt - 1, depth, error)
    detected = (alt > 0) & (locus_p < variant_alpha)
    n_detected = np.add.reduceat(detected.astype(np.int64), starts)

    background = np.add.reduceat(depth * error, starts)
    reach = np.add.reduceat(depth * weight * (1.0 - error), starts)
    # Without background (error rate 0) a single alt read is significant.
    critical = stats.poisson.isf(alpha, np.where(background > 0, background, 1.0)) + 1.0
    critical = np.where(background > 0, critical, 1.0)
    power_at_limit = stats.poisson.sf(critical - 1.0, background + detection_limit * reach)

    significant = (p_value < alpha) & (n_detected >= min_variants_detected)
    mrd = np.where(
        significant & informative,
        "positive",
        np.where(informative & (power_at_limit >= power), "negative", "not_evaluable"),
    )

    def nan_unless(values: np.ndarray) -> np.ndarray:
        return np.where(informative, values, np.nan)

    return pd.DataFrame(
        {
            "patient": firsts["patient"].to_numpy(),
            "sample": firsts["sample"].to_numpy(),
            "collected": firsts["collected"].to_numpy(),
            "n_variants": n_variants,
            "alt_reads": sum_alt,
            "depth": sum_depth,
            "tumour_fraction": nan_unless(tf),
            "lower": nan_unless(lower),
            "upper": nan_unless(upper),
            "log_likelihood_ratio": nan_unless(llr),
            "p_value": nan_unless(p_value),
            "mrd": mrd,
            "n_variants_detected": n_detected,
        }
    )


def _empty_fractions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient": pd.Series(dtype=object),
            "sample": pd.Series(dtype=object),
            "collected": pd.Series(dtype="datetime64[ns]"),
            "n_variants": pd.Series(dtype=np.int64),
            "alt_reads": pd.Series(dtype=np.int64),
            "depth": pd.Series(dtype=np.int64),
            "tumour_fraction": pd.Series(dtype=float),
            "lower": pd.Series(dtype=float),
            "upper": pd.Series(dtype=float),
            "log_likelihood_ratio": pd.Series(dtype=float),
            "p_value": pd.Series(dtype=float),
            "mrd": pd.Series(dtype=object),
            "n_variants_detected": pd.Series(dtype=np.int64),
        }
    )


# --------------------------------------------------------------------------------------------
# dynamics

#: Fold change at or below which a positive-to-positive change is a molecular response: a
#: >= 50 % decrease in ctDNA, one of the response definitions evaluated by the Friends of
#: Cancer Research ctMoniTR project (Vega et al., JCO Precis Oncol 2022;6:e2100372,
#: doi:10.1200/PO.21.00372; this reference could not be checked offline and should be
#: verified). A documented default, not a validated cut-off for sarcoma.
RESPONSE_FOLD_CHANGE = 0.5

#: Fold change at or above which a positive-to-positive change is molecular progression: the
#: mirror image of :data:`RESPONSE_FOLD_CHANGE` (a doubling); a documented default of this
#: module without a published sarcoma validation.
PROGRESSION_FOLD_CHANGE = 2.0


def _check_fractions(fractions: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(fractions, pd.DataFrame):
        raise InputError("fractions must be a pandas DataFrame", expected="a DataFrame")
    _require_columns(fractions, _FRACTION_COLUMNS, "fractions")
    table = fractions.reset_index(drop=True).copy()
    bad = ~table["mrd"].isin(["positive", "negative", "not_evaluable"]).to_numpy()
    if bad.any():
        sample, where = _row_where(table, bad)
        raise InputError(
            f"mrd is {table['mrd'].iloc[int(np.flatnonzero(bad)[0])]!r} at {where} "
            "of the fractions table",
            column="mrd",
            sample=sample,
            expected="'positive', 'negative' or 'not_evaluable'",
            fix="pass the table returned by tumour_fraction",
        )
    collected = pd.to_datetime(table["collected"], errors="coerce")
    bad = collected.isna().to_numpy()
    if bad.any():
        sample, where = _row_where(table, bad)
        raise InputError(
            f"collected is missing at {where} of the fractions table",
            column="collected",
            sample=sample,
            expected="a date",
        )
    tf = pd.to_numeric(table["tumour_fraction"], errors="coerce")
    bad = (tf.isna() & table["tumour_fraction"].notna()).to_numpy() | (tf < 0).to_numpy()
    if bad.any():
        sample, where = _row_where(table, bad)
        raise InputError(
            f"tumour_fraction is {table['tumour_fraction'].iloc[int(np.flatnonzero(bad)[0])]!r}"
            f" at {where} of the fractions table",
            column="tumour_fraction",
            sample=sample,
            expected="a fraction >= 0 or empty",
            fix="pass the table returned by tumour_fraction",
        )
    table["tumour_fraction"] = tf.astype(float)
    table["collected"] = collected.astype("datetime64[ns]")
    table["patient"] = table["patient"].astype(str)
    table["sample"] = table["sample"].astype(str)
    return table.sort_values(["patient", "collected", "sample"], kind="stable").reset_index(
        drop=True
    )


def _category(mrd_from: str, mrd_to: str, fold: float) -> str:
    if "not_evaluable" in (mrd_from, mrd_to):
        return "not_evaluable"
    if mrd_from == "positive" and mrd_to == "negative":
        return "clearance"
    if mrd_from == "negative":
        return "molecular_progression" if mrd_to == "positive" else "persistently_negative"
    if fold <= RESPONSE_FOLD_CHANGE:
        return "molecular_response"
    if fold >= PROGRESSION_FOLD_CHANGE:
        return "molecular_progression"
    return "stable"


def molecular_response(
    fractions: pd.DataFrame, *, baseline: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Change in ctDNA between plasma samples of each patient, with a response category.

    Categories (in this order of precedence):

    ``not_evaluable``
        either sample is ``not_evaluable``.
    ``clearance``
        positive -> negative (ctDNA clearance, as used by ctMoniTR: Vega et al. 2022,
        doi:10.1200/PO.21.00372).
    ``molecular_progression``
        negative -> positive, or positive -> positive with ``fold_change >=``
        :data:`PROGRESSION_FOLD_CHANGE` (a doubling; documented default).
    ``persistently_negative``
        negative -> negative.
    ``molecular_response``
        positive -> positive with ``fold_change <=`` :data:`RESPONSE_FOLD_CHANGE` (a >= 50 %
        decrease; ctMoniTR, doi:10.1200/PO.21.00372).
    ``stable``
        any other positive -> positive change.

    Parameters
    ----------
    fractions
        The table returned by :func:`tumour_fraction` (needs patient, sample, collected,
        tumour_fraction, mrd).
    baseline
        Patient -> baseline plasma sample id. Given, each later sample of a listed patient is
        compared with that baseline (response from baseline; earlier samples are left out)
        and unlisted patients are left out; ``None`` compares consecutive samples.

    Returns
    -------
    DataFrame
        patient, from_sample, to_sample, from_date, to_date, tf_from, tf_to, fold_change
        (``tf_to / tf_from``; inf from 0 to > 0, NaN from 0 to 0), log2_fold_change,
        category.
    """
    table = _check_fractions(fractions)
    rows = []
    for patient, group in table.groupby("patient", sort=True):
        group = group.reset_index(drop=True)
        if baseline is None:
            pairs = [(i - 1, i) for i in range(1, len(group))]
        else:
            if patient not in baseline:
                continue
            hits = np.flatnonzero(group["sample"].to_numpy() == str(baseline[patient]))
            if len(hits) == 0:
                raise InputError(
                    f"baseline sample {baseline[patient]!r} of patient {patient} is not in "
                    "the fractions table",
                    column="sample",
                    sample=str(baseline[patient]),
                    fix="give a plasma sample id of this patient as the baseline",
                )
            b = int(hits[0])
            pairs = [(b, i) for i in range(b + 1, len(group))]
        for i, j in pairs:
            a, z = group.iloc[i], group.iloc[j]
            tf_from, tf_to = float(a["tumour_fraction"]), float(z["tumour_fraction"])
            with np.errstate(divide="ignore", invalid="ignore"):
                fold = np.float64(tf_to) / np.float64(tf_from)
                log2 = np.log2(fold)
            rows.append(
                {
                    "patient": patient,
                    "from_sample": a["sample"],
                    "to_sample": z["sample"],
                    "from_date": a["collected"],
                    "to_date": z["collected"],
                    "tf_from": tf_from,
                    "tf_to": tf_to,
                    "fold_change": float(fold),
                    "log2_fold_change": float(log2),
                    "category": _category(a["mrd"], z["mrd"], float(fold)),
                }
            )
    columns = ["patient", "from_sample", "to_sample", "from_date", "to_date", "tf_from",
               "tf_to", "fold_change", "log2_fold_change", "category"]
    out = pd.DataFrame(rows, columns=columns)
    for col in ("from_date", "to_date"):
        out[col] = out[col].astype("datetime64[ns]")
    for col in ("tf_from", "tf_to", "fold_change", "log2_fold_change"):
        out[col] = out[col].astype(float)
    return out


def lead_time(
    fractions: pd.DataFrame,
    progression: pd.DataFrame,
    *,
    landmark: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Lead time of molecular relapse (ctDNA) over radiological progression, per patient.

    Following Reinert et al. (JAMA Oncol 2019;5:1124-1131, doi:10.1001/jamaoncol.2019.0528),
    the lead time is the interval from the first ctDNA-positive surveillance sample to
    radiological relapse. Here the first positive sample is the first ``positive`` sample
    collected on or before the progression date that

    - follows a ``negative`` sample of the patient (molecular relapse after clearance or a
      negative post-treatment sample), when ``landmark`` is ``None``; or
    - is collected on or after the patient's landmark date (e.g. end of treatment), when
      ``landmark`` gives one; a positive landmark sample counts (ctDNA never cleared).

    Positives after the progression date do not lead and are ignored.

    Parameters
    ----------
    fractions
        The table returned by :func:`tumour_fraction`.
    progression
        patient, progression_date (NaT: no progression; such patients get NaN lead time).
    landmark
        Patient -> landmark date; patients not listed fall back to the "after a negative"
        rule.

    Returns
    -------
    DataFrame
        patient, first_positive_date (NaT if none), progression_date, lead_time_days
        (float days, progression_date - first_positive_date; NaN if either is missing), one
        row per patient of ``progression``.
    """
    table = _check_fractions(fractions)
    if not isinstance(progression, pd.DataFrame):
        raise InputError("progression must be a pandas DataFrame", expected="a DataFrame")
    _require_columns(progression, ("patient", "progression_date"), "progression")
    prog = progression.reset_index(drop=True)
    prog_dates = pd.to_datetime(prog["progression_date"], errors="coerce")
    bad = (prog_dates.isna() & prog["progression_date"].notna()).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"progression_date is {prog['progression_date'].iloc[pos]!r} for patient "
            f"{prog['patient'].iloc[pos]} (row {pos + 1}) of the progression table",
            column="progression_date",
            expected="a date or empty",
        )
    landmarks = {}
    for patient, date in (landmark or {}).items():
        stamp = pd.to_datetime(date, errors="coerce")
        if pd.isna(stamp):
            raise InputError(
                f"landmark of patient {patient} is {date!r}",
                expected="a date",
                fix="give each listed patient a landmark date (e.g. end of treatment)",
            )
        landmarks[str(patient)] = stamp
    by_patient = dict(tuple(table.groupby("patient", sort=False)))
    rows = []
    for patient, prog_date in zip(prog["patient"].astype(str), prog_dates, strict=True):
        first = pd.NaT
        group = by_patient.get(patient)
        if group is not None and pd.notna(prog_date):
            group = group[group["collected"] <= prog_date]
            mrd = group["mrd"].to_numpy()
            dates = group["collected"].to_numpy()
            if patient in landmarks:
                eligible = dates >= np.datetime64(landmarks[patient])
            else:
                eligible = np.cumsum(mrd == "negative") > 0
            hits = np.flatnonzero(eligible & (mrd == "positive"))
            if len(hits):
                first = pd.Timestamp(dates[hits[0]])
        days = (prog_date - first) / pd.Timedelta(days=1) if pd.notna(first) else np.nan
        rows.append(
            {
                "patient": patient,
                "first_positive_date": first,
                "progression_date": prog_date,
                "lead_time_days": float(days),
            }
        )
    out = pd.DataFrame(
        rows, columns=["patient", "first_positive_date", "progression_date", "lead_time_days"]
    )
    for col in ("first_positive_date", "progression_date"):
        out[col] = out[col].astype("datetime64[ns]")
    out["lead_time_days"] = out["lead_time_days"].astype(float)
    return out


# --------------------------------------------------------------------------------------------
# ground truth


def simulate_plasma(
    n_samples: int,
    *,
    tumour_fraction: float | Sequence[float] | np.ndarray,
    n_variants: int = 16,
    depth: int = 20_000,
    error_rate: float | Sequence[float] | np.ndarray = DEFAULT_ERROR_RATE,
    tumour_vaf: float = DEFAULT_TUMOUR_VAF,
    seed: int | np.random.Generator | None = None,
    collected: str = "2026-01-05",
) -> pd.DataFrame:
    """Plasma table with known tumour fraction: the ground-truth generator for validation.

    Draws reads from exactly the model :func:`tumour_fraction` fits (module docstring): at
    each locus, mutant fragments ``~ Binomial(depth, TF * w)`` and errors on the remaining
    wild-type fragments ``~ Binomial(depth - mutant, e)``, so ``alt ~ Binomial(depth, e +
    (1 - e) TF w)``. Every sample is its own patient (``SIM-00001``…) unless the caller
    relabels them (time series are built by relabelling patient and ``collected``); all
    samples are collected on ``collected``.

    Parameters
    ----------
    n_samples
        Number of plasma samples.
    tumour_fraction
        True TF, one value or one per sample.
    n_variants, depth, error_rate, tumour_vaf
        Tracked loci per sample, reads per locus, background error (one value, or one per
        locus: ``locus001``…) and tumour VAF of every locus (simulation settings; defaults as
        in docs/validation.md).
    seed
        Seed or Generator.

    Returns
    -------
    DataFrame
        The plasma columns (with background_error = error_rate) plus
        ``true_tumour_fraction``.
    """
    rng = np.random.default_rng(seed)
    truth = np.broadcast_to(np.asarray(tumour_fraction, dtype=float), (n_samples,)).copy()
    if np.any((truth < 0) | (truth > 1)):
        raise InputError("tumour_fraction must lie in [0, 1]", column="tumour_fraction")
    per_locus = np.broadcast_to(np.asarray(error_rate, dtype=float), (n_variants,))
    if np.any((per_locus < 0) | (per_locus >= 1)):
        raise InputError("error_rate must lie in [0, 1)", column="background_error")
    tf = np.repeat(truth, n_variants)
    error = np.tile(per_locus, n_samples)
    mutant = rng.binomial(depth, tf * tumour_vaf)
    errors = rng.binomial(depth - mutant, error)
    ids = np.repeat([f"SIM-{i + 1:05d}" for i in range(n_samples)], n_variants)
    return pd.DataFrame(
        {
            "patient": ids,
            "sample": np.char.add(ids.astype(str), "-P"),
            "collected": pd.Timestamp(collected),
            "variant": np.tile([f"locus{j + 1:03d}" for j in range(n_variants)], n_samples),
            "alt_reads": (mutant + errors).astype(np.int64),
            "depth": np.full(n_samples * n_variants, depth, dtype=np.int64),
            "tumour_vaf": tumour_vaf,
            "background_error": error,
            "true_tumour_fraction": tf,
        }
    )

"""Tests of tumour-informed ctDNA monitoring against closed forms and independent references.

References used:
- closed forms of the binomial model (one locus, or loci sharing depth, error and VAF, where
  the pooled alt count is sufficient);
- scipy.optimize.minimize_scalar / brentq on scipy.stats.binom.logpmf, per sample, as an
  independent implementation of the MLE and the profile-likelihood interval;
- the Poisson power formula written out by hand for the evaluability rule;
- simulations from the model (coverage, specificity, sensitivity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from tumorboard.errors import InputError
from tumorboard.outcomes.ctdna import (
    DEFAULT_ERROR_RATE,
    MRD_ALPHA,
    background_error_model,
    lead_time,
    molecular_response,
    simulate_plasma,
    tumour_fraction,
)

Q95 = stats.chi2.ppf(0.95, df=1)


def _plasma(rows: list[tuple], **extra: list) -> pd.DataFrame:
    """rows: (sample, variant, alt_reads, depth); one patient per sample, one date."""
    table = pd.DataFrame(rows, columns=["sample", "variant", "alt_reads", "depth"])
    table.insert(0, "patient", "P-" + table["sample"])
    table.insert(2, "collected", pd.Timestamp("2026-03-02"))
    for name, values in extra.items():
        table[name] = values
    return table


# --------------------------------------------------------------------------------------------
# estimate and interval: closed forms


def test_one_locus_without_error_mle_is_alt_over_depth_over_vaf():
    """e = 0, one locus: p = TF w, so TF_hat = alt / (depth w) (binomial MLE)."""
    plasma = _plasma([("S1", "v1", 37, 10_000), ("S2", "v1", 12, 4_000)],
                     tumour_vaf=[0.5, 0.3], background_error=[0.0, 0.0])
    out = tumour_fraction(plasma).set_index("sample")
    assert out.loc["S1", "tumour_fraction"] == pytest.approx(37 / 10_000 / 0.5, rel=1e-9)
    assert out.loc["S2", "tumour_fraction"] == pytest.approx(12 / 4_000 / 0.3, rel=1e-9)
    # Alt reads without any error rate: infinitely strong evidence.
    assert out.loc["S1", "p_value"] == 0.0
    assert (out["mrd"] == "positive").all()


def test_zero_reads_without_error_interval_is_closed_form():
    """e = 0, alt = 0: l(TF) = d log(1 - TF w), so lower = 0 and
    upper = (1 - exp(-chi2_1(0.95) / (2 d))) / w."""
    plasma = _plasma([("S1", "v1", 0, 5_000)], background_error=[0.0])
    row = tumour_fraction(plasma).iloc[0]
    assert row["tumour_fraction"] == 0.0
    assert row["lower"] == 0.0
    assert row["upper"] == pytest.approx((1 - np.exp(-Q95 / 2 / 5_000)) / 0.5, rel=1e-9)
    assert row["p_value"] == 1.0
    assert row["log_likelihood_ratio"] == 0.0


def test_shared_error_pooled_counts_give_closed_form_mle_and_lrt():
    """Loci with equal depth, e and w: the pooled alt count A of D reads is sufficient,
    p_hat = A / D, TF_hat = (p_hat - e) / ((1 - e) w), and the LRT statistic is
    2 [A log(p_hat / e) + (D - A) log((1 - p_hat) / (1 - e))] with the 50:50 chi-bar p."""
    e, w = 1e-4, 0.5
    alts = [9, 3, 7, 5]
    plasma = _plasma([("S1", f"v{i}", a, 20_000) for i, a in enumerate(alts)],
                     background_error=[e] * 4)
    row = tumour_fraction(plasma).iloc[0]
    a, d = sum(alts), 80_000
    p_hat = a / d
    assert row["tumour_fraction"] == pytest.approx((p_hat - e) / ((1 - e) * w), rel=1e-9)
    llr = a * np.log(p_hat / e) + (d - a) * np.log((1 - p_hat) / (1 - e))
    assert row["log_likelihood_ratio"] == pytest.approx(llr, rel=1e-9)
    assert row["p_value"] == pytest.approx(0.5 * stats.chi2.sf(2 * llr, 1), rel=1e-7)
    assert row["n_variants"] == 4
    assert row["alt_reads"] == a
    assert row["depth"] == d


def test_fewer_reads_than_background_gives_zero_and_p_one():
    """p_hat = A / D below e: the score at TF = 0 is negative, TF_hat = 0, LRT = 0, p = 1."""
    plasma = _plasma([("S1", "v1", 0, 20_000), ("S1", "v2", 1, 20_000)],
                     background_error=[1e-4, 1e-4])
    row = tumour_fraction(plasma).iloc[0]
    assert row["tumour_fraction"] == 0.0
    assert row["p_value"] == 1.0
    assert row["mrd"] == "negative"


def test_heterogeneous_loci_match_scipy_per_sample():
    """Independent reference: per sample, scipy.optimize.minimize_scalar (bounded) on the
    negative binomial log-likelihood from scipy.stats.binom.logpmf, and brentq for the
    profile-likelihood interval ends."""
    rng = np.random.default_rng(7)
    rows, vaf, err = [], [], []
    for s in range(12):
        tf = [0.0, 2e-4, 1e-3, 5e-3][s % 4]
        for v in range(int(rng.integers(3, 9))):
            d = int(rng.integers(2_000, 40_000))
            w, e = float(rng.uniform(0.1, 0.6)), float(rng.uniform(1e-5, 3e-4))
            rows.append((f"S{s:02d}", f"v{v}", int(rng.binomial(d, e + (1 - e) * tf * w)), d))
            vaf.append(w)
            err.append(e)
    plasma = _plasma(rows, tumour_vaf=vaf, background_error=err)
    out = tumour_fraction(plasma).set_index("sample")
    for sample, loci in plasma.groupby("sample"):
        alt, d = loci["alt_reads"].to_numpy(), loci["depth"].to_numpy()
        w, e = loci["tumour_vaf"].to_numpy(), loci["background_error"].to_numpy()

        def loglik(t, alt=alt, d=d, w=w, e=e):
            return stats.binom.logpmf(alt, d, e + (1 - e) * t * w).sum()

        fit = optimize.minimize_scalar(lambda t, f=loglik: -f(t), bounds=(0, 0.05),
                                       method="bounded", options={"xatol": 1e-12})
        t_hat = fit.x if loglik(fit.x) > loglik(0.0) else 0.0
        got = out.loc[sample]
        assert got["tumour_fraction"] == pytest.approx(t_hat, rel=1e-4, abs=1e-9)
        l_hat = loglik(got["tumour_fraction"])
        assert got["log_likelihood_ratio"] == pytest.approx(l_hat - loglik(0.0), abs=1e-6)
        target = l_hat - Q95 / 2
        if loglik(0.0) < target:
            lo = optimize.brentq(lambda t, f=loglik, c=target: f(t) - c, 0,
                                 got["tumour_fraction"], xtol=1e-14)
            assert got["lower"] == pytest.approx(lo, rel=1e-6)
        else:
            assert got["lower"] == 0.0
        hi = optimize.brentq(lambda t, f=loglik, c=target: f(t) - c,
                             max(got["tumour_fraction"], 1e-12), 0.5, xtol=1e-14)
        assert got["upper"] == pytest.approx(hi, rel=1e-6)


# --------------------------------------------------------------------------------------------
# simulation: coverage, specificity, sensitivity


def test_simulated_reads_follow_the_model():
    """Mean alt reads = depth (e + (1 - e) TF w); the truth travels with the table."""
    plasma = simulate_plasma(400, tumour_fraction=2e-3, n_variants=10, depth=10_000,
                             error_rate=2e-4, tumour_vaf=0.4, seed=3)
    expected = 10_000 * (2e-4 + (1 - 2e-4) * 2e-3 * 0.4)
    assert abs(plasma["alt_reads"].mean() - expected) < 4 * np.sqrt(expected / len(plasma))
    assert (plasma["true_tumour_fraction"] == 2e-3).all()
    assert len(plasma) == 4_000


@pytest.mark.parametrize("tf", [3e-4, 3e-3])
def test_profile_interval_covers_truth(tf):
    """95 % profile-likelihood intervals cover the true TF in >= 90 % of 200 simulated
    samples (16 variants x 20,000x, e = 1e-4)."""
    plasma = simulate_plasma(200, tumour_fraction=tf, seed=11)
    out = tumour_fraction(plasma)
    covered = ((out["lower"] <= tf) & (tf <= out["upper"])).mean()
    assert covered >= 0.90
    assert out["tumour_fraction"].mean() == pytest.approx(tf, rel=0.1)


def test_specificity_on_tumour_free_plasma():
    """TF = 0: false-positive rate <= alpha + slack (4,000 samples: binomial SD of the rate
    at alpha = 0.01 is 0.0016, slack 0.005 is > 3 SD); and TF_hat = 0 in about half of them,
    the boundary mass of the chi-bar-square null (Self & Liang 1987)."""
    out = tumour_fraction(simulate_plasma(4_000, tumour_fraction=0.0, seed=5))
    false_positive = (out["mrd"] == "positive").mean()
    assert false_positive <= MRD_ALPHA + 0.005
    assert 0.45 <= (out["tumour_fraction"] == 0).mean() <= 0.58
    assert (out["mrd"] != "not_evaluable").all()


def test_sensitivity_rises_with_tumour_fraction():
    """Detection rate increases with TF and is complete at TF = 3e-3 (240 expected mutant
    reads over a background of 32)."""
    rates = []
    for tf in (5e-5, 1e-4, 3e-4, 3e-3):
        out = tumour_fraction(simulate_plasma(300, tumour_fraction=tf, seed=int(tf * 1e6)))
        rates.append((out["mrd"] == "positive").mean())
    assert rates == sorted(rates)
    assert rates[0] < 0.5 < rates[2]
    assert rates[3] == 1.0


def test_mixed_truth_per_sample():
    truth = np.r_[np.zeros(50), np.full(50, 1e-2)]
    out = tumour_fraction(simulate_plasma(100, tumour_fraction=truth, seed=2))
    assert (out["mrd"].iloc[50:] == "positive").all()
    assert (out["mrd"].iloc[:50] == "positive").sum() <= 3


# --------------------------------------------------------------------------------------------
# calls: variant rule, evaluability


def test_tracerx_two_variant_rule():
    """All evidence at one locus: significant by the pooled test, but only one variant is
    detected, so the >= 2 detected-variants rule (Abbosh et al. 2017) makes it negative."""
    rows = [("S1", "v0", 30, 20_000)] + [("S1", f"v{i}", 2, 20_000) for i in range(1, 16)]
    plasma = _plasma(rows, background_error=[1e-4] * 16)
    plain = tumour_fraction(plasma).iloc[0]
    assert plain["mrd"] == "positive"
    assert plain["n_variants_detected"] == 1
    ruled = tumour_fraction(plasma, min_variants_detected=2).iloc[0]
    assert ruled["mrd"] == "negative"
    assert ruled["tumour_fraction"] == plain["tumour_fraction"]


def test_detected_variant_is_exact_binomial_test():
    """X ~ Bin(20000, 1e-4): P(X >= 5) = 0.0526, P(X >= 6) = 0.0166 (> 0.01, not detected),
    P(X >= 7) = 0.00453 (< 0.01, detected)."""
    assert stats.binom.sf(5, 20_000, 1e-4) > 0.01 > stats.binom.sf(6, 20_000, 1e-4)
    plasma = _plasma([("S1", "v1", 5, 20_000), ("S1", "v2", 6, 20_000),
                      ("S1", "v3", 7, 20_000)], background_error=[1e-4] * 3)
    assert tumour_fraction(plasma).iloc[0]["n_variants_detected"] == 1


def test_not_evaluable_follows_poisson_power_at_the_limit():
    """One locus, e = 0, w = 0.5: critical count 1, power at TF = 1e-3 is
    1 - exp(-5e-4 d) >= 0.8 iff d >= ln(5) / 5e-4 = 3218.9 reads."""
    plasma = _plasma([("S1", "v1", 0, 3_200), ("S2", "v1", 0, 3_240)],
                     background_error=[0.0, 0.0])
    out = tumour_fraction(plasma).set_index("sample")
    assert out.loc["S1", "mrd"] == "not_evaluable"
    assert out.loc["S2", "mrd"] == "negative"


def test_low_depth_negative_is_not_evaluable_but_positive_stays_positive():
    low = [("S1", f"v{i}", 0, 200) for i in range(16)]
    strong = [("S2", f"v{i}", 20, 200) for i in range(16)]
    out = tumour_fraction(_plasma(low + strong)).set_index("sample")
    assert out.loc["S1", "mrd"] == "not_evaluable"
    assert out.loc["S2", "mrd"] == "positive"


def test_sample_without_reads_is_not_evaluable_with_nan_estimate():
    out = tumour_fraction(_plasma([("S1", "v1", 0, 0), ("S1", "v2", 0, 0)])).iloc[0]
    assert out["mrd"] == "not_evaluable"
    assert np.isnan(out["tumour_fraction"])
    assert out["n_variants"] == 0


def test_empty_plasma_gives_empty_table():
    out = tumour_fraction(_plasma([]))
    assert len(out) == 0
    assert "tumour_fraction" in out.columns


# --------------------------------------------------------------------------------------------
# error rates


def test_error_rate_precedence_column_then_model_then_default():
    """3 alt of 20,000 reads, w = 0.5: TF_hat = (1.5e-4 - e) / ((1 - e) 0.5) for the e that
    applies (background_error column > errors table > default)."""
    plasma = _plasma([("S1", "v1", 3, 20_000), ("S2", "v2", 3, 20_000),
                      ("S3", "v3", 3, 20_000)], background_error=[2e-5, np.nan, np.nan])
    errors = pd.DataFrame({"variant": ["v1", "v2"], "error_rate": [1e-6, 5e-5]})
    out = tumour_fraction(plasma, errors=errors).set_index("sample")["tumour_fraction"]
    for sample, e in (("S1", 2e-5), ("S2", 5e-5), ("S3", DEFAULT_ERROR_RATE)):
        assert out[sample] == pytest.approx((1.5e-4 - e) / ((1 - e) * 0.5), rel=1e-9)


def test_background_error_model_fixed_prior_is_closed_form():
    """(A_j + k r) / (D_j + k), r = (sum A + 0.5) / (sum D + 1); an error-free locus > 0."""
    normals = pd.DataFrame({
        "sample": ["N1", "N2", "N1", "N2"],
        "variant": ["a", "a", "b", "b"],
        "alt_reads": [3, 5, 0, 0],
        "depth": [20_000, 30_000, 25_000, 25_000],
    })
    model = background_error_model(normals, prior_depth=1e4).set_index("variant")
    r = 8.5 / 100_001
    assert model.loc["a", "error_rate"] == pytest.approx((8 + 1e4 * r) / (50_000 + 1e4))
    assert model.loc["b", "error_rate"] == pytest.approx((0 + 1e4 * r) / (50_000 + 1e4))
    assert model.loc["b", "error_rate"] > 0
    assert model.loc["a", "depth"] == 50_000


def test_background_error_model_pools_homogeneous_loci_and_floors_zero_panels():
    same = pd.DataFrame({"variant": ["a", "b", "c"], "alt_reads": [2, 2, 2],
                         "depth": [20_000] * 3})
    model = background_error_model(same)
    assert np.allclose(model["error_rate"], 6.5 / 60_001)
    clean = background_error_model(same.assign(alt_reads=0))
    assert np.allclose(clean["error_rate"], 0.5 / 60_001)


def test_background_error_model_recovers_prior_strength():
    """Rates drawn from Beta(k r, k (1 - r)) with r = 1e-4, k = 2e4 over 600 loci and 400,000
    reads each: the moment estimate of k, read back from the shrinkage of one locus, is
    within 35 % of the truth, and shrunk rates are closer to the true rates than raw rates."""
    rng = np.random.default_rng(21)
    k, r = 2e4, 1e-4
    true = rng.beta(k * r, k * (1 - r), size=600)
    depth = 400_000
    alt = rng.binomial(depth, true)
    normals = pd.DataFrame({"variant": [f"v{i:03d}" for i in range(600)], "alt_reads": alt,
                            "depth": depth})
    model = background_error_model(normals)
    shrunk = model["error_rate"].to_numpy()
    pooled = (alt.sum() + 0.5) / (600 * depth + 1)
    i = int(np.argmax(np.abs(alt / depth - pooled)))
    k_hat = (alt[i] - shrunk[i] * depth) / (shrunk[i] - pooled)
    assert k_hat == pytest.approx(k, rel=0.35)
    assert np.mean((shrunk - true) ** 2) < np.mean((alt / depth - true) ** 2)


# --------------------------------------------------------------------------------------------
# molecular response and lead time


def _fractions(rows: list[tuple]) -> pd.DataFrame:
    """rows: (patient, sample, date, tumour_fraction, mrd)."""
    table = pd.DataFrame(rows, columns=["patient", "sample", "collected", "tumour_fraction",
                                        "mrd"])
    table["collected"] = pd.to_datetime(table["collected"])
    return table


def test_molecular_response_categories_and_fold_change():
    fractions = _fractions([
        ("A", "A3", "2026-03-01", 1e-3, "positive"),  # out of order on purpose
        ("A", "A1", "2026-01-01", 1e-2, "positive"),
        ("A", "A2", "2026-02-01", 4e-3, "positive"),
        ("A", "A4", "2026-04-01", 0.0, "negative"),
        ("A", "A5", "2026-05-01", 0.0, "negative"),
        ("A", "A6", "2026-06-01", 5e-4, "positive"),
        ("A", "A7", "2026-07-01", 1.2e-3, "positive"),
        ("A", "A8", "2026-08-01", 1e-3, "positive"),
        ("A", "A9", "2026-09-01", 0.0, "not_evaluable"),
    ])
    out = molecular_response(fractions)
    assert out["from_sample"].tolist() == [f"A{i}" for i in range(1, 9)]
    assert out["category"].tolist() == [
        "molecular_response",      # 1e-2 -> 4e-3: 0.4x
        "molecular_response",      # 4e-3 -> 1e-3: 0.25x
        "clearance",
        "persistently_negative",
        "molecular_progression",   # negative -> positive
        "molecular_progression",   # 5e-4 -> 1.2e-3: 2.4x
        "stable",                  # 1.2e-3 -> 1e-3
        "not_evaluable",
    ]
    assert out["fold_change"].iloc[0] == pytest.approx(0.4)
    assert out["log2_fold_change"].iloc[1] == pytest.approx(-2.0)
    assert np.isinf(out["fold_change"].iloc[4])
    assert np.isnan(out["fold_change"].iloc[3])
    assert out["from_date"].dtype == "datetime64[ns]"


def test_molecular_response_boundaries_are_inclusive():
    """Exactly 50 % decrease is a response; exactly a doubling is progression."""
    fractions = _fractions([
        ("A", "A1", "2026-01-01", 4e-3, "positive"),
        ("A", "A2", "2026-02-01", 2e-3, "positive"),
        ("A", "A3", "2026-03-01", 4e-3, "positive"),
    ])
    assert molecular_response(fractions)["category"].tolist() == [
        "molecular_response", "molecular_progression"]


def test_molecular_response_from_baseline():
    fractions = _fractions([
        ("A", "A0", "2025-12-01", 5e-3, "positive"),
        ("A", "A1", "2026-01-01", 1e-2, "positive"),
        ("A", "A2", "2026-02-01", 6e-3, "positive"),
        ("A", "A3", "2026-03-01", 0.0, "negative"),
        ("B", "B1", "2026-01-01", 1e-2, "positive"),
        ("B", "B2", "2026-02-01", 1e-3, "positive"),
    ])
    out = molecular_response(fractions, baseline={"A": "A1"})
    assert out["patient"].unique().tolist() == ["A"]
    assert out["from_sample"].tolist() == ["A1", "A1"]
    assert out["to_sample"].tolist() == ["A2", "A3"]
    assert out["category"].tolist() == ["stable", "clearance"]
    with pytest.raises(InputError, match="baseline sample 'X9' of patient A"):
        molecular_response(fractions, baseline={"A": "X9"})


def test_molecular_response_runs_on_tumour_fraction_output():
    plasma = simulate_plasma(3, tumour_fraction=[1e-2, 2e-3, 0.0], seed=4)
    plasma["patient"] = "SIM-A"
    plasma["collected"] = pd.to_datetime("2026-01-01") + pd.to_timedelta(
        plasma["sample"].str[4:9].astype(int) * 30, unit="D")
    out = molecular_response(tumour_fraction(plasma))
    assert out["category"].tolist() == ["molecular_response", "clearance"]


def test_lead_time_after_negative_and_landmark():
    """Reinert et al. 2019 definition: first positive after a negative (or from the landmark),
    on or before radiological progression; lead time = progression - first positive."""
    fractions = _fractions([
        # A: positive at diagnosis, cleared, relapses molecularly 2026-05-01.
        ("A", "A1", "2026-01-01", 1e-2, "positive"),
        ("A", "A2", "2026-03-01", 0.0, "negative"),
        ("A", "A3", "2026-05-01", 2e-4, "positive"),
        ("A", "A4", "2026-06-01", 1e-3, "positive"),
        # B: never negative -> no lead time without a landmark; with landmark 2026-02-01 the
        # first positive on/after it is B2.
        ("B", "B1", "2026-01-01", 1e-2, "positive"),
        ("B", "B2", "2026-02-15", 1e-3, "positive"),
        # C: positive only after progression.
        ("C", "C1", "2026-01-01", 0.0, "negative"),
        ("C", "C2", "2026-09-01", 1e-3, "positive"),
        # D: relapses but never progresses radiologically.
        ("D", "D1", "2026-01-01", 0.0, "negative"),
        ("D", "D2", "2026-02-01", 1e-3, "positive"),
    ])
    progression = pd.DataFrame({
        "patient": ["A", "B", "C", "D", "E"],
        "progression_date": pd.to_datetime(["2026-08-29", "2026-04-01", "2026-07-01", None,
                                            "2026-05-01"]),
    })
    out = lead_time(fractions, progression).set_index("patient")
    assert out.loc["A", "first_positive_date"] == pd.Timestamp("2026-05-01")
    assert out.loc["A", "lead_time_days"] == 120.0
    assert pd.isna(out.loc["B", "first_positive_date"])
    assert np.isnan(out.loc["C", "lead_time_days"])
    assert np.isnan(out.loc["D", "lead_time_days"])
    assert np.isnan(out.loc["E", "lead_time_days"])  # no plasma
    with_landmark = lead_time(fractions, progression, landmark={"B": "2026-02-01"})
    b = with_landmark.set_index("patient").loc["B"]
    assert b["first_positive_date"] == pd.Timestamp("2026-02-15")
    assert b["lead_time_days"] == 45.0
    assert with_landmark["lead_time_days"].dtype == float


# --------------------------------------------------------------------------------------------
# bad input


def test_alt_above_depth_names_sample_variant_and_column():
    plasma = _plasma([("S1", "chr17:7674220:C>T", 3, 100), ("S2", "chr12:25245350:C>A",
                                                            120, 100)])
    with pytest.raises(InputError) as info:
        tumour_fraction(plasma)
    err = info.value
    assert err.sample == "S2"
    assert err.column == "alt_reads"
    assert "chr12:25245350:C>A" in err.message
    assert "exceed depth" in err.message
    assert "Fix:" in err.message


@pytest.mark.parametrize(("column", "value"), [("alt_reads", -1), ("depth", 2.5),
                                               ("alt_reads", None)])
def test_bad_read_counts_are_refused(column, value):
    plasma = _plasma([("S1", "v1", 3, 100), ("S1", "v2", 3, 100)])
    plasma[column] = plasma[column].astype(object)
    plasma.loc[1, column] = value
    with pytest.raises(InputError) as info:
        tumour_fraction(plasma)
    assert info.value.column == column
    assert info.value.sample == "S1"
    assert "variant v2" in info.value.message


def test_missing_column_is_named():
    plasma = _plasma([("S1", "v1", 3, 100)]).drop(columns="depth")
    with pytest.raises(InputError, match=r"no column.*'depth'") as info:
        tumour_fraction(plasma)
    assert info.value.column == "depth"


@pytest.mark.parametrize(("column", "value"), [("tumour_vaf", 0.0), ("tumour_vaf", 50.0),
                                               ("background_error", 1.0)])
def test_bad_rates_are_refused(column, value):
    plasma = _plasma([("S1", "v1", 3, 100)], **{column: [value]})
    with pytest.raises(InputError, match=column) as info:
        tumour_fraction(plasma)
    assert info.value.sample == "S1"


def test_duplicate_variant_and_inconsistent_sample_are_refused():
    dup = _plasma([("S1", "v1", 3, 100), ("S1", "v1", 4, 100)])
    with pytest.raises(InputError, match="twice") as info:
        tumour_fraction(dup)
    assert info.value.sample == "S1"
    two_dates = _plasma([("S1", "v1", 3, 100), ("S1", "v2", 4, 100)])
    two_dates.loc[1, "collected"] = pd.Timestamp("2026-04-01")
    with pytest.raises(InputError, match="more than one patient or collection date"):
        tumour_fraction(two_dates)


def test_bad_fractions_and_progression_are_refused():
    fractions = _fractions([("A", "A1", "2026-01-01", 1e-3, "maybe")])
    with pytest.raises(InputError, match="mrd is 'maybe'") as info:
        molecular_response(fractions)
    assert info.value.sample == "A1"
    ok = _fractions([("A", "A1", "2026-01-01", 1e-3, "positive")])
    with pytest.raises(InputError, match="progression_date"):
        lead_time(ok, pd.DataFrame({"patient": ["A"]}))
    with pytest.raises(InputError, match="tumour_fraction is 'high'") as info:
        molecular_response(ok.assign(tumour_fraction="high"))
    assert info.value.column == "tumour_fraction"
    progression = pd.DataFrame({"patient": ["A"], "progression_date": ["2026-05-01"]})
    with pytest.raises(InputError, match="landmark of patient A is 'later'"):
        lead_time(ok, progression, landmark={"A": "later"})
    with pytest.raises(InputError, match="progression_date is 'soon'"):
        lead_time(ok, pd.DataFrame({"patient": ["A"], "progression_date": ["soon"]}))


def test_bad_normal_panel_is_refused():
    with pytest.raises(InputError, match="no reads"):
        background_error_model(pd.DataFrame({"variant": ["a"], "alt_reads": [0],
                                             "depth": [0]}))
    with pytest.raises(InputError, match="exceed depth"):
        background_error_model(pd.DataFrame({"variant": ["a"], "alt_reads": [5],
                                             "depth": [1]}))


def test_simulate_plasma_per_locus_error_rates():
    plasma = simulate_plasma(2, tumour_fraction=0.0, n_variants=3, error_rate=[0.0, 1e-3, 0.0],
                             seed=1)
    by_locus = plasma.groupby("variant")["alt_reads"].sum()
    assert by_locus["locus001"] == 0
    assert by_locus["locus003"] == 0
    assert by_locus["locus002"] > 0
    assert plasma["background_error"].tolist() == [0.0, 1e-3, 0.0] * 2
    with pytest.raises(InputError, match="error_rate"):
        simulate_plasma(1, tumour_fraction=0.0, n_variants=2, error_rate=[0.1, 1.0])

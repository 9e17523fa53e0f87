"""PFS per line, PFS ratio verdicts and the cohort summary (tumorboard.outcomes.pfsr).

References: closed-form day counts; R ``binom.test`` intervals; Clopper–Pearson limits in
closed form for 0 and n successes; the Texier et al. 2018 midrank estimator computed by hand
on a three-patient example; a naive per-row loop as the reference of the vectorised code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tumorboard.errors import InputError
from tumorboard.outcomes.pfsr import (
    clopper_pearson,
    line_pfs,
    pfs_ratio,
    pfsr_summary,
    texier_midrank,
)

DAY0 = pd.Timestamp("2024-01-01")


def day(n: float | None) -> pd.Timestamp:
    return pd.NaT if n is None else DAY0 + pd.Timedelta(days=n)


def make_lines(rows: list[dict]) -> pd.DataFrame:
    """Lines table from rows giving dates as day numbers after DAY0."""
    out = []
    for r in rows:
        out.append({
            "patient": r.get("patient", "P1"), "line": r["line"], "regimen": "x",
            "agents": "x", "modality": r.get("modality", "chemotherapy"),
            "intent": "palliative", "start": day(r["start"]), "stop": day(r.get("stop")),
            "stop_reason": r.get("stop_reason"), "progression": day(r.get("progression")),
            "recommendation_id": None, "mtb_guided": r.get("guided", False),
        })
    df = pd.DataFrame(out)
    for c in ("start", "stop", "progression"):
        df[c] = pd.to_datetime(df[c])
    return df


def make_followup(rows: dict[str, tuple[float, float | None]]) -> pd.DataFrame:
    df = pd.DataFrame([{"patient": p, "last_followup": day(last), "death": day(death)}
                       for p, (last, death) in rows.items()])
    df["last_followup"] = pd.to_datetime(df["last_followup"])
    df["death"] = pd.to_datetime(df["death"])
    return df


def one(table: pd.DataFrame, patient: str = "P1", line: int = 1) -> pd.Series:
    return table.set_index(["patient", "line"]).loc[(patient, line)]


# --------------------------------------------------------------------------- line_pfs


def test_progression_is_an_event_counted_from_start():
    lines = make_lines([{"line": 1, "start": 10, "stop": 60, "progression": 100}])
    r = one(line_pfs(lines, make_followup({"P1": (400, None)})))
    assert r["pfs_days"] == 90.0
    assert r["pfs_event"]
    assert r["end_reason"] == "progression"
    assert r["end"] == day(100)


def test_death_without_progression_is_an_event():
    lines = make_lines([{"line": 1, "start": 0}])
    r = one(line_pfs(lines, make_followup({"P1": (150, 150)})))
    assert (r["pfs_days"], r["pfs_event"], r["end_reason"]) == (150.0, True, "death")


def test_switch_for_toxicity_is_censored_at_next_start():
    lines = make_lines([
        {"line": 1, "start": 0, "stop": 40, "stop_reason": "toxicity"},
        {"line": 2, "start": 45, "progression": 200},
    ])
    t = line_pfs(lines, make_followup({"P1": (300, None)}))
    r1, r2 = one(t, line=1), one(t, line=2)
    assert (r1["pfs_days"], r1["pfs_event"], r1["end_reason"]) == (45.0, False, "next line")
    assert (r2["pfs_days"], r2["pfs_event"]) == (155.0, True)


def test_last_followup_censors_a_living_patient():
    lines = make_lines([{"line": 1, "start": 20}])
    r = one(line_pfs(lines, make_followup({"P1": (120, None)})))
    assert (r["pfs_days"], r["pfs_event"], r["end_reason"]) == (100.0, False, "last follow-up")


def test_zero_length_line_is_allowed():
    lines = make_lines([{"line": 1, "start": 5, "progression": 5},
                        {"line": 2, "start": 6}])
    r = one(line_pfs(lines, make_followup({"P1": (50, None)})))
    assert (r["pfs_days"], r["pfs_event"]) == (0.0, True)


def test_progression_after_stop_before_next_line_ends_this_line():
    # treatment-free interval: the line's PFS runs past its stop date
    lines = make_lines([{"line": 1, "start": 0, "stop": 90, "progression": 150},
                        {"line": 2, "start": 160}])
    r = one(line_pfs(lines, make_followup({"P1": (400, None)})))
    assert (r["pfs_days"], r["pfs_event"]) == (150.0, True)


def test_progression_on_the_day_the_next_line_starts_is_an_event():
    lines = make_lines([{"line": 1, "start": 0, "progression": 80},
                        {"line": 2, "start": 80}])
    r = one(line_pfs(lines, make_followup({"P1": (400, None)})))
    assert (r["pfs_days"], r["pfs_event"], r["end_reason"]) == (80.0, True, "progression")


def test_death_after_next_line_start_censors_the_earlier_line():
    lines = make_lines([{"line": 1, "start": 0}, {"line": 2, "start": 30}])
    t = line_pfs(lines, make_followup({"P1": (90, 90)}))
    assert (one(t, line=1)["pfs_days"], one(t, line=1)["pfs_event"]) == (30.0, False)
    assert (one(t, line=2)["pfs_days"], one(t, line=2)["end_reason"]) == (60.0, "death")


def test_a_line_started_the_same_day_does_not_censor():
    lines = make_lines([{"line": 1, "start": 0, "progression": 70},
                        {"line": 2, "start": 0, "modality": "radiotherapy"}])
    t = line_pfs(lines, make_followup({"P1": (100, None)}))
    assert one(t, line=1)["pfs_days"] == 70.0
    assert (one(t, line=2)["pfs_days"], one(t, line=2)["end_reason"]) == (100.0,
                                                                         "last follow-up")


def test_death_ends_follow_up_even_after_last_contact():
    lines = make_lines([{"line": 1, "start": 0}])
    r = one(line_pfs(lines, make_followup({"P1": (50, 80)})))
    assert (r["pfs_days"], r["pfs_event"], r["end_reason"]) == (80.0, True, "death")


def _naive_line_pfs(lines: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """Row-by-row reference of the documented rule."""
    fu = followup.set_index("patient")
    rows = []
    for _, r in lines.iterrows():
        death, last = fu.loc[r["patient"], "death"], fu.loc[r["patient"], "last_followup"]
        later = lines[(lines["patient"] == r["patient"]) & (lines["start"] > r["start"])]
        nxt = later["start"].min() if len(later) else pd.NaT
        events = [d for d in (r["progression"], death) if not pd.isna(d)]
        censors = [d for d in (nxt, last if pd.isna(death) else pd.NaT) if not pd.isna(d)]
        ev, ce = min(events, default=None), min(censors, default=None)
        if ev is not None and (ce is None or ev <= ce):
            end, event = ev, True
        else:
            end, event = ce, False
        rows.append((r["patient"], r["line"], (end - r["start"]).days, event))
    return pd.DataFrame(rows, columns=["patient", "line", "pfs_days", "pfs_event"])


def _random_cohort(n_patients: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows, fu = [], {}
    for i in range(n_patients):
        p, t = f"P{i:03d}", 0.0
        for k in range(1, int(rng.integers(1, 5)) + 1):
            t += float(rng.integers(0, 3) * rng.integers(0, 60))
            prog = t + float(rng.integers(0, 200)) if rng.random() < 0.6 else None
            rows.append({"patient": p, "line": k, "start": t, "progression": prog,
                         "modality": "chemotherapy" if rng.random() < 0.8 else "surgery",
                         "guided": bool(rng.random() < 0.4)})
            t = max(t, prog or t) + float(rng.integers(0, 30))
        latest = max(max(r["start"], r["progression"] or 0) for r in rows if r["patient"] == p)
        end = latest + float(rng.integers(0, 100))
        fu[p] = (end, end if rng.random() < 0.3 else None)
    return make_lines(rows), make_followup(fu)


def test_vectorised_line_pfs_matches_a_row_by_row_loop():
    lines, fu = _random_cohort(150, seed=11)
    got = line_pfs(lines, fu)[["patient", "line", "pfs_days", "pfs_event"]]
    want = _naive_line_pfs(lines, fu).sort_values(["patient", "line"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


# --------------------------------------------------------------------------- validation


def _assert_unchanged(before: tuple[pd.DataFrame, ...], after: tuple[pd.DataFrame, ...]):
    for b, a in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(b, a)


def test_stop_before_start_names_patient_line_column_and_mutates_nothing():
    lines = make_lines([{"line": 1, "start": 0, "progression": 50},
                        {"patient": "DSRCT-007", "line": 2, "start": 100, "stop": 90}])
    lines.loc[1, "patient"] = "DSRCT-007"
    fu = make_followup({"P1": (400, None), "DSRCT-007": (400, None)})
    copies = (lines.copy(), fu.copy())
    with pytest.raises(InputError) as err:
        line_pfs(lines, fu)
    e = err.value
    assert e.column == "stop"
    assert "DSRCT-007" in e.message
    assert "line 2" in e.message
    assert "column 'stop'" in e.message
    assert "stops before it starts" in e.message
    assert e.fix
    _assert_unchanged(copies, (lines, fu))


@pytest.mark.parametrize(("row", "followup", "column", "words"), [
    ({"line": 1, "start": 10, "progression": 5}, (100, None), "progression",
     "before the line started"),
    ({"line": 1, "start": 10}, (100, 5), "start", "after the death date"),
    ({"line": 1, "start": 0, "progression": 60}, (100, 50), "progression",
     "after the death date"),
    ({"line": 1, "start": 0, "stop": 120}, (100, None), "stop", "after the last follow-up"),
])
def test_impossible_dates_raise(row, followup, column, words):
    lines = make_lines([row])
    fu = make_followup({"P1": followup})
    copies = (lines.copy(), fu.copy())
    with pytest.raises(InputError, match=words) as err:
        pfs_ratio(lines, fu)
    assert err.value.column == column
    assert "P1, line 1" in err.value.message
    _assert_unchanged(copies, (lines, fu))


def test_last_followup_after_death_raises():
    fu = make_followup({"P1": (100, 50)})
    with pytest.raises(InputError, match="last follow-up is after the death") as err:
        line_pfs(make_lines([{"line": 1, "start": 0}]), fu)
    assert err.value.column == "last_followup"


def test_missing_followup_missing_column_and_text_dates_raise():
    lines = make_lines([{"line": 1, "start": 0}])
    with pytest.raises(InputError, match="no follow-up row"):
        line_pfs(lines, make_followup({"P2": (10, None)}))
    with pytest.raises(InputError, match="no column") as err:
        line_pfs(lines.drop(columns="progression"), make_followup({"P1": (10, None)}))
    assert err.value.column == "progression"
    text = lines.assign(start=["2024-01-01"])
    with pytest.raises(InputError, match="not dates") as err:
        line_pfs(text, make_followup({"P1": (10, None)}))
    assert "to_datetime" in err.value.fix


def test_repeated_line_number_raises():
    lines = make_lines([{"line": 1, "start": 0}, {"line": 1, "start": 10}])
    with pytest.raises(InputError, match="more than once") as err:
        line_pfs(lines, make_followup({"P1": (100, None)}))
    assert err.value.column == "line"


def test_mtb_guided_must_be_true_or_false():
    lines = make_lines([{"line": 1, "start": 0}, {"line": 2, "start": 10}])
    lines["mtb_guided"] = pd.Series([False, "yes"], dtype=object)
    with pytest.raises(InputError, match="not True or False") as err:
        pfs_ratio(lines, make_followup({"P1": (100, None)}))
    assert err.value.column == "mtb_guided"
    assert "P1, line 2" in err.value.message


def test_line_pfs_needs_no_ratio_columns():
    lines = make_lines([{"line": 1, "start": 0}]).drop(columns=["modality", "mtb_guided"])
    assert line_pfs(lines, make_followup({"P1": (10, None)}))["pfs_days"].tolist() == [10.0]
    with pytest.raises(InputError, match="no column"):
        pfs_ratio(lines, make_followup({"P1": (10, None)}))


def test_bad_threshold_raises():
    lines = make_lines([{"line": 1, "start": 0}])
    with pytest.raises(InputError, match="threshold"):
        pfs_ratio(lines, make_followup({"P1": (100, None)}), threshold=0)


# --------------------------------------------------------------------------- pfs_ratio


def _pair(pfs1: float, event1: bool, pfs2: float, event2: bool,
          patient: str = "P1") -> tuple[list[dict], tuple[float, None]]:
    """Line 1 (systemic) then guided line 2; a censored PFS1 is a switch without progression."""
    start2 = pfs1
    rows = [{"patient": patient, "line": 1, "start": 0,
             "progression": pfs1 if event1 else None},
            {"patient": patient, "line": 2, "start": start2, "guided": True,
             "progression": start2 + pfs2 if event2 else None}]
    # PFS2 censored at the last follow-up
    return rows, (start2 + pfs2, None)


def _ratio_of(pfs1, event1, pfs2, event2, **kw) -> pd.Series:
    rows, fu = _pair(pfs1, event1, pfs2, event2)
    return pfs_ratio(make_lines(rows), make_followup({"P1": fu}), **kw).iloc[0]


def test_ratio_is_pfs2_over_pfs1_closed_form():
    r = _ratio_of(100, True, 250, True)
    assert r["pfs1_days"] == 100.0
    assert r["pfs2_days"] == 250.0
    assert r["pfs_ratio"] == pytest.approx(2.5)
    assert r["previous_line"] == 1
    assert r["verdict"] == "benefit"


@pytest.mark.parametrize(("pfs1", "e1", "pfs2", "e2", "verdict", "words"), [
    (100, True, 130, True, "benefit", "PFSr >= 1.3"),          # exactly at the threshold
    (100, True, 129, True, "no_benefit", "PFSr < 1.3"),
    (100, True, 140, False, "benefit", "can only grow"),       # censored, already >= 1.3x
    (100, True, 120, False, "not_evaluable", "too short"),     # censored, below 1.3x
    (100, False, 90, True, "no_benefit", "only lowers"),       # PFS1 censored, low ratio safe
    (100, False, 200, True, "not_evaluable", "may be longer"),  # PFS1 censored, high ratio
    (100, False, 200, False, "not_evaluable", "both censored"),
])
def test_verdict_rules(pfs1, e1, pfs2, e2, verdict, words):
    r = _ratio_of(pfs1, e1, pfs2, e2)
    assert r["pfs1_event"] == e1
    assert r["pfs2_event"] == e2
    assert r["verdict"] == verdict
    assert words in r["reason"]


def test_threshold_is_a_parameter():
    assert _ratio_of(100, True, 140, True, threshold=1.5)["verdict"] == "no_benefit"
    assert "1.5" in _ratio_of(100, True, 140, True, threshold=1.5)["reason"]


def test_no_previous_line_is_not_evaluable():
    lines = make_lines([{"line": 1, "start": 0, "guided": True, "progression": 100}])
    r = pfs_ratio(lines, make_followup({"P1": (200, None)})).iloc[0]
    assert r["verdict"] == "not_evaluable"
    assert r["reason"] == "no previous line"
    assert np.isnan(r["pfs_ratio"])
    assert pd.isna(r["previous_line"])


def test_zero_pfs1_is_not_evaluable():
    lines = make_lines([{"line": 1, "start": 0, "progression": 0},
                        {"line": 2, "start": 10, "guided": True, "progression": 50}])
    r = pfs_ratio(lines, make_followup({"P1": (200, None)})).iloc[0]
    assert r["verdict"] == "not_evaluable"
    assert "0 days" in r["reason"]
    assert np.isnan(r["pfs_ratio"])


def test_local_therapy_is_not_the_comparator():
    lines = make_lines([
        {"line": 1, "start": 0, "progression": 100},
        {"line": 2, "start": 110, "modality": "surgery"},
        {"line": 3, "start": 140, "guided": True, "progression": 290},
    ])
    r = pfs_ratio(lines, make_followup({"P1": (400, None)})).iloc[0]
    assert r["previous_line"] == 1
    assert r["pfs_ratio"] == pytest.approx(150 / 100)


def test_systemic_column_decides_when_present():
    lines = make_lines([
        {"line": 1, "start": 0, "progression": 100},
        {"line": 2, "start": 110, "modality": "chemotherapy", "progression": 120},
        {"line": 3, "start": 140, "guided": True, "progression": 290},
    ])
    lines["systemic"] = [True, False, True]
    r = pfs_ratio(lines, make_followup({"P1": (400, None)})).iloc[0]
    assert r["previous_line"] == 1


def test_most_recent_prior_line_and_same_day_start_excluded():
    lines = make_lines([
        {"line": 1, "start": 0, "progression": 50},
        {"line": 2, "start": 60, "progression": 100},
        {"line": 3, "start": 120, "guided": True, "progression": 200},
        {"line": 4, "start": 120, "guided": False},  # concurrent, starts the same day
    ])
    r = pfs_ratio(lines, make_followup({"P1": (400, None)}))
    assert len(r) == 1
    assert r.iloc[0]["previous_line"] == 2
    assert r.iloc[0]["pfs1_days"] == 40.0


def test_consecutive_guided_lines_compare_with_each_other():
    lines = make_lines([
        {"line": 1, "start": 0, "progression": 100},
        {"line": 2, "start": 100, "guided": True, "progression": 300},
        {"line": 3, "start": 300, "guided": True, "progression": 350},
    ])
    r = pfs_ratio(lines, make_followup({"P1": (400, None)}))
    assert list(r["previous_line"]) == [1, 2]
    assert list(r["pfs_ratio"]) == pytest.approx([2.0, 0.25])
    assert list(r["verdict"]) == ["benefit", "no_benefit"]


# --------------------------------------------------------------------------- summary


def test_clopper_pearson_matches_r_binom_test():
    """R 4.x::

        > binom.test(7, 20)$conf.int
        [1] 0.1539092 0.5921885
        > binom.test(5, 13)$conf.int
        [1] 0.1385793 0.6842224
    """
    assert clopper_pearson(7, 20) == pytest.approx((0.1539092, 0.5921885), abs=5e-8)
    assert clopper_pearson(5, 13) == pytest.approx((0.1385793, 0.6842224), abs=5e-8)


def test_clopper_pearson_closed_form_limits():
    # 0 of n: upper = 1 - (alpha/2)^(1/n); n of n: lower = (alpha/2)^(1/n)
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 1 - 0.025 ** (1 / 10)))
    assert clopper_pearson(10, 10) == pytest.approx((0.025 ** (1 / 10), 1.0))
    # beta quantiles, the definition (Clopper & Pearson 1934)
    lo, hi = clopper_pearson(3, 9, confidence_level=0.9)
    assert lo == pytest.approx(stats.beta.ppf(0.05, 3, 7))
    assert hi == pytest.approx(stats.beta.ppf(0.95, 4, 6))
    assert all(np.isnan(clopper_pearson(0, 0)))


def test_texier_midrank_hand_example():
    """Threshold 1.3; PFS1 = 10, 10, 10; PFS2 = 20 (event), 5 (event), 8 (censored).

    Values 13, 13, 13 (1.3 x PFS1) and 20, 5, 8. Left ends sorted: 5 8 13 13 13 20; right
    ends (censored 8 -> inf): 5 13 13 13 20 inf. Midrank of 13 = (first right >= 13: rank 2 +
    last left <= 13: rank 5) / 2 = 3.5. PFS2 = 20: (5 + 6) / 2 = 5.5 >= 3.5, success;
    PFS2 = 5: (1 + 1) / 2 = 1 < 3.5, failure; PFS2 censored at 8, interval [8, inf):
    (2 + 6) / 2 = 4 >= 3.5, success. Estimate 2/3.
    """
    est = texier_midrank([10, 10, 10], [20, 5, 8], [True, True, False], threshold=1.3)
    assert est == pytest.approx(2 / 3)


def test_texier_midrank_without_censoring_is_the_plain_share():
    rng = np.random.default_rng(3)
    p1 = rng.exponential(100, 200)
    p2 = rng.exponential(120, 200)
    est = texier_midrank(p1, p2, np.ones(200, bool), threshold=1.3)
    assert est == pytest.approx(np.mean(p2 >= 1.3 * p1))
    assert np.isnan(texier_midrank([], [], [], threshold=1.3))


def _midrank_loop(pfs1, pfs2, event, threshold):
    """Value-by-value transcription of the authors' R example (Oncostat/TTPratio):
    rankmin = first 1-based index with sorted value >= a, rankmax = last index <= a."""
    p1m = [threshold * x for x in pfs1]
    mod2 = [x if e else np.inf for x, e in zip(pfs2, event, strict=True)]
    lsort = sorted(p1m + list(pfs2))
    rsort = sorted(p1m + mod2)

    def rankmin(a, vec):
        return next(i + 1 for i, v in enumerate(vec) if v >= a)

    def rankmax(a, vec):
        return max(i + 1 for i, v in enumerate(vec) if v <= a)

    mid1 = [(rankmin(a, rsort) + rankmax(a, lsort)) / 2 for a in p1m]
    mid2 = [(rankmin(a, rsort) + rankmax(b, lsort)) / 2
            for a, b in zip(pfs2, mod2, strict=True)]
    return float(np.mean([m2 - m1 >= 0 for m1, m2 in zip(mid1, mid2, strict=True)]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_texier_midrank_matches_the_authors_loop_with_ties_and_censoring(seed):
    rng = np.random.default_rng(seed)
    n = 60
    p1 = rng.integers(1, 20, n).astype(float) * 10   # coarse: many ties
    p2 = rng.integers(0, 30, n).astype(float) * 10
    event = rng.random(n) < 0.6
    for threshold in (1.0, 1.3, 1.5):
        assert texier_midrank(p1, p2, event, threshold=threshold) == pytest.approx(
            _midrank_loop(list(p1), list(p2), list(event), threshold))


def _ratios(rows: list[tuple[float, bool, float, bool]]) -> pd.DataFrame:
    lines, fu = [], {}
    for i, (p1, e1, p2, e2) in enumerate(rows):
        r, f = _pair(p1, e1, p2, e2, patient=f"P{i:02d}")
        lines += r
        fu[f"P{i:02d}"] = f
    return pfs_ratio(make_lines(lines), make_followup(fu))


def test_summary_counts_shares_and_intervals():
    # 7 benefit, 10 no benefit, 3 not evaluable: 20 guided lines, 17 evaluable
    rows = ([(100, True, 200, True)] * 7 + [(100, True, 50, True)] * 10
            + [(100, True, 110, False)] * 3)
    s = pfsr_summary(_ratios(rows))
    assert (s["n_guided"], s["n_evaluable"], s["n_benefit"], s["n_no_benefit"],
            s["n_not_evaluable"]) == (20, 17, 7, 10, 3)
    assert s["share_benefit_guided"] == pytest.approx(7 / 20)
    assert s["share_benefit_guided_ci"] == pytest.approx((0.1539092, 0.5921885), abs=5e-8)
    assert s["share_benefit_evaluable"] == pytest.approx(7 / 17)
    assert s["share_benefit_evaluable_ci"] == pytest.approx(clopper_pearson(7, 17))
    # ratios sorted: 0.5 x10, 1.1 x3, 2.0 x7 -> median = (0.5 + 1.1) / 2
    assert s["median_pfs_ratio"] == pytest.approx(0.8)


def test_summary_texier_estimate_and_wald_interval():
    rows = [(10, True, 20, True), (10, True, 5, True), (10, True, 8, False),
            (10, False, 30, True)]  # the last has a censored PFS1: left out
    s = pfsr_summary(_ratios(rows))
    assert s["texier_n"] == 3
    assert s["texier_excluded_pfs1_censored"] == 1
    assert s["texier_estimate"] == pytest.approx(2 / 3)
    half = 1.959963984540054 * np.sqrt((2 / 3) * (1 / 3) / 3)
    assert s["texier_ci"] == pytest.approx((2 / 3 - half, 1.0))


def test_summary_of_nothing_and_bad_input():
    empty = _ratios([(100, True, 200, True)]).iloc[0:0]
    s = pfsr_summary(empty)
    assert s["n_guided"] == 0
    assert np.isnan(s["share_benefit_guided"])
    assert np.isnan(s["texier_estimate"])
    with pytest.raises(InputError, match="no column"):
        pfsr_summary(pd.DataFrame({"verdict": ["benefit"]}))
    bad = _ratios([(100, True, 200, True)]).assign(verdict="great")
    with pytest.raises(InputError, match="not one of"):
        pfsr_summary(bad)

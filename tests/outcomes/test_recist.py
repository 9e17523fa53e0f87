"""RECIST 1.1 case by case from the guideline's definitions.

Reference: Eisenhauer EA, et al. Eur J Cancer 2009;45:228-247, doi:10.1016/j.ejca.2008.10.026.
Each expected value below is worked by hand from the definition quoted in the test (section
4.3.1 thresholds, section 4.4.1 Table 1, section 4.4.3 Table 3, the section 4.4.2 worked
example of a 50 mm baseline with two of three lesions summing to 80 mm = PD).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.outcomes.recist import (
    assess,
    best_overall_response,
    non_target_response,
    overall_response,
    target_response,
    validate_lesions,
)

T0 = pd.Timestamp("2024-01-01")


def visit(day, targets=None, non_targets=None, new=None, *, patient="P1", nodes=(),
          sites=None):
    """Rows of one assessment ``day`` days after 2024-01-01.

    ``targets`` maps lesion id -> diameter in mm or a status string; ``non_targets`` and
    ``new`` map lesion id -> status; ids in ``nodes`` are lymph nodes.
    """
    rows = []
    for lesion, value in (targets or {}).items():
        mm, status = (value, None) if not isinstance(value, str) else (float("nan"), value)
        rows.append({"lesion_id": lesion, "kind": "target", "diameter_mm": mm, "status": status})
    for lesion, status in (non_targets or {}).items():
        rows.append({"lesion_id": lesion, "kind": "non_target", "diameter_mm": float("nan"),
                     "status": status})
    for lesion, status in (new or {}).items():
        rows.append({"lesion_id": lesion, "kind": "new", "diameter_mm": float("nan"),
                     "status": status})
    for r in rows:
        r.update(patient=patient, assessment_date=T0 + pd.Timedelta(days=day),
                 lymph_node=r["lesion_id"] in nodes,
                 site=(sites or {}).get(r["lesion_id"], r["lesion_id"]))
    return rows


def table(*visits):
    return pd.DataFrame([r for v in visits for r in v])


def overall_at(*visits):
    return list(assess(table(*visits))["overall"].iloc[1:])


def targets_at(*visits):
    return list(assess(table(*visits))["target"].iloc[1:])


# --- target lesions (section 4.3.1) ---------------------------------------------------------

def test_exactly_30_percent_decrease_is_pr_and_29_9_is_sd():
    base = visit(0, {"T1": 60.0, "T2": 40.0})
    assert targets_at(base, visit(56, {"T1": 42.0, "T2": 28.0})) == ["PR"]  # 70 = -30 %
    assert targets_at(base, visit(56, {"T1": 42.0, "T2": 28.1})) == ["SD"]  # 70.1 = -29.9 %
    # 23.1 is exactly 70 % of 33 in decimals, but 0.7 * 33 = 23.099999999999998 in floats.
    assert targets_at(visit(0, {"T1": 33.0}), visit(56, {"T1": 23.1})) == ["PR"]


def test_twenty_percent_over_nadir_needs_five_mm():
    base = visit(0, {"T1": 30.0})
    nadir = visit(56, {"T1": 20.0})  # -33 %: PR, new nadir 20
    # 24 mm: +20 % over the nadir but only +4 mm -> not PD; -20 % vs baseline -> SD.
    assert targets_at(base, nadir, visit(112, {"T1": 24.0})) == ["PR", "SD"]
    # 25 mm: +25 % and +5 mm -> PD.
    assert targets_at(base, nadir, visit(112, {"T1": 25.0})) == ["PR", "PD"]


def test_progression_is_measured_from_nadir_not_baseline():
    base = visit(0, {"T1": 60.0, "T2": 40.0})
    got = assess(table(base, visit(56, {"T1": 30.0, "T2": 20.0}),
                       visit(112, {"T1": 36.0, "T2": 25.0})))
    # 61 mm: -39 % from baseline (would be PR) but +22 % / +11 mm over the 50 mm nadir.
    last = got.iloc[-1]
    assert last["target"] == "PD" and last["overall"] == "PD"
    assert last["nadir_mm"] == 50.0
    assert last["change_from_baseline_pct"] == pytest.approx(-39.0)
    assert last["change_from_nadir_pct"] == pytest.approx(22.0)


def test_nodes_below_10_mm_count_as_complete_response():
    base = visit(0, {"N1": 20.0, "T1": 15.0}, nodes={"N1"})
    got = assess(table(base, visit(56, {"N1": 8.0, "T1": 0.0}, nodes={"N1"})))
    assert got["target"].iloc[1] == "CR" and got["sum_mm"].iloc[1] == 8.0
    # A node at exactly 10 mm is still pathological: 10/35 = -71 % -> PR, not CR.
    assert targets_at(base, visit(56, {"N1": 10.0, "T1": 0.0}, nodes={"N1"})) == ["PR"]


def test_too_small_to_measure_counts_5_mm_and_is_not_cr():
    got = assess(table(visit(0, {"T1": 20.0}), visit(56, {"T1": "too_small"})))
    assert got["sum_mm"].iloc[1] == 5.0 and got["target"].iloc[1] == "PR"


def test_reappearance_after_cr_is_pd():
    # Section 4.3.2: after CR, a lesion that reappears makes PD even below +5 mm.
    assert targets_at(visit(0, {"T1": 20.0}), visit(56, {"T1": 0.0}),
                      visit(112, {"T1": 3.0})) == ["CR", "PD"]


def test_not_evaluated_target_is_ne_unless_the_rest_already_progresses():
    base = visit(0, {"T1": 20.0, "T2": 15.0, "T3": 15.0})  # 50 mm
    assert overall_at(base, visit(56, {"T1": 18.0, "T2": 15.0, "T3": "not_evaluated"})) == ["NE"]
    # Section 4.4.2 example: two of three lesions sum 80 mm > 50 mm -> PD regardless.
    got = assess(table(base, visit(56, {"T1": 50.0, "T2": 30.0, "T3": "not_evaluated"})))
    assert got["target"].iloc[1] == "PD" and not got["targets_evaluated"].iloc[1]


def test_ne_time_point_does_not_set_the_nadir():
    base = visit(0, {"T1": 30.0, "T2": 20.0})
    got = assess(table(base, visit(56, {"T1": 5.0, "T2": "not_evaluated"}),
                       visit(112, {"T1": 30.0, "T2": 20.0})))
    assert list(got["target"].iloc[1:]) == ["NE", "SD"]
    assert got["nadir_mm"].iloc[2] == 50.0


def test_target_response_function_directly():
    lesions = pd.DataFrame({"lymph_node": [False], "diameter_mm": [7.0], "status": [None]})
    assert target_response(lesions, baseline_sum_mm=10.0, nadir_mm=10.0) == "PR"
    assert target_response(lesions, baseline_sum_mm=10.0, nadir_mm=2.0) == "PD"
    assert target_response(lesions, baseline_sum_mm=8.0, nadir_mm=7.0) == "SD"


# --- non-target and new lesions, Table 1 ----------------------------------------------------

def test_non_target_response_codes():
    nt = pd.DataFrame({"lesion_id": ["A", "B"], "status": ["absent", "absent"]})
    assert non_target_response(nt) == "CR"
    nt.loc[1, "status"] = "present"
    assert non_target_response(nt) == "non-CR/non-PD"
    assert non_target_response(nt, baseline_lesions=["A", "B", "C"]) == "NE"
    nt.loc[0, "status"] = "unequivocal_progression"
    assert non_target_response(nt, baseline_lesions=["A", "B", "C"]) == "PD"
    empty = pd.DataFrame({"lesion_id": [], "status": []})
    assert non_target_response(empty) == "none"


@pytest.mark.parametrize(
    ("target", "non_target", "new", "want"),
    [
        ("CR", "CR", "no", "CR"),
        ("CR", "none", "no", "CR"),
        ("CR", "non-CR/non-PD", "no", "PR"),
        ("CR", "NE", "no", "PR"),
        ("PR", "non-CR/non-PD", "no", "PR"),
        ("PR", "NE", "no", "PR"),
        ("PR", "CR", "no", "PR"),
        ("SD", "non-CR/non-PD", "no", "SD"),
        ("SD", "NE", "no", "SD"),
        ("NE", "non-CR/non-PD", "no", "NE"),
        ("NE", "CR", "no", "NE"),
        ("PD", "CR", "no", "PD"),
        ("CR", "PD", "no", "PD"),
        ("NE", "PD", "no", "PD"),
        ("CR", "CR", "yes", "PD"),
        ("SD", "NE", "yes", "PD"),
        ("CR", "CR", "equivocal", "CR"),
    ],
)
def test_table_1_combinations(target, non_target, new, want):
    assert overall_response(target, non_target, new) == want


def test_overall_response_rejects_unknown_codes():
    with pytest.raises(InputError, match=r"not a RECIST 1\.1 code"):
        overall_response("iCR", "CR", "no")


def test_new_lesion_is_pd_whatever_the_sum():
    got = assess(table(visit(0, {"T1": 40.0}, {"B1": "present"}),
                       visit(56, {"T1": 0.0}, {"B1": "absent"}, {"L9": "new"})))
    row = got.iloc[1]
    assert row["target"] == "CR" and row["non_target"] == "CR"
    assert row["new_lesions"] == "yes" and row["overall"] == "PD"


def test_non_target_in_assess():
    base = visit(0, {"T1": 40.0}, {"B1": "present", "B2": "present"})
    got = assess(table(base, visit(56, {"T1": 0.0}, {"B1": "absent", "B2": "present"}),
                       visit(112, {"T1": 0.0}, {"B1": "absent"}),
                       visit(168, {"T1": 0.0}, {"B1": "unequivocal_progression",
                                                "B2": "present"})))
    assert list(got["non_target"].iloc[1:]) == ["non-CR/non-PD", "NE", "PD"]
    assert list(got["overall"].iloc[1:]) == ["PR", "PR", "PD"]
    assert list(got.columns[:4]) == ["patient", "assessment_date", "sum_mm", "targets_evaluated"]
    assert got["overall"].iloc[0] == "baseline"


# --- best overall response (Table 3) --------------------------------------------------------

def bor(*visits, **kwargs):
    return best_overall_response(assess(table(*visits)), **kwargs).iloc[0]


BASE = visit(0, {"T1": 50.0})


def test_confirmed_pr_and_cr():
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(112, {"T1": 30.0}))
    assert got["best_response"] == "PR" and got["confirmed"]
    assert got["date_of_first_response"] == T0 + pd.Timedelta(days=56)
    assert pd.isna(got["progression_date"])
    got = bor(BASE, visit(56, {"T1": 0.0}), visit(84, {"T1": 0.0}))
    assert got["best_response"] == "CR" and got["confirmed"]
    # PR then CR confirms PR, not CR (Table 3).
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(112, {"T1": 0.0}))
    assert got["best_response"] == "PR" and got["confirmed"]


def test_unconfirmed_pr_is_sd_when_sd_duration_met():
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(112, {"T1": 45.0}))
    assert got["best_response"] == "SD" and not got["confirmed"]
    assert pd.isna(got["date_of_first_response"])
    # Without confirmation (e.g. randomised trials) the single PR counts.
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(112, {"T1": 45.0}), confirmation=False)
    assert got["best_response"] == "PR" and not got["confirmed"]


def test_confirmation_needs_four_weeks():
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(70, {"T1": 30.0}))  # 14 days apart
    assert got["best_response"] == "SD" and not got["confirmed"]
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(70, {"T1": 30.0}), min_interval_days=14)
    assert got["best_response"] == "PR" and got["confirmed"]


def test_pr_then_pd_before_sd_minimum_is_pd():
    # Table 3: PR then PD -> SD if the SD minimum is met, otherwise PD.
    got = bor(BASE, visit(35, {"T1": 30.0}), visit(70, {"T1": 60.0}))
    assert got["best_response"] == "PD"
    assert got["progression_date"] == T0 + pd.Timedelta(days=70)
    got = bor(BASE, visit(42, {"T1": 30.0}), visit(70, {"T1": 60.0}))
    assert got["best_response"] == "SD"


def test_early_sd_then_ne_is_ne_and_responses_after_pd_do_not_count():
    got = bor(BASE, visit(28, {"T1": 45.0}), visit(84, {"T1": "not_evaluated"}))
    assert got["best_response"] == "NE"
    got = bor(BASE, visit(28, {"T1": 70.0}), visit(84, {"T1": 20.0}), visit(140, {"T1": 20.0}))
    assert got["best_response"] == "PD"
    assert got["progression_date"] == T0 + pd.Timedelta(days=28)


def test_equivocal_new_lesion_confirmed_later_dates_progression_back():
    got = bor(BASE, visit(56, {"T1": 45.0}, new={"L1": "equivocal"}),
              visit(112, {"T1": 45.0}, new={"L1": "new"}))
    assert got["best_response"] == "SD"
    assert got["progression_date"] == T0 + pd.Timedelta(days=56)


def test_several_patients_one_row_each():
    resp = assess(table(visit(0, {"T1": 50.0}, patient="B"), visit(56, {"T1": 60.0},
                                                                 patient="B"),
                        BASE, visit(56, {"T1": 30.0}), visit(112, {"T1": 30.0})))
    got = best_overall_response(resp)
    assert list(got["patient"]) == ["B", "P1"]
    # B: 50 -> 60 mm is +20 % and +10 mm over the baseline nadir: PD at the first visit.
    assert list(got["best_response"]) == ["PD", "PR"]
    assert got["progression_date"].iloc[0] == T0 + pd.Timedelta(days=56)
    assert got["progression_date"].dtype == "datetime64[ns]"


# --- validation -----------------------------------------------------------------------------

def _error(rows) -> InputError:
    with pytest.raises(InputError) as err:
        validate_lesions(table(*rows))
    return err.value


def test_baseline_target_count_and_organ_rules():
    six = {f"T{i}": 20.0 for i in range(6)}
    err = _error([visit(0, six)])
    assert "6 target lesions" in err.problem and "P1" in err.problem and err.fix
    err = _error([visit(0, {"A": 20.0, "B": 20.0, "C": 20.0},
                        sites={"A": "liver", "B": "liver", "C": "Liver"})])
    assert "organ 'liver'" in err.problem and err.column == "site" and "non_target" in err.fix
    err = _error([visit(0, {}, {"B1": "present"})])
    assert "0 target lesions" in err.problem


def test_baseline_measurability():
    err = _error([visit(0, {"T1": 9.9})])
    assert "below the measurable minimum" in err.problem and ">= 10 mm" in err.expected
    err = _error([visit(0, {"N1": 14.0}, nodes={"N1"})])
    assert "short axis" in err.problem and ">= 15 mm" in err.expected
    assert validate_lesions(table(visit(0, {"N1": 15.0}, nodes={"N1"}))).shape[0] == 1
    err = _error([visit(0, {"T1": "too_small"})])
    assert "measured at baseline" in err.problem


def test_follow_up_target_rules():
    base = visit(0, {"T1": 20.0, "T2": 20.0})
    err = _error([base, visit(56, {"T1": 15.0})])
    assert "lesion T2" in err.problem and "2024-02-26" in err.problem
    assert "too_small" in err.fix
    err = _error([base, visit(56, {"T1": 15.0, "T2": float("nan")})])
    assert "no diameter" in err.problem and err.column == "diameter_mm"
    err = _error([base, visit(56, {"T1": 15.0, "T2": 10.0, "T3": 12.0})])
    assert "not among the baseline targets" in err.problem


def test_row_level_errors():
    base = visit(0, {"T1": 20.0})
    err = _error([base, base[:1]])
    assert "twice" in err.problem and err.line == 2
    bad = visit(0, {"T1": 20.0})
    bad[0]["diameter_mm"] = -3.0
    err = _error([bad])
    assert "negative" in err.problem and err.column == "diameter_mm" and err.line == 1
    bad = visit(0, {"T1": 20.0}, {"B1": "present"})
    bad[1]["kind"] = "nontarget_lesion"
    err = _error([bad])
    assert "unknown lesion kind" in err.problem and err.line == 2
    bad = visit(0, {"T1": 20.0}, {"B1": "gone"})
    assert "not valid for a non_target" in _error([bad]).problem
    err = _error([visit(0, {"T1": 20.0}, new={"L1": "new"})])
    assert "new at baseline" in err.problem
    with pytest.raises(InputError, match="lacks column"):
        validate_lesions(pd.DataFrame({"patient": ["P1"]}))


def test_validate_normalises():
    rows = visit(0, {"T1": 20.0}, {"B1": None})
    rows[0]["kind"] = " Target "
    rows[0]["lymph_node"] = "no"
    out = validate_lesions(table(rows, visit(56, {"T1": 10.0}, new={"L1": None})))
    assert out["kind"].tolist() == ["non_target", "target", "new", "target"]
    assert out.loc[out["lesion_id"] == "B1", "status"].item() == "present"
    assert out.loc[out["lesion_id"] == "L1", "status"].item() == "new"
    assert out["lymph_node"].dtype == bool
    assert out["assessment_date"].dtype == "datetime64[ns]"


def test_csv_style_columns_and_empty_table():
    rows = table(visit(0, {"N1": 20.0}, {"B1": "Present"}, nodes={"N1"}),
                 visit(56, {"N1": 9.0}, {"B1": "absent"}, nodes={"N1"}))
    # As read from a CSV: 1/empty for lymph_node, dates as text, statuses in mixed case.
    rows["lymph_node"] = [1.0 if n else float("nan") for n in rows["lymph_node"]]
    rows["assessment_date"] = rows["assessment_date"].dt.strftime("%Y-%m-%d")
    got = assess(rows)
    assert list(got["overall"]) == ["baseline", "CR"]
    empty = assess(pd.DataFrame(columns=list(rows.columns)))
    assert empty.empty and "overall" in empty.columns
    assert best_overall_response(empty).empty


def test_sd_between_two_pr_breaks_confirmation():
    got = assess(table(BASE, visit(56, {"T1": 30.0}), visit(84, {"T1": 35.5}),
                       visit(140, {"T1": 34.0})))
    # 30 (PR), 35.5 (-29 % from baseline, +18 % over the nadir: SD), 34 (-32 %: PR).
    assert list(got["overall"].iloc[1:]) == ["PR", "SD", "PR"]
    got = best_overall_response(got).iloc[0]
    assert got["best_response"] == "SD" and not got["confirmed"]
    # NE in between does not break it; the episode starts at the first PR.
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(84, {"T1": "not_evaluated"}),
              visit(140, {"T1": 30.0}))
    assert got["best_response"] == "PR" and got["confirmed"]
    assert got["date_of_first_response"] == T0 + pd.Timedelta(days=56)


def test_first_response_date_of_confirmed_cr_is_the_preceding_pr():
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(112, {"T1": 0.0}), visit(140, {"T1": 0.0}))
    assert got["best_response"] == "CR" and got["confirmed"]
    assert got["date_of_first_response"] == T0 + pd.Timedelta(days=56)
    # An earlier PR episode broken by SD does not start the confirmed one.
    got = bor(BASE, visit(56, {"T1": 30.0}), visit(84, {"T1": 35.5}), visit(112, {"T1": 30.0}),
              visit(168, {"T1": 30.0}))
    assert got["best_response"] == "PR"
    assert got["date_of_first_response"] == T0 + pd.Timedelta(days=112)

"""Simulated outcome records: demo-cohort therapy histories and the simulated LAT registry.

References the checks rest on: the PFS-ratio verdicts of :func:`tumorboard.outcomes.pfsr.
pfs_ratio` (Von Hoff et al., J Clin Oncol 2010;28:4877, doi:10.1200/JCO.2009.26.5983, benefit
at PFS2/PFS1 >= 1.3), RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228,
doi:10.1016/j.ejca.2008.10.026) as implemented by :mod:`tumorboard.outcomes.recist`, the
ctDNA binomial model of :mod:`tumorboard.outcomes.ctdna`, and the simulator's own documented
true coefficients (the Cox fit must recover their signs).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from tumorboard import reference
from tumorboard.errors import InputError
from tumorboard.io.outcomes import TEMPLATE, read_template
from tumorboard.outcomes import ctdna, pfsr, recist, records
from tumorboard.registry.db import transaction
from tumorboard.simulate import (
    LAT_COEFFICIENTS,
    CohortTruth,
    simulate_cohort,
    simulate_lat_registry,
    simulate_outcomes,
)

TABLES = ("lines", "local_therapies", "recist", "events", "plasma")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[CohortTruth, Path, dict]:
    root = tmp_path_factory.mktemp("outcomes")
    truth = simulate_cohort(root / "cases", size="small", n_dsrct=6,
                            others={"SYNS": 1, "ES": 1})
    summary = simulate_outcomes(root / "outcomes", truth)
    return truth, root / "outcomes", summary


@pytest.fixture(scope="module")
def tables(cohort) -> records.OutcomeRecords:
    _, out, _ = cohort
    return read_template(sorted(out.glob("*.csv")))


def _followup(recs: records.OutcomeRecords) -> pd.DataFrame:
    """The followup convention from the events table alone (death, else the last event)."""
    ev = recs["events"]
    rows = []
    for patient, g in ev.groupby("patient"):
        rows.append({"patient": patient, "last_followup": g["date"].max(),
                     "death": g.loc[g["kind"] == "death", "date"].min()})
    out = pd.DataFrame(rows)
    out["death"] = pd.to_datetime(out["death"])
    return out


def _lines(recs: records.OutcomeRecords) -> pd.DataFrame:
    lines = recs["lines"].drop(columns="source_line").copy()
    lines["agents"] = lines["agents"].map(";".join)
    lines["line"] = lines["line"].astype(int)
    return lines


def test_same_seed_gives_identical_bytes_and_plain_newlines(cohort, tmp_path: Path) -> None:
    truth, out, _ = cohort
    simulate_outcomes(tmp_path / "again", truth)
    simulate_outcomes(tmp_path / "other", truth, seed=7)
    for name in TABLES:
        data = (out / f"{name}.csv").read_bytes()
        assert data == (tmp_path / "again" / f"{name}.csv").read_bytes(), name
        assert b"\r" not in data and data.endswith(b"\n")
    assert (out / "lines.csv").read_bytes() != (tmp_path / "other" / "lines.csv").read_bytes()
    # the demo's patients are registry patients already: no patients table
    assert not (out / "patients.csv").exists()
    header = (out / "lines.csv").read_text().splitlines()[0].split(",")
    assert header == [c.name for c in TEMPLATE["lines"]]


def test_every_table_passes_the_template_reader_and_cross_checks(cohort, tables) -> None:
    truth, _, summary = cohort
    records.validate(tables)
    assert set(tables.tables) == set(TABLES)
    assert tables.patients() == {p.patient_id for p in truth.patients}
    assert summary["rows"] == tables.counts()
    lines = tables["lines"]
    # lines are numbered 1, 2, ... in start order
    for _, g in lines.groupby("patient"):
        assert g["line"].tolist() == list(range(1, len(g) + 1))
        assert g["start"].is_monotonic_increasing
    dsrct = lines[lines["patient"].str.startswith("DSRCT")]
    first = dsrct[dsrct["line"] == 1]
    assert (first["regimen"].str.startswith("P6")).all()
    assert (first["intent"] == "curative").all()
    assert first["agents"].map(len).eq(5).all()


def test_nothing_is_recorded_after_death_and_the_living_have_a_last_followup(tables) -> None:
    ev = tables["events"]
    deaths = ev[ev["kind"] == "death"].set_index("patient")["date"]
    assert len(deaths) >= 1
    dated = {"lines": ("start", "stop", "progression"), "local_therapies": ("date",),
             "recist": ("assessment_date",), "events": ("date",), "plasma": ("collected",)}
    for patient in tables.patients():
        dates = pd.concat([tables[name].loc[tables[name]["patient"] == patient, c]
                           for name, cols in dated.items() for c in cols]).dropna()
        if patient in deaths.index:
            assert dates.max() == deaths[patient], patient
            assert not ((ev["patient"] == patient) & (ev["kind"] == "last_followup")).any()
        else:
            last = ev.loc[(ev["patient"] == patient) & (ev["kind"] == "last_followup"), "date"]
            assert len(last) == 1 and last.iloc[0] == dates.max(), patient


def test_guided_lines_follow_the_truth_and_their_designed_pfsr_class(cohort, tables) -> None:
    truth, _, summary = cohort
    guided = pd.DataFrame(summary["guided"])
    n = len(truth.patients)
    assert round(2 * n / 3) - 1 <= len(guided) <= round(2 * n / 3)
    assert set(guided["designed_class"]) == {"benefit", "no_benefit", "ongoing_benefit",
                                            "ongoing_early"}
    lines = _lines(tables)
    marked = lines[lines["mtb_guided"].astype(bool)]
    assert sorted(zip(marked["patient"], marked["line"], strict=True)) == sorted(
        zip(guided["patient"], guided["line"], strict=True))
    ratios = pfsr.pfs_ratio(lines, _followup(tables)).merge(guided, on=["patient", "line"])
    assert (ratios["verdict"] == ratios["expected_verdict"]).all()
    observed = ratios[ratios["pfs2_event_x"]]
    assert (observed.loc[observed["designed_class"] == "benefit", "pfs_ratio"] >= 1.3).all()
    assert (observed.loc[observed["designed_class"] == "no_benefit", "pfs_ratio"] < 1.3).all()
    ongoing = ratios[ratios["designed_class"].str.startswith("ongoing")]
    assert not ongoing["pfs2_event_x"].any()
    assert (ongoing.loc[ongoing["designed_class"] == "ongoing_benefit", "pfs_ratio"]
            >= 1.3).all()
    assert (ongoing.loc[ongoing["designed_class"] == "ongoing_early", "pfs_ratio"] < 1.3).all()
    # PFS1 is the previous systemic line's time to progression, which always progressed
    assert ratios["pfs1_event"].astype(bool).all()
    for row in guided.itertuples():
        p = truth.patient(row.patient)
        regimen = marked.set_index(["patient", "line"]).loc[(row.patient, row.line)]
        if p.kdr_activated:
            assert regimen["agents"] in ("pazopanib", "regorafenib")
            assert regimen["modality"] == "targeted_therapy"
        elif regimen["modality"] == "antibody_drug_conjugate":
            assert p.erbb2_expressed and "trastuzumab deruxtecan" in regimen["agents"]
        elif regimen["modality"] == "radionuclide_therapy":
            assert p.sstr2_high
        # the guided line starts after the tumour was profiled and the MTB programme opened
        assert regimen["start"] >= pd.Timestamp("2019-01-01")


def test_toxicity_zero_length_and_short_lines(cohort, tables) -> None:
    _, _, summary = cohort
    lines = _lines(tables).set_index(["patient", "line"])
    (tox,), (zero,), (short,) = (summary["toxicity"], summary["zero_length"],
                                 summary["short_before_death"])
    row = lines.loc[(tox["patient"], tox["line"])]
    assert row["stop_reason"] == "toxicity" and pd.isna(row["progression"])
    assert 21 <= (row["stop"] - row["start"]).days <= 42
    row = lines.loc[(zero["patient"], zero["line"])]
    assert row["stop"] == row["start"]
    row = lines.loc[(short["patient"], short["line"])]
    ev = tables["events"]
    death = ev.loc[(ev["patient"] == short["patient"]) & (ev["kind"] == "death"), "date"]
    assert row["stop_reason"] == "death" and row["stop"] == death.iloc[0]
    assert (row["stop"] - row["start"]).days <= 20


def test_recist_series_agree_with_each_lines_outcome(cohort, tables) -> None:
    _, _, summary = cohort
    lesions = tables["recist"]
    lines = _lines(tables).set_index(["patient", "line"])
    benefit = {(g["patient"], g["line"]) for g in summary["guided"]
               if g["designed_class"] in ("benefit", "ongoing_benefit")}
    checked = confirmed = 0
    for (patient, line), rows in lesions.groupby(["patient", "line"]):
        key = (patient, int(line))
        assert lines.loc[key, "modality"] not in ("cytoreductive_surgery_hipec",
                                                  "whole_abdominopelvic_radiotherapy")
        visits = recist.assess(rows.drop(columns=["source_line", "line"]))
        n_targets = (rows["kind"] == "target").sum() / rows["assessment_date"].nunique()
        assert 1 <= n_targets <= 3
        # restaging every 8-12 weeks (jittered by a few days); an early PD scan may be sooner
        dates = pd.Series(sorted(rows["assessment_date"].unique()))
        assert (dates.diff().dt.days.iloc[2:] <= 84 + 8).all()
        best = recist.best_overall_response(visits).iloc[0]
        progression = lines.loc[key, "progression"]
        pd_dates = visits.loc[visits["overall"] == "PD", "assessment_date"]
        if pd.notna(progression) and progression <= visits["assessment_date"].max():
            assert pd_dates.tolist() == [progression], key
            assert best["progression_date"] == progression
        else:
            assert pd_dates.empty, key
        if key in benefit and len(visits) >= 3:
            assert best["best_response"] == "PR" and best["confirmed"], key
            confirmed += 1
        checked += 1
    assert checked >= len(summary["guided"]) and confirmed >= 2


def test_plasma_tumour_fraction_falls_on_treatment_and_rises_before_progression(
        cohort, tables) -> None:
    _, _, summary = cohort
    plasma = tables["plasma"].drop(columns="source_line")
    n = plasma["patient"].nunique()
    assert 0.3 <= n / len(cohort[0].patients) <= 0.7
    per_sample = plasma.groupby("sample")
    assert (per_sample.size() == 16).all()
    assert plasma.groupby("patient")["sample"].nunique().between(2, 5).all()
    assert plasma["variant"].str.fullmatch(r"chr\d{1,2}:\d+:[ACGT]>[ACGT]").all()
    assert 19_000 <= plasma["depth"].mean() <= 21_000
    fractions = ctdna.tumour_fraction(plasma.drop(columns="background_error"))
    rises = 0
    for info in summary["plasma"]:
        f = fractions[fractions["patient"] == info["patient"]].sort_values("collected")
        tf = f["tumour_fraction"].to_numpy()
        assert tf[1] < tf[0] / 1.5, info
        if info["progression"] is None:
            continue
        prog = pd.Timestamp(info["progression"])
        rise_from = prog - pd.Timedelta(days=info["lead_time_days"])
        before = f[(f["collected"] < prog) & (f["collected"] > rise_from)]
        if len(before) and f["collected"].iloc[1] < rise_from:
            # molecular progression shows before the radiological one
            assert before["tumour_fraction"].iloc[0] > 1.3 * tf[1], info
            rises += 1
    assert rises >= 1


def test_outcomes_import_into_a_sqlite_workspace(cohort, tables, sqlite_workspace) -> None:
    """The demo's path: the simulated cases are imported, then the outcome files on top."""
    from tumorboard.intake import import_case

    truth, out, summary = cohort
    for case in sorted((out.parent / "cases").glob("*/case.yaml")):
        import_case(sqlite_workspace, case.parent)
    recs = read_template(sorted(out.glob("*.csv")))
    for _ in range(2):  # re-importing the same files changes nothing
        with transaction(sqlite_workspace.engine) as s:
            result = records.import_records(s, recs, source="simulated")
    assert result["rows"] == tables.counts()
    with sqlite_workspace.session() as s:
        lines = records.lines_table(s)
        follow = records.followup_table(s)
        plasma = records.plasma_table(s)
    assert len(lines) == len(tables["lines"]) and len(plasma) == len(tables["plasma"])
    assert set(follow["patient"]) == {p.patient_id for p in truth.patients}
    ratios = pfsr.pfs_ratio(lines, follow).merge(pd.DataFrame(summary["guided"]),
                                                 on=["patient", "line"])
    assert len(ratios) == len(summary["guided"])
    assert (ratios["verdict"] == ratios["expected_verdict"]).all()


def test_outcomes_refuse_a_truth_that_was_not_simulated(cohort, tmp_path: Path) -> None:
    truth, _, _ = cohort
    p = truth.patients[0]
    bad = CohortTruth(seed=truth.seed, size=truth.size,
                      patients=[type(p)(**{**p.__dict__, "age_at_diagnosis": 99})])
    with pytest.raises(InputError, match="not one simulate_cohort planned"):
        simulate_outcomes(tmp_path / "x", bad)
    with pytest.raises(InputError, match="seed is -1"):
        simulate_outcomes(tmp_path / "y", truth, seed=-1)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# ------------------------------------------------------------------------- LAT registry


@pytest.fixture(scope="module")
def lat_registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("lat")
    return out, simulate_lat_registry(out)


def test_lat_registry_is_deterministic_and_valid(lat_registry, tmp_path: Path) -> None:
    out, summary = lat_registry
    small = simulate_lat_registry(tmp_path / "a", n_patients=20)
    simulate_lat_registry(tmp_path / "b", n_patients=20)
    for name in ("patients", "local_therapies", "lines", "events"):
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == \
            (tmp_path / "b" / f"{name}.csv").read_bytes()
    assert small["patients"] == 20
    recs = read_template(sorted(out.glob("*.csv")))
    records.validate(recs)
    pts = recs["patients"]
    assert len(pts) == 246 and pts["patient"].iloc[0] == "SIM-LAT-001"
    for code in set(pts["oncotree_code"]):
        assert reference.tumour_type(code).code == code
    assert {"LMS", "MFH", "SYNS"} <= set(pts["oncotree_code"])
    lat = recs["local_therapies"]
    assert set(lat["modality"]) == {"surgery", "radiotherapy", "thermal_ablation"}
    assert lat["lesion_count"].between(1, 8).all()
    assert lat["date"].min() >= pd.Timestamp("2017-01-01")
    assert lat.groupby("patient")["date"].min().max() < pd.Timestamp("2022-01-01")
    assert recs["events"]["date"].max() <= pd.Timestamp("2024-06-30")
    rt = lat[lat["modality"] == "radiotherapy"]
    assert {(15.0, 3.0), (7.0, 5.0)} <= set(zip(rt["dose_per_fraction_gy"], rt["fractions"],
                                                strict=True))
    assert summary["coefficients"] == LAT_COEFFICIENTS


def test_lat_cohort_recovers_the_simulated_effects(lat_registry, sqlite_workspace) -> None:
    """Cox fit on the registry's LAT table recovers the signs of the true log HRs.

    The truth is the simulator's documented coefficients (LAT_COEFFICIENTS: treatment-free
    interval >= 12 months -0.6, extrapulmonary -0.5 on the PFS log hazard); with 246
    patients and ~200 PFS events the standard errors are ~0.15, so the signs are recovered.
    """
    from lifelines import CoxPHFitter, KaplanMeierFitter

    out, summary = lat_registry
    recs = read_template(sorted(out.glob("*.csv")))
    with transaction(sqlite_workspace.engine) as s:
        records.import_records(s, recs, source="simulated LAT registry")
    with sqlite_workspace.session() as s:
        lat = records.lat_cohort(s)
    assert len(lat) == 246
    assert lat["pfs_event"].sum() == summary["events"]["pfs"]
    assert lat["os_event"].sum() == summary["events"]["os"]
    design = pd.DataFrame({
        "pfs_days": lat["pfs_days"], "pfs_event": lat["pfs_event"],
        "tfi_ge_12": (lat["treatment_free_interval_months"] >= 12).astype(float),
        "extrapulmonary": (lat["site"] == "extrapulmonary").astype(float),
        "other_modality": (~lat["lat_modality"].isin(["surgery", "radiotherapy"])).astype(float),
        "lesion_count": lat["lesion_count"].astype(float)})
    fit = CoxPHFitter().fit(design, "pfs_days", "pfs_event")
    coef = fit.params_
    assert coef["tfi_ge_12"] < 0 and fit.summary.loc["tfi_ge_12", "p"] < 0.05
    assert coef["extrapulmonary"] < 0
    assert coef["other_modality"] > 0
    km = KaplanMeierFitter().fit(lat["os_days"], lat["os_event"])
    # median OS beyond five years: survival at 5 years still above one half
    assert float(km.predict(5 * 365.25)) > 0.5
    assert lat["systemic_with_lat"].mean() == pytest.approx(0.35, abs=0.08)


def test_lat_registry_refuses_bad_counts(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="n_patients is 0"):
        simulate_lat_registry(tmp_path / "z", n_patients=0)
    assert not (tmp_path / "z").exists()
    assert dt.date(2024, 6, 30).isoformat() == simulate_lat_registry(
        tmp_path / "one", n_patients=1)["data_cut"]
    assert re.fullmatch(r"SIM-LAT-001", pd.read_csv(tmp_path / "one" / "patients.csv")
                        ["patient"].iloc[0])

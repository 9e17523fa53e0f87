"""Drug-screen layer: plate normalisation and QC, fits, cohort scores, calls, findings.

The readings are constructed from known 4-parameter log-logistic curves, so the expected
calls follow by construction (one model far more sensitive than the other twelve, one
that does not respond where the others do, a plate with overlapping controls, a cohort too
small for a reference, a drug that no other model responds to). Fits and DSS come from
:mod:`tumorboard.layers.doseresponse` only; z-scores, percentiles, medians and the cohort
band are recomputed here independently with plain numpy on the layer's own DSS and curves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tumorboard.layers import doseresponse
from tumorboard.layers.drugscreen import (
    BAND_POINTS,
    DSS_ACTIVE,
    MIN_REFERENCE,
    SCREEN_CALLS,
    SENSITIVE_Z,
    drug_screen_findings,
    fit_screens,
    normalise_plates,
    score_screens,
)
from tumorboard.model import FINDING_KINDS

LOG10_CONC = np.linspace(-3.0, 1.0, 7)  # 1 nM .. 10 µM, as a 7-point screen
NEG, POS = 10_000.0, 500.0  # vehicle and kill luminescence


def ll4(x: np.ndarray, top: float, bottom: float, hill: float, log10_ec50: float) -> np.ndarray:
    return bottom + (top - bottom) / (1.0 + 10.0 ** (hill * (x - log10_ec50)))


def wells(sample: str, model: str, drug: str, curve: tuple[float, float, float, float] | None,
          *, rng: np.random.Generator, plate: str = "P1", noise: float = 2.0,
          log10_conc: np.ndarray = LOG10_CONC, reps: int = 3,
          as_signal: bool = False) -> list[dict]:
    """Treatment wells of one (model, drug); ``curve`` None = no response (flat at 100 %)."""
    rows = []
    for x in log10_conc:
        for r in range(reps):
            v = 100.0 if curve is None else float(ll4(np.array(x), *curve))
            v += rng.normal(0.0, noise)
            row = {"sample_id": sample, "model": model, "model_type": "organoid",
                   "plate": plate, "drug": drug, "drug_as_given": drug.title(),
                   "concentration_um": 10.0 ** x, "role": "treatment", "replicate": r + 1,
                   "signal": np.nan, "viability": v}
            if as_signal:
                row["signal"], row["viability"] = POS + (NEG - POS) * v / 100.0, np.nan
            rows.append(row)
    return rows


def controls(sample: str, model: str, plate: str, negative: list[float],
             positive: list[float]) -> list[dict]:
    base = {"sample_id": sample, "model": model, "model_type": "organoid", "plate": plate,
            "concentration_um": np.nan, "replicate": pd.NA, "viability": np.nan}
    return ([{**base, "drug": "vehicle", "drug_as_given": "DMSO", "role": "negative_control",
              "signal": s} for s in negative]
            + [{**base, "drug": "positive control", "drug_as_given": "BzCl",
                "role": "positive_control", "signal": s} for s in positive])


def frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for col in ("sample_id", "model", "model_type", "plate", "drug", "drug_as_given", "role"):
        out[col] = out[col].astype("string")
    out["replicate"] = out["replicate"].astype("Int64")
    return out


def cohort_readings() -> tuple[pd.DataFrame, pd.Series]:
    """13 valid models on three drugs, plus one model on a plate that fails QC.

    - pazopanib: twelve weak partial responders, S a complete potent response -> S sensitive;
    - doxorubicin: twelve strong responders, R does not respond (flat) -> R resistant;
    - compound x-17: nobody responds but S (the others' DSS are all 0: SD 0) -> S active;
    - Q: every drug on plate Q1, whose controls overlap (Z' < 0.5) -> qc_failed.
    """
    rng = np.random.default_rng(7)
    rows: list[dict] = []
    models = [f"M{i:02d}" for i in range(1, 12)] + ["S", "R"]
    for i, model in enumerate(models):
        sample = f"P{i:02d}-T1"
        weak = (100.0, 55.0 + 2.0 * (i % 6), 1.0, 0.2 + 0.08 * i)
        strong = (100.0, 5.0 + i % 4, 1.0 + 0.05 * i, -1.5 + 0.08 * i)
        rows += wells(sample, model, "pazopanib",
                      (100.0, 0.0, 1.5, -2.0) if model == "S" else weak, rng=rng)
        rows += wells(sample, model, "doxorubicin", None if model == "R" else strong,
                      rng=rng, plate="P2")
        rows += wells(sample, model, "compound x-17",
                      (100.0, 0.0, 1.5, -1.5) if model == "S" else None, rng=rng,
                      plate="P2")
    rows += controls("Q-T1", "Q", "Q1", [10_000, 4_000, 16_000, 7_000],
                     [500, 6_000, 300, 3_000])
    for drug in ("pazopanib", "doxorubicin", "compound x-17"):
        rows += wells("Q-T1", "Q", drug, (100.0, 0.0, 1.0, -1.0), rng=rng, plate="Q1",
                      as_signal=True)
    entities = pd.Series({f"P{i:02d}-T1": ("DSRCT" if i % 2 else "SYNS")
                          for i in range(len(models))} | {"Q-T1": "DSRCT"})
    return frame(rows), entities


@pytest.fixture(scope="module")
def cohort() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    readings, entities = cohort_readings()
    return readings, entities, score_screens(fit_screens(readings), entities=entities)


def row(scored: pd.DataFrame, model: str, drug: str) -> pd.Series:
    hit = scored[(scored["model"] == model) & (scored["drug"] == drug)]
    assert len(hit) == 1
    return hit.iloc[0]


# --- plates -------------------------------------------------------------------------------

def test_plate_normalisation_and_z_prime_closed_form() -> None:
    """Z' = 1 - 3 (sd_p + sd_n) / |mu_p - mu_n|; viability 100 (x - mu_p) / (mu_n - mu_p)."""
    neg, pos = [1000.0, 1010.0, 990.0, 1000.0], [100.0, 110.0, 90.0, 100.0]
    rows = controls("A-T1", "A", "P1", neg, pos)
    base = {"sample_id": "A-T1", "model": "A", "model_type": "organoid", "plate": "P1",
            "drug": "pazopanib", "drug_as_given": "pazopanib", "role": "treatment",
            "replicate": 1}
    rows += [{**base, "concentration_um": 1.0, "signal": 550.0, "viability": np.nan},
             {**base, "concentration_um": 2.0, "signal": 1000.0, "viability": np.nan},
             # the lab's own viability wins over the signal
             {**base, "concentration_um": 3.0, "signal": 550.0, "viability": 42.0}]
    # a plate without kill control: normalised to vehicle alone, QC not assessed
    rows += controls("A-T1", "A", "P2", [800.0, 800.0], [])
    rows += [{**base, "plate": "P2", "concentration_um": 1.0, "signal": 200.0,
              "viability": np.nan}]
    # overlapping controls fail
    rows += controls("A-T1", "A", "P3", [1000.0, 400.0, 1600.0], [100.0, 900.0, 50.0])
    normalised, qc = normalise_plates(frame(rows))
    qc = qc.set_index("plate")
    sd = float(np.sqrt(200.0 / 3.0))  # both control sets: deviations 0, 10, -10, 0
    assert qc.loc["P1", "negative_mean"] == 1000.0
    assert qc.loc["P1", "positive_mean"] == 100.0
    assert qc.loc["P1", "negative_sd"] == pytest.approx(sd, rel=1e-12)
    assert qc.loc["P1", "z_prime"] == pytest.approx(1.0 - 3.0 * 2.0 * sd / 900.0, rel=1e-12)
    assert qc.loc["P1", "qc"] == "pass"
    assert qc.loc["P2", "qc"] == "not_assessed" and np.isnan(qc.loc["P2", "z_prime"])
    assert qc.loc["P3", "qc"] == "fail" and qc.loc["P3", "z_prime"] < 0.5
    treated = normalised[normalised["role"] == "treatment"].set_index(
        ["plate", "concentration_um"])["viability"]
    assert treated[("P1", 1.0)] == pytest.approx(50.0, rel=1e-12)
    assert treated[("P1", 2.0)] == pytest.approx(100.0, rel=1e-12)
    assert treated[("P1", 3.0)] == 42.0
    assert treated[("P2", 1.0)] == pytest.approx(25.0, rel=1e-12)


def test_signal_and_viability_give_the_same_fit() -> None:
    """A plate read as raw signal and normalised here fits as the lab's viability does."""
    rng = np.random.default_rng(3)
    as_viability = frame(wells("A-T1", "A", "pazopanib", (100.0, 10.0, 1.0, -1.0), rng=rng))
    as_signal = as_viability.copy()
    as_signal["signal"] = POS + (NEG - POS) * as_signal["viability"] / 100.0
    as_signal["viability"] = np.nan
    as_signal = pd.concat([as_signal, frame(controls("A-T1", "A", "P1", [NEG - 50, NEG + 50],
                                                     [POS - 20, POS + 20]))])
    a, b = fit_screens(as_viability).iloc[0], fit_screens(as_signal).iloc[0]
    np.testing.assert_allclose(b["viability"], a["viability"], rtol=1e-12, atol=1e-9)
    assert a["status"] == b["status"] == "fitted"
    assert b["dss3"] == pytest.approx(a["dss3"], rel=1e-6)
    assert b["plate_qc"] == "pass" and a["plate_qc"] == "not_assessed"


# --- fits ---------------------------------------------------------------------------------

def test_fits_one_row_per_model_and_drug_with_doseresponse(cohort) -> None:
    readings, _, scored = cohort
    assert len(scored) == 14 * 3
    assert not scored.duplicated(["sample", "model", "drug"]).any()
    s = row(scored, "S", "pazopanib")
    # the same points through doseresponse directly give the same fit and DSS
    points = readings[(readings["model"] == "S") & (readings["drug"] == "pazopanib")]
    points = points.sort_values("concentration_um", kind="stable")
    direct = doseresponse.fit_dose_response(np.log10(points["concentration_um"]),
                                            points["viability"])
    assert s["fit"] == direct
    assert s["dss3"] == doseresponse.drug_sensitivity_score(direct, kind=3)
    assert s["dss1"] == doseresponse.drug_sensitivity_score(direct, kind=1)
    assert s["n_points"] == 21 and s["cmin_um"] == pytest.approx(1e-3)
    assert s["cmax_um"] == pytest.approx(10.0)
    assert row(scored, "R", "doxorubicin")["status"] == "flat"
    assert row(scored, "R", "doxorubicin")["dss3"] == 0.0


def test_too_few_concentrations_is_fit_failed() -> None:
    rng = np.random.default_rng(5)
    rows = wells("A-T1", "A", "pazopanib", (100.0, 0.0, 1.0, -1.0), rng=rng,
                 log10_conc=np.array([-2.0, -1.0, 0.0]))
    scored = score_screens(fit_screens(frame(rows)))
    assert scored.iloc[0]["status"] == "failed"
    assert scored.iloc[0]["call"] == "fit_failed"
    assert np.isnan(scored.iloc[0]["dss3"])


# --- scores and calls ----------------------------------------------------------------------

def test_calls_by_construction(cohort) -> None:
    _, _, scored = cohort
    assert row(scored, "S", "pazopanib")["call"] == "sensitive"
    assert row(scored, "R", "doxorubicin")["call"] == "resistant"
    sd0 = row(scored, "S", "compound x-17")
    # others all DSS 0: no z, the percentile alone decides (scoring.call_outliers)
    assert sd0["call"] == "sensitive" and np.isnan(sd0["z_score"])
    assert sd0["dss3"] >= DSS_ACTIVE
    flat_ones = scored[(scored["drug"] == "compound x-17") & (scored["model"] != "S")
                       & (scored["model"] != "Q")]
    assert (flat_ones["dss3"] == 0.0).all() and (flat_ones["call"] == "inactive").all()
    for drug in ("pazopanib", "doxorubicin", "compound x-17"):
        q = row(scored, "Q", drug)
        assert q["call"] == "qc_failed" and not q["valid"]
        assert np.isnan(q["z_score"]) and np.isnan(q["percentile_cohort"])
        assert q["reference_size"] == 13  # every valid model
    assert set(scored["call"]) <= set(SCREEN_CALLS)


def test_scores_against_independent_numpy(cohort) -> None:
    """z = (x - median of others) / SD of others (ddof 1); mid-rank percentiles; the rules."""
    _, entities, scored = cohort
    for drug, group in scored.groupby("drug"):
        valid = group[group["valid"]]
        dss = valid["dss3"].to_numpy()
        for k, (_, r) in enumerate(valid.iterrows()):
            others = np.delete(dss, k)
            assert r["reference_size"] == len(others) == 12
            assert r["dss_median_others"] == pytest.approx(np.median(others), abs=1e-12)
            sd = others.std(ddof=1)
            if sd == 0:
                assert np.isnan(r["z_score"])
            else:
                assert r["z_score"] == pytest.approx((r["dss3"] - np.median(others)) / sd,
                                                     rel=1e-9, abs=1e-12)
            x = r["dss3"]
            pct = 100.0 * ((dss < x).sum() + 0.5 * (dss == x).sum()) / len(dss)
            assert r["percentile_cohort"] == pytest.approx(pct, abs=1e-12)
            same = valid[entities.reindex(valid["sample"]).to_numpy()
                         == entities[r["sample"]]]["dss3"].to_numpy()
            pct_e = 100.0 * ((same < x).sum() + 0.5 * (same == x).sum()) / len(same)
            assert r["percentile_entity"] == pytest.approx(pct_e, abs=1e-12)
            assert r["reference_size_entity"] == len(same) - 1
            z, active = r["z_score"], x >= DSS_ACTIVE
            # scoring.call_outliers: z and percentile; without z (SD 0) the percentile alone
            high = (pct > 50 if np.isnan(z) else z >= SENSITIVE_Z) and pct >= 90
            low = (pct < 50 if np.isnan(z) else z <= -SENSITIVE_Z) and pct <= 10
            expected = ("sensitive" if active and high else
                        "resistant" if not active and low else
                        "active" if active else "inactive")
            assert r["call"] == expected, (drug, r["model"])


def test_five_models_are_insufficient_reference() -> None:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(5):
        rows += wells(f"P{i}-T1", f"M{i}", "pazopanib", (100.0, 10.0, 1.0, -2.5 + 0.5 * i),
                      rng=rng)
    scored = score_screens(fit_screens(frame(rows)))
    assert (scored["reference_size"] == 4).all()
    assert (scored["call"] == "insufficient_reference").all()
    assert MIN_REFERENCE == 10


# --- findings -----------------------------------------------------------------------------

SPEC_KEYS = {"method", "assay", "model", "model_type", "drug_as_given", "agents", "fit",
             "cmin_um", "cmax_um", "dss", "plates", "points", "cohort", "thresholds"}


def test_findings_contract_and_band(cohort) -> None:
    readings, entities, scored = cohort
    patients = pd.Series({s: s.split("-")[0] for s in entities.index})
    found = drug_screen_findings(readings, patients=patients, entities=entities,
                                 samples=["P11-T1", "Q-T1"])  # S and Q
    assert len(found) == 6
    assert set(found["layer"]) == {"drug_screen"}
    assert set(found["kind"]) <= set(FINDING_KINDS["drug_screen"])
    assert found["gene"].isna().all()
    s = found[(found["sample"] == "P11-T1") & (found["feature"] == "pazopanib")].iloc[0]
    expected = row(scored, "S", "pazopanib")
    assert s["patient"] == "P11" and s["call"] == "sensitive"
    assert s["value"] == expected["dss3"] and s["z_score"] == expected["z_score"]
    assert s["reference_size"] == 12
    for prov in found["provenance"]:
        assert set(prov) >= SPEC_KEYS
        assert set(prov["cohort"]) >= {"n", "dss_median_others", "log10_conc", "p10", "p50",
                                       "p90"}
        assert set(prov["dss"]) == {"dss1", "dss2", "dss3", "threshold_pct"}
        assert set(prov["thresholds"]) == {"dss_active", "sensitive_z", "z_prime_min",
                                           "min_reference", "sensitive_percentile"}
        assert set(prov["fit"]) >= {"status", "top", "bottom", "hill", "log10_ec50", "ic50_um",
                                    "emax", "auc"}
        assert len(prov["cohort"]["log10_conc"]) == BAND_POINTS
        assert len(prov["points"]["conc_um"]) == len(prov["points"]["viability"]) == 21
        assert prov["agents"] and prov["cohort"]["n"] == 13
    prov = s["provenance"]
    assert prov["model"] == "S" and prov["model_type"] == "organoid"
    assert prov["drug_as_given"] == "Pazopanib" and prov["agents"] == ["pazopanib"]
    assert prov["plates"] == [{"plate": "P1", "z_prime": None, "qc": "not_assessed"}]
    assert prov["dss"]["dss3"] == expected["dss3"]
    # The band: quantiles of the 12 other valid models' fitted curves on the 40-point grid.
    grid = np.linspace(-3.0, 1.0, BAND_POINTS)
    np.testing.assert_allclose(prov["cohort"]["log10_conc"], grid, rtol=0, atol=1e-12)
    others = scored[(scored["drug"] == "pazopanib") & scored["valid"]
                    & (scored["model"] != "S")]
    curves = np.vstack([f.viability(grid) for f in others["fit"]])
    for q in (10, 50, 90):
        np.testing.assert_allclose(prov["cohort"][f"p{q}"],
                                   np.percentile(curves, q, axis=0), rtol=1e-12, atol=1e-9)
    # Q is on a failed plate: its band is every valid model
    q = found[(found["sample"] == "Q-T1") & (found["feature"] == "pazopanib")].iloc[0]
    assert q["call"] == "qc_failed"
    assert q["provenance"]["plates"][0]["qc"] == "fail"
    every = scored[(scored["drug"] == "pazopanib") & scored["valid"]]
    curves = np.vstack([f.viability(grid) for f in every["fit"]])
    np.testing.assert_allclose(q["provenance"]["cohort"]["p50"],
                               np.percentile(curves, 50, axis=0), rtol=1e-12, atol=1e-9)


def test_no_readings_no_findings() -> None:
    empty = frame(wells("A-T1", "A", "pazopanib", None, rng=np.random.default_rng(0)))[:0]
    found = drug_screen_findings(empty, patients=pd.Series(dtype=object))
    assert found.empty and list(found.columns)[:3] == ["patient", "sample", "layer"]


def test_fits_in_parts_by_sample_give_the_same_findings(cohort) -> None:
    """What analysis does on several workers: fit parts of the cohort, score the whole."""
    readings, entities, _ = cohort
    patients = pd.Series({s: s.split("-")[0] for s in entities.index})
    samples = sorted(set(readings["sample_id"]))
    parts = [fit_screens(readings[readings["sample_id"].isin(samples[i::3])])
             for i in range(3)]
    whole = drug_screen_findings(readings, patients=patients, entities=entities)
    split = drug_screen_findings(fits=pd.concat(parts, ignore_index=True), patients=patients,
                                 entities=entities)
    key = ["sample", "feature"]
    whole = whole.sort_values(key).reset_index(drop=True)
    split = split.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(whole.drop(columns="provenance"),
                                  split.drop(columns="provenance"))
    assert whole["provenance"].tolist() == split["provenance"].tolist()
    with pytest.raises(TypeError, match="either readings or fits"):
        drug_screen_findings(readings, fits=parts[0], patients=patients)

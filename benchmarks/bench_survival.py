"""Benchmark survival analysis and the prognostic score on a synthetic 10,000-patient registry.

Target (issue 6): Kaplan-Meier + log-rank + Cox fit + bootstrap C-index (200 resamples) on
10,000 patients in under 60 s. Steps, each timed (wall and CPU seconds):

1. Kaplan-Meier of the whole registry and per grade (lifelines ``KaplanMeierFitter``);
2. log-rank test across grades (lifelines ``multivariate_logrank_test``);
3. Cox fit of all covariates (lifelines ``CoxPHFitter``, Efron ties);
4. ``PrognosticScore(n_bootstrap=200, n_bootstrap_extended=0)``: penalised Cox, points, risk
   groups, calibration table and 200 bootstrap resamples of Harrell's C (the target);
5. ``PrognosticScore()`` defaults: the same plus Uno's C, td-AUC at 2/3/5 years and the
   calibration slope in every one of the 200 resamples (not part of the target).

The registry is built in memory with a seeded numpy generator (not timed): Weibull times
from a known Cox model (Bender et al., Stat Med 2005;24:1713-1723, doi:10.1002/sim.2059)
with 8 covariates (age, tumour size, grade 1-3, histology of 4 levels, positive margin,
depth, and two without effect), uniform administrative censoring tuned to about 30 %.

Usage::

    python benchmarks/bench_survival.py            # print the table
    python benchmarks/bench_survival.py --append   # also write the section in docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _docs import replace_section

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Survival and prognostic score (issue 6)"
TARGET_S = 60.0
#: True per-unit log hazard ratios of the simulation (categorical terms against the
#: reference levels grade 1 and histology LPS).
TRUE_COEF = {"age": 0.02, "size_cm": 0.06, "grade=2": 0.5, "grade=3": 1.0,
             "histology=LMS": 0.3, "histology=UPS": 0.45, "histology=MPNST": 0.8,
             "margin_positive": 0.4, "deep": 0.3, "noise_1": 0.0, "noise_2": 0.0}
COVARIATES = ["age", "size_cm", "grade", "histology", "margin_positive", "deep", "noise_1",
              "noise_2"]


def build_registry(n: int, seed: int = 20261201) -> pd.DataFrame:
    """Synthetic registry: one row per patient, days and bool event, 8 covariates."""
    rng = np.random.default_rng(seed)
    age = rng.normal(55, 15, n)
    size = rng.gamma(4, 2.5, n)
    grade = rng.choice(["1", "2", "3"], n, p=[0.3, 0.4, 0.3])
    histology = rng.choice(["LPS", "LMS", "UPS", "MPNST"], n, p=[0.35, 0.3, 0.25, 0.1])
    margin = rng.random(n) < 0.3
    deep = rng.random(n) < 0.7
    noise = rng.normal(size=(n, 2))
    lp = (TRUE_COEF["age"] * (age - 55) + TRUE_COEF["size_cm"] * (size - 10)
          + np.select([grade == "2", grade == "3"], [0.5, 1.0], 0.0)
          + np.select([histology == "LMS", histology == "UPS", histology == "MPNST"],
                      [0.3, 0.45, 0.8], 0.0)
          + TRUE_COEF["margin_positive"] * margin + TRUE_COEF["deep"] * deep)
    scale, shape = 1 / 2500.0, 1.2
    t = (-np.log(rng.random(n)) / (scale**shape * np.exp(lp))) ** (1 / shape)
    c = rng.uniform(180, 2800, n)
    return pd.DataFrame({
        "patient": [f"SARC-{i:05d}" for i in range(n)],
        "age": age, "size_cm": size,
        "grade": pd.Categorical(grade, categories=["1", "2", "3"]),
        "histology": histology, "margin_positive": margin, "deep": deep,
        "noise_1": noise[:, 0], "noise_2": noise[:, 1],
        "days": np.ceil(np.minimum(t, c)), "event": t <= c,
    })


def _timed(label: str, func, results: list[dict]):
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    results.append({"step": label, "wall_s": time.perf_counter() - wall,
                    "cpu_s": time.process_time() - cpu})
    return out


def run(n: int) -> tuple[list[dict], dict[str, object]]:
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    from tumorboard.outcomes.prognostic import PrognosticScore

    table = build_registry(n)
    results: list[dict] = []
    facts: dict[str, object] = {"n": n, "censored": float(1 - table["event"].mean()),
                                "events": int(table["event"].sum())}

    def km():
        KaplanMeierFitter().fit(table["days"], table["event"])
        for _, sub in table.groupby("grade", observed=True):
            KaplanMeierFitter().fit(sub["days"], sub["event"])

    _timed("Kaplan-Meier (all + per grade)", km, results)
    _timed("log-rank across grades", lambda: multivariate_logrank_test(
        table["days"], table["grade"], table["event"]), results)
    design = pd.get_dummies(table[[*COVARIATES, "days", "event"]],
                            columns=["grade", "histology"], drop_first=True, dtype=float)
    _timed("Cox fit (lifelines, 11 terms)", lambda: CoxPHFitter().fit(
        design, "days", "event"), results)
    fast = _timed("PrognosticScore, 200 bootstrap resamples of Harrell's C", lambda:
                  PrognosticScore(n_bootstrap=200, n_bootstrap_extended=0).fit(
                      table, duration="days", event="event", covariates=COVARIATES), results)
    target = sum(r["wall_s"] for r in results)
    results.append({"step": "**total of the target (steps above)**", "wall_s": target,
                    "cpu_s": sum(r["cpu_s"] for r in results)})
    full = _timed("PrognosticScore defaults: Uno's C, td-AUC, slope in all 200 too", lambda:
                  PrognosticScore().fit(table, duration="days", event="event",
                                        covariates=COVARIATES), results)
    facts["target_s"] = target
    facts["validation"] = full.validation_
    coef = fast.coefficients().set_index("term")["hr"]
    facts["hr"] = {k: (float(np.exp(v)), float(coef[k])) for k, v in TRUE_COEF.items()}
    return results, facts


def render(results: list[dict], facts: dict[str, object]) -> str:
    lines = [f"{facts['n']:,} patients, {facts['censored']:.1%} censored.", "",
             "| step | wall s | CPU s |", "|---|---:|---:|"]
    lines += [f"| {r['step']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} |" for r in results]
    met = "met" if facts["target_s"] < TARGET_S else "NOT met"
    lines += ["", f"Target {TARGET_S:.0f} s for KM + log-rank + Cox + 200-resample bootstrap "
                  f"C-index: {facts['target_s']:.1f} s, {met}.", ""]
    val = facts["validation"]
    lines += [f"Validation of the default fit ({facts['n']:,} patients, {facts['events']:,} "
              "events, 11 terms: the optimism is small, as it should be):", "",
              "| metric | horizon (days) | apparent | optimism | corrected | resamples |",
              "|---|---:|---:|---:|---:|---:|"]
    for row in val.itertuples():
        horizon = "" if np.isnan(row.horizon) else f"{row.horizon:g}"
        lines.append(f"| {row.metric} | {horizon} | {row.apparent:.4f} | {row.optimism:.4f} "
                     f"| {row.corrected:.4f} | {row.n_resamples} |")
    lines += ["", "Hazard ratios, true vs fitted (penalizer 0.01):", "",
              "| term | true HR | fitted HR |", "|---|---:|---:|"]
    lines += [f"| {k} | {t:.3f} | {f:.3f} |" for k, (t, f) in facts["hr"].items()]
    return "\n".join(lines)


def _machine() -> str:
    cpus = os.cpu_count()
    return (f"{cpus} vCPU, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}")


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, 96))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--append", action="store_true", help="write the section to the docs")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    results, facts = run(args.patients)
    table = render(results, facts)
    print(table)
    if args.append:
        import lifelines
        import sksurv

        synthetic = (
            f"Synthetic registry built in memory by `benchmarks/bench_survival.py` (seeded "
            f"numpy, not timed): {args.patients:,} patients, Weibull (shape 1.2) times from a "
            f"known Cox model with 8 covariates (age, size, grade 1-3, 4 histologies, margin, "
            f"depth, two noise covariates), {facts['censored']:.0%} censored. One process, "
            f"steps in order; CPU s is the process's CPU time over its threads. 1-minute load "
            f"average when the run started: {load:.1f} (other work on the same cores lengthens "
            f"wall times). lifelines {lifelines.__version__}, scikit-survival "
            f"{sksurv.__version__}.")
        how = ("How the target is reached: each resample refits only the Cox model, by a "
               "vectorised Efron Newton-Raphson warm-started from the full-data coefficients "
               "(`_EfronCox`, tested equal to lifelines to 1e-8); Harrell's C by a numpy merge "
               "count (`_concordance_terms`, tested equal to sksurv). sksurv's "
               "`concordance_index_censored` loops over events in Python (0.3 s per call on "
               "10,000 patients) and a lifelines fit costs about 0.4 s even warm-started: with "
               "those, 200 resamples would take about 200 s.")
        header = (f"Measured {dt.date.today().isoformat()} on {_machine()}, "
                  f"`python benchmarks/bench_survival.py --append`.")
        replace_section(DOC, SECTION, "\n\n".join([_wrap(synthetic), _wrap(how), _wrap(header),
                                                   table]))


if __name__ == "__main__":
    main()

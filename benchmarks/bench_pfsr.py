"""Benchmark PFS per line, the PFS ratio and its summary on 10,000 synthetic patients (issue 6).

Target: :func:`tumorboard.outcomes.pfsr.pfs_ratio` over 10,000 patients (about 3 lines each)
in under 1 s. The lines and follow-up tables are built in memory with a seeded numpy
generator (not timed): 1 to 5 lines per patient (mean about 3), 15 % of them local therapy,
60 % of lines with a recorded progression, about 40 % of later lines MTB-guided, 30 % of
patients dead. Each step is timed best of 3 (wall clock, ``time.perf_counter``).

Usage::

    python benchmarks/bench_pfsr.py [--patients N] [--append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from _docs import replace_section

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## PFS ratio (issue 6)"
TARGET_S = 1.0
REPEATS = 3


def build_tables(n_patients: int, seed: int = 20261201) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic ``lines`` and ``followup`` tables with consistent dates (vectorised)."""
    rng = np.random.default_rng(seed)
    n_lines = rng.integers(1, 6, n_patients)
    total = int(n_lines.sum())
    patient_idx = np.repeat(np.arange(n_patients), n_lines)
    first = np.r_[0, np.cumsum(n_lines)[:-1]]
    line = np.arange(total) - np.repeat(first, n_lines) + 1

    # each line lasts a while, progresses (60 %) some days after its start; the next line
    # starts after the previous one's progression or at a switch
    duration = rng.gamma(2.0, 60.0, total).round()
    progresses = rng.random(total) < 0.6
    gap = rng.integers(0, 30, total)
    step = duration + gap
    offset = np.cumsum(step) - step
    start_day = offset - np.repeat(offset[first], n_lines)
    diagnosis = np.datetime64("2015-01-01") + rng.integers(0, 3000, n_patients).astype(
        "timedelta64[D]")
    start = np.repeat(diagnosis, n_lines) + start_day.astype("timedelta64[D]")
    progression = np.where(progresses, start + duration.astype("timedelta64[D]"),
                           np.datetime64("NaT"))
    stop = start + (duration * rng.uniform(0.3, 1.0, total)).round().astype("timedelta64[D]")
    local = rng.random(total) < 0.15
    guided = (line > 1) & (rng.random(total) < 0.4)

    last_line = first + n_lines - 1
    end_of_record = np.maximum(start[last_line] + duration[last_line].astype("timedelta64[D]"),
                               stop[last_line])
    last_followup = end_of_record + rng.integers(0, 200, n_patients).astype("timedelta64[D]")
    dead = rng.random(n_patients) < 0.3
    death = np.where(dead, last_followup, np.datetime64("NaT"))

    patients = np.array([f"SYN-{i:05d}" for i in range(n_patients)], dtype=object)
    lines = pd.DataFrame({
        "patient": patients[patient_idx],
        "line": line,
        "regimen": np.where(local, "surgery", "chemotherapy"),
        "agents": "",
        "modality": np.where(local, "surgery", "chemotherapy"),
        "intent": "palliative",
        "start": start.astype("datetime64[ns]"),
        "stop": stop.astype("datetime64[ns]"),
        "stop_reason": np.where(progresses, "progression", "toxicity"),
        "progression": progression.astype("datetime64[ns]"),
        "recommendation_id": pd.array([pd.NA] * total, dtype="Int64"),
        "mtb_guided": guided,
    })
    followup = pd.DataFrame({"patient": patients,
                             "last_followup": last_followup.astype("datetime64[ns]"),
                             "death": death.astype("datetime64[ns]")})
    return lines, followup


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--append", action="store_true", help="write the section to the docs")
    args = ap.parse_args()

    from tumorboard.outcomes.pfsr import line_pfs, pfs_ratio, pfsr_summary

    lines, followup = build_tables(args.patients)
    t_pfs, per_line = best_of(lambda: line_pfs(lines, followup))
    t_ratio, ratios = best_of(lambda: pfs_ratio(lines, followup))
    t_sum, summary = best_of(lambda: pfsr_summary(ratios))
    t_all, _ = best_of(lambda: pfsr_summary(pfs_ratio(lines, followup)))
    verdicts = ratios["verdict"].value_counts().to_dict()

    rows = [
        "| step | rows in | rows out | best of 3, s |",
        "|---|---:|---:|---:|",
        f"| `line_pfs` | {len(lines):,} lines | {len(per_line):,} | {t_pfs:.3f} |",
        f"| `pfs_ratio` (includes `line_pfs`) | {len(lines):,} lines | {len(ratios):,} "
        f"guided | {t_ratio:.3f} |",
        f"| `pfsr_summary` | {len(ratios):,} | 1 | {t_sum:.3f} |",
        f"| `pfs_ratio` + `pfsr_summary` | {len(lines):,} lines | 1 | {t_all:.3f} |",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| `pfs_ratio` over {args.patients:,} patients under {TARGET_S:g} s | "
        f"{t_ratio:.3f} s | {'met' if t_ratio < TARGET_S else 'NOT met'} |",
    ]
    notes = (
        f"Verdicts: {', '.join(f'{k} {v:,}' for k, v in sorted(verdicts.items()))}; share with "
        f"benefit among evaluable {summary['share_benefit_evaluable']:.3f}, Texier midrank "
        f"estimate {summary['texier_estimate']:.3f} (n = {summary['texier_n']:,}). "
        f"1-minute load average at the start: {os.getloadavg()[0]:.1f}."
    )
    table = "\n".join(rows)
    print(table)
    print()
    print(notes)
    if args.append:
        header = (
            f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores with "
            f"`python benchmarks/bench_pfsr.py --append`: synthetic tables built in memory "
            f"with a seeded numpy generator (not timed), {args.patients:,} patients, "
            f"{len(lines):,} lines (1-5 per patient, 15 % local therapy, 60 % with a recorded "
            f"progression, about 40 % of later lines MTB-guided, 30 % of patients dead).")
        replace_section(DOC, SECTION, "\n\n".join([header, table, notes]))


if __name__ == "__main__":
    main()

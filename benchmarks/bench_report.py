"""Benchmark the MTB report (issue 4): HTML + PDF per patient, and the whole demo cohort.

Target: one patient's report (HTML and PDF) under 5 s. Uses an existing analysed workspace
(default: the one ``make demo`` writes, ``demo-workspace``); run ``make demo`` first.

Each patient's report is timed separately (wall time of :func:`write_report` with
``formats=html,pdf``, which builds the report document from the registry, draws the figures,
renders HTML and lays out the PDF); Peak memory is the
process's ``VmHWM``.

Usage::

    python benchmarks/bench_report.py [--workspace DIR] [--append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from _docs import replace_section

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## MTB report per patient (issue 4)"
TARGET_S = 5.0


def _vmhwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default=str(ROOT / "demo-workspace"))
    ap.add_argument("--append", action="store_true")
    args = ap.parse_args()

    from tumorboard.config import Settings
    from tumorboard.registry.queries import list_patients
    from tumorboard.report import mtb
    from tumorboard.workspace import Workspace

    ws = Workspace.open(Settings.resolve(args.workspace, None))
    with ws.session() as s:
        patients = [p["patient"] for p in list_patients(s)]
    out = Path(tempfile.mkdtemp(prefix="bench-report-"))
    times, sizes = [], []
    t_all = time.perf_counter()
    for p in patients:
        t0 = time.perf_counter()
        paths = mtb.write_report(ws, p, formats=["html", "pdf"], out_dir=out)
        times.append(time.perf_counter() - t0)
        sizes.append((paths["html"].stat().st_size, paths["pdf"].stat().st_size))
    total = time.perf_counter() - t_all
    worst = max(times)
    lines = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores, workspace "
        f"`{args.workspace}` ({len(patients)} analysed demo patients), "
        "`python benchmarks/bench_report.py --append`.",
        "",
        "| step | median s | max s | notes |",
        "|---|---:|---:|---|",
        f"| one patient: HTML + PDF (`write_report`) | {statistics.median(times):.2f} | "
        f"{worst:.2f} | document from the registry, 3 figures drawn once (SVG in the HTML, "
        "PNG in the PDF), WeasyPrint PDF |",
        f"| whole demo cohort, HTML + PDF | {total:.1f} (total) | | {len(patients)} patients, "
        f"sequential, one process |",
        "",
        f"Median sizes: HTML {statistics.median(s[0] for s in sizes) / 1024:.0f} KiB, PDF "
        f"{statistics.median(s[1] for s in sizes) / 1024:.0f} KiB. Peak RSS "
        f"{_vmhwm_mib():.0f} MiB.",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| report (HTML + PDF) per patient under {TARGET_S:.0f} s | worst {worst:.2f} s | "
        f"{'met' if worst < TARGET_S else 'NOT met'} |",
    ]
    body = "\n".join(lines)
    print(body)
    if args.append:
        replace_section(DOC, SECTION, body)


if __name__ == "__main__":
    main()

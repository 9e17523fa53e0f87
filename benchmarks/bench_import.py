"""Benchmark: import of a whole-genome-scale case, and VCF ingest against a bare cyvcf2 loop.

Targets (issue "Foundation"): the whole case — 1,000,000-record somatic VCF, 60,000-gene
expression, 850,000-CpG EPIC betas, 10,000 proteins, 40,000 phosphosites — imports in under
60 s and under 4 GB peak memory on 2 cores; reading the VCF takes no more than 2x a bare cyvcf2
loop over the same file that touches the same fields, measured in the same run.

Each measurement runs in its own Python process so that its peak resident memory (``VmHWM``)
is its own. Usage::

    python benchmarks/bench_import.py [--out benchmarks/out] [--repeats 3]

Writes ``<out>/bench_import.json`` and prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path


def _bare_cyvcf2_loop(path: str, sample: str) -> int:
    """The baseline: iterate the VCF, touching the fields our reader extracts, nothing more."""
    from cyvcf2 import VCF

    vcf = VCF(path)
    index = vcf.samples.index(sample)
    n = 0
    for v in vcf:
        _ = (v.CHROM, v.POS, v.REF, v.ALT, v.FILTER, v.INFO.get("CSQ"))
        ad = v.format("AD")
        dp = v.format("DP")
        if ad is not None:
            _ = ad[index]
        if dp is not None:
            _ = dp[index]
        n += 1
    return n


def _step(name: str, case_dir: str, workdir: str) -> dict[str, object]:
    from tumorboard.io.case import read_case

    case = read_case(case_dir)
    tumour = next(s for s in case.samples if s.type == "tumour")
    entries = {f.layer: f for f in tumour.files}
    start = time.perf_counter()
    detail: dict[str, object] = {}
    if name == "cyvcf2_bare_loop":
        f = entries["variants"]
        detail["records"] = _bare_cyvcf2_loop(str(Path(case_dir) / f.path), f.column or tumour.id)
    elif name.startswith("read_"):
        layer = name.removeprefix("read_")
        f = entries[layer]
        from tumorboard.io.formats import FORMATS

        reader = FORMATS[f.format].load_reader()
        fmt = FORMATS[f.format]
        sample = f.column or (tumour.id if fmt.multi_sample else None)
        data = reader(Path(case_dir) / f.path, sample=sample, **f.options)
        detail["rows"] = {t: len(df) for t, df in data.tables.items()}
    elif name == "import_case":
        from tumorboard.config import Settings
        from tumorboard.intake import import_case
        from tumorboard.workspace import Workspace

        ws = Workspace.init(Settings.resolve(Path(workdir) / f"ws-{os.getpid()}", None))
        result = import_case(ws, case_dir)
        detail["rows"] = {
            f["layer"]: f.get("rows") for f in result.summary()["files"]
        }
    else:
        raise SystemExit(f"unknown step {name}")
    wall = time.perf_counter() - start
    return {"step": name, "wall_s": round(wall, 2), "peak_rss_mib": round(_peak_rss_mib(), 1),
            **detail}


def _peak_rss_mib() -> float:
    """Peak resident memory of this process image.

    ``VmHWM`` from /proc is per address space, so unlike ``ru_maxrss`` it does not inherit the
    parent's peak across fork + exec (Linux keeps ``ru_maxrss`` over exec).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


STEPS = [
    "cyvcf2_bare_loop",
    "read_variants",
    "read_expression",
    "read_methylation",
    "read_proteome",
    "read_phosphoproteome",
    "import_case",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/out")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--step", nargs=3, metavar=("NAME", "CASE", "WORKDIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(_step(*args.step)))
        return

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    case_dir = out / "large-case"
    start = time.perf_counter()
    if not (case_dir / "case.yaml").exists():
        from tumorboard.simulate import write_large_case

        case_dir = write_large_case(case_dir)
    generate_s = time.perf_counter() - start
    sizes = {p.name: p.stat().st_size for p in Path(case_dir).iterdir() if p.is_file()}

    results: list[dict[str, object]] = []
    for repeat in range(args.repeats):
        for name in STEPS:
            proc = subprocess.run(
                [sys.executable, __file__, "--step", name, str(case_dir), str(out)],
                capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"step {name} failed:\n{proc.stderr}")
            record = json.loads(proc.stdout.strip().splitlines()[-1])
            record["repeat"] = repeat
            results.append(record)
            print(json.dumps(record), file=sys.stderr)
        for ws in out.glob("ws-*"):
            subprocess.run(["rm", "-rf", str(ws)], check=True)

    def best(step: str, key: str) -> float:
        return min(float(r[key]) for r in results if r["step"] == step)

    summary = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "processor": platform.processor()},
        "case_files_bytes": sizes,
        "generate_s": round(generate_s, 1),
        "results": results,
        "vcf_ratio_reader_over_bare": round(best("read_variants", "wall_s")
                                            / best("cyvcf2_bare_loop", "wall_s"), 2),
    }
    (out / "bench_import.json").write_text(json.dumps(summary, indent=2))
    print("| step | best wall time (s) | median wall time (s) | peak RSS (MiB) |")
    print("|---|---:|---:|---:|")
    for name in STEPS:
        walls = sorted(float(r["wall_s"]) for r in results if r["step"] == name)
        rss = max(float(r["peak_rss_mib"]) for r in results if r["step"] == name)
        print(f"| {name} | {walls[0]:.2f} | {walls[len(walls) // 2]:.2f} | {rss:.0f} |")
    print(f"\nVCF reader / bare cyvcf2 loop: {summary['vcf_ratio_reader_over_bare']}x")


if __name__ == "__main__":
    main()

"""Per-patient intake summary: what was loaded for each layer, with QC counts, as HTML.

Computing (:func:`layer_qc`, :func:`patient_summary`) is separate from rendering
(:func:`render_patient_page`, :func:`render_index`), as DESIGN.md asks.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from tumorboard import __version__
from tumorboard.errors import NotFoundError
from tumorboard.model import FINDING_KINDS
from tumorboard.registry.queries import list_patients, patient_detail, patient_targets
from tumorboard.report import plots
from tumorboard.workspace import Workspace


def _median(series: pd.Series) -> float | None:
    values = pd.to_numeric(series, errors="coerce").dropna()
    return round(float(values.median()), 3) if len(values) else None


def layer_qc(table: str, frame: pd.DataFrame) -> dict[str, Any]:
    """Counts and simple quality figures of one sample's store table."""
    n = len(frame)
    if table == "variants":
        return {
            "records": n,
            "PASS": int((frame["filter"] == "PASS").sum()),
            "genes": int(frame["gene"].nunique()),
            "HIGH impact": int((frame["impact"] == "HIGH").sum()),
            "MODERATE impact": int((frame["impact"] == "MODERATE").sum()),
            "median depth": _median(frame["depth"]),
            "median VAF": _median(frame["vaf"]),
        }
    if table == "segments":
        length = (frame["end"] - frame["start"] + 1).astype("float64")
        altered = length[(frame["log2_ratio"].abs() > 0.2).fillna(False)].sum()
        return {
            "segments": n,
            "fraction of genome |log2| > 0.2": round(float(altered / length.sum()), 3)
            if n else None,
        }
    if table == "gene_copy_number":
        log2 = frame["log2_ratio"]
        return {"genes": n, "genes log2 > 1": int((log2 > 1).sum()),
                "genes log2 < -1": int((log2 < -1).sum())}
    if table == "fusions":
        top = frame.sort_values("split_reads", ascending=False, na_position="last").head(5)
        return {
            "fusions": n,
            "top": [f"{r.fusion} ({r.split_reads} split reads, {r.reading_frame}, "
                    f"{r.confidence})" for r in top.itertuples()],
        }
    if table == "expression":
        tpm = frame["tpm"]
        return {"genes": n, "genes TPM >= 1": int((tpm >= 1).sum()),
                "sum of TPM": round(float(np.nansum(tpm)), 1)}
    if table == "methylation":
        return {"probes": n, "missing": int(frame["beta"].isna().sum()),
                "median beta": _median(frame["beta"])}
    if table in ("proteome", "phosphoproteome"):
        quantified = int(frame["log2_abundance"].notna().sum())
        return {"features": n, "quantified": quantified,
                "missing fraction": round(1 - quantified / n, 3) if n else None}
    if table == "hla":
        return {"alleles": ", ".join(frame["allele"].astype(str))}
    return {"rows": n}


def patient_summary(workspace: Workspace, pseudonym: str) -> dict[str, Any]:
    """The registry record of a patient plus QC of every current assay's store tables."""
    with workspace.session() as session:
        record = patient_detail(session, pseudonym)
        try:
            record["targets"] = patient_targets(session, pseudonym)
        except NotFoundError:  # not analysed yet
            record["targets"] = None
    if record["targets"] is not None:
        from tumorboard.report.document import report_targets

        record["targets"]["shown"] = report_targets(record["targets"]["targets"], {})
    for sample in record["samples"]:
        for assay in sample["assays"]:
            assay["qc"] = {
                table: layer_qc(table, workspace.store.read(table, [assay["uid"]]))
                for table in assay["rows"]
            }
    return record


def plot_data(workspace: Workspace, pseudonym: str, targets: list[dict[str, Any]], *,
              segment_samples: list[str]) -> dict[str, Any]:
    """What a patient's plots show: target genes, the cohort's same genes, the segments of
    ``segment_samples``."""
    targets = plots.plot_targets(targets)
    genes = sorted({t["gene"] for t in targets})
    with workspace.session() as session:
        cohort = plots.cohort_target_points(session, pseudonym, genes)
    segments = workspace.table("segments", samples=segment_samples) if segment_samples else None
    cn_kinds = FINDING_KINDS["copy_number"]
    cn_genes = sorted({t["gene"] for t in targets
                       if any(d.get("kind") in cn_kinds for d in t.get("dna") or [])})
    return {"targets": targets, "cohort": cohort, "segments": segments, "cn_genes": cn_genes}


def render_plots(data: dict[str, Any], *, image: str = "svg") -> dict[str, Any]:
    """The three plots of a patient page by title: inline SVG text, PNG ``<img>`` or Figure
    (``image``, see :func:`tumorboard.report.plots.markup`)."""
    return {
        "Target genes: RNA percentile in the cohort":
            plots.percentile_plot(data["targets"], image=image),
        "Expression versus activation":
            plots.activation_plot(data["targets"], data["cohort"], image=image),
        "Copy number (segments)":
            plots.copy_number_plot(data["segments"], genes=data["cn_genes"], image=image),
    }


def template_environment() -> Environment:
    return Environment(
        loader=PackageLoader("tumorboard.report", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_patient_page(summary: dict[str, Any],
                        plot_svgs: dict[str, str] | None = None) -> str:
    return template_environment().get_template("patient_summary.html").render(
        p=summary, plots=plot_svgs or {}, version=__version__,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))


def render_index(patients: list[dict[str, Any]], pages: dict[str, str]) -> str:
    return template_environment().get_template("index.html").render(
        patients=patients, pages=pages, version=__version__, escape=html.escape)


def write_summary_pages(workspace: Workspace) -> tuple[list[Path], Path]:
    """Write one summary page per patient with molecular data and an index under
    ``reports/summary`` (registry-only patients, e.g. of a LAT registry, have no intake)."""
    out = workspace.reports_dir / "summary"
    out.mkdir(parents=True, exist_ok=True)
    with workspace.session() as session:
        patients = [p for p in list_patients(session) if p["layers"]]
    pages: dict[str, str] = {}
    paths = []
    for p in patients:
        name = f"{p['patient']}.html"
        path = out / name
        tmp = path.with_suffix(".html.tmp")
        summary = patient_summary(workspace, p["patient"])
        segment_samples = [s["id"] for s in summary["samples"]
                           if any("segments" in a["rows"] for a in s["assays"])]
        svgs = render_plots(plot_data(workspace, p["patient"],
                                      (summary["targets"] or {}).get("targets") or [],
                                      segment_samples=segment_samples))
        tmp.write_text(render_patient_page(summary, svgs), encoding="utf-8")
        tmp.replace(path)
        pages[p["patient"]] = name
        paths.append(path)
    index = out / "index.html"
    index.write_text(render_index(patients, pages), encoding="utf-8")
    return paths, index

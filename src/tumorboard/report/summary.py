"""Per-patient intake summary: what was loaded for each layer, with QC counts, as HTML.

Computing (:func:`layer_qc`, :func:`patient_summary`) is separate from rendering
(:func:`render_patient_page`, :func:`render_index`), as DESIGN.md asks.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from tumorboard import __version__
from tumorboard.errors import NotFoundError
from tumorboard.io.tables import layer_qc
from tumorboard.model import FINDING_KINDS
from tumorboard.registry.queries import list_patients, patient_detail, patient_targets
from tumorboard.report import plots
from tumorboard.workspace import Workspace


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
            assay["qc"] = assay.get("qc") or {  # computed at import; older assays: now
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

"""Per-patient plots for the summary page, as inline SVG text.

Plotting never recomputes (DESIGN.md): every plot function takes records or frames that the
analysis already produced and returns SVG markup. :func:`cohort_target_points` is the one
registry read, kept separate from the drawing.

Each plot function takes ``image`` (see :func:`markup`): inline SVG for pages read on screen,
PNG for the PDF. Drawn with matplotlib (https://matplotlib.org, >= 3.8) through the object-oriented
:class:`matplotlib.figure.Figure` API, which renders without pyplot's global state or an
interactive backend. Text stays text in the SVG (``svg.fonttype = "none"``) so gene names can
be searched and read by screen readers; ``svg.hashsalt`` makes element ids stable and distinct
per plot, so several SVGs can share one HTML page.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tumorboard.diagnosis.reference import family_of
from tumorboard.reference import CHROM_LENGTHS

STATE_COLOURS: dict[str, str] = {
    "activated": "#cf222e",
    "expressed_not_activated": "#bf8700",
    "expressed_activation_unknown": "#0969da",
    "not_expressed": "#8c959f",
    "unknown": "#d0d7de",
}
PERCENTILE_LINE = 90.0
Z_LINE = 2.0
ACTIVATION_LINE = 0.0
CN_CLIP = 2.0  # log2 ratios beyond +-2 are drawn at the edge with a marker
CN_CALL = 0.2  # |log2| above this is coloured as gain/loss, as in layer_qc
CHROMOSOMES = [f"chr{i}" for i in range(1, 23)] + ["chrX"]


# --- data -------------------------------------------------------------------------------


def plot_targets(targets: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The target genes worth plotting: antigens, kinases and genes with DNA evidence."""
    return [t for t in targets if t.get("antigen") or t.get("kinase") or t.get("dna")]


def cohort_target_points(session: Session, pseudonym: str, genes: Sequence[str]) -> pd.DataFrame:
    """RNA z, protein z and activation score of ``genes`` in every other patient.

    Uses each patient's latest analysis, as :func:`registry.queries.patient_targets` does.
    Returns columns patient_id, gene, rna_z, protein_z, activation_score (may be empty).
    """
    from tumorboard.registry.models import Analysis, Patient, TargetEvidence

    columns = ["patient_id", "gene", "rna_z", "protein_z", "activation_score"]
    if not genes:
        return pd.DataFrame(columns=columns)
    latest = (
        select(func.max(Analysis.id).label("id")).group_by(Analysis.patient_id).subquery()
    )
    own = select(Patient.id).where(Patient.pseudonym == pseudonym).scalar_subquery()
    rows = session.execute(
        select(TargetEvidence.patient_id, TargetEvidence.gene, TargetEvidence.rna_z,
               TargetEvidence.protein_z, TargetEvidence.activation_score)
        .where(TargetEvidence.analysis_id.in_(select(latest.c.id)))
        .where(TargetEvidence.patient_id != own)
        .where(TargetEvidence.gene.in_(list(genes)))
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


# --- rendering helpers ------------------------------------------------------------------


def no_data_svg(message: str, *, width: int = 420, height: int = 48) -> str:
    """A small SVG that says why there is no plot."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><rect width="{width}" height="{height}" '
        f'fill="#f6f8fa" stroke="#d0d7de"/><text x="12" y="{height // 2 + 5}" '
        f'font-family="sans-serif" font-size="14" fill="#57606a">'
        f"{html.escape(message)}</text></svg>"
    )


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def markup(fig: Figure | str, salt: str, image: str = "svg") -> Any:
    """A drawn figure as inline SVG (``image='svg'``), as an ``<img>`` with an embedded PNG
    (``'png'``: WeasyPrint lays PNG out several times faster than large inline SVG), or the
    :class:`Figure` itself (``'figure'``, to serialise it twice without drawing twice). A
    string (the no-data message) passes through."""
    if isinstance(fig, str) or image == "figure":
        return fig
    if image == "png":
        import base64

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, metadata={"Software": None})
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        return f'<img style="max-width:100%" alt="{salt}" src="data:image/png;base64,{data}">'
    return _to_svg(fig, salt)


def _to_svg(fig: Figure, salt: str) -> str:
    buf = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    # Inline SVG in HTML takes no XML declaration or DOCTYPE; scale down on narrow pages.
    text = text[text.index("<svg"):]
    return text.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _tags(t: dict[str, Any]) -> str:
    tags = [name for name in ("antigen", "kinase") if t.get(name)]
    if t.get("dna"):
        tags.append("DNA")
    return ", ".join(tags)


def _state_legend(ax: Any, states: Iterable[str], *, cohort: bool = False,
                  **kwargs: Any) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color="#afb8c1", markersize=4,
                      label="other patients, same genes")] if cohort else []
    handles += [Line2D([], [], ls="", marker="o", color=STATE_COLOURS.get(s, "#57606a"),
                      label=s.replace("_", " ")) for s in STATE_COLOURS if s in set(states)]
    if handles:
        ax.legend(handles=handles, fontsize=8, frameon=False, **kwargs)


# --- plots ------------------------------------------------------------------------------


def percentile_plot(targets: Sequence[dict[str, Any]], *, image: str = "svg") -> Any:
    """RNA percentile against the cohort of each target gene, 0-100 with a 90th line.

    A filled dot is the percentile in the whole cohort, an open ring the percentile within
    the patient's entity. Genes without RNA are named under the plot.
    """
    rows = [t for t in targets if _num(t.get("rna_percentile")) is not None]
    if not rows:
        return no_data_svg("no RNA percentiles for target genes")
    rows = sorted(rows, key=lambda t: t["rna_percentile"])
    missing = sorted(t["gene"] for t in targets if _num(t.get("rna_percentile")) is None)
    n = len(rows)
    fig = _figure(7.5, 1.0 + 0.22 * n + (0.3 if missing else 0))
    ax = fig.add_subplot()
    y = np.arange(n)
    pct = np.array([t["rna_percentile"] for t in rows], dtype=float)
    colours = [STATE_COLOURS.get(t["state"], "#57606a") for t in rows]
    ax.hlines(y, 0, pct, color=colours, lw=2, alpha=0.35)
    ax.scatter(pct, y, c=colours, s=28, zorder=3)
    entity = [(i, _num(t.get("rna_percentile_entity"))) for i, t in enumerate(rows)]
    entity = [(i, v) for i, v in entity if v is not None]
    if entity:
        ax.scatter([v for _, v in entity], [i for i, _ in entity], s=42, facecolors="none",
                   edgecolors="#1b1f24", lw=0.8, zorder=4, label="within entity")
    ax.axvline(PERCENTILE_LINE, color="#cf222e", ls="--", lw=1)
    ax.set_yticks(y, [f"{t['gene']}  ({_tags(t)})" for t in rows], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("RNA percentile in cohort (dot), within entity (ring)")
    ax.grid(axis="x", color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    _state_legend(ax, [t["state"] for t in rows], loc="lower right")
    if missing:
        ax.set_title("no RNA: " + ", ".join(missing), fontsize=7, loc="left", wrap=True,
                     color="#57606a")
    return markup(fig, "percentile", image)


def activation_plot(targets: Sequence[dict[str, Any]],
                    cohort: pd.DataFrame | None = None, *, image: str = "svg") -> Any:
    """Expression z against activation score, one labelled dot per target gene.

    x is the RNA z-score, or the protein z-score (square marker) when RNA is missing; genes
    with an activation score but neither z are placed in a strip left of the axis. Quadrant
    lines at z = 2 and activation 0. ``cohort`` (from :func:`cohort_target_points`) adds the
    other patients' values of the same genes in grey.
    """
    points = []
    for t in targets:
        act = _num(t.get("activation_score"))
        if act is None:
            continue
        rna, prot = _num(t.get("rna_z")), _num(t.get("protein_z"))
        x, kind = (rna, "rna") if rna is not None else (prot, "protein") if prot is not None \
            else (None, "none")
        points.append({"gene": t["gene"], "state": t["state"], "x": x, "y": act, "kind": kind})
    if not points:
        return no_data_svg("no activation scores for target genes")
    fig = _figure(7.5, 4.8)
    ax = fig.add_subplot()
    xs = [p["x"] for p in points if p["x"] is not None]
    ys = [p["y"] for p in points]
    has_cohort = False
    if cohort is not None and len(cohort):
        cx = cohort["rna_z"].astype("float64").fillna(cohort["protein_z"].astype("float64"))
        cy = cohort["activation_score"].astype("float64")
        keep = cx.notna() & cy.notna()
        if keep.any():
            ax.scatter(cx[keep], cy[keep], s=10, color="#afb8c1", alpha=0.6, lw=0, zorder=1)
            has_cohort = True
            xs += cx[keep].tolist()
            ys += cy[keep].tolist()
    lo = min([*xs, -Z_LINE - 0.5]) - 0.5
    hi = max([*xs, Z_LINE + 0.5]) + 0.5
    strip = lo - 0.12 * (hi - lo)  # where genes without any z go
    if all(p["x"] is not None for p in points):
        strip = None
    ymin, ymax = min(ys), max(ys)
    x_step, y_step = 0.08 * (hi - lo), 0.045 * max(ymax - ymin, 1.0)
    placed: list[tuple[float, float]] = []
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for p in points:  # one scatter per marker and colour: far fewer artists to draw
        x = p["x"] if p["x"] is not None else strip
        key = ({"rna": "o", "protein": "s", "none": "D"}[p["kind"]],
               STATE_COLOURS.get(p["state"], "#57606a"))
        groups.setdefault(key, []).append((x, p["y"]))
    for (marker, colour), xy in groups.items():
        ax.scatter([a for a, _ in xy], [b for _, b in xy], s=40, marker=marker, color=colour,
                   edgecolors="#1b1f24", lw=0.5, zorder=3)
    for p in sorted(points, key=lambda p: p["y"]):
        x = p["x"] if p["x"] is not None else strip
        # Lift a label above labels already placed nearby so close genes stay readable.
        label_y = p["y"]
        while any(abs(x - px) < x_step and abs(label_y - py) < y_step for px, py in placed):
            label_y += y_step
        placed.append((x, label_y))
        lift = (label_y - p["y"]) / y_step * 9
        ax.annotate(p["gene"], (x, p["y"]), xytext=(5, 2 + lift), textcoords="offset points",
                    fontsize=8, zorder=4,
                    # no shrinking or clipping at the text box: that bezier work is slow
                    arrowprops={"arrowstyle": "-", "color": "#afb8c1", "lw": 0.5,
                                "shrinkA": 0, "shrinkB": 0, "patchA": None}
                    if lift else None)
    ax.axvline(Z_LINE, color="#57606a", ls="--", lw=0.8)
    ax.axhline(ACTIVATION_LINE, color="#57606a", ls="--", lw=0.8)
    left = lo if strip is None else strip - 0.08 * (hi - lo)
    if strip is not None:
        ax.axvline(lo, color="#d0d7de", lw=0.8)
        ax.text(strip, 0.01, "no z", transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=8, color="#57606a")
    ax.set_xlim(left, hi + 0.6)
    pad = 0.1 * max(ymax - ymin, 1.0)
    ax.set_ylim(min(ymin, ACTIVATION_LINE) - pad, max(ymax, ACTIVATION_LINE) + pad)
    ax.set_xlabel("expression z-score vs cohort (RNA ●; protein ■ when RNA is missing)")
    ax.set_ylabel("activation score")
    ax.grid(color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    _state_legend(ax, [p["state"] for p in points], cohort=has_cohort, loc="best")
    return markup(fig, "activation", image)


def copy_number_plot(segments: pd.DataFrame, *, build: str = "GRCh38",
                     genes: Sequence[str] = (), image: str = "svg") -> Any:
    """Segment log2 ratios along chromosomes 1-22 and X, one panel per sample.

    Chromosome lengths are :data:`tumorboard.reference.CHROM_LENGTHS` of ``build``; values
    beyond +-2 are drawn at the edge with a triangle. ``genes`` (e.g. target genes with
    copy-number evidence) are listed in the panel title.
    """
    lengths = CHROM_LENGTHS[build]
    chroms = [c for c in CHROMOSOMES if c in lengths]
    if segments is None or not len(segments):
        return no_data_svg("no copy-number segments")
    seg = segments[segments["chrom"].isin(chroms) & segments["log2_ratio"].notna()]
    if not len(seg):
        return no_data_svg("no copy-number segments on chromosomes 1-22, X")
    offsets = dict(zip(chroms, np.cumsum([0] + [lengths[c] for c in chroms[:-1]]), strict=True))
    total = offsets[chroms[-1]] + lengths[chroms[-1]]
    samples = list(dict.fromkeys(seg["sample_id"].astype(str)))
    fig = _figure(10, 0.6 + 2.4 * len(samples))
    axes = fig.subplots(len(samples), 1, sharex=True, squeeze=False)[:, 0]
    for ax, sample in zip(axes, samples, strict=True):
        for i, c in enumerate(chroms):
            if i % 2 == 0:
                ax.axvspan(offsets[c], offsets[c] + lengths[c], color="#f6f8fa", lw=0)
        s = seg[seg["sample_id"].astype(str) == sample]
        start = s["chrom"].map(offsets).astype("float64") + s["start"].astype("float64")
        end = s["chrom"].map(offsets).astype("float64") + s["end"].astype("float64")
        log2 = s["log2_ratio"].astype("float64")
        shown = log2.clip(-CN_CLIP, CN_CLIP)
        colours = np.where(log2 > CN_CALL, "#cf222e",
                           np.where(log2 < -CN_CALL, "#0969da", "#57606a"))
        ax.hlines(shown, start, end, colors=colours, lw=2.5)
        for sign, marker in ((1, "^"), (-1, "v")):
            out = sign * log2 > CN_CLIP
            if out.any():
                ax.scatter(((start + end) / 2)[out], shown[out], marker=marker, s=18,
                           color=colours[out.to_numpy()], zorder=3)
        ax.axhline(0, color="#1b1f24", lw=0.6)
        ax.set_ylim(-CN_CLIP - 0.3, CN_CLIP + 0.3)
        ax.set_ylabel("log2 ratio")
        ax.set_title(sample, fontsize=9, loc="left")
        if genes:
            ax.set_title("target genes with copy-number change: " + ", ".join(genes),
                         fontsize=7, loc="right", color="#57606a", wrap=True)
    axes[-1].set_xlim(0, total)
    axes[-1].set_xticks([offsets[c] + lengths[c] / 2 for c in chroms],
                        [c.removeprefix("chr") for c in chroms], fontsize=8)
    axes[-1].tick_params(axis="x", length=0)
    axes[-1].set_xlabel(f"chromosome ({build})")
    return markup(fig, "copy_number", image)


def placement_plot(coords: np.ndarray, labels: Sequence[str], case: tuple[float, float], *,
                   call: str, sample: str, simulated: bool = False, image: str = "svg") -> Any:
    """The case (star) on the classifier's reference map (t-SNE coordinates computed when
    the model was trained, :mod:`tumorboard.diagnosis.placement`); reference samples grey,
    those of the called class (or family) coloured, the ten largest classes labelled."""
    coords = np.asarray(coords, dtype=float)
    labels = np.asarray(labels, dtype=str)
    families = np.array([family_of(lab) for lab in labels])
    fig = _figure(5.6, 3.6)
    ax = fig.add_subplot()
    match = (labels == call) | (families == call)
    ax.scatter(coords[~match, 0], coords[~match, 1], s=5, c="#afb8c1", lw=0, alpha=0.7,
               label="reference samples")
    if match.any():
        ax.scatter(coords[match, 0], coords[match, 1], s=9, c="#0969da", lw=0,
                   label=f"reference {call}")
    sizes = pd.Series(labels).value_counts()
    for lab in sizes.index[:10]:
        at = coords[labels == lab].mean(axis=0)
        ax.annotate(lab, at, fontsize=6, color="#424a53", ha="center")
    ax.scatter([case[0]], [case[1]], marker="*", s=220, c="#cf222e", edgecolors="#1b1f24",
               lw=0.6, zorder=5, label=f"{sample} ({call})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    if simulated:
        ax.set_title("SIMULATED reference (demo model, not GSE140686)", fontsize=8,
                     color="#cf222e", loc="left")
    ax.legend(fontsize=7, loc="best", frameon=False)
    return markup(fig, f"placement-{sample}", image)

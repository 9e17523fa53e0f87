"""Outcome figures: Kaplan–Meier, forest, PFS-ratio waterfall, swimmer, patient timeline and
calibration plots, drawn from tables the :mod:`tumorboard.outcomes` modules computed.

Plotting never recomputes (DESIGN.md §4): every function takes the finished tables (durations
in days, dates ``datetime64``, events bool, see :mod:`tumorboard.outcomes`) and only draws
them; axes show months = days / :data:`DAYS_PER_MONTH`. Figures follow
:mod:`tumorboard.report.plots`: matplotlib's object-oriented :class:`~matplotlib.figure.Figure`
(no pyplot state), text kept as text in the SVG, and ``image`` chooses what comes back
(:func:`tumorboard.report.plots.markup`): ``'svg'`` inline SVG text, ``'png'`` an ``<img>``
holding a ``data:image/png;base64`` URI, ``'figure'`` the Figure itself.

Bad input raises :class:`tumorboard.errors.InputError`: a missing required column is named,
and an empty main table is an error too (a figure with nothing on it would be mistaken for a
result); the optional tables (events, RECIST, ctDNA) may be empty. ``simulated=True``
writes "SIMULATED" across the top of the figure so a demo cohort is never taken for
patients.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FixedFormatter,
    FixedLocator,
    FuncFormatter,
    LogLocator,
    NullFormatter,
    NullLocator,
)

from tumorboard.errors import InputError
from tumorboard.outcomes import DAYS_PER_MONTH
from tumorboard.report.plots import _figure, markup  # _figure is private: same layout for all

PFSR_THRESHOLD = 1.3
"""PFS ratio (PFS on the profile-guided line / PFS on the line before) counted as benefit:
>= 1.3, Von Hoff et al., J Clin Oncol 2010;28:4877-83, doi:10.1200/JCO.2009.26.5983, after
the growth-modulation index of Mick, Crowley & Carroll, Control Clin Trials 2000;21:343-59,
doi:10.1016/S0197-2456(00)00058-1."""

MAX_AT_RISK_COLUMNS = 12
"""At most this many columns in the number-at-risk table; of more at-risk times (e.g. one
row per event time) every k-th is shown. Pocock, Clayton & Altman, Lancet 2002;359:1686-89,
doi:10.1016/S0140-6736(02)08594-X, recommend numbers at risk at a few regular time points
under the curves, not at every event."""

GROUP_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                 "#000000", "#F0E442")
"""Curve colours, in order of the groups: the Okabe–Ito palette, distinguishable with the
common colour-vision deficiencies (Okabe M, Ito K. Color Universal Design, 2008,
https://jfly.uni-koeln.de/color/; Wong B, Nat Methods 2011;8:441, doi:10.1038/nmeth.1618)."""

VERDICT_COLOURS: dict[str, str] = {
    "benefit": "#0072B2", "no_benefit": "#D55E00", "not_evaluable": "#afb8c1"}
"""Waterfall bar colours per PFSr verdict (Okabe–Ito, as :data:`GROUP_COLOURS`)."""

VERDICT_LABELS: dict[str, str] = {
    "benefit": "benefit", "no_benefit": "no benefit", "not_evaluable": "not evaluable"}

EVENT_KINDS: dict[str, tuple[str, str, str]] = {
    "progression": ("v", "#D55E00", "progression"),
    "death": ("X", "#000000", "death"),
    "response": ("^", "#009E73", "response"),
    "ctdna_positive": ("o", "#CC79A7", "ctDNA positive"),
    "ctdna_negative": ("o", "none", "ctDNA negative"),
    "last_followup": ("|", "#57606a", "last follow-up"),
}
"""Marker, fill colour and legend label of each event kind on swimmer and timeline plots.
ctDNA negative is the hollow version of ctDNA positive, as in the tumour-fraction panel."""

FOREST_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
"""Hazard ratios labelled on the forest plot's log axis: 1-2-5 steps, symmetric about 1."""

MTB_COLOUR = "#0072B2"
LINE_COLOUR = "#afb8c1"

# --- validation -------------------------------------------------------------------------


def _require(table: Any, columns: Sequence[str], *, name: str, what: str) -> pd.DataFrame:
    """The table, after checking it is a non-empty DataFrame with ``columns``."""
    _require_columns(table, columns, name=name, what=what)
    if not len(table):
        raise InputError(f"{name} is empty: nothing to plot",
                         expected=f"at least one row of {what}",
                         fix="check the selection of patients or groups")
    return table


def _require_columns(table: Any, columns: Sequence[str], *, name: str,
                     what: str) -> pd.DataFrame:
    """The table, after checking it is a DataFrame with ``columns`` (it may be empty)."""
    if table is None or not isinstance(table, pd.DataFrame):
        raise InputError(f"{name} must be a pandas DataFrame, got {type(table).__name__}",
                         expected=f"columns {', '.join(columns)}",
                         fix=f"pass the {what} table the outcomes module computed")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{name} has no column '{missing[0]}'", column=missing[0],
                         expected=f"columns {', '.join(columns)}",
                         fix=f"pass the {what} table the outcomes module computed, "
                             "with its columns unrenamed")
    return table


def _numeric(table: pd.DataFrame, column: str, *, name: str) -> pd.Series:
    """A column as float64, naming the first row that is not a number."""
    values = pd.to_numeric(table[column], errors="coerce").astype("float64")
    bad = values.isna() & table[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{name} row {row + 1}: '{table[column].iloc[row]}' is not a number",
                         column=column, expected="a number (NaN when not estimable)",
                         fix=f"write {column} as a number")
    return values


def _dates(table: pd.DataFrame, column: str, *, name: str) -> pd.Series:
    """A column as datetime64, naming the first row that is not a date."""
    values = pd.to_datetime(table[column], errors="coerce")
    bad = values.isna() & table[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{name} row {row + 1}: '{table[column].iloc[row]}' is not a date",
                         column=column, expected="a date (datetime64; NaT when missing)",
                         fix=f"write {column} as an ISO date, YYYY-MM-DD")
    return values


def _check_kinds(values: pd.Series, allowed: Iterable[str], *, name: str, column: str,
                 patients: pd.Series | None = None) -> None:
    allowed = list(allowed)
    bad = ~values.isin(allowed)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{name} row {row + 1}: {column} '{values.iloc[row]}' is not known",
            column=column,
            sample=None if patients is None else str(patients.iloc[row]),
            expected="one of " + ", ".join(allowed),
            fix=f"use one of the {column} values the outcomes module writes")


# --- formatting and shared drawing ------------------------------------------------------


def months(days: Any) -> Any:
    """Days as months (days / :data:`DAYS_PER_MONTH`), for scalars, arrays and Series."""
    return days / DAYS_PER_MONTH


def format_p(p: float) -> str:
    """A p-value as reported in clinical journals: two decimals above 0.01, three between
    0.001 and 0.01, ``< 0.001`` below (NEJM statistical reporting guidelines,
    https://www.nejm.org/author-center/new-manuscripts; Harrington D et al., N Engl J Med
    2019;381:285-6, doi:10.1056/NEJMe1906559)."""
    if p < 0.001:
        return "< 0.001"
    if p < 0.01:
        return f"{p:.3f}"
    return f"{p:.2f}"


def p_text(p: float, name: str = "p") -> str:
    """``name = 0.03`` or ``name < 0.001``: :func:`format_p` with the right relation sign."""
    text = format_p(p)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def format_hr(hr: float, lower: float, upper: float) -> str:
    """A hazard ratio with its confidence interval, two decimals: ``0.62 (0.41–0.93)``."""
    def fmt(x: float) -> str:
        return "∞" if math.isinf(x) else f"{x:.2f}"
    return f"{fmt(hr)} ({fmt(lower)}–{fmt(upper)})"


def _salt(kind: str, text: str) -> str:
    """A stable id salt and alt text: the plot kind and a slug of its title."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return f"{kind}-{slug}" if slug else kind


def _mark_simulated(fig: Any, simulated: bool) -> None:
    # A suptitle takes part in the constrained layout, so it never overlaps the axes title.
    if simulated:
        fig.suptitle("SIMULATED data — not patients", x=0.01, ha="left", fontsize=9,
                     color="#cf222e", fontweight="bold")


def _group_colour(i: int) -> str:
    return GROUP_COLOURS[i % len(GROUP_COLOURS)]


# --- Kaplan–Meier -----------------------------------------------------------------------


def _thinned(times: np.ndarray, limit: int) -> np.ndarray:
    """At most ``limit`` of the sorted ``times``: every k-th, always starting with the first."""
    stride = max(1, math.ceil(len(times) / limit))
    return times[::stride]


def kaplan_meier_plot(curves: pd.DataFrame, at_risk: pd.DataFrame, *, title: str,
                      logrank_p: float | None = None, xlabel: str = "Months",
                      simulated: bool = False, image: str = "svg") -> Any:
    """Kaplan–Meier curves with confidence bands and a number-at-risk table underneath.

    Drawn as Pocock, Clayton & Altman recommend (Lancet 2002;359:1686-89,
    doi:10.1016/S0140-6736(02)08594-X): curves going down from 1 with their pointwise
    confidence band, censorings as ticks, and the numbers still at risk under the x axis,
    one row per group, aligned with the ticks.

    Parameters
    ----------
    curves
        Step-function points per group: columns group, time (days), survival, lower, upper
        (``group`` may be the single value ``'all'``), as :mod:`tumorboard.outcomes.survival`
        computes them (lifelines ``survival_function_`` and ``confidence_interval_``).
        An optional column ``censored`` (censorings at that time, R ``survfit``'s
        ``n.censor``) draws censor ticks on the curve; without it there are none.
    at_risk
        Columns group, time (days), at_risk, events, censored, as
        :func:`tumorboard.outcomes.survival.kaplan_meier` gives them (at 0 and every 6
        months). The distinct times are the x ticks and the columns of the number-at-risk
        table, which shows ``at_risk`` as given; of more than :data:`MAX_AT_RISK_COLUMNS`
        times every k-th is shown. Groups should share the times (they do in
        ``kaplan_meier``'s grid); a group without a row at a time gets a blank cell, as a
        count is never interpolated here. ``events`` and ``censored`` are not drawn (they
        may be cumulative or per time; nothing here depends on which).
    title
        Axes title, e.g. ``"Overall survival from first MTB"``.
    logrank_p
        Log-rank p-value to annotate (``"log-rank p = 0.001"``, :func:`format_p`), or None.
    xlabel
        x-axis label; the axis is in months (days / :data:`DAYS_PER_MONTH`).
    simulated
        Mark the figure "SIMULATED".
    image
        ``'svg'``, ``'png'`` or ``'figure'`` (:func:`tumorboard.report.plots.markup`).
    """
    _require(curves, ["group", "time", "survival", "lower", "upper"], name="curves",
             what="Kaplan–Meier curve")
    _require(at_risk, ["group", "time", "at_risk", "events", "censored"], name="at_risk",
             what="number-at-risk")
    curves = curves.assign(**{c: _numeric(curves, c, name="curves")
                              for c in ("time", "survival", "lower", "upper")})
    at_risk = at_risk.assign(**{c: _numeric(at_risk, c, name="at_risk")
                                for c in ("time", "at_risk", "events", "censored")})
    groups = list(dict.fromkeys(curves["group"].astype(str)))
    unknown = sorted(set(at_risk["group"].astype(str)) - set(groups))
    if unknown:
        raise InputError(f"at_risk has group '{unknown[0]}' that curves do not have",
                         column="group", expected="the groups of curves: " + ", ".join(groups),
                         fix="pass curves and at_risk computed from the same fit")
    fig = _figure(7.5, 4.4 + 0.2 * len(groups))
    grid = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.45 + 0.22 * len(groups)])
    ax = fig.add_subplot(grid[0])
    table_ax = fig.add_subplot(grid[1], sharex=ax)
    t_max = max(curves["time"].max(), at_risk["time"].max())
    for i, group in enumerate(groups):
        c = curves[curves["group"].astype(str) == group].sort_values("time", kind="stable")
        colour = _group_colour(i)
        x = months(c["time"].to_numpy())
        label = None if groups == ["all"] else group
        ax.step(x, c["survival"], where="post", color=colour, lw=1.6, label=label)
        band = c["lower"].notna() & c["upper"].notna()
        if band.any():
            ax.fill_between(x[band.to_numpy()], c["lower"][band], c["upper"][band],
                            step="post", color=colour, alpha=0.15, lw=0)
        if "censored" in c.columns:
            ticks = pd.to_numeric(c["censored"], errors="coerce").fillna(0).to_numpy() > 0
            if ticks.any():  # at the curve's value after any event at the same time
                ax.plot(x[ticks], c["survival"].to_numpy()[ticks], ls="", marker="|",
                        markersize=7, mew=1.2, color=colour)
    ax.set_ylim(0, 1.03)
    ax.set_xlim(0, months(t_max) * 1.02 if t_max > 0 else 1)
    ax.set_ylabel("Probability")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelbottom=True)
    if groups != ["all"]:
        ax.legend(fontsize=8, frameon=False, loc="upper right")
    if logrank_p is not None and not math.isnan(logrank_p):
        ax.text(0.02, 0.04, p_text(logrank_p, "log-rank p"), transform=ax.transAxes,
                fontsize=9, ha="left", va="bottom")
    ax.set_xlabel(xlabel)

    tick_days = _thinned(np.sort(at_risk["time"].unique()), MAX_AT_RISK_COLUMNS)
    ax.xaxis.set_major_locator(FixedLocator(months(tick_days)))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{round(m, 1):g}"
                                                 for m in months(tick_days)]))
    counts = {g: dict(zip(r["time"], r["at_risk"], strict=True))
              for g, r in at_risk.groupby(at_risk["group"].astype(str))}
    cells = {g: [counts.get(g, {}).get(t) for t in tick_days] for g in groups}
    table_ax.set_ylim(len(groups) - 0.5, -0.5)
    for row, g in enumerate(groups):
        for t, n in zip(tick_days, cells[g], strict=True):
            table_ax.text(months(t), row, "" if n is None or np.isnan(n) else f"{n:.0f}",
                          ha="center",
                          va="center", fontsize=8, color=_group_colour(row))
    table_ax.set_yticks(range(len(groups)), groups, fontsize=8)
    for row, label in enumerate(table_ax.get_yticklabels()):
        label.set_color(_group_colour(row))
    table_ax.set_title("Number at risk", fontsize=8, loc="left")
    # Only hide the labels: the axes share x, so a formatter set here would blank the curves'.
    table_ax.tick_params(axis="x", length=0, labelbottom=False)
    table_ax.tick_params(axis="y", length=0, pad=14)
    for side in ("top", "right", "bottom", "left"):
        table_ax.spines[side].set_visible(False)
    _mark_simulated(fig, simulated)
    return markup(fig, _salt("km", title), image)


# --- forest -----------------------------------------------------------------------------


def forest_plot(table: pd.DataFrame, *, title: str, xlabel: str = "Hazard ratio (95 % CI)",
                image: str = "svg", simulated: bool = False) -> Any:
    """Hazard ratios with confidence intervals, one row per subgroup or covariate.

    A forest plot as Lewis & Clarke describe it (BMJ 2001;322:1479-80,
    doi:10.1136/bmj.322.7300.1479): ratios on a log scale, so that 0.5 and 2 are equally far
    from the line of no effect at 1, and squares whose area grows with the number of
    patients, so the eye is drawn to the rows with most information; HR (CI) and p printed
    in columns on the right. Rows without a hazard ratio are listed as "not estimable".

    Parameters
    ----------
    table
        Columns label, hr, lower, upper, p, n, drawn top to bottom in the given order.
    title
        Axes title.
    xlabel
        x-axis label.
    image, simulated
        As :func:`kaplan_meier_plot`.
    """
    _require(table, ["label", "hr", "lower", "upper", "p", "n"], name="table",
             what="hazard-ratio")
    values = {c: _numeric(table, c, name="table") for c in ("hr", "lower", "upper", "p", "n")}
    hr, lower, upper, p, n = (values[c].to_numpy() for c in ("hr", "lower", "upper", "p", "n"))
    for column, x in (("hr", hr), ("lower", lower), ("upper", upper)):
        if (x <= 0).any():
            row = int(np.flatnonzero(x <= 0)[0])
            raise InputError(f"table row {row + 1}: {column} {x[row]} is not positive",
                             column=column, sample=str(table["label"].iloc[row]),
                             expected="a hazard ratio > 0 (NaN when not estimable)",
                             fix="pass hazard ratios, not log hazard ratios")
    labels = table["label"].astype(str).tolist()
    estimable = np.isfinite(hr)
    rows = len(labels)
    fig = _figure(7.5, 1.2 + 0.32 * rows)
    grid = fig.add_gridspec(1, 2, width_ratios=[3.0, 1.6], wspace=0.02)
    ax = fig.add_subplot(grid[0])
    text_ax = fig.add_subplot(grid[1], sharey=ax)
    y = np.arange(rows)
    finite = np.concatenate([x[np.isfinite(x)] for x in (hr, lower, upper)] + [np.ones(1)])
    lo, hi = finite.min() / 1.25, finite.max() * 1.25
    n_max = np.nanmax(n) if np.isfinite(n).any() else 1.0
    sizes = 20 + 160 * np.nan_to_num(n, nan=0.0) / max(n_max, 1.0)
    for i in np.flatnonzero(estimable):
        a = lower[i] if np.isfinite(lower[i]) else lo
        b = upper[i] if np.isfinite(upper[i]) else hi
        ax.hlines(y[i], max(a, lo), min(b, hi), color="#1b1f24", lw=1.1)
        for bound, edge, marker in ((lower[i], lo, "<"), (upper[i], hi, ">")):
            if not np.isfinite(bound) or (marker == "<" and bound < lo) or \
                    (marker == ">" and bound > hi):
                ax.plot([edge], [y[i]], marker=marker, color="#1b1f24", markersize=4)
    ax.scatter(hr[estimable], y[estimable], s=sizes[estimable], marker="s",
               color="#0072B2", edgecolors="#1b1f24", lw=0.5, zorder=3)
    ax.axvline(1.0, color="#57606a", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    # Round ratios as plain numbers (0.5, 1, 2), not matplotlib's 10^x log labels.
    ticks = [t for t in FOREST_TICKS if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(rows - 0.5, -0.5)
    n_text = [f"{lab}  (n = {int(k)})" if np.isfinite(k) else lab
              for lab, k in zip(labels, n, strict=True)]
    ax.set_yticks(y, n_text, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", which="both", color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    text_ax.set_xlim(0, 1)
    text_ax.xaxis.set_major_locator(NullLocator())
    text_ax.tick_params(axis="y", left=False, labelleft=False)
    for side in ("top", "right", "bottom", "left"):
        text_ax.spines[side].set_visible(False)
    text_ax.set_title("HR (95 % CI)", fontsize=8, loc="left")
    text_ax.set_title("p", fontsize=8, loc="right")
    for i in range(rows):
        if estimable[i]:
            ci = format_hr(hr[i], lower[i], upper[i])
            text_ax.text(0.02, y[i], ci, fontsize=8, va="center")
            pv = format_p(p[i]) if np.isfinite(p[i]) else "–"
            text_ax.text(0.98, y[i], pv, fontsize=8, va="center", ha="right")
        else:
            text_ax.text(0.02, y[i], "not estimable", fontsize=8, va="center",
                         color="#57606a", style="italic")
    _mark_simulated(fig, simulated)
    return markup(fig, _salt("forest", title), image)


# --- PFS ratio waterfall ----------------------------------------------------------------


def pfsr_waterfall(ratios: pd.DataFrame, *, threshold: float = PFSR_THRESHOLD,
                   image: str = "svg", simulated: bool = False) -> Any:
    """Waterfall of log2 PFS ratios of MTB-guided lines, coloured by verdict.

    The PFS ratio (PFSr) compares PFS on the MTB-guided line with PFS on the line before,
    each patient being their own control (Von Hoff et al., J Clin Oncol 2010;28:4877-83,
    doi:10.1200/JCO.2009.26.5983); bars are log2(PFSr) so that halving and doubling are
    equally long, sorted from the largest down, with a dashed line at ``threshold``.
    Not-evaluable lines are hatched (and, without a ratio, marked "n.e." at 0); lines whose
    guided PFS is censored (optional bool column ``censored``, else ``pfs2_event`` False as
    :func:`tumorboard.outcomes.pfsr.pfs_ratio` writes it) are hatched the other way.

    Parameters
    ----------
    ratios
        Columns patient, line, pfs_ratio, verdict (``'benefit'``, ``'no_benefit'``,
        ``'not_evaluable'``), as :mod:`tumorboard.outcomes.pfsr` computes them; optional
        ``censored`` or ``pfs2_event``.
    threshold
        PFSr counted as benefit (default :data:`PFSR_THRESHOLD`, 1.3).
    image, simulated
        As :func:`kaplan_meier_plot`.
    """
    _require(ratios, ["patient", "line", "pfs_ratio", "verdict"], name="ratios",
             what="PFS ratio")
    if not threshold > 0:
        raise InputError(f"threshold {threshold} is not positive", expected="a PFS ratio > 0",
                         fix="pass the PFSr threshold, e.g. 1.3")
    verdict = ratios["verdict"].astype(str)
    _check_kinds(verdict, VERDICT_COLOURS, name="ratios", column="verdict",
                 patients=ratios["patient"])
    ratio = _numeric(ratios, "pfs_ratio", name="ratios")
    if (ratio <= 0).any():
        row = int(np.flatnonzero((ratio <= 0).to_numpy())[0])
        raise InputError(f"ratios row {row + 1}: pfs_ratio {ratio.iloc[row]} is not positive",
                         column="pfs_ratio", sample=str(ratios["patient"].iloc[row]),
                         expected="a PFS ratio > 0 (NaN when not evaluable)",
                         fix="check the PFS of both lines")
    if "censored" in ratios.columns:
        censored = ratios["censored"].eq(True)
    elif "pfs2_event" in ratios.columns:  # pfsr.pfs_ratio: PFS2 without progression
        censored = ratios["pfs2_event"].astype("boolean").eq(False).fillna(False).astype(bool)
    else:
        censored = pd.Series(False, index=ratios.index)
    frame = pd.DataFrame({
        "label": ratios["patient"].astype(str) + " L" + ratios["line"].astype(str),
        "log2": np.log2(ratio), "verdict": verdict, "censored": censored,
    }).sort_values("log2", ascending=False, na_position="last", kind="stable")
    frame = frame.reset_index(drop=True)
    fig = _figure(max(5.0, 1.6 + 0.32 * len(frame)), 3.8)
    ax = fig.add_subplot()
    x = np.arange(len(frame))
    height = frame["log2"].fillna(0.0).to_numpy()
    hatches = ["///" if v == "not_evaluable" else "\\\\\\" if c else ""
               for v, c in zip(frame["verdict"], frame["censored"], strict=True)]
    ax.bar(x, height, color=[VERDICT_COLOURS[v] for v in frame["verdict"]],
           edgecolor="#1b1f24", lw=0.5, hatch=hatches, width=0.8)
    for i in np.flatnonzero(frame["log2"].isna().to_numpy()):
        ax.text(x[i], 0, "n.e.", ha="center", va="bottom", fontsize=7, color="#57606a")
    ax.axhline(0, color="#1b1f24", lw=0.6)
    ax.axhline(math.log2(threshold), color="#1b1f24", ls="--", lw=0.9)
    ax.set_xticks(x, frame["label"], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(frame) - 0.4)
    ax.set_ylabel("log2 PFS ratio\n(MTB-guided line / previous line)", fontsize=8)
    ax.grid(axis="y", color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    counts = frame["verdict"].value_counts()
    handles: list[Any] = [
        Patch(facecolor=colour, edgecolor="#1b1f24", lw=0.5,
              hatch="///" if v == "not_evaluable" else "",
              label=f"{VERDICT_LABELS[v]} (n = {int(counts.get(v, 0))})")
        for v, colour in VERDICT_COLOURS.items() if counts.get(v, 0)]
    if frame["censored"].any():
        handles.append(Patch(facecolor="white", edgecolor="#1b1f24", lw=0.5, hatch="\\\\\\",
                             label=f"PFS censored (n = {int(frame['censored'].sum())})"))
    handles.append(Line2D([], [], color="#1b1f24", ls="--", lw=0.9,
                          label=f"PFSr = {threshold:g}"))
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper right")
    ax.set_title("PFS ratio per MTB-guided line", fontsize=10, loc="left")
    _mark_simulated(fig, simulated)
    return markup(fig, "pfsr-waterfall", image)


# --- swimmer and timeline ---------------------------------------------------------------


def _lines_table(lines: pd.DataFrame) -> pd.DataFrame:
    _require(lines, ["patient", "line", "regimen", "start", "stop", "mtb_guided"],
             name="lines", what="therapy lines")
    start = _dates(lines, "start", name="lines")
    if start.isna().any():
        row = int(np.flatnonzero(start.isna().to_numpy())[0])
        raise InputError(f"lines row {row + 1}: start is missing", column="start",
                         sample=str(lines["patient"].iloc[row]),
                         expected="the date the line started",
                         fix="add the start date of the line")
    return lines.assign(patient=lines["patient"].astype(str), start=start,
                        stop=_dates(lines, "stop", name="lines"),
                        mtb_guided=lines["mtb_guided"].eq(True))


def _events_table(events: pd.DataFrame | None) -> pd.DataFrame:
    if events is None:
        return pd.DataFrame({"patient": pd.Series(dtype=str),
                             "date": pd.Series(dtype="datetime64[ns]"),
                             "kind": pd.Series(dtype=str)})
    for c in ("patient", "date", "kind"):
        if c not in events.columns:
            raise InputError(f"events has no column '{c}'", column=c,
                             expected="columns patient, date, kind",
                             fix="pass the events table with its columns unrenamed")
    kind = events["kind"].astype(str)
    _check_kinds(kind, EVENT_KINDS, name="events", column="kind", patients=events["patient"])
    date = _dates(events, "date", name="events")
    return events.assign(patient=events["patient"].astype(str), date=date,
                         kind=kind)[date.notna()]


def _event_handles(kinds: Iterable[str]) -> list[Any]:
    present = set(kinds)
    return [Line2D([], [], ls="", marker=m, markerfacecolor=c,
                   markeredgecolor="#1b1f24" if c == "none" else c, color=c, markersize=6,
                   label=label)
            for kind, (m, c, label) in EVENT_KINDS.items() if kind in present]


def _draw_events(ax: Any, x: np.ndarray, y: np.ndarray, kinds: Sequence[str]) -> None:
    kinds = np.asarray(kinds)
    for kind, (marker, colour, _label) in EVENT_KINDS.items():
        at = kinds == kind
        if not at.any():
            continue
        if MarkerStyle(marker).is_filled():
            edge = "#1b1f24" if colour == "none" else colour
            ax.scatter(x[at], y[at], marker=marker, s=36, facecolors=colour,
                       edgecolors=edge, lw=1.0, zorder=4)
        else:  # line markers ('|') have no face; an edge colour would only be warned about
            ax.scatter(x[at], y[at], marker=marker, s=60, color=colour, lw=1.4, zorder=4)


MRD_CALLS = ("positive", "negative", "not_evaluable")
"""The MRD calls of :mod:`tumorboard.outcomes.ctdna`."""


def _mrd_calls(values: pd.Series, *, patient: str) -> np.ndarray:
    """MRD calls as strings: bool True/False become positive/negative, missing not_evaluable."""
    def call(v: Any) -> Any:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return "not_evaluable"
        if isinstance(v, bool | np.bool_):
            return "positive" if v else "negative"
        return str(v)
    calls = values.map(call)
    _check_kinds(calls, MRD_CALLS, name="ctdna", column="mrd",
                 patients=pd.Series(patient, index=values.index))
    return calls.to_numpy(dtype=object)


def _line_ends(lines: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Where each line's bar ends: its stop, or for an ongoing line (stop NaT) the latest
    date known for the patient (events and line starts), never before the line start."""
    latest = pd.concat([events[["patient", "date"]],
                        lines[["patient", "start"]].rename(columns={"start": "date"}),
                        lines[["patient", "stop"]].rename(columns={"stop": "date"})])
    latest = latest.dropna().groupby("patient")["date"].max()
    ongoing_end = lines["patient"].map(latest)
    end = lines["stop"].fillna(ongoing_end)
    return end.where(end >= lines["start"], lines["start"])


def swimmer_plot(lines: pd.DataFrame, events: pd.DataFrame, *, image: str = "svg",
                 simulated: bool = False) -> Any:
    """Swimmer plot: one lane per patient, a bar per therapy line, markers per event.

    Time runs in months from each patient's first line start, so lanes are comparable;
    MTB-guided lines are coloured, other lines grey, ongoing lines (stop NaT) end in an
    arrow at the latest date known for the patient. Lanes are sorted by follow-up, longest
    on top. The swimmer plot is the usual display of individual treatment courses in
    early-phase oncology (e.g. Drilon et al., N Engl J Med 2018;378:731-9,
    doi:10.1056/NEJMoa1714448).

    Parameters
    ----------
    lines
        Columns patient, line, regimen, start, stop (NaT while ongoing), mtb_guided.
    events
        Columns patient, date, kind (``'progression'``, ``'death'``, ``'response'``,
        ``'ctdna_positive'``, ``'ctdna_negative'``, ``'last_followup'``); may be empty.
    image, simulated
        As :func:`kaplan_meier_plot`.
    """
    lines = _lines_table(lines)
    events = _events_table(events)
    stray = sorted(set(events["patient"]) - set(lines["patient"]))
    if stray:
        raise InputError(f"events of patient '{stray[0]}' who has no therapy line",
                         column="patient", sample=stray[0],
                         expected="every patient of events also in lines",
                         fix="add the patient's lines, or drop their events")
    origin = lines.groupby("patient")["start"].min()
    ends = _line_ends(lines, events)
    span = pd.concat([(ends - lines["patient"].map(origin)).groupby(lines["patient"]).max(),
                      (events["date"] - events["patient"].map(origin))
                      .groupby(events["patient"]).max()], axis=1).max(axis=1)
    order = span.sort_values(ascending=True, kind="stable").index.tolist()
    lane = {p: i for i, p in enumerate(order)}
    fig = _figure(7.5, 1.4 + 0.34 * len(order))
    ax = fig.add_subplot()
    days0 = (lines["start"] - lines["patient"].map(origin)).dt.days.to_numpy(dtype=float)
    days1 = (ends - lines["patient"].map(origin)).dt.days.to_numpy(dtype=float)
    y = lines["patient"].map(lane).to_numpy(dtype=float)
    colours = np.where(lines["mtb_guided"], MTB_COLOUR, LINE_COLOUR)
    ax.barh(y, months(days1 - days0), left=months(days0), height=0.55, color=colours,
            edgecolor="white", lw=0.8)
    x_max = months(max(float(np.nanmax(days1)), float(span.dt.days.max()), 1.0))
    for i, row in enumerate(lines.itertuples(index=False)):
        if months(days1[i] - days0[i]) > 0.06 * x_max:
            ax.text(months(days0[i]) + 0.01 * x_max, y[i], str(row.regimen), fontsize=6,
                    va="center", ha="left", color="white" if row.mtb_guided else "#1b1f24",
                    clip_on=True)
        if pd.isna(row.stop):
            ax.annotate("", xy=(months(days1[i]) + 0.04 * x_max, y[i]),
                        xytext=(months(days1[i]), y[i]),
                        arrowprops={"arrowstyle": "-|>", "color": colours[i], "lw": 1.2,
                                    "shrinkA": 0, "shrinkB": 0})
    if len(events):
        ex = months((events["date"] - events["patient"].map(origin)).dt.days
                    .to_numpy(dtype=float))
        ey = events["patient"].map(lane).to_numpy(dtype=float)
        _draw_events(ax, ex, ey, events["kind"].tolist())
    ax.set_yticks(range(len(order)), order, fontsize=8)
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.set_xlim(0, x_max * 1.08)
    ax.set_xlabel("Months from start of first line")
    ax.grid(axis="x", color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    handles: list[Any] = [Patch(color=MTB_COLOUR, label="MTB-guided line"),
                          Patch(color=LINE_COLOUR, label="other line"),
                          Line2D([], [], color="#57606a", marker=">", ls="-", markersize=5,
                                 label="ongoing")]
    handles += _event_handles(events["kind"])
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Therapy lines and events per patient", fontsize=10, loc="left")
    _mark_simulated(fig, simulated)
    return markup(fig, "swimmer", image)


def _date_locator(span_days: float) -> Any:
    """Ticks for a date axis of ``span_days``: whole months (1-6 apart) up to three years,
    whole years beyond, at most about eight ticks. Chosen here rather than by
    ``AutoDateLocator``, which warns and falls back for spans it has no interval for."""
    months_span = span_days / DAYS_PER_MONTH
    if months_span <= 36:
        step = next(k for k in (1, 2, 3, 6) if months_span / k <= 8) if months_span > 8 else 1
        return mdates.MonthLocator(interval=step)
    years = months_span / 12
    return mdates.YearLocator(base=next((k for k in (1, 2, 5, 10) if years / k <= 8), 20))


def patient_timeline(lines: pd.DataFrame, events: pd.DataFrame,
                     recist: pd.DataFrame | None = None, ctdna: pd.DataFrame | None = None, *,
                     patient: str, image: str = "svg", simulated: bool = False) -> Any:
    """One patient's course on a date axis: lines, events, tumour burden and ctDNA.

    The top panel has a lane per therapy line (MTB-guided coloured, ongoing ending in an
    arrow) and the events as markers. When ``recist`` or ``ctdna`` is given a second panel
    shares the date axis: the RECIST 1.1 sum of target-lesion diameters (Eisenhauer et al.,
    Eur J Cancer 2009;45:228-47, doi:10.1016/j.ejca.2008.10.026) as a line labelled with
    each assessment's overall response, and ctDNA tumour fractions on a log axis (right;
    fractions span orders of magnitude), filled when MRD was detected and hollow when not.
    Fractions of 0 (not detected) are drawn hollow at the bottom of the log axis. An empty
    ``recist`` or ``ctdna`` table (a patient without assessments) is drawn as None.

    Parameters
    ----------
    lines, events
        As :func:`swimmer_plot`; rows of other patients are ignored.
    recist
        Columns assessment_date, overall, sum_mm (one patient's assessments), or None.
    ctdna
        Columns collected, tumour_fraction, mrd, or None. ``mrd`` is the call of
        :mod:`tumorboard.outcomes.ctdna` (``'positive'``, ``'negative'``,
        ``'not_evaluable'``, drawn grey) or a bool (True = detected).
    patient
        The registry id to plot (``"DSRCT-001"``).
    image, simulated
        As :func:`kaplan_meier_plot`.
    """
    lines = _lines_table(lines)
    events = _events_table(events)
    patient = str(patient)
    own = lines[lines["patient"] == patient].sort_values(["start", "line"], kind="stable")
    if not len(own):
        raise InputError(f"patient '{patient}' has no therapy line", column="patient",
                         sample=patient, expected="at least one row of lines for the patient",
                         fix="check the patient id")
    own_events = events[events["patient"] == patient]
    if recist is not None:
        _require_columns(recist, ["assessment_date", "overall", "sum_mm"], name="recist",
                         what="RECIST assessment")
        if "patient" in recist.columns:
            recist = recist[recist["patient"].astype(str) == patient]
        recist = recist.assign(assessment_date=_dates(recist, "assessment_date", name="recist"),
                               sum_mm=_numeric(recist, "sum_mm", name="recist"))
        recist = recist.sort_values("assessment_date", kind="stable")
    if ctdna is not None:
        _require_columns(ctdna, ["collected", "tumour_fraction", "mrd"], name="ctdna",
                         what="ctDNA tumour fraction")
        if "patient" in ctdna.columns:
            ctdna = ctdna[ctdna["patient"].astype(str) == patient]
        fraction = _numeric(ctdna, "tumour_fraction", name="ctdna")
        if ((fraction < 0) | (fraction > 1)).any():
            row = int(np.flatnonzero(((fraction < 0) | (fraction > 1)).to_numpy())[0])
            raise InputError(f"ctdna row {row + 1}: tumour_fraction {fraction.iloc[row]} is "
                             "outside 0-1", column="tumour_fraction", sample=patient,
                             expected="a fraction between 0 and 1",
                             fix="give fractions, not percentages")
        ctdna = ctdna.assign(collected=_dates(ctdna, "collected", name="ctdna"),
                             tumour_fraction=fraction,
                             mrd=_mrd_calls(ctdna["mrd"], patient=patient))
        ctdna = ctdna.sort_values("collected", kind="stable")
    measured = (recist is not None and len(recist)) or (ctdna is not None and len(ctdna))
    n_lines = len(own)
    fig = _figure(7.5, 1.6 + 0.3 * n_lines + (2.4 if measured else 0))
    if measured:
        grid = fig.add_gridspec(2, 1, height_ratios=[0.6 + 0.3 * n_lines, 2.4])
        ax = fig.add_subplot(grid[0])
        mx = fig.add_subplot(grid[1], sharex=ax)
    else:
        ax = fig.add_subplot()
    ends = _line_ends(own, own_events)
    y = np.arange(n_lines, dtype=float)
    start = mdates.date2num(own["start"].to_numpy())
    stop = mdates.date2num(ends.to_numpy())
    colours = np.where(own["mtb_guided"], MTB_COLOUR, LINE_COLOUR)
    ax.barh(y, np.maximum(stop - start, 1.0), left=start, height=0.55, color=colours,
            edgecolor="white", lw=0.8)
    span = max(float(stop.max() - start.min()), 30.0)
    for i, row in enumerate(own.itertuples(index=False)):
        if pd.isna(row.stop):
            ax.annotate("", xy=(stop[i] + 0.04 * span, y[i]), xytext=(stop[i], y[i]),
                        arrowprops={"arrowstyle": "-|>", "color": colours[i], "lw": 1.2,
                                    "shrinkA": 0, "shrinkB": 0})
    lane_labels = [f"L{r.line} {r.regimen}" for r in own.itertuples(index=False)]
    if len(own_events):
        # Events on their own lane below the lines, so markers never hide a bar.
        ex = mdates.date2num(own_events["date"].to_numpy())
        _draw_events(ax, ex, np.full(len(ex), float(n_lines)), own_events["kind"].tolist())
        ax.set_yticks([*y, n_lines], [*lane_labels, "events"], fontsize=7)
    else:
        ax.set_yticks(y, lane_labels, fontsize=7)
    ax.set_ylim(n_lines + 0.6, -0.6)
    ax.grid(axis="x", color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_title(f"{patient}: therapy lines and events", fontsize=10, loc="left")
    handles: list[Any] = [Patch(color=MTB_COLOUR, label="MTB-guided line"),
                          Patch(color=LINE_COLOUR, label="other line")]
    handles += _event_handles(own_events["kind"])
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    if measured:
        ax.tick_params(labelbottom=False)
        bottom = mx
        measure_handles: list[Any] = []
        if recist is not None and len(recist):
            rx = mdates.date2num(recist["assessment_date"].to_numpy())
            mx.plot(rx, recist["sum_mm"], color="#1b1f24", marker="o", markersize=4, lw=1.2)
            for xi, yi, label in zip(rx, recist["sum_mm"], recist["overall"], strict=True):
                if pd.notna(yi) and pd.notna(label):
                    mx.annotate(str(label), (xi, yi), xytext=(0, 5), textcoords="offset points",
                                ha="center", fontsize=7)
            mx.set_ylabel("sum of diameters (mm)", fontsize=8)
            top = float(np.nanmax(recist["sum_mm"])) if recist["sum_mm"].notna().any() else 1.0
            mx.set_ylim(0, top * 1.2 if top > 0 else 1.0)
            measure_handles.append(Line2D([], [], color="#1b1f24", marker="o", markersize=4,
                                          label="RECIST sum (overall response)"))
        if ctdna is not None and len(ctdna):
            cx_ax = mx.twinx() if recist is not None and len(recist) else mx
            keep = ctdna["tumour_fraction"].notna().to_numpy()  # no estimate: no point
            tf = ctdna["tumour_fraction"].to_numpy()[keep]
            positive = tf[tf > 0]
            # Display floor for "not detected": a factor 3 under the smallest detected value.
            floor = positive.min() / 3 if len(positive) else 1e-4
            shown = np.where(tf > 0, tf, floor)
            cxs = mdates.date2num(ctdna["collected"].to_numpy())[keep]
            call = ctdna["mrd"].to_numpy()[keep]
            cx_ax.plot(cxs, shown, color="#CC79A7", lw=0.9, zorder=2)
            at = call == "positive"
            cx_ax.scatter(cxs[at], shown[at], s=30, color="#CC79A7", edgecolors="#CC79A7",
                          zorder=3)
            at = call == "negative"
            cx_ax.scatter(cxs[at], shown[at], s=30, facecolors="white",
                          edgecolors="#CC79A7", lw=1.2, zorder=3)
            at = call == "not_evaluable"
            if at.any():
                cx_ax.scatter(cxs[at], shown[at], s=30, marker="D", facecolors="white",
                              edgecolors="#8c959f", lw=1.2, zorder=3)
                measure_handles.append(Line2D([], [], ls="", marker="D",
                                              markerfacecolor="white",
                                              markeredgecolor="#8c959f",
                                              label="ctDNA not evaluable"))
            cx_ax.set_yscale("log")
            top = float(shown.max()) if len(shown) else floor
            cx_ax.set_ylim(floor / 2, max(top * 2, floor * 10))
            # Percent at each decade (0.1 %, 1 %), as tumour fractions are reported; plain
            # text is also cheaper to lay out than the default 10^x mathtext labels.
            cx_ax.yaxis.set_major_locator(LogLocator(base=10))
            cx_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * 100:g} %"))
            cx_ax.yaxis.set_minor_formatter(NullFormatter())
            cx_ax.set_ylabel("ctDNA tumour fraction", fontsize=8, color="#CC79A7")
            measure_handles += [
                Line2D([], [], ls="", marker="o", color="#CC79A7", label="ctDNA detected"),
                Line2D([], [], ls="", marker="o", markerfacecolor="white",
                       markeredgecolor="#CC79A7", label="ctDNA not detected")]
        mx.grid(axis="x", color="#eaeef2", lw=0.6)
        twin = recist is not None and len(recist) and ctdna is not None and len(ctdna)
        mx.legend(handles=measure_handles, fontsize=7, frameon=False, loc="upper left",
                  bbox_to_anchor=(1.16 if twin else 1.01, 1.0))
    else:
        bottom = ax
    known = [start, stop]
    if len(own_events):
        known.append(mdates.date2num(own_events["date"].to_numpy()))
    if recist is not None and len(recist):
        known.append(mdates.date2num(recist["assessment_date"].dropna().to_numpy()))
    if ctdna is not None and len(ctdna):
        known.append(mdates.date2num(ctdna["collected"].dropna().to_numpy()))
    first, last = min(k.min() for k in known if len(k)), max(k.max() for k in known if len(k))
    width = max(last - first, 30.0)
    bottom.set_xlim(first - 0.03 * width, last + 0.08 * width)
    locator = _date_locator(width)
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    _mark_simulated(fig, simulated)
    return markup(fig, _salt("timeline", patient), image)


# --- calibration ------------------------------------------------------------------------


def calibration_plot(calibration: pd.DataFrame, *, horizon_label: str, image: str = "svg",
                     simulated: bool = False) -> Any:
    """Observed against predicted event-free probability per risk group, with the diagonal.

    Grouped calibration of a survival model at one horizon, as Van Calster et al. describe
    (BMC Med 2019;17:230, doi:10.1186/s12916-019-1466-7; Royston & Altman, BMC Med Res
    Methodol 2013;13:33, doi:10.1186/1471-2288-13-33): each risk group's mean predicted
    probability against its observed (Kaplan–Meier) probability with its confidence
    interval; points on the diagonal are well calibrated.

    Parameters
    ----------
    calibration
        Columns group, predicted, observed, lower, upper (probabilities 0-1) at one
        horizon; ``observed_lower`` / ``observed_upper`` (the names of
        :attr:`tumorboard.outcomes.prognostic` ``calibration_``) are read as lower / upper,
        and a ``horizon`` column must hold a single value.
    horizon_label
        What the probability is of, e.g. ``"24-month overall survival"``.
    image, simulated
        As :func:`kaplan_meier_plot`.
    """
    if isinstance(calibration, pd.DataFrame):
        if "horizon" in calibration.columns and calibration["horizon"].nunique() > 1:
            raise InputError("calibration holds several horizons; a plot shows one",
                             column="horizon", expected="one horizon",
                             fix="plot each horizon on its own (groupby('horizon'))")
        # The names prognostic's calibration_ table uses for the observed interval.
        aliases = {"observed_lower": "lower", "observed_upper": "upper"}
        calibration = calibration.rename(columns={
            a: b for a, b in aliases.items()
            if a in calibration.columns and b not in calibration.columns})
    _require(calibration, ["group", "predicted", "observed", "lower", "upper"],
             name="calibration", what="calibration")
    values = {c: _numeric(calibration, c, name="calibration").to_numpy()
              for c in ("predicted", "observed", "lower", "upper")}
    for c, v in values.items():
        bad = np.isfinite(v) & ((v < 0) | (v > 1))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"calibration row {row + 1}: {c} {v[row]} is outside 0-1",
                             column=c, sample=str(calibration["group"].iloc[row]),
                             expected="a probability between 0 and 1",
                             fix="give probabilities, not percentages")
    pred, obs, lo, hi = (values[c] for c in ("predicted", "observed", "lower", "upper"))
    groups = calibration["group"].astype(str).tolist()
    fig = _figure(4.8, 4.6)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#57606a", ls="--", lw=0.8, label="perfect calibration")
    ci = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(pred) & np.isfinite(obs)
    ax.errorbar(pred[ci], obs[ci], yerr=[obs[ci] - lo[ci], hi[ci] - obs[ci]], fmt="none",
                ecolor="#1b1f24", elinewidth=0.9, capsize=3)
    shown = np.isfinite(pred) & np.isfinite(obs)
    ax.scatter(pred[shown], obs[shown], s=36, color="#0072B2", edgecolors="#1b1f24", lw=0.5,
               zorder=3, label="risk group (95 % CI)")
    for i in np.flatnonzero(shown):
        ax.annotate(groups[i], (pred[i], obs[i]), xytext=(5, -10), textcoords="offset points",
                    fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel(f"Predicted {horizon_label}", fontsize=8)
    ax.set_ylabel(f"Observed {horizon_label} (Kaplan–Meier)", fontsize=8)
    ax.grid(color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.set_title(f"Calibration: {horizon_label}", fontsize=10, loc="left")
    _mark_simulated(fig, simulated)
    return markup(fig, _salt("calibration", horizon_label), image)

"""Drug screens on patient-derived models for the eye: the MTB report section and the cohort
DSS heatmap.

Data shaping (:func:`screen_rows`, :func:`functional_section`, :func:`cohort_screen_table`,
:func:`heatmap_order`) is kept apart from drawing (:func:`dose_response_panels`,
:func:`dss_heatmap`), as DESIGN.md §4 asks. Plotting never recomputes: a dose–response
curve is drawn from the four parameters the layer stored in the finding's provenance
(``provenance["fit"]``), the cohort band from the stored p10/p50/p90 curves of the other
models (``provenance["cohort"]``), the replicate points from ``provenance["points"]``; no
curve is fitted and no score computed here (the layer, :mod:`tumorboard.layers.drugscreen`,
does that; the contract is spec §3 of issue 9).

Figures are matplotlib :class:`~matplotlib.figure.Figure` objects rendered by
:func:`tumorboard.report.plots.markup` (inline SVG on screen, PNG in the PDF). Drawn elements
carry stable ids (``gid``) so that the SVG can be checked and styled: per dose–response panel
``<prefix>-curve``, ``-median``, ``-band`` and ``-points``; in the heatmap ``dss-cells``,
``dss-failed``, ``dss-sensitive`` and ``dss-resistant``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.errors import NotFoundError
from tumorboard.knowledge.drugs import agent_set, drug_components
from tumorboard.model import json_ready, optional_float
from tumorboard.report.plots import _figure, markup

#: Layer and finding kind of drug-screen findings (spec §3 of issue 9).
SCREEN_LAYER = "drug_screen"
SCREEN_KIND = "drug_sensitivity"

#: The calls of the drug-screen layer, in the order a table lists them: the calls a board
#: acts on first, then the rest, the unusable last (tumorboard's own order, so that the
#: sensitive and resistant drugs head each model's table).
CALL_ORDER: tuple[str, ...] = ("sensitive", "resistant", "active", "inactive",
                               "insufficient_reference", "qc_failed", "fit_failed")

#: Calls whose DSS is not usable (plate QC or the fit failed): grey in the heatmap.
UNUSABLE_CALLS: tuple[str, ...] = ("qc_failed", "fit_failed")

#: Calls drawn as dose–response panels in the report (besides drugs of recommendations).
PLOTTED_CALLS: tuple[str, ...] = ("sensitive", "resistant")

#: At most this many dose–response panels per model: beyond a dozen panels a board no
#: longer reads them (tumorboard's own choice); the table lists every drug.
MAX_PANELS = 12

#: Colour of each call in tables and panel titles (Okabe–Ito vermillion and blue for the
#: two calls that matter, as :data:`tumorboard.report.outcome_plots.GROUP_COLOURS`).
CALL_COLOURS: dict[str, str] = {"sensitive": "#D55E00", "resistant": "#0072B2",
                                "active": "#1b1f24", "inactive": "#57606a",
                                "insufficient_reference": "#57606a",
                                "qc_failed": "#8c959f", "fit_failed": "#8c959f"}

#: Colour map of the DSS heatmap and its range. DSS3 runs from 0 (no response above the
#: 10 % threshold) to about 50 for a full response over the tested range (Yadav et al., Sci
#: Rep 2014;4:5193, doi:10.1038/srep05193, PMID 24898935); 40 already marks a very potent
#: drug, so the scale saturates there (tumorboard's choice, so that a few extreme values do
#: not wash out the rest). ``viridis`` is perceptually uniform and readable with colour-vision
#: deficiencies (https://matplotlib.org/stable/users/explain/colors/colormaps.html).
DSS_CMAP = "viridis"
DSS_MAX = 40.0
#: Grey of cells without a usable DSS (QC or fit failed) and of drugs not screened.
FAILED_COLOUR = "#afb8c1"
NOT_SCREENED_COLOUR = "#ffffff"

#: Above this many models the heatmap drops its row labels, which would overlap at the
#: row height it uses (tumorboard's choice, measured on the figure).
MAX_ROW_LABELS = 80
#: Above this many cells the heatmap's cells and marks are rasterised (one image in the SVG
#: instead of a path per cell; text stays text), as the OncoPrint does for many patients:
#: 1,000 models × 30 drugs as paths would make a page of several megabytes (tumorboard's
#: choice).
DENSE_CELLS = 4000

METHOD = {"step": "Drug screens on patient-derived models",
          "method": "plate-wise normalisation to vehicle and positive controls with Z'-factor "
                    "QC; 4-parameter log-logistic fit per model and drug; drug sensitivity "
                    "score DSS3 over the tested range; leave-one-out z-score and percentile "
                    "of the DSS among the other models screened with the drug",
          "source": "Zhang et al., J Biomol Screen 1999, doi:10.1177/108705719900400206; "
                    "Yadav et al., Sci Rep 2014, doi:10.1038/srep05193; docs/methods.md"}


# --- data -------------------------------------------------------------------------------


def _call_rank(call: Any) -> int:
    return CALL_ORDER.index(call) if call in CALL_ORDER else len(CALL_ORDER)


def screen_rows(findings: pd.DataFrame, *, curves: bool = True) -> list[dict[str, Any]]:
    """One JSON-ready record per drug-screen finding, read from the finding and its
    provenance (spec §3 of issue 9).

    Parameters
    ----------
    findings
        A findings table (:func:`tumorboard.model.findings_frame`); rows of other layers are
        ignored. A ``patient`` and an ``entity`` column are carried over when present.
    curves
        Keep what a dose–response panel needs (``curve``: the fit's parameters, the
        normalised points and the cohort band); off for cohort tables.

    Returns
    -------
    list of dict
        Keys patient, entity, sample, model, model_type, drug, drug_as_given, agents, dss,
        z_score, percentile_cohort, percentile_entity, reference_size, call, fit_status,
        fit_reason, ic50_um, ic50_censored, ec50_um, emax, auc, r2, cmin_um, cmax_um, plates,
        z_prime_min, plate_qc ('fail' if any plate failed, 'pass' if all passed, else
        'not_assessed') and, with ``curves``, curve. Ordered by model, then
        :data:`CALL_ORDER`, then DSS (highest first), then drug.
    """
    if findings is None or not len(findings):
        return []
    rows = findings[(findings["layer"] == SCREEN_LAYER) & (findings["kind"] == SCREEN_KIND)]
    out = []
    for r in rows.to_dict(orient="records"):
        prov = r.get("provenance") if isinstance(r.get("provenance"), dict) else {}
        fit = prov.get("fit") or {}
        plates = list(prov.get("plates") or [])
        primes = [optional_float(p.get("z_prime")) for p in plates]
        primes = [p for p in primes if p is not None]
        qcs = {p.get("qc") for p in plates}
        plate_qc = ("fail" if "fail" in qcs else
                    "pass" if qcs == {"pass"} else "not_assessed")
        rec: dict[str, Any] = {
            "patient": r.get("patient"), "entity": r.get("entity"), "sample": r.get("sample"),
            "model": prov.get("model") or r.get("sample"),
            "model_type": prov.get("model_type"), "drug": r.get("feature"),
            "drug_as_given": prov.get("drug_as_given"),
            "agents": list(prov.get("agents") or drug_components(str(r.get("feature")))),
            "dss": optional_float(r.get("value")), "z_score": optional_float(r.get("z_score")),
            "percentile_cohort": optional_float(r.get("percentile_cohort")),
            "percentile_entity": optional_float(r.get("percentile_entity")),
            "reference_size": (None if optional_float(r.get("reference_size")) is None
                               else int(r["reference_size"])),
            "call": r.get("call"), "fit_status": fit.get("status"),
            "fit_reason": fit.get("reason"), "ic50_um": optional_float(fit.get("ic50_um")),
            "ic50_censored": fit.get("ic50_censored"),
            "ec50_um": optional_float(fit.get("ec50_um")),
            "emax": optional_float(fit.get("emax")), "auc": optional_float(fit.get("auc")),
            "r2": optional_float(fit.get("r2")), "cmin_um": optional_float(prov.get("cmin_um")),
            "cmax_um": optional_float(prov.get("cmax_um")), "plates": plates,
            "z_prime_min": min(primes) if primes else None, "plate_qc": plate_qc,
        }
        if curves:
            rec["curve"] = {"fit": {k: fit.get(k) for k in _FIT_FIELDS},
                            "points": prov.get("points") or {},
                            "cohort": prov.get("cohort") or {}}
        out.append(json_ready(rec))
    out.sort(key=lambda x: (str(x["model"]), _call_rank(x["call"]),
                            -(x["dss"] if x["dss"] is not None else -math.inf),
                            str(x["drug"])))
    return out


#: The stored fit's own fields (those of :class:`tumorboard.layers.doseresponse.CurveFit`),
#: kept for drawing; the derived ones (IC50, Emax, AUC) are in the record itself.
_FIT_FIELDS = ("status", "reason", "top", "bottom", "hill", "log10_ec50", "log10_cmin",
               "log10_cmax", "n_points", "n_concentrations", "r2", "rmse", "f_pvalue")


def functional_section(findings: pd.DataFrame, recommendations: Sequence[dict[str, Any]], *,
                       functional_only: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The report's "Functional testing (patient-derived models)" section; empty when the
    patient has no drug-screen finding.

    Parameters
    ----------
    findings
        The patient's findings table.
    recommendations
        The patient's recommendations (as stored, with ``agents`` and, from the
        recommendation step, a ``functional`` list); a drug whose components equal a
        recommendation's agents (as sets, :func:`tumorboard.knowledge.drugs.drug_components`,
        the matching rule of spec §4) is linked to it and drawn.
    functional_only
        Functional-only candidates returned apart from the recommendations; those stored as
        recommendations with basket ``functional_only`` are taken from ``recommendations``.

    Returns
    -------
    dict
        ``models`` (per model: model, model_type, sample and its ``drugs``, the records of
        :func:`screen_rows` with ``recommendations`` (the ranks and therapies they back) and
        ``plotted``), ``candidates`` (the functional-only candidates), ``thresholds`` (as the
        layer stored them) and ``method``; ``{}`` without drug-screen findings.
    """
    rows = screen_rows(findings)
    if not rows:
        return {}
    recs = [r for r in recommendations if r.get("basket") != "functional_only"]
    candidates = [r for r in recommendations if r.get("basket") == "functional_only"]
    seen = {(r.get("id"), r.get("therapy")) for r in candidates}
    candidates += [r for r in functional_only if (r.get("id"), r.get("therapy")) not in seen]
    # without the row timestamps, as build_document keeps recommendations: the content digest
    # changes only with the content
    candidates = [{k: v for k, v in r.items() if k != "updated_at"} for r in candidates]
    by_agents: dict[frozenset[str], list[dict[str, Any]]] = {}
    for r in recs:
        agents = r.get("agents") or [r.get("therapy") or ""]
        by_agents.setdefault(agent_set(agents), []).append(
            {"rank": r.get("rank"), "therapy": r.get("therapy"),
             "evidence_level": r.get("evidence_level")})
    models: dict[str, dict[str, Any]] = {}
    for row in rows:
        row["recommendations"] = by_agents.get(agent_set(row["agents"]), [])
        m = models.setdefault(str(row["model"]), {
            "model": row["model"], "model_type": row["model_type"], "sample": row["sample"],
            "drugs": []})
        m["drugs"].append(row)
    for m in models.values():
        # the table's order puts sensitive and resistant drugs first: they keep their panels
        wanted = [d for d in m["drugs"] if d["call"] in PLOTTED_CALLS or d["recommendations"]]
        shown = {id(d) for d in wanted[:MAX_PANELS]}
        for d in m["drugs"]:
            d["plotted"] = id(d) in shown
        m["n_plotted"] = len(shown)
        m["n_not_plotted"] = len(wanted) - len(shown)
    return json_ready({"models": list(models.values()), "candidates": candidates,
                       "thresholds": _thresholds(findings), "method": METHOD})


def _thresholds(findings: pd.DataFrame) -> dict[str, Any]:
    """The call thresholds the layer stored with its findings (the same in every one); the
    layer's current ones for any the findings do not name (findings of older versions)."""
    from tumorboard.layers.drugscreen import call_thresholds as current

    screens = findings[(findings["layer"] == SCREEN_LAYER) & (findings["kind"] == SCREEN_KIND)]
    for prov in screens["provenance"]:
        if isinstance(prov, dict) and prov.get("thresholds"):
            return {**current(), **prov["thresholds"]}
    return current()


def cohort_screen_table(session: Any) -> pd.DataFrame:
    """Every model's drug-screen results in the registry: one row per (model, drug) of each
    patient's latest analysis, with the patient's current entity (OncoTree).

    Returns the columns of :func:`screen_rows` (without curves) as a table.

    Raises
    ------
    NotFoundError
        No drug-screen finding in the registry; the message says how to get some.
    """
    from sqlalchemy import func, select

    from tumorboard.registry.models import Analysis, Diagnosis, Finding, Patient, Sample

    latest = (select(func.max(Analysis.id).label("id")).group_by(Analysis.patient_id)
              .subquery())
    current = (select(Diagnosis.patient_id, func.max(Diagnosis.id).label("id"))
               .group_by(Diagnosis.patient_id).subquery())
    stmt = (select(Patient.pseudonym, Diagnosis.oncotree_code, Sample.sample_key,
                   Finding.feature, Finding.value, Finding.z_score, Finding.percentile_cohort,
                   Finding.percentile_entity, Finding.reference_size, Finding.call,
                   Finding.provenance)
            .join(Patient, Patient.id == Finding.patient_id)
            .outerjoin(Sample, Sample.id == Finding.sample_id)
            .outerjoin(current, current.c.patient_id == Patient.id)
            .outerjoin(Diagnosis, Diagnosis.id == current.c.id)
            .where(Finding.analysis_id.in_(select(latest.c.id)))
            .where(Finding.layer == SCREEN_LAYER, Finding.kind == SCREEN_KIND))
    raw = pd.DataFrame([tuple(r) for r in session.execute(stmt)],
                       columns=["patient", "entity", "sample", "feature", "value", "z_score",
                                "percentile_cohort", "percentile_entity", "reference_size",
                                "call", "provenance"])
    if raw.empty:
        raise NotFoundError(
            "no drug-screen results in the registry: no analysed patient has findings of "
            "layer 'drug_screen'. Fix: 1. list each screen file in its case.yaml under the "
            "tumour sample as {layer: drug_screen, format: drug_screen, path: ...} "
            "(docs/formats.md); 2. tumorboard import; 3. tumorboard analyze.")
    raw = raw.assign(layer=SCREEN_LAYER, kind=SCREEN_KIND)
    return pd.DataFrame(screen_rows(raw, curves=False))


def heatmap_order(table: pd.DataFrame) -> tuple[list[tuple[str, str]], list[str]]:
    """Rows (entity, model) and columns (drugs) of the DSS heatmap.

    Rows are grouped by entity, the largest entity first (ties by code; models without an
    entity last as "unknown"), models within an entity by name. Drugs are ordered by the
    median DSS over the models with a usable DSS, highest first, so the broadly active drugs
    stand on the left (ties and drugs without a usable DSS by name). Both are tumorboard's
    own choices: grouping by entity is how a sarcoma board compares models; the order
    within a group is by name so a model is found where it is expected.
    """
    if table is None or not len(table):
        return [], []
    t = table.assign(entity=table["entity"].astype(object).where(table["entity"].notna(),
                                                                 "unknown"))
    models = t.drop_duplicates("model")[["entity", "model"]].astype(str)
    size = models.groupby("entity")["model"].size()
    models = models.assign(n=models["entity"].map(size), unknown=models["entity"] == "unknown")
    models = models.sort_values(["unknown", "n", "entity", "model"],
                                ascending=[True, False, True, True], kind="stable")
    rows = list(zip(models["entity"], models["model"], strict=True))
    usable = t[~t["call"].isin(UNUSABLE_CALLS) & t["dss"].notna()]
    median = usable.groupby("drug")["dss"].median()
    drugs = sorted(t["drug"].astype(str).unique(),
                   key=lambda d: (-median[d] if d in median.index else math.inf, d))
    return rows, drugs


# --- drawing ----------------------------------------------------------------------------


def fitted_viability(fit: dict[str, Any], log10_conc: Any) -> np.ndarray:
    """The stored fit's % viability at ``log10_conc`` (log10 µM), from its parameters.

    The stored parameters are put back into the layer's
    :class:`tumorboard.layers.doseresponse.CurveFit` and evaluated by its ``viability``
    (the 4-parameter log-logistic ``bottom + (top - bottom) / (1 + 10 ** (hill (x -
    log10_ec50)))``; flat: the constant level; failed: NaN), so the report draws exactly the
    curve the layer scored. Evaluating stored parameters is drawing, not fitting.
    """
    from dataclasses import fields

    from tumorboard.layers.doseresponse import CurveFit

    stored = CurveFit(**{f.name: fit.get(f.name) for f in fields(CurveFit)})
    return np.asarray(stored.viability(np.asarray(log10_conc, dtype=float)), dtype=float)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower() or "x"


def _fmt(value: Any, spec: str) -> str:
    v = optional_float(value)
    return "–" if v is None else format(v, spec)


def panel_title(drug: dict[str, Any]) -> str:
    """The title of a dose–response panel: the drug; DSS and call; percentile in the cohort,
    z-score and reference size (the models it was judged against)."""
    call = str(drug.get("call") or "").replace("_", " ")
    extra = []
    if drug.get("percentile_cohort") is not None:
        extra.append(f"percentile {_fmt(drug['percentile_cohort'], '.0f')}")
    if drug.get("z_score") is not None:
        extra.append(f"z {_fmt(drug['z_score'], '.1f')}")
    if drug.get("reference_size") is not None:
        extra.append(f"n {drug['reference_size']}")
    return "\n".join([str(drug["drug"]), f"DSS {_fmt(drug.get('dss'), '.1f')} · {call}",
                      *([" · ".join(extra)] if extra else [])])


def dose_response_panels(drugs: Sequence[dict[str, Any]], *, model: str,
                         image: str = "svg", simulated: bool = False,
                         ncols: int = 3) -> Any:
    """Dose–response panels of one model: one panel per drug record.

    Each panel: log concentration (µM) on x, % viability on y; the cohort's p10–p90 band
    (grey) and median curve (dashed) of the other valid models screened with the drug; this
    model's replicate points and fitted curve; DSS and call in the title. Everything comes
    from the stored records (:func:`screen_rows` with curves); nothing is fitted here.

    Parameters
    ----------
    drugs
        Records of :func:`screen_rows` (with ``curve``), one panel each, in order.
    model
        The model id, for the figure title and the element ids.
    image
        ``'svg'``, ``'png'`` or ``'figure'`` (:func:`tumorboard.report.plots.markup`).
    simulated
        Mark the figure "SIMULATED".
    ncols
        Panels per row.
    """
    from tumorboard.report.plots import no_data_svg

    drugs = list(drugs)
    if not drugs:
        return no_data_svg(f"{model}: no drug to draw")
    ncols = max(1, min(ncols, len(drugs)))
    nrows = math.ceil(len(drugs) / ncols)
    fig = _figure(2.6 * ncols + 0.4, 2.5 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.ravel()[len(drugs):]:
        ax.set_visible(False)
    prefix = f"dr-{_slug(model)}"
    for i, (ax, d) in enumerate(zip(axes.ravel(), drugs, strict=False)):
        _draw_panel(ax, d, gid=f"{prefix}-{i}")
        if i % ncols == 0:
            ax.set_ylabel("viability (% of vehicle)", fontsize=7)
        if i >= len(drugs) - ncols:
            ax.set_xlabel("concentration (µM, log)", fontsize=7)
    # the band and median are explained in the report's caption: a one-panel figure is
    # too narrow for a long title
    title = f"{model}: dose–response"
    if simulated:  # the house mark (outcome_plots._mark_simulated), with the model kept
        fig.suptitle(f"SIMULATED data — not patients · {title}", x=0.01, ha="left",
                     fontsize=9, color="#cf222e", fontweight="bold")
    else:
        fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    return markup(fig, prefix, image)


def _draw_panel(ax: Any, d: dict[str, Any], *, gid: str) -> None:
    curve = d.get("curve") or {}
    fit = curve.get("fit") or {}
    band = curve.get("cohort") or {}
    points = curve.get("points") or {}
    colour = CALL_COLOURS.get(str(d.get("call")), "#1b1f24")
    grid = np.asarray(band.get("log10_conc") or [], dtype=float)
    if grid.size:
        conc = np.power(10.0, grid)
        lo = np.asarray(band.get("p10") or [], dtype=float)
        hi = np.asarray(band.get("p90") or [], dtype=float)
        if lo.size == grid.size and hi.size == grid.size:
            ax.fill_between(conc, lo, hi, color="#d0d7de", alpha=0.8, lw=0, gid=f"{gid}-band")
        mid = np.asarray(band.get("p50") or [], dtype=float)
        if mid.size == grid.size:
            ax.plot(conc, mid, color="#57606a", ls="--", lw=1, gid=f"{gid}-median")
    lo_x, hi_x = optional_float(fit.get("log10_cmin")), optional_float(fit.get("log10_cmax"))
    if lo_x is None or hi_x is None:
        lo_x, hi_x = ((float(grid.min()), float(grid.max())) if grid.size else (-3.0, 1.0))
    x = np.linspace(lo_x, hi_x, 120)
    y = fitted_viability(fit, x)
    if np.isfinite(y).any():
        ax.plot(np.power(10.0, x), y, color=colour, lw=1.8, gid=f"{gid}-curve")
    pc = np.asarray(points.get("conc_um") or [], dtype=float)
    pv = np.asarray(points.get("viability") or [], dtype=float)
    if pc.size and pc.size == pv.size:
        ax.scatter(pc, pv, s=10, color=colour, edgecolors="white", linewidths=0.4, zorder=3,
                   gid=f"{gid}-points")
    ax.set_xscale("log")
    ax.axhline(100, color="#eaeef2", lw=0.6, zorder=0)
    ax.axhline(0, color="#eaeef2", lw=0.6, zorder=0)
    ax.set_ylim(-10, 130)
    ax.tick_params(labelsize=7)
    status = fit.get("status")
    title = panel_title(d)
    if status in ("flat", "failed"):
        title += f"\nfit {status}" + (f": {fit.get('reason') or d.get('fit_reason')}"
                                      if (fit.get("reason") or d.get("fit_reason")) else "")
    ax.set_title(title, fontsize=7.5, loc="left", color=colour)


def dss_heatmap(table: pd.DataFrame, *, image: str = "svg", simulated: bool = False,
                title: str | None = None) -> Any:
    """DSS of every model (rows, grouped by entity) and drug (columns) as a heatmap.

    Colour is the DSS (:data:`DSS_CMAP`, 0 to :data:`DSS_MAX`, saturating); a sensitive
    call is marked with a white-edged upward triangle, a resistant call with a downward
    one; cells whose plate QC or fit failed are grey (:data:`FAILED_COLOUR`), drugs not
    screened on a model are left white. Row and column order: :func:`heatmap_order`.
    An entity colour strip on the left names each group.

    Parameters
    ----------
    table
        Rows of :func:`screen_rows` (e.g. :func:`cohort_screen_table`): entity, model,
        drug, dss, call at least.
    image, simulated, title
        As in :func:`dose_response_panels`; default title "DSS of N models × M drugs".
    """
    from matplotlib import colormaps
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize
    from matplotlib.patches import Patch

    from tumorboard.report.oncoprint import _entity_colours, _rects
    from tumorboard.report.outcome_plots import _mark_simulated
    from tumorboard.report.plots import no_data_svg

    rows, drugs = heatmap_order(table)
    if not rows:
        return no_data_svg("no drug-screen results to draw")
    t = table.assign(entity=table["entity"].astype(object).where(table["entity"].notna(),
                                                                 "unknown"))
    y_of = {m: i for i, (_, m) in enumerate(rows)}
    x_of = {d: j for j, d in enumerate(drugs)}
    t = t.assign(x=t["drug"].astype(str).map(x_of), y=t["model"].astype(str).map(y_of))
    failed = t["call"].isin(UNUSABLE_CALLS) | t["dss"].isna()
    n_rows, n_cols = len(rows), len(drugs)
    width = min(18.0, 4.0 + 0.34 * n_cols)
    fig = _figure(width, min(40.0, 2.4 + 0.2 * n_rows))
    ax = fig.add_subplot()
    cmap = colormaps[DSS_CMAP]
    norm = Normalize(0.0, DSS_MAX, clip=True)
    ok = t[~failed]
    dense = n_rows * n_cols > DENSE_CELLS
    ax.add_collection(PolyCollection(
        _rects(list(zip(ok["x"], ok["y"], strict=True)), width=0.94, height=0.9),
        facecolors=cmap(norm(ok["dss"].astype(float).to_numpy())), edgecolors="none",
        gid="dss-cells", rasterized=dense))
    bad = t[failed]
    if len(bad):
        ax.add_collection(PolyCollection(
            _rects(list(zip(bad["x"], bad["y"], strict=True)), width=0.94, height=0.9),
            facecolors=FAILED_COLOUR, edgecolors="none", hatch="////", gid="dss-failed",
            rasterized=dense))
    for call, marker in (("sensitive", "^"), ("resistant", "v")):
        part = t[(t["call"] == call) & ~failed]
        if len(part):
            ax.scatter(part["x"], part["y"], marker=marker, s=6 if dense else 22,
                       color=CALL_COLOURS[call], edgecolors="white",
                       linewidths=0.2 if dense else 0.6, zorder=3, gid=f"dss-{call}",
                       rasterized=dense)
    entities = list(dict.fromkeys(e for e, _ in rows))
    colour = _entity_colours(entities)
    ax.add_collection(PolyCollection(
        _rects([(-1.0, i) for i in range(n_rows)], width=0.4, height=1.0),
        facecolors=[colour[e] for e, _ in rows], edgecolors="none", gid="dss-entity",
        rasterized=dense))
    start = 0
    for e in entities:  # a thin line between entity groups
        start += sum(1 for x, _ in rows if x == e)
        if start < n_rows:
            ax.axhline(start - 0.5, color="#1b1f24", lw=0.8)
    ax.set_xticks(range(n_cols), drugs, rotation=60, ha="right", rotation_mode="anchor",
                  fontsize=7)
    if n_rows <= MAX_ROW_LABELS:
        ax.set_yticks(range(n_rows), [m for _, m in rows], fontsize=7)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{n_rows} models", fontsize=8)
    ax.tick_params(length=0)
    ax.set_xlim(-1.4, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    for side in ax.spines.values():
        side.set_visible(False)
    from matplotlib.cm import ScalarMappable

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6, pad=0.01,
                       extend="max")
    bar.set_label(f"DSS3 (saturates at {DSS_MAX:.0f})", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    from matplotlib.lines import Line2D

    handles: list[Any] = [Line2D([], [], ls="", marker=m, color=CALL_COLOURS[c],
                                 markeredgecolor="white", label=c)
                          for c, m in (("sensitive", "^"), ("resistant", "v"))]
    handles.append(Patch(facecolor=FAILED_COLOUR, hatch="////", label="QC or fit failed"))
    handles += [Patch(facecolor=colour[e], label=e) for e in entities]
    fig.legend(handles=handles, loc="outside lower center", fontsize=7, frameon=False,
               ncol=max(1, min(len(handles), int(width / 1.7))))
    ax.set_title(title or f"DSS of {n_rows} models × {n_cols} drugs", fontsize=10, loc="left")
    _mark_simulated(fig, simulated)
    return markup(fig, "dss-heatmap", image)


# --- the cohort page --------------------------------------------------------------------

_TABLE_COLUMNS: dict[str, str | None] = {
    "entity": None, "patient": None, "model": None, "model_type": None, "drug": None,
    "dss": ".1f", "percentile_cohort": ".0f", "percentile_entity": ".0f", "z_score": ".2f",
    "reference_size": "d", "call": None, "ic50_um": ".3g", "emax": ".0f", "fit_status": None,
    "z_prime_min": ".2f"}


def cohort_screens_document(table: pd.DataFrame, *, simulated: bool = False
                            ) -> dict[str, Any]:
    """The cohort drug-screen page's JSON document: counts, heatmap order and every row."""
    rows, drugs = heatmap_order(table)
    calls = table["call"].astype(str).value_counts()
    n_models, n_drugs = len(rows), len(drugs)
    sens = int(calls.get("sensitive", 0))
    res = int(calls.get("resistant", 0))
    unusable = int(sum(calls.get(c, 0) for c in UNUSABLE_CALLS))
    headline = (f"{n_models} models of {table['patient'].nunique()} patients screened with "
                f"{n_drugs} drugs: of {len(table)} model–drug results {sens} sensitive, "
                f"{res} resistant, {unusable} failed QC or fit")
    ordered = table.assign(_y=table["model"].map({m: i for i, (_, m) in enumerate(rows)}),
                           _x=table["drug"].map({d: j for j, d in enumerate(drugs)}))
    ordered = ordered.sort_values(["_y", "_x"]).drop(columns=["_y", "_x"])
    return json_ready({
        "kind": "drug_screens", "headline": headline, "simulated": simulated,
        "n_models": n_models, "n_patients": int(table["patient"].nunique()),
        "n_drugs": n_drugs,
        "calls": {c: int(calls.get(c, 0)) for c in CALL_ORDER},
        "entities": {e: sum(1 for x, _ in rows if x == e)
                     for e in dict.fromkeys(e for e, _ in rows)},
        "models": [{"entity": e, "model": m} for e, m in rows], "drugs": drugs,
        "screens": ordered.to_dict(orient="records"), "method": METHOD})


def render_cohort_screens(table: pd.DataFrame, document: dict[str, Any], *,
                          simulated: bool = False) -> str:
    """The cohort drug-screen page as one self-contained HTML page (heatmap and table)."""
    from tumorboard import __version__
    from tumorboard.report.summary import template_environment

    body = []
    for r in document["screens"]:
        body.append({c: _cell(r.get(c), f) for c, f in _TABLE_COLUMNS.items()}
                    | {"_call": r.get("call")})
    return template_environment().get_template("cohort_screens.html").render(
        d=document, heatmap=dss_heatmap(table, simulated=simulated),
        columns=[c.replace("_", " ") for c in _TABLE_COLUMNS], keys=list(_TABLE_COLUMNS),
        rows=body, version=__version__, footer="cohort drug screens",
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))


def _cell(v: Any, fmt: str | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if fmt and isinstance(v, int | float):
        return format(int(v) if fmt == "d" else v, fmt)
    return str(v).replace("_", " ")


def write_cohort_screens(workspace: Any) -> tuple[dict[str, Any], dict[str, Path]]:
    """Write ``reports/cohort/drug-screens.html`` (self-contained: heatmap and table) and
    ``drug-screens.json`` of the registry's drug screens, each atomically; returns (the JSON
    document, paths by format).

    Raises
    ------
    NotFoundError
        No drug-screen results in the registry (nothing is written).
    """
    from tumorboard.outcomes.records import any_simulated

    with workspace.session() as session:
        table = cohort_screen_table(session)
        # the house rule of the cohort pages: any simulated record marks the page
        simulated = any_simulated(session)
    document = cohort_screens_document(table, simulated=simulated)
    out = workspace.reports_dir / "cohort"
    out.mkdir(parents=True, exist_ok=True)
    paths = {"html": out / "drug-screens.html", "json": out / "drug-screens.json"}
    texts = {"html": render_cohort_screens(table, document, simulated=simulated),
             "json": json.dumps(document, indent=2, ensure_ascii=False) + "\n"}
    for fmt, path in paths.items():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(texts[fmt], encoding="utf-8")
        tmp.replace(path)
    return document, paths


__all__ = ["CALL_ORDER", "DSS_MAX", "MAX_PANELS", "cohort_screen_table",
           "cohort_screens_document", "dose_response_panels", "dss_heatmap",
           "fitted_viability", "functional_section", "heatmap_order", "panel_title",
           "render_cohort_screens", "screen_rows", "write_cohort_screens"]

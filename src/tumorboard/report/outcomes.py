"""Cohort outcome pages (PFS ratio, survival, prognostic score, ctDNA) as HTML and JSON.

Renders the documents of :mod:`tumorboard.outcomes.cohort` with the figures of
:mod:`tumorboard.report.outcome_plots`; computes nothing itself.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tumorboard import __version__
from tumorboard.outcomes import DAYS_PER_MONTH, DAYS_PER_YEAR, jsonable
from tumorboard.report import outcome_plots as op
from tumorboard.report.summary import template_environment

_TITLES = {"pfsr": "PFS ratio of MTB-guided therapy lines",
           "survival": "Survival after local ablative therapy",
           "prognostic": "Prognostic score after local ablative therapy",
           "ctdna": "Tumour-informed ctDNA monitoring"}


def _cell(v: Any, fmt: str | None = None) -> str:
    if v is None or (np.isscalar(v) and pd.isna(v)):
        return "–"
    if isinstance(v, pd.Timestamp | dt.date):
        return pd.Timestamp(v).date().isoformat()
    if fmt and isinstance(v, int | float | np.number):
        return format(v, fmt)
    if isinstance(v, float | np.floating):
        return f"{v:.3g}"
    return str(v)


def _table(df: pd.DataFrame | None, columns: dict[str, str | None], caption: str = ""
           ) -> dict[str, Any]:
    """A table for the template: ``columns`` maps column -> format spec (or None)."""
    cols = [c for c in columns if df is not None and c in df.columns]
    rows = [] if df is None else [[_cell(r[c], columns[c]) for c in cols]
                                  for r in df.to_dict(orient="records")]
    return {"caption": caption, "columns": [c.replace("_", " ") for c in cols], "rows": rows}


def _months(days: Any) -> Any:
    return np.asarray(days, dtype=float) / DAYS_PER_MONTH


def _km_section(title: str, km: Any, *, simulated: bool, image: str) -> dict[str, Any]:
    p = km.logrank["p"] if km.logrank else None
    fig = op.kaplan_meier_plot(km.curves, km.at_risk, title=title, logrank_p=p,
                               simulated=simulated, image=image)
    med = km.medians.assign(median_months=_months(km.medians["median"]),
                            lower_months=_months(km.medians["lower"]),
                            upper_months=_months(km.medians["upper"]))
    return {"title": title, "figures": [fig], "tables": [_table(
        med, {"group": None, "n": "d", "events": "d", "median_months": ".1f",
              "lower_months": ".1f", "upper_months": ".1f"},
        "median survival in months with its 95 % CI" + (
            f"; {op.p_text(p, 'log-rank p')}" if p is not None else ""))]}


def cohort_page(doc: dict[str, Any], *, simulated: bool = False, image: str = "svg"
                ) -> dict[str, Any]:
    """Title, notes and sections (figures and tables) of one cohort analysis document."""
    kind = doc["kind"]
    sections: list[dict[str, Any]] = []
    notes: list[str] = []
    subtitle = f"{len(doc.get('patients', []))} patients"
    if doc.get("selection"):
        subtitle += " matching " + ", ".join(doc["selection"])
    if kind == "pfsr":
        s = doc["summary"]
        ratios = doc["ratios"]
        if len(ratios):
            fig = op.pfsr_waterfall(ratios, threshold=doc["threshold"], simulated=simulated,
                                    image=image)
        text = (f"{s['n_guided']} MTB-guided lines: {s['n_benefit']} with PFSr ≥ "
                f"{doc['threshold']}, {s['n_no_benefit']} without, {s['n_not_evaluable']} "
                "not evaluable (censored or no previous line). Share with benefit among "
                f"evaluable lines {_share(s, 'evaluable')}; among all guided lines "
                f"{_share(s, 'guided')}. Texier midrank estimate of P(PFSr ≥ "
                f"{doc['threshold']}): {_cell(s['texier_estimate'], '.2f')} "
                f"(95 % CI {_ci(s['texier_ci'])}, n = {s['texier_n']}).")
        guided = doc["lines"]
        guided = guided[guided["patient"].isin(set(ratios["patient"]))] if len(ratios) else guided
        if len(guided):
            sections.append({"title": "Therapy lines of the patients with a guided line",
                             "figures": [op.swimmer_plot(
                                 guided, doc["events"][doc["events"]["patient"].isin(
                                     set(guided["patient"]))],
                                 simulated=simulated, image=image)]})
        sections.append({"title": "PFS ratio per guided line", "text": text,
                         "figures": [fig] if len(ratios) else [],
                         "tables": [_table(ratios, {
                             "patient": None, "line": "d", "previous_line": "d",
                             "pfs1_days": ".0f", "pfs1_event": None, "pfs2_days": ".0f",
                             "pfs2_event": None, "pfs_ratio": ".2f", "verdict": None,
                             "reason": None})]})
    elif kind == "survival":
        subtitle += f" · endpoint {doc['endpoint'].upper()} from {doc['time_zero']}"
        for name, km in doc["km"].items():
            sections.append(_km_section(f"{doc['endpoint'].upper()} — {name}", km,
                                        simulated=simulated, image=image))
        lm = doc.get("landmark")
        if lm is not None:
            sec = _km_section(f"{doc['endpoint'].upper()} — systemic therapy, landmark at "
                              f"{lm.landmark_days:.0f} days", lm.km, simulated=simulated,
                              image=image)
            sec["text"] = (f"Patients alive and event-free {lm.landmark_days:.0f} days after "
                           "the LAT, grouped by whether systemic therapy had started by then "
                           f"(time from the landmark; {lm.excluded_events} with an event and "
                           f"{lm.excluded_censored} censored before it left out). Guards "
                           "the with/without comparison against immortal-time bias.")
            sections.append(sec)
        if doc["forest"] is not None and len(doc["forest"]):
            forest = op.forest_plot(doc["forest"], title="Subgroup analyses (univariable Cox)",
                                    simulated=simulated, image=image)
            sections.append({"title": "Subgroup analyses of the sarcoma study group",
                             "figures": [forest], "tables": [_table(doc["subgroups"], {
                                 c: (".3g" if doc["subgroups"][c].dtype.kind == "f" else None)
                                 for c in doc["subgroups"].columns})]})
        if doc["cox"] is not None:
            cox = doc["cox"]
            ph = ", ".join(cox.ph_violations) or "none"
            sections.append({"title": "Multivariable Cox model",
                             "text": f"n = {cox.n}, events = {cox.events}, Harrell's C = "
                                     f"{cox.concordance:.3f}; proportional-hazards violations "
                                     f"(Schoenfeld p < 0.05): {ph}.",
                             "tables": [_table(cox.summary, {
                                 "covariate": None, "hr": ".2f", "lower": ".2f",
                                 "upper": ".2f", "p": ".3g"}),
                                 _table(cox.ph_test, {"covariate": None, "statistic": ".2f",
                                                      "p": ".3g"},
                                        "proportional-hazards test per term")]})
    elif kind == "prognostic":
        subtitle += f" · endpoint {doc['endpoint'].upper()} · {doc['events']} events"
        sections += _prognostic_sections(doc, simulated=simulated, image=image)
        notes.append("Anchors: Sarculator (Callegaro et al. 2016) and PERSARC (van Praag et "
                     "al. 2017) report C-indices of 0.68–0.77 on their data.")
    elif kind == "ctdna":
        f = doc["fractions"]
        sections.append({"title": "Tumour fraction and MRD call per plasma sample",
                         "tables": [_table(f, {"patient": None, "sample": None,
                                               "collected": None, "n_variants": "d",
                                               "tumour_fraction": ".2e", "lower": ".2e",
                                               "upper": ".2e", "p_value": ".2g",
                                               "mrd": None})]})
        sections.append({"title": "Molecular response between samples",
                         "tables": [_table(doc["responses"], {
                             "patient": None, "from_sample": None, "to_sample": None,
                             "fold_change": ".2f", "category": None})]})
        sections.append({"title": "Lead time over radiological progression",
                         "tables": [_table(doc["lead_times"], {
                             "patient": None, "first_positive_date": None,
                             "progression_date": None, "lead_time_days": ".0f"})]})
    return {"title": _TITLES[kind], "subtitle": subtitle, "notes": notes,
            "sections": sections, "simulated": simulated}


def _share(s: dict[str, Any], which: str) -> str:
    v = s[f"share_benefit_{which}"]
    return "–" if v is None or pd.isna(v) else (
        f"{v:.0%} (95 % CI {_ci(s[f'share_benefit_{which}_ci'])}, Clopper–Pearson)")


def _ci(ci: Any) -> str:
    if ci is None or any(x is None or pd.isna(x) for x in ci):
        return "–"
    return f"{ci[0]:.2f}–{ci[1]:.2f}"


def _prognostic_sections(doc: dict[str, Any], *, simulated: bool, image: str
                         ) -> list[dict[str, Any]]:
    tables = doc["tables"]
    out = []
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame):
            continue
        if "horizon" in df.columns:  # days -> years, as clinicians read horizons
            df = df.assign(horizon=(df["horizon"] / DAYS_PER_YEAR).round(1))
        out.append({"title": name.replace("_", " ").capitalize(), "tables": [_table(df, {
            c: (".3g" if df[c].dtype.kind == "f" else None) for c in df.columns})]})
    calib = tables.get("calibration")
    if isinstance(calib, pd.DataFrame) and len(calib) and "horizon" in calib:
        figs = [op.calibration_plot(g.drop(columns="horizon"),
                                    horizon_label=f"{h / 365.25:.0f} years",
                                    simulated=simulated, image=image)
                for h, g in calib.groupby("horizon")]
        out.insert(0, {"title": "Calibration", "figures": figs, "tables": []})
    out.insert(0, _km_section("Risk groups", doc["km"], simulated=simulated, image=image))
    return out


def render_cohort_page(doc: dict[str, Any], *, simulated: bool = False) -> str:
    """The analysis as one self-contained HTML page."""
    page = cohort_page(doc, simulated=simulated)
    return template_environment().get_template("cohort_outcomes.html").render(
        page=page, version=__version__, footer="cohort outcome analysis",
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))


def cohort_json(doc: dict[str, Any]) -> dict[str, Any]:
    """The analysis document as JSON: tables as rows, fitted results by their ``to_dict``."""
    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if hasattr(v, "to_dict") and not isinstance(v, pd.DataFrame | pd.Series):
            return v.to_dict()
        return jsonable(v)
    return {k: conv(v) for k, v in doc.items() if k not in ("model", "table")}


def write_cohort_report(doc: dict[str, Any], out_dir: Path, *, simulated: bool = False,
                        name: str | None = None) -> dict[str, Path]:
    """Write ``<name>.html`` and ``<name>.json`` (default name: the analysis kind) into
    ``out_dir``, each atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or doc["kind"]
    paths = {"html": out_dir / f"{name}.html", "json": out_dir / f"{name}.json"}
    texts = {"html": render_cohort_page(doc, simulated=simulated),
             "json": json.dumps(cohort_json(doc), indent=2, default=str) + "\n"}
    for fmt, path in paths.items():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(texts[fmt], encoding="utf-8")
        tmp.replace(path)
    return paths


def _headline(doc: dict[str, Any]) -> str:
    kind = doc["kind"]
    if kind == "pfsr":
        s = doc["summary"]
        return (f"{s['n_guided']} MTB-guided lines: {s['n_benefit']} with PFSr ≥ "
                f"{doc['threshold']} ({_share(s, 'guided')} of guided lines), "
                f"{s['n_no_benefit']} without benefit, {s['n_not_evaluable']} not evaluable")
    if kind == "survival":
        med = doc["km"]["overall"].medians.iloc[0]
        m = ("not reached" if pd.isna(med["median"])
             else f"{med['median'] / DAYS_PER_MONTH:.1f} months")
        return (f"{doc['endpoint'].upper()} from {doc['time_zero']}: {doc['n']} patients, "
                f"{int(med['events'])} events, median {m}")
    if kind == "prognostic":
        v = doc["tables"].get("validation")
        c = ""
        if isinstance(v, pd.DataFrame) and len(v):
            harrell = v[v["metric"].astype(str).str.contains("harrell", case=False)]
            if len(harrell):
                row = harrell.iloc[0]
                c = (f"; Harrell's C {row['apparent']:.3f} apparent, "
                     f"{row['corrected']:.3f} optimism-corrected")
        return f"prognostic score on {doc['n']} patients, {doc['events']} events{c}"
    f = doc["fractions"]
    pos = int((f["mrd"] == "positive").sum()) if len(f) else 0
    return (f"{len(f)} plasma samples of {len(doc['patients'])} patients: {pos} MRD-positive")


def cohort_report(ws: Any, kind: str, *, patients: list[str] | None = None, **options: Any
                  ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Run one cohort analysis on the workspace's registry and write its HTML and JSON pages
    under ``reports/cohort``; returns (JSON document with a one-line ``headline``, paths).

    Raises
    ------
    InputError
        Unknown ``kind``; anything the analysis refuses (no data, too few events).
    """
    from tumorboard.errors import InputError
    from tumorboard.outcomes import cohort
    from tumorboard.outcomes.records import all_simulated

    run = {"pfsr": cohort.pfsr_analysis, "survival": cohort.survival_analysis,
           "prognostic": cohort.prognostic_analysis, "ctdna": cohort.ctdna_analysis}
    if kind not in run:
        raise InputError(f"unknown cohort analysis '{kind}'", expected=", ".join(run))
    with ws.session() as session:
        chosen = cohort.select_patients(session, patients)
        doc = run[kind](session, patients=chosen, **options)
        simulated = all_simulated(session)
    doc["selection"] = list(patients or [])
    name = "-".join([kind, *(str(options[k]) for k in ("endpoint", "time_zero")
                             if k in options)])
    paths = write_cohort_report(doc, ws.reports_dir / "cohort", simulated=simulated,
                                name=name)
    return cohort_json(doc) | {"headline": _headline(doc), "simulated": simulated}, paths

"""Write a patient's MTB report: HTML (self-contained), PDF, JSON, FHIR, Phenopacket.

The report document (:mod:`tumorboard.report.document`) is built once; each format renders it.
HTML inlines its CSS and SVG figures, so the file works offline and can be mailed; the PDF is
that HTML laid out for A4 by WeasyPrint (https://weasyprint.org), whose pango/cairo system
libraries ``.ci/run`` installs (Debian: libpango-1.0-0, libpangoft2-1.0-0).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tumorboard.errors import InputError, TumorboardError
from tumorboard.report.document import mtb_report
from tumorboard.report.plots import markup
from tumorboard.report.summary import plot_data, render_plots, template_environment

FORMATS: tuple[str, ...] = ("html", "pdf", "json", "fhir", "phenopacket")
SUFFIX = {"html": ".html", "pdf": ".pdf", "json": ".json", "fhir": ".fhir.json",
          "phenopacket": ".phenopacket.json"}


class ReportRenderError(TumorboardError):
    """A report could not be rendered (e.g. WeasyPrint's system libraries are missing)."""


def report_figures(workspace: Any, document: dict[str, Any], *, image: str = "svg"
                   ) -> dict[str, Any]:
    """The report's plots by caption (reads cohort points and segments); ``image`` as in
    :func:`tumorboard.report.plots.markup`."""
    samples = sorted({q["sample"] for q in document["quality"] if q["layer"] == "copy_number"})
    data = plot_data(workspace, document["patient"]["patient"], document["targets"],
                     segment_samples=samples)
    return {**render_plots(data, image=image),
            **placement_figures(workspace, document, image=image),
            **outcome_figures(document, image=image),
            **screen_figures(document, image=image)}


def screen_figures(document: dict[str, Any], *, image: str = "svg") -> dict[str, Any]:
    """``screen_<model>`` -> the dose–response panels of each screened model's drugs marked
    ``plotted`` in the report's functional section (none without drug screens)."""
    from tumorboard.report.screens import dose_response_panels

    out: dict[str, Any] = {}
    for m in (document.get("functional") or {}).get("models", []):
        drugs = [d for d in m["drugs"] if d.get("plotted")]
        if drugs:
            out[f"screen_{m['model']}"] = dose_response_panels(drugs, model=m["model"],
                                                               image=image)
    return out


def outcome_figures(document: dict[str, Any], *, image: str = "svg") -> dict[str, Any]:
    """``outcome_timeline`` -> the patient's lines, events, RECIST sums and ctDNA on one date
    axis, when the report has a treatment course."""
    import pandas as pd

    from tumorboard.report.outcome_plots import patient_timeline

    course = document.get("outcomes") or {}
    if not course.get("lines"):
        return {}
    patient = document["patient"]["patient"]

    def frame(rows: list[dict[str, Any]], dates: tuple[str, ...]) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        for c in dates:
            if c in df:
                df[c] = pd.to_datetime(df[c])
        return df.assign(patient=patient) if len(df) else df

    lines = frame(course["lines"], ("start", "stop", "progression"))
    events = frame(course.get("events", []), ("date",))
    if events.empty:
        events = pd.DataFrame({"patient": [], "date": pd.to_datetime([]), "kind": []})
    recist = frame(course.get("responses", []), ("assessment_date",))
    ctdna = frame(course.get("ctdna", []), ("collected",))
    return {"outcome_timeline": patient_timeline(
        lines, events, recist if len(recist) else None, ctdna if len(ctdna) else None,
        patient=patient, image=image)}


def placement_figures(workspace: Any, document: dict[str, Any], *, image: str = "svg"
                      ) -> dict[str, Any]:
    """``placement_<sample>`` -> the case on its model's reference map, for every methylation
    call with a position (none when the model is no longer installed)."""
    from tumorboard.diagnosis.installed import get_model
    from tumorboard.errors import NotFoundError
    from tumorboard.report.plots import placement_plot

    out: dict[str, Any] = {}
    maps: dict[str, Any] = {}  # model name -> its reference map, each artifact read once
    for m in document["diagnosis"].get("methylation", []):
        where, name = m.get("placement"), (m.get("model") or {}).get("name")
        if not where or not name:
            continue
        if name not in maps:
            try:
                maps[name] = getattr(get_model(workspace, name)[0], "placement_", None)
            except NotFoundError:
                maps[name] = None
        ref = maps[name]
        if ref is None:
            continue
        out[f"placement_{m['sample']}"] = placement_plot(
            ref["coords"], ref["labels"], (where["x"], where["y"]), call=m["call"],
            sample=m["sample"], simulated=bool(m["model"].get("simulated")), image=image)
    return out


def render_html(document: dict[str, Any], figures: dict[str, str] | None = None) -> str:
    """The report as one self-contained HTML page."""
    template = template_environment().get_template("mtb_report.html")
    return template.render(d=document, figures=figures or {})


def render_pdf(html: str) -> bytes:
    """The HTML report laid out as an A4 PDF.

    Raises
    ------
    ReportRenderError
        WeasyPrint cannot load its system libraries (pango); the message says what to install.
    """
    try:
        from weasyprint import HTML
    except OSError as exc:  # missing libpango / libgobject
        raise ReportRenderError(
            f"PDF output needs the pango libraries WeasyPrint uses ({exc}); on Debian/Ubuntu: "
            "apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core") from exc
    return HTML(string=html).write_pdf()


def parse_formats(text: str | list[str]) -> list[str]:
    """``'html,pdf'`` -> ``['html', 'pdf']``, checked.

    Raises
    ------
    InputError
        An unknown format name.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    formats = [f.strip().lower() for f in items if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(f"unknown report format(s): {', '.join(bad) or '(none given)'}",
                         expected=", ".join(FORMATS))
    return list(dict.fromkeys(formats))


def write_report(workspace: Any, pseudonym: str, *, formats: list[str] | str = ("html",),
                 out_dir: Path | None = None) -> dict[str, Path]:
    """Write the report of one patient in each format; returns the paths by format.

    See :func:`_write_report`.
    """
    return _write_report(workspace, pseudonym, formats=formats, out_dir=out_dir)[0]


def _write_report(workspace: Any, pseudonym: str, *, formats: list[str] | str,
                  out_dir: Path | None) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write the report of one patient; returns (paths by format, the report document).

    Files go to ``out_dir`` (default ``<workspace>/reports/mtb``) as
    ``<patient><suffix>``, each written to a temporary name and renamed. A format whose file
    was written from the same content, knowledge release and software versions (a hidden
    ``.<patient>.<format>.stamp`` beside it) is not rewritten, so re-running the demo is quick.
    """
    formats = parse_formats(formats)
    out = Path(out_dir) if out_dir else workspace.reports_dir / "mtb"
    out.mkdir(parents=True, exist_ok=True)
    document = mtb_report(workspace, pseudonym)
    key = json.dumps({"content": document["report"]["content_sha256"],
                      "knowledge": document["report"]["knowledge_release"],
                      "software": document["report"]["software"]}, sort_keys=True)
    paths = {fmt: out / f"{pseudonym}{SUFFIX[fmt]}" for fmt in formats}
    stamps = {fmt: out / f".{pseudonym}.{fmt}.stamp" for fmt in formats}
    todo = [fmt for fmt in formats if not (
        paths[fmt].is_file() and stamps[fmt].is_file()
        and stamps[fmt].read_text("utf-8") == key)]
    figures = (report_figures(workspace, document, image="figure")
               if {"html", "pdf"} & set(todo) else {})
    for fmt in todo:
        path = paths[fmt]
        stamps[fmt].unlink(missing_ok=True)
        if fmt in ("html", "pdf"):  # SVG on screen, PNG in the PDF (laid out 3x faster)
            image = "svg" if fmt == "html" else "png"
            html = render_html(document, {title: markup(fig, f"f{i}", image)
                                          for i, (title, fig) in enumerate(figures.items())})
            data: bytes = html.encode("utf-8") if fmt == "html" else render_pdf(html)
        elif fmt == "json":
            data = (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        elif fmt == "fhir":
            from tumorboard.report.fhir import fhir_bundle

            data = (json.dumps(fhir_bundle(document), indent=1) + "\n").encode("utf-8")
        else:
            from tumorboard.report.phenopacket import phenopacket

            data = (json.dumps(phenopacket(document), indent=1) + "\n").encode("utf-8")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        stamps[fmt].write_text(key, encoding="utf-8")
    return paths, document


def _index_row(pseudonym: str, paths: dict[str, Path], doc: dict[str, Any]) -> dict[str, Any]:
    recs = doc["recommendations"]
    conc = doc["diagnosis"]["concordance"]
    return {"patient": pseudonym, "entity": doc["diagnosis"]["oncotree_code"],
            "concordance": conc["status"], "message": conc["message"],
            "n_recommendations": len(recs), "top": recs[0] if recs else None,
            "files": {f: path.name for f, path in paths.items()}}


_worker_workspaces: dict[str, Any] = {}


def _report_task(source: Any, pseudonym: str, formats: list[str], out_dir: Path
                 ) -> tuple[dict[str, Path], dict[str, Any]]:
    """One patient's report (an executor task). ``source`` is the workspace itself in process,
    or its settings on a Dask worker, which opens the workspace once per process."""
    from tumorboard.workspace import Workspace

    if isinstance(source, Workspace):
        workspace = source
    else:
        key = f"{source.database_url}|{source.workspace}"
        if key not in _worker_workspaces:
            _worker_workspaces[key] = Workspace.open(source)
        workspace = _worker_workspaces[key]
    paths, doc = _write_report(workspace, pseudonym, formats=formats, out_dir=out_dir)
    return paths, _index_row(pseudonym, paths, doc)


def write_reports(workspace: Any, patients: list[str], *,
                  formats: list[str] | str = ("html", "pdf", "json"),
                  out_dir: Path | None = None, progress: Any = None,
                  executor: Any = None, jobs: int | None = None,
                  ) -> tuple[dict[str, dict[str, Path]], Path, dict[str, str]]:
    """Reports for several patients and an index page linking them.

    Returns (paths by patient, the index page, errors by patient): a patient whose report
    fails is reported with its error and does not stop the others.

    Reports are rendered on ``executor`` (:mod:`tumorboard.executor`; laying out figures and
    PDFs is CPU-bound and each patient is independent): Dask workers open the workspace from
    its settings (they read the registry and write the files into ``out_dir``, which must be a
    folder every worker reaches). Without an executor, ``jobs`` > 1 starts a LocalCluster of
    that many processes for the call, else the reports are written in this process.
    """
    import datetime as dt

    from tumorboard import __version__
    from tumorboard.executor import Executor, open_executor

    if executor is None and jobs is not None and jobs > 1 and len(patients) > 1:
        with open_executor(workers=min(jobs, len(patients))) as ex:
            return write_reports(workspace, patients, formats=formats, out_dir=out_dir,
                                 progress=progress, executor=ex)
    formats = parse_formats(formats)
    out = Path(out_dir) if out_dir else workspace.reports_dir / "mtb"
    out.mkdir(parents=True, exist_ok=True)
    ex = executor or Executor()
    source = workspace if ex.client is None else workspace.settings
    written: dict[str, dict[str, Path]] = {}
    rows: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    tasks = [(p, (source, p, formats, out)) for p in patients]
    for i, outcome in enumerate(ex.map(_report_task, tasks, label="report"), 1):
        p = outcome.key
        if not outcome.ok:
            failed[p] = outcome.error or "failed"
            if progress:
                progress(f"[{i}/{len(patients)}] report {p}: FAILED: {outcome.error}")
            continue
        written[p], rows[p] = outcome.value
        if progress:
            progress(f"[{i}/{len(patients)}] report {p}: {rows[p]['n_recommendations']} "
                     "recommendation(s)")
    done = [p for p in patients if p in rows]
    index = out / "index.html"
    html = template_environment().get_template("mtb_index.html").render(
        rows=[rows[p] for p in done],
        covered=sum(rows[p]["n_recommendations"] > 0 for p in done), version=__version__,
        footer="MTB reports: drafts until signed by the board",
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    tmp = index.with_name("index.html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(index)
    return {p: written[p] for p in done}, index, failed

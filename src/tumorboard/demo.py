"""The demo: the simulated demo cohort loaded, analysed and matched, with an MTB report each."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tumorboard.analysis import analyze
from tumorboard.config import Settings
from tumorboard.diagnosis.installed import install_model
from tumorboard.errors import WorkspaceError
from tumorboard.intake import import_case
from tumorboard.recommend import recommend_patient
from tumorboard.report.mtb import write_reports
from tumorboard.report.summary import write_summary_pages
from tumorboard.simulate import simulate_cohort
from tumorboard.workspace import Workspace

CASES_DIR = "demo-cases"
#: Simulated outcome records of the demo cohort, and a simulated LAT registry.
OUTCOMES_DIR = "demo-outcomes"
LAT_REGISTRY_DIR = "demo-lat-registry"
#: Name of the demo methylation classifier, trained on a simulated reference.
DEMO_MODEL = "demo-simulated-sarcoma"
#: The demo's account for the browser tumour board, and where its password is kept.
DEMO_USER = "demo"
DEMO_ACCOUNT_FILE = "demo-account.txt"
#: Patients the demo puts on its board session: DSRCT with the T-DXd recommendation first.
DEMO_AGENDA_SIZE = 4


def install_demo_model(ws: Workspace, *, size: str = "demo") -> dict[str, Any]:
    """Train the demo methylation classifier on a *simulated* reference and activate it.

    The reference has the class structure and sizes of GSE140686 (65 classes, 1,077 samples)
    on the probes of the simulated cohorts (:func:`tumorboard.simulate.simulate_reference`),
    so the demo patients' tumours are recognised. The model is marked ``simulated`` and every
    report that shows one of its calls says so. Idempotent: an installed demo model is reused.
    """
    from tumorboard.diagnosis.classifier import MethylationClassifier
    from tumorboard.diagnosis.installed import activate_model, list_models
    from tumorboard.diagnosis.placement import fit_placement
    from tumorboard.simulate import COHORT_SIZES, simulate_reference

    for info in list_models(ws):
        if info["name"] == DEMO_MODEL:
            return info if info["active"] else activate_model(ws, DEMO_MODEL)
    n_probes = int(COHORT_SIZES[size]["probes"] or 0)
    X, y = simulate_reference(n_probes=n_probes, seed=140686)
    clf = MethylationClassifier(n_features=min(10_000, n_probes)).fit(X, y)
    fit_placement(clf, X, y)
    return install_model(ws, clf, name=DEMO_MODEL, extra={
        "simulated": True,
        "description": "demo model trained on a SIMULATED reference with the GSE140686 class "
                       "structure (65 classes, 1,077 samples); not for diagnosis"})


def run_demo(
    settings: Settings, *, seed: int = 20261122, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Initialise ``settings.workspace``, simulate the demo cohort, import and analyse it.

    Idempotent: running it again with the same seed re-simulates byte-identical files, so
    every import is a no-op.
    """
    say = progress or (lambda _msg: None)
    ws = Workspace.init(settings)
    cases_dir = ws.root / CASES_DIR
    say(f"simulating the demo cohort (seed {seed}) into {cases_dir}")
    truth = simulate_cohort(cases_dir, seed=seed)
    case_dirs = sorted(p.parent for p in cases_dir.glob("*/case.yaml"))
    imported = 0
    for i, case_dir in enumerate(case_dirs, 1):
        result = import_case(ws, case_dir)
        imported += result.written
        say(f"[{i}/{len(case_dirs)}] {case_dir.name}: "
            f"{'imported' if result.written else 'unchanged'}")
    say("simulating therapy histories, RECIST, plasma ctDNA and a 246-patient LAT registry")
    outcomes = import_demo_outcomes(ws, truth, seed=seed)
    say("training the demo methylation classifier on a simulated reference")
    model = install_demo_model(ws)
    say("analysing every layer against the cohort and integrating targets")
    analysis = analyze(ws)
    say("writing patient summary pages")
    pages, index = write_summary_pages(ws)
    say("matching the knowledge base: recommendations per patient")
    patients = sorted(analysis.patients)
    coverage = sum(bool(recommend_patient(ws, p)["recommendations"]) for p in patients)
    say("writing MTB reports (HTML, PDF, JSON)")
    # reports render in parallel: a LocalCluster of up to four processes for this step
    reports, reports_index, failed = write_reports(ws, patients, progress=say,
                                                   jobs=min(os.cpu_count() or 1, 4))
    if failed:
        raise WorkspaceError("demo reports failed: " + "; ".join(
            f"{p}: {e}" for p, e in sorted(failed.items())))
    say("writing cohort outcome pages: survival, PFS ratio, prognostic score, ctDNA")
    cohort_pages = write_demo_cohort_pages(ws, patients)
    say("preparing the browser tumour board: a demo account and a board session")
    board = prepare_demo_board(ws)
    entities = sorted({p.entity for p in truth.patients})
    return {
        "workspace": str(ws.root),
        "database": settings.database_label,
        "cases_dir": str(cases_dir),
        "store": str(ws.store.root),
        "patients": len(case_dirs),
        "imported": imported,
        "entities": entities,
        "analysis": analysis.summary() | {"patients": len(analysis.patients)},
        "pages": [str(p) for p in pages],
        "index": str(index),
        "methylation_model": {k: model[k] for k in ("name", "simulated", "classes", "features")},
        "recommendation_coverage": {"patients": len(patients), "with_recommendation": coverage},
        "reports": {p: {f: str(x) for f, x in paths.items()} for p, paths in reports.items()},
        "reports_index": str(reports_index),
        "outcomes": outcomes,
        "cohort_pages": cohort_pages,
        "board": board,
    }


def prepare_demo_board(ws: Workspace) -> dict[str, Any]:
    """An admin account ``demo`` and an open board session of today with DSRCT patients.

    The account is created only in a registry without accounts, with a random password
    kept in ``<workspace>/demo-account.txt`` (readable by the owner only); the session only
    when the registry has none. Both leave a workspace someone already uses untouched.
    """
    import datetime as dt
    import secrets

    from sqlalchemy import func, select

    from tumorboard.accounts import add_user
    from tumorboard.board import add_to_agenda, create_session
    from tumorboard.registry.db import transaction
    from tumorboard.registry.models import BoardSession, Patient, Recommendation, User

    account = ws.root / DEMO_ACCOUNT_FILE
    out: dict[str, Any] = {"user": None, "password_file": None, "board_date": None}
    with transaction(ws.engine) as s:
        if not s.scalar(select(func.count()).select_from(User)):
            password = secrets.token_urlsafe(12)
            add_user(s, DEMO_USER, password, role="admin", display_name="Demo board member")
            tmp = account.with_name(account.name + ".tmp")
            tmp.write_text(f"user: {DEMO_USER}\npassword: {password}\n", encoding="utf-8")
            tmp.chmod(0o600)
            tmp.replace(account)
        if account.is_file():
            out.update(user=DEMO_USER, password_file=str(account))
        if not s.scalar(select(func.count()).select_from(BoardSession)):
            today = dt.date.today()
            create_session(s, today, title="Sarcoma molecular tumour board (demo)")
            tdxd = set(s.scalars(select(Patient.pseudonym).join(
                Recommendation, Recommendation.patient_id == Patient.id)
                .where(Recommendation.therapy.ilike("%deruxtecan%"))))
            dsrct = s.scalars(select(Patient.pseudonym).where(
                Patient.pseudonym.like("DSRCT-%")).order_by(Patient.pseudonym)).all()
            agenda = sorted(dsrct, key=lambda p: (p not in tdxd, p))[:DEMO_AGENDA_SIZE]
            for pseudonym in agenda:
                add_to_agenda(s, today, pseudonym)
        first = s.scalar(select(BoardSession.board_date).order_by(BoardSession.board_date))
        out["board_date"] = first.isoformat() if first else None
    return out


def import_demo_outcomes(ws: Workspace, truth: Any, *, seed: int) -> dict[str, Any]:
    """Simulate and import the demo cohort's outcome records and the simulated LAT registry
    (source ``simulated``, so every page built on them says so). Idempotent: the same seed
    writes the same files, and re-importing replaces the same rows."""
    from tumorboard.outcomes.records import import_outcome_files
    from tumorboard.simulate import simulate_lat_registry, simulate_outcomes

    out: dict[str, Any] = {}
    for name, folder, write in (
            ("cohort", OUTCOMES_DIR, lambda d: simulate_outcomes(d, truth, seed=seed)),
            ("lat_registry", LAT_REGISTRY_DIR, lambda d: simulate_lat_registry(d))):
        d = ws.root / folder
        write(d)
        files = sorted(d.glob("*.csv"))
        result = import_outcome_files(ws, files, source="simulated")
        out[name] = {"dir": str(d), "patients": result["patients"], "rows": result["rows"]}
    return out


def write_demo_cohort_pages(ws: Workspace, demo_patients: list[str]) -> dict[str, str]:
    """The cohort outcome pages of the demo registry: survival and the prognostic score on
    the simulated LAT registry, PFS ratio, ctDNA and survival from diagnosis on the demo
    cohort, and the DSS heatmap of its drug screens. Returns page name -> HTML path."""
    from tumorboard.report.outcomes import cohort_report
    from tumorboard.report.screens import write_cohort_screens

    lat = ["SIM-LAT-*"]
    pages = {}
    for kind, options in (
            ("survival", {"endpoint": "os", "time_zero": "lat", "patients": lat}),
            ("survival", {"endpoint": "pfs", "time_zero": "lat", "patients": lat}),
            ("prognostic", {"endpoint": "os", "patients": lat}),
            ("survival", {"endpoint": "os", "time_zero": "diagnosis",
                          "patients": demo_patients}),
            ("pfsr", {"patients": demo_patients}),
            ("ctdna", {"patients": demo_patients})):
        _, paths = cohort_report(ws, kind, **options)
        pages[paths["html"].stem] = str(paths["html"])
    _, paths = write_cohort_screens(ws)
    pages[paths["html"].stem] = str(paths["html"])
    return pages

"""The ``tumorboard`` command line: parses, calls the library, turns errors into exit codes.

Exit codes: 0 success, 1 domain error (message on stderr), 2 usage error. Every command that
shows results takes ``--json`` and then prints exactly one JSON document on stdout; logs and
progress go to stderr.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from tumorboard import __version__
from tumorboard.config import Settings
from tumorboard.errors import CaseValidationError, TumorboardError

app = typer.Typer(
    name="tumorboard",
    help="Multi-omics precision oncology for rare sarcomas: case intake, registry, "
    "molecular tumour board support.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
patients_app = typer.Typer(help="Browse the patients in the registry.", no_args_is_help=True)
app.add_typer(patients_app, name="patients")
kb_app = typer.Typer(help="The knowledge base: curated and imported therapy rules.",
                     no_args_is_help=True)
app.add_typer(kb_app, name="kb")
board_app = typer.Typer(help="Tumour board decisions on recommendations.", no_args_is_help=True)
app.add_typer(board_app, name="board")
export_app = typer.Typer(help="Export the cohort for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")
classifier_app = typer.Typer(help="Methylation classifiers: train, evaluate, install, predict.",
                             no_args_is_help=True)
app.add_typer(classifier_app, name="classifier")

T = TypeVar("T")

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder [env TUMORBOARD_WORKSPACE; "
                 "default ./tumorboard-workspace]", show_default=False),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Registry database URL, e.g. postgresql+psycopg://user@host/db "
                 "[env TUMORBOARD_DB; default SQLite in the workspace]", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", help="Run on a Dask LocalCluster of N worker processes (default: in process).",
    min=1)]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="Run on an existing Dask cluster, e.g. tcp://host:8786.")]


def _err(text: str) -> None:
    typer.echo(text, err=True)


def _run(func: Callable[[], T]) -> T:
    """Call library code; a domain error becomes its message on stderr and exit code 1."""
    try:
        return func()
    except CaseValidationError as exc:
        _err(str(exc))
        raise typer.Exit(1) from exc
    except TumorboardError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1) from exc


def _emit_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, default=str))


def _progress(items: list[T], label: str) -> Iterable[T]:
    if sys.stderr.isatty():
        with typer.progressbar(items, label=label, file=sys.stderr) as bar:
            yield from bar
    else:
        yield from items


class _Bars:
    """Progress bars on stderr, one per stage, for callbacks (stage, done, total)."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="task", file=sys.stderr,
                                          leave=True, dynamic_ncols=True)
        bar.update(done - bar.n)

    def per_line(self, stage: str, total: int) -> Callable[[str], None]:
        """A callback for jobs that report one line per finished item (``write_reports``)."""
        done = itertools.count(1)
        return lambda _line: self(stage, next(done), total)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _bytes(text: str | None) -> int | None:
    if text is None:
        return None
    from dask.utils import parse_bytes

    try:
        return int(parse_bytes(text))
    except ValueError:
        _err(f"--memory-budget: cannot read {text!r}; write e.g. 2GiB or 500MB")
        raise typer.Exit(2) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tumorboard {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """tumorboard command line."""


@app.command()
def init(workspace: WorkspaceOpt = None, db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Create a workspace: registry database, omics store, reports and models folders."""
    from tumorboard.workspace import Workspace

    settings = Settings.resolve(workspace, db)
    ws = _run(lambda: Workspace.init(settings))
    info = {"workspace": str(ws.root), "database": settings.database_label}
    if json_out:
        _emit_json(info)
    else:
        typer.echo(f"workspace ready: {ws.root}\nregistry: {settings.database_label}")


def _patient_ids(ws: Any, patients: list[str] | None, all_patients: bool) -> list[str]:
    """The ids given, or every patient of the registry with --all."""
    if not all_patients:
        return list(patients or [])
    from tumorboard.registry.queries import list_patients

    with ws.session() as session:
        return [p["patient"] for p in list_patients(session)]


def _open(workspace: Path | None, db: str | None):
    from tumorboard.workspace import Workspace

    return _run(lambda: Workspace.open(Settings.resolve(workspace, db)))


def _describe_plan(summary: dict[str, Any]) -> str:
    lines = [f"patient {summary['patient']} ({summary['oncotree_code']}): "
             f"patient {summary['patient_action']}, diagnosis {summary['diagnosis_action']}"]
    for f in summary["files"]:
        rows = ", ".join(f"{t} {n:,}" for t, n in f.get("rows", {}).items())
        lines.append(f"  {f['sample']:<20} {f['layer']:<16} {f['format']:<22} "
                     f"{f['action']:<11} v{f['version']}  {rows}")
        lines += [f"      note: {n}" for n in f.get("notes") or []]
    lines += [f"  metadata change: {c}" for c in summary["metadata_changes"]]
    return "\n".join(lines)


@app.command()
def validate(
    case_dir: Annotated[Path, typer.Argument(help="Case folder with case.yaml.")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a case folder completely (and against the registry if a workspace exists).

    Writes nothing.
    """
    from tumorboard.intake import validate_case
    from tumorboard.workspace import WORKSPACE_FILE

    settings = Settings.resolve(workspace, db)
    ws = _open(workspace, db) if (settings.workspace / WORKSPACE_FILE).exists() else None
    plan = _run(lambda: validate_case(case_dir, workspace=ws))
    summary = plan.summary()
    if json_out:
        _emit_json({"valid": True, **summary})
    else:
        typer.echo(_describe_plan(summary))
        typer.echo("valid: nothing was written")


@app.command("import")
def import_(
    case_dirs: Annotated[list[Path], typer.Argument(help="One or more case folders.")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    update_metadata: Annotated[bool, typer.Option(
        "--update-metadata", help="Accept changed patient/sample metadata from case.yaml.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Validate, then load case folders; each lands whole or not at all."""
    from tumorboard.intake import import_case

    ws = _open(workspace, db)
    results = []
    for case_dir in _progress(case_dirs, "importing"):
        result = _run(lambda c=case_dir: import_case(ws, c, update_metadata=update_metadata))
        results.append(result.summary())
        if not json_out:
            state = "imported" if result.written else "unchanged (nothing to do)"
            typer.echo(f"{case_dir}: {state}", err=True)
            if result.written:
                typer.echo(_describe_plan(result.summary()))
    if json_out:
        _emit_json({"imports": results})


@patients_app.command("list")
def patients_list(
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    entity: Annotated[str | None, typer.Option(help="Only this OncoTree code.")] = None,
    layer: Annotated[str | None, typer.Option(help="Only patients with this layer.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Patients loaded: entity, samples and layers."""
    from tumorboard.registry.queries import list_patients

    ws = _open(workspace, db)
    with ws.session() as session:
        records = _run(lambda: list_patients(session, entity=entity, layer=layer))
    if json_out:
        _emit_json({"patients": records})
        return
    if not records:
        typer.echo("no patients (import a case with `tumorboard import CASE_DIR`)")
        return
    typer.echo(f"{'patient':<14} {'entity':<8} {'samples':<28} layers")
    for r in records:
        code = r["entity"]["oncotree_code"] if r["entity"] else "-"
        samples = ",".join(f"{s['id']}({s['type'][0]})" for s in r["samples"])
        typer.echo(f"{r['patient']:<14} {code:<8} {samples:<28} {' '.join(r['layers'])}")
    typer.echo(f"{len(records)} patient(s)", err=True)


@patients_app.command("show")
def patients_show(
    patient: Annotated[str, typer.Argument(help="Pseudonymous patient id.")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One patient: diagnoses, samples and assays with provenance."""
    from tumorboard.registry.queries import patient_detail

    ws = _open(workspace, db)
    with ws.session() as session:
        record = _run(lambda: patient_detail(session, patient))
    if json_out:
        _emit_json(record)
        return
    e = record["entity"] or {}
    typer.echo(f"{record['patient']}  {e.get('oncotree_code')} {e.get('name')}  "
               f"(submitted: {e.get('histology_submitted')})")
    for s in record["samples"]:
        typer.echo(f"  sample {s['id']} [{s['type']}] site={s['site']} origin={s['origin']} "
                   f"tumour cells={s['tumour_cell_content']}")
        for a in s["assays"]:
            rows = ", ".join(f"{t} {n:,}" for t, n in a["rows"].items())
            typer.echo(f"    {a['layer']:<16} v{a['version']} {a['format']:<22} {a['file']} "
                       f"[{a['genome_build'] or '-'}] {rows}")


@app.command()
def analyze(
    patients: Annotated[list[str] | None, typer.Argument(help="Patient ids.")] = None,
    all_patients: Annotated[bool, typer.Option("--all", help="Analyse every patient.")] = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Skip patients already analysed against this cohort.")] = False,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="Patients per task (default: a few tasks per worker).")]
    = None,
    memory_budget: Annotated[str | None, typer.Option(
        "--memory-budget", help="Memory one task may use for a cohort matrix, e.g. 2GiB; "
        "larger layers are scored out of core (default: a quarter of RAM, or half a "
        "worker's limit).")] = None,
    store_url: Annotated[str | None, typer.Option(
        "--store-url", help="Where workers read the omics store (fsspec URL; default: the "
        "workspace's store folder).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Score every layer against the cohort, integrate targets, store findings."""
    from tumorboard.analysis import analyze as run_analysis
    from tumorboard.diagnosis.concordance import ALERT_TITLE
    from tumorboard.executor import open_executor

    if bool(patients) == all_patients:
        _err("give patient ids or --all (not both)")
        raise typer.Exit(2)
    budget = _bytes(memory_budget)
    ws = _open(workspace, db)
    bars = _Bars()
    with contextlib.ExitStack() as stack:
        stack.callback(bars.close)
        ex = _run(lambda: stack.enter_context(open_executor(workers=workers,
                                                            scheduler=scheduler)))
        result = _run(lambda: run_analysis(
            ws, None if all_patients else patients, executor=ex, resume=resume,
            batch_size=batch_size, memory_budget=budget, store_url=store_url, progress=bars))
    summary = result.summary()
    if json_out:
        _emit_json(summary)
    else:
        skipped = f", {len(summary['skipped'])} skipped (--resume)" if summary["skipped"] else ""
        typer.echo(f"analysed {len(summary['patients'])} patient(s){skipped} against cohort "
                   f"{summary['cohort'][:12]}: {summary['findings']:,} findings, "
                   f"{summary['targets']:,} target genes")
        for kind, n in summary["by_kind"].items():
            typer.echo(f"  {kind:<18} {n:,}")
        for alert in summary["diagnosis_alerts"]:
            typer.echo(f"{alert['patient']}: {ALERT_TITLE.upper()}: {alert['message']}")
    for failure in summary["failed"]:
        _err(f"{failure['patient']}: not analysed: {failure['error']}")
    if summary["failed"]:
        _err(f"{len(summary['failed'])} patient(s) failed; fix their input and run again "
             "(with --resume to skip the patients already done)")
        raise typer.Exit(1)


@app.command()
def targets(
    patient: Annotated[str, typer.Argument(help="Pseudonymous patient id.")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    all_genes: Annotated[bool, typer.Option(
        "--all-genes", help="Also list genes that are not expressed or unknown.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Target genes of a patient: DNA, RNA, protein, activation and state."""
    from tumorboard.registry.queries import patient_targets

    ws = _open(workspace, db)
    with ws.session() as session:
        record = _run(lambda: patient_targets(session, patient))
    if json_out:
        _emit_json(record)
        return
    c = record["cohort"]
    typer.echo(f"{record['patient']}: analysis {record['analysis']['at']} against "
               f"{c['n_samples']} tumour samples (cohort {str(c['digest'])[:12]})")
    typer.echo(f"{'gene':<10} {'state':<30} {'TPM':>8} {'RNA z':>6} {'pct':>5} "
               f"{'prot z':>6} {'activation':<22} DNA")

    def fmt(x: Any, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    for t in record["targets"]:
        if not all_genes and t["state"] in ("not_expressed", "unknown") and not t["dna"]:
            continue
        dna = "; ".join(d["feature"] for d in t["dna"])
        tag = " [antigen]" if t["antigen"] else ""
        act = t["activation_call"] + (f" ({t['activation_source']})"
                                      if t["activation_source"] else "")
        typer.echo(f"{t['gene']:<10} {t['state'] + tag:<30} {fmt(t['rna_tpm'], '8.1f')} "
                   f"{fmt(t['rna_z'], '6.2f')} {fmt(t['rna_percentile'], '5.0f')} "
                   f"{fmt(t['protein_z'], '6.2f')} {act:<22} {dna}")


@app.command()
def recommend(
    patients: Annotated[list[str] | None, typer.Argument(help="Patient ids.")] = None,
    all_patients: Annotated[bool, typer.Option("--all", help="Every analysed patient.")] = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ranked therapy recommendations with evidence levels, rationale and citations."""
    from tumorboard.recommend import recommend_patient

    if bool(patients) == all_patients:
        _err("give patient ids or --all (not both)")
        raise typer.Exit(2)
    ws = _open(workspace, db)
    patients = _patient_ids(ws, patients, all_patients)
    docs = [_run(lambda p=p: recommend_patient(ws, p))
            for p in _progress(list(patients or []), "recommending")]
    if json_out:
        _emit_json(docs[0] if len(docs) == 1 and not all_patients else docs)
        return
    for doc in docs:
        recs = doc["recommendations"]
        typer.echo(f"{doc['patient']} ({doc['entity']}): {len(recs)} recommendation(s)")
        for r in recs:
            flag = f" [{r['status']}]" if r["status"] != "proposed" else ""
            typer.echo(f"  #{r['id']:<5} {r['rank']:>2}. {r['evidence_level']:<8} "
                       f"{r['therapy']} ({r['drug_class']}, {r['basket']}){flag}")
            typer.echo(f"           {r['rationale'][:300]}")
        for r in doc["resistance"]:
            typer.echo(f"  #{r['id']:<5} resistance {r['evidence_level']:<8} {r['therapy']}: "
                       f"{', '.join(r['genes'])}")


@board_app.command("decide")
def board_decide(
    recommendation: Annotated[int, typer.Argument(help="Recommendation id (from recommend).")],
    decision: Annotated[str, typer.Argument(
        help="accepted | rejected | implemented | not_implemented")],
    reason: Annotated[str | None, typer.Option(help="Why (required for rejected and "
                                               "not_implemented).")] = None,
    on: Annotated[str | None, typer.Option("--date", help="Date of the decision, YYYY-MM-DD "
                                           "[default today].")] = None,
    recorded_by: Annotated[str | None, typer.Option("--by", help="Who records it.")] = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record the board's decision on a recommendation."""
    from tumorboard.recommend import record_decision

    ws = _open(workspace, db)
    rec = _run(lambda: record_decision(ws, recommendation, decision, on=on, reason=reason,
                                       recorded_by=recorded_by))
    if json_out:
        _emit_json(rec)
    else:
        typer.echo(f"recommendation {rec['id']} ({rec['therapy']}): {rec['status']}")


@board_app.command("list")
def board_list(
    patient: Annotated[str, typer.Argument(help="Pseudonymous patient id.")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A patient's stored recommendations with their board decisions."""
    from tumorboard.recommend import patient_recommendations

    ws = _open(workspace, db)
    with ws.session() as session:
        doc = _run(lambda: patient_recommendations(session, patient))
    if json_out:
        _emit_json(doc)
        return
    for r in doc["recommendations"] + doc["resistance"]:
        history = "; ".join(f"{d['on']} {d['decision']}" + (f" ({d['reason']})" if d["reason"]
                                                             else "") for d in r["decisions"])
        typer.echo(f"#{r['id']:<5} {r['evidence_level']:<8} {r['therapy']:<45} {r['status']:<16}"
                   f" {history}")


@board_app.command("session-add")
def board_session_add(
    board_date: Annotated[str, typer.Argument(help="Date of the board meeting, YYYY-MM-DD.")],
    patients: Annotated[list[str], typer.Argument(help="Pseudonymous patient ids.")],
    title: Annotated[str | None, typer.Option(help="Title of a new session.")] = None,
    question: Annotated[str | None, typer.Option(help="The question to the board.")] = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Put patients on the agenda of a board session (created when new)."""
    from tumorboard import board
    from tumorboard.registry.db import transaction

    ws = _open(workspace, db)

    def add() -> list[dict[str, Any]]:
        with transaction(ws.engine) as s:
            board.open_session(s, board_date, title=title)
            added = [board.add_to_agenda(s, board_date, p, question=question)
                     for p in patients]
        for item in added:  # so that the board has something to decide on
            item["n_recommendations"] = board.ensure_recommendations(ws, item["patient"])
        return added

    added = _run(add)
    if json_out:
        _emit_json(added)
        return
    for item in added:
        typer.echo(f"{item['board_date']} #{item['position']}: {item['patient']} "
                   f"({item['n_recommendations']} recommendation(s))")


@board_app.command("sign-off")
def board_sign_off(
    board_date: Annotated[str, typer.Argument(help="Date of the board meeting, YYYY-MM-DD.")],
    signed_by: Annotated[str | None, typer.Option("--by", help="Who signs [default: your "
                                                  "login name].")] = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sign off a board session: freeze each agenda patient's report as a signed version."""
    from tumorboard import board
    from tumorboard.registry import audit

    ws = _open(workspace, db)
    done = _run(lambda: board.sign_off(ws, board_date,
                                       signed_by=signed_by or audit.current_actor()))
    if json_out:
        _emit_json(done)
        return
    typer.echo(f"board session {done['board_date']} signed by {done['signed_by']}")
    for r in done["reports"]:
        typer.echo(f"  {r['patient']}: signed report version {r['version']} "
                   f"({r['content_sha256'][:12]})")


@board_app.command("sessions")
def board_sessions(
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Board sessions, newest first, with their agenda size and sign-off."""
    from tumorboard import board

    ws = _open(workspace, db)
    with ws.session() as session:
        found = _run(lambda: board.list_sessions(session, limit=1000))
    if json_out:
        _emit_json(found)
        return
    for b in found["sessions"]:
        signed = f" signed by {b['signed_by']} {b['signed_at']}" if b["signed_by"] else ""
        typer.echo(f"{b['board_date']}  {b['status']:<6} {b['n_patients']:>3} patient(s)  "
                   f"{b['title']}{signed}")


@kb_app.command("list")
def kb_list(
    gene: Annotated[str | None, typer.Option(help="Only rules about this gene.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this knowledge base (name).")] = None,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Installed knowledge bases and their rules."""
    from tumorboard.knowledge.base import installed_bases, release

    root = Settings.resolve(workspace, None).workspace
    bases = _run(lambda: installed_bases(root))
    rows = [{"id": r.id, "base": b.kb.name, "genes": list(r.genes), "therapy": r.therapy.name,
             "drug_class": r.therapy.drug_class, "basket": r.basket, "condition": r.describe(),
             "evidence": len(r.evidence)}
            for b in bases if source in (None, b.kb.name) for r in b.kb.rules
            if gene is None or gene.upper() in r.genes]
    if json_out:
        _emit_json({"knowledge_release": release(bases), "rules": rows})
        return
    for b in release(bases):
        typer.echo(f"{b['name']} {b['version']} ({b['origin']}): {b['rules']} rules, "
                   f"sha256 {b['sha256'][:12]}")
    for r in rows:
        typer.echo(f"  {r['id']:<48} {r['condition'][:50]:<50} -> {r['therapy']}")


@kb_app.command("show")
def kb_show(
    rule_id: Annotated[str, typer.Argument(help="Rule id (see `kb list`).")],
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One rule with its conditions, therapy and cited evidence."""
    import yaml

    from tumorboard.knowledge.base import find_rule
    from tumorboard.knowledge.schema import as_plain

    root = Settings.resolve(workspace, None).workspace
    rule, base = _run(lambda: find_rule(root, rule_id))
    doc = {"knowledge_base": base.label, **as_plain(rule)}
    if json_out:
        _emit_json(doc)
    else:
        typer.echo(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).rstrip())


@kb_app.command("import")
def kb_import(
    path: Annotated[Path, typer.Argument(help="MOAlmanac JSON, CIViC nightly TSV or a YAML "
                                         "knowledge base on the tumorboard schema.")],
    fmt: Annotated[str | None, typer.Option("--format", help="moalmanac | civic | yaml "
                                            "[default: from the file]")] = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Install a knowledge base into the workspace (replaces one of the same name)."""
    from tumorboard.knowledge.base import import_knowledge

    ws = _open(workspace, db)
    info = _run(lambda: import_knowledge(ws.root, path, fmt=fmt))
    if json_out:
        _emit_json(info)
    else:
        skipped = ", ".join(f"{k}: {v}" for k, v in info["skipped"].items()) or "none"
        typer.echo(f"installed {info['name']} {info['version']}: {info['rules']} rules "
                   f"({info['path']}); skipped {skipped}")


@app.command()
def report(
    patients: Annotated[list[str] | None, typer.Argument(help="Patient ids.")] = None,
    all_patients: Annotated[bool, typer.Option("--all", help="Every analysed patient.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated: html, pdf, json, fhir, "
                                     "phenopacket.")] = "html,pdf,json",
    out: Annotated[Path | None, typer.Option("--out", help="Output folder [default "
                                             "<workspace>/reports/mtb].")] = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The MTB report of each patient: HTML (works offline), PDF, JSON, FHIR, Phenopacket."""
    from tumorboard.executor import open_executor
    from tumorboard.report.mtb import parse_formats, write_reports

    if bool(patients) == all_patients:
        _err("give patient ids or --all (not both)")
        raise typer.Exit(2)
    formats = _run(lambda: parse_formats(fmt))
    ws = _open(workspace, db)
    patients = _patient_ids(ws, patients, all_patients)
    bars = _Bars()
    with contextlib.ExitStack() as stack:
        stack.callback(bars.close)
        ex = _run(lambda: stack.enter_context(open_executor(workers=workers,
                                                            scheduler=scheduler)))
        written, _, failed = _run(lambda: write_reports(
            ws, list(patients or []), formats=formats, out_dir=out, executor=ex,
            progress=bars.per_line("reports", len(patients or []))))
    if json_out:
        _emit_json({p: {k: str(v) for k, v in paths.items()} for p, paths in written.items()})
    else:
        for p, paths in written.items():
            typer.echo(f"{p}: " + "  ".join(str(v) for v in paths.values()))
    for p, error in failed.items():
        _err(f"{p}: no report: {error}")
    if failed:
        raise typer.Exit(1)


@export_app.command("cbioportal")
def export_cbioportal(
    out_dir: Annotated[Path, typer.Argument(help="Folder for the study files (replaced if it "
                                            "holds an earlier export).")],
    study_id: Annotated[str, typer.Option(help="cBioPortal cancer_study_identifier.")]
    = "tumorboard_sarcoma",
    name: Annotated[str, typer.Option(help="Study name.")] = "tumorboard sarcoma cohort",
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """cBioPortal study files: clinical, mutations, CNA, structural variants, expression
    z-scores, timeline, case lists."""
    from tumorboard.report.cbioportal import write_cbioportal_study

    ws = _open(workspace, db)
    files = _run(lambda: write_cbioportal_study(ws, out_dir, study_id=study_id, name=name))
    if json_out:
        _emit_json({"out_dir": str(out_dir), "files": [str(f) for f in files]})
    else:
        typer.echo(f"{len(files)} files in {out_dir}; load with cBioPortal's metaImport.py")


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write one case folder per patient.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 20261122,
    n_dsrct: Annotated[int, typer.Option(help="Number of DSRCT patients.")] = 30,
    screens: Annotated[float, typer.Option(
        help="Share of patients with a drug-screened patient-derived organoid (0-1).")
    ] = 0.75,
    large: Annotated[bool, typer.Option(
        "--large", help="Write one whole-genome-scale case instead (for benchmarks).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write a seeded, realistic multi-omics cohort in real file formats, with ground truth."""
    from tumorboard import simulate as sim

    if large:
        path = _run(lambda: sim.write_large_case(out_dir, seed=seed))
        info: dict[str, Any] = {"case": str(path)}
    else:
        truth = _run(lambda: sim.simulate_cohort(out_dir, seed=seed, n_dsrct=n_dsrct,
                                                     screens=screens))
        info = {"out_dir": str(out_dir), "patients": len(truth.patients),
                "truth": str(Path(out_dir) / "truth.json")}
    if json_out:
        _emit_json(info)
    else:
        typer.echo("\n".join(f"{k}: {v}" for k, v in info.items()))


@app.command()
def demo(
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Workspace to create [env TUMORBOARD_WORKSPACE; default "
        "./demo-workspace]", show_default=False)] = None,
    db: DbOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed of the demo cohort.")] = 20261122,
    json_out: JsonOpt = False,
) -> None:
    """Create a workspace, simulate the demo cohort, import, analyse, recommend, write reports."""
    from tumorboard.demo import run_demo

    workspace = workspace or Path(os.environ.get("TUMORBOARD_WORKSPACE") or "demo-workspace")
    result = _run(lambda: run_demo(Settings.resolve(workspace, db), seed=seed,
                                   progress=None if json_out else _err))
    if json_out:
        _emit_json(result)
        return
    typer.echo(f"workspace: {result['workspace']}")
    typer.echo(f"registry:  {result['database']}")
    typer.echo(f"cases:     {result['cases_dir']} ({result['patients']} patients, "
               f"{len(result['entities'])} entities: {', '.join(result['entities'])})")
    typer.echo(f"store:     {result['store']}")
    cov = result["recommendation_coverage"]
    typer.echo(f"recommendations: {cov['with_recommendation']} of {cov['patients']} patients "
               "(MASTER DSRCT study: 28 of 30)")
    typer.echo(f"intake summaries: {result['index']}")
    typer.echo(f"MTB reports (HTML, PDF, JSON per patient): {result['reports_index']}")
    for name, page in result.get("cohort_pages", {}).items():
        typer.echo(f"cohort page {name}: {page}")
    typer.echo(f"open this in a browser: file://{result['reports_index']}")
    board = result["board"]
    if board["user"]:
        typer.echo(f"browser tumour board: `make serve` (or `tumorboard serve -w "
                   f"{result['workspace']}`), open http://127.0.0.1:8000/ and sign in as "
                   f"'{board['user']}' with the password in {board['password_file']}; the "
                   f"board session of {board['board_date']} is waiting")


# --------------------------------------------------------------------------- outcomes

outcomes_app = typer.Typer(help="Therapy lines, local therapies, RECIST, follow-up and ctDNA "
                           "of patients: import, enter, show.", no_args_is_help=True)
app.add_typer(outcomes_app, name="outcomes")
cohort_app = typer.Typer(help="Registry analyses: survival, PFS ratio, prognostic score, "
                         "ctDNA, drug screens (HTML + JSON pages under reports/cohort).",
                         no_args_is_help=True)
app.add_typer(cohort_app, name="cohort")

DateOpt = Annotated[str | None, typer.Option(help="Date, YYYY-MM-DD.", show_default=False)]


def _date(value: str | None, option: str) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _err(f"error: {option} '{value}' is not a date (expected YYYY-MM-DD)")
        raise typer.Exit(2) from None


@outcomes_app.command("template")
def outcomes_template(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the blank template into.")],
    json_out: JsonOpt = False,
) -> None:
    """Write the blank outcomes template: an Excel workbook (README sheet) and CSV headers."""
    from tumorboard.io.outcomes import write_template

    paths = _run(lambda: write_template(out_dir))
    if json_out:
        _emit_json({k: str(v) for k, v in paths.items()})
    else:
        typer.echo(f"template workbook: {paths['workbook']}\nCSV headers: {out_dir / 'csv'}")


@outcomes_app.command("import")
def outcomes_import(
    files: Annotated[list[Path], typer.Argument(help="Template workbook (.xlsx) and/or CSV/TSV "
                                                "files named after their table, or cBioPortal "
                                                "timeline files with --cbioportal.")],
    cbioportal: Annotated[bool, typer.Option(
        "--cbioportal", help="The files are cBioPortal data_timeline_*.txt files.")] = False,
    anchor_date: Annotated[str | None, typer.Option(
        "--anchor-date", help="Date of day 0 of cBioPortal timelines for every patient "
        "[default: each patient's diagnosis date in the registry].")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")
                       ] = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import outcome records; the import lands whole or not at all, and re-importing a file
    replaces what it held for the patients it names."""
    from tumorboard.outcomes.records import import_outcome_files

    ws = _open(workspace, db)
    result = _run(lambda: import_outcome_files(
        ws, files, cbioportal=cbioportal, anchor_date=_date(anchor_date, "--anchor-date"),
        dry_run=dry_run))
    if json_out:
        _emit_json(result)
        return
    rows = ", ".join(f"{n:,} {t}" for t, n in result["rows"].items()) or "no rows"
    verb = "checked (dry run, nothing written)" if dry_run else "imported"
    typer.echo(f"{verb}: {rows} for {result['patients']} patients")


@outcomes_app.command("add-line")
def outcomes_add_line(
    patient: Annotated[str, typer.Argument(help="Pseudonymous patient id.")],
    line: Annotated[int, typer.Option(min=1, help="Line number (1 = first line).")],
    regimen: Annotated[str, typer.Option(help="Regimen name, e.g. 'VDC/IE'.")],
    modality: Annotated[str, typer.Option(help="e.g. chemotherapy, targeted_therapy, "
                                          "antibody_drug_conjugate (docs/outcomes.md).")],
    start: Annotated[str, typer.Option(help="Start date, YYYY-MM-DD.")],
    agents: Annotated[str | None, typer.Option(help="Agents separated by ';'.")] = None,
    intent: Annotated[str | None, typer.Option(help="curative, palliative, maintenance, …")
                      ] = None,
    stop: DateOpt = None,
    stop_reason: Annotated[str | None, typer.Option(
        help="progression, toxicity, completed, death, patient_choice, other")] = None,
    progression: DateOpt = None,
    recommendation: Annotated[int | None, typer.Option(
        help="Id of the MTB recommendation this line implements (marks it MTB-guided).")
                              ] = None,
    mtb_guided: Annotated[bool, typer.Option("--mtb-guided", help="The line follows an MTB "
                                             "recommendation.")] = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record (or correct) one therapy line of a patient."""
    row = {"patient": patient, "line": line, "regimen": regimen, "modality": modality,
           "start": _date(start, "--start"), "stop": _date(stop, "--stop"),
           "progression": _date(progression, "--progression"), "intent": intent,
           "stop_reason": stop_reason, "recommendation_id": recommendation,
           "mtb_guided": mtb_guided or recommendation is not None,
           "agents": [a.strip() for a in (agents or "").split(";") if a.strip()]}
    _add_record("lines", row, workspace, db, json_out)


@outcomes_app.command("add-event")
def outcomes_add_event(
    patient: Annotated[str, typer.Argument(help="Pseudonymous patient id.")],
    kind: Annotated[str, typer.Option(help="progression, recurrence, death or last_followup")],
    on: Annotated[str, typer.Option("--date", help="Date of the event, YYYY-MM-DD.")],
    detail: Annotated[str | None, typer.Option(help="Free text, e.g. 'new liver lesions'.")
                      ] = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a progression, recurrence, death or last follow-up of a patient."""
    row = {"patient": patient, "date": _date(on, "--date"), "kind": kind, "detail": detail}
    _add_record("events", row, workspace, db, json_out)


def _add_record(name: str, row: dict[str, Any], workspace: Path | None, db: str | None,
                json_out: bool) -> None:
    from tumorboard.outcomes.records import add_outcome

    ws = _open(workspace, db)
    result = _run(lambda: add_outcome(ws, name, row))
    if json_out:
        _emit_json(result)
    else:
        typer.echo(f"recorded: {name[:-1] if name.endswith('s') else name} of "
                   f"{row['patient']}")


@outcomes_app.command("show")
def outcomes_show(
    patient: Annotated[str, typer.Argument(help="Pseudonymous patient id.")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A patient's lines with PFS and PFS ratio, events, RECIST responses and ctDNA."""
    from tumorboard.outcomes import DAYS_PER_MONTH
    from tumorboard.outcomes.cohort import patient_course, table_records

    ws = _open(workspace, db)
    with ws.session() as session:
        course = _run(lambda: patient_course(session, patient))
    if json_out:
        _emit_json({k: table_records(v) if hasattr(v, "to_dict") else v
                    for k, v in course.items()})
        return
    pfs = course["pfs"].set_index("line") if len(course["pfs"]) else None
    for r in course["lines"].itertuples():
        d = pfs.loc[r.line] if pfs is not None else None
        stop = r.stop.date() if not _na(r.stop) else "ongoing"
        p = (f"PFS {d['pfs_days'] / DAYS_PER_MONTH:.1f} mo{'' if d['pfs_event'] else '+'}"
             if d is not None else "")
        typer.echo(f"line {r.line}: {r.regimen} ({r.modality}) {r.start.date()} – {stop} "
                   f"{p}{'  [MTB-guided]' if r.mtb_guided else ''}")
    for r in course["ratios"].itertuples() if len(course["ratios"]) else []:
        ratio = "–" if _na(r.pfs_ratio) else f"{r.pfs_ratio:.2f}"
        typer.echo(f"PFS ratio line {r.line}: {ratio} → {r.verdict.replace('_', ' ')}")
    for r in course["events"].itertuples():
        typer.echo(f"{r.date.date()} {r.kind.replace('_', ' ')}")
    if len(course["responses"]):
        best = course["responses"].groupby("line", dropna=False)["overall"].agg(list)
        for line, seq in best.items():
            typer.echo(f"RECIST line {line}: {' → '.join(seq)}")
    for r in course["ctdna"].itertuples() if len(course["ctdna"]) else []:
        typer.echo(f"ctDNA {r.collected.date()} {r.sample}: TF {r.tumour_fraction:.2e} "
                   f"({r.mrd})")


def _na(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def _cohort(kind: str, workspace: Path | None, db: str | None, json_out: bool,
            **options: Any) -> None:
    from tumorboard.report.outcomes import cohort_report

    ws = _open(workspace, db)
    doc, paths = _run(lambda: cohort_report(ws, kind, **options))
    if json_out:
        _emit_json(doc | {"pages": {k: str(v) for k, v in paths.items()}})
        return
    typer.echo(doc["headline"])
    typer.echo(f"page: file://{paths['html']}\njson: {paths['json']}")


EndpointOpt = Annotated[str, typer.Option(help="os (overall survival) or pfs.")]
PatientsOpt = Annotated[list[str] | None, typer.Option(
    "--patients", help="Only patients whose id matches this pattern (* and ?; repeatable), "
    "e.g. 'SIM-LAT-*'.", show_default=False)]


@cohort_app.command("survival")
def cohort_survival(
    endpoint: EndpointOpt = "os",
    time_zero: Annotated[str, typer.Option(
        "--from", help="lat (time zero = first local ablative therapy) or diagnosis.")
                         ] = "lat",
    patients: PatientsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Kaplan–Meier, log-rank, Cox and the sarcoma study group's subgroup analyses."""
    _cohort("survival", workspace, db, json_out, endpoint=endpoint, time_zero=time_zero,
            patients=patients)


@cohort_app.command("pfsr")
def cohort_pfsr(
    threshold: Annotated[float, typer.Option(help="PFS ratio counted as benefit.")] = 1.3,
    patients: PatientsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """PFS ratio of every MTB-guided line, share with PFSr ≥ 1.3, Texier estimate."""
    _cohort("pfsr", workspace, db, json_out, threshold=threshold, patients=patients)


@cohort_app.command("prognostic")
def cohort_prognostic(
    endpoint: EndpointOpt = "os",
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the "
                                           "optimism correction.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the bootstrap.")] = 0,
    patients: PatientsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Penalised Cox prognostic score with bootstrap-validated C-index, AUC, calibration,
    points and risk groups."""
    _cohort("prognostic", workspace, db, json_out, endpoint=endpoint, n_bootstrap=bootstrap,
            random_state=seed, patients=patients)


@cohort_app.command("ctdna")
def cohort_ctdna(
    patients: PatientsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Tumour fraction, MRD call, molecular response and lead time of tracked plasma."""
    _cohort("ctdna", workspace, db, json_out, patients=patients)


@cohort_app.command("screens")
def cohort_screens(
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """DSS heatmap of every patient-derived model and drug screened (models grouped by
    entity), with the table: reports/cohort/drug-screens.html and .json."""
    from tumorboard.report.screens import write_cohort_screens

    ws = _open(workspace, db)
    doc, paths = _run(lambda: write_cohort_screens(ws))
    if json_out:
        _emit_json(doc | {"pages": {k: str(v) for k, v in paths.items()}})
        return
    typer.echo(doc["headline"])
    typer.echo(f"page: file://{paths['html']}\njson: {paths['json']}")


# --------------------------------------------------------------------------- classifier

BetasOpt = Annotated[Path, typer.Option(
    "--betas", help="Beta values, probes as rows and samples as columns (TSV/CSV, optionally "
    "gzipped, or Parquet; see docs/formats.md#classifier).", show_default=False)]
LabelsOpt = Annotated[Path, typer.Option(
    "--labels", help="Methylation class of each sample: CSV/TSV with sample and class "
    "columns, or the GSE140686 annotation (IDAT/ID, Meth_Class).", show_default=False)]
SampleColumnOpt = Annotated[str | None, typer.Option(
    "--sample-column", help="Column of the labels file holding the sample ids [default: "
    "sample, IDAT or ID, whichever matches the matrix].", show_default=False)]
FeaturesOpt = Annotated[int, typer.Option(
    "--features", min=2, help="CpGs the classifier selects (Capper 2018: 10,000).")]
CvFoldsOpt = Annotated[int, typer.Option(
    "--cv-folds", min=2, help="Internal folds for the calibration scores.")]
DropUnlabelledOpt = Annotated[bool, typer.Option(
    "--drop-unlabelled", help="Drop samples of the matrix that have no label.")]
IgnoreExtraOpt = Annotated[bool, typer.Option(
    "--ignore-extra-labels", help="Ignore labels of samples that are not in the matrix.")]


def _training_data(betas: Path, labels: Path, *, sample_column: str | None,
                   drop_unlabelled: bool, ignore_extra_labels: bool) -> tuple[Any, Any]:
    """Reference betas and their labels, aligned; what was dropped is told on stderr."""
    from tumorboard.io.methylation import (
        align_labels,
        read_methylation_labels,
        read_reference_betas,
    )

    matrix = _run(lambda: read_reference_betas(betas))
    classes = _run(lambda: read_methylation_labels(labels, sample_column=sample_column,
                                                   samples=matrix.index))
    matrix, classes, notes = _run(lambda: align_labels(
        matrix, classes, drop_unlabelled=drop_unlabelled,
        ignore_extra_labels=ignore_extra_labels))
    for note in notes:
        _err(f"note: {note}")
    return matrix, classes


def _check_class_sizes(classes: Any, *, cv_folds: int, outer_folds: int = 0) -> None:
    """Refuse classes too small for the (nested) stratified folds, before any fitting."""
    from tumorboard.errors import InputError
    from tumorboard.io._files import listing

    counts = classes.value_counts()
    if len(counts) < 2:
        raise InputError(f"the labels hold {len(counts)} class; a classifier needs at least 2",
                         file=classes.attrs.get("source"))
    # each class must fill every outer fold, and each outer training set every inner fold
    need = [(c, int(n)) for c, n in counts.items()
            if (outer_folds >= 2 and n < outer_folds)
            or (n - (-(-n // outer_folds) if outer_folds >= 2 else 0)) < cv_folds]
    if need:
        where = f"{cv_folds} calibration folds" + (
            f" inside {outer_folds} outer folds" if outer_folds >= 2 else "")
        raise InputError(
            f"{len(need)} class(es) have too few samples for {where}: "
            + listing((f"{c} ({n})" for c, n in need), 10, quote=False),
            file=classes.attrs.get("source"),
            fix="add samples, merge or drop those classes, or lower --cv-folds/--outer-folds")


def _per_class_accuracy(classes: Any, proba: Any) -> list[dict[str, Any]]:
    """Out-of-fold accuracy and share of confident calls of each class."""
    import numpy as np

    from tumorboard.diagnosis.classifier import CALL_THRESHOLD

    pred = proba.columns.to_numpy()[proba.to_numpy().argmax(axis=1)]
    top = proba.to_numpy().max(axis=1)
    truth = classes.reindex(proba.index).to_numpy()
    rows = []
    for cls in sorted(set(truth)):
        mask = truth == cls
        rows.append({"class": str(cls), "n": int(mask.sum()),
                     "accuracy": float(np.mean(pred[mask] == cls)),
                     "share_confident": float(np.mean(top[mask] >= CALL_THRESHOLD))})
    return rows


def _cv_summary(result: dict[str, Any], classes: Any) -> dict[str, Any]:
    """A nested cross-validation result as a JSON-ready document (without probabilities)."""
    doc = {k: v for k, v in result.items() if k != "proba"}
    doc["per_class"] = _per_class_accuracy(classes, result["proba"])
    return doc


def _echo_cv(doc: dict[str, Any]) -> None:
    typer.echo(f"nested cross-validation, {doc['outer_folds']} outer folds, "
               f"{doc['n_samples']:,} samples, {len(doc['classes'])} classes")
    typer.echo(f"  accuracy        {doc['accuracy']:.3f}")
    typer.echo(f"  Brier score     {doc['brier']:.3f}")
    typer.echo(f"  log-loss        {doc['log_loss']:.3f}")
    typer.echo(f"  share >= 0.9    {doc['share_confident']:.3f}")
    if doc.get("accuracy_confident") is not None:
        typer.echo(f"  accuracy >= 0.9 {doc['accuracy_confident']:.3f}")
    typer.echo(f"  {'class':<16} {'n':>5} {'accuracy':>9} {'>= 0.9':>7}")
    for row in doc["per_class"]:
        typer.echo(f"  {row['class']:<16} {row['n']:>5} {row['accuracy']:>9.3f} "
                   f"{row['share_confident']:>7.3f}")


def _echo_model(info: dict[str, Any], verb: str) -> None:
    flag = " (active)" if info["active"] else ""
    typer.echo(f"{verb} model {info['name']}{flag}: {info['classes']} classes, "
               f"{info['features']:,} CpGs (at least {info['features_required']:,} needed per "
               f"sample)")
    if info.get("cv_accuracy") is not None:
        typer.echo(f"  nested CV: accuracy {info['cv_accuracy']:.3f}, Brier "
                   f"{info['cv_brier']:.3f}, log-loss {info['cv_log_loss']:.3f}")
    typer.echo(f"  file {info['file']} (sha256 {info['sha256'][:12]})")


@classifier_app.command("train")
def classifier_train(
    betas: BetasOpt,
    labels: LabelsOpt,
    name: Annotated[str | None, typer.Option(help="Model name [default sarcoma-<training "
                                             "hash>].")] = None,
    features: FeaturesOpt = 10_000,
    cv_folds: CvFoldsOpt = 5,
    outer_folds: Annotated[int, typer.Option(
        "--outer-folds", min=0, help="Nested cross-validation folds whose metrics are stored "
        "with the model (0: none).")] = 0,
    no_activate: Annotated[bool, typer.Option(
        "--no-activate", help="Install without making it the model analyses use.")] = False,
    sample_column: SampleColumnOpt = None,
    drop_unlabelled: DropUnlabelledOpt = False,
    ignore_extra_labels: IgnoreExtraOpt = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Train a methylation classifier on a labelled reference and install it."""
    from tumorboard.diagnosis.classifier import MethylationClassifier, nested_cross_validate
    from tumorboard.diagnosis.installed import install_model

    if outer_folds == 1:
        _err("--outer-folds must be 0 (no nested cross-validation) or at least 2")
        raise typer.Exit(2)
    ws = _open(workspace, db)
    matrix, classes = _training_data(betas, labels, sample_column=sample_column,
                                     drop_unlabelled=drop_unlabelled,
                                     ignore_extra_labels=ignore_extra_labels)
    _run(lambda: _check_class_sizes(classes, cv_folds=cv_folds, outer_folds=outer_folds))
    clf = MethylationClassifier(n_features=features, cv_folds=cv_folds)
    metrics = None
    if outer_folds >= 2:
        _err(f"nested cross-validation ({outer_folds} outer folds) ...")
        result = _run(lambda: nested_cross_validate(clf, matrix, classes,
                                                    outer_folds=outer_folds))
        metrics = _cv_summary(result, classes)
    _err(f"training on {len(matrix):,} samples x {matrix.shape[1]:,} probes ...")
    _run(lambda: clf.fit(matrix, classes))
    extra = {"betas": str(betas), "labels": str(labels), "n_samples": len(matrix),
             "description": f"trained on {betas.name} ({len(matrix):,} samples, "
                            f"{classes.nunique()} classes)"}
    info = _run(lambda: install_model(ws, clf, name=name, activate=not no_activate,
                                      metrics=metrics, extra=extra))
    if json_out:
        _emit_json(info)
    else:
        _echo_model(info, "installed")


@classifier_app.command("evaluate")
def classifier_evaluate(
    betas: BetasOpt,
    labels: LabelsOpt,
    outer_folds: Annotated[int, typer.Option("--outer-folds", min=2,
                                             help="Outer cross-validation folds.")] = 5,
    features: FeaturesOpt = 10_000,
    cv_folds: CvFoldsOpt = 5,
    sample_column: SampleColumnOpt = None,
    drop_unlabelled: DropUnlabelledOpt = False,
    ignore_extra_labels: IgnoreExtraOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Nested cross-validation of the classifier on a labelled reference; installs nothing."""
    from tumorboard.diagnosis.classifier import MethylationClassifier, nested_cross_validate

    matrix, classes = _training_data(betas, labels, sample_column=sample_column,
                                     drop_unlabelled=drop_unlabelled,
                                     ignore_extra_labels=ignore_extra_labels)
    _run(lambda: _check_class_sizes(classes, cv_folds=cv_folds, outer_folds=outer_folds))
    clf = MethylationClassifier(n_features=features, cv_folds=cv_folds)
    result = _run(lambda: nested_cross_validate(clf, matrix, classes, outer_folds=outer_folds))
    doc = _cv_summary(result, classes)
    if json_out:
        _emit_json(doc)
    else:
        _echo_cv(doc)


@classifier_app.command("predict")
def classifier_predict(
    betas: BetasOpt,
    model: Annotated[str | None, typer.Option("--model", help="Installed model name "
                                              "[default: the active one].")] = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Methylation class of every sample of a beta matrix, with the named or active model."""
    from tumorboard.diagnosis.installed import get_model
    from tumorboard.diagnosis.reference import class_families, class_names
    from tumorboard.io.methylation import read_reference_betas

    ws = _open(workspace, db)
    clf, info = _run(lambda: get_model(ws, model))
    matrix = _run(lambda: read_reference_betas(betas))
    table = _run(lambda: clf.call(matrix, families=class_families()))
    names = class_names()
    calls = []
    for sample, row in table.iterrows():
        top = [{"class": row[f"class_{k}"], "score": float(row[f"score_{k}"])}
               for k in (1, 2, 3) if f"class_{k}" in row and isinstance(row[f"class_{k}"], str)]
        calls.append({"sample": str(sample), "call": row["call"],
                      "call_name": names.get(row["call"], ""),
                      "call_level": row["call_level"], "score": float(row["score"]),
                      "family": row["family"], "family_score": float(row["family_score"]),
                      "top": top, "features_present": int(row["features_present"]),
                      "features_required": int(row["features_required"]),
                      "features_total": int(row["features_total"])})
    if json_out:
        _emit_json({"model": info, "platform": matrix.attrs.get("platform"), "calls": calls})
        return
    typer.echo(f"model {info['name']} ({info['sha256'][:12]}), {len(calls)} sample(s), "
               f"platform {matrix.attrs.get('platform')}")
    typer.echo(f"{'sample':<24} {'call':<16} {'level':<7} {'score':>6}  {'CpGs':>13}  top 3")
    for c in calls:
        top = ", ".join(f"{t['class']} {t['score']:.2f}" for t in c["top"])
        cpgs = f"{c['features_present']:,}/{c['features_required']:,}"
        typer.echo(f"{c['sample']:<24} {c['call']:<16} {c['call_level']:<7} "
                   f"{c['score']:>6.3f}  {cpgs:>13}  {top}")


@classifier_app.command("list")
def classifier_list(workspace: WorkspaceOpt = None, db: DbOpt = None,
                    json_out: JsonOpt = False) -> None:
    """Methylation classifiers installed in the workspace; the active one flagged."""
    from tumorboard.diagnosis.installed import list_models

    ws = _open(workspace, db)
    models = _run(lambda: list_models(ws))
    if json_out:
        _emit_json({"models": models})
        return
    if not models:
        typer.echo("no methylation classifier installed (train one with `tumorboard "
                   "classifier train` or install one with `tumorboard classifier install`)")
    for m in models:
        flag = "*" if m["active"] else " "
        acc = f"CV accuracy {m['cv_accuracy']:.3f}" if m.get("cv_accuracy") is not None \
            else "no CV metrics"
        sim = ", simulated" if m["simulated"] else ""
        typer.echo(f"{flag} {m['name']:<32} {m['classes']:>3} classes {m['features']:>6,} CpGs "
                   f"{acc}{sim}  {m['sha256'][:12]}")


@classifier_app.command("activate")
def classifier_activate(
    name: Annotated[str, typer.Argument(help="Installed model name (see `classifier list`).")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Make an installed model the one analyses use."""
    from tumorboard.diagnosis.installed import activate_model

    ws = _open(workspace, db)
    info = _run(lambda: activate_model(ws, name))
    if json_out:
        _emit_json(info)
    else:
        _echo_model(info, "activated")


@classifier_app.command("install")
def classifier_install(
    path: Annotated[Path, typer.Argument(help="Model artifact (.npz written by tumorboard).")],
    name: Annotated[str | None, typer.Option(help="Model name [default sarcoma-<training "
                                             "hash>].")] = None,
    no_activate: Annotated[bool, typer.Option(
        "--no-activate", help="Install without making it the model analyses use.")] = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Install a model artifact file into the workspace."""
    from tumorboard.diagnosis.installed import install_model

    ws = _open(workspace, db)
    info = _run(lambda: install_model(ws, path, name=name, activate=not no_activate))
    if json_out:
        _emit_json(info)
    else:
        _echo_model(info, "installed")


# --------------------------------------------------------------------------- web and users
users_app = typer.Typer(help="Accounts of the browser tumour board (tumorboard serve).",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Sign-in name: lower-case letters, digits, "
                                            "'.', '_', '-'.")],
    role: Annotated[str, typer.Option(help="viewer | board_member | admin")] = "viewer",
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin "
        "[default: ask twice, hidden].")] = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an account (password hashed with argon2id)."""
    from tumorboard.accounts import add_user
    from tumorboard.registry.db import transaction

    ws = _open(workspace, db)
    password = _password(password_stdin)

    def add() -> dict[str, Any]:
        with transaction(ws.engine) as s:
            return add_user(s, username, password, role=role, display_name=name)

    user = _run(add)
    if json_out:
        _emit_json(user)
    else:
        typer.echo(f"added {user['username']} ({user['role']})")


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = None, db: DbOpt = None,
               json_out: JsonOpt = False) -> None:
    """Every account with role and last sign-in."""
    from tumorboard.accounts import list_users

    ws = _open(workspace, db)
    with ws.session() as s:
        users = list_users(s)
    if json_out:
        _emit_json(users)
        return
    for u in users:
        state = "active" if u["active"] else "disabled"
        typer.echo(f"{u['username']:<20} {u['role']:<13} {state:<9} "
                   f"last sign-in {u['last_login_at'] or '-'}")


@users_app.command("set")
def users_set(
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str | None, typer.Option(help="New role.")] = None,
    disable: Annotated[bool, typer.Option("--disable", help="Disable the account.")] = False,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account.")] = False,
    password: Annotated[bool, typer.Option("--password", help="Set a new password (asked, or "
                                           "read with --password-stdin).")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a user's role, enable or disable the account, or reset the password."""
    from tumorboard.accounts import update_user
    from tumorboard.registry.db import transaction

    if disable and enable:
        _err("error: --disable and --enable exclude each other")
        raise typer.Exit(2)
    ws = _open(workspace, db)
    new_password = _password(password_stdin) if password or password_stdin else None

    def update() -> dict[str, Any]:
        with transaction(ws.engine) as s:
            return update_user(s, username, role=role, password=new_password,
                               active=False if disable else True if enable else None)

    user = _run(update)
    if json_out:
        _emit_json(user)
    else:
        typer.echo(f"{user['username']}: {user['role']}, "
                   f"{'active' if user['active'] else 'disabled'}")


@users_app.command("token")
def users_token(username: Annotated[str, typer.Argument(help="User name.")],
                workspace: WorkspaceOpt = None, db: DbOpt = None,
                json_out: JsonOpt = False) -> None:
    """Issue an API token for scripts (replaces the previous one; shown only now)."""
    from tumorboard.accounts import issue_api_token
    from tumorboard.registry.db import transaction

    ws = _open(workspace, db)

    def issue() -> str:
        with transaction(ws.engine) as s:
            return issue_api_token(s, username)

    token = _run(issue)
    if json_out:
        _emit_json({"username": username, "token": token})
    else:
        typer.echo(token)
        _err("Send it as 'Authorization: Bearer <token>'; it is not shown again.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default; "
                                      "put a TLS reverse proxy in front for a network).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies", help="Mark cookies Secure (use when served over HTTPS).")] = False,
    workers: Annotated[int, typer.Option(help="Server processes.")] = 1,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Serve the browser tumour board (pages and the JSON API under /api)."""
    import logging

    import uvicorn

    settings = Settings.resolve(workspace, db)
    ws = _open(workspace, db)  # fail early and clearly on a missing workspace
    with ws.session() as s:
        from sqlalchemy import func, select

        from tumorboard.registry.models import User

        if not s.scalar(select(func.count()).select_from(User)):
            _err("note: no accounts yet; add one with "
                 "`tumorboard users add NAME --role admin`")
    ws.engine.dispose()
    os.environ["TUMORBOARD_WORKSPACE"] = str(settings.workspace)
    os.environ["TUMORBOARD_DB"] = settings.database_url
    os.environ["TUMORBOARD_SECURE_COOKIES"] = "1" if secure_cookies else ""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    _err(f"tumorboard serving {settings.workspace} on http://{host}:{port}/")
    # access_log=False: uvicorn's access log would print paths with patient pseudonyms;
    # tumorboard.web logs route templates instead.
    # timeout_keep_alive: longer than people pause between clicks; at uvicorn's 5 s a
    # browser's next request races the server closing the idle connection
    uvicorn.run("tumorboard.web.app:app_from_environment", factory=True, host=host,
                port=port, workers=workers, access_log=False, log_level="info",
                timeout_keep_alive=75)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""The ``tumorboard`` command line: parses, calls the library, turns errors into exit codes.

Exit codes: 0 success, 1 domain error (message on stderr), 2 usage error. Every command that
shows results takes ``--json`` and then prints exactly one JSON document on stdout; logs and
progress go to stderr.
"""

from __future__ import annotations

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
    json_out: JsonOpt = False,
) -> None:
    """Score every layer against the cohort, integrate targets, store findings."""
    from tumorboard.analysis import analyze as run_analysis

    if bool(patients) == all_patients:
        _err("give patient ids or --all (not both)")
        raise typer.Exit(2)
    ws = _open(workspace, db)
    result = _run(lambda: run_analysis(ws, None if all_patients else patients))
    summary = result.summary()
    if json_out:
        _emit_json(summary)
        return
    typer.echo(f"analysed {len(summary['patients'])} patient(s) against cohort "
               f"{summary['cohort'][:12]}: {summary['findings']:,} findings, "
               f"{summary['targets']:,} target genes")
    for kind, n in summary["by_kind"].items():
        typer.echo(f"  {kind:<18} {n:,}")


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
    json_out: JsonOpt = False,
) -> None:
    """The MTB report of each patient: HTML (works offline), PDF, JSON, FHIR, Phenopacket."""
    from tumorboard.report.mtb import parse_formats, write_report

    if bool(patients) == all_patients:
        _err("give patient ids or --all (not both)")
        raise typer.Exit(2)
    formats = _run(lambda: parse_formats(fmt))
    ws = _open(workspace, db)
    patients = _patient_ids(ws, patients, all_patients)
    written = {p: _run(lambda p=p: write_report(ws, p, formats=formats, out_dir=out))
               for p in _progress(list(patients or []), "writing reports")}
    if json_out:
        _emit_json({p: {k: str(v) for k, v in paths.items()} for p, paths in written.items()})
        return
    for p, paths in written.items():
        typer.echo(f"{p}: " + "  ".join(str(v) for v in paths.values()))


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
        truth = _run(lambda: sim.simulate_cohort(out_dir, seed=seed, n_dsrct=n_dsrct))
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
    typer.echo(f"open this in a browser: file://{result['reports_index']}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

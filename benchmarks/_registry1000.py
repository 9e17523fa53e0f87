"""Build a realistic 1,000-patient registry quickly for the load benchmark (issue 7).

Simulating, importing and analysing 1,000 patients would take hours; instead a small cohort
(36 patients, eight entities, ``size="small"``) is simulated, imported, given outcome records,
analysed and matched against the knowledge base once (cached in a folder and reused), and its
patients are then cloned at the SQL level to the wanted size:

1. the base rows are copied into the target registry (SQLite or PostgreSQL, schema made by the
   migrations) with their ids;
2. one ``INSERT ... SELECT`` per table clones every patient-owned row ``k`` times through a
   mapping table (old patient, ``k``, old pseudonym, new pseudonym, uid suffix): ids are
   shifted by ``k`` times the table's largest base id, foreign keys by that of the referenced
   table, and the old pseudonym is replaced by the new one in every text and JSON column (so
   sample keys and the samples named in provenance and rationales follow); assay uids get a
   new unique suffix;
3. the Parquet files of the cloned assays are rewritten under their new uids with the new
   sample key in their ``sample_id`` column (so per-assay and cohort reads see distinct
   samples);
4. 50 weekly board sessions with 12-patient agendas are added (all but the two newest
   signed).

New pseudonyms continue each entity's numbering (``DSRCT-013``, ``DSRCT-014``, ...), so the
registry looks like 1,000 patients of the same eight entities.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import JSON, Engine, Integer, String, Table, Text, insert, select, text
from sqlalchemy import Column as SAColumn
from sqlalchemy import MetaData as SAMetaData

#: The base cohort: 12 DSRCT (the issue's focus) and 24 other sarcomas.
BASE_OTHERS = {"DDLS": 4, "SYNS": 4, "ES": 4, "GIST": 3, "IMT": 3, "LMS": 3, "ASPS": 3}
BASE_DSRCT = 12
SEED = 20261122
#: Tables holding a patient's rows, in the order they are cloned (foreign keys first).
CLONED = ("patients", "diagnoses", "samples", "assays", "analyses", "findings",
          "target_evidence", "recommendations", "board_decisions", "diagnosis_reviews",
          "therapy_lines", "local_therapies", "recist_measurements", "clinical_events",
          "plasma_measurements")
#: Tables copied once from the base (shared by every clone).
SHARED = ("cohort_snapshots",)
#: How a table without ``patient_id`` reaches its patient: (parent table, foreign key).
VIA = {"assays": ("samples", "sample_id"), "board_decisions": ("recommendations",
                                                               "recommendation_id")}
N_BOARDS, AGENDA_SIZE = 50, 12
MAP_TABLE = "bench_patient_map"


# --------------------------------------------------------------------------- base cohort


def build_base(folder: Path, *, progress=print) -> Path:
    """Simulate, import, analyse and recommend the 36-patient base cohort into ``folder``
    (skipped when a finished one is there); returns its workspace folder."""
    done = folder / "BASE_DONE"
    ws_dir = folder / "ws"
    if done.exists():
        return ws_dir
    # Imported only when the base is built: a cached base needs none of the pipeline.
    from tumorboard.analysis import analyze
    from tumorboard.config import Settings
    from tumorboard.intake import import_case
    from tumorboard.outcomes.records import import_outcome_files
    from tumorboard.recommend import recommend_patient, record_decision
    from tumorboard.registry.models import Recommendation
    from tumorboard.simulate import simulate_cohort, simulate_outcomes
    from tumorboard.workspace import Workspace

    if folder.exists():
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    truth = simulate_cohort(folder / "cases", seed=SEED, n_dsrct=BASE_DSRCT,
                            others=BASE_OTHERS, size="small")
    ws = Workspace.init(Settings.resolve(ws_dir, None))
    for case in sorted((folder / "cases").glob("*/case.yaml")):
        import_case(ws, case.parent)
    simulate_outcomes(folder / "outcomes", truth, seed=SEED)
    import_outcome_files(ws, sorted((folder / "outcomes").glob("*.csv")), source="simulated")
    analyze(ws)
    patients = sorted(p.patient_id for p in truth.patients)
    for p in patients:
        recommend_patient(ws, p)
    # Board decisions on two thirds of the patients' first recommendation, a third of
    # those implemented, so status filters and decision histories have something to show.
    with ws.session() as s:
        firsts = s.execute(select(Recommendation.id, Recommendation.patient_id)
                           .where(Recommendation.direction == "sensitivity",
                                  Recommendation.rank == 1)
                           .order_by(Recommendation.patient_id)).all()
    day = dt.date(2026, 6, 2)
    for i, (rec_id, _) in enumerate(firsts):
        if i % 3 == 2:
            continue
        record_decision(ws, rec_id, "accepted", on=day, recorded_by="board.chair")
        if i % 3 == 0:
            record_decision(ws, rec_id, "implemented", on=day + dt.timedelta(days=21),
                            recorded_by="board.chair")
    ws.engine.dispose()
    done.write_text(f"{time.perf_counter() - t0:.1f}\n")
    progress(f"base cohort of {len(patients)} patients built in "
             f"{time.perf_counter() - t0:.1f} s ({folder})")
    return ws_dir


# --------------------------------------------------------------------------- cloning


def _clone_plan(base_rows: list[tuple[int, str]], n_patients: int
                ) -> list[tuple[int, int, str, str, str]]:
    """(old patient id, k, old pseudonym, new pseudonym, uid suffix) of every clone k >= 1."""
    by_prefix: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    for pid, pseudonym in base_rows:
        prefix, _, num = pseudonym.rpartition("-")
        by_prefix[prefix].append((pid, pseudonym, int(num)))
    count = {prefix: max(n for *_, n in rows) for prefix, rows in by_prefix.items()}
    ordered = sorted(base_rows)
    plan = []
    need, k = n_patients - len(ordered), 1
    while need > 0:
        for pid, pseudonym in ordered[:need]:
            prefix, _, num = pseudonym.rpartition("-")
            new = f"{prefix}-{int(num) + k * count[prefix]:03d}"
            plan.append((pid, k, pseudonym, new, f"c{k:05d}"))
        need -= min(need, len(ordered))
        k += 1
    return plan


def _copy_base(src: Engine, dst: Engine, tables: list[Table]) -> None:
    """Copy the base rows, ids kept, into the (empty) target registry."""
    with src.connect() as sc, dst.begin() as dc:
        for table in tables:
            rows = [dict(r._mapping) for r in sc.execute(select(table))]
            if rows:
                dc.execute(insert(table), rows)


def _clone_sql(table: Table, strides: dict[str, int], postgres: bool) -> str:
    """``INSERT ... SELECT`` cloning the base rows of ``table`` once per mapping row."""
    cols, exprs = [], []
    for col in table.columns:
        ref = next(iter(col.foreign_keys), None)
        name = f"t.{col.name}"
        if col.primary_key:
            expr = f"{name} + m.k * {strides[table.name]}"
        elif ref is not None and ref.column.table.name in strides:
            expr = f"{name} + m.k * {strides[ref.column.table.name]}"
        elif table.name == "assays" and col.name == "uid":
            expr = f"SUBSTR({name}, 1, 26) || m.tag"
        elif isinstance(col.type, JSON):
            expr = (f"CAST(REPLACE(CAST({name} AS TEXT), m.old, m.new) AS JSON)" if postgres
                    else f"REPLACE({name}, m.old, m.new)")
        elif isinstance(col.type, String | Text):
            expr = f"REPLACE({name}, m.old, m.new)"
        else:
            expr = name
        cols.append(col.name)
        exprs.append(expr)
    if table.name == "patients":
        join = "JOIN bench_patient_map m ON t.id = m.pid"
    elif "patient_id" in table.columns:
        join = "JOIN bench_patient_map m ON t.patient_id = m.pid"
    else:
        parent, fk = VIA[table.name]
        join = f"JOIN {parent} p ON t.{fk} = p.id JOIN bench_patient_map m ON p.patient_id = m.pid"
    return (f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
            f"FROM {table.name} t {join} WHERE t.id <= {strides[table.name]}")


def _rewrite_parquet(store: Path, base_store: Path, jobs: list[tuple[str, str, str]],
                     threads: int = 2) -> int:
    """Write ``store/<table>/<new uid>.parquet`` from the base file with the new sample key."""
    by_source: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for table, old_uid, new_uid_and_key in jobs:
        new_uid, key = new_uid_and_key.split("\t")
        by_source[(table, old_uid)].append((new_uid, key))

    def one(item: tuple[tuple[str, str], list[tuple[str, str]]]) -> int:
        (table, old_uid), targets = item
        src = base_store / table / f"{old_uid}.parquet"
        data = pq.read_table(src)
        at = data.schema.get_field_index("sample_id")
        n = 0
        for new_uid, key in targets:
            sample = pa.DictionaryArray.from_arrays(
                pa.array([0] * data.num_rows, type=pa.int32()), pa.array([key]))
            out = data.set_column(at, "sample_id", sample)
            pq.write_table(out, store / table / f"{new_uid}.parquet", compression="zstd")
            n += 1
        return n

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, by_source.items()))


def _board_sessions(dst: Engine, n_patients_ids: list[int], *, n_boards: int,
                    today: dt.date) -> None:
    """Weekly board sessions, newest last, with 12 patients each; all but two signed."""
    from tumorboard.registry.models import BoardAgendaItem, BoardSession

    rng = random.Random(SEED)
    questions = ("Targeted therapy option after progression?", "Clinical trial eligibility?",
                 "Diagnosis revision suggested: confirm entity?", "Follow-up of implemented "
                 "recommendation", None)
    sessions, items = [], []
    # Tuesdays: the newest on or after today, then weekly back.
    newest = today + dt.timedelta(days=(1 - today.weekday()) % 7)
    item_id = 1
    for i in range(n_boards):
        day = newest - dt.timedelta(weeks=n_boards - 1 - i)
        signed = i < n_boards - 2
        sessions.append({"id": i + 1, "board_date": day, "title": "Molecular tumour board",
                         "status": "signed" if signed else "open",
                         "signed_by": "board.chair" if signed else None,
                         "signed_at": (dt.datetime.combine(day, dt.time(17, 0), dt.UTC)
                                       if signed else None), "version": 1})
        for pos, pid in enumerate(rng.sample(n_patients_ids, AGENDA_SIZE), 1):
            items.append({"id": item_id, "board_session_id": i + 1, "patient_id": pid,
                          "position": pos, "question": rng.choice(questions)})
            item_id += 1
    with dst.begin() as c:
        c.execute(insert(BoardSession.__table__), sessions)
        c.execute(insert(BoardAgendaItem.__table__), items)


def build_registry(root: Path, db_url: str | None, *, n_patients: int = 1000,
                   base_folder: Path, progress=print) -> dict[str, float]:
    """Create a workspace at ``root`` (registry at ``db_url``, default SQLite in it) holding
    ``n_patients`` patients cloned from the base cohort; returns timings in seconds.

    ``root`` must not exist. PostgreSQL: ``db_url`` names an existing, empty database.
    """
    from tumorboard.config import Settings
    from tumorboard.registry import db
    from tumorboard.registry.models import Base
    from tumorboard.workspace import Workspace

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    base_ws = build_base(base_folder, progress=progress)
    timings["base_s"] = time.perf_counter() - t0
    src = db.create_registry_engine(db.sqlite_url(base_ws / "registry.sqlite"))
    t1 = time.perf_counter()
    ws = Workspace.init(Settings.resolve(root, db_url))
    dst = ws.engine
    postgres = dst.dialect.name == "postgresql"
    tables = [t for t in Base.metadata.sorted_tables if t.name in (*SHARED, *CLONED)]
    _copy_base(src, dst, tables)
    with src.connect() as sc:
        base_patients = [tuple(r) for r in sc.execute(text(
            "SELECT id, pseudonym FROM patients ORDER BY id"))]
        strides = {t.name: int(sc.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t.name}"))
                               .scalar()) for t in tables if t.name in CLONED}
    src.dispose()
    plan = _clone_plan(base_patients, n_patients)
    mapping = Table(MAP_TABLE, SAMetaData(), SAColumn("pid", Integer), SAColumn("k", Integer),
                    SAColumn("old", String(64)), SAColumn("new", String(64)),
                    SAColumn("tag", String(8)))
    with dst.begin() as c:
        mapping.create(c)
        if plan:
            c.execute(insert(mapping), [dict(zip(("pid", "k", "old", "new", "tag"), p,
                                                 strict=True)) for p in plan])
        for table in tables:
            if table.name in CLONED and plan:
                c.execute(text(_clone_sql(table, strides, postgres)))
        # Parquet jobs: every cloned assay, its base uid and its new sample key.
        jobs = []
        if plan:
            rows = c.execute(text(
                "SELECT a.uid, SUBSTR(a.uid, 1, 26) || m.tag, REPLACE(s.sample_key, m.old, "
                "m.new), a.store_tables FROM assays a JOIN samples s ON a.sample_id = s.id "
                f"JOIN {MAP_TABLE} m ON s.patient_id = m.pid WHERE a.id <= {strides['assays']}"))
            import json

            for old_uid, new_uid, key, store_tables in rows:
                if isinstance(store_tables, str):
                    store_tables = json.loads(store_tables)
                for table_name in store_tables or {}:
                    jobs.append((table_name, old_uid, f"{new_uid}\t{key}"))
        mapping.drop(c)
        if postgres:
            for table in tables:
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"))
    timings["registry_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    base_store = base_ws / "store"
    for table_dir in base_store.iterdir():
        if table_dir.is_dir():
            (ws.store.root / table_dir.name).mkdir(parents=True, exist_ok=True)
            for f in table_dir.glob("*.parquet"):
                target = ws.store.root / table_dir.name / f.name
                try:
                    target.hardlink_to(f)
                except OSError:
                    shutil.copy2(f, target)
    timings["parquet_files"] = _rewrite_parquet(ws.store.root, base_store, jobs)
    timings["parquet_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    with dst.connect() as c:
        ids = [r[0] for r in c.execute(text("SELECT id FROM patients ORDER BY id"))]
    _board_sessions(dst, ids, n_boards=N_BOARDS, today=dt.date.today())
    if postgres:
        with dst.begin() as c:
            for name in ("board_sessions", "board_agenda"):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                               f"(SELECT MAX(id) FROM {name}))"))
    # Fresh planner statistics, as a registry that grew over time would have.
    with dst.begin() as c:
        c.execute(text("ANALYZE"))
    timings["boards_s"] = time.perf_counter() - t3
    timings["clone_total_s"] = time.perf_counter() - t1
    with dst.connect() as c:
        timings["patients"] = c.execute(text("SELECT COUNT(*) FROM patients")).scalar()
        timings["findings"] = c.execute(text("SELECT COUNT(*) FROM findings")).scalar()
    dst.dispose()
    return timings


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per registry table (for the benchmark's report)."""
    out: dict[str, Any] = {}
    with engine.connect() as c:
        for name in (*CLONED, "board_sessions", "board_agenda"):
            out[name] = int(c.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar())
    return out

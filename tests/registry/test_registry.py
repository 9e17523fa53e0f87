"""The registry on both databases: schema from migrations, constraints, queries."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from tumorboard.config import Settings
from tumorboard.errors import NotFoundError, WorkspaceError
from tumorboard.registry import db
from tumorboard.registry.models import Assay, Base, Diagnosis, Finding, Patient, Sample
from tumorboard.registry.queries import list_patients, patient_detail
from tumorboard.workspace import Workspace


def _patient(pseudonym: str = "DSRCT-001") -> Patient:
    p = Patient(pseudonym=pseudonym, sex="male", year_of_birth=1999, ecog=1,
                prior_therapies=["VDC/IE 2024"])
    p.diagnoses.append(Diagnosis(histology="DSRCT", oncotree_code="DSRCT",
                                 oncotree_version="oncotree_2025_10_03", stage="metastatic",
                                 metastatic_sites=["liver"]))
    tumour = Sample(sample_key=f"{pseudonym}-T1", sample_type="tumour", origin="primary",
                    tumour_cell_content=0.6, collection_date=dt.date(2024, 2, 1))
    tumour.assays.append(Assay(uid=f"{pseudonym}-a1", layer="expression", label="expression",
                               version=1, format="salmon", file_name="quant.genes.sf",
                               file_sha256="0" * 64, file_size=5_000_000_000,
                               store_tables={"expression": 20000}))
    p.samples.append(tumour)
    p.samples.append(Sample(sample_key=f"{pseudonym}-N", sample_type="normal"))
    return p


def test_init_creates_schema_matching_models(workspace: Workspace) -> None:
    tables = set(inspect(workspace.engine).get_table_names())
    assert {"patients", "diagnoses", "samples", "assays", "findings", "alembic_version"} <= tables
    with workspace.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    assert db.schema_is_current(workspace.engine)


def test_init_is_idempotent(workspace: Workspace) -> None:
    again = Workspace.init(workspace.settings)
    assert db.schema_is_current(again.engine)
    again.engine.dispose()


def test_records_round_trip_with_big_file_size(workspace: Workspace) -> None:
    with db.transaction(workspace.engine) as s:
        s.add(_patient())
    with workspace.session() as s:
        p = s.scalar(select(Patient).where(Patient.pseudonym == "DSRCT-001"))
        assert p.current_diagnosis.oncotree_code == "DSRCT"
        assert p.prior_therapies == ["VDC/IE 2024"]
        assert [x.sample_key for x in p.samples] == ["DSRCT-001-T1", "DSRCT-001-N"]
        assert p.samples[0].assays[0].file_size == 5_000_000_000  # needs BIGINT on PostgreSQL
        assert p.samples[0].collection_date == dt.date(2024, 2, 1)


def test_check_constraints_are_enforced(workspace: Workspace) -> None:
    with pytest.raises(IntegrityError), db.transaction(workspace.engine) as s:
        s.add(Patient(pseudonym="X", sex="alien"))
    with pytest.raises(IntegrityError), db.transaction(workspace.engine) as s:
        p = Patient(pseudonym="Y", sex="female")
        p.samples.append(Sample(sample_key="Y-T", sample_type="tumour", tumour_cell_content=70))
        s.add(p)
    with workspace.session() as s:
        assert s.scalar(select(Patient).where(Patient.pseudonym.in_(["X", "Y"]))) is None


def test_sample_ids_are_unique_across_patients(workspace: Workspace) -> None:
    with db.transaction(workspace.engine) as s:
        s.add(_patient("A"))
    with pytest.raises(IntegrityError), db.transaction(workspace.engine) as s:
        other = Patient(pseudonym="B", sex="female")
        other.samples.append(Sample(sample_key="A-T1", sample_type="tumour"))
        s.add(other)


def test_foreign_keys_cascade_on_delete(workspace: Workspace) -> None:
    with db.transaction(workspace.engine) as s:
        p = _patient()
        s.add(p)
        s.flush()
        s.add(Finding(patient_id=p.id, sample_id=p.samples[0].id, layer="expression",
                      gene="ERBB2", feature="ERBB2", kind="overexpression", value=7.5,
                      z_score=2.8, percentile_cohort=96.0, reference_size=29, call="high",
                      provenance={"method": "leave-one-out z"}))
    with workspace.engine.begin() as conn:  # raw SQL: the database itself must cascade
        conn.execute(text("DELETE FROM patients WHERE pseudonym = 'DSRCT-001'"))
    with workspace.session() as s:
        assert s.scalars(select(Sample)).all() == []
        assert s.scalars(select(Assay)).all() == []
        assert s.scalars(select(Finding)).all() == []


def test_findings_round_trip(workspace: Workspace) -> None:
    with db.transaction(workspace.engine) as s:
        p = _patient()
        s.add(p)
        s.flush()
        s.add(Finding(patient_id=p.id, sample_id=p.samples[0].id, layer="phosphoproteome",
                      gene="ERBB2", feature="ERBB2 pY1248", kind="activation", value=-0.3,
                      z_score=-0.4, reference_size=29, call="not_activated",
                      provenance={"assay": "DSRCT-001-a1"}))
    with workspace.session() as s:
        f = s.scalar(select(Finding).where(Finding.gene == "ERBB2"))
        assert (f.kind, f.call, f.provenance) == (
            "activation", "not_activated", {"assay": "DSRCT-001-a1"})


def test_bulk_insert_matches_the_orm_and_rolls_back_whole(workspace: Workspace) -> None:
    """``db.bulk_insert`` (COPY on PostgreSQL, executemany on SQLite) stores exactly what the
    ORM stores, text that COPY must escape included, fills Python-side defaults, and lands
    with its transaction or not at all."""
    awkward = "tab\there, new\nline, back\\slash, \\N, 'quote' \"dq\", ü, ∆"
    with db.transaction(workspace.engine) as s:
        p = _patient()
        s.add(p)
        s.flush()
        rows = [{"patient_id": p.id, "sample_id": None, "layer": "expression", "gene": g,
                     "feature": awkward if g == "A" else f"{g} feature", "kind": "expression",
                     "value": v, "z_score": None, "reference_size": 12, "call": None,
                     "provenance": {"note": awkward, "n": [1, None, 2.5]} if g == "A" else {}}
                for g, v in (("A", 1.5), ("B", None), ("C", 0.1 + 0.2))]
        db.bulk_insert(s, Finding.__table__, rows)
        db.bulk_insert(s, Finding.__table__, [])
    with workspace.session() as s:
        got = {f.gene: f for f in s.scalars(select(Finding))}
    assert sorted(got) == ["A", "B", "C"]
    assert got["A"].feature == awkward and got["A"].value == 1.5
    assert got["A"].provenance == {"note": awkward, "n": [1, None, 2.5]}
    assert got["B"].value is None and got["B"].provenance == {}
    assert got["C"].value == 0.1 + 0.2  # floats round-trip exactly through COPY text
    assert got["A"].created_at is not None and got["A"].assay_id is None
    with pytest.raises(IntegrityError), db.transaction(workspace.engine) as s:
        db.bulk_insert(s, Finding.__table__, [dict(rows[0], gene="D"),
                                              dict(rows[0], gene="E", patient_id=10**9)])
    with workspace.session() as s:
        assert s.scalar(select(Finding).where(Finding.gene == "D")) is None


def test_queries_list_and_detail(workspace: Workspace) -> None:
    with db.transaction(workspace.engine) as s:
        s.add(_patient("DSRCT-001"))
        s.add(_patient("DSRCT-002"))
    with workspace.session() as s:
        rows = list_patients(s)
        assert [r["patient"] for r in rows] == ["DSRCT-001", "DSRCT-002"]
        assert rows[0]["entity"]["name"] == "Desmoplastic Small-Round-Cell Tumor"
        assert rows[0]["layers"] == ["expression"]
        assert list_patients(s, entity="SYNS") == []
        assert len(list_patients(s, layer="expression")) == 2
        detail = patient_detail(s, "DSRCT-002")
        assert detail["samples"][0]["assays"][0]["format"] == "salmon"
        with pytest.raises(NotFoundError, match="no patient 'NOPE'"):
            patient_detail(s, "NOPE")


def test_sqlite_uses_wal_and_foreign_keys(sqlite_workspace: Workspace) -> None:
    with sqlite_workspace.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_open_requires_an_initialised_workspace(tmp_path) -> None:
    with pytest.raises(WorkspaceError, match="tumorboard init"):
        Workspace.open(Settings.resolve(tmp_path / "nothing", None))


def test_unsupported_or_bad_database_url() -> None:
    with pytest.raises(WorkspaceError, match="not supported"):
        db.create_registry_engine("mysql://u@h/db")
    with pytest.raises(WorkspaceError, match="not valid"):
        db.create_registry_engine("::nonsense::")


def test_unreachable_postgres_is_a_clear_error(tmp_path) -> None:
    settings = Settings.resolve(tmp_path / "ws",
                                "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(WorkspaceError, match="cannot reach the registry database"):
        Workspace.init(settings)


def test_database_label_masks_password() -> None:
    s = Settings.resolve("/tmp/x", "postgresql+psycopg://alice:secret@db.example:5432/tb")
    assert "secret" not in s.database_label and "alice" in s.database_label


def test_upgrade_from_first_migration_keeps_data(db_url: str) -> None:
    """A registry created by an older tumorboard (revision 0001) upgrades with its data."""
    from alembic import command

    engine = db.create_registry_engine(db_url)
    command.upgrade(db._alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO patients (pseudonym, sex, prior_therapies, created_at, updated_at) "
            "VALUES ('OLD-1', 'female', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    assert not db.schema_is_current(engine)
    db.upgrade(engine)
    assert db.schema_is_current(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pseudonym FROM patients")).scalar() == "OLD-1"
        assert "analysis_id" in {c["name"] for c in inspect(conn).get_columns("findings")}
    engine.dispose()

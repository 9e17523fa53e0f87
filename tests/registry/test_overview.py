"""The data of the browser's patient list and patient page (tumorboard.registry.overview).

Each filter is checked against an independent way of asking the same question (the
per-patient queries of tumorboard.registry.queries), on a copy of the analysed cohort with
recommendations, a decision, a board session and a signed report added.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from tests.web.conftest import copy_registry
from tumorboard.config import Settings
from tumorboard.errors import InputError, NotFoundError
from tumorboard.recommend import patient_recommendations, recommend_patient, record_decision
from tumorboard.registry import overview, queries
from tumorboard.registry.db import transaction
from tumorboard.registry.models import (
    Analysis,
    AuditEntry,
    BoardAgendaItem,
    BoardSession,
    Diagnosis,
    Patient,
    Recommendation,
    SignedReport,
)
from tumorboard.workspace import Workspace

BOARD_DATE = dt.date(2026, 12, 3)


def _copy(analysed, root: Path) -> Workspace:
    source, _truth = analysed
    shutil.copytree(source.root, root, ignore=shutil.ignore_patterns("registry.sqlite*"))
    url = f"sqlite:///{root / 'registry.sqlite'}"
    copy_registry(source, url)
    return Workspace.open(Settings(workspace=root, database_url=url))


@pytest.fixture(scope="module")
def ws(analysed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The analysed cohort with recommendations; DSRCT-001's top one accepted; DSRCT-001 and
    DSRCT-003 on the board of BOARD_DATE, DSRCT-001 with a signed report version 1."""
    ws = _copy(analysed, tmp_path_factory.mktemp("overview") / "ws")
    with ws.session() as s:
        pseudonyms = [p["patient"] for p in queries.list_patients(s)]
    for p in pseudonyms:
        recommend_patient(ws, p)
    with ws.session() as s:
        top = patient_recommendations(s, "DSRCT-001")["recommendations"][0]
    record_decision(ws, top["id"], "accepted", on=BOARD_DATE)
    with transaction(ws.engine) as s:
        ids = dict(s.execute(select(Patient.pseudonym, Patient.id)).all())
        board = BoardSession(board_date=BOARD_DATE, status="signed")
        s.add(board)
        s.flush()
        s.add_all([BoardAgendaItem(board_session_id=board.id, patient_id=ids["DSRCT-001"],
                                   position=1, question="T-DXd?"),
                   BoardAgendaItem(board_session_id=board.id, patient_id=ids["DSRCT-003"],
                                   position=2)])
        s.add(SignedReport(patient_id=ids["DSRCT-001"], board_session_id=board.id, version=1,
                           content_sha256="0" * 64, document={}, html="<p>signed</p>",
                           signed_by="web:board_member"))
    yield ws
    ws.engine.dispose()


def _names(result: dict) -> list[str]:
    return [r["patient"] for r in result["patients"]]


def _all(ws: Workspace, **filters) -> list[str]:
    with ws.session() as s:
        return _names(overview.patient_list(s, per_page=500, **filters))


def test_unfiltered_list_is_every_patient_by_pseudonym_with_its_row(ws: Workspace) -> None:
    with ws.session() as s:
        found = overview.patient_list(s)
        expected = [p["patient"] for p in queries.list_patients(s)]
        targets = queries.patient_targets(s, "DSRCT-002")["targets"]
        recs = patient_recommendations(s, "DSRCT-001")
    assert found["total"] == len(expected) == 18
    assert _names(found) == sorted(expected)
    rows = {r["patient"]: r for r in found["patients"]}
    ds2 = rows["DSRCT-002"]
    assert ds2["entity_code"] == "ES" and ds2["entity_name"] == "Ewing Sarcoma"
    assert ds2["diagnosis_alert"] is True and ds2["concordance"] == "discordant"
    assert ds2["suggested_code"] == "DSRCT"
    assert "variants" in ds2["layers"] and "proteome" in ds2["layers"]
    for state in overview.TARGET_STATES:
        assert ds2["target_counts"][state] == len({t["gene"] for t in targets
                                                   if t["state"] == state})
    ds1 = rows["DSRCT-001"]
    first = recs["recommendations"][0]
    assert ds1["top_recommendation"] == {"therapy": first["therapy"],
                                         "evidence_level": first["evidence_level"],
                                         "rank": first["rank"], "status": "accepted"}
    n = len(recs["recommendations"]) + len(recs["resistance"])
    assert ds1["recommendation_counts"]["accepted"] == 1
    assert sum(ds1["recommendation_counts"].values()) == n
    assert ds1["latest_board_date"] == BOARD_DATE and ds1["latest_signed_version"] == 1
    assert rows["DSRCT-003"]["latest_signed_version"] is None
    assert not rows["ES-001"]["diagnosis_alert"]


def test_entity_filter_matches_the_current_diagnosis(ws: Workspace) -> None:
    with ws.session() as s:
        codes = [e["code"] for e in overview.entity_options(s)]
        for code in codes:
            expected = [p["patient"] for p in queries.list_patients(s, entity=code)]
            assert _all(ws, entity=code) == expected, code
            assert _all(ws, entity=code.lower()) == expected
    assert "DSRCT" in codes and "ES" in codes
    assert "DSRCT-002" not in _all(ws, entity="DSRCT")  # submitted as Ewing sarcoma
    assert _all(ws, entity="NOSUCH") == []


def _by_state(ws: Workspace, state: str, gene: str | None = None) -> list[str]:
    out = []
    with ws.session() as s:
        for p in queries.list_patients(s):
            targets = queries.patient_targets(s, p["patient"])["targets"]
            if any(t["state"] == state and (gene is None or t["gene"] == gene)
                   for t in targets):
                out.append(p["patient"])
    return sorted(out)


@pytest.mark.parametrize("state", overview.TARGET_STATES)
def test_target_state_filter_matches_the_latest_target_evidence(ws: Workspace, state: str
                                                                 ) -> None:
    assert _all(ws, target_state=state) == _by_state(ws, state)


def test_target_state_with_a_gene(ws: Workspace) -> None:
    expected = _by_state(ws, "expressed_not_activated", "ERBB2")
    assert expected and len(expected) < 18
    assert _all(ws, target_state="expressed_not_activated", gene="ERBB2") == expected
    assert _all(ws, target_state="expressed_not_activated", gene="erbb2") == expected
    present = sorted(set().union(*(_by_state(ws, s, "ERBB2") for s in overview.PRESENT_STATES)))
    assert _all(ws, gene="ERBB2") == present


def test_status_filter(ws: Workspace) -> None:
    assert _all(ws, status="accepted") == ["DSRCT-001"]
    with ws.session() as s:
        proposed = sorted(p for p, in s.execute(
            select(Patient.pseudonym).join(Recommendation)
            .where(Recommendation.status == "proposed").distinct()))
    assert _all(ws, status="proposed") == proposed
    assert _all(ws, status="implemented") == []


def test_board_date_filter(ws: Workspace) -> None:
    assert _all(ws, board_date=BOARD_DATE) == ["DSRCT-001", "DSRCT-003"]
    assert _all(ws, board_date="2026-12-03") == ["DSRCT-001", "DSRCT-003"]
    assert _all(ws, board_date="2026-12-04") == []


def test_filters_combine(ws: Workspace) -> None:
    assert _all(ws, board_date=BOARD_DATE, status="accepted") == ["DSRCT-001"]
    assert _all(ws, entity="ES", search="DSRCT") == ["DSRCT-002"]


def test_search_by_pseudonym_therapy_and_gene(ws: Workspace) -> None:
    assert _all(ws, search="dsrct-01") == ["DSRCT-010", "DSRCT-011", "DSRCT-012"]
    with ws.session() as s:
        with_gpc3 = sorted(p for p, in s.execute(
            select(Patient.pseudonym).join(Recommendation)
            .where(Recommendation.therapy == "GPC3 CAR-T").distinct()))
    assert 0 < len(with_gpc3) < 18 and _all(ws, search="gpc3 car") == with_gpc3
    fused = sorted({p for p in _all(ws) if _has_fusion(ws, p, "EWSR1::WT1")})
    assert fused and set(fused) <= set(_all(ws, search="WT1"))
    assert _all(ws, search="no such thing") == []
    assert _all(ws, search="%") == []  # LIKE wildcards are literal
    assert _all(ws, search="  ") == _all(ws)


def _has_fusion(ws: Workspace, pseudonym: str, fusion: str) -> bool:
    with ws.session() as s:
        findings = queries.patient_findings(s, pseudonym)
    return bool(((findings["kind"] == "fusion") & (findings["feature"] == fusion)).any())


def test_pagination_is_stable_and_complete(ws: Workspace) -> None:
    with ws.session() as s:
        pages = [overview.patient_list(s, page=n, per_page=5) for n in range(1, 6)]
    names = [p for page in pages for p in _names(page)]
    assert names == _all(ws) and len(set(names)) == 18
    assert [len(p["patients"]) for p in pages] == [5, 5, 5, 3, 0]
    assert all(p["total"] == 18 for p in pages)


@pytest.mark.parametrize(("filters", "message"), [
    ({"target_state": "active"}, "unknown target state 'active'"),
    ({"status": "approved"}, "unknown recommendation status 'approved'"),
    ({"board_date": "3.12.2026"}, "'3.12.2026' is not a date (expected YYYY-MM-DD)"),
    ({"search": "DSRCT\x00"}, "the search text 'DSRCT?' is not valid"),
    ({"search": "x" * 101}, "is not valid (expected printable text of at most 100"),
    ({"page": 0}, "page 0 with 50 per page is not valid"),
    ({"per_page": 501}, "page 1 with 501 per page is not valid"),
])
def test_bad_filters_say_what_is_wrong_and_write_nothing(ws: Workspace, filters, message
                                                         ) -> None:
    with ws.session() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
        with pytest.raises(InputError) as err:
            overview.patient_list(s, **filters)
        assert message in str(err.value)
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before


def _statements(ws: Workspace, fn) -> int:
    count = 0

    def count_one(*_args) -> None:
        nonlocal count
        count += 1

    event.listen(ws.engine, "before_cursor_execute", count_one)
    try:
        with ws.session() as s:
            fn(s)
    finally:
        event.remove(ws.engine, "before_cursor_execute", count_one)
    return count


def test_the_list_runs_a_bounded_number_of_statements(analysed, tmp_path: Path) -> None:
    """Seven statements for any page size and registry size: no query per patient."""
    ws = _copy(analysed, tmp_path / "ws")
    run = lambda s: overview.patient_list(s, per_page=100)  # noqa: E731
    small = _statements(ws, run)
    with transaction(ws.engine) as s:
        for i in range(60):
            p = Patient(pseudonym=f"ZZ-{i:03d}", sex="female")
            s.add(p)
            s.flush()
            s.add(Diagnosis(patient_id=p.id, histology="DSRCT", oncotree_code="DSRCT",
                            oncotree_version="oncotree_2025_10_03"))
            s.add(Recommendation(patient_id=p.id, key=f"k{i}", rank=1, therapy="pazopanib",
                                 drug_class="tki", basket="kinase", evidence_level="m3",
                                 direction="sensitivity", rationale="test"))
    large = _statements(ws, run)
    with ws.session() as s:
        assert overview.patient_list(s, per_page=100)["total"] == 78
        bare = overview.patient_overview(s, "ZZ-000")  # registry-only: not analysed
    assert bare["analysis"] is None and bare["concordance"] is None
    assert bare["targets"]["total"] == 0 and bare["findings"] == {} and bare["quality"] == []
    assert bare["recommendations"][0]["therapy"] == "pazopanib"
    assert small == large <= 7
    # filters add the analysis stamp and, once per stamp, the target and gene questions
    assert _statements(ws, lambda s: overview.patient_list(
        s, entity="DSRCT", search="ERBB2", target_state="activated", status="proposed",
        board_date="2026-12-03")) == 5  # nothing to add to an empty page
    assert _statements(ws, lambda s: overview.patient_list(
        s, entity="DSRCT", search="ERBB2", target_state="activated", status="proposed",
        board_date="2026-12-03")) == 3  # the cached answers
    assert _statements(ws, lambda s: overview.patient_list(
        s, entity="DSRCT", search="0", target_state="not_expressed")) <= small + 3
    ws.engine.dispose()


def test_patient_overview_of_a_discordant_patient(ws: Workspace) -> None:
    with ws.session() as s:
        alerts = {a["patient"] for a in queries.diagnosis_alerts(s)}
        data = overview.patient_overview(s, "DSRCT-002")
        recs = patient_recommendations(s, "DSRCT-002")
    assert "DSRCT-002" in alerts
    assert data["diagnosis"]["oncotree_code"] == "ES"
    assert data["diagnosis"]["histology_submitted"] == "Ewing sarcoma"
    c = data["concordance"]
    assert c["alert"] and c["title"] == "diagnosis revision suggested"
    assert c["status"] == "discordant" and c["suggested"] == "DSRCT"
    assert c["evidence"][0]["citation"].startswith("Ladanyi M")
    assert [r["id"] for r in data["recommendations"]] == [
        r["id"] for r in recs["recommendations"]]
    assert all(r["citations"] for r in data["recommendations"])
    # the counts leave out genes without evidence either way ('unknown')
    assert data["targets"]["total"] >= sum(data["targets"]["counts"].values()) > 0
    genes = {t["gene"] for t in data["targets"]["shown"]}
    assert {g for r in data["recommendations"] for g in r["genes"]} <= genes
    assert "fusions" in data["findings"]
    assert any(f["feature"] == "EWSR1::WT1" for f in data["findings"]["fusions"])
    layers = {q["layer"] for q in data["quality"]}
    assert {"variants", "copy_number", "expression", "proteome"} <= layers
    assert all("qc" not in q for q in data["quality"])
    assert data["signed_reports"] == [] and data["board_sessions"] == []


def test_key_findings_are_those_of_the_report(ws: Workspace) -> None:
    from tumorboard.report.document import key_findings

    with ws.session() as s:
        data = overview.patient_overview(s, "DSRCT-001")
        expected = key_findings(queries.patient_findings(s, "DSRCT-001"))
    assert data["findings"] == expected


def test_patient_overview_board_and_signed_versions(ws: Workspace) -> None:
    with ws.session() as s:
        data = overview.patient_overview(s, "DSRCT-001")
    assert data["board_sessions"] == [{"date": "2026-12-03", "title": "Molecular tumour board",
                                       "status": "signed", "question": "T-DXd?"}]
    assert [v["version"] for v in data["signed_reports"]] == [1]
    top = data["recommendations"][0]
    assert top["status"] == "accepted" and top["decisions"][0]["decision"] == "accepted"


def test_unknown_patient(ws: Workspace) -> None:
    with ws.session() as s, pytest.raises(NotFoundError, match="no patient 'NOPE'"):
        overview.patient_overview(s, "NOPE")
    with ws.session() as s, pytest.raises(NotFoundError, match="no patient 'NOPE'"):
        overview.findings_page(s, "NOPE")


def test_quality_figures_are_those_of_layer_qc_and_cached(ws: Workspace, monkeypatch) -> None:
    from tumorboard.report.summary import patient_summary

    with ws.session() as s:
        data = overview.with_quality(ws, overview.patient_overview(s, "DSRCT-001"))
    summary = patient_summary(ws, "DSRCT-001")
    expected = {a["uid"]: a["qc"] for smp in summary["samples"] for a in smp["assays"]}
    assert {q["uid"]: q["qc"] for q in data["quality"]} == expected

    def no_store(*_args, **_kwargs):
        raise AssertionError("the store was read again")

    monkeypatch.setattr(ws.store, "read", no_store)
    with ws.session() as s:
        again = overview.with_quality(ws, overview.patient_overview(s, "DSRCT-001"))
    assert [q["qc"] for q in again["quality"]] == [q["qc"] for q in data["quality"]]


def test_findings_page(ws: Workspace) -> None:
    with ws.session() as s:
        everything = queries.patient_findings(s, "DSRCT-001")
        first = overview.findings_page(s, "DSRCT-001", per_page=50)
        second = overview.findings_page(s, "DSRCT-001", page=2, per_page=50)
        fusions = overview.findings_page(s, "DSRCT-001", layer="fusions")
        gene = overview.findings_page(s, "DSRCT-001", gene="wt1")
        with pytest.raises(InputError, match="page 0"):
            overview.findings_page(s, "DSRCT-001", page=0)
    assert first["total"] == len(everything) > 100
    assert len(first["findings"]) == len(second["findings"]) == 50
    assert not {(f["feature"], f["kind"]) for f in first["findings"]} & {
        (f["feature"], f["kind"]) for f in second["findings"]}
    assert fusions["total"] == int((everything["layer"] == "fusions").sum())
    assert {f["layer"] for f in fusions["findings"]} == {"fusions"}
    assert gene["total"] == int((everything["gene"] == "WT1").sum()) > 0


def test_qc_is_stored_at_import_and_warming_covers_older_assays(analysed, tmp_path: Path,
                                                               monkeypatch) -> None:
    """The intake stores each assay's QC figures; they equal layer_qc of the stored table.
    Assays imported before it did (qc empty) are computed once by the warm-up."""
    from sqlalchemy import update

    from tumorboard.io.tables import layer_qc
    from tumorboard.registry.models import Assay

    ws = _copy(analysed, tmp_path / "ws")
    with ws.session() as s:
        stored = s.execute(select(Assay.uid, Assay.store_tables, Assay.qc)).all()
    assert stored and all(r.qc and set(r.qc) == set(r.store_tables) for r in stored)
    uid, tables, qc = stored[0]
    assert qc == {t: json.loads(json.dumps(layer_qc(t, ws.store.read(t, [uid])),
                                           default=float)) for t in tables}
    assert overview.warm_quality_cache(ws) == 0  # nothing left to compute
    with transaction(ws.engine) as s:
        s.execute(update(Assay).values(qc={}))  # as if imported by an older tumorboard
    with ws.session() as s:
        n = sum(len(smp["assays"]) for p in queries.list_patients(s)
                for smp in queries.patient_detail(s, p["patient"])["samples"])
    assert overview.warm_quality_cache(ws) == n == 159  # 144 omics assays + 15 drug screens

    def no_store(*_args, **_kwargs):
        raise AssertionError("the store was read again")

    monkeypatch.setattr(ws.store, "read", no_store)
    with ws.session() as s:
        data = overview.with_quality(ws, overview.patient_overview(s, "IMT-001"))
    assert all(q["qc"] for q in data["quality"])
    ws.engine.dispose()


def test_warming_the_analysis_views_makes_first_visits_cheap(ws: Workspace,
                                                             monkeypatch) -> None:
    from tumorboard.registry import queries as q

    with overview._ANALYSIS_LOCK:
        overview._ANALYSIS_CACHE.clear()
    with ws.session() as s:
        n = s.scalar(select(func.count(func.distinct(Analysis.patient_id))))
    assert overview.warm_analysis_views(ws) == n > 0

    def no_targets(*_args, **_kwargs):
        raise AssertionError("target evidence read again")

    monkeypatch.setattr(q, "patient_targets", no_targets)
    with ws.session() as s:
        data = overview.patient_overview(s, "DSRCT-003")
    assert data["targets"]["shown"]

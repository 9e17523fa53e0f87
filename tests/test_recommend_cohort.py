"""Recommendations for a simulated cohort against its truth; board decisions; reports.

Uses the session fixture ``analysed`` (tests/conftest.py) and the curated sarcoma rules.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tumorboard.cli import app
from tumorboard.errors import InputError, NotFoundError
from tumorboard.recommend import patient_recommendations, recommend_patient, record_decision

ERBB2_KINASE_INHIBITORS = {"lapatinib", "neratinib", "tucatinib"}


@pytest.fixture(scope="module")
def recommended(analysed):
    ws, truth = analysed
    return ws, truth, {p.patient_id: recommend_patient(ws, p.patient_id)
                       for p in truth.patients}


def _therapies(doc: dict, *, demoted: bool = True) -> set[str]:
    return {a.lower() for r in doc["recommendations"] if demoted or not r["demoted"]
            for a in r["agents"]}


def test_every_dsrct_patient_gets_what_its_truth_implies(recommended) -> None:
    _, truth, docs = recommended
    for p in truth.patients:
        if p.entity != "DSRCT" or p.submitted_code != "DSRCT":
            continue
        got = _therapies(docs[p.patient_id])
        if p.erbb2_expressed and not p.erbb2_activated:
            assert "trastuzumab deruxtecan" in got, p.patient_id
            # never an ERBB2 kinase inhibitor ranked as a real option
            assert not ERBB2_KINASE_INHIBITORS & _therapies(docs[p.patient_id],
                                                            demoted=False), p.patient_id
        if p.cldn6_high:
            assert any("bnt211" in t for t in got), p.patient_id
        if p.kdr_activated:
            assert "pazopanib" in got, p.patient_id


def test_tdxd_level_and_rationale(recommended) -> None:
    _, truth, docs = recommended
    p = next(p for p in truth.patients if p.entity == p.submitted_code == "DSRCT"
             and p.erbb2_expressed and not p.erbb2_activated)
    rec = next(r for r in docs[p.patient_id]["recommendations"]
               if r["therapy"].lower().startswith("trastuzumab deruxtecan"))
    # basket trial in solid tumours + tumour-agnostic approval, IHC-based: m2A is Z
    assert rec["evidence_level"].split()[0] == "m2A" and "Z" in rec["evidence_level"].split()
    assert "expressed, not activated" in rec["reason"] or "not activated" in rec["reason"]
    assert rec["citations"] and all(c for c in rec["citations"])
    assert rec["basket"] == "antigen_directed"


def test_other_entities_get_their_standard_targets(recommended) -> None:
    _, truth, docs = recommended
    expected = {"DDLS": {"palbociclib", "abemaciclib"}, "GIST": {"imatinib"},
                "IMT": {"crizotinib"}}
    for p in truth.patients:
        if p.entity in expected and p.submitted_code == p.entity:
            assert expected[p.entity] & _therapies(docs[p.patient_id]), p.patient_id


def test_coverage_is_reported_not_tuned(recommended) -> None:
    """The share of patients with a recommendation (MASTER: 28/30 DSRCT) is measured."""
    _, truth, docs = recommended
    dsrct = [p for p in truth.patients if p.entity == "DSRCT"]
    covered = sum(bool(docs[p.patient_id]["recommendations"]) for p in dsrct)
    assert 0 < covered <= len(dsrct)


def test_every_recommendation_is_cited_and_ranked(recommended) -> None:
    _, _, docs = recommended
    for doc in docs.values():
        ranks = [r["rank"] for r in doc["recommendations"]]
        assert ranks == sorted(ranks)
        for r in doc["recommendations"] + doc["resistance"]:
            assert r["citations"], r["therapy"]
            assert r["evidence_level"].split()[0] in {"m1A", "m1B", "m1C", "m2A", "m2B",
                                                      "m2C", "m3", "m4"}


def test_rerun_is_idempotent_and_keeps_decisions(recommended) -> None:
    ws, truth, docs = recommended
    pid = next(p.patient_id for p in truth.patients if docs[p.patient_id]["recommendations"])
    first = docs[pid]["recommendations"]
    rec_id = first[0]["id"]
    accepted = record_decision(ws, rec_id, "accepted", on="2026-11-30", recorded_by="MTB")
    assert accepted["status"] == "accepted"
    again = recommend_patient(ws, pid)
    assert [r["id"] for r in again["recommendations"]] == [r["id"] for r in first]
    kept = next(r for r in again["recommendations"] if r["id"] == rec_id)
    assert kept["status"] == "accepted" and kept["decisions"][0]["on"] == "2026-11-30"
    with pytest.raises(InputError, match="needs a reason"):
        record_decision(ws, rec_id, "not_implemented")
    with pytest.raises(InputError, match="cannot become 'accepted'"):
        record_decision(ws, rec_id, "accepted")
    done = record_decision(ws, rec_id, "not_implemented", reason="drug not available")
    assert done["status"] == "not_implemented"
    with ws.session() as s:
        stored = patient_recommendations(s, pid)
    assert [d["decision"] for d in next(r for r in stored["recommendations"]
                                        if r["id"] == rec_id)["decisions"]] == [
        "accepted", "not_implemented"]
    with pytest.raises(NotFoundError):
        record_decision(ws, 999_999, "accepted")


def test_recommend_and_board_commands(recommended) -> None:
    ws, truth, _ = recommended
    pid = truth.patients[0].patient_id
    runner = CliRunner()
    res = runner.invoke(app, ["recommend", pid, "-w", str(ws.root), "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["patient"] == pid and doc["knowledge_release"]
    res = runner.invoke(app, ["board", "decide", "999999", "accepted", "-w", str(ws.root)])
    assert res.exit_code == 1 and "no recommendation with id 999999" in res.stderr
    res = runner.invoke(app, ["kb", "list", "--gene", "ERBB2", "-w", str(ws.root), "--json"])
    assert res.exit_code == 0
    assert any("trastuzumab deruxtecan" in r["therapy"] for r in json.loads(res.stdout)["rules"])


def test_reports_in_every_format(recommended, tmp_path) -> None:
    from tumorboard.report.mtb import write_reports

    ws, truth, _ = recommended
    p = next(p for p in truth.patients if p.entity == "DSRCT")
    written, index, failed = write_reports(ws, [p.patient_id], formats="html,pdf,json",
                                           out_dir=tmp_path)
    assert not failed
    files = written[p.patient_id]
    html = files["html"].read_text("utf-8")
    assert "<svg" in html and "http://" not in html.split("<svg")[0].split("<style>")[0]
    assert "For you and your family" in html and "Sign-off" in html
    assert files["pdf"].read_bytes()[:5] == b"%PDF-"
    doc = json.loads(files["json"].read_text("utf-8"))
    assert doc["patient"]["patient"] == p.patient_id
    assert doc["diagnosis"]["concordance"]["status"] in {"concordant", "refined"}
    assert {"report", "quality", "findings", "targets", "recommendations", "methods",
            "plain_language"} <= set(doc)
    assert p.patient_id in index.read_text("utf-8")


def test_discordant_histology_raises_an_alert(recommended, tmp_path) -> None:
    from tumorboard.report.document import mtb_report

    ws, truth, _ = recommended
    wrong = [p for p in truth.patients if p.histology_contradicts and p.defining_fusion]
    if not wrong:
        pytest.skip("no contradicted histology with a defining fusion in this cohort")
    doc = mtb_report(ws, wrong[0].patient_id)
    conc = doc["diagnosis"]["concordance"]
    assert conc["status"] in {"discordant", "refined"}
    assert conc["suggested"] == wrong[0].entity


def test_recommendations_and_decisions_on_both_databases(workspace, tmp_path) -> None:
    """The registry side (migration 0003, upserts, decisions) on SQLite and PostgreSQL."""
    from tumorboard.analysis import analyze
    from tumorboard.intake import import_case
    from tumorboard.simulate import simulate_cohort

    truth = simulate_cohort(tmp_path / "cases", n_dsrct=2, others={"GIST": 1}, size="small")
    for case in sorted((tmp_path / "cases").glob("*/case.yaml")):
        import_case(workspace, case.parent)
    analyze(workspace)
    gist = next(p.patient_id for p in truth.patients if p.entity == "GIST")
    doc = recommend_patient(workspace, gist)
    imatinib = next(r for r in doc["recommendations"] if "imatinib" in r["agents"])
    assert imatinib["evidence_level"].startswith("m1A")
    record_decision(workspace, imatinib["id"], "accepted", on="2026-12-01")
    record_decision(workspace, imatinib["id"], "implemented", on="2026-12-15")
    again = recommend_patient(workspace, gist)
    kept = next(r for r in again["recommendations"] if r["id"] == imatinib["id"])
    assert kept["status"] == "implemented"
    assert [d["on"] for d in kept["decisions"]] == ["2026-12-01", "2026-12-15"]


def test_reports_in_parallel_workers_match_the_serial_run(recommended, tmp_path) -> None:
    """Two Dask worker processes write the same reports as the serial run; a patient whose
    report fails (unknown here) is reported with its error and the others are written."""
    from tumorboard.report.mtb import write_reports

    ws, truth, _ = recommended
    patients = sorted(p.patient_id for p in truth.patients)[:3]
    serial, _, _ = write_reports(ws, patients, formats="json", out_dir=tmp_path / "one",
                                 jobs=1)
    parallel, index, failed = write_reports(ws, [*patients, "NOBODY"], formats="json",
                                            out_dir=tmp_path / "two", jobs=2)
    assert list(failed) == ["NOBODY"] and failed["NOBODY"].startswith("NotFoundError")
    assert list(parallel) == patients  # in the order asked, whichever finished first
    for p in patients:
        one = json.loads(serial[p]["json"].read_text("utf-8"))
        two = json.loads(parallel[p]["json"].read_text("utf-8"))
        assert one["report"]["content_sha256"] == two["report"]["content_sha256"]
    page = index.read_text("utf-8")
    assert all(p in page for p in patients)


def test_a_format_written_alone_does_not_mark_the_others_current(recommended, tmp_path,
                                                                 monkeypatch) -> None:
    """Each format has its own stamp: after the content changes, writing JSON only must
    leave the old HTML to be rewritten on the next request, not pass it as current."""
    from tumorboard.report import mtb

    ws, truth, _ = recommended
    p = sorted(x.patient_id for x in truth.patients)[0]
    first = mtb.write_report(ws, p, formats="html,json", out_dir=tmp_path)
    old_html = first["html"].read_bytes()
    real = mtb.mtb_report

    def changed(workspace, pseudonym):
        doc = real(workspace, pseudonym)
        doc["report"]["content_sha256"] = "0" * 64  # as if the registry had changed
        doc["patient"]["ecog"] = 3
        return doc

    monkeypatch.setattr(mtb, "mtb_report", changed)
    mtb.write_report(ws, p, formats="json", out_dir=tmp_path)
    again = mtb.write_report(ws, p, formats="html", out_dir=tmp_path)
    assert again["html"].read_bytes() != old_html

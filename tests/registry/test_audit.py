"""The audit log: imports, analyses and recommendations leave entries; who acted."""

from __future__ import annotations

from sqlalchemy import func, select

from tumorboard.registry import audit
from tumorboard.registry.db import transaction
from tumorboard.registry.models import AuditEntry, Patient


def test_imports_and_analyses_are_audited_per_patient(analysed) -> None:
    ws, truth = analysed
    with ws.session() as s:
        n_patients = s.scalar(select(func.count()).select_from(Patient))
        counts = dict(s.execute(select(AuditEntry.action, func.count())
                                .group_by(AuditEntry.action)).all())
        entry = audit.entries(s, action="case.import", limit=1)["entries"][0]
    assert n_patients == len(truth.patients)
    assert counts["case.import"] == n_patients
    assert counts["analysis.run"] >= n_patients
    assert entry["actor"].startswith("cli")  # no web user: the command line's login name
    assert entry["after"]["files"] and entry["after"]["files"][0]["sha256"]


def test_actor_and_filters(sqlite_workspace) -> None:
    with transaction(sqlite_workspace.engine) as s, audit.acting_as("web:dr.who"):
        audit.record(s, "thing.change", "things", 7, before={"a": 1}, after={"a": 2})
        audit.record(s, "thing.change", "things", 8, before=None, after={"a": 3})
    with transaction(sqlite_workspace.engine) as s:
        audit.record(s, "other.change", "others", 1)
    with sqlite_workspace.session() as s:
        found = audit.entries(s, entity="things")
        by_actor = audit.entries(s, actor_name="web:dr.who", limit=1)
        one = audit.entries(s, entity="things", entity_id=7)
    assert found["total"] == 2
    assert [e["entity_id"] for e in found["entries"]] == ["8", "7"]  # newest first
    assert by_actor["total"] == 2 and len(by_actor["entries"]) == 1
    assert one["entries"][0]["before"] == {"a": 1} and one["entries"][0]["after"] == {"a": 2}
    assert audit.current_actor().startswith("cli")  # the context ended with the block

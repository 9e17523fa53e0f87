"""Tumour board sessions: the agenda of a date, decisions, and the sign-off that freezes
each patient's report as the board saw it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tumorboard.registry.models import BoardSession, SignedReport
from tumorboard.registry.queries import find_patient


def signed_reports(session: Session, pseudonym: str) -> list[dict[str, Any]]:
    """The signed report versions of a patient, newest first (without their content).

    Raises
    ------
    NotFoundError
        Unknown patient.
    """
    patient = find_patient(session, pseudonym)
    rows = session.execute(
        select(SignedReport.version, SignedReport.content_sha256, SignedReport.signed_by,
               SignedReport.signed_at, BoardSession.board_date)
        .join(BoardSession, BoardSession.id == SignedReport.board_session_id)
        .where(SignedReport.patient_id == patient.id)
        .order_by(SignedReport.version.desc())).all()
    return [{"version": r.version, "content_sha256": r.content_sha256,
             "signed_by": r.signed_by, "signed_at": r.signed_at.isoformat(timespec="seconds"),
             "board_date": r.board_date.isoformat()} for r in rows]

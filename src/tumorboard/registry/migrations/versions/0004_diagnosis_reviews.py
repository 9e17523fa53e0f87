"""diagnosis reviews: molecular concordance and revision alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "diagnosis_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("submitted_code", sa.String(length=32), nullable=False),
        sa.Column("suggested_code", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('concordant', 'refined', 'discordant', 'no_molecular_evidence')",
            name=op.f("ck_diagnosis_reviews_status"),
        ),
        sa.ForeignKeyConstraint(
            ["analysis_id"], ["analyses.id"],
            name=op.f("fk_diagnosis_reviews_analysis_id_analyses"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"],
            name=op.f("fk_diagnosis_reviews_patient_id_patients"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_reviews")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_diagnosis_reviews_patient_id")),
    )


def downgrade() -> None:
    op.drop_table("diagnosis_reviews")

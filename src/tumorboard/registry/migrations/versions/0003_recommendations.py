"""recommendations and board decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("therapy", sa.Text(), nullable=False),
        sa.Column("drug_class", sa.String(length=32), nullable=False),
        sa.Column("basket", sa.String(length=32), nullable=False),
        sa.Column("evidence_level", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("genes", sa.JSON(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("knowledge_release", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'accepted', 'rejected', 'implemented', 'not_implemented')",
            name=op.f("ck_recommendations_status"),
        ),
        sa.CheckConstraint(
            "direction IN ('sensitivity', 'resistance')",
            name=op.f("ck_recommendations_direction"),
        ),
        sa.ForeignKeyConstraint(
            ["analysis_id"], ["analyses.id"],
            name=op.f("fk_recommendations_analysis_id_analyses"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"],
            name=op.f("fk_recommendations_patient_id_patients"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
        sa.UniqueConstraint("patient_id", "key", name="uq_recommendations_patient_key"),
    )
    op.create_table(
        "board_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('accepted', 'rejected', 'implemented', 'not_implemented')",
            name=op.f("ck_board_decisions_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"], ["recommendations.id"],
            name=op.f("fk_board_decisions_recommendation_id_recommendations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_decisions")),
    )
    with op.batch_alter_table("board_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_board_decisions_recommendation_id", ["recommendation_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("board_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_board_decisions_recommendation_id")
    op.drop_table("board_decisions")
    op.drop_table("recommendations")

"""analyses, cohort snapshots, target evidence

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 14:26:28.505371
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "cohort_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_snapshots")),
        sa.UniqueConstraint("digest", name=op.f("uq_cohort_snapshots_digest")),
    )
    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("software_version", sa.String(length=32), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("n_findings", sa.Integer(), nullable=False),
        sa.Column("n_targets", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohort_snapshots.id"],
            name=op.f("fk_analyses_cohort_id_cohort_snapshots"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_analyses_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyses")),
    )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.create_index("ix_analyses_patient_id", ["patient_id"], unique=False)

    op.create_table(
        "target_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("gene", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("is_antigen", sa.Boolean(), nullable=False),
        sa.Column("is_kinase", sa.Boolean(), nullable=False),
        sa.Column("dna", sa.JSON(), nullable=False),
        sa.Column("rna_z", sa.Float(), nullable=True),
        sa.Column("rna_percentile", sa.Float(), nullable=True),
        sa.Column("rna_percentile_entity", sa.Float(), nullable=True),
        sa.Column("rna_call", sa.String(length=32), nullable=True),
        sa.Column("protein_z", sa.Float(), nullable=True),
        sa.Column("protein_call", sa.String(length=32), nullable=True),
        sa.Column("activation_score", sa.Float(), nullable=True),
        sa.Column("activation_call", sa.String(length=32), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "state IN ('activated', 'expressed_not_activated', 'expressed_activation_unknown', 'not_expressed', 'unknown')",
            name=op.f("ck_target_evidence_state"),
        ),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name=op.f("fk_target_evidence_analysis_id_analyses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_target_evidence_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["samples.id"],
            name=op.f("fk_target_evidence_sample_id_samples"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_evidence")),
        sa.UniqueConstraint("analysis_id", "sample_id", "gene", name="uq_target_evidence_gene"),
    )
    with op.batch_alter_table("target_evidence", schema=None) as batch_op:
        batch_op.create_index(
            "ix_target_evidence_patient_gene", ["patient_id", "gene"], unique=False
        )

    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("analysis_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_findings_analysis_id_analyses"),
            "analyses",
            ["analysis_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:

    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_findings_analysis_id_analyses"), type_="foreignkey")
        batch_op.drop_column("analysis_id")

    with op.batch_alter_table("target_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_target_evidence_patient_gene")

    op.drop_table("target_evidence")
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_index("ix_analyses_patient_id")

    op.drop_table("analyses")
    op.drop_table("cohort_snapshots")

"""outcomes: therapy lines, local therapies, RECIST, events, plasma

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 17:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinical_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "kind IN ('progression', 'recurrence', 'death', 'last_followup')",
            name=op.f("ck_clinical_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_clinical_events_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_events")),
        sa.UniqueConstraint("patient_id", "event_date", "kind", name="uq_clinical_events_event"),
    )
    op.create_table(
        "local_therapies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("therapy_date", sa.Date(), nullable=False),
        sa.Column("modality", sa.String(length=32), nullable=False),
        sa.Column("technique", sa.String(length=64), nullable=True),
        sa.Column("site", sa.String(length=16), nullable=False),
        sa.Column("organ", sa.Text(), nullable=True),
        sa.Column("lesion_count", sa.Integer(), nullable=False),
        sa.Column("largest_diameter_mm", sa.Float(), nullable=True),
        sa.Column("dose_per_fraction_gy", sa.Float(), nullable=True),
        sa.Column("fractions", sa.Integer(), nullable=True),
        sa.Column("with_systemic", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "site IN ('lung', 'extrapulmonary')", name=op.f("ck_local_therapies_site")
        ),
        sa.CheckConstraint("lesion_count >= 1", name=op.f("ck_local_therapies_lesion_count")),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_local_therapies_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_therapies")),
    )
    with op.batch_alter_table("local_therapies", schema=None) as batch_op:
        batch_op.create_index("ix_local_therapies_patient_id", ["patient_id"], unique=False)

    op.create_table(
        "plasma_measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("sample_key", sa.String(length=64), nullable=False),
        sa.Column("collected", sa.Date(), nullable=False),
        sa.Column("variant", sa.String(length=128), nullable=False),
        sa.Column("alt_reads", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("tumour_vaf", sa.Float(), nullable=True),
        sa.Column("background_error", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "alt_reads >= 0 AND depth >= alt_reads", name=op.f("ck_plasma_measurements_reads")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_plasma_measurements_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plasma_measurements")),
        sa.UniqueConstraint(
            "patient_id", "sample_key", "variant", name="uq_plasma_measurements_variant"
        ),
    )
    op.create_table(
        "recist_measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("lesion_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("lymph_node", sa.Boolean(), nullable=False),
        sa.Column("diameter_mm", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "kind IN ('target', 'non_target', 'new')", name=op.f("ck_recist_measurements_kind")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_recist_measurements_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recist_measurements")),
        sa.UniqueConstraint(
            "patient_id", "assessment_date", "lesion_id", name="uq_recist_measurements_lesion"
        ),
    )
    op.create_table(
        "therapy_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("regimen", sa.Text(), nullable=False),
        sa.Column("agents", sa.JSON(), nullable=False),
        sa.Column("modality", sa.String(length=48), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("stop_date", sa.Date(), nullable=True),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.Column("progression_date", sa.Date(), nullable=True),
        sa.Column("recommendation_id", sa.Integer(), nullable=True),
        sa.Column("mtb_guided", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "progression_date IS NULL OR progression_date >= start_date",
            name=op.f("ck_therapy_lines_progression_after_start"),
        ),
        sa.CheckConstraint(
            "stop_date IS NULL OR stop_date >= start_date",
            name=op.f("ck_therapy_lines_stop_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_therapy_lines_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendations.id"],
            name=op.f("fk_therapy_lines_recommendation_id_recommendations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy_lines")),
        sa.UniqueConstraint("patient_id", "line_number", name="uq_therapy_lines_patient_line"),
    )


def downgrade() -> None:
    op.drop_table("therapy_lines")
    op.drop_table("recist_measurements")
    op.drop_table("plasma_measurements")
    with op.batch_alter_table("local_therapies", schema=None) as batch_op:
        batch_op.drop_index("ix_local_therapies_patient_id")

    op.drop_table("local_therapies")
    op.drop_table("clinical_events")

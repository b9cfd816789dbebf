"""owners: desk teams, shifts, days off, routing rules, internal notes, canned replies

Issue #20: every open case has an owner (``rmas.owner_user_id`` / ``owner_team_id``), given by
the routing rules at intake, round-robin in a team among the members on shift (the team's
``last_user_id`` is the cursor).

Revision ID: 0024_owners20
Revises: 0023_cases20
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0024_owners20"
down_revision: str | None = "0023_cases20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("title", "language", name=op.f("uq_canned_replies_title")),
    )
    op.create_table(
        "desk_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("last_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_desk_teams_name")),
    )
    op.create_table(
        "desk_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_desk_absences_dates")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_desk_absences_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_absences")),
    )
    with op.batch_alter_table("desk_absences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_absences_user_id"), ["user_id"], unique=False)

    op.create_table(
        "desk_routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("vip", sa.Boolean(), nullable=True),
        sa.Column("part_category", sa.String(length=100), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR team_id IS NOT NULL", name=op.f("ck_desk_routing_rules_target")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["desk_teams.id"], name=op.f("fk_desk_routing_rules_team_id_desk_teams")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_desk_routing_rules_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_routing_rules")),
    )
    op.create_table(
        "desk_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "start_minute BETWEEN 0 AND 1439 AND end_minute BETWEEN 0 AND 1440",
            name=op.f("ck_desk_shifts_minutes"),
        ),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_desk_shifts_weekday")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_desk_shifts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_shifts")),
    )
    with op.batch_alter_table("desk_shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_shifts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "desk_team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["desk_teams.id"], name=op.f("fk_desk_team_members_team_id_desk_teams")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_desk_team_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_desk_team_members")),
    )
    with op.batch_alter_table("desk_team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_team_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rma_id"], ["rmas.id"], name=op.f("fk_case_notes_rma_id_rmas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_notes_rma_id"), ["rma_id"], unique=False)

    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("owner_team_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_rmas_owner_team_id"), ["owner_team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rmas_owner_user_id"), ["owner_user_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_rmas_owner_team_id_desk_teams"), "desk_teams", ["owner_team_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_rmas_owner_user_id_users"), "users", ["owner_user_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_rmas_owner_user_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_rmas_owner_team_id_desk_teams"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_rmas_owner_user_id"))
        batch_op.drop_index(batch_op.f("ix_rmas_owner_team_id"))
        batch_op.drop_column("owner_team_id")
        batch_op.drop_column("owner_user_id")

    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notes_rma_id"))

    op.drop_table("case_notes")
    with op.batch_alter_table("desk_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_team_members_user_id"))

    op.drop_table("desk_team_members")
    with op.batch_alter_table("desk_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_shifts_user_id"))

    op.drop_table("desk_shifts")
    op.drop_table("desk_routing_rules")
    with op.batch_alter_table("desk_absences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_absences_user_id"))

    op.drop_table("desk_absences")
    op.drop_table("desk_teams")
    op.drop_table("canned_replies")

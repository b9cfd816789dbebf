"""cases that are not returns (enquiries, complaints) and follow-up calls

Issue #20: ``rmas.kind`` (``return``, the default for every existing row; ``enquiry``;
``complaint``), a complaint's ``root_cause``, ``origin_case_id`` (the complaint a return was
opened from), ``reason`` and ``resolution`` nullable (a case has neither), the case states
``open``, ``waiting_for_customer``, ``answered`` and ``resolved``; and ``followups``, the calls
due after a case closes.

Revision ID: 0023_cases20
Revises: 0022_plan19
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0023_cases20"
down_revision: str | None = "0022_plan19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of returns.status (RmaStatus, CaseKind, RootCause) and returns.followups.
STATES_BEFORE = [
    "requested",
    "authorised",
    "awaiting_pickup",
    "picked_up",
    "in_transit",
    "received",
    "inspected",
    "closed",
    "rejected",
    "cancelled",
    "expired",
    "disputed",
]
STATES = [*STATES_BEFORE, "open", "waiting_for_customer", "answered", "resolved"]
KINDS = ["return", "enquiry", "complaint"]
ROOT_CAUSES = [
    "product_defect",
    "wrong_item_sent",
    "missing_item",
    "damaged_in_transit",
    "late_delivery",
    "service",
    "communication",
    "billing",
    "policy",
    "other",
]
FOLLOWUP_STATES = ["due", "done", "cancelled"]
OUTCOMES = ["reached", "no_answer", "voicemail", "wrong_number", "declined", "answered_online"]


def _check(column: str, values: list[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _replace_state_checks(values: list[str]) -> None:
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_rmas_rmastatus"), type_="check")
        batch_op.create_check_constraint(op.f("ck_rmas_rmastatus"), _check("status", values))
    with op.batch_alter_table("rma_transitions", schema=None) as batch_op:
        for column in ("from_status", "to_status"):
            name = op.f(f"ck_rma_transitions_{column}")
            batch_op.drop_constraint(name, type_="check")
            batch_op.create_check_constraint(name, _check(column, values))


def _enum(values: list[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    _replace_state_checks(STATES)
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", _enum(KINDS, "casekind"), server_default="return", nullable=False)
        )
        batch_op.add_column(sa.Column("root_cause", _enum(ROOT_CAUSES, "rootcause"), nullable=True))
        batch_op.add_column(sa.Column("origin_case_id", sa.Integer(), nullable=True))
        batch_op.alter_column("reason", existing_type=sa.String(length=20), nullable=True)
        batch_op.alter_column("resolution", existing_type=sa.String(length=20), nullable=True)
        batch_op.create_index(batch_op.f("ix_rmas_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rmas_origin_case_id"), ["origin_case_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_rmas_origin_case_id_rmas"), "rmas", ["origin_case_id"], ["id"]
        )
    op.create_table(
        "followups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", _enum(FOLLOWUP_STATES, "followupstatus"), nullable=False),
        sa.Column("due_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", _enum(OUTCOMES, "followupoutcome"), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("called_by", sa.String(length=254), nullable=True),
        sa.Column("called_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5",
            name=op.f("ck_followups_satisfaction"),
        ),
        sa.ForeignKeyConstraint(["rma_id"], ["rmas.id"], name=op.f("fk_followups_rma_id_rmas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followups_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_followups_rma_id"), ["rma_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_followups_status"), ["status"], unique=False)


def downgrade() -> None:
    cases = op.get_bind().execute(sa.text("SELECT count(*) FROM rmas WHERE kind <> 'return'"))
    if cases.scalar():
        raise RuntimeError("Enquiries and complaints exist: they cannot be kept without a kind.")
    op.drop_table("followups")
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_rmas_origin_case_id_rmas"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_rmas_origin_case_id"))
        batch_op.drop_index(batch_op.f("ix_rmas_kind"))
        batch_op.drop_constraint(op.f("ck_rmas_casekind"), type_="check")
        batch_op.drop_constraint(op.f("ck_rmas_rootcause"), type_="check")
        batch_op.drop_column("origin_case_id")
        batch_op.drop_column("root_cause")
        batch_op.drop_column("kind")
        batch_op.alter_column("resolution", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("reason", existing_type=sa.String(length=20), nullable=False)
    _replace_state_checks(STATES_BEFORE)

"""Turnover ledger: one voucher per shop day and its corrections, posted exactly once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "turnover_ledger",
        sa.Column("shop", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("voucher_id", sa.String(), nullable=True),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("shop", "day", "revision", name="pk_turnover_ledger"),
        sa.CheckConstraint("state IN ('posting', 'posted')", name="ck_turnover_ledger_state"),
    )


def downgrade() -> None:
    op.drop_table("turnover_ledger")

"""Run slots: one run per shop and flow at a time, as a lease that a dead holder loses;
order claims name the slot holder whose run made them.

Revision ID: 0006_run_slots
Revises: 0005_stock_ledger_bigint
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_run_slots"
down_revision: str | Sequence[str] | None = "0005_stock_ledger_bigint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "run_slots",
        sa.Column("shop", sa.String(), nullable=False),
        sa.Column("flow", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("acquired_at", Timestamp, nullable=False),
        sa.Column("renewed_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("shop", "flow", name="pk_run_slots"),
    )
    # Rows claimed before this revision have no holder: any run may resume them, as before.
    op.add_column("order_ledger", sa.Column("claimed_by", sa.String(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE on both dialects (SQLite has had DROP COLUMN since 3.35), so the
    # table and its CHECK constraint are not rebuilt.
    op.drop_column("order_ledger", "claimed_by")
    op.drop_table("run_slots")

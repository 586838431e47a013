"""Stock ledger quantities as 64-bit integers: a count of 2,147,483,648 overflowed the
32-bit column on PostgreSQL after the webshop had taken it (issue 12, defect 2).

Revision ID: 0005_stock_ledger_bigint
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_stock_ledger_bigint"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite has one INTEGER storage class (64-bit) whatever the declared type; batch mode
    # rebuilds the table there so the declared type matches the models too.
    with op.batch_alter_table("stock_ledger") as batch:
        batch.alter_column(
            "quantity",
            existing_type=sa.Integer(),
            type_=sa.BigInteger(),
            existing_nullable=False,
        )


def downgrade() -> None:
    # Back to 32 bits: a row beyond it cannot go back and fails the downgrade (on
    # PostgreSQL) rather than being cut.
    with op.batch_alter_table("stock_ledger") as batch:
        batch.alter_column(
            "quantity",
            existing_type=sa.BigInteger(),
            type_=sa.Integer(),
            existing_nullable=False,
        )

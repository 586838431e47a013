"""Initial schema: id map, sync cursors, stock ledger, quarantine, run log.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported from possync.store.tables: a migration must keep
# describing the schema as it was when it was written, whatever the models become.
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "id_map",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_key", sa.String(), nullable=False),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("variant_id", sa.String(), server_default="", nullable=False),
        sa.Column("sku", sa.String(), nullable=True),
        sa.Column("barcode", sa.String(), nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_map"),
        sa.UniqueConstraint(
            "system", "external_id", "variant_id", name="uq_id_map_system_external_id_variant_id"
        ),
        sa.UniqueConstraint("system", "product_key", name="uq_id_map_system_product_key"),
    )
    op.create_index("ix_id_map_system_sku", "id_map", ["system", "sku"])
    op.create_index("ix_id_map_system_barcode", "id_map", ["system", "barcode"])
    op.create_index("ix_id_map_system_variant_id", "id_map", ["system", "variant_id"])

    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sync_cursors"),
    )

    op.create_table(
        "stock_ledger",
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("product_key", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("pushed_at", Timestamp, nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("system", "product_key", name="pk_stock_ledger"),
    )

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow", sa.String(), nullable=False),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("first_seen", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.UniqueConstraint(
            "flow", "system", "record_id", name="uq_quarantine_flow_system_record_id"
        ),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_quarantine_status"),
    )

    op.create_table(
        "run_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_run_log"),
    )
    op.create_index("ix_run_log_flow_started_at", "run_log", ["flow", "started_at"])


def downgrade() -> None:
    op.drop_table("run_log")
    op.drop_table("quarantine")
    op.drop_table("stock_ledger")
    op.drop_table("sync_cursors")
    op.drop_table("id_map")

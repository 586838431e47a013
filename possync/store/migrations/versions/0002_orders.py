"""Order ledger, order events (refunds, cancellations) and the webhook delivery log.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported from possync.store.tables: a migration must keep
# describing the schema as it was when it was written, whatever the models become.
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "order_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shop", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("pos_document", sa.String(), nullable=True),
        sa.Column("pos_payment", sa.String(), nullable=True),
        sa.Column("modified_at", Timestamp, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("transferred_at", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_ledger"),
        sa.UniqueConstraint("shop", "order_id", name="uq_order_ledger_shop_order_id"),
        sa.CheckConstraint(
            "state IN ('seen', 'reserved', 'transferring', 'transferred', 'partly_refunded',"
            " 'refunded', 'cancelled', 'quarantined')",
            name="ck_order_ledger_state",
        ),
    )
    op.create_index("ix_order_ledger_shop_state", "order_ledger", ["shop", "state"])

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shop", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("amount", sa.String(), nullable=True),
        sa.Column("pos_document", sa.String(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("done_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
        sa.UniqueConstraint(
            "shop", "order_id", "event_key", name="uq_order_events_shop_order_id_event_key"
        ),
        sa.CheckConstraint("state IN ('pending', 'done')", name="ck_order_events_state"),
    )
    op.create_index("ix_order_events_shop_state", "order_events", ["shop", "state"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("delivery_key", sa.String(), nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint(
            "source", "delivery_key", name="uq_webhook_deliveries_source_delivery_key"
        ),
    )
    op.create_index("ix_webhook_deliveries_received_at", "webhook_deliveries", ["received_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("order_events")
    op.drop_table("order_ledger")

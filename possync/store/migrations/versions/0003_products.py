"""Product pairs (what is synced with what, and each side's fingerprint when both last agreed)
and the catalogue codes index (SKU and barcode of every product on each side).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "product_pairs",
        sa.Column("pos_system", sa.String(), nullable=False),
        sa.Column("pos_id", sa.String(), nullable=False),
        sa.Column("shop_system", sa.String(), nullable=False),
        sa.Column("shop_id", sa.String(), nullable=False),
        sa.Column("pos_fingerprint", sa.String(), nullable=False),
        sa.Column("shop_fingerprint", sa.String(), nullable=False),
        sa.Column("synced_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("pos_system", "pos_id", "shop_system", name="pk_product_pairs"),
        sa.UniqueConstraint(
            "shop_system",
            "shop_id",
            "pos_system",
            name="uq_product_pairs_shop_system_shop_id_pos_system",
        ),
    )
    op.create_table(
        "catalog_codes",
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("variant_id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=True),
        sa.Column("barcode", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("system", "product_id", "variant_id", name="pk_catalog_codes"),
    )
    op.create_index("ix_catalog_codes_system_sku", "catalog_codes", ["system", "sku"])
    op.create_index("ix_catalog_codes_system_barcode", "catalog_codes", ["system", "barcode"])


def downgrade() -> None:
    op.drop_table("catalog_codes")
    op.drop_table("product_pairs")

"""The product sync's memory: which POS product is paired with which webshop product (and
the fingerprint both last agreed on), and an index of every SKU and barcode on each side.

Works on the `Store`'s engine and transaction helpers; reached as `store.catalog`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, tuple_

from possync.domain.products import CodeRow
from possync.store.tables import CatalogCode, ProductPair

if TYPE_CHECKING:
    from possync.store.session import StoreSession as Store

__all__ = ["CatalogState", "CodeRow", "Pair"]


@dataclass(frozen=True)
class Pair:
    """A POS product synced with a webshop product."""

    pos_system: str
    pos_id: str
    shop_system: str
    shop_id: str
    pos_fingerprint: str
    shop_fingerprint: str


class CatalogState:
    """Product pairs and the catalogue code index."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- pairs ---------------------------------------------------------------------------

    def pairs(
        self,
        pos_system: str,
        shop_system: str,
        *,
        pos_ids: Collection[str] = (),
        shop_ids: Collection[str] = (),
    ) -> list[Pair]:
        """Pairs holding any of these POS or webshop product ids."""
        s = self._store
        found: dict[tuple[str, str], Pair] = {}
        for column, values in ((ProductPair.pos_id, pos_ids), (ProductPair.shop_id, shop_ids)):
            with s.reading() as conn:
                for chunk in s.in_chunks(sorted(set(values))):
                    rows = conn.execute(
                        select(
                            ProductPair.pos_system,
                            ProductPair.pos_id,
                            ProductPair.shop_system,
                            ProductPair.shop_id,
                            ProductPair.pos_fingerprint,
                            ProductPair.shop_fingerprint,
                        ).where(
                            ProductPair.pos_system == pos_system,
                            ProductPair.shop_system == shop_system,
                            s.among(column, chunk),
                        )
                    )
                    for row in rows:
                        pair = Pair(*row)
                        found[(pair.pos_id, pair.shop_id)] = pair
        return list(found.values())

    def save_pairs(self, pairs: Iterable[Pair]) -> None:
        """Insert or update pairs; a webshop product paired anew leaves its old pair."""
        chosen = {(p.pos_system, p.pos_id, p.shop_system): p for p in pairs}
        if not chosen:
            return
        s = self._store
        now = datetime.now(UTC)
        rows = [
            {
                "pos_system": p.pos_system,
                "pos_id": p.pos_id,
                "shop_system": p.shop_system,
                "shop_id": p.shop_id,
                "pos_fingerprint": p.pos_fingerprint,
                "shop_fingerprint": p.shop_fingerprint,
                "synced_at": now,
            }
            for p in chosen.values()
        ]
        stmt = s.upsert(
            ProductPair,
            ["pos_system", "pos_id", "shop_system"],
            lambda new: {
                "shop_id": new.shop_id,
                "pos_fingerprint": new.pos_fingerprint,
                "shop_fingerprint": new.shop_fingerprint,
                "synced_at": new.synced_at,
            },
        )
        owner = {(p.pos_system, p.shop_system, p.shop_id): p.pos_id for p in chosen.values()}
        with s.transaction() as conn:
            # A webshop product offered under another POS product leaves its old pair first,
            # so the upsert cannot hit the (shop_system, shop_id, pos_system) constraint.
            for chunk in s.in_chunks(sorted({p.shop_id for p in chosen.values()})):
                held = conn.execute(
                    select(
                        ProductPair.pos_system,
                        ProductPair.pos_id,
                        ProductPair.shop_system,
                        ProductPair.shop_id,
                    ).where(s.among(ProductPair.shop_id, chunk))
                )
                stale = [
                    (pos_system, pos_id, shop_system)
                    for pos_system, pos_id, shop_system, shop_id in held
                    if owner.get((pos_system, shop_system, shop_id), pos_id) != pos_id
                ]
                if stale:
                    conn.execute(
                        delete(ProductPair).where(
                            tuple_(
                                ProductPair.pos_system, ProductPair.pos_id, ProductPair.shop_system
                            ).in_(stale)
                        )
                    )
            conn.execute(stmt, rows)
            s.analyze_if_bulk(conn, ProductPair, len(rows))

    # -- catalogue codes -----------------------------------------------------------------

    def replace_codes(self, system: str, products: Mapping[str, Sequence[CodeRow]]) -> None:
        """Make the index hold exactly these variants for these products (none: deleted)."""
        if not products:
            return
        s = self._store
        rows = [
            {
                "system": system,
                "product_id": product_id,
                "variant_id": row.variant_id,
                "sku": row.sku,
                "barcode": row.barcode,
            }
            for product_id, variants in products.items()
            for row in {r.variant_id: r for r in variants}.values()
        ]
        with s.transaction() as conn:
            for chunk in s.in_chunks(sorted(products)):
                conn.execute(
                    delete(CatalogCode).where(
                        CatalogCode.system == system, s.among(CatalogCode.product_id, chunk)
                    )
                )
            if rows:
                conn.execute(s.insert_into(CatalogCode), rows)
                s.analyze_if_bulk(conn, CatalogCode, len(rows))

    def codes_matching(
        self, system: str, skus: Collection[str], barcodes: Collection[str]
    ) -> list[CodeRow]:
        """Variants of `system` carrying any of these SKUs or barcodes."""
        s = self._store
        found: dict[tuple[str, str], CodeRow] = {}
        for column, values in ((CatalogCode.sku, skus), (CatalogCode.barcode, barcodes)):
            with s.reading() as conn:
                for chunk in s.in_chunks(sorted({v for v in values if v})):
                    rows = conn.execute(
                        select(
                            CatalogCode.product_id,
                            CatalogCode.variant_id,
                            CatalogCode.sku,
                            CatalogCode.barcode,
                        ).where(CatalogCode.system == system, s.among(column, chunk))
                    )
                    for row in rows:
                        code = CodeRow(*row)
                        found[(code.product_id, code.variant_id)] = code
        return list(found.values())

    def products_sharing_codes(
        self, system: str, skus: Collection[str], barcodes: Collection[str]
    ) -> dict[str, set[str]]:
        """For each of these SKUs and barcodes, the products of `system` that carry it."""
        owners: dict[str, set[str]] = {}
        for code in self.codes_matching(system, skus, barcodes):
            for value in (code.sku, code.barcode):
                if value and (value in skus or value in barcodes):
                    owners.setdefault(value, set()).add(code.product_id)
        return owners

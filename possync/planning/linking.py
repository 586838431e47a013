"""Which internal product key each matched pair carries, and which id-map rows to save.

A key is kept once given: the POS variant's key wins, then the webshop listing's, else a
new one. Rows are returned only where the id map would change, so a steady run saves none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from possync.planning.stock import Match


@dataclass(frozen=True)
class LinkRow:
    """One id-map row (the store's `Link` has the same fields)."""

    product_key: str
    system: str
    external_id: str
    variant_id: str
    sku: str | None
    barcode: str | None


def assign_keys(
    pos_system: str,
    shop_system: str,
    matches: Iterable[Match],
    pos_links: Mapping[str, LinkRow],
    shop_links: Mapping[tuple[str, str], LinkRow],
    new_key: Callable[[], str],
) -> tuple[dict[str, str], list[LinkRow]]:
    """Keys by POS variant id, and the id-map rows to upsert.

    `pos_links` is keyed by POS variant id; `shop_links` by (product id, variation id or '').
    """
    keys: dict[str, str] = {}
    rows: list[LinkRow] = []
    for m in matches:
        ref = m.listing.ref
        shop_id = (ref.product_id, ref.variation_id or "")
        pos_row = pos_links.get(m.count.pos_id)
        shop_row = shop_links.get(shop_id)
        key = pos_row.product_key if pos_row else shop_row.product_key if shop_row else new_key()
        keys[m.count.pos_id] = key
        wanted_pos = LinkRow(
            key, pos_system, m.variant.product_id, m.count.pos_id, m.variant.sku, m.variant.barcode
        )
        wanted_shop = LinkRow(
            key, shop_system, shop_id[0], shop_id[1], m.listing.sku, m.listing.barcode
        )
        if pos_row != wanted_pos:
            rows.append(wanted_pos)
        if shop_row != wanted_shop:
            rows.append(wanted_shop)
    return keys, rows

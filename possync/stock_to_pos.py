"""Stock webshop → POS, for shops whose webshop is master of stock (setup `webshop_master`).

WooCommerce does not date stock changes (an order's stock reduction leaves the product's
modified date alone), so every run reads the webshop's whole catalogue stock, compares it
with the POS's current counts of the linked variants, and sets only what differs: absolute
counts, 100 a call, each call with an idempotency key. Products are linked by the product
sync (which creates them in the POS); a listing not linked yet waits for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from possync.connectors.base import Pos, Webshop
from possync.models import Problem, WebshopListing
from possync.quarantine import quarantine_problems
from possync.store import Store
from possync.sync.stock import parse_quantity

FLOW = "stock-sync"
COUNTS_PER_CALL = 100
_KEYS = uuid.UUID("6f1c2d1e-9b1a-4c55-8a77-7f0f3b4b8a10")


@dataclass
class ToPosResult:
    read: int = 0
    changed: int = 0
    unchanged: int = 0
    not_linked: int = 0
    write_calls: int = 0
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "not_linked": self.not_linked,
            "quarantined": len(self.problems),
            "write_calls": self.write_calls,
        }


def _shop_id(listing: WebshopListing) -> tuple[str, str]:
    return listing.ref.product_id, listing.ref.variation_id or ""


def sync_to_pos(pos: Pos, shop: Webshop, store: Store, run_id: str | None) -> ToPosResult:
    """Make the POS's counts equal the webshop's, for every linked variant."""
    result = ToPosResult()
    listings = [x for page in shop.all_listings() for x in page if x.manage_stock]
    result.read = len(listings)
    shop_links = store.links_by_external(shop.system, sorted({x.ref.product_id for x in listings}))
    keys = {
        (link.external_id, link.variant_id): link.product_key
        for rows in shop_links.values()
        for link in rows
    }
    pos_links = store.links_by_key(pos.system, sorted(set(keys.values())))
    wanted: dict[str, tuple[int, str]] = {}  # POS variant id -> (quantity, product key)
    for listing in listings:
        key = keys.get(_shop_id(listing))
        pos_link = pos_links.get(key) if key else None
        if key is None or pos_link is None or not pos_link.variant_id:
            result.not_linked += 1
            continue
        if listing.stock is None or listing.stock < 0:
            what = (
                "has no quantity"
                if listing.stock is None
                else (f"is {listing.stock} (backorders); a POS count cannot be negative")
            )
            result.problems.append(
                Problem(
                    system=shop.system,
                    record_id=listing.ref.key,
                    field="quantity",
                    reason=f"webshop stock of SKU {listing.sku} ({listing.ref.key}) {what}",
                    sku=listing.sku,
                )
            )
            continue
        wanted[pos_link.variant_id] = (listing.stock, key)
    current = {
        c.pos_id: parse_quantity(c.quantity_raw)[0] for c in pos.stock_counts(sorted(wanted))
    }
    changes = sorted(
        (pos_id, quantity)
        for pos_id, (quantity, _) in wanted.items()
        if current.get(pos_id) != quantity
    )
    result.unchanged = len(wanted) - len(changes)
    for start in range(0, len(changes), COUNTS_PER_CALL):
        batch = changes[start : start + COUNTS_PER_CALL]
        pos.set_stock_counts(batch, key=_key(run_id, batch))
        store.record_pushes(pos.system, {wanted[p][1]: q for p, q in batch}, run_id)
        result.write_calls += 1
        result.changed += len(batch)
    quarantine_problems(store, FLOW, result.problems)
    failed = {p.record_id for p in result.problems}
    store.resolve_quarantine(
        FLOW, shop.system, [x.ref.key for x in listings if x.ref.key not in failed]
    )
    return result


def _key(run_id: str | None, batch: Sequence[tuple[str, int]]) -> str:
    """Same run, same counts: same key, so a retried call sets nothing twice."""
    content = f"{run_id}|" + ";".join(f"{p}={q}" for p, q in batch)
    return str(uuid.uuid5(_KEYS, content))

"""Stock webshop → POS, for shops whose webshop is master of stock (setup `webshop_master`).

WooCommerce does not date stock changes (an order's stock reduction leaves the product's
modified date alone), so every run reads the webshop's whole catalogue stock, compares it
with the POS's current counts of the linked variants, and sets only what differs: absolute
counts, 100 a call, each call with an idempotency key. Products are linked by the product
sync (which creates them in the POS); a listing not linked yet waits for it.

No single record can fail a run: a count the POS would not hold is quarantined before any
call, a call the POS refuses as a whole (Square applies a batch all or nothing) is sent
again one count at a time so only the refused counts are quarantined, and a count whose
ledger row the store refuses is quarantined too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from possync.domain.models import Problem, QuarantineField, WebshopListing
from possync.planning.stock import count_limit, parse_quantity
from possync.quarantine import quarantine_problems
from possync.store import Store
from possync.vendors.errors import FatalError
from possync.vendors.ports import Pos, Webshop

FLOW = "stock-sync"
COUNTS_PER_CALL = 100
# Refusals that are about us, not a record (credentials, permissions): they fail the run.
_NOT_A_RECORD = (401, 403)
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
    limit = count_limit(pos.system, pos.max_stock)
    wanted: dict[str, tuple[int, str]] = {}  # POS variant id -> (quantity, product key)
    listing_of: dict[str, WebshopListing] = {}  # POS variant id -> the listing it follows
    for listing in listings:
        key = keys.get(_shop_id(listing))
        pos_link = pos_links.get(key) if key else None
        if key is None or pos_link is None or not pos_link.variant_id:
            result.not_linked += 1
            continue
        stock = listing.stock
        if stock is None:
            what = "has no quantity"
        elif stock < 0:
            what = f"is {stock} (backorders); a POS count cannot be negative"
        elif stock > limit.most:
            what = f"is {stock}, more than {limit.holder} holds (at most {limit.most:,})"
        else:
            wanted[pos_link.variant_id] = (stock, key)
            listing_of[pos_link.variant_id] = listing
            continue
        reason = f"webshop stock of {_named(listing)} {what}"
        result.problems.append(_problem(shop.system, listing, "quantity", reason))
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
        written, refused, calls = _set_counts(pos, batch, run_id)
        result.write_calls += calls
        for pos_id, why in refused.items():
            listing = listing_of[pos_id]
            reason = f"{pos.system} refused the count of {_named(listing)} for {pos_id}: {why}"
            result.problems.append(_problem(shop.system, listing, "write", reason))
        unrecorded = store.record_pushes(pos.system, {wanted[p][1]: q for p, q in written}, run_id)
        by_key = {wanted[p][1]: p for p, _ in written}
        for key, why in unrecorded.items():
            listing = listing_of[by_key[key]]
            reason = f"set in {pos.system}, but the stock ledger could not record it: {why}"
            result.problems.append(_problem(shop.system, listing, "quantity", reason))
        result.changed += len(written)
    quarantine_problems(store, FLOW, result.problems)
    failed = {p.record_id for p in result.problems}
    store.resolve_quarantine(
        FLOW, shop.system, [x.ref.key for x in listings if x.ref.key not in failed]
    )
    return result


def _set_counts(
    pos: Pos, batch: Sequence[tuple[str, int]], run_id: str | None
) -> tuple[list[tuple[str, int]], dict[str, str], int]:
    """Set one call's counts; if the POS refuses the call (4xx), each count is set on its
    own so only the refused ones fail. Returns (set, refused with why, calls made)."""
    try:
        pos.set_stock_counts(batch, key=_key(run_id, batch))
        return list(batch), {}, 1
    except FatalError as exc:
        if exc.status in _NOT_A_RECORD:
            raise
        if len(batch) == 1:
            return [], {batch[0][0]: exc.vendor_message}, 1
    written: list[tuple[str, int]] = []
    refused: dict[str, str] = {}
    for count in batch:
        try:
            pos.set_stock_counts([count], key=_key(run_id, [count]))
        except FatalError as exc:
            if exc.status in _NOT_A_RECORD:
                raise
            refused[count[0]] = exc.vendor_message
        else:
            written.append(count)
    return written, refused, 1 + len(batch)


def _named(listing: WebshopListing) -> str:
    return f"SKU {listing.sku} ({listing.ref.key})"


def _problem(system: str, listing: WebshopListing, field: QuarantineField, reason: str) -> Problem:
    return Problem(
        system=system,
        record_id=listing.ref.key,
        field=field,
        reason=reason,
        sku=listing.sku,
    )


def _key(run_id: str | None, batch: Sequence[tuple[str, int]]) -> str:
    """Same run, same counts: same key, so a retried call sets nothing twice."""
    content = f"{run_id}|" + ";".join(f"{p}={q}" for p, q in batch)
    return str(uuid.uuid5(_KEYS, content))

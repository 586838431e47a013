"""The stock sync's steps, each a Prefect task (retried where it calls a vendor).

POS → webshop (setup pos_master and webshop_products):

    read_candidates   counts changed since the cursor (all on a first or full run), plus
                      the records still in quarantine, to try them again
    match_and_link    catalogue data for those variants, webshop listings by SKU (barcode
                      as fallback), the id map updated
    plan              (pure) quantities to write where the webshop differs
    push_batch        one webshop write call; the ledger records what was written
    finish            quarantine what failed, release what now syncs, advance the cursor

The cursor moves only in `finish`, after every batch is committed; a failed run leaves it
where it was and the rerun writes only what still differs.

Webshop → POS (setup webshop_master): `webshop_stock_to_pos`, below.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from possync.domain.models import (
    CatalogVariant,
    Problem,
    QuarantineField,
    StockCount,
    StockUpdate,
    WebshopListing,
    WebshopRef,
    WriteOutcome,
)
from possync.planning import stock as planner
from possync.planning.linking import LinkRow, assign_keys
from possync.planning.stock import count_limit, parse_quantity
from possync.quarantine import quarantine_problems
from possync.store import Link, Store
from possync.vendors.errors import FatalError
from possync.vendors.ports import Pos, Webshop
from tasks.common import RETRYING

log = logging.getLogger(__name__)

FLOW = "stock-sync"


def cursor_name(pos: Pos, shop: Webshop) -> str:
    return f"stock:{pos.system}->{shop.system}"


@dataclass
class Candidates:
    """What this run looks at, and the cursor it may advance to when all is written."""

    counts: list[StockCount]
    full: bool
    watermark: datetime | None
    retried: int = 0


@dataclass
class Matched:
    result: planner.MatchResult
    product_keys: dict[str, str] = field(default_factory=dict)


@task(name="read-pos-stock-changes", **RETRYING)
def read_candidates(
    pos: Pos, shop: Webshop, store: Store, full: bool, overlap_seconds: float
) -> Candidates:
    """Counts changed since the cursor (re-read `overlap_seconds` early), all of them on a
    first or full run, plus the records still in quarantine."""
    overlap = timedelta(seconds=overlap_seconds)
    cursor = store.get_cursor(cursor_name(pos, shop))
    full = full or cursor is None
    since = None if full or cursor is None else datetime.fromisoformat(cursor)
    counts = [c for page in pos.stock_changes(since - overlap if since else None) for c in page]
    watermark = max((c.updated_at for c in counts), default=None)
    if since is not None:
        counts = _drop_already_synced(pos, store, counts, since)
    seen = {c.pos_id for c in counts}
    retry_ids = [
        q.record_id for q in store.open_quarantine(FLOW, pos.system) if q.record_id not in seen
    ]
    retried = pos.stock_counts(retry_ids) if retry_ids else []
    return Candidates(
        counts=planner.latest_counts(counts + retried),
        full=full,
        watermark=watermark,
        retried=len(retry_ids),
    )


def _drop_already_synced(
    pos: Pos, store: Store, counts: list[StockCount], since: datetime
) -> list[StockCount]:
    """Counts re-read in the overlap before the cursor are dropped where the ledger shows
    that very quantity was already synced (a bulk import shares one timestamp: without
    this, the whole import would be re-read by the next run)."""
    boundary = [c for c in counts if c.updated_at <= since]
    if not boundary:
        return counts
    keys = store.links_by_variant(pos.system, [c.pos_id for c in boundary])
    last = store.last_pushed(pos.system, [link.product_key for link in keys.values()])
    synced = {
        c.pos_id
        for c in boundary
        if c.pos_id in keys
        and planner.parse_quantity(c.quantity_raw)[0] == last.get(keys[c.pos_id].product_key)
    }
    return [c for c in counts if c.pos_id not in synced]


def seen_quantities(matched: Matched, synced_pos_ids: Sequence[str]) -> dict[str, int]:
    """POS quantities (by product key) of the records that synced: the ledger's source side."""
    synced = set(synced_pos_ids)
    seen: dict[str, int] = {}
    for m in matched.result.matches:
        quantity = planner.parse_quantity(m.count.quantity_raw)[0]
        if m.count.pos_id in synced and quantity is not None:
            seen[matched.product_keys[m.count.pos_id]] = quantity
    return seen


def pos_ids_by_key(matched: Matched) -> dict[str, str]:
    """Product key → POS variant id of the matched records (to name a record by its key)."""
    return {key: pos_id for pos_id, key in matched.product_keys.items()}


@task(name="match-and-link", **RETRYING)
def match_and_link(pos: Pos, shop: Webshop, store: Store, candidates: Candidates) -> Matched:
    counts = candidates.counts
    if not counts:
        return Matched(result=planner.MatchResult())
    variants = pos.variants([c.pos_id for c in counts])
    listings = _listings_for(shop, store, variants.values(), scan=candidates.full)
    result = planner.match(pos.system, counts, variants, listings)

    pos_links = store.links_by_variant(pos.system, [m.count.pos_id for m in result.matches])
    by_product = store.links_by_external(
        shop.system, sorted({m.listing.ref.product_id for m in result.matches})
    )
    shop_links = {
        (link.external_id, link.variant_id): link for links in by_product.values() for link in links
    }
    keys, rows = assign_keys(
        pos.system,
        shop.system,
        result.matches,
        {k: _row(v) for k, v in pos_links.items()},
        {k: _row(v) for k, v in shop_links.items()},
        store.new_product_key,
    )
    if rows:
        store.save_links([Link(**vars(r)) for r in rows])
    return Matched(result=result, product_keys=keys)


def _listings_for(
    shop: Webshop, store: Store, variants: Iterable[CatalogVariant], *, scan: bool
) -> list[WebshopListing]:
    """Listings by SKU (100 a call, variations included); for variants the SKU does not
    find, by barcode: through the id map, or on a full run by reading the whole catalogue."""
    wanted = list(variants)
    listings = shop.listings_by_sku(sorted({v.sku for v in wanted if v.sku}))
    found_skus = {x.sku for x in listings}
    fallback = sorted({v.barcode for v in wanted if v.barcode and v.sku not in found_skus})
    if fallback and scan:
        barcodes = set(fallback)
        return listings + [x for page in shop.all_listings() for x in page if x.barcode in barcodes]
    if fallback:
        known = store.links_by_barcode(shop.system, fallback)
        refs = [
            WebshopRef(product_id=link.external_id, variation_id=link.variant_id or None)
            for links in known.values()
            for link in links
        ]
        if refs:
            listings += shop.listings(refs)
    return listings


def plan(
    pos: Pos, shop: Webshop, matched: Matched, reserved: Mapping[str, int] | None = None
) -> planner.StockPlan:
    """Quantities to write; a count beyond what the webshop holds is a Problem."""
    limit = planner.count_limit(shop.system, shop.max_stock)
    return planner.plan(pos.system, matched.result.matches, matched.product_keys, reserved, limit)


UNRECORDED = "written, but the stock ledger could not record it"
CALLS_PER_TASK = 25  # write calls one task makes, in order; a retry repeats them all


def task_groups(
    batches: Sequence[Sequence[StockUpdate]], calls_per_task: int = CALLS_PER_TASK
) -> list[list[list[StockUpdate]]]:
    """Write batches grouped for tasks: hundreds of one-parent variation batches should not
    cost hundreds of task runs."""
    flat = [list(b) for b in batches]
    return [flat[i : i + calls_per_task] for i in range(0, len(flat), calls_per_task)]


@task(name="push-stock-batches", **RETRYING)
def push_batches(
    shop: Webshop, store: Store, batches: Sequence[Sequence[StockUpdate]], run_id: str | None
) -> list[list[WriteOutcome] | FatalError]:
    """One write call per batch. A batch the webshop refuses as a whole comes back as its
    FatalError (the others go on); retriable errors propagate so the task retries (absolute
    quantities: repeating is harmless). The ledger records what was written in one
    transaction per task, also when an error cuts the task short; a row the ledger refuses
    makes that update a failed outcome (quarantined, tried again next run), not the task's
    failure, so one record cannot fail every run."""
    results: list[list[WriteOutcome] | FatalError] = []
    written: dict[str, int] = {}
    unrecorded: dict[str, str] = {}
    try:
        for batch in batches:
            try:
                outcomes = shop.set_stock(batch)
            except FatalError as exc:
                results.append(exc)
                continue
            written.update((o.update.product_key, o.update.quantity) for o in outcomes if o.ok)
            results.append(outcomes)
    finally:
        if written:
            unrecorded = store.record_pushes(shop.system, written, run_id)
    if not unrecorded:
        return results
    return [_unrecorded(r, unrecorded) if isinstance(r, list) else r for r in results]


def _unrecorded(outcomes: list[WriteOutcome], refused: Mapping[str, str]) -> list[WriteOutcome]:
    """Written outcomes whose ledger row was refused become failures with the reason."""
    return [
        WriteOutcome(
            update=o.update,
            ok=False,
            error=f"{UNRECORDED}: {refused[o.update.product_key]}",
        )
        if o.ok and o.update.product_key in refused
        else o
        for o in outcomes
    ]


@dataclass
class RunEnd:
    """What a run leaves behind: its problems, what synced, and whether the cursor moves."""

    candidates: Candidates
    problems: list[Problem]
    synced_pos_ids: list[str]
    advance_cursor: bool
    pos_quantities: dict[str, int] = field(default_factory=dict)
    pos_ids: dict[str, str] = field(default_factory=dict)  # product key -> POS variant id


@task(name="finish-stock-sync", cache_policy=NO_CACHE)
def finish(pos: Pos, shop: Webshop, store: Store, end: RunEnd) -> list[Problem]:
    """Record the POS quantities synced (product key → count, in the ledger under the POS's
    name, so a re-read of the same count is recognised as done), quarantine problems, and
    release records that synced. A record whose ledger row is refused is quarantined with
    the reason instead of failing the step (so it cannot fail every run); the others are
    recorded. The cursor moves only if every batch was committed. Returns the problems
    this step found."""
    refused = store.record_pushes(pos.system, end.pos_quantities) if end.pos_quantities else {}
    found = [
        Problem(
            system=pos.system,
            record_id=end.pos_ids.get(key, key),
            field="quantity",
            reason=f"the stock ledger could not record its count {end.pos_quantities[key]}: {why}",
            payload={"quantity": end.pos_quantities[key], "product_key": key},
        )
        for key, why in sorted(refused.items())
    ]
    quarantine_problems(store, FLOW, end.problems + found)
    failed = {p.record_id for p in found}
    synced = [i for i in end.synced_pos_ids if i not in failed]
    if synced:
        store.resolve_quarantine(FLOW, pos.system, synced)
    if end.advance_cursor and end.candidates.watermark is not None:
        store.set_cursor(cursor_name(pos, shop), end.candidates.watermark.isoformat())
    return found


@dataclass
class Pushed:
    """The outcome of all write batches of a run."""

    written: list[StockUpdate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failed: list[BaseException] = field(default_factory=list)

    def raise_if_failed(self) -> None:
        """Fail the run (after bookkeeping) when a batch could not be written at all."""
        if self.failed:
            raise RuntimeError(
                f"{len(self.failed)} stock batch(es) failed after retries; the cursor was "
                f"not advanced, a rerun writes what is still different: {self.failed[0]}"
            ) from self.failed[0]


def per_batch(
    groups: Sequence[Sequence[Sequence[StockUpdate]]], results: Sequence[object]
) -> list[object]:
    """Each task's result spread back over its batches: a failed task fails all of its."""
    spread: list[object] = []
    for group, result in zip(groups, results, strict=True):
        if isinstance(result, list) and len(result) == len(group):
            spread.extend(result)
        else:
            spread.extend([result] * len(group))
    return spread


def collect(
    pos_system: str,
    batches: Sequence[Sequence[StockUpdate]],
    results: Sequence[list[WriteOutcome] | BaseException | object],
) -> Pushed:
    """Sort each batch's result: written, refused per item or as a whole (quarantined), or
    failed after retries (left for the rerun)."""
    pushed = Pushed()
    for batch, result in zip(batches, results, strict=True):
        if isinstance(result, FatalError):
            pushed.problems += [_write_problem(pos_system, u, str(result)) for u in batch]
        elif isinstance(result, BaseException):
            log.error("stock batch of %d failed: %s", len(batch), result)
            pushed.failed.append(result)
        elif isinstance(result, list):
            for outcome in result:
                if outcome.ok:
                    pushed.written.append(outcome.update)
                else:
                    error = outcome.error or ""
                    ours = error.startswith(UNRECORDED)
                    reason = error if ours else f"webshop refused it: {error}"
                    pushed.problems.append(_write_problem(pos_system, outcome.update, reason))
        else:
            pushed.failed.append(TypeError(f"unexpected batch result {result!r}"))
    return pushed


def _write_problem(pos_system: str, update: StockUpdate, reason: str) -> Problem:
    return Problem(
        system=pos_system,
        record_id=update.pos_id,
        field="write",
        reason=f"{update.ref.key}: {reason}",
        sku=update.sku,
        payload={"quantity": update.quantity},
    )


def _row(link: Link) -> LinkRow:
    return LinkRow(
        link.product_key, link.system, link.external_id, link.variant_id, link.sku, link.barcode
    )


# --- webshop → POS ----------------------------------------------------------------------
# Stock webshop → POS, for shops whose webshop is master of stock (setup `webshop_master`).
#
# WooCommerce does not date stock changes (an order's stock reduction leaves the product's
# modified date alone), so every run reads the webshop's whole catalogue stock, compares it
# with the POS's current counts of the linked variants, and sets only what differs: absolute
# counts, 100 a call, each call with an idempotency key. Products are linked by the product
# sync (which creates them in the POS); a listing not linked yet waits for it.
#
# No single record can fail a run: a count the POS would not hold is quarantined before any
# call, a call the POS refuses as a whole (Square applies a batch all or nothing) is sent
# again one count at a time so only the refused counts are quarantined, and a count whose
# ledger row the store refuses is quarantined too.

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


@task(name="webshop-stock-to-pos", **RETRYING)
def webshop_stock_to_pos(pos: Pos, shop: Webshop, store: Store, run_id: str | None) -> ToPosResult:
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

"""Stock planning: match POS variants to webshop listings, validate, decide what to write.

Every record ends as exactly one of: an update to write, unchanged, or a `Problem` naming
the record, the field and the reason. One bad record never stops the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from possync.domain.models import (
    CatalogVariant,
    Problem,
    QuarantineField,
    StockCount,
    StockUpdate,
    WebshopListing,
)


@dataclass(frozen=True)
class Match:
    """A POS count whose variant was found in the webshop."""

    count: StockCount
    variant: CatalogVariant
    listing: WebshopListing


@dataclass
class MatchResult:
    matches: list[Match] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class StockPlan:
    updates: list[StockUpdate] = field(default_factory=list)
    unchanged: list[StockUpdate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def latest_counts(counts: Iterable[StockCount]) -> list[StockCount]:
    """One count per variant, the newest (pages may repeat a variant across overlap reads)."""
    newest: dict[str, StockCount] = {}
    for count in counts:
        seen = newest.get(count.pos_id)
        if seen is None or count.updated_at >= seen.updated_at:
            newest[count.pos_id] = count
    return list(newest.values())


def match(
    pos_system: str,
    counts: Sequence[StockCount],
    variants: Mapping[str, CatalogVariant],
    listings: Iterable[WebshopListing],
) -> MatchResult:
    """Match each count's variant to one webshop listing: by SKU, else by barcode."""
    by_sku: dict[str, list[WebshopListing]] = defaultdict(list)
    by_barcode: dict[str, list[WebshopListing]] = defaultdict(list)
    for listing in _unique_refs(listings):
        if listing.sku:
            by_sku[listing.sku].append(listing)
        if listing.barcode:
            by_barcode[listing.barcode].append(listing)

    result = MatchResult()
    sku_owners: dict[str, list[str]] = defaultdict(list)
    for count in counts:
        variant = variants.get(count.pos_id)
        if variant and variant.sku:
            sku_owners[variant.sku].append(count.pos_id)

    claimed: dict[str, str] = {}
    for count in counts:
        variant = variants.get(count.pos_id)
        if variant is None:
            reason = "not found in the POS catalogue as an item variation"
            result.problems.append(_problem(pos_system, count, None, "link", reason))
            continue
        problem = _variant_problem(pos_system, count, variant, sku_owners)
        if problem is not None:
            result.problems.append(problem)
            continue
        found, why = _find_listing(variant, by_sku, by_barcode)
        if found is None:
            result.problems.append(_problem(pos_system, count, variant, "link", why))
            continue
        owner = claimed.setdefault(found.ref.key, count.pos_id)
        if owner != count.pos_id:
            reason = (
                f"webshop listing {found.ref.key} matches POS variants {owner} and {count.pos_id}"
            )
            result.problems.append(_problem(pos_system, count, variant, "link", reason))
            continue
        result.matches.append(Match(count=count, variant=variant, listing=found))
    return result


@dataclass(frozen=True)
class CountLimit:
    """The largest count a receiver holds, and who it is (named in the reason)."""

    holder: str
    most: int


LEDGER_LIMIT = CountLimit("the stock ledger (64-bit)", 2**63 - 1)


def count_limit(system: str, vendor_most: int) -> CountLimit:
    """What a receiving system holds, capped by what the stock ledger holds: a count is
    only written where it can also be recorded, so no write is left unrecorded."""
    if vendor_most <= LEDGER_LIMIT.most:
        return CountLimit(system, vendor_most)
    return LEDGER_LIMIT


def plan(
    pos_system: str,
    matches: Iterable[Match],
    product_keys: Mapping[str, str],
    reserved: Mapping[str, int] | None = None,
    limit: CountLimit = LEDGER_LIMIT,
) -> StockPlan:
    """Decide the quantity for each match: POS on-hand minus reservations, never below 0.

    `product_keys` maps a POS variant id to its internal product key; `reserved` maps a
    product key to the quantity of accepted web orders not yet in the POS; a count above
    `limit` (what the webshop holds) is a Problem, never written.
    """
    reserved = reserved or {}
    result = StockPlan()
    for m in matches:
        quantity, why = parse_quantity(m.count.quantity_raw, limit)
        if quantity is None:
            result.problems.append(_problem(pos_system, m.count, m.variant, "quantity", why))
            continue
        key = product_keys[m.count.pos_id]
        target = max(0, quantity - reserved.get(key, 0))
        update = StockUpdate(
            ref=m.listing.ref,
            quantity=target,
            product_key=key,
            pos_id=m.count.pos_id,
            sku=m.variant.sku,
            previous=m.listing.stock,
        )
        if m.listing.manage_stock and m.listing.stock == target:
            result.unchanged.append(update)
        else:
            result.updates.append(update)
    return result


# No count has this many characters (Square's own quantities are at most 26); longer text
# is refused before it becomes a number to compute with.
_MAX_TEXT = 40


def parse_quantity(raw: str, limit: CountLimit = LEDGER_LIMIT) -> tuple[int | None, str]:
    """A whole, non-negative number of units the receiver holds (at most `limit`), or
    None and why not."""
    text = raw.strip()
    if len(text) > _MAX_TEXT:
        return None, f"quantity {text[:20]}… has {len(text)} characters; not a count"
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, f"quantity {raw!r} is not a number"
    if not value.is_finite():
        return None, f"quantity {raw!r} is not a number"
    if value < 0:
        return None, f"quantity {raw} is negative (more sold than on hand in the POS)"
    if value != value.to_integral_value():
        return None, f"quantity {raw} is not a whole number; the webshop counts whole units"
    if value > limit.most:
        return None, (
            f"quantity {text} is more than {limit.holder} holds (at most {limit.most:,}); "
            "it is not written"
        )
    return int(value), ""


def _variant_problem(
    pos_system: str,
    count: StockCount,
    variant: CatalogVariant,
    sku_owners: Mapping[str, list[str]],
) -> Problem | None:
    if variant.deleted:
        return _problem(pos_system, count, variant, "link", "deleted in the POS catalogue")
    if not variant.sku and not variant.barcode:
        return _problem(pos_system, count, variant, "sku", "has neither SKU nor barcode")
    owners = sku_owners.get(variant.sku or "", [])
    if len(owners) > 1:
        reason = f"duplicate SKU {variant.sku!r} on POS variants {', '.join(sorted(owners))}"
        return _problem(pos_system, count, variant, "sku", reason)
    return None


def _find_listing(
    variant: CatalogVariant,
    by_sku: Mapping[str, list[WebshopListing]],
    by_barcode: Mapping[str, list[WebshopListing]],
) -> tuple[WebshopListing | None, str]:
    if variant.sku:
        hits = by_sku.get(variant.sku, [])
        if len(hits) == 1:
            return hits[0], ""
        if len(hits) > 1:
            where = ", ".join(h.ref.key for h in hits)
            return None, f"SKU {variant.sku!r} is on several webshop listings: {where}"
    if variant.barcode:
        hits = by_barcode.get(variant.barcode, [])
        if len(hits) == 1:
            return hits[0], ""
        if len(hits) > 1:
            where = ", ".join(h.ref.key for h in hits)
            return None, f"barcode {variant.barcode!r} is on several webshop listings: {where}"
    return None, (
        f"no webshop product or variation has SKU {variant.sku!r} or barcode {variant.barcode!r}"
    )


def _unique_refs(listings: Iterable[WebshopListing]) -> list[WebshopListing]:
    seen: dict[str, WebshopListing] = {}
    for listing in listings:
        seen[listing.ref.key] = listing
    return list(seen.values())


def _problem(
    pos_system: str,
    count: StockCount,
    variant: CatalogVariant | None,
    field: QuarantineField,
    reason: str,
) -> Problem:
    return Problem(
        system=pos_system,
        record_id=count.pos_id,
        field=field,
        reason=reason,
        sku=variant.sku if variant else None,
        payload={"quantity": count.quantity_raw, "updated_at": count.updated_at.isoformat()},
    )

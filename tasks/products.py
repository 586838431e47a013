"""The product sync's steps, master side → other side, each a Prefect task (retried where
it calls a vendor); `possync products import` runs that flow over both whole catalogues.

    read_products both sides' products changed since their cursors (everything on a first
                  run), the catalogue code index updated from them; master products whose
                  partner changed, and those in quarantine, are added
    sync_chunks   chunks of master products, each (`sync_chunk`) one write call's worth:
                  checked, paired by SKU then barcode, merged, written; pairs, id-map
                  links and quarantine saved at once
    finish        quarantine what failed, release what synced, advance both cursors

Either side can be master (the `setup` setting). A product is compared by the fingerprint of
the fields the sync owns, so an unchanged product costs no call and our own write coming back
as a change on the other side is recognised, not sent again. A crash leaves the cursors where
they were: the rerun skips every product already paired and in step, and pairs (rather than
re-creates) what was written but not yet recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from possync.domain.config import SyncConfig
from possync.domain.models import Problem, QuarantineField
from possync.domain.products import CodeRow, ProductData, ProductWrite, ProductWriteOutcome
from possync.planning import products as planner
from possync.quarantine import quarantine_problems
from possync.store import Link, Pair, Store
from possync.vendors.ports import ProductCatalogue
from tasks.common import RETRYING

log = logging.getLogger(__name__)

FLOW = "product-sync"


# Called with (products done, products to do) after each committed chunk; the CLI's
# progress bar listens here while the flow updates its Prefect progress artifact.
PROGRESS_LISTENERS: list[Callable[[int, int], None]] = []


def report_progress(done: int, total: int) -> None:
    for listener in list(PROGRESS_LISTENERS):
        listener(done, total)


def cursor_name(system: str) -> str:
    return f"products:{system}"


@dataclass(frozen=True)
class Sides:
    """Who is master of products in this run, and which side is the POS (pairs are stored
    POS ↔ webshop whatever the direction, so switching setup keeps them)."""

    master: ProductCatalogue
    other: ProductCatalogue
    pos_system: str

    def pair(self, master_id: str, other_id: str, master_fp: str, other_fp: str) -> Pair:
        if self.master.system == self.pos_system:
            return Pair(
                self.master.system, master_id, self.other.system, other_id, master_fp, other_fp
            )
        return Pair(self.other.system, other_id, self.master.system, master_id, other_fp, master_fp)

    def pairs_of_master(self, store: Store, ids: Sequence[str]) -> dict[str, Pair]:
        """Pairs by master product id."""
        return self._pairs(store, ids, by_pos=self.master.system == self.pos_system)

    def pairs_of_other(self, store: Store, ids: Sequence[str]) -> dict[str, Pair]:
        """Pairs by other-side product id."""
        return self._pairs(store, ids, by_pos=self.other.system == self.pos_system)

    def _pairs(self, store: Store, ids: Sequence[str], *, by_pos: bool) -> dict[str, Pair]:
        shop = self.master.system if self.other.system == self.pos_system else self.other.system
        where = {"pos_ids": ids} if by_pos else {"shop_ids": ids}
        found = store.catalog.pairs(self.pos_system, shop, **where)
        return {(p.pos_id if by_pos else p.shop_id): p for p in found}

    def master_id(self, pair: Pair) -> str:
        return pair.pos_id if self.master.system == self.pos_system else pair.shop_id

    def other_id(self, pair: Pair) -> str:
        return pair.shop_id if self.master.system == self.pos_system else pair.pos_id

    def fingerprints(self, pair: Pair) -> tuple[str, str]:
        """(master side's, other side's) fingerprint when they last agreed."""
        if self.master.system == self.pos_system:
            return pair.pos_fingerprint, pair.shop_fingerprint
        return pair.shop_fingerprint, pair.pos_fingerprint


@dataclass
class Reading:
    """What this run works on."""

    masters: list[ProductData]
    others: dict[str, ProductData]
    watermarks: dict[str, datetime]
    full: bool
    retried: int = 0
    echoes: int = 0  # paired products read back from the other side as we left them


@dataclass
class ChunkResult:
    """What one chunk did; summed into the run's report."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[tuple[str, str, list[str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    write_calls: int = 0

    def add(self, other: ChunkResult) -> None:
        for name in ("created", "updated", "archived", "linked", "conflicts", "problems", "synced"):
            getattr(self, name).extend(getattr(other, name))
        self.unchanged += other.unchanged
        self.write_calls += other.write_calls


def _codes(product: ProductData) -> list[CodeRow]:
    if product.deleted:
        return []
    pid = str(product.id)
    return [CodeRow(pid, _variant_key(pid, str(v.id)), v.sku, v.barcode) for v in product.variants]


def _variant_key(product_id: str, variant_id: str) -> str:
    """The id map's variant id: '' for a product without variants of its own (a WooCommerce
    simple product, whose only variant is the product itself)."""
    return "" if variant_id == product_id else variant_id


def _read_side(
    side: ProductCatalogue, store: Store, full: bool
) -> tuple[list[ProductData], datetime | None, bool]:
    cursor = store.get_cursor(cursor_name(side.system))
    since = None if full or cursor is None else datetime.fromisoformat(cursor)
    products: dict[str, ProductData] = {}
    for page in side.products_changed(since):
        for product in page:
            products[str(product.id)] = product
        store.catalog.replace_codes(side.system, {str(p.id): _codes(p) for p in page})
    stamps = [p.updated_at for p in products.values() if p.updated_at is not None]
    return list(products.values()), max(stamps, default=None), since is None


@task(name="read-product-changes", **RETRYING)
def read_products(sides: Sides, store: Store, rules: planner.Rules, full: bool) -> Reading:
    others, other_mark, other_full = _read_side(sides.other, store, full)
    masters, master_mark, master_full = _read_side(sides.master, store, full)
    by_id = {str(p.id): p for p in masters}
    other_by_id = {str(p.id): p for p in others}
    # A paired product changed on the other side: check it against its master.
    # Unchanged in what the sync owns: our own write coming back (or an edit of fields the
    # other side keeps), which is not news.
    wanted: set[str] = set()
    echoes = 0
    for other_id, pair in sides.pairs_of_other(store, list(other_by_id)).items():
        _, other_fp = sides.fingerprints(pair)
        product = other_by_id[other_id]
        master_id = sides.master_id(pair)
        if not product.deleted and planner.fingerprint(product, rules.fields) == other_fp:
            echoes += 1
        elif master_id not in by_id:
            wanted.add(master_id)
    retry = {q.record_id for q in store.open_quarantine(FLOW, sides.master.system)} - set(by_id)
    fetched = sides.master.products(sorted(wanted | retry)) if wanted | retry else []
    store.catalog.replace_codes(sides.master.system, {str(p.id): _codes(p) for p in fetched})
    masters += fetched
    marks = {
        system: mark
        for system, mark in ((sides.master.system, master_mark), (sides.other.system, other_mark))
        if mark is not None
    }
    return Reading(masters, other_by_id, marks, master_full and other_full, len(retry), echoes)


@dataclass(frozen=True)
class _Work:
    master: ProductData
    pair: Pair | None
    other_id: str | None
    variant_links: dict[str, str]


def sync_chunk(
    sides: Sides,
    store: Store,
    rules: planner.Rules,
    masters: Sequence[ProductData],
    others: Mapping[str, ProductData],
) -> ChunkResult:
    """Plan, write and record one chunk (at most `products_per_write` products)."""
    result = ChunkResult()
    master_system, other_system = sides.master.system, sides.other.system
    ids = [str(p.id) for p in masters]
    pairs = sides.pairs_of_master(store, ids)
    skus = {v.sku for p in masters for v in p.variants if v.sku}
    barcodes = {v.barcode for p in masters for v in p.variants if v.barcode}
    owners = store.catalog.products_sharing_codes(master_system, skus, barcodes)
    candidates = store.catalog.codes_matching(other_system, skus, barcodes)
    links = _variant_links(store, master_system, other_system, masters)
    work: list[_Work] = []
    for master in masters:
        mid = str(master.id)
        problem = planner.check(master_system, master, owners, rules)
        if problem is not None:
            result.problems.append(problem)
            continue
        pair = pairs.get(mid)
        if pair is not None:
            master_fp, other_fp = sides.fingerprints(pair)
            other_id = sides.other_id(pair)
            other_now = others.get(other_id)
            if planner.fingerprint(master, rules.fields) == master_fp and (
                other_now is None
                or (
                    not other_now.deleted
                    and planner.fingerprint(other_now, rules.fields) == other_fp
                )
            ):
                result.unchanged += 1
                result.synced.append(mid)
                continue
            work.append(_Work(master, pair, other_id, links.get(mid, {})))
            continue
        if master.deleted:
            result.synced.append(mid)  # never synced: nothing to archive
            continue
        mine = [c for c in candidates if _carries(c, master)]
        resolved = planner.resolve(master_system, other_system, master, mine)
        if isinstance(resolved, Problem):
            result.problems.append(resolved)
        elif isinstance(resolved, planner.Paired):
            merged = {**resolved.variants, **links.get(mid, {})}
            work.append(_Work(master, None, resolved.product_id, merged))
        else:
            work.append(_Work(master, None, None, {}))
    current = _current_others(sides.other, work, others)
    writes: list[ProductWrite] = []
    planned: dict[str, tuple[_Work, ProductData | None, ProductData]] = {}
    saved_pairs: list[Pair] = []
    linked_pairs: list[tuple[ProductData, ProductData]] = []
    written_codes: dict[str, list[CodeRow]] = {}
    for item in work:
        mid = str(item.master.id)
        other = current.get(item.other_id) if item.other_id else None
        if item.master.deleted and (other is None or not rules.archive_on_delete):
            result.synced.append(mid)
            continue
        wanted = planner.merge(item.master, other, rules, item.variant_links)
        if planner.needs_type_change(wanted, rules):
            result.problems.append(
                Problem(
                    system=master_system,
                    record_id=mid,
                    field="variants",
                    reason=f"{master_system} product {mid} has {len(item.master.variants)} "
                    f"variants but {other_system} product {item.other_id} is a product "
                    "without variants; make it a variable product there and it syncs",
                    sku=item.master.variants[0].sku,
                )
            )
            continue
        master_fp = planner.fingerprint(item.master, rules.fields)
        if other is not None and planner.fingerprint(wanted, rules.fields) == planner.fingerprint(
            other, rules.fields
        ):
            # In step already: a link made, or both sides changed to the same values.
            if item.pair is None:
                result.linked.append(mid)
            else:
                result.unchanged += 1
            saved_pairs.append(
                sides.pair(mid, str(other.id), master_fp, planner.fingerprint(other, rules.fields))
            )
            linked_pairs.append((item.master, other))
            result.synced.append(mid)
            continue
        if other is not None and item.pair is not None:
            _, other_fp = sides.fingerprints(item.pair)
            if planner.fingerprint(other, rules.fields) != other_fp:
                changed = planner.changed_fields(other, wanted, rules.fields)
                result.conflicts.append((mid, str(other.id), [str(c) for c in changed]))
        fields = rules.fields if not item.master.deleted else ("state",)
        writes.append(ProductWrite(key=mid, product=wanted, fields=tuple(fields)))
        planned[mid] = (item, other, wanted)
    if writes:
        result.write_calls += 1
        outcomes = sides.other.write_products(writes)
        for outcome in outcomes:
            item, other, wanted = planned[outcome.key]
            mid = outcome.key
            if not outcome.ok or outcome.product_id is None:
                result.problems.append(_refused(sides, item.master, outcome))
                continue
            written = _with_ids(wanted, outcome)
            other_fp = planner.fingerprint(written, rules.fields)
            master_fp = planner.fingerprint(item.master, rules.fields)
            saved_pairs.append(sides.pair(mid, outcome.product_id, master_fp, other_fp))
            linked_pairs.append((item.master, written))
            written_codes[outcome.product_id] = _codes(written)
            if other is None:
                result.created.append(mid)
            elif item.master.deleted:
                result.archived.append(mid)
            else:
                result.updated.append(mid)
                if item.pair is None:
                    result.linked.append(mid)
            result.synced.append(mid)
    store.catalog.replace_codes(other_system, written_codes)
    store.catalog.save_pairs(saved_pairs)
    store.save_links(_links_for(sides, store, linked_pairs))
    return result


def _carries(code: CodeRow, product: ProductData) -> bool:
    return any(
        (v.sku and v.sku == code.sku) or (v.barcode and v.barcode == code.barcode)
        for v in product.variants
    )


def _current_others(
    other: ProductCatalogue, work: Sequence[_Work], others: Mapping[str, ProductData]
) -> dict[str, ProductData]:
    """The other side's current state of the products this chunk touches. A product we
    synced before is read now (this run's read may predate our own write, if a task is
    retried); one being linked for the first time comes from this run's read when it has it."""
    ids = {w.other_id for w in work if w.other_id}
    fresh = {w.other_id for w in work if w.other_id and w.pair is not None}
    found = {i: others[i] for i in ids - fresh if i in others and not others[i].deleted}
    missing = sorted(i for i in ids if i not in found and (i in fresh or i not in others))
    if missing:
        found.update({str(p.id): p for p in other.products(missing)})
    return found


def _variant_links(
    store: Store, master_system: str, other_system: str, masters: Sequence[ProductData]
) -> dict[str, dict[str, str]]:
    """Master variant id → other variant id, per master product, from the id map."""
    variant_ids = [
        _variant_key(str(p.id), str(v.id)) or str(p.id) for p in masters for v in p.variants
    ]
    by_variant = store.links_by_variant(master_system, [v for v in variant_ids if v])
    by_external = store.links_by_external(master_system, [str(p.id) for p in masters])
    mine: dict[str, Link] = dict(by_variant)
    for pid, rows in by_external.items():
        for row in rows:
            if row.variant_id == "":
                mine[pid] = row
    theirs = store.links_by_key(other_system, [link.product_key for link in mine.values()])
    found: dict[str, dict[str, str]] = {}
    for product in masters:
        pid = str(product.id)
        for variant in product.variants:
            link = mine.get(str(variant.id))
            other = theirs.get(link.product_key) if link else None
            if other is not None:
                found.setdefault(pid, {})[str(variant.id)] = other.variant_id or other.external_id
    return found


def _links_for(
    sides: Sides, store: Store, pairs: Sequence[tuple[ProductData, ProductData]]
) -> list[Link]:
    """Id-map rows for each pair of variants (matched by SKU) of these paired products,
    keeping the keys they already have; two look-ups for the whole chunk."""
    master_ids = [str(m.id) for m, _ in pairs]
    other_ids = [str(o.id) for _, o in pairs]
    known = {
        (link.external_id, link.variant_id): link.product_key
        for rows in store.links_by_external(sides.master.system, master_ids).values()
        for link in rows
    }
    o_known = {
        (link.external_id, link.variant_id): link.product_key
        for rows in store.links_by_external(sides.other.system, other_ids).values()
        for link in rows
    }
    found: list[Link] = []
    for master, other in pairs:
        mid, oid = str(master.id), str(other.id)
        other_by_sku = {v.sku: v for v in other.variants if v.sku}
        for variant in master.variants:
            twin = other_by_sku.get(variant.sku or "")
            if twin is None or twin.id is None:
                continue
            m_vid = _variant_key(mid, str(variant.id))
            o_vid = _variant_key(oid, str(twin.id))
            key = known.get((mid, m_vid)) or o_known.get((oid, o_vid)) or store.new_product_key()
            found.append(Link(key, sides.master.system, mid, m_vid, variant.sku, variant.barcode))
            found.append(Link(key, sides.other.system, oid, o_vid, twin.sku, twin.barcode))
    return found


def _with_ids(wanted: ProductData, outcome: ProductWriteOutcome) -> ProductData:
    variants = (
        tuple(
            v.model_copy(update={"id": new_id or v.id})
            for v, new_id in zip(wanted.variants, outcome.variant_ids, strict=False)
        )
        + wanted.variants[len(outcome.variant_ids) :]
    )
    return wanted.model_copy(update={"id": outcome.product_id, "variants": variants})


_FIELD_HINTS: tuple[tuple[str, QuarantineField], ...] = (
    ("price", "price"),
    ("sku", "sku"),
    ("upc", "barcode"),
    ("global_unique_id", "barcode"),
    ("barcode", "barcode"),
    ("description", "description"),
    ("name", "name"),
)


def _refused(sides: Sides, master: ProductData, outcome: ProductWriteOutcome) -> Problem:
    where = (outcome.error_field or "") + " " + (outcome.error or "")
    field_name: QuarantineField = next(
        (f for hint, f in _FIELD_HINTS if hint in where.lower()), "write"
    )
    detail = f" (field {outcome.error_field})" if outcome.error_field else ""
    return Problem(
        system=sides.master.system,
        record_id=str(master.id),
        field=field_name,
        reason=f"{sides.other.system} refused {sides.master.system} product {master.id} "
        f"({master.name[:60]!r}): {outcome.error or 'no reason given'}{detail}",
        sku=next((v.sku for v in master.variants if v.sku), None),
        payload={"name": master.name[:200]},
    )


@task(name="sync-product-chunks", **RETRYING)
def sync_chunks(
    sides: Sides,
    store: Store,
    rules: planner.Rules,
    chunks: Sequence[Sequence[ProductData]],
    others: Mapping[str, ProductData],
) -> ChunkResult:
    """Several write calls' worth; each chunk is recorded as soon as it is written, so a
    retry (or a rerun after a crash) skips what already went through."""
    total = ChunkResult()
    for chunk in chunks:
        total.add(sync_chunk(sides, store, rules, chunk, others))
    return total


def chunks(products: Sequence[ProductData], size: int) -> list[list[ProductData]]:
    """Master products in write-sized chunks, deleted ones last (archives after creates)."""
    ordered = sorted(products, key=lambda p: p.deleted)
    return [list(ordered[i : i + size]) for i in range(0, len(ordered), size)]


@task(name="finish-product-sync", cache_policy=NO_CACHE)
def finish(sides: Sides, store: Store, reading: Reading, result: ChunkResult) -> None:
    """Quarantine what failed, release what synced; advance the cursors only when every
    chunk went through (a failed write call raises before this step)."""
    quarantine_problems(store, FLOW, result.problems)
    failed = {p.record_id for p in result.problems}
    store.resolve_quarantine(
        FLOW, sides.master.system, [i for i in result.synced if i not in failed]
    )
    for system, mark in reading.watermarks.items():
        store.set_cursor(cursor_name(system), mark.isoformat())


def sides_for(config: SyncConfig, pos: object, shop: object) -> Sides:
    """Master and other side from the `setup` setting."""
    for side in (pos, shop):
        if not isinstance(side, ProductCatalogue):
            raise TypeError(f"{type(side).__name__} cannot sync products (no ProductCatalogue)")
    assert isinstance(pos, ProductCatalogue) and isinstance(shop, ProductCatalogue)
    if config.products_master == "pos":
        return Sides(master=pos, other=shop, pos_system=pos.system)
    return Sides(master=shop, other=pos, pos_system=pos.system)


def rules_for(config: SyncConfig, sides: Sides, currency: str) -> planner.Rules:
    """The run's rules. `currency` is the shop's: its POS location's currency (Square's
    Location.currency), the one source of truth for money in possync, so a price is
    checked against the currency the register sells in whichever side is master."""
    most = sides.other.max_price(currency)
    return planner.Rules(
        currency=currency,
        fields=config.product_fields,
        archive_on_delete=config.archive_on_delete,
        typed_variants=sides.other.typed_variants,
        max_price=planner.PriceLimit(sides.other.system, most) if most is not None else None,
    )

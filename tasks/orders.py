"""Web orders to the POS exactly once; refunds and cancellations return stock once.

Every POS write carries an idempotency key derived from the ledger (shop + order, + event)
and a reference that is unique per order within the POS field's limit (`possync.domain.references`),
and every ledger transition is a compare-and-set, so a retry after a timeout, a lost
response, a crash between the POS write and our commit, a rerun or a replayed webhook all
end in one sale per order and one return per refund. Steps (each a Prefect task, retried
where it calls a vendor):

    read_orders        orders changed since the cursor, plus the ledger's unfinished ones
    transfer_orders    reserve → transferring → POS sale (or stock adjustment) → transferred
    process_refunds    new refunds and cancellations of transferred orders → POS returns
    finish             quarantine, release, and the cursor when every batch finished
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from prefect import task
from prefect.cache_policies import NO_CACHE

from possync.domain.models import (
    OrderItem,
    PosDocument,
    Problem,
    SaleLine,
    WebOrder,
    web_sale_source,
)
from possync.domain.money import MoneyError
from possync.domain.references import event_reference, order_reference
from possync.planning import orders as plan
from possync.planning.orders import Resolved
from possync.quarantine import quarantine_problems
from possync.store import OrderEvent, OrderLine, OrderRecord, Store
from possync.vendors.errors import FatalError
from possync.vendors.ports import Pos, Webshop
from tasks.common import RETRYING

log = logging.getLogger(__name__)

TRANSFER_FLOW = "transfer-orders"
REFUNDS_FLOW = "process-refunds"
OrderMode = Literal["sale", "adjustment"]
Result = Literal["transferred", "cancelled", "returned", "refunded", "quarantined", "failed"]


@dataclass(frozen=True)
class OrderSettings:
    accepted: frozenset[str] = frozenset({"processing", "completed"})
    mode: OrderMode = "sale"
    overlap: timedelta = timedelta(seconds=2)
    # The very first run looks back this far only, so switching possync on does not book a
    # shop's whole order history into the POS a second time.
    first_run_lookback: timedelta = timedelta(hours=24)
    # The run slot holder of the run these settings serve (`HeldSlot.holder`): the orders
    # it moves to `transferring` are claimed by it, and no other live run takes them over
    # (`Store.claim_order`). None: claims that any run may take over (no run slot).
    holder: str | None = None


@dataclass(frozen=True)
class Outcome:
    order_id: str
    result: Result
    document: str | None = None
    detail: str = ""


@dataclass
class OrdersRead:
    orders: list[WebOrder]
    watermark: datetime | None
    cursor: str


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def cursor_name(flow: str, shop: Webshop, pos: Pos) -> str:
    return f"{flow}:{shop.system}->{pos.system}"


@task(name="read-web-orders", **RETRYING)
def read_orders(
    shop: Webshop,
    pos: Pos,
    store: Store,
    flow: str,
    settings: OrderSettings,
    reopen_states: Collection[str] = (),
) -> OrdersRead:
    """Orders modified since the flow's cursor (minus the settings' overlap, for
    same-second changes; on the first run, within their `first_run_lookback`), and the
    current state of orders the ledger or the quarantine still has open."""
    overlap, first_run_lookback = settings.overlap, settings.first_run_lookback
    name = cursor_name(flow, shop, pos)
    cursor = store.get_cursor(name)
    if cursor:
        since = datetime.fromisoformat(cursor) - overlap
    else:
        since = datetime.now(UTC) - first_run_lookback
    changed = [o for page in shop.orders_changed(since) for o in page]
    seen = {o.order_id for o in changed}
    reopen = {r.order_id for r in store.orders_in_states(shop.system, reopen_states)}
    reopen |= {q.record_id for q in store.open_quarantine(flow, shop.system)}
    refetched = shop.orders(sorted(reopen - seen)) if reopen - seen else []
    watermark = max((o.modified_at for o in changed), default=None)
    return OrdersRead(orders=changed + refetched, watermark=watermark, cursor=name)


@dataclass(frozen=True)
class LineMaps:
    """How a batch's order lines find their POS variants: (product id, variation id) →
    (product key, POS variant id) through the id map, and SKU → the same as a fallback."""

    by_ref: dict[tuple[str, str], tuple[str, str]]
    by_sku: dict[str, tuple[str, str]]

    def resolve(
        self, shop: str, order_id: str, items: Sequence[OrderItem]
    ) -> tuple[list[Resolved], list[Problem]]:
        return plan.resolve(shop, order_id, items, self.by_ref, self.by_sku)


def line_maps(store: Store, shop: Webshop, pos: Pos, orders: Sequence[WebOrder]) -> LineMaps:
    """The id-map look-ups for every line of these orders, in four queries."""
    product_ids = sorted({i.ref.product_id for o in orders for i in o.items if i.ref})
    shop_links = [
        link
        for links in store.links_by_external(shop.system, product_ids).values()
        for link in links
    ]
    pos_by_key = store.links_by_key(pos.system, [link.product_key for link in shop_links])
    by_ref = {
        (link.external_id, link.variant_id): (key, pos_by_key[key].variant_id)
        for link in shop_links
        if (key := link.product_key) in pos_by_key
    }
    skus = sorted({i.sku for o in orders for i in o.items if i.sku})
    by_sku = {
        sku: (links[0].product_key, links[0].variant_id)
        for sku, links in store.links_by_sku(pos.system, skus).items()
        if len(links) == 1
    }
    return LineMaps(by_ref=by_ref, by_sku=by_sku)


@task(name="transfer-orders-batch", **RETRYING)
def transfer_batch(
    pos: Pos, shop: Webshop, store: Store, orders: Sequence[WebOrder], settings: OrderSettings
) -> BatchResult:
    """Each accepted order to the POS once; orders cancelled before that release stock."""
    result = BatchResult()
    records = store.orders(shop.system, [o.order_id for o in orders])
    maps = line_maps(store, shop, pos, orders)
    for order in orders:
        record = records.get(order.order_id)
        step = plan.next_step(order, record.state if record else None, settings.accepted)
        if step == "transfer":
            _transfer(pos, shop, store, order, record, settings, maps, result)
        elif step == "cancel_reserved" and store.transition_order(
            shop.system, order.order_id, from_states={"reserved"}, to_state="cancelled"
        ):
            result.outcomes.append(
                Outcome(order.order_id, "cancelled", detail="reservation released")
            )
    return result


def _transfer(
    pos: Pos,
    shop: Webshop,
    store: Store,
    order: WebOrder,
    record: OrderRecord | None,
    settings: OrderSettings,
    maps: LineMaps,
    result: BatchResult,
) -> None:
    shop_name, order_id = shop.system, order.order_id
    key = plan.order_key(shop_name, order_id)
    resolved, problems = maps.resolve(shop_name, order_id, order.items)
    lines = [_ledger_line(r) for r in resolved]
    fresh = {None, "seen", "quarantined"}
    sale = (
        _sale_lines(resolved, order, shop_name)
        if settings.mode == "sale"
        else _stock_lines(resolved)
    )
    if not problems and isinstance(sale, Problem):
        problems = [sale]
    if problems:
        store.save_order(
            shop_name,
            order_id,
            status=order.status,
            state="quarantined",
            lines=lines,
            modified_at=order.modified_at,
            idempotency_key=key,
            expect_states=fresh,
        )
        store.note_order_error(shop_name, order_id, problems[0].reason)
        result.problems += problems
        result.outcomes.append(Outcome(order_id, "quarantined", detail=problems[0].reason))
        return
    if record is None or record.state in fresh:
        saved = store.save_order(
            shop_name,
            order_id,
            status=order.status,
            state="reserved",
            lines=lines,
            modified_at=order.modified_at,
            idempotency_key=key,
            expect_states=fresh,
        )
        if not saved:
            return  # another run took it over
    if not store.claim_order(shop_name, order_id, holder=settings.holder):
        return  # transferred meanwhile, or claimed by another run that is still alive
    assert not isinstance(sale, Problem)
    reference = order_reference(shop_name, order_id)
    try:
        if settings.mode == "sale":
            # A row left 'transferring' means an earlier attempt may have booked the sale.
            resume = None
            if record is not None and record.state == "transferring":
                resume = record.updated_at - timedelta(days=1)
            document = pos.record_sale(
                sale,
                key=key,
                reference=reference,
                currency=order.currency,
                source=web_sale_source(shop_name),
                resume_since=resume,
            )
        else:
            document = pos.adjust_stock(sale, key=key, reference=reference, movement="sold")
    except MoneyError as exc:
        # What the customer paid cannot be booked exactly: quarantined (its reservation
        # released), retried with the quarantine on every run, never booked wrong.
        reason = f"order {order_id} is not booked at a price it was not paid at: {exc}"
        store.transition_order(
            shop_name,
            order_id,
            from_states={"transferring"},
            to_state="quarantined",
            last_error=reason,
            count_attempt=True,
        )
        result.problems.append(
            Problem(system=shop_name, record_id=order_id, field="price", reason=reason)
        )
        result.outcomes.append(Outcome(order_id, "quarantined", detail=reason))
        return
    except FatalError as exc:
        store.transition_order(
            shop_name,
            order_id,
            from_states={"transferring"},
            to_state="reserved",
            last_error=str(exc),
            count_attempt=True,
            claimed_by=settings.holder,
        )
        problem = Problem(
            system=shop_name,
            record_id=order_id,
            field="write",
            reason=f"the POS refused order {order_id}: {exc}",
        )
        result.problems.append(problem)
        result.outcomes.append(Outcome(order_id, "failed", detail=str(exc)))
        return
    except Exception as exc:
        store.note_order_error(shop_name, order_id, str(exc))
        raise
    # Counted only when this run's compare-and-set moved it: a run whose claim was taken
    # over (its slot lapsed) must not report what the other run transferred.
    if store.transition_order(
        shop_name,
        order_id,
        from_states={"transferring"},
        to_state="transferred",
        pos_document=document.document_id,
        pos_payment=document.payment_id,
        claimed_by=settings.holder,
    ):
        result.outcomes.append(Outcome(order_id, "transferred", document=document.document_id))
    else:
        log.warning(
            "order %s of %s was no longer this run's to finish (another run took over its "
            "claim); its sale %s is not counted here",
            order_id,
            shop_name,
            document.document_id,
        )


def _stock_lines(resolved: Sequence[Resolved]) -> list[SaleLine]:
    """The lines of a stock-only booking (adjustment mode): variants and quantities."""
    return [
        SaleLine(
            pos_id=r.pos_id,
            quantity=r.item.quantity,
            unit_price=r.item.unit_price,
            name=r.item.name,
        )
        for r in resolved
    ]


def _sale_lines(
    resolved: Sequence[Resolved], order: WebOrder, shop: str
) -> list[SaleLine] | Problem:
    """The lines of a POS sale: each product at what it cost after discounts with its VAT
    as charged, then shipping and fees, so that the sale is what the customer paid. An
    order whose price could not be read, or whose lines and charges do not add up to its
    total (a gift card, an order-level adjustment the webshop does not itemize), is a
    Problem: booking it would put an amount in the POS and the books that nobody paid."""

    def problem(reason: str) -> Problem:
        return Problem(
            system=shop,
            record_id=order.order_id,
            field="price",
            reason=f"order {order.order_id} is not booked: {reason}",
        )

    if order.price_error:
        return problem(order.price_error)
    missing = [r.item.line_id for r in resolved if r.item.paid is None]
    if missing:
        return problem(f"the webshop did not say what line(s) {', '.join(missing)} cost")
    lines = [
        SaleLine(
            pos_id=r.pos_id,
            quantity=r.item.quantity,
            unit_price=r.item.unit_price,
            name=r.item.name,
            paid=r.item.paid,
        )
        for r in resolved
    ]
    lines += [
        SaleLine(pos_id=None, quantity=1, unit_price=c.paid.gross, name=c.name, paid=c.paid)
        for c in order.charges
    ]
    paid = sum((line.paid.gross for line in lines if line.paid), Decimal(0))
    if paid != order.total:
        return problem(
            f"its lines and charges come to {paid} {order.currency}, its total is "
            f"{order.total} {order.currency}"
        )
    return lines


@task(name="refund-orders-batch", **RETRYING)
def refund_batch(
    pos: Pos, shop: Webshop, store: Store, orders: Sequence[WebOrder], settings: OrderSettings
) -> BatchResult:
    """New refunds and cancellations of transferred orders: money and stock back, once."""
    result = BatchResult()
    records = store.orders(shop.system, [o.order_id for o in orders])
    maps = line_maps(store, shop, pos, orders)
    for order in orders:
        record = records.get(order.order_id)
        if record is None:
            continue
        step = plan.next_step(order, record.state, settings.accepted)
        if step == "refunds":
            _record_refunds(shop, store, order, record, maps, result)
        elif step == "return_cancelled":
            _record_cancellation(store, order, record)
        else:
            continue
        for event in store.events(shop.system, order.order_id, states={"pending"}):
            _execute(pos, store, order, record, event, settings, result)
        _settle(store, order, record)
    return result


def _record_refunds(
    shop: Webshop,
    store: Store,
    order: WebOrder,
    record: OrderRecord,
    maps: LineMaps,
    result: BatchResult,
) -> None:
    for refund in shop.refunds(order.order_id):
        resolved, problems = maps.resolve(shop.system, order.order_id, refund.items)
        if problems:
            result.problems += problems
            continue
        name = f"refund:{refund.refund_id}"
        store.record_event(
            shop.system,
            order.order_id,
            name,
            kind="refund",
            idempotency_key=plan.event_key(record.idempotency_key, name),
            lines=[_ledger_line(r) for r in resolved],
            amount=str(refund.amount),
        )


def _record_cancellation(store: Store, order: WebOrder, record: OrderRecord) -> None:
    """A cancelled transferred order gives back what earlier refunds have not."""
    events = store.events(record.shop, order.order_id)
    returned = [(line.pos_id or "", line.quantity) for e in events for line in e.lines]
    ordered = [(line.pos_id or "", line.quantity) for line in record.lines]
    by_pos = {line.pos_id: line for line in record.lines}
    remaining = plan.remaining_after(ordered, returned)
    refunded = sum((Decimal(e.amount) for e in events if e.amount), Decimal(0))
    lines = [
        OrderLine(
            sku=by_pos[pos_id].sku,
            quantity=quantity,
            product_key=by_pos[pos_id].product_key,
            pos_id=pos_id,
            price=by_pos[pos_id].price,
            name=by_pos[pos_id].name,
        )
        for pos_id, quantity in remaining
    ]
    store.record_event(
        record.shop,
        order.order_id,
        "cancel",
        kind="cancel",
        idempotency_key=plan.event_key(record.idempotency_key, "cancel"),
        lines=lines,
        amount=str(max(Decimal(0), order.total - refunded)),
    )


def _execute(
    pos: Pos,
    store: Store,
    order: WebOrder,
    record: OrderRecord,
    event: OrderEvent,
    settings: OrderSettings,
    result: BatchResult,
) -> None:
    amount = Decimal(event.amount or "0")
    document: str | None = None
    try:
        if settings.mode == "sale" and amount > 0 and record.pos_payment:
            document = pos.refund_payment(
                record.pos_payment,
                amount,
                order.currency,
                key=event.idempotency_key,
                reason=f"{event.kind} of {record.shop} order {order.order_id}",
            )
        lines = [
            SaleLine(pos_id=line.pos_id, quantity=line.quantity)
            for line in event.lines
            if line.pos_id and line.quantity > 0
        ]
        if lines:
            moved: PosDocument = pos.adjust_stock(
                lines,
                key=event.idempotency_key,
                movement="returned",
                reference=event_reference(record.shop, order.order_id, event.event_key),
            )
            document = document or moved.document_id
    except (FatalError, MoneyError) as exc:
        # One event the POS refuses, or whose amount it cannot hold exactly (more decimals
        # than the currency has), is that order's problem, kept for a rerun; never the run's.
        store.note_event_error(record.shop, order.order_id, event.event_key, str(exc))
        result.problems.append(
            Problem(
                system=record.shop,
                record_id=order.order_id,
                field="amount" if isinstance(exc, MoneyError) else "write",
                reason=f"the POS refused {event.event_key} of order {order.order_id}: {exc}",
            )
        )
        result.outcomes.append(Outcome(order.order_id, "failed", detail=str(exc)))
        return
    if store.complete_event(record.shop, order.order_id, event.event_key, document):
        kind: Result = "returned" if event.kind == "cancel" else "refunded"
        detail = (
            f"{event.event_key}: {sum(line.quantity for line in event.lines)} item(s), {amount}"
        )
        result.outcomes.append(Outcome(order.order_id, kind, document=document, detail=detail))


def _settle(store: Store, order: WebOrder, record: OrderRecord) -> None:
    """The order's state once its events are done: cancelled, refunded or partly refunded."""
    events = store.events(record.shop, order.order_id)
    if any(e.state != "done" for e in events):
        return
    if any(e.kind == "cancel" for e in events):
        target = "cancelled"
    else:
        refunded = sum((Decimal(e.amount) for e in events if e.amount), Decimal(0))
        full = order.status == "refunded" or refunded >= order.total
        target = "refunded" if full else "partly_refunded"
    if target != record.state:
        store.transition_order(
            record.shop, order.order_id, from_states=plan.DONE_STATES, to_state=target
        )


def _ledger_line(r: Resolved) -> OrderLine:
    return OrderLine(
        sku=r.item.sku,
        quantity=r.item.quantity,
        product_key=r.product_key,
        pos_id=r.pos_id,
        price=str(r.item.unit_price),
        name=r.item.name,
        line_id=r.item.line_id,
    )


def advance(store: Store, read: OrdersRead) -> None:
    """Move the flow's cursor to the newest modification read (after all batches)."""
    if read.watermark is not None:
        store.set_cursor(read.cursor, read.watermark.isoformat())


@task(name="finish-orders", cache_policy=NO_CACHE)
def finish(
    store: Store,
    shop_system: str,
    read: OrdersRead,
    flow: str,
    problems: Sequence[Problem],
    handled_ids: Sequence[str],
    advance_cursor: bool,
) -> None:
    """Quarantine what failed (retried next run), release what now went through, and move
    the cursor only when every batch finished."""
    quarantine_problems(store, flow, problems)
    failed = {p.record_id for p in problems}
    resolved = [i for i in handled_ids if i not in failed]
    if resolved:
        store.resolve_quarantine(flow, shop_system, resolved)
    if advance_cursor:
        advance(store, read)

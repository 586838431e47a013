"""The order ledger and its refund/cancellation events: every state change a
compare-and-set, so a web order reaches the POS exactly once."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import (
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.sql import ColumnElement, Update

from possync.store.cursors import CursorStore
from possync.store.session import (
    distinct,
    utc_now,
)
from possync.store.tables import (
    EVENT_STATES,
    ORDER_STATES,
    OrderEventLog,
    OrderLedger,
    RunSlot,
)

# What an order event can be: stock going back to the POS for a refund or a cancellation.
EVENT_KINDS = ("refund", "cancel")

# What save_order updates on an existing row; never the idempotency key or created_at.
_ORDER_CHANGES = ("status", "state", "lines", "modified_at", "updated_at")

# Orders whose stock the POS still counts as on hand although the webshop has sold it.
RESERVING_STATES = ("reserved", "transferring")


@dataclass(frozen=True)
class OrderLine:
    """One line of a webshop order as the POS write needs it.

    ``price`` is the unit price as a decimal string (never a float); ``product_key`` is
    ``None`` when the line matched no product, ``line_id`` is the webshop's line item id.
    """

    sku: str | None
    quantity: int
    product_key: str | None
    pos_id: str | None
    price: str
    name: str = ""
    line_id: str = ""


@dataclass(frozen=True)
class OrderRecord:
    """A webshop order in the ledger: its state on the way to the POS and what it became."""

    shop: str
    order_id: str
    status: str
    state: str
    lines: tuple[OrderLine, ...]
    idempotency_key: str
    pos_document: str | None
    pos_payment: str | None
    modified_at: datetime
    created_at: datetime
    updated_at: datetime
    transferred_at: datetime | None
    last_error: str | None
    attempts: int
    # The run slot holder whose run moved the order to `transferring` (``claim_order``).
    claimed_by: str | None = None


@dataclass(frozen=True)
class OrderEvent:
    """A refund or cancellation of an order, applied to the POS once (``pending``/``done``).

    ``amount`` is a decimal string; ``attempts`` counts the failures noted so far.
    """

    shop: str
    order_id: str
    event_key: str
    kind: str
    state: str
    idempotency_key: str
    lines: tuple[OrderLine, ...]
    amount: str | None
    pos_document: str | None
    last_error: str | None
    created_at: datetime
    done_at: datetime | None
    attempts: int = 0


def _decimal_text(value: object, what: str) -> str:
    """*value* as decimal text, refusing floats: a float price has already lost cents."""
    if isinstance(value, Decimal):
        text_value = str(value)
    elif isinstance(value, str):
        text_value = value
    else:
        raise TypeError(f"{what} must be a decimal string, not {type(value).__name__}")
    try:
        finite = Decimal(text_value).is_finite()
    except InvalidOperation:
        finite = False
    if not finite:
        raise ValueError(f"{what} {text_value!r} is not a decimal number")
    return text_value


def _lines_json(lines: Iterable[OrderLine]) -> str:
    """Order lines as a JSON list of objects; prices stay strings, so no cent is lost."""
    rows: list[dict[str, object]] = []
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise TypeError(
                f"order line {line.line_id!r}: quantity must be an int, "
                f"not {type(line.quantity).__name__}"
            )
        rows.append(
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "product_key": line.product_key,
                "pos_id": line.pos_id,
                "price": _decimal_text(line.price, f"order line {line.line_id!r}: price"),
                "name": line.name,
                "line_id": line.line_id,
            }
        )
    return json.dumps(rows, ensure_ascii=False)


def _lines_from_json(stored: str) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(
            sku=item.get("sku"),
            quantity=int(item["quantity"]),
            product_key=item.get("product_key"),
            pos_id=item.get("pos_id"),
            price=str(item["price"]),
            name=item.get("name") or "",
            line_id=item.get("line_id") or "",
        )
        for item in cast(list[dict[str, Any]], json.loads(stored))
    )


def _known(what: str, allowed: tuple[str, ...], values: Iterable[str]) -> list[str]:
    """The distinct *values*, refusing unknown ones: a misspelt state would never match,
    and a compare-and-set that silently never happens looks like a lost race."""
    if isinstance(values, str):
        raise TypeError(f"{what}: pass a collection of names, not the string {values!r}")
    chosen = sorted(set(values))
    unknown = [value for value in chosen if value not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}: expected one of {list(allowed)}")
    return chosen


def _order_record(row: Any) -> OrderRecord:
    return OrderRecord(
        shop=row.shop,
        order_id=row.order_id,
        status=row.status,
        state=row.state,
        lines=_lines_from_json(row.lines),
        idempotency_key=row.idempotency_key,
        pos_document=row.pos_document,
        pos_payment=row.pos_payment,
        modified_at=row.modified_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        transferred_at=row.transferred_at,
        last_error=row.last_error,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
    )


def _order_event(row: Any) -> OrderEvent:
    return OrderEvent(
        shop=row.shop,
        order_id=row.order_id,
        event_key=row.event_key,
        kind=row.kind,
        state=row.state,
        idempotency_key=row.idempotency_key,
        lines=_lines_from_json(row.lines),
        amount=row.amount,
        pos_document=row.pos_document,
        last_error=row.last_error,
        created_at=row.created_at,
        done_at=row.done_at,
        attempts=row.attempts,
    )


class OrderStore(CursorStore):
    """The order ledger and its refund/cancellation events: every state change a
    compare-and-set, so a web order reaches the POS exactly once."""

    def orders(self, shop: str, order_ids: Collection[str]) -> dict[str, OrderRecord]:
        """The ledger's rows for these webshop orders; unknown orders are absent."""
        found: dict[str, OrderRecord] = {}
        with self.reading() as conn:
            for chunk in self.in_chunks(distinct(order_ids)):
                rows = conn.execute(
                    select(*OrderLedger.__table__.columns).where(
                        OrderLedger.shop == shop, self.among(OrderLedger.order_id, chunk)
                    )
                )
                found.update((row.order_id, _order_record(row)) for row in rows)
        return found

    def orders_in_states(self, shop: str, states: Collection[str]) -> list[OrderRecord]:
        """The shop's orders in any of *states*, first seen first (e.g. the ones to retry)."""
        wanted = _known("order states", ORDER_STATES, states)
        if not wanted:
            return []
        with self.reading() as conn:
            rows = conn.execute(
                select(*OrderLedger.__table__.columns)
                .where(OrderLedger.shop == shop, OrderLedger.state.in_(wanted))
                .order_by(OrderLedger.created_at, OrderLedger.id)
            )
            return [_order_record(row) for row in rows]

    def save_order(
        self,
        shop: str,
        order_id: str,
        *,
        status: str,
        state: str,
        lines: Sequence[OrderLine],
        modified_at: datetime,
        idempotency_key: str,
        expect_states: Collection[str | None] | None = None,
    ) -> bool:
        """Insert the order, or update its status, state, lines and modified time.

        With *expect_states* this is a compare-and-set: it writes only if the row's state
        is one of them, a missing row counting as ``None`` (so ``{None}`` means "insert,
        never update"). Returns whether it wrote. An existing row keeps its idempotency
        key whatever is passed: the POS may already hold a sale under it.
        """
        _known("order state", ORDER_STATES, [state])
        now = utc_now()
        values = {
            "shop": shop,
            "order_id": order_id,
            "status": status,
            "state": state,
            "lines": _lines_json(lines),
            "idempotency_key": idempotency_key,
            "modified_at": modified_at,
            "created_at": now,
            "updated_at": now,
            "attempts": 0,
        }
        changed = {column: values[column] for column in _ORDER_CHANGES}
        conflict = ["shop", "order_id"]
        stmt: PgInsert | SqliteInsert | Update
        params: Mapping[str, Any] | None = values
        if expect_states is None:
            stmt = self.upsert(OrderLedger, conflict, lambda new: {c: new[c] for c in changed})
        else:
            if isinstance(expect_states, str):
                raise TypeError(f"expect_states: pass a collection, not {expect_states!r}")
            may_insert = None in expect_states
            current = _known(
                "order states", ORDER_STATES, (s for s in expect_states if s is not None)
            )
            guard = OrderLedger.state.in_(current)
            if may_insert and not current:
                stmt = self.insert_into(OrderLedger).on_conflict_do_nothing(index_elements=conflict)
            elif may_insert:
                stmt = self.upsert(
                    OrderLedger,
                    conflict,
                    lambda new: {c: new[c] for c in changed},
                    lambda _new: guard,
                )
            elif current:
                stmt = (
                    update(OrderLedger)
                    .where(OrderLedger.shop == shop, OrderLedger.order_id == order_id, guard)
                    .values(changed)
                )
                params = None
            else:
                return False
        with self.transaction() as conn:
            # RETURNING says whether a row was written on both dialects, where rowcount
            # of an upsert whose WHERE failed is not reliable everywhere.
            written = conn.execute(stmt.returning(OrderLedger.id), params).first()
            return written is not None

    def transition_order(
        self,
        shop: str,
        order_id: str,
        *,
        from_states: Collection[str],
        to_state: str,
        pos_document: str | None = None,
        pos_payment: str | None = None,
        last_error: str | None = None,
        count_attempt: bool = False,
        cursor: tuple[str, str] | None = None,
        claimed_by: str | None = None,
    ) -> bool:
        """Move the order to *to_state* if it is in one of *from_states*; one transaction.

        This compare-and-set is the exactly-once gate: of any number of runs trying the
        same move at once, one gets ``True``. ``pos_document``/``pos_payment`` are set when
        given and never erased; ``last_error`` is set when given, and cleared on reaching
        ``transferred``. ``cursor`` (name, value) is stored in the same transaction, and
        only if the move happened, so a cursor never passes an order that did not move.
        ``claimed_by`` moves the order only if that holder's claim is the one it carries
        (the run that claimed it with ``claim_order`` finishing its own transfer).
        """
        allowed = _known("order states", ORDER_STATES, from_states)
        _known("order state", ORDER_STATES, [to_state])
        if not allowed:
            return False
        now = utc_now()
        values: dict[str, Any] = {"state": to_state, "updated_at": now}
        if to_state == "transferred":
            values["transferred_at"] = now
        if pos_document is not None:
            values["pos_document"] = pos_document
        if pos_payment is not None:
            values["pos_payment"] = pos_payment
        if last_error is not None:
            values["last_error"] = last_error
        elif to_state == "transferred":
            values["last_error"] = None
        if count_attempt:
            values["attempts"] = OrderLedger.attempts + 1
        with self.transaction() as conn:
            result = conn.execute(
                update(OrderLedger)
                .where(
                    OrderLedger.shop == shop,
                    OrderLedger.order_id == order_id,
                    OrderLedger.state.in_(allowed),
                    *([OrderLedger.claimed_by == claimed_by] if claimed_by else []),
                )
                .values(values)
            )
            if result.rowcount != 1:
                return False
            if cursor is not None:
                self.set_cursor_in(conn, *cursor)
            return True

    def claim_order(self, shop: str, order_id: str, *, holder: str | None) -> bool:
        """Move the order to ``transferring`` for this run: from ``reserved``, or take over
        a ``transferring`` claim that is this holder's own (a task retry) or stale.

        A claim is stale when the run that made it no longer holds a live run slot: it
        finished, or it died and its lease ran out. A claim by a run that is still alive is
        never taken over, so two runs never both write (and count) the same order. *holder*
        is this run's slot holder (``HeldSlot.holder``); ``None`` makes a claim any other
        run may take over at once (a caller without a run slot). One compare-and-set.
        """
        now = utc_now()
        live = (
            select(RunSlot.holder)
            .where(RunSlot.holder == OrderLedger.claimed_by, RunSlot.expires_at > now)
            .exists()
        )
        # A NULL claim (made without a slot, or before claims had holders) is never live.
        stale_or_mine = or_(~live, OrderLedger.claimed_by == holder) if holder else ~live
        with self.transaction() as conn:
            result = conn.execute(
                update(OrderLedger)
                .where(
                    OrderLedger.shop == shop,
                    OrderLedger.order_id == order_id,
                    or_(
                        OrderLedger.state == "reserved",
                        and_(OrderLedger.state == "transferring", stale_or_mine),
                    ),
                )
                .values(state="transferring", claimed_by=holder, updated_at=now)
            )
            return result.rowcount == 1

    def note_order_error(self, shop: str, order_id: str, error: str) -> None:
        """Record why the order failed this time and count the attempt; its state stays.

        An order not in the ledger raises ``KeyError``.
        """
        with self.transaction() as conn:
            result = conn.execute(
                update(OrderLedger)
                .where(OrderLedger.shop == shop, OrderLedger.order_id == order_id)
                .values(last_error=error, attempts=OrderLedger.attempts + 1, updated_at=utc_now())
            )
            if result.rowcount == 0:
                raise KeyError(f"no order {order_id!r} of {shop!r} in the ledger")

    def reserved_quantities(self, shop: str) -> dict[str, int]:
        """Quantities per product key sold in the webshop but not yet taken off in the POS.

        Sellable stock = POS on-hand minus these; lines matched to no product are skipped.
        """
        reserved: dict[str, int] = {}
        with self.reading() as conn:
            stored = conn.execute(
                select(OrderLedger.lines).where(
                    OrderLedger.shop == shop, OrderLedger.state.in_(RESERVING_STATES)
                )
            ).scalars()
            for lines in stored:
                for line in _lines_from_json(lines):
                    if line.product_key:
                        reserved[line.product_key] = (
                            reserved.get(line.product_key, 0) + line.quantity
                        )
        return reserved

    # -- order events --------------------------------------------------------------------

    def _event_where(self, shop: str, order_id: str, event_key: str) -> list[ColumnElement[bool]]:
        return [
            OrderEventLog.shop == shop,
            OrderEventLog.order_id == order_id,
            OrderEventLog.event_key == event_key,
        ]

    def record_event(
        self,
        shop: str,
        order_id: str,
        event_key: str,
        *,
        kind: str,
        idempotency_key: str,
        lines: Sequence[OrderLine],
        amount: str | None,
    ) -> OrderEvent:
        """Record the event as pending, once: an event seen before comes back unchanged
        (with its original idempotency key), however often the webhook or scan repeats it."""
        _known("event kind", EVENT_KINDS, [kind])
        values = {
            "shop": shop,
            "order_id": order_id,
            "event_key": event_key,
            "kind": kind,
            "state": "pending",
            "idempotency_key": idempotency_key,
            "lines": _lines_json(lines),
            "amount": None if amount is None else _decimal_text(amount, "event amount"),
            "attempts": 0,
            "created_at": utc_now(),
        }
        stmt = self.insert_into(OrderEventLog).on_conflict_do_nothing(
            index_elements=["shop", "order_id", "event_key"]
        )
        with self.transaction() as conn:
            conn.execute(stmt, values)
            row = conn.execute(
                select(*OrderEventLog.__table__.columns).where(
                    *self._event_where(shop, order_id, event_key)
                )
            ).one()
            return _order_event(row)

    def complete_event(
        self, shop: str, order_id: str, event_key: str, pos_document: str | None
    ) -> bool:
        """Mark a pending event done (clearing its error); ``False`` if it already was.

        An event never recorded raises ``KeyError``.
        """
        values: dict[str, Any] = {"state": "done", "done_at": utc_now(), "last_error": None}
        if pos_document is not None:
            values["pos_document"] = pos_document
        where = self._event_where(shop, order_id, event_key)
        with self.transaction() as conn:
            result = conn.execute(
                update(OrderEventLog).where(*where, OrderEventLog.state == "pending").values(values)
            )
            if result.rowcount == 1:
                return True
            if conn.execute(select(OrderEventLog.id).where(*where)).first() is None:
                raise KeyError(f"no event {event_key!r} of order {order_id!r} of {shop!r}")
            return False

    def note_event_error(self, shop: str, order_id: str, event_key: str, error: str) -> None:
        """Record why applying the event failed and count the attempt; it stays pending.

        An event never recorded raises ``KeyError``.
        """
        with self.transaction() as conn:
            result = conn.execute(
                update(OrderEventLog)
                .where(*self._event_where(shop, order_id, event_key))
                .values(last_error=error, attempts=OrderEventLog.attempts + 1)
            )
            if result.rowcount == 0:
                raise KeyError(f"no event {event_key!r} of order {order_id!r} of {shop!r}")

    def events(
        self, shop: str, order_id: str | None = None, states: Collection[str] | None = None
    ) -> list[OrderEvent]:
        """The shop's events (optionally of one order, or in some states), oldest first."""
        query = select(*OrderEventLog.__table__.columns).where(OrderEventLog.shop == shop)
        if order_id is not None:
            query = query.where(OrderEventLog.order_id == order_id)
        if states is not None:
            wanted = _known("event states", EVENT_STATES, states)
            if not wanted:
                return []
            query = query.where(OrderEventLog.state.in_(wanted))
        with self.reading() as conn:
            rows = conn.execute(query.order_by(OrderEventLog.created_at, OrderEventLog.id))
            return [_order_event(row) for row in rows]

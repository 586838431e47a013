"""Square orders: CreateOrder with taxes, RetrieveOrder, BatchRetrieveOrders, SearchOrders.

CreateOrder prices line items from the catalog (or takes an ad hoc `base_price_money`) and
applies the order's `taxes`: catalog TAX objects by `catalog_object_id` or ad hoc ones by
`percentage`, ORDER-scoped (on every line) or LINE_ITEM-scoped (on the lines that list them in
`applied_taxes`), ADDITIVE or INCLUSIVE, computed as `square_taxes` describes. A payment for
the amount due (`square_payments`) completes the order and draws its stock (an IN_STOCK -> SOLD
adjustment per catalog line, as Square does when an order is paid); a refund adds a return
order. Bulk-seeded sales (`square_seed`) are read through the same code.

SearchOrders follows the spec: time ranges are inclusive at both ends; a date_time_filter's
field must be the sort field; sorting by CLOSED_AT needs a state_filter of closed states ("If
you use this value, you must also set a StateFilter with closed states"); 500 orders a page by
default, 1,000 at most. Everything runs under `SquareState.lock`, called from its methods.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from emulators.square_catalog_writes import check_percentage
from emulators.square_common import (
    JsonDict,
    SquareError,
    decode_cursor,
    encode_cursor,
    fingerprint,
    format_quantity,
    invalid,
    money,
    not_found,
    parse_quantity,
    parse_rfc3339_us,
    rfc3339,
)
from emulators.square_inventory import Count
from emulators.square_models import (
    BatchRetrieveOrdersRequest,
    CreateOrderRequest,
    CreatePaymentRequest,
    OrderLineItem,
    OrderLineItemTax,
    RefundPaymentRequest,
    SearchOrdersRequest,
)
from emulators.square_payments import PaymentDesk
from emulators.square_records import Line, OrderRecord, PaymentRecord, RefundRecord
from emulators.square_seed import SeededSales
from emulators.square_taxes import ADDITIVE, TaxDef, line_taxes

if TYPE_CHECKING:
    from emulators.square_state import SquareState

SEARCH_DEFAULT_LIMIT = 500  # SearchOrdersRequest.limit: "Default: 500 Max: 1000"
SEARCH_MAX_LIMIT = 1000
SEARCH_MAX_LOCATIONS = 10  # "Max: 10 location IDs."
BATCH_RETRIEVE_MAX = 100  # BatchRetrieveOrders: "A maximum of 100 orders ... per request."
CLOSED_STATES = frozenset({"COMPLETED", "CANCELED"})
# gross_sales_money: "For inclusive tax items in the US, Canada, and Japan, tax is deducted from
# gross_sales_money. For Europe and Australia, inclusive tax remains as part of the gross sale".
TAX_OUT_OF_GROSS_SALES = frozenset({"US", "CA", "JP"})
DEFAULT_SOURCE_NAME = "possync Square emulator"
_END_OF_TIME_US = 2**62

__all__ = ["DEFAULT_SOURCE_NAME", "Line", "OrderRecord", "PaymentRecord", "Sales"]


class Sales:
    """Orders, payments and refunds of one `SquareState`."""

    def __init__(self, state: SquareState) -> None:
        self.state = state
        self.orders: dict[str, OrderRecord] = {}
        self.seeded = SeededSales(state.location_id, state.currency)
        self.desk = PaymentDesk(self)

    @property
    def currency(self) -> str:
        return self.state.currency

    @property
    def payments(self) -> dict[str, PaymentRecord]:
        return self.desk.payments

    @property
    def refunds(self) -> dict[str, RefundRecord]:
        return self.desk.refunds

    def order(self, order_id: str) -> OrderRecord | None:
        """An order by id, seeded ones included."""
        found = self.orders.get(order_id)
        if found is None and (row := self.seeded.row_of_order(order_id)) is not None:
            found = self.seeded.order(row)
        return found

    # --- CreateOrder ---------------------------------------------------------------------------

    def create_order(self, req: CreateOrderRequest) -> JsonDict:
        order = req.order
        if order is None:
            raise invalid("Field must be set.", "order", code="MISSING_REQUIRED_PARAMETER")
        self.state.require_location(order.location_id, "order.location_id")
        if order.state not in (None, "OPEN", "DRAFT"):
            raise invalid("An order is created OPEN or DRAFT.", "order.state")
        taxes = self._taxes(order.taxes or [])
        items = order.line_items or []
        lines = [self._line(i, item) for i, item in enumerate(items)]
        uids = [line.uid for line in lines]
        if len(set(uids)) != len(uids):
            raise invalid("Line item uids must be unique.", "order.line_items")
        self._apply_taxes(lines, items, taxes)
        ms = self.state.clock.tick()
        record = OrderRecord(
            id=self.state.ids.next("ORDER"),
            location_id=order.location_id,
            source_name=order.source.name
            if order.source and order.source.name
            else DEFAULT_SOURCE_NAME,
            lines=lines,
            state=order.state or "OPEN",
            created_ms=ms,
            updated_ms=ms,
            reference_id=order.reference_id,
            customer_id=order.customer_id,
            metadata=order.metadata,
            ticket_name=order.ticket_name,
            taxes=tuple(taxes),
        )
        self.orders[record.id] = record
        return {"order": self.order_json(record)}

    def _taxes(self, specs: list[OrderLineItemTax]) -> list[TaxDef]:
        """The order's taxes, resolved: a catalog tax lends its percentage and inclusion type;
        an ad hoc tax needs a percentage and is ADDITIVE unless it says INCLUSIVE."""
        taxes = []
        for i, spec in enumerate(specs):
            where = f"order.taxes[{i}]"
            if spec.scope is None:
                raise SquareError(
                    400,
                    "BAD_REQUEST",
                    "This emulator needs each tax's scope (ORDER or LINE_ITEM).",
                    f"{where}.scope",
                )
            if spec.scope == "OTHER_TAX_SCOPE" or spec.type == "UNKNOWN_TAX":
                field = "scope" if spec.scope == "OTHER_TAX_SCOPE" else "type"
                raise invalid("That value is used for reporting only.", f"{where}.{field}")
            uid = spec.uid or self.state.ids.next("TAX_UID")
            if spec.catalog_object_id is not None:
                taxes.append(self._catalog_tax(spec, uid, where))
                continue
            if spec.percentage is None:
                raise invalid(
                    "Field must be set.", f"{where}.percentage", code="MISSING_REQUIRED_PARAMETER"
                )
            check_percentage(spec.percentage, f"{where}.percentage")
            taxes.append(
                TaxDef(uid, spec.percentage, spec.type or ADDITIVE, spec.scope, name=spec.name)
            )
        uids = [tax.uid for tax in taxes]
        if len(set(uids)) != len(uids):
            raise invalid("Tax uids must be unique.", "order.taxes")
        return taxes

    def _catalog_tax(self, spec: OrderLineItemTax, uid: str, where: str) -> TaxDef:
        assert spec.catalog_object_id is not None and spec.scope is not None
        tax = self.state.catalog.tax(spec.catalog_object_id)
        if tax is None:
            raise not_found(
                f"Tax with catalog object ID `{spec.catalog_object_id}` not found.",
                f"{where}.catalog_object_id",
            )
        if spec.percentage is not None or spec.type is not None:
            field = "percentage" if spec.percentage is not None else "type"
            raise SquareError(
                400,
                "BAD_REQUEST",
                "This emulator takes a catalog tax's percentage and type from the catalog.",
                f"{where}.{field}",
            )
        if tax.percentage is None:
            raise invalid("The catalog tax has no percentage.", f"{where}.catalog_object_id")
        return TaxDef(
            uid,
            tax.percentage,
            tax.inclusion_type or ADDITIVE,
            spec.scope,
            name=spec.name or tax.name,
            catalog_object_id=tax.id,
            catalog_version=tax.version,
        )

    def _line(self, index: int, item: OrderLineItem) -> Line:
        where = f"order.line_items[{index}]"
        quantity = parse_quantity(
            item.quantity, f"{where}.quantity", allow_zero=False, allow_negative=False
        )
        if item.item_type == "GIFT_CARD":
            raise SquareError(
                400, "BAD_REQUEST", "This emulator does not sell gift cards.", f"{where}.item_type"
            )
        uid = item.uid or self.state.ids.next("LINE_ITEM")
        if item.catalog_object_id is None:
            if not item.name:
                raise invalid("Field must be set.", f"{where}.name", "MISSING_REQUIRED_PARAMETER")
            price = self.desk.amount(
                item.base_price_money, f"{where}.base_price_money", positive=False
            )
            return Line(
                uid,
                item.name,
                quantity,
                item.item_type or "ITEM",
                price,
                _gross(price, quantity),
                note=item.note,
                metadata=item.metadata,
            )
        variation = self.state.catalog.variation(item.catalog_object_id)
        if variation is None:
            raise not_found(
                f"Item variation with catalog object ID `{item.catalog_object_id}` not found.",
                f"{where}.catalog_object_id",
            )
        price = variation.amount
        if item.base_price_money is not None:
            price = self.desk.amount(
                item.base_price_money, f"{where}.base_price_money", positive=False
            )
        return Line(
            uid=uid,
            name=self.state.catalog.item(variation.item_id).name,
            quantity=quantity,
            item_type="ITEM",
            base_price=price,
            gross=_gross(price, quantity),
            catalog_object_id=variation.id,
            catalog_version=variation.version,
            variation_name=variation.name,
            note=item.note,
            metadata=item.metadata,
        )

    def _apply_taxes(
        self, lines: list[Line], items: list[OrderLineItem], taxes: list[TaxDef]
    ) -> None:
        """Each line's applied taxes: those it lists, then every ORDER-scoped one ("Square
        generates references in applied_taxes on all order line items that do not have
        them"), with their amounts."""
        known = {tax.uid: tax for tax in taxes}
        refs: list[list[str]] = []
        applied_uids: list[list[str]] = []
        for i, item in enumerate(items):
            mine: list[str] = []
            uids: list[str] = []
            for j, applied in enumerate(item.applied_taxes or []):
                field = f"order.line_items[{i}].applied_taxes[{j}].tax_uid"
                if applied.tax_uid not in known:
                    raise invalid(f"No tax in order.taxes has uid `{applied.tax_uid}`.", field)
                if applied.tax_uid in mine:
                    raise invalid(f"Tax `{applied.tax_uid}` is applied twice.", field)
                mine.append(applied.tax_uid)
                uids.append(applied.uid or self.state.ids.next("APPLIED_TAX"))
            for tax in taxes:
                if tax.scope == "ORDER" and tax.uid not in mine:
                    mine.append(tax.uid)
                    uids.append(self.state.ids.next("APPLIED_TAX"))
            refs.append(mine)
            applied_uids.append(uids)
        amounts = line_taxes([line.gross for line in lines], refs, taxes)
        for line, tax_uids, uids, shares in zip(lines, refs, applied_uids, amounts, strict=True):
            line.applied = tuple(zip(uids, tax_uids, shares, strict=True))
            line.additive = sum(
                share
                for tax_uid, share in zip(tax_uids, shares, strict=True)
                if known[tax_uid].type == ADDITIVE
            )

    # --- rendering -------------------------------------------------------------------------------

    def _money(self, amount: int) -> JsonDict:
        return money(amount, self.currency)

    def order_json(self, order: OrderRecord) -> JsonDict:
        zero = self._money(0)
        total, tax = order.total, order.tax
        data: JsonDict = {
            "id": order.id,
            "location_id": order.location_id,
            "source": {"name": order.source_name},
        }
        if order.lines or not order.returns:
            data["line_items"] = [self._line_json(line) for line in order.lines]
        if order.taxes:
            data["taxes"] = [self._tax_json(order, t) for t in order.taxes]
        if order.returns:
            data["returns"] = order.returns
            data["return_amounts"] = self._amounts(order.returned, 0)
        data.update(
            {
                "net_amounts": self._amounts(total - order.returned, tax),
                "created_at": rfc3339(order.created_ms),
                "updated_at": rfc3339(order.updated_ms),
                "state": order.state,
                "version": order.version,
                "total_money": self._money(total),
                "total_tax_money": self._money(tax),
                "total_discount_money": zero,
                "total_tip_money": zero,
                "total_service_charge_money": zero,
                "net_amount_due_money": self._money(total - order.paid),
            }
        )
        optional = {
            "reference_id": order.reference_id,
            "customer_id": order.customer_id,
            "metadata": order.metadata,
            "ticket_name": order.ticket_name,
            "tenders": order.tenders or None,
            "refunds": order.refunds or None,
            "closed_at": rfc3339(order.closed_ms) if order.closed_ms else None,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data

    def _amounts(self, total: int, tax: int) -> JsonDict:
        zero = self._money(0)
        return {
            "total_money": self._money(total),
            "tax_money": self._money(tax),
            "discount_money": zero,
            "tip_money": zero,
            "service_charge_money": zero,
        }

    def _tax_json(self, order: OrderRecord, tax: TaxDef) -> JsonDict:
        applied = sum(a for line in order.lines for _, uid, a in line.applied if uid == tax.uid)
        data: JsonDict = {"uid": tax.uid}
        optional = {
            "catalog_object_id": tax.catalog_object_id,
            "catalog_version": tax.catalog_version,
            "name": tax.name,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        data.update(
            type=tax.type,
            percentage=tax.percentage,
            applied_money=self._money(applied),
            scope=tax.scope,
        )
        return data

    def _line_json(self, line: Line) -> JsonDict:
        zero = self._money(0)
        gross_sales = line.gross
        if self.state.country in TAX_OUT_OF_GROSS_SALES:
            gross_sales -= line.tax - line.additive
        data: JsonDict = {
            "uid": line.uid,
            "name": line.name,
            "quantity": format_quantity(line.quantity),
            "item_type": line.item_type,
            "base_price_money": self._money(line.base_price),
            "variation_total_price_money": self._money(line.gross),
            "gross_sales_money": self._money(gross_sales),
            "total_tax_money": self._money(line.tax),
            "total_discount_money": zero,
            "total_money": self._money(line.total),
            "total_service_charge_money": zero,
        }
        if line.applied:
            data["applied_taxes"] = [
                {"uid": uid, "tax_uid": tax_uid, "applied_money": self._money(amount)}
                for uid, tax_uid, amount in line.applied
            ]
        optional = {
            "catalog_object_id": line.catalog_object_id,
            "catalog_version": line.catalog_version,
            "variation_name": line.variation_name,
            "note": line.note,
            "metadata": line.metadata,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data

    # --- RetrieveOrder / BatchRetrieveOrders -----------------------------------------------------

    def retrieve_order(self, order_id: str) -> JsonDict:
        order = self.order(order_id)
        if order is None:
            raise not_found(f"Order `{order_id}` not found.")
        return {"order": self.order_json(order)}

    def batch_retrieve_orders(self, req: BatchRetrieveOrdersRequest) -> JsonDict:
        """Unknown ids are ignored ("instead of generating an error"), as are orders of
        another location when `location_id` is given."""
        if len(req.order_ids) > BATCH_RETRIEVE_MAX:
            raise invalid(
                f"At most {BATCH_RETRIEVE_MAX} order ids.", "order_ids", "ARRAY_LENGTH_TOO_LONG"
            )
        found = [
            order
            for order_id in dict.fromkeys(req.order_ids)
            if (order := self.order(order_id)) is not None
            and req.location_id in (None, order.location_id)
        ]
        return {"orders": [self.order_json(o) for o in found]} if found else {}

    # --- SearchOrders ------------------------------------------------------------------------

    def search_orders(self, req: SearchOrdersRequest) -> JsonDict:
        locations = req.location_ids or []
        if not locations:
            raise invalid("Field must be set.", "location_ids", code="MISSING_REQUIRED_PARAMETER")
        if len(locations) > SEARCH_MAX_LOCATIONS:
            raise invalid("At most 10 location IDs.", "location_ids", code="ARRAY_LENGTH_TOO_LONG")
        limit = req.limit if req.limit is not None else SEARCH_DEFAULT_LIMIT
        if not 1 <= limit <= SEARCH_MAX_LIMIT:
            code = "VALUE_TOO_LOW" if limit < 1 else "VALUE_TOO_HIGH"
            raise invalid("limit must be between 1 and 1000.", "limit", code=code)
        query = req.query
        sort = query.sort if query and query.sort else None
        sort_field = sort.sort_field if sort else "CREATED_AT"
        descending = (sort.sort_order if sort else None) != "ASC"
        window = self._time_window(req, sort_field)
        if sort_field == "CLOSED_AT":
            _require_closed_states(req)
        key = fingerprint(req.model_dump(exclude={"cursor", "limit"}, exclude_none=True))
        after = None if req.cursor is None else decode_cursor(req.cursor, "orders", key)
        if after is not None and (
            not isinstance(after, list)
            or len(after) != 2
            or not isinstance(after[0], int)
            or not isinstance(after[1], str)
        ):
            raise invalid("The pagination cursor is invalid.", "cursor", code="INVALID_CURSOR")
        mark = None if after is None else (after[0], after[1])
        page: list[tuple[int, str, OrderRecord | int]] = []
        more = False
        for found in self._candidates(req, sort_field, window, descending, mark):
            if len(page) == limit:
                more = True
                break
            page.append(found)
        orders = [o if isinstance(o, OrderRecord) else self.seeded.order(o) for _, _, o in page]
        body: JsonDict = {}
        if orders and req.return_entries:
            body["order_entries"] = [
                {"order_id": o.id, "version": o.version, "location_id": o.location_id}
                for o in orders
            ]
        elif orders:
            body["orders"] = [self.order_json(o) for o in orders]
        if more:
            body["cursor"] = encode_cursor("orders", [page[-1][0], page[-1][1]], key)
        return body

    def _candidates(
        self,
        req: SearchOrdersRequest,
        sort_field: str,
        window: tuple[int, int] | None,
        descending: bool,
        after: tuple[int, str] | None,
    ) -> Iterator[tuple[int, str, OrderRecord | int]]:
        """Matching orders in (timestamp, id) order (or its reverse) past the cursor: the
        stored ones sorted, merged with the seeded ones found by bisection."""

        def past(stamp: int, order_id: str) -> bool:
            if after is None:
                return True
            return (stamp, order_id) < after if descending else (stamp, order_id) > after

        stored: list[tuple[int, str, OrderRecord | int]] = []
        for order in self.orders.values():
            stamp = order.timestamp(sort_field)
            if stamp is not None and past(stamp, order.id) and _matches(order, req, stamp, window):
                stored.append((stamp, order.id, order))
        stored.sort(key=lambda t: (t[0], t[1]), reverse=descending)
        return heapq.merge(
            stored,
            self._seeded_candidates(req, window, descending, after),
            key=lambda t: (t[0], t[1]),
            reverse=descending,
        )

    def _seeded_candidates(
        self,
        req: SearchOrdersRequest,
        window: tuple[int, int] | None,
        descending: bool,
        after: tuple[int, str] | None,
    ) -> Iterator[tuple[int, str, OrderRecord | int]]:
        """Seeded sales are COMPLETED, at this state's location, with no customer."""
        if not len(self.seeded) or self.seeded.location_id not in (req.location_ids or []):
            return
        flt = req.query.filter if req.query else None
        if flt is not None:
            if flt.state_filter is not None and "COMPLETED" not in flt.state_filter.states:
                return
            if flt.customer_filter is not None and flt.customer_filter.customer_ids:
                return
        names = flt.source_filter.source_names if flt and flt.source_filter else None
        lo_us, hi_us = window if window is not None else (0, _END_OF_TIME_US)
        yield from self.seeded.rows(
            -(-lo_us // 1000),
            hi_us // 1000,
            descending=descending,
            after=after,
            sources=set(names) if names else None,
        )

    @staticmethod
    def _time_window(req: SearchOrdersRequest, sort_field: str) -> tuple[int, int] | None:
        """The date_time_filter range in µs (inclusive); its field must be the sort field."""
        flt = req.query.filter if req.query else None
        ranges = flt.date_time_filter if flt else None
        if ranges is None:
            return None
        chosen = {
            name: value
            for name, value in (
                ("CREATED_AT", ranges.created_at),
                ("UPDATED_AT", ranges.updated_at),
                ("CLOSED_AT", ranges.closed_at),
            )
            if value is not None
        }
        if len(chosen) > 1:
            raise SquareError(
                400, "BAD_REQUEST", "Filter on one time range at a time.", "query.filter"
            )
        if not chosen:
            return None
        ((name, time_range),) = chosen.items()
        if name != sort_field:
            raise SquareError(
                400,
                "BAD_REQUEST",
                f"Filtering on {name} needs sort_field {name}.",
                "query.sort.sort_field",
            )
        where = f"query.filter.date_time_filter.{name.lower()}"
        start = (
            parse_rfc3339_us(time_range.start_at, f"{where}.start_at") if time_range.start_at else 0
        )
        end = (
            parse_rfc3339_us(time_range.end_at, f"{where}.end_at")
            if time_range.end_at
            else _END_OF_TIME_US
        )
        return start, end

    # --- paying, completing and returning --------------------------------------------------------

    def payable_order(
        self, order_id: str | None, amount: int, location_id: str
    ) -> OrderRecord | None:
        if order_id is None:
            return None
        order = self.order(order_id)
        if order is None:
            raise not_found(f"Order `{order_id}` not found.", "order_id")
        if order.state != "OPEN":
            raise invalid(f"Order `{order_id}` is {order.state}, not OPEN.", "order_id")
        if order.location_id != location_id:
            raise invalid("The payment's location is not the order's.", "location_id")
        due = order.total - order.paid
        if amount != due:
            raise SquareError(
                400,
                "PAYMENT_AMOUNT_MISMATCH",
                f"The payment amount {amount} does not match the amount due {due}.",
                "amount_money",
            )
        return order

    def complete(self, order: OrderRecord, tender: JsonDict, amount: int, ms: int) -> None:
        """A fully paid order is COMPLETED and its catalog lines leave IN_STOCK as SOLD."""
        order.paid += amount
        order.tenders.append(tender)
        order.state = "COMPLETED"
        order.closed_ms = ms
        order.stamp(ms)
        touched: list[Count] = []
        for line in order.lines:
            if line.catalog_object_id is None:
                continue
            touched.extend(
                self.state.inventory.adjustment(
                    line.catalog_object_id,
                    order.location_id,
                    "IN_STOCK",
                    "SOLD",
                    line.quantity,
                    ms * 1000,
                )
            )
        self.state.inventory.stamp(touched, ms)

    def return_order(
        self, sale: OrderRecord, refund: JsonDict, reason: str | None, ms: int
    ) -> OrderRecord:
        """The return order of a custom refund: one CUSTOM_AMOUNT return line for the amount,
        no tax of its own ("For custom refunds, the returns field has the item_type set to
        CUSTOM_AMOUNT and no other catalog item information")."""
        amount = int(refund["amount_money"]["amount"])
        order_id = self.state.ids.next("ORDER")
        line = {
            "uid": self.state.ids.next("RETURN_LINE_ITEM"),
            "quantity": "1",
            "item_type": "CUSTOM_AMOUNT",
            "base_price_money": self._money(amount),
            "variation_total_price_money": self._money(amount),
            "gross_return_money": self._money(amount),
            "total_tax_money": self._money(0),
            "total_discount_money": self._money(0),
            "total_money": self._money(amount),
        }
        record = OrderRecord(
            id=order_id,
            location_id=sale.location_id,
            source_name=DEFAULT_SOURCE_NAME,
            lines=[],
            state="COMPLETED",
            created_ms=ms,
            updated_ms=ms,
            closed_ms=ms,
            returns=[
                {
                    "uid": self.state.ids.next("RETURN"),
                    "source_order_id": sale.id,
                    "return_line_items": [line],
                    "return_amounts": self._amounts(amount, 0),
                }
            ],
            returned=amount,
        )
        record.refunds.append(
            {
                "id": refund["id"],
                "location_id": sale.location_id,
                "transaction_id": order_id,
                "tender_id": refund["payment_id"],
                "created_at": refund["created_at"],
                "reason": reason or "",
                "amount_money": dict(refund["amount_money"]),
                "status": "APPROVED",
            }
        )
        self.orders[record.id] = record
        return record

    # --- payments and refunds (see square_payments) ----------------------------------------------

    def create_payment(self, req: CreatePaymentRequest) -> JsonDict:
        return self.desk.create_payment(req)

    def retrieve_payment(self, payment_id: str) -> JsonDict:
        return self.desk.retrieve_payment(payment_id)

    def refund_payment(self, req: RefundPaymentRequest, ms: int | None = None) -> JsonDict:
        return self.desk.refund_payment(req, ms)

    def get_refund(self, refund_id: str) -> JsonDict:
        return self.desk.get_refund(refund_id)


def _gross(price: int, quantity: Decimal) -> int:
    return int((price * quantity).quantize(Decimal(1), ROUND_HALF_UP))


def _require_closed_states(req: SearchOrdersRequest) -> None:
    flt = req.query.filter if req.query else None
    states = flt.state_filter.states if flt and flt.state_filter else []
    if not states or not set(states) <= CLOSED_STATES:
        raise SquareError(
            400,
            "BAD_REQUEST",
            "Sorting by CLOSED_AT needs a state_filter of closed states (COMPLETED, CANCELED).",
            "query.filter.state_filter",
        )


def _matches(
    order: OrderRecord, req: SearchOrdersRequest, stamp: int, window: tuple[int, int] | None
) -> bool:
    if order.location_id not in (req.location_ids or []):
        return False
    if window is not None and not window[0] <= stamp * 1000 <= window[1]:
        return False
    flt = req.query.filter if req.query else None
    if flt is None:
        return True
    if flt.state_filter is not None and order.state not in flt.state_filter.states:
        return False
    names = flt.source_filter.source_names if flt.source_filter else None
    if names and order.source_name not in names:
        return False
    customers = flt.customer_filter.customer_ids if flt.customer_filter else None
    return not customers or order.customer_id in customers

"""Square orders, EXTERNAL payments and payment refunds, as a web shop's sales reach the POS.

CreateOrder prices line items from the catalog; CreatePayment with `source_id: "EXTERNAL"` for
the full amount due completes the order and draws its stock (an IN_STOCK -> SOLD adjustment
per catalog line, as Square does when an order is paid); RefundPayment gives money back and,
like Square's payment refunds, returns no stock (that takes an itemized return). Everything
runs under `SquareState.lock`, called from its methods.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from possync.emulators.square_common import (
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
from possync.emulators.square_inventory import Count
from possync.emulators.square_models import (
    CreateOrderRequest,
    CreatePaymentRequest,
    Money,
    OrderLineItem,
    RefundPaymentRequest,
    SearchOrdersRequest,
)

if TYPE_CHECKING:
    from possync.emulators.square_state import SquareState

SEARCH_DEFAULT_LIMIT = 500  # SearchOrdersRequest.limit: "Default: 500 Max: 1000"
SEARCH_MAX_LIMIT = 1000
SEARCH_MAX_LOCATIONS = 10  # "Max: 10 location IDs."
# ExternalPaymentDetails.type, as the spec lists them.
EXTERNAL_TYPES = frozenset(
    {
        "CHECK",
        "BANK_TRANSFER",
        "OTHER_GIFT_CARD",
        "CRYPTO",
        "SQUARE_CASH",
        "SOCIAL",
        "EXTERNAL",
        "EMONEY",
        "CARD",
        "STORED_BALANCE",
        "FOOD_VOUCHER",
        "OTHER",
    }
)
DEFAULT_SOURCE_NAME = "possync Square emulator"


@dataclass
class Line:
    uid: str
    name: str
    quantity: Decimal
    item_type: str
    base_price: int
    catalog_object_id: str | None = None
    catalog_version: int | None = None
    variation_name: str | None = None
    note: str | None = None
    metadata: dict[str, str] | None = None

    @property
    def total(self) -> int:
        return int((self.base_price * self.quantity).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass
class OrderRecord:
    id: str
    location_id: str
    source_name: str
    lines: list[Line]
    state: str
    created_ms: int
    reference_id: str | None = None
    customer_id: str | None = None
    metadata: dict[str, str] | None = None
    ticket_name: str | None = None
    version: int = 1
    updated_ms: int = 0
    closed_ms: int | None = None
    paid: int = 0
    tenders: list[JsonDict] = field(default_factory=list)
    refunds: list[JsonDict] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    def stamp(self, ms: int) -> None:
        self.version += 1
        self.updated_ms = ms

    def timestamp(self, sort_field: str) -> int | None:
        return {"CREATED_AT": self.created_ms, "UPDATED_AT": self.updated_ms}.get(
            sort_field, self.closed_ms
        )


@dataclass
class PaymentRecord:
    data: JsonDict
    total: int
    refunded: int = 0


class Sales:
    """Orders, payments and refunds of one `SquareState`."""

    def __init__(self, state: SquareState) -> None:
        self._state = state
        self.orders: dict[str, OrderRecord] = {}
        self.payments: dict[str, PaymentRecord] = {}
        self.refunds: dict[str, JsonDict] = {}

    # --- money -----------------------------------------------------------------------------

    def _money(self, amount: int) -> JsonDict:
        return money(amount, self._state.currency)

    def _amount(self, value: Money | None, field: str, *, positive: bool) -> int:
        """A request Money's amount, in this seller's currency."""
        if value is None or value.amount is None:
            raise invalid("Field must be set.", field, code="MISSING_REQUIRED_PARAMETER")
        if value.currency != self._state.currency:
            raise invalid(
                f"Currency `{value.currency}` does not match the location's "
                f"`{self._state.currency}`.",
                f"{field}.currency",
            )
        if value.amount < (1 if positive else 0):
            raise invalid("Amount is too low.", f"{field}.amount", code="VALUE_TOO_LOW")
        return value.amount

    # --- CreateOrder ---------------------------------------------------------------------------

    def create_order(self, req: CreateOrderRequest) -> JsonDict:
        order = req.order
        if order is None:
            raise invalid("Field must be set.", "order", code="MISSING_REQUIRED_PARAMETER")
        self._state.require_location(order.location_id, "order.location_id")
        if order.state not in (None, "OPEN", "DRAFT"):
            raise invalid("An order is created OPEN or DRAFT.", "order.state")
        lines = [self._line(i, item) for i, item in enumerate(order.line_items or [])]
        uids = [line.uid for line in lines]
        if len(set(uids)) != len(uids):
            raise invalid("Line item uids must be unique.", "order.line_items")
        ms = self._state.clock.tick()
        record = OrderRecord(
            id=self._state.ids.next("ORDER"),
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
        )
        self.orders[record.id] = record
        return {"order": self.order_json(record)}

    def _line(self, index: int, item: OrderLineItem) -> Line:
        where = f"order.line_items[{index}]"
        quantity = parse_quantity(
            item.quantity, f"{where}.quantity", allow_zero=False, allow_negative=False
        )
        if item.item_type == "GIFT_CARD":
            raise SquareError(
                400, "BAD_REQUEST", "This emulator does not sell gift cards.", f"{where}.item_type"
            )
        uid = item.uid or self._state.ids.next("LINE_ITEM")
        if item.catalog_object_id is None:
            if not item.name:
                raise invalid("Field must be set.", f"{where}.name", "MISSING_REQUIRED_PARAMETER")
            price = self._amount(item.base_price_money, f"{where}.base_price_money", positive=False)
            return Line(
                uid,
                item.name,
                quantity,
                item.item_type or "ITEM",
                price,
                note=item.note,
                metadata=item.metadata,
            )
        variation = self._state.catalog.variation(item.catalog_object_id)
        if variation is None:
            raise not_found(
                f"Item variation with catalog object ID `{item.catalog_object_id}` not found.",
                f"{where}.catalog_object_id",
            )
        price = variation.amount
        if item.base_price_money is not None:
            price = self._amount(item.base_price_money, f"{where}.base_price_money", positive=False)
        return Line(
            uid=uid,
            name=self._state.catalog.item(variation.item_id).name,
            quantity=quantity,
            item_type="ITEM",
            base_price=price,
            catalog_object_id=variation.id,
            catalog_version=variation.version,
            variation_name=variation.name,
            note=item.note,
            metadata=item.metadata,
        )

    # --- rendering -------------------------------------------------------------------------------

    def order_json(self, order: OrderRecord) -> JsonDict:
        zero = self._money(0)
        total = self._money(order.total)
        data: JsonDict = {
            "id": order.id,
            "location_id": order.location_id,
            "source": {"name": order.source_name},
            "line_items": [self._line_json(line) for line in order.lines],
            "net_amounts": {
                "total_money": total,
                "tax_money": zero,
                "discount_money": zero,
                "tip_money": zero,
                "service_charge_money": zero,
            },
            "created_at": rfc3339(order.created_ms),
            "updated_at": rfc3339(order.updated_ms),
            "state": order.state,
            "version": order.version,
            "total_money": total,
            "total_tax_money": zero,
            "total_discount_money": zero,
            "total_tip_money": zero,
            "total_service_charge_money": zero,
            "net_amount_due_money": self._money(order.total - order.paid),
        }
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

    def _line_json(self, line: Line) -> JsonDict:
        zero = self._money(0)
        total = self._money(line.total)
        data: JsonDict = {
            "uid": line.uid,
            "name": line.name,
            "quantity": format_quantity(line.quantity),
            "item_type": line.item_type,
            "base_price_money": self._money(line.base_price),
            "variation_total_price_money": total,
            "gross_sales_money": total,
            "total_tax_money": zero,
            "total_discount_money": zero,
            "total_money": total,
            "total_service_charge_money": zero,
        }
        optional = {
            "catalog_object_id": line.catalog_object_id,
            "catalog_version": line.catalog_version,
            "variation_name": line.variation_name,
            "note": line.note,
            "metadata": line.metadata,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data

    # --- RetrieveOrder / SearchOrders -----------------------------------------------------------

    def retrieve_order(self, order_id: str) -> JsonDict:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found(f"Order `{order_id}` not found.")
        return {"order": self.order_json(order)}

    def retrieve_payment(self, payment_id: str) -> JsonDict:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise not_found(f"Payment `{payment_id}` not found.")
        return {"payment": copy.deepcopy(payment.data)}

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
        key = fingerprint(req.model_dump(exclude={"cursor", "limit"}, exclude_none=True))
        after = None if req.cursor is None else decode_cursor(req.cursor, "orders", key)

        def sort_key(order: OrderRecord) -> tuple[int, str]:
            stamp = order.timestamp(sort_field)
            assert stamp is not None
            return (-stamp, order.id) if descending else (stamp, order.id)

        found = sorted(
            (o for o in self.orders.values() if self._matches(o, req, sort_field, window)),
            key=sort_key,
        )
        if after is not None:
            if not isinstance(after, list) or len(after) != 2:
                raise invalid("The pagination cursor is invalid.", "cursor", code="INVALID_CURSOR")
            found = [o for o in found if sort_key(o) > (after[0], after[1])]
        page = found[:limit]
        body: JsonDict = {}
        if page and req.return_entries:
            body["order_entries"] = [
                {"order_id": o.id, "version": o.version, "location_id": o.location_id} for o in page
            ]
        elif page:
            body["orders"] = [self.order_json(o) for o in page]
        if len(found) > limit:
            body["cursor"] = encode_cursor("orders", list(sort_key(page[-1])), key)
        return body

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
        end = parse_rfc3339_us(time_range.end_at, f"{where}.end_at") if time_range.end_at else 2**62
        return start, end

    @staticmethod
    def _matches(
        order: OrderRecord,
        req: SearchOrdersRequest,
        sort_field: str,
        window: tuple[int, int] | None,
    ) -> bool:
        if order.location_id not in (req.location_ids or []):
            return False
        stamp = order.timestamp(sort_field)
        if stamp is None:
            return False  # sorting or filtering by CLOSED_AT leaves out open orders
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

    # --- CreatePayment -----------------------------------------------------------------------

    def create_payment(self, req: CreatePaymentRequest) -> JsonDict:
        if req.source_id != "EXTERNAL":
            raise SquareError(
                400,
                "BAD_REQUEST",
                "This emulator records EXTERNAL payments only (source_id `EXTERNAL`).",
                "source_id",
            )
        details = req.external_details
        if details is None:
            raise invalid(
                "Field must be set.", "external_details", code="MISSING_REQUIRED_PARAMETER"
            )
        if details.type not in EXTERNAL_TYPES:
            raise invalid(
                f"Unknown external payment type `{details.type}`.", "external_details.type"
            )
        if req.autocomplete is False:
            raise SquareError(
                400, "BAD_REQUEST", "This emulator completes payments at once.", "autocomplete"
            )
        amount = self._amount(req.amount_money, "amount_money", positive=True)
        location_id = req.location_id or self._state.location_id
        self._state.require_location(location_id, "location_id")
        order = self._payable_order(req.order_id, amount, location_id)
        ms = self._state.clock.tick()
        payment_id = self._state.ids.next("PAYMENT")
        data: JsonDict = {
            "id": payment_id,
            "created_at": rfc3339(ms),
            "updated_at": rfc3339(ms),
            "amount_money": self._money(amount),
            "total_money": self._money(amount),
            "approved_money": self._money(amount),
            "status": "COMPLETED",
            "source_type": "EXTERNAL",
            "external_details": details.model_dump(exclude_none=True),
            "location_id": location_id,
            "application_details": {"square_product": "ECOMMERCE_API"},
            "version_token": fingerprint([payment_id, ms]),
        }
        optional = {
            "order_id": req.order_id,
            "reference_id": req.reference_id,
            "customer_id": req.customer_id,
            "team_member_id": req.team_member_id,
            "buyer_email_address": req.buyer_email_address,
            "note": req.note,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        self.payments[payment_id] = PaymentRecord(data, amount)
        if order is not None:
            self._complete(order, payment_id, amount, ms)
        return {"payment": copy.deepcopy(data)}  # later refunds update the stored one

    def _payable_order(
        self, order_id: str | None, amount: int, location_id: str
    ) -> OrderRecord | None:
        if order_id is None:
            return None
        order = self.orders.get(order_id)
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

    def _complete(self, order: OrderRecord, payment_id: str, amount: int, ms: int) -> None:
        """A fully paid order is COMPLETED and its catalog lines leave IN_STOCK as SOLD."""
        order.paid += amount
        order.tenders.append(
            {
                "id": payment_id,
                "location_id": order.location_id,
                "transaction_id": order.id,
                "created_at": rfc3339(ms),
                "amount_money": self._money(amount),
                "type": "OTHER",
                "payment_id": payment_id,
            }
        )
        order.state = "COMPLETED"
        order.closed_ms = ms
        order.stamp(ms)
        touched: list[Count] = []
        for line in order.lines:
            if line.catalog_object_id is None:
                continue
            touched.extend(
                self._state.inventory.adjustment(
                    line.catalog_object_id,
                    order.location_id,
                    "IN_STOCK",
                    "SOLD",
                    line.quantity,
                    ms * 1000,
                )
            )
        self._state.inventory.stamp(touched, ms)

    # --- RefundPayment / GetPaymentRefund ---------------------------------------------------------

    def refund_payment(self, req: RefundPaymentRequest) -> JsonDict:
        if req.unlinked:
            raise SquareError(
                400, "BAD_REQUEST", "This emulator does not do unlinked refunds.", "unlinked"
            )
        if req.payment_id is None:
            raise invalid("Field must be set.", "payment_id", code="MISSING_REQUIRED_PARAMETER")
        payment = self.payments.get(req.payment_id)
        if payment is None:
            raise not_found(f"Payment `{req.payment_id}` not found.", "payment_id")
        amount = self._amount(req.amount_money, "amount_money", positive=True)
        if amount > payment.total - payment.refunded:
            raise SquareError(
                400,
                "REFUND_AMOUNT_INVALID",
                f"The refund amount {amount} exceeds the {payment.total - payment.refunded} "
                "left to refund.",
                "amount_money.amount",
            )
        ms = self._state.clock.tick()
        refund_id = self._state.ids.next("REFUND")
        order_id = payment.data.get("order_id")
        refund: JsonDict = {
            "id": refund_id,
            "status": "COMPLETED",
            "location_id": payment.data["location_id"],
            "unlinked": False,
            "destination_type": "EXTERNAL",
            "amount_money": self._money(amount),
            "payment_id": req.payment_id,
            "created_at": rfc3339(ms),
            "updated_at": rfc3339(ms),
        }
        optional = {
            "order_id": order_id,
            "reason": req.reason,
            "team_member_id": req.team_member_id,
        }
        refund.update({k: v for k, v in optional.items() if v is not None})
        self.refunds[refund_id] = refund
        payment.refunded += amount
        payment.data["refund_ids"] = [*payment.data.get("refund_ids", []), refund_id]
        payment.data["refunded_money"] = self._money(payment.refunded)
        payment.data["updated_at"] = rfc3339(ms)
        payment.data["version_token"] = fingerprint([req.payment_id, ms])
        if order_id in self.orders:
            self._record_refund_on_order(self.orders[order_id], refund, ms)
        return {"refund": dict(refund)}

    def _record_refund_on_order(self, order: OrderRecord, refund: JsonDict, ms: int) -> None:
        order.refunds.append(
            {
                "id": refund["id"],
                "location_id": order.location_id,
                "transaction_id": order.id,
                "tender_id": refund["payment_id"],
                "created_at": refund["created_at"],
                "reason": refund.get("reason", ""),
                "amount_money": refund["amount_money"],
                "status": "APPROVED",
            }
        )
        order.stamp(ms)

    def get_refund(self, refund_id: str) -> JsonDict:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise not_found(f"Refund `{refund_id}` not found.")
        return {"refund": dict(refund)}

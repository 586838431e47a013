"""Square's completed sales and refunds over a time range: the daily turnover's source.

`SquarePos` delegates its `SalesJournal` methods here, sharing its ApiClient. What Square's
Connect API (2025-08-20) says, and what is read from it:

- Sales are COMPLETED orders found by SearchOrders with a `closed_at` range, which needs
  `sort_field` CLOSED_AT and a closed-states `state_filter`. Square's range is inclusive at both
  ends, so the journal's half-open [start, end) is asked as [start, end] and an order closed
  exactly at `end` is dropped here. 1,000 orders a page (the maximum).
- A line item's `total_money` already holds its discounts and its additive taxes;
  `total_tax_money` is all of its tax (inclusive and additive). So a line is
  net = total_money - total_tax_money and vat = total_tax_money, at the rate of its
  `applied_taxes`: their percentages summed (Square applies each tax to the same pre-tax base,
  never tax on tax, so stacked taxes add up), 0 for a line without tax. Service charges that
  are lines of their own (not APPORTIONED_TREATMENT, which Square already spreads into the
  lines) and a cash `rounding_adjustment` become lines too, so the lines add up to what the
  tenders took in.
- Tenders: CASH is cash, CARD is card, every other TenderType (OTHER for external payments,
  gift cards, wallets...) is other. A tender's `amount_money` includes its `tip_money` and is
  what paid the order (cash change is apart, in `change_back_money`), so the amount is
  amount_money - tip_money: tips are not turnover.
- Orders without line items are return orders (a refund's), not sales, and are skipped.
- A sale possync booked for a web order carries the source name `possync · <webshop>`
  (`models.web_sale_source`); it is read as `web`, so the turnover can leave it out (the
  webshop's revenue reaches the books from the webshop) or take it in. A refund is a web
  refund when the sale it refunds is.
- Amounts are minor units of the order's (or refund's) currency, made decimal with its
  ISO 4217 decimals (`possync.domain.money`: JPY 0, DKK 2, KWD 3).
- Refunds come from ListPaymentRefunds (`location_id`, `status` COMPLETED, `begin_time`,
  `end_time`, sorted ASC, where Square's begin_time is inclusive and end_time exclusive; 100 a
  page). A refund's `order_id` is the return order Square made for it ("This isn't the same
  Order object that was created for the initial Payment"); its `returns[].source_order_id` is
  the sale. The return orders of a page are fetched in one BatchRetrieveOrders call. An
  itemized return gives the refund's lines per VAT rate; a custom-amount refund (what the
  Refunds API makes) has none, and the turnover spreads it over the sale's rates. The tender is
  the refund's `destination_type` (where the money went back).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from possync.domain.models import is_web_sale_source, utc_iso
from possync.domain.money import from_minor
from possync.domain.turnover import PosRefund, PosSale, TaxedAmount, Tender, TenderKind
from possync.vendors.http import ApiClient

SEARCH_LIMIT = 1000  # SearchOrdersRequest.limit: "Max: 1000"
REFUNDS_LIMIT = 100  # ListPaymentRefunds: "The maximum results per page is 100."
ORDERS_PER_BATCH = 100  # BatchRetrieveOrders: "A maximum of 100 orders ... per request."
_TENDER_KINDS: dict[str, TenderKind] = {"CASH": "cash", "CARD": "card"}

__all__ = ["SquareSales", "refund_from", "sale_from"]


class SquareSales:
    """Reads one location's sales and refunds; SquarePos is one."""

    _api: ApiClient
    _location_id: str

    def __init__(self, api: ApiClient, location_id: str) -> None:
        self._api = api
        self._location_id = location_id

    def sales_between(self, start: datetime, end: datetime) -> Iterator[list[PosSale]]:
        """Pages of sales closed in [start, end), oldest first."""
        _check_range(start, end)
        body: dict[str, Any] = {
            "location_ids": [self._location_id],
            "query": {
                "filter": {
                    "state_filter": {"states": ["COMPLETED"]},
                    "date_time_filter": {
                        "closed_at": {"start_at": utc_iso(start), "end_at": utc_iso(end)}
                    },
                },
                "sort": {"sort_field": "CLOSED_AT", "sort_order": "ASC"},
            },
            "limit": SEARCH_LIMIT,
        }
        while True:
            page = self._api.post("/v2/orders/search", json=body, safe_to_repeat=True).json()
            sales = [
                sale
                for order in page.get("orders") or []
                if (sale := sale_from(order)) is not None and start <= sale.closed_at < end
            ]
            if sales:
                yield sales
            if not page.get("cursor"):
                return
            body = {**body, "cursor": page["cursor"]}

    def refunds_between(self, start: datetime, end: datetime) -> Iterator[list[PosRefund]]:
        """Pages of completed refunds created in [start, end), oldest first."""
        _check_range(start, end)
        params: dict[str, Any] = {
            "begin_time": utc_iso(start),
            "end_time": utc_iso(end),
            "sort_order": "ASC",
            "location_id": self._location_id,
            "status": "COMPLETED",
            "limit": REFUNDS_LIMIT,
        }
        while True:
            page = self._api.get("/v2/refunds", params=params).json()
            found = [
                r
                for r in page.get("refunds") or []
                if r.get("status") == "COMPLETED"
                and start <= _parse_time(r.get("created_at")) < end
                and int((r.get("amount_money") or {}).get("amount") or 0) > 0
            ]
            if found:
                orders = self._orders([str(r["order_id"]) for r in found if r.get("order_id")])
                yield [
                    refund_from(r, orders.get(str(r.get("order_id"))) or self._sale_of(r))
                    for r in found
                ]
            if not page.get("cursor"):
                return
            params = {**params, "cursor": page["cursor"]}

    def sales(self, sale_ids: Sequence[str]) -> list[PosSale]:
        """These sales (unknown ids, other locations' orders and return orders left out)."""
        orders = self._orders(sale_ids)
        return [
            sale
            for sale_id in dict.fromkeys(sale_ids)
            if (order := orders.get(sale_id)) is not None and (sale := sale_from(order))
        ]

    def _orders(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """BatchRetrieveOrders, 100 ids a call (a read, safe to repeat)."""
        ids = list(dict.fromkeys(order_ids))
        found: dict[str, dict[str, Any]] = {}
        for first in range(0, len(ids), ORDERS_PER_BATCH):
            body = {
                "location_id": self._location_id,
                "order_ids": ids[first : first + ORDERS_PER_BATCH],
            }
            response = self._api.post("/v2/orders/batch-retrieve", json=body, safe_to_repeat=True)
            for order in response.json().get("orders") or []:
                found[str(order["id"])] = order
        return found

    def _sale_of(self, refund: Mapping[str, Any]) -> dict[str, Any] | None:
        """A refund without an order: its sale is the order of the payment it refunds."""
        payment_id = refund.get("payment_id")
        if not payment_id:
            return None
        payment = self._api.get(f"/v2/payments/{payment_id}").json().get("payment") or {}
        order_id = payment.get("order_id")
        return {"id": str(order_id)} if order_id else None


def sale_from(order: Mapping[str, Any]) -> PosSale | None:
    """A completed order as a sale; None for an order that sold nothing (a return order)."""
    items = order.get("line_items") or []
    if not items or order.get("state") != "COMPLETED":
        return None
    currency = _currency(order)
    rates = _rates(order.get("taxes") or [])
    lines = [_taxed(item, rates, currency) for item in items]
    lines += [
        _taxed(charge, rates, currency)
        for charge in order.get("service_charges") or []
        if charge.get("treatment_type") != "APPORTIONED_TREATMENT"
    ]
    rounding = _minor((order.get("rounding_adjustment") or {}).get("amount_money"))
    if rounding:
        net = from_minor(rounding, currency)
        lines.append(TaxedAmount(vat_rate=Decimal(0), net=net, vat=Decimal(0)))
    tenders = [
        Tender(
            kind=_TENDER_KINDS.get(str(t.get("type")), "other"), amount=from_minor(paid, currency)
        )
        for t in order.get("tenders") or []
        if (paid := _minor(t.get("amount_money")) - _minor(t.get("tip_money")))
    ]
    return PosSale(
        sale_id=str(order["id"]),
        closed_at=_parse_time(order.get("closed_at")),
        currency=currency,
        lines=tuple(lines),
        tenders=tuple(tenders),
        web=is_web_sale_source((order.get("source") or {}).get("name")),
    )


def refund_from(refund: Mapping[str, Any], order: Mapping[str, Any] | None) -> PosRefund:
    """A PaymentRefund as a refund of its sale. `order` is the refund's order: a return order
    (whose return names the sale and may itemize what came back), or the sale itself."""
    returns = (order or {}).get("returns") or []
    sale_id = next((str(r["source_order_id"]) for r in returns if r.get("source_order_id")), None)
    if not returns and order is not None and order.get("id"):
        sale_id = str(order["id"])  # no return order: the refund names the sale itself
    amount = refund.get("amount_money") or {}
    currency = str(amount.get("currency") or "")
    lines: list[TaxedAmount] = []
    for back in returns:
        rates = _rates(back.get("return_taxes") or [])
        lines += [
            _taxed(item, rates, currency)
            for item in back.get("return_line_items") or []
            if item.get("item_type") != "CUSTOM_AMOUNT"
        ]
    return PosRefund(
        refund_id=str(refund["id"]),
        sale_id=sale_id,
        created_at=_parse_time(refund.get("created_at")),
        currency=currency,
        amount=from_minor(_minor(amount), currency),
        tender=_TENDER_KINDS.get(str(refund.get("destination_type")), "other"),
        lines=tuple(lines),
    )


def _taxed(item: Mapping[str, Any], rates: Mapping[str, Decimal], currency: str) -> TaxedAmount:
    """A line (or service charge, or returned line): its total less its tax, at the summed
    rate of the taxes applied to it."""
    total, tax = _minor(item.get("total_money")), _minor(item.get("total_tax_money"))
    rate = sum(
        (rates.get(str(a.get("tax_uid")), Decimal(0)) for a in item.get("applied_taxes") or []),
        Decimal(0),
    )
    return TaxedAmount(
        vat_rate=_plain(rate),
        net=from_minor(total - tax, currency),
        vat=from_minor(tax, currency),
    )


def _rates(taxes: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    return {str(t.get("uid")): Decimal(str(t.get("percentage") or "0")) for t in taxes}


def _plain(rate: Decimal) -> Decimal:
    """25.0 -> 25, 12.50 -> 12.5 (never 2.5E+1)."""
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize()


def _minor(money: Mapping[str, Any] | None) -> int:
    return int((money or {}).get("amount") or 0)


def _currency(order: Mapping[str, Any]) -> str:
    for key in ("total_money", "net_amount_due_money"):
        currency = (order.get(key) or {}).get("currency")
        if currency:
            return str(currency)
    return ""


def _parse_time(value: object) -> datetime:
    if not value:
        raise ValueError("Square sent a sale or refund without its time")
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("sales and refunds are read between aware datetimes")
    if end <= start:
        raise ValueError(f"an empty range: {start} to {end}")

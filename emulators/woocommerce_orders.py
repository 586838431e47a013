"""Orders and refunds of the WooCommerce emulator, with WooCommerce's stock side effects.

What a POS sync depends on, copied from WooCommerce core: an order moving to processing,
completed or on-hold reduces managed stock once (wc_maybe_reduce_stock_levels) and
remembers how much per line (`_reduced_stock`); moving to cancelled or pending puts that
back (wc_maybe_increase_stock_levels); a refund with api_restock returns the refunded
quantities; a refund of the whole remaining total marks the order refunded; api_refund
(default true) asks the payment gateway to pay the money back and fails for gateways that
cannot. Callers hold the WooState lock.

Taxes are computed when an order's lines are set, as `woocommerce_taxes` describes; the
order keeps the shop's prices-include-tax setting of that moment.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from emulators.woocommerce_catalog import Catalog, Product
from emulators.woocommerce_params import (
    ARRAY,
    BOOL,
    INT,
    OBJECT,
    STR,
    Arg,
    Json,
    WooError,
    arg,
    decimal_of,
    invalid_id,
    to_bool,
    to_int,
    to_str,
)
from emulators.woocommerce_taxes import (
    TaxRate,
    TaxTable,
    exclusive_taxes,
    inclusive_taxes,
    round_tax,
)

ORDER_STATUSES: tuple[str, ...] = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
)
_REDUCES_STOCK = ("processing", "completed", "on-hold")
_RESTORES_STOCK = ("cancelled", "pending")
_NEEDS_PAYMENT = ("pending", "failed")
_PAYMENT_COMPLETE_FROM = ("on-hold", "pending", "failed", "cancelled")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # roughly WordPress's is_email()
# Gateways WooCommerce ships without refund support; any other id is "not installed".
_CORE_GATEWAYS = ("bacs", "cheque", "cod")

ORDER_ARGS: dict[str, Arg] = {
    "parent_id": INT,
    "status": arg("string", enum=(*ORDER_STATUSES, "checkout-draft")),
    "currency": STR,
    "customer_id": INT,
    "customer_note": STR,
    "billing": OBJECT,
    "shipping": OBJECT,
    "payment_method": STR,
    "payment_method_title": STR,
    "transaction_id": STR,
    "meta_data": ARRAY,
    "line_items": ARRAY,
    "shipping_lines": ARRAY,
    "fee_lines": ARRAY,
    "coupon_lines": ARRAY,
    "set_paid": BOOL,
}
REFUND_ARGS: dict[str, Arg] = {
    "amount": STR,
    "reason": STR,
    "refunded_by": INT,
    "meta_data": ARRAY,
    "line_items": ARRAY,
    "api_refund": BOOL,
    "api_restock": BOOL,
}
_BILLING_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)


def empty_address(billing: bool) -> Json:
    keys = (*_BILLING_KEYS, "email", "phone") if billing else (*_BILLING_KEYS, "phone")
    return dict.fromkeys(keys, "")


@dataclass
class LineItem:
    id: int
    product_id: int
    variation_id: int
    name: str
    quantity: int
    subtotal: Decimal
    total: Decimal
    sku: str = ""
    parent_name: str | None = None
    meta_data: list[Json] = field(default_factory=list)
    reduced_stock: int = 0  # the `_reduced_stock` item meta
    tax_class: str = ""
    taxable: bool = True
    taxes: dict[int, Decimal] = field(default_factory=dict)  # rate id -> tax on total
    subtotal_taxes: dict[int, Decimal] = field(default_factory=dict)  # ... on subtotal

    @property
    def total_tax(self) -> Decimal:
        return sum(self.taxes.values(), Decimal(0))

    @property
    def subtotal_tax(self) -> Decimal:
        return sum(self.subtotal_taxes.values(), Decimal(0))


@dataclass
class Order:
    id: int
    date_created: datetime
    date_modified: datetime
    order_key: str
    currency: str
    status: str = "pending"
    parent_id: int = 0
    customer_id: int = 0
    customer_note: str = ""
    billing: Json = field(default_factory=lambda: empty_address(True))
    shipping: Json = field(default_factory=lambda: empty_address(False))
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    line_items: list[LineItem] = field(default_factory=list)
    shipping_lines: list[Json] = field(default_factory=list)
    fee_lines: list[Json] = field(default_factory=list)
    meta_data: list[Json] = field(default_factory=list)
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    refund_ids: list[int] = field(default_factory=list)
    stock_reduced: bool = False  # `_order_stock_reduced`
    recorded_sales: bool = False  # `_recorded_sales`
    prices_include_tax: bool = False
    decimals: int = 2  # the shop's price decimals
    tax_items: dict[int, int] = field(default_factory=dict)  # rate id -> tax line item id
    tax_rates: dict[int, TaxRate] = field(default_factory=dict)  # as they were when charged

    @property
    def total(self) -> Decimal:
        """calculate_totals: everything with its taxes, rounded to the price decimals."""
        lines = sum((i.total + i.total_tax for i in self.line_items), Decimal(0))
        extras = sum(
            (
                decimal_of(x.get("total")) + _line_tax(x)
                for x in self.shipping_lines + self.fee_lines
            ),
            Decimal(0),
        )
        return round_tax(lines + extras, self.decimals)

    @property
    def shipping_total(self) -> Decimal:
        return sum((decimal_of(x.get("total")) for x in self.shipping_lines), Decimal(0))

    @property
    def shipping_tax(self) -> Decimal:
        return sum((_line_tax(x) for x in self.shipping_lines), Decimal(0))

    @property
    def cart_tax(self) -> Decimal:
        items = sum((i.total_tax for i in self.line_items), Decimal(0))
        return items + sum((_line_tax(x) for x in self.fee_lines), Decimal(0))


def _line_tax(line: Json) -> Decimal:
    """A shipping or fee line's taxes (kept as `_taxes`: rate id -> amount)."""
    return sum((decimal_of(v) for v in (line.get("_taxes") or {}).values()), Decimal(0))


@dataclass
class RefundLine:
    id: int
    item: LineItem
    quantity: int
    refund_total: Decimal


@dataclass
class Refund:
    id: int
    order_id: int
    amount: Decimal
    reason: str
    refunded_by: int
    refunded_payment: bool
    date_created: datetime
    line_items: list[RefundLine] = field(default_factory=list)
    meta_data: list[Json] = field(default_factory=list)


class Orders:
    """Orders and their refunds; stock moves go through the Catalog."""

    def __init__(
        self,
        catalog: Catalog,
        next_id: Callable[[], int],
        now: Callable[[], datetime],
        currency: str,
        decimals: int = 2,
    ) -> None:
        self._catalog = catalog
        self.decimals = decimals
        self.taxes = TaxTable()
        self._next_id = next_id
        self._now = now
        self.currency = currency
        self.orders: dict[int, Order] = {}
        self.order_ids: list[int] = []
        self.refunds: dict[int, Refund] = {}
        self._item_id = 0  # order item ids come from their own table, not the posts table
        self._meta_id = 0
        self.refund_gateways: set[str] = set()
        self.on_change: Callable[[Order, str], None] = lambda _o, _event: None

    def get(self, order_id: int, status: int = 404) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise invalid_id("shop_order", status)
        return order

    # --- create / update -------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> Order:
        """WC_REST_Orders_Controller::save_object for a new order."""
        if body.get("id"):
            raise WooError(
                "woocommerce_rest_shop_order_exists", "Cannot create existing shop_order.", 400
            )
        now = self._now()
        key = "wc_order_" + "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(13)
        )
        draft = Order(0, now, now, key, self.currency)
        draft.prices_include_tax = self.taxes.prices_include_tax
        draft.decimals = self.decimals
        self._apply(draft, body)
        draft.id = self._next_id()
        self.orders[draft.id] = draft
        self.order_ids.append(draft.id)
        self._finish_save(draft, body, creating=True)
        self.on_change(draft, "created")
        return draft

    def update(self, order_id: int, body: Mapping[str, Any]) -> Order:
        current = self.get(order_id, 400)
        draft = copy.deepcopy(current)
        self._apply(draft, body)
        self.orders[order_id] = draft
        self._finish_save(draft, body, creating=False)
        draft.date_modified = self._now()
        self.on_change(draft, "updated")
        return draft

    def delete(self, order_id: int, force: bool) -> Order:
        order = self.get(order_id)
        if not force:
            if order.status == "trash":
                raise WooError(
                    "woocommerce_rest_already_trashed",
                    "The shop_order has already been deleted.",
                    410,
                )
            order.status = "trash"
            order.date_modified = self._now()
        else:
            del self.orders[order_id]
            self.order_ids.remove(order_id)
        self.on_change(order, "deleted")
        return order

    def _finish_save(self, order: Order, body: Mapping[str, Any], creating: bool) -> None:
        """Status last (so transitions see the new items), then set_paid's payment_complete."""
        status = to_str(body.get("status") or "")
        if status:
            self.set_status(order, status)
        if to_bool(body.get("set_paid", False)) and (creating or self._needs_payment(order)):
            self._payment_complete(order, to_str(body.get("transaction_id") or ""))

    def _apply(self, order: Order, body: Mapping[str, Any]) -> None:
        self._check_customer(body)
        if body.get("currency"):
            currency = to_str(body["currency"])
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise WooError("order_invalid_currency", "Invalid currency code", 400)
            order.currency = currency
        for key in ("customer_note", "payment_method", "payment_method_title", "transaction_id"):
            if body.get(key) is not None:
                setattr(order, key, to_str(body[key]))
        if body.get("parent_id") is not None:
            order.parent_id = to_int(body["parent_id"])
        for key in ("billing", "shipping"):
            if isinstance(body.get(key), dict):
                address = getattr(order, key)
                address.update({k: to_str(v) for k, v in body[key].items() if k in address})
        if order.billing["email"] and not _EMAIL.fullmatch(order.billing["email"]):
            raise WooError("customer_invalid_billing_email", "Invalid billing email address", 400)
        for given in body.get("line_items") or []:
            if isinstance(given, dict):
                self._set_line_item(order, given)
        order.shipping_lines += [
            self._extra_line(x, "method_title") for x in _dicts(body, "shipping_lines")
        ]
        order.fee_lines += [self._extra_line(x, "name") for x in _dicts(body, "fee_lines")]
        self._apply_meta(order.meta_data, body.get("meta_data"))
        if any(body.get(k) for k in ("line_items", "shipping_lines", "fee_lines")):
            self._calculate_taxes(order)

    def _calculate_taxes(self, order: Order) -> None:
        """WC_Abstract_Order::calculate_taxes: every line's taxes by its class, the
        shipping's by the standard rates that tax shipping; then one tax line per rate."""
        dp = order.decimals
        for item in order.line_items:
            rates = self.taxes.for_class(item.tax_class) if item.taxable else []
            item.taxes = exclusive_taxes(item.total, rates, dp)
            item.subtotal_taxes = exclusive_taxes(item.subtotal, rates, dp)
        for line in order.shipping_lines:
            taxes = exclusive_taxes(decimal_of(line.get("total")), self.taxes.for_shipping(), dp)
            line["_taxes"] = taxes
        for line in order.fee_lines:
            taxable = line.get("tax_status", "taxable") == "taxable"
            rates = self.taxes.for_class(to_str(line.get("tax_class") or "")) if taxable else []
            line["_taxes"] = exclusive_taxes(decimal_of(line.get("total")), rates, dp)
        used: set[int] = set()
        for item in order.line_items:
            used |= set(item.taxes)
        for line in order.shipping_lines + order.fee_lines:
            used |= set(line.get("_taxes") or {})
        for rate_id in sorted(used):
            if rate_id not in order.tax_items:
                self._item_id += 1
                order.tax_items[rate_id] = self._item_id
            order.tax_rates[rate_id] = self.taxes.rates[rate_id]

    @staticmethod
    def _check_customer(body: Mapping[str, Any]) -> None:
        if body.get("customer_id") not in (None, 0, "0"):
            # The emulator has no customers, so any customer id is unknown to it.
            raise WooError("woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400)

    def _set_line_item(self, order: Order, given: Mapping[str, Any]) -> None:
        existing = next(
            (i for i in order.line_items if given.get("id") and i.id == to_int(given["id"])), None
        )
        if existing is not None:
            if given.get("quantity") is not None and to_int(given["quantity"]) == 0:
                order.line_items.remove(existing)
                return
            self._set_item_props(existing, given)
            return
        product = self._catalog.get(self._product_reference(given))
        self._item_id += 1
        item = LineItem(self._item_id, 0, 0, "", 1, Decimal(0), Decimal(0))
        if product is not None:
            self._set_product(item, product)
        item.quantity = to_int(given.get("quantity", 1))
        price = decimal_of(product.price) if product is not None else Decimal(0)
        item.subtotal = item.total = price * item.quantity
        if self.taxes.prices_include_tax and item.taxable:
            # the checkout's way: the gross price stays, its taxes come out of it
            rates = self.taxes.for_class(item.tax_class)
            inside = sum(inclusive_taxes(item.total, rates, order.decimals).values(), Decimal(0))
            item.subtotal = item.total = item.total - inside
        self._set_item_props(item, given)
        order.line_items.append(item)

    def _product_reference(self, given: Mapping[str, Any]) -> int:
        """get_product_id_from_line_item: sku first, then variation_id, then product_id."""
        if given.get("sku"):
            return self._catalog.id_for_sku(to_str(given["sku"])) or 0
        if given.get("variation_id"):
            return to_int(given["variation_id"])
        if given.get("product_id"):
            return to_int(given["product_id"])
        raise WooError(
            "woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400
        )

    def _set_product(self, item: LineItem, product: Product) -> None:
        parent = self._catalog.get(product.parent_id) if product.is_variation else None
        item.product_id = parent.id if parent is not None else product.id
        item.variation_id = product.id if product.is_variation else 0
        item.sku = product.sku
        taxed = parent if parent is not None else product
        own_class = to_str(product.extra.get("tax_class") or "")
        item.tax_class = (
            own_class
            if own_class not in ("", "parent") or parent is None
            else to_str(taxed.extra.get("tax_class") or "")
        )
        status = to_str(product.extra.get("tax_status") or "")
        if status in ("", "parent") and parent is not None:
            status = to_str(parent.extra.get("tax_status") or "")
        item.taxable = (status or "taxable") == "taxable"
        if parent is not None:
            options = " ".join(a["option"] for a in product.attributes)
            item.name = f"{parent.name} - {options}" if options else parent.name
            item.parent_name = parent.name
            item.meta_data = [self._attribute_meta(a) for a in product.attributes]
        else:
            item.name = product.name

    def _attribute_meta(self, attribute: Json) -> Json:
        self._meta_id += 1
        key = re.sub(r"[^a-z0-9]+", "-", attribute["name"].lower()).strip("-")
        return {
            "id": self._meta_id,
            "key": key,
            "value": attribute["option"],
            "display_key": attribute["name"],
            "display_value": attribute["option"],
        }

    @staticmethod
    def _set_item_props(item: LineItem, given: Mapping[str, Any]) -> None:
        if given.get("name") is not None:
            item.name = to_str(given["name"])
        if given.get("quantity") is not None:
            item.quantity = to_int(given["quantity"])
        if given.get("subtotal") is not None:
            item.subtotal = decimal_of(given["subtotal"])
        if given.get("total") is not None:
            item.total = decimal_of(given["total"])

    def _extra_line(self, given: Mapping[str, Any], title_key: str) -> Json:
        self._item_id += 1
        line = {k: v for k, v in given.items() if k not in ("id", "total")}
        line.update(id=self._item_id, total=f"{decimal_of(given.get('total')):f}")
        line.setdefault(title_key, "")
        return line

    def _apply_meta(self, meta_data: list[Json], given: Any) -> None:
        for meta in given or []:
            if not isinstance(meta, dict) or "key" not in meta:
                continue
            existing = next((m for m in meta_data if m["key"] == meta["key"]), None)
            if existing is not None:
                existing["value"] = meta.get("value")
            else:
                self._meta_id += 1
                meta_data.append(
                    {"id": self._meta_id, "key": str(meta["key"]), "value": meta.get("value")}
                )

    # --- status transitions and stock ------------------------------------------------

    def set_status(self, order: Order, status: str) -> None:
        """WC_Order::status_transition with the core stock and date hooks."""
        status = status.removeprefix("wc-")
        if status not in ORDER_STATUSES:
            status = "pending"  # WC_Order::set_status falls back for unknown statuses
        old, order.status = order.status, status
        if old == status:
            return
        now = self._now()
        if status in ("processing", "completed") and order.date_paid is None:
            order.date_paid = now
        if status == "completed" and order.date_completed is None:
            order.date_completed = now
        if status in _REDUCES_STOCK:
            self._record_sales(order)
            self._reduce_stock(order)
        elif status in _RESTORES_STOCK:
            self._restore_stock(order)

    def _payment_complete(self, order: Order, transaction_id: str) -> None:
        if order.status not in _PAYMENT_COMPLETE_FROM:
            return
        if transaction_id:
            order.transaction_id = transaction_id
        if order.date_paid is None:
            order.date_paid = self._now()
        self.set_status(order, "processing")

    def _reduce_stock(self, order: Order) -> None:
        """wc_reduce_stock_levels: once per order, managed items only."""
        if order.stock_reduced:
            return
        for item in order.line_items:
            product = self._catalog.get(item.variation_id or item.product_id)
            if product is None or not product.manage_stock or item.reduced_stock:
                continue
            self._catalog.set_stock(product, (product.stock_quantity or 0) - item.quantity)
            item.reduced_stock = item.quantity
        order.stock_reduced = True

    def _restore_stock(self, order: Order) -> None:
        """wc_increase_stock_levels: give back what this order took, then forget it."""
        if not order.stock_reduced:
            return
        for item in order.line_items:
            product = self._catalog.get(item.variation_id or item.product_id)
            if product is None or not product.manage_stock or not item.reduced_stock:
                continue
            self._catalog.set_stock(product, (product.stock_quantity or 0) + item.reduced_stock)
            item.reduced_stock = 0
        order.stock_reduced = False

    def _record_sales(self, order: Order) -> None:
        if order.recorded_sales:
            return
        for item in order.line_items:
            product = self._catalog.get(item.variation_id or item.product_id)
            if product is not None:
                self._catalog.add_sales(product, item.quantity)
        order.recorded_sales = True

    @staticmethod
    def _needs_payment(order: Order) -> bool:
        return order.status in _NEEDS_PAYMENT and order.total > 0

    # --- refunds -----------------------------------------------------------------------

    def refunded_total(self, order: Order) -> Decimal:
        return sum(
            (self.refunds[r].amount for r in order.refund_ids if r in self.refunds), Decimal(0)
        )

    def create_refund(self, order_id: int, body: Mapping[str, Any]) -> Refund:
        """wc_create_refund as the wc/v3 refunds controller calls it (errors answer 500)."""
        order = self.orders.get(order_id)
        if order is None:
            raise WooError(
                "woocommerce_rest_invalid_order_id", "Invalid order ID.", 500, bare_data=404
            )
        lines = self._refund_lines(order, body.get("line_items"))
        amount = self._refund_amount(body, lines)
        if amount < 0:
            raise WooError(
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
                500,
                bare_data=400,
            )
        if amount > order.total - self.refunded_total(order):
            raise _refund_failed("Invalid refund amount.")
        api_refund = body.get("api_refund")
        if not isinstance(api_refund, bool) or api_refund:
            self._refund_payment(order)
        refund = Refund(
            self._next_id(),
            order.id,
            amount,
            to_str(body.get("reason") or ""),
            to_int(body.get("refunded_by") or 0),
            refunded_payment=not isinstance(api_refund, bool) or api_refund,
            date_created=self._now(),
            line_items=lines,
        )
        self._apply_meta(refund.meta_data, body.get("meta_data"))
        api_restock = body.get("api_restock")
        if not isinstance(api_restock, bool) or api_restock:
            self._restock(lines)
        self.refunds[refund.id] = refund
        order.refund_ids.append(refund.id)
        if order.total - self.refunded_total(order) <= 0:
            self.set_status(order, "refunded")  # woocommerce_order_fully_refunded_status
        order.date_modified = self._now()
        self.on_change(order, "updated")
        return refund

    def _refund_lines(self, order: Order, given: Any) -> list[RefundLine]:
        lines: list[RefundLine] = []
        for entry in given or []:
            if not isinstance(entry, dict):
                continue
            item = next((i for i in order.line_items if i.id == to_int(entry.get("id"))), None)
            quantity = to_int(entry.get("quantity", entry.get("qty", 0)))
            total = decimal_of(entry.get("refund_total", 0))
            if item is None or (not quantity and not total):
                continue
            self._item_id += 1
            lines.append(RefundLine(self._item_id, item, quantity, total))
        return lines

    @staticmethod
    def _refund_amount(body: Mapping[str, Any], lines: list[RefundLine]) -> Decimal:
        """`amount` if given, else the sum of the lines' refund_total (RestApiUtil)."""
        if body.get("amount") is not None:
            return decimal_of(body["amount"])
        return sum((line.refund_total for line in lines), Decimal(0))

    def _refund_payment(self, order: Order) -> None:
        """wc_refund_payment: only a gateway that supports refunds can pay money back."""
        if order.payment_method in self.refund_gateways:
            return
        if order.payment_method in _CORE_GATEWAYS:
            raise _refund_failed(
                "The payment gateway for this order does not support automatic refunds."
            )
        raise _refund_failed("The payment gateway for this order does not exist.")

    def _restock(self, lines: list[RefundLine]) -> None:
        """wc_restock_refunded_items: only lines whose stock the order had reduced."""
        for line in lines:
            product = self._catalog.get(line.item.variation_id or line.item.product_id)
            if not line.item.reduced_stock or not line.quantity or product is None:
                continue
            if not product.manage_stock:
                continue
            self._catalog.set_stock(product, (product.stock_quantity or 0) + line.quantity)
            line.item.reduced_stock -= line.quantity


def _refund_failed(message: str) -> WooError:
    return WooError("woocommerce_rest_cannot_create_order_refund", message, 500, bare_data=500)


def _dicts(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return [x for x in body.get(key) or [] if isinstance(x, dict)]

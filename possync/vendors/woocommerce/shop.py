"""WooCommerce connector (REST API wc/v3, HTTP Basic with the consumer key and secret).

Reads go by SKU where possible: `GET /products?sku=a,b,c` matches products and variations
alike (variations come back with `parent_id`), so a page of 100 SKUs costs one call.
Writes go through the batch endpoints, 100 items a call: simple products through
`/products/batch`, variations through their parent's `/products/{id}/variations/batch`
(WooCommerce's products batch refuses variation ids). The product catalogue (names, prices,
codes; the `ProductCatalogue` protocol) lives in `woocommerce_products`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from possync.domain.models import (
    LinePrice,
    LineTax,
    OrderItem,
    StockUpdate,
    WebCharge,
    WebOrder,
    WebRefund,
    WebshopListing,
    WebshopRef,
    WriteOutcome,
)
from possync.domain.money import MoneyError, parse_amount
from possync.vendors.http import ApiClient, RetryPolicy
from possync.vendors.woocommerce.config import WooCommerceConfig
from possync.vendors.woocommerce.products import WooCommerceProducts, max_price, parse_gmt

__all__ = ["BATCH_LIMIT", "WooCommerceShop", "woocommerce_error"]

BATCH_LIMIT = 100  # items per batch call and per page, WooCommerce's maximum
API_PREFIX = "/wp-json/wc/v3"


class _Item(BaseModel):
    """The fields of a product or variation we read."""

    model_config = ConfigDict(extra="ignore")
    id: int
    parent_id: int | None = None
    type: str | None = None
    name: str | None = None
    sku: str | None = None
    global_unique_id: str | None = None
    manage_stock: bool | str | None = None
    stock_quantity: int | None = None


def woocommerce_error(response: httpx.Response) -> tuple[str | None, str]:
    """WooCommerce's error body: {"code", "message", "data": {"status"}}."""
    body = response.json()
    if isinstance(body, dict) and "message" in body:
        return body.get("code"), str(body["message"])
    return None, response.reason_phrase


class WooCommerceShop(WooCommerceProducts):
    """WooCommerce as the webshop whose stock follows the POS, and as a product catalogue."""

    system = "woocommerce"
    accepted_statuses = ("processing", "completed")
    # `_stock` is kept through wc_stock_amount, PHP's intval by default: a 64-bit integer
    # (the REST schema's stock_quantity is an integer).
    max_stock = 2**63 - 1
    products_per_write = BATCH_LIMIT  # one /products/batch call takes 100 products
    typed_variants = True  # only a 'variable' product holds variations; a simple one cannot

    def __init__(
        self,
        config: WooCommerceConfig,
        *,
        retry: RetryPolicy | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> None:
        self.config = config
        self._api = ApiClient(
            self.system,
            config.url.rstrip("/") + API_PREFIX,
            auth=httpx.BasicAuth(
                config.consumer_key.get_secret_value(), config.consumer_secret.get_secret_value()
            ),
            headers={"Accept": "application/json"},
            timeout=config.timeout_seconds,
            retry=retry,
            error_parser=woocommerce_error,
            event_hooks=event_hooks,
        )
        self._limit = BATCH_LIMIT

    def close(self) -> None:
        self._api.close()

    # -- products (ProductCatalogue): the methods of WooCommerceProducts (products.py) ---

    def max_price(self, currency: str) -> Decimal | None:
        return max_price(currency)

    # -- reads -------------------------------------------------------------------------

    def listings_by_sku(self, skus: Sequence[str]) -> list[WebshopListing]:
        wanted = {s for s in skus if s}
        # A comma inside a SKU would split the filter; WooCommerce also matches the whole
        # string, so such SKUs are asked for one per call.
        plain = sorted(s for s in wanted if "," not in s)
        queries = [",".join(plain[i : i + BATCH_LIMIT]) for i in range(0, len(plain), BATCH_LIMIT)]
        queries += sorted(s for s in wanted if "," in s)
        found: list[WebshopListing] = []
        for query in queries:
            for page in self._pages("/products", {"sku": query}):
                found.extend(
                    listing
                    for item in page
                    if item.sku in wanted and (listing := _listing(item)) is not None
                )
        return found

    def listings(self, refs: Sequence[WebshopRef]) -> list[WebshopListing]:
        simple = sorted({int(r.product_id) for r in refs if r.variation_id is None})
        by_parent: dict[int, set[int]] = defaultdict(set)
        for ref in refs:
            if ref.variation_id is not None:
                by_parent[int(ref.product_id)].add(int(ref.variation_id))
        found: list[WebshopListing] = []
        for start in range(0, len(simple), BATCH_LIMIT):
            ids = ",".join(str(i) for i in simple[start : start + BATCH_LIMIT])
            for page in self._pages("/products", {"include": ids}):
                found.extend(x for item in page if (x := _listing(item)) is not None)
        for parent, variation_ids in sorted(by_parent.items()):
            ordered = sorted(variation_ids)
            for start in range(0, len(ordered), BATCH_LIMIT):
                ids = ",".join(str(i) for i in ordered[start : start + BATCH_LIMIT])
                path = f"/products/{parent}/variations"
                for page in self._pages(path, {"include": ids}):
                    found.extend(x for item in page if (x := _listing(item, parent)) is not None)
        return found

    def all_listings(self) -> Iterator[list[WebshopListing]]:
        for page in self._pages("/products", {"orderby": "id", "order": "asc"}):
            listings = [x for item in page if (x := _listing(item)) is not None]
            for item in page:
                if item.type == "variable":
                    for variations in self._pages(f"/products/{item.id}/variations", {}):
                        listings.extend(
                            x for v in variations if (x := _listing(v, item.id)) is not None
                        )
            yield listings

    def _pages(self, path: str, params: Mapping[str, str]) -> Iterator[list[_Item]]:
        """`_raw_pages`, each item read as a product or variation."""
        for page in self._raw_pages(path, params):
            yield [_Item.model_validate(x) for x in page]

    def orders_changed(self, since: datetime | None) -> Iterator[list[WebOrder]]:
        params = {"orderby": "modified", "order": "asc", "dates_are_gmt": "true"}
        if since is not None:
            # modified_after is strict and in whole seconds: an order saved later in the
            # cursor's own second would be missed, so read from one second before it (the
            # order ledger makes the repeats harmless).
            early = since.astimezone(UTC) - timedelta(seconds=1)
            params["modified_after"] = early.strftime("%Y-%m-%dT%H:%M:%S")
        for page in self._raw_pages("/orders", params):
            yield [_order(x) for x in page]

    def orders(self, order_ids: Sequence[str]) -> list[WebOrder]:
        found: list[WebOrder] = []
        ids = sorted({int(i) for i in order_ids})
        for start in range(0, len(ids), BATCH_LIMIT):
            include = ",".join(str(i) for i in ids[start : start + BATCH_LIMIT])
            for page in self._raw_pages("/orders", {"include": include}):
                found.extend(_order(x) for x in page)
        return found

    def refunds(self, order_id: str) -> list[WebRefund]:
        found: list[WebRefund] = []
        for page in self._raw_pages(f"/orders/{int(order_id)}/refunds", {}):
            found.extend(_refund(order_id, x) for x in page)
        return found

    # -- writes ------------------------------------------------------------------------

    def write_batches(self, updates: Iterable[StockUpdate]) -> list[list[StockUpdate]]:
        simple: list[StockUpdate] = []
        by_parent: dict[str, list[StockUpdate]] = defaultdict(list)
        for update in updates:
            if update.ref.variation_id is None:
                simple.append(update)
            else:
                by_parent[update.ref.product_id].append(update)
        groups = [simple[i : i + BATCH_LIMIT] for i in range(0, len(simple), BATCH_LIMIT)]
        for _parent, items in sorted(by_parent.items()):
            groups += [items[i : i + BATCH_LIMIT] for i in range(0, len(items), BATCH_LIMIT)]
        return groups

    def set_stock(self, batch: Sequence[StockUpdate]) -> list[WriteOutcome]:
        if not batch:
            return []
        parents = {u.ref.product_id for u in batch if u.ref.variation_id is not None}
        has_simple = any(u.ref.variation_id is None for u in batch)
        if len(batch) > BATCH_LIMIT or len(parents) > 1 or (parents and has_simple):
            raise ValueError("set_stock takes one group from write_batches")
        if parents:
            path = f"/products/{next(iter(parents))}/variations/batch"
            by_id = {int(u.ref.variation_id or 0): u for u in batch}
        else:
            path = "/products/batch"
            by_id = {int(u.ref.product_id): u for u in batch}
        body = {
            "update": [
                {"id": item_id, "manage_stock": True, "stock_quantity": u.quantity}
                for item_id, u in by_id.items()
            ]
        }
        # Absolute quantities: repeating the call after a timeout does no harm.
        response = self._api.post(path, json=body, safe_to_repeat=True)
        return _outcomes(by_id, response.json().get("update") or [])


def _order(body: Mapping[str, Any]) -> WebOrder:
    """An order with what each line cost: WooCommerce keeps a line's `total` (after
    discounts, without tax) and its `taxes` per tax rate id; the order's `tax_lines` name
    each rate's `rate_percent` (WC_Order_Item_Tax data since WooCommerce 3.7).
    `prices_include_tax` says how the shop priced it. Shipping and fee lines are charges."""
    order_id = str(body["id"])
    items: list[OrderItem] = []
    charges: list[WebCharge] = []
    error: str | None = None
    try:
        rates = _tax_rates(body.get("tax_lines") or [])
        included = body.get("prices_include_tax")
        included = included if isinstance(included, bool) else None
        items = [
            _item(line, _paid(line, rates, included, subtotal=True))
            for line in body.get("line_items") or []
        ]
        charges = [
            WebCharge(
                line_id=str(line.get("id") or ""),
                name=str(line.get(title) or kind),
                paid=_paid(line, rates, included, subtotal=False),
            )
            for key, title, kind in (
                ("shipping_lines", "method_title", "shipping"),
                ("fee_lines", "name", "fee"),
            )
            for line in body.get(key) or []
        ]
    except (MoneyError, KeyError, ValueError) as exc:
        error = f"WooCommerce order {order_id}: {exc}"
        items = [_item(line) for line in body.get("line_items") or []]
    return WebOrder(
        order_id=order_id,
        status=str(body["status"]),
        modified_at=parse_gmt(body.get("date_modified_gmt") or body.get("date_created_gmt")),
        currency=str(body.get("currency") or ""),
        total=Decimal(str(body.get("total") or "0")),
        items=items,
        refund_ids=[str(r["id"]) for r in body.get("refunds") or []],
        charges=charges,
        price_error=error,
    )


def _tax_rates(tax_lines: Iterable[Mapping[str, Any]]) -> dict[int, tuple[Decimal, str]]:
    """rate id -> (percent, label) of the rates the order was charged."""
    rates: dict[int, tuple[Decimal, str]] = {}
    for line in tax_lines:
        rate_id = int(line.get("rate_id") or 0)
        if line.get("compound"):
            raise ValueError(f"tax rate {rate_id} is compound (tax on tax); no POS books that")
        if line.get("rate_percent") is None:
            raise ValueError(f"tax line of rate {rate_id} has no rate_percent")
        rates[rate_id] = (parse_amount(line["rate_percent"]), str(line.get("label") or ""))
    return rates


def _paid(
    line: Mapping[str, Any],
    rates: Mapping[int, tuple[Decimal, str]],
    included: bool | None,
    *,
    subtotal: bool,
) -> LinePrice:
    """A line's cost: `total` after discounts without tax, its `taxes[].total` per rate;
    the discount is what the subtotal (before discounts) loses, in the shop's basis."""
    taxes = []
    for tax in line.get("taxes") or []:
        amount = parse_amount(tax.get("total") or "0")
        if not amount:
            continue
        rate_id = int(tax.get("id") or 0)
        if rate_id not in rates:
            raise ValueError(f"line {line.get('id')} is taxed at rate {rate_id}, not in tax_lines")
        percent, label = rates[rate_id]
        taxes.append(LineTax(rate=percent, amount=amount, name=label))
    net = parse_amount(line.get("total") or "0")
    discount = Decimal(0)
    if subtotal and line.get("subtotal") is not None:
        discount = parse_amount(line["subtotal"]) - net
        if included:
            discount += parse_amount(line.get("subtotal_tax") or "0") - sum(
                (t.amount for t in taxes), Decimal(0)
            )
    return LinePrice(net=net, taxes=tuple(taxes), discount=discount, tax_included=included)


def _refund(order_id: str, body: Mapping[str, Any]) -> WebRefund:
    return WebRefund(
        refund_id=str(body["id"]),
        order_id=order_id,
        amount=Decimal(str(body.get("amount") or "0")),
        reason=str(body.get("reason") or ""),
        items=[_item(line) for line in body.get("line_items") or [] if line.get("quantity")],
    )


def _item(line: Mapping[str, Any], paid: LinePrice | None = None) -> OrderItem:
    """A line item; refunds carry negative quantities and totals, made positive here."""
    product_id = int(line.get("product_id") or 0)
    variation_id = int(line.get("variation_id") or 0)
    ref = None
    if product_id:
        ref = WebshopRef(
            product_id=str(product_id), variation_id=str(variation_id) if variation_id else None
        )
    quantity = abs(int(line.get("quantity") or 0))
    total = abs(Decimal(str(line.get("total") or "0")))
    return OrderItem(
        line_id=str(line.get("id") or ""),
        ref=ref,
        sku=(line.get("sku") or None),
        quantity=quantity,
        unit_price=(total / quantity).quantize(Decimal("0.01")) if quantity else Decimal(0),
        name=str(line.get("name") or ""),
        paid=paid,
    )


def _listing(item: _Item, parent_id: int | None = None) -> WebshopListing | None:
    """A stock-holding listing; variable parents hold no stock of their own."""
    if item.type == "variable":
        return None
    parent = parent_id if parent_id is not None else item.parent_id
    is_variation = item.type == "variation" or bool(parent)
    ref = (
        WebshopRef(product_id=str(parent), variation_id=str(item.id))
        if is_variation
        else WebshopRef(product_id=str(item.id))
    )
    return WebshopListing(
        ref=ref,
        sku=item.sku or None,
        barcode=item.global_unique_id or None,
        stock=item.stock_quantity,
        manage_stock=item.manage_stock is True,
        name=item.name or "",
    )


def _outcomes(by_id: Mapping[int, StockUpdate], results: list[Any]) -> list[WriteOutcome]:
    outcomes: list[WriteOutcome] = []
    answered: set[int] = set()
    for result in results:
        item_id = int(result.get("id") or 0)
        update = by_id.get(item_id)
        if update is None:
            continue
        answered.add(item_id)
        error = result.get("error")
        if error:
            message = error.get("message") or error.get("code") or "refused"
            outcomes.append(WriteOutcome(update=update, ok=False, error=str(message)))
        else:
            outcomes.append(WriteOutcome(update=update, ok=True))
    for item_id, update in by_id.items():
        if item_id not in answered:
            outcomes.append(
                WriteOutcome(update=update, ok=False, error="no result for this id in the batch")
            )
    return outcomes

"""The WooCommerce emulator's shop: catalogue, orders, webhooks, one lock, one id sequence.

Everything is in memory. HTTP handlers work inside `transaction()`, which holds the lock
and, when it ends, turns what changed into webhook deliveries (one per webhook and
resource per request, as WooCommerce dedupes them). Tests and the demo use the small
public API below to seed the shop and to act as its administrator.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from emulators.demo import DemoProduct, DemoVariant
from emulators.woocommerce_catalog import Catalog, Product
from emulators.woocommerce_orders import Orders
from emulators.woocommerce_params import Json, now_seconds, price_text
from emulators.woocommerce_query import OrderedCache
from emulators.woocommerce_render import Site, render_order, render_product
from emulators.woocommerce_webhooks import Delivery, WebhookHub
from possync.domain.money import minor_units

# Gateways for which the emulator pretends a refund through the payment provider works.
REFUNDING_GATEWAYS = frozenset({"stripe", "woocommerce_payments", "ppcp-gateway"})


class WooState:
    """One shop, safe to share between the server thread and a test."""

    def __init__(self, *, timezone: str = "UTC", currency: str = "EUR") -> None:
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = now_seconds
        self._ids = itertools.count(1)
        self.site = Site("http://localhost", ZoneInfo(timezone), currency)
        self.catalog = Catalog(self.allocate_id, self.now)
        # The shop's price decimals (woocommerce_price_num_decimals) as the currency has them.
        self.orders = Orders(
            self.catalog, self.allocate_id, self.now, currency, minor_units(currency)
        )
        self.orders.refund_gateways = set(REFUNDING_GATEWAYS)
        self.webhooks = WebhookHub(self.lock, self.now)
        self.cache = OrderedCache()
        self._events: list[tuple[str, str, int]] = []
        self.catalog.on_change = lambda item, event: self._events.append(
            ("product", event, item.id)
        )
        self.orders.on_change = lambda order, event: self._events.append(("order", event, order.id))

    def now(self) -> datetime:
        """The shop's clock in whole seconds; replace `clock` to move time in tests."""
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def allocate_id(self) -> int:
        """The next WordPress post id (products, variations, orders, refunds, webhooks)."""
        return next(self._ids)

    @contextmanager
    def transaction(self, site_url: str | None = None) -> Iterator[None]:
        """Hold the lock for one request; when it ends, run WooCommerce's shutdown work (the
        deferred parent syncs) and queue the request's webhook deliveries."""
        with self.lock:
            if site_url and site_url != self.site.url:
                self.site = replace(self.site, url=site_url)
            try:
                yield
            finally:
                self.catalog.run_deferred_sync()
                self._flush_events()

    # --- public API for tests and the demo ---------------------------------------------

    def seed(self, products: list[DemoProduct]) -> None:
        """Add the demo catalogue: simple products, or variable ones with a 'Size' attribute."""
        with self.lock:
            for product in products:
                if product.simple:
                    fields = {"type": "simple", **_base(product), **_sellable(product.variants[0])}
                    self.catalog.seed_product(fields, [])
                else:
                    fields = {"type": "variable", **_base(product), "attributes": [_size(product)]}
                    self.catalog.seed_product(fields, [_variation(v) for v in product.variants])

    def id_for_sku(self, sku: str) -> int:
        """The product or variation id holding `sku` (KeyError if none)."""
        with self.lock:
            found = self.catalog.id_for_sku(sku)
        if found is None:
            raise KeyError(sku)
        return found

    def stock(self, product_or_variation_id: int) -> int | None:
        """The stock quantity (None when the item does not manage stock)."""
        with self.lock:
            return self._item(product_or_variation_id).stock_quantity

    def set_stock(self, product_or_variation_id: int, quantity: int) -> None:
        """Change stock as a shop admin would: the item is saved, so date_modified moves."""
        with self.transaction():
            self.catalog.set_stock(self._item(product_or_variation_id), quantity)

    def product_json(self, product_or_variation_id: int) -> Json:
        """The item as GET /products/{id} would show it."""
        with self.lock:
            return render_product(self.catalog, self._item(product_or_variation_id), self.site)

    def set_prices_include_tax(self, include: bool) -> None:
        """The admin's "Prices entered with tax" setting (woocommerce_prices_include_tax);
        orders keep the setting they were placed under."""
        with self.lock:
            self.orders.taxes.prices_include_tax = include

    def deliveries(self, webhook_id: int | None = None) -> list[Delivery]:
        """Every webhook delivery attempt so far, oldest first."""
        found = self.webhooks.deliveries()
        return [d for d in found if webhook_id is None or d.webhook_id == webhook_id]

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until queued webhook deliveries (and their retries) are done."""
        return self.webhooks.wait_idle(timeout)

    def close(self) -> None:
        """Stop the webhook delivery thread."""
        self.webhooks.close()

    def _item(self, item_id: int) -> Product:
        item = self.catalog.get(item_id)
        if item is None:
            raise KeyError(item_id)
        return item

    # --- webhook events ----------------------------------------------------------------

    def _flush_events(self) -> None:
        events, self._events = self._events, []
        seen: set[tuple[int, int]] = set()
        for resource, event, resource_id in events:
            for webhook in self.webhooks.subscribers(f"{resource}.{event}"):
                if (webhook.id, resource_id) in seen:
                    continue
                seen.add((webhook.id, resource_id))
                payload = self._payload(resource, event, resource_id)
                self.webhooks.enqueue(webhook, payload, f"{self.site.url}/")

    def _payload(self, resource: str, event: str, resource_id: int) -> Json:
        if resource == "order":
            order = self.orders.orders.get(resource_id)
            if order is not None and event != "deleted":
                return render_order(self.orders, order, self.site)
        else:
            item = self.catalog.get(resource_id)
            if item is not None and event != "deleted":
                return render_product(self.catalog, item, self.site)
        return {"id": resource_id}


def _base(product: DemoProduct) -> Json:
    return {"name": product.name, "description": product.description}


def _sellable(variant: DemoVariant) -> Json:
    return {
        "sku": variant.sku,
        "global_unique_id": variant.barcode,
        "regular_price": price_text(variant.price),
        "manage_stock": True,
        "stock_quantity": variant.stock,
    }


def _size(product: DemoProduct) -> Json:
    options = [v.name for v in product.variants]
    return {
        "id": 0,
        "name": "Size",
        "position": 0,
        "visible": True,
        "variation": True,
        "options": options,
    }


def _variation(variant: DemoVariant) -> Json:
    return {**_sellable(variant), "attributes": [{"id": 0, "name": "Size", "option": variant.name}]}

"""Magento 2 / Adobe Commerce connector (admin REST under /rest/{store_code}, bearer token).

Stock is MSI source items: a quantity per SKU at the configured source (`source_code`),
written by SKU (`magento_stock`). Listings: a simple product is WebshopRef(product id); a
configurable's child is WebshopRef(parent id, child id). A child's product JSON does not
name its parent, so the parents are found once per connector from the configurables'
`configurable_product_links` (read again when a child turns up that is not in the map),
in pages of 10,000 with Magento's `fields` filter (ids and links only): a 100k-SKU store
costs two calls. A store with Web API input limits allows 300 a page; its refusal says
so and the read goes on at that size.

Orders and credit memos are in `magento_orders`, products in `magento_products`. Magento
Open Source sends no webhooks: orders are polled by `updated_at`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from possync.domain.models import (
    StockUpdate,
    WebshopListing,
    WebshopRef,
    WriteOutcome,
)
from possync.domain.products import ProductWrite, ProductWriteOutcome
from possync.vendors.http import ApiClient, RetryPolicy
from possync.vendors.magento.client import magento_error, search_pages
from possync.vendors.magento.config import MagentoConfig
from possync.vendors.magento.orders import MagentoOrders
from possync.vendors.magento.products import MagentoProducts, custom_attribute, max_price
from possync.vendors.magento.stock import BULK_LIMIT, StockWriter

__all__ = ["BULK_CHUNK", "MagentoShop", "magento_error"]

Json = dict[str, Any]
BULK_CHUNK = BULK_LIMIT  # updates per asynchronous bulk request


class MagentoShop(MagentoOrders, MagentoProducts):
    """Magento 2 as the webshop whose stock follows the POS, and as a product catalogue."""

    system = "magento"
    accepted_statuses: tuple[str, ...] = ("processing", "complete")
    # MSI's inventory_source_item.quantity is decimal(12,4): 99,999,999 whole units at most.
    max_stock = 99_999_999
    products_per_write = 20  # each product costs a few calls (children, links)
    typed_variants = True  # a configurable holds children; a simple product cannot

    def __init__(
        self,
        config: MagentoConfig,
        *,
        retry: RetryPolicy | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = 100,
    ) -> None:
        self.config = config
        self.page_size = page_size
        self._api = ApiClient(
            self.system,
            f"{config.url.rstrip('/')}/rest/{config.store_code}",
            headers={
                "Authorization": f"Bearer {config.access_token.get_secret_value()}",
                "Accept": "application/json",
            },
            timeout=config.timeout_seconds,
            retry=retry,
            error_parser=magento_error,
            event_hooks=event_hooks,
            sleep=sleep,
        )
        self._size = page_size
        self._stock = StockWriter(self._api, config, sleep)
        self._parents: dict[int, int] | None = None
        self._labels: dict[str, str] | None = None
        self._attribute: str | None = None

    def close(self) -> None:
        self._api.close()

    # -- products (ProductCatalogue) and orders: the methods of MagentoProducts
    # (products.py) and MagentoOrders (orders.py) --------------------------------------

    def max_price(self, currency: str) -> Decimal | None:
        return max_price(currency)

    def write_products(self, writes: Sequence[ProductWrite]) -> list[ProductWriteOutcome]:
        outcomes = super().write_products(writes)
        self._parents = None  # new children may have been linked
        return outcomes

    # -- listings ----------------------------------------------------------------------

    def listings_by_sku(self, skus: Sequence[str]) -> list[WebshopListing]:
        wanted = sorted({s for s in skus if s and "," not in s})
        odd = sorted({s for s in skus if s and "," in s})  # `in` splits on commas
        queries = [[("sku", ",".join(wanted[i : i + self.page_size]), "in")]
                   for i in range(0, len(wanted), self.page_size)]  # fmt: skip
        queries += [[("sku", s, "eq")] for s in odd]
        products: list[Json] = []
        for group in queries:
            for page in search_pages(self._api, "/V1/products", [group], page_size=self.page_size):
                products.extend(p for p in page if p.get("type_id") != "configurable")
        return self._listings(products)

    def listings(self, refs: Sequence[WebshopRef]) -> list[WebshopListing]:
        ids = sorted({int(r.variation_id or r.product_id) for r in refs})
        products: list[Json] = []
        for start in range(0, len(ids), self.page_size):
            group = [("entity_id", ",".join(str(i) for i in ids[start : start + self.page_size]),
                      "in")]  # fmt: skip
            for page in search_pages(self._api, "/V1/products", [group], page_size=self.page_size):
                products.extend(p for p in page if p.get("type_id") != "configurable")
        return self._listings(products)

    def all_listings(self) -> Iterator[list[WebshopListing]]:
        groups = [[("type_id", "simple,virtual", "in")]]
        sort = [("entity_id", "ASC")]
        for page in search_pages(
            self._api, "/V1/products", groups, page_size=self.page_size, sort=sort
        ):
            yield self._listings(page)

    def _listings(self, products: Sequence[Json]) -> list[WebshopListing]:
        if not products:
            return []
        parents = self.parents()
        if any(int(p["id"]) not in parents and p.get("visibility") == 1 for p in products):
            parents = self.parents(refresh=True)
        stock = self._source_items([str(p["sku"]) for p in products])
        found: list[WebshopListing] = []
        for product in products:
            product_id = int(product["id"])
            parent = parents.get(product_id)
            ref = (
                WebshopRef(product_id=str(parent), variation_id=str(product_id))
                if parent is not None
                else WebshopRef(product_id=str(product_id))
            )
            quantity = stock.get(str(product["sku"]))
            found.append(
                WebshopListing(
                    ref=ref,
                    sku=str(product["sku"]),
                    barcode=custom_attribute(product, self.config.barcode_attribute),
                    stock=int(quantity) if quantity is not None else None,
                    manage_stock=quantity is not None,
                    name=str(product.get("name") or ""),
                )
            )
        return found

    def _source_items(self, skus: Sequence[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        plain = [s for s in skus if "," not in s]
        queries = [("sku", ",".join(plain[i : i + self.page_size]), "in")
                   for i in range(0, len(plain), self.page_size)]  # fmt: skip
        queries += [("sku", s, "eq") for s in skus if "," in s]
        for query in queries:
            groups = [[query], [("source_code", self.config.source_code, "eq")]]
            for page in search_pages(
                self._api, "/V1/inventory/source-items", groups, page_size=self.page_size
            ):
                for item in page:
                    found[str(item["sku"])] = float(item.get("quantity") or 0)
        return found

    # -- writes ------------------------------------------------------------------------

    def write_batches(self, updates: Iterable[StockUpdate]) -> list[list[StockUpdate]]:
        """One synchronous call for up to `bulk_threshold` updates; above that, bulk
        requests of up to BULK_CHUNK."""
        items = list(updates)
        if len(items) <= self.config.bulk_threshold:
            return [items] if items else []
        size = BULK_CHUNK
        return [items[i : i + size] for i in range(0, len(items), size)]

    def set_stock(self, batch: Sequence[StockUpdate]) -> list[WriteOutcome]:
        if not batch:
            return []
        return self._stock.write(batch)

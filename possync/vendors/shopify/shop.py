"""Shopify connector (Admin GraphQL API, version 2025-01 by default; `X-Shopify-Access-Token`).

Stock lives on a variant's inventory item at a location, so every listing's ref is
(product gid, variant gid), also for a product without variants (its one default variant).
Reads go by SKU: `productVariants(query: "sku:\\"A\\" OR sku:\\"B\\"")`, 100 SKUs a query,
with each variant's inventory item and its `available` quantity at the configured
location (`inventoryItem.inventoryLevel(locationId).quantities(names: ["available"])`);
known refs through `nodes(ids)`, the whole catalogue through `productVariants` pages.
Writes go through `inventorySetQuantities`, at most 250 quantities a call (Shopify's input
limit), with compare-and-set: an update whose `previous` quantity is known sends it as
`compareQuantity`, so a quantity changed in Shopify since it was read is refused
(`COMPARE_QUANTITY_STALE`) instead of overwritten; updates without `previous` go in calls
with `ignoreCompareQuantity: true`. Each userError fails the update it points at.

Orders and refunds are in `shopify_orders`, products in `shopify_products`, the GraphQL
call and its pacing by the cost bucket in `shopify_client`.
"""

from __future__ import annotations

import logging
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
from possync.vendors.errors import FatalError
from possync.vendors.http import RetryPolicy
from possync.vendors.shopify.client import GRAPHQL_PATH, ShopifyGraphQL, shopify_error
from possync.vendors.shopify.config import ShopifyConfig
from possync.vendors.shopify.orders import ShopifyOrders
from possync.vendors.shopify.products import PRODUCTS_PER_WRITE, ShopifyProducts

__all__ = [
    "ALL_VARIANTS_QUERY",
    "LISTINGS_QUERY",
    "NODES_QUERY",
    "SET_QUANTITIES_MUTATION",
    "VARIANT_NODES_QUERY",
    "WRITE_LIMIT",
    "ShopifyConfig",
    "ShopifyShop",
    "shopify_error",
]

log = logging.getLogger(__name__)

WRITE_LIMIT = 250  # items in one input array, Shopify's maximum
PAGE_SIZE = 100  # variants per page: 2 + 100 x 5 points, well under the 1000-point ceiling

_LISTING = """
      id sku barcode
      product { id }
      inventoryItem {
        id
        tracked
        inventoryLevel(locationId: $location) {
          quantities(names: ["available"]) { name quantity }
        }
      }
"""

LISTINGS_QUERY = f"""
query PossyncVariantsBySku($query: String!, $first: Int!, $after: String, $location: ID!) {{
  productVariants(first: $first, after: $after, query: $query) {{
    nodes {{ {_LISTING} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

ALL_VARIANTS_QUERY = f"""
query PossyncAllVariants($first: Int!, $after: String, $location: ID!) {{
  productVariants(first: $first, after: $after) {{
    nodes {{ {_LISTING} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

VARIANT_NODES_QUERY = f"""
query PossyncVariantListings($ids: [ID!]!, $location: ID!) {{
  nodes(ids: $ids) {{
    ... on ProductVariant {{ {_LISTING} }}
  }}
}}
"""

NODES_QUERY = """
query PossyncVariantItems($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on ProductVariant { id inventoryItem { id } }
  }
}
"""

SET_QUANTITIES_MUTATION = """
mutation PossyncSetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { changes { name delta } }
    userErrors { field message code }
  }
}
"""


class ShopifyShop(ShopifyOrders, ShopifyProducts):
    """Shopify as the webshop whose stock follows the POS, and as a product catalogue."""

    system = "shopify"
    products_per_write = PRODUCTS_PER_WRITE  # one productSet call per product
    typed_variants = False  # any product takes more variants
    accepted_statuses: tuple[str, ...] = ("paid", "partially_refunded")
    # inventorySetQuantities: "The total quantity can't be higher than 1,000,000,000."
    # (InventorySetQuantitiesUserErrorCode.INVALID_QUANTITY_TOO_HIGH)
    max_stock = 1_000_000_000

    def __init__(
        self,
        config: ShopifyConfig,
        *,
        retry: RetryPolicy | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        page_size: int = PAGE_SIZE,
        skus_per_query: int = PAGE_SIZE,
    ) -> None:
        self.config = config
        self.page_size = max(1, min(page_size, WRITE_LIMIT))
        self.skus_per_query = max(1, min(skus_per_query, WRITE_LIMIT))
        self._items: dict[str, str] = {}  # variant gid -> inventory item gid
        self._gql = ShopifyGraphQL(
            config, retry=retry, event_hooks=event_hooks, sleep=sleep, clock=clock
        )
        self.retry = self._gql.retry

    def close(self) -> None:
        self._gql.close()

    # Orders and products: the methods of ShopifyOrders and ShopifyProducts (orders.py,
    # products.py), on this connector's `_gql`.

    def max_price(self, currency: str) -> Decimal | None:
        """None: the Admin API documents no maximum (ProductVariantSetInput.price is a
        Money string; Decimal "supports arbitrary precision"). Exactness in the
        currency is still required (the planner's check)."""
        return None

    # -- stock reads -------------------------------------------------------------------

    def listings_by_sku(self, skus: Sequence[str]) -> list[WebshopListing]:
        wanted = sorted({s for s in skus if s})
        found: list[WebshopListing] = []
        for start in range(0, len(wanted), self.skus_per_query):
            chunk = wanted[start : start + self.skus_per_query]
            search = " OR ".join(f"sku:{_quoted(s)}" for s in chunk)
            for page in self._variant_pages("PossyncVariantsBySku", LISTINGS_QUERY, search):
                found.extend(self._listing(n) for n in page if n.get("sku") in chunk)
        return found

    def all_listings(self) -> Iterator[list[WebshopListing]]:
        for page in self._variant_pages("PossyncAllVariants", ALL_VARIANTS_QUERY, None):
            yield [self._listing(n) for n in page]

    def listings(self, refs: Sequence[WebshopRef]) -> list[WebshopListing]:
        ids = sorted({r.variation_id for r in refs if r.variation_id})
        found: list[WebshopListing] = []
        for start in range(0, len(ids), self.page_size):
            variables = {"ids": ids[start : start + self.page_size], "location": self._location}
            data = self._gql.call("PossyncVariantListings", VARIANT_NODES_QUERY, variables)
            found.extend(self._listing(n) for n in data["nodes"] if n and n.get("id"))
        return found

    @property
    def _location(self) -> str:
        return self.config.location_id

    def _variant_pages(
        self, operation: str, document: str, search: str | None
    ) -> Iterator[list[dict[str, Any]]]:
        after: str | None = None
        while True:
            variables: dict[str, Any] = {
                "first": self.page_size,
                "after": after,
                "location": self._location,
            }
            if search is not None:
                variables["query"] = search
            # each variant: itself, product, inventory item, level, quantities
            estimate = 2 + 5 * self.page_size
            data = self._gql.call(operation, document, variables, estimate=estimate)
            page = data["productVariants"]
            yield page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def _listing(self, node: Mapping[str, Any]) -> WebshopListing:
        item = node["inventoryItem"]
        self._items[node["id"]] = item["id"]
        level = item.get("inventoryLevel")
        stock = None
        if level is not None:
            stock = next(
                (q["quantity"] for q in level["quantities"] if q["name"] == "available"), None
            )
        return WebshopListing(
            ref=WebshopRef(product_id=node["product"]["id"], variation_id=node["id"]),
            sku=node.get("sku") or None,
            barcode=node.get("barcode") or None,
            stock=stock,
            manage_stock=bool(item.get("tracked", True)),
        )

    def _inventory_items(self, variant_ids: Sequence[str]) -> dict[str, str]:
        missing = sorted({v for v in variant_ids if v not in self._items})
        for start in range(0, len(missing), WRITE_LIMIT):
            ids = missing[start : start + WRITE_LIMIT]
            data = self._gql.call("PossyncVariantItems", NODES_QUERY, {"ids": ids})
            for node in data["nodes"]:
                if node and node.get("inventoryItem"):
                    self._items[node["id"]] = node["inventoryItem"]["id"]
        return {v: self._items[v] for v in variant_ids if v in self._items}

    # -- stock writes ------------------------------------------------------------------

    def write_batches(self, updates: Iterable[StockUpdate]) -> list[list[StockUpdate]]:
        """Groups of at most 250 (one inventorySetQuantities input); any variants mix."""
        items = list(updates)
        return [items[i : i + WRITE_LIMIT] for i in range(0, len(items), WRITE_LIMIT)]

    def set_stock(self, batch: Sequence[StockUpdate]) -> list[WriteOutcome]:
        outcomes: list[WriteOutcome] = []
        variant_ids = [u.ref.variation_id for u in batch if u.ref.variation_id]
        items = self._inventory_items(variant_ids)
        ready: list[tuple[StockUpdate, str]] = []
        for update in batch:
            item = items.get(update.ref.variation_id or "")
            if item is None:
                outcomes.append(
                    WriteOutcome(update=update, ok=False, error="variant not found in Shopify")
                )
            else:
                ready.append((update, item))
        for compare in (True, False):
            group = [(u, i) for u, i in ready if (u.previous is not None) == compare]
            for start in range(0, len(group), WRITE_LIMIT):
                outcomes.extend(self._write(group[start : start + WRITE_LIMIT], compare))
        return outcomes

    def _write(self, batch: list[tuple[StockUpdate, str]], compare: bool) -> list[WriteOutcome]:
        """One call; refused items fail, and if Shopify applied nothing the rest go again."""
        outcomes: list[WriteOutcome] = []
        pending = batch
        for _ in range(2):
            if not pending:
                break
            payload = self._set_quantities(pending, compare)
            failed = _failed_indexes(payload["userErrors"], len(pending))
            for index, message in failed.items():
                outcomes.append(WriteOutcome(update=pending[index][0], ok=False, error=message))
            rest = [entry for i, entry in enumerate(pending) if i not in failed]
            if payload["inventoryAdjustmentGroup"] is not None or not failed:
                outcomes.extend(WriteOutcome(update=u, ok=True) for u, _ in rest)
                return outcomes
            pending = rest  # nothing was applied: send the items nobody objected to again
        outcomes.extend(
            WriteOutcome(update=u, ok=False, error="not applied: Shopify refused the batch")
            for u, _ in pending
        )
        return outcomes

    def _set_quantities(self, batch: list[tuple[StockUpdate, str]], compare: bool) -> Any:
        quantities = []
        for update, item in batch:
            entry: dict[str, Any] = {
                "inventoryItemId": item,
                "locationId": self.config.location_id,
                "quantity": update.quantity,
            }
            if compare:
                entry["compareQuantity"] = update.previous
            quantities.append(entry)
        variables = {
            "input": {
                "name": "available",
                "reason": self.config.reason,
                "ignoreCompareQuantity": not compare,
                "quantities": quantities,
            }
        }
        data = self._gql.call(
            "PossyncSetQuantities", SET_QUANTITIES_MUTATION, variables, mutation=True
        )
        result = data["inventorySetQuantities"]
        if result is None:
            raise FatalError(self.system, "POST", GRAPHQL_PATH, "inventorySetQuantities: null")
        return result


def _quoted(sku: str) -> str:
    escaped = sku.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _failed_indexes(user_errors: Sequence[Mapping[str, Any]], size: int) -> dict[int, str]:
    """userErrors by the quantity they point at (`["input", "quantities", "3", ...]`); an
    error that names no quantity fails them all."""
    failed: dict[int, str] = {}
    for error in user_errors:
        text = f"{error.get('code') or 'ERROR'}: {error.get('message', '')}"
        field = list(error.get("field") or [])
        if len(field) >= 3 and field[1] == "quantities" and str(field[2]).isdigit():
            failed.setdefault(int(field[2]), text)
        else:
            return dict.fromkeys(range(size), text)
    return failed

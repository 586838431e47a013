"""Shopify connector (Admin GraphQL API, version 2025-01 by default; `X-Shopify-Access-Token`).

Reads go by SKU: `productVariants(query: "sku:\\"A\\" OR sku:\\"B\\"")`, 100 SKUs a query,
with each variant's inventory item and its `available` quantity at the configured
location (`inventoryItem.inventoryLevel(locationId).quantities(names: ["available"])`).
Writes go through `inventorySetQuantities`, at most 250 quantities a call (Shopify's input
limit), with compare-and-set: an update whose `previous` quantity is known sends it as
`compareQuantity`, so a quantity changed in Shopify since it was read is refused
(`COMPARE_QUANTITY_STALE`) instead of overwritten; updates without `previous` go in calls
with `ignoreCompareQuantity: true`. Each userError fails the update it points at.

Throttling is Shopify's calculated query cost (a leaky bucket): each answer's
`extensions.cost.throttleStatus` says what the bucket holds and how fast it refills, so
before a call the client waits until the bucket covers that query's cost as last seen. A
`THROTTLED` answer (HTTP 200) raises `RateLimited` with the wait the restore rate implies,
and the call is tried again up to the retry policy's attempts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from possync.connectors.errors import FatalError, RateLimited
from possync.connectors.http import ApiClient, RetryPolicy
from possync.models import StockUpdate, WebshopListing, WebshopRef, WriteOutcome

__all__ = [
    "LISTINGS_QUERY",
    "NODES_QUERY",
    "SET_QUANTITIES_MUTATION",
    "WRITE_LIMIT",
    "ShopifyConfig",
    "ShopifyShop",
    "shopify_error",
]

log = logging.getLogger(__name__)

WRITE_LIMIT = 250  # items in one input array, Shopify's maximum
PAGE_SIZE = 100  # variants per page: 2 + 100 x 5 points, well under the 1000-point ceiling
GRAPHQL_PATH = "/graphql.json"
MUTATION_COST = 10.0  # Shopify's documented cost of a mutation, until an answer says more

LISTINGS_QUERY = """
query PossyncVariantsBySku($query: String!, $first: Int!, $after: String, $location: ID!) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes {
      id
      sku
      barcode
      product { id }
      inventoryItem {
        id
        tracked
        inventoryLevel(locationId: $location) {
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
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


class ShopifyConfig(BaseModel):
    """`shop_url` is the shop's admin address (https://NAME.myshopify.com); `location_id` the
    Location gid whose `available` quantities follow the POS."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shop_url: str
    access_token: SecretStr
    location_id: str
    api_version: str = "2025-01"
    timeout_seconds: float = 30.0
    reason: str = "correction"


def shopify_error(response: httpx.Response) -> tuple[str | None, str]:
    """Shopify's HTTP error body: {"errors": "text"} or {"errors": {...}} or a list."""
    body = response.json()
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, str):
        return None, errors
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return _code(errors[0]), "; ".join(str(e.get("message", "")) for e in errors)
    if errors:
        return None, str(errors)[:300]
    return None, response.reason_phrase


def _code(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return str(code) if code is not None else None


class _Bucket:
    """What the client knows of Shopify's cost bucket, from the last answer."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.maximum: float | None = None
        self.available = 0.0
        self.restore_rate = 0.0
        self._at = 0.0

    def note(self, status: Mapping[str, Any]) -> None:
        self.maximum = float(status["maximumAvailable"])
        self.available = float(status["currentlyAvailable"])
        self.restore_rate = float(status["restoreRate"])
        self._at = self._clock()

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds `cost` (0 if it does, or nothing is known yet)."""
        if self.maximum is None or self.restore_rate <= 0:
            return 0.0
        cost = min(cost, self.maximum)
        now = min(self.maximum, self.available + (self._clock() - self._at) * self.restore_rate)
        return max(0.0, (cost - now) / self.restore_rate)


class ShopifyShop:
    """Shopify as the webshop whose stock follows the POS."""

    system = "shopify"

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
        self.retry = retry or RetryPolicy()
        self.page_size = max(1, min(page_size, WRITE_LIMIT))
        self.skus_per_query = max(1, min(skus_per_query, WRITE_LIMIT))
        self._sleep = sleep
        self._bucket = _Bucket(clock)
        self._costs: dict[str, float] = {}  # operation -> requested cost last seen
        self._items: dict[str, str] = {}  # variant gid -> inventory item gid
        self._api = ApiClient(
            self.system,
            f"{config.shop_url.rstrip('/')}/admin/api/{config.api_version}",
            headers={
                "X-Shopify-Access-Token": config.access_token.get_secret_value(),
                "Accept": "application/json",
            },
            timeout=config.timeout_seconds,
            retry=self.retry,
            error_parser=shopify_error,
            event_hooks=event_hooks,
            sleep=sleep,
        )

    def close(self) -> None:
        self._api.close()

    # -- reads -------------------------------------------------------------------------

    def listings_by_sku(self, skus: Sequence[str]) -> list[WebshopListing]:
        wanted = sorted({s for s in skus if s})
        found: list[WebshopListing] = []
        for start in range(0, len(wanted), self.skus_per_query):
            chunk = wanted[start : start + self.skus_per_query]
            search = " OR ".join(f"sku:{_quoted(s)}" for s in chunk)
            after: str | None = None
            while True:
                data = self._call(
                    "PossyncVariantsBySku",
                    LISTINGS_QUERY,
                    {
                        "query": search,
                        "first": self.page_size,
                        "after": after,
                        "location": self.config.location_id,
                    },
                )
                page = data["productVariants"]
                for node in page["nodes"]:
                    if node.get("sku") in chunk:
                        found.append(self._listing(node))
                info = page["pageInfo"]
                if not info["hasNextPage"]:
                    break
                after = info["endCursor"]
        return found

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
            data = self._call("PossyncVariantItems", NODES_QUERY, {"ids": ids})
            for node in data["nodes"]:
                if node and node.get("inventoryItem"):
                    self._items[node["id"]] = node["inventoryItem"]["id"]
        return {v: self._items[v] for v in variant_ids if v in self._items}

    # -- writes ------------------------------------------------------------------------

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[WriteOutcome]:
        outcomes: list[WriteOutcome] = []
        variant_ids = [u.ref.variation_id for u in updates if u.ref.variation_id]
        items = self._inventory_items(variant_ids)
        ready: list[tuple[StockUpdate, str]] = []
        for update in updates:
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
        data = self._call("PossyncSetQuantities", SET_QUANTITIES_MUTATION, variables, mutation=True)
        result = data["inventorySetQuantities"]
        if result is None:
            raise FatalError(self.system, "POST", GRAPHQL_PATH, "inventorySetQuantities: null")
        return result

    # -- the GraphQL call --------------------------------------------------------------

    def _call(
        self,
        operation: str,
        document: str,
        variables: Mapping[str, Any],
        *,
        mutation: bool = False,
    ) -> Any:
        """POST one document; wait for the bucket first; retry THROTTLED answers."""
        attempt = 0
        while True:
            expected = self._costs.get(operation, MUTATION_COST if mutation else 0.0)
            wait = self._bucket.wait_for(expected)
            if wait > 0:
                log.info("shopify: waiting %.2fs for the cost bucket (%s)", wait, operation)
                self._sleep(wait)
            try:
                return self._post(operation, document, variables, mutation)
            except RateLimited as exc:
                attempt += 1
                if attempt >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt - 1, exc.retry_after)
                log.warning(
                    "%s; retry %d/%d in %.2fs", exc, attempt, self.retry.attempts - 1, delay
                )
                self._sleep(delay)

    def _post(
        self, operation: str, document: str, variables: Mapping[str, Any], mutation: bool
    ) -> Any:
        response = self._api.post(
            GRAPHQL_PATH,
            json={"query": document, "variables": dict(variables), "operationName": operation},
            safe_to_repeat=not mutation,
        )
        body = response.json()
        cost = (body.get("extensions") or {}).get("cost")
        if isinstance(cost, dict):
            if cost.get("requestedQueryCost") is not None:
                self._costs[operation] = float(cost["requestedQueryCost"])
            if isinstance(cost.get("throttleStatus"), dict):
                self._bucket.note(cost["throttleStatus"])
        errors = body.get("errors") or []
        if any(_code(e) == "THROTTLED" for e in errors if isinstance(e, dict)):
            requested = self._costs.get(operation, 0.0)
            raise RateLimited(
                self.system,
                "POST",
                GRAPHQL_PATH,
                "Throttled",
                status=response.status_code,
                code="THROTTLED",
                retry_after=self._bucket.wait_for(requested),
            )
        if errors:
            code, message = shopify_error(response)
            raise FatalError(
                self.system, "POST", GRAPHQL_PATH, message, status=response.status_code, code=code
            )
        return body["data"]


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

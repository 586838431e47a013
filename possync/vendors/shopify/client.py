"""One GraphQL call to Shopify's Admin API, paced by the calculated-query-cost bucket.

Throttling is Shopify's calculated query cost (a leaky bucket): each answer's
`extensions.cost.throttleStatus` says what the bucket holds and how fast it refills, so
before a call the client waits until the bucket covers that operation's cost as last seen
(a mutation's is 10 until an answer says). A `THROTTLED` answer (HTTP 200) raises
`RateLimited` with the wait the restore rate implies, and the call is tried again up to
the retry policy's attempts. Other GraphQL errors are the caller's fault: `FatalError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from possync.vendors.errors import FatalError, RateLimited
from possync.vendors.http import ApiClient, RetryPolicy
from possync.vendors.shopify.config import ShopifyConfig

__all__ = ["GRAPHQL_PATH", "ShopifyGraphQL", "gid_number", "shopify_error"]

log = logging.getLogger(__name__)

GRAPHQL_PATH = "/graphql.json"
MUTATION_COST = 10.0  # Shopify's documented cost of a mutation, until an answer says more


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


def gid_number(gid: str) -> str:
    """`gid://shopify/Order/123` → `123`."""
    return gid.rsplit("/", 1)[-1]


def _code(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return str(code) if code is not None else None


class _Bucket:
    """What the client knows of Shopify's cost bucket, from the last answer.

    One per shop in a process (`_shared_bucket`): Shopify's bucket belongs to the app and
    shop, so connectors working in parallel threads pace themselves together."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.lock = threading.Lock()
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

    def spend(self, cost: float) -> None:
        """Count a call about to be sent, so back-to-back calls pace themselves."""
        if self.maximum is not None:
            self.available = self._now() - cost
            self._at = self._clock()

    def _now(self) -> float:
        assert self.maximum is not None
        elapsed = self._clock() - self._at
        return min(self.maximum, self.available + elapsed * self.restore_rate)

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds `cost` (0 if it does, or nothing is known yet)."""
        if self.maximum is None or self.restore_rate <= 0:
            return 0.0
        cost = min(cost, self.maximum)
        return max(0.0, (cost - self._now()) / self.restore_rate)


_BUCKETS: dict[str, _Bucket] = {}
_BUCKETS_LOCK = threading.Lock()


def _shared_bucket(shop_url: str, clock: Callable[[], float]) -> _Bucket:
    key = f"{shop_url.rstrip('/')}|{id(clock)}"
    with _BUCKETS_LOCK:
        return _BUCKETS.setdefault(key, _Bucket(clock))


class ShopifyGraphQL:
    """POSTs documents to /admin/api/{version}/graphql.json and returns their `data`."""

    system = "shopify"

    def __init__(
        self,
        config: ShopifyConfig,
        *,
        retry: RetryPolicy | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._bucket = _shared_bucket(config.shop_url, clock)
        self._costs: dict[str, float] = {}  # operation -> requested cost last seen
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

    def call(
        self,
        operation: str,
        document: str,
        variables: Mapping[str, Any],
        *,
        mutation: bool = False,
        estimate: float | None = None,
    ) -> Any:
        """POST one document; wait for the bucket first; retry THROTTLED answers.

        The wait is for the operation's cost as Shopify last reported it, or before its
        first answer for `estimate` (the caller's reckoning from its page sizes)."""
        attempt = 0
        first_guess = estimate if estimate is not None else (MUTATION_COST if mutation else 0.0)
        while True:
            self._take(operation, self._costs.get(operation, first_guess))
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

    def _take(self, operation: str, expected: float) -> None:
        """Wait until the bucket (as last reported) holds `expected`, then count it spent."""
        while True:
            with self._bucket.lock:
                wait = self._bucket.wait_for(expected)
                if wait <= 0:
                    self._bucket.spend(expected)
                    return
            log.info("shopify: waiting %.2fs for the cost bucket (%s)", wait, operation)
            self._sleep(wait)

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
                with self._bucket.lock:
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

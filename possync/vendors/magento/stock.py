"""Magento MSI stock writes: source items per SKU at the configured source.

Up to `bulk_threshold` items go in one synchronous `POST /V1/inventory/source-items`
(absolute quantities, safe to repeat). Magento validates that call as a whole, so one
refused item refuses them all: the batch is then sent again through the bulk API, where
each item is its own operation and gets its own outcome.

More items go through the asynchronous bulk API: `POST /async/bulk/V1/inventory/
source-items` with an array of request bodies (one `{"sourceItems": [item]}` per update,
so each update is one operation), then `GET /V1/bulk/{uuid}/status` every
`bulk_poll_seconds` until no operation is open (4). Complete (1) is written; not
retriably failed (3) and rejected (5) are refusals with Magento's message; retriably
failed (2) are sent once more in a new bulk, and whatever still fails is reported. No
answer within `bulk_timeout_seconds` raises a RetriableError (the writes are absolute, so
the task's retry repeats them harmlessly).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from possync.domain.models import StockUpdate, WriteOutcome
from possync.vendors.errors import FatalError, RetriableError
from possync.vendors.http import ApiClient
from possync.vendors.magento.config import MagentoConfig

__all__ = ["BULK_LIMIT", "BULK_PATH", "OPEN", "StockWriter"]

Json = dict[str, Any]
SOURCE_ITEMS_PATH = "/V1/inventory/source-items"
BULK_PATH = "/async/bulk/V1/inventory/source-items"
BULK_LIMIT = 5000  # entities a bulk request may hold (Adobe's default async input limit)
COMPLETE, RETRIABLY_FAILED, NOT_RETRIABLY_FAILED, OPEN, REJECTED = 1, 2, 3, 4, 5


class StockWriter:
    """Writes groups of StockUpdates as source items, synchronously or in bulk."""

    def __init__(
        self,
        api: ApiClient,
        config: MagentoConfig,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._config = config
        self._sleep = sleep
        self._clock = clock

    def item(self, update: StockUpdate) -> Json:
        return {
            "sku": update.sku,
            "source_code": self._config.source_code,
            "quantity": update.quantity,
            "status": 1 if update.quantity > 0 else 0,
        }

    def write(self, batch: Sequence[StockUpdate]) -> list[WriteOutcome]:
        missing = [u for u in batch if not u.sku]
        outcomes = [WriteOutcome(update=u, ok=False, error="no SKU to write") for u in missing]
        writable = [u for u in batch if u.sku]
        if not writable:
            return outcomes
        if len(writable) > self._config.bulk_threshold:
            return outcomes + self.write_bulk(writable)
        body = {"sourceItems": [self.item(u) for u in writable]}
        try:
            self._api.post(SOURCE_ITEMS_PATH, json=body, safe_to_repeat=True)
        except FatalError as exc:
            if exc.status != 400 or len(writable) == 1:
                if exc.status == 400:
                    refused = WriteOutcome(update=writable[0], ok=False, error=exc.vendor_message)
                    return [*outcomes, refused]
                raise
            return outcomes + self.write_bulk(writable)
        return outcomes + [WriteOutcome(update=u, ok=True) for u in writable]

    def write_bulk(self, updates: Sequence[StockUpdate]) -> list[WriteOutcome]:
        results = self._run_bulk(updates)
        retry = [u for u, (status, _) in zip(updates, results, strict=True)
                 if status == RETRIABLY_FAILED]  # fmt: skip
        again = dict(zip([id(u) for u in retry], self._run_bulk(retry), strict=True))
        outcomes: list[WriteOutcome] = []
        for update, (status, message) in zip(updates, results, strict=True):
            if status == RETRIABLY_FAILED:
                status, message = again[id(update)]
            if status == COMPLETE:
                outcomes.append(WriteOutcome(update=update, ok=True))
            else:
                text = message or f"bulk operation status {status}"
                outcomes.append(WriteOutcome(update=update, ok=False, error=text))
        return outcomes

    def _run_bulk(self, updates: Sequence[StockUpdate]) -> list[tuple[int, str | None]]:
        """(status, message) per update, in order, BULK_LIMIT operations a bulk request."""
        results: list[tuple[int, str | None]] = []
        for start in range(0, len(updates), BULK_LIMIT):
            results += self._run_one_bulk(updates[start : start + BULK_LIMIT])
        return results

    def _run_one_bulk(self, updates: Sequence[StockUpdate]) -> list[tuple[int, str | None]]:
        """(status, message) per update, in order, once the bulk has no open operation."""
        body = [{"sourceItems": [self.item(u)]} for u in updates]
        accepted = self._api.post(BULK_PATH, json=body, safe_to_repeat=True).json()
        results: list[tuple[int, str | None]] = [(OPEN, None)] * len(updates)
        for item in accepted.get("request_items") or []:
            index = int(item.get("id", -1))
            if 0 <= index < len(updates) and item.get("status") == "rejected":
                results[index] = (REJECTED, str(item.get("error_message") or "rejected"))
        bulk_uuid = str(accepted["bulk_uuid"])
        deadline = self._clock() + self._config.bulk_timeout_seconds
        while any(status == OPEN for status, _ in results):
            self._sleep(self._config.bulk_poll_seconds)
            status_body = self._api.get(f"/V1/bulk/{bulk_uuid}/status").json()
            for op in status_body.get("operations_list") or []:
                index = int(op.get("id", -1))
                if 0 <= index < len(updates) and results[index][0] != REJECTED:
                    results[index] = (int(op.get("status") or OPEN), op.get("result_message"))
            if any(status == OPEN for status, _ in results) and self._clock() > deadline:
                raise RetriableError(
                    "magento",
                    "GET",
                    "/V1/bulk/{uuid}/status",
                    f"bulk {bulk_uuid} still has open operations after "
                    f"{self._config.bulk_timeout_seconds:g}s",
                )
        return results

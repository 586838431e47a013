"""The Magento emulator's shop: catalogue, sales and the asynchronous bulk queue, one lock.

Bulk requests (`POST /async/bulk/V1/...`) are accepted at once and queued, one operation
per element of the request's array; a consumer thread (Magento's `async.operations.all`)
runs them after `bulk_delay` seconds, each as its synchronous endpoint would, and records
status 1 (complete) or 3 (failed, not retriable: change something first) with the
message. `fail_next_retriably` makes the next operations fail with status 2 (retriable),
as a deadlock or lost connection in the consumer does.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from emulators.demo import DemoProduct
from emulators.magento_catalog import (
    BARCODE_ATTRIBUTE,
    DEFAULT_SOURCE,
    NOT_VISIBLE,
    SIZE_ATTRIBUTE,
    SIZE_ATTRIBUTE_ID,
    Catalog,
    CatalogError,
    stamp,
)
from emulators.magento_sales import Sales

Json = dict[str, Any]
COMPLETE, RETRIABLY_FAILED, NOT_RETRIABLY_FAILED, OPEN, REJECTED = 1, 2, 3, 4, 5
SOURCE_ITEMS_TOPIC = "async.magento.inventoryapi.api.sourceitemssaveinterface.execute.post"


@dataclass
class Operation:
    id: int
    body: Json
    status: int = OPEN
    result_message: str | None = None
    error_code: int | None = None


@dataclass
class Bulk:
    uuid: str
    topic: str
    start_time: str
    run: Callable[[Json], None]
    operations: list[Operation] = field(default_factory=list)


def now_seconds() -> datetime:
    return datetime.now(UTC)


class MagentoState:
    """One store, safe to share between the server thread, the consumer and a test."""

    def __init__(self, *, currency: str = "EUR", bulk_delay: float = 0.05) -> None:
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = now_seconds
        self.catalog = Catalog(self.now)
        self.sales = Sales(self.catalog, self.now, currency)
        self.bulks: dict[str, Bulk] = {}
        self.bulk_delay = bulk_delay
        self.fail_next_retriably = 0
        self.input_limits = False  # Adobe's Web API input limits (off by default, as there)
        self._queue: list[Bulk] = []
        self._wake = threading.Condition(self.lock)
        self._stopped = False
        self._consumer = threading.Thread(target=self._consume, name="magento-bulk", daemon=True)
        self._consumer.start()

    def now(self) -> datetime:
        """The store's clock in whole seconds; replace `clock` to move time in tests."""
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def close(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        self._consumer.join(5)

    # --- bulk ---------------------------------------------------------------------------

    def schedule(self, topic: str, bodies: list[Json], run: Callable[[Json], None]) -> Json:
        """Accept a bulk request: one open operation per body; the AsyncResponse."""
        with self._wake:
            bulk = Bulk(str(uuid.uuid4()), topic, stamp(self.now()), run)
            bulk.operations = [Operation(i, body) for i, body in enumerate(bodies)]
            self.bulks[bulk.uuid] = bulk
            self._queue.append(bulk)
            self._wake.notify_all()
        items = [
            {
                "id": op.id,
                "data_hash": hashlib.sha256(json.dumps(op.body).encode()).hexdigest(),
                "status": "accepted",
            }
            for op in bulk.operations
        ]
        return {"bulk_uuid": bulk.uuid, "request_items": items, "errors": False}

    def bulk(self, bulk_uuid: str) -> Bulk:
        found = self.bulks.get(bulk_uuid)
        if found is None:
            raise CatalogError(400, "Bulk uuid %bulkUuid not exist", [bulk_uuid])
        return found

    def _consume(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                bulk = self._queue.pop(0)
            threading.Event().wait(self.bulk_delay)
            for op in bulk.operations:
                with self.lock:
                    self._run(bulk, op)

    def _run(self, bulk: Bulk, op: Operation) -> None:
        if self.fail_next_retriably > 0:
            self.fail_next_retriably -= 1
            op.status, op.error_code = RETRIABLY_FAILED, 0
            op.result_message = "Deadlock found when trying to get lock; try restarting transaction"
            return
        try:
            bulk.run(op.body)
        except CatalogError as exc:
            op.status, op.error_code = NOT_RETRIABLY_FAILED, 0
            op.result_message = render_message(exc.message, exc.parameters)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            op.status, op.error_code = NOT_RETRIABLY_FAILED, 0
            op.result_message = f"Error processing the request: {type(exc).__name__}"
        else:
            op.status = COMPLETE
            op.result_message = "Service execution success " + bulk.topic

    # --- the storefront and tests -------------------------------------------------------

    def seed(self, products: list[DemoProduct]) -> None:
        """The demo catalogue: simple products, or configurables of hidden simple children
        varying by `size`; each SKU's stock at the default source."""
        with self.lock:
            for product in products:
                base = {"custom_attributes": [{"attribute_code": "description",
                                               "value": product.description}]}  # fmt: skip
                children: list[int] = []
                values: list[Json] = []
                for variant in product.variants:
                    attributes = [
                        *base["custom_attributes"],
                        {"attribute_code": BARCODE_ATTRIBUTE, "value": variant.barcode},
                    ]
                    body: Json = {
                        "sku": variant.sku,
                        "name": product.name,
                        "type_id": "simple",
                        "price": str(variant.price),
                        "status": 1,
                        "visibility": 4,
                    }
                    if not product.simple:
                        option = self.catalog.size_option(variant.name)
                        attributes.append({"attribute_code": SIZE_ATTRIBUTE, "value": str(option)})
                        body["name"] = f"{product.name}-{variant.name}"
                        body["visibility"] = NOT_VISIBLE
                        values.append({"value_index": option})
                    body["custom_attributes"] = attributes
                    child = self.catalog.save(body)
                    children.append(child.id)
                    self.catalog.save_source_item(
                        {"sku": variant.sku, "source_code": DEFAULT_SOURCE,
                         "quantity": variant.stock, "status": 1 if variant.stock else 0}
                    )  # fmt: skip
                if product.simple:
                    continue
                parent = self.catalog.save(
                    {"sku": product.key, "name": product.name, "type_id": "configurable",
                     "status": 1, "visibility": 4, **base}
                )  # fmt: skip
                self.catalog.set_children(parent, children)
                parent.options = [size_option_axis(parent.id, values)]

    def stock(self, sku: str) -> Decimal | None:
        with self.lock:
            return self.catalog.quantity(sku)


def size_option_axis(product_id: int, values: list[Json]) -> Json:
    """A configurable's `size` axis as configurable-product-data-option-interface."""
    return {
        "id": product_id,
        "attribute_id": str(SIZE_ATTRIBUTE_ID),
        "label": "Size",
        "position": 0,
        "values": values,
        "product_id": product_id,
    }


def render_message(message: str, parameters: list[str] | dict[str, object]) -> str:
    """Magento's placeholders filled in: %1, %2 … by position, %name by key."""
    if isinstance(parameters, dict):
        for key, value in parameters.items():
            message = message.replace(f"%{key}", str(value))
        return message
    for index in range(len(parameters), 0, -1):
        message = message.replace(f"%{index}", str(parameters[index - 1]))
    return message

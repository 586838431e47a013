"""The Shopify emulator's shop: products, variants, inventory at locations, and the
calculated-query-cost bucket that throttles an app.

Throttling follows Shopify's documented leaky bucket for the GraphQL Admin API
(https://shopify.dev/docs/api/usage/limits, "The leaky bucket algorithm";
https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): every request's
requested cost must be available in the bucket before it runs; the bucket refills at the
restore rate per second up to its maximum. The defaults, a 1000-point bucket restoring
50 points a second, are the Standard plan's long-published figures (the throttled answer
Shopify documents shows `maximumAvailable: 1000, restoreRate: 50`); Shopify's current
limits page gives Standard 100 points/second, so both numbers are settable.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from possync.emulators.demo import DemoProduct

__all__ = ["Bucket", "ShopifyState", "Variant"]

GID = "gid://shopify"


@dataclass
class Variant:
    id: str
    product_id: str
    inventory_item_id: str
    sku: str
    barcode: str | None


@dataclass
class Bucket:
    """Shopify's cost bucket for one app on one shop."""

    maximum: float = 1000.0
    restore_rate: float = 50.0
    clock: Callable[[], float] = time.monotonic
    _available: float = field(default=-1.0)
    _at: float = 0.0

    def __post_init__(self) -> None:
        if self._available < 0:
            self._available = self.maximum
        self._at = self.clock()

    def available(self) -> float:
        now = self.clock()
        self._available = min(self.maximum, self._available + (now - self._at) * self.restore_rate)
        self._at = now
        return self._available

    def take(self, cost: float) -> bool:
        """Spend `cost` if the bucket holds it; False (nothing spent) if it does not."""
        if self.available() < cost:
            return False
        self._available -= cost
        return True

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            # rounded down, so a client never counts on points the shop has not got
            "currentlyAvailable": math.floor(self.available() * 10) / 10,
            "restoreRate": self.restore_rate,
        }


class ShopifyState:
    """One shop: its variants (with inventory items) and available quantities per location."""

    def __init__(self, *, bucket: Bucket | None = None) -> None:
        self.lock = threading.RLock()
        self.bucket = bucket or Bucket()
        self.locations: dict[str, str] = {f"{GID}/Location/1": "Shop"}
        self.variants: list[Variant] = []
        self.available: dict[tuple[str, str], int] = {}  # (inventory item, location) -> qty
        self.forced_throttles = 0
        self.throttled = 0  # THROTTLED answers given so far
        self._next_id = 1000

    @property
    def default_location(self) -> str:
        return next(iter(self.locations))

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_location(self, name: str) -> str:
        with self.lock:
            gid = f"{GID}/Location/{self._new_id()}"
            self.locations[gid] = name
            return gid

    def add_variant(self, product_id: str, sku: str, barcode: str | None, stock: int) -> Variant:
        with self.lock:
            number = self._new_id()
            variant = Variant(
                id=f"{GID}/ProductVariant/{number}",
                product_id=product_id,
                inventory_item_id=f"{GID}/InventoryItem/{number}",
                sku=sku,
                barcode=barcode,
            )
            self.variants.append(variant)
            self.available[(variant.inventory_item_id, self.default_location)] = stock
            return variant

    def seed(self, catalogue: Iterable[DemoProduct]) -> None:
        """One Shopify product per demo product, one variant per demo variant, stocked at
        the default location."""
        with self.lock:
            for product in catalogue:
                product_id = f"{GID}/Product/{self._new_id()}"
                for v in product.variants:
                    self.add_variant(product_id, v.sku, v.barcode, v.stock)

    def variant_by_sku(self, sku: str) -> Variant:
        return next(v for v in self.variants if v.sku == sku)

    def stock(self, sku: str, location_id: str | None = None) -> int | None:
        item = self.variant_by_sku(sku).inventory_item_id
        return self.available.get((item, location_id or self.default_location))

    def force_throttle(self, times: int = 1) -> None:
        """Answer the next `times` requests THROTTLED whatever the bucket holds."""
        with self.lock:
            self.forced_throttles += times

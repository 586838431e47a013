"""The Shopify emulator's shop: products, variants, inventory at locations, orders with
refunds, webhook subscriptions, and the calculated-query-cost bucket that throttles an app.

Throttling follows Shopify's documented leaky bucket for the GraphQL Admin API
(https://shopify.dev/docs/api/usage/limits, "The leaky bucket algorithm";
https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): every request's
requested cost must be available in the bucket before it runs; the bucket refills at the
restore rate per second up to its maximum. The defaults are the Standard plan's: the rate
limits page gives 100 points/second, and the bucket holds 20 seconds of it (2000 points,
the `maximumAvailable` Shopify reports on that plan). Both are settable, so a benchmark
can run against Advanced (200/s) or Plus (1000/s) figures (`Bucket.for_plan`, buckets
assumed to hold 20 seconds' restore as Standard's does) or a deliberately small bucket.

Timestamps are kept to the microsecond (so "changed after" filters and sort orders are
exact) and rendered as Shopify does, to the second with a `Z`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from emulators.demo import DemoProduct

__all__ = [
    "Bucket",
    "LineItem",
    "Order",
    "Product",
    "Refund",
    "RefundLine",
    "ShopifyState",
    "Variant",
    "iso",
]

GID = "gid://shopify"
STANDARD_MAXIMUM = 2000.0
STANDARD_RESTORE_RATE = 100.0
# points restored per second by plan (Shopify's rate-limits page); buckets hold 20 seconds
PLAN_RESTORE_RATES = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0}
DEFAULT_TITLE = "Default Title"  # the one option value of a product without variants


def iso(moment: datetime | None) -> str | None:
    """Shopify's DateTime: ISO 8601 in UTC to the second."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Variant:
    id: str
    product_id: str
    inventory_item_id: str
    sku: str
    barcode: str | None
    price: Decimal = Decimal("0.00")
    option: str = DEFAULT_TITLE  # the value of the product's one option ("Title")
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def number(self) -> int:
        return int(self.id.rsplit("/", 1)[1])


@dataclass
class Product:
    id: str
    title: str
    description_html: str = ""
    status: str = "ACTIVE"  # ACTIVE, ARCHIVED, DRAFT
    option_name: str = "Title"
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class TaxLine:
    """A tax charged on a line item or a shipping line, as the checkout gave it."""

    title: str
    rate: Decimal  # a proportion: 0.25 for 25 %
    amount: Decimal


@dataclass
class LineItem:
    id: str
    variant_id: str | None
    product_id: str | None
    sku: str | None
    title: str
    quantity: int
    unit_price: Decimal
    tax_lines: list[TaxLine] = field(default_factory=list)
    discount: Decimal = Decimal(0)  # what the order's discount code allocated to the line

    @property
    def original_total(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def tax(self) -> Decimal:
        return sum((t.amount for t in self.tax_lines), Decimal(0))


@dataclass
class ShippingLine:
    id: str
    title: str
    code: str | None
    price: Decimal
    tax_lines: list[TaxLine] = field(default_factory=list)

    @property
    def tax(self) -> Decimal:
        return sum((t.amount for t in self.tax_lines), Decimal(0))


@dataclass
class DiscountCode:
    """The order's discount code: a percentage or a fixed amount off the line items."""

    code: str
    percentage: Decimal | None = None
    amount: Decimal | None = None


@dataclass
class RefundLine:
    line_item_id: str
    quantity: int
    restock_type: str  # RETURN, CANCEL, LEGACY_RESTOCK, NO_RESTOCK
    location_id: str | None
    subtotal: Decimal

    @property
    def restocked(self) -> bool:
        return self.restock_type != "NO_RESTOCK"


@dataclass
class Refund:
    id: str
    order_id: str
    created_at: datetime
    note: str | None
    amount: Decimal
    lines: list[RefundLine] = field(default_factory=list)


@dataclass
class Order:
    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    currency: str
    financial_status: str  # OrderDisplayFinancialStatus
    lines: list[LineItem] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    restocked_on_cancel: bool = False
    taxes_included: bool = False
    discount_code: DiscountCode | None = None
    shipping_lines: list[ShippingLine] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.id.rsplit("/", 1)[1])

    @property
    def subtotal(self) -> Decimal:
        """subtotalPriceSet: the lines after discounts (with tax when taxes are included)."""
        return sum((li.original_total - li.discount for li in self.lines), Decimal("0.00"))

    @property
    def total_tax(self) -> Decimal:
        lines = sum((li.tax for li in self.lines), Decimal(0))
        return lines + sum((s.tax for s in self.shipping_lines), Decimal(0))

    @property
    def shipping(self) -> Decimal:
        return sum((s.price for s in self.shipping_lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """totalPriceSet: lines after discounts, shipping, and the taxes unless the prices
        already include them."""
        added = Decimal(0) if self.taxes_included else self.total_tax
        return self.subtotal + self.shipping + added

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal("0.00"))

    def refunded_quantity(self, line_id: str) -> int:
        return sum(x.quantity for r in self.refunds for x in r.lines if x.line_item_id == line_id)


@dataclass
class Subscription:
    id: str
    topic: str  # WebhookSubscriptionTopic, e.g. ORDERS_CREATE
    callback_url: str
    format: str = "JSON"


@dataclass
class Bucket:
    """Shopify's cost bucket for one app on one shop (Standard plan by default)."""

    maximum: float = STANDARD_MAXIMUM
    restore_rate: float = STANDARD_RESTORE_RATE
    clock: Callable[[], float] = time.monotonic
    _available: float = field(default=-1.0)
    _at: float = 0.0
    spent: float = 0.0  # points charged (the actual costs), for the benchmark's figures

    def __post_init__(self) -> None:
        if self._available < 0:
            self._available = self.maximum
        self._at = self.clock()

    @classmethod
    def for_plan(cls, plan: str) -> Bucket:
        """The bucket of a Shopify plan: "standard", "advanced" or "plus"."""
        rate = PLAN_RESTORE_RATES[plan]
        return cls(maximum=20 * rate, restore_rate=rate)

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
        self.spent += cost
        return True

    def refund(self, points: float) -> None:
        """Give back what a query was charged beyond its actual cost."""
        if points > 0:
            self._available = min(self.maximum, self.available() + points)
            self.spent -= points

    def set_plan(self, maximum: float, restore_rate: float) -> None:
        """Change the plan's figures now, starting with a full bucket (the benchmark opens it
        up for its setup phase and measures under the real plan)."""
        self.maximum, self.restore_rate = maximum, restore_rate
        self._available, self._at = maximum, self.clock()

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            # rounded down, so a client never counts on points the shop has not got
            "currentlyAvailable": math.floor(self.available() * 10) / 10,
            "restoreRate": self.restore_rate,
        }


FIRST_ID = 5_409_125_040_001  # a real order id's size


class ShopifyState:
    """One shop: its catalogue, stock per location, orders and webhook subscriptions.

    `now` is the shop's clock; every change stamps `updatedAt` with it, strictly later
    than the previous stamp, so "changed after" reads never tie.
    """

    def __init__(
        self,
        *,
        bucket: Bucket | None = None,
        currency: str = "DKK",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.lock = threading.RLock()
        self.bucket = bucket or Bucket()
        self.currency = currency
        self._now = now
        self._last = datetime.min.replace(tzinfo=UTC)
        self.locations: dict[str, str] = {f"{GID}/Location/1": "Shop"}
        self.products: dict[str, Product] = {}
        self.deleted: dict[str, datetime] = {}  # product gid -> when it was deleted
        self.variants: list[Variant] = []
        self.variant_index: dict[str, Variant] = {}
        self.available: dict[tuple[str, str], int] = {}  # (inventory item, location) -> qty
        self.orders: dict[str, Order] = {}
        self.subscriptions: list[Subscription] = []
        self.forced_throttles = 0
        self.throttled = 0  # THROTTLED answers given so far
        self.mutations = 0  # executed mutation documents (the shop's write calls)
        self.queries = 0  # executed query documents
        # Shopify's ids are 13 digits and more today (gid://shopify/Order/5409125040004), so
        # the emulator hands out ids from there: anything built from an id (a reference, a
        # key) meets its real length here, not only in production.
        self._next_id = FIRST_ID - 1
        self._next_order_number = 1001

    @property
    def default_location(self) -> str:
        return next(iter(self.locations))

    def now(self) -> datetime:
        """A timestamp strictly after every one handed out before."""
        with self.lock:
            moment = self._now().astimezone(UTC)
            if moment <= self._last:
                moment = self._last + _TICK
            self._last = moment
            return moment

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def gid(self, kind: str) -> str:
        return f"{GID}/{kind}/{self.new_id()}"

    def next_order_name(self) -> str:
        with self.lock:
            number = self._next_order_number
            self._next_order_number += 1
            return f"#{number}"

    def add_location(self, name: str) -> str:
        with self.lock:
            gid = self.gid("Location")
            self.locations[gid] = name
            return gid

    def add_product(
        self, title: str, description_html: str = "", status: str = "ACTIVE"
    ) -> Product:
        with self.lock:
            stamp = self.now()
            product = Product(
                id=self.gid("Product"),
                title=title,
                description_html=description_html,
                status=status,
                updated_at=stamp,
                created_at=stamp,
            )
            self.products[product.id] = product
            return product

    def add_variant(
        self,
        product_id: str,
        sku: str,
        barcode: str | None,
        stock: int,
        *,
        price: Decimal = Decimal("0.00"),
        option: str = DEFAULT_TITLE,
    ) -> Variant:
        with self.lock:
            if product_id not in self.products:
                self.products[product_id] = Product(
                    id=product_id, title=sku, updated_at=self.now(), created_at=self.now()
                )
            number = self.new_id()
            variant = Variant(
                id=f"{GID}/ProductVariant/{number}",
                product_id=product_id,
                inventory_item_id=f"{GID}/InventoryItem/{number}",
                sku=sku,
                barcode=barcode,
                price=price,
                option=option,
                updated_at=self.now(),
            )
            self.variants.append(variant)
            self.variant_index[variant.id] = variant
            self.available[(variant.inventory_item_id, self.default_location)] = stock
            return variant

    def variants_of(self, product_id: str) -> list[Variant]:
        return [v for v in self.variants if v.product_id == product_id]

    def remove_variant(self, variant: Variant) -> None:
        with self.lock:
            self.variants.remove(variant)
            self.variant_index.pop(variant.id, None)
            for key in [k for k in self.available if k[0] == variant.inventory_item_id]:
                del self.available[key]

    def delete_product(self, product_id: str) -> None:
        """Delete a product and its variants; the deletion is remembered (deletionEvents)."""
        with self.lock:
            for variant in self.variants_of(product_id):
                self.remove_variant(variant)
            del self.products[product_id]
            self.deleted[product_id] = self.now()

    def touch(self, product_id: str) -> None:
        with self.lock:
            self.products[product_id].updated_at = self.now()

    def seed(self, catalogue: Iterable[DemoProduct]) -> None:
        """One Shopify product per demo product, one variant per demo variant (option
        "Size" for sized products, Shopify's "Default Title" for the rest), stocked at the
        default location."""
        with self.lock:
            for demo in catalogue:
                product = self.add_product(demo.name, f"<p>{demo.description}</p>")
                if not demo.simple:
                    product.option_name = "Size"
                for v in demo.variants:
                    option = DEFAULT_TITLE if demo.simple else (v.name or v.sku)
                    self.add_variant(
                        product.id, v.sku, v.barcode, v.stock, price=v.price, option=option
                    )

    def variant_by_sku(self, sku: str) -> Variant:
        return next(v for v in self.variants if v.sku == sku)

    def stock(self, sku: str, location_id: str | None = None) -> int | None:
        item = self.variant_by_sku(sku).inventory_item_id
        return self.available.get((item, location_id or self.default_location))

    def adjust(self, variant_id: str | None, delta: int, location_id: str | None = None) -> None:
        """Move a variant's available quantity (orders draw, restocks return)."""
        with self.lock:
            variant = self.variant_index.get(variant_id or "")
            if variant is None:
                return
            key = (variant.inventory_item_id, location_id or self.default_location)
            if key in self.available:
                self.available[key] += delta

    def force_throttle(self, times: int = 1) -> None:
        """Answer the next `times` requests THROTTLED whatever the bucket holds."""
        with self.lock:
            self.forced_throttles += times


_TICK = datetime.resolution

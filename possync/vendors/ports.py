"""The protocols every POS and webshop connector implements.

Flows and the planner only see these; adding a vendor means one module that satisfies them
(plus its Block and emulator), nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from possync.domain.models import (
    CatalogVariant,
    PosDocument,
    SaleLine,
    StockCount,
    StockMovement,
    StockUpdate,
    WebOrder,
    WebRefund,
    WebshopListing,
    WebshopRef,
    WriteOutcome,
)
from possync.domain.products import ProductData, ProductWrite, ProductWriteOutcome
from possync.domain.turnover import PosRefund, PosSale, PostedVoucher, Voucher


@runtime_checkable
class Pos(Protocol):
    """A point-of-sale system that is master of stock."""

    system: str
    max_stock: int  # the largest count `set_stock_counts` may set (the vendor's limit)

    def stock_changes(self, since: datetime | None) -> Iterator[list[StockCount]]:
        """Pages of counts changed after `since` (all counts when None) at the shop's location."""
        ...

    def stock_counts(self, pos_ids: Sequence[str]) -> list[StockCount]:
        """Current counts of these variants (to re-try quarantined records)."""
        ...

    def variants(self, pos_ids: Sequence[str]) -> dict[str, CatalogVariant]:
        """Catalogue data (SKU, barcode, parent) of these variants; unknown ids are left out."""
        ...

    def record_sale(
        self,
        lines: Sequence[SaleLine],
        *,
        key: str,
        reference: str,
        currency: str,
        source: str,
        resume_since: datetime | None = None,
    ) -> PosDocument:
        """Book a paid sale that draws stock; repeating it with the same key books nothing new.
        With `resume_since` (an earlier attempt may have written) the POS is first searched
        for the sale by reference, so nothing is booked twice even once the key is forgotten."""
        ...

    def adjust_stock(
        self,
        lines: Sequence[SaleLine],
        *,
        key: str,
        reference: str,
        movement: StockMovement,
    ) -> PosDocument:
        """Take the lines out of stock as sold, or put them back as returned (each POS says
        it in its own words); idempotent by key."""
        ...

    def refund_payment(
        self, payment_id: str, amount: Decimal, currency: str, *, key: str, reason: str
    ) -> str:
        """Money back on a sale's payment; idempotent by key. Returns the POS refund id."""
        ...

    def currency(self) -> str:
        """The currency of the shop's location (ISO 4217): possync's one source of truth
        for what every price and amount is in (products, orders, refunds, the turnover)."""
        ...

    def set_stock_counts(self, counts: Sequence[tuple[str, int]], *, key: str) -> None:
        """Set absolute on-hand counts (variant id, quantity) at the shop's location, when the
        webshop is master of stock; repeating it with the same key writes nothing new."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Webshop(Protocol):
    """A webshop whose stock follows the POS."""

    system: str
    accepted_statuses: tuple[str, ...]  # order statuses that mean paid, by default
    max_stock: int  # the largest count `set_stock` may write (the vendor's documented limit)

    def listings_by_sku(self, skus: Sequence[str]) -> list[WebshopListing]:
        """Products and variations carrying any of these SKUs, with their current stock."""
        ...

    def orders_changed(self, since: datetime | None) -> Iterator[list[WebOrder]]:
        """Pages of orders modified after `since` (all when None), oldest change first."""
        ...

    def orders(self, order_ids: Sequence[str]) -> list[WebOrder]:
        """The current state of these orders."""
        ...

    def refunds(self, order_id: str) -> list[WebRefund]:
        """The order's refunds, with the items each returns."""
        ...

    def listings(self, refs: Sequence[WebshopRef]) -> list[WebshopListing]:
        """Current state of known products/variations (by `WebshopRef`)."""
        ...

    def all_listings(self) -> Iterator[list[WebshopListing]]:
        """The whole catalogue page by page (first run, full reconciliation)."""
        ...

    def write_batches(self, updates: Iterable[StockUpdate]) -> list[list[StockUpdate]]:
        """Split updates into the groups one write call can take (vendor batch limits)."""
        ...

    def set_stock(self, batch: Sequence[StockUpdate]) -> list[WriteOutcome]:
        """Write one group from `write_batches` in one call; per-item refusals come back as
        outcomes, a failed call raises from the error tree."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ProductCatalogue(Protocol):
    """One side's product catalogue, read incrementally and written in batches.

    Both the POS and the webshop connectors implement it: whichever is master of products
    is read, the other is written.
    """

    system: str
    products_per_write: int  # how many ProductWrites one `write_products` call should get
    typed_variants: bool  # a product must be declared variable to hold variants (WooCommerce)

    def products_changed(self, since: datetime | None) -> Iterator[list[ProductData]]:
        """Pages of products changed after `since` (every product when None), variants
        included; products deleted on this side come with `deleted=True` where the vendor
        still reports them."""
        ...

    def products(self, product_ids: Sequence[str]) -> list[ProductData]:
        """The current state of these products; unknown or deleted ids are left out."""
        ...

    def max_price(self, currency: str) -> Decimal | None:
        """The largest price this side holds exactly in `currency` (its documented limit;
        None where the vendor documents none). A larger price is quarantined, not sent."""
        ...

    def write_products(self, writes: Sequence[ProductWrite]) -> list[ProductWriteOutcome]:
        """Create or update these products with their variants, in as few calls as the
        vendor's batch limits allow; one outcome per write, in order. A product refused by
        the vendor comes back as a failed outcome; a failed call raises from the error tree.

        On update, `product` is the whole product as it should be afterwards (every variant
        it keeps, with its id); only `fields` are sent where the vendor can take a subset."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SalesJournal(Protocol):
    """A POS's completed sales and refunds over a time range (the turnover's source)."""

    system: str

    def sales_between(self, start: datetime, end: datetime) -> Iterator[list[PosSale]]:
        """Pages of sales completed in [start, end) at the shop's location."""
        ...

    def refunds_between(self, start: datetime, end: datetime) -> Iterator[list[PosRefund]]:
        """Pages of completed refunds created in [start, end) at the shop's location."""
        ...

    def sales(self, sale_ids: Sequence[str]) -> list[PosSale]:
        """These sales, whatever their day (a refund's sale may be older)."""
        ...


@runtime_checkable
class Accounting(Protocol):
    """An accounting system that takes the day's turnover as one journal voucher."""

    system: str

    def post_voucher(self, voucher: Voucher, *, key: str) -> PostedVoucher:
        """Post the voucher; repeating with the same key posts nothing new (where the
        vendor takes idempotency keys), and a refused voucher raises FatalError."""
        ...

    def find_voucher(self, voucher: Voucher) -> PostedVoucher | None:
        """The voucher already posted with this reference on its day, if any: how a retry
        after a lost answer avoids posting twice."""
        ...

    def close(self) -> None: ...

"""Square POS connector (Connect API v2, Square-Version pinned in `SquareConfig`).

Square is master of stock: we read IN_STOCK counts at the shop's location changed after a
cursor (`inventory/counts/batch-retrieve` with `updated_after`) and the catalogue data of the
variations they belong to (`catalog/batch-retrieve`). When the webshop is master of stock,
absolute counts are written as PHYSICAL_COUNT changes. Products (items with their variations)
are read and written by `square_catalog.SquareCatalogue`, and the completed sales and refunds
of a time range (the daily turnover's `SalesJournal`) by `square_sales.SquareSales`; `SquarePos`
delegates to both.

Web orders become sales (an order and an EXTERNAL payment) or stock adjustments. Their
references follow `possync.domain.references`: the readable reference where the field takes it
whole, else the ledger key, never a cut; the full text is kept in the order's metadata and
the payment's external source id. The limits are the spec's (Square-Version 2025-08-20).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from possync.domain.models import (
    CatalogVariant,
    PosDocument,
    SaleLine,
    StockCount,
    StockMovement,
    utc_iso,
)
from possync.domain.money import INT64_MAX, MoneyError, from_minor, to_minor
from possync.domain.references import fit_reference
from possync.vendors.errors import FatalError
from possync.vendors.http import ApiClient, RetryPolicy
from possync.vendors.square.config import SquareConfig
from possync.vendors.square.products import SquareCatalogue
from possync.vendors.square.sale import PlannedSale, plan_sale
from possync.vendors.square.sales import SquareSales

__all__ = ["SquarePos", "square_error"]

log = logging.getLogger(__name__)

COUNTS_PAGE_LIMIT = 1000  # BatchRetrieveInventoryCountsRequest.limit maximum
CATALOG_IDS_PER_CALL = 1000
CHANGES_PER_CALL = 100  # BatchChangeInventory: "Max size is 100 changes"
# maxLength of the fields a web order's reference goes to (api.json, Square-Version 2025-08-20)
REFERENCE_ID_MAX = 40  # Order.reference_id and CreatePaymentRequest.reference_id
ADJUSTMENT_REFERENCE_MAX = 255  # InventoryAdjustment.reference_id
METADATA_VALUE_MAX = 255  # Order.metadata values ("a maximum length of 255 characters")
EXTERNAL_SOURCE_ID_MAX = 255  # ExternalPaymentDetails.source_id
# Square's inventory states for a movement of stock without money (InventoryAdjustment).
_STATES: dict[StockMovement, tuple[str, str]] = {
    "sold": ("IN_STOCK", "SOLD"),
    "returned": ("SOLD", "IN_STOCK"),
}
REFERENCE_METADATA = "possync_reference"  # key in Order.metadata: [a-zA-Z0-9_-], <= 60


class _Count(BaseModel):
    model_config = ConfigDict(extra="ignore")
    catalog_object_id: str
    state: str | None = None
    location_id: str | None = None
    quantity: str | None = None
    calculated_at: str | None = None


class _CountsPage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    counts: list[_Count] = []
    cursor: str | None = None


def square_error(response: httpx.Response) -> tuple[str | None, str]:
    """Square's error body: {"errors": [{"category", "code", "detail", "field"}]}. A named
    field is appended as " (field <path>)", which `square_catalog` reads back."""
    body = response.json()
    errors = body.get("errors") or []
    if not errors:
        return None, response.reason_phrase
    first = errors[0]
    detail = first.get("detail") or first.get("code") or "error"
    field = f" (field {first['field']})" if first.get("field") else ""
    return first.get("code"), f"{detail}{field}"


class SquarePos(SquareCatalogue, SquareSales):
    """Square as the POS: stock counts, catalogue variations, products, sales and refunds."""

    system = "square"
    products_per_write = 200  # 200 products' batches stay well under 10,000 objects a request
    typed_variants = False  # any Square item holds one or more variations, no type to declare
    # InventoryPhysicalCount.quantity is a decimal string of at most 26 characters with up
    # to 5 decimals: whole counts of up to 20 digits.
    max_stock = 10**20 - 1

    def __init__(
        self,
        config: SquareConfig,
        *,
        retry: RetryPolicy | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> None:
        self.config = config
        self._api = ApiClient(
            self.system,
            config.base_url,
            headers={
                "Authorization": f"Bearer {config.access_token.get_secret_value()}",
                "Square-Version": config.api_version,
                "Accept": "application/json",
            },
            timeout=config.timeout_seconds,
            retry=retry,
            error_parser=square_error,
            event_hooks=event_hooks,
        )
        self._location_id = config.location_id
        self._currency: str | None = None  # the location's, read once (SquareCatalogue)

    def close(self) -> None:
        self._api.close()

    # -- products (ProductCatalogue) and completed sales and refunds (SalesJournal): the
    # methods of SquareCatalogue (products.py, with `currency`) and SquareSales (sales.py)

    def max_price(self, currency: str) -> Decimal | None:
        """Money.amount is an int64 of minor units."""
        return from_minor(INT64_MAX, currency)

    def stock_changes(self, since: datetime | None) -> Iterator[list[StockCount]]:
        body: dict[str, Any] = {
            "location_ids": [self.config.location_id],
            "states": ["IN_STOCK"],
            "limit": COUNTS_PAGE_LIMIT,
        }
        if since is not None:
            body["updated_after"] = utc_iso(since)
        yield from self._count_pages(body)

    def stock_counts(self, pos_ids: Sequence[str]) -> list[StockCount]:
        found: list[StockCount] = []
        for start in range(0, len(pos_ids), COUNTS_PAGE_LIMIT):
            body: dict[str, Any] = {
                "catalog_object_ids": list(pos_ids[start : start + COUNTS_PAGE_LIMIT]),
                "location_ids": [self.config.location_id],
                "states": ["IN_STOCK"],
                "limit": COUNTS_PAGE_LIMIT,
            }
            for page in self._count_pages(body):
                found.extend(page)
        return found

    def _count_pages(self, body: dict[str, Any]) -> Iterator[list[StockCount]]:
        # A read: safe to repeat although it is a POST.
        while True:
            response = self._api.post(
                "/v2/inventory/counts/batch-retrieve", json=body, safe_to_repeat=True
            )
            page = _CountsPage.model_validate(response.json())
            counts = [
                StockCount(
                    pos_id=c.catalog_object_id,
                    quantity_raw=c.quantity if c.quantity is not None else "",
                    updated_at=_parse_time(c.calculated_at),
                )
                for c in page.counts
                if c.state in (None, "IN_STOCK")
                and c.location_id in (None, self.config.location_id)
            ]
            if counts:
                yield counts
            if not page.cursor:
                return
            body = {**body, "cursor": page.cursor}

    def variants(self, pos_ids: Sequence[str]) -> dict[str, CatalogVariant]:
        found: dict[str, CatalogVariant] = {}
        for start in range(0, len(pos_ids), CATALOG_IDS_PER_CALL):
            response = self._api.post(
                "/v2/catalog/batch-retrieve",
                json={"object_ids": list(pos_ids[start : start + CATALOG_IDS_PER_CALL])},
                safe_to_repeat=True,
            )
            for obj in response.json().get("objects") or []:
                variant = _variant_from(obj)
                if variant is not None:
                    found[variant.pos_id] = variant
        return found

    # -- writes for web orders; every one carries an idempotency key ---------------------

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
        """A sale: an order of the lines at the price paid with the VAT as charged
        (`square_sale`: MoneyError, before anything is written, when Square could not
        carry them exactly), paid by an EXTERNAL payment of the order's total, which
        completes the order and draws the stock. Both calls repeat safely with the same key
        while Square remembers it; `resume_since` (a previous attempt may have written)
        first looks the sale up by reference, so a retry after Square forgot the key books
        nothing twice either."""
        found = self.find_sale(reference, key, source, resume_since) if resume_since else None
        if found is not None and found.get("state") == "COMPLETED":
            return _document(found, currency)
        if found is not None:
            return self._pay(found, key, reference, currency, source)
        plan = plan_sale(lines, currency)
        order_body = {
            "idempotency_key": _subkey(key, "order"),
            "order": {
                "location_id": self.config.location_id,
                "reference_id": fit_reference(reference, key, REFERENCE_ID_MAX),
                "metadata": {REFERENCE_METADATA: fit_reference(reference, key, METADATA_VALUE_MAX)},
                "source": {"name": source},
                "line_items": plan.line_items,
                **({"taxes": plan.taxes} if plan.taxes else {}),
            },
        }
        order = self._api.post("/v2/orders", json=order_body, safe_to_repeat=True).json()["order"]
        _check_total(order, plan, currency)
        return self._pay(order, key, reference, currency, source)

    def _pay(
        self, order: Mapping[str, Any], key: str, reference: str, currency: str, source: str
    ) -> PosDocument:
        total = order.get("total_money") or {"amount": 0, "currency": currency}
        payment_body = {
            "idempotency_key": _subkey(key, "payment"),
            "source_id": "EXTERNAL",
            "amount_money": total,
            "order_id": order["id"],
            "location_id": self.config.location_id,
            "reference_id": fit_reference(reference, key, REFERENCE_ID_MAX),
            "external_details": {
                "type": "OTHER",
                "source": source[:255],  # a description, never looked up
                "source_id": fit_reference(reference, key, EXTERNAL_SOURCE_ID_MAX),
            },
        }
        payment = self._api.post("/v2/payments", json=payment_body, safe_to_repeat=True).json()
        return PosDocument(
            document_id=str(order["id"]),
            payment_id=str(payment["payment"]["id"]),
            total=from_minor(int(total.get("amount") or 0), str(total.get("currency") or currency)),
        )

    def find_sale(
        self, reference: str, key: str, source: str, since: datetime
    ) -> dict[str, Any] | None:
        """Our order with this reference (as `record_sale` wrote it for this key) created
        since `since` (SearchOrders by source and creation time, newest first), or None.
        The whole reference must match, and the full one in the metadata where present."""
        wanted = fit_reference(reference, key, REFERENCE_ID_MAX)
        full = fit_reference(reference, key, METADATA_VALUE_MAX)
        body: dict[str, Any] = {
            "location_ids": [self.config.location_id],
            "query": {
                "filter": {
                    "source_filter": {"source_names": [source]},
                    "date_time_filter": {"created_at": {"start_at": utc_iso(since)}},
                },
                "sort": {"sort_field": "CREATED_AT", "sort_order": "DESC"},
            },
            "limit": 500,
        }
        while True:
            page = self._api.post("/v2/orders/search", json=body, safe_to_repeat=True).json()
            for order in page.get("orders") or []:
                kept = (order.get("metadata") or {}).get(REFERENCE_METADATA)
                if order.get("reference_id") == wanted and kept in (None, full):
                    return dict(order)
            if not page.get("cursor"):
                return None
            body["cursor"] = page["cursor"]

    def adjust_stock(
        self,
        lines: Sequence[SaleLine],
        *,
        key: str,
        reference: str,
        movement: StockMovement,
    ) -> PosDocument:
        """A stock transaction (sale without money, or a return): one adjustment per line,
        100 changes a call, each call with its own key derived from `key`. A repeat (a task
        retry or a rerun after a lost answer) carries a new occurred_at, so Square answers
        a key it has seen with IDEMPOTENCY_KEY_REUSED: that call was applied before and is
        skipped, as in `set_stock_counts`."""
        now = utc_iso(datetime.now(UTC))
        from_state, to_state = _STATES[movement]
        for start in range(0, len(lines), 100):
            changes = [
                {
                    "type": "ADJUSTMENT",
                    "adjustment": {
                        "reference_id": fit_reference(reference, key, ADJUSTMENT_REFERENCE_MAX),
                        "catalog_object_id": line.pos_id,
                        "location_id": self.config.location_id,
                        "from_state": from_state,
                        "to_state": to_state,
                        "quantity": str(line.quantity),
                        "occurred_at": now,
                    },
                }
                for line in lines[start : start + 100]
            ]
            body = {"idempotency_key": _subkey(key, f"adjust-{start}"), "changes": changes}
            try:
                self._api.post("/v2/inventory/changes/batch-create", json=body, safe_to_repeat=True)
            except FatalError as exc:
                if exc.code != "IDEMPOTENCY_KEY_REUSED":
                    raise
                log.info("Square adjustment %s-%d was applied before; skipped", key, start)
        return PosDocument(document_id=f"adjustment:{key}")

    def refund_payment(
        self, payment_id: str, amount: Decimal, currency: str, *, key: str, reason: str
    ) -> str:
        """Money back on the sale's payment; Square returns no stock for it."""
        body = {
            "idempotency_key": _subkey(key, "refund"),
            "payment_id": payment_id,
            "amount_money": {"amount": to_minor(amount, currency), "currency": currency},
            "reason": reason[:192],
        }
        refund = self._api.post("/v2/refunds", json=body, safe_to_repeat=True).json()
        return str(refund["refund"]["id"])

    def set_stock_counts(self, counts: Sequence[tuple[str, int]], *, key: str) -> None:
        """Absolute IN_STOCK counts as PHYSICAL_COUNT changes, 100 a call, each call keyed
        from `key`. A repeat carries a new occurred_at, so Square answers a key it has seen
        with IDEMPOTENCY_KEY_REUSED: that call was applied before and is skipped."""
        negative = [pos_id for pos_id, quantity in counts if quantity < 0]
        if negative:
            raise ValueError(f"Square counts cannot be negative: {negative[:5]}")
        now = utc_iso(datetime.now(UTC))
        for start in range(0, len(counts), CHANGES_PER_CALL):
            changes = [
                {
                    "type": "PHYSICAL_COUNT",
                    "physical_count": {
                        "catalog_object_id": pos_id,
                        "location_id": self.config.location_id,
                        "state": "IN_STOCK",
                        "quantity": str(quantity),
                        "occurred_at": now,
                    },
                }
                for pos_id, quantity in counts[start : start + CHANGES_PER_CALL]
            ]
            body = {"idempotency_key": _subkey(key, f"count-{start}"), "changes": changes}
            try:
                self._api.post("/v2/inventory/changes/batch-create", json=body, safe_to_repeat=True)
            except FatalError as exc:
                if exc.code != "IDEMPOTENCY_KEY_REUSED":
                    raise
                log.info("Square counts %s-%d were set before; skipped", key, start)


def _document(order: Mapping[str, Any], currency: str) -> PosDocument:
    """A completed Square order as the document it is: its id, its payment, its total (in
    the order's own currency's minor units; `currency` where it names none)."""
    tenders = order.get("tenders") or []
    payment = tenders[0].get("payment_id") or tenders[0].get("id") if tenders else None
    money = order.get("total_money") or {}
    total = money.get("amount") or 0
    return PosDocument(
        document_id=str(order["id"]),
        payment_id=str(payment) if payment else None,
        total=from_minor(int(total), str(money.get("currency") or currency)),
    )


def _check_total(order: Mapping[str, Any], plan: PlannedSale, currency: str) -> None:
    """Square's own figures for the new order must be the planned ones (what the customer
    paid, the VAT as charged); else it is left unpaid (OPEN: no sale, no stock drawn, no
    turnover) and the order refused with both amounts."""
    if not plan.priced:
        return
    total = int((order.get("total_money") or {}).get("amount") or 0)
    tax = int((order.get("total_tax_money") or {}).get("amount") or 0)
    if (total, tax) != (plan.total, plan.tax):
        raise MoneyError(
            f"Square computed {from_minor(total, currency)} with VAT "
            f"{from_minor(tax, currency)} for order {order.get('id')}, where the customer paid "
            f"{from_minor(plan.total, currency)} with VAT {from_minor(plan.tax, currency)}; "
            "it was left unpaid"
        )


def _subkey(key: str, purpose: str) -> str:
    """A per-call idempotency key derived from the ledger's key: a UUID, 36 characters, within
    every Square key's maxLength (CreatePayment 45, BatchChangeInventory 128, CreateOrder 192)."""
    return str(uuid.uuid5(uuid.UUID(key), purpose))


def _variant_from(obj: Mapping[str, Any]) -> CatalogVariant | None:
    if obj.get("type") != "ITEM_VARIATION":
        return None
    data = obj.get("item_variation_data") or {}
    return CatalogVariant(
        pos_id=str(obj["id"]),
        product_id=str(data.get("item_id") or ""),
        name=str(data.get("name") or ""),
        sku=_blank_to_none(data.get("sku")),
        barcode=_blank_to_none(data.get("upc")),
        deleted=bool(obj.get("is_deleted", False)),
    )


def _blank_to_none(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _parse_time(value: str | None) -> datetime:
    if not value:
        raise ValueError("Square count without calculated_at")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))

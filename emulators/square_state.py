"""`SquareState`: one Square seller with one location, all in memory, behind one lock.

The HTTP layer (`square.py`) only parses requests and renders answers; every rule (what a
change does to a count, what idempotency replays, which page comes next) lives here, so the
state can also be driven and inspected directly from tests and demos.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from emulators.demo import DemoProduct
from emulators.square_catalog import Catalog, CatalogObject
from emulators.square_catalog_writes import CatalogWriter, check_limits
from emulators.square_common import (
    Clock,
    IdFactory,
    JsonDict,
    SquareError,
    decode_cursor,
    encode_cursor,
    fingerprint,
    format_quantity,
    invalid,
    minor_units,
    not_found,
    parse_quantity,
    parse_rfc3339_us,
    rfc3339,
)
from emulators.square_inventory import (
    COUNTS_DEFAULT_LIMIT,
    UNTRACKED_STATES,
    Count,
    CountsQuery,
    Inventory,
)
from emulators.square_models import (
    BatchChangeInventoryRequest,
    BatchDeleteCatalogObjectsRequest,
    BatchRetrieveCatalogObjectsRequest,
    BatchRetrieveInventoryCountsRequest,
    BatchRetrieveOrdersRequest,
    BatchUpsertCatalogObjectsRequest,
    CreateOrderRequest,
    CreatePaymentRequest,
    InventoryAdjustment,
    InventoryChange,
    InventoryPhysicalCount,
    Money,
    RefundPaymentRequest,
    SearchCatalogObjectsRequest,
    SearchOrdersRequest,
    UpsertCatalogObjectRequest,
)
from emulators.square_orders import DEFAULT_SOURCE_NAME, Sales
from emulators.square_payments import RefundsQuery
from emulators.square_seed import SeededIds, SeedSale

RETRIEVE_COUNT_PAGE_SIZE = 100
OCCURRED_AT_MAX_AGE_MS = 24 * 3600 * 1000  # "cannot be older than 24 hours"
CLOCK_SKEW_MS = 60_000  # ... "or in the future": tolerate a minute of client clock skew
_COUNTRY_BY_CURRENCY = {
    "DKK": "DK",
    "SEK": "SE",
    "NOK": "NO",
    "ISK": "IS",
    "GBP": "GB",
    "USD": "US",
    "CAD": "CA",
    "AUD": "AU",
    "JPY": "JP",
}
SOURCE = {"product": "EXTERNAL_API", "name": "possync Square emulator"}


@dataclass(frozen=True)
class _Planned:
    """One validated inventory change, ready to apply."""

    change: InventoryChange
    object_id: str
    location_id: str
    quantity: Decimal
    occurred_us: int


class SquareState:
    """A Square seller's catalog, inventory (and, later, orders), thread-safe and deterministic."""

    def __init__(
        self,
        location_id: str = "L-DEMO",
        location_name: str = "Demo Store",
        timezone: str = "Europe/Copenhagen",
        currency: str = "DKK",
    ) -> None:
        self.location_id = location_id
        self.location_name = location_name
        self.timezone = timezone
        self.currency = currency
        self.country = _COUNTRY_BY_CURRENCY.get(currency)
        self.clock = Clock()
        self.lock = threading.RLock()
        self.ids = IdFactory(location_id)
        self.catalog = Catalog(currency)
        self.inventory = Inventory()
        self.sales = Sales(self)
        self._idempotency: dict[tuple[str, str], tuple[str, JsonDict]] = {}
        self._created_ms = self.clock.tick()
        self.merchant_id = IdFactory(f"merchant:{location_id}").next("MERCHANT")[:13]

    # --- the public interface for tests, demos and the CLI ---------------------------------

    def seed(self, products: list[DemoProduct]) -> None:
        """One ITEM per product with its variations; IN_STOCK = each variant's stock."""
        with self.lock:
            ms = self.clock.tick()
            touched: list[Count] = []
            for product in products:
                item = self.catalog.add_item(self.ids, product.name, product.description, ms)
                for variant in product.variants:
                    variation = self.catalog.add_variation(
                        self.ids,
                        item,
                        name=variant.name,
                        sku=variant.sku,
                        upc=variant.barcode,
                        amount=minor_units(variant.price, self.currency),
                        version=ms,
                    )
                    count = self.inventory.physical_count(
                        variation.id,
                        self.location_id,
                        "IN_STOCK",
                        Decimal(variant.stock),
                        ms * 1000,
                        ignore_unchanged=False,
                    )
                    assert count is not None
                    touched.append(count)
            self.inventory.stamp(touched, ms)

    def seed_sales(
        self, sales: Iterable[SeedSale], *, source_name: str = DEFAULT_SOURCE_NAME
    ) -> SeededIds:
        """Completed POS sales, each paid by one payment at its `closed_at`, without HTTP and
        without touching stock (their lines are ad hoc). Kept column-wise (about 60 bytes a
        sale) and indexed by closed_at, so a year of a busy shop stays small and a day's
        SearchOrders does not scan the year. Payment ids are the order ids with PAYM for SALE
        (`seeded_payment_id`)."""
        with self.lock:
            return self.sales.seeded.add(sales, source_name)

    @staticmethod
    def seeded_payment_id(order_id: str) -> str:
        """The payment of a seeded sale."""
        return "PAYM" + order_id.removeprefix("SALE")

    def seed_refund(
        self, payment_id: str, amount: int, created_at: datetime, *, reason: str | None = None
    ) -> JsonDict:
        """RefundPayment as if made at `created_at` (an aware datetime): `amount` minor units
        back on the payment, with its return order; the PaymentRefund as JSON."""
        req = RefundPaymentRequest(
            idempotency_key=f"seed-refund-{payment_id}-{created_at.isoformat()}",
            amount_money=Money(amount=amount, currency=self.currency),
            payment_id=payment_id,
            reason=reason,
        )
        with self.lock:
            ms = int(created_at.timestamp() * 1000 + 0.5)
            return dict(self.sales.refund_payment(req, ms)["refund"])

    def forget_idempotency_keys(self) -> None:
        """Days later: Square no longer knows the keys it was sent."""
        self._idempotency.clear()

    def variation_id_for_sku(self, sku: str) -> str:
        """The ITEM_VARIATION id carrying `sku` (KeyError when there is none)."""
        with self.lock:
            return self.catalog.variation_id_for_sku(sku)

    def count(self, variation_id: str) -> Decimal:
        """IN_STOCK quantity of a variation at this state's location."""
        with self.lock:
            return self.inventory.quantity(variation_id, self.location_id, "IN_STOCK")

    # --- Locations ---------------------------------------------------------------------------

    def location_json(self) -> JsonDict:
        location: JsonDict = {
            "id": self.location_id,
            "name": self.location_name,
            "timezone": self.timezone,
            "capabilities": ["CREDIT_CARD_PROCESSING"],
            "status": "ACTIVE",
            "created_at": rfc3339(self._created_ms),
            "merchant_id": self.merchant_id,
            "currency": self.currency,
            "business_name": self.location_name,
            "type": "PHYSICAL",
        }
        if self.country:
            location["country"] = self.country
        return location

    def list_locations(self) -> JsonDict:
        return {"locations": [self.location_json()]}

    def retrieve_location(self, location_id: str) -> JsonDict:
        """RetrieveLocation: this seller's one location, by id or as "main" (the spec: 'Specify
        "main" as the location ID to retrieve details of the main location')."""
        if location_id not in (self.location_id, "main"):
            raise not_found(f"Location `{location_id}` not found.")
        return {"location": self.location_json()}

    def require_location(self, location_id: str, field: str) -> None:
        if location_id != self.location_id:
            raise not_found(f"Location `{location_id}` not found.", field)

    # --- Catalog -----------------------------------------------------------------------------

    def list_catalog(self, types: str | None, cursor: str | None) -> JsonDict:
        with self.lock:
            return self.catalog.list_page(types, cursor)

    def batch_retrieve_catalog(self, req: BatchRetrieveCatalogObjectsRequest) -> JsonDict:
        with self.lock:
            deleted_too = bool(req.include_deleted_objects)
            found = [
                obj
                for i in dict.fromkeys(req.object_ids)
                if (obj := self.catalog.objects.get(i)) is not None
                and (deleted_too or not obj.is_deleted)
            ]
            body: JsonDict = {}
            if found:
                body["objects"] = [self.catalog.to_json(o) for o in found]
            if req.include_related_objects and (related := self.catalog.related(found)):
                body["related_objects"] = related
            return body

    def retrieve_catalog_object(self, object_id: str, include_related: bool) -> JsonDict:
        with self.lock:
            obj = self.catalog.live(object_id)
            if obj is None:
                raise not_found(f"Object with ID `{object_id}` not found.")
            body: JsonDict = {"object": self.catalog.to_json(obj)}
            if include_related and (related := self.catalog.related([obj])):
                body["related_objects"] = related
            return body

    def search_catalog(self, req: SearchCatalogObjectsRequest) -> JsonDict:
        with self.lock:
            return self.catalog.search(req)

    def batch_upsert_catalog(self, req: BatchUpsertCatalogObjectsRequest) -> JsonDict:
        return self.idempotent(
            "BatchUpsertCatalogObjects",
            req.idempotency_key,
            req.model_dump(mode="json", exclude_unset=True),
            lambda: self._batch_upsert(req),
        )

    def _batch_upsert(self, req: BatchUpsertCatalogObjectsRequest) -> JsonDict:
        check_limits([b.objects for b in req.batches])
        writer = CatalogWriter(self.catalog, self.ids)
        plans = [
            writer.plan(b.objects, [f"batches[{i}].objects[{j}]" for j in range(len(b.objects))])
            for i, b in enumerate(req.batches)
        ]
        ms = self.clock.tick()
        mappings: dict[str, str] = {}
        written = [object_id for plan in plans for object_id in writer.apply(plan, ms, mappings)]
        body: JsonDict = {}
        if written:
            body["objects"] = [self.catalog.to_json(self.catalog.objects[i]) for i in written]
        body["updated_at"] = rfc3339(ms)
        if mappings:
            body["id_mappings"] = _id_mappings(mappings)
        return body

    def upsert_catalog_object(self, req: UpsertCatalogObjectRequest) -> JsonDict:
        return self.idempotent(
            "UpsertCatalogObject",
            req.idempotency_key,
            req.model_dump(mode="json", exclude_unset=True),
            lambda: self._upsert_one(req),
        )

    def _upsert_one(self, req: UpsertCatalogObjectRequest) -> JsonDict:
        writer = CatalogWriter(self.catalog, self.ids)
        plan = writer.plan([req.object], ["object"])
        ms = self.clock.tick()
        mappings: dict[str, str] = {}
        (object_id,) = writer.apply(plan, ms, mappings)
        body: JsonDict = {"catalog_object": self.catalog.to_json(self.catalog.objects[object_id])}
        if mappings:
            body["id_mappings"] = _id_mappings(mappings)
        return body

    def batch_delete_catalog(self, req: BatchDeleteCatalogObjectsRequest) -> JsonDict:
        """Deletes what exists (with its variations); unknown or deleted ids are skipped."""
        with self.lock:
            targets = [obj for i in dict.fromkeys(req.object_ids) if (obj := self.catalog.live(i))]
            return self._delete(targets)

    def delete_catalog_object(self, object_id: str) -> JsonDict:
        with self.lock:
            obj = self.catalog.live(object_id)
            if obj is None:
                raise not_found(f"Object with ID `{object_id}` not found.")
            return self._delete([obj])

    def _delete(self, targets: list[CatalogObject]) -> JsonDict:
        if not targets:
            return {"deleted_at": rfc3339(self.clock.peek())}
        ms = self.clock.tick()
        deleted = [i for obj in targets for i in self.catalog.delete(obj, ms)]
        return {"deleted_object_ids": deleted, "deleted_at": rfc3339(ms)}

    # --- Inventory ---------------------------------------------------------------------------

    def batch_retrieve_counts(self, req: BatchRetrieveInventoryCountsRequest) -> JsonDict:
        updated_after = None
        if req.updated_after is not None:
            updated_after = parse_rfc3339_us(req.updated_after, "updated_after")
        states = None
        if req.states:
            states = frozenset(req.states) - UNTRACKED_STATES
        query = CountsQuery(
            catalog_object_ids=tuple(req.catalog_object_ids) if req.catalog_object_ids else None,
            location_ids=frozenset(req.location_ids) if req.location_ids else None,
            states=states,
            updated_after_us=updated_after,
        )
        with self.lock:
            return self.inventory.page(query, req.cursor, req.limit or COUNTS_DEFAULT_LIMIT)

    def retrieve_inventory_count(
        self, object_id: str, location_ids: str | None, cursor: str | None
    ) -> JsonDict:
        locations = [x.strip() for x in (location_ids or "").split(",") if x.strip()] or None
        with self.lock:
            self._require_variation(object_id, None)
            counts = self.inventory.counts_for(object_id, locations)
            key = fingerprint([object_id, locations])
            start = 0 if cursor is None else decode_cursor(cursor, "retrieve", key)
            if not isinstance(start, int) or start < 0:
                raise invalid("The pagination cursor is invalid.", "cursor", code="INVALID_CURSOR")
            page = counts[start : start + RETRIEVE_COUNT_PAGE_SIZE]
            body: JsonDict = {}
            if page:
                body["counts"] = [c.to_json() for c in page]
            if start + RETRIEVE_COUNT_PAGE_SIZE < len(counts):
                body["cursor"] = encode_cursor("retrieve", start + len(page), key)
            return body

    def batch_change_inventory(self, req: BatchChangeInventoryRequest) -> JsonDict:
        return self.idempotent(
            "BatchChangeInventory",
            req.idempotency_key,
            req.model_dump(mode="json", exclude_unset=True),
            lambda: self._apply_changes(req),
        )

    def _apply_changes(self, req: BatchChangeInventoryRequest) -> JsonDict:
        now_ms = self.clock.peek()
        planned = [self._plan(i, c, now_ms) for i, c in enumerate(req.changes or [])]
        ms = self.clock.tick()
        ignore_unchanged = req.ignore_unchanged_counts is not False
        touched: list[Count] = []
        created: list[JsonDict] = []
        pairs: dict[tuple[str, str], None] = {}
        for plan in planned:
            pairs[(plan.object_id, plan.location_id)] = None
            applied = self._apply(plan, ignore_unchanged)
            if applied:
                touched.extend(applied)
                created.append(self._change_json(plan, ms))
        self.inventory.stamp(touched, ms)
        body: JsonDict = {}
        counts = [c.to_json() for o, loc in pairs for c in self.inventory.counts_for(o, [loc])]
        if counts:
            body["counts"] = counts
        if created:
            body["changes"] = created
        return body

    def _apply(self, plan: _Planned, ignore_unchanged: bool) -> list[Count]:
        if plan.change.type == "PHYSICAL_COUNT":
            pc = plan.change.physical_count
            assert pc is not None and pc.state is not None
            count = self.inventory.physical_count(
                plan.object_id,
                plan.location_id,
                pc.state,
                plan.quantity,
                plan.occurred_us,
                ignore_unchanged=ignore_unchanged,
            )
            return [count] if count else []
        adj = plan.change.adjustment
        assert adj is not None and adj.from_state is not None and adj.to_state is not None
        return self.inventory.adjustment(
            plan.object_id,
            plan.location_id,
            adj.from_state,
            adj.to_state,
            plan.quantity,
            plan.occurred_us,
        )

    def _plan(self, index: int, change: InventoryChange, now_ms: int) -> _Planned:
        """Validate one change completely before anything in the batch is applied."""
        where = f"changes[{index}]"
        if change.type is None:
            raise invalid("Field must be set.", f"{where}.type", code="MISSING_REQUIRED_PARAMETER")
        if change.type == "TRANSFER" or change.transfer is not None:
            raise SquareError(
                400, "BAD_REQUEST", "This emulator does not implement TRANSFER.", f"{where}.type"
            )
        if change.type == "PHYSICAL_COUNT":
            return self._plan_physical_count(where, change, now_ms)
        return self._plan_adjustment(where, change, now_ms)

    def _plan_physical_count(self, where: str, change: InventoryChange, now_ms: int) -> _Planned:
        pc = change.physical_count
        _exactly_one(where, "physical_count", pc, "adjustment", change.adjustment)
        assert pc is not None
        where = f"{where}.physical_count"
        _require(where, pc, ("catalog_object_id", "location_id", "state", "quantity"))
        assert pc.state is not None and pc.quantity is not None
        if pc.state in UNTRACKED_STATES:
            raise invalid(f"State {pc.state} cannot be counted.", f"{where}.state")
        return _Planned(
            change=change,
            object_id=self._checked_refs(where, pc),
            location_id=str(pc.location_id),
            quantity=parse_quantity(
                pc.quantity, f"{where}.quantity", allow_zero=True, allow_negative=False
            ),
            occurred_us=_occurred_us(where, pc.occurred_at, now_ms),
        )

    def _plan_adjustment(self, where: str, change: InventoryChange, now_ms: int) -> _Planned:
        adj = change.adjustment
        _exactly_one(where, "adjustment", adj, "physical_count", change.physical_count)
        assert adj is not None
        where = f"{where}.adjustment"
        _require(
            where, adj, ("catalog_object_id", "location_id", "from_state", "to_state", "quantity")
        )
        assert adj.quantity is not None
        if adj.from_state == adj.to_state:
            raise invalid("from_state and to_state must differ.", f"{where}.to_state")
        if adj.from_state in UNTRACKED_STATES and adj.to_state in UNTRACKED_STATES:
            raise invalid(
                f"An adjustment from {adj.from_state} to {adj.to_state} changes no count.",
                f"{where}.to_state",
            )
        return _Planned(
            change=change,
            object_id=self._checked_refs(where, adj),
            location_id=str(adj.location_id),
            quantity=parse_quantity(
                adj.quantity, f"{where}.quantity", allow_zero=False, allow_negative=False
            ),
            occurred_us=_occurred_us(where, adj.occurred_at, now_ms),
        )

    def _checked_refs(self, where: str, part: InventoryPhysicalCount | InventoryAdjustment) -> str:
        object_id = str(part.catalog_object_id)
        if part.catalog_object_type not in (None, "ITEM_VARIATION"):
            raise invalid(
                "Inventory is tracked for ITEM_VARIATION objects only.",
                f"{where}.catalog_object_type",
            )
        self._require_variation(object_id, f"{where}.catalog_object_id")
        self.require_location(str(part.location_id), f"{where}.location_id")
        return object_id

    def _require_variation(self, object_id: str, field: str | None) -> None:
        if self.catalog.variation(object_id) is None:
            raise not_found(
                f"Item variation with catalog object ID `{object_id}` not found.", field
            )

    def _change_json(self, plan: _Planned, ms: int) -> JsonDict:
        """The InventoryChange as created: the request's fields plus Square's read-only ones."""
        change = plan.change
        part = change.physical_count if change.type == "PHYSICAL_COUNT" else change.adjustment
        assert part is not None
        data: JsonDict = part.model_dump(exclude_none=True)
        data.update(
            id=self.ids.next("INVENTORY_CHANGE"),
            catalog_object_type="ITEM_VARIATION",
            quantity=format_quantity(plan.quantity),
            occurred_at=rfc3339(plan.occurred_us // 1000),
            source=dict(SOURCE),
            created_at=rfc3339(ms),
        )
        key = "physical_count" if change.type == "PHYSICAL_COUNT" else "adjustment"
        return {"type": change.type, key: data}

    # --- Orders, payments, refunds -----------------------------------------------------------

    def create_order(self, req: CreateOrderRequest) -> JsonDict:
        if req.idempotency_key is None:  # optional for CreateOrder
            with self.lock:
                return self.sales.create_order(req)
        return self.idempotent(
            "CreateOrder",
            req.idempotency_key,
            req.model_dump(mode="json", exclude_unset=True),
            lambda: self.sales.create_order(req),
        )

    def retrieve_order(self, order_id: str) -> JsonDict:
        with self.lock:
            return self.sales.retrieve_order(order_id)

    def search_orders(self, req: SearchOrdersRequest) -> JsonDict:
        with self.lock:
            return self.sales.search_orders(req)

    def batch_retrieve_orders(self, req: BatchRetrieveOrdersRequest) -> JsonDict:
        with self.lock:
            return self.sales.batch_retrieve_orders(req)

    def create_payment(self, req: CreatePaymentRequest) -> JsonDict:
        return self.idempotent(
            "CreatePayment",
            req.idempotency_key,
            req.model_dump(mode="json", exclude_unset=True),
            lambda: self.sales.create_payment(req),
        )

    def retrieve_payment(self, payment_id: str) -> JsonDict:
        with self.lock:
            return self.sales.retrieve_payment(payment_id)

    def refund_payment(self, req: RefundPaymentRequest) -> JsonDict:
        return self.idempotent(
            "RefundPayment",
            req.idempotency_key,
            req.model_dump(mode="json", exclude_unset=True),
            lambda: self.sales.refund_payment(req),
        )

    def get_refund(self, refund_id: str) -> JsonDict:
        with self.lock:
            return self.sales.get_refund(refund_id)

    def list_refunds(self, query: RefundsQuery) -> JsonDict:
        """ListPaymentRefunds, by its query parameters."""
        with self.lock:
            return self.sales.desk.list_refunds(query)

    # --- idempotency -------------------------------------------------------------------------

    def idempotent(
        self, operation: str, key: str, body: object, compute: Callable[[], JsonDict]
    ) -> JsonDict:
        """Square's idempotency: same key + same body replays the first answer, a new body is
        an error; failures are not remembered, so a corrected retry may reuse the key."""
        digest = fingerprint(body)
        with self.lock:
            seen = self._idempotency.get((operation, key))
            if seen is not None:
                if seen[0] != digest:
                    raise invalid(
                        f"The idempotency key `{key}` was already used for a different request.",
                        "idempotency_key",
                        code="IDEMPOTENCY_KEY_REUSED",
                    )
                return seen[1]
            result = compute()
            self._idempotency[(operation, key)] = (digest, result)
            return result


def _id_mappings(mappings: dict[str, str]) -> list[JsonDict]:
    return [{"client_object_id": k, "object_id": v} for k, v in mappings.items()]


def _require(
    where: str, part: InventoryPhysicalCount | InventoryAdjustment, names: tuple[str, ...]
) -> None:
    for name in (*names, "occurred_at"):
        if getattr(part, name) is None:
            raise invalid(
                "Field must be set.", f"{where}.{name}", code="MISSING_REQUIRED_PARAMETER"
            )


def _exactly_one(where: str, name: str, value: object, other: str, other_value: object) -> None:
    if value is None:
        raise invalid("Field must be set.", f"{where}.{name}", code="MISSING_REQUIRED_PARAMETER")
    if other_value is not None:
        raise invalid(f"`{other}` must not be set together with `{name}`.", f"{where}.{other}")


def _occurred_us(where: str, occurred_at: str | None, now_ms: int) -> int:
    """occurred_at: required, not older than 24 hours and not in the future."""
    assert occurred_at is not None
    field = f"{where}.occurred_at"
    occurred_us = parse_rfc3339_us(occurred_at, field)
    if occurred_us < (now_ms - OCCURRED_AT_MAX_AGE_MS) * 1000:
        raise invalid("occurred_at cannot be older than 24 hours.", field, code="INVALID_TIME")
    if occurred_us > (now_ms + CLOCK_SKEW_MS) * 1000:
        raise invalid("occurred_at cannot be in the future.", field, code="INVALID_TIME")
    return occurred_us

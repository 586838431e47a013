"""WooCommerce products as `ProductData`: the `ProductCatalogue` half of `WooCommerceShop`.

A simple product is one variant whose id is the product's own; a variable product's
variants are its variations, named by their attribute options ("Large / Red"). Only simple
and variable products are synced (grouped and external ones sell nothing of their own).

Reads go by `modified_after`: saving a variation re-saves its parent at the end of the
request (WC_Product_Variable::sync through wc_deferred_product_sync), so a variation-only
edit moves the parent's date_modified and shows up here. Trashed products are read in a
second pass (`status=any` leaves the trash out) and come back with `deleted=True`.

Writes: one `/products/batch` call per 100 products, then per variable product one
`/products/{id}/variations/batch` call per 100 variations. Creates are not safe to repeat
(a retry after a lost answer would create twice), so calls carrying creates are sent with
`safe_to_repeat=False`.

A variable product is created in two calls, parent then variations; a crash in between
leaves a parent without variations, so without a SKU anything could link it by. So the new
parent carries a marker SKU made from the write's key until its variations are written;
creating the same key again first looks the marker up and adopts that parent instead of
making a second one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from possync.domain.money import minor_units
from possync.domain.products import ProductData, ProductWrite, ProductWriteOutcome, VariantData
from possync.vendors.errors import ApiError
from possync.vendors.http import ApiClient

__all__ = [
    "MARKER_PREFIX",
    "OPTION_ATTRIBUTE",
    "WooCommerceProducts",
    "marker",
    "max_price",
    "parse_gmt",
    "product_from",
]

log = logging.getLogger(__name__)

Json = dict[str, Any]
T = TypeVar("T")

OPTION_ATTRIBUTE = "Option"  # the custom attribute our variable products vary by
MARKER_PREFIX = "possync-pending-"  # a variable parent's SKU until its variations are written
SYNCED_TYPES = ("simple", "variable")
# WooCommerce's error codes that name the field they refuse (WC_Product::set_sku and
# set_global_unique_id throw them).
_CODE_FIELDS = {
    "product_invalid_sku": "sku",
    "product_invalid_global_unique_id": "global_unique_id",
}


def max_price(currency: str) -> Decimal:
    """WooCommerce keeps a price as text, but copies it into wc_product_meta_lookup's
    min_price/max_price, decimal(19,4), which the shop's price filters and sorting read:
    below 10^15, at the currency's decimals."""
    step = Decimal(1).scaleb(-minor_units(currency))
    return Decimal(10) ** 15 - step


def parse_gmt(value: object) -> datetime:
    """WooCommerce's *_gmt fields carry no offset; they are UTC."""
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Refused(Exception):
    """A write we cannot express in WooCommerce; it fails alone, before any call."""


@dataclass
class _Plan:
    """One ProductWrite on its way through the product and variation batches."""

    index: int
    write: ProductWrite
    body: Json | None = None  # the product batch item; None when the parent needs no call
    creating: bool = False
    variation_creates: list[tuple[int, Json]] = field(default_factory=list)  # (variant index, …)
    variation_updates: list[tuple[int, Json]] = field(default_factory=list)
    product_id: str | None = None
    variant_ids: list[str | None] = field(default_factory=list)
    error: str | None = None
    error_field: str | None = None
    marked: bool = False  # the parent carries the marker SKU, to clear once it is complete

    @property
    def variable(self) -> bool:
        return self.write.product.has_variants

    def fail(self, error: Mapping[str, Any]) -> None:
        """Keep the first refusal: it is the one that stopped this product."""
        if self.error is None:
            self.error, self.error_field = _refusal(error)

    def outcome(self) -> ProductWriteOutcome:
        return ProductWriteOutcome(
            key=self.write.key,
            ok=self.error is None,
            product_id=self.product_id,
            variant_ids=tuple(self.variant_ids),
            error=self.error,
            error_field=self.error_field,
        )


class WooCommerceProducts:
    """Reads and writes WooCommerce products over one ApiClient; WooCommerceShop is one."""

    _api: ApiClient
    _limit: int

    def __init__(self, api: ApiClient, batch_limit: int = 100) -> None:
        self._api = api
        self._limit = batch_limit

    def _raw_pages(self, path: str, params: Mapping[str, str]) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint, `_limit` items each, until X-WP-TotalPages
        (or an empty page): the one paging loop of this connector."""
        page = 1
        while True:
            response = self._api.get(
                path, params={**params, "per_page": str(self._limit), "page": str(page)}
            )
            items: list[dict[str, Any]] = response.json()
            yield items
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            if page >= total_pages or not items:
                return
            page += 1

    # --- reading ----------------------------------------------------------------------------

    def products_changed(self, since: datetime | None) -> Iterator[list[ProductData]]:
        """Live products (drafts included), then trashed ones, each oldest change first.
        `modified_after` is strict and counts whole seconds, so the read starts a second
        early: a save later in the cursor's own second is not missed (the caller's
        fingerprints make the re-read free)."""
        params = {"orderby": "modified", "order": "asc", "dates_are_gmt": "true"}
        if since is not None:
            start = since.astimezone(UTC) - timedelta(seconds=1)
            params["modified_after"] = start.strftime("%Y-%m-%dT%H:%M:%S")
        for status in ("any", "trash"):
            for page in self._raw_pages("/products", {**params, "status": status}):
                found = self._products_of(page)
                if found:
                    yield found

    def products(self, product_ids: Sequence[str]) -> list[ProductData]:
        """In the order asked for; `status=any` leaves trashed products out, as the contract
        wants for deleted ids."""
        found: list[ProductData] = []
        for page in self._by_ids(product_ids):
            found.extend(self._products_of(page))
        return found

    def _by_ids(self, product_ids: Sequence[str]) -> Iterator[list[Json]]:
        ids = list(dict.fromkeys(str(i) for i in product_ids if str(i).isdigit()))
        for start in range(0, len(ids), self._limit):
            include = ",".join(ids[start : start + self._limit])
            # WP_Query appends `order` to FIELD(ID, …) too: asc keeps the order asked for
            query = {"include": include, "orderby": "include", "order": "asc", "status": "any"}
            yield from self._raw_pages("/products", query)

    def _products_of(self, page: Sequence[Json]) -> list[ProductData]:
        found: list[ProductData] = []
        for item in page:
            if item.get("type") not in SYNCED_TYPES:
                log.warning(
                    "WooCommerce product %s is a %s product; only simple and variable "
                    "products are synced, so it is skipped",
                    item.get("id"),
                    item.get("type"),
                )
                continue
            variations = None
            if item.get("type") == "variable" and item.get("status") != "trash":
                variations = self._variations(int(item["id"]))
            found.append(product_from(item, variations))
        return found

    def _variations(self, product_id: int) -> list[Json]:
        """By id: the order they were created in (the default is newest first)."""
        path = f"/products/{product_id}/variations"
        return [
            v for page in self._raw_pages(path, {"orderby": "id", "order": "asc"}) for v in page
        ]

    # --- writing ----------------------------------------------------------------------------

    def write_products(self, writes: Sequence[ProductWrite]) -> list[ProductWriteOutcome]:
        outcomes: list[ProductWriteOutcome] = []
        for start in range(0, len(writes), self._limit):
            outcomes += self._write_chunk(writes[start : start + self._limit])
        return outcomes

    def _write_chunk(self, writes: Sequence[ProductWrite]) -> list[ProductWriteOutcome]:
        current = self._current_parents(writes)
        orphans = self._orphans(writes)
        plans = [
            _plan(i, w, current.get(w.product.id or ""), orphans.get(marker(w.key)))
            for i, w in enumerate(writes)
        ]
        self._write_parents([p for p in plans if p.body is not None])
        for plan in plans:
            if plan.error is None and plan.product_id is not None:
                self._write_variations(plan)
        self._clear_markers([p for p in plans if p.marked and p.error is None])
        return [p.outcome() for p in plans]

    def _orphans(self, writes: Sequence[ProductWrite]) -> dict[str, Json]:
        """Parents an earlier, interrupted create of the same keys left without variations,
        by marker SKU (one lookup per 100 variable products to create)."""
        markers = [marker(w.key) for w in writes if w.product.id is None and w.product.has_variants]
        found: dict[str, Json] = {}
        for start in range(0, len(markers), self._limit):
            skus = ",".join(markers[start : start + self._limit])
            for page in self._raw_pages("/products", {"sku": skus, "status": "any"}):
                for item in page:
                    if item.get("type") == "variable" and not item.get("variations"):
                        found[str(item.get("sku"))] = item
        return found

    def _clear_markers(self, plans: Sequence[_Plan]) -> None:
        """The variations are written: the parents need their marker SKU no more. Left in
        place when this fails (it names the product, harmlessly); the outcomes stand."""
        if not plans:
            return
        body = {"update": [{"id": int(p.product_id or 0), "sku": ""} for p in plans]}
        try:
            self._api.post("/products/batch", json=body, safe_to_repeat=True)
        except ApiError as exc:
            log.warning("could not clear the marker SKU of %d products: %s", len(plans), exc)

    def _current_parents(self, writes: Sequence[ProductWrite]) -> dict[str, Json]:
        """Variable products that get new variants, as they are: the new options are added
        to the attributes the product has (its own axes, maybe not ours), never replace them."""
        ids = [
            w.product.id
            for w in writes
            if w.product.id
            and w.product.has_variants
            and any(v.id is None for v in w.product.variants)
        ]
        return {str(item["id"]): item for page in self._by_ids(ids) for item in page}

    def _write_parents(self, plans: Sequence[_Plan]) -> None:
        if not plans:
            return
        creates = [p for p in plans if p.creating]
        updates = [p for p in plans if not p.creating]
        body: Json = {}
        if creates:
            body["create"] = [p.body for p in creates]
        if updates:
            body["update"] = [p.body for p in updates]
        answer = self._api.post("/products/batch", json=body, safe_to_repeat=not creates).json()
        answer = answer if isinstance(answer, dict) else {}  # PHP's empty array is []
        for group, results in ((creates, answer.get("create")), (updates, answer.get("update"))):
            for plan, result in _pair(group, results):
                if "error" in result:
                    plan.fail(result["error"])
                else:
                    plan.product_id = str(result["id"])
                    if not plan.variable:
                        plan.variant_ids = [plan.product_id] if plan.write.product.variants else []

    def _write_variations(self, plan: _Plan) -> None:
        """Variations of one variable product, 100 a call. A refused call is this product's
        failure, not the batch's: the parent is written, and its id must reach the caller."""
        items = [("create", i, b) for i, b in plan.variation_creates]
        items += [("update", i, b) for i, b in plan.variation_updates]
        path = f"/products/{plan.product_id}/variations/batch"
        for start in range(0, len(items), self._limit):
            chunk = items[start : start + self._limit]
            body: Json = {}
            for action, _, item in chunk:
                body.setdefault(action, []).append(item)
            try:
                response = self._api.post(path, json=body, safe_to_repeat="create" not in body)
            except ApiError as exc:
                plan.fail({"code": exc.code, "message": str(exc)})
                return
            answer = response.json()
            answer = answer if isinstance(answer, dict) else {}
            for action in ("create", "update"):
                mine = [(i, b) for a, i, b in chunk if a == action]
                for (variant_index, _), result in _pair(mine, answer.get(action)):
                    if "error" in result:
                        plan.fail(result["error"])
                    elif action == "create":
                        plan.variant_ids[variant_index] = str(result["id"])


# --- reading: WooCommerce JSON to ProductData --------------------------------------------------


def product_from(
    item: Mapping[str, Any], variations: Sequence[Mapping[str, Any]] | None
) -> ProductData:
    """A simple or variable product; a trashed variable one comes without its variations."""
    status = str(item.get("status") or "")
    variable = item.get("type") == "variable"
    if variable:
        variants = tuple(_variant(v, _option_name(v)) for v in variations or [])
    else:
        variants = (_variant(item, ""),)
    stamp = item.get("date_modified_gmt")
    return ProductData(
        id=str(item["id"]),
        name=str(item.get("name") or ""),
        description=str(item.get("description") or ""),
        archived=status not in ("publish", "trash"),
        deleted=status == "trash",
        has_variants=variable,
        variants=variants,
        updated_at=parse_gmt(stamp) if stamp else None,
    )


def _variant(item: Mapping[str, Any], name: str) -> VariantData:
    return VariantData(
        id=str(item["id"]),
        name=name,
        sku=item.get("sku") or None,
        barcode=item.get("global_unique_id") or None,
        price=item.get("regular_price") or None,
    )


def _option_name(variation: Mapping[str, Any]) -> str:
    return " / ".join(str(a.get("option") or "") for a in variation.get("attributes") or [])


# --- writing: ProductWrite to batch items ------------------------------------------------------


def marker(key: str) -> str:
    """The marker SKU of a write's key: a fixed length, no commas (SKU lookups split on them)."""
    return MARKER_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:24]


def _plan(index: int, write: ProductWrite, current: Json | None, orphan: Json | None) -> _Plan:
    plan = _Plan(index, write)
    product = write.product
    plan.variant_ids = [v.id for v in product.variants]
    try:
        if product.id is None:
            _plan_create(plan)
            if orphan is not None and plan.body is not None:
                _adopt(plan, orphan)
        else:
            plan.product_id = product.id
            _plan_update(plan, current or {})
    except _Refused as refused:
        plan.error, plan.body = str(refused), None
        plan.variation_creates, plan.variation_updates = [], []
    return plan


def _plan_create(plan: _Plan) -> None:
    product = plan.write.product
    plan.creating = True
    plan.variant_ids = [None] * len(product.variants)
    body: Json = {
        "name": product.name,
        "description": product.description,
        "status": _status(product),
    }
    if not product.has_variants:
        if len(product.variants) > 1:
            raise _Refused(
                f"a product without variants takes one variant, not {len(product.variants)}"
            )
        body["type"] = "simple"
        if product.variants:
            body.update(_sellable(product.variants[0]))
        plan.body = body
        return
    names = [v.name for v in product.variants]
    body["type"] = "variable"
    body["sku"] = marker(plan.write.key)
    body["attributes"] = [_option_attribute(list(dict.fromkeys(names)))]
    plan.body = body
    plan.marked = True
    plan.variation_creates = [
        (i, {**_sellable(v), "attributes": [{"name": OPTION_ATTRIBUTE, "option": v.name}]})
        for i, v in enumerate(product.variants)
    ]


def _adopt(plan: _Plan, orphan: Json) -> None:
    """Finish an interrupted create: the parent exists, so it is updated, not created."""
    plan.creating = False
    plan.product_id = str(orphan["id"])
    plan.body = {**(plan.body or {}), "id": int(orphan["id"])}


def _plan_update(plan: _Plan, current: Json) -> None:
    write = plan.write
    product = write.product
    fields = set(write.fields)
    body: Json = {"id": int(product.id or 0)}
    if "name" in fields:
        body["name"] = product.name
    if "description" in fields:
        body["description"] = product.description
    if "state" in fields:
        body["status"] = _status(product)
    if not product.has_variants:
        if product.variants:
            body.update(_variant_fields(product.variants[0], fields))
        plan.variant_ids = [product.id] if product.variants else []
        plan.body = body if len(body) > 1 else None
        return
    new = [(i, v) for i, v in enumerate(product.variants) if v.id is None]
    if new:
        attributes, chosen = _with_options(
            current.get("attributes") or [], [v.name for _, v in new]
        )
        body["attributes"] = attributes
        # an earlier create stopped half-way: its marker goes once these variations are in
        plan.marked = str(current.get("sku") or "").startswith(MARKER_PREFIX)
        plan.variation_creates = [
            (i, {**_sellable(v), "attributes": axes})
            for (i, v), axes in zip(new, chosen, strict=True)
        ]
    for i, variant in enumerate(product.variants):
        if variant.id is None:
            continue
        changes = _variant_fields(variant, fields)
        if changes:
            plan.variation_updates.append((i, {"id": int(variant.id), **changes}))
    plan.body = body if len(body) > 1 else None


def _status(product: ProductData) -> str:
    return "draft" if product.archived else "publish"


def _sellable(variant: VariantData) -> Json:
    """A new simple product's or variation's codes and price; stock is the stock sync's."""
    body: Json = {"manage_stock": True}
    if variant.sku is not None:
        body["sku"] = variant.sku
    if variant.barcode is not None:
        body["global_unique_id"] = variant.barcode
    if variant.price is not None:
        body["regular_price"] = variant.price
    return body


def _variant_fields(variant: VariantData, fields: Set[str]) -> Json:
    """The variant's part of an update: only the fields asked for; None clears."""
    out: Json = {}
    if "price" in fields:
        out["regular_price"] = variant.price or ""
    if "sku" in fields:
        out["sku"] = variant.sku or ""
    if "barcode" in fields:
        out["global_unique_id"] = variant.barcode or ""
    return out


def _option_attribute(options: list[str]) -> Json:
    return {"name": OPTION_ATTRIBUTE, "variation": True, "visible": True, "options": options}


def _with_options(current: list[Json], names: Sequence[str]) -> tuple[list[Json], list[list[Json]]]:
    """The product's attributes with the new variants' options added (WooCommerce replaces
    the whole list on update), and each new variation's attributes. A product varying by
    several attributes takes names as their options joined by " / ", as they are read."""
    attributes = [
        {**a, "options": list(a.get("options") or [])} for a in current if isinstance(a, dict)
    ]
    axes = [a for a in attributes if a.get("variation")]
    if not axes:
        axes = [_option_attribute([])]
        attributes.append(axes[0])
    chosen: list[list[Json]] = []
    for name in names:
        parts = [name] if len(axes) == 1 else name.split(" / ")
        if len(parts) != len(axes):
            axis_names = ", ".join(str(a.get("name")) for a in axes)
            raise _Refused(
                f"variant {name!r} does not name one option for each attribute the product "
                f"varies by ({axis_names}, joined by ' / ')"
            )
        picks: list[Json] = []
        for axis, part in zip(axes, parts, strict=True):
            if part not in axis["options"]:
                axis["options"].append(part)
            # a global attribute is named by its id, a custom one by its name
            pick: Json = {"name": axis["name"], "option": part}
            if axis.get("id"):
                pick["id"] = axis["id"]
            picks.append(pick)
        chosen.append(picks)
    return attributes, chosen


def _pair(plans: Sequence[T], results: Any) -> Iterator[tuple[T, Json]]:
    """WC_REST_Controller::batch_items answers each list in the order it was sent."""
    answered = results if isinstance(results, list) else []
    for position, plan in enumerate(plans):
        result = answered[position] if position < len(answered) else None
        if not isinstance(result, dict):
            result = {"error": {"message": "no answer for this item in the batch"}}
        yield plan, result


def _refusal(error: Mapping[str, Any]) -> tuple[str, str | None]:
    """(message, field) from WooCommerce's per-item {"code", "message", "data"}."""
    code = str(error.get("code") or "")
    message = str(error.get("message") or code or "refused")
    named = _CODE_FIELDS.get(code)
    data = error.get("data")
    params = data.get("params") if isinstance(data, dict) else None
    if named is None and isinstance(params, dict) and params:
        named = str(next(iter(params)))
    return message, named

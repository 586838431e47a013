"""Square's catalogue as products: ITEMs with their ITEM_VARIATIONs, read and written.

Reads use SearchCatalogObjects (`begin_time`, `include_deleted_objects`) and
BatchRetrieveCatalogObjects; writes use BatchUpsertCatalogObjects with one batch per product,
because Square applies each batch atomically: one refused product then fails alone.

Square takes no sparse updates ("You must provide the full existing object in any update
request", Update Catalog Objects), so an update is read-modify-write: the item as Square holds
it now, with our fields laid over it. What we do not model (categories, taxes, images,
per-location overrides, inventory settings) is sent back unchanged instead of being cleared.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from possync.domain.models import utc_iso
from possync.domain.money import MoneyError, from_minor, parse_amount, to_minor
from possync.domain.products import ProductData, ProductWrite, ProductWriteOutcome, VariantData
from possync.vendors.errors import ApiError, FatalError
from possync.vendors.http import ApiClient

__all__ = ["SquareCatalogue", "product_from"]

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # SearchCatalogObjects: "the maximum limit of 1,000"
IDS_PER_RETRIEVE = 1000
OBJECTS_PER_BATCH = 1000  # BatchUpsertCatalogObjects: "Each batch may contain up to 1,000"
OBJECTS_PER_REQUEST = 10_000  # ... "across all batches for a single request may not exceed"
# Envelope fields a write does not send back: read-only stamps, and the two we set ourselves.
_NOT_SENT = ("updated_at", "created_at", "version", "is_deleted")
# `square_error` (square.py) writes a named field as "<detail> (field <path>)".
_FIELD_NOTE = re.compile(r"^(?P<detail>.*) \(field (?P<field>[^\s()]+)\)$", re.DOTALL)
_BATCH = re.compile(r"^batches\[(\d+)\]")
_ID_TOKEN = re.compile(r"#?\w+")
JsonDict = dict[str, Any]


class _Refused(Exception):
    """A write we can tell Square would refuse, answered without sending it."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass
class _Planned:
    """One product as one Square batch, with what its outcome needs."""

    index: int
    write: ProductWrite
    item: JsonDict
    size: int
    temp_id: str | None
    variant_refs: list[str]  # real ids or `#` temporary ids, in the product's variant order
    ids: set[str] = field(default_factory=set)  # every id the batch names (to match errors)


class SquareCatalogue:
    """The product side of a Square location over one API client; SquarePos is one."""

    _api: ApiClient
    _location_id: str
    _currency: str | None

    def __init__(self, api: ApiClient, location_id: str) -> None:
        self._api = api
        self._location_id = location_id
        self._currency: str | None = None

    # --- reading ----------------------------------------------------------------------------

    def products_changed(self, since: datetime | None) -> Iterator[list[ProductData]]:
        """Items changed after `since`, then the items of variations changed after it: a
        variation written on its own (a price change) leaves its item's version alone."""
        seen: set[str] = set()
        body: JsonDict = {
            "object_types": ["ITEM"],
            "include_deleted_objects": True,
            "limit": SEARCH_LIMIT,
        }
        if since is not None:
            body["begin_time"] = utc_iso(since)
        for objects in self._search(body):
            page = _new_products(objects, seen)
            if page:
                yield page
        if since is None:
            return  # every item was read, its variations embedded
        for variations in self._search({**body, "object_types": ["ITEM_VARIATION"]}):
            parents = [
                str(v["item_variation_data"]["item_id"])
                for v in variations
                if (v.get("item_variation_data") or {}).get("item_id")
            ]
            missing = [i for i in dict.fromkeys(parents) if i not in seen]
            page = _new_products(self._retrieve(missing), seen)
            if page:
                yield page

    def products(self, product_ids: Sequence[str]) -> list[ProductData]:
        return [product_from(obj) for obj in self._retrieve(product_ids) if _is_live_item(obj)]

    def _search(self, body: JsonDict) -> Iterator[list[JsonDict]]:
        # A read: safe to repeat although it is a POST.
        while True:
            page = self._api.post("/v2/catalog/search", json=body, safe_to_repeat=True).json()
            yield list(page.get("objects") or [])
            if not page.get("cursor"):
                return
            body = {**body, "cursor": page["cursor"]}

    def _retrieve(self, ids: Sequence[str]) -> list[JsonDict]:
        """Live objects with these ids (deleted and unknown ones are left out)."""
        found: list[JsonDict] = []
        for start in range(0, len(ids), IDS_PER_RETRIEVE):
            response = self._api.post(
                "/v2/catalog/batch-retrieve",
                json={"object_ids": list(ids[start : start + IDS_PER_RETRIEVE])},
                safe_to_repeat=True,
            )
            found.extend(response.json().get("objects") or [])
        return found

    def currency(self) -> str:
        """The location's currency (prices are written in it), read once."""
        if self._currency is None:
            response = self._api.get(f"/v2/locations/{self._location_id}")
            self._currency = str(response.json()["location"]["currency"])
        return self._currency

    # --- writing ----------------------------------------------------------------------------

    def write_products(self, writes: Sequence[ProductWrite]) -> list[ProductWriteOutcome]:
        """Each product as one batch, batches packed into requests of at most 10,000 objects.
        Each request's idempotency key is derived from its content (which holds the current
        versions of what it updates), so a task retried after a lost answer gets Square's
        first answer back instead of creating its new products twice."""
        outcomes: dict[int, ProductWriteOutcome] = {}
        if not writes:
            return []
        currency = self.currency()
        wanted = [w.product.id for w in writes if w.product.id is not None]
        current = {str(o["id"]): o for o in self._retrieve(wanted) if _is_live_item(o)}
        planned: list[_Planned] = []
        for index, write in enumerate(writes):
            try:
                planned.append(_plan(index, write, current, currency))
            except _Refused as refused:
                outcomes[index] = _failed(write, str(refused), refused.where)
        for group in _requests(planned):
            outcomes.update(self._upsert(group))
        return [outcomes[i] for i in range(len(writes))]

    def _upsert(self, group: list[_Planned]) -> dict[int, ProductWriteOutcome]:
        """Send one request; a product Square refuses by name fails alone and the others are
        sent again with a new key (a refused request wrote nothing, so each is written once)."""
        outcomes: dict[int, ProductWriteOutcome] = {}
        while group:
            batches = [{"objects": [p.item]} for p in group]
            body = {"idempotency_key": _content_key(batches), "batches": batches}
            try:
                response = self._api.post(
                    "/v2/catalog/batch-upsert", json=body, safe_to_repeat=True
                )
            except FatalError as exc:
                culprit = _culprit(exc, group)
                if culprit is None:
                    raise
                detail, named = _split(exc.vendor_message)
                outcomes[culprit.index] = _refusal(culprit.write, exc.code, detail, named)
                group = [p for p in group if p is not culprit]
                continue
            outcomes.update(_written(group, response.json()))
            return outcomes
        return outcomes


# --- mapping Square objects to products ---------------------------------------------------


def product_from(obj: Mapping[str, Any]) -> ProductData:
    """An ITEM with its embedded variations, in `ordinal` order."""
    data = obj.get("item_data") or {}
    variations = sorted(
        (v for v in data.get("variations") or [] if v.get("type") == "ITEM_VARIATION"),
        key=lambda v: (v.get("item_variation_data") or {}).get("ordinal") or 0,
    )
    stamps = [s for s in (obj.get("updated_at"), *(v.get("updated_at") for v in variations)) if s]
    version = obj.get("version")
    return ProductData(
        id=str(obj["id"]),
        name=str(data.get("name") or ""),
        description=str(data.get("description") or ""),
        archived=bool(data.get("is_archived")),
        deleted=bool(obj.get("is_deleted")),
        has_variants=len(variations) > 1,
        variants=tuple(_variant_from(v) for v in variations),
        updated_at=max(_parse_time(s) for s in stamps) if stamps else None,
        version=int(version) if version is not None else None,
    )


def _variant_from(obj: Mapping[str, Any]) -> VariantData:
    data = obj.get("item_variation_data") or {}
    price = data.get("price_money") or {}
    fixed = data.get("pricing_type", "FIXED_PRICING") == "FIXED_PRICING"
    amount = price.get("amount")
    return VariantData(
        id=str(obj["id"]),
        name=str(data.get("name") or ""),
        sku=_blank_to_none(data.get("sku")),
        barcode=_blank_to_none(data.get("upc")),
        price=_major(int(amount), str(price.get("currency") or ""))
        if fixed and amount is not None
        else None,
    )


def _new_products(objects: list[JsonDict], seen: set[str]) -> list[ProductData]:
    page = []
    for obj in objects:
        if obj.get("type") == "ITEM" and obj["id"] not in seen:
            seen.add(str(obj["id"]))
            page.append(product_from(obj))
    return page


def _is_live_item(obj: Mapping[str, Any]) -> bool:
    return obj.get("type") == "ITEM" and not obj.get("is_deleted")


# --- building the upsert ------------------------------------------------------------------


def _plan(
    index: int, write: ProductWrite, current: Mapping[str, JsonDict], currency: str
) -> _Planned:
    """The product as one ITEM object embedding all its variations (Square deletes the
    item's variations its `variations` list leaves out)."""
    product = write.product
    if not product.variants:
        raise _Refused("Square needs at least one variation per item.", "variants")
    size = 1 + len(product.variants)
    if size > OBJECTS_PER_BATCH:
        raise _Refused(
            f"Square takes at most {OBJECTS_PER_BATCH} objects (item and variations) in a "
            f"batch; this product has {size}.",
            "variants",
        )
    if product.id is None:
        item_id, base = f"#p{index}", {}
    elif product.id in current:
        item_id, base = product.id, _envelope(current[product.id])
    else:
        raise _Refused(f"Item `{product.id}` is not in Square (deleted?).", "id")
    data = dict(base.get("item_data") or {})
    data.pop("description_plaintext", None)  # read-only
    if data.get("description") != product.description:
        data.pop("description_html", None)  # Square lets description_html win over description
    data.update(name=product.name, description=product.description)
    data["is_archived"] = product.archived
    known = {str(v["id"]): v for v in data.get("variations") or []}
    variations, refs = [], []
    for m, variant in enumerate(product.variants):
        ref = variant.id or f"#p{index}v{m}"
        variations.append(_variation(ref, item_id, variant, known.get(ref, {}), currency))
        refs.append(ref)
    data["variations"] = variations
    item: JsonDict = {**base, "type": "ITEM", "id": item_id, "item_data": data}
    if product.version is not None:  # without it the write is last-write-wins
        item["version"] = product.version
    return _Planned(
        index=index,
        write=write,
        item=item,
        size=size,
        temp_id=item_id if product.id is None else None,
        variant_refs=refs,
        ids={item_id, *refs},
    )


def _variation(
    ref: str, item_id: str, variant: VariantData, base: JsonDict, currency: str
) -> JsonDict:
    data = dict(base.get("item_variation_data") or {})
    data.pop("ordinal", None)  # read-only: Square sets it from the variation's place
    data.update(item_id=item_id, name=variant.name)
    if not base:
        data["track_inventory"] = True  # possync syncs its stock, so Square should count it
    for key, value in (("sku", variant.sku), ("upc", variant.barcode)):
        if value:
            data[key] = value
        else:
            data.pop(key, None)  # no sparse updates: left out is cleared
    if variant.price is None:
        data["pricing_type"] = "VARIABLE_PRICING"  # priced at the time of sale
        data.pop("price_money", None)
    else:
        data["pricing_type"] = "FIXED_PRICING"
        data["price_money"] = {"amount": _minor(variant.price, currency), "currency": currency}
    return {**_envelope(base), "type": "ITEM_VARIATION", "id": ref, "item_variation_data": data}


_KEYS = uuid.UUID("0b8f2a52-3c44-4f6e-9d0e-5a1c7e2b9f31")


def _content_key(batches: list[dict[str, list[JsonDict]]]) -> str:
    """The same request, the same key (Square keeps keys for at least a day)."""
    return str(uuid.uuid5(_KEYS, json.dumps(batches, sort_keys=True, ensure_ascii=False)))


def _requests(planned: list[_Planned]) -> Iterator[list[_Planned]]:
    """Batches packed in order into requests of at most 10,000 objects."""
    group: list[_Planned] = []
    size = 0
    for plan in planned:
        if group and size + plan.size > OBJECTS_PER_REQUEST:
            yield group
            group, size = [], 0
        group.append(plan)
        size += plan.size
    if group:
        yield group


def _envelope(obj: Mapping[str, Any]) -> JsonDict:
    """A catalog object as read, as the base of a write: all it holds but `_NOT_SENT`."""
    return {k: v for k, v in obj.items() if k not in _NOT_SENT}


# --- reading the answer -------------------------------------------------------------------


def _written(group: list[_Planned], body: Mapping[str, Any]) -> dict[int, ProductWriteOutcome]:
    """Outcomes of an accepted request. Square may accept a request yet report a failed batch
    in `errors`; such a product fails, the others are written."""
    mappings = {
        str(m["client_object_id"]): str(m["object_id"]) for m in body.get("id_mappings") or []
    }
    refused: dict[int, ProductWriteOutcome] = {}
    for error in body.get("errors") or []:
        detail = str(error.get("detail") or error.get("code") or "refused")
        named = error.get("field")
        culprit = _named_batch(group, named, detail)
        if culprit is not None:
            refused[culprit.index] = _refusal(culprit.write, error.get("code"), detail, named)
    outcomes: dict[int, ProductWriteOutcome] = {}
    for plan in group:
        product_id = mappings.get(plan.temp_id) if plan.temp_id else plan.write.product.id
        if plan.index in refused:
            outcomes[plan.index] = refused[plan.index]
        elif product_id is None:
            outcomes[plan.index] = _failed(plan.write, "Square returned no id for it.", None)
        else:
            outcomes[plan.index] = ProductWriteOutcome(
                key=plan.write.key,
                ok=True,
                product_id=product_id,
                variant_ids=tuple(
                    mappings.get(r, r) if r.startswith("#") else r for r in plan.variant_refs
                ),
            )
    return outcomes


def _culprit(exc: ApiError, group: list[_Planned]) -> _Planned | None:
    """The one product a refused request names: by the error's field (`batches[i]...`), or,
    when Square names no field, by an id of ours quoted in its detail."""
    if exc.status is None or not 400 <= exc.status < 500:
        return None
    detail, named = _split(exc.vendor_message)
    return _named_batch(group, named, detail)


def _named_batch(group: list[_Planned], named: Any, detail: str) -> _Planned | None:
    if isinstance(named, str) and (match := _BATCH.match(named)):
        position = int(match.group(1))
        return group[position] if position < len(group) else None
    tokens = set(_ID_TOKEN.findall(detail))
    quoted = [p for p in group if p.ids & tokens]
    return quoted[0] if len(quoted) == 1 else None


def _split(message: str) -> tuple[str, str | None]:
    """(detail, field) from a message `square_error` made."""
    match = _FIELD_NOTE.match(message)
    return (match["detail"], match["field"]) if match else (message, None)


def _refusal(
    write: ProductWrite, code: str | None, detail: str, named: str | None
) -> ProductWriteOutcome:
    if code == "VERSION_MISMATCH":
        detail = f"changed in Square since it was read; retried next run ({detail})"
    return _failed(write, detail, named)


def _failed(write: ProductWrite, error: str, named: str | None) -> ProductWriteOutcome:
    log.warning("Square refused product %s: %s", write.key, error)
    return ProductWriteOutcome(key=write.key, ok=False, error=error, error_field=named)


# --- values -------------------------------------------------------------------------------


def _minor(price: str, currency: str) -> int:
    """A decimal price as Square's Money.amount: the currency's minor units (12.50 EUR ->
    1250, 1250 JPY -> 1250, 1.005 KWD -> 1005), exactly and within int64, or refused."""
    try:
        return to_minor(parse_amount(price), currency)
    except MoneyError as exc:
        raise _Refused(f"Price `{price}` cannot be written to Square: {exc}.", "price") from None


def _major(amount: int, currency: str) -> str:
    """Money.amount as decimal text at the currency's decimals: 1250 DKK -> '12.50',
    1250 JPY -> '1250', 1005 KWD -> '1.005'. A currency that is no ISO 4217 code leaves
    the price unknown (None would mean 'no price'): the amount and code are kept as text,
    which the planner refuses as not a number."""
    try:
        return str(from_minor(amount, currency))
    except MoneyError:
        return f"{amount} minor units of {currency or 'no currency'}"


def _blank_to_none(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))

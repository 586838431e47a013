"""Magento products as `ProductData`: the `ProductCatalogue` half of `MagentoShop`.

A simple product is one variant whose id is the product's own; a configurable product's
variants are its linked simple children, named by their value of the option attribute
(`option_attribute`, `size` by default) through that attribute's option labels. A child
belongs to its configurable only, never to the catalogue as a product of its own (a SKU
must be in one product; Magento's children are usually "not visible individually"
anyway). Status 2 (disabled) is `archived`; a deleted product is gone from Magento, so it
is never read as `deleted`. Description and barcode are EAV `custom_attributes`
(`description`, `barcode_attribute`).

Reads go by `updated_at` (whole seconds, from a second early). Saving a child does not
touch its configurable's `updated_at`, so the parents of changed children are read too.

Writes: one call per product and child. `POST /V1/products` with a SKU that exists updates
it, so creates are safe to repeat. A new configurable gets its children first (hidden,
with the option value), then the parent with `configurable_product_links`; its SKU is
derived from the write's key, so a rerun after a crash updates the same parent. A new
variant of an existing configurable is created, then linked with `POST /V1/configurable-
products/{sku}/child`. A product Magento refuses (4xx) fails alone with Magento's message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from possync.domain.money import minor_units
from possync.domain.products import ProductData, ProductWrite, ProductWriteOutcome, VariantData
from possync.vendors.errors import FatalError
from possync.vendors.http import ApiClient
from possync.vendors.magento.client import (
    allowed_page_size,
    magento_time,
    parse_magento_time,
    search_pages,
)
from possync.vendors.magento.config import MagentoConfig

__all__ = ["MagentoProducts", "custom_attribute", "max_price", "parent_sku", "price_text"]

Json = dict[str, Any]
ENABLED, DISABLED = 1, 2
NOT_VISIBLE, VISIBLE = 1, 4
ATTRIBUTE_SET = 4


def custom_attribute(product: Mapping[str, Any], code: str) -> str | None:
    for attribute in product.get("custom_attributes") or []:
        if attribute.get("attribute_code") == code:
            value = attribute.get("value")
            return str(value) if value not in (None, "") else None
    return None


# The REST API carries a price as a PHP float (ProductInterface::setPrice(float)), exact to
# 15 significant digits, into catalog_product_entity_decimal.value, decimal(20,6).
_FLOAT_DIGITS = 15
_COLUMN_LIMIT = Decimal(10) ** 14


def max_price(currency: str) -> Decimal:
    """The largest price Magento holds exactly at the currency's decimals: within
    decimal(20,6) and within the 15 significant digits of the float it travels as."""
    exponent = minor_units(currency)
    step = Decimal(1).scaleb(-exponent)
    return min(_COLUMN_LIMIT, Decimal(10) ** (_FLOAT_DIGITS - exponent)) - step


def price_text(value: object) -> str | None:
    """A price as read (a JSON number) as exact decimal text: two decimals ('21.00'), more
    where it has them ('12.345'). It was formatted with two always, so 12.345 read as
    '12.35'."""
    if value is None:
        return None
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        amount = Decimal(text)
        cents = amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        return text
    return f"{cents:f}" if cents == amount else f"{amount.normalize():f}"


def _price_number(price: str) -> float:
    """The price as the float Magento's API takes, if that float is exactly the price."""
    try:
        amount = Decimal(price)
    except InvalidOperation:
        raise _Refused(f"price {price!r} is not a number") from None
    number = float(amount)
    if not amount.is_finite() or Decimal(repr(number)) != amount:
        raise _Refused(
            f"price {price} cannot be carried exactly by Magento's API (a float of "
            f"{_FLOAT_DIGITS} significant digits); it is not rounded"
        )
    return number


def parent_sku(key: str) -> str:
    """A new configurable's SKU, from the write's key: a rerun finds the same parent."""
    return "possync-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _path(sku: str) -> str:
    return "/V1/products/" + quote(sku, safe="")


PARENT_PAGE = 10_000  # configurables per page when mapping children to parents


class MagentoProducts:
    """Magento products (simple and configurable) over one ApiClient; MagentoShop is one."""

    _api: ApiClient
    config: MagentoConfig
    _size: int
    _parents: dict[int, int] | None
    _labels: dict[str, str] | None
    _attribute: str | None

    def __init__(self, api: ApiClient, config: MagentoConfig, page_size: int) -> None:
        self._api = api
        self.config = config
        self._size = page_size
        self._parents = None
        self._labels = None
        self._attribute = None

    def parents(self, refresh: bool = False) -> dict[int, int]:
        """child product id → its configurable's id."""
        if self._parents is None or refresh:
            try:
                self._parents = self._read_parents(PARENT_PAGE)
            except FatalError as exc:
                allowed = allowed_page_size(exc)
                if allowed is None:
                    raise
                self._parents = self._read_parents(allowed)
        return self._parents

    def _read_parents(self, page_size: int) -> dict[int, int]:
        """Every configurable's links, in big pages of ids and links only (a store with
        input limits allows 300 a page, and says so)."""
        found: dict[int, int] = {}
        groups = [[("type_id", "configurable", "eq")]]
        fields = "items[id,extension_attributes[configurable_product_links]],total_count"
        for page in search_pages(
            self._api, "/V1/products", groups, page_size=page_size, fields=fields
        ):
            for item in page:
                links = (item.get("extension_attributes") or {}).get("configurable_product_links")
                for child in links or []:
                    found[int(child)] = int(item["id"])
        return found

    # --- reading ----------------------------------------------------------------------

    def products_changed(self, since: datetime | None) -> Iterator[list[ProductData]]:
        groups = [[("type_id", "simple,configurable", "in")]]
        if since is not None:
            groups.append([("updated_at", magento_time(since - timedelta(seconds=1)), "gt")])
        sort = [("updated_at", "ASC"), ("entity_id", "ASC")]
        parents = self.parents(refresh=True)
        seen: set[int] = set()
        for page in search_pages(self._api, "/V1/products", groups, page_size=self._size,
                                 sort=sort):  # fmt: skip
            owners = [parents[int(p["id"])] for p in page if int(p["id"]) in parents]
            own = [p for p in page if int(p["id"]) not in parents and int(p["id"]) not in seen]
            extra = sorted(set(owners) - seen - {int(p["id"]) for p in own})
            found = self._products_of(own + self._by_ids(extra))
            seen.update(int(p.id or 0) for p in found)
            if found:
                yield found

    def products(self, product_ids: Sequence[str]) -> list[ProductData]:
        ids = [int(i) for i in dict.fromkeys(product_ids) if str(i).isdigit()]
        by_id = {int(p["id"]): p for p in self._by_ids(ids)}
        return self._products_of([by_id[i] for i in ids if i in by_id])

    def _by_ids(self, ids: Sequence[int]) -> list[Json]:
        found: list[Json] = []
        for start in range(0, len(ids), self._size):
            chunk = ",".join(str(i) for i in ids[start : start + self._size])
            for page in search_pages(self._api, "/V1/products", [[("entity_id", chunk, "in")]],
                                     page_size=self._size):  # fmt: skip
                found.extend(page)
        return found

    def _products_of(self, items: Sequence[Json]) -> list[ProductData]:
        found: list[ProductData] = []
        for item in items:
            if item.get("type_id") == "configurable":
                children = self._api.get(
                    f"/V1/configurable-products/{quote(str(item['sku']), safe='')}/children"
                ).json()
                found.append(self._product(item, children))
            elif item.get("type_id") == "simple":
                found.append(self._product(item, None))
        return found

    def _product(self, item: Json, children: list[Json] | None) -> ProductData:
        if children is None:
            variants: tuple[VariantData, ...] = (self._variant(item, ""),)
        else:
            labels = self.labels()
            code = self.config.option_attribute
            variants = tuple(
                self._variant(c, labels.get(custom_attribute(c, code) or "", "")) for c in children
            )
        stamp = item.get("updated_at")
        return ProductData(
            id=str(item["id"]),
            name=str(item.get("name") or ""),
            description=custom_attribute(item, "description") or "",
            archived=int(item.get("status") or ENABLED) == DISABLED,
            has_variants=children is not None,
            variants=variants,
            updated_at=parse_magento_time(stamp) if stamp else None,
        )

    def _variant(self, item: Json, name: str) -> VariantData:
        price = item.get("price")
        return VariantData(
            id=str(item["id"]),
            name=name,
            sku=item.get("sku") or None,
            barcode=custom_attribute(item, self.config.barcode_attribute),
            price=price_text(price),
        )

    def labels(self, refresh: bool = False) -> dict[str, str]:
        """The option attribute's option id → label."""
        if self._labels is None or refresh:
            path = f"/V1/products/attributes/{self.config.option_attribute}/options"
            self._labels = {
                str(o.get("value")): str(o.get("label") or "")
                for o in self._api.get(path).json()
                if str(o.get("value") or "").strip()
            }
        return self._labels

    def _attribute_id(self) -> str:
        """The option attribute's numeric id, as configurable_product_options name it."""
        if self._attribute is None:
            path = f"/V1/products/attributes/{self.config.option_attribute}"
            self._attribute = str(self._api.get(path).json()["attribute_id"])
        return self._attribute

    def _option_id(self, label: str) -> str:
        for option_id, known in self.labels().items():
            if known == label:
                return option_id
        path = f"/V1/products/attributes/{self.config.option_attribute}/options"
        body = {"option": {"label": label, "value": ""}}
        created = str(self._api.post(path, json=body, safe_to_repeat=False).json())
        self.labels(refresh=True)
        return created.removeprefix("id_")

    # --- writing ----------------------------------------------------------------------

    def write_products(self, writes: Sequence[ProductWrite]) -> list[ProductWriteOutcome]:
        ids = sorted({int(i) for w in writes for i in _ids(w.product)})
        current = {str(p["id"]): p for p in self._by_ids(ids)}
        return [self._write(w, current) for w in writes]

    def _write(self, write: ProductWrite, current: Mapping[str, Json]) -> ProductWriteOutcome:
        product = write.product
        variant_ids: list[str | None] = [v.id for v in product.variants]
        try:
            if not product.has_variants:
                if len(product.variants) > 1:
                    raise _Refused(f"a simple product takes one variant, not "
                                   f"{len(product.variants)}")  # fmt: skip
                product_id = self._write_simple(write, current)
                variant_ids = [product_id] if product.variants else []
            else:
                product_id = self._write_configurable(write, current, variant_ids)
        except _Refused as refused:
            error = str(refused)
        except FatalError as exc:
            error = exc.vendor_message
        else:
            return ProductWriteOutcome(
                key=write.key, ok=True, product_id=product_id, variant_ids=tuple(variant_ids)
            )
        return ProductWriteOutcome(
            key=write.key,
            ok=False,
            product_id=product.id,
            variant_ids=tuple(variant_ids),
            error=error,
        )

    def _write_simple(self, write: ProductWrite, current: Mapping[str, Json]) -> str:
        product = write.product
        variant = product.variants[0] if product.variants else VariantData()
        if product.id is None:
            everything: set[str] = {*write.fields, "name", "description", "state"}
            body = {**self._base(product, everything),
                    **self._sellable(variant, {"price", "sku", "barcode"})}  # fmt: skip
            body |= {"type_id": "simple", "attribute_set_id": ATTRIBUTE_SET, "visibility": VISIBLE}
            if not body.get("sku"):
                raise _Refused("a new Magento product needs a SKU")
            return str(self._save(None, body)["id"])
        old = current.get(product.id)
        if old is None:
            raise _Refused(f"product {product.id} is not in Magento")
        fields: set[str] = set(write.fields)
        body = {**self._base(product, fields), **self._sellable(variant, fields)}
        body.setdefault("sku", old["sku"])
        return str(self._save(str(old["sku"]), body)["id"])

    def _write_configurable(self, write: ProductWrite, current: Mapping[str, Json],
                            variant_ids: list[str | None]) -> str:  # fmt: skip
        product = write.product
        fields: set[str] = set(write.fields)
        code = self.config.option_attribute
        creating = product.id is None
        for index, variant in enumerate(product.variants):
            old = current.get(variant.id or "")
            if variant.id is not None and old is None:
                raise _Refused(f"variant {variant.id} is not in Magento")
            if old is not None:
                body = self._sellable(variant, fields)
                if body:
                    body.setdefault("sku", old["sku"])
                    self._save(str(old["sku"]), body)
                continue
            if not variant.sku:
                raise _Refused("a new Magento variant needs a SKU")
            child = {**self._sellable(variant, {"price", "sku", "barcode"}),
                     "name": f"{product.name}-{variant.name}", "type_id": "simple",
                     "attribute_set_id": ATTRIBUTE_SET, "visibility": NOT_VISIBLE,
                     "status": DISABLED if product.archived else ENABLED}  # fmt: skip
            _add_attribute(child, code, self._option_id(variant.name or variant.sku))
            variant_ids[index] = str(self._save(None, child)["id"])
            if not creating:
                parent = current.get(product.id or "")
                if parent is None:
                    raise _Refused(f"product {product.id} is not in Magento")
                links = (parent.get("extension_attributes") or {}).get(
                    "configurable_product_links"
                ) or []
                if int(variant_ids[index] or 0) not in links:  # a rerun finds it linked
                    link = f"/V1/configurable-products/{quote(str(parent['sku']), safe='')}/child"
                    self._api.post(link, json={"childSku": variant.sku}, safe_to_repeat=False)
        if creating:
            body = self._base(product, fields | {"name", "description", "state"})
            options = dict.fromkeys(int(self._option_id(v.name or v.sku or ""))
                                    for v in product.variants)  # fmt: skip
            values = [{"value_index": option} for option in options]
            body |= {"sku": parent_sku(write.key), "type_id": "configurable",
                     "attribute_set_id": ATTRIBUTE_SET, "visibility": VISIBLE,
                     "extension_attributes": {
                         "configurable_product_links": [int(i or 0) for i in variant_ids],
                         "configurable_product_options": [
                             {"attribute_id": self._attribute_id(), "label": code.title(),
                              "position": 0,
                              "values": values}]}}  # fmt: skip
            return str(self._save(None, body)["id"])
        parent = current.get(product.id or "")
        if parent is None:
            raise _Refused(f"product {product.id} is not in Magento")
        body = self._base(product, fields)
        if body:
            body["sku"] = parent["sku"]
            self._save(str(parent["sku"]), body)
        return str(parent["id"])

    def _save(self, sku: str | None, body: Json) -> Json:
        if sku is None:
            answer = self._api.post("/V1/products", json={"product": body}, safe_to_repeat=True)
        else:
            answer = self._api.put(_path(sku), json={"product": body})
        result: Json = answer.json()
        return result

    def _base(self, product: ProductData, fields: set[str]) -> Json:
        body: Json = {}
        if "name" in fields:
            body["name"] = product.name
        if "state" in fields:
            body["status"] = DISABLED if product.archived else ENABLED
        if "description" in fields:
            _add_attribute(body, "description", product.description)
        return body

    def _sellable(self, variant: VariantData, fields: set[str]) -> Json:
        body: Json = {}
        if "sku" in fields and variant.sku:
            body["sku"] = variant.sku
        if "price" in fields and variant.price is not None:
            body["price"] = _price_number(variant.price)
        if "barcode" in fields:
            _add_attribute(body, self.config.barcode_attribute, variant.barcode or "")
        return body


class _Refused(Exception):
    """A write we cannot express in Magento; it fails alone (with whatever it wrote)."""


def _ids(product: ProductData) -> list[str]:
    ids = [product.id] if product.id else []
    return ids + [v.id for v in product.variants if v.id and v.id.isdigit()]


def _add_attribute(body: Json, code: str, value: str) -> None:
    body.setdefault("custom_attributes", []).append({"attribute_code": code, "value": value})

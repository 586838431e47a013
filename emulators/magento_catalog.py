"""The Magento emulator's catalogue: products (simple and configurable), the `size`
option list configurables vary by, and MSI source items (quantity per SKU and source).

Product JSON follows catalog-data-product-interface: `status` 1 enabled / 2 disabled,
`visibility` 1 not visible individually … 4 catalog and search, and EAV values in
`custom_attributes` [{attribute_code, value}]: `description`, the barcode in `ean` (the
attribute code this emulator uses for EAN-13/GTIN; a store names its own), and `size`
(an option id of the `size` attribute) on a configurable's children. A configurable lists
its children's ids in `extension_attributes.configurable_product_links` and its axes in
`configurable_product_options`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Json = dict[str, Any]
BARCODE_ATTRIBUTE = "ean"
SIZE_ATTRIBUTE = "size"
SIZE_ATTRIBUTE_ID = 141
DEFAULT_ATTRIBUTE_SET = 4
DEFAULT_SOURCE = "default"
VISIBLE_BOTH = 4
NOT_VISIBLE = 1
ENABLED, DISABLED = 1, 2
STAMP = "%Y-%m-%d %H:%M:%S"


Parameters = list[str] | dict[str, object] | None


class CatalogError(Exception):
    """A refusal with Magento's message template and its parameters."""

    def __init__(self, status: int, message: str, parameters: Parameters = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters: list[str] | dict[str, object] = parameters or []


def stamp(moment: datetime) -> str:
    return moment.strftime(STAMP)


@dataclass
class Product:
    id: int
    sku: str
    name: str
    type_id: str = "simple"
    price: Decimal = Decimal(0)
    status: int = ENABLED
    visibility: int = VISIBLE_BOTH
    attribute_set_id: int = DEFAULT_ATTRIBUTE_SET
    created_at: str = ""
    updated_at: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    children: list[int] = field(default_factory=list)
    options: list[Json] = field(default_factory=list)


@dataclass
class SourceItem:
    sku: str
    source_code: str
    quantity: Decimal
    status: int


class Catalog:
    """Products by id and SKU, size options, source items; the caller holds the lock."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._ids = itertools.count(1)
        self._option_ids = itertools.count(5001)
        self.products: dict[int, Product] = {}
        self.by_sku: dict[str, int] = {}
        self.sizes: dict[int, str] = {}
        self.source_items: dict[tuple[str, str], SourceItem] = {}
        self.parents: dict[int, int] = {}  # child id → configurable id

    # --- products ---------------------------------------------------------------------

    def get(self, sku: str) -> Product:
        product_id = self.by_sku.get(sku)
        if product_id is None:
            raise CatalogError(
                404,
                "The product that was requested doesn't exist. Verify the product and try again.",
            )
        return self.products[product_id]

    def by_skus(self, skus: list[str]) -> list[Product]:
        ids = sorted({self.by_sku[s] for s in skus if s in self.by_sku})
        return [self.products[i] for i in ids]

    def by_ids(self, values: list[str]) -> list[Product]:
        ids = sorted({int(v) for v in values if v.isdigit() and int(v) in self.products})
        return [self.products[i] for i in ids]

    def source_items_of(self, skus: list[str]) -> list[SourceItem]:
        """By SKU, at the one source the emulator has."""
        found = (self.source_items.get((s, DEFAULT_SOURCE)) for s in sorted(set(skus)))
        return [i for i in found if i is not None]

    def parent_of(self, product_id: int) -> Product | None:
        parent_id = self.parents.get(product_id)
        return self.products.get(parent_id) if parent_id is not None else None

    def set_children(self, parent: Product, children: list[int]) -> None:
        for child in parent.children:
            if self.parents.get(child) == parent.id:
                del self.parents[child]
        parent.children = list(children)
        for child in children:
            self.parents[child] = parent.id

    def save(self, body: Json, sku: str | None = None) -> Product:
        """POST /V1/products (sku None) or PUT /V1/products/{sku}: create or update."""
        wanted = str(body.get("sku") or sku or "").strip()
        if not wanted:
            raise CatalogError(400, 'The "%1" attribute value is empty. Set the attribute and '
                               "try again.", ["sku"])  # fmt: skip
        _check_limits(wanted, body)
        key = sku if sku is not None else wanted
        current = self.by_sku.get(key)
        if current is None:
            if not body.get("name"):
                raise CatalogError(
                    400,
                    'The "%1" attribute value is empty. Set the attribute and try again.',
                    ["name"],
                )
            product = Product(id=next(self._ids), sku=wanted, name="", created_at=self._stamp())
        else:
            product = self.products[current]
            if wanted != product.sku and wanted in self.by_sku:
                raise CatalogError(
                    400, 'The value specified in the URL key field would generate a URL that '
                    "already exists.", []
                )  # fmt: skip
        self._apply(product, body)
        if current is None or wanted != product.sku:
            self.by_sku.pop(product.sku, None)
            product.sku = wanted
        self.by_sku[product.sku] = product.id
        self.products[product.id] = product
        self.touch(product)
        return product

    def _apply(self, product: Product, body: Json) -> None:
        for name in ("name", "type_id"):
            if body.get(name) is not None:
                setattr(product, name, str(body[name]))
        if product.type_id not in ("simple", "configurable", "virtual"):
            raise CatalogError(400, 'Invalid value of "%1" provided for the %2 field.',
                               [product.type_id, "type_id"])  # fmt: skip
        for name in ("status", "visibility", "attribute_set_id"):
            if body.get(name) is not None:
                setattr(product, name, _integer(body[name], name))
        if body.get("price") is not None:
            try:
                product.price = Decimal(str(body["price"]))
            except InvalidOperation:
                raise CatalogError(400, 'Invalid value of "%1" provided for the %2 field.',
                                   [str(body["price"]), "price"]) from None  # fmt: skip
            if product.price < 0:
                raise CatalogError(400, "Please enter a number 0 or greater in this field.")
        for attribute in body.get("custom_attributes") or []:
            code = str(attribute.get("attribute_code") or "")
            if code:
                product.attributes[code] = str(attribute.get("value") or "")
        extension = body.get("extension_attributes") or {}
        links = extension.get("configurable_product_links")
        if links is not None:
            for child_id in links:
                if int(child_id) not in self.products:
                    raise CatalogError(400, 'The product with id "%1" does not exist.',
                                       [str(child_id)])  # fmt: skip
            self.set_children(product, [int(c) for c in links])
        if extension.get("configurable_product_options") is not None:
            product.options = list(extension["configurable_product_options"])

    def link_child(self, parent_sku: str, child_sku: str) -> None:
        parent, child = self.get(parent_sku), self.get(child_sku)
        if parent.type_id != "configurable":
            raise CatalogError(400, 'The "%1" product is not configurable.', [parent_sku])
        if child.id in parent.children:
            raise CatalogError(400, "The product is already attached.")
        self.set_children(parent, [*parent.children, child.id])
        self.touch(parent)

    def delete(self, sku: str) -> None:
        product = self.get(sku)
        del self.products[product.id]
        del self.by_sku[sku]
        parent = self.parent_of(product.id)
        if parent is not None:
            self.set_children(parent, [c for c in parent.children if c != product.id])
        if product.children:
            self.set_children(product, [])
        for key in [k for k in self.source_items if k[0] == sku]:
            del self.source_items[key]

    def touch(self, product: Product) -> None:
        product.updated_at = self._stamp()

    def _stamp(self) -> str:
        return stamp(self._now())

    def size_option(self, label: str) -> int:
        """The `size` option id of this label, added when new (the admin's option list)."""
        for option_id, known in self.sizes.items():
            if known == label:
                return option_id
        option_id = next(self._option_ids)
        self.sizes[option_id] = label
        return option_id

    # --- source items -----------------------------------------------------------------

    def save_source_item(self, body: Json) -> SourceItem:
        sku = str(body.get("sku") or "")
        source = str(body.get("source_code") or "")
        if not sku or sku not in self.by_sku:
            raise CatalogError(400, 'Product with SKU "%1" does not exist.', [sku])
        if source != DEFAULT_SOURCE:
            raise CatalogError(400, 'Source with code "%1" does not exist.', [source])
        try:
            quantity = Decimal(str(body.get("quantity", 0)))
        except InvalidOperation:
            raise CatalogError(400, '"%1" should be numeric.', ["quantity"]) from None
        status = _integer(body.get("status", 1 if quantity > 0 else 0), "status")
        item = SourceItem(sku, source, quantity, status)
        self.source_items[(sku, source)] = item
        self.touch(self.get(sku))
        return item

    def quantity(self, sku: str, source: str = DEFAULT_SOURCE) -> Decimal | None:
        item = self.source_items.get((sku, source))
        return item.quantity if item else None

    def add_quantity(self, sku: str, delta: Decimal) -> None:
        """An order takes stock (delta < 0) or a cancel/credit memo returns it, at the
        default source (the emulator's stand-in for MSI reservations)."""
        item = self.source_items.get((sku, DEFAULT_SOURCE))
        if item is None:
            return
        item.quantity += delta
        item.status = 1 if item.quantity > 0 else 0


# catalog_product_entity.sku is varchar(64), checked by the SKU attribute's backend model;
# the name is a varchar(255) EAV value and the price a decimal(20,6) one, which MySQL in
# strict mode refuses beyond their size (the save fails as a whole).
SKU_MAX_LENGTH = 64
NAME_MAX_LENGTH = 255
PRICE_LIMIT = Decimal(10) ** 14
UNABLE_TO_SAVE = "The product was unable to be saved. Please try again."


def _check_limits(sku: str, body: Json) -> None:
    if len(sku) > SKU_MAX_LENGTH:
        raise CatalogError(
            400, "SKU length should be %1 characters maximum.", [str(SKU_MAX_LENGTH)]
        )
    if len(str(body.get("name") or "")) > NAME_MAX_LENGTH:
        raise CatalogError(400, UNABLE_TO_SAVE, [])
    try:
        price = Decimal(str(body["price"])) if body.get("price") is not None else None
    except InvalidOperation:
        return  # _apply answers a price that is no number
    if price is not None and price.is_finite() and abs(price) >= PRICE_LIMIT:
        raise CatalogError(400, UNABLE_TO_SAVE, [])


def _integer(value: object, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise CatalogError(400, 'Invalid value of "%1" provided for the %2 field.',
                           [str(value), name]) from None  # fmt: skip


def render_product(product: Product) -> Json:
    extension: Json = {"website_ids": [1]}
    if product.type_id == "configurable":
        extension["configurable_product_links"] = list(product.children)
        extension["configurable_product_options"] = list(product.options)
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "attribute_set_id": product.attribute_set_id,
        "price": float(product.price),
        "status": product.status,
        "visibility": product.visibility,
        "type_id": product.type_id,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "extension_attributes": extension,
        "product_links": [],
        "options": [],
        "media_gallery_entries": [],
        "tier_prices": [],
        "custom_attributes": [
            {"attribute_code": code, "value": value}
            for code, value in sorted(product.attributes.items())
        ],
    }


def product_field(product: Product, name: str) -> object:
    """A product's value for a searchCriteria field (EAV attributes included)."""
    if name in ("entity_id", "id"):
        return product.id
    if name in ("sku", "name", "type_id", "created_at", "updated_at"):
        return getattr(product, name)
    if name in ("status", "visibility", "attribute_set_id"):
        return getattr(product, name)
    if name == "price":
        return product.price
    return product.attributes.get(name)


def render_source_item(item: SourceItem) -> Json:
    return {
        "sku": item.sku,
        "source_code": item.source_code,
        "quantity": float(item.quantity),
        "status": item.status,
    }


def source_item_field(item: SourceItem, name: str) -> object:
    return {
        "sku": item.sku,
        "source_code": item.source_code,
        "quantity": item.quantity,
        "status": item.status,
    }.get(name)

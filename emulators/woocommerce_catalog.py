"""Products and variations of the WooCommerce emulator, with WooCommerce's save rules.

Products and variations are WordPress posts: they share one id sequence with orders,
refunds and webhooks. The rules copied from WooCommerce (its WC_Product classes and the
wc/v3 REST controllers) are the ones a sync client trips over: SKUs are unique across
products and variations (case-insensitively, as MySQL compares them), a managed stock
quantity decides stock_status, a variable product's stock_status follows its variations,
every save bumps date_modified, saving or deleting a variation re-saves its parent at the
end of the request (so the parent's date_modified moves too), trashed items free their SKU,
and the products endpoints refuse to edit a variation. Callers hold the WooState lock;
nothing here locks.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulators.woocommerce_params import (
    ARRAY,
    BOOL,
    DATE,
    INT,
    OBJECT,
    STR,
    Arg,
    Json,
    WooError,
    arg,
    decimal_of,
    format_decimal,
    invalid_id,
    to_bool,
    to_int,
    to_str,
)

PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
POST_STATUSES = ("draft", "pending", "private", "publish")
STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
VARIATION_HINT = (
    "To manipulate product variations you should use the "
    "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint."
)

_COMMON_ARGS: dict[str, Arg] = {
    "description": STR,
    "sku": STR,
    "global_unique_id": STR,
    "regular_price": STR,
    "sale_price": STR,
    "date_on_sale_from": DATE,
    "date_on_sale_to": DATE,
    "virtual": BOOL,
    "downloadable": BOOL,
    "tax_status": arg("string", enum=("taxable", "shipping", "none")),
    "tax_class": STR,
    "manage_stock": BOOL,
    "stock_quantity": INT,
    "stock_status": arg("string", enum=STOCK_STATUSES),
    "backorders": arg("string", enum=("no", "notify", "yes")),
    "low_stock_amount": arg("integer", "null"),
    "weight": STR,
    "dimensions": OBJECT,
    "shipping_class": STR,
    "menu_order": INT,
    "meta_data": ARRAY,
    "attributes": ARRAY,
}
PRODUCT_ARGS: dict[str, Arg] = {
    **_COMMON_ARGS,
    "name": STR,
    "slug": STR,
    "type": arg("string", enum=PRODUCT_TYPES),
    "status": arg("string", enum=(*POST_STATUSES, "future", "auto-draft", "trash")),
    "featured": BOOL,
    "catalog_visibility": arg("string", enum=("visible", "catalog", "search", "hidden")),
    "short_description": STR,
    "sold_individually": BOOL,
    "reviews_allowed": BOOL,
    "parent_id": INT,
    "purchase_note": STR,
    "categories": ARRAY,
    "tags": ARRAY,
    "images": ARRAY,
    "default_attributes": ARRAY,
    "upsell_ids": ARRAY,
    "cross_sell_ids": ARRAY,
}
VARIATION_ARGS: dict[str, Arg] = {
    **_COMMON_ARGS,
    "status": arg("string", enum=POST_STATUSES),
    "image": arg("object", "null"),
}

# Writable fields kept as given and echoed back; they do not change any behaviour here.
_PASS_THROUGH_PRODUCT = {
    "featured": to_bool,
    "catalog_visibility": to_str,
    "virtual": to_bool,
    "downloadable": to_bool,
    "tax_status": to_str,
    "tax_class": to_str,
    "weight": to_str,
    "dimensions": lambda v: v if isinstance(v, dict) else {},
    "shipping_class": to_str,
    "sold_individually": to_bool,
    "reviews_allowed": to_bool,
    "purchase_note": to_str,
    "categories": lambda v: v if isinstance(v, list) else [],
    "tags": lambda v: v if isinstance(v, list) else [],
    "upsell_ids": lambda v: [to_int(i) for i in v] if isinstance(v, list) else [],
    "cross_sell_ids": lambda v: [to_int(i) for i in v] if isinstance(v, list) else [],
    "menu_order": to_int,
}
_VARIATION_KEYS = ("virtual", "downloadable", "tax_status", "tax_class", "weight", "dimensions")
_PASS_THROUGH_VARIATION = {
    k: _PASS_THROUGH_PRODUCT[k] for k in (*_VARIATION_KEYS, "shipping_class", "menu_order")
}


@dataclass
class Product:
    """A product or variation post with the fields whose behaviour matters."""

    id: int
    post_type: str  # "product" or "product_variation"
    type: str  # simple | grouped | external | variable | variation
    parent_id: int
    date_created: datetime
    date_modified: datetime
    name: str = ""
    slug: str = ""
    status: str = "publish"
    description: str = ""
    short_description: str = ""
    sku: str = ""
    global_unique_id: str = ""
    regular_price: str = ""
    sale_price: str = ""
    manage_stock: bool = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    low_stock_amount: int | None = None
    attributes: list[Json] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    total_sales: int = 0
    meta_data: list[Json] = field(default_factory=list)
    extra: Json = field(default_factory=dict)

    @property
    def is_variation(self) -> bool:
        return self.post_type == "product_variation"

    @property
    def on_sale(self) -> bool:
        return self.sale_price != "" and decimal_of(self.sale_price) < decimal_of(
            self.regular_price
        )

    @property
    def price(self) -> str:
        return self.sale_price if self.on_sale else self.regular_price


class Catalog:
    """All products and variations, indexed by id, SKU and GTIN."""

    def __init__(self, next_id: Callable[[], int], now: Callable[[], datetime]) -> None:
        self._next_id = next_id
        self._now = now
        self.items: dict[int, Product] = {}
        self.product_ids: list[int] = []  # top-level products in creation order
        self._sku: dict[str, int] = {}
        self._gtin: dict[str, int] = {}
        self._slugs: set[str] = set()
        self._meta_id = 0
        self.version = 0  # bumped on every change, for list caches
        self._deferred: dict[int, None] = {}  # parents queued by wc_deferred_product_sync
        self.on_change: Callable[[Product, str], None] = lambda _p, _event: None

    # --- lookups ---------------------------------------------------------------------

    def get(self, item_id: int) -> Product | None:
        return self.items.get(item_id)

    def id_for_sku(self, sku: str) -> int | None:
        return self._sku.get(_sku_key(sku)) if sku else None

    def product(self, item_id: int) -> Product:
        """The product posts endpoints: any product or variation id, else 404."""
        item = self.items.get(item_id)
        if item is None:
            raise invalid_id("product")
        return item

    def variation(self, parent_id: int, item_id: int, status: int = 404) -> Product:
        item = self.items.get(item_id)
        if item is None or not item.is_variation or item.parent_id != parent_id:
            raise invalid_id("product_variation", status)
        return item

    # --- create / update -------------------------------------------------------------
    # Changes go to a draft copy that is committed only when every check passed, as
    # WooCommerce throws before it saves: a refused request leaves nothing half-written.

    def create_product(self, body: Mapping[str, Any]) -> Product:
        if body.get("id"):
            raise WooError(
                "woocommerce_rest_product_exists", "Cannot create existing product.", 400
            )
        product_type = to_str(body.get("type") or "simple")
        if product_type not in PRODUCT_TYPES:
            product_type = "simple"  # WC falls back to WC_Product_Simple for unknown types
        now = self._now()
        draft = Product(0, "product", product_type, 0, now, now)
        self._apply_product(draft, body)
        return self._commit_new(draft)

    def update_product(self, item_id: int, body: Mapping[str, Any]) -> Product:
        item = self.items.get(item_id)
        if item is None:
            raise invalid_id("product", 400)
        if item.is_variation:
            raise WooError("woocommerce_rest_invalid_product_id", VARIATION_HINT, 404)
        draft = copy.deepcopy(item)
        self._apply_product(draft, body)
        return self._commit_update(item, draft)

    def create_variation(self, parent_id: int, body: Mapping[str, Any]) -> Product:
        if body.get("id"):
            raise WooError(
                "woocommerce_rest_product_variation_exists",
                "Cannot create existing product_variation.",
                400,
            )
        now = self._now()
        draft = Product(0, "product_variation", "variation", parent_id, now, now)
        self._apply_variation(draft, body)
        return self._commit_new(draft)

    def update_variation(self, parent_id: int, item_id: int, body: Mapping[str, Any]) -> Product:
        item = self.items.get(item_id)
        if item is None or not item.is_variation:
            raise invalid_id("product_variation", 400)
        if item.parent_id != parent_id:
            raise WooError(
                "woocommerce_rest_cannot_edit",
                "Parent product does not match current variation.",
                401,
            )
        draft = copy.deepcopy(item)
        self._apply_variation(draft, body)
        return self._commit_update(item, draft)

    def set_stock(self, item: Product, quantity: int) -> None:
        """An admin edit or an order's stock change: a save with a new quantity."""
        item.manage_stock = True
        item.stock_quantity = quantity
        self._validate_stock(item)
        self._touch(item, "updated")
        self._sync_parent_of(item)

    def add_sales(self, item: Product, quantity: int) -> None:
        target = self.items.get(item.parent_id) if item.is_variation else item
        if target is not None:
            target.total_sales += quantity

    # --- delete ----------------------------------------------------------------------

    def delete(self, item: Product, force: bool, post_type: str) -> None:
        """Trash (default) or delete for good; a variable product takes its variations along."""
        if not force and item.status == "trash":
            raise WooError(
                "woocommerce_rest_already_trashed",
                f"The {post_type} has already been deleted.",
                410,
            )
        for target in [*(self.items.get(c) for c in item.children), item]:
            if target is None:
                continue
            if force:
                self._remove(target)
            else:
                self._trash(target)
        if item.is_variation:
            self._defer_sync(item.parent_id)

    def _trash(self, item: Product) -> None:
        self._unindex(item)
        item.status = "trash"
        self._touch(item, "deleted")

    def _remove(self, item: Product) -> None:
        self._unindex(item)
        self.items.pop(item.id, None)
        if item.is_variation:
            parent = self.items.get(item.parent_id)
            if parent is not None and item.id in parent.children:
                parent.children.remove(item.id)
        elif item.id in self.product_ids:
            self.product_ids.remove(item.id)
        self.version += 1
        self.on_change(item, "deleted")

    # --- field application (on drafts) -----------------------------------------------

    def _apply_product(self, item: Product, body: Mapping[str, Any]) -> None:
        if to_str(body.get("type", "")) in PRODUCT_TYPES:
            item.type = to_str(body["type"])  # WooCommerce swaps the product class in place
        if "name" in body:
            item.name = to_str(body["name"])
        for key in ("description", "short_description"):
            if key in body:
                setattr(item, key, to_str(body[key]))
        if "status" in body:
            status = to_str(body["status"])
            item.status = status if status in (*POST_STATUSES, "future", "trash") else "draft"
        if body.get("slug"):
            item.extra["wanted_slug"] = sanitize_title(to_str(body["slug"]))
        self._apply_identifiers(item, body)
        self._apply_pass_through(item, body, _PASS_THROUGH_PRODUCT)
        if "attributes" in body and isinstance(body["attributes"], list):
            attributes = [_product_attribute(a, i) for i, a in enumerate(body["attributes"])]
            item.attributes = [a for a in attributes if a["name"]]
        if item.type in ("variable", "grouped"):
            item.regular_price = item.sale_price = ""
        else:
            self._apply_prices(item, body)
        self._apply_stock(item, body)
        self._apply_meta(item, body)

    def _apply_variation(self, item: Product, body: Mapping[str, Any]) -> None:
        if "status" in body:
            status = to_str(body["status"])
            item.status = status if status in POST_STATUSES else "draft"
        if "description" in body:
            item.description = to_str(body["description"])
        self._apply_identifiers(item, body)
        self._apply_pass_through(item, body, _PASS_THROUGH_VARIATION)
        self._apply_prices(item, body)
        self._apply_stock(item, body)
        if isinstance(body.get("attributes"), list):
            item.attributes = self._variation_attributes(item.parent_id, body["attributes"])
        self._apply_meta(item, body)

    def _unique_slug(self, base: str) -> str:
        """wp_unique_post_slug: append -2, -3, ... until free."""
        slug, n = base, 1
        while slug in self._slugs:
            n += 1
            slug = f"{base}-{n}"
        self._slugs.add(slug)
        return slug

    def _apply_identifiers(self, item: Product, body: Mapping[str, Any]) -> None:
        if "sku" in body:
            sku = to_str(body["sku"]).strip()
            owner = self.id_for_sku(sku)
            if sku and owner is not None and owner != item.id:
                raise WooError(
                    "product_invalid_sku",
                    "Invalid or duplicated SKU.",
                    400,
                    resource_id=owner,
                    unique_sku=self._free_sku(sku),
                )
            item.sku = sku
        if "global_unique_id" in body:
            # WooCommerce 9.2+ keeps only digits and hyphens in the GTIN and wants it unique.
            gtin = re.sub(r"[^0-9\-]", "", to_str(body["global_unique_id"]))
            owner = self._gtin.get(gtin)
            if gtin and owner is not None and owner != item.id:
                raise WooError(
                    "product_invalid_global_unique_id",
                    "Invalid or duplicated GTIN, UPC, EAN or ISBN.",
                    400,
                    resource_id=owner,
                )
            item.global_unique_id = gtin

    def _free_sku(self, sku: str) -> str:
        """wc_product_generate_unique_sku: the SKU with -1, -2, ... appended."""
        n = 1
        while self.id_for_sku(f"{sku}-{n}") is not None:
            n += 1
        return f"{sku}-{n}"

    @staticmethod
    def _apply_pass_through(
        item: Product, body: Mapping[str, Any], fields: Mapping[str, Callable[[Any], Any]]
    ) -> None:
        for key, convert in fields.items():
            if key in body:
                item.extra[key] = convert(body[key])

    @staticmethod
    def _apply_prices(item: Product, body: Mapping[str, Any]) -> None:
        if "regular_price" in body:
            item.regular_price = format_decimal(body["regular_price"])
        if "sale_price" in body:
            item.sale_price = format_decimal(body["sale_price"])

    def _apply_stock(self, item: Product, body: Mapping[str, Any]) -> None:
        """WC_Product::validate_props: a managed quantity decides the stock status."""
        if "manage_stock" in body:
            item.manage_stock = to_bool(body["manage_stock"])
        if "backorders" in body:
            item.backorders = to_str(body["backorders"])
        if "stock_status" in body and to_str(body["stock_status"]) in STOCK_STATUSES:
            item.stock_status = to_str(body["stock_status"])
        if not item.manage_stock:
            item.stock_quantity = item.low_stock_amount = None
            item.backorders = "no"
            return
        if body.get("stock_quantity") is not None:
            item.stock_quantity = to_int(body["stock_quantity"])
        elif body.get("inventory_delta") is not None:
            item.stock_quantity = (item.stock_quantity or 0) + to_int(body["inventory_delta"])
        if "low_stock_amount" in body:
            low = body["low_stock_amount"]
            item.low_stock_amount = None if low is None else to_int(low)

    def _apply_meta(self, item: Product, body: Mapping[str, Any]) -> None:
        for meta in body.get("meta_data") or []:
            if not isinstance(meta, dict) or "key" not in meta:
                continue
            existing = next((m for m in item.meta_data if m["key"] == meta["key"]), None)
            if existing is not None:
                existing["value"] = meta.get("value")
            else:
                self._meta_id += 1
                item.meta_data.append(
                    {"id": self._meta_id, "key": str(meta["key"]), "value": meta.get("value")}
                )

    def _variation_attributes(self, parent_id: int, given: list[Any]) -> list[Json]:
        """Keep only attributes the parent declares for variations, with the parent's name."""
        parent = self.items.get(parent_id)
        declared = {
            sanitize_title(a["name"]): a["name"]
            for a in (parent.attributes if parent else [])
            if a.get("variation")
        }
        chosen: list[Json] = []
        for entry in given:
            if not isinstance(entry, dict):
                continue
            name = declared.get(sanitize_title(to_str(entry.get("name", ""))))
            if name is not None:
                chosen.append({"id": 0, "name": name, "option": to_str(entry.get("option", ""))})
        return chosen

    # --- bookkeeping -----------------------------------------------------------------

    def _commit_new(self, draft: Product) -> Product:
        draft.id = self._next_id()
        wanted = draft.extra.pop("wanted_slug", "") or sanitize_title(draft.name)
        if not draft.is_variation:
            draft.slug = self._unique_slug(wanted or str(draft.id))
        self.items[draft.id] = draft
        if draft.is_variation:
            parent = self.items.get(draft.parent_id)
            if parent is not None:
                parent.children.append(draft.id)
        else:
            self.product_ids.append(draft.id)
        if draft.status != "trash":
            self._index(draft)
        self._validate_stock(draft)
        self.version += 1
        self.on_change(draft, "created")
        self._sync_parent_of(draft)
        return draft

    def _commit_update(self, item: Product, draft: Product) -> Product:
        wanted = draft.extra.pop("wanted_slug", "")
        if wanted and wanted != item.slug:
            self._slugs.discard(item.slug)
            draft.slug = self._unique_slug(wanted)
        self._unindex(item)
        self.items[item.id] = draft
        if draft.status != "trash":
            self._index(draft)
        self._validate_stock(draft)
        self._touch(draft, "updated")
        self._sync_parent_of(draft)
        return draft

    def _touch(self, item: Product, event: str) -> None:
        item.date_modified = self._now()
        self.version += 1
        self.on_change(item, event)

    def _index(self, item: Product) -> None:
        if item.sku:
            self._sku[_sku_key(item.sku)] = item.id
        if item.global_unique_id:
            self._gtin[item.global_unique_id] = item.id

    def _unindex(self, item: Product) -> None:
        if item.sku and self._sku.get(_sku_key(item.sku)) == item.id:
            del self._sku[_sku_key(item.sku)]
        if item.global_unique_id and self._gtin.get(item.global_unique_id) == item.id:
            del self._gtin[item.global_unique_id]

    @staticmethod
    def _validate_stock(item: Product) -> None:
        if not item.manage_stock:
            return
        if (item.stock_quantity or 0) > 0:  # woocommerce_notify_no_stock_amount defaults to 0
            item.stock_status = "instock"
        elif item.backorders != "no":
            item.stock_status = "onbackorder"
        else:
            item.stock_status = "outofstock"

    def _sync_parent_of(self, item: Product) -> None:
        """After a save: a variation queues its parent; a variable product syncs its status."""
        if item.is_variation:
            self._defer_sync(item.parent_id)
        elif item.type == "variable":
            self._sync_stock_status(item)  # WC_Product_Variable::validate_props

    def _defer_sync(self, parent_id: int) -> None:
        """WC_Product::maybe_defer_product_sync: the parent is synced once, at shutdown."""
        if parent_id:
            self._deferred[parent_id] = None

    def run_deferred_sync(self) -> None:
        """WC_Post_Data::do_deferred_product_sync (on `shutdown`): each queued variable parent
        goes through WC_Product_Variable::sync($product, save=true), and that save always
        moves date_modified (WC_Product_Data_Store_CPT::update records every save event) even
        when nothing changed. So a variation-only edit shows in the parent's modified_after."""
        queued, self._deferred = list(self._deferred), {}
        for parent_id in queued:
            parent = self.items.get(parent_id)
            if parent is None or parent.type != "variable":
                continue  # deferred_product_sync only calls products that have sync()
            self._sync_stock_status(parent)
            self._touch(parent, "updated")

    def _sync_stock_status(self, parent: Product) -> None:
        """WC_Product_Variable_Data_Store_CPT::sync_stock_status (parents without own stock)."""
        if parent.type != "variable" or parent.manage_stock:
            return
        statuses = {
            child.stock_status
            for child in (self.items.get(c) for c in parent.children)
            if child is not None and child.status == "publish"
        }
        parent.stock_status = next((s for s in STOCK_STATUSES if s in statuses), "outofstock")

    # --- bulk seeding ----------------------------------------------------------------

    def seed_product(self, fields: Json, variations: Iterable[Json]) -> Product:
        """Insert a product (and its variations) without per-save events: fast for 100k SKUs."""
        now = self._now()
        item = Product(self._next_id(), "product", fields.pop("type"), 0, now, now, **fields)
        item.slug = self._unique_slug(sanitize_title(item.name) or str(item.id))
        self._seed_insert(item)
        for child_fields in variations:
            child = Product(
                self._next_id(), "product_variation", "variation", item.id, now, now, **child_fields
            )
            self._seed_insert(child)
            item.children.append(child.id)
        self._sync_stock_status(item)
        return item

    def _seed_insert(self, item: Product) -> None:
        key = _sku_key(item.sku)
        if item.sku and key in self._sku:
            raise ValueError(f"duplicate SKU in seed: {item.sku}")
        self.items[item.id] = item
        if not item.is_variation:
            self.product_ids.append(item.id)
        self._index(item)
        self._validate_stock(item)
        self.version += 1


def _sku_key(sku: str) -> str:
    """MySQL's default collation compares SKUs case-insensitively."""
    return sku.casefold()


def sanitize_title(text: str) -> str:
    """sanitize_title: lower-case ASCII, words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _product_attribute(given: Any, position: int) -> Json:
    """A custom (non-taxonomy) product attribute as WooCommerce stores it."""
    entry = given if isinstance(given, dict) else {}
    options = entry.get("options", [])
    if isinstance(options, str):
        options = [o.strip() for o in options.split("|")]
    return {
        "id": 0,
        "name": to_str(entry.get("name", "")),
        "position": to_int(entry.get("position", position)),
        "visible": to_bool(entry.get("visible", False)),
        "variation": to_bool(entry.get("variation", False)),
        "options": [to_str(o) for o in options] if isinstance(options, list) else [],
    }


def min_child_price(catalog: Catalog, parent: Product) -> str:
    """A variable product's `price`: the lowest active variation price."""
    prices = [
        decimal_of(child.price)
        for child in (catalog.get(c) for c in parent.children)
        if child is not None and child.status == "publish" and child.price != ""
    ]
    return format_decimal(min(prices)) if prices else ""

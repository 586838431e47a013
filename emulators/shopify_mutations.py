"""The Shopify emulator's catalogue, inventory and webhook mutations.

- `inventorySetQuantities` sets absolute quantities (name `available` or `on_hand`), with
  compare-and-set: unless `ignoreCompareQuantity` is true, each quantity needs a
  `compareQuantity` (`COMPARE_QUANTITY_REQUIRED`) that equals the stored quantity
  (`COMPARE_QUANTITY_STALE`). Error messages are the schema's descriptions of the codes.
  A mutation with any userError changes nothing (emulator's choice: all or none).
- `productSet(synchronous: true)` creates or updates a product with the whole list of its
  variants: variants left out are deleted, as Shopify's "set" semantics say. The emulator
  takes one product option (Shopify allows three); every variant names its value of it in
  `optionValues`. New variants are stocked 0 at the default location.
- `productVariantsBulkUpdate` changes listed variants' price, barcode, SKU
  (`inventoryItem.sku`); `productDelete` deletes a product and remembers it.
- `webhookSubscriptionCreate` takes an HTTP(S) callback URL and format JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLSchema

from emulators.shopify_queries import input_size, render_product, render_variant
from emulators.shopify_state import DEFAULT_TITLE, ShopifyState, Subscription

__all__ = ["REASONS", "catalogue_mutations"]

Resolver = Callable[..., Any]
# The reasons inventory changes may give (Shopify, "inventory quantities and states").
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)


def code_message(schema: GraphQLSchema, enum_name: str, code: str) -> str:
    """The schema's description of an error code: Shopify's own wording."""
    enum = schema.get_type(enum_name)
    value = getattr(enum, "values", {}).get(code)
    return (value.description if value is not None and value.description else code).strip()


def catalogue_mutations(shop: ShopifyState, schema: GraphQLSchema) -> dict[str, Resolver]:
    def inventory_set_quantities(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return _set_quantities(shop, schema, input)

    def product_set(
        _info: Any, input: dict[str, Any], synchronous: bool | None = True
    ) -> dict[str, Any]:
        if synchronous is False:
            return _product_errors(
                "the emulator runs productSet synchronously only", "GENERIC_ERROR"
            )
        return dict(_product_set(shop, input))

    def variants_bulk_update(
        _info: Any, productId: str, variants: list[dict[str, Any]], **_ignored: Any
    ) -> dict[str, Any]:
        return dict(_bulk_update(shop, productId, variants))

    def product_delete(
        _info: Any, input: dict[str, Any], synchronous: bool | None = True
    ) -> dict[str, Any]:
        gid = input["id"]
        if gid not in shop.products:
            return {
                "deletedProductId": None,
                "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
            }
        shop.delete_product(gid)
        return {"deletedProductId": gid, "userErrors": []}

    def webhook_subscription_create(
        _info: Any, topic: str, webhookSubscription: dict[str, Any]
    ) -> dict[str, Any]:
        return _subscribe(shop, topic, webhookSubscription)

    return {
        "inventorySetQuantities": inventory_set_quantities,
        "productSet": product_set,
        "productVariantsBulkUpdate": variants_bulk_update,
        "productDelete": product_delete,
        "webhookSubscriptionCreate": webhook_subscription_create,
    }


def _set_quantities(
    shop: ShopifyState, schema: GraphQLSchema, data: dict[str, Any]
) -> dict[str, Any]:
    quantities: list[dict[str, Any]] = data["quantities"]
    input_size(quantities)
    errors: list[dict[str, Any]] = []

    def fail(code: str, *field: str) -> None:
        message = code_message(schema, "InventorySetQuantitiesUserErrorCode", code)
        errors.append({"field": ["input", *field], "message": message, "code": code})

    if data["name"] not in ("available", "on_hand"):
        fail("INVALID_NAME", "name")
    if data["reason"] not in REASONS:
        fail("INVALID_REASON", "reason")
    ignore_compare = bool(data.get("ignoreCompareQuantity"))
    items = {v.inventory_item_id for v in shop.variants}
    seen: set[tuple[str, str]] = set()
    for i, q in enumerate(quantities):
        at = ("quantities", str(i))
        key = (q["inventoryItemId"], q["locationId"])
        if key[0] not in items:
            fail("INVALID_INVENTORY_ITEM", *at, "inventoryItemId")
        elif key[1] not in shop.locations:
            fail("INVALID_LOCATION", *at, "locationId")
        elif key not in shop.available:
            fail("ITEM_NOT_STOCKED_AT_LOCATION", *at, "locationId")
        elif key in seen:
            fail("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", *at, "inventoryItemId")
        elif q["quantity"] < 0:
            fail("INVALID_QUANTITY_NEGATIVE", *at, "quantity")
        elif q["quantity"] > 1_000_000_000:
            fail("INVALID_QUANTITY_TOO_HIGH", *at, "quantity")
        elif not ignore_compare and q.get("compareQuantity") is None:
            fail("COMPARE_QUANTITY_REQUIRED", *at, "compareQuantity")
        elif not ignore_compare and q["compareQuantity"] != shop.available[key]:
            fail("COMPARE_QUANTITY_STALE", *at, "compareQuantity")
        seen.add(key)
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for q in quantities:
        key = (q["inventoryItemId"], q["locationId"])
        delta = q["quantity"] - shop.available[key]
        shop.available[key] = q["quantity"]
        changes.append({"name": "available", "delta": delta, "quantityAfterChange": q["quantity"]})
    group = {
        "id": f"gid://shopify/InventoryAdjustmentGroup/{shop.new_id()}",
        "reason": data["reason"],
        "referenceDocumentUri": data.get("referenceDocumentUri"),
        "changes": lambda _info, **_filters: changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _product_errors(message: str, code: str, *field: str) -> dict[str, Any]:
    error = {"field": list(field) or None, "message": message, "code": code}
    return {"product": None, "productSetOperation": None, "userErrors": [error]}


def _price(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _product_set(shop: ShopifyState, data: dict[str, Any]) -> dict[str, Any]:
    gid = data.get("id")
    if gid is not None and gid not in shop.products:
        return _product_errors("Product does not exist", "PRODUCT_DOES_NOT_EXIST", "input", "id")
    if gid is None and not (data.get("title") or "").strip():
        return _product_errors("Title can't be blank", "INVALID_PRODUCT", "input", "title")
    options = data.get("productOptions")
    variants = data.get("variants")
    if variants is not None and options is None:
        return _product_errors(
            "Product options input is required when updating variants",
            "PRODUCT_OPTIONS_INPUT_MISSING",
            "input",
            "productOptions",
        )
    if options is not None and len(options) > 1:
        return _product_errors(
            "The emulator takes one product option", "OPTIONS_OVER_LIMIT", "input", "productOptions"
        )
    option_name = options[0].get("name") or "Title" if options else None
    allowed = {v.get("name") for v in (options[0].get("values") or [])} if options else set()
    existing = {v.id: v for v in shop.variants_of(gid)} if gid else {}
    plan: list[tuple[dict[str, Any], str]] = []
    seen: set[str] = set()
    for i, variant in enumerate(variants or []):
        at = ("input", "variants", str(i))
        values = variant.get("optionValues") or []
        value = values[0].get("name") if values else None
        if not value or value not in allowed:
            return _product_errors(
                f"Option value '{value}' does not exist", "OPTION_VALUE_DOES_NOT_EXIST", *at
            )
        if value in seen:
            return _product_errors(
                f"The variant '{value}' already exists.", "DUPLICATED_OPTION_VALUE", *at
            )
        seen.add(value)
        if variant.get("id") is not None and variant["id"] not in existing:
            return _product_errors(
                "Product variant does not exist", "PRODUCT_VARIANT_DOES_NOT_EXIST", *at, "id"
            )
        if "price" in variant and variant["price"] is not None and _price(variant["price"]) is None:
            return _product_errors(
                "Price must be greater than or equal to 0", "INVALID_VARIANT", *at, "price"
            )
        plan.append((variant, value))
    with shop.lock:
        product = shop.products[gid] if gid else shop.add_product(data["title"])
        if data.get("title") is not None:
            product.title = data["title"]
        if data.get("descriptionHtml") is not None:
            product.description_html = data["descriptionHtml"]
        if data.get("status") is not None:
            product.status = data["status"]
        if option_name is not None:
            product.option_name = option_name
        if variants is not None:
            kept = {v.get("id") for v, _ in plan if v.get("id")}
            for old in existing.values():
                if old.id not in kept:
                    shop.remove_variant(old)
            for variant, value in plan:
                _write_variant(shop, product.id, variant, value)
        elif gid is None:
            shop.add_variant(product.id, "", None, 0)
        shop.touch(product.id)
        return {
            "product": render_product(shop, product),
            "productSetOperation": None,
            "userErrors": [],
        }


def _write_variant(shop: ShopifyState, product_id: str, data: dict[str, Any], value: str) -> None:
    sku = data.get("sku")
    if sku is None and isinstance(data.get("inventoryItem"), dict):
        sku = data["inventoryItem"].get("sku")
    price = _price(data["price"]) if data.get("price") is not None else None
    if data.get("id"):
        variant = shop.variant_index[data["id"]]
        if sku is not None:
            variant.sku = sku
        if "barcode" in data:
            variant.barcode = data["barcode"]
        if price is not None:
            variant.price = price
        variant.option = value
        variant.updated_at = shop.now()
    else:
        shop.add_variant(
            product_id,
            sku or "",
            data.get("barcode"),
            0,
            price=price if price is not None else Decimal("0.00"),
            option=value or DEFAULT_TITLE,
        )


def _bulk_update(shop: ShopifyState, product_id: str, variants: list[dict[str, Any]]) -> Any:
    input_size(variants)
    if product_id not in shop.products:
        error = {"field": ["productId"], "message": "Product does not exist"}
        return {"product": None, "productVariants": None, "userErrors": [error]}
    own = {v.id: v for v in shop.variants_of(product_id)}
    errors: list[dict[str, Any]] = []
    for i, data in enumerate(variants):
        if data.get("id") not in own:
            errors.append(
                {
                    "field": ["variants", str(i), "id"],
                    "message": "Product variant does not exist",
                    "code": "PRODUCT_VARIANT_DOES_NOT_EXIST",
                }
            )
        elif data.get("price") is not None and _price(data["price"]) is None:
            errors.append(
                {
                    "field": ["variants", str(i), "price"],
                    "message": "Price must be greater than or equal to 0",
                    "code": "GREATER_THAN_OR_EQUAL_TO",
                }
            )
    if errors:
        return {"product": None, "productVariants": None, "userErrors": errors}
    with shop.lock:
        for data in variants:
            variant = own[data["id"]]
            if data.get("price") is not None:
                variant.price = _price(data["price"]) or Decimal(0)
            if "barcode" in data:
                variant.barcode = data["barcode"]
            if isinstance(data.get("inventoryItem"), dict) and "sku" in data["inventoryItem"]:
                variant.sku = data["inventoryItem"]["sku"] or ""
            variant.updated_at = shop.now()
        shop.touch(product_id)
        return {
            "product": render_product(shop, shop.products[product_id]),
            "productVariants": [render_variant(shop, own[d["id"]]) for d in variants],
            "userErrors": [],
        }


def _subscribe(shop: ShopifyState, topic: str, data: dict[str, Any]) -> dict[str, Any]:
    url = data.get("callbackUrl") or ""

    def fail(message: str, field: str) -> dict[str, Any]:
        error = {"field": ["webhookSubscription", field], "message": message}
        return {"webhookSubscription": None, "userErrors": [error]}

    if not url.startswith(("http://", "https://")):
        return fail("Address is invalid", "callbackUrl")
    if (data.get("format") or "JSON") != "JSON":
        return fail("The emulator delivers JSON only", "format")
    with shop.lock:
        if any(s.topic == topic and s.callback_url == url for s in shop.subscriptions):
            return fail("Address for this topic has already been taken", "callbackUrl")
        subscription = Subscription(shop.gid("WebhookSubscription"), topic, url)
        shop.subscriptions.append(subscription)
    endpoint = {"__typename": "WebhookHttpEndpoint", "callbackUrl": url}
    return {
        "webhookSubscription": {
            "id": subscription.id,
            "topic": topic,
            "format": "JSON",
            "callbackUrl": url,
            "endpoint": endpoint,
        },
        "userErrors": [],
    }

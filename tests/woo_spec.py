"""The WooCommerce wc/v3 spec (woocommerce-openapi-3.0.x.yml) with the few corrections where
the 2021 generated file is wrong about what WooCommerce really sends; each has its reason.
Any test that checks wc/v3 traffic (the emulator's, the connector's) loads it from here.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import yaml

from tests.specs import spec_path

SPEC = "woocommerce/woocommerce-openapi-3.0.x.yml"
WTX_SPEC = "woocommerce/woocommerce-rest-api-openapi-specification.yml"
HOST = "http://localhost"  # the 3.0.x servers include http://localhost/wp-json/wc/v3
WTX_HOST = "https://example-woocommerce-shop.com"

# WordPress 5.5+ turns 'date-time' into ['null', 'string'] and WooCommerce declares
# low_stock_amount and a line item's parent_name as [type, 'null']; the generator kept only
# the first type. stock_quantity (unmanaged stock) and a variation's image (none set) are
# null in WooCommerce's answers although its schema says integer/object.
_NULLABLE = {
    "date_on_sale_from", "date_on_sale_from_gmt", "date_on_sale_to", "date_on_sale_to_gmt",
    "date_paid", "date_paid_gmt", "date_completed", "date_completed_gmt",
    "low_stock_amount", "stock_quantity", "parent_name", "image",
}  # fmt: skip
_CREATE_PATHS = (
    "/products",
    "/products/{product_id}/variations",
    "/orders",
    "/orders/{order_id}/refunds",
    "/webhooks",
    "/taxes",
)


def _walk(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _nullable(node: dict[str, Any]) -> None:
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name in _NULLABLE & properties.keys():
            properties[name]["nullable"] = True


def _integer_product_id(node: dict[str, Any]) -> None:
    # WooCommerce declares a line item's product_id as 'mixed' (the generator picked
    # 'string'); clients send and WooCommerce answers an integer.
    properties = node.get("properties")
    items = (
        properties.get("line_items", {}).get("items", {}) if isinstance(properties, dict) else {}
    )
    if "product_id" in items.get("properties", {}):
        items["properties"]["product_id"]["type"] = "integer"


def _comma_separated_arrays(node: dict[str, Any]) -> None:
    # WordPress reads an array query argument with wp_parse_list ("1,2,3"), and PHP keeps
    # only the last of repeated plain keys, so the spec's default style (explode: true,
    # one key per value) is not how a WordPress client may send them.
    if node.get("in") == "query" and node.get("schema", {}).get("type") == "array":
        node["style"], node["explode"] = "form", False


@functools.cache
def woocommerce_openapi() -> Any:
    """The 3.0.x spec with the corrections above; usable by any test checking wc/v3 traffic."""
    from openapi_core import OpenAPI

    with spec_path(SPEC).open() as handle:
        safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        spec = yaml.load(handle, Loader=safe_loader)  # noqa: S506 - a safe loader, the fast one
    schemas = spec["components"]["schemas"]
    for name in ("product", "product_variation", "shop_order", "shop_order_refund"):
        _walk(schemas[name], _nullable)
        if "shipping_class_id" in schemas[name]["properties"]:
            # declared 'string'; WC_Product::get_shipping_class_id() returns an integer
            schemas[name]["properties"]["shipping_class_id"] = {"type": "integer"}
    # GET /products?sku= also returns variations, whose type is 'variation'
    schemas["product"]["properties"]["type"]["enum"].append("variation")
    # WooCommerce's own product schema: get_post_statuses() + future, auto-draft, trash
    # (status=trash lists trashed products); the 2021 file lists no trash or auto-draft
    statuses = schemas["product"]["properties"]["status"].get("enum")
    if statuses is not None:
        statuses += [s for s in ("trash", "auto-draft") if s not in statuses]
    # declared 'integer', but WooCommerce stores and answers its version string ("9.4.2")
    schemas["shop_order"]["properties"]["version"]["type"] = "string"
    # the generator reused the batch *request* schema for answers: `delete` answers the
    # deleted objects (or {id, error}), not their ids
    schemas["batch"]["properties"]["delete"]["items"] = {"type": "object"}
    # an order tax line's rate_id: 'string' in the file, but WooCommerce's schema declares
    # 'integer' and WC_Order_Item_Tax::get_rate_id() answers one
    tax_line = schemas["shop_order"]["properties"]["tax_lines"]["items"]["properties"]
    tax_line["rate_id"]["type"] = "integer"
    _walk(spec, _integer_product_id)
    _walk(spec["paths"], _comma_separated_arrays)
    for path in _CREATE_PATHS:
        # WC_REST_CRUD_Controller::create_item answers 201 Created; the file lists only 200
        responses = spec["paths"][path]["post"]["responses"]
        responses["201"] = copy.deepcopy(responses["200"])
    return OpenAPI.from_dict(spec)

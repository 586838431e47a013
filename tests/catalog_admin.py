"""A shop admin editing products, through each vendor's own API (raw HTTP, not our
connectors), for product-sync tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.shop import CK, CS, LOCATION, TOKEN, EmulatedShop

Json = dict[str, Any]


def _square(shop: EmulatedShop) -> httpx.Client:
    return httpx.Client(
        base_url=shop.square_server.url, headers={"Authorization": f"Bearer {TOKEN}"}
    )


def _woo(shop: EmulatedShop) -> httpx.Client:
    return httpx.Client(base_url=f"{shop.woo_server.url}/wp-json/wc/v3", auth=(CK, CS))


# -- Square --------------------------------------------------------------------------------


def square_item(shop: EmulatedShop, sku: str) -> Json:
    """The ITEM holding the variation with this SKU, variations embedded."""
    variation_id = shop.square.variation_id_for_sku(sku)
    with _square(shop) as http:
        body = {"object_ids": [variation_id], "include_related_objects": True}
        answer = http.post("/v2/catalog/batch-retrieve", json=body).raise_for_status().json()
    item: Json = answer["related_objects"][0]
    return item


def square_items_named(shop: EmulatedShop, name: str) -> list[Json]:
    with _square(shop) as http:
        body = {
            "object_types": ["ITEM"],
            "query": {"exact_query": {"attribute_name": "name", "attribute_value": name}},
        }
        answer = http.post("/v2/catalog/search", json=body).raise_for_status().json()
    return list(answer.get("objects") or [])


def square_save(shop: EmulatedShop, item: Json) -> Json:
    """UpsertCatalogObject with the whole item (Square replaces what it is sent)."""
    with _square(shop) as http:
        body = {"idempotency_key": str(uuid.uuid4()), "object": item}
        answer = http.post("/v2/catalog/object", json=body).raise_for_status().json()
    saved: Json = answer["catalog_object"]
    return saved


def square_create(
    shop: EmulatedShop, name: str, variants: list[tuple[str, str, str | None, int]]
) -> Json:
    """A new item; variants are (name, sku, upc, price in minor units)."""
    item = {
        "type": "ITEM",
        "id": "#item",
        "item_data": {
            "name": name,
            "description": f"{name}, new at the register",
            "variations": [
                {
                    "type": "ITEM_VARIATION",
                    "id": f"#v{i}",
                    "item_variation_data": {
                        "item_id": "#item",
                        "name": vname,
                        "sku": sku,
                        **({"upc": upc} if upc else {}),
                        "pricing_type": "FIXED_PRICING",
                        "price_money": {"amount": amount, "currency": shop.square.currency},
                    },
                }
                for i, (vname, sku, upc, amount) in enumerate(variants)
            ],
        },
    }
    return square_save(shop, item)


def square_delete(shop: EmulatedShop, object_id: str) -> None:
    with _square(shop) as http:
        http.delete(f"/v2/catalog/object/{object_id}").raise_for_status()


def square_count(shop: EmulatedShop, sku: str) -> str:
    return str(shop.pos_count(sku))


# -- WooCommerce ---------------------------------------------------------------------------


def woo_by_sku(shop: EmulatedShop, sku: str) -> Json:
    """The product (or, for a variation's SKU, the variation) carrying this SKU."""
    with _woo(shop) as http:
        found = http.get("/products", params={"sku": sku}).raise_for_status().json()
    assert len(found) == 1, f"{len(found)} products carry SKU {sku}"
    item: Json = found[0]
    return item


def woo_product(shop: EmulatedShop, product_id: int) -> Json:
    with _woo(shop) as http:
        product: Json = http.get(f"/products/{product_id}").raise_for_status().json()
    return product


def woo_variations(shop: EmulatedShop, product_id: int) -> list[Json]:
    with _woo(shop) as http:
        answer = http.get(f"/products/{product_id}/variations", params={"per_page": 100})
    return list(answer.raise_for_status().json())


def woo_update(shop: EmulatedShop, item: Json, changes: Json) -> Json:
    """Update a product, or a variation (an item with a parent_id)."""
    parent = item.get("parent_id")
    path = f"/products/{parent}/variations/{item['id']}" if parent else f"/products/{item['id']}"
    with _woo(shop) as http:
        saved: Json = http.put(path, json=changes).raise_for_status().json()
    return saved


def woo_create(shop: EmulatedShop, body: Json) -> Json:
    with _woo(shop) as http:
        created: Json = http.post("/products", json=body).raise_for_status().json()
    return created


def woo_products_named(shop: EmulatedShop, name: str) -> list[Json]:
    with _woo(shop) as http:
        found = http.get("/products", params={"search": name, "status": "any"})
    return [p for p in found.raise_for_status().json() if p["name"] == name]


__all__ = ["LOCATION"]

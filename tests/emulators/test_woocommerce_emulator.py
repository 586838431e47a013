"""The WooCommerce emulator over real sockets: products, variations, batches, auth, paging.

Expected values are WooCommerce's own (codes, messages, quirks); each test names the
behaviour of the real plugin it pins.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from emulators.demo import DemoProduct, demo_catalogue
from emulators.woocommerce import PREFIX, WooState, create_woocommerce_app
from possync.serving import serve_in_thread
from tests.emulators.woo_support import Shop, open_shop, settable_clock

CATALOGUE = demo_catalogue(60)
VARIABLE = next(p for p in CATALOGUE if not p.simple)
SIMPLE = next(p for p in CATALOGUE if p.simple)
_VARIABLE_NUMBER = itertools.count(1)
PER_PAGE_BOUNDS = "per_page must be between 1 (inclusive) and 100 (inclusive)"
SIZES = [{"name": "Size", "variation": True, "visible": True, "options": ["S", "M", "L"]}]


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    yield from open_shop(CATALOGUE)


@pytest.fixture
def clock(shop: Shop) -> Iterator[list[datetime]]:
    """The shop's clock, settable: tests push it forward to see date_modified move."""
    yield from settable_clock(shop, datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC))


def new_product(shop: Shop, sku: str, **fields: Any) -> dict[str, Any]:
    body = {"name": f"Test {sku}", "sku": sku, "regular_price": "10.00", **fields}
    response = shop.client.post("/products", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


# --- seeding and the state API ---------------------------------------------------------


def test_seed_makes_simple_products_with_sku_price_stock_and_barcode(shop: Shop) -> None:
    variant = SIMPLE.variants[0]
    product_id = shop.state.id_for_sku(variant.sku)
    product = shop.client.get(f"/products/{product_id}").json()
    assert product["type"] == "simple"
    assert product["name"] == SIMPLE.name
    assert product["sku"] == variant.sku
    assert product["regular_price"] == f"{variant.price:.2f}"
    assert product["price"] == product["regular_price"]
    assert product["manage_stock"] is True
    assert product["stock_quantity"] == variant.stock
    assert product["stock_status"] == ("instock" if variant.stock > 0 else "outofstock")
    assert product["global_unique_id"] == variant.barcode
    assert shop.state.stock(product_id) == variant.stock


def test_seed_makes_variable_products_with_a_size_attribute(shop: Shop) -> None:
    variation_id = shop.state.id_for_sku(VARIABLE.variants[0].sku)
    variation = shop.client.get(f"/products/{variation_id}").json()
    parent = shop.client.get(f"/products/{variation['parent_id']}").json()
    assert parent["type"] == "variable"
    assert parent["attributes"][0]["name"] == "Size"
    assert parent["attributes"][0]["options"] == [v.name for v in VARIABLE.variants]
    assert parent["manage_stock"] is False and parent["stock_quantity"] is None
    assert parent["name"] == VARIABLE.name
    assert len(parent["variations"]) == len(VARIABLE.variants)
    assert variation_id in parent["variations"]
    one = shop.client.get(f"/products/{parent['id']}/variations/{variation_id}").json()
    assert one["attributes"] == [{"id": 0, "name": "Size", "option": VARIABLE.variants[0].name}]
    assert one["global_unique_id"] == VARIABLE.variants[0].barcode
    assert one["stock_quantity"] == VARIABLE.variants[0].stock


def test_state_lookups_raise_for_unknown_keys(shop: Shop) -> None:
    with pytest.raises(KeyError):
        shop.state.id_for_sku("NO-SUCH-SKU")
    with pytest.raises(KeyError):
        shop.state.stock(10**9)


def test_set_stock_saves_like_an_admin_edit(shop: Shop, clock: list[datetime]) -> None:
    product = new_product(shop, "ADMIN-1", manage_stock=True, stock_quantity=3)
    clock[0] += timedelta(minutes=5)
    shop.state.set_stock(product["id"], 0)
    after = shop.client.get(f"/products/{product['id']}").json()
    assert after["stock_quantity"] == 0
    assert after["stock_status"] == "outofstock"
    assert after["date_modified_gmt"] == "2030-01-01T12:05:00"
    assert shop.state.stock(product["id"]) == 0
    assert shop.state.product_json(product["id"])["stock_status"] == "outofstock"


# --- listing, paging, filters -----------------------------------------------------------


def top_level_count(shop: Shop) -> int:
    return int(shop.client.get("/products", params={"per_page": 1}).headers["X-WP-Total"])


def test_pages_carry_wordpress_total_headers_and_links(shop: Shop) -> None:
    total = top_level_count(shop)
    response = shop.client.get("/products", params={"per_page": 7, "page": 2})
    assert response.status_code == 200
    assert len(response.json()) == 7
    assert response.headers["X-WP-TotalPages"] == str(math.ceil(total / 7))
    links = response.headers.get_list("Link")
    assert any('rel="prev"' in link and "page=1" in link for link in links)
    assert any('rel="next"' in link and "page=3" in link for link in links)
    assert all("per_page=7" in link for link in links)


def test_last_page_has_only_a_prev_link_and_beyond_it_is_empty(shop: Shop) -> None:
    total = top_level_count(shop)
    pages = math.ceil(total / 10)
    last = shop.client.get("/products", params={"page": pages})
    assert len(last.json()) == total - (pages - 1) * 10
    assert [link for link in last.headers.get_list("Link") if 'rel="next"' in link] == []
    beyond = shop.client.get("/products", params={"page": pages + 5})
    assert beyond.status_code == 200 and beyond.json() == []
    assert beyond.headers["X-WP-Total"] == str(total)


def test_pages_are_disjoint_and_cover_every_product(shop: Shop) -> None:
    total = top_level_count(shop)
    seen: list[int] = []
    for page in range(1, math.ceil(total / 25) + 1):
        seen += [
            p["id"]
            for p in shop.client.get("/products", params={"per_page": 25, "page": page}).json()
        ]
    assert len(seen) == len(set(seen)) == total


def test_default_order_is_newest_first(shop: Shop) -> None:
    ids = [p["id"] for p in shop.client.get("/products", params={"per_page": 20}).json()]
    assert ids == sorted(ids, reverse=True)
    asc = [
        p["id"]
        for p in shop.client.get("/products", params={"orderby": "id", "order": "asc"}).json()
    ]
    assert asc == sorted(asc)


@pytest.mark.parametrize(
    ("params", "name", "message"),
    [
        ({"per_page": 101}, "per_page", PER_PAGE_BOUNDS),
        ({"per_page": 0}, "per_page", PER_PAGE_BOUNDS),
        ({"per_page": "ten"}, "per_page", "per_page is not of type integer."),
        ({"page": 0}, "page", "page must be greater than or equal to 1"),
        ({"orderby": "sku"}, "orderby", "orderby is not one of date, id, include, title, slug, "
         "modified, menu_order, price, popularity, and rating."),
        ({"modified_after": "yesterday"}, "modified_after", "Invalid date."),
    ],
)  # fmt: skip
def test_bad_collection_arguments_get_rest_invalid_param(
    shop: Shop, params: dict[str, Any], name: str, message: str
) -> None:
    response = shop.client.get("/products", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == f"Invalid parameter(s): {name}"
    assert body["data"]["status"] == 400
    assert body["data"]["params"] == {name: message}
    assert body["data"]["details"][name]["message"] == message


def test_all_bad_arguments_are_reported_together(shop: Shop) -> None:
    body = shop.client.get("/products", params={"per_page": 500, "order": "up"}).json()
    assert body["message"] == "Invalid parameter(s): per_page, order"
    assert set(body["data"]["params"]) == {"per_page", "order"}


def test_sku_takes_a_comma_list_and_finds_variations_too(shop: Shop) -> None:
    simple_sku = SIMPLE.variants[0].sku
    variation_sku = VARIABLE.variants[1].sku
    found = shop.client.get(
        "/products", params={"sku": f"{simple_sku},{variation_sku},NOPE"}
    ).json()
    by_sku = {p["sku"]: p for p in found}
    assert set(by_sku) == {simple_sku, variation_sku}
    variation = by_sku[variation_sku]
    assert variation["type"] == "variation"
    parent = shop.client.get(f"/products/{variation['parent_id']}").json()
    assert parent["type"] == "variable" and variation["id"] in parent["variations"]
    assert variation["name"] == f"{VARIABLE.name} - {VARIABLE.variants[1].name}"
    assert by_sku[simple_sku]["type"] == "simple" and by_sku[simple_sku]["parent_id"] == 0


def test_sku_match_is_exact_but_case_insensitive(shop: Shop) -> None:
    sku = SIMPLE.variants[0].sku
    assert [p["sku"] for p in shop.client.get("/products", params={"sku": sku.lower()}).json()] == [
        sku
    ]
    assert shop.client.get("/products", params={"sku": sku[:-1]}).json() == []


def test_sku_with_a_comma_is_also_tried_whole(shop: Shop) -> None:
    made = new_product(shop, "COMMA,SKU")
    found = shop.client.get("/products", params={"sku": "COMMA,SKU"}).json()
    assert [p["id"] for p in found] == [made["id"]]


def test_a_type_filter_drops_variations_found_by_sku(shop: Shop) -> None:
    skus = f"{SIMPLE.variants[0].sku},{VARIABLE.variants[0].sku}"
    found = shop.client.get("/products", params={"sku": skus, "type": "simple"}).json()
    assert [p["sku"] for p in found] == [SIMPLE.variants[0].sku]


def test_include_exclude_and_orderby_include(shop: Shop) -> None:
    ids = [p["id"] for p in shop.client.get("/products", params={"per_page": 4}).json()]
    wanted = [ids[2], ids[0], ids[3]]
    listed = shop.client.get(
        "/products",
        params={"include": ",".join(map(str, wanted)), "orderby": "include", "order": "asc"},
    ).json()
    assert [p["id"] for p in listed] == wanted
    php_style = shop.client.get(f"/products?include[]={ids[1]}&include[]={ids[2]}").json()
    assert sorted(p["id"] for p in php_style) == sorted([ids[1], ids[2]])
    excluded = shop.client.get("/products", params={"per_page": 4, "exclude": ids[0]}).json()
    assert ids[0] not in [p["id"] for p in excluded]


def test_type_status_search_and_stock_status_filters(shop: Shop) -> None:
    variable = shop.client.get("/products", params={"type": "variable", "per_page": 100}).json()
    assert variable and all(p["type"] == "variable" for p in variable)
    draft = new_product(shop, "DRAFT-1", status="draft", name="Zebra Lamp")
    drafts = shop.client.get("/products", params={"status": "draft"}).json()
    assert [p["id"] for p in drafts] == [draft["id"]]
    assert [
        p["id"] for p in shop.client.get("/products", params={"search": "zebra lamp"}).json()
    ] == [draft["id"]]
    out = shop.client.get(
        "/products", params={"stock_status": "outofstock", "per_page": 100}
    ).json()
    assert all(p["stock_status"] == "outofstock" for p in out)


def test_status_any_lists_every_status_but_trash(shop: Shop) -> None:
    """WP_Query's 'any' leaves out statuses with exclude_from_search (trash, auto-draft)."""
    made = {
        status: new_product(shop, f"ANY-{status}", status=status)["id"]
        for status in ("draft", "pending", "private", "publish")
    }
    trashed = new_product(shop, "ANY-trash")["id"]
    shop.client.delete(f"/products/{trashed}")
    include = ",".join(str(i) for i in [*made.values(), trashed])
    listed = shop.client.get("/products", params={"include": include, "status": "any"}).json()
    assert sorted(p["id"] for p in listed) == sorted(made.values())
    in_trash = shop.client.get("/products", params={"include": include, "status": "trash"})
    assert [p["id"] for p in in_trash.json()] == [trashed]


def test_fields_parameter_trims_each_item(shop: Shop) -> None:
    items = shop.client.get(
        "/products", params={"_fields": "id,sku,stock_quantity", "per_page": 3}
    ).json()
    assert all(set(item) == {"id", "sku", "stock_quantity"} for item in items)


def test_modified_after_and_before_follow_date_modified(shop: Shop, clock: list[datetime]) -> None:
    product = new_product(shop, "MOD-1")
    clock[0] += timedelta(hours=1)
    shop.client.put(f"/products/{product['id']}", json={"regular_price": "11.00"})
    changed = shop.client.get("/products", params={"modified_after": "2030-01-01T12:30:00"}).json()
    assert [p["id"] for p in changed] == [product["id"]]
    assert changed[0]["date_modified"] == "2030-01-01T13:00:00"
    # an offset is honoured; `after` is exclusive, as in WP_Query's date_query
    same = shop.client.get(
        "/products", params={"modified_after": "2030-01-01T14:00:00+01:00"}
    ).json()
    assert same == []
    before = shop.client.get(
        "/products", params={"modified_before": "2030-01-01T13:00:00", "sku": "MOD-1"}
    ).json()
    assert before == []


# --- single products ----------------------------------------------------------------------


def test_create_answers_201_with_location_and_derived_stock_status(shop: Shop) -> None:
    response = shop.client.post(
        "/products",
        json={"name": "Made", "sku": "MADE-1", "regular_price": "5.50", "manage_stock": True,
              "stock_quantity": 0},
    )  # fmt: skip
    assert response.status_code == 201
    made = response.json()
    assert response.headers["Location"].endswith(f"{PREFIX}/products/{made['id']}")
    assert made["stock_status"] == "outofstock"
    assert made["price"] == "5.50" and made["slug"] == "made"
    backorder = new_product(
        shop, "MADE-2", manage_stock=True, stock_quantity=0, backorders="notify"
    )
    assert backorder["stock_status"] == "onbackorder" and backorder["backordered"] is True
    unmanaged = new_product(shop, "MADE-3", stock_quantity=7)
    assert unmanaged["manage_stock"] is False and unmanaged["stock_quantity"] is None


def test_slugs_are_made_unique(shop: Shop) -> None:
    first = new_product(shop, "SLUG-1", name="Same Name")
    second = new_product(shop, "SLUG-2", name="Same Name")
    assert (first["slug"], second["slug"]) == ("same-name", "same-name-2")


def test_create_validates_argument_types(shop: Shop) -> None:
    response = shop.client.post(
        "/products",
        json={"name": "Bad", "regular_price": 12.5, "stock_quantity": "many", "status": "live"},
    )
    assert response.status_code == 400
    params = response.json()["data"]["params"]
    assert params["regular_price"] == "regular_price is not of type string."
    assert params["stock_quantity"] == "stock_quantity is not of type integer."
    assert params["status"].startswith("status is not one of draft, pending, private, publish")


def test_duplicate_sku_is_refused_with_the_owner_and_a_free_suggestion(shop: Shop) -> None:
    owner = new_product(shop, "DUP-1")
    response = shop.client.post("/products", json={"name": "Again", "sku": "dup-1"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "product_invalid_sku"
    assert body["message"] == "Invalid or duplicated SKU."
    assert body["data"] == {"status": 400, "resource_id": owner["id"], "unique_sku": "dup-1-1"}


def test_a_refused_update_changes_nothing(shop: Shop) -> None:
    new_product(shop, "KEEP-1")
    other = new_product(shop, "KEEP-2", manage_stock=True, stock_quantity=4)
    response = shop.client.put(
        f"/products/{other['id']}", json={"stock_quantity": 9, "sku": "KEEP-1"}
    )
    assert response.status_code == 400
    after = shop.client.get(f"/products/{other['id']}").json()
    assert (after["sku"], after["stock_quantity"]) == ("KEEP-2", 4)


def test_duplicate_gtin_is_refused(shop: Shop) -> None:
    taken = SIMPLE.variants[0].barcode
    response = shop.client.post("/products", json={"name": "G", "global_unique_id": taken})
    assert error(response) == (
        400,
        "product_invalid_global_unique_id",
        "Invalid or duplicated GTIN, UPC, EAN or ISBN.",
    )


@pytest.mark.parametrize("method", ["PUT", "PATCH", "POST"])
def test_update_by_any_editable_method_bumps_date_modified(
    shop: Shop, clock: list[datetime], method: str
) -> None:
    product = new_product(shop, f"UPD-{method}", manage_stock=True, stock_quantity=2)
    clock[0] += timedelta(seconds=30)
    response = shop.client.request(method, f"/products/{product['id']}", json={"stock_quantity": 0})
    assert response.status_code == 200
    updated = response.json()
    assert updated["stock_quantity"] == 0 and updated["stock_status"] == "outofstock"
    assert updated["date_modified_gmt"] == "2030-01-01T12:00:30"
    assert updated["date_created_gmt"] == product["date_created_gmt"]


def test_unknown_ids_get_wordpress_errors(shop: Shop) -> None:
    assert error(shop.client.get("/products/99999999")) == (
        404,
        "woocommerce_rest_product_invalid_id",
        "Invalid ID.",
    )
    # the CRUD controller answers 400 (not 404) for an update of an unknown id
    assert error(shop.client.put("/products/99999999", json={})) == (
        400,
        "woocommerce_rest_product_invalid_id",
        "Invalid ID.",
    )
    assert error(shop.client.get("/products/abc"))[:2] == (404, "rest_no_route")
    assert error(shop.client.get("/coupons"))[:2] == (404, "rest_no_route")


def test_products_endpoint_refuses_to_edit_a_variation(shop: Shop) -> None:
    variation_id = shop.state.id_for_sku(VARIABLE.variants[0].sku)
    response = shop.client.put(f"/products/{variation_id}", json={"stock_quantity": 1})
    status, code, message = error(response)
    assert (status, code) == (404, "woocommerce_rest_invalid_product_id")
    assert "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint" in message
    # but reading it through /products works and shows it as a variation
    assert shop.client.get(f"/products/{variation_id}").json()["type"] == "variation"


def test_invalid_json_body(shop: Shop) -> None:
    response = shop.client.post(
        "/products", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert error(response) == (400, "rest_invalid_json", "Invalid JSON body passed.")


def test_delete_trashes_first_then_deletes_for_good(shop: Shop) -> None:
    product = new_product(shop, "TRASH-1")
    trashed = shop.client.delete(f"/products/{product['id']}")
    assert trashed.status_code == 200 and trashed.json()["status"] == "trash"
    assert product["id"] not in [
        p["id"] for p in shop.client.get("/products", params={"per_page": 100}).json()
    ]
    with pytest.raises(KeyError):
        shop.state.id_for_sku("TRASH-1")  # a trashed product frees its SKU
    again = shop.client.delete(f"/products/{product['id']}")
    assert error(again) == (
        410,
        "woocommerce_rest_already_trashed",
        "The product has already been deleted.",
    )
    gone = shop.client.delete(f"/products/{product['id']}", params={"force": "true"})
    assert gone.status_code == 200 and gone.json()["id"] == product["id"]
    assert shop.client.get(f"/products/{product['id']}").status_code == 404


# --- batches ------------------------------------------------------------------------------


def test_batch_answers_per_item_with_errors_in_place(shop: Shop) -> None:
    victim = new_product(shop, "BATCH-DEL")
    target = new_product(shop, "BATCH-UPD", manage_stock=True, stock_quantity=1)
    variation_id = shop.state.id_for_sku(VARIABLE.variants[0].sku)
    body = {
        "create": [{"name": "B1", "sku": "BATCH-NEW"}, {"name": "B2", "sku": "BATCH-UPD"}],
        "update": [
            {"id": target["id"], "stock_quantity": 8},
            {"id": 99999999, "stock_quantity": 1},
            {"id": variation_id, "stock_quantity": 1},
        ],
        "delete": [victim["id"], 99999998],
    }
    response = shop.client.post("/products/batch", json=body)
    assert response.status_code == 200
    result = response.json()
    created, duplicate = result["create"]
    assert created["sku"] == "BATCH-NEW" and created["id"] > 0
    assert duplicate["id"] == 0 and duplicate["error"]["code"] == "product_invalid_sku"
    assert duplicate["error"]["data"]["status"] == 400
    updated, unknown, variation = result["update"]
    assert updated["stock_quantity"] == 8
    assert unknown == {
        "id": 99999999,
        "error": {
            "code": "woocommerce_rest_product_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }
    # WooCommerce issue #29341: products/batch only edits products, never variations
    assert variation["id"] == variation_id
    assert variation["error"]["code"] == "woocommerce_rest_invalid_product_id"
    assert variation["error"]["data"] == {"status": 404}
    deleted, missing = result["delete"]
    assert deleted["id"] == victim["id"]
    assert missing["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert shop.client.get(f"/products/{victim['id']}").status_code == 404  # batch deletes force
    assert shop.state.stock(variation_id) == VARIABLE.variants[0].stock


def test_batch_over_100_items_is_refused_whole(shop: Shop) -> None:
    target = new_product(shop, "BATCH-LIMIT", manage_stock=True, stock_quantity=1)
    body = {
        "create": [{"name": f"L{i}"} for i in range(50)],
        "update": [{"id": target["id"], "stock_quantity": 2}] * 51,
    }
    response = shop.client.post("/products/batch", json=body)
    assert error(response) == (
        413,
        "woocommerce_rest_request_entity_too_large",
        "Unable to accept more than 100 items for this request.",
    )
    assert shop.state.stock(target["id"]) == 1
    exactly = shop.client.post(
        "/products/batch", json={"update": [{"id": target["id"], "stock_quantity": 3}] * 100}
    )
    assert exactly.status_code == 200 and shop.state.stock(target["id"]) == 3


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_batch_accepts_put_and_patch(shop: Shop, method: str) -> None:
    target = new_product(shop, f"BATCH-{method}", manage_stock=True, stock_quantity=1)
    response = shop.client.request(
        method, "/products/batch", json={"update": [{"id": target["id"], "stock_quantity": 6}]}
    )
    assert response.status_code == 200 and response.json()["update"][0]["stock_quantity"] == 6


def test_batch_items_skip_argument_validation(shop: Shop) -> None:
    # a single create refuses a number for regular_price; a batch item is saved as PHP casts it
    result = shop.client.post(
        "/products/batch", json={"create": [{"name": "Cast", "regular_price": 12.5}]}
    )
    assert result.json()["create"][0]["regular_price"] == "12.5"


def test_an_empty_batch_answers_an_empty_json_array(shop: Shop) -> None:
    assert shop.client.post("/products/batch", json={}).json() == []


# --- variations ---------------------------------------------------------------------------


@pytest.fixture
def variable(shop: Shop) -> dict[str, Any]:
    """A fresh variable product with three sizes, each with 2 in stock."""
    count = next(_VARIABLE_NUMBER)
    parent = new_product(
        shop, f"VAR-{count}", type="variable",
        attributes=SIZES,
    )  # fmt: skip
    for size in ("S", "M", "L"):
        response = shop.client.post(
            f"/products/{parent['id']}/variations",
            json={"sku": f"VAR-{count}-{size}", "regular_price": "20.00", "manage_stock": True,
                  "stock_quantity": 2, "attributes": [{"name": "Size", "option": size}]},
        )  # fmt: skip
        assert response.status_code == 201, response.text
    return dict(shop.client.get(f"/products/{parent['id']}").json())


def test_variation_create_list_and_get(shop: Shop, variable: dict[str, Any]) -> None:
    base = f"/products/{variable['id']}/variations"
    assert len(variable["variations"]) == 3
    assert variable["price"] == "20.00" and variable["stock_status"] == "instock"
    listed = shop.client.get(base, params={"per_page": 2})
    assert listed.headers["X-WP-Total"] == "3" and listed.headers["X-WP-TotalPages"] == "2"
    assert all(v["parent_id"] == variable["id"] for v in listed.json())
    one = shop.client.get(f"{base}/{variable['variations'][1]}").json()
    assert one["attributes"] == [{"id": 0, "name": "Size", "option": "M"}]
    assert one["name"] == "M" and one["price"] == "20.00"
    assert one["permalink"].endswith(f"/product/{variable['slug']}/?attribute_size=M")


def test_variation_errors(shop: Shop, variable: dict[str, Any]) -> None:
    variation_id = variable["variations"][0]
    other_parent = shop.state.id_for_sku(SIMPLE.variants[0].sku)
    wrong = shop.client.get(f"/products/{other_parent}/variations/{variation_id}")
    assert error(wrong) == (404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
    moved = shop.client.put(f"/products/{other_parent}/variations/{variation_id}", json={})
    assert error(moved) == (
        401,
        "woocommerce_rest_cannot_edit",
        "Parent product does not match current variation.",
    )
    missing = shop.client.put(f"/products/{variable['id']}/variations/99999999", json={})
    assert error(missing) == (400, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
    orphan = shop.client.post("/products/99999999/variations", json={"sku": "ORPHAN"})
    assert error(orphan) == (404, "woocommerce_rest_product_invalid_id", "Invalid product ID.")


def test_variation_stock_drives_the_parent_stock_status(
    shop: Shop, variable: dict[str, Any], clock: list[datetime]
) -> None:
    base = f"/products/{variable['id']}/variations"
    first, second, third = variable["variations"]
    clock[0] += timedelta(minutes=1)
    shop.client.put(f"{base}/{first}", json={"stock_quantity": 0})
    parent = shop.client.get(f"/products/{variable['id']}").json()
    assert parent["stock_status"] == "instock"
    clock[0] += timedelta(minutes=1)
    shop.client.patch(f"{base}/{second}", json={"stock_quantity": 0})
    updated = shop.client.post(f"{base}/{third}", json={"stock_quantity": 0}).json()
    assert updated["stock_status"] == "outofstock"
    assert updated["date_modified_gmt"] == "2030-01-01T12:02:00"
    parent = shop.client.get(f"/products/{variable['id']}").json()
    assert parent["stock_status"] == "outofstock"


def test_a_variation_save_re_saves_its_parent(
    shop: Shop, variable: dict[str, Any], clock: list[datetime]
) -> None:
    """WC_Product::maybe_defer_product_sync queues the parent; at shutdown
    WC_Product_Variable::sync saves it, and every save moves post_modified, changed or not."""
    base = f"/products/{variable['id']}/variations"
    first, second, _ = variable["variations"]
    clock[0] += timedelta(minutes=5)
    shop.client.put(f"{base}/{first}", json={"regular_price": "21.00"})  # status unchanged
    parent = shop.client.get(f"/products/{variable['id']}").json()
    assert parent["date_modified_gmt"] == "2030-01-01T12:05:00"
    assert parent["stock_status"] == variable["stock_status"]
    changed = shop.client.get(
        "/products", params={"modified_after": "2030-01-01T12:04:00", "dates_are_gmt": "true"}
    ).json()
    assert variable["id"] in [p["id"] for p in changed]
    clock[0] += timedelta(minutes=5)
    shop.client.post(f"{base}/batch", json={"update": [{"id": second, "sku": "RE-SAVED"}]})
    parent = shop.client.get(f"/products/{variable['id']}").json()
    assert parent["date_modified_gmt"] == "2030-01-01T12:10:00"
    clock[0] += timedelta(minutes=5)
    shop.client.delete(f"{base}/{second}", params={"force": "true"})
    parent = shop.client.get(f"/products/{variable['id']}").json()
    assert parent["date_modified_gmt"] == "2030-01-01T12:15:00"


def test_variation_batch_and_delete(shop: Shop, variable: dict[str, Any]) -> None:
    base = f"/products/{variable['id']}/variations"
    first, second, third = variable["variations"]
    result = shop.client.post(
        f"{base}/batch",
        json={"update": [{"id": first, "stock_quantity": 9}, {"id": 99999999, "stock_quantity": 1}],
              "create": [{"sku": f"{variable['sku']}-XL", "attributes": [{"name": "Size",
                                                                            "option": "XL"}]}],
              "delete": [second]},
    ).json()  # fmt: skip
    assert result["update"][0]["stock_quantity"] == 9
    assert result["update"][1]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    assert result["create"][0]["sku"] == f"{variable['sku']}-XL"
    assert result["create"][0]["attributes"] == [{"id": 0, "name": "Size", "option": "XL"}]
    assert result["delete"][0]["id"] == second
    remaining = shop.client.get(f"/products/{variable['id']}").json()["variations"]
    assert second not in remaining and first in remaining and len(remaining) == 3
    deleted = shop.client.delete(f"{base}/{third}", params={"force": "true"})
    assert deleted.status_code == 200
    assert shop.client.get(f"{base}/{third}").status_code == 404
    limit = shop.client.post(f"{base}/batch", json={"delete": list(range(1, 102))})
    assert limit.status_code == 413


def test_variation_sku_filter_and_products_sku_lookup_agree(
    shop: Shop, variable: dict[str, Any]
) -> None:
    variation_id = variable["variations"][0]
    sku = shop.client.get(f"/products/{variable['id']}/variations/{variation_id}").json()["sku"]
    in_parent = shop.client.get(
        f"/products/{variable['id']}/variations", params={"sku": sku}
    ).json()
    anywhere = shop.client.get("/products", params={"sku": sku}).json()
    assert [v["id"] for v in in_parent] == [v["id"] for v in anywhere] == [variation_id]


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "code", "message"),
    [
        ("GET", "/products", "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
        ("GET", "/products/1", "woocommerce_rest_cannot_view",
         "Sorry, you cannot view this resource."),
        ("POST", "/products", "woocommerce_rest_cannot_create",
         "Sorry, you are not allowed to create resources."),
        ("PUT", "/products/1", "woocommerce_rest_cannot_edit",
         "Sorry, you are not allowed to edit this resource."),
        ("DELETE", "/products/1", "woocommerce_rest_cannot_delete",
         "Sorry, you are not allowed to delete this resource."),
        ("POST", "/products/batch", "woocommerce_rest_cannot_batch",
         "Sorry, you are not allowed to batch manipulate this resource."),
    ],
)  # fmt: skip
def test_requests_without_credentials_get_the_permission_error(
    shop: Shop, method: str, path: str, code: str, message: str
) -> None:
    response = httpx.request(method, shop.url + path, json={} if method != "GET" else None)
    assert response.status_code == 401
    assert response.json() == {"code": code, "message": message, "data": {"status": 401}}


def test_a_wrong_secret_is_an_authentication_error_with_a_basic_challenge(shop: Shop) -> None:
    response = httpx.get(shop.url + "/products", auth=("ck_demo", "wrong"))
    assert error(response) == (
        401,
        "woocommerce_rest_authentication_error",
        "Consumer secret is invalid.",
    )
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')


def test_an_unknown_key_is_treated_as_no_credentials(shop: Shop) -> None:
    response = httpx.get(shop.url + "/products", auth=("ck_other", "cs_demo"))
    assert error(response)[:2] == (401, "woocommerce_rest_cannot_view")


def test_query_string_credentials_are_accepted(shop: Shop) -> None:
    response = httpx.get(
        shop.url + "/products",
        params={"consumer_key": "ck_demo", "consumer_secret": "cs_demo", "per_page": 2},
    )
    assert response.status_code == 200 and len(response.json()) == 2


def test_custom_credentials() -> None:
    server = serve_in_thread(create_woocommerce_app(consumer_key="ck_x", consumer_secret="cs_y"))
    try:
        assert httpx.get(server.url + PREFIX + "/products", auth=("ck_x", "cs_y")).json() == []
        assert (
            httpx.get(server.url + PREFIX + "/products", auth=("ck_demo", "cs_demo")).status_code
            == 401
        )
    finally:
        server.stop()


# --- emulator control ------------------------------------------------------------------------


def test_control_counts_by_route_and_injects_woocommerce_shaped_faults() -> None:
    state = WooState()
    state.seed([DemoProduct("P1", "One", "", True, [CATALOGUE[0].variants[0]])])
    app = create_woocommerce_app(state)
    server = serve_in_thread(app)
    try:
        client = httpx.Client(base_url=server.url + PREFIX, auth=("ck_demo", "cs_demo"))
        product_id = state.id_for_sku(CATALOGUE[0].variants[0].sku)
        client.get(f"/products/{product_id}")
        client.get(f"/products/{product_id}")
        assert app.state.control.count("GET /wp-json/wc/v3/products/{id}") == 2
        client.put(
            server.url + "/_emulator/faults",
            json={"rate_500": 1.0, "only_paths": ["/wp-json/wc/v3/products"]},
        )
        failed = client.get("/products")
        assert failed.status_code == 500
        assert failed.json()["code"] == "internal_server_error"
        assert failed.json()["data"] == {"status": 500}
        assert client.get(f"/products/{product_id}").status_code == 200
    finally:
        server.stop()
        state.close()


def test_an_update_can_change_the_product_type(shop: Shop) -> None:
    product = new_product(shop, "TYPE-1", regular_price="4.00")
    changed = shop.client.put(f"/products/{product['id']}", json={"type": "variable"}).json()
    assert changed["type"] == "variable"
    assert (
        changed["regular_price"] == "" and changed["price"] == ""
    )  # variable products have no own price
    assert (
        shop.client.get("/products", params={"type": "variable", "sku": "TYPE-1"}).json()[0]["id"]
        == (product["id"])
    )


def test_nested_fields_can_be_picked(shop: Shop) -> None:
    item = shop.client.get(
        f"/products/{shop.state.id_for_sku(SIMPLE.variants[0].sku)}",
        params={"_fields": "id,dimensions.width,_links.self"},
    ).json()
    assert set(item) == {"id", "dimensions", "_links"}
    assert item["dimensions"] == {"width": ""} and set(item["_links"]) == {"self"}


def test_dates_follow_the_site_timezone_and_naive_filters_use_it() -> None:
    state = WooState(timezone="Europe/Copenhagen")
    state.clock = lambda: datetime(2030, 7, 1, 22, 30, 0, tzinfo=UTC)
    server = serve_in_thread(create_woocommerce_app(state))
    try:
        client = httpx.Client(base_url=server.url + PREFIX, auth=("ck_demo", "cs_demo"))
        made = client.post("/products", json={"name": "Late", "sku": "TZ-1"}).json()
        assert made["date_created"] == "2030-07-02T00:30:00"
        assert made["date_created_gmt"] == "2030-07-01T22:30:00"
        # a time without an offset is the shop's local time, unless dates_are_gmt is set
        local = client.get("/products", params={"after": "2030-07-02T00:00:00"}).json()
        assert [p["id"] for p in local] == [made["id"]]
        gmt = client.get(
            "/products", params={"after": "2030-07-02T00:00:00", "dates_are_gmt": "true"}
        )
        assert gmt.json() == []
    finally:
        server.stop()


def test_a_form_encoded_body_is_read_like_json(shop: Shop) -> None:
    response = shop.client.post(
        "/products", data={"name": "Form", "sku": "FORM-1", "regular_price": "2.50"}
    )
    assert response.status_code == 201
    assert (response.json()["sku"], response.json()["price"]) == ("FORM-1", "2.50")


def test_stock_and_prices_are_kept_exactly(shop: Shop, clock: list[datetime]) -> None:
    """PHP decodes a JSON integer as an exact 64-bit int (a float would make ...807 into
    ...808), and a price is kept as the text given, however long (price_html formats it
    as PHP formats any float instead of answering 500)."""
    product = new_product(
        shop, "EXACT-1", manage_stock=True, stock_quantity=9_223_372_036_854_775_807
    )
    assert shop.state.stock(product["id"]) == 9_223_372_036_854_775_807
    long_price = "1234567890123456789012345678.9"
    answer = shop.client.put(f"/products/{product['id']}", json={"regular_price": long_price})
    assert answer.status_code == 200
    assert answer.json()["regular_price"] == long_price
    three = shop.client.put(f"/products/{product['id']}", json={"regular_price": "1.005"})
    assert three.json()["regular_price"] == "1.005"

"""The Square emulator over real sockets: locations, catalog and inventory (phase 1).

Every exchange made through the `client` fixture is checked against Square's own OpenAPI
file when the test ends (see `spec_problems`), so each behaviour test is also a conformance
test; `raw` is for requests that break the spec on purpose. Tests share one seeded emulator
per module and each one touches its own SKUs, so they do not depend on their order.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from emulators.demo import DemoProduct, demo_catalogue
from emulators.square import SquareState, create_square_app
from emulators.square_common import ERROR_CATEGORY, Clock
from possync.serving import RunningServer, serve_in_thread
from tests.conformance import SpecRecorder
from tests.specs import openapi, spec_path, specs_dir

SPEC = "square/api.json"
SPEC_HOST = "https://connect.squareup.com"
TOKEN = "sq-test-token"
LOCATION = "L-TEST"
N_SKUS = 500
RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


# --- conformance --------------------------------------------------------------------------


def spec_problems(recorder: SpecRecorder) -> list[str]:
    """Spec violations among the recorded exchanges.

    Square's spec documents only the 200 response of each operation. Square sends its errors
    (4xx/5xx) in that same response type, whose `errors` array holds `Error` objects with
    enum-checked `category` and `code`; so an error body is validated against the documented
    schema by presenting it with status 200. Each test asserts the real status itself.
    """
    exchanges = []
    for request, response in recorder.exchanges:
        if response.status_code >= 400:
            assert json.loads(response.content)["errors"], "an error response without errors"
            response = httpx.Response(
                200, content=response.content, headers=response.headers, request=request
            )
        exchanges.append((request, response))
    with warnings.catch_warnings():
        # openapi-core cannot check the `oauth2` scheme and says so once per request.
        warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
        return SpecRecorder(exchanges).problems(openapi(SPEC, strict=False), SPEC_HOST)


def spec_available() -> bool:
    return (specs_dir() / SPEC).is_file()


# --- fixtures -----------------------------------------------------------------------------


@dataclass
class Emulator:
    state: SquareState
    server: RunningServer
    products: list[DemoProduct]

    @property
    def url(self) -> str:
        return self.server.url

    def vid(self, n: int) -> str:
        """The variation id of DEMO-00000n."""
        return self.state.variation_id_for_sku(sku(n))


def sku(n: int) -> str:
    return f"DEMO-{n:06d}"


def now_iso(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stock_of(products: list[DemoProduct], n: int) -> int:
    return next(v.stock for p in products for v in p.variants if v.sku == sku(n))


def make_client(url: str, recorder: SpecRecorder | None = None, **headers: str) -> httpx.Client:
    base = {"Authorization": f"Bearer {TOKEN}", "Square-Version": "2025-08-20"}
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    hooks: Any = recorder.hooks() if recorder else {}
    return httpx.Client(base_url=url, headers=base, event_hooks=hooks, timeout=30)


@pytest.fixture(scope="module")
def square() -> Iterator[Emulator]:
    state = SquareState(location_id=LOCATION, location_name="Test Store", currency="DKK")
    products = demo_catalogue(N_SKUS)
    state.seed(products)
    server = serve_in_thread(create_square_app(state, access_token=TOKEN))
    yield Emulator(state, server, products)
    server.stop()


@pytest.fixture
def client(square: Emulator) -> Iterator[httpx.Client]:
    """A Square client whose every exchange must conform to Square's spec."""
    recorder = SpecRecorder()
    with make_client(square.url, recorder) as http:
        yield http
    if spec_available():
        assert spec_problems(recorder) == []


@pytest.fixture
def raw(square: Emulator) -> Iterator[httpx.Client]:
    """For requests that break Square's spec on purpose (their answers are checked by hand)."""
    with make_client(square.url) as http:
        yield http


def pages(
    fetch: Callable[[str | None], httpx.Response], key: str
) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Follow Square cursors to the end, yielding each page's items and body."""
    cursor: str | None = None
    while True:
        response = fetch(cursor)
        assert response.status_code == 200, response.text
        body = response.json()
        yield body.get(key, []), body
        cursor = body.get("cursor")
        if not cursor:
            return


def change(
    kind: str, variation_id: str, quantity: str, *, occurred_at: str | None = None, **extra: str
) -> dict[str, Any]:
    part = {
        "catalog_object_id": variation_id,
        "location_id": LOCATION,
        "quantity": quantity,
        "occurred_at": occurred_at or now_iso(),
        **extra,
    }
    if kind == "PHYSICAL_COUNT":
        part.setdefault("state", "IN_STOCK")
        return {"type": kind, "physical_count": part}
    return {"type": kind, "adjustment": part}


def adjust(from_state: str, to_state: str, variation_id: str, quantity: str) -> dict[str, Any]:
    return change("ADJUSTMENT", variation_id, quantity, from_state=from_state, to_state=to_state)


_keys = itertools.count(1)


def batch(*changes: dict[str, Any], key: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"idempotency_key": key or f"key-{next(_keys)}", "changes": list(changes), **extra}


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert set(body) == {"errors"}, body
    return list(body["errors"])


def the_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    (error,) = errors(response)
    return error


# --- auth, headers and routing ------------------------------------------------------------


def test_missing_or_wrong_token_is_401_authentication_error(square: Emulator) -> None:
    recorder = SpecRecorder()
    with make_client(square.url, recorder, Authorization="") as anonymous:
        missing = anonymous.get("/v2/locations")
    with make_client(square.url, recorder, Authorization="Bearer wrong") as wrong:
        bad = wrong.post("/v2/inventory/counts/batch-retrieve", json={})
    with make_client(square.url, recorder, Authorization=TOKEN) as no_scheme:
        bare = no_scheme.get("/v2/locations")
    for response in (missing, bad, bare):
        error = the_error(response, 401)
        assert (error["category"], error["code"]) == ("AUTHENTICATION_ERROR", "UNAUTHORIZED")
    if spec_available():
        assert spec_problems(recorder) == []


def test_square_version_header_is_accepted_and_its_format_checked(square: Emulator) -> None:
    with make_client(square.url, Square_Version="2024-01-18") as older:
        assert older.get("/v2/locations").status_code == 200
    with make_client(square.url, Square_Version="latest") as broken:
        error = the_error(broken.get("/v2/locations"), 400)
    assert error["code"] == "INVALID_SQUARE_VERSION_FORMAT"


def test_unknown_route_and_method_answer_with_square_error_bodies(raw: httpx.Client) -> None:
    assert the_error(raw.get("/v2/nothing-here"), 404)["code"] == "NOT_FOUND"
    assert the_error(raw.delete("/v2/locations"), 405)["code"] == "METHOD_NOT_ALLOWED"


def test_error_codes_have_the_categories_the_spec_gives_them() -> None:
    spec = json.loads(spec_path(SPEC).read_text())
    elements = spec["components"]["schemas"]["ErrorCode"]["x-enum-elements"]
    categories = {e["name"]: e.get("error-category") for e in elements}
    for code, category in ERROR_CATEGORY.items():
        assert categories.get(code) == category, code
    assert set(ERROR_CATEGORY.values()) <= set(
        spec["components"]["schemas"]["ErrorCategory"]["enum"]
    )


# --- locations ----------------------------------------------------------------------------


def test_list_locations_returns_the_configured_location(client: httpx.Client) -> None:
    response = client.get("/v2/locations")
    assert response.status_code == 200
    (location,) = response.json()["locations"]
    assert location["id"] == LOCATION
    assert location["name"] == "Test Store"
    assert location["timezone"] == "Europe/Copenhagen"
    assert location["currency"] == "DKK"
    assert location["country"] == "DK"
    assert location["status"] == "ACTIVE"


def test_retrieve_location_by_id_or_as_main(client: httpx.Client) -> None:
    listed = client.get("/v2/locations").json()["locations"][0]
    for location_id in (LOCATION, "main"):
        response = client.get(f"/v2/locations/{location_id}")
        assert response.status_code == 200, response.text
        assert response.json() == {"location": listed}
    missing = client.get("/v2/locations/NOPE")
    assert the_error(missing, 404)["code"] == "NOT_FOUND"


# --- catalog ------------------------------------------------------------------------------


def test_list_catalog_pages_through_every_item_once_with_variations_embedded(
    square: Emulator, client: httpx.Client
) -> None:
    seen: list[dict[str, Any]] = []
    for objects, _ in pages(
        lambda c: client.get("/v2/catalog/list", params={"cursor": c} if c else {}), "objects"
    ):
        assert 0 < len(objects) <= 100  # Square's ListCatalog page size
        seen.extend(objects)
    assert len(seen) == len(square.products)
    assert len({o["id"] for o in seen}) == len(seen)
    assert {o["type"] for o in seen} == {"ITEM"}  # variations are nested, not top level
    by_name = {o["item_data"]["name"]: o for o in seen}
    for product in square.products:
        item = by_name[product.name]
        assert item["is_deleted"] is False
        assert item["present_at_all_locations"] is True
        assert RFC3339_MS.match(item["updated_at"])
        assert isinstance(item["version"], int)
        variations = item["item_data"]["variations"]
        assert [v["item_variation_data"]["sku"] for v in variations] == [
            v.sku for v in product.variants
        ]
        for variation, variant in zip(variations, product.variants, strict=True):
            data = variation["item_variation_data"]
            assert variation["type"] == "ITEM_VARIATION"
            assert data["item_id"] == item["id"]
            assert data["upc"] == variant.barcode
            assert data["name"] == variant.name
            assert data["price_money"] == {"amount": int(variant.price * 100), "currency": "DKK"}
            assert data["track_inventory"] is True


def test_list_catalog_types_filter_is_case_insensitive(
    square: Emulator, client: httpx.Client
) -> None:
    def total(types: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for objects, _ in pages(
            lambda c: client.get(
                "/v2/catalog/list", params={"types": types, **({"cursor": c} if c else {})}
            ),
            "objects",
        ):
            found.extend(objects)
        return found

    variations = total("item_variation")
    assert len(variations) == N_SKUS
    assert {v["type"] for v in variations} == {"ITEM_VARIATION"}
    both = total("ITEM, Item_Variation")
    assert len(both) == N_SKUS + len(square.products)
    assert total("TAX") == []


def test_list_catalog_rejects_unknown_types_and_foreign_cursors(client: httpx.Client) -> None:
    error = the_error(client.get("/v2/catalog/list", params={"types": "ITEM,WIDGET"}), 400)
    assert (error["code"], error["field"]) == ("INVALID_ENUM_VALUE", "types")
    cursor = client.get("/v2/catalog/list").json()["cursor"]
    other_query = client.get("/v2/catalog/list", params={"types": "TAX", "cursor": cursor})
    assert the_error(other_query, 400)["code"] == "INVALID_CURSOR"
    garbage = client.get("/v2/catalog/list", params={"cursor": "not-a-cursor"})
    assert the_error(garbage, 400)["code"] == "INVALID_CURSOR"


def test_batch_retrieve_catalog_objects_with_related_parent_item(
    square: Emulator, client: httpx.Client
) -> None:
    variation_id = square.vid(3)
    item_id = client.get(f"/v2/catalog/object/{variation_id}").json()["object"][
        "item_variation_data"
    ]["item_id"]
    plain = client.post(
        "/v2/catalog/batch-retrieve", json={"object_ids": [variation_id, "NOPE", variation_id]}
    ).json()
    assert [o["id"] for o in plain["objects"]] == [variation_id]  # unknown ids are left out
    assert "related_objects" not in plain
    related = client.post(
        "/v2/catalog/batch-retrieve",
        json={"object_ids": [variation_id], "include_related_objects": True},
    ).json()
    assert [o["id"] for o in related["related_objects"]] == [item_id]
    assert related["related_objects"][0]["type"] == "ITEM"
    both = client.post(
        "/v2/catalog/batch-retrieve", json={"object_ids": [item_id, variation_id]}
    ).json()
    assert [o["type"] for o in both["objects"]] == ["ITEM", "ITEM_VARIATION"]
    assert client.post("/v2/catalog/batch-retrieve", json={"object_ids": ["NOPE"]}).json() == {}


def test_retrieve_catalog_object_and_not_found(square: Emulator, client: httpx.Client) -> None:
    variation_id = square.vid(4)
    body = client.get(
        f"/v2/catalog/object/{variation_id}", params={"include_related_objects": "true"}
    ).json()
    assert body["object"]["id"] == variation_id
    assert body["object"]["item_variation_data"]["sku"] == sku(4)
    item = body["related_objects"][0]
    assert variation_id in [v["id"] for v in item["item_data"]["variations"]]
    error = the_error(client.get("/v2/catalog/object/NO-SUCH-ID"), 404)
    assert (error["category"], error["code"]) == ("INVALID_REQUEST_ERROR", "NOT_FOUND")


def search(client: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for objects, _ in pages(
        lambda c: client.post("/v2/catalog/search", json={**body, **({"cursor": c} if c else {})}),
        "objects",
    ):
        found.extend(objects)
    return found


def test_search_exact_sku_is_case_insensitive_and_exact(
    square: Emulator, client: httpx.Client
) -> None:
    query = {"exact_query": {"attribute_name": "sku", "attribute_value": sku(12).lower()}}
    found = search(client, {"object_types": ["ITEM_VARIATION"], "query": query})
    assert [o["id"] for o in found] == [square.vid(12)]
    # sku is searchable on variations only; the default types are top-level (ITEM, ...).
    assert search(client, {"query": query}) == []
    barcode = client.get(f"/v2/catalog/object/{square.vid(12)}").json()["object"]
    upc = barcode["item_variation_data"]["upc"]
    by_upc = {"exact_query": {"attribute_name": "upc", "attribute_value": upc}}
    assert [
        o["id"] for o in search(client, {"object_types": ["ITEM_VARIATION"], "query": by_upc})
    ] == [square.vid(12)]


def test_search_prefix_pages_with_limit_and_related_items(
    square: Emulator, client: httpx.Client
) -> None:
    body = {
        "object_types": ["ITEM_VARIATION"],
        "query": {"prefix_query": {"attribute_name": "sku", "attribute_prefix": "demo-0001"}},
        "limit": 30,
        "include_related_objects": True,
    }
    found: list[dict[str, Any]] = []
    page_count = 0
    for objects, page in pages(
        lambda c: client.post("/v2/catalog/search", json={**body, **({"cursor": c} if c else {})}),
        "objects",
    ):
        page_count += 1
        assert len(objects) <= 30
        parents = {o["item_variation_data"]["item_id"] for o in objects}
        assert {r["id"] for r in page["related_objects"]} == parents
        assert RFC3339_MS.match(page["latest_time"])
        found.extend(objects)
    assert page_count == 4
    assert sorted(o["item_variation_data"]["sku"] for o in found) == [
        sku(n) for n in range(100, 200)
    ]


def test_search_text_query_matches_all_keywords(square: Emulator, client: httpx.Client) -> None:
    found = search(
        client, {"object_types": ["ITEM"], "query": {"text_query": {"keywords": ["urban", "CAND"]}}}
    )
    expected = {p.name for p in square.products if "Urban Candle" in p.name}
    assert expected
    assert {o["item_data"]["name"] for o in found} == expected


def test_search_set_query_and_refusals(square: Emulator, client: httpx.Client) -> None:
    wanted = [sku(20), sku(21), "NOT-A-SKU"]
    found = search(
        client,
        {
            "object_types": ["ITEM_VARIATION"],
            "query": {"set_query": {"attribute_name": "sku", "attribute_values": wanted}},
        },
    )
    assert {o["id"] for o in found} == {square.vid(20), square.vid(21)}
    unsupported = client.post(
        "/v2/catalog/search",
        json={"query": {"range_query": {"attribute_name": "price", "attribute_min_value": 1}}},
    )
    assert the_error(unsupported, 400)["field"] == "query.range_query"
    unsearchable = client.post(
        "/v2/catalog/search",
        json={"query": {"exact_query": {"attribute_name": "colour", "attribute_value": "red"}}},
    )
    assert the_error(unsearchable, 400)["field"] == "query.exact_query.attribute_name"


def test_search_limit_out_of_range_is_ignored_as_documented(client: httpx.Client) -> None:
    body = client.post(
        "/v2/catalog/search", json={"object_types": ["ITEM_VARIATION"], "limit": 5000}
    ).json()
    assert len(body["objects"]) == 100  # the default page, not 5000
    assert body["cursor"]


# --- inventory: reading -------------------------------------------------------------------


def counts(client: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for items, _ in pages(
        lambda c: client.post(
            "/v2/inventory/counts/batch-retrieve", json={**body, **({"cursor": c} if c else {})}
        ),
        "counts",
    ):
        found.extend(items)
    return found


def test_batch_retrieve_counts_pages_every_count_newest_first(
    square: Emulator, client: httpx.Client
) -> None:
    first = client.post("/v2/inventory/counts/batch-retrieve", json={"states": ["IN_STOCK"]})
    assert len(first.json()["counts"]) == 100  # default page size
    found = counts(client, {"states": ["IN_STOCK"], "limit": 77})
    assert len(found) == N_SKUS
    assert len({c["catalog_object_id"] for c in found}) == N_SKUS
    stamps = [c["calculated_at"] for c in found]
    assert stamps == sorted(stamps, reverse=True)
    for count in found:
        assert RFC3339_MS.match(count["calculated_at"])
        assert count["state"] == "IN_STOCK"
        assert count["location_id"] == LOCATION
        assert count["catalog_object_type"] == "ITEM_VARIATION"
        assert isinstance(count["quantity"], str)
        assert Decimal(count["quantity"]) == square.state.count(count["catalog_object_id"])


def test_batch_retrieve_counts_filters(square: Emulator, client: httpx.Client) -> None:
    ids = [square.vid(n) for n in (30, 31, 32)]
    found = counts(client, {"catalog_object_ids": [*ids, "UNKNOWN"]})
    assert {c["catalog_object_id"] for c in found} == set(ids)
    assert {c["quantity"] for c in found if c["catalog_object_id"] == ids[0]} == {
        str(stock_of(square.products, 30))
    }
    assert counts(client, {"catalog_object_ids": ids, "location_ids": ["ELSEWHERE"]}) == []
    assert counts(client, {"catalog_object_ids": ids, "states": ["WASTE"]}) == []
    # SOLD is untracked: Square keeps no count for it.
    assert counts(client, {"catalog_object_ids": ids, "states": ["SOLD"]}) == []


def test_batch_retrieve_counts_for_1000_ids_respects_limit(
    square: Emulator, client: httpx.Client
) -> None:
    ids = [square.vid(n) for n in range(1, N_SKUS + 1)]
    body = client.post(
        "/v2/inventory/counts/batch-retrieve", json={"catalog_object_ids": ids, "limit": 1000}
    ).json()
    assert "cursor" not in body
    assert {c["catalog_object_id"] for c in body["counts"]} == set(ids)


def test_batch_retrieve_counts_rejects_off_spec_limits_and_bad_input(raw: httpx.Client) -> None:
    url = "/v2/inventory/counts/batch-retrieve"
    assert the_error(raw.post(url, json={"limit": 1001}), 400)["code"] == "VALUE_TOO_HIGH"
    assert the_error(raw.post(url, json={"limit": 0}), 400)["code"] == "VALUE_TOO_LOW"
    wrong_type = the_error(raw.post(url, json={"catalog_object_ids": "ABC"}), 400)
    assert (wrong_type["code"], wrong_type["field"]) == ("EXPECTED_ARRAY", "catalog_object_ids")
    bad_state = the_error(raw.post(url, json={"states": ["ON_THE_SHELF"]}), 400)
    assert (bad_state["code"], bad_state["field"]) == ("INVALID_ENUM_VALUE", "states[0]")
    not_json = raw.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert the_error(not_json, 400)["code"] == "EXPECTED_JSON_BODY"


def test_batch_retrieve_counts_rejects_bad_updated_after_and_cursor(client: httpx.Client) -> None:
    url = "/v2/inventory/counts/batch-retrieve"
    error = the_error(client.post(url, json={"updated_after": "yesterday"}), 400)
    assert (error["code"], error["field"]) == ("INVALID_TIME", "updated_after")
    assert the_error(client.post(url, json={"cursor": "xyz"}), 400)["code"] == "INVALID_CURSOR"


def test_retrieve_inventory_count(square: Emulator, client: httpx.Client) -> None:
    variation_id = square.vid(40)
    body = client.get(f"/v2/inventory/{variation_id}").json()
    (count,) = body["counts"]
    assert count["quantity"] == str(stock_of(square.products, 40))
    assert count["state"] == "IN_STOCK"
    here = client.get(f"/v2/inventory/{variation_id}", params={"location_ids": LOCATION}).json()
    assert here == body
    elsewhere = client.get(f"/v2/inventory/{variation_id}", params={"location_ids": "OTHER"})
    assert elsewhere.json() == {}
    assert the_error(client.get("/v2/inventory/NO-SUCH-ID"), 404)["code"] == "NOT_FOUND"
    item_id = client.get(f"/v2/catalog/object/{variation_id}").json()["object"][
        "item_variation_data"
    ]["item_id"]
    assert the_error(client.get(f"/v2/inventory/{item_id}"), 404)["code"] == "NOT_FOUND"


# --- inventory: writing -------------------------------------------------------------------


def post_changes(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/v2/inventory/changes/batch-create", json=body)


def test_physical_counts_and_adjustments_move_stock(square: Emulator, client: httpx.Client) -> None:
    vid = square.vid(50)
    set_seven = post_changes(client, batch(change("PHYSICAL_COUNT", vid, "7")))
    assert set_seven.status_code == 200, set_seven.text
    body = set_seven.json()
    assert [(c["state"], c["quantity"]) for c in body["counts"]] == [("IN_STOCK", "7")]
    (created,) = body["changes"]
    assert created["type"] == "PHYSICAL_COUNT"
    assert created["physical_count"]["id"]
    assert RFC3339_MS.match(created["physical_count"]["created_at"])
    assert square.state.count(vid) == 7

    received = post_changes(client, batch(adjust("NONE", "IN_STOCK", vid, "3")))
    assert received.json()["counts"][0]["quantity"] == "10"
    sold = post_changes(client, batch(adjust("IN_STOCK", "SOLD", vid, "4")))
    assert sold.json()["counts"][0]["quantity"] == "6"
    wasted = post_changes(client, batch(adjust("IN_STOCK", "WASTE", vid, "1.5")))
    assert {(c["state"], c["quantity"]) for c in wasted.json()["counts"]} == {
        ("IN_STOCK", "4.5"),
        ("WASTE", "1.5"),
    }
    assert square.state.count(vid) == Decimal("4.5")
    oversold = post_changes(client, batch(adjust("IN_STOCK", "SOLD", vid, "6")))
    assert oversold.json()["counts"][0]["quantity"] == "-1.5"  # Square lets stock go negative


def test_changes_apply_in_occurred_at_order(square: Emulator, client: httpx.Client) -> None:
    """A physical count taken before a sale, but sent after it, keeps the sale.

    All three happen after the seed's own count (taken "now" at module start); the later two
    are stamped a second or two ahead, inside the emulator's one-minute clock-skew allowance.
    """
    vid = square.vid(51)
    base = datetime.now(UTC)

    def at(seconds: int) -> str:
        return (base + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")

    post_changes(client, batch(change("PHYSICAL_COUNT", vid, "20", occurred_at=at(0))))
    sale = change("ADJUSTMENT", vid, "2", from_state="IN_STOCK", to_state="SOLD", occurred_at=at(2))
    assert post_changes(client, batch(sale)).json()["counts"][0]["quantity"] == "18"
    late_count = change("PHYSICAL_COUNT", vid, "30", occurred_at=at(1))
    body = post_changes(client, batch(late_count)).json()
    assert body["counts"][0]["quantity"] == "28"
    assert square.state.count(vid) == 28
    older_than_the_last_count = change("PHYSICAL_COUNT", vid, "5", occurred_at=at(-1))
    body = post_changes(client, batch(older_than_the_last_count)).json()
    assert body["counts"][0]["quantity"] == "28"  # superseded by the count at +1 s


def test_ignore_unchanged_counts(square: Emulator, client: httpx.Client) -> None:
    vid = square.vid(52)
    first = post_changes(client, batch(change("PHYSICAL_COUNT", vid, "9"))).json()
    stamp = first["counts"][0]["calculated_at"]
    same = post_changes(client, batch(change("PHYSICAL_COUNT", vid, "9"))).json()
    assert "changes" not in same  # ignored: unchanged since the last count (the default)
    assert same["counts"][0]["calculated_at"] == stamp
    forced = post_changes(
        client, batch(change("PHYSICAL_COUNT", vid, "9"), ignore_unchanged_counts=False)
    ).json()
    assert len(forced["changes"]) == 1
    assert forced["counts"][0]["calculated_at"] > stamp


def test_idempotency_replays_and_refuses_a_reused_key(
    square: Emulator, client: httpx.Client
) -> None:
    vid = square.vid(53)
    before = square.state.count(vid)
    body = batch(adjust("IN_STOCK", "SOLD", vid, "1"), key="sale-53")
    first = post_changes(client, body)
    again = post_changes(client, body)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert square.state.count(vid) == before - 1  # applied once
    different = post_changes(client, batch(adjust("IN_STOCK", "SOLD", vid, "2"), key="sale-53"))
    error = the_error(different, 400)
    assert (error["code"], error["category"]) == ("IDEMPOTENCY_KEY_REUSED", "INVALID_REQUEST_ERROR")
    assert square.state.count(vid) == before - 1


def test_a_failed_request_does_not_use_up_its_idempotency_key(
    square: Emulator, client: httpx.Client
) -> None:
    vid = square.vid(54)
    failed = post_changes(client, batch(adjust("IN_STOCK", "SOLD", "GONE", "1"), key="retry-54"))
    assert the_error(failed, 404)["code"] == "NOT_FOUND"
    fixed = post_changes(client, batch(adjust("IN_STOCK", "SOLD", vid, "1"), key="retry-54"))
    assert fixed.status_code == 200


def test_at_most_100_changes_per_call(square: Emulator, client: httpx.Client) -> None:
    ids = [square.vid(n) for n in range(101, 202)]
    too_many = post_changes(client, batch(*(adjust("NONE", "IN_STOCK", i, "1") for i in ids)))
    error = the_error(too_many, 400)
    assert (error["code"], error["field"]) == ("ARRAY_LENGTH_TOO_LONG", "changes")
    assert square.state.count(ids[0]) == stock_of(square.products, 101)  # nothing applied
    hundred = post_changes(client, batch(*(adjust("NONE", "IN_STOCK", i, "1") for i in ids[:100])))
    assert hundred.status_code == 200
    assert len(hundred.json()["counts"]) == 100
    assert square.state.count(ids[0]) == stock_of(square.products, 101) + 1
    assert square.state.count(ids[100]) == stock_of(square.products, 201)


def test_a_batch_is_all_or_nothing(square: Emulator, client: httpx.Client) -> None:
    vid = square.vid(55)
    before = square.state.count(vid)
    mixed = batch(adjust("IN_STOCK", "SOLD", vid, "1"), adjust("IN_STOCK", "SOLD", "GONE", "1"))
    error = the_error(post_changes(client, mixed), 404)
    assert error["field"] == "changes[1].adjustment.catalog_object_id"
    assert square.state.count(vid) == before
    wrong_place = adjust("IN_STOCK", "SOLD", vid, "1")
    wrong_place["adjustment"]["location_id"] = "NOWHERE"
    error = the_error(post_changes(client, batch(wrong_place)), 404)
    assert error["field"] == "changes[0].adjustment.location_id"


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (lambda c: c["adjustment"].pop("occurred_at"), "MISSING_REQUIRED_PARAMETER", "occurred_at"),
        (lambda c: c["adjustment"].pop("from_state"), "MISSING_REQUIRED_PARAMETER", "from_state"),
        (lambda c: c["adjustment"].update(quantity="1.123456"), "INVALID_VALUE", "quantity"),
        (lambda c: c["adjustment"].update(quantity="-1"), "VALUE_TOO_LOW", "quantity"),
        (lambda c: c["adjustment"].update(quantity="0"), "VALUE_TOO_LOW", "quantity"),
        (lambda c: c["adjustment"].update(to_state="IN_STOCK"), "INVALID_VALUE", "to_state"),
        (
            lambda c: c["adjustment"].update(occurred_at=now_iso(timedelta(hours=-25))),
            "INVALID_TIME",
            "occurred_at",
        ),
        (
            lambda c: c["adjustment"].update(occurred_at=now_iso(timedelta(hours=1))),
            "INVALID_TIME",
            "occurred_at",
        ),
        (lambda c: c["adjustment"].update(occurred_at="soon"), "INVALID_TIME", "occurred_at"),
        (
            lambda c: c["adjustment"].update(catalog_object_type="ITEM"),
            "INVALID_VALUE",
            "catalog_object_type",
        ),
    ],
)
def test_adjustment_validation(
    square: Emulator,
    client: httpx.Client,
    mutate: Callable[[dict[str, Any]], object],
    code: str,
    field: str,
) -> None:
    vid = square.vid(56)
    before = square.state.count(vid)
    bad = adjust("IN_STOCK", "SOLD", vid, "1")
    mutate(bad)
    error = the_error(post_changes(client, batch(bad)), 400)
    assert (error["code"], error["field"]) == (code, f"changes[0].adjustment.{field}")
    assert square.state.count(vid) == before


def test_change_shape_validation(square: Emulator, client: httpx.Client) -> None:
    vid = square.vid(57)
    no_type = adjust("IN_STOCK", "SOLD", vid, "1")
    del no_type["type"]
    error = the_error(post_changes(client, batch(no_type)), 400)
    assert (error["code"], error["field"]) == ("MISSING_REQUIRED_PARAMETER", "changes[0].type")
    mismatched = {
        "type": "PHYSICAL_COUNT",
        "adjustment": adjust("IN_STOCK", "SOLD", vid, "1")["adjustment"],
    }
    error = the_error(post_changes(client, batch(mismatched)), 400)
    assert error["field"] == "changes[0].physical_count"
    untracked = change("PHYSICAL_COUNT", vid, "3", state="SOLD")
    error = the_error(post_changes(client, batch(untracked)), 400)
    assert error["field"] == "changes[0].physical_count.state"
    transfer = {"type": "TRANSFER", "transfer": {"catalog_object_id": vid}}
    assert the_error(post_changes(client, batch(transfer)), 400)["code"] == "BAD_REQUEST"
    unknown_field = batch(adjust("IN_STOCK", "SOLD", vid, "1"), colour="red")
    error = the_error(post_changes(client, unknown_field), 400)
    assert (error["code"], error["field"]) == ("UNKNOWN_BODY_PARAMETER", "colour")


def test_request_body_must_follow_the_spec(raw: httpx.Client) -> None:
    url = "/v2/inventory/changes/batch-create"
    missing = the_error(raw.post(url, json={"changes": []}), 400)
    assert (missing["code"], missing["field"]) == ("MISSING_REQUIRED_PARAMETER", "idempotency_key")
    empty_key = the_error(raw.post(url, json={"idempotency_key": ""}), 400)
    assert (empty_key["code"], empty_key["field"]) == ("VALUE_TOO_SHORT", "idempotency_key")
    wrong_type = the_error(raw.post(url, json={"idempotency_key": 5}), 400)
    assert wrong_type["code"] == "EXPECTED_STRING"
    no_body = the_error(raw.post(url), 400)
    assert no_body["code"] == "EXPECTED_JSON_BODY"


# --- updated_after: the sync loop ----------------------------------------------------------


def newest(found: list[dict[str, Any]]) -> str:
    return str(max(c["calculated_at"] for c in found))


def test_updated_after_returns_strictly_later_counts(
    square: Emulator, client: httpx.Client
) -> None:
    mark = newest(counts(client, {"limit": 1000}))
    assert counts(client, {"updated_after": mark}) == []  # strictly after
    a, b = square.vid(60), square.vid(61)
    post_changes(client, batch(adjust("IN_STOCK", "SOLD", a, "1")))
    post_changes(client, batch(adjust("NONE", "IN_STOCK", b, "2")))
    later = counts(client, {"updated_after": mark})
    assert [c["catalog_object_id"] for c in later] == [b, a]  # newest first
    assert counts(client, {"updated_after": later[0]["calculated_at"]}) == []
    only_b = counts(client, {"updated_after": later[1]["calculated_at"]})
    assert [c["catalog_object_id"] for c in only_b] == [b]
    with_offset = counts(client, {"updated_after": "1970-01-01T01:00:00+01:00"})
    assert len(with_offset) >= N_SKUS


def test_polling_with_updated_after_never_misses_a_write(
    square: Emulator, client: httpx.Client
) -> None:
    """Writes land in quick succession, within the same millisecond if the machine is fast:
    each must still show up exactly once in the next poll after the newest stamp seen."""
    mark = newest(counts(client, {"limit": 1000}))
    for n in range(62, 92):
        vid = square.vid(n)
        post_changes(client, batch(adjust("IN_STOCK", "SOLD", vid, "1")))
        fresh = counts(client, {"updated_after": mark, "limit": 1})
        assert [c["catalog_object_id"] for c in fresh] == [vid]
        assert Decimal(fresh[0]["quantity"]) == square.state.count(vid)
        mark = fresh[0]["calculated_at"]


def test_paging_while_writes_happen_still_sees_every_count_once_or_later(
    square: Emulator, client: httpx.Client
) -> None:
    """A count updated mid-pagination moves ahead of the cursor; the next updated_after poll
    from the newest stamp of the first pass picks it up."""
    first_page = client.post(
        "/v2/inventory/counts/batch-retrieve", json={"states": ["IN_STOCK"], "limit": 100}
    ).json()
    mark = first_page["counts"][0]["calculated_at"]
    seen = {c["catalog_object_id"] for c in first_page["counts"]}
    moved = square.vid(95)
    post_changes(client, batch(adjust("IN_STOCK", "SOLD", moved, "1")))
    cursor = first_page["cursor"]
    while cursor:
        page = client.post(
            "/v2/inventory/counts/batch-retrieve",
            json={"states": ["IN_STOCK"], "limit": 100, "cursor": cursor},
        ).json()
        seen.update(c["catalog_object_id"] for c in page.get("counts", []))
        cursor = page.get("cursor")
    seen.update(c["catalog_object_id"] for c in counts(client, {"updated_after": mark}))
    assert seen == {square.vid(n) for n in range(1, N_SKUS + 1)}


# --- control, concurrency, determinism, scale -------------------------------------------------


def test_faults_and_request_counts_use_square_error_bodies(
    square: Emulator, client: httpx.Client
) -> None:
    before = client.get("/_emulator/stats").json()["counts"].get("GET /v2/locations", 0)
    faults = {"rate_429": 1.0, "only_paths": ["/v2/locations"], "retry_after_seconds": 2}
    assert client.put("/_emulator/faults", json=faults).status_code == 200
    try:
        limited = client.get("/v2/locations")
        error = the_error(limited, 429)
        assert (error["category"], error["code"]) == ("RATE_LIMIT_ERROR", "RATE_LIMITED")
        assert limited.headers["Retry-After"] == "2"
        assert (
            client.post("/v2/inventory/counts/batch-retrieve", json={"limit": 1}).status_code == 200
        )
        client.put("/_emulator/faults", json={"rate_500": 1.0, "only_paths": ["/v2/locations"]})
        error = the_error(client.get("/v2/locations"), 500)
        assert (error["category"], error["code"]) == ("API_ERROR", "INTERNAL_SERVER_ERROR")
    finally:
        client.put("/_emulator/faults", json={})
    after = client.get("/_emulator/stats").json()["counts"]["GET /v2/locations"]
    assert after == before + 2


def test_concurrent_sales_are_all_applied(square: Emulator) -> None:
    vid = square.vid(96)
    before = square.state.count(vid)

    def sell() -> None:
        with make_client(square.url) as http:
            for _ in range(10):
                response = post_changes(http, batch(adjust("IN_STOCK", "SOLD", vid, "1")))
                assert response.status_code == 200

    threads = [threading.Thread(target=sell) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert square.state.count(vid) == before - 60


def test_seeding_is_deterministic_and_lookups_are_exact() -> None:
    products = demo_catalogue(40)
    one, two = SquareState(location_id="L-A"), SquareState(location_id="L-A")
    one.seed(products)
    two.seed(products)
    assert one.variation_id_for_sku(sku(7)) == two.variation_id_for_sku(sku(7))
    assert len({one.variation_id_for_sku(sku(n)) for n in range(1, 41)}) == 40
    assert one.count(one.variation_id_for_sku(sku(7))) == stock_of(products, 7)
    assert one.count("UNKNOWN") == 0
    with pytest.raises(KeyError):
        one.variation_id_for_sku("NOT-A-SKU")


def test_clock_never_repeats_or_goes_back() -> None:
    frozen = Clock(now=lambda: 1_700_000_000.0)
    ticks = [frozen.tick() for _ in range(5)]
    assert ticks == list(range(ticks[0], ticks[0] + 5))
    backwards = iter([1_700_000_001.0, 1_700_000_000.0])
    clock = Clock(now=lambda: next(backwards))
    assert clock.tick() < clock.tick()


def test_100k_skus_seed_fast_and_1000_counts_come_back_fast() -> None:
    import time

    products = demo_catalogue(100_000)
    state = SquareState()
    started = time.perf_counter()
    state.seed(products)
    assert time.perf_counter() - started < 10
    server = serve_in_thread(create_square_app(state, access_token=TOKEN))
    try:
        ids = [state.variation_id_for_sku(sku(n)) for n in range(50_001, 51_001)]
        with make_client(server.url) as http:
            started = time.perf_counter()
            response = http.post(
                "/v2/inventory/counts/batch-retrieve",
                json={"catalog_object_ids": ids, "limit": 1000},
            )
            elapsed = time.perf_counter() - started
        assert response.status_code == 200
        assert len(response.json()["counts"]) == 1000
        assert elapsed < 1.0
    finally:
        server.stop()

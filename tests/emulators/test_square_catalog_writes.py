"""The Square emulator's catalog writes: BatchUpsertCatalogObjects, UpsertCatalogObject,
BatchDeleteCatalogObjects, DeleteCatalogObject, and SearchCatalogObjects' `begin_time`.

Same conventions as test_square_emulator.py, whose fixtures and helpers are reused: `client`
exchanges are validated against Square's spec when each test ends, `raw` is for answers the
spec cannot describe (VERSION_MISMATCH is a code Square sends but its spec's enum omits).
Every test creates its own items with its own SKUs, so the tests do not depend on their order.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conformance import SpecRecorder
from tests.emulators.test_square_emulator import (
    LOCATION,
    RFC3339_MS,
    SPEC,
    Emulator,
    adjust,
    batch,
    change,
    client,
    make_client,
    raw,
    spec_problems,
    square,
    the_error,
)
from tests.specs import openapi

__all__ = ["client", "raw", "square"]  # fixtures reused from the phase-1 module

_ids = itertools.count(1)


def variation(
    ref: str, item_ref: str | None, sku: str, amount: int, **fields: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": f"Size {sku[-1]}",
        "sku": sku,
        "pricing_type": "FIXED_PRICING",
        "price_money": {"amount": amount, "currency": "DKK"},
        "track_inventory": True,
        **fields,
    }
    if item_ref is not None:
        data["item_id"] = item_ref
    return {"type": "ITEM_VARIATION", "id": ref, "item_variation_data": data}


def item(ref: str, name: str, *variations: dict[str, Any], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "description": f"{name}, new", **fields}
    if variations:
        data["variations"] = list(variations)
    return {"type": "ITEM", "id": ref, "item_data": data}


def upsert_batches(*batches: list[dict[str, Any]], key: str | None = None) -> dict[str, Any]:
    return {
        "idempotency_key": key or f"upsert-{next(_ids)}",
        "batches": [{"objects": objects} for objects in batches],
    }


def new_item(client: httpx.Client, prefix: str, n_variations: int = 2) -> dict[str, Any]:
    """An ITEM with `n_variations` variations (SKUs `{prefix}-1`...), created in one call."""
    variations = [
        variation(f"#{prefix}-v{i}", f"#{prefix}", f"{prefix}-{i}", 1000 * i)
        for i in range(1, n_variations + 1)
    ]
    response = client.post(
        "/v2/catalog/batch-upsert",
        json=upsert_batches([item(f"#{prefix}", f"Item {prefix}", *variations)]),
    )
    assert response.status_code == 200, response.text
    (created,) = response.json()["objects"]
    return dict(created)


READ_ONLY = frozenset({"updated_at", "ordinal", "description_plaintext"})  # per the spec


def writable(value: Any) -> Any:
    """An object as read, without the read-only fields a write must not send."""
    if isinstance(value, dict):
        return {k: writable(v) for k, v in value.items() if k not in READ_ONLY}
    if isinstance(value, list):
        return [writable(v) for v in value]
    return value


def upsert(client: httpx.Client, obj: dict[str, Any], key: str | None = None) -> httpx.Response:
    body = {"idempotency_key": key or f"one-{next(_ids)}", "object": writable(obj)}
    return client.post("/v2/catalog/object", json=body)


def search_changes(
    client: httpx.Client, begin_time: str, *, deleted: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object_types": ["ITEM", "ITEM_VARIATION"],
        "begin_time": begin_time,
        "include_deleted_objects": deleted,
    }
    response = client.post("/v2/catalog/search", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def latest_time(client: httpx.Client) -> str:
    response = client.post("/v2/catalog/search", json={"object_types": ["ITEM"], "limit": 1})
    return str(response.json()["latest_time"])


# --- creating -------------------------------------------------------------------------------


def test_batch_upsert_creates_items_with_variations_and_maps_temporary_ids(
    square: Emulator, client: httpx.Client
) -> None:
    body = upsert_batches(
        [
            item(
                "#shirt",
                "Shirt",
                variation("#shirt-s", "#shirt", "W-SHIRT-S", 19900),
                variation("#shirt-m", None, "W-SHIRT-M", 21900),
            ),
            variation("#shirt-l", "#shirt", "W-SHIRT-L", 23900),
        ],
        [item("#cap", "Cap", variation("#cap-1", "#cap", "W-CAP-1", 9900))],
    )
    response = client.post("/v2/catalog/batch-upsert", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    mapping = {m["client_object_id"]: m["object_id"] for m in answer["id_mappings"]}
    assert set(mapping) == {"#shirt", "#shirt-s", "#shirt-m", "#shirt-l", "#cap", "#cap-1"}
    assert len(set(mapping.values())) == 6 and not any(v.startswith("#") for v in mapping.values())
    assert RFC3339_MS.match(answer["updated_at"])
    shirt, large, cap = answer["objects"]
    assert (shirt["id"], large["id"], cap["id"]) == (
        mapping["#shirt"],
        mapping["#shirt-l"],
        mapping["#cap"],
    )
    assert shirt["version"] == large["version"] == cap["version"]
    assert shirt["updated_at"] == answer["updated_at"] and shirt["is_deleted"] is False
    variations = shirt["item_data"]["variations"]
    # The answer shows the batch's outcome: the item embeds the variation added beside it.
    assert [v["id"] for v in variations] == [
        mapping["#shirt-s"],
        mapping["#shirt-m"],
        mapping["#shirt-l"],
    ]
    small = variations[0]["item_variation_data"]
    assert small["item_id"] == mapping["#shirt"]
    assert small["sku"] == "W-SHIRT-S" and small["ordinal"] == 0
    assert small["price_money"] == {"amount": 19900, "currency": "DKK"}
    assert small["pricing_type"] == "FIXED_PRICING" and small["track_inventory"] is True
    assert large["item_variation_data"]["item_id"] == mapping["#shirt"]
    assert large["item_variation_data"]["ordinal"] == 2
    assert square.state.variation_id_for_sku("W-SHIRT-L") == mapping["#shirt-l"]

    # The new objects read back like seeded ones.
    fetched = client.get(f"/v2/catalog/object/{mapping['#shirt']}").json()["object"]
    assert fetched == shirt
    found = client.post(
        "/v2/catalog/search",
        json={
            "object_types": ["ITEM_VARIATION"],
            "query": {"exact_query": {"attribute_name": "sku", "attribute_value": "w-cap-1"}},
        },
    ).json()["objects"]
    assert [o["id"] for o in found] == [mapping["#cap-1"]]


def test_upsert_catalog_object_creates_one_item(square: Emulator, client: httpx.Client) -> None:
    response = upsert(client, item("#mug", "Mug", variation("#mug-1", "#mug", "W-MUG-1", 5000)))
    assert response.status_code == 200, response.text
    answer = response.json()
    mug = answer["catalog_object"]
    assert answer["id_mappings"] == [
        {"client_object_id": "#mug", "object_id": mug["id"]},
        {"client_object_id": "#mug-1", "object_id": mug["item_data"]["variations"][0]["id"]},
    ]
    assert mug["item_data"]["name"] == "Mug"


def test_temporary_ids_are_valid_within_their_batch_only(client: httpx.Client) -> None:
    across = upsert_batches([item("#a", "A")], [variation("#a-1", "#a", "W-ACROSS-1", 100)])
    response = client.post("/v2/catalog/batch-upsert", json=across)
    error = the_error(response, 400)
    assert error["field"] == "batches[1].objects[0].item_variation_data.item_id"
    twice = upsert_batches([item("#b", "B"), item("#b", "B again")])
    assert the_error(client.post("/v2/catalog/batch-upsert", json=twice), 400)["field"] == (
        "batches[0].objects[1].id"
    )


def test_invalid_objects_are_refused_and_nothing_is_written(
    square: Emulator, client: httpx.Client
) -> None:
    before = latest_time(client)
    cases = {
        "batches[1].objects[0].item_data.variations[0].item_variation_data.price_money.currency": (
            variation("#x", "#bad", "W-BAD-1", 100, price_money={"amount": 1, "currency": "EUR"})
        ),
        "batches[1].objects[0].item_data.variations[0].item_variation_data.pricing_type": (
            variation("#x", "#bad", "W-BAD-1", 100, pricing_type="VARIABLE_PRICING")
        ),
        "batches[1].objects[0].item_data.variations[0].item_variation_data.price_money": {
            "type": "ITEM_VARIATION",
            "id": "#x",
            "item_variation_data": {"item_id": "#bad", "pricing_type": "FIXED_PRICING"},
        },
    }
    for field, bad_variation in cases.items():
        body = upsert_batches(
            [item("#good", "Good", variation("#good-1", "#good", "W-GOOD-1", 100))],
            [item("#bad", "Bad", bad_variation)],
        )
        response = client.post("/v2/catalog/batch-upsert", json=body)
        error = the_error(response, 400)
        assert error["field"] == field, error
    discount = {**item("#discount", "Discount"), "type": "DISCOUNT"}  # not implemented
    assert the_error(upsert(client, discount), 400)["code"] == "BAD_REQUEST"
    missing = upsert(client, item("NOPE", "Nope"))
    assert the_error(missing, 404)["code"] == "NOT_FOUND"
    nameless = upsert(client, {"type": "ITEM", "id": "#n", "item_data": {}})
    assert the_error(nameless, 400)["code"] == "MISSING_REQUIRED_PARAMETER"
    deleted = upsert(client, {**item("#d", "D"), "is_deleted": True})
    assert the_error(deleted, 400)["field"] == "object.is_deleted"
    assert latest_time(client) == before  # every batch of every failed request was refused
    with pytest.raises(KeyError):
        square.state.variation_id_for_sku("W-GOOD-1")


# --- updating and versions --------------------------------------------------------------------


def test_update_price_and_sku_with_the_current_version(
    square: Emulator, client: httpx.Client
) -> None:
    created = new_item(client, "W-UPD")
    first = created["item_data"]["variations"][0]
    data = dict(first["item_variation_data"])
    data.update(sku="W-UPD-1-NEW", price_money={"amount": 1250, "currency": "DKK"})
    response = upsert(client, {**first, "item_variation_data": data})
    assert response.status_code == 200, response.text
    updated = response.json()["catalog_object"]
    assert "id_mappings" not in response.json()
    assert updated["id"] == first["id"]
    assert updated["version"] > first["version"]
    assert updated["updated_at"] > first["updated_at"]
    assert updated["item_variation_data"]["sku"] == "W-UPD-1-NEW"
    assert updated["item_variation_data"]["price_money"]["amount"] == 1250
    assert square.state.variation_id_for_sku("W-UPD-1-NEW") == first["id"]
    with pytest.raises(KeyError):
        square.state.variation_id_for_sku("W-UPD-1")
    by_old_sku = client.post(
        "/v2/catalog/search",
        json={
            "object_types": ["ITEM_VARIATION"],
            "query": {"exact_query": {"attribute_name": "sku", "attribute_value": "W-UPD-1"}},
        },
    ).json()
    assert "objects" not in by_old_sku
    # A variation-only write leaves its item's version alone.
    item_now = client.get(f"/v2/catalog/object/{created['id']}").json()["object"]
    assert item_now["version"] == created["version"]

    # A round trip of the whole item, with both variations, at their current versions.
    item_now["item_data"]["name"] = "Renamed"
    again = upsert(client, item_now)
    assert again.status_code == 200, again.text
    renamed = again.json()["catalog_object"]
    assert renamed["item_data"]["name"] == "Renamed"
    assert {v["version"] for v in renamed["item_data"]["variations"]} == {renamed["version"]}


def test_a_stale_version_is_refused_with_version_mismatch(
    square: Emulator, client: httpx.Client, raw: httpx.Client
) -> None:
    created = new_item(client, "W-STALE", 1)
    stale = created["item_data"]["variations"][0]
    bumped = upsert(client, stale)
    assert bumped.status_code == 200, bumped.text
    data = {**stale["item_variation_data"], "price_money": {"amount": 1, "currency": "DKK"}}
    response = raw.post(
        "/v2/catalog/object",
        json={
            "idempotency_key": "stale-1",
            "object": writable({**stale, "item_variation_data": data}),
        },
    )
    error = the_error(response, 400)
    assert (error["category"], error["code"]) == ("INVALID_REQUEST_ERROR", "VERSION_MISMATCH")
    assert error["field"] == "object.version"
    current = client.get(f"/v2/catalog/object/{stale['id']}").json()["object"]
    assert current["item_variation_data"]["price_money"]["amount"] == 1000
    # Without a version, the latest one is assumed.
    unversioned = {k: v for k, v in stale.items() if k != "version"}
    assert upsert(client, {**unversioned, "item_variation_data": data}).status_code == 200


def test_an_item_listing_its_variations_keeps_only_those(
    square: Emulator, client: httpx.Client
) -> None:
    created = new_item(client, "W-KEEP", 3)
    first, second, third = created["item_data"]["variations"]
    created["item_data"]["variations"] = [third, first]
    response = upsert(client, created)
    assert response.status_code == 200, response.text
    kept = response.json()["catalog_object"]["item_data"]["variations"]
    assert [v["id"] for v in kept] == [third["id"], first["id"]]
    assert [v["item_variation_data"]["ordinal"] for v in kept] == [0, 1]
    assert client.get(f"/v2/catalog/object/{second['id']}").status_code == 404


# --- idempotency and limits ---------------------------------------------------------------------


def test_idempotent_replay_and_key_reuse_with_another_body(
    square: Emulator, client: httpx.Client
) -> None:
    body = upsert_batches(
        [item("#idem", "Idem", variation("#idem-1", "#idem", "W-IDEM-1", 700))], key="idem-key"
    )
    first = client.post("/v2/catalog/batch-upsert", json=body)
    again = client.post("/v2/catalog/batch-upsert", json=body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert (
        square.state.variation_id_for_sku("W-IDEM-1") == first.json()["id_mappings"][1]["object_id"]
    )
    other = upsert_batches([item("#idem", "Other")], key="idem-key")
    error = the_error(client.post("/v2/catalog/batch-upsert", json=other), 400)
    assert (error["code"], error["field"]) == ("IDEMPOTENCY_KEY_REUSED", "idempotency_key")
    single = item("#one", "One")
    assert (
        upsert(client, single, key="one-key").json() == upsert(client, single, key="one-key").json()
    )
    assert the_error(upsert(client, item("#two", "Two"), key="one-key"), 400)["code"] == (
        "IDEMPOTENCY_KEY_REUSED"
    )


def test_objects_per_batch_and_per_request_are_limited(client: httpx.Client) -> None:
    def items(prefix: str, n: int) -> list[dict[str, Any]]:
        return [item(f"#{prefix}{i}", f"Bulk {prefix}{i}") for i in range(n)]

    # 999 items plus one with 2 variations: 1,002 objects, as embedded variations count too.
    big = item(
        "#big", "Big", variation("#v", None, "W-LIM-1", 1), variation("#w", None, "W-LIM-2", 1)
    )
    too_big = upsert_batches([*items("a", 999), big])
    error = the_error(client.post("/v2/catalog/batch-upsert", json=too_big), 400)
    assert (error["code"], error["field"]) == ("ARRAY_LENGTH_TOO_LONG", "batches[0].objects")
    too_many = upsert_batches(*(items(f"b{n}-", 1000) for n in range(10)), items("c", 1))
    error = the_error(client.post("/v2/catalog/batch-upsert", json=too_many), 400)
    assert (error["code"], error["field"]) == ("ARRAY_LENGTH_TOO_LONG", "batches")
    exactly = upsert_batches(items("d", 1000))
    response = client.post("/v2/catalog/batch-upsert", json=exactly)
    assert response.status_code == 200, response.text
    assert len(response.json()["objects"]) == 1000


# --- deleting and reading changes ----------------------------------------------------------------


def test_deleting_an_item_deletes_its_variations(square: Emulator, client: httpx.Client) -> None:
    created = new_item(client, "W-DEL")
    variation_ids = [v["id"] for v in created["item_data"]["variations"]]
    response = client.delete(f"/v2/catalog/object/{created['id']}")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["deleted_object_ids"] == [created["id"], *variation_ids]
    assert RFC3339_MS.match(answer["deleted_at"])
    for object_id in (created["id"], *variation_ids):
        assert client.get(f"/v2/catalog/object/{object_id}").status_code == 404
    assert client.delete(f"/v2/catalog/object/{created['id']}").status_code == 404
    retrieved = client.post("/v2/catalog/batch-retrieve", json={"object_ids": variation_ids})
    assert retrieved.json() == {}
    with_deleted = client.post(
        "/v2/catalog/batch-retrieve",
        json={"object_ids": variation_ids, "include_deleted_objects": True},
    ).json()["objects"]
    assert [o["is_deleted"] for o in with_deleted] == [True, True]
    listed = client.get("/v2/catalog/list", params={"types": "ITEM"}).json()["objects"]
    assert created["id"] not in {o["id"] for o in listed}
    stock = client.post(
        "/v2/inventory/changes/batch-create",
        json=batch(adjust("NONE", "IN_STOCK", variation_ids[0], "1")),
    )
    assert the_error(stock, 404)["code"] == "NOT_FOUND"


def test_batch_delete_skips_unknown_ids(square: Emulator, client: httpx.Client) -> None:
    one, two = new_item(client, "W-BD1", 1), new_item(client, "W-BD2", 1)
    lone = two["item_data"]["variations"][0]["id"]
    response = client.post(
        "/v2/catalog/batch-delete", json={"object_ids": [one["id"], "NOPE", lone, one["id"]]}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["deleted_object_ids"] == [
        one["id"],
        one["item_data"]["variations"][0]["id"],
        lone,
    ]
    item_left = client.get(f"/v2/catalog/object/{two['id']}").json()["object"]
    assert item_left["item_data"]["variations"] == []
    nothing = client.post("/v2/catalog/batch-delete", json={"object_ids": ["NOPE"]}).json()
    assert "deleted_object_ids" not in nothing and RFC3339_MS.match(nothing["deleted_at"])


def test_search_with_begin_time_returns_changes_and_deletions_when_asked(
    square: Emulator, client: httpx.Client
) -> None:
    since = latest_time(client)
    assert search_changes(client, since).get("objects") is None
    created = new_item(client, "W-INC", 2)
    first, second = created["item_data"]["variations"]
    changed = search_changes(client, since)
    assert [o["id"] for o in changed["objects"]] == [created["id"], first["id"], second["id"]]
    assert changed["latest_time"] == created["updated_at"]

    since = changed["latest_time"]
    data = {**first["item_variation_data"], "price_money": {"amount": 4242, "currency": "DKK"}}
    assert upsert(client, {**first, "item_variation_data": data}).status_code == 200
    deleted = client.post("/v2/catalog/batch-delete", json={"object_ids": [second["id"]]})
    assert deleted.status_code == 200
    live_only = search_changes(client, since)
    assert [o["id"] for o in live_only["objects"]] == [first["id"]]
    assert live_only["objects"][0]["item_variation_data"]["price_money"]["amount"] == 4242
    everything = search_changes(client, since, deleted=True)
    assert [(o["id"], o["is_deleted"]) for o in everything["objects"]] == [
        (first["id"], False),
        (second["id"], True),
    ]
    assert everything["latest_time"] == deleted.json()["deleted_at"]
    assert search_changes(client, everything["latest_time"], deleted=True).get("objects") is None


# --- inventory of upserted variations -----------------------------------------------------


def test_inventory_works_for_an_upserted_variation(square: Emulator, client: httpx.Client) -> None:
    created = new_item(client, "W-INV", 1)
    vid = created["item_data"]["variations"][0]["id"]
    assert client.get(f"/v2/inventory/{vid}").json() == {}
    assert square.state.count(vid) == Decimal(0)
    counted = client.post(
        "/v2/inventory/changes/batch-create", json=batch(change("PHYSICAL_COUNT", vid, "7"))
    )
    assert counted.status_code == 200, counted.text
    sold = client.post(
        "/v2/inventory/changes/batch-create", json=batch(adjust("IN_STOCK", "SOLD", vid, "2"))
    )
    assert sold.status_code == 200, sold.text
    assert square.state.count(vid) == Decimal(5)
    (count,) = client.get(f"/v2/inventory/{vid}", params={"location_ids": LOCATION}).json()[
        "counts"
    ]
    assert (count["state"], count["quantity"]) == ("IN_STOCK", "5")


# --- every write operation against the spec ----------------------------------------------


def test_catalog_writes_conform_to_squares_spec(square: Emulator) -> None:
    """Every catalog write exchange, happy and error paths, validated by openapi-core (skipped
    when the spec file is absent). The one VERSION_MISMATCH answer is checked by hand: Square
    sends that code, but its spec's ErrorCode enum does not list it."""
    api = openapi(SPEC, strict=False)
    assert api is not None
    recorder = SpecRecorder()
    with make_client(square.url, recorder) as http:
        created = new_item(http, "W-TOUR", 2)
        first = created["item_data"]["variations"][0]
        upsert(http, first)  # bumps the version: `first` is now stale
        stale = upsert(http, first)
        upsert(http, item("#tour-2", "Tour two", variation("#t2", None, "W-TOUR-9", 5)))
        http.post(
            "/v2/catalog/batch-upsert",
            json=upsert_batches([item(f"#t{i}", "T") for i in range(1001)]),
        )
        http.post(
            "/v2/catalog/search",
            json={"begin_time": created["updated_at"], "include_deleted_objects": True},
        )
        http.post("/v2/catalog/batch-delete", json={"object_ids": [first["id"], "NOPE"]})
        http.delete(f"/v2/catalog/object/{created['id']}")
        http.delete("/v2/catalog/object/NOPE")
        http.post(
            "/v2/catalog/search",
            json={"begin_time": created["updated_at"], "include_deleted_objects": True},
        )
    assert stale.json()["errors"][0]["code"] == "VERSION_MISMATCH"
    checked = [(q, r) for q, r in recorder.exchanges if r is not stale]
    operations = {
        (q.method, q.url.path.rsplit("/", 1)[0] if q.method == "DELETE" else q.url.path)
        for q, _ in checked
    }
    assert operations == {
        ("POST", "/v2/catalog/batch-upsert"),
        ("POST", "/v2/catalog/object"),
        ("POST", "/v2/catalog/search"),
        ("POST", "/v2/catalog/batch-delete"),
        ("DELETE", "/v2/catalog/object"),
    }
    assert {r.status_code for _, r in checked} == {200, 400, 404}
    assert spec_problems(SpecRecorder(checked)) == []


# --- archiving ------------------------------------------------------------------------------


def test_archive_and_unarchive_an_item(square: Emulator, client: httpx.Client) -> None:
    """`is_archived` is kept and returned; an archived item stays in every read, searches
    included ("SearchCatalogObjects can also return any archived items", Square's docs)."""
    created = new_item(client, "W-ARC", 1)
    assert created["item_data"]["is_archived"] is False
    since = created["updated_at"]
    archived = {**created, "item_data": {**created["item_data"], "is_archived": True}}
    response = upsert(client, archived)
    assert response.status_code == 200, response.text
    assert response.json()["catalog_object"]["item_data"]["is_archived"] is True
    read = client.get(f"/v2/catalog/object/{created['id']}").json()["object"]
    assert read["item_data"]["is_archived"] is True
    found = search_changes(client, since)["objects"]
    assert [(o["id"], o["item_data"]["is_archived"]) for o in found if o["type"] == "ITEM"] == [
        (created["id"], True)
    ]
    by_name = client.post(
        "/v2/catalog/search",
        json={
            "object_types": ["ITEM"],
            "query": {"exact_query": {"attribute_name": "name", "attribute_value": "Item W-ARC"}},
        },
    ).json()
    assert [o["id"] for o in by_name["objects"]] == [created["id"]]
    # Inventory keeps working for an archived item's variation.
    vid = created["item_data"]["variations"][0]["id"]
    counted = client.post(
        "/v2/inventory/changes/batch-create", json=batch(change("PHYSICAL_COUNT", vid, "4"))
    )
    assert counted.status_code == 200, counted.text
    assert square.state.count(vid) == Decimal(4)

    # Leaving the flag out keeps it (as with is_taxable); false unarchives.
    renamed = {k: v for k, v in read.items() if k != "version"}
    renamed["item_data"] = {
        k: v for k, v in read["item_data"].items() if k not in ("is_archived", "variations")
    }
    renamed["item_data"]["name"] = "Item W-ARC renamed"
    kept = upsert(client, renamed)
    assert kept.status_code == 200, kept.text
    assert kept.json()["catalog_object"]["item_data"]["is_archived"] is True
    current = kept.json()["catalog_object"]
    back = {**current, "item_data": {**current["item_data"], "is_archived": False}}
    unarchived = upsert(client, back)
    assert unarchived.status_code == 200, unarchived.text
    assert unarchived.json()["catalog_object"]["item_data"]["is_archived"] is False


def test_a_new_item_may_be_created_archived(client: httpx.Client) -> None:
    body = upsert_batches(
        [
            item(
                "#arc",
                "Archived at birth",
                variation("#arc-1", "#arc", "W-ARC2-1", 100),
                is_archived=True,
            )
        ]
    )
    response = client.post("/v2/catalog/batch-upsert", json=body)
    assert response.status_code == 200, response.text
    (created,) = response.json()["objects"]
    assert created["item_data"]["is_archived"] is True
    retrieved = client.post("/v2/catalog/batch-retrieve", json={"object_ids": [created["id"]]})
    assert retrieved.json()["objects"][0]["item_data"]["is_archived"] is True


def test_an_amount_beyond_int64_is_refused_not_wrapped(raw: httpx.Client) -> None:
    """Money.amount is an int64 in Square's spec: 10^19 minor units is VALUE_TOO_HIGH,
    naming the field; the largest int64 is a price Square holds."""
    n = next(_ids)
    huge = item("#i", f"Huge {n}", variation("#v", "#i", f"HUGE-{n}", 10**19))
    error = the_error(upsert(raw, huge), 400)
    assert error["code"] == "VALUE_TOO_HIGH"
    assert error["field"].endswith("item_variation_data.price_money.amount")
    most = item("#i", f"Most {n}", variation("#v", "#i", f"MOST-{n}", 2**63 - 1))
    answer = upsert(raw, most)
    assert answer.status_code == 200, answer.text
    [saved] = answer.json()["catalog_object"]["item_data"]["variations"]
    assert saved["item_variation_data"]["price_money"]["amount"] == 2**63 - 1

"""What the daily turnover needs from the Square emulator: catalog TAX objects, order taxes
(ADDITIVE/INCLUSIVE, ORDER/LINE_ITEM, bankers' rounding), CASH and card payments with their
tenders, SearchOrders by closed_at, return orders, ListPaymentRefunds, BatchRetrieveOrders and
bulk-seeded sales.

Same conventions as test_square_orders.py: `client` exchanges are validated against Square's
spec when each test ends, `raw` is for requests that break the spec on purpose.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from emulators.square_seed import SeedLine, SeedSale
from emulators.square_state import SquareState
from emulators.square_taxes import TaxDef, apportion, line_taxes
from tests.emulators.test_square_emulator import (
    LOCATION,
    Emulator,
    client,
    raw,
    square,
    the_error,
)

__all__ = ["client", "raw", "square"]  # fixtures reused from the phase-1 module

_ids = itertools.count(1)
DKK = "DKK"


def dkk(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": DKK}


def ad_hoc(name: str, price: int, quantity: str = "1", *taxes: str) -> dict[str, Any]:
    line: dict[str, Any] = {"name": name, "quantity": quantity, "base_price_money": dkk(price)}
    if taxes:
        line["applied_taxes"] = [{"tax_uid": uid} for uid in taxes]
    return line


def create_order(client: httpx.Client, lines: list[Any], taxes: list[Any]) -> httpx.Response:
    body = {
        "idempotency_key": f"turnover-order-{next(_ids)}",
        "order": {"location_id": LOCATION, "line_items": lines, "taxes": taxes},
    }
    return client.post("/v2/orders", json=body)


def new_order(client: httpx.Client, lines: list[Any], taxes: list[Any]) -> dict[str, Any]:
    response = create_order(client, lines, taxes)
    assert response.status_code == 200, response.text
    return dict(response.json()["order"])


def pay(client: httpx.Client, order: dict[str, Any], source: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotency_key": f"turnover-pay-{next(_ids)}",
        "source_id": source,
        "amount_money": order["total_money"],
        "order_id": order["id"],
        **extra,
    }
    if source == "EXTERNAL":
        body.setdefault("external_details", {"type": "OTHER", "source": "Webshop"})
    response = client.post("/v2/payments", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["payment"])


def upsert_tax(client: httpx.Client, percentage: str, inclusion: str) -> dict[str, Any]:
    body = {
        "idempotency_key": f"tax-{next(_ids)}",
        "object": {
            "type": "TAX",
            "id": "#vat",
            "tax_data": {
                "name": f"Moms {percentage}%",
                "percentage": percentage,
                "inclusion_type": inclusion,
                "calculation_phase": "TAX_SUBTOTAL_PHASE",
                "applies_to_custom_amounts": True,
                "enabled": True,
            },
        },
    }
    response = client.post("/v2/catalog/object", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["catalog_object"])


# --- the tax arithmetic ------------------------------------------------------------------------


def test_order_scope_rounds_the_sum_and_line_scope_each_line() -> None:
    """Square's forum examples at 8.875 %: the ORDER tax of 36.90 is 3.27 (per line 3.28)."""
    prices = [1500, 800, 695, 695]
    order_tax = TaxDef("t", "8.875", "ADDITIVE", "ORDER")
    line_tax = TaxDef("t", "8.875", "ADDITIVE", "LINE_ITEM")
    by_order = line_taxes(prices, [["t"]] * 4, [order_tax])
    by_line = line_taxes(prices, [["t"]] * 4, [line_tax])
    assert sum(a for (a,) in by_order) == 327
    assert sum(a for (a,) in by_line) == 328
    assert line_taxes([3020], [["t"]], [TaxDef("t", "11.75", "ADDITIVE", "ORDER")]) == [[355]]


def test_half_values_round_to_even() -> None:
    tax = TaxDef("t", "11.75", "ADDITIVE", "LINE_ITEM")
    assert line_taxes([600], [["t"]], [tax]) == [[70]]  # 70.5 -> 70
    assert line_taxes([600], [["t"]], [TaxDef("t", "9.75", "ADDITIVE", "LINE_ITEM")]) == [[58]]


def test_inclusive_tax_is_taken_out_of_the_price() -> None:
    vat = TaxDef("v", "25", "INCLUSIVE", "LINE_ITEM")
    assert line_taxes([10000, 9995, 0], [["v"], ["v"], ["v"]], [vat]) == [[2000], [1999], [0]]
    ten = TaxDef("v", "10", "INCLUSIVE", "LINE_ITEM")
    assert line_taxes([100], [["v"]], [ten]) == [[9]]  # the docs' 1.00 = 0.91 + 0.09


def test_apportioning_keeps_the_total() -> None:
    shares = apportion(100, [Decimal(1), Decimal(1), Decimal(1)])
    assert shares == [34, 33, 33]
    assert apportion(7, [Decimal(0), Decimal(0)]) == [0, 0]


# --- catalog TAX objects -----------------------------------------------------------------------


def test_catalog_tax_is_upserted_read_and_listed(client: httpx.Client) -> None:
    tax = upsert_tax(client, "25", "INCLUSIVE")
    assert tax["type"] == "TAX"
    assert tax["tax_data"] == {
        "name": "Moms 25%",
        "calculation_phase": "TAX_SUBTOTAL_PHASE",
        "inclusion_type": "INCLUSIVE",
        "percentage": "25",
        "applies_to_custom_amounts": True,
        "enabled": True,
    }
    read = client.get(f"/v2/catalog/object/{tax['id']}").json()["object"]
    assert read == tax
    listed = client.get("/v2/catalog/list", params={"types": "TAX"}).json()["objects"]
    assert tax["id"] in {o["id"] for o in listed}
    batch = {
        "idempotency_key": f"tax-batch-{next(_ids)}",
        "batches": [
            {
                "objects": [
                    {"type": "TAX", "id": "#zero", "tax_data": {"name": "Zero", "percentage": "0"}}
                ]
            }
        ],
    }
    written = client.post("/v2/catalog/batch-upsert", json=batch).json()
    assert written["objects"][0]["tax_data"] == {"name": "Zero", "percentage": "0"}
    assert written["id_mappings"][0]["client_object_id"] == "#zero"


def test_catalog_tax_validation(client: httpx.Client) -> None:
    def upsert(obj: dict[str, Any]) -> httpx.Response:
        body = {"idempotency_key": f"bad-tax-{next(_ids)}", "object": obj}
        return client.post("/v2/catalog/object", json=body)

    bad = upsert({"type": "TAX", "id": "#t", "tax_data": {"name": "X", "percentage": "25%"}})
    assert the_error(bad, 400)["field"] == "object.tax_data.percentage"
    missing = upsert({"type": "TAX", "id": "#t"})
    assert the_error(missing, 400)["code"] == "MISSING_REQUIRED_PARAMETER"
    mixed = upsert({"type": "TAX", "id": "#t", "tax_data": {"name": "X"}, "item_data": {}})
    assert the_error(mixed, 400)["field"] == "object.item_data"


# --- CreateOrder with taxes ------------------------------------------------------------------


def test_inclusive_and_additive_taxes_on_an_order(client: httpx.Client) -> None:
    vat = upsert_tax(client, "25", "INCLUSIVE")
    order = new_order(
        client,
        [
            ad_hoc("Shirt", 19995, "1", "moms"),
            ad_hoc("Newspaper", 3000, "2"),
            ad_hoc("Import", 10000, "1", "extra"),
        ],
        [
            {"uid": "moms", "catalog_object_id": vat["id"], "scope": "LINE_ITEM"},
            {"uid": "extra", "name": "Extra", "percentage": "25", "scope": "LINE_ITEM"},
        ],
    )
    shirt, paper, imported = order["line_items"]
    assert shirt["total_money"] == dkk(19995)  # inclusive: the price holds the tax
    assert shirt["total_tax_money"] == dkk(3999)  # 19995 / 1.25 = 15996, tax 3999
    assert shirt["gross_sales_money"] == dkk(19995)  # in Europe inclusive tax stays in
    assert shirt["applied_taxes"][0]["tax_uid"] == "moms"
    assert shirt["applied_taxes"][0]["applied_money"] == dkk(3999)
    assert paper["total_money"] == dkk(6000) and paper["total_tax_money"] == dkk(0)
    assert "applied_taxes" not in paper
    assert imported["total_money"] == dkk(12500)  # additive: on top
    assert imported["total_tax_money"] == dkk(2500)
    assert order["total_money"] == dkk(19995 + 6000 + 12500)
    assert order["total_tax_money"] == dkk(3999 + 2500)
    assert order["net_amounts"]["tax_money"] == dkk(3999 + 2500)
    moms, extra = order["taxes"]
    assert moms == {
        "uid": "moms",
        "catalog_object_id": vat["id"],
        "catalog_version": vat["version"],
        "name": "Moms 25%",
        "type": "INCLUSIVE",
        "percentage": "25",
        "applied_money": dkk(3999),
        "scope": "LINE_ITEM",
    }
    assert extra["type"] == "ADDITIVE" and extra["applied_money"] == dkk(2500)
    assert client.get(f"/v2/orders/{order['id']}").json()["order"] == order


def test_order_scoped_tax_applies_to_every_line(client: httpx.Client) -> None:
    order = new_order(
        client,
        [ad_hoc("A", 1500), ad_hoc("B", 800), ad_hoc("C", 695), ad_hoc("D", 695)],
        [{"uid": "state", "name": "State", "percentage": "8.875", "scope": "ORDER"}],
    )
    taxes = [line["total_tax_money"]["amount"] for line in order["line_items"]]
    assert sum(taxes) == 327 == order["taxes"][0]["applied_money"]["amount"]
    assert all(len(line["applied_taxes"]) == 1 for line in order["line_items"])
    assert order["total_money"] == dkk(3690 + 327)


def test_tax_errors(client: httpx.Client, raw: httpx.Client) -> None:
    cases = [
        (
            [ad_hoc("A", 100, "1", "nope")],
            [],
            400,
            "order.line_items[0].applied_taxes[0].tax_uid",
        ),
        ([ad_hoc("A", 100)], [{"uid": "t", "percentage": "25"}], 400, "order.taxes[0].scope"),
        ([ad_hoc("A", 100)], [{"uid": "t", "scope": "ORDER"}], 400, "order.taxes[0].percentage"),
        (
            [ad_hoc("A", 100)],
            [{"uid": "t", "catalog_object_id": "NO-SUCH-TAX", "scope": "ORDER"}],
            404,
            "order.taxes[0].catalog_object_id",
        ),
        (
            [ad_hoc("A", 100, "1", "t", "t")],
            [{"uid": "t", "percentage": "25", "scope": "LINE_ITEM"}],
            400,
            "order.line_items[0].applied_taxes[1].tax_uid",
        ),
    ]
    for lines, taxes, status, field in cases:
        assert the_error(create_order(client, lines, taxes), status)["field"] == field
    bad_scope = create_order(raw, [ad_hoc("A", 100)], [{"percentage": "5", "scope": "CITY"}])
    assert the_error(bad_scope, 400)["code"] == "INVALID_ENUM_VALUE"


# --- payments and tenders --------------------------------------------------------------------


def test_cash_card_and_external_payments_make_their_tenders(client: httpx.Client) -> None:
    lines = [ad_hoc("Mug", 8000, "1", "vat")]
    taxes = [{"uid": "vat", "percentage": "25", "type": "INCLUSIVE", "scope": "LINE_ITEM"}]
    cash_order, card_order, other_order = (new_order(client, lines, taxes) for _ in range(3))
    cash = pay(client, cash_order, "CASH", cash_details={"buyer_supplied_money": dkk(10000)})
    assert cash["source_type"] == "CASH"
    assert cash["cash_details"] == {
        "buyer_supplied_money": dkk(10000),
        "change_back_money": dkk(2000),
    }
    card = pay(client, card_order, "cnon:card-nonce-ok")
    assert card["source_type"] == "CARD"
    assert card["card_details"]["status"] == "CAPTURED"
    assert card["card_details"]["card"]["last_4"] == "1111"
    other = pay(client, other_order, "EXTERNAL")
    assert other["source_type"] == "EXTERNAL"

    def tender(order: dict[str, Any]) -> dict[str, Any]:
        done = client.get(f"/v2/orders/{order['id']}").json()["order"]
        assert done["state"] == "COMPLETED"
        (only,) = done["tenders"]
        assert only["amount_money"] == dkk(8000)
        return dict(only)

    cash_tender = tender(cash_order)
    assert cash_tender["type"] == "CASH"
    assert cash_tender["cash_details"] == {
        "buyer_tendered_money": dkk(10000),
        "change_back_money": dkk(2000),
    }
    card_tender = tender(card_order)
    assert card_tender["type"] == "CARD"
    assert card_tender["card_details"]["card"]["card_brand"] == "VISA"
    assert tender(other_order)["type"] == "OTHER"  # TenderType has no EXTERNAL


def test_cash_payment_errors(client: httpx.Client) -> None:
    order = new_order(client, [ad_hoc("Cup", 5000)], [])

    def attempt(**fields: Any) -> httpx.Response:
        body = {
            "idempotency_key": f"cash-{next(_ids)}",
            "amount_money": dkk(5000),
            "order_id": order["id"],
            **fields,
        }
        return client.post("/v2/payments", json=body)

    short = attempt(source_id="CASH", cash_details={"buyer_supplied_money": dkk(4000)})
    assert the_error(short, 400)["field"] == "cash_details.buyer_supplied_money"
    bare = attempt(source_id="CASH")
    assert the_error(bare, 400)["code"] == "MISSING_REQUIRED_PARAMETER"
    mixed = attempt(
        source_id="cnon:card-nonce-ok", cash_details={"buyer_supplied_money": dkk(5000)}
    )
    assert the_error(mixed, 400)["field"] == "cash_details"
    assert client.get(f"/v2/orders/{order['id']}").json()["order"]["state"] == "OPEN"


# --- SearchOrders by closed_at ----------------------------------------------------------------


def closed_search(
    client: httpx.Client, start: str, end: str, *, limit: int = 500, **extra: Any
) -> list[dict[str, Any]]:
    body: dict[str, Any] = {
        "location_ids": [LOCATION],
        "query": {
            "filter": {
                "state_filter": {"states": ["COMPLETED"]},
                "date_time_filter": {"closed_at": {"start_at": start, "end_at": end}},
            },
            "sort": {"sort_field": "CLOSED_AT", "sort_order": "ASC"},
        },
        "limit": limit,
        **extra,
    }
    found: list[dict[str, Any]] = []
    while True:
        response = client.post("/v2/orders/search", json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page.get("orders", []))
        if not page.get("cursor"):
            return found
        body["cursor"] = page["cursor"]


def test_closed_at_search_pages_over_seeded_and_live_orders(
    square: Emulator, client: httpx.Client
) -> None:
    day = datetime(2023, 3, 1, tzinfo=UTC)
    line = SeedLine(price=1000)
    sales = [SeedSale(day + timedelta(minutes=i), (line,), "CASH") for i in range(25)]
    ids = square.state.seed_sales(sales)
    assert len(ids) == 25 and ids[0].startswith("SALE")
    start, end = "2023-03-01T00:00:00Z", "2023-03-01T00:10:00Z"
    found = closed_search(client, start, end, limit=4)
    assert [o["id"] for o in found] == list(ids[:11])  # both ends inclusive, oldest first
    assert all(o["closed_at"] < "2023-03-01T00:10:00.001Z" for o in found)
    newest = closed_search(client, start, end)
    assert len(newest) == 11
    descending = {
        "query": {
            "filter": {
                "state_filter": {"states": ["COMPLETED"]},
                "date_time_filter": {"closed_at": {"start_at": start, "end_at": end}},
            },
            "sort": {"sort_field": "CLOSED_AT", "sort_order": "DESC"},
        },
    }
    down = closed_search(client, start, end, limit=3, **descending)
    assert [o["id"] for o in down] == list(reversed(ids[:11]))

    live = new_order(client, [ad_hoc("Live", 700)], [])
    pay(client, live, "CASH", cash_details={"buyer_supplied_money": dkk(700)})
    now = datetime.now(UTC)
    recent = closed_search(
        client,
        (now - timedelta(minutes=5)).isoformat(),
        (now + timedelta(minutes=5)).isoformat(),
    )
    assert live["id"] in {o["id"] for o in recent}
    assert not {o["id"] for o in recent} & set(ids)


def test_closed_at_search_rules(client: httpx.Client) -> None:
    def search(flt: dict[str, Any], sort: str = "CLOSED_AT") -> httpx.Response:
        body = {
            "location_ids": [LOCATION],
            "query": {"filter": flt, "sort": {"sort_field": sort}},
        }
        return client.post("/v2/orders/search", json=body)

    window = {"closed_at": {"start_at": "2023-01-01T00:00:00Z"}}
    no_states = search({"date_time_filter": window})
    assert the_error(no_states, 400)["field"] == "query.filter.state_filter"
    open_too = search(
        {"date_time_filter": window, "state_filter": {"states": ["COMPLETED", "OPEN"]}}
    )
    assert the_error(open_too, 400)["field"] == "query.filter.state_filter"
    wrong_sort = search(
        {"date_time_filter": window, "state_filter": {"states": ["COMPLETED"]}}, "CREATED_AT"
    )
    assert the_error(wrong_sort, 400)["field"] == "query.sort.sort_field"


# --- refunds and return orders --------------------------------------------------------------


def refund(client: httpx.Client, payment: dict[str, Any], amount: int) -> dict[str, Any]:
    body = {
        "idempotency_key": f"turnover-refund-{next(_ids)}",
        "payment_id": payment["id"],
        "amount_money": dkk(amount),
        "reason": "Returned goods",
    }
    response = client.post("/v2/refunds", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["refund"])


def test_refunds_make_return_orders_and_are_listed(client: httpx.Client) -> None:
    lines = [ad_hoc("Lamp", 40000, "1", "vat")]
    taxes = [{"uid": "vat", "percentage": "25", "type": "INCLUSIVE", "scope": "LINE_ITEM"}]
    order = new_order(client, lines, taxes)
    payment = pay(client, order, "cnon:card-nonce-ok")
    begin = datetime.now(UTC) - timedelta(seconds=1)
    first = refund(client, payment, 10000)
    second = refund(client, payment, 5000)
    assert first["destination_type"] == "CARD"
    returned = client.get(f"/v2/orders/{first['order_id']}").json()["order"]
    assert returned["state"] == "COMPLETED" and "line_items" not in returned
    assert returned["returns"][0]["source_order_id"] == order["id"]
    assert returned["net_amounts"]["total_money"] == dkk(-10000)

    def listed(**params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            response = client.get("/v2/refunds", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            found.extend(page.get("refunds", []))
            if not page.get("cursor"):
                return found
            params["cursor"] = page["cursor"]

    window = {"begin_time": begin.isoformat(), "location_id": LOCATION, "status": "COMPLETED"}
    oldest_first = listed(sort_order="ASC", limit=1, **window)
    assert [r["id"] for r in oldest_first][-2:] == [first["id"], second["id"]]
    newest_first = listed(**window)
    assert [r["id"] for r in newest_first][:2] == [second["id"], first["id"]]
    assert listed(source_type="CASH", **window) == []
    assert listed(location_id="ELSEWHERE") == []
    # ASC: end_time exclusive; DESC: begin_time exclusive (Square's date-range rule).
    at = first["created_at"]
    assert first["id"] not in {r["id"] for r in listed(sort_order="ASC", end_time=at)}
    assert first["id"] in {r["id"] for r in listed(sort_order="ASC", begin_time=at)}
    assert first["id"] not in {r["id"] for r in listed(sort_order="DESC", begin_time=at)}
    assert first["id"] in {r["id"] for r in listed(sort_order="DESC", end_time=at)}
    bad = client.get("/v2/refunds", params={"sort_order": "SIDEWAYS"})
    assert the_error(bad, 400)["code"] == "INVALID_SORT_ORDER"
    assert the_error(client.get("/v2/refunds", params={"cursor": "x"}), 400)["code"] == (
        "INVALID_CURSOR"
    )


def test_batch_retrieve_orders(square: Emulator, client: httpx.Client) -> None:
    order = new_order(client, [ad_hoc("Pen", 1200)], [])
    (seeded,) = square.state.seed_sales(
        [SeedSale(datetime(2023, 5, 1, 12, tzinfo=UTC), (SeedLine(price=500),))]
    )
    response = client.post(
        "/v2/orders/batch-retrieve",
        json={"location_id": LOCATION, "order_ids": [order["id"], "NO-SUCH-ORDER", seeded]},
    )
    assert response.status_code == 200, response.text
    assert [o["id"] for o in response.json()["orders"]] == [order["id"], seeded]
    elsewhere = client.post(
        "/v2/orders/batch-retrieve", json={"location_id": "ELSEWHERE", "order_ids": [order["id"]]}
    )
    assert elsewhere.json() == {}
    too_many = client.post(
        "/v2/orders/batch-retrieve", json={"order_ids": [f"O{i}" for i in range(101)]}
    )
    assert the_error(too_many, 400)["code"] == "ARRAY_LENGTH_TOO_LONG"


# --- bulk seeding ----------------------------------------------------------------------------


def test_seeded_sales_read_like_api_sales(square: Emulator, client: httpx.Client) -> None:
    closed = datetime(2023, 7, 1, 10, 30, tzinfo=UTC)
    lines = (
        SeedLine(price=12500, vat="25"),
        SeedLine(price=4000, vat="25", inclusive=False, quantity=2),
        SeedLine(price=1500, vat=None, name="Newspaper"),
    )
    (order_id,) = square.state.seed_sales([SeedSale(closed, lines, "CASH")], source_name="Till 1")
    order = client.get(f"/v2/orders/{order_id}").json()["order"]
    assert order["state"] == "COMPLETED" and order["version"] == 2
    assert order["closed_at"] == order["created_at"] == "2023-07-01T10:30:00.000Z"
    assert order["source"] == {"name": "Till 1"}
    first, second, third = order["line_items"]
    assert (first["total_money"], first["total_tax_money"]) == (dkk(12500), dkk(2500))
    assert (second["total_money"], second["total_tax_money"]) == (dkk(10000), dkk(2000))
    assert (third["total_money"], third["total_tax_money"]) == (dkk(1500), dkk(0))
    assert order["total_money"] == dkk(24000)
    (tender,) = order["tenders"]
    assert tender["type"] == "CASH" and tender["amount_money"] == dkk(24000)
    payment_id = SquareState.seeded_payment_id(order_id)
    payment = client.get(f"/v2/payments/{payment_id}").json()["payment"]
    assert payment["order_id"] == order_id and payment["total_money"] == dkk(24000)

    refunded = square.state.seed_refund(payment_id, 2500, closed + timedelta(days=1))
    assert refunded["created_at"] == "2023-07-02T10:30:00.000Z"
    after = client.get(f"/v2/payments/{payment_id}").json()["payment"]
    assert after["refunded_money"] == dkk(2500) and after["refund_ids"] == [refunded["id"]]
    back = client.get(f"/v2/orders/{refunded['order_id']}").json()["order"]
    assert back["returns"][0]["source_order_id"] == order_id
    listed = client.get(
        "/v2/refunds",
        params={"begin_time": "2023-07-02T00:00:00Z", "end_time": "2023-07-03T00:00:00Z"},
    ).json()["refunds"]
    assert [r["id"] for r in listed] == [refunded["id"]]


def test_seeding_out_of_order_still_finds_a_day(square: Emulator, client: httpx.Client) -> None:
    later = datetime(2022, 2, 2, 12, tzinfo=UTC)
    earlier = datetime(2022, 2, 1, 12, tzinfo=UTC)
    (late,) = square.state.seed_sales([SeedSale(later, (SeedLine(price=100),))])
    (early,) = square.state.seed_sales([SeedSale(earlier, (SeedLine(price=100),))])
    day = closed_search(client, "2022-02-01T00:00:00Z", "2022-02-01T23:59:59.999Z")
    assert [o["id"] for o in day] == [early]
    both = closed_search(client, "2022-02-01T00:00:00Z", "2022-02-03T00:00:00Z")
    assert [o["id"] for o in both] == [early, late]


def test_seeding_validates_its_input(square: Emulator) -> None:
    moment = datetime(2021, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="price"):
        square.state.seed_sales([SeedSale(moment, (SeedLine(price=-1),))])
    with pytest.raises(ArithmeticError):
        square.state.seed_sales([SeedSale(moment, (SeedLine(price=1, vat="x"),))])

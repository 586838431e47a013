"""The WooCommerce emulator's orders and refunds, and the stock they move, over HTTP.

Stock rules are WooCommerce core's: processing/completed/on-hold reduce managed stock once,
cancelled/pending give it back, a refund with api_restock returns the refunded quantity.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulators.woocommerce import PREFIX
from tests.emulators.woo_support import Shop, open_shop, settable_clock

_NUMBER = itertools.count(1)
BILLING = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    yield from open_shop()


@pytest.fixture
def clock(shop: Shop) -> Iterator[list[datetime]]:
    yield from settable_clock(shop, datetime(2031, 6, 1, 9, 0, 0, tzinfo=UTC))


def product(shop: Shop, stock: int = 5, price: str = "10.00") -> dict[str, Any]:
    body = {"name": f"Item {next(_NUMBER)}", "regular_price": price, "manage_stock": True,
            "stock_quantity": stock, "sku": f"ORD-{next(_NUMBER)}"}  # fmt: skip
    response = shop.client.post("/products", json=body)
    assert response.status_code == 201
    return dict(response.json())


def variable(shop: Shop, stock: int = 4) -> tuple[dict[str, Any], dict[str, Any]]:
    """A variable product and its single 'M' variation."""
    parent = shop.client.post(
        "/products",
        json={"name": f"Shirt {next(_NUMBER)}", "type": "variable",
              "attributes": [{"name": "Size", "variation": True, "options": ["M"]}]},
    ).json()  # fmt: skip
    variation = shop.client.post(
        f"/products/{parent['id']}/variations",
        json={"sku": f"SHIRT-{next(_NUMBER)}", "regular_price": "25.00", "manage_stock": True,
              "stock_quantity": stock, "attributes": [{"name": "Size", "option": "M"}]},
    ).json()  # fmt: skip
    return parent, variation


def order(shop: Shop, **body: Any) -> dict[str, Any]:
    response = shop.client.post("/orders", json={"billing": BILLING, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def stock(shop: Shop, item_id: int) -> int | None:
    return shop.state.stock(item_id)


# --- creating orders ----------------------------------------------------------------------


def test_a_pending_order_is_priced_from_the_catalogue_and_keeps_stock(shop: Shop) -> None:
    item = product(shop, stock=5, price="12.50")
    response = shop.client.post(
        "/orders",
        json={"billing": BILLING, "line_items": [{"product_id": item["id"], "quantity": 2}]},
    )
    assert response.status_code == 201
    made = response.json()
    assert response.headers["Location"].endswith(f"{PREFIX}/orders/{made['id']}")
    assert made["status"] == "pending"
    assert made["total"] == "25.00" and made["currency"] == "EUR"
    line = made["line_items"][0]
    assert (line["product_id"], line["variation_id"], line["quantity"]) == (item["id"], 0, 2)
    assert (line["subtotal"], line["total"], line["price"]) == ("25.00", "25.00", 12.5)
    assert line["name"] == item["name"] and line["sku"] == item["sku"]
    assert made["date_paid"] is None and made["needs_payment"] is True
    assert made["number"] == str(made["id"]) and made["order_key"].startswith("wc_order_")
    assert stock(shop, item["id"]) == 5


def test_a_processing_order_reduces_managed_stock_once(shop: Shop, clock: list[datetime]) -> None:
    item = product(shop, stock=2)
    made = order(shop, status="processing", line_items=[{"product_id": item["id"], "quantity": 2}])
    assert made["date_paid_gmt"] == "2031-06-01T09:00:00"
    after = shop.client.get(f"/products/{item['id']}").json()
    assert after["stock_quantity"] == 0 and after["stock_status"] == "outofstock"
    assert after["total_sales"] == 2
    assert after["date_modified_gmt"] == "2031-06-01T09:00:00"
    clock[0] += timedelta(minutes=1)
    shop.client.put(f"/orders/{made['id']}", json={"status": "completed"})
    assert stock(shop, item["id"]) == 0  # not reduced a second time


def test_a_variation_line_names_the_parent_and_reduces_the_variation(shop: Shop) -> None:
    parent, variation = variable(shop, stock=4)
    made = order(
        shop, status="on-hold", line_items=[{"variation_id": variation["id"], "quantity": 3}]
    )
    line = made["line_items"][0]
    assert (line["product_id"], line["variation_id"]) == (parent["id"], variation["id"])
    assert line["parent_name"] == parent["name"]
    assert line["name"] == f"{parent['name']} - M"
    assert line["meta_data"][0]["display_key"] == "Size" and line["meta_data"][0]["value"] == "M"
    assert stock(shop, variation["id"]) == 1
    assert shop.client.get(f"/products/{parent['id']}").json()["total_sales"] == 3


def test_a_line_can_name_its_product_by_sku_and_override_the_total(shop: Shop) -> None:
    item = product(shop, stock=9)
    made = order(shop, line_items=[{"sku": item["sku"], "quantity": 3, "total": "20.00"}])
    line = made["line_items"][0]
    assert line["product_id"] == item["id"]
    assert (line["subtotal"], line["total"]) == ("30.00", "20.00")
    assert made["total"] == "20.00"


def test_set_paid_completes_payment(shop: Shop) -> None:
    item = product(shop, stock=3)
    made = order(
        shop, set_paid=True, transaction_id="tx-1",
        line_items=[{"product_id": item["id"], "quantity": 1}],
        shipping_lines=[{"method_id": "flat_rate", "method_title": "Flat", "total": "4.95"}],
    )  # fmt: skip
    assert made["status"] == "processing" and made["transaction_id"] == "tx-1"
    assert made["date_paid"] is not None and made["needs_payment"] is False
    assert made["shipping_total"] == "4.95" and made["total"] == "14.95"
    assert stock(shop, item["id"]) == 2


def test_order_create_errors(shop: Shop) -> None:
    missing = shop.client.post("/orders", json={"line_items": [{"quantity": 1}]})
    assert missing.status_code == 400
    assert missing.json() == {
        "code": "woocommerce_rest_required_product_reference",
        "message": "Product ID or SKU is required.",
        "data": {"status": 400},
    }
    customer = shop.client.post("/orders", json={"customer_id": 42})
    assert customer.json()["code"] == "woocommerce_rest_invalid_customer_id"
    email = shop.client.post("/orders", json={"billing": {"email": "not-an-email"}})
    assert email.json()["code"] == "customer_invalid_billing_email"
    status = shop.client.post("/orders", json={"status": "shipped"})
    assert status.json()["data"]["params"]["status"].startswith("status is not one of pending,")


# --- status changes ------------------------------------------------------------------------


def test_cancelling_gives_stock_back_and_processing_takes_it_again(shop: Shop) -> None:
    item = product(shop, stock=5)
    made = order(shop, status="processing", line_items=[{"product_id": item["id"], "quantity": 4}])
    assert stock(shop, item["id"]) == 1
    cancelled = shop.client.put(f"/orders/{made['id']}", json={"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert stock(shop, item["id"]) == 5
    shop.client.put(f"/orders/{made['id']}", json={"status": "cancelled"})
    assert stock(shop, item["id"]) == 5  # no second restore
    shop.client.patch(f"/orders/{made['id']}", json={"status": "processing"})
    assert stock(shop, item["id"]) == 1
    shop.client.post(f"/orders/{made['id']}", json={"status": "pending"})
    assert stock(shop, item["id"]) == 5  # pending also restores, as in WooCommerce


def test_failed_and_refunded_statuses_leave_stock_alone(shop: Shop) -> None:
    item = product(shop, stock=5)
    made = order(shop, status="processing", line_items=[{"product_id": item["id"], "quantity": 1}])
    shop.client.put(f"/orders/{made['id']}", json={"status": "failed"})
    assert stock(shop, item["id"]) == 4
    shop.client.put(f"/orders/{made['id']}", json={"status": "refunded"})
    assert stock(shop, item["id"]) == 4


def test_completing_sets_date_completed_and_bumps_date_modified(
    shop: Shop, clock: list[datetime]
) -> None:
    made = order(shop, status="processing", line_items=[{"product_id": product(shop)["id"]}])
    clock[0] += timedelta(hours=2)
    done = shop.client.put(f"/orders/{made['id']}", json={"status": "completed"}).json()
    assert done["date_completed_gmt"] == "2031-06-01T11:00:00"
    assert done["date_modified_gmt"] == "2031-06-01T11:00:00"
    assert done["date_created_gmt"] == made["date_created_gmt"]


def test_unknown_order_ids(shop: Shop) -> None:
    got = shop.client.get("/orders/99999999")
    assert (got.status_code, got.json()["code"]) == (404, "woocommerce_rest_shop_order_invalid_id")
    put = shop.client.put("/orders/99999999", json={"status": "completed"})
    assert (put.status_code, put.json()["message"]) == (400, "Invalid ID.")


def test_delete_trashes_then_removes(shop: Shop) -> None:
    made = order(shop)
    assert shop.client.delete(f"/orders/{made['id']}").json()["status"] == "trash"
    listed = shop.client.get("/orders", params={"per_page": 100}).json()
    assert made["id"] not in [o["id"] for o in listed]
    assert shop.client.delete(f"/orders/{made['id']}").status_code == 410
    assert shop.client.delete(f"/orders/{made['id']}", params={"force": "true"}).status_code == 200
    assert shop.client.get(f"/orders/{made['id']}").status_code == 404


# --- listing -------------------------------------------------------------------------------


def test_order_list_filters_by_status_lists_and_modified_after(
    shop: Shop, clock: list[datetime]
) -> None:
    clock[0] = datetime(2032, 1, 1, tzinfo=UTC)
    item = product(shop, stock=100)
    on_hold = order(shop, status="on-hold", line_items=[{"product_id": item["id"]}])
    completed = order(shop, status="completed", line_items=[{"product_id": item["id"]}])
    pending = order(shop, line_items=[{"product_id": item["id"]}])
    since = {"modified_after": "2031-12-31T23:59:59", "order": "asc", "orderby": "id"}
    everything = shop.client.get("/orders", params=since)
    assert [o["id"] for o in everything.json()] == [on_hold["id"], completed["id"], pending["id"]]
    assert everything.headers["X-WP-Total"] == "3"
    comma = shop.client.get("/orders", params={**since, "status": "on-hold,completed"}).json()
    assert [o["id"] for o in comma] == [on_hold["id"], completed["id"]]
    # httpx would drop a query written in the URL once `params` is given: spell it all out
    php_query = "status[]=pending&status[]=completed&modified_after=2031-12-31T23:59:59&order=asc"
    php_list = shop.client.get(f"/orders?{php_query}&orderby=id").json()
    assert [o["id"] for o in php_list] == [completed["id"], pending["id"]]
    single = shop.client.get("/orders", params={**since, "status": "pending"}).json()
    assert [o["id"] for o in single] == [pending["id"]]
    clock[0] += timedelta(minutes=10)
    shop.client.put(f"/orders/{pending['id']}", json={"customer_note": "ring twice"})
    later = shop.client.get("/orders", params={"modified_after": "2032-01-01T00:05:00"}).json()
    assert [o["id"] for o in later] == [pending["id"]]
    assert later[0]["customer_note"] == "ring twice"


def test_order_list_pages_and_bad_status(shop: Shop) -> None:
    for _ in range(3):
        order(shop)
    page = shop.client.get("/orders", params={"per_page": 2})
    total = int(page.headers["X-WP-Total"])
    assert total >= 3 and len(page.json()) == 2
    assert page.headers["X-WP-TotalPages"] == str(-(-total // 2))
    assert any('rel="next"' in link for link in page.headers.get_list("Link"))
    bad = shop.client.get("/orders", params={"status": "processing,shipped"})
    assert bad.status_code == 400
    message = bad.json()["data"]["params"]["status[1]"]
    assert message.startswith("status[1] is not one of any, trash, pending, processing,")


# --- refunds -------------------------------------------------------------------------------


def paid_order(
    shop: Shop, quantity: int = 3, payment_method: str = "bacs"
) -> tuple[dict[str, Any], int]:
    item = product(shop, stock=10, price="10.00")
    made = order(
        shop, status="processing", payment_method=payment_method,
        line_items=[{"product_id": item["id"], "quantity": quantity}],
    )  # fmt: skip
    return made, item["id"]


def test_a_partial_refund_restocks_the_refunded_quantity(shop: Shop) -> None:
    made, item_id = paid_order(shop)
    assert stock(shop, item_id) == 7
    line_id = made["line_items"][0]["id"]
    response = shop.client.post(
        f"/orders/{made['id']}/refunds",
        json={"reason": "broken", "api_refund": False,
              "line_items": [{"id": line_id, "quantity": 1, "refund_total": "10.00"}]},
    )  # fmt: skip
    assert response.status_code == 201
    refund = response.json()
    assert refund["amount"] == "10.00"  # computed from the lines when `amount` is left out
    assert refund["reason"] == "broken" and refund["refunded_payment"] is False
    line = refund["line_items"][0]
    assert (line["quantity"], line["total"], line["refund_total"]) == (-1, "-10.00", 10.0)
    assert line["product_id"] == item_id
    assert stock(shop, item_id) == 8
    after = shop.client.get(f"/orders/{made['id']}").json()
    assert after["refunds"] == [{"id": refund["id"], "reason": "broken", "total": "-10.00"}]
    assert after["status"] == "processing"
    listed = shop.client.get(f"/orders/{made['id']}/refunds")
    assert listed.headers["X-WP-Total"] == "1" and listed.json()[0]["id"] == refund["id"]
    one = shop.client.get(f"/orders/{made['id']}/refunds/{refund['id']}").json()
    assert one["amount"] == "10.00" and "refund_total" not in one["line_items"][0]


def test_refunding_the_rest_marks_the_order_refunded(shop: Shop) -> None:
    made, item_id = paid_order(shop, quantity=2)
    shop.client.post(f"/orders/{made['id']}/refunds", json={"amount": "5.00", "api_refund": False})
    rest = shop.client.post(
        f"/orders/{made['id']}/refunds", json={"amount": "15.00", "api_refund": False}
    )
    assert rest.status_code == 201
    assert shop.client.get(f"/orders/{made['id']}").json()["status"] == "refunded"
    assert stock(shop, item_id) == 8  # amount-only refunds restock nothing


def test_api_restock_false_keeps_stock(shop: Shop) -> None:
    made, item_id = paid_order(shop)
    line_id = made["line_items"][0]["id"]
    shop.client.post(
        f"/orders/{made['id']}/refunds",
        json={"amount": "10.00", "api_refund": False, "api_restock": False,
              "line_items": [{"id": line_id, "quantity": 1, "refund_total": "10.00"}]},
    )  # fmt: skip
    assert stock(shop, item_id) == 7


def test_refund_errors_answer_500_as_woocommerce_does(shop: Shop) -> None:
    made, _ = paid_order(shop)
    too_much = shop.client.post(
        f"/orders/{made['id']}/refunds", json={"amount": "31.00", "api_refund": False}
    )
    assert too_much.status_code == 500
    assert too_much.json() == {
        "code": "woocommerce_rest_cannot_create_order_refund",
        "message": "Invalid refund amount.",
        "data": 500,
    }
    # api_refund defaults to true: the gateway must pay back, and bacs cannot
    gateway = shop.client.post(f"/orders/{made['id']}/refunds", json={"amount": "1.00"})
    assert (
        gateway.json()["message"]
        == "The payment gateway for this order does not support automatic refunds."
    )
    unknown = shop.client.post("/orders/99999999/refunds", json={"amount": "1.00"})
    assert (unknown.status_code, unknown.json()["data"]) == (500, 404)
    negative = shop.client.post(
        f"/orders/{made['id']}/refunds", json={"amount": "-1", "api_refund": False}
    )
    assert negative.json()["code"] == "woocommerce_rest_invalid_order_refund"
    wrong_type = shop.client.post(f"/orders/{made['id']}/refunds", json={"amount": 1})
    assert wrong_type.json()["data"]["params"] == {"amount": "amount is not of type string."}
    assert shop.client.get(f"/orders/{made['id']}").json()["refunds"] == []


def test_a_refund_through_a_refunding_gateway_is_marked_paid_back(shop: Shop) -> None:
    made, _ = paid_order(shop, payment_method="stripe")
    refund = shop.client.post(f"/orders/{made['id']}/refunds", json={"amount": "3.00"}).json()
    assert refund["refunded_payment"] is True


def test_fetching_a_refund_under_another_order_or_an_unknown_id(shop: Shop) -> None:
    first, _ = paid_order(shop)
    second, _ = paid_order(shop)
    made = shop.client.post(
        f"/orders/{first['id']}/refunds", json={"amount": "1.00", "api_refund": False}
    )
    refund_id = made.json()["id"]
    assert shop.client.get(f"/orders/{first['id']}/refunds/{refund_id}").status_code == 200
    # the refunds controller passes a bare 404 as error data, which WordPress answers as 500
    wrong = shop.client.get(f"/orders/{second['id']}/refunds/{refund_id}")
    assert wrong.status_code == 500
    assert wrong.json() == {
        "code": "woocommerce_rest_invalid_order_refund_id",
        "message": "Invalid order refund ID.",
        "data": 404,
    }
    unknown = shop.client.get(f"/orders/{first['id']}/refunds/99999999")
    assert (unknown.status_code, unknown.json()["code"]) == (
        404,
        "woocommerce_rest_shop_order_refund_invalid_id",
    )
    assert shop.client.get("/orders/99999999/refunds").json() == []

"""SquarePos as the turnover's SalesJournal, against the Square emulator over real sockets;
every request it sends (and every answer) is checked against Square's own OpenAPI spec."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from emulators.square import SquareState, create_square_app
from emulators.square_seed import SeedLine, SeedSale, TenderSource
from possync.domain.turnover import PosSale, TaxedAmount, Tender
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.ports import SalesJournal
from possync.vendors.square.config import SquareConfig
from possync.vendors.square.pos import SquarePos
from possync.vendors.square.sales import refund_from, sale_from
from tests.conformance import SpecRecorder
from tests.specs import openapi

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
TOKEN = "tok"
LOCATION = "L1"


@pytest.fixture(scope="module")
def square() -> Iterator[tuple[SquareState, RunningServer]]:
    state = SquareState(location_id=LOCATION, currency="DKK")
    server = serve_in_thread(create_square_app(state, access_token=TOKEN))
    yield state, server
    server.stop()


def connector(server: RunningServer, recorder: SpecRecorder) -> SquarePos:
    config = SquareConfig(base_url=server.url, access_token=SecretStr(TOKEN), location_id=LOCATION)
    return SquarePos(config, event_hooks=recorder.hooks())


def conforms(recorder: SpecRecorder, *, responses: bool = True) -> None:
    """No request (and, unless told, no answer) breaks Square's spec."""
    assert recorder.exchanges
    spec = openapi("square/api.json", strict=False)
    with warnings.catch_warnings():
        # openapi-core cannot check the `oauth2` scheme and says so once per request.
        warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
        found = recorder.problems(spec, "https://connect.squareup.com", responses=responses)
    assert found == []


def local_day(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Copenhagen day, in UTC (23 or 25 hours when the clocks change)."""
    start = datetime(day.year, day.month, day.day, tzinfo=COPENHAGEN)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=COPENHAGEN)
    return start.astimezone(UTC), end.astimezone(UTC)


def every(pages: Iterator[list[Any]]) -> list[Any]:
    return [item for page in pages for item in page]


def dkk(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "DKK"}


class Till:
    """Rings up sales through the emulator's HTTP API, as a POS would."""

    def __init__(self, server: RunningServer) -> None:
        self.http = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {TOKEN}", "Square-Version": "2025-08-20"},
        )

    def __enter__(self) -> Till:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.http.close()

    def vat_tax(self, percentage: str, inclusion: str) -> str:
        body = {
            "idempotency_key": str(uuid.uuid4()),
            "object": {
                "type": "TAX",
                "id": "#vat",
                "tax_data": {
                    "name": f"Moms {percentage}%",
                    "percentage": percentage,
                    "inclusion_type": inclusion,
                    "calculation_phase": "TAX_SUBTOTAL_PHASE",
                    "enabled": True,
                },
            },
        }
        return str(self.http.post("/v2/catalog/object", json=body).json()["catalog_object"]["id"])

    def sell(self, lines: list[Any], taxes: list[Any], source: str, **pay: Any) -> dict[str, Any]:
        body = {
            "idempotency_key": str(uuid.uuid4()),
            "order": {"location_id": LOCATION, "line_items": lines, "taxes": taxes},
        }
        response = self.http.post("/v2/orders", json=body)
        assert response.status_code == 200, response.text
        order = response.json()["order"]
        payment = {
            "idempotency_key": str(uuid.uuid4()),
            "source_id": source,
            "amount_money": order["total_money"],
            "order_id": order["id"],
            **pay,
        }
        response = self.http.post("/v2/payments", json=payment)
        assert response.status_code == 200, response.text
        return dict(self.http.get(f"/v2/orders/{order['id']}").json()["order"])


def line(name: str, price: int, quantity: str = "1", *taxes: str) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "quantity": quantity, "base_price_money": dkk(price)}
    if taxes:
        item["applied_taxes"] = [{"tax_uid": uid} for uid in taxes]
    return item


def test_square_pos_is_a_sales_journal(square: tuple[SquareState, RunningServer]) -> None:
    assert isinstance(connector(square[1], SpecRecorder()), SalesJournal)


def _three_sales(till: Till) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A cash sale at 25 % inclusive and 0 %, a card sale at 25 % additive, an external one."""
    vat = till.vat_tax("25", "INCLUSIVE")
    inclusive = {"uid": "vat", "catalog_object_id": vat, "scope": "LINE_ITEM"}
    zero = {"uid": "zero", "name": "Momsfri", "percentage": "0", "scope": "LINE_ITEM"}
    additive = {"uid": "add", "name": "Moms", "percentage": "25", "scope": "LINE_ITEM"}
    cash = till.sell(
        [line("Shirt", 19995, "1", "vat"), line("Newspaper", 3000, "2", "zero")],
        [inclusive, zero],
        "CASH",
        cash_details={"buyer_supplied_money": dkk(30000)},
    )
    card = till.sell([line("Import", 10000, "1", "add")], [additive], "cnon:card-nonce-ok")
    other = till.sell(
        [line("Book", 15000)],
        [],
        "EXTERNAL",
        external_details={"type": "OTHER", "source": "MobilePay"},
    )
    return cash, card, other


def test_one_days_sales_at_two_rates_with_three_tenders(
    square: tuple[SquareState, RunningServer],
) -> None:
    _, server = square
    with Till(server) as till:
        cash, card, other = _three_sales(till)
    closed = {
        datetime.fromisoformat(o["closed_at"]).astimezone(COPENHAGEN).date() for o in (cash, other)
    }
    if len(closed) != 1:
        pytest.skip("the sales straddled midnight in Copenhagen")
    start, end = local_day(closed.pop())

    recorder = SpecRecorder()
    pos = connector(server, recorder)
    sales = {s.sale_id: s for s in every(pos.sales_between(start, end))}
    cash_sale, card_sale, other_sale = sales[cash["id"]], sales[card["id"]], sales[other["id"]]
    assert cash_sale.lines == (
        TaxedAmount(vat_rate=Decimal(25), net=Decimal("159.96"), vat=Decimal("39.99")),
        TaxedAmount(vat_rate=Decimal(0), net=Decimal("60.00"), vat=Decimal(0)),
    )
    assert cash_sale.tenders == (Tender(kind="cash", amount=Decimal("259.95")),)  # not the 300
    assert cash_sale.currency == "DKK"
    assert start <= cash_sale.closed_at < end
    assert card_sale.lines == (
        TaxedAmount(vat_rate=Decimal(25), net=Decimal("100.00"), vat=Decimal("25.00")),
    )
    assert card_sale.tenders == (Tender(kind="card", amount=Decimal("125.00")),)
    assert other_sale.lines == (TaxedAmount(vat_rate=Decimal(0), net=Decimal(150), vat=Decimal(0)),)
    assert other_sale.tenders == (Tender(kind="other", amount=Decimal("150.00")),)
    for sale in sales.values():
        taken = sum((t.amount for t in sale.tenders), Decimal(0))
        assert sum((x.net + x.vat for x in sale.lines), Decimal(0)) == taken
    assert pos.sales([card["id"], "NO-SUCH-ORDER"]) == [card_sale]
    conforms(recorder)


def test_a_sale_belongs_to_the_local_day_it_closed_on(
    square: tuple[SquareState, RunningServer],
) -> None:
    """Copenhagen's clocks went forward on 31 March 2024: that day had 23 hours."""
    state, server = square

    def last_ms(day: int, month: int) -> datetime:
        return datetime(2024, month, day, 23, 59, 59, 999000, tzinfo=COPENHAGEN)

    times = {
        "late 30th": last_ms(30, 3),
        "start 31st": datetime(2024, 3, 31, tzinfo=COPENHAGEN),
        "late 31st": last_ms(31, 3),
        "start 1st": datetime(2024, 4, 1, tzinfo=COPENHAGEN),
    }
    ids = dict(
        zip(
            times,
            state.seed_sales(SeedSale(t, (SeedLine(price=5000),), "CASH") for t in times.values()),
            strict=True,
        )
    )
    recorder = SpecRecorder()
    pos = connector(server, recorder)

    def day(d: date) -> list[str]:
        return [s.sale_id for s in every(pos.sales_between(*local_day(d)))]

    assert day(date(2024, 3, 30)) == [ids["late 30th"]]
    assert day(date(2024, 3, 31)) == [ids["start 31st"], ids["late 31st"]]
    assert day(date(2024, 4, 1)) == [ids["start 1st"]]
    start, end = local_day(date(2024, 3, 31))
    assert end - start == timedelta(hours=23)
    conforms(recorder)


def test_todays_refund_of_yesterdays_sale(square: tuple[SquareState, RunningServer]) -> None:
    state, server = square
    today = datetime.now(COPENHAGEN).date()
    yesterday = today - timedelta(days=1)
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=COPENHAGEN)
    (sale_id,) = state.seed_sales([SeedSale(noon, (SeedLine(price=40000),), "CARD")])
    recorder = SpecRecorder()
    pos = connector(server, recorder)
    refund_id = pos.refund_payment(
        state.seeded_payment_id(sale_id),
        Decimal("100.00"),
        "DKK",
        key=str(uuid.uuid4()),
        reason="Returned",
    )
    refund = state.get_refund(refund_id)["refund"]
    today = datetime.fromisoformat(refund["created_at"]).astimezone(COPENHAGEN).date()

    refunds = every(pos.refunds_between(*local_day(today)))
    (mine,) = [r for r in refunds if r.refund_id == refund_id]
    assert mine.sale_id == sale_id  # the sale, not the return order Square made
    assert mine.amount == Decimal("100.00") and mine.currency == "DKK"
    assert mine.tender == "card"
    assert mine.lines == ()  # a custom-amount refund is not itemized
    assert refund_id not in {r.refund_id for r in every(pos.refunds_between(*local_day(yesterday)))}
    (sale,) = pos.sales([sale_id])
    assert sale.closed_at == noon
    assert sale.lines == (TaxedAmount(vat_rate=Decimal(25), net=Decimal(320), vat=Decimal(80)),)
    todays_sales = {s.sale_id for s in every(pos.sales_between(*local_day(today)))}
    assert refund["order_id"] not in todays_sales  # the return order is no sale
    conforms(recorder)


def test_a_busy_day_comes_in_pages(square: tuple[SquareState, RunningServer]) -> None:
    state, server = square
    start, end = local_day(date(2024, 5, 2))
    lines = (SeedLine(price=12500), SeedLine(price=2000, vat="0"))
    tenders: tuple[TenderSource, ...] = ("CASH", "CARD", "EXTERNAL")
    ids = state.seed_sales(
        SeedSale(start + timedelta(seconds=30 * i), lines, tenders[i % 3]) for i in range(2500)
    )
    for i in range(150):
        state.seed_refund(
            state.seeded_payment_id(ids[i]), 1000, start + timedelta(hours=20, seconds=i)
        )
    recorder = SpecRecorder()
    pos = connector(server, recorder)
    pages = list(pos.sales_between(start, end))
    assert [len(p) for p in pages] == [1000, 1000, 500]
    sales: list[PosSale] = [s for p in pages for s in p]
    assert [s.sale_id for s in sales] == list(ids)
    assert {t.kind for s in sales for t in s.tenders} == {"cash", "card", "other"}
    assert sum((s.lines[0].vat for s in sales), Decimal(0)) == 2500 * Decimal(25)
    refund_pages = list(pos.refunds_between(start, end))
    assert [len(p) for p in refund_pages] == [100, 50]
    refunds = [r for p in refund_pages for r in p]
    assert [r.sale_id for r in refunds] == list(ids[:150])
    assert {r.tender for r in refunds} == {"cash", "card", "other"}
    searches = [r for r, _ in recorder.exchanges if r.url.path == "/v2/orders/search"]
    assert len(searches) == 3
    again = pos.sales(list(ids[:150]))
    assert [s.sale_id for s in again] == list(ids[:150])
    batches = [r for r, _ in recorder.exchanges if r.url.path == "/v2/orders/batch-retrieve"]
    assert len(batches) == 2 + 2  # 100 a call: one per page of refunds, then two for 150 sales
    # Validating 2,500 orders' answers takes openapi-core a quarter of a minute; the other
    # tests validate the same shapes in full, so here the requests are checked.
    conforms(recorder, responses=False)


# --- reading Square's order shapes the emulator does not make ---------------------------------


def test_service_charges_rounding_and_tips() -> None:
    order = {
        "id": "O1",
        "state": "COMPLETED",
        "closed_at": "2024-05-02T10:00:00.000Z",
        "total_money": dkk(13905),
        "taxes": [
            {"uid": "a", "percentage": "25.0", "type": "ADDITIVE"},
            {"uid": "b", "percentage": "2.5", "type": "ADDITIVE"},
        ],
        "line_items": [
            {
                "uid": "l",
                "total_money": dkk(12750),
                "total_tax_money": dkk(2750),
                "applied_taxes": [{"tax_uid": "a"}, {"tax_uid": "b"}],
            }
        ],
        "service_charges": [
            {
                "uid": "s",
                "treatment_type": "LINE_ITEM_TREATMENT",
                "total_money": dkk(1250),
                "total_tax_money": dkk(250),
                "applied_taxes": [{"tax_uid": "a"}],
            },
            {"uid": "p", "treatment_type": "APPORTIONED_TREATMENT", "total_money": dkk(500)},
        ],
        "rounding_adjustment": {"amount_money": dkk(-95)},
        "tenders": [
            {"type": "CASH", "amount_money": dkk(10000)},
            {"type": "SQUARE_GIFT_CARD", "amount_money": dkk(4405), "tip_money": dkk(500)},
        ],
    }
    sale = sale_from(order)
    assert sale is not None
    assert sale.lines == (
        TaxedAmount(vat_rate=Decimal("27.5"), net=Decimal(100), vat=Decimal("27.50")),
        TaxedAmount(vat_rate=Decimal(25), net=Decimal(10), vat=Decimal("2.50")),
        TaxedAmount(vat_rate=Decimal(0), net=Decimal("-0.95"), vat=Decimal(0)),
    )
    assert str(sale.lines[1].vat_rate) == "25"
    assert sale.tenders == (
        Tender(kind="cash", amount=Decimal(100)),
        Tender(kind="other", amount=Decimal("39.05")),
    )
    assert sale_from({**order, "line_items": [], "returns": [{}]}) is None
    assert sale_from({**order, "state": "OPEN"}) is None


def test_an_itemized_return_gives_the_refunds_lines() -> None:
    refund = {
        "id": "R1",
        "status": "COMPLETED",
        "amount_money": dkk(12500),
        "created_at": "2024-05-03T09:00:00.000Z",
        "destination_type": "CASH",
        "order_id": "RET",
    }
    return_order = {
        "id": "RET",
        "returns": [
            {
                "source_order_id": "SALE-1",
                "return_taxes": [{"uid": "t", "percentage": "25"}],
                "return_line_items": [
                    {
                        "quantity": "1",
                        "item_type": "ITEM",
                        "total_money": dkk(12500),
                        "total_tax_money": dkk(2500),
                        "applied_taxes": [{"tax_uid": "t"}],
                    }
                ],
            }
        ],
    }
    back = refund_from(refund, return_order)
    assert back.sale_id == "SALE-1" and back.tender == "cash"
    assert back.lines == (TaxedAmount(vat_rate=Decimal(25), net=Decimal(100), vat=Decimal(25)),)
    assert refund_from(refund, {"id": "SALE-2"}).sale_id == "SALE-2"  # refund on the sale itself
    assert refund_from(refund, None).sale_id is None
    unlinked = {"id": "RET-2", "returns": [{"return_line_items": []}]}
    assert refund_from(refund, unlinked).sale_id is None  # an unlinked return names no sale


def test_ranges_must_be_aware_and_not_empty(square: tuple[SquareState, RunningServer]) -> None:
    pos = connector(square[1], SpecRecorder())
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        list(pos.sales_between(datetime(2024, 1, 1), moment))
    with pytest.raises(ValueError, match="empty"):
        list(pos.refunds_between(moment, moment))


def _order(source: str, currency: str, amount: int, tax: int) -> dict[str, Any]:
    def money(value: int) -> dict[str, Any]:
        return {"amount": value, "currency": currency}

    return {
        "id": "CSTRXB2FXMKKSGA57ZRSBJA6",
        "state": "COMPLETED",
        "closed_at": "2026-03-02T10:00:00Z",
        "source": {"name": source},
        "taxes": [{"uid": "vat-1", "percentage": "10", "type": "INCLUSIVE"}],
        "line_items": [
            {
                "total_money": money(amount),
                "total_tax_money": money(tax),
                "applied_taxes": [{"tax_uid": "vat-1", "applied_money": money(tax)}],
            }
        ],
        "tenders": [{"type": "OTHER", "amount_money": money(amount)}],
        "total_money": money(amount),
    }


def test_a_web_orders_sale_is_known_by_its_source_and_read_in_its_currencys_units() -> None:
    web = sale_from(_order("possync · shopify", "JPY", 1100, 100))
    assert web is not None and web.web
    assert web.lines == (TaxedAmount(vat_rate=Decimal(10), net=Decimal(1000), vat=Decimal(100)),)
    assert web.tenders == (Tender(kind="other", amount=Decimal(1100)),)
    register = sale_from(_order("Square Point of Sale", "KWD", 1100, 100))
    assert register is not None and not register.web
    assert register.lines[0].net == Decimal("1.000") and register.currency == "KWD"

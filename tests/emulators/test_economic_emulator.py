"""The e-conomic emulator over a real socket, driven by a plain httpx client; every answer
is checked against the documented shapes in tests/economic_shapes.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from emulators.control import EmulatorControl
from emulators.economic import EconomicState, create_economic_app
from emulators.economic_common import EconomicError, decode_id, encode_id
from emulators.economic_query import parse_filter
from emulators.economic_state import AccountingYear
from possync.serving import RunningServer, serve_in_thread
from tests.conformance import SpecRecorder
from tests.economic_shapes import PROPERTY_ERROR, VOUCHERS_POST_REQUEST, problems, validate

SECRET = "app-secret-q7x"
GRANT = "grant-z9k"
TOKENS = {"X-AppSecretToken": SECRET, "X-AgreementGrantToken": GRANT}


@dataclass
class Emulator:
    state: EconomicState
    server: RunningServer
    client: httpx.Client
    recorder: SpecRecorder

    @property
    def control(self) -> EmulatorControl:
        app: Any = self.server.server.config.app
        result: EmulatorControl = app.state.control
        return result

    def post(self, body: Any, journal: int = 1) -> httpx.Response:
        return self.client.post(f"/journals/{journal}/vouchers", json=body)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    state = EconomicState()
    state.years.append(AccountingYear("2028/2029", date(2028, 1, 1), date(2029, 6, 30)))
    server = serve_in_thread(
        create_economic_app(state, app_secret_token=SECRET, agreement_grant_token=GRANT)
    )
    recorder = SpecRecorder()
    client = httpx.Client(base_url=server.url, headers=TOKENS, event_hooks=recorder.hooks())
    yield Emulator(state, server, client, recorder)
    client.close()
    server.stop()
    assert problems(recorder.exchanges, requests=False) == []


def line(account: int, amount: Any, day: str = "2025-03-01", **extra: Any) -> dict[str, Any]:
    return {"account": {"accountNumber": account}, "amount": amount, "date": day, **extra}


def voucher(*lines: dict[str, Any], year: str = "2025", **extra: Any) -> dict[str, Any]:
    return {
        "accountingYear": {"year": year},
        "journal": {"journalNumber": 1},
        "entries": {"financeVouchers": list(lines)},
        **extra,
    }


BALANCED = (line(5820, 125, text="t | bank"), line(1010, -100, text="t | sales"), line(6902, -25))


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-AppSecretToken": SECRET},
        {"X-AgreementGrantToken": GRANT},
        {"X-AppSecretToken": SECRET, "X-AgreementGrantToken": "other"},
        {"X-AppSecretToken": "other", "X-AgreementGrantToken": GRANT},
    ],
)
def test_both_tokens_are_required(emulator: Emulator, headers: dict[str, str]) -> None:
    answer = httpx.get(emulator.server.url + "/accounting-years", headers=headers)
    assert answer.status_code == 401
    body = answer.json()
    assert body["httpStatusCode"] == 401 and body["message"] and body["logId"]
    assert SECRET not in answer.text and GRANT not in answer.text
    assert emulator.state.drafts == []


def test_the_control_endpoints_need_no_tokens(emulator: Emulator) -> None:
    assert httpx.get(emulator.server.url + "/_emulator/stats").status_code == 200


# -- accounting years and journals -------------------------------------------------------


def test_accounting_years_filter_and_pages(emulator: Emulator) -> None:
    everything = emulator.client.get("/accounting-years").json()
    assert [y["year"] for y in everything["collection"]] == [
        "2024",
        "2025",
        "2026",
        "2027",
        "2028/2029",
    ]
    assert "closed" not in everything["collection"][0]  # false booleans are left out
    holding = emulator.client.get(
        "/accounting-years", params={"filter": "fromDate$lte:2025-06-30$and:toDate$gte:2025-06-30"}
    ).json()
    assert [y["year"] for y in holding["collection"]] == ["2025"]
    assert holding["pagination"]["results"] == 1
    assert holding["pagination"]["resultsWithoutFilter"] == 5

    page = emulator.client.get("/accounting-years", params={"skippages": 1, "pagesize": 2}).json()
    assert [y["year"] for y in page["collection"]] == ["2026", "2027"]
    assert page["pagination"]["nextPage"].endswith("skippages=2&pagesize=2")
    last = emulator.client.get("/accounting-years", params={"skippages": 2, "pagesize": 2}).json()
    assert "nextPage" not in last["pagination"]
    capped = emulator.client.get("/accounting-years", params={"pagesize": 5000}).json()
    assert capped["pagination"]["pageSize"] == 1000


def test_a_year_spanning_two_calendar_years_uses_the_self_link_encoding(
    emulator: Emulator,
) -> None:
    years = emulator.client.get("/accounting-years", params={"filter": "year$eq:2028/2029"})
    document = years.json()["collection"][0]
    assert document["self"].endswith("/accounting-years/2028_6_2029")
    assert emulator.client.get("/accounting-years/2028_6_2029").json()["year"] == "2028/2029"
    assert emulator.client.get("/accounting-years/1999").status_code == 404
    posted = emulator.post(
        voucher(line(5820, 1, "2029-01-05"), line(1010, -1, "2029-01-05"), year="2028/2029")
    )
    assert posted.status_code == 201
    assert posted.json()[0]["self"].endswith("/journals/1/vouchers/2028_6_2029-1")
    assert emulator.client.get("/journals/1/vouchers/2028_6_2029-1").status_code == 200


def test_journals(emulator: Emulator) -> None:
    journals = emulator.client.get("/journals").json()["collection"]
    assert [(j["journalNumber"], j["name"]) for j in journals] == [(1, "Daily turnover")]
    journal = emulator.client.get("/journals/1").json()
    assert journal["settings"]["voucherNumbers"]["minimumVoucherNumber"] == 1
    assert journal["entries"].endswith("/journals/1/entries")
    assert emulator.client.get("/journals/7").status_code == 404
    assert emulator.post(voucher(*BALANCED), journal=7).status_code == 404


# -- posting vouchers ------------------------------------------------------------------------


def test_posting_a_voucher_returns_the_created_vouchers(emulator: Emulator) -> None:
    answer = emulator.post([voucher(*BALANCED)])
    assert answer.status_code == 201
    [created] = answer.json()
    assert created["voucherNumber"] == 1
    assert created["accountingYear"]["year"] == "2025"
    entries = created["entries"]["financeVouchers"]
    assert [(e["account"]["accountNumber"], e["amount"]) for e in entries] == [
        (5820, 125),
        (1010, -100),
        (6902, -25),
    ]
    assert {e["voucher"]["voucherNumber"] for e in entries} == {1}
    assert entries[0]["currency"]["code"] == "DKK"
    assert entries[0]["text"] == "t | bank" and "text" not in entries[2]
    read = emulator.client.get("/journals/1/vouchers/2025-1").json()
    assert read == created


def test_a_single_voucher_object_and_bulk_arrays_are_accepted(emulator: Emulator) -> None:
    single = emulator.post(voucher(*BALANCED))
    assert single.status_code == 201 and [v["voucherNumber"] for v in single.json()] == [1]
    bulk = emulator.post([voucher(*BALANCED), voucher(*BALANCED)])
    assert [v["voucherNumber"] for v in bulk.json()] == [2, 3]
    listed = emulator.client.get("/journals/1/vouchers").json()["collection"]
    assert [v["voucherNumber"] for v in listed] == [1, 2, 3]


def test_a_given_voucher_number_is_used(emulator: Emulator) -> None:
    answer = emulator.post(voucher(*BALANCED, voucherNumber=500))
    assert answer.json()[0]["voucherNumber"] == 500
    assert emulator.post(voucher(*BALANCED)).json()[0]["voucherNumber"] == 501
    out_of_range = emulator.post(voucher(*BALANCED, voucherNumber=1_000_000_000))
    assert out_of_range.status_code == 400
    assert "voucherNumber" in out_of_range.json()["errors"]


def test_amounts_keep_their_cents_and_foreign_currency_gets_a_base_amount(
    emulator: Emulator,
) -> None:
    eur = {"code": "EUR"}
    answer = emulator.post(
        voucher(line(5820, 10.05, currency=eur), line(1010, -10.05, currency=eur))
    )
    entries = answer.json(parse_float=Decimal)[0]["entries"]["financeVouchers"]
    assert entries[0]["amount"] == Decimal("10.05")
    assert entries[0]["exchangeRate"] == Decimal("746")
    assert entries[0]["amountBaseCurrency"] == Decimal("74.97")


def test_an_unbalanced_voucher_is_kept_as_a_draft_but_cannot_be_booked(
    emulator: Emulator,
) -> None:
    """Journal entries are drafts until booked; e-conomic's docs put no balance rule on the
    POST, so the emulator takes it and refuses at booking time."""
    assert emulator.post(voucher(line(5820, 100), line(1010, -90))).status_code == 201
    with pytest.raises(ValueError, match="does not balance"):
        emulator.state.book_journal(1)
    assert len(emulator.state.drafts) == 2 and emulator.state.booked == []


def test_booking_moves_drafts_to_the_accounting_year(emulator: Emulator) -> None:
    emulator.post(voucher(*BALANCED))
    emulator.post(voucher(line(5810, 10, "2025-03-02", text="cash"), line(1020, -10, "2025-03-02")))
    assert emulator.state.book_journal(1) == [("2025", 1), ("2025", 2)]
    assert emulator.client.get("/journals/1/entries").json()["collection"] == []
    booked = emulator.client.get(
        "/accounting-years/2025/entries", params={"filter": "date$eq:2025-03-02"}
    ).json()["collection"]
    assert [(e["account"]["accountNumber"], e["amount"], e["voucherNumber"]) for e in booked] == [
        (5810, 10, 2),
        (1020, -10, 2),
    ]
    assert booked[0]["text"] == "cash" and booked[0]["currency"] == "DKK"
    # Numbering goes on after booked vouchers.
    assert emulator.post(voucher(*BALANCED)).json()[0]["voucherNumber"] == 3


def test_a_contra_account_books_both_sides(emulator: Emulator) -> None:
    entry = {"contraAccount": {"accountNumber": 1010}, "amount": 50, "date": "2025-05-01"}
    entry["account"] = {"accountNumber": 5820}
    assert emulator.post(voucher(entry)).status_code == 201
    emulator.state.book_journal(1)
    booked = emulator.client.get("/accounting-years/2025/entries").json()["collection"]
    assert [(e["account"]["accountNumber"], e["amount"]) for e in booked] == [
        (5820, 50),
        (1010, -50),
    ]


# -- validation --------------------------------------------------------------------------


def _entry_errors(answer: httpx.Response, voucher_index: int = 0) -> list[dict[str, Any]]:
    assert answer.status_code == 400
    body = answer.json()
    assert body["message"] == "Validation error."
    item = body["errors"][voucher_index] if isinstance(body["errors"], list) else body["errors"]
    errors: list[dict[str, Any]] = item["entries"]["financeVouchers"]
    return errors


def test_an_unknown_account_is_refused_and_named(emulator: Emulator) -> None:
    answer = emulator.post([voucher(line(5820, 5), line(4711, -5))])
    [problem] = _entry_errors(answer)
    assert problem["arrayIndex"] == 1
    assert validate(problem["account"], PROPERTY_ERROR) == []
    [error] = problem["account"]["errors"]
    assert error == {
        "errorCode": "E06000",
        "message": "account does not exist.",
        "value": 4711,
        "developerHint": "Find a list of accounts at https://restapi.e-conomic.com/accounts.",
    }
    assert emulator.state.drafts == []


def test_a_bulk_post_is_all_or_nothing(emulator: Emulator) -> None:
    answer = emulator.post([voucher(*BALANCED), voucher(line(5820, 5), line(4711, -5))])
    assert answer.status_code == 400
    assert [e["arrayIndex"] for e in answer.json()["errors"]] == [1]
    assert emulator.state.drafts == []


@pytest.mark.parametrize(
    ("entry", "field", "message", "in_the_shape"),
    [
        (line(5820, 1, "2030-01-01"), "date", "date is not within accounting year 2025.", False),
        (line(5820, 1, "01-03-2025"), "date", "date must be a date (YYYY-MM-DD).", True),
        ({"account": {"accountNumber": 5820}, "date": "2025-03-01"}, "amount", "required", True),
        (line(5820, "12.00"), "amount", "amount must be a number.", True),
        (line(5820, 1.005), "amount", "two decimal places", False),
        (line(5820, 1, text="x" * 251), "text", "longer than 250 characters", True),
        (line(5820, 1, currency={"code": "XYZ"}), "currency", "currency does not exist.", False),
        (line(5820, 1, vatAccount={"vatCode": "Q99"}), "vatAccount", "does not exist", False),
        ({"amount": 1, "date": "2025-03-01"}, "account", "Either account or contraAccount", False),
        (line(5820, 1, entryType="customerPayment"), "entryType", "financeVoucher", True),
    ],
)
def test_entry_rules(
    emulator: Emulator, entry: dict[str, Any], field: str, message: str, in_the_shape: bool
) -> None:
    """Each rule is refused with an annotated error on the property; where the documented
    request shape expresses the rule, the shape refuses the request too."""
    [problem] = _entry_errors(emulator.post(voucher(entry)))
    assert message in problem[field]["errors"][0]["message"]
    assert validate(problem[field], PROPERTY_ERROR) == []
    assert bool(validate(voucher(entry), VOUCHERS_POST_REQUEST)) == in_the_shape
    assert emulator.state.drafts == []


def test_text_of_250_characters_is_accepted(emulator: Emulator) -> None:
    assert emulator.post(voucher(line(5820, 1, text="x" * 250), line(1010, -1))).status_code == 201


def test_voucher_rules(emulator: Emulator) -> None:
    missing_year = emulator.post({"entries": {"financeVouchers": [line(5820, 1)]}})
    assert "accountingYear" in missing_year.json()["errors"]
    unknown_year = emulator.post(voucher(line(5820, 1), year="1999"))
    assert unknown_year.json()["errors"]["accountingYear"]["errors"][0]["errorCode"] == "E06000"
    year = emulator.state.year("2024")
    assert year is not None
    year.closed = True
    closed = emulator.post(voucher(line(5820, 1, "2024-06-01"), year="2024"))
    assert closed.json()["errors"]["accountingYear"]["errors"][0]["message"] == (
        "accountingYear is closed."
    )
    other_journal = emulator.post(voucher(*BALANCED, journal={"journalNumber": 2}))
    assert "journal" in other_journal.json()["errors"]
    no_entries = emulator.post(voucher())
    assert "entries" in no_entries.json()["errors"]
    other_types = emulator.post(
        {
            "accountingYear": {"year": "2025"},
            "entries": {
                "financeVouchers": [line(5820, 1)],
                "customerPayments": [{"amount": 1, "date": "2025-03-01"}],
            },
        }
    )
    assert other_types.status_code == 400
    assert emulator.state.drafts == []


def test_malformed_requests(emulator: Emulator) -> None:
    not_json = emulator.client.post(
        "/journals/1/vouchers", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    form = emulator.client.post(
        "/journals/1/vouchers", content=b"a=b", headers={"Content-Type": "text/plain"}
    )
    assert form.status_code == 415
    assert emulator.client.get("/journals/x").status_code == 404
    assert emulator.client.get("/no-such-thing").status_code == 404
    assert emulator.client.get("/journals/1/vouchers/2025-9").status_code == 404
    assert emulator.client.get("/journals/1/vouchers/nonsense").status_code == 404


# -- entries, filters, sorting -------------------------------------------------------------


def test_journal_entries_filter_on_date_and_text(emulator: Emulator) -> None:
    emulator.post(
        voucher(line(5820, 5, text="shop-1 day | bank"), line(1010, -5, text="shop-1 day | x"))
    )
    emulator.post(voucher(line(5820, 7, "2025-03-02", text="other"), line(1010, -7, "2025-03-02")))

    def texts(expression: str) -> list[str | None]:
        answer = emulator.client.get("/journals/1/entries", params={"filter": expression})
        assert answer.status_code == 200, answer.text
        return [e.get("text") for e in answer.json()["collection"]]

    assert texts("date$eq:2025-03-01") == ["shop-1 day | bank", "shop-1 day | x"]
    assert texts("text$like:SHOP-1") == ["shop-1 day | bank", "shop-1 day | x"]
    assert texts("text$like:*bank") == ["shop-1 day | bank"]
    assert texts("date$eq:2025-03-02$and:text$eq:$null:") == [None]
    assert texts("(text$eq:other$or:text$like:x)$and:amount$lt:0") == ["shop-1 day | x"]
    assert texts("voucher.voucherNumber$in:[2]") == ["other", None]
    assert texts("amount$gte:6") == ["other"]


def test_filter_escapes(emulator: Emulator) -> None:
    emulator.post(voucher(line(5820, 1, text="a$b (c) *d, [e]"), line(1010, -1, text="plain")))
    answer = emulator.client.get(
        "/journals/1/entries", params={"filter": "text$eq:a$$b $(c$) $*d$, $[e$]"}
    )
    assert [e["text"] for e in answer.json()["collection"]] == ["a$b (c) *d, [e]"]


def test_an_unfilterable_property_or_bad_filter_is_refused(emulator: Emulator) -> None:
    answer = emulator.client.get("/journals/1/entries", params={"filter": "secret$eq:1"})
    assert answer.status_code == 400
    body = answer.json()
    assert body["message"] == "Could not parse query string filter."
    assert "date" in body["allowedFilteringFields"]
    for bad in ("date", "date$zz:1", "(date$eq:2025-01-01", "amount$in:1,2"):
        assert emulator.client.get("/journals/1/entries", params={"filter": bad}).status_code == 400


def test_sorting(emulator: Emulator) -> None:
    emulator.post(voucher(line(5820, 3), line(1010, -1), line(1020, -2)))
    answer = emulator.client.get("/journals/1/entries", params={"sort": "-amount"})
    assert [e["amount"] for e in answer.json()["collection"]] == [3, -1, -2]
    assert emulator.client.get("/journals/1/entries", params={"sort": "secret"}).status_code == 400


def test_deleting_an_entry(emulator: Emulator) -> None:
    emulator.post(voucher(*BALANCED))
    first = emulator.client.get("/journals/1/entries").json()["collection"][0]
    number = first["journalEntryNumber"]
    assert emulator.client.delete(f"/journals/1/entries/{number}").status_code == 204
    assert emulator.client.delete(f"/journals/1/entries/{number}").status_code == 404
    assert len(emulator.state.drafts) == 2


# -- faults --------------------------------------------------------------------------------


def test_injected_faults_use_the_error_shape(emulator: Emulator) -> None:
    faults = {"rate_429": 1.0, "only_paths": ["/journals/{journalNumber}/vouchers"]}
    emulator.client.put("/_emulator/faults", json={**faults, "retry_after_seconds": 3})
    limited = emulator.post(voucher(*BALANCED))
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["httpStatusCode"] == 429
    assert emulator.client.get("/journals/1").status_code == 200  # other routes unaffected
    assert emulator.state.drafts == []
    assert emulator.control.count("POST /journals/{journalNumber}/vouchers") == 1


# -- pieces ----------------------------------------------------------------------------------


def test_self_link_ids_round_trip() -> None:
    assert encode_id("2024/2025") == "2024_6_2025"
    for value in ("2024/2025", "a_b c.d", "x:y+z#"):
        assert decode_id(encode_id(value)) == value


def test_filters_compare_by_type() -> None:
    item = {"date": "2025-03-01", "amount": Decimal("10.5"), "text": "Hello", "n": None}
    fields = ("date", "amount", "text", "n")
    assert parse_filter("amount$gt:9.99", fields)(item)
    assert not parse_filter("amount$gt:10.5", fields)(item)
    assert parse_filter("text$eq:hello", fields)(item)  # case-insensitive
    assert parse_filter("date$lt:2025-03-02", fields)(item)
    assert parse_filter("n$eq:$null:$and:text$ne:$null:", fields)(item)
    with pytest.raises(EconomicError):
        parse_filter("amount$gt:ten", fields)(item)

"""The Xero emulator over real sockets: auth, manual journals and their rules, idempotency,
where/order/paging, accounts, rate limits and fault injection.

Every exchange made through the `client` fixture is checked against Xero's spec (with the
corrections in tests/xero_spec.py) when the test ends, so each behaviour test is also a
conformance test; `raw` is for requests that break the spec on purpose. Tests sharing the
module's emulator each use their own dates, so they do not depend on their order; tests that
change the clock, the chart or the limits get an emulator of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from emulators.control import EmulatorControl, FaultConfig
from emulators.xero import PREFIX, XeroLimits, XeroState, create_xero_app
from emulators.xero_accounts import Account
from possync.serving import RunningServer, serve_in_thread
from tests.conformance import SpecRecorder
from tests.xero_spec import spec_available, spec_problems, xero_openapi

TOKEN = "xero-test-token"
TENANT = "0f5b6c1e-2a7d-4e8f-9b10-3c4d5e6f7a8b"
AUTH = {"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": TENANT}


@dataclass
class Served:
    state: XeroState
    server: RunningServer
    control: EmulatorControl

    @property
    def base_url(self) -> str:
        return self.server.url + PREFIX


def serve(state: XeroState) -> Served:
    app = create_xero_app(state, access_token=TOKEN, tenant_id=TENANT)
    return Served(state, serve_in_thread(app), app.state.control)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    running = serve(XeroState())
    yield running
    running.server.stop()


@pytest.fixture
def own() -> Iterator[Callable[..., Served]]:
    """Emulators of a test's own (own clock, chart or limits), stopped after the test."""
    started: list[Served] = []

    def start(**options: Any) -> Served:
        started.append(serve(XeroState(**options)))
        return started[-1]

    yield start
    for running in started:
        running.server.stop()


@pytest.fixture
def recorder() -> Iterator[SpecRecorder]:
    """The exchanges of `client` and `client_for`, checked against the spec afterwards."""
    recorded = SpecRecorder()
    yield recorded
    if spec_available():
        assert spec_problems(recorded) == []


@pytest.fixture
def client_for(recorder: SpecRecorder) -> Iterator[Callable[[Served], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(running: Served) -> httpx.Client:
        clients.append(
            httpx.Client(base_url=running.base_url, headers=AUTH, event_hooks=recorder.hooks())
        )
        return clients[-1]

    yield make
    for made in clients:
        made.close()


@pytest.fixture
def client(served: Served, client_for: Callable[[Served], httpx.Client]) -> httpx.Client:
    return client_for(served)


@pytest.fixture
def raw(served: Served) -> Iterator[httpx.Client]:
    """Unchecked: for requests that break the spec on purpose."""
    with httpx.Client(base_url=served.base_url, headers=AUTH) as unchecked:
        yield unchecked


def journal(day: date, *lines: tuple[str, float], **fields: Any) -> dict[str, Any]:
    """A ManualJournal element: (account code, amount) lines, POSTED unless told."""
    return {
        "Narration": fields.pop("Narration", f"Turnover {day.isoformat()}"),
        "Date": day.isoformat(),
        "Status": fields.pop("Status", "POSTED"),
        "JournalLines": [
            {"LineAmount": amount, "AccountCode": code, "Description": f"line {code}"}
            for code, amount in lines
        ],
        **fields,
    }


BALANCED = (("091", 120.0), ("200", -100.0), ("820", -20.0))


def put(client: httpx.Client, *elements: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return client.put("/ManualJournals", json={"ManualJournals": list(elements)}, **kwargs)


def errors_of(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 400
    body = response.json()
    assert (body["ErrorNumber"], body["Type"]) == (10, "ValidationException")
    assert body["Message"] == "A validation exception occurred"
    return [[e["Message"] for e in element["ValidationErrors"]] for element in body["Elements"]]


def journals_on(client: httpx.Client, day: date) -> list[dict[str, Any]]:
    where = f"Date == DateTime({day.year}, {day.month:02d}, {day.day:02d})"
    response = client.get("/ManualJournals", params={"where": where, "page": 1})
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["ManualJournals"]
    return found


# --- authentication -----------------------------------------------------------------------


def test_calls_need_the_bearer_token(served: Served, recorder: SpecRecorder) -> None:
    with httpx.Client(base_url=served.base_url, event_hooks=recorder.hooks()) as anonymous:
        for headers in ({"xero-tenant-id": TENANT}, {**AUTH, "Authorization": "Bearer nope"}):
            response = anonymous.get("/ManualJournals", headers=headers)
            assert response.status_code == 401
            body = response.json()
            assert body["Title"] == "Unauthorized"
            assert (body["Status"], body["Detail"]) == (401, "AuthenticationUnsuccessful")
            assert body["Type"] is None and body["Extensions"] == {}
            uuid.UUID(body["Instance"])


def test_calls_need_the_organisations_tenant_id(served: Served, raw: httpx.Client) -> None:
    for tenant in (None, str(uuid.uuid4())):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if tenant:
            headers["xero-tenant-id"] = tenant
        with httpx.Client(base_url=served.base_url, headers=headers) as other:
            response = other.get("/ManualJournals")
        assert response.status_code == 403
        assert (response.json()["Title"], response.json()["Detail"]) == (
            "Forbidden",
            "AuthenticationUnsuccessful",
        )
    assert raw.get("/ManualJournals", headers={"xero-tenant-id": TENANT.upper()}).is_success


def test_the_spec_check_sees_a_request_without_the_tenant_header(served: Served) -> None:
    recorded = SpecRecorder()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=served.base_url, headers=headers, event_hooks=recorded.hooks()) as c:
        c.get("/ManualJournals")
    problems = spec_problems(recorded)
    assert len(problems) == 1 and "xero-tenant-id" in problems[0]


# --- creating and reading journals ----------------------------------------------------------


def test_put_creates_a_journal_that_reads_back(served: Served, client: httpx.Client) -> None:
    day = date(2023, 1, 2)
    response = put(client, journal(day, *BALANCED, Url="https://shop.example/day"))
    assert response.status_code == 200
    body = response.json()
    assert body["Status"] == "OK" and body["ProviderName"] == "possync"
    assert body["DateTimeUTC"].startswith("/Date(")
    uuid.UUID(body["Id"])
    created = body["ManualJournals"][0]
    assert created["Date"] == "/Date(1672617600000+0000)/"
    assert created["Status"] == "POSTED" and created["LineAmountTypes"] == "NoTax"
    assert created["Url"] == "https://shop.example/day"
    assert created["HasAttachments"] is False and created["ShowOnCashBasisReports"] is True
    lines = created["JournalLines"]
    assert [(x["AccountCode"], x["LineAmount"], x["TaxType"]) for x in lines] == [
        ("091", 120.0, "NONE"),
        ("200", -100.0, "NONE"),
        ("820", -20.0, "NONE"),
    ]
    assert lines[0]["AccountID"] == served.state.account("091").account_id
    assert all(x["TaxAmount"] == 0 and x["Tracking"] == [] for x in lines)
    again = client.get(f"/ManualJournals/{created['ManualJournalID'].upper()}")
    assert again.json()["ManualJournals"] == [created]


def test_an_unknown_journal_is_404_in_plain_text(client: httpx.Client) -> None:
    response = client.get(f"/ManualJournals/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "The resource you're looking for cannot be found"


def test_a_posted_journal_must_balance(served: Served, client: httpx.Client) -> None:
    day = date(2023, 1, 3)
    response = put(client, journal(day, ("091", 100.0), ("200", -90.0)))
    assert errors_of(response) == [["The total debits (100.00) must equal total credits (-90.00)"]]
    assert journals_on(client, day) == []


@pytest.mark.parametrize(
    ("lines", "fields", "expected"),
    [
        ((("091", 10.0),), {}, "A manual journal must contain at least two journal lines."),
        ((("091", 10.0), ("205", -10.0)), {}, "Account code '205' has been archived or deleted."),
        (
            (("610", 10.0), ("200", -10.0)),
            {},
            "Account code '610' is a system account and cannot be used on a manual journal.",
        ),
        ((("091", 10.0), ("200", -10.0)), {"Narration": " "}, "Narration must be specified."),
        (
            (("999", 10.0), ("200", -10.0)),
            {},
            "Account code or ID must be specified",
        ),
    ],
)
def test_journal_rules(
    client: httpx.Client,
    lines: tuple[tuple[str, float], ...],
    fields: dict[str, Any],
    expected: str,
) -> None:
    assert expected in errors_of(put(client, journal(date(2023, 1, 4), *lines, **fields)))[0]


def test_unknown_tax_types_and_tracking_are_refused(client: httpx.Client) -> None:
    element = journal(date(2023, 1, 5), *BALANCED)
    element["JournalLines"][0]["TaxType"] = "OUTPUT9"
    element["JournalLines"][1]["Tracking"] = [{"Name": "Region", "Option": "North"}]
    assert errors_of(put(client, element)) == [
        [
            "The TaxType code 'OUTPUT9' does not exist or cannot be used for this type of "
            "transaction.",
            "The tracking category 'Region' does not exist.",
        ]
    ]


def test_an_unknown_account_code_is_removed_with_a_warning(client: httpx.Client) -> None:
    posted = put(client, journal(date(2023, 1, 6), ("999", 10.0), ("200", -10.0)))
    element = posted.json()["Elements"][0]
    removed = "Account code '999' has been removed as it does not match a recognised account."
    assert element["Warnings"] == [{"Message": removed}]
    draft = put(client, journal(date(2023, 1, 6), ("999", 10.0), ("200", -10.0), Status="DRAFT"))
    assert draft.status_code == 200
    created = draft.json()["ManualJournals"][0]
    assert created["Warnings"] == element["Warnings"]
    assert "AccountCode" not in created["JournalLines"][0]


def test_a_batch_is_refused_whole_unless_errors_are_not_summarised(client: httpx.Client) -> None:
    day = date(2023, 1, 7)
    good, bad = journal(day, *BALANCED), journal(day, ("091", 1.0), ("200", -2.0))
    assert errors_of(put(client, good, bad)) == [
        [],
        ["The total debits (1.00) must equal total credits (-2.00)"],
    ]
    assert journals_on(client, day) == []
    response = put(client, good, bad, params={"summarizeErrors": "false"})
    assert response.status_code == 200
    answered = response.json()["ManualJournals"]
    assert [a["StatusAttributeString"] for a in answered] == ["OK", "ERROR"]
    assert answered[1]["ValidationErrors"] == [
        {"Message": "The total debits (1.00) must equal total credits (-2.00)"}
    ]
    assert [j["ManualJournalID"] for j in journals_on(client, day)] == [
        answered[0]["ManualJournalID"]
    ]


def test_a_body_xero_cannot_read_is_post_data_invalid(raw: httpx.Client) -> None:
    for content in (b"{not json", b'{"ManualJournals": {}}', b'{"ManualJournals": [[]]}'):
        response = raw.put(
            "/ManualJournals", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["Type"] == "PostDataInvalidException"
        assert response.json()["ErrorNumber"] == 14


def test_date_defaults_to_today(client: httpx.Client) -> None:
    element = journal(date(2000, 1, 1), *BALANCED, Status="DRAFT")
    del element["Date"]
    created = put(client, element).json()["ManualJournals"][0]
    today = datetime.now(UTC).date()
    assert created["Date"] in {
        f"/Date({int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) * 1000}+0000)/"
        for d in (today, today - timedelta(days=1))
    }


def test_exclusive_lines_get_their_tax_computed(client: httpx.Client) -> None:
    element = journal(date(2023, 1, 8), ("091", 120.0), ("200", -100.0))
    element["LineAmountTypes"] = "Exclusive"
    element["JournalLines"][0]["TaxType"] = "NONE"
    response = put(client, element)
    assert response.status_code == 200
    lines = response.json()["ManualJournals"][0]["JournalLines"]
    assert [(x["TaxType"], x["TaxAmount"]) for x in lines] == [("NONE", 0), ("OUTPUT2", -20.0)]


def test_post_updates_and_moves_a_journal_through_its_statuses(client: httpx.Client) -> None:
    day = date(2023, 1, 9)
    created = client.post(
        "/ManualJournals",
        json={"ManualJournals": [journal(day, ("091", 5.0), ("200", -4.0), Status="DRAFT")]},
    )
    assert created.status_code == 200  # a draft need not balance
    journal_id = created.json()["ManualJournals"][0]["ManualJournalID"]
    path = f"/ManualJournals/{journal_id}"
    posting = {"ManualJournals": [{"Narration": "Turnover", "Status": "POSTED"}]}
    assert errors_of(client.post(path, json=posting)) == [
        ["The total debits (5.00) must equal total credits (-4.00)"]
    ]
    fixed = journal(day, ("091", 4.0), ("200", -4.0), ManualJournalID=journal_id)
    saved = client.post("/ManualJournals", json={"ManualJournals": [fixed]})
    assert saved.json()["ManualJournals"][0]["Status"] == "POSTED"
    back = {"ManualJournals": [{"Narration": "Turnover", "Status": "DRAFT"}]}
    assert errors_of(client.post(path, json=back)) == [
        ["A manual journal cannot go from status POSTED to DRAFT."]
    ]
    voiding = {"ManualJournals": [{"Narration": "Turnover", "Status": "VOIDED"}]}
    assert client.post(path, json=voiding).json()["ManualJournals"][0]["Status"] == "VOIDED"
    assert client.get(path).json()["ManualJournals"][0]["Status"] == "VOIDED"
    assert client.post(f"/ManualJournals/{uuid.uuid4()}", json=voiding).status_code == 404


# --- idempotency ----------------------------------------------------------------------------


def test_a_repeated_key_answers_the_first_call(served: Served, client: httpx.Client) -> None:
    day = date(2023, 2, 1)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = put(client, journal(day, *BALANCED), headers=key)
    again = put(client, journal(day, *BALANCED), headers=key)
    assert again.json() == first.json()
    assert len(journals_on(client, day)) == 1
    changed = put(client, journal(day, ("091", 1.0), ("200", -1.0)), headers=key)
    assert changed.status_code == 400
    detail = f"Idempotency Key: {key['Idempotency-Key']} is used with a different request."
    assert changed.json()["Detail"] == detail
    overlong = put(client, journal(day, *BALANCED), headers={"Idempotency-Key": "k" * 129})
    assert overlong.status_code == 400 and "129" in overlong.json()["Detail"]
    assert put(client, journal(day, *BALANCED)).status_code == 200  # no key: a new journal
    assert len(journals_on(client, day)) == 2


def test_a_refusal_is_remembered_with_its_key(
    own: Callable[..., Served], client_for: Callable[[Served], httpx.Client]
) -> None:
    running = own()
    client = client_for(running)
    day, key = date(2023, 2, 2), {"Idempotency-Key": str(uuid.uuid4())}
    element = journal(day, ("091", 10.0), ("205", -10.0))
    assert put(client, element, headers=key).status_code == 400
    running.state.put_account(Account("205", "Sales (old)", "REVENUE"))  # un-archived
    assert put(client, element, headers=key).status_code == 400  # "the error will be cached"
    assert put(client, element, headers={"Idempotency-Key": str(uuid.uuid4())}).is_success


def test_a_key_is_forgotten_after_six_minutes(
    own: Callable[..., Served], client_for: Callable[[Served], httpx.Client]
) -> None:
    clock = Clock()
    running = own(clock=clock)
    client = client_for(running)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    element = journal(date(2023, 2, 3), *BALANCED)
    first = put(client, element, headers=key).json()["ManualJournals"][0]
    clock.advance(minutes=5, seconds=59)
    assert put(client, element, headers=key).json()["ManualJournals"][0] == first
    clock.advance(seconds=2)
    second = put(client, element, headers=key).json()["ManualJournals"][0]
    assert second["ManualJournalID"] != first["ManualJournalID"]
    assert len(running.state.journals()) == 2


# --- reading: where, order, paging, If-Modified-Since ------------------------------------------


@pytest.fixture(scope="module")
def february(served: Served) -> list[str]:
    """Journals on 2023-02-10 (250 of them), -11 (one DRAFT) and -12 (one POSTED)."""
    ids: list[str] = []
    with httpx.Client(base_url=served.base_url, headers=AUTH) as setup:
        busy = date(2023, 2, 10)
        many = [journal(busy, *BALANCED, Narration=f"Busy {n:03d}") for n in range(250)]
        few = [
            journal(date(2023, 2, 11), *BALANCED, Narration="Draft day", Status="DRAFT"),
            journal(date(2023, 2, 12), *BALANCED, Narration="Quiet day [ref-12]"),
        ]
        for batch in (many, few):
            response = put(setup, *batch)
            response.raise_for_status()
            ids += [j["ManualJournalID"] for j in response.json()["ManualJournals"]]
    return ids


def test_pages_hold_100_journals_with_their_lines(
    client: httpx.Client, february: list[str]
) -> None:
    where = "Date == DateTime(2023, 02, 10)"
    pages = [
        client.get("/ManualJournals", params={"where": where, "page": n}).json()
        for n in (1, 2, 3, 4)
    ]
    assert [len(p["ManualJournals"]) for p in pages] == [100, 100, 50, 0]
    assert pages[0]["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 3, "itemCount": 250}
    seen = [j["ManualJournalID"] for p in pages for j in p["ManualJournals"]]
    assert seen == february[:250]
    assert all(len(j["JournalLines"]) == 3 for j in pages[0]["ManualJournals"])
    bigger = client.get("/ManualJournals", params={"where": where, "page": 1, "pageSize": 200})
    assert len(bigger.json()["ManualJournals"]) == 200
    unpaged = client.get("/ManualJournals", params={"where": where}).json()
    assert len(unpaged["ManualJournals"]) == 250 and "pagination" not in unpaged
    assert all(j["JournalLines"] == [] for j in unpaged["ManualJournals"])


DRAFT_DAY, QUIET_DAY = "Draft day", "Quiet day [ref-12]"


@pytest.mark.parametrize(
    ("where", "narrations"),
    [
        (
            "Date >= DateTime(2023, 02, 11) && Date < DateTime(2023, 02, 13)",
            [DRAFT_DAY, QUIET_DAY],
        ),
        ("Date >= DateTime(2023,2,11) AND Date <= DateTime(2023,2,11)", [DRAFT_DAY]),
        (
            'Status == "DRAFT" && Date > DateTime(2023, 02, 10) && Date < DateTime(2023, 2, 13)',
            [DRAFT_DAY],
        ),
        ('Narration.Contains("[ref-12]")', [QUIET_DAY]),
        (
            'Narration.StartsWith("Quiet") || Narration.EndsWith("t day")',
            [DRAFT_DAY, QUIET_DAY],
        ),
        (
            "(Date == DateTime(2023, 02, 11) || Date == DateTime(2023, 02, 12))"
            ' && Status != "DRAFT"',
            [QUIET_DAY],
        ),
        ("Url != null && Date == DateTime(2023, 02, 12)", []),
    ],
)
def test_where_filters(
    client: httpx.Client, february: list[str], where: str, narrations: list[str]
) -> None:
    found = client.get("/ManualJournals", params={"where": where, "page": 1})
    assert [j["Narration"] for j in found.json()["ManualJournals"]] == narrations


def test_where_by_guid_and_order(client: httpx.Client, february: list[str]) -> None:
    wanted = february[-1]
    where_id = f'ManualJournalID == GUID("{wanted.upper()}")'
    by_id = client.get("/ManualJournals", params={"where": where_id})
    assert [j["ManualJournalID"] for j in by_id.json()["ManualJournals"]] == [wanted]
    where = "Date >= DateTime(2023, 02, 11) && Date <= DateTime(2023, 02, 12)"
    ordered = client.get("/ManualJournals", params={"where": where, "order": "Date DESC"})
    assert [j["Narration"] for j in ordered.json()["ManualJournals"]] == [
        "Quiet day [ref-12]",
        "Draft day",
    ]


@pytest.mark.parametrize("where", ['Colour == "red"', "Date == ", 'Status = = "X"'])
def test_a_filter_xero_cannot_read_is_a_query_parse_error(client: httpx.Client, where: str) -> None:
    response = client.get("/ManualJournals", params={"where": where})
    assert response.status_code == 400
    assert (response.json()["ErrorNumber"], response.json()["Type"]) == (16, "QueryParseException")


def test_if_modified_since_returns_later_changes_only(
    own: Callable[..., Served], client_for: Callable[[Served], httpx.Client]
) -> None:
    clock = Clock()
    running = own(clock=clock)
    client = client_for(running)
    put(client, journal(date(2024, 6, 1), *BALANCED, Narration="early"))
    clock.advance(hours=1)
    put(client, journal(date(2024, 6, 1), *BALANCED, Narration="late"))
    since = {"If-Modified-Since": "2024-06-01T09:30:00Z"}
    found = client.get("/ManualJournals", headers=since).json()["ManualJournals"]
    assert [j["Narration"] for j in found] == ["late"]
    assert found[0]["UpdatedDateUTC"] == "/Date(1717236000000+0000)/"  # 10:00Z


# --- accounts -------------------------------------------------------------------------------


def test_accounts_are_the_demo_chart(client: httpx.Client) -> None:
    accounts = client.get("/Accounts").json()["Accounts"]
    codes = [a["Code"] for a in accounts]
    assert {"090", "091", "092", "200", "820", "860"} <= set(codes)
    by_code = {a["Code"]: a for a in accounts}
    assert by_code["820"]["SystemAccount"] == "GST" and by_code["820"]["Class"] == "LIABILITY"
    assert by_code["090"]["Type"] == "BANK" and by_code["090"]["BankAccountType"] == "BANK"
    banks = client.get("/Accounts", params={"where": 'Type == "BANK"'}).json()["Accounts"]
    assert [a["Code"] for a in banks] == ["090"]
    archived = client.get("/Accounts", params={"where": 'Status == "ARCHIVED"'}).json()
    assert [a["Code"] for a in archived["Accounts"]] == ["205"]
    ordered = client.get("/Accounts", params={"order": "Code DESC"}).json()["Accounts"]
    assert [a["Code"] for a in ordered] == sorted(codes, reverse=True)


# --- rate limits and faults -----------------------------------------------------------------


def test_the_minute_limit_answers_429_with_retry_after(
    own: Callable[..., Served], client_for: Callable[[Served], httpx.Client]
) -> None:
    clock = Clock()
    running = own(clock=clock, limits=XeroLimits(minute=3, enforce=True))
    client = client_for(running)
    remaining = [client.get("/Accounts").headers["X-MinLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    clock.advance(seconds=20)
    refused = client.get("/Accounts")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert refused.headers["Retry-After"] == "40"
    assert refused.json()["Title"] == "Too Many Requests"
    clock.advance(seconds=40)
    answered = client.get("/Accounts")
    assert answered.status_code == 200 and answered.headers["X-DayLimit-Remaining"] == "4995"


def test_injected_faults_answer_in_xeros_shape(served: Served, client: httpx.Client) -> None:
    served.control.set_faults(
        FaultConfig(rate_429=1.0, retry_after_seconds=2, only_paths=[f"{PREFIX}/Accounts"])
    )
    try:
        refused = client.get("/Accounts")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
        assert refused.json()["Status"] == 429
        assert client.get("/ManualJournals", params={"page": 1}).status_code == 200
        stats = client.get(served.server.url + "/_emulator/stats").json()
        assert stats["injected"] == {"429": 1}
        assert stats["counts"][f"GET {PREFIX}/Accounts"] >= 1
    finally:
        served.control.reset()


def test_unknown_routes_are_404(raw: httpx.Client) -> None:
    response = raw.get("/Nothing")
    assert response.status_code == 404
    assert response.text == "The resource you're looking for cannot be found"


def test_the_xero_spec_loads() -> None:
    """Skips, saying where the spec was looked for, when shared/specs is absent."""
    assert xero_openapi() is not None

"""The Xero connector against the Xero emulator over real sockets; every request it sends
(and every answer) is checked against Xero's own spec (tests/xero_spec.py)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from emulators.control import EmulatorControl, FaultConfig
from emulators.xero import PREFIX, XeroState, create_xero_app
from possync.domain.money import MoneyError
from possync.domain.turnover import Voucher, VoucherLine
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.errors import FatalError
from possync.vendors.http import RetryPolicy
from possync.vendors.ports import Accounting
from possync.vendors.xero.accounting import XeroAccounting, narration_for
from possync.vendors.xero.config import XeroConfig
from tests.conformance import SpecRecorder
from tests.xero_spec import spec_available, spec_problems

TOKEN = "xero-test-token"
TENANT = "3d9e61b0-7a3c-4f55-a0a5-4c2f0e9b1d11"
JOURNALS_PATH = f"{PREFIX}/ManualJournals"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=0.2)


@dataclass
class Served:
    state: XeroState
    server: RunningServer
    control: EmulatorControl


class Xero:
    """The emulator, its server and a recorder every connector in the test shares."""

    def __init__(self, served: Served) -> None:
        self.state = served.state
        self.server = served.server
        self.control = served.control
        self.recorder = SpecRecorder()

    @property
    def base_url(self) -> str:
        return self.server.url + PREFIX

    def connector(self, token: str = TOKEN, tenant: str = TENANT) -> XeroAccounting:
        config = XeroConfig(base_url=self.base_url, access_token=SecretStr(token), tenant_id=tenant)
        return XeroAccounting(config, retry=FAST, event_hooks=self.recorder.hooks())

    def journal_answer(self, journal_id: str) -> dict[str, object]:
        """GET /ManualJournals/{id} as Xero answers it (recorded for the spec check)."""
        with httpx.Client(event_hooks=self.recorder.hooks()) as client:
            response = client.get(
                f"{self.base_url}/ManualJournals/{journal_id}",
                headers={"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": TENANT},
            )
        response.raise_for_status()
        journals = response.json(parse_float=Decimal)["ManualJournals"]
        assert len(journals) == 1
        answer: dict[str, object] = journals[0]
        return answer

    def faults(self, faults: FaultConfig) -> None:
        self.control.set_faults(faults)

    @property
    def injected(self) -> dict[str, int]:
        return dict(self.control.injected)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    state = XeroState()
    app = create_xero_app(state, access_token=TOKEN, tenant_id=TENANT)
    running = serve_in_thread(app)
    yield Served(state, running, app.state.control)
    running.stop()


@pytest.fixture
def xero(served: Served) -> Iterator[Xero]:
    """Per test: faults cleared before, and every recorded exchange conforms after."""
    emulator = Xero(served)
    served.control.reset()
    yield emulator
    served.control.reset()
    if spec_available():
        assert spec_problems(emulator.recorder) == []


def voucher(day: date, reference: str | None = None, **changes: object) -> Voucher:
    """A balanced day: card 700 + cash 550.50 = sales 1,000.40 + VAT 250.10."""
    lines = (
        VoucherLine(account="091", amount=Decimal("700.00"), description="Card takings"),
        VoucherLine(account="092", amount=Decimal("550.50"), description="Cash takings"),
        VoucherLine(
            account="200",
            amount=Decimal("-1000.40"),
            description="Sales at 25%",
            vat_rate=Decimal(25),
        ),
        VoucherLine(account="820", amount=Decimal("-250.10"), description="Output VAT 25%"),
    )
    made = Voucher(
        reference=reference or f"possync turnover {day.isoformat()} {uuid.uuid4().hex[:8]}",
        day=day,
        currency="GBP",
        narration=f"Shop turnover {day.isoformat()}",
        lines=lines,
    )
    return made.model_copy(update=changes) if changes else made


def one_then_pass_seed(rate: float) -> int:
    """A seed whose first roll hits a fault of share `rate` and whose second does not."""
    for seed in range(1000):
        rolls = random.Random(seed)
        if rolls.random() < rate <= rolls.random():
            return seed
    raise AssertionError("no such seed")


def test_posts_a_balanced_voucher_with_exact_lines(xero: Xero) -> None:
    day = date(2024, 3, 1)
    posted_voucher = voucher(day)
    accounting = xero.connector()
    assert isinstance(accounting, Accounting)
    posted = accounting.post_voucher(posted_voucher, key=str(uuid.uuid4()))
    assert posted.system == "xero"
    journal = xero.journal_answer(posted.voucher_id)
    assert journal["ManualJournalID"] == posted.voucher_id
    assert journal["Narration"] == narration_for(posted_voucher)
    assert journal["Status"] == "POSTED"
    assert journal["LineAmountTypes"] == "NoTax"
    assert journal["Date"] == "/Date(1709251200000+0000)/"  # 2024-03-01T00:00:00Z
    lines = journal["JournalLines"]
    assert isinstance(lines, list)
    assert [
        (line["AccountCode"], line["LineAmount"], line["Description"], line["TaxType"])
        for line in lines
    ] == [
        ("091", Decimal("700.0"), "Card takings", "NONE"),
        ("092", Decimal("550.5"), "Cash takings", "NONE"),
        ("200", Decimal("-1000.4"), "Sales at 25%", "NONE"),
        ("820", Decimal("-250.1"), "Output VAT 25%", "NONE"),
    ]
    assert all(line["TaxAmount"] == 0 for line in lines)


def test_the_same_key_posts_one_journal(xero: Xero) -> None:
    accounting = xero.connector()
    key = str(uuid.uuid4())
    day_voucher = voucher(date(2024, 3, 2))
    before = len(xero.state.journals())
    first = accounting.post_voucher(day_voucher, key=key)
    again = accounting.post_voucher(day_voucher, key=key)
    assert again == first
    assert len(xero.state.journals()) == before + 1
    assert xero.control.count(f"PUT {JOURNALS_PATH}") == 2


def test_an_unbalanced_voucher_is_refused_with_xeros_reason(xero: Xero) -> None:
    day_voucher = voucher(date(2024, 3, 3))
    unbalanced = day_voucher.model_copy(update={"lines": day_voucher.lines[:3]})
    before = len(xero.state.journals())
    with pytest.raises(FatalError) as raised:
        xero.connector().post_voucher(unbalanced, key=str(uuid.uuid4()))
    assert raised.value.status == 400
    assert raised.value.code == "ValidationException"
    assert "The total debits (1250.50) must equal total credits (-1000.40)" in str(raised.value)
    assert len(xero.state.journals()) == before


def test_an_unknown_account_is_refused_naming_the_code(xero: Xero) -> None:
    day_voucher = voucher(date(2024, 3, 4))
    wrong = day_voucher.lines[0].model_copy(update={"account": "999"})
    refused = day_voucher.model_copy(update={"lines": (wrong, *day_voucher.lines[1:])})
    with pytest.raises(FatalError) as raised:
        xero.connector().post_voucher(refused, key=str(uuid.uuid4()))
    message = str(raised.value)
    assert "Account code or ID must be specified" in message
    assert "Account code '999' has been removed" in message


def test_an_archived_account_is_refused(xero: Xero) -> None:
    day_voucher = voucher(date(2024, 3, 5))
    archived = day_voucher.lines[2].model_copy(update={"account": "205"})
    lines = (*day_voucher.lines[:2], archived, day_voucher.lines[3])
    with pytest.raises(FatalError, match="Account code '205' has been archived or deleted"):
        xero.connector().post_voucher(
            day_voucher.model_copy(update={"lines": lines}), key=str(uuid.uuid4())
        )


def test_finds_a_posted_voucher_by_reference_and_day(xero: Xero) -> None:
    accounting = xero.connector()
    day = date(2024, 3, 6)
    posted_voucher = voucher(day)
    assert accounting.find_voucher(posted_voucher) is None
    posted = accounting.post_voucher(posted_voucher, key=str(uuid.uuid4()))
    accounting.post_voucher(voucher(day), key=str(uuid.uuid4()))  # another voucher that day
    assert accounting.find_voucher(posted_voucher) == posted
    other_day = posted_voucher.model_copy(update={"day": date(2024, 3, 7)})
    assert accounting.find_voucher(other_day) is None


def test_find_voucher_pages_through_a_busy_day(xero: Xero) -> None:
    day = date(2024, 3, 8)
    others = [voucher(day) for _ in range(130)]  # one request: Xero takes many journals
    body = {
        "ManualJournals": [
            {
                "Narration": narration_for(other),
                "Date": day.isoformat(),
                "Status": "POSTED",
                "JournalLines": [
                    {"LineAmount": float(line.amount), "AccountCode": line.account}
                    for line in other.lines
                ],
            }
            for other in others
        ]
    }
    with httpx.Client(event_hooks=xero.recorder.hooks()) as client:
        client.put(
            f"{xero.base_url}/ManualJournals",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": TENANT},
        ).raise_for_status()
    accounting = xero.connector()
    wanted = voucher(day)
    posted = accounting.post_voucher(wanted, key=str(uuid.uuid4()))
    control = xero.control
    reads_before = control.count(f"GET {JOURNALS_PATH}")
    assert accounting.find_voucher(wanted) == posted
    assert control.count(f"GET {JOURNALS_PATH}") - reads_before == 2  # 131 journals: 2 pages
    assert accounting.find_voucher(voucher(day)) is None


def test_a_voided_journal_no_longer_holds_its_day(xero: Xero) -> None:
    accounting = xero.connector()
    day_voucher = voucher(date(2024, 3, 9))
    posted = accounting.post_voucher(day_voucher, key=str(uuid.uuid4()))
    with httpx.Client(event_hooks=xero.recorder.hooks()) as client:
        client.post(
            f"{xero.base_url}/ManualJournals/{posted.voucher_id}",
            json={"ManualJournals": [{"Narration": "voided", "Status": "VOIDED"}]},
            headers={"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": TENANT},
        ).raise_for_status()
    assert accounting.find_voucher(day_voucher) is None


def test_a_429_is_waited_out_and_retried(xero: Xero) -> None:
    xero.faults(FaultConfig(rate_429=0.5, only_paths=[JOURNALS_PATH], seed=one_then_pass_seed(0.5)))
    before = len(xero.state.journals())
    posted = xero.connector().post_voucher(voucher(date(2024, 3, 10)), key=str(uuid.uuid4()))
    assert xero.injected == {"429": 1}
    assert len(xero.state.journals()) == before + 1
    assert xero.state.journal(posted.voucher_id).status == "POSTED"
    assert [r.status_code for _, r in xero.recorder.exchanges] == [429, 200]


def test_an_answer_lost_after_the_write_is_retried_into_the_same_journal(xero: Xero) -> None:
    seed = one_then_pass_seed(0.5)
    xero.faults(FaultConfig(rate_drop_after_commit=0.5, only_paths=[JOURNALS_PATH], seed=seed))
    before = len(xero.state.journals())
    posted = xero.connector().post_voucher(voucher(date(2024, 3, 11)), key=str(uuid.uuid4()))
    assert xero.injected == {"drop_after_commit": 1}
    journals = xero.state.journals()
    assert len(journals) == before + 1
    assert journals[-1].journal_id == posted.voucher_id


def test_a_500_before_the_write_is_retried(xero: Xero) -> None:
    xero.faults(FaultConfig(rate_500=0.5, only_paths=[JOURNALS_PATH], seed=one_then_pass_seed(0.5)))
    before = len(xero.state.journals())
    xero.connector().post_voucher(voucher(date(2024, 3, 12)), key=str(uuid.uuid4()))
    assert xero.injected == {"500": 1}
    assert len(xero.state.journals()) == before + 1


def test_a_bad_token_is_fatal_and_never_in_the_message(xero: Xero) -> None:
    accounting = xero.connector(token="wrong-secret-token")
    with pytest.raises(FatalError) as raised:
        accounting.find_voucher(voucher(date(2024, 3, 13)))
    assert raised.value.status == 401
    assert "AuthenticationUnsuccessful" in str(raised.value)
    assert "wrong-secret-token" not in str(raised.value)


def test_another_organisation_is_forbidden(xero: Xero) -> None:
    accounting = xero.connector(tenant=str(uuid.uuid4()))
    with pytest.raises(FatalError) as raised:
        accounting.post_voucher(voucher(date(2024, 3, 14)), key=str(uuid.uuid4()))
    assert raised.value.status == 403


def test_an_overlong_key_is_refused_before_sending(xero: Xero) -> None:
    with pytest.raises(ValueError, match="128"):
        xero.connector().post_voucher(voucher(date(2024, 3, 15)), key="k" * 129)
    assert xero.recorder.exchanges == []


def test_a_three_decimal_amount_is_refused_naming_the_line_not_rounded(xero: Xero) -> None:
    """Issue 12, defect 3: a Kuwaiti dinar day (3 decimals) was rounded to cents on its way
    to Xero. A journal line holds 2 decimals, so such a voucher is refused before sending."""
    lines = (
        VoucherLine(account="091", amount=Decimal("1.055"), description="Card takings"),
        VoucherLine(account="200", amount=Decimal("-1.005"), description="Sales at 5%"),
        VoucherLine(account="820", amount=Decimal("-0.050"), description="Output VAT 5%"),
    )
    kwd = voucher(date(2024, 3, 2), currency="KWD", lines=lines)
    before = len(xero.state.journals())
    with pytest.raises(MoneyError, match=r"1\.055 on account 091"):
        xero.connector().post_voucher(kwd, key=str(uuid.uuid4()))
    assert len(xero.state.journals()) == before

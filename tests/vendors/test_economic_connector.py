"""The e-conomic connector against the e-conomic emulator over real sockets; every request it
sends and every answer is checked against the documented shapes in tests/economic_shapes.py."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from emulators.control import EmulatorControl, FaultConfig
from emulators.economic import EconomicState, create_economic_app
from possync.domain.turnover import PostedVoucher, Voucher, VoucherLine
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.economic.accounting import EconomicAccounting, economic_error, entry_text
from possync.vendors.economic.config import EconomicConfig
from possync.vendors.errors import FatalError, RetriableError
from possync.vendors.http import RetryPolicy
from possync.vendors.ports import Accounting
from tests.conformance import SpecRecorder
from tests.economic_shapes import VOUCHER_READ, problems, validate

SECRET = "app-secret-7c1"
GRANT = "grant-93b"
VOUCHERS = "/journals/{journalNumber}/vouchers"


@pytest.fixture
def economic() -> Iterator[tuple[EconomicState, RunningServer]]:
    state = EconomicState()
    server = serve_in_thread(
        create_economic_app(state, app_secret_token=SECRET, agreement_grant_token=GRANT)
    )
    yield state, server
    server.stop()


def control(server: RunningServer) -> EmulatorControl:
    app: Any = server.server.config.app
    result: EmulatorControl = app.state.control
    return result


def connector(
    server: RunningServer, recorder: SpecRecorder, *, secret: str = SECRET, grant: str = GRANT
) -> EconomicAccounting:
    config = EconomicConfig(
        base_url=server.url,
        app_secret_token=SecretStr(secret),
        agreement_grant_token=SecretStr(grant),
        journal_number=1,
        timeout_seconds=5,
    )
    return EconomicAccounting(
        config, retry=RetryPolicy(base_delay=0.01), event_hooks=recorder.hooks()
    )


def turnover(day: date = date(2025, 3, 1), reference: str | None = None) -> Voucher:
    """A card-and-cash day: 1,000 incl. 25 % VAT plus 100 VAT-exempt, rounding 0.05."""
    return Voucher(
        reference=reference or f"possync turnover shop-1 {day.isoformat()}",
        day=day,
        currency="DKK",
        narration=f"Daily turnover {day.isoformat()}",
        lines=(
            VoucherLine(account="5830", amount=Decimal("900.00"), description="Card"),
            VoucherLine(account="5810", amount=Decimal("200.05"), description="Cash"),
            VoucherLine(
                account="1010",
                amount=Decimal("-800.00"),
                description="Sales 25% VAT",
                vat_rate=Decimal(25),
            ),
            VoucherLine(
                account="1020",
                amount=Decimal("-100.00"),
                description="Sales exempt",
                vat_rate=Decimal(0),
            ),
            VoucherLine(account="6902", amount=Decimal("-200.00"), description="Output VAT"),
            VoucherLine(account="3690", amount=Decimal("-0.05"), description="Rounding"),
        ),
    )


def raw_client(server: RunningServer) -> httpx.Client:
    headers = {"X-AppSecretToken": SECRET, "X-AgreementGrantToken": GRANT}
    return httpx.Client(base_url=server.url, headers=headers)


def test_satisfies_the_accounting_protocol(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    _state, server = economic
    accounting = connector(server, SpecRecorder())
    assert isinstance(accounting, Accounting)
    assert accounting.system == "economic"
    accounting.close()


def test_posts_a_balanced_voucher_and_reads_its_entries_back(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    state, server = economic
    recorder = SpecRecorder()
    accounting = connector(server, recorder)
    voucher = turnover()
    posted = accounting.post_voucher(voucher, key="turnover:shop-1:2025-03-01")
    assert posted == PostedVoucher(system="economic", voucher_id="2025-1")

    with raw_client(server) as client:
        answer = client.get("/journals/1/vouchers/2025-1")
    assert answer.status_code == 200
    document = answer.json(parse_float=Decimal)
    assert validate(answer.json(), VOUCHER_READ) == []
    assert document["accountingYear"]["year"] == "2025"
    assert document["voucherNumber"] == 1
    read_back = [
        (
            str(e["account"]["accountNumber"]),
            Decimal(str(e["amount"])),
            e["text"],
            e["date"],
            e["currency"]["code"],
            e["voucher"]["voucherNumber"],
        )
        for e in document["entries"]["financeVouchers"]
    ]
    assert read_back == [
        (
            line.account,
            line.amount,
            f"{voucher.reference} | {line.description}",
            "2025-03-01",
            "DKK",
            1,
        )
        for line in voucher.lines
    ]
    assert sum(amount for _a, amount, *_rest in read_back) == 0
    assert len(state.drafts) == len(voucher.lines)

    # The next day is the journal's next voucher number.
    second = accounting.post_voucher(turnover(date(2025, 3, 2)), key="k2")
    assert second.voucher_id == "2025-2"
    assert problems(recorder.exchanges) == []
    accounting.close()


def test_find_voucher_by_reference_and_day(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    _state, server = economic
    recorder = SpecRecorder()
    accounting = connector(server, recorder)
    voucher = turnover()
    assert accounting.find_voucher(voucher) is None
    posted = accounting.post_voucher(voucher, key="k")

    assert accounting.find_voucher(voucher) == posted
    other_day = voucher.model_copy(update={"day": date(2025, 3, 2)})
    assert accounting.find_voucher(other_day) is None
    other_reference = voucher.model_copy(update={"reference": voucher.reference + "-b"})
    assert accounting.find_voucher(other_reference) is None
    assert accounting.find_voucher(voucher.model_copy(update={"day": date(2023, 3, 1)})) is None
    assert problems(recorder.exchanges) == []
    accounting.close()


def test_the_voucher_is_still_found_after_the_journal_is_booked(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    state, server = economic
    recorder = SpecRecorder()
    accounting = connector(server, recorder)
    voucher = turnover()
    posted = accounting.post_voucher(voucher, key="k")
    assert state.book_journal(1) == [("2025", 1)]
    assert state.drafts == []

    assert accounting.find_voucher(voucher) == posted
    # A rerun of the day posts nothing: the reference is in the books.
    assert accounting.post_voucher(voucher, key="k") == posted
    assert control(server).count("POST ") == 1
    assert state.drafts == []
    assert problems(recorder.exchanges) == []
    accounting.close()


def test_an_unknown_account_is_fatal_and_named(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    state, server = economic
    recorder = SpecRecorder()
    accounting = connector(server, recorder)
    lines = (
        VoucherLine(account="5820", amount=Decimal("50.00"), description="Bank"),
        VoucherLine(account="9999", amount=Decimal("-50.00"), description="Nowhere"),
    )
    voucher = turnover().model_copy(update={"lines": lines})
    with pytest.raises(FatalError) as raised:
        accounting.post_voucher(voucher, key="k")
    assert raised.value.status == 400
    assert raised.value.code == "E06000"
    assert "financeVouchers[1].account" in str(raised.value)
    assert "9999" in str(raised.value)
    assert state.drafts == []
    assert control(server).count("POST ") == 1  # a refusal is not retried
    assert problems(recorder.exchanges) == []
    accounting.close()


def test_a_day_outside_every_accounting_year_is_fatal(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    state, server = economic
    accounting = connector(server, SpecRecorder())
    with pytest.raises(FatalError, match="no accounting year contains 2023-06-01"):
        accounting.post_voucher(turnover(date(2023, 6, 1)), key="k")
    assert control(server).count("POST ") == 0
    assert state.drafts == []
    accounting.close()


def test_a_closed_accounting_year_is_fatal(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    state, server = economic
    year = state.year("2024")
    assert year is not None
    year.closed = True
    accounting = connector(server, SpecRecorder())
    with pytest.raises(FatalError, match=r"accounting year 2024 .* is closed"):
        accounting.post_voucher(turnover(date(2024, 12, 31)), key="k")
    assert control(server).count("POST ") == 0
    accounting.close()


def _seed_429_then_ok() -> int:
    """A fault seed whose first roll lands on a 429 (rate 0.5) and whose second does not."""
    for seed in range(1000):
        rng = random.Random(seed)
        if rng.random() < 0.5 <= rng.random():
            return seed
    raise AssertionError("no seed found")


def test_a_429_is_retried_after_retry_after(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    state, server = economic
    recorder = SpecRecorder()
    accounting = connector(server, recorder)
    faults = FaultConfig(
        rate_429=0.5, seed=_seed_429_then_ok(), retry_after_seconds=0, only_paths=[VOUCHERS]
    )
    control(server).set_faults(faults)
    posted = accounting.post_voucher(turnover(), key="k")
    assert posted.voucher_id == "2025-1"
    assert control(server).injected["429"] == 1
    assert control(server).count(f"POST {VOUCHERS}") == 2
    assert {e.voucher_number for e in state.drafts} == {1}
    rate_limited = [r for _q, r in recorder.exchanges if r.status_code == 429]
    assert [r.headers["Retry-After"] for r in rate_limited] == ["0"]
    assert problems(recorder.exchanges) == []
    accounting.close()


def test_a_lost_answer_is_not_reposted_and_the_voucher_is_found(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    """The answer to the POST is lost after e-conomic saved the voucher: the call is not
    repeated (e-conomic takes no idempotency key), and the flow's recovery, `find_voucher`
    before posting again, finds the saved voucher, so nothing is posted twice."""
    state, server = economic
    accounting = connector(server, SpecRecorder())
    voucher = turnover()
    control(server).set_faults(FaultConfig(rate_drop_after_commit=1.0, only_paths=[VOUCHERS]))
    with pytest.raises(RetriableError):
        accounting.post_voucher(voucher, key="k")
    assert control(server).count(f"POST {VOUCHERS}") == 1
    assert len(state.drafts) == len(voucher.lines)

    control(server).set_faults(FaultConfig())
    found = accounting.find_voucher(voucher)
    assert found == PostedVoucher(system="economic", voucher_id="2025-1")
    # A retry of the post (with the same key) returns the same voucher and posts nothing.
    assert accounting.post_voucher(voucher, key="k") == found
    assert control(server).count(f"POST {VOUCHERS}") == 1
    assert len(state.drafts) == len(voucher.lines)
    accounting.close()


def test_wrong_tokens_are_fatal_and_never_shown(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    _state, server = economic
    accounting = connector(server, SpecRecorder(), secret="wrong-secret-xyz", grant="bad-grant")
    with pytest.raises(FatalError) as raised:
        accounting.find_voucher(turnover())
    assert raised.value.status == 401
    assert "wrong-secret-xyz" not in str(raised.value)
    assert "bad-grant" not in str(raised.value)
    assert SECRET not in repr(accounting.config)
    accounting.close()


def test_refuses_what_cannot_be_one_voucher_before_calling(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    _state, server = economic
    accounting = connector(server, SpecRecorder())
    base = turnover()
    bad_account = (
        VoucherLine(account="Sales", amount=Decimal(1), description="x"),
        VoucherLine(account="5820", amount=Decimal(-1), description="y"),
    )
    unbalanced = (VoucherLine(account="5820", amount=Decimal(1), description="x"),)
    too_precise = (
        VoucherLine(account="1010", amount=Decimal("0.001"), description="x"),
        VoucherLine(account="5820", amount=Decimal("-0.001"), description="y"),
    )
    cases = [
        (base.model_copy(update={"lines": bad_account}), "not an e-conomic account number"),
        (base.model_copy(update={"lines": unbalanced}), "does not balance"),
        (base.model_copy(update={"lines": too_precise}), "more than 2 decimals"),
        (base.model_copy(update={"lines": ()}), "no lines"),
        (base.model_copy(update={"reference": "x" * 251}), "1..250 characters"),
    ]
    for voucher, message in cases:
        with pytest.raises(FatalError, match=message):
            accounting.post_voucher(voucher, key="k")
    assert control(server).count() == 0
    accounting.close()


def test_long_descriptions_are_cut_and_the_reference_stays_first(
    economic: tuple[EconomicState, RunningServer],
) -> None:
    state, server = economic
    recorder = SpecRecorder()
    accounting = connector(server, recorder)
    reference = "possync turnover " + "r" * 230  # 247 characters: the separator is cut short
    lines = (
        VoucherLine(account="5820", amount=Decimal("10.00"), description="d" * 400),
        VoucherLine(account="1010", amount=Decimal("-10.00"), description=""),
    )
    voucher = turnover(reference=reference).model_copy(update={"lines": lines})
    posted = accounting.post_voucher(voucher, key="k")
    texts = [e.text for e in state.drafts]
    assert texts == [(reference + " | " + "d" * 400)[:250], reference]
    assert all(t is not None and len(t) <= 250 and t.startswith(reference) for t in texts)
    assert accounting.find_voucher(voucher) == posted
    assert problems(recorder.exchanges) == []
    accounting.close()


def test_entry_text() -> None:
    assert entry_text("ref", "Card") == "ref | Card"
    assert entry_text("ref", "") == "ref"
    assert len(entry_text("r" * 200, "x" * 100)) == 250


def test_error_parser_names_annotated_properties() -> None:
    body = {
        "message": "Validation error.",
        "developerHint": "Inspect validation errors and correct your request.",
        "errors": [
            {
                "arrayIndex": 0,
                "entries": {
                    "financeVouchers": [
                        {
                            "arrayIndex": 2,
                            "account": {
                                "errors": [
                                    {
                                        "errorCode": "E06000",
                                        "message": "account does not exist.",
                                        "value": 4711,
                                    }
                                ]
                            },
                        }
                    ]
                },
            }
        ],
        "httpStatusCode": 400,
    }
    code, message = economic_error(httpx.Response(400, json=body))
    assert code == "E06000"
    assert message == (
        "Validation error: [0].entries.financeVouchers[2].account: account does not exist. "
        "(value 4711)"
    )
    plain = {"message": "Unauthorized access.", "developerHint": "Supply both tokens."}
    assert economic_error(httpx.Response(401, json=plain)) == (
        None,
        "Unauthorized access. (Supply both tokens.)",
    )
    assert economic_error(httpx.Response(500, json=["odd"])) == (None, "Internal Server Error")


def test_credentials_block_makes_the_config() -> None:
    from blocks import EconomicCredentials

    block = EconomicCredentials(
        app_secret_token=SecretStr("s3cret"),
        agreement_grant_token=SecretStr("gr4nt"),
        journal_number=3,
    )
    config = block.config()
    assert config == EconomicConfig(
        app_secret_token=SecretStr("s3cret"),
        agreement_grant_token=SecretStr("gr4nt"),
        journal_number=3,
    )
    assert config.base_url == "https://restapi.e-conomic.com"
    assert "s3cret" not in repr(block) and "gr4nt" not in repr(config)

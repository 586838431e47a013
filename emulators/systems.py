"""The POS and accounting emulators by their registry name, behind one face each, so the
contract suites (tests/contract/) run every registered POS and accounting system the same
way. A new POS or accounting vendor adds its emulator and one line in `POS` or `BOOKS`.
(The webshops' counterpart is emulators/webshops.py.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from emulators.control import EmulatorControl, FaultConfig
from emulators.demo import DemoProduct
from emulators.economic import EconomicState, create_economic_app
from emulators.square import SquareState, create_square_app
from emulators.xero import PREFIX, XeroState, create_xero_app
from possync.domain.config import FrozenConfig
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.economic.config import EconomicConfig
from possync.vendors.square.config import SquareConfig
from possync.vendors.xero.config import XeroConfig


@dataclass
class EmulatedSystem:
    """One emulator on a real socket: how to reach it (`config`), with a wrong secret
    (`bad_config`, whose secret is `bad_secret`), and its fault control."""

    name: str
    server: RunningServer
    control: EmulatorControl
    make_config: Callable[[str], FrozenConfig]
    secret: str
    bad_secret: str = "wrong-secret-Qz81"  # noqa: S105 - a deliberately wrong credential

    def config(self) -> FrozenConfig:
        return self.make_config(self.secret)

    def bad_config(self) -> FrozenConfig:
        return self.make_config(self.bad_secret)

    def faults(self, **config: Any) -> None:
        self.control.set_faults(FaultConfig(**config))

    def stop(self) -> None:
        self.server.stop()


@dataclass
class EmulatedPos(EmulatedSystem):
    """A POS emulator seeded with a catalogue: its variant ids by SKU and on-hand counts."""

    id_for_sku: Callable[[str], str] = field(default=lambda sku: sku)
    on_hand: Callable[[str], Decimal] = field(default=lambda pos_id: Decimal(0))
    forget_keys: Callable[[], None] = field(default=lambda: None)
    currency: str = "DKK"


@dataclass
class EmulatedBooks(EmulatedSystem):
    """An accounting emulator: its currency and account codes a voucher may use, by role
    (card, cash, revenue, vat, rounding)."""

    currency: str = "DKK"
    accounts: dict[str, str] = field(default_factory=dict)


def _control(server: RunningServer) -> EmulatorControl:
    app: Any = server.server.config.app
    control: EmulatorControl = app.state.control
    return control


def start_square(catalogue: list[DemoProduct], currency: str) -> EmulatedPos:
    state = SquareState(location_id="L-CONTRACT", currency=currency)
    state.seed(catalogue)
    secret = "sq-contract-token-7Hk2"  # noqa: S105 - the emulator's credential
    server = serve_in_thread(create_square_app(state, access_token=secret))

    def config(token: str) -> SquareConfig:
        return SquareConfig(
            base_url=server.url, access_token=SecretStr(token), location_id="L-CONTRACT"
        )

    return EmulatedPos(
        "square",
        server,
        _control(server),
        config,
        secret,
        id_for_sku=state.variation_id_for_sku,
        on_hand=state.count,
        forget_keys=state.forget_idempotency_keys,
        currency=currency,
    )


def start_xero() -> EmulatedBooks:
    secret = "xero-contract-token-4Pq"  # noqa: S105 - the emulator's credential
    tenant = "8b1f3e2a-5c6d-4e7f-9a0b-1c2d3e4f5a6b"
    state = XeroState()
    server = serve_in_thread(create_xero_app(state, access_token=secret, tenant_id=tenant))

    def config(token: str) -> XeroConfig:
        return XeroConfig(
            base_url=server.url + PREFIX, access_token=SecretStr(token), tenant_id=tenant
        )

    accounts = {"card": "091", "cash": "092", "revenue": "200", "vat": "820", "rounding": "860"}
    return EmulatedBooks(
        "xero", server, _control(server), config, secret, currency=state.base_currency,
        accounts=accounts,
    )  # fmt: skip


def start_economic() -> EmulatedBooks:
    secret, grant = "economic-contract-secret-9Lm", "economic-contract-grant-2Wx"
    server = serve_in_thread(
        create_economic_app(EconomicState(), app_secret_token=secret, agreement_grant_token=grant)
    )

    def config(token: str) -> EconomicConfig:
        return EconomicConfig(
            base_url=server.url,
            app_secret_token=SecretStr(token),
            agreement_grant_token=SecretStr(grant),
        )

    accounts = {
        "card": "5830",
        "cash": "5810",
        "revenue": "1010",
        "vat": "6902",
        "rounding": "3690",
    }
    return EmulatedBooks(
        "economic", server, _control(server), config, secret, currency="DKK", accounts=accounts
    )


POS: dict[str, Callable[[list[DemoProduct], str], EmulatedPos]] = {"square": start_square}
BOOKS: dict[str, Callable[[], EmulatedBooks]] = {"xero": start_xero, "economic": start_economic}

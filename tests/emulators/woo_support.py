"""What the WooCommerce emulator tests share: a running shop and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx

from emulators.demo import DemoProduct
from emulators.woocommerce import PREFIX, WooState, create_woocommerce_app
from possync.serving import RunningServer, serve_in_thread


@dataclass
class Shop:
    state: WooState
    server: RunningServer
    client: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url + PREFIX


def open_shop(catalogue: list[DemoProduct] | None = None) -> Iterator[Shop]:
    """The emulator on a real socket (seeded when given a catalogue), with a demo client."""
    state = WooState()
    if catalogue:
        state.seed(catalogue)
    server = serve_in_thread(create_woocommerce_app(state))
    client = httpx.Client(base_url=server.url + PREFIX, auth=("ck_demo", "cs_demo"), timeout=10)
    try:
        yield Shop(state, server, client)
    finally:
        client.close()
        server.stop()
        state.close()


def settable_clock(shop: Shop, start: datetime) -> Iterator[list[datetime]]:
    """The shop's clock, settable: tests move it forward to see dates move."""
    now = [start]
    original = shop.state.clock
    shop.state.clock = lambda: now[0]
    try:
        yield now
    finally:
        shop.state.clock = original

"""EmulatorControl's fault injection, over real sockets.

A tiny app counts the writes that really happened, so a test can tell a fault injected
before the handler (429, 500) from one injected after it (drop-after-commit).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from emulators.control import EmulatorControl, FaultConfig
from emulators.woocommerce import PREFIX, WooState, create_woocommerce_app
from possync.serving import RunningServer, serve_in_thread


def error_body(status: int) -> dict[str, object]:
    return {"error": status}


@dataclass
class Counted:
    """The app's committed writes, readable from the test thread."""

    writes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self) -> int:
        with self.lock:
            self.writes += 1
            return self.writes


@dataclass
class Emulator:
    control: EmulatorControl
    counted: Counted
    server: RunningServer
    client: httpx.Client

    def faults(self, **config: object) -> None:
        response = self.client.put("/_emulator/faults", json=config)
        assert response.status_code == 200, response.text


def counter_app(control: EmulatorControl, counted: Counted) -> FastAPI:
    app = FastAPI()

    @app.post("/items")
    def add_item() -> dict[str, int]:
        return {"writes": counted.add()}

    @app.get("/items/{item_id}")
    def get_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/stream")
    def add_streamed() -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            yield b"["
            yield str(counted.add()).encode()  # the write happens while the body streams
            yield b"]"

        return StreamingResponse(chunks(), media_type="application/json")

    control.install(app)
    return app


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    control = EmulatorControl(error_body)
    counted = Counted()
    server = serve_in_thread(counter_app(control, counted))
    client = httpx.Client(base_url=server.url, timeout=5)
    yield Emulator(control, counted, server, client)
    client.close()
    server.stop()


@pytest.fixture(autouse=True)
def clean(emulator: Emulator) -> Iterator[None]:
    emulator.client.post("/_emulator/reset").raise_for_status()
    yield
    emulator.client.post("/_emulator/reset").raise_for_status()


def test_429_carries_retry_after_and_is_counted(emulator: Emulator) -> None:
    emulator.faults(rate_429=1.0, retry_after_seconds=2.5)
    before = emulator.counted.writes
    response = emulator.client.post("/items")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2.5"
    assert response.json() == {"error": 429}
    assert emulator.counted.writes == before  # refused before the handler ran
    stats = emulator.client.get("/_emulator/stats").json()
    assert stats["injected"] == {"429": 1}
    assert stats["counts"] == {"POST /items": 1} and stats["total"] == 1


def test_500_uses_the_emulator_error_body(emulator: Emulator) -> None:
    emulator.faults(rate_500=1.0)
    before = emulator.counted.writes
    response = emulator.client.post("/items")
    assert (response.status_code, response.json()) == (500, {"error": 500})
    assert emulator.counted.writes == before
    assert emulator.control.injected == {"500": 1}


def test_timeout_stalls_past_the_client_timeout(emulator: Emulator) -> None:
    emulator.faults(rate_timeout=1.0, stall_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        emulator.client.get("/items/1", timeout=0.2)
    assert time.monotonic() - started < 1.0
    assert emulator.control.injected == {"timeout": 1}


def test_drop_after_commit_keeps_the_write_but_sends_no_answer(emulator: Emulator) -> None:
    emulator.faults(rate_drop_after_commit=1.0)
    before = emulator.counted.writes
    started = time.monotonic()
    with pytest.raises(httpx.TransportError) as caught:
        emulator.client.post("/items")
    # Dropped at once, not by the client's timeout, and without a status line.
    assert time.monotonic() - started < 2.0
    assert isinstance(caught.value, httpx.RemoteProtocolError | httpx.ReadError)
    assert emulator.counted.writes == before + 1
    assert emulator.control.injected == {"drop_after_commit": 1}
    emulator.faults()  # the same client works again on a fresh connection
    assert emulator.client.post("/items").json() == {"writes": before + 2}


def test_drop_after_commit_finishes_a_streamed_handler_first(emulator: Emulator) -> None:
    emulator.faults(rate_drop_after_commit=1.0, only_paths=["/stream"])
    before = emulator.counted.writes
    with pytest.raises(httpx.TransportError):
        emulator.client.post("/stream")
    assert emulator.counted.writes == before + 1


def test_drop_after_commit_through_the_woocommerce_emulator() -> None:
    """The real shop keeps an order whose creation the client saw fail."""
    state = WooState()
    app = create_woocommerce_app(state)
    server = serve_in_thread(app)
    try:
        with httpx.Client(base_url=server.url, auth=("ck_demo", "cs_demo"), timeout=5) as client:
            client.put(
                "/_emulator/faults",
                json={"rate_drop_after_commit": 1.0, "only_paths": [f"{PREFIX}/orders"]},
            ).raise_for_status()
            with pytest.raises(httpx.TransportError):
                client.post(f"{PREFIX}/orders", json={"billing": {"email": "a@example.com"}})
            stats = client.get("/_emulator/stats").json()
            assert stats["injected"] == {"drop_after_commit": 1}
            client.put("/_emulator/faults", json={}).raise_for_status()
            orders = client.get(f"{PREFIX}/orders").json()
            assert [o["billing"]["email"] for o in orders] == ["a@example.com"]
    finally:
        server.stop()
        state.close()


def statuses(emulator: Emulator, n: int) -> list[int]:
    return [emulator.client.get(f"/items/{i}").status_code for i in range(n)]


def test_a_seed_makes_the_choices_repeatable(emulator: Emulator) -> None:
    config = {"rate_429": 0.3, "rate_500": 0.3, "seed": 42, "retry_after_seconds": 0}
    emulator.faults(**config)
    first = statuses(emulator, 40)
    emulator.faults(**config)
    assert statuses(emulator, 40) == first
    assert {429, 500, 200} == set(first)
    emulator.faults(**{**config, "seed": 43})
    assert statuses(emulator, 40) != first


def test_only_paths_limits_faults_to_the_named_routes(emulator: Emulator) -> None:
    emulator.faults(rate_500=1.0, only_paths=["/items/{item_id}"])
    assert emulator.client.get("/items/7").status_code == 500
    assert emulator.client.post("/items").status_code == 200
    stats = emulator.client.get("/_emulator/stats").json()
    assert stats["counts"] == {"GET /items/{item_id}": 1, "POST /items": 1}
    assert stats["injected"] == {"500": 1}


def test_only_paths_limits_latency_to_the_named_routes(emulator: Emulator) -> None:
    emulator.faults(latency_seconds=0.5, only_paths=["POST /items"])
    started = time.monotonic()
    assert emulator.client.get("/items/1").status_code == 200
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    assert emulator.client.post("/items").status_code == 200
    assert time.monotonic() - started >= 0.5


def test_latency_is_added_and_reset_clears_everything(emulator: Emulator) -> None:
    emulator.faults(latency_seconds=0.2)
    started = time.monotonic()
    assert emulator.client.get("/items/1").status_code == 200
    assert time.monotonic() - started >= 0.2
    emulator.faults(rate_500=1.0)
    emulator.client.get("/items/1")
    emulator.client.post("/_emulator/reset").raise_for_status()
    assert emulator.client.get("/_emulator/stats").json() == {
        "counts": {},
        "total": 0,
        "injected": {},
    }
    assert emulator.client.get("/items/1").status_code == 200


def test_fault_rates_are_validated(emulator: Emulator) -> None:
    response = emulator.client.put("/_emulator/faults", json={"rate_drop_after_commit": 1.5})
    assert response.status_code == 422
    assert emulator.control.faults == FaultConfig()

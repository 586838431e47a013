"""The shared HTTP client: error tree, retries, Retry-After, no secrets in messages."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from possync.vendors.errors import FatalError, RateLimited, ServerError, TransportError
from possync.vendors.http import ApiClient, RetryPolicy


def client(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float], attempts: int = 4
) -> ApiClient:
    api = ApiClient(
        "vendor",
        "http://vendor.test/api",
        headers={"Authorization": "Bearer top-secret-token"},
        retry=RetryPolicy(attempts=attempts, base_delay=0.01),
        error_parser=lambda r: (r.json().get("code"), r.json().get("message", "?")),
        sleep=sleeps.append,
    )
    api._http._transport = httpx.MockTransport(handler)
    return api


def test_retries_429_honouring_retry_after_then_succeeds() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "1.5"}, json={"code": "slow"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    sleeps: list[float] = []
    response = client(lambda _r: next(answers), sleeps).post("/x", json={})
    assert response.json() == {"ok": True}
    assert sleeps == [1.5]


def test_gives_up_after_attempts_with_retriable_error() -> None:
    calls: list[int] = []

    def handler(_r: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502, json={"code": "bad_gateway", "message": "upstream"})

    sleeps: list[float] = []
    with pytest.raises(ServerError) as raised:
        client(handler, sleeps, attempts=3).get("/x")
    assert len(calls) == 3 and len(sleeps) == 2
    assert raised.value.status == 502 and "upstream" in str(raised.value)


def test_4xx_is_fatal_at_once_with_vendor_message_and_no_secret() -> None:
    calls: list[int] = []

    def handler(r: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json={"code": "rest_invalid_param", "message": "bad per_page"})

    with pytest.raises(FatalError) as raised:
        client(handler, []).get("/products", params={"consumer_secret": "cs_hidden"})
    assert calls == [1]
    text = str(raised.value)
    assert "rest_invalid_param" in text and "bad per_page" in text and "/products" in text
    assert "top-secret" not in text and "cs_hidden" not in text


def test_timeout_retried_only_when_safe_to_repeat() -> None:
    calls: list[str] = []

    def handler(r: httpx.Request) -> httpx.Response:
        calls.append(r.method)
        raise httpx.ReadTimeout("slow", request=r)

    with pytest.raises(TransportError):
        client(handler, [], attempts=3).post("/orders", json={})
    assert calls == ["POST"]  # a create after a timeout may have happened: not repeated
    calls.clear()
    with pytest.raises(TransportError):
        client(handler, [], attempts=3).post("/batch", json={}, safe_to_repeat=True)
    assert calls == ["POST"] * 3


def test_429_is_retried_even_for_unsafe_requests() -> None:
    answers = iter([httpx.Response(429, json={}), httpx.Response(201, json={"id": 1})])
    api = client(lambda _r: next(answers), [])
    assert api.post("/orders", json={}).status_code == 201


def test_rate_limited_carries_retry_after() -> None:
    with pytest.raises(RateLimited) as raised:
        client(
            lambda _r: httpx.Response(429, headers={"Retry-After": "7"}, json={}), [], attempts=1
        ).get("/x")
    assert raised.value.retry_after == 7.0


def test_jitter_stays_within_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    for attempt in range(6):
        for _ in range(50):
            assert 0 <= policy.delay(attempt) <= min(4.0, 0.5 * 2**attempt)
    assert policy.delay(0, retry_after=100) == policy.max_retry_after

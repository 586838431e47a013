"""Malformed and hostile bodies, signed with the right secret, on every webhook source through
the real receiver on a socket: each one answers 4xx, and nothing is recorded or triggered.

A signed body is authentic, but that does not make it readable: a leaked secret, a vendor
bug or a proxy that re-encodes bodies can all hand the receiver something it cannot act
on. Whatever it is, the answer is a 4xx naming the problem (never a 500, never the body's
text), the delivery log stays empty and no order flow is woken.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from possync.serving import serve_in_thread
from possync.webhooks import (
    MAX_BODY_BYTES,
    OrderNotice,
    Reading,
    WebhookSource,
    create_webhook_app,
)
from possync.webhooks.sources import Headers
from tests.webhooks.support import (
    SECRET,
    SHOPIFY,
    VENDORS,
    WOOCOMMERCE,
    MemoryDeliveryLog,
    Receiver,
    Vendor,
    start_receiver,
)

DEPTH = 100_000
MARKER = "jane.doe+marker@example.com"  # customer data that must never reach a log or answer


@pytest.fixture(params=VENDORS, ids=lambda v: v.name)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    chosen: Vendor = request.param
    return chosen


@pytest.fixture
def receiver(vendor: Vendor) -> Iterator[Receiver]:
    running = start_receiver(vendor=vendor)
    yield running
    running.close()


def with_field(vendor: Vendor, raw: str, field: str = "id") -> bytes:
    """The vendor's order body with `field`'s value replaced by the raw JSON text `raw`."""
    order = vendor.order(note=MARKER)
    order[field] = "@@RAW@@"
    if field == "id" and vendor is SHOPIFY:
        del order["admin_graphql_api_id"]  # the gid is read first; make the bad id count
    return json.dumps(order).replace('"@@RAW@@"', raw).encode()


def utf16(vendor: Vendor) -> bytes:
    return json.dumps(vendor.order(note=MARKER)).encode("utf-16")


# (case id, body maker); every one must answer 400.
MALFORMED: list[tuple[str, Callable[[Vendor], bytes]]] = [
    ("empty body", lambda v: b""),
    ("truncated JSON", lambda v: v.body(note=MARKER)[:-7]),
    ("nested arrays", lambda v: b"[" * DEPTH + b"]" * DEPTH),
    ("nested objects", lambda v: b'{"a":' * DEPTH + b"1" + b"}" * DEPTH),
    ("nested inside an order", lambda v: with_field(v, "[" * DEPTH + "]" * DEPTH, "note_x")),
    ("id of 10**30", lambda v: with_field(v, str(10**30))),
    ("id above int64", lambda v: with_field(v, str(2**63))),
    ("id of 5,000 digits", lambda v: with_field(v, "9" * 5000)),
    ("id 1e400", lambda v: with_field(v, "1e400")),
    ("id NaN", lambda v: with_field(v, "NaN")),
    ("id Infinity", lambda v: with_field(v, "-Infinity")),
    ("id 0", lambda v: with_field(v, "0")),
    ("id negative", lambda v: with_field(v, "-4127")),
    ("id fractional", lambda v: with_field(v, "4127.5")),
    ("id in fullwidth digits", lambda v: with_field(v, '"\\uff14\\uff11\\uff12\\uff17"')),
    ("id superscript digit", lambda v: with_field(v, '"\\u00b2"')),
    ("id null", lambda v: with_field(v, "null")),
    ("JSON array", lambda v: b"[" + v.body() + b"]"),
    ("JSON string", lambda v: b'"order"'),
    ("JSON number", lambda v: b"5409125040004"),
    ("JSON null", lambda v: b"null"),
    ("invalid UTF-8", lambda v: v.body(note="@@").replace(b"@@", b"\xff\xfe\xc3\x28")),
    ("UTF-16 JSON", utf16),
    ("lone surrogate in the version", lambda v: with_field(v, '"\\ud800"', v.version_field)),
    ("version not a time", lambda v: with_field(v, '"yesterday"', v.version_field)),
    ("version of 10,000 characters", lambda v: with_field(v, f'"{"9" * 10_000}"', v.version_field)),
    ("version a number", lambda v: with_field(v, "20250301", v.version_field)),
    ("duplicate id", lambda v: v.body().replace(b"{", b'{"id":1,', 1)),
    ("trailing garbage", lambda v: v.body() + b" {}"),
]  # fmt: skip


def assert_no_trace(receiver: Receiver) -> None:
    """Nothing recorded in the delivery log, no notice handed on."""
    assert receiver.settled() == []
    log = receiver.deliveries
    assert isinstance(log, MemoryDeliveryLog)
    assert log.keys == set()


@pytest.mark.parametrize(("case", "make"), MALFORMED, ids=[c for c, _ in MALFORMED])
def test_a_malformed_signed_body_is_a_400_and_nothing_happens(
    receiver: Receiver,
    vendor: Vendor,
    case: str,
    make: Callable[[Vendor], bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = make(vendor)
    with caplog.at_level(logging.DEBUG):
        response = receiver.client.post(receiver.path, content=body, headers=vendor.headers(body))
    assert response.status_code == 400, (case, response.status_code, response.text[:300])
    assert response.json()["error"], case
    assert_no_trace(receiver)
    for text in (response.text, caplog.text):
        assert MARKER not in text and SECRET not in text
    assert "Traceback" not in caplog.text, case
    # The receiver is unharmed: the next good delivery is acted on.
    good = vendor.body()
    assert receiver.client.post(receiver.path, content=good, headers=vendor.headers(good))
    assert len(receiver.notices.wait_for(1)) == 1


def test_a_shopify_refund_naming_an_impossible_order_is_a_400() -> None:
    """refunds/create is Shopify's (WooCommerce's refunds arrive as order updates)."""
    receiver = start_receiver(vendor=SHOPIFY)
    try:
        for order_id in (str(2**63), "0", '"4127abc"', "1e400", '"gid://shopify/Order/-1"'):
            body = f'{{"id":929361462,"order_id":{order_id},"note":"{MARKER}"}}'.encode()
            headers = SHOPIFY.headers(body, topic="refunds/create")
            response = receiver.client.post(receiver.path, content=body, headers=headers)
            assert response.status_code == 400, (order_id, response.text)
        assert_no_trace(receiver)
    finally:
        receiver.close()


def test_a_body_over_the_limit_is_a_413_with_or_without_a_length(
    receiver: Receiver, vendor: Vendor
) -> None:
    body = vendor.body(note="x" * MAX_BODY_BYTES)
    declared = receiver.client.post(receiver.path, content=body, headers=vendor.headers(body))
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to refuse early by
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    streamed = receiver.client.post(receiver.path, content=chunks(), headers=vendor.headers(body))
    assert streamed.status_code == 413
    assert_no_trace(receiver)


def test_a_body_right_at_the_limit_is_read(receiver: Receiver, vendor: Vendor) -> None:
    """The limit is above any real order: a body of exactly MAX_BODY_BYTES is acted on."""
    empty = len(vendor.body(note=""))
    body = vendor.body(note="x" * (MAX_BODY_BYTES - empty))
    assert len(body) == MAX_BODY_BYTES
    response = receiver.client.post(receiver.path, content=body, headers=vendor.headers(body))
    assert response.status_code == 200, response.text
    assert len(receiver.settled()) == 1


def test_an_unsigned_hostile_body_is_a_401(receiver: Receiver, vendor: Vendor) -> None:
    """The signature is checked before the body is read: a stranger's body is never parsed."""
    body = b"[" * DEPTH + b"]" * DEPTH
    headers = vendor.headers(body, secret="not-the-secret")
    assert receiver.client.post(receiver.path, content=body, headers=headers).status_code == 401
    assert_no_trace(receiver)


class FaultySource:
    """A source with a bug of ours: reading raises an error whose message holds the body's
    text and the secret."""

    def __init__(self, inner: WebhookSource) -> None:
        self.name = inner.name
        self._inner = inner

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        return self._inner.is_ping(headers, body)

    def check_signature(self, headers: Headers, body: bytes) -> str | None:
        return self._inner.check_signature(headers, body)

    def read(self, headers: Headers, document: dict[str, Any]) -> Reading:
        raise KeyError(f"bug while reading {json.dumps(document)} with {SECRET}")


def test_our_own_fault_is_a_500_logged_without_the_body_or_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notices: list[OrderNotice] = []
    app = create_webhook_app(
        sources=[FaultySource(WOOCOMMERCE.make_source(lambda: SECRET))],
        deliveries=MemoryDeliveryLog(),
        on_notice=notices.append,
    )
    server = serve_in_thread(app)
    try:
        body = WOOCOMMERCE.body(note=MARKER)
        with caplog.at_level(logging.DEBUG), httpx.Client(base_url=server.url) as client:
            response = client.post(
                WOOCOMMERCE.path, content=body, headers=WOOCOMMERCE.headers(body)
            )
        assert response.status_code == 500
        assert response.json() == {"error": "internal error; the delivery was not acted on"}
        assert "KeyError" in caplog.text and "test_hostile_bodies.py" in caplog.text
        for text in (response.text, caplog.text):
            assert MARKER not in text and SECRET not in text
        assert notices == []
    finally:
        server.stop()
        app.state.notice_worker.close(10)

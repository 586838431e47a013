"""What the receiver needs from each webshop: spot a ping, check a signature, read a body.

A webshop with webhooks is one more class in its vendor folder
(`possync/vendors/<vendor>/webhook.py`), named in its registry row. Sources never parse
bytes: the receiver turns every signed body into a JSON object in one place
(`json_object`), and a source only reads that object's fields, through the checked
readers here (`order_number`, `version_of`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, Protocol

from possync.webhooks.notices import OrderNotice

__all__ = [
    "BadPayload",
    "Reading",
    "WebhookSource",
    "hmac_sha256_base64",
    "json_object",
    "order_number",
    "signature_matches",
    "version_of",
]

logger = logging.getLogger("possync.webhooks")

Headers = Mapping[str, str]  # case-insensitive in practice (Starlette's Headers)


class BadPayload(ValueError):
    """An authentic delivery whose body we cannot read; the message is safe to return."""


@dataclass(frozen=True)
class Reading:
    """What one authentic delivery says."""

    topic: str
    notice: OrderNotice | None  # None: a topic we do not act on
    # Keys from the signed body only (a header is not signed: anyone can resend a body
    # with another delivery id); each must be new for the notice to count. The receiver
    # adds the body's own hash for every source.
    delivery_keys: tuple[str, ...]


class WebhookSource(Protocol):
    """One webshop's webhooks; `name` is its route (/webhooks/{name}) and log namespace."""

    name: str

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        """An unsigned "are you there?" request that must be answered 200 and ignored."""
        ...

    def check_signature(self, headers: Headers, body: bytes) -> str | None:
        """None when the body is signed with our secret, else why not (no secrets in it)."""
        ...

    def read(self, headers: Headers, document: dict[str, Any]) -> Reading:
        """Topic, notice and delivery keys of an authentic delivery, whose body the receiver
        has parsed into `document`; BadPayload if a field we act on is unusable."""
        ...


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body)): how WooCommerce and Shopify sign a delivery."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_matches(given: str, secret: str, body: bytes) -> bool:
    """Constant-time comparison of a signature header with the one `secret` gives."""
    expected = hmac_sha256_base64(secret, body).encode()
    # Header values arrive latin-1 decoded; compare bytes so any value is comparable.
    return hmac.compare_digest(expected, given.strip().encode("latin-1", errors="replace"))


# --- WooCommerce -------------------------------------------------------------------------


# --- reading a body ------------------------------------------------------------------------

MAX_ID = 2**63 - 1  # every webshop's ids fit a signed 64-bit integer (Shopify's are int64)
MAX_VERSION_CHARS = 40  # "2025-03-01T10:00:00.123456+01:00" is 32
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class _Unreadable(ValueError):
    """Raised from inside the parser; its message names no body text."""


def _no_constants(name: str) -> NoReturn:
    # Python's json reads NaN and Infinity, which are not JSON (RFC 8259, section 6).
    raise _Unreadable(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object; one key given twice makes the body ambiguous (parsers disagree on which
    value wins), so it is refused."""
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            named = f" {key!r}" if _KEY_NAME.fullmatch(key) else ""
            raise _Unreadable(f"an object repeats the key{named}")
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict means a repeated key")


_DECODER = json.JSONDecoder(parse_constant=_no_constants, object_pairs_hook=_unique_keys)


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or BadPayload saying why not (never quoting the body).

    The one place a webhook body is parsed. Whatever the parser can fail with on hostile
    input becomes BadPayload: bytes that are not UTF-8 (RFC 8259 section 8.1: JSON between
    systems is UTF-8; `json.loads` would also guess UTF-16 and UTF-32), invalid JSON,
    NaN/Infinity, a key given twice, an integer over Python's digit limit, nesting deeper
    than the parser's recursion limit (RecursionError), and a top level that is not an
    object.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPayload(f"body is not UTF-8 (invalid byte at offset {exc.start})") from None
    try:
        parsed = _DECODER.decode(text)
    except RecursionError:
        raise BadPayload("body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, _Unreadable, int digit limit
        raise BadPayload(f"body is not valid JSON: {_short(exc)}") from None
    if not isinstance(parsed, dict):
        raise BadPayload(f"body is JSON but not an object (got {type(parsed).__name__})")
    return parsed


def _short(exc: ValueError) -> str:
    """The parser's complaint without the body text (it may hold customer data)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, _Unreadable):
        return str(exc)
    return "a number has too many digits"  # the only other ValueError: int_max_str_digits


def order_number(value: object) -> int | None:
    """A webshop id as the positive 64-bit integer it must be, from a JSON integer or a
    string of ASCII digits; None for anything else (bool, float, 0, negative, too large,
    other digits such as "²" or fullwidth ones, which `str.isdigit` accepts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None


def version_of(document: Mapping[str, Any], field: str) -> str | None:
    """The resource's last-modified time from `field`, as the body wrote it (it is part of
    a delivery key); None when absent, null or empty. A value that is not an ISO 8601
    timestamp is BadPayload: the body is not what the vendor sends."""
    value = document.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) <= MAX_VERSION_CHARS:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    raise BadPayload(f"'{field}' is not an ISO 8601 timestamp")

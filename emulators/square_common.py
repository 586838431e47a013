"""Building blocks shared by the Square emulator: errors, clock, ids, cursors, money, quantities.

Everything here follows Square's Connect API v2 (Square-Version 2025-08-20) as described in
Square's own OpenAPI file: the error body `{"errors": [{"category", "code", "detail", "field"}]}`,
RFC 3339 timestamps with milliseconds, money in the currency's minor unit, quantities as
decimal strings with at most five decimals, and opaque pagination cursors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

JsonDict = dict[str, Any]

# Each error code's category, as the spec's `ErrorCode` enum elements state it. Only the codes
# the emulator answers with are listed; a test checks this table against the spec file.
ERROR_CATEGORY: dict[str, str] = {
    "ARRAY_LENGTH_TOO_LONG": "INVALID_REQUEST_ERROR",
    "BAD_REQUEST": "INVALID_REQUEST_ERROR",
    "EXPECTED_ARRAY": "INVALID_REQUEST_ERROR",
    "EXPECTED_BOOLEAN": "INVALID_REQUEST_ERROR",
    "EXPECTED_INTEGER": "INVALID_REQUEST_ERROR",
    "EXPECTED_JSON_BODY": "INVALID_REQUEST_ERROR",
    "EXPECTED_OBJECT": "INVALID_REQUEST_ERROR",
    "EXPECTED_STRING": "INVALID_REQUEST_ERROR",
    "IDEMPOTENCY_KEY_REUSED": "INVALID_REQUEST_ERROR",
    "INTERNAL_SERVER_ERROR": "API_ERROR",
    "INVALID_CURSOR": "INVALID_REQUEST_ERROR",
    "INVALID_SORT_ORDER": "INVALID_REQUEST_ERROR",
    "INVALID_ENUM_VALUE": "INVALID_REQUEST_ERROR",
    "INVALID_SQUARE_VERSION_FORMAT": "INVALID_REQUEST_ERROR",
    "INVALID_TIME": "INVALID_REQUEST_ERROR",
    "INVALID_VALUE": "INVALID_REQUEST_ERROR",
    "METHOD_NOT_ALLOWED": "INVALID_REQUEST_ERROR",
    "MISSING_REQUIRED_PARAMETER": "INVALID_REQUEST_ERROR",
    "NOT_FOUND": "INVALID_REQUEST_ERROR",
    "PAYMENT_AMOUNT_MISMATCH": "PAYMENT_METHOD_ERROR",
    "RATE_LIMITED": "RATE_LIMIT_ERROR",
    "REFUND_AMOUNT_INVALID": "REFUND_ERROR",
    "SERVICE_UNAVAILABLE": "API_ERROR",
    "UNAUTHORIZED": "AUTHENTICATION_ERROR",
    "UNKNOWN_BODY_PARAMETER": "INVALID_REQUEST_ERROR",
    "UNSUPPORTED_SOURCE_TYPE": "INVALID_REQUEST_ERROR",
    "VALUE_EMPTY": "INVALID_REQUEST_ERROR",
    "VALUE_TOO_HIGH": "INVALID_REQUEST_ERROR",
    "VALUE_TOO_LONG": "INVALID_REQUEST_ERROR",
    "VALUE_TOO_LOW": "INVALID_REQUEST_ERROR",
    "VALUE_TOO_SHORT": "INVALID_REQUEST_ERROR",
}

# Codes Square answers with (its docs say so) that the spec's `ErrorCode` enum leaves out.
# "My resource update call returns a VERSION_MISMATCH error" (Square's troubleshooting guide):
# the answer to a catalog write whose `version` is not the object's current one.
UNLISTED_ERROR_CATEGORY: dict[str, str] = {
    "VERSION_MISMATCH": "INVALID_REQUEST_ERROR",
}


class SquareError(Exception):
    """One Square `Error`, raised anywhere and rendered by the app as Square's error body."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field

    def as_error(self) -> JsonDict:
        error: JsonDict = {
            "category": ERROR_CATEGORY.get(self.code) or UNLISTED_ERROR_CATEGORY[self.code],
            "code": self.code,
            "detail": self.detail,
        }
        if self.field:
            error["field"] = self.field
        return error


def errors_body(errors: list[SquareError]) -> JsonDict:
    """Square's error response: every response type carries the same `errors` array."""
    return {"errors": [e.as_error() for e in errors]}


_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "Bad request."),
    401: ("UNAUTHORIZED", "This request could not be authorized."),
    404: ("NOT_FOUND", "Resource not found."),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed."),
    429: ("RATE_LIMITED", "Rate limited."),
    500: ("INTERNAL_SERVER_ERROR", "An internal error has occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service unavailable."),
}


def square_error_body(status: int) -> JsonDict:
    """The body Square sends for a bare HTTP status (used by fault injection and 404/405)."""
    code, detail = _STATUS_ERRORS.get(status, _STATUS_ERRORS[500 if status >= 500 else 400])
    return errors_body([SquareError(status, code, detail)])


def not_found(detail: str, field: str | None = None) -> SquareError:
    return SquareError(404, "NOT_FOUND", detail, field)


def invalid(detail: str, field: str | None = None, code: str = "INVALID_VALUE") -> SquareError:
    return SquareError(400, code, detail, field)


class Clock:
    """Milliseconds since the epoch that never repeat and never go backwards.

    Every write takes one `tick()`, so each write's `calculated_at`/`updated_at` is strictly
    later than the previous write's: a client polling with `updated_after` = the newest
    timestamp it has seen can never miss a later change, even within one wall-clock millisecond.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._last = 0
        self._lock = threading.Lock()

    def tick(self) -> int:
        with self._lock:
            self._last = max(int(self._now() * 1000), self._last + 1)
            return self._last

    def peek(self) -> int:
        """The current time in ms, not earlier than the last tick, without claiming it."""
        with self._lock:
            return max(int(self._now() * 1000), self._last)


def rfc3339(ms: int) -> str:
    """`2016-09-04T23:59:33.123Z`, the format Square's examples use."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def parse_rfc3339_us(value: str, field: str) -> int:
    """An RFC 3339 timestamp (offset required) as microseconds since the epoch."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in value.upper():
        raise invalid(f"Invalid RFC 3339 timestamp `{value}`.", field, code="INVALID_TIME")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class IdFactory:
    """Deterministic Square-looking ids: 24 upper-case base32 characters, unique per namespace."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace
        self._counter = 0

    def next(self, kind: str) -> str:
        self._counter += 1
        digest = hashlib.sha1(  # noqa: S324 - an id, not security
            f"{self._namespace}:{kind}:{self._counter}".encode()
        ).digest()
        return base64.b32encode(digest).decode()[:24]


def fingerprint(value: object) -> str:
    """A short, stable digest of JSON-able data (idempotency bodies, cursor queries)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(kind: str, position: object, query: str) -> str:
    """An opaque cursor: where the next page starts, bound to the endpoint and the query."""
    raw = json.dumps({"k": kind, "p": position, "q": query}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, query: str) -> Any:
    """The position in `cursor`; INVALID_CURSOR when it is not ours or not this query's."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("k") != kind or data.get("q") != query:
        raise invalid("The pagination cursor is invalid.", "cursor", code="INVALID_CURSOR")
    return data.get("p")


# ISO 4217 minor units for the currencies that differ from the usual two decimals.
_ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"}
_ZERO_DECIMAL |= {"VND", "VUV", "XAF", "XOF", "XPF"}
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}


def minor_units(amount: Decimal, currency: str) -> int:
    """A decimal price as Square's `Money.amount` (the smallest denomination)."""
    exponent = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    return int((amount * (10**exponent)).to_integral_value())


def money(amount: int, currency: str) -> JsonDict:
    return {"amount": amount, "currency": currency}


_QUANTITY = re.compile(r"^-?\d+(\.\d{1,5})?$")


def parse_quantity(value: str, field: str, *, allow_zero: bool, allow_negative: bool) -> Decimal:
    """A decimal-string quantity: up to five digits after the point, as the spec allows."""
    if not _QUANTITY.match(value) or len(value) > 26:
        raise invalid(f"`{value}` is not a decimal quantity with at most 5 decimals.", field)
    try:
        quantity = Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise invalid(f"`{value}` is not a decimal quantity.", field) from exc
    if quantity < 0 and not allow_negative:
        raise invalid(f"Quantity `{value}` must not be negative.", field, code="VALUE_TOO_LOW")
    if quantity == 0 and not allow_zero:
        raise invalid(f"Quantity `{value}` must be greater than 0.", field, code="VALUE_TOO_LOW")
    return quantity


def format_quantity(quantity: Decimal) -> str:
    """`Decimal('12.50')` -> `"12.5"`, `Decimal('10')` -> `"10"`: Square's decimal strings."""
    if quantity == 0:
        return "0"
    return format(quantity.normalize(), "f")

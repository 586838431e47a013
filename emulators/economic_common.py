"""Building blocks of the e-conomic emulator: the error body, self-link ids, JSON numbers.

From e-conomic's REST documentation (the "Legacy REST" API at restapi.e-conomic.com), as
published in e-conomic's own docs source, github.com/e-conomic/slate
(source/includes/_introduction.md):

- errors: `{"message", "developerHint", "logId", "httpStatusCode", "logTime"}`, with
  `"errors"` annotated like the request payload (`{"account": {"errors": [{"errorCode",
  "message", "value", "developerHint"}]}}`, arrays carry `"arrayIndex"`);
- self links: resource ids with "/" etc. are encoded with e-conomic's `_6_` scheme.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

JsonDict = dict[str, Any]

# "Custom resource self-link encoding" (e-conomic docs, introduction).
_SELF_LINK_CODES = {
    "<": "_0_",
    ">": "_1_",
    "*": "_2_",
    "%": "_3_",
    ":": "_4_",
    "&": "_5_",
    "/": "_6_",
    "\\": "_7_",
    "_": "_8_",
    " ": "_9_",
    "?": "_10_",
    ".": "_11_",
    "#": "_12_",
    "+": "_13_",
}
_SELF_LINK_DECODE = re.compile(r"_(1[0-3]|[0-9])_")


class EconomicError(Exception):
    """An e-conomic error answer; the app renders it as e-conomic's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        developer_hint: str | None = None,
        *,
        errors: Any = None,
        error_code: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.developer_hint = developer_hint
        self.errors = errors
        self.error_code = error_code
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> JsonDict:
        return error_body(
            self.status,
            self.message,
            self.developer_hint,
            errors=self.errors,
            error_code=self.error_code,
            extra=self.extra,
        )


def error_body(
    status: int,
    message: str | None = None,
    developer_hint: str | None = None,
    *,
    errors: Any = None,
    error_code: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JsonDict:
    """e-conomic's error document; with only a status it is the body of an injected fault."""
    if message is None:
        message, developer_hint = _FAULT_TEXT.get(status, ("Request failed.", None))
    body: JsonDict = {"message": message}
    if error_code:
        body["errorCode"] = error_code
    if developer_hint:
        body["developerHint"] = developer_hint
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    body["logId"] = str(uuid.uuid4())
    body["httpStatusCode"] = status
    body["logTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return body


# The wording of these answers is the emulator's own (e-conomic documents the shape only).
_FAULT_TEXT: dict[int, tuple[str, str | None]] = {
    429: ("Too many requests.", "Slow down and retry after the number of seconds in Retry-After."),
    500: ("An error occurred.", "Try again, or contact api@e-conomic.com with the logId."),
    503: ("Service unavailable.", "Try again later."),
}


def field_error(
    message: str, *, value: Any = None, code: str | None = None, hint: str | None = None
) -> JsonDict:
    """One annotated property error: `{"errors": [{"errorCode", "message", "value", ...}]}`."""
    error: JsonDict = {}
    if code:
        error["errorCode"] = code
    error["message"] = message
    if value is not None:
        error["value"] = value
    if hint:
        error["developerHint"] = hint
    return {"errors": [error]}


def validation_error(errors: Any) -> EconomicError:
    """The 400 answer to a write whose payload fails validation (annotated `errors`)."""
    return EconomicError(
        400,
        "Validation error.",
        "Inspect validation errors and correct your request.",
        errors=errors,
    )


# -- self links ---------------------------------------------------------------------------


def encode_id(value: str) -> str:
    """A resource id as e-conomic puts it in a self link (`2024/2025` -> `2024_6_2025`)."""
    return quote("".join(_SELF_LINK_CODES.get(ch, ch) for ch in value), safe="_")


def decode_id(value: str) -> str:
    """The inverse of `encode_id` (the path segment arrives URL-decoded)."""
    reverse = {code.strip("_"): ch for ch, code in _SELF_LINK_CODES.items()}
    return _SELF_LINK_DECODE.sub(lambda m: reverse[m.group(1)], value)


# -- JSON numbers -------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """Decimals (exact money inside the emulator) as JSON numbers; 2-decimal amounts keep
    their digits because float's repr is the shortest round-trip form."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value

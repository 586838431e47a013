"""WordPress-style request parsing and validation for the WooCommerce emulator.

WordPress validates every declared argument against its JSON schema before a controller
runs and answers all failures together as one `rest_invalid_param` error; PHP reads query
strings its own way (`a[]=1&a[]=2` is a list, a repeated plain key keeps the last value).
Clients that work against a real shop depend on both, so the emulator copies them here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Context, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

Json = dict[str, Any]


class WooError(Exception):
    """A WP_Error: rendered as `{"code", "message", "data": {"status", ...}}`.

    `bare_data` copies a WooCommerce quirk: a few controllers pass a bare number as the
    error data, so WordPress answers HTTP 500 with `"data": <that number>`.
    """

    def __init__(
        self, code: str, message: str, status: int, *, bare_data: int | None = None, **data: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.bare_data = bare_data
        self.data = data
        self.headers: dict[str, str] = {}

    def body(self) -> Json:
        data: Any = {"status": self.status, **self.data}
        if self.bare_data is not None:
            data = self.bare_data
        return {"code": self.code, "message": self.message, "data": data}


def invalid_id(post_type: str, status: int = 404) -> WooError:
    """The CRUD controllers' answer for an unknown id (404 on read/delete, 400 on update)."""
    return WooError(f"woocommerce_rest_{post_type}_invalid_id", "Invalid ID.", status)


# --- query strings, the PHP way -------------------------------------------------------


def php_query(query: str) -> dict[str, Any]:
    """Parse a query string as PHP fills $_GET.

    `k[]` collects a list; a repeated plain `k` keeps the last value.
    """
    params: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.endswith("[]"):
            base = key[:-2]
            existing = params.get(base)
            params[base] = [*existing, value] if isinstance(existing, list) else [value]
        else:
            params[key] = value
    return params


def parse_list(value: Any) -> list[str]:
    """wp_parse_list: a list stays a list, a string splits on commas and whitespace."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in re.split(r"[\s,]+", str(value)) if part]


def parse_id_list(value: Any) -> list[int]:
    """wp_parse_id_list: absint of each entry, duplicates dropped, order kept."""
    ids: list[int] = []
    for part in parse_list(value):
        number = abs(int(_leading_int(part)))
        if number not in ids:
            ids.append(number)
    return ids


def _leading_int(text: str) -> int:
    match = re.match(r"\s*[-+]?\d+", text)
    return int(match.group()) if match else 0


# --- schema-style validation ------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One declared argument: JSON type(s), optional enum and integer bounds."""

    types: tuple[str, ...]
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    items: Arg | None = None


def arg(
    *types: str,
    enum: Iterable[str] = (),
    minimum: int | None = None,
    maximum: int | None = None,
    items: Arg | None = None,
) -> Arg:
    return Arg(tuple(types), tuple(enum), minimum, maximum, items)


STR = arg("string")
INT = arg("integer")
BOOL = arg("boolean")
ARRAY = arg("array")
OBJECT = arg("object")
DATE = arg("string", "null", enum=())  # WP 5.5+ turns 'date-time' into ['null', 'string']


@dataclass
class ParamErrors:
    """Collects failures so they are reported together, as WordPress does."""

    params: dict[str, str] = field(default_factory=dict)
    details: dict[str, Json] = field(default_factory=dict)

    def add(self, name: str, code: str, message: str) -> None:
        self.params[name] = message
        self.details[name] = {"code": code, "message": message, "data": None}

    def raise_if_any(self) -> None:
        if self.params:
            raise WooError(
                "rest_invalid_param",
                "Invalid parameter(s): " + ", ".join(self.params),
                400,
                params=self.params,
                details=self.details,
            )


def wp_list(words: Iterable[str]) -> str:
    """wp_sprintf's %l: 'a, b, and c' (two items: 'a and b')."""
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + ", and " + items[-1]


def check(name: str, value: Any, spec: Arg, errors: ParamErrors) -> bool:
    """rest_validate_value_from_schema for the subset of JSON schema WooCommerce declares."""
    if not any(_is_type(value, t) for t in spec.types):
        errors.add(name, "rest_invalid_type", f"{name} is not of type {','.join(spec.types)}.")
        return False
    if value is None:
        return True
    if spec.enum and str(value) not in spec.enum:
        errors.add(name, "rest_not_in_enum", f"{name} is not one of {wp_list(spec.enum)}.")
        return False
    if "integer" in spec.types and not _in_bounds(name, value, spec, errors):
        return False
    if spec.items is not None and isinstance(value, list):
        return all(check(f"{name}[{i}]", item, spec.items, errors) for i, item in enumerate(value))
    return True


def _in_bounds(name: str, value: Any, spec: Arg, errors: ParamErrors) -> bool:
    number = to_int(value)
    low, high = spec.minimum, spec.maximum
    if low is not None and high is not None and not low <= number <= high:
        message = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
    elif low is not None and number < low:
        message = f"{name} must be greater than or equal to {low}"
    elif high is not None and number > high:
        message = f"{name} must be less than or equal to {high}"
    else:
        return True
    errors.add(name, "rest_out_of_bounds", message)
    return False


def _is_type(value: Any, json_type: str) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": _is_integer,
        "number": lambda v: _is_number(v) and not isinstance(v, bool),
        "boolean": _is_boolean,
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict) or v == "",
        "null": lambda v: v is None,
    }
    return checks[json_type](value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, str):
        return re.fullmatch(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*", value) is not None
    return False


def _is_integer(value: Any) -> bool:
    """rest_is_integer: numeric and equal to its rounding ('5' and 5.0 pass)."""
    return _is_number(value) and float(value) == round(float(value))


def _is_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, str):
        return value.lower() in {"true", "false", "1", "0"}
    return isinstance(value, int) and value in (0, 1)


def to_int(value: Any) -> int:
    """PHP's (int) cast, forgiving like wc_stock_amount: junk becomes 0. A JSON integer
    PHP decodes as an int (64-bit) stays exact; going through a float would round it."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return _leading_int(str(value))


def to_bool(value: Any) -> bool:
    """wc_string_to_bool / rest_sanitize_boolean."""
    if isinstance(value, str):
        return value.lower() in {"1", "true", "yes", "on"}
    return bool(value)


def to_str(value: Any) -> str:
    """PHP's string conversion of a scalar (floats print without a trailing .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def validate_body(body: Mapping[str, Any], specs: Mapping[str, Arg]) -> None:
    """Validate the declared fields present in a JSON body; unknown fields pass, as in WP."""
    errors = ParamErrors()
    for name, spec in specs.items():
        if name in body:
            check(name, body[name], spec, errors)
    errors.raise_if_any()


# --- money and dates ----------------------------------------------------------------------


def format_decimal(value: Any) -> str:
    """wc_format_decimal without rounding: keep digits, one dot and a sign; junk becomes ''."""
    text = re.sub(r"[^0-9.\-]", "", to_str(value))
    try:
        Decimal(text)
    except InvalidOperation:
        return ""
    return text


_WIDE = Context(prec=100)


def price_text(value: Decimal) -> str:
    """A price as a shop admin types it: two decimals ('12.50'), or every decimal it has
    ('1.005'), never rounded."""
    cents = value.quantize(Decimal("0.01"), context=_WIDE)
    return f"{cents:f}" if cents == value else f"{value:f}"


def money(value: Decimal) -> str:
    """Order amounts: two decimals, as WooCommerce prints them with the default price settings."""
    # PHP formats any float; Decimal's default 28 digits would refuse a long price
    return f"{value.quantize(Decimal('0.01'), context=_WIDE):f}"


def decimal_of(value: Any) -> Decimal:
    try:
        return Decimal(format_decimal(value) or "0")
    except InvalidOperation:
        return Decimal(0)


_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_date(value: str, default_tz: tzinfo) -> datetime | None:
    """rest_parse_date: RFC 3339 with an optional offset; a bare time is in `default_tz`."""
    match = _DATE_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    offset = match.group(8)
    if not offset:
        return naive.replace(tzinfo=default_tz).astimezone(UTC)
    if offset in ("Z", "z"):
        return naive.replace(tzinfo=UTC)
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return (naive - sign * delta).replace(tzinfo=UTC)


def wc_date(moment: datetime | None, tz: tzinfo) -> str | None:
    """wc_rest_prepare_date_response: 'Y-m-d\\TH:i:s' without an offset, in the given zone."""
    if moment is None:
        return None
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")


def now_seconds() -> datetime:
    """MySQL DATETIME keeps whole seconds; so does every stored WooCommerce date."""
    return datetime.now(UTC).replace(microsecond=0)

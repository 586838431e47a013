"""Xero's `where` and `order` query parameters, parsed and applied to plain records.

Xero documents `where` as a C#-like filter over an endpoint's elements ("Filter by an any
element"; developer.xero.com's Filters guide):

    Status=="DRAFT"
    Date >= DateTime(2015, 01, 01) && Date < DateTime(2015, 12, 31)
    Name.Contains("Peter")   Name.StartsWith("P")   Name.EndsWith("r")
    EmailAddress!=null&&EmailAddress.StartsWith("boom")
    AccountID = GUID("CEEF66A5-A545-413B-9312-78A545AADBC4")
    Type == "ACCPAY" || Type == "ACCREC"      (AND / OR also spelled out)

and `order` as "Date ASC" ("Order by any element returned"). This module implements that
grammar over a record given as {element name: value}, where dates are aware datetimes, ids
are strings, amounts Decimal. A filter it cannot read raises `QueryError`, which the app
answers as Xero does a bad query (QueryParseException).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

__all__ = ["QueryError", "Record", "compile_where", "sort_records"]

Record = Mapping[str, Any]
RecordT = TypeVar("RecordT", bound=Mapping[str, Any])
Predicate = Callable[[Record], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|<>|>=|<=|&&|\|\||[=<>!().,])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<>": lambda a, b: bool(a != b),
    ">=": lambda a, b: bool(a >= b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    "<": lambda a, b: bool(a < b),
}
_METHODS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda text, part: part in text,
    "startswith": lambda text, part: text.startswith(part),
    "endswith": lambda text, part: text.endswith(part),
}


class QueryError(ValueError):
    """The filter or order cannot be read; the message says where, as Xero's does."""


@dataclass(frozen=True)
class _Token:
    kind: str  # string | number | op | name | end
    text: str


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"Syntax error at position {position} of the where filter")
        kind = match.lastgroup or "op"
        found.append(_Token(kind, match.group(kind)))
        position = match.end()
    found.append(_Token("end", ""))
    return found


class _Parser:
    """Recursive descent: or → and → not → comparison, with parentheses."""

    def __init__(self, text: str, fields: Sequence[str]) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.fields = {name.lower(): name for name in fields}

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self, kind: str | None = None, text: str | None = None) -> _Token:
        token = self.peek()
        if (kind and token.kind != kind) or (text and token.text.lower() != text.lower()):
            wanted = text or kind
            raise QueryError(f"'{wanted}' expected, found '{token.text or 'end of filter'}'")
        self.index += 1
        return token

    def accept(self, *texts: str) -> bool:
        token = self.peek()
        if token.kind in ("op", "name") and token.text.upper() in texts:
            self.index += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.or_()
        self.take("end")
        return predicate

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.accept("||", "OR"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else lambda r: any(p(r) for p in parts)

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while self.accept("&&", "AND"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else lambda r: all(p(r) for p in parts)

    def not_(self) -> Predicate:
        if self.accept("!", "NOT"):
            inner = self.not_()
            return lambda r: not inner(r)
        if self.accept("("):
            inner = self.or_()
            self.take("op", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        field = self.field()
        if self.peek().text == ".":
            self.take("op", ".")
            method = self.take("name").text.lower()
            if method not in _METHODS:
                raise QueryError(f"No applicable method '{method}' exists in type 'String'")
            self.take("op", "(")
            argument = self.value()
            self.take("op", ")")
            if not isinstance(argument, str):
                raise QueryError(f"'{method}' takes a string")
            test = _METHODS[method]
            return lambda r: isinstance(r.get(field), str) and test(r[field], argument)
        operator = self.take("op").text
        if operator not in _COMPARISONS:
            raise QueryError(f"Operator '{operator}' cannot be used here")
        expected = self.value()
        return _comparison(field, operator, expected)

    def field(self) -> str:
        token = self.take("name")
        name = self.fields.get(token.text.lower())
        if name is None:
            raise QueryError(f"No property or field '{token.text}' exists in type 'Element'")
        return name

    def value(self) -> Any:
        token = self.peek()
        if token.kind == "string":
            self.index += 1
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            self.index += 1
            return Decimal(token.text)
        name = self.take("name").text
        lowered = name.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if lowered in ("datetime", "datetimeoffset"):
            return self.datetime()
        if lowered == "guid":
            self.take("op", "(")
            text = self.take("string").text[1:-1]
            self.take("op", ")")
            try:
                return str(uuid.UUID(text))
            except ValueError as exc:
                raise QueryError(f"'{text}' is not a valid GUID") from exc
        raise QueryError(f"Unknown identifier '{name}'")

    def datetime(self) -> datetime:
        self.take("op", "(")
        parts = [int(self.take("number").text)]
        while self.accept(","):
            parts.append(int(self.take("number").text))
        self.take("op", ")")
        if not 3 <= len(parts) <= 6:
            raise QueryError("DateTime takes a year, month and day (and hour, minute, second)")
        try:
            year, month, day, hour, minute, second = [*parts, 0, 0, 0][:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError as exc:
            raise QueryError(f"Invalid DateTime{tuple(parts)}: {exc}") from exc


def _comparison(field: str, operator: str, expected: Any) -> Predicate:
    compare = _COMPARISONS[operator]
    equality = operator in ("==", "=", "!=", "<>")

    def test(record: Record) -> bool:
        actual = _comparable(record.get(field))
        wanted = expected
        if isinstance(actual, str) and isinstance(wanted, str) and _is_uuid(actual):
            wanted = wanted.lower()  # GUIDs compare whatever their case
        if actual is None or wanted is None:
            return compare(actual, wanted) if equality else False
        try:
            return compare(actual, wanted)
        except TypeError:
            return False

    return test


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    return value


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def compile_where(text: str | None, fields: Sequence[str]) -> Predicate:
    """A predicate for Xero's `where` over records with these element names (all if blank)."""
    if text is None or not text.strip():
        return lambda _record: True
    return _Parser(text, fields).parse()


def sort_records(
    records: Sequence[RecordT], order: str | None, fields: Sequence[str]
) -> list[RecordT]:
    """Records in Xero's `order` ("Date ASC, Narration DESC"); unset values sort first."""
    if order is None or not order.strip():
        return list(records)
    known = {name.lower(): name for name in fields}
    keys: list[tuple[str, bool]] = []
    for part in order.split(","):
        words = part.split()
        if not words or len(words) > 2 or words[0].lower() not in known:
            raise QueryError(f"Cannot order by '{part.strip()}'")
        descending = len(words) == 2 and words[1].upper() == "DESC"
        if len(words) == 2 and words[1].upper() not in ("ASC", "DESC"):
            raise QueryError(f"Order direction must be ASC or DESC, not '{words[1]}'")
        keys.append((known[words[0].lower()], descending))
    ordered = list(records)
    for field, descending in reversed(keys):  # stable sorts, least significant first
        ordered.sort(key=_key_of(field), reverse=descending)
    return ordered


def _key_of(field: str) -> Callable[[Record], tuple[int, Any]]:
    return lambda record: _sort_key(record.get(field))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.timestamp())
    return (1, _comparable(value))

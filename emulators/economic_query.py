"""Collections of the e-conomic emulator: pages, filters and sorting, as e-conomic documents
them (github.com/e-conomic/slate, source/includes/_introduction.md):

- collections: `{"collection": [...], "pagination": {...}, "self"}`, `skippages`/`pagesize`
  (20 by default, at most 1,000);
- filters: `?filter=date$eq:2025-03-01$and:text$like:abc`, operators `$eq: $ne: $gt: $gte:
  $lt: $lte: $like: $in: $nin:`, `$and:`/`$or:`, parentheses, escapes `$$ $( $) $* $, $[ $]`,
  `$null:`; string comparisons are case-insensitive; `$like:` without `*` means "contains";
- sorting: `?sort=-name,age`, `~` for alphabetical order of numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from emulators.economic_common import EconomicError, JsonDict

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000

# e-conomic's answer to an unparsable filter, as quoted on its API forum
# (https://apiforum.e-conomic.com/19921/rest-api-parameters).
FILTER_OPERATORS = {
    "Equals": "$eq:",
    "Not equals": "$ne:",
    "Greater than": "$gt:",
    "Greater than or equal": "$gte:",
    "Less than": "$lt:",
    "Less than or equal": "$lte:",
    "Substring match": "$like:",
    "And also": "$and:",
    "Or else": "$or:",
    "In": "$in:",
    "Not in": "$nin:",
}
FILTER_ESCAPES = {"$": "$$", "(": "$(", ")": "$)", "*": "$*", ",": "$,", "[": "$[", "]": "$]"}


# -- collections --------------------------------------------------------------------------


def page_params(query: Mapping[str, str]) -> tuple[int, int]:
    """`skippages` and `pagesize` (names case-insensitive); a page size above the maximum is
    cut to it, as `pagination.maxPageSizeAllowed` tells the client."""
    lowered = {k.lower(): v for k, v in query.items()}
    try:
        skip = int(lowered.get("skippages", "0"))
        size = int(lowered.get("pagesize", str(DEFAULT_PAGE_SIZE)))
    except ValueError as exc:
        raise EconomicError(
            400,
            "skippages and pagesize must be whole numbers.",
            "Use ?skippages=0&pagesize=20.",
        ) from exc
    if skip < 0 or size < 1:
        raise EconomicError(400, "skippages must be >= 0 and pagesize >= 1.")
    return skip, min(size, MAX_PAGE_SIZE)


def collection(
    url: str,
    query: Mapping[str, str],
    items: Sequence[JsonDict],
    *,
    filterable: Sequence[str],
    sortable: Sequence[str] | None = None,
) -> JsonDict:
    """A filtered, sorted page of `items` with e-conomic's pagination block and links."""
    skip, size = page_params(query)
    lowered = {k.lower(): v for k, v in query.items()}
    selected = list(items)
    if lowered.get("filter"):
        predicate = parse_filter(lowered["filter"], filterable)
        selected = [item for item in selected if predicate(item)]
    if lowered.get("sort"):
        selected = sort_items(selected, lowered["sort"], sortable or filterable)
    last = max(0, math.ceil(len(selected) / size) - 1)
    extra = {k: v for k, v in query.items() if k.lower() not in ("skippages", "pagesize")}

    def link(skip_pages: int) -> str:
        return url + "?" + urlencode({"skippages": skip_pages, "pagesize": size, **extra})

    pagination: JsonDict = {
        "maxPageSizeAllowed": MAX_PAGE_SIZE,
        "skipPages": skip,
        "pageSize": size,
        "results": len(selected),
        "resultsWithoutFilter": len(items),
        "firstPage": link(0),
    }
    if skip < last:
        pagination["nextPage"] = link(skip + 1)
    pagination["lastPage"] = link(last)
    return {
        "collection": selected[skip * size : (skip + 1) * size],
        "pagination": pagination,
        "self": link(skip),
    }


def lookup(item: Mapping[str, Any], dotted: str) -> Any:
    """`item["voucher"]["voucherNumber"]` for "voucher.voucherNumber"; None if absent."""
    value: Any = item
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def sort_items(items: list[JsonDict], spec: str, sortable: Sequence[str]) -> list[JsonDict]:
    """`?sort=-date,text`: stable multi-key sort; '~' (alphabetical numbers) is honoured."""
    for raw in reversed([s.strip() for s in spec.split(",") if s.strip()]):
        descending = raw.startswith("-")
        name = raw.lstrip("-~")
        alphabetical = "~" in raw
        if name not in sortable:
            raise EconomicError(
                400,
                f"Sorting on property '{name}' is not allowed.",
                "Sortable properties: " + ", ".join(sortable),
            )

        def key(item: JsonDict, name: str = name, alphabetical: bool = alphabetical) -> Any:
            value = lookup(item, name)
            if value is None:
                return (0, "")
            if alphabetical or isinstance(value, str):
                return (1, str(value).casefold())
            return (1, Decimal(str(value)))

        items = sorted(items, key=key, reverse=descending)
    return items


# -- filters ------------------------------------------------------------------------------

Predicate = Callable[[Mapping[str, Any]], bool]
_COMPARISONS = ("$gte:", "$lte:", "$like:", "$nin:", "$eq:", "$ne:", "$gt:", "$lt:", "$in:")


def filter_error() -> EconomicError:
    """e-conomic's 400 for a filter it cannot parse (text from its API forum)."""
    return EconomicError(
        400,
        "Could not parse query string filter.",
        "Filtering on collections can be done using the querystring parameter 'filter'. "
        "Use the allowed operators and escape characters.",
        extra={
            "allowedFilteringOperators": FILTER_OPERATORS,
            "escapeCharacters": FILTER_ESCAPES,
            "wildcard": "*",
            "nullValue": "$null:",
        },
    )


def parse_filter(text: str, filterable: Sequence[str]) -> Predicate:
    """A predicate over rendered items for an e-conomic filter expression."""
    parser = _FilterParser(text, filterable)
    predicate = parser.expression()
    if parser.pos != len(text):
        raise filter_error()
    return predicate


class _FilterParser:
    """Left-to-right `$and:`/`$or:` chains of predicates, with parentheses for grouping."""

    def __init__(self, text: str, filterable: Sequence[str]) -> None:
        self.text = text
        self.pos = 0
        self.filterable = filterable

    def expression(self) -> Predicate:
        result = self.term()
        while self.pos < len(self.text) and self.text[self.pos] != ")":
            if self.text.startswith("$and:", self.pos):
                self.pos += 5
                left, right = result, self.term()
                result = _both(left, right)
            elif self.text.startswith("$or:", self.pos):
                self.pos += 4
                left, right = result, self.term()
                result = _either(left, right)
            else:
                raise filter_error()
        return result

    def term(self) -> Predicate:
        if self.text.startswith("(", self.pos):
            self.pos += 1
            inner = self.expression()
            if not self.text.startswith(")", self.pos):
                raise filter_error()
            self.pos += 1
            return inner
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] != "$":
            self.pos += 1
        name = self.text[start : self.pos]
        operator = next((op for op in _COMPARISONS if self.text.startswith(op, self.pos)), None)
        if not name or operator is None:
            raise filter_error()
        if name not in self.filterable:
            error = filter_error()
            error.extra["allowedFilteringFields"] = list(self.filterable)
            raise error
        self.pos += len(operator)
        raw, is_null = self.value()
        return _comparison(name, operator, raw, is_null)

    def value(self) -> tuple[str, bool]:
        """The value up to the next unescaped `$`-operator or `)`, with escapes resolved; an
        unescaped '*' (a wildcard) comes back as NUL so an escaped one stays literal."""
        if self.text.startswith("$null:", self.pos):
            self.pos += len("$null:")
            return "", True
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "$":
                nxt = self.text[self.pos + 1 : self.pos + 2]
                if nxt in ("$", "(", ")", "*", ",", "[", "]"):
                    out.append(nxt)
                    self.pos += 2
                    continue
                break
            if ch == ")":
                break
            out.append("\x00" if ch == "*" else ch)
            self.pos += 1
        return "".join(out), False


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda item: left(item) and right(item)


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda item: left(item) or right(item)


def _comparison(name: str, operator: str, raw: str, is_null: bool) -> Predicate:
    if is_null:
        if operator == "$eq:":
            return lambda item: lookup(item, name) is None
        if operator == "$ne:":
            return lambda item: lookup(item, name) is not None
        raise filter_error()
    if operator in ("$in:", "$nin:"):
        members = _number_list(raw)
        wanted = operator == "$in:"
        return lambda item: (_as_number(lookup(item, name)) in members) == wanted
    if operator == "$like:":
        pattern = _like_pattern(raw)
        return lambda item: (
            isinstance(lookup(item, name), str) and bool(pattern.fullmatch(str(lookup(item, name))))
        )
    literal = raw.replace("\x00", "*")

    def compare(item: Mapping[str, Any]) -> bool:
        value = lookup(item, name)
        if value is None:
            return operator == "$ne:"
        ordering = _order(value, literal)
        return {
            "$eq:": ordering == 0,
            "$ne:": ordering != 0,
            "$gt:": ordering > 0,
            "$gte:": ordering >= 0,
            "$lt:": ordering < 0,
            "$lte:": ordering <= 0,
        }[operator]

    return compare


def _order(value: Any, literal: str) -> int:
    """-1/0/1 comparing an item's value with the filter's literal, by the value's type."""
    if isinstance(value, bool):
        left: Any = value
        right: Any = literal.lower() == "true"
    elif isinstance(value, (int, float, Decimal)):
        left = Decimal(str(value))
        try:
            right = Decimal(literal)
        except InvalidOperation as exc:
            raise filter_error() from exc
    else:
        left, right = str(value).casefold(), literal.casefold()
    return int(left > right) - int(left < right)


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Decimal(str(value))
    return None


def _number_list(raw: str) -> set[Decimal | None]:
    """`[2,5,7]` (numeric properties only; `$null:` may be a member)."""
    if not (raw.startswith("[") and raw.endswith("]")):
        raise filter_error()
    members: set[Decimal | None] = set()
    for part in raw[1:-1].split(","):
        part = part.strip()
        try:
            members.add(None if part == "$null:" else Decimal(part))
        except InvalidOperation as exc:
            raise filter_error() from exc
    if len(members) > 200:
        raise filter_error()
    return members


def _like_pattern(raw: str) -> re.Pattern[str]:
    text = raw
    if "\x00" not in text:
        text = "\x00" + text + "\x00"  # no wildcard: a "contains" match
    parts = [re.escape(p) for p in text.split("\x00")]
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)

"""Connections, cursors and the search syntax of the Shopify emulator's queries."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from graphql import GraphQLError

__all__ = [
    "MAX_INPUT_SIZE",
    "MAX_PAGE",
    "connection",
    "input_size",
    "keyed_connection",
    "sku_filter",
    "time_filter",
]

MAX_PAGE = 250
MAX_INPUT_SIZE = 250
Key = tuple[float, int]


def input_size(items: Sequence[object]) -> None:
    """Shopify's input limit: arrays of at most 250 items."""
    if len(items) > MAX_INPUT_SIZE:
        raise GraphQLError(
            f"The input array size of {len(items)} is greater than the maximum allowed "
            f"of {MAX_INPUT_SIZE}.",
            extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
        )


def _page_size(first: int | None, last: int | None) -> int:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if last is not None:
        raise GraphQLError("the emulator pages forward only (use first/after)")
    assert first is not None
    if not 0 <= first <= MAX_PAGE:
        raise GraphQLError(f"The 'first' argument must be between 0 and {MAX_PAGE}")
    return first


def _page(edges: list[dict[str, Any]], more: bool, earlier: bool) -> dict[str, Any]:
    return {
        "nodes": [e["node"] for e in edges],
        "edges": edges,
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": earlier,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def connection(
    items: Sequence[Any], first: int | None, after: str | None, last: int | None = None
) -> dict[str, Any]:
    """A connection over a fixed list, cursors being positions in it."""
    size = _page_size(first, last)
    start = _offset(after) + 1
    chosen = list(enumerate(items))[start : start + size]
    edges = [{"cursor": _encode(f"cursor:{i}"), "node": item} for i, item in chosen]
    return _page(edges, start + size < len(items), start > 0)


def keyed_connection(
    items: Sequence[tuple[Key, Any]], first: int | None, after: str | None, last: int | None
) -> dict[str, Any]:
    """A connection over items sorted by key; a cursor names its item's key."""
    size = _page_size(first, last)
    ordered = sorted(items, key=lambda pair: pair[0])
    if after is not None:
        mark = _key(after)
        ordered = [pair for pair in ordered if pair[0] > mark]
    chosen = ordered[:size]
    edges = [{"cursor": _encode(f"key:{k[0]!r}:{k[1]}"), "node": node} for k, node in chosen]
    return _page(edges, len(ordered) > size, after is not None)


def _encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _decode(cursor: str) -> list[str]:
    try:
        return base64.b64decode(cursor).decode().split(":")
    except ValueError as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from exc


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return -1
    parts = _decode(cursor)
    if len(parts) != 2 or parts[0] != "cursor" or not parts[1].isdigit():
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}")
    return int(parts[1])


def _key(cursor: str) -> Key:
    parts = _decode(cursor)
    try:
        return float(parts[1]), int(parts[2])
    except (ValueError, IndexError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from exc


# One term of a search: `sku:"quoted, spaces and \" escapes kept"`, `sku:bare`, the `OR`
# connective, or any other word. Quoted values are whole: an " OR " inside one is text.
_TERM = re.compile(r'sku:"((?:[^"\\]|\\.)*)"|sku:(\S+)|(\S+)')
_TIME_TERM = re.compile(r"^(updated_at|occurred_at):(>=|<=|>|<)?'?([^' ]+?)'?$")


def sku_filter(query: str | None) -> set[str] | None:
    """SKUs named by `sku:A OR sku:"B"`; None for no filter. Other terms match nothing."""
    if not query or not query.strip():
        return None
    wanted: set[str] = set()
    for match in _TERM.finditer(query):
        quoted, bare, _other = match.groups()
        if quoted is not None:
            wanted.add(re.sub(r"\\(.)", r"\1", quoted))
        elif bare is not None:
            wanted.add(bare)
    return wanted


def time_filter(query: str | None, field: str) -> Callable[[datetime], bool]:
    """A predicate for `field:>'2025-01-01T00:00:00Z'` terms (ANDed); unknown terms refuse."""
    checks: list[Callable[[datetime], bool]] = []
    for term in (query or "").replace(" AND ", " ").split():
        match = _TIME_TERM.match(term)
        if not match or match.group(1) != field:
            raise GraphQLError(f"the emulator does not understand the search term {term!r}")
        op, text = match.group(2) or ">=", match.group(3)
        try:
            bound = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise GraphQLError(f"invalid date in search term {term!r}") from exc
        if bound.tzinfo is None:
            raise GraphQLError(f"search term {term!r} needs a timezone (Z)")
        checks.append(_compare(op, bound))
    return lambda moment: all(check(moment) for check in checks)


def _compare(op: str, bound: datetime) -> Callable[[datetime], bool]:
    if op == ">":
        return lambda m: m > bound
    if op == ">=":
        return lambda m: m >= bound
    if op == "<":
        return lambda m: m < bound
    return lambda m: m <= bound

"""Magento's `searchCriteria` query: filter groups (AND of groups, OR of filters inside a
group), sort orders and paging, as Magento\\Framework\\Api\\SearchCriteria reads them.

Query keys come in the spec's camelCase (`searchCriteria[filterGroups][0][filters][0]
[conditionType]`) or in snake_case (`filter_groups`, `condition_type`), which Magento's
REST layer accepts alike. A page past the end answers the LAST page again (Magento's
collections clamp `currentPage`), so clients must stop by `total_count`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

Json = dict[str, Any]
_KEY = re.compile(r"^searchCriteria((?:\[[^\]]*\])+)$")
_PART = re.compile(r"\[([^\]]*)\]")
_ALIASES = {
    "filterGroups": "filter_groups",
    "conditionType": "condition_type",
    "sortOrders": "sort_orders",
    "pageSize": "page_size",
    "currentPage": "current_page",
}
CONDITIONS = ("eq", "neq", "in", "nin", "gt", "gteq", "lt", "lteq", "like", "nlike", "null")


class SearchError(ValueError):
    """A searchCriteria Magento would refuse (an unknown condition type)."""


@dataclass
class Filter:
    field: str
    value: str
    condition_type: str = "eq"


@dataclass
class Criteria:
    groups: list[list[Filter]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    def echo(self) -> Json:
        """The `search_criteria` a search result repeats."""
        out: Json = {
            "filter_groups": [
                {
                    "filters": [
                        {"field": f.field, "value": f.value, "condition_type": f.condition_type}
                        for f in group
                    ]
                }
                for group in self.groups
            ]
        }
        if self.sort:
            out["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort]
        if self.page_size is not None:
            out["page_size"] = self.page_size
        if self.current_page is not None:
            out["current_page"] = self.current_page
        return out


def parse_criteria(query: Sequence[tuple[str, str]]) -> Criteria:
    """Read the searchCriteria keys of a query string into a Criteria."""
    tree: dict[str, Any] = {}
    for key, value in query:
        match = _KEY.match(key)
        if not match:
            continue
        parts = [_ALIASES.get(p, p) for p in _PART.findall(match.group(1))]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    criteria = Criteria()
    for _, group in sorted(_indexed(tree.get("filter_groups"))):
        filters = []
        for _, raw in sorted(_indexed(group.get("filters") if isinstance(group, dict) else None)):
            if not isinstance(raw, dict) or "field" not in raw:
                continue
            condition = str(raw.get("condition_type") or "eq")
            if condition not in CONDITIONS:
                raise SearchError(condition)
            filters.append(Filter(str(raw["field"]), str(raw.get("value", "")), condition))
        if filters:
            criteria.groups.append(filters)
    for _, raw in sorted(_indexed(tree.get("sort_orders"))):
        if isinstance(raw, dict) and raw.get("field"):
            criteria.sort.append((str(raw["field"]), str(raw.get("direction") or "ASC").upper()))
    criteria.page_size = _int(tree.get("page_size"))
    criteria.current_page = _int(tree.get("current_page"))
    return criteria


def _indexed(node: object) -> list[tuple[int, Any]]:
    if not isinstance(node, dict):
        return []
    return [(int(k), v) for k, v in node.items() if str(k).isdigit()]


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


Getter = Callable[[Any, str], object]


def search(records: Sequence[Any], criteria: Criteria, get: Getter) -> tuple[list[Any], int]:
    """(the page, total_count) of `records` matching `criteria`; `get(record, field)`
    reads a field (None when the record has none)."""
    found = [r for r in records if all(_any(r, group, get) for group in criteria.groups)]
    for name, direction in reversed(criteria.sort):
        found.sort(key=lambda r: _sort_key(get(r, name)), reverse=direction == "DESC")
    total = len(found)
    size = criteria.page_size
    if not size or size <= 0:
        return found, total
    last_page = max(1, -(-total // size))
    page = min(max(1, criteria.current_page or 1), last_page)
    return found[(page - 1) * size : page * size], total


Index = Mapping[str, Callable[[list[str]], list[Any]]]


def narrow(records: Sequence[Any], criteria: Criteria, index: Index) -> Sequence[Any]:
    """The records a search can match, found by an index where one filter group is a lone
    `eq`/`in` on an indexed field (a SKU or id lookup need not scan the catalogue);
    `search` still applies every filter to them."""
    for group in criteria.groups:
        if len(group) == 1 and group[0].field in index and group[0].condition_type in ("eq", "in"):
            f = group[0]
            values = [f.value] if f.condition_type == "eq" else f.value.split(",")
            return index[f.field]([v.strip() for v in values])
    return records


def _any(record: Any, group: Sequence[Filter], get: Getter) -> bool:
    return any(_matches(get(record, f.field), f) for f in group)


def _matches(actual: object, f: Filter) -> bool:
    kind = f.condition_type
    if kind == "null":
        return actual is None
    if actual is None:
        return kind in ("neq", "nin", "nlike")
    text = _text(actual)
    if kind in ("in", "nin"):
        inside = text in {v.strip() for v in f.value.split(",")}
        return inside if kind == "in" else not inside
    if kind in ("like", "nlike"):
        pattern = "^" + re.escape(f.value).replace("%", ".*").replace("_", ".") + "$"
        hit = re.match(pattern, text, re.IGNORECASE | re.DOTALL) is not None
        return hit if kind == "like" else not hit
    order = _compare(actual, f.value)
    return {
        "eq": order == 0,
        "neq": order != 0,
        "gt": order > 0,
        "gteq": order >= 0,
        "lt": order < 0,
        "lteq": order <= 0,
    }[kind]


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _compare(actual: object, wanted: str) -> int:
    """Numbers compare as numbers, everything else (timestamps) as MySQL compares text."""
    try:
        a, b = Decimal(_text(actual)), Decimal(wanted)
    except InvalidOperation:
        left, right = _text(actual).lower(), wanted.lower()
        return (left > right) - (left < right)
    return (a > b) - (a < b)


def _sort_key(value: object) -> tuple[int, Decimal, str]:
    if value is None:
        return (0, Decimal(0), "")
    try:
        return (1, Decimal(_text(value)), "")
    except InvalidOperation:
        return (2, Decimal(0), _text(value))


def query_pairs(params: Mapping[str, str] | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def only_fields(value: Any, fields: str) -> Any:
    """Magento's `fields` response filter: `items[id,extension_attributes[links]],total_count`
    keeps those keys (nested in brackets) of every object, through lists."""
    return _keep(value, _field_tree(fields))


FieldTree = dict[str, "FieldTree | None"]


def _field_tree(text: str) -> FieldTree:
    tree: FieldTree = {}
    stack: list[FieldTree] = [tree]
    name = ""
    for char in text + ",":
        if char in ",[]":
            if name.strip():
                stack[-1][name.strip()] = None
            if char == "[":
                child: FieldTree = {}
                stack[-1][name.strip()] = child
                stack.append(child)
            elif char == "]" and len(stack) > 1:
                stack.pop()
            name = ""
        else:
            name += char
    return tree


def _keep(value: Any, tree: FieldTree) -> Any:
    if isinstance(value, list):
        return [_keep(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        key: value[key] if sub is None else _keep(value[key], sub)
        for key, sub in tree.items()
        if key in value
    }

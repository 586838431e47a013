"""What every Magento 2 call shares: the error parser, `searchCriteria` query building and
the pager that stops by `total_count`.

Magento answers a page past the end with the LAST page again (its collections clamp
`currentPage`), so a pager that waits for an empty page never ends: pages are counted
against `total_count` instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from possync.vendors.errors import FatalError
from possync.vendors.http import ApiClient

__all__ = [
    "Filter",
    "allowed_page_size",
    "magento_error",
    "magento_time",
    "parse_magento_time",
    "render_message",
    "search_pages",
    "search_params",
]

Json = dict[str, Any]
# (field, value, condition_type); a group is OR-ed inside, groups are AND-ed
Filter = tuple[str, str, str]
STAMP = "%Y-%m-%d %H:%M:%S"


def render_message(message: str, parameters: object) -> str:
    """Magento's message with its placeholders filled: %1, %2 by position, %name by key."""
    if isinstance(parameters, dict):
        for key, value in parameters.items():
            message = message.replace(f"%{key}", str(value))
    elif isinstance(parameters, list):
        for index in range(len(parameters), 0, -1):
            message = message.replace(f"%{index}", str(parameters[index - 1]))
    return message


def magento_error(response: httpx.Response) -> tuple[str | None, str]:
    """Magento's error-response: {"message", "parameters", "code"?, "errors"?}."""
    body = response.json()
    if isinstance(body, dict) and "message" in body:
        message = render_message(str(body["message"]), body.get("parameters"))
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            details = [
                render_message(str(e.get("message") or ""), e.get("parameters"))
                for e in errors
                if isinstance(e, dict)
            ]
            message = "; ".join([message, *details])
        code = body.get("code")
        return (str(code) if code is not None else None), message
    return None, response.reason_phrase


def magento_time(moment: datetime) -> str:
    """Magento's timestamps: 'YYYY-MM-DD HH:MM:SS' in UTC."""
    return moment.astimezone(UTC).strftime(STAMP)


def parse_magento_time(value: object) -> datetime:
    return datetime.strptime(str(value), STAMP).replace(tzinfo=UTC)


def search_params(
    groups: Sequence[Sequence[Filter]],
    *,
    sort: Sequence[tuple[str, str]] = (),
    page_size: int | None = None,
    page: int | None = None,
) -> dict[str, str]:
    """searchCriteria as query parameters, in the 2.4.9 schema's camelCase names."""
    params: dict[str, str] = {}
    for g, group in enumerate(groups):
        for f, (name, value, condition) in enumerate(group):
            key = f"searchCriteria[filterGroups][{g}][filters][{f}]"
            params[f"{key}[field]"] = name
            params[f"{key}[value]"] = value
            params[f"{key}[conditionType]"] = condition
    for s, (name, direction) in enumerate(sort):
        params[f"searchCriteria[sortOrders][{s}][field]"] = name
        params[f"searchCriteria[sortOrders][{s}][direction]"] = direction
    if page_size is not None:
        params["searchCriteria[pageSize]"] = str(page_size)
    if page is not None:
        params["searchCriteria[currentPage]"] = str(page)
    return params


def search_pages(
    api: ApiClient,
    path: str,
    groups: Sequence[Sequence[Filter]],
    *,
    page_size: int,
    sort: Sequence[tuple[str, str]] = (),
    fields: str | None = None,
) -> Iterator[list[Json]]:
    """Every page of a search, stopping once `total_count` items were read (never by an
    empty page: Magento repeats the last one). `fields` is Magento's response filter
    (`items[id,sku],total_count`); it must keep `total_count`."""
    page = 1
    seen = 0
    while True:
        params = search_params(groups, sort=sort, page_size=page_size, page=page)
        if fields:
            params["fields"] = fields
        body = api.get(path, params=params).json()
        items: list[Json] = list(body.get("items") or [])
        total = int(body.get("total_count") or 0)
        if items:
            yield items
        seen += len(items)
        if not items or seen >= total or page * page_size >= total:
            return
        page += 1


_MAX_PAGE = re.compile(r"Maximum SearchCriteria pageSize is (\d+)")


def allowed_page_size(error: FatalError) -> int | None:
    """The page size a store with Web API input limits allows, from its refusal."""
    match = _MAX_PAGE.search(error.vendor_message)
    return int(match.group(1)) if error.status == 400 and match else None

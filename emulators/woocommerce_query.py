"""Collection queries of the WooCommerce emulator: filters, ordering, pages, Link headers.

The arguments and their checks are those of the wc/v3 collection endpoints
(WC_REST_CRUD_Controller::get_collection_params and the products/orders additions).
Dates compare like WP_Query's date_query: `after`/`before` are exclusive, a time without
an offset is in the site's zone (or GMT with dates_are_gmt), and stored dates have whole
seconds, so two saves in the same second share a date_modified, as on a real shop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from emulators.woocommerce_catalog import (
    PRODUCT_TYPES,
    STOCK_STATUSES,
    Catalog,
    Product,
    min_child_price,
)
from emulators.woocommerce_orders import ORDER_STATUSES, Order
from emulators.woocommerce_params import (
    BOOL,
    INT,
    STR,
    Arg,
    ParamErrors,
    arg,
    check,
    decimal_of,
    parse_date,
    parse_id_list,
    parse_list,
    to_bool,
    to_int,
)

_BASE_ORDERBY = ("date", "id", "include", "title", "slug", "modified")
_DATE_ARGS = ("after", "before", "modified_after", "modified_before")

COLLECTION_ARGS: dict[str, Arg] = {
    "context": arg("string", enum=("view", "edit")),
    "page": arg("integer", minimum=1),
    "per_page": arg("integer", minimum=1, maximum=100),
    "search": STR,
    "offset": INT,
    "order": arg("string", enum=("asc", "desc")),
    "orderby": arg("string", enum=_BASE_ORDERBY),
    "dates_are_gmt": BOOL,
}
PRODUCT_COLLECTION_ARGS: dict[str, Arg] = {
    **COLLECTION_ARGS,
    "orderby": arg("string", enum=(*_BASE_ORDERBY, "menu_order", "price", "popularity", "rating")),
    "status": arg(
        "string", enum=("any", "future", "trash", "draft", "pending", "private", "publish")
    ),
    "type": arg("string", enum=PRODUCT_TYPES),
    "sku": STR,
    "slug": STR,
    "stock_status": arg("string", enum=STOCK_STATUSES),
}
VARIATION_COLLECTION_ARGS: dict[str, Arg] = {
    k: v for k, v in PRODUCT_COLLECTION_ARGS.items() if k != "type"
}
ORDER_COLLECTION_ARGS: dict[str, Arg] = {
    **COLLECTION_ARGS,
    "status": arg(
        "array",
        items=arg("string", enum=("any", "trash", *ORDER_STATUSES, "checkout-draft")),
    ),
    "customer": INT,
    "product": INT,
}
WEBHOOK_COLLECTION_ARGS: dict[str, Arg] = {
    **COLLECTION_ARGS,
    "orderby": arg("string", enum=("date", "id", "title")),
    "status": arg("string", enum=("all", "active", "paused", "disabled")),
}


@dataclass(frozen=True)
class Query:
    """A validated collection request."""

    raw: Mapping[str, Any]
    page: int
    per_page: int
    offset: int | None
    order: str
    orderby: str
    include: tuple[int, ...]
    exclude: tuple[int, ...]
    parent: tuple[int, ...]
    parent_exclude: tuple[int, ...]
    dates: tuple[tuple[str, datetime], ...]

    def value(self, name: str, default: str = "") -> str:
        raw = self.raw.get(name, default)
        return raw if isinstance(raw, str) else default

    def filter_key(self) -> tuple[Any, ...]:
        """Everything but the page window: what a cached ordering depends on."""
        skip = {
            "page",
            "per_page",
            "offset",
            "context",
            "_fields",
            "consumer_key",
            "consumer_secret",
        }
        return tuple(sorted((k, str(v)) for k, v in self.raw.items() if k not in skip))


def parse_query(
    raw: Mapping[str, Any],
    specs: Mapping[str, Arg],
    site_tz: tzinfo,
    array_args: Iterable[str] = (),
) -> Query:
    """Validate like WordPress (all failures in one rest_invalid_param) and normalise."""
    errors = ParamErrors()
    values = dict(raw)
    for name in array_args:
        if name in values:
            values[name] = parse_list(values[name])
    for name, spec in specs.items():
        if name in values:
            check(name, values[name], spec, errors)
    gmt = to_bool(values.get("dates_are_gmt", False))
    dates: list[tuple[str, datetime]] = []
    for name in _DATE_ARGS:
        if name in values:
            moment = parse_date(str(values[name]), UTC if gmt else site_tz)
            if moment is None:
                errors.add(name, "rest_invalid_date", "Invalid date.")
            else:
                dates.append((name, moment))
    errors.raise_if_any()
    return Query(
        raw=values,
        page=to_int(values.get("page", 1)),
        per_page=to_int(values.get("per_page", 10)),
        offset=abs(to_int(values["offset"])) if "offset" in values else None,
        order=str(values.get("order", "desc")),
        orderby=str(values.get("orderby", "date")),
        include=tuple(parse_id_list(values.get("include", []))),
        exclude=tuple(parse_id_list(values.get("exclude", []))),
        parent=tuple(parse_id_list(values.get("parent", []))),
        parent_exclude=tuple(parse_id_list(values.get("parent_exclude", []))),
        dates=tuple(dates),
    )


# --- shared filters -----------------------------------------------------------------------


def _dates_match(query: Query, created: datetime, modified: datetime) -> bool:
    for name, moment in query.dates:
        value = modified if name.startswith("modified") else created
        if name.endswith("after") and not value > moment:
            return False
        if name.endswith("before") and not value < moment:
            return False
    return True


def _ids_match(query: Query, item_id: int, parent_id: int) -> bool:
    if query.include and item_id not in query.include:
        return False
    if item_id in query.exclude:
        return False
    if query.parent and parent_id not in query.parent:
        return False
    return parent_id not in query.parent_exclude


def _search_match(terms: Sequence[str], *fields: str) -> bool:
    """WP search: every space-separated term appears in the title, excerpt or content."""
    haystack = [f.casefold() for f in fields]
    return all(any(t in h for h in haystack) for t in terms)


# --- products --------------------------------------------------------------------------


def product_candidates(catalog: Catalog, query: Query, parent_id: int | None) -> Iterable[Product]:
    """`sku` is an exact, comma-separated match that includes variations (WC v3 quirk)."""
    sku = query.value("sku")
    if sku:
        skus = sku.split(",")
        if len(skus) > 1:
            skus.append(sku)  # WooCommerce also tries the whole string as one SKU
        found = (catalog.get(catalog.id_for_sku(s) or 0) for s in skus)
        unique = {p.id: p for p in found if p is not None}
        return [p for p in unique.values() if parent_id is None or p.parent_id == parent_id]
    if parent_id is not None:
        parent = catalog.get(parent_id)
        children = parent.children if parent is not None else []
        return [c for c in (catalog.get(i) for i in children) if c is not None]
    return (catalog.items[i] for i in catalog.product_ids)


def product_matches(query: Query, item: Product, variations: bool) -> bool:
    status = query.value("status", "any")
    if status == "any" and item.status == "trash":
        return False
    if status != "any" and item.status != status:
        return False
    wanted_type = query.value("type")
    if wanted_type and item.type != wanted_type:
        return False  # variations carry no product_type term, so any type filter drops them
    if query.value("stock_status") and item.stock_status != query.value("stock_status"):
        return False
    if query.value("slug") and item.slug != query.value("slug"):
        return False
    if not _ids_match(query, item.id, item.parent_id if variations else 0):
        return False
    terms = query.value("search").casefold().split()
    if terms and not _search_match(terms, item.name, item.description, item.short_description):
        return False
    return _dates_match(query, item.date_created, item.date_modified)


def product_sort_key(catalog: Catalog, query: Query) -> Callable[[Product], Any]:
    orderby = query.orderby
    if orderby == "include":
        position = {item_id: n for n, item_id in enumerate(query.include)}
        return lambda p: (position.get(p.id, len(position)), p.id)
    keys: dict[str, Callable[[Product], Any]] = {
        "date": lambda p: (p.date_created, p.id),
        "modified": lambda p: (p.date_modified, p.id),
        "id": lambda p: p.id,
        "title": lambda p: (p.name.casefold(), p.id),
        "slug": lambda p: (p.slug, p.id),
        "menu_order": lambda p: (p.extra.get("menu_order", 0), p.id),
        "price": lambda p: (_price(catalog, p), p.id),
        "popularity": lambda p: (p.total_sales, p.id),
        "rating": lambda p: p.id,
    }
    return keys[orderby]


def _price(catalog: Catalog, item: Product) -> Decimal:
    price = min_child_price(catalog, item) if item.type == "variable" else item.price
    return decimal_of(price)


# --- orders --------------------------------------------------------------------------------


def order_matches(query: Query, order: Order) -> bool:
    statuses = [s.removeprefix("wc-") for s in query.raw.get("status", ["any"])]
    if "any" in statuses:
        if order.status == "trash":
            return False
    elif order.status not in statuses:
        return False
    if not _ids_match(query, order.id, order.parent_id):
        return False
    product = to_int(query.raw.get("product", 0))
    if product and not any(product in (i.product_id, i.variation_id) for i in order.line_items):
        return False
    terms = query.value("search").casefold().split()
    if terms and not _search_match(terms, *(str(v) for v in order.billing.values())):
        return False
    return _dates_match(query, order.date_created, order.date_modified)


def order_sort_key(query: Query) -> Callable[[Order], Any]:
    if query.orderby == "include":
        position = {item_id: n for n, item_id in enumerate(query.include)}
        return lambda o: (position.get(o.id, len(position)), o.id)
    if query.orderby == "modified":
        return lambda o: (o.date_modified, o.id)
    if query.orderby in ("id", "title", "slug"):
        return lambda o: o.id
    return lambda o: (o.date_created, o.id)


# --- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    ids: list[int]
    total: int
    pages: int


def paginate(ordered: Sequence[int], query: Query) -> Page:
    start = query.offset if query.offset is not None else (query.page - 1) * query.per_page
    window = list(ordered[start : start + query.per_page])
    return Page(window, len(ordered), math.ceil(len(ordered) / query.per_page))


def page_headers(page: Page, query: Query, base_url: str) -> list[tuple[str, str]]:
    """X-WP-Total, X-WP-TotalPages and one Link header per relation, as WordPress sends them."""
    headers = [("X-WP-Total", str(page.total)), ("X-WP-TotalPages", str(page.pages))]
    params = {k: v for k, v in query.raw.items() if k != "page"}
    if query.page > 1:
        prev_page = min(query.page - 1, page.pages)
        headers.append(("Link", f'<{_with_page(base_url, params, prev_page)}>; rel="prev"'))
    if page.pages > query.page:
        headers.append(("Link", f'<{_with_page(base_url, params, query.page + 1)}>; rel="next"'))
    return headers


def _with_page(base_url: str, params: Mapping[str, Any], page: int) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, list):
            pairs += [(f"{key}[]", str(v)) for v in value]
        else:
            pairs.append((key, str(value)))
    pairs.append(("page", str(page)))
    return f"{base_url}?{urlencode(pairs)}"


class OrderedCache:
    """Remembers the last few sorted id lists, so paging through 100k items stays cheap."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._entries: dict[tuple[Any, ...], list[int]] = {}

    def get(self, key: tuple[Any, ...], build: Callable[[], list[int]]) -> list[int]:
        found = self._entries.get(key)
        if found is None:
            found = build()
            if len(self._entries) >= self._size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = found
        return found

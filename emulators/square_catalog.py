"""The emulated Square catalog: ITEM objects with their embedded ITEM_VARIATIONs, and TAXes.

Objects are kept in creation order (that order is what ListCatalog and SearchCatalogObjects
page through) and indexed by id and by SKU/UPC, so a 100k-SKU catalogue answers lookups
without scanning. A deleted object stays, marked `is_deleted` with the deletion's version,
so SearchCatalogObjects can report it (`include_deleted_objects`, `begin_time`); every other
read skips it. An object's `version` is the millisecond of its last write, which is also its
`updated_at`, as in Square's examples. Not thread-safe by itself: `SquareState` holds the lock.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import get_args

from emulators.square_common import (
    IdFactory,
    JsonDict,
    SquareError,
    decode_cursor,
    encode_cursor,
    fingerprint,
    invalid,
    money,
    parse_rfc3339_us,
    rfc3339,
)
from emulators.square_models import (
    CatalogObjectType,
    CatalogQuery,
    SearchCatalogObjectsRequest,
)

LIST_PAGE_SIZE = 100  # ListCatalog: "The page size is currently set to be 100."
SEARCH_DEFAULT_LIMIT = 100
SEARCH_MAX_LIMIT = 1000  # SearchCatalogObjects: "the maximum limit of 1,000"

# What ListCatalog/SearchCatalogObjects return when no types are given (spec, 2025-08-20).
DEFAULT_TYPES = frozenset(
    {
        "ITEM",
        "CATEGORY",
        "TAX",
        "DISCOUNT",
        "MODIFIER_LIST",
        "PRICING_RULE",
        "PRODUCT_SET",
        "TIME_PERIOD",
        "MEASUREMENT_UNIT",
        "SUBSCRIPTION_PLAN",
        "ITEM_OPTION",
        "CUSTOM_ATTRIBUTE_DEFINITION",
        "QUICK_AMOUNTS_SETTINGS",
    }
)

# Searchable attributes per object type (CatalogQuery's description in the spec).
SEARCHABLE = {
    "ITEM": ("name", "description", "abbreviation"),
    "ITEM_VARIATION": ("name", "upc", "sku"),
    "TAX": ("name",),
}
_ALL_SEARCHABLE = {"name", "description", "abbreviation", "upc", "sku", "caption", "display_name"}
_TOKEN = re.compile(r"[0-9a-z]+")


@dataclass(slots=True)
class Item:
    id: str
    name: str
    description: str
    position: int
    version: int
    variation_ids: list[str] = field(default_factory=list)
    is_taxable: bool = True
    is_archived: bool = False
    is_deleted: bool = False
    type: str = "ITEM"


@dataclass(slots=True)
class Variation:
    id: str
    item_id: str
    name: str
    sku: str
    upc: str
    ordinal: int
    amount: int
    position: int
    version: int
    track_inventory: bool = True
    sellable: bool = True
    stockable: bool = True
    is_deleted: bool = False
    type: str = "ITEM_VARIATION"


@dataclass(slots=True)
class Tax:
    """A CatalogTax; the fields a write left out stay None and are not rendered."""

    id: str
    name: str
    position: int
    version: int
    percentage: str | None = None
    inclusion_type: str | None = None
    calculation_phase: str | None = None
    applies_to_custom_amounts: bool | None = None
    enabled: bool | None = None
    is_deleted: bool = False
    type: str = "TAX"


CatalogObject = Item | Variation | Tax


class Catalog:
    """Catalog objects plus the indexes the endpoints need."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.objects: dict[str, CatalogObject] = {}
        self.order: list[str] = []
        self._by_sku: dict[str, list[str]] = {}
        self._by_upc: dict[str, list[str]] = {}
        self._exact_sku: dict[str, str] = {}
        self.updated_ms = 0  # when the catalogue last changed (SearchCatalogObjects' latest_time)

    # --- writing -------------------------------------------------------------------------

    def add_item(self, ids: IdFactory, name: str, description: str, version: int) -> Item:
        item = Item(ids.next("ITEM"), name, description, len(self.order), version)
        self._add(item)
        return item

    def add_variation(
        self,
        ids: IdFactory,
        item: Item,
        *,
        name: str,
        sku: str,
        upc: str,
        amount: int,
        version: int,
    ) -> Variation:
        variation = Variation(
            id=ids.next("ITEM_VARIATION"),
            item_id=item.id,
            name=name,
            sku=sku,
            upc=upc,
            ordinal=len(item.variation_ids),
            amount=amount,
            position=len(self.order),
            version=version,
        )
        self._add(variation)
        item.variation_ids.append(variation.id)
        self._index(variation)
        return variation

    def add_tax(self, ids: IdFactory, version: int) -> Tax:
        tax = Tax(ids.next("TAX"), "", len(self.order), version)
        self._add(tax)
        return tax

    def set_codes(self, variation: Variation, sku: str, upc: str) -> None:
        """Change a variation's SKU and UPC, keeping the lookup indexes right."""
        if (variation.sku, variation.upc) == (sku, upc):
            return
        self._by_sku[variation.sku.lower()].remove(variation.id)
        self._by_upc[variation.upc.lower()].remove(variation.id)
        self._drop_exact_sku(variation)
        variation.sku, variation.upc = sku, upc
        self._index(variation)

    def delete(self, obj: CatalogObject, version: int) -> list[str]:
        """Mark `obj` deleted (an ITEM takes its live variations along); the ids deleted."""
        if obj.is_deleted:
            return []
        deleted = [obj.id]
        if isinstance(obj, Item):
            deleted += [v for v in obj.variation_ids if not self._variation(v).is_deleted]
        for object_id in deleted:
            target = self.objects[object_id]
            target.is_deleted = True
            target.version = version
            if isinstance(target, Variation):
                self._drop_exact_sku(target)
        self.touch(version)
        return deleted

    def touch(self, version: int) -> None:
        """Note a write at `version` (SearchCatalogObjects' latest_time)."""
        self.updated_ms = max(self.updated_ms, version)

    def _index(self, variation: Variation) -> None:
        """Deleted variations stay in the SKU/UPC lists (a search may ask for deleted objects);
        only the exact-SKU lookup forgets them."""
        self._by_sku.setdefault(variation.sku.lower(), []).append(variation.id)
        self._by_upc.setdefault(variation.upc.lower(), []).append(variation.id)
        if not variation.is_deleted:
            self._exact_sku.setdefault(variation.sku, variation.id)

    def _drop_exact_sku(self, variation: Variation) -> None:
        if self._exact_sku.get(variation.sku) != variation.id:
            return
        del self._exact_sku[variation.sku]
        for other_id in self._by_sku.get(variation.sku.lower(), []):
            other = self._variation(other_id)
            if other.sku == variation.sku and not other.is_deleted and other_id != variation.id:
                self._exact_sku[variation.sku] = other_id
                return

    def _add(self, obj: CatalogObject) -> None:
        self.objects[obj.id] = obj
        self.order.append(obj.id)
        self.touch(obj.version)

    # --- reading -------------------------------------------------------------------------

    def variation_id_for_sku(self, sku: str) -> str:
        return self._exact_sku[sku]

    def live(self, object_id: str) -> CatalogObject | None:
        """The object with this id unless there is none or it was deleted."""
        obj = self.objects.get(object_id)
        return None if obj is None or obj.is_deleted else obj

    def variation(self, object_id: str) -> Variation | None:
        obj = self.live(object_id)
        return obj if isinstance(obj, Variation) else None

    def live_variations(self, item: Item) -> list[Variation]:
        return [v for v in map(self._variation, item.variation_ids) if not v.is_deleted]

    def _variation(self, variation_id: str) -> Variation:
        obj = self.objects[variation_id]
        assert isinstance(obj, Variation)
        return obj

    def item(self, item_id: str) -> Item:
        obj = self.objects[item_id]
        assert isinstance(obj, Item)
        return obj

    def tax(self, object_id: str) -> Tax | None:
        """A live TAX object, or None."""
        obj = self.live(object_id)
        return obj if isinstance(obj, Tax) else None

    def to_json(self, obj: CatalogObject) -> JsonDict:
        """The CatalogObject as Square returns it (an ITEM embeds its variations)."""
        if isinstance(obj, Variation):
            return self._variation_json(obj)
        if isinstance(obj, Tax):
            return self._tax_json(obj)
        data: JsonDict = {
            "name": obj.name,
            "description": obj.description,
            "is_taxable": obj.is_taxable,
            "variations": [self._variation_json(v) for v in self._shown_variations(obj)],
            "product_type": "REGULAR",
            "description_html": f"<p>{html.escape(obj.description)}</p>",
            "description_plaintext": obj.description,
            "is_archived": obj.is_archived,
        }
        return self._envelope(obj, "item_data", data)

    def _variation_json(self, v: Variation) -> JsonDict:
        data: JsonDict = {
            "item_id": v.item_id,
            "name": v.name,
            "sku": v.sku,
            "upc": v.upc,
            "ordinal": v.ordinal,
            "pricing_type": "FIXED_PRICING",
            "price_money": money(v.amount, self.currency),
            "track_inventory": v.track_inventory,
            "sellable": v.sellable,
            "stockable": v.stockable,
        }
        return self._envelope(v, "item_variation_data", data)

    def _tax_json(self, tax: Tax) -> JsonDict:
        data: JsonDict = {"name": tax.name}
        optional = {
            "calculation_phase": tax.calculation_phase,
            "inclusion_type": tax.inclusion_type,
            "percentage": tax.percentage,
            "applies_to_custom_amounts": tax.applies_to_custom_amounts,
            "enabled": tax.enabled,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return self._envelope(tax, "tax_data", data)

    def _shown_variations(self, item: Item) -> list[Variation]:
        """A live item embeds its live variations; a deleted one those deleted with it."""
        if not item.is_deleted:
            return self.live_variations(item)
        variations = map(self._variation, item.variation_ids)
        return [v for v in variations if v.is_deleted and v.version == item.version]

    @staticmethod
    def _envelope(obj: CatalogObject, data_key: str, data: JsonDict) -> JsonDict:
        return {
            "type": obj.type,
            "id": obj.id,
            "updated_at": rfc3339(obj.version),
            "version": obj.version,
            "is_deleted": obj.is_deleted,
            "present_at_all_locations": True,
            data_key: data,
        }

    def related(self, objects: Iterable[CatalogObject]) -> list[JsonDict]:
        """Objects that `objects` refer to: a variation's parent ITEM (our items refer to none)."""
        returned = {o.id for o in objects}
        parents: dict[str, None] = {}
        for obj in objects:
            if isinstance(obj, Variation) and obj.item_id not in returned:
                parents[obj.item_id] = None
        return [self.to_json(self.objects[i]) for i in parents]

    # --- ListCatalog -----------------------------------------------------------------------

    def list_page(self, types: str | None, cursor: str | None) -> JsonDict:
        wanted = parse_types(types)
        query = fingerprint(sorted(wanted))
        start = _position(cursor, "list", query)
        matches = (
            i
            for i in self.order[start:]
            if self.objects[i].type in wanted and not self.objects[i].is_deleted
        )
        return self._page(matches, LIST_PAGE_SIZE, "list", query, key="objects")

    def _page(
        self,
        matches: Iterator[str],
        size: int,
        kind: str,
        query: str,
        *,
        key: str,
        related: bool = False,
    ) -> JsonDict:
        page = [self.objects[i] for _, i in zip(range(size), matches, strict=False)]
        body: JsonDict = {}
        if page:
            body[key] = [self.to_json(o) for o in page]
        if related and page and (rel := self.related(page)):
            body["related_objects"] = rel
        if page and next(matches, None) is not None:
            body["cursor"] = encode_cursor(kind, page[-1].position + 1, query)
        return body

    # --- SearchCatalogObjects ----------------------------------------------------------------

    def search(self, req: SearchCatalogObjectsRequest) -> JsonDict:
        wanted = set(req.object_types) if req.object_types else set(DEFAULT_TYPES)
        query = req.query or CatalogQuery()
        _check_query(query)
        begin_ms = None
        if req.begin_time is not None:
            begin_ms = parse_rfc3339_us(req.begin_time, "begin_time") // 1000
        limit = req.limit if req.limit and 0 < req.limit <= SEARCH_MAX_LIMIT else None
        key = fingerprint(
            {
                "t": sorted(wanted),
                "q": query.model_dump(exclude_none=True),
                "b": req.begin_time,
                "d": bool(req.include_deleted_objects),
            }
        )
        start = _position(req.cursor, "search", key)
        candidates = self._candidates(query, start)
        deleted_too = bool(req.include_deleted_objects)

        def matches() -> Iterator[str]:
            for object_id in candidates:
                obj = self.objects[object_id]
                if obj.type not in wanted or (begin_ms is not None and obj.version <= begin_ms):
                    continue
                if obj.is_deleted and not deleted_too:
                    continue
                if _matches(obj, query):
                    yield object_id

        body = self._page(
            matches(),
            limit or SEARCH_DEFAULT_LIMIT,
            "search",
            key,
            key="objects",
            related=bool(req.include_related_objects),
        )
        if self.updated_ms:
            body["latest_time"] = rfc3339(self.updated_ms)
        return body

    def _candidates(self, query: CatalogQuery, start: int) -> Iterable[str]:
        """Ids to test, in catalogue order; an exact SKU/UPC query uses the index, not a scan."""
        exact = query.exact_query
        if exact is not None and exact.attribute_name in ("sku", "upc"):
            index = self._by_sku if exact.attribute_name == "sku" else self._by_upc
            ids = index.get(exact.attribute_value.lower(), [])
            return sorted(
                (i for i in ids if self.objects[i].position >= start),
                key=lambda i: self.objects[i].position,
            )
        return self.order[start:]


def parse_types(types: str | None) -> set[str]:
    """ListCatalog's `types`: a case-insensitive, comma-separated CatalogObjectType list."""
    if not types or not types.strip():
        return set(DEFAULT_TYPES)
    known = set(get_args(CatalogObjectType))
    wanted = {t.strip().upper() for t in types.split(",") if t.strip()}
    unknown = sorted(wanted - known)
    if unknown:
        raise invalid(
            f"Unknown catalog object type(s): {', '.join(unknown)}.",
            "types",
            code="INVALID_ENUM_VALUE",
        )
    return wanted


def _position(cursor: str | None, kind: str, query: str) -> int:
    if cursor is None:
        return 0
    position = decode_cursor(cursor, kind, query)
    if not isinstance(position, int) or position < 0:
        raise invalid("The pagination cursor is invalid.", "cursor", code="INVALID_CURSOR")
    return position


def _check_query(query: CatalogQuery) -> None:
    """Refuse what the emulator does not implement, and combinations Square forbids."""
    unsupported = [
        name
        for name in (
            "sorted_attribute_query",
            "range_query",
            "items_for_tax_query",
            "items_for_modifier_list_query",
            "items_for_item_options_query",
            "item_variations_for_item_option_values_query",
        )
        if getattr(query, name) is not None
    ]
    if unsupported:
        raise SquareError(
            400,
            "BAD_REQUEST",
            f"This emulator does not implement {unsupported[0]}.",
            f"query.{unsupported[0]}",
        )
    combinable = [query.exact_query, query.prefix_query, query.text_query]
    if query.set_query is not None and any(q is not None for q in combinable):
        raise invalid(
            "set_query cannot be combined with other query types.",
            "query.set_query",
            code="BAD_REQUEST",
        )
    for name, sub in (
        ("exact_query", query.exact_query),
        ("prefix_query", query.prefix_query),
        ("set_query", query.set_query),
    ):
        if sub is not None and sub.attribute_name not in _ALL_SEARCHABLE:
            raise invalid(
                f"Attribute `{sub.attribute_name}` is not searchable.",
                f"query.{name}.attribute_name",
            )
    if query.text_query is not None and not 1 <= len(query.text_query.keywords) <= 3:
        raise invalid(
            "text_query takes 1, 2 or 3 keywords.", "query.text_query.keywords", code="BAD_REQUEST"
        )


def _attribute(obj: CatalogObject, name: str) -> str | None:
    if name not in SEARCHABLE.get(obj.type, ()):
        return None
    value = getattr(obj, name, None)
    return value if isinstance(value, str) else None


def _matches(obj: CatalogObject, query: CatalogQuery) -> bool:
    """Exact and set matches are case-insensitive equality; prefix is case-insensitive."""
    if query.exact_query is not None:
        value = _attribute(obj, query.exact_query.attribute_name)
        if value is None or value.lower() != query.exact_query.attribute_value.lower():
            return False
    if query.set_query is not None:
        value = _attribute(obj, query.set_query.attribute_name)
        options = {v.lower() for v in query.set_query.attribute_values}
        if value is None or value.lower() not in options:
            return False
    if query.prefix_query is not None:
        value = _attribute(obj, query.prefix_query.attribute_name)
        prefix = query.prefix_query.attribute_prefix.lower()
        if value is None or not value.lower().startswith(prefix):
            return False
    if query.text_query is not None:
        return _text_match(obj, query.text_query.keywords)
    return True


def _text_match(obj: CatalogObject, keywords: list[str]) -> bool:
    """Every keyword (3+ alphanumerics; shorter ones are ignored) starts a token of the object."""
    tokens: set[str] = set()
    for name in SEARCHABLE.get(obj.type, ()):
        value = _attribute(obj, name)
        if value:
            tokens.update(_TOKEN.findall(value.lower()))
    usable = [k.lower() for k in keywords if len(re.sub(r"[^0-9A-Za-z]", "", k)) >= 3]
    words = [w for k in usable for w in _TOKEN.findall(k)]
    return all(any(t.startswith(w) for t in tokens) for w in words)

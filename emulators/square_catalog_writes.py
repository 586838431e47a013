"""Catalog writes: BatchUpsertCatalogObjects, UpsertCatalogObject and the two deletes.

An upsert names new objects with `#` temporary ids (valid within their batch only) and
existing ones by id; an existing object's `version`, when given, must be its current one or
the write is refused with VERSION_MISMATCH. Each write replaces what it names (an omitted
`description`, `sku` or `upc` becomes empty; the read-only `updated_at`, `ordinal` and
`description_plaintext` are ignored, a variation's ordinal being its place in its item) and
stamps everything it writes with one clock tick as both `version` and `updated_at`. An ITEM
that lists `variations` keeps exactly those: its live variations left out of the list are
deleted, as Square does; an ITEM without `variations` leaves them alone. ITEM and
ITEM_VARIATION objects with FIXED_PRICING are implemented, and TAX objects (CatalogTax: name,
percentage, inclusion_type, calculation_phase, applies_to_custom_amounts, enabled; a field
left out is not rendered, as the emulator knows no defaults for it); anything else is refused
with BAD_REQUEST rather than silently dropped. `is_archived` archives or unarchives an item (an
archived item stays in every read, searches included, as the docs say of SearchCatalogObjects);
like `is_taxable`, leaving it out keeps the item's current flag.

Every batch is checked before anything is written, so a failed request writes nothing and a
corrected retry may reuse its idempotency key. (Square applies each batch atomically and lets
the other batches of a request succeed; the emulator is stricter and applies all or none.)
Runs under `SquareState.lock`, called from its methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from emulators.square_catalog import Catalog, Item, Tax, Variation
from emulators.square_common import (
    IdFactory,
    SquareError,
    invalid,
    not_found,
)
from emulators.square_models import CatalogItem, CatalogItemVariation, CatalogTax
from emulators.square_models import CatalogObject as CatalogObjectIn

# BatchUpsertCatalogObjects: "Each batch may contain up to 1,000 objects ... The total number
# of objects across all batches for a single request may not exceed 10,000" (variations count).
MAX_OBJECTS_PER_BATCH = 1000
MAX_OBJECTS_PER_REQUEST = 10_000
IMPLEMENTED_TYPES = ("ITEM", "ITEM_VARIATION", "TAX")
T = TypeVar("T")


@dataclass
class _VariationPlan:
    where: str
    id: str  # a live variation's id or a `#` temporary id
    data: CatalogItemVariation
    item_ref: str  # a live item's id or a `#` temporary id of this batch
    target: Variation | None
    ordinal: int | None


@dataclass
class _ItemPlan:
    where: str
    id: str
    data: CatalogItem
    target: Item | None
    variations: list[_VariationPlan] | None  # None: keep the item's variations as they are


@dataclass
class _TaxPlan:
    where: str
    id: str
    data: CatalogTax
    target: Tax | None


@dataclass
class _Batch:
    """One validated batch: its top-level objects in request order."""

    plans: list[_ItemPlan | _VariationPlan | _TaxPlan] = field(default_factory=list)
    temp_ids: set[str] = field(default_factory=set)
    temp_items: set[str] = field(default_factory=set)


def count_objects(objects: list[CatalogObjectIn]) -> int:
    """Objects in a batch, embedded variations included."""
    return sum(1 + len((o.item_data.variations or []) if o.item_data else []) for o in objects)


def check_limits(batches: list[list[CatalogObjectIn]]) -> None:
    total = 0
    for index, objects in enumerate(batches):
        size = count_objects(objects)
        if size > MAX_OBJECTS_PER_BATCH:
            raise invalid(
                f"A batch may contain at most {MAX_OBJECTS_PER_BATCH} objects, not {size}.",
                f"batches[{index}].objects",
                code="ARRAY_LENGTH_TOO_LONG",
            )
        total += size
    if total > MAX_OBJECTS_PER_REQUEST:
        raise invalid(
            f"A request may contain at most {MAX_OBJECTS_PER_REQUEST} objects, not {total}.",
            "batches",
            code="ARRAY_LENGTH_TOO_LONG",
        )


class CatalogWriter:
    """Validates upserts completely, then applies them to the catalog."""

    def __init__(self, catalog: Catalog, ids: IdFactory) -> None:
        self.catalog = catalog
        self.ids = ids

    # --- validation ------------------------------------------------------------------------

    def plan(self, objects: list[CatalogObjectIn], paths: list[str]) -> _Batch:
        """Check one batch; `paths` are its objects' field paths (`batches[0].objects[3]`)."""
        batch = _Batch()
        seen: set[str] = set()
        for obj, path in _all_objects(objects, paths):
            if obj.id in seen:
                raise invalid(f"Object id `{obj.id}` appears twice in a batch.", f"{path}.id")
            seen.add(obj.id)
            if obj.id.startswith("#"):
                batch.temp_ids.add(obj.id)
                if obj.type == "ITEM":
                    batch.temp_items.add(obj.id)
        for obj, path in zip(objects, paths, strict=True):
            if obj.type == "ITEM":
                batch.plans.append(self._plan_item(obj, path, batch))
            elif obj.type == "TAX":
                batch.plans.append(self._plan_tax(obj, path))
            else:
                batch.plans.append(
                    self._plan_variation(obj, path, batch, parent=None, ordinal=None)
                )
        return batch

    def _common(self, obj: CatalogObjectIn, path: str) -> Item | Variation | Tax | None:
        """Checks every object gets; the existing object it updates (None: a new one)."""
        if obj.type not in IMPLEMENTED_TYPES:
            raise SquareError(
                400, "BAD_REQUEST", f"This emulator does not implement {obj.type}.", f"{path}.type"
            )
        if obj.is_deleted:
            raise invalid("is_deleted must not be set to true.", f"{path}.is_deleted")
        if obj.present_at_all_locations is False:
            raise SquareError(
                400,
                "BAD_REQUEST",
                "This emulator keeps every object at all locations.",
                f"{path}.present_at_all_locations",
            )
        if obj.id.startswith("#"):
            return None
        target = self.catalog.live(obj.id)
        if target is None:
            raise not_found(f"Object with ID `{obj.id}` not found.", f"{path}.id")
        if target.type != obj.type:
            raise invalid(
                f"Object `{obj.id}` is a {target.type}, not a {obj.type}.", f"{path}.type"
            )
        if obj.version is not None and obj.version != target.version:
            raise SquareError(
                400,
                "VERSION_MISMATCH",
                f"Object `{obj.id}` of type {obj.type} with version {obj.version} does not "
                f"match the latest database version {target.version}.",
                f"{path}.version",
            )
        return target

    def _plan_tax(self, obj: CatalogObjectIn, path: str) -> _TaxPlan:
        target = self._common(obj, path)
        assert target is None or isinstance(target, Tax)
        data = _required(obj.tax_data, f"{path}.tax_data")
        for other in ("item_data", "item_variation_data"):
            if getattr(obj, other) is not None:
                raise invalid("A TAX carries tax_data only.", f"{path}.{other}")
        if data.percentage is not None:
            check_percentage(data.percentage, f"{path}.tax_data.percentage")
        return _TaxPlan(path, obj.id, data, target)

    def _plan_item(self, obj: CatalogObjectIn, path: str, batch: _Batch) -> _ItemPlan:
        target = self._common(obj, path)
        assert target is None or isinstance(target, Item)
        data = _required(obj.item_data, f"{path}.item_data")
        if obj.item_variation_data is not None or obj.tax_data is not None:
            other = "item_variation_data" if obj.item_variation_data is not None else "tax_data"
            raise invalid("An ITEM carries item_data only.", f"{path}.{other}")
        _required(data.name, f"{path}.item_data.name")
        if data.product_type not in (None, "REGULAR"):
            raise SquareError(
                400,
                "BAD_REQUEST",
                "This emulator implements REGULAR items only.",
                f"{path}.item_data.product_type",
            )
        plan = _ItemPlan(path, obj.id, data, target, None)
        if data.variations is not None:
            plan.variations = [
                self._plan_variation(v, f"{path}.item_data.variations[{i}]", batch, obj.id, i)
                for i, v in enumerate(data.variations)
            ]
        return plan

    def _plan_variation(
        self,
        obj: CatalogObjectIn,
        path: str,
        batch: _Batch,
        parent: str | None,
        ordinal: int | None,
    ) -> _VariationPlan:
        if obj.type != "ITEM_VARIATION" and parent is not None:
            raise invalid("An item's variations must be ITEM_VARIATION objects.", f"{path}.type")
        target = self._common(obj, path)
        assert target is None or isinstance(target, Variation)
        where = f"{path}.item_variation_data"
        data = _required(obj.item_variation_data, where)
        if obj.item_data is not None or obj.tax_data is not None:
            other = "item_data" if obj.item_data is not None else "tax_data"
            raise invalid("An ITEM_VARIATION carries item_variation_data only.", f"{path}.{other}")
        item_ref = data.item_id or parent
        item_ref = _required(item_ref, f"{where}.item_id")
        if parent is not None and item_ref != parent:
            raise invalid(
                f"item_id `{item_ref}` is not the enclosing item `{parent}`.", f"{where}.item_id"
            )
        if item_ref.startswith("#"):
            if item_ref not in batch.temp_items:
                raise invalid(
                    f"item_id `{item_ref}` names no new ITEM of this batch.", f"{where}.item_id"
                )
        elif not isinstance(self.catalog.live(item_ref), Item):
            raise not_found(f"Item with ID `{item_ref}` not found.", f"{where}.item_id")
        if target is not None and target.item_id != item_ref:
            raise SquareError(
                400,
                "BAD_REQUEST",
                "This emulator does not move variations between items.",
                f"{where}.item_id",
            )
        pricing = _required(data.pricing_type, f"{where}.pricing_type")
        if pricing != "FIXED_PRICING":
            raise SquareError(
                400,
                "BAD_REQUEST",
                "This emulator implements FIXED_PRICING only.",
                f"{where}.pricing_type",
            )
        price = _required(data.price_money, f"{where}.price_money")
        amount = _required(price.amount, f"{where}.price_money.amount")
        if amount < 0:
            raise invalid(
                "Amount must not be negative.", f"{where}.price_money.amount", "VALUE_TOO_LOW"
            )
        if price.currency != self.catalog.currency:
            raise invalid(
                f"Currency `{price.currency}` does not match the seller's "
                f"`{self.catalog.currency}`.",
                f"{where}.price_money.currency",
            )
        return _VariationPlan(path, obj.id, data, item_ref, target, ordinal)

    # --- applying ----------------------------------------------------------------------------

    def apply(self, batch: _Batch, ms: int, mappings: dict[str, str]) -> list[str]:
        """Write a validated batch at version `ms`; the ids of its top-level objects.
        New ids are added to `mappings` (temporary id -> permanent id)."""
        resolved: dict[str, str] = {}
        items = [p for p in batch.plans if isinstance(p, _ItemPlan)]
        for plan in items:  # items first: a top-level variation may name a new item
            resolved[plan.id] = self._apply_item(plan, ms, resolved).id
        for variation_plan in batch.plans:
            if isinstance(variation_plan, _VariationPlan):
                resolved[variation_plan.id] = self._apply_variation(variation_plan, ms, resolved).id
        for tax_plan in batch.plans:
            if isinstance(tax_plan, _TaxPlan):
                resolved[tax_plan.id] = self._apply_tax(tax_plan, ms).id
        for temp in sorted(batch.temp_ids, key=list(resolved).index):
            mappings[temp] = resolved[temp]
        self.catalog.touch(ms)
        return [resolved[p.id] for p in batch.plans]

    def _apply_item(self, plan: _ItemPlan, ms: int, resolved: dict[str, str]) -> Item:
        item = plan.target
        if item is None:
            item = self.catalog.add_item(self.ids, "", "", ms)
            resolved[plan.id] = item.id
        item.name = plan.data.name or ""
        item.description = plan.data.description or ""
        if plan.data.is_taxable is not None:
            item.is_taxable = plan.data.is_taxable
        if plan.data.is_archived is not None:
            item.is_archived = plan.data.is_archived
        item.version = ms
        if plan.variations is not None:
            kept = [self._apply_variation(v, ms, resolved).id for v in plan.variations]
            for variation in self.catalog.live_variations(item):
                if variation.id not in kept:
                    self.catalog.delete(variation, ms)
            rest = [v for v in item.variation_ids if v not in kept]
            item.variation_ids = kept + rest
        return item

    def _apply_tax(self, plan: _TaxPlan, ms: int) -> Tax:
        """Each write replaces the tax's data, like the other object types."""
        tax = plan.target if plan.target is not None else self.catalog.add_tax(self.ids, ms)
        data = plan.data
        tax.name = data.name or ""
        tax.percentage = data.percentage
        tax.inclusion_type = data.inclusion_type
        tax.calculation_phase = data.calculation_phase
        tax.applies_to_custom_amounts = data.applies_to_custom_amounts
        tax.enabled = data.enabled
        tax.version = ms
        return tax

    def _apply_variation(
        self, plan: _VariationPlan, ms: int, resolved: dict[str, str]
    ) -> Variation:
        data = plan.data
        price = data.price_money
        assert price is not None and price.amount is not None
        variation = plan.target
        if variation is None:
            item = self.catalog.item(resolved.get(plan.item_ref, plan.item_ref))
            ordinal = len(self.catalog.live_variations(item))
            variation = self.catalog.add_variation(
                self.ids, item, name="", sku="", upc="", amount=price.amount, version=ms
            )
            variation.ordinal = ordinal
            variation.track_inventory = False  # Square tracks a new variation only when asked
            resolved[plan.id] = variation.id
        variation.name = data.name or ""
        self.catalog.set_codes(variation, data.sku or "", data.upc or "")
        variation.amount = price.amount
        if plan.ordinal is not None:
            variation.ordinal = plan.ordinal
        for name in ("track_inventory", "sellable", "stockable"):
            value = getattr(data, name)
            if value is not None:
                setattr(variation, name, value)
        variation.version = ms
        return variation


def _all_objects(
    objects: list[CatalogObjectIn], paths: list[str]
) -> list[tuple[CatalogObjectIn, str]]:
    """Every object of a batch with its field path, embedded variations included."""
    found = []
    for obj, path in zip(objects, paths, strict=True):
        found.append((obj, path))
        variations = obj.item_data.variations if obj.item_data else None
        for i, variation in enumerate(variations or []):
            found.append((variation, f"{path}.item_data.variations[{i}]"))
    return found


def check_percentage(value: str, field: str) -> Decimal:
    """A tax percentage: a non-negative decimal with '.' as separator and no '%' sign."""
    try:
        percentage = Decimal(value)
    except InvalidOperation:
        percentage = None
    if percentage is None or not percentage.is_finite() or percentage < 0 or "e" in value.lower():
        raise invalid(f"`{value}` is not a percentage such as `7.5`.", field)
    return percentage


def _required(value: T | None, field: str) -> T:
    if value is None:
        raise invalid("Field must be set.", field, code="MISSING_REQUIRED_PARAMETER")
    return value

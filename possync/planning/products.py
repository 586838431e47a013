"""Product planning, pure: given a master product, what the other side should become.

    check        is the master product fit to sync (name, variants, SKU, price)?
    resolve      an unpaired master product: which product on the other side is it, by SKU
                 then barcode (none: create it; two candidates: set it aside, both ids named)
    merge        the other side's product with the fields the sync owns taken from the master
    fingerprint  a digest of the owned fields, to tell "unchanged" and "our own write coming
                 back" from real news without reading the other side again

A product is compared through its fingerprint only: the same owned values give the same
digest whichever vendor holds them (prices as decimals, variant names only where a product
has more than one variant, SKUs as the variants' order).

Prices are never rounded: a master price is synced only if it is exact in the shop's
currency (its ISO 4217 minor units: JPY 0, EUR 2, KWD 3; `possync.domain.money`) and within what
the other side holds; otherwise the product is quarantined with field `price` and why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal

from possync.domain.models import Problem, QuarantineField
from possync.domain.money import MoneyError, exact_amount, parse_amount
from possync.domain.products import PRODUCT_FIELDS, CodeRow, ProductData, ProductField, VariantData

__all__ = [
    "Create",
    "Paired",
    "PriceLimit",
    "Rules",
    "changed_fields",
    "check",
    "fingerprint",
    "merge",
    "needs_type_change",
    "parse_price",
    "resolve",
]

_CENT = Decimal("0.01")
_WIDE = Context(prec=100)  # canonical text of any price parse_amount lets through


@dataclass(frozen=True)
class PriceLimit:
    """The largest price the receiving side holds exactly, and who it is (for the reason)."""

    holder: str
    most: Decimal


@dataclass(frozen=True)
class Rules:
    """Which fields the sync owns (the other side keeps the rest), what a deletion does,
    and what a price must be to cross: exact in `currency` (the shop's currency: its
    Square location's, see `productsync.rules_for`) and at most `max_price`."""

    currency: str
    fields: tuple[ProductField, ...] = PRODUCT_FIELDS
    archive_on_delete: bool = True
    # The other side needs a product declared variable before it takes a second variant
    # (WooCommerce's product types); possync does not change a product's type.
    typed_variants: bool = False
    max_price: PriceLimit | None = None


def parse_price(
    raw: str | None, currency: str, limit: PriceLimit | None = None
) -> tuple[Decimal | None, str | None]:
    """The price exactly as the currency holds it ('12.5' EUR -> 12.50, '1250' JPY ->
    1250), or None and the reason it cannot be synced: missing, not a number, negative,
    more decimals than the currency has (never rounded), or more than `limit`."""
    if raw is None or not raw.strip():
        return None, "has no price"
    try:
        value = parse_amount(raw)
        if value < 0:
            return None, f"price {raw!r} is negative"
        exact = exact_amount(value, currency)
    except MoneyError as exc:
        return None, f"price: {exc}"
    if limit is not None and exact > limit.most:
        return None, (
            f"price {raw.strip()} {currency.upper()} is more than {limit.holder} holds "
            f"(at most {limit.most}); it is not written"
        )
    return exact, None


def _label(product: ProductData, variant: VariantData) -> str:
    what = f"variant {variant.sku or variant.name or variant.id or '?'}"
    return f"{what} of product {product.id} ({product.name[:60]!r})"


def _problem(
    system: str, product: ProductData, field_name: QuarantineField, reason: str
) -> Problem:
    sku = next((v.sku for v in product.variants if v.sku), None)
    return Problem(
        system=system,
        record_id=str(product.id),
        field=field_name,
        reason=reason,
        sku=sku,
        payload={"name": product.name[:200]},
    )


def check(
    system: str,
    product: ProductData,
    owners: Mapping[str, set[str]],
    rules: Rules,
) -> Problem | None:
    """The first reason this master product cannot be synced, or None.

    `owners` maps SKUs and barcodes to the master side's products carrying them (from the
    catalogue code index), to catch one code on two products; `rules` say what a price
    must be (exact in the shop's currency, within what the other side holds).
    """
    if product.deleted:
        return None
    if not product.name.strip():
        return _problem(system, product, "name", f"product {product.id} has no name")
    if not product.variants:
        return _problem(
            system,
            product,
            "variants",
            f"product {product.id} ({product.name[:60]!r}) has no variants to sell",
        )
    seen: set[str] = set()
    for variant in product.variants:
        if not variant.sku:
            return _problem(
                system,
                product,
                "sku",
                f"{_label(product, variant)} has no SKU; without one it cannot be matched",
            )
        if variant.sku in seen:
            return _problem(
                system,
                product,
                "sku",
                f"SKU {variant.sku!r} is on two variants of product {product.id}",
            )
        seen.add(variant.sku)
        _, why = parse_price(variant.price, rules.currency, rules.max_price)
        if why is not None:
            return _problem(system, product, "price", f"{_label(product, variant)} {why}")
        for code, field_name in ((variant.sku, "sku"), (variant.barcode, "barcode")):
            others = sorted(owners.get(code or "", set()) - {str(product.id)})
            if code and others:
                return _problem(
                    system,
                    product,
                    "sku" if field_name == "sku" else "barcode",
                    f"{field_name} {code!r} is on {system} products {product.id} and "
                    f"{', '.join(others)}; make it unique to sync either",
                )
    return None


@dataclass(frozen=True)
class Create:
    """No product on the other side matches: create one."""


@dataclass(frozen=True)
class Paired:
    """The other side's product `product_id` is this one; `variants` maps master variant
    ids to the other side's variant ids where they matched."""

    product_id: str
    variants: dict[str, str] = field(default_factory=dict)


def resolve(
    master_system: str,
    other_system: str,
    product: ProductData,
    codes: Iterable[CodeRow],
) -> Create | Paired | Problem:
    """Match an unpaired master product by SKU, then barcode, against the other side's
    catalogue code index (`codes`: the rows carrying any of its SKUs or barcodes)."""
    by_sku: dict[str, list[CodeRow]] = {}
    by_barcode: dict[str, list[CodeRow]] = {}
    for row in codes:
        if row.sku:
            by_sku.setdefault(row.sku, []).append(row)
        if row.barcode:
            by_barcode.setdefault(row.barcode, []).append(row)
    matched: dict[str, CodeRow] = {}
    for variant in product.variants:
        for code, index, what in (
            (variant.sku, by_sku, "SKU"),
            (variant.barcode, by_barcode, "barcode"),
        ):
            rows = index.get(code or "", [])
            if len(rows) > 1:
                where = ", ".join(_where(r) for r in rows)
                return _problem(
                    master_system,
                    product,
                    "link",
                    f"{what} {code!r} of {master_system} product {product.id} matches "
                    f"{len(rows)} {other_system} products: {where}; nothing is created "
                    "until only one carries it",
                )
            if rows:
                matched[str(variant.id)] = rows[0]
                break
    targets = sorted({row.product_id for row in matched.values()})
    if len(targets) > 1:
        return _problem(
            master_system,
            product,
            "link",
            f"the variants of {master_system} product {product.id} match different "
            f"{other_system} products {', '.join(targets)}; nothing is created",
        )
    if not targets:
        return Create()
    return Paired(targets[0], {k: r.variant_id for k, r in matched.items()})


def _where(row: CodeRow) -> str:
    if row.variant_id and row.variant_id != row.product_id:
        return f"{row.product_id} (variant {row.variant_id})"
    return row.product_id


def _price_text(raw: str | None) -> str | None:
    """A price's canonical text, whatever the vendor wrote ('12.5', '12.50', '1250',
    '1250.00'): at least two decimals, more only where it has them; never rounded. Text
    that is no number stays as it is (the check has set such a product aside)."""
    if raw is None:
        return None
    try:
        value = parse_amount(raw)
    except MoneyError:
        return raw
    cents = value.quantize(_CENT, context=_WIDE)
    if value == cents:
        return f"{cents:f}"
    return f"{value.normalize(context=_WIDE):f}"


def _price_for(raw: str | None, currency: str) -> str | None:
    """A price as it is written to the other side: exactly the currency's decimals
    ('12.50' EUR, '1250' JPY, '1.005' KWD). merge only sees prices check accepted."""
    if raw is None:
        return None
    try:
        return f"{exact_amount(parse_amount(raw), currency)}"
    except MoneyError:
        return raw


def fingerprint(product: ProductData, fields: Collection[ProductField]) -> str:
    """A digest of the owned fields, equal for equal values on either vendor."""
    named = len(product.variants) > 1
    variants = sorted(
        (
            v.sku or "",
            v.barcode or "" if "barcode" in fields else "",
            (_price_text(v.price) or "") if "price" in fields else "",
            v.name.strip() if named and "name" in fields else "",
        )
        for v in product.variants
    )
    canonical = {
        "name": product.name.strip() if "name" in fields else "",
        "description": product.description.strip() if "description" in fields else "",
        "state": ("archived" if product.archived or product.deleted else "active")
        if "state" in fields
        else "",
        "variants": variants,
    }
    text = json.dumps(canonical, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def merge(
    master: ProductData,
    other: ProductData | None,
    rules: Rules,
    variant_links: Mapping[str, str],
) -> ProductData:
    """What the other side's product should be: `other` (None: a new one) with the owned
    fields taken from `master`. Master variants the other side lacks are added; variants
    only the other side has are kept."""
    owned = set(rules.fields)
    archived = master.archived or master.deleted
    if other is None:
        return ProductData(
            name=master.name,
            description=master.description,
            archived=archived,
            has_variants=master.has_variants or len(master.variants) > 1,
            variants=tuple(
                _new_variant(v, rules.currency) for v in master.variants if not master.deleted
            ),
        )
    by_id = {v.id: v for v in other.variants}
    by_sku = {v.sku: v for v in other.variants if v.sku}
    by_barcode = {v.barcode: v for v in other.variants if v.barcode}
    updated: dict[str | None, VariantData] = {}
    added: list[VariantData] = []
    for variant in [] if master.deleted else master.variants:
        target = (
            by_id.get(variant_links.get(str(variant.id)))
            or by_sku.get(variant.sku or "")
            or by_barcode.get(variant.barcode or "")
        )
        if target is None or target.id in updated:
            added.append(_new_variant(variant, rules.currency))
            continue
        updated[target.id] = target.model_copy(
            update={
                "sku": variant.sku if "sku" in owned else target.sku,
                "barcode": variant.barcode if "barcode" in owned else target.barcode,
                "price": _price_for(variant.price, rules.currency)
                if "price" in owned
                else target.price,
                "name": variant.name
                if "name" in owned and (len(master.variants) > 1 or other.has_variants)
                else target.name,
            }
        )
    variants = tuple(updated.get(v.id, v) for v in other.variants) + tuple(added)
    return other.model_copy(
        update={
            "name": master.name if "name" in owned else other.name,
            "description": master.description if "description" in owned else other.description,
            "archived": archived if "state" in owned or master.deleted else other.archived,
            "has_variants": other.has_variants or (not rules.typed_variants and len(variants) > 1),
            "variants": variants,
        }
    )


def _new_variant(variant: VariantData, currency: str) -> VariantData:
    return VariantData(
        name=variant.name,
        sku=variant.sku,
        barcode=variant.barcode,
        price=_price_for(variant.price, currency),
    )


def needs_type_change(wanted: ProductData, rules: Rules) -> bool:
    """The other side holds a product without variants that would now need several."""
    return rules.typed_variants and not wanted.has_variants and len(wanted.variants) > 1


def changed_fields(
    before: ProductData, after: ProductData, fields: Sequence[ProductField]
) -> list[ProductField]:
    """Which owned fields differ between two states of one product (for the report)."""
    found: list[ProductField] = []
    for name in fields:
        if name == "state":
            differs = before.archived != after.archived
        elif name in ("name", "description"):
            differs = getattr(before, name).strip() != getattr(after, name).strip()
        else:
            attr = "price" if name == "price" else name

            def values(p: ProductData, attr: str = attr) -> list[str]:
                raw = [getattr(v, attr) or "" for v in p.variants]
                return sorted(_price_text(r) or "" for r in raw) if attr == "price" else sorted(raw)

            differs = values(before) != values(after)
        if differs:
            found.append(name)
    return found

"""The product planner's rules, without I/O: checks, linking, merging, fingerprints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from possync.domain.models import Problem
from possync.domain.products import CodeRow, ProductData, ProductField, VariantData
from possync.planning import products as planner

DKK = planner.Rules("DKK")


def product(
    pid: str = "P1",
    name: str = "Mug",
    variants: tuple[tuple[str | None, str | None, str | None], ...] = (("SKU-1", "400", "9.5"),),
    **kw: Any,
) -> ProductData:
    return ProductData(
        id=pid,
        name=name,
        variants=tuple(
            VariantData(id=f"{pid}-v{i}", name=f"Size {i}", sku=s, barcode=b, price=p)
            for i, (s, b, p) in enumerate(variants)
        ),
        **kw,
    )


def test_a_good_product_passes_with_emoji_and_right_to_left_text() -> None:
    assert planner.check("square", product(name="Café ☕ קפה"), {}, DKK) is None


def test_missing_sku_names_the_variant_and_product() -> None:
    problem = planner.check("square", product(variants=((None, "1", "2.00"),)), {}, DKK)
    assert problem is not None and problem.field == "sku"
    assert "P1" in problem.reason and "no SKU" in problem.reason


def test_a_price_that_is_not_a_number_is_refused_with_its_value() -> None:
    problem = planner.check("woocommerce", product(variants=(("S", None, "abc"),)), {}, DKK)
    assert problem is not None and problem.field == "price"
    assert "'abc' is not a number" in problem.reason and problem.sku == "S"


def test_negative_and_missing_prices_are_refused() -> None:
    negative = planner.check("square", product(variants=(("S", None, "-1"),)), {}, DKK)
    missing = planner.check("square", product(variants=(("S", None, ""),)), {}, DKK)
    assert negative is not None and "negative" in negative.reason
    assert missing is not None and "no price" in missing.reason


def test_a_barcode_on_two_master_products_names_both() -> None:
    problem = planner.check("square", product(), {"400": {"P1", "P9"}}, DKK)
    assert problem is not None and problem.field == "barcode"
    assert "P1" in problem.reason and "P9" in problem.reason


def test_deleted_products_are_not_checked() -> None:
    assert planner.check("square", product(name="", deleted=True), {}, DKK) is None


def test_resolve_creates_when_nothing_matches() -> None:
    assert isinstance(planner.resolve("square", "woocommerce", product(), []), planner.Create)


def test_resolve_pairs_by_sku_before_barcode() -> None:
    codes = [CodeRow("10", "", "SKU-1", None), CodeRow("20", "", "OTHER", "400")]
    resolved = planner.resolve("square", "woocommerce", product(), codes)
    assert resolved == planner.Paired("10", {"P1-v0": ""})


def test_resolve_falls_back_to_the_barcode() -> None:
    codes = [CodeRow("20", "21", "OTHER", "400")]
    resolved = planner.resolve("square", "woocommerce", product(), codes)
    assert resolved == planner.Paired("20", {"P1-v0": "21"})


def test_one_sku_on_two_products_is_ambiguous_and_names_both() -> None:
    codes = [CodeRow("10", "", "SKU-1", None), CodeRow("11", "", "SKU-1", None)]
    resolved = planner.resolve("square", "woocommerce", product(), codes)
    assert isinstance(resolved, Problem) and resolved.field == "link"
    assert "10" in resolved.reason and "11" in resolved.reason


def test_variants_matching_different_products_are_ambiguous() -> None:
    master = product(variants=(("A", None, "1"), ("B", None, "1")))
    codes = [CodeRow("10", "", "A", None), CodeRow("11", "", "B", None)]
    resolved = planner.resolve("square", "woocommerce", master, codes)
    assert isinstance(resolved, Problem) and "10, 11" in resolved.reason


def test_fingerprints_agree_across_vendor_spellings() -> None:
    square = product(variants=(("S", "1", "12.50"),))
    woo = ProductData(
        id="77",
        name="Mug ",
        variants=(VariantData(id="77", name="", sku="S", barcode="1", price="12.5"),),
    )
    assert planner.fingerprint(square, planner.Rules("DKK").fields) == planner.fingerprint(
        woo, planner.Rules("DKK").fields
    )


def test_fields_not_owned_do_not_count() -> None:
    a = product()
    b = a.model_copy(update={"description": "the webshop's own text"})
    assert planner.fingerprint(a, ("name", "price")) == planner.fingerprint(b, ("name", "price"))
    description: tuple[ProductField, ...] = ("description",)
    assert planner.fingerprint(a, description) != planner.fingerprint(b, description)


def test_merge_takes_owned_fields_adds_new_variants_and_keeps_the_others() -> None:
    master = product(
        name="Mug XL", variants=(("A", "1", "10"), ("B", "2", "11")), description="square text"
    )
    other = ProductData(
        id="50",
        name="Mug",
        description="shop text",
        has_variants=True,
        variants=(
            VariantData(id="51", name="Size 0", sku="A", price="9.00"),
            VariantData(id="52", name="Web only", sku="W", price="5.00"),
        ),
    )
    rules = planner.Rules("DKK", fields=("name", "price", "sku", "barcode"))
    wanted = planner.merge(master, other, rules, {})
    assert wanted.id == "50" and wanted.name == "Mug XL" and wanted.description == "shop text"
    by_sku = {v.sku: v for v in wanted.variants}
    assert by_sku["A"].id == "51" and by_sku["A"].price == "10.00" and by_sku["A"].barcode == "1"
    assert by_sku["W"] == other.variants[1]
    assert by_sku["B"].id is None and by_sku["B"].price == "11.00"
    assert planner.changed_fields(other, wanted, rules.fields) == [
        "name",
        "price",
        "sku",
        "barcode",
    ]


def test_merge_of_a_deleted_master_archives_and_keeps_the_variants() -> None:
    other = product(pid="9")
    wanted = planner.merge(product(deleted=True), other, planner.Rules("DKK", fields=("name",)), {})
    assert wanted.archived and wanted.variants == other.variants


def test_a_second_variant_for_a_simple_webshop_product_needs_a_type_change() -> None:
    master = product(variants=(("A", None, "1"), ("B", None, "1")))
    other = ProductData(id="5", name="Mug", variants=(VariantData(id="5", sku="A", price="1"),))
    typed = planner.Rules("DKK", typed_variants=True)
    assert planner.needs_type_change(planner.merge(master, other, typed, {}), typed)
    untyped = planner.Rules("DKK")
    assert not planner.needs_type_change(planner.merge(master, other, untyped, {}), untyped)


def price_problem(price: str, rules: planner.Rules = DKK) -> Problem | None:
    return planner.check("woocommerce", product(variants=(("S", None, price),)), {}, rules)


def test_a_price_the_currency_cannot_hold_exactly_is_refused_never_rounded() -> None:
    """Issue 12, defect 3: quantize with banker's rounding made 12.345 into 12.34 and 0.001
    into 0.00 (a free product at the register); a 29-digit price raised InvalidOperation."""
    for price in ("12.345", "0.001"):
        problem = price_problem(price)
        assert problem is not None and problem.field == "price", price
        assert f"amount {price} has more decimals than DKK has (2)" in problem.reason
        assert "rounded" in problem.reason and problem.sku == "S"
    huge = price_problem("1234567890123456789012345678.9")
    assert huge is not None and huge.field == "price" and "out of range" in huge.reason
    for fine in ("12.34", "12.5", "0", "0.00"):
        assert price_problem(fine) is None, fine


def test_each_currency_has_its_own_decimals() -> None:
    """ISO 4217 exponents, not two for all: JPY 0, KWD 3."""
    jpy, kwd = planner.Rules("JPY"), planner.Rules("KWD")
    assert price_problem("1250", jpy) is None
    assert price_problem("1250.00", jpy) is None  # the same amount, spelled with zeros
    refused = price_problem("12.50", jpy)
    assert refused is not None and "more decimals than JPY has (0)" in refused.reason
    assert price_problem("1.005", kwd) is None
    assert price_problem("1.0005", kwd) is not None
    master = product(variants=(("S", None, "1250.00"),))
    assert planner.merge(master, None, jpy, {}).variants[0].price == "1250"
    kuwaiti = product(variants=(("S", None, "1.005"),))
    assert planner.merge(kuwaiti, None, kwd, {}).variants[0].price == "1.005"


def test_a_price_beyond_what_the_other_side_holds_is_refused_naming_it() -> None:
    """10^17 DKK is 10^19 minor units, beyond Square's int64 Money.amount."""
    square = planner.Rules(
        "DKK", max_price=planner.PriceLimit("square", Decimal("92233720368547758.07"))
    )
    problem = price_problem("100000000000000000", square)
    assert problem is not None and problem.field == "price"
    assert "more than square holds (at most 92233720368547758.07)" in problem.reason
    assert price_problem("92233720368547758.07", square) is None


def test_fingerprints_do_not_round_prices() -> None:
    """Two prices that differ in the third decimal are different prices."""
    a = product(variants=(("S", None, "1.005"),))
    b = product(variants=(("S", None, "1.006"),))
    price: tuple[ProductField, ...] = ("price",)
    assert planner.fingerprint(a, price) != planner.fingerprint(b, price)

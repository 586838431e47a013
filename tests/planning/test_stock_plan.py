"""The stock planner: matching, validation and what gets written (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from possync.domain.models import CatalogVariant, StockCount, WebshopListing, WebshopRef
from possync.planning import stock as planner

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def count(pos_id: str, quantity: str = "5", at: datetime = T0) -> StockCount:
    return StockCount(pos_id=pos_id, quantity_raw=quantity, updated_at=at)


def variant(pos_id: str, sku: str | None, barcode: str | None = None) -> CatalogVariant:
    return CatalogVariant(pos_id=pos_id, product_id=f"item-{pos_id}", sku=sku, barcode=barcode)


def listing(
    product_id: str,
    sku: str | None,
    stock: int | None = 0,
    variation_id: str | None = None,
    barcode: str | None = None,
) -> WebshopListing:
    return WebshopListing(
        ref=WebshopRef(product_id=product_id, variation_id=variation_id),
        sku=sku,
        barcode=barcode,
        stock=stock,
    )


def test_matches_by_sku_then_barcode() -> None:
    counts = [count("a"), count("b")]
    variants = {"a": variant("a", "SKU-A"), "b": variant("b", "SKU-B-POS", "5701234567892")}
    listings = [
        listing("1", "SKU-A"),
        listing("2", "SKU-B-WEB", variation_id="3", barcode="5701234567892"),
    ]
    result = planner.match("square", counts, variants, listings)
    assert result.problems == []
    assert {m.count.pos_id: m.listing.ref.key for m in result.matches} == {"a": "1", "b": "2/3"}


def test_unknown_sku_is_quarantined_with_reason_and_others_go_on() -> None:
    counts = [count("a"), count("ghost")]
    variants = {"a": variant("a", "SKU-A"), "ghost": variant("ghost", "NOPE")}
    result = planner.match("square", counts, variants, [listing("1", "SKU-A")])
    assert [m.count.pos_id for m in result.matches] == ["a"]
    [problem] = result.problems
    assert problem.record_id == "ghost"
    assert problem.field == "link"
    assert "NOPE" in problem.reason and "no webshop product" in problem.reason


def test_duplicate_pos_sku_quarantines_both() -> None:
    counts = [count("a"), count("b")]
    variants = {"a": variant("a", "DUP"), "b": variant("b", "DUP")}
    result = planner.match("square", counts, variants, [listing("1", "DUP")])
    assert result.matches == []
    assert sorted(p.record_id for p in result.problems) == ["a", "b"]
    assert all(p.field == "sku" and "duplicate SKU 'DUP'" in p.reason for p in result.problems)


def test_sku_on_two_webshop_listings_is_ambiguous() -> None:
    result = planner.match(
        "square",
        [count("a")],
        {"a": variant("a", "TWICE")},
        [listing("1", "TWICE"), listing("2", "TWICE")],
    )
    [problem] = result.problems
    assert "several webshop listings: 1, 2" in problem.reason


def test_variant_missing_from_catalogue_and_without_keys() -> None:
    result = planner.match(
        "square", [count("gone"), count("bare")], {"bare": variant("bare", None)}, []
    )
    reasons = {p.record_id: (p.field, p.reason) for p in result.problems}
    assert reasons["gone"][0] == "link" and "catalogue" in reasons["gone"][1]
    assert reasons["bare"] == ("sku", "has neither SKU nor barcode")


def test_two_pos_variants_matching_one_listing() -> None:
    variants = {"a": variant("a", None, "111"), "b": variant("b", None, "111")}
    result = planner.match(
        "square", [count("a"), count("b")], variants, [listing("1", "X", barcode="111")]
    )
    assert [m.count.pos_id for m in result.matches] == ["a"]
    assert [p.record_id for p in result.problems] == ["b"]


def _plan(quantity: str, web_stock: int | None, reserved: int = 0) -> planner.StockPlan:
    matched = planner.match(
        "square", [count("a", quantity)], {"a": variant("a", "S")}, [listing("1", "S", web_stock)]
    )
    return planner.plan("square", matched.matches, {"a": "key-a"}, {"key-a": reserved})


def test_plan_writes_only_what_differs() -> None:
    changed = _plan("7", 5)
    assert [(u.ref.key, u.quantity, u.previous) for u in changed.updates] == [("1", 7, 5)]
    same = _plan("5", 5)
    assert same.updates == [] and len(same.unchanged) == 1


def test_plan_subtracts_reservations_and_never_goes_below_zero() -> None:
    assert _plan("7", 0, reserved=3).updates[0].quantity == 4
    assert _plan("2", 5, reserved=3).updates[0].quantity == 0


def test_unmanaged_webshop_stock_is_written_even_when_equal() -> None:
    matched = planner.match("square", [count("a", "5")], {"a": variant("a", "S")}, [])
    assert matched.matches == []
    unmanaged = WebshopListing(ref=WebshopRef(product_id="1"), sku="S", stock=5, manage_stock=False)
    m = planner.match("square", [count("a", "5")], {"a": variant("a", "S")}, [unmanaged])
    assert len(planner.plan("square", m.matches, {"a": "k"}).updates) == 1


def test_bad_quantities_are_quarantined_naming_the_field() -> None:
    for raw, words in [
        ("-3", "negative"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("2.5", "whole number"),
        ("NaN", "not a number"),
    ]:
        result = _plan(raw, 0)
        assert result.updates == [] and result.unchanged == []
        [problem] = result.problems
        assert problem.field == "quantity" and words in problem.reason, raw
        assert problem.record_id == "a" and problem.sku == "S"


def test_counts_beyond_what_the_webshop_holds_are_quarantined_never_written() -> None:
    """Issue 12, defect 2: no upper bound let 10^20 through to the webshop and the ledger.
    Each webshop's documented limit (and the ledger's 64 bits above all) bounds a count."""
    shopify = planner.count_limit("shopify", 1_000_000_000)
    matched = planner.match(
        "square",
        [count("a", "1000000000"), count("b", "1000000001"), count("c", str(10**20))],
        {k: variant(k, f"S-{k}") for k in "abc"},
        [listing(k, f"S-{k}") for k in "abc"],
    )
    keys = {k: f"key-{k}" for k in "abc"}
    result = planner.plan("square", matched.matches, keys, limit=shopify)
    assert [u.quantity for u in result.updates] == [1_000_000_000]
    reasons = {p.record_id: p for p in result.problems}
    assert set(reasons) == {"b", "c"}
    assert all(p.field == "quantity" for p in reasons.values())
    assert "more than shopify holds (at most 1,000,000,000)" in reasons["b"].reason
    assert "1000000001" in reasons["b"].reason
    # Whatever a vendor says it holds, the ledger's 64 bits bound what is written.
    assert planner.count_limit("square", 10**20 - 1) == planner.LEDGER_LIMIT
    unbounded = planner.plan("square", matched.matches, keys)
    [problem] = unbounded.problems
    assert problem.record_id == "c" and "the stock ledger (64-bit)" in problem.reason
    assert planner.parse_quantity("9" * 41)[0] is None  # text too long to be a count


def test_latest_counts_keeps_newest_per_variant() -> None:
    older = count("a", "1", T0)
    newer = count("a", "2", T0 + timedelta(seconds=1))
    assert planner.latest_counts([newer, older, count("b")]) == [newer, count("b")]


@given(
    quantity=st.integers(min_value=0, max_value=10**6),
    web=st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)),
    reserved=st.integers(min_value=0, max_value=10**6),
)
def test_plan_properties(quantity: int, web: int | None, reserved: int) -> None:
    result = _plan(str(quantity), web, reserved)
    target = max(0, quantity - reserved)
    assert result.problems == []
    assert len(result.updates) + len(result.unchanged) == 1
    decided = (result.updates + result.unchanged)[0]
    assert decided.quantity == target
    assert (decided in result.updates) == (web != target)

"""Product pairs and the catalogue code index, on SQLite and PostgreSQL."""

from __future__ import annotations

from possync.domain.products import CodeRow
from possync.store import Pair, Store


def pair(pos_id: str, shop_id: str, fp: str = "a") -> Pair:
    return Pair("square", pos_id, "woocommerce", shop_id, fp, fp + "'")


def test_pairs_are_found_from_either_side_and_updated(store: Store) -> None:
    store.catalog.save_pairs([pair("I1", "10"), pair("I2", "20")])
    store.catalog.save_pairs([pair("I1", "10", fp="b")])
    by_pos = store.catalog.pairs("square", "woocommerce", pos_ids=["I1"])
    by_shop = store.catalog.pairs("square", "woocommerce", shop_ids=["20"])
    assert by_pos == [pair("I1", "10", fp="b")]
    assert by_shop == [pair("I2", "20")]
    assert store.catalog.pairs("square", "shopify", pos_ids=["I1"]) == []


def test_a_webshop_product_paired_anew_leaves_its_old_pair(store: Store) -> None:
    store.catalog.save_pairs([pair("I1", "10")])
    store.catalog.save_pairs([pair("I9", "10")])
    assert store.catalog.pairs("square", "woocommerce", shop_ids=["10"]) == [pair("I9", "10")]
    assert store.catalog.pairs("square", "woocommerce", pos_ids=["I1"]) == []


def test_codes_are_replaced_per_product_and_found_by_sku_or_barcode(store: Store) -> None:
    catalog = store.catalog
    catalog.replace_codes(
        "woocommerce",
        {
            "10": [CodeRow("10", "", "A", "111")],
            "20": [CodeRow("20", "21", "B", None), CodeRow("20", "22", "C", "111")],
        },
    )
    found = catalog.codes_matching("woocommerce", {"A", "Z"}, {"111"})
    assert {(c.product_id, c.variant_id) for c in found} == {("10", ""), ("20", "22")}
    assert catalog.products_sharing_codes("woocommerce", {"B"}, {"111"}) == {
        "B": {"20"},
        "111": {"10", "20"},
    }
    catalog.replace_codes("woocommerce", {"20": []})  # deleted
    assert catalog.products_sharing_codes("woocommerce", set(), {"111"}) == {"111": {"10"}}
    assert catalog.codes_matching("square", {"A"}, set()) == []

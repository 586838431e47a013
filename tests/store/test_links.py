"""The id map: lookups, upserts, repointing, and that its unique keys can't be broken."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from possync.store import Link, Store
from possync.store.tables import IdMap

WOO = "woocommerce"
SQUARE = "square"


def _rows(store: Store) -> set[Link]:
    """Every row of the id map, as links."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                IdMap.product_key,
                IdMap.system,
                IdMap.external_id,
                IdMap.variant_id,
                IdMap.sku,
                IdMap.barcode,
            )
        )
        return {Link(*row) for row in rows}


def _row_id(store: Store, system: str, product_key: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            select(IdMap.id).where(IdMap.system == system, IdMap.product_key == product_key)
        ).scalar_one()


def test_lookups_by_variant_key_sku_barcode_and_external_id(store: Store) -> None:
    shirt_s = Link("k-shirt-s", WOO, "100", "101", "SHIRT-S", "5701234567892")
    shirt_m = Link("k-shirt-m", WOO, "100", "102", "SHIRT-M", "5701234567908")
    mug = Link("k-mug", WOO, "200", "", "MUG", None)
    mug_square = Link("k-mug", SQUARE, "SQ-ITEM", "SQ-VAR", "MUG", None)
    store.save_links([shirt_s, shirt_m, mug, mug_square])

    assert store.links_by_variant(WOO, ["101", "102", "999"]) == {"101": shirt_s, "102": shirt_m}
    assert store.links_by_variant(WOO, [""]) == {}, "'' means no variant, never a match"
    assert store.links_by_variant(SQUARE, ["SQ-VAR"]) == {"SQ-VAR": mug_square}
    assert store.links_by_key(WOO, ["k-mug", "k-shirt-s", "nope"]) == {
        "k-mug": mug,
        "k-shirt-s": shirt_s,
    }
    assert store.links_by_key(SQUARE, ["k-mug"]) == {"k-mug": mug_square}
    assert store.links_by_sku(WOO, ["MUG", "SHIRT-M", "NONE"]) == {
        "MUG": [mug],
        "SHIRT-M": [shirt_m],
    }
    assert store.links_by_barcode(WOO, ["5701234567892"]) == {"5701234567892": [shirt_s]}
    assert store.links_by_external(WOO, ["100", "200"]) == {
        "100": [shirt_s, shirt_m],
        "200": [mug],
    }
    assert store.links_by_key(WOO, []) == {}


def test_a_shared_sku_or_barcode_returns_every_link(store: Store) -> None:
    first = Link("k1", WOO, "1", "", "DUP", "4006381333931")
    second = Link("k2", WOO, "2", "", "DUP", "4006381333931")
    store.save_links([first, second])
    assert store.links_by_sku(WOO, ["DUP"]) == {"DUP": [first, second]}
    assert store.links_by_barcode(WOO, ["4006381333931"]) == {"4006381333931": [first, second]}


def test_saving_the_same_external_id_updates_sku_and_barcode(store: Store) -> None:
    store.save_links([Link("k1", WOO, "1", "", "OLD", None)])
    row_id = _row_id(store, WOO, "k1")
    store.save_links([Link("k1", WOO, "1", "", "NEW", "96385074")])

    assert _rows(store) == {Link("k1", WOO, "1", "", "NEW", "96385074")}
    assert _row_id(store, WOO, "k1") == row_id
    assert store.links_by_sku(WOO, ["OLD"]) == {}


def test_a_recreated_product_repoints_the_key_to_its_new_id(store: Store) -> None:
    store.save_links([Link("k1", WOO, "1", "", "SKU", None), Link("k2", WOO, "2", "", None, None)])
    row_id = _row_id(store, WOO, "k1")

    store.save_links([Link("k1", WOO, "77", "", "SKU", None)])

    assert store.links_by_key(WOO, ["k1"])["k1"].external_id == "77"
    assert store.links_by_external(WOO, ["1"]) == {}
    assert _row_id(store, WOO, "k1") == row_id, "the older row is repointed, not replaced"
    assert len(_rows(store)) == 2


def test_an_external_id_claimed_by_another_key_moves_to_it(store: Store) -> None:
    store.save_links([Link("k1", WOO, "1", "", None, None)])
    store.save_links([Link("k2", WOO, "1", "", None, None)])
    assert _rows(store) == {Link("k2", WOO, "1", "", None, None)}
    assert store.links_by_key(WOO, ["k1"]) == {}


def test_a_link_clashing_with_two_rows_replaces_both(store: Store) -> None:
    store.save_links([Link("k1", WOO, "X", "", None, None), Link("k2", WOO, "Y", "", None, None)])
    store.save_links([Link("k2", WOO, "X", "", None, None)])
    assert _rows(store) == {Link("k2", WOO, "X", "", None, None)}


def test_swapping_two_keys_external_ids_in_one_batch(store: Store) -> None:
    store.save_links([Link("k1", WOO, "X", "", None, None), Link("k2", WOO, "Y", "", None, None)])
    store.save_links([Link("k1", WOO, "Y", "", None, None), Link("k2", WOO, "X", "", None, None)])
    assert _rows(store) == {
        Link("k1", WOO, "Y", "", None, None),
        Link("k2", WOO, "X", "", None, None),
    }


def test_later_links_in_a_batch_supersede_earlier_ones(store: Store) -> None:
    store.save_links(
        [
            Link("k1", WOO, "1", "", "A", None),
            Link("k1", WOO, "2", "", "B", None),  # same key: the first is dropped
            Link("k3", WOO, "3", "", "C", None),
            Link("k4", WOO, "3", "", "D", None),  # same external id: k3's is dropped
        ]
    )
    assert _rows(store) == {
        Link("k1", WOO, "2", "", "B", None),
        Link("k4", WOO, "3", "", "D", None),
    }


def test_systems_are_independent(store: Store) -> None:
    store.save_links(
        [Link("k1", WOO, "1", "", None, None), Link("k1", SQUARE, "1", "", None, None)]
    )
    store.save_links([Link("k2", SQUARE, "1", "", None, None)])
    assert _rows(store) == {
        Link("k1", WOO, "1", "", None, None),
        Link("k2", SQUARE, "1", "", None, None),
    }


def test_unchanged_links_keep_their_updated_at(store: Store) -> None:
    link = Link("k1", WOO, "1", "", "S", None)
    store.save_links([link])
    with store.engine.connect() as conn:
        before = conn.execute(select(IdMap.updated_at)).scalar_one()
    store.save_links([link])
    with store.engine.connect() as conn:
        after = conn.execute(select(IdMap.updated_at)).scalar_one()
    assert after == before
    store.save_links([Link("k1", WOO, "1", "", "S2", None)])
    with store.engine.connect() as conn:
        changed = conn.execute(select(IdMap.updated_at)).scalar_one()
    assert changed > before


def _apply(model: set[Link], batch: list[Link]) -> set[Link]:
    """The documented semantics, naively: drop superseded links, then each link evicts
    every row sharing either of its keys."""
    survivors = [
        link
        for i, link in enumerate(batch)
        if not any(
            later.system == link.system
            and (
                later.product_key == link.product_key
                or (later.external_id, later.variant_id) == (link.external_id, link.variant_id)
            )
            for later in batch[i + 1 :]
        )
    ]
    result = set(model)
    for link in survivors:
        result = {
            row
            for row in result
            if row.system != link.system
            or (
                row.product_key != link.product_key
                and (row.external_id, row.variant_id) != (link.external_id, link.variant_id)
            )
        }
        result.add(link)
    return result


def test_random_batches_never_violate_the_unique_keys(store: Store) -> None:
    """Random batches over a small id space collide constantly; every save must succeed
    and leave exactly what the naive model says."""
    rng = random.Random(20251122)
    model: set[Link] = set()
    for _ in range(60):
        batch = [
            Link(
                product_key=f"k{rng.randrange(8)}",
                system=rng.choice([WOO, SQUARE]),
                external_id=str(rng.randrange(6)),
                variant_id=rng.choice(["", "v1", "v2"]),
                sku=rng.choice([None, "S1", "S2"]),
                barcode=rng.choice([None, "96385074"]),
            )
            for _ in range(rng.randrange(1, 12))
        ]
        store.save_links(batch)
        model = _apply(model, batch)
        assert _rows(store) == model
    assert len(model) > 5


def test_twenty_thousand_ids_are_chunked(store: Store) -> None:
    n = 20_000
    links = [Link(f"k{i}", WOO, f"p{i // 2}", f"v{i}", f"SKU{i}", f"B{i}") for i in range(n)]
    store.save_links(links)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(IdMap)).scalar_one() == n

    variant_ids = [f"v{i}" for i in range(n)] + ["unknown"]
    by_variant = store.links_by_variant(WOO, variant_ids)
    assert len(by_variant) == n
    assert by_variant["v12345"] == links[12345]
    assert len(store.links_by_key(WOO, [f"k{i}" for i in range(n)])) == n
    assert len(store.links_by_sku(WOO, [f"SKU{i}" for i in range(n)])) == n
    assert len(store.links_by_barcode(WOO, [f"B{i}" for i in range(n)])) == n
    assert sum(map(len, store.links_by_external(WOO, [f"p{i}" for i in range(n)]).values())) == n

    # Every external id handed to another key: 20,000 stale rows to find and delete.
    moved = [Link(f"new{i}", WOO, f"p{i // 2}", f"v{i}", None, None) for i in range(n)]
    store.save_links(moved)
    assert _rows(store) == set(moved)


def test_new_product_keys_are_unique(store: Store) -> None:
    keys = {store.new_product_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(isinstance(key, str) and key for key in keys)

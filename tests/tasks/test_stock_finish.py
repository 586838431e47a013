"""The stock flow's finish step against a real store (SQLite and PostgreSQL): a record
the ledger refuses is quarantined with its reason; the others are recorded and released."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast

from possync.domain.models import Problem
from possync.store import Store
from possync.vendors.ports import Pos, Webshop
from tasks import stock as stocksync

SQUARE_IDS = ("CSTRXB2FXMKKSGA57ZRSBJA6", "HQ2DFRZ7OXTPNVWC5ZIRAYQE")
POS = cast(Pos, SimpleNamespace(system="square"))
SHOP = cast(Webshop, SimpleNamespace(system="woocommerce"))


def test_a_ledger_row_the_store_refuses_is_quarantined_and_the_rest_recorded(
    store: Store,
) -> None:
    """Issue 12, defect 2's rule applied to the finish step: before, one count the ledger
    could not hold raised here after the webshop was written, on every rerun."""
    good, bad = SQUARE_IDS
    end = stocksync.RunEnd(
        candidates=stocksync.Candidates(
            counts=[], full=False, watermark=datetime(2026, 12, 5, 9, tzinfo=UTC)
        ),
        problems=[],
        synced_pos_ids=[good, bad],
        advance_cursor=True,
        pos_quantities={"key-good": 12, "key-bad": 2**64},
        pos_ids={"key-good": good, "key-bad": bad},
    )
    found = stocksync.finish.fn(POS, SHOP, store, end)
    assert [(p.record_id, p.field) for p in found] == [(bad, "quantity")]
    assert str(2**64) in found[0].reason
    assert store.last_pushed("square", ["key-good", "key-bad"]) == {"key-good": 12}
    [record] = store.open_quarantine("stock-sync", "square")
    assert record.record_id == bad and record.field == "quantity"
    assert store.get_cursor("stock:square->woocommerce") == "2026-12-05T09:00:00+00:00"

    # The next run records it once the value fits, and releases it from quarantine.
    end.pos_quantities = {"key-bad": 40}
    assert stocksync.finish.fn(POS, SHOP, store, end) == []
    assert store.open_quarantine("stock-sync") == []
    assert store.last_pushed("square", ["key-bad"]) == {"key-bad": 40}


def test_problems_found_earlier_are_quarantined_alongside(store: Store) -> None:
    problem = Problem(
        system="square", record_id=SQUARE_IDS[0], field="sku", reason="has neither SKU nor barcode"
    )
    end = stocksync.RunEnd(
        candidates=stocksync.Candidates(counts=[], full=False, watermark=None),
        problems=[problem],
        synced_pos_ids=[],
        advance_cursor=True,
    )
    assert stocksync.finish.fn(POS, SHOP, store, end) == []
    [record] = store.open_quarantine("stock-sync")
    assert record.field == "sku"

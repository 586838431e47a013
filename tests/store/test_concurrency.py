"""Several writers on one database at once, as when flows overlap or two workers run."""

from __future__ import annotations

import random
import threading
from typing import cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from possync.store import Link, QuarantineEntry, Store
from possync.store.tables import IdMap

WOO = "woocommerce"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue(f"{request.param}_url")
    Store.open(value).close()
    return value


def test_overlapping_writers_never_fail(url: str) -> None:
    """Threads with their own engines (like separate processes) save colliding links,
    stock pushes and quarantine entries at once; every call must succeed."""
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        store = Store.open(url)
        try:
            start.wait()
            for round_ in range(25):
                store.save_links(
                    Link(f"k{rng.randrange(30)}", WOO, str(rng.randrange(30)), "", None, None)
                    for _ in range(20)
                )
                store.record_pushes(WOO, {f"k{rng.randrange(30)}": round_ for _ in range(20)})
                store.quarantine(
                    [QuarantineEntry("stock", WOO, str(rng.randrange(10)), None, "x", {})]
                )
                store.set_cursor("shared", f"{seed}-{round_}")
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    with Store.open(url) as store:
        with store.engine.connect() as conn:
            keys = conn.execute(select(func.count(func.distinct(IdMap.product_key)))).scalar_one()
            rows = conn.execute(select(func.count()).select_from(IdMap)).scalar_one()
        assert rows == keys > 0
        assert sum(r.attempts for r in store.open_quarantine("stock")) == 75
        assert cast(str, store.get_cursor("shared")).endswith("-24")


def test_a_failing_batch_saves_nothing(url: str) -> None:
    with Store.open(url) as store:
        good = Link("k1", WOO, "1", "", None, None)
        bad = Link("k2", WOO, cast(str, None), "", None, None)
        with pytest.raises(IntegrityError, match=r"(?i)null"):
            store.save_links([good, bad])
        assert store.links_by_key(WOO, ["k1", "k2"]) == {}

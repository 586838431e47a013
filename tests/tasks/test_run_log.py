"""Every flow run leaves a row in the store's run log (`tasks.common.logged_run`, inside the
run slot): started, then completed with its counts, or failed."""

from __future__ import annotations

import uuid

import pytest

from possync.store import Store
from tasks.common import logged_run


def test_a_completed_run_is_logged_with_its_counts(store: Store) -> None:
    run_id = str(uuid.uuid4())
    result = logged_run(store, "stock-sync", run_id, lambda: {"read": 3, "changed": 1, "x": "y"})
    assert result == {"read": 3, "changed": 1, "x": "y"}
    [logged] = store.recent_runs("stock-sync")
    assert (logged.run_id, logged.status, logged.counts) == (
        run_id,
        "completed",
        {"read": 3, "changed": 1},
    )
    assert logged.finished_at is not None and logged.finished_at >= logged.started_at


def test_a_failed_run_is_logged_as_failed_and_its_error_goes_on(store: Store) -> None:
    def fail() -> dict[str, int]:
        raise RuntimeError("webshop unreachable")

    with pytest.raises(RuntimeError, match="webshop unreachable"):
        logged_run(store, "product-sync", None, fail)
    [logged] = store.recent_runs("product-sync")
    assert (logged.status, logged.counts) == ("failed", {})
    assert logged.finished_at is not None

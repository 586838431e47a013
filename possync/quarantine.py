"""Problems found by a run go to the store's quarantine, to be shown and tried again."""

from __future__ import annotations

from collections.abc import Sequence

from possync.domain.models import Problem
from possync.store import QuarantineEntry, Store


def quarantine_problems(store: Store, flow: str, problems: Sequence[Problem]) -> None:
    """Keep each bad record with its field and reason; the next run of `flow` retries it."""
    if problems:
        store.quarantine(
            QuarantineEntry(
                flow=flow,
                system=p.system,
                record_id=p.record_id,
                field=p.field,
                reason=p.reason,
                payload={"sku": p.sku, **p.payload},
            )
            for p in problems
        )

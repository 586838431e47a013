"""The run log: each flow run's start, end and counts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    insert,
    select,
    update,
)

from possync.store.session import (
    StoreSession,
    json_text,
    utc_now,
)
from possync.store.tables import (
    RunLog,
)


@dataclass(frozen=True)
class RunRecord:
    """One flow run from the run log (``finished_at`` is ``None`` while it runs)."""

    id: int
    flow: str
    run_id: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: dict[str, int]


class RunLogStore(StoreSession):
    """The run log: each flow run's start, end and counts."""

    def start_run(self, flow: str, run_id: str | None) -> int:
        """Log a run as started; returns the id ``finish_run`` needs."""
        with self.transaction() as conn:
            new_id = conn.execute(
                insert(RunLog)
                .values(
                    flow=flow, run_id=run_id, started_at=utc_now(), status="running", counts="{}"
                )
                .returning(RunLog.id)
            ).scalar_one()
            return new_id

    def finish_run(self, run_log_id: int, status: str, counts: Mapping[str, int]) -> None:
        """Close a run with its outcome and counts; an unknown id raises ``KeyError``."""
        with self.transaction() as conn:
            result = conn.execute(
                update(RunLog)
                .where(RunLog.id == run_log_id)
                .values(finished_at=utc_now(), status=status, counts=json_text(counts))
            )
            if result.rowcount == 0:
                raise KeyError(f"no run_log row with id {run_log_id}")

    def recent_runs(self, flow: str, limit: int = 20) -> list[RunRecord]:
        """The flow's latest runs, newest first."""
        with self.reading() as conn:
            rows = conn.execute(
                select(*RunLog.__table__.columns)
                .where(RunLog.flow == flow)
                .order_by(RunLog.started_at.desc(), RunLog.id.desc())
                .limit(limit)
            )
            return [
                RunRecord(
                    id=row.id,
                    flow=row.flow,
                    run_id=row.run_id,
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                    status=row.status,
                    counts=cast(dict[str, int], json.loads(row.counts)),
                )
                for row in rows
            ]

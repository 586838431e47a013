"""The quarantine: records a run could not sync, with field and reason, retried each run."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    select,
    update,
)

from possync.store.session import (
    StoreSession,
    distinct,
    json_text,
    storable_text,
    utc_now,
)
from possync.store.tables import (
    Quarantine,
)


@dataclass(frozen=True)
class QuarantineEntry:
    """A record a flow set aside, and why (``field`` names the offending field, if one)."""

    flow: str
    system: str
    record_id: str
    field: str | None
    reason: str
    payload: dict[str, object]


@dataclass(frozen=True)
class QuarantinedRecord(QuarantineEntry):
    """A quarantined record as stored: how often it failed and since when."""

    attempts: int
    first_seen: datetime
    last_seen: datetime


class QuarantineStore(StoreSession):
    """The quarantine: records a run could not sync, with field and reason, retried each run."""

    def quarantine(self, entries: Iterable[QuarantineEntry]) -> None:
        """Set records aside: new ones open with one attempt; known ones are reopened,
        get the latest reason and payload, and count one more attempt."""
        latest = {(e.flow, e.system, e.record_id): e for e in entries}
        if not latest:
            return
        now = utc_now()
        rows = [
            {
                "flow": entry.flow,
                "system": entry.system,
                "record_id": entry.record_id,
                "field": entry.field,
                "reason": storable_text(entry.reason),
                "payload": json_text(entry.payload),
                "status": "open",
                "first_seen": now,
                "last_seen": now,
                "attempts": 1,
            }
            for _, entry in sorted(latest.items())
        ]
        stmt = self.upsert(
            Quarantine,
            ["flow", "system", "record_id"],
            lambda new: {
                "field": new.field,
                "reason": new.reason,
                "payload": new.payload,
                "status": new.status,
                "last_seen": new.last_seen,
                "attempts": Quarantine.attempts + 1,
            },
        )
        with self.transaction() as conn:
            conn.execute(stmt, rows)
            self.analyze_if_bulk(conn, Quarantine, len(rows))

    def open_quarantine(self, flow: str, system: str | None = None) -> list[QuarantinedRecord]:
        """The flow's open records (optionally for one system), oldest first."""
        query = select(*Quarantine.__table__.columns).where(
            Quarantine.flow == flow, Quarantine.status == "open"
        )
        if system is not None:
            query = query.where(Quarantine.system == system)
        with self.reading() as conn:
            rows = conn.execute(query.order_by(Quarantine.first_seen, Quarantine.id))
            return [
                QuarantinedRecord(
                    flow=row.flow,
                    system=row.system,
                    record_id=row.record_id,
                    field=row.field,
                    reason=row.reason,
                    payload=cast(dict[str, object], json.loads(row.payload)),
                    attempts=row.attempts,
                    first_seen=row.first_seen,
                    last_seen=row.last_seen,
                )
                for row in rows
            ]

    def resolve_quarantine(self, flow: str, system: str, record_ids: Collection[str]) -> int:
        """Mark the records as gone through; returns how many open ones were resolved."""
        resolved = 0
        with self.transaction() as conn:
            for chunk in self.in_chunks(distinct(record_ids)):
                result = conn.execute(
                    update(Quarantine)
                    .where(
                        Quarantine.flow == flow,
                        Quarantine.system == system,
                        self.among(Quarantine.record_id, chunk),
                        Quarantine.status == "open",
                    )
                    .values(status="resolved")
                )
                resolved += result.rowcount
        return resolved

"""The emulated Square inventory: counts per (variation, location, state), rebuilt from changes.

Square applies physical counts and adjustments "based on the client-supplied timestamp"
(`occurred_at`), so a count is the latest physical count plus every adjustment after it in
occurred_at order, whatever order they arrived in. Each count remembers that history.

BatchRetrieveInventoryCounts returns counts newest `calculated_at` first. Every write stamps
the counts it touched with one clock tick and appends them to a write log; paging walks that
log backwards, so a page costs O(page) and `updated_after` stops the walk early instead of
scanning 100k counts. Not thread-safe by itself: `SquareState` holds the lock.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from emulators.square_common import (
    JsonDict,
    decode_cursor,
    encode_cursor,
    fingerprint,
    format_quantity,
    invalid,
    rfc3339,
)

# States Square keeps no count for ("Ignored are untracked states of NONE, SOLD, and
# UNLINKED_RETURN"): quantities moved into them leave the tracked states.
UNTRACKED_STATES = frozenset({"NONE", "SOLD", "UNLINKED_RETURN"})
COUNTS_DEFAULT_LIMIT = 100
COUNTS_MAX_LIMIT = 1000  # BatchRetrieveInventoryCountsRequest.limit: minimum 1, maximum 1000

# One entry of a count's history: (occurred_at µs, arrival sequence, is physical count, value).
# A physical count sets the quantity to `value`; an adjustment adds `value` (signed).
Entry = tuple[int, int, bool, Decimal]


@dataclass(slots=True, eq=False)
class Count:
    catalog_object_id: str
    location_id: str
    state: str
    quantity: Decimal = Decimal(0)
    calculated_ms: int = 0
    seq: int = -1
    history: list[Entry] = field(default_factory=list)

    def to_json(self) -> JsonDict:
        return {
            "catalog_object_id": self.catalog_object_id,
            "catalog_object_type": "ITEM_VARIATION",
            "state": self.state,
            "location_id": self.location_id,
            "quantity": format_quantity(self.quantity),
            "calculated_at": rfc3339(self.calculated_ms),
            "is_estimated": False,
        }


@dataclass(frozen=True)
class CountsQuery:
    """BatchRetrieveInventoryCounts' filters, already parsed."""

    catalog_object_ids: tuple[str, ...] | None
    location_ids: frozenset[str] | None
    states: frozenset[str] | None
    updated_after_us: int | None

    def key(self) -> object:
        return {
            "c": list(self.catalog_object_ids) if self.catalog_object_ids else None,
            "l": sorted(self.location_ids) if self.location_ids else None,
            "s": sorted(self.states) if self.states else None,
            "u": self.updated_after_us,
        }

    def accepts(self, count: Count) -> bool:
        return (self.location_ids is None or count.location_id in self.location_ids) and (
            self.states is None or count.state in self.states
        )


class Inventory:
    """All counts, indexed by key and by catalog object, plus the write log used for paging."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], Count] = {}
        self._by_object: dict[str, list[Count]] = {}
        self._log: list[Count | None] = []
        self._arrivals = 0

    # --- writing -------------------------------------------------------------------------

    def physical_count(
        self,
        object_id: str,
        location_id: str,
        state: str,
        quantity: Decimal,
        occurred_us: int,
        *,
        ignore_unchanged: bool,
    ) -> Count | None:
        """Record a physical count; None when it was ignored as unchanged."""
        count = self._count(object_id, location_id, state)
        if ignore_unchanged and count.history and count.quantity == quantity:
            return None
        self._record(count, (occurred_us, self._next_arrival(), True, quantity))
        return count

    def adjustment(
        self,
        object_id: str,
        location_id: str,
        from_state: str,
        to_state: str,
        quantity: Decimal,
        occurred_us: int,
    ) -> list[Count]:
        """Move `quantity` from one state to another; untracked states have no count."""
        arrival = self._next_arrival()
        touched = []
        for state, sign in ((from_state, -1), (to_state, 1)):
            if state in UNTRACKED_STATES:
                continue
            count = self._count(object_id, location_id, state)
            self._record(count, (occurred_us, arrival, False, sign * quantity))
            touched.append(count)
        return touched

    def stamp(self, counts: Iterable[Count], ms: int) -> None:
        """Give the counts one write's `calculated_at` and move them to the head of the log."""
        for count in dict.fromkeys(counts):  # each once, in first-touched order
            if count.seq >= 0:
                self._log[count.seq] = None
            count.seq = len(self._log)
            count.calculated_ms = ms
            self._log.append(count)

    def _count(self, object_id: str, location_id: str, state: str) -> Count:
        key = (object_id, location_id, state)
        count = self._counts.get(key)
        if count is None:
            count = Count(object_id, location_id, state)
            self._counts[key] = count
            self._by_object.setdefault(object_id, []).append(count)
        return count

    def _next_arrival(self) -> int:
        self._arrivals += 1
        return self._arrivals

    @staticmethod
    def _record(count: Count, entry: Entry) -> None:
        history = count.history
        if not history or entry >= history[-1]:
            history.append(entry)
            count.quantity = entry[3] if entry[2] else count.quantity + entry[3]
            return
        bisect.insort(history, entry)  # arrived out of occurred_at order: replay
        quantity = Decimal(0)
        for _, _, physical, value in history:
            quantity = value if physical else quantity + value
        count.quantity = quantity

    # --- reading -------------------------------------------------------------------------

    def quantity(self, object_id: str, location_id: str, state: str) -> Decimal:
        count = self._counts.get((object_id, location_id, state))
        return count.quantity if count else Decimal(0)

    def counts_for(self, object_id: str, location_ids: Iterable[str] | None = None) -> list[Count]:
        """A variation's counts (optionally at some locations), sorted by location and state."""
        wanted = set(location_ids) if location_ids is not None else None
        found = [
            c
            for c in self._by_object.get(object_id, [])
            if c.history and (wanted is None or c.location_id in wanted)
        ]
        return sorted(found, key=lambda c: (c.location_id, c.state))

    def page(self, query: CountsQuery, cursor: str | None, limit: int) -> JsonDict:
        """One BatchRetrieveInventoryCounts page, newest calculated_at first."""
        key = _query_key(query)
        before = None if cursor is None else _cursor_seq(cursor, key)
        matches = self._newest_first(query, before)
        page = [c for _, c in zip(range(limit), matches, strict=False)]
        body: JsonDict = {}
        if page:
            body["counts"] = [c.to_json() for c in page]
            if next(matches, None) is not None:
                body["cursor"] = encode_cursor("counts", page[-1].seq, key)
        return body

    def _newest_first(self, query: CountsQuery, before: int | None) -> Iterator[Count]:
        if query.catalog_object_ids is not None:
            ids = dict.fromkeys(query.catalog_object_ids)
            pool = [c for i in ids for c in self._by_object.get(i, []) if c.seq >= 0]
            candidates: Iterable[Count] = sorted(pool, key=lambda c: c.seq, reverse=True)
        else:
            candidates = self._walk_log(len(self._log) if before is None else before)
        for count in candidates:
            if before is not None and count.seq >= before:
                continue
            if query.updated_after_us is not None and (
                count.calculated_ms * 1000 <= query.updated_after_us
            ):
                return  # newest first: everything after this is older still
            if query.accepts(count):
                yield count

    def _walk_log(self, end: int) -> Iterator[Count]:
        """Live log entries below `end`, newest first."""
        for index in range(min(end, len(self._log)) - 1, -1, -1):
            count = self._log[index]
            if count is not None:
                yield count


def _query_key(query: CountsQuery) -> str:
    return fingerprint(query.key())


def _cursor_seq(cursor: str, key: str) -> int:
    seq = decode_cursor(cursor, "counts", key)
    if not isinstance(seq, int) or seq < 0:
        raise invalid("The pagination cursor is invalid.", "cursor", code="INVALID_CURSOR")
    return seq

"""Run slots: at most one run of each flow per shop at a time, whoever starts it.

A deployment's concurrency limit serialises the runs Prefect schedules, but not a flow
called directly, a `possync sync …` command, the webhook receiver's in-process runs, or a
second worker on another Prefect server. Every flow run therefore holds a slot in the
state store, keyed by (shop, flow), for its whole run. The slot is a lease: a row whose
`expires_at` the holder pushes forward (`renew`) from a heartbeat thread. A holder that
dies (kill -9, a lost machine) stops renewing, and its slot is free again once the lease
has run out, so a crash blocks the next run for at most one lease.

Taking the slot is one compare-and-set (``INSERT … ON CONFLICT DO UPDATE … WHERE the
row has expired or is ours``), so it holds across threads, processes and machines on SQLite
and PostgreSQL alike. Times are the processes' own clocks (UTC): machines sharing one
PostgreSQL store need synchronised clocks (NTP), and the lease must be far longer than
their skew. Reached as ``store.slots``; ``hold_slot`` is the context manager flows use.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select, update

from possync.store.tables import RunSlot

if TYPE_CHECKING:
    from possync.store.session import StoreSession as Store

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_WAIT_SECONDS",
    "HeldSlot",
    "RunSlots",
    "SlotBusy",
    "SlotHolder",
    "SlotLost",
    "SlotTimings",
    "hold_slot",
]

log = logging.getLogger(__name__)

# A kill -9'd holder blocks the next run for at most this long; the heartbeat renews the
# lease every quarter of it, so a live run would have to stall for 45 s to lose it.
DEFAULT_LEASE_SECONDS = 60.0
# How long a second run waits for the first to finish before it gives up (Cancelled).
DEFAULT_WAIT_SECONDS = 300.0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SlotTimings:
    """How long a slot's lease lasts and how long a run waits for a taken slot.

    From ``POSSYNC_RUN_SLOT_LEASE_SECONDS`` and ``POSSYNC_RUN_SLOT_WAIT_SECONDS`` (see
    `from_env`); `poll` is how often a waiting run tries again.
    """

    lease: float = DEFAULT_LEASE_SECONDS
    wait: float = DEFAULT_WAIT_SECONDS
    poll: float = 1.0

    def __post_init__(self) -> None:
        if not self.lease > 0:
            raise ValueError(f"run slot lease must be positive seconds, not {self.lease!r}")
        if not self.wait >= 0:
            raise ValueError(f"run slot wait must be zero or more seconds, not {self.wait!r}")
        if not self.poll > 0:
            raise ValueError(f"run slot poll must be positive seconds, not {self.poll!r}")

    @classmethod
    def from_env(cls) -> SlotTimings:
        def seconds(name: str, default: float) -> float:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r}: expected a number of seconds") from None

        lease = seconds("POSSYNC_RUN_SLOT_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)
        wait = seconds("POSSYNC_RUN_SLOT_WAIT_SECONDS", DEFAULT_WAIT_SECONDS)
        return cls(lease=lease, wait=wait, poll=min(1.0, lease / 4))


@dataclass(frozen=True)
class SlotHolder:
    """Who holds a slot, since when, and until when unless renewed."""

    shop: str
    flow: str
    holder: str
    run_id: str | None
    owner: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        """``run <flow run id>`` (or the holder token), where, and since when."""
        who = f"run {self.run_id}" if self.run_id else f"holder {self.holder}"
        return f"{who}, on {self.owner}, since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC"


class SlotBusy(RuntimeError):
    """The slot stayed taken for as long as this run was willing to wait."""

    def __init__(self, shop: str, flow: str, current: SlotHolder | None, waited: float) -> None:
        self.shop, self.flow, self.current, self.waited = shop, flow, current, waited
        who = current.describe() if current is not None else "a run that has just ended"
        super().__init__(
            f"another {flow} for shop {shop} is running ({who}); this run waited "
            f"{waited:.0f} s for it and did nothing"
        )


class SlotLost(RuntimeError):
    """The lease ran out while this run held it (the run stalled longer than the lease,
    or the store was unreachable), so another run may have worked at the same time."""


def _holder(row: Any) -> SlotHolder:
    return SlotHolder(
        shop=row.shop,
        flow=row.flow,
        holder=row.holder,
        run_id=row.run_id,
        owner=row.owner,
        acquired_at=row.acquired_at,
        renewed_at=row.renewed_at,
        expires_at=row.expires_at,
    )


class RunSlots:
    """The run slots table: take, renew, release and read a (shop, flow) lease."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def try_acquire(
        self,
        shop: str,
        flow: str,
        *,
        holder: str,
        lease: float,
        run_id: str | None = None,
        owner: str = "",
    ) -> bool:
        """Take the slot if it is free, has expired, or is already this holder's; one
        compare-and-set, so of any number of runs trying at once exactly one gets it."""
        now = _now()
        values = {
            "shop": shop,
            "flow": flow,
            "holder": holder,
            "run_id": run_id,
            "owner": owner or _owner(),
            "acquired_at": now,
            "renewed_at": now,
            "expires_at": now + timedelta(seconds=lease),
        }
        stmt = self._store.upsert(
            RunSlot,
            ["shop", "flow"],
            lambda new: {c: new[c] for c in values if c not in ("shop", "flow")},
            lambda new: or_(RunSlot.expires_at <= new.acquired_at, RunSlot.holder == new.holder),
        )
        with self._store.transaction() as conn:
            return conn.execute(stmt.returning(RunSlot.holder), values).first() is not None

    def renew(self, shop: str, flow: str, holder: str, lease: float) -> bool:
        """Push the lease forward; ``False`` if the slot is no longer this holder's (it
        lapsed and another run took it)."""
        now = _now()
        with self._store.transaction() as conn:
            result = conn.execute(
                update(RunSlot)
                .where(RunSlot.shop == shop, RunSlot.flow == flow, RunSlot.holder == holder)
                .values(renewed_at=now, expires_at=now + timedelta(seconds=lease))
            )
            return result.rowcount == 1

    def release(self, shop: str, flow: str, holder: str) -> bool:
        """Give the slot back; ``False`` if it was not (or no longer) this holder's."""
        with self._store.transaction() as conn:
            result = conn.execute(
                delete(RunSlot).where(
                    RunSlot.shop == shop, RunSlot.flow == flow, RunSlot.holder == holder
                )
            )
            return result.rowcount == 1

    def current(self, shop: str, flow: str) -> SlotHolder | None:
        """The slot's row, expired or not; ``None`` when nobody has taken it."""
        with self._store.reading() as conn:
            row = conn.execute(
                select(*RunSlot.__table__.columns).where(RunSlot.shop == shop, RunSlot.flow == flow)
            ).first()
            return _holder(row) if row is not None else None


def _owner() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class HeldSlot:
    """A slot this run holds; a heartbeat thread renews it until the run ends."""

    def __init__(
        self, slots: RunSlots, shop: str, flow: str, holder: str, run_id: str | None, lease: float
    ) -> None:
        self.shop, self.flow, self.holder, self.run_id = shop, flow, holder, run_id
        self._slots = slots
        self._lease = lease
        self._renewed = time.monotonic()
        self._stop = threading.Event()
        self._lost: str | None = None
        self._thread = threading.Thread(
            target=self._beat, name=f"run-slot {flow}:{shop}", daemon=True
        )

    @property
    def lost(self) -> str | None:
        """Why the slot was lost, or ``None`` while it is held."""
        return self._lost

    def check(self) -> None:
        """Raise `SlotLost` if the lease ran out: call before a step that must not overlap
        another run (writing, moving a cursor)."""
        if self._lost is not None:
            raise SlotLost(self._lost)

    def _start(self) -> None:
        self._thread.start()

    def _beat(self) -> None:
        interval = self._lease / 4
        while not self._stop.wait(interval):
            try:
                if self._slots.renew(self.shop, self.flow, self.holder, self._lease):
                    self._renewed = time.monotonic()
                    continue
                taken = self._slots.current(self.shop, self.flow)
                by = taken.describe() if taken is not None else "nobody since"
                self._lost = (
                    f"the {self.flow} slot for shop {self.shop} lapsed while this run held "
                    f"it and was taken by {by}: the two runs may have overlapped"
                )
            except Exception as exc:  # noqa: BLE001 - logged; the lease decides below
                log.warning(
                    "could not renew the %s slot for shop %s: %s", self.flow, self.shop, exc
                )
                if time.monotonic() - self._renewed < self._lease:
                    continue
                self._lost = (
                    f"the {self.flow} slot for shop {self.shop} could not be renewed for "
                    f"{self._lease:g} s (store unreachable: {exc}); another run may have "
                    "taken it"
                )
            log.error("%s", self._lost)
            return

    def _end(self) -> None:
        self._stop.set()
        self._thread.join()


_give_up: ContextVar[threading.Event | None] = ContextVar("possync_slot_give_up", default=None)


@contextmanager
def give_up_waiting_when(event: threading.Event) -> Iterator[None]:
    """Runs started in this context stop waiting for a taken slot (`SlotBusy`) as soon as
    `event` is set, instead of after their full wait: what started them is shutting down,
    and Ctrl-C must not be held up by a slot that an already stopped run still leases.
    Scoped to the context, so one receiver's shutdown never touches another's runs."""
    token = _give_up.set(event)
    try:
        yield
    finally:
        _give_up.reset(token)


@contextmanager
def hold_slot(
    store: Store,
    shop: str,
    flow: str,
    *,
    run_id: str | None = None,
    timings: SlotTimings | None = None,
    on_wait: Callable[[SlotHolder | None], None] | None = None,
) -> Iterator[HeldSlot]:
    """Hold the (shop, flow) slot for the body: wait up to `timings.wait` seconds for it,
    else raise `SlotBusy` naming the run that holds it. The lease is renewed while the body
    runs and released after it. If the lease ran out meanwhile, a body that completed
    raises `SlotLost` (its work may have overlapped another run's); `on_wait` is told
    once when the run has to wait."""
    timings = timings or SlotTimings.from_env()
    slots = RunSlots(store)
    holder = str(uuid.uuid4())
    started = time.monotonic()
    told = False
    give_up = _give_up.get() or threading.Event()
    while not slots.try_acquire(shop, flow, holder=holder, lease=timings.lease, run_id=run_id):
        waited = time.monotonic() - started
        current = slots.current(shop, flow)
        if waited >= timings.wait or give_up.is_set():
            raise SlotBusy(shop, flow, current, waited)
        if on_wait is not None and not told:
            on_wait(current)
            told = True
        give_up.wait(min(timings.poll, timings.wait - waited))
    held = HeldSlot(slots, shop, flow, holder, run_id, timings.lease)
    held._start()
    try:
        yield held
    finally:
        held._end()
        try:
            if not slots.release(shop, flow, holder) and held.lost is None:
                log.error("the %s slot for shop %s was no longer this run's", flow, shop)
        except Exception:
            log.exception(
                "could not release the %s slot for shop %s; it lapses by itself within %g s",
                flow,
                shop,
                timings.lease,
            )
    held.check()

"""The typed repository over the store's tables: what flows and tasks call.

The order ledger is what makes a webshop order reach the POS exactly once: every state
change is a compare-and-set (``UPDATE ... WHERE state IN (...)``), so of two runs racing
to transfer the same order only one moves it to ``transferring``, and the idempotency key
stored with the order is the one every retry sends to the POS.

Every method is one short transaction on its own pooled connection (so one Store may be
shared by threads), takes and returns plain frozen dataclasses (never ORM objects bound to
a session), and handles batches: lookups split their ``IN`` lists into chunks (SQLite caps
bound variables) and writes are one ``executemany`` of ``INSERT ... ON CONFLICT`` rows, so
100,000 rows take seconds, not one ORM flush per row. `Store` is one class over the store's
parts, each a module of its own (see session.py).
"""

from __future__ import annotations

from possync.store.catalog_state import CatalogState
from possync.store.cursors import CursorStore
from possync.store.deliveries import DeliveryStore
from possync.store.ids import IdMapStore, Link
from possync.store.orders import EVENT_KINDS, OrderEvent, OrderLine, OrderRecord, OrderStore
from possync.store.quarantine import QuarantinedRecord, QuarantineEntry, QuarantineStore
from possync.store.run_log import RunLogStore, RunRecord
from possync.store.run_slots import RunSlots
from possync.store.stock_ledger import StockLedgerStore
from possync.store.tables import EVENT_STATES, ORDER_STATES
from possync.store.turnover_ledger import TurnoverState

__all__ = [
    "EVENT_KINDS",
    "EVENT_STATES",
    "ORDER_STATES",
    "Link",
    "OrderEvent",
    "OrderLine",
    "OrderRecord",
    "QuarantineEntry",
    "QuarantinedRecord",
    "RunRecord",
    "Store",
]


class Store(
    IdMapStore,
    StockLedgerStore,
    QuarantineStore,
    RunLogStore,
    OrderStore,
    CursorStore,
    DeliveryStore,
):
    """The state store: id map, sync cursors, stock ledger, quarantine, run log, order
    ledger with its refund/cancellation events, and the webhook delivery log; with the
    product catalogue state, the turnover ledger and the run slots as views over it."""

    @property
    def turnover(self) -> TurnoverState:
        """The turnover ledger: each shop day's voucher, posted exactly once."""
        return TurnoverState(self)

    @property
    def slots(self) -> RunSlots:
        """Run slots: one run per shop and flow at a time (see ``run_slots``)."""
        return RunSlots(self)

    @property
    def catalog(self) -> CatalogState:
        """Product pairs and the catalogue code index (the product sync's memory)."""
        return CatalogState(self)

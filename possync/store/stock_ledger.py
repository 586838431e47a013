"""The stock ledger: the count last written for each product, per system."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import (
    select,
)

from possync.store.session import (
    CONNECTION_ERRORS,
    ROW_ERRORS,
    StoreSession,
    distinct,
    row_error,
    utc_now,
)
from possync.store.tables import (
    StockLedger,
)


class StockLedgerStore(StoreSession):
    """The stock ledger: the count last written for each product, per system."""

    def record_pushes(
        self, system: str, quantities: Mapping[str, int], run_id: str | None = None
    ) -> dict[str, str]:
        """Remember the quantities just pushed to *system* (keyed by product key).

        One transaction for all; if the database refuses a value (out of range, say), each
        row is written on its own so one bad row fails alone. Returns the product keys not
        recorded, with the database's reason; a lost connection raises."""
        if not quantities:
            return {}
        now = utc_now()
        rows = [
            {
                "system": system,
                "product_key": key,
                "quantity": quantities[key],
                "pushed_at": now,
                "run_id": run_id,
            }
            for key in sorted(quantities)
        ]
        stmt = self.upsert(
            StockLedger,
            ["system", "product_key"],
            lambda new: {
                "quantity": new.quantity,
                "pushed_at": new.pushed_at,
                "run_id": new.run_id,
            },
        )
        try:
            with self.transaction() as conn:
                conn.execute(stmt, rows)
                self.analyze_if_bulk(conn, StockLedger, len(rows))
            return {}
        except ROW_ERRORS as exc:
            if isinstance(exc, CONNECTION_ERRORS):
                raise
            if len(rows) == 1:
                return {str(rows[0]["product_key"]): row_error(exc)}
        refused: dict[str, str] = {}
        for row in rows:
            try:
                with self.transaction() as conn:
                    conn.execute(stmt, [row])
            except ROW_ERRORS as exc:
                if isinstance(exc, CONNECTION_ERRORS):
                    raise
                refused[str(row["product_key"])] = row_error(exc)
        return refused

    def last_pushed(self, system: str, product_keys: Collection[str]) -> dict[str, int]:
        """What was last pushed to *system* per product key; never-pushed keys are absent."""
        found: dict[str, int] = {}
        with self.reading() as conn:
            for chunk in self.in_chunks(distinct(product_keys)):
                rows = conn.execute(
                    select(StockLedger.product_key, StockLedger.quantity).where(
                        StockLedger.system == system, self.among(StockLedger.product_key, chunk)
                    )
                )
                found.update((key, quantity) for key, quantity in rows)
        return found

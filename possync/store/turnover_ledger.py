"""The turnover ledger: which shop day's voucher (and which correction) is posted where.

A row is written as `posting` before the accounting system is called and becomes `posted`
with the voucher's id after; a row left `posting` means the answer was lost, and the next
attempt looks the voucher up before posting again. Reached as `store.turnover`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from possync.domain.turnover import VoucherLine
from possync.store.tables import TurnoverLedger

if TYPE_CHECKING:
    from possync.store.session import StoreSession as Store

__all__ = ["TurnoverEntry", "TurnoverState"]


@dataclass(frozen=True)
class TurnoverEntry:
    shop: str
    day: date
    revision: int
    state: str
    idempotency_key: str
    reference: str
    system: str
    voucher_id: str | None
    lines: tuple[VoucherLine, ...]
    last_error: str | None


def _lines_json(lines: Sequence[VoucherLine]) -> str:
    return json.dumps([line.model_dump(mode="json") for line in lines])


def _lines(stored: str) -> tuple[VoucherLine, ...]:
    return tuple(VoucherLine.model_validate(x) for x in json.loads(stored))


class TurnoverState:
    """Vouchers per shop day, each posted once."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def entries(self, shop: str, day: date) -> list[TurnoverEntry]:
        """The day's voucher and corrections, oldest first."""
        with self._store.reading() as conn:
            rows = conn.execute(
                select(
                    TurnoverLedger.shop,
                    TurnoverLedger.day,
                    TurnoverLedger.revision,
                    TurnoverLedger.state,
                    TurnoverLedger.idempotency_key,
                    TurnoverLedger.reference,
                    TurnoverLedger.system,
                    TurnoverLedger.voucher_id,
                    TurnoverLedger.lines,
                    TurnoverLedger.last_error,
                )
                .where(TurnoverLedger.shop == shop, TurnoverLedger.day == day.isoformat())
                .order_by(TurnoverLedger.revision)
            )
            return [
                TurnoverEntry(
                    shop=r[0],
                    day=date.fromisoformat(r[1]),
                    revision=r[2],
                    state=r[3],
                    idempotency_key=r[4],
                    reference=r[5],
                    system=r[6],
                    voucher_id=r[7],
                    lines=_lines(r[8]),
                    last_error=r[9],
                )
                for r in rows
            ]

    def begin(
        self,
        shop: str,
        day: date,
        revision: int,
        *,
        key: str,
        reference: str,
        system: str,
        lines: Sequence[VoucherLine],
    ) -> bool:
        """Claim (shop, day, revision) before posting; False when another run holds it."""
        try:
            with self._store.transaction() as conn:
                conn.execute(
                    self._store.insert_into(TurnoverLedger).values(
                        shop=shop,
                        day=day.isoformat(),
                        revision=revision,
                        state="posting",
                        idempotency_key=key,
                        reference=reference,
                        system=system,
                        voucher_id=None,
                        lines=_lines_json(lines),
                        updated_at=datetime.now(UTC),
                        last_error=None,
                    )
                )
        except IntegrityError:
            return False
        return True

    def posted(self, shop: str, day: date, revision: int, voucher_id: str | None) -> None:
        """The accounting system has the voucher (None: an empty day, nothing to post)."""
        self._set(shop, day, revision, state="posted", voucher_id=voucher_id, last_error=None)

    def failed(self, shop: str, day: date, revision: int, error: str) -> None:
        """Note why posting failed; the row stays `posting` for the lookup on the next try."""
        self._set(shop, day, revision, last_error=error[:2000])

    def forget(self, shop: str, day: date, revision: int) -> None:
        """Drop a claim the accounting system refused outright (nothing was posted), so the
        next run builds the voucher afresh, e.g. after the account mapping is fixed."""
        with self._store.transaction() as conn:
            conn.execute(
                delete(TurnoverLedger).where(
                    TurnoverLedger.shop == shop,
                    TurnoverLedger.day == day.isoformat(),
                    TurnoverLedger.revision == revision,
                    TurnoverLedger.state == "posting",
                )
            )

    def _set(self, shop: str, day: date, revision: int, **values: object) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                update(TurnoverLedger)
                .where(
                    TurnoverLedger.shop == shop,
                    TurnoverLedger.day == day.isoformat(),
                    TurnoverLedger.revision == revision,
                )
                .values(updated_at=datetime.now(UTC), **values)
            )

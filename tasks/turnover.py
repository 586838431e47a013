"""Tasks of the daily turnover; the logic is in `possync.turnoversync`."""

from __future__ import annotations

from datetime import date

from prefect import task

from possync import turnoversync
from possync.domain.config import SyncConfig
from possync.planning.turnover import DayFigures
from possync.store import Store
from possync.vendors.ports import Accounting, SalesJournal
from tasks.common import RETRYING


@task(name="read-pos-day", **RETRYING)
def read_day(
    pos: SalesJournal, day: date, config: SyncConfig, currency: str
) -> turnoversync.DaySales:
    return turnoversync.read_day(pos, day, config, currency)


@task(name="post-turnover-voucher", **RETRYING)
def post_day(
    books: Accounting, store: Store, config: SyncConfig, figures: DayFigures, correction: bool
) -> turnoversync.DayResult:
    return turnoversync.post_day(books, store, config, figures, correction=correction)

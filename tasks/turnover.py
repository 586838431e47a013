"""The daily turnover's steps: read a local day's sales and refunds from the POS, compute
the voucher, post it exactly once. Each is a Prefect task, retried where it calls a vendor.

    read_day   sales completed and refunds made within the local day ([start, end) in
               UTC), plus the sales that today's refunds refer to
    post_day   the voucher, claimed in the turnover ledger before the accounting system is
               called: a posted day is left alone unless a correction is asked for, which
               posts only the difference; a claim left `posting` (lost answer, killed run)
               is looked up in the accounting system before anything is posted again
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Literal

from prefect import task

from possync.domain.config import SyncConfig
from possync.domain.turnover import PosRefund, PosSale, PostedVoucher, Voucher
from possync.planning import turnover as tv
from possync.store import Store
from possync.vendors.errors import FatalError
from possync.vendors.ports import Accounting, SalesJournal
from tasks.common import RETRYING

FLOW = "daily-turnover"
_KEYS = uuid.UUID("3d6f0a2c-8e51-4b7a-9c1d-2f4e6a8b0c13")

Outcome = Literal["posted", "already posted", "corrected", "no change", "empty day"]


@dataclass(frozen=True)
class DaySales:
    day: date
    currency: str
    sales: list[PosSale]
    refunds: list[PosRefund]
    refunded: dict[str, PosSale]


@dataclass(frozen=True)
class DayResult:
    day: date
    outcome: Outcome
    figures: tv.DayFigures
    voucher: Voucher | None
    voucher_id: str | None


@task(name="read-pos-day", **RETRYING)
def read_day(pos: SalesJournal, day: date, config: SyncConfig, currency: str) -> DaySales:
    start, end = tv.day_bounds(day, config.timezone)
    sales = [s for page in pos.sales_between(start, end) for s in page]
    refunds = [r for page in pos.refunds_between(start, end) for r in page]
    known = {s.sale_id: s for s in sales}
    wanted = sorted({r.sale_id for r in refunds if r.sale_id and r.sale_id not in known})
    refunded = {s.sale_id: s for s in pos.sales(wanted)} if wanted else {}
    refunded.update(known)
    found = next((s.currency for s in sales), next((r.currency for r in refunds), currency))
    return DaySales(day, found, sales, refunds, refunded)


def figures_of(day_sales: DaySales, web_sales: tv.WebSales) -> tv.DayFigures:
    """The day's figures, web orders' sales left out or taken in by the setting."""
    return tv.figures(
        day_sales.day,
        day_sales.currency,
        day_sales.sales,
        day_sales.refunds,
        day_sales.refunded,
        web_sales=web_sales,
    )


def _key(shop: str, day: date, revision: int) -> str:
    """The same shop day and revision, the same key: a retry posts nothing new."""
    return str(uuid.uuid5(_KEYS, f"{shop}:{day.isoformat()}:{revision}"))


@task(name="post-turnover-voucher", **RETRYING)
def post_day(
    books: Accounting,
    store: Store,
    config: SyncConfig,
    figures: tv.DayFigures,
    correction: bool = False,
) -> DayResult:
    """Post the day's voucher once; with `correction`, post what changed since."""
    shop, day = config.shop, figures.day
    wanted = tv.voucher(figures, config.accounts, shop=shop)  # refuses an unbalanced one
    ledger = store.turnover
    resumed: PostedVoucher | None = None
    for entry in ledger.entries(shop, day):
        if entry.state == "posting":  # an earlier attempt's answer never came
            again = wanted.model_copy(update={"reference": entry.reference, "lines": entry.lines})
            resumed = _post(books, store, shop, day, entry.revision, again, entry.idempotency_key)
    entries = ledger.entries(shop, day)
    if resumed is not None and not correction:
        return DayResult(day, "posted", figures, None, resumed.voucher_id)
    if not entries:
        if not wanted.lines:
            if ledger.begin(
                shop,
                day,
                0,
                key=_key(shop, day, 0),
                reference=wanted.reference,
                system=books.system,
                lines=(),
            ):
                ledger.posted(shop, day, 0, None)
            return DayResult(day, "empty day", figures, None, None)
        posted = _claim_and_post(books, store, shop, day, 0, wanted)
        return DayResult(day, "posted", figures, wanted, posted.voucher_id if posted else None)
    if not correction:
        last = entries[-1]
        return DayResult(day, "already posted", figures, None, last.voucher_id)
    change = tv.difference([line for e in entries for line in e.lines], wanted)
    if change is None:
        return DayResult(day, "no change", figures, None, entries[-1].voucher_id)
    revision = entries[-1].revision + 1
    change = change.model_copy(update={"reference": f"{wanted.reference} correction {revision}"})
    posted = _claim_and_post(books, store, shop, day, revision, change)
    return DayResult(day, "corrected", figures, change, posted.voucher_id if posted else None)


def _claim_and_post(
    books: Accounting, store: Store, shop: str, day: date, revision: int, voucher: Voucher
) -> PostedVoucher | None:
    key = _key(shop, day, revision)
    claimed = store.turnover.begin(
        shop,
        day,
        revision,
        key=key,
        reference=voucher.reference,
        system=books.system,
        lines=voucher.lines,
    )
    if not claimed:
        return None  # another run holds this day; its own claim decides
    return _post(books, store, shop, day, revision, voucher, key)


def _post(
    books: Accounting,
    store: Store,
    shop: str,
    day: date,
    revision: int,
    voucher: Voucher,
    key: str,
) -> PostedVoucher:
    found = books.find_voucher(voucher)
    if found is None:
        try:
            found = books.post_voucher(voucher, key=key)
        except FatalError:
            store.turnover.forget(shop, day, revision)  # refused: nothing was posted
            raise
        except Exception as exc:
            store.turnover.failed(shop, day, revision, f"{type(exc).__name__}: {exc}")
            raise
    store.turnover.posted(shop, day, revision, found.voucher_id)
    return found


def days_to_post(day: date | None, until: date | None, timezone: str) -> list[date]:
    """The days a run posts: yesterday in the shop's timezone, or `day` to `until`."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    if day is None:
        return [datetime.now(ZoneInfo(timezone)).date() - timedelta(days=1)]
    last = until or day
    if last < day:
        raise ValueError(f"until {last} is before day {day}")
    return [day + timedelta(days=i) for i in range((last - day).days + 1)]


def sales_journal(pos: object) -> SalesJournal:
    """The POS as a source of completed sales and refunds."""
    if not isinstance(pos, SalesJournal):
        raise TypeError(f"{type(pos).__name__} cannot report its sales (no SalesJournal)")
    return pos

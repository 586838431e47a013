"""Flow `daily-turnover`: a shop day's POS sales to accounting as one balanced voucher."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from blocks import SETTINGS_BLOCK
from flows.reports import turnover as turnover_report
from possync.planning.turnover import UnbalancedVoucher
from possync.store.run_slots import HeldSlot
from tasks import turnover as t
from tasks.common import connect, connect_accounting, exclusive

FLOW = "daily-turnover"


@flow(name=FLOW)
def send_daily_turnover(
    day: date | None = None,
    until: date | None = None,
    correction: bool = False,
    settings_block: str = SETTINGS_BLOCK,
) -> list[dict[str, str | None]]:
    """Post the previous local day by default; `day` (to `until`, inclusive) back-fills a
    range. A day already posted is left alone unless `correction`, which posts only the
    difference. A voucher that would not balance is not posted and fails the run. Web
    orders' sales follow the settings' `web_sales`; the summary artifact says which. One
    run per shop at a time (`exclusive`)."""

    def body(slot: HeldSlot) -> list[dict[str, str | None]]:
        return _post_days(slot, day, until, correction, settings_block)

    return exclusive(FLOW, settings_block, body)


def _post_days(
    slot: HeldSlot, day: date | None, until: date | None, correction: bool, settings_block: str
) -> list[dict[str, str | None]]:
    c = connect(settings_block)
    books = connect_accounting(settings_block)
    try:
        days = t.days_to_post(day, until, c.settings.timezone)
        journal = t.sales_journal(c.pos)
        currency = c.pos.currency()  # the location's: a day without sales still has one
        results: list[t.DayResult] = []
        refused: list[str] = []
        for d in days:
            sales = t.read_day(journal, d, c.settings, currency)
            figures = t.figures_of(sales, c.settings.web_sales)
            slot.check()  # post only while no other run can be posting the same day
            try:
                results.append(t.post_day(books, c.store, c.settings, figures, correction))
            except UnbalancedVoucher as exc:
                refused.append(str(exc))
        create_table_artifact(
            turnover_report.voucher_rows(results),
            key="daily-turnover",
            description=f"Turnover vouchers to {books.system}",
        )
        create_markdown_artifact(
            turnover_report.markdown(results, books.system) + "\n".join(refused),
            key="daily-turnover-summary",
        )
        if refused:
            raise UnbalancedVoucher("; ".join(refused))
        return [
            {"day": r.day.isoformat(), "outcome": r.outcome, "voucher": r.voucher_id}
            for r in results
        ]
    finally:
        books.close()
        c.close()

"""What the turnover shows its user: voucher lines and the day's figures for the Prefect
artifacts, and a CSV plus a PNG chart of daily turnover by tender for `possync turnover
report`."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from possync.planning.turnover import TENDERS, DayFigures
from tasks.turnover import DayResult


def voucher_rows(results: Sequence[DayResult]) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    for result in results:
        if result.voucher is None:
            rows.append(
                {
                    "day": result.day.isoformat(),
                    "outcome": result.outcome,
                    "account": None,
                    "amount": None,
                    "description": None,
                    "voucher": result.voucher_id,
                    "web_sales": result.figures.web_sales,
                }
            )
            continue
        rows += [
            {
                "day": result.day.isoformat(),
                "outcome": result.outcome,
                "account": line.account,
                "amount": str(line.amount),
                "description": line.description,
                "voucher": result.voucher_id,
                "web_sales": result.figures.web_sales,
            }
            for line in result.voucher.lines
        ]
    return rows


def markdown(results: Sequence[DayResult], system: str) -> str:
    lines = [f"# Daily turnover → {system}", ""]
    for r in results:
        f = r.figures
        lines += [
            f"## {r.day.isoformat()}: {r.outcome}"
            + (f" (voucher {r.voucher_id})" if r.voucher_id else ""),
            "",
            f"{f.sales} sales, {f.refunds} refunds, gross {f.gross} {f.currency}",
            "",
            f"Web orders (setting `web_sales` = {f.web_sales}): {f.web_note}.",
            "",
            "| | amount |",
            "|---|---|",
        ]
        lines += [f"| {row['what']} | {row['amount']} |" for row in f.as_rows()]
        lines.append("")
    return "\n".join(lines)


def write_csv(days: Sequence[DayFigures], path: Path) -> None:
    rates = sorted({r for d in days for r in d.net_by_rate}, key=float)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "day",
                "currency",
                "sales",
                "refunds",
                "gross",
                *[f"net {r} %" for r in rates],
                *[f"vat {r} %" for r in rates],
                *[f"tender {t}" for t in TENDERS],
                "rounding",
            ]
        )
        for d in days:
            writer.writerow(
                [
                    d.day.isoformat(),
                    d.currency,
                    d.sales,
                    d.refunds,
                    d.gross,
                    *[d.net_by_rate.get(r, 0) for r in rates],
                    *[d.vat_by_rate.get(r, 0) for r in rates],
                    *[d.tenders.get(t, 0) for t in TENDERS],
                    d.rounding,
                ]
            )


def write_chart(days: Sequence[DayFigures], path: Path) -> None:
    """Stacked bars: each day's takings by tender."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [d.day.isoformat() for d in days]
    figure, axes = plt.subplots(figsize=(max(6.0, 0.35 * len(days) + 2), 4))
    bottom = [0.0] * len(days)
    for tender in TENDERS:
        values = [float(d.tenders.get(tender, 0)) for d in days]
        axes.bar(labels, values, bottom=bottom, label=tender)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    currency = days[0].currency if days else ""
    axes.set_ylabel(f"turnover ({currency})")
    axes.set_title("Daily turnover by tender")
    axes.legend()
    axes.tick_params(axis="x", labelrotation=60)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)

"""Benchmark: a year of a busy shop's turnover (2,000 sales a day, a refund for every 50),
computed into 365 balanced vouchers: wall seconds and peak RSS of the computation.

    .venv/bin/python bench/turnover.py [--sales-per-day 2000] [--days 365]

The sales are made in this process as the POS connector would hand them over (two VAT
rates, cash/card/other tenders, cash rounding, refunds of earlier days' sales), so the
figures are the planner's own cost; reading a day from Square is measured by the flow tests.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from possync.domain.config import AccountMapping
from possync.domain.turnover import PosRefund, PosSale, TaxedAmount, Tender
from possync.planning import turnover as tv

CENT = Decimal("0.01")


def day_of_sales(day: date, n: int, rng: random.Random) -> list[PosSale]:
    start, _ = tv.day_bounds(day, "Europe/Copenhagen")
    sales = []
    for i in range(n):
        lines = []
        for _ in range(rng.randint(1, 4)):
            rate = Decimal(25) if rng.random() < 0.85 else Decimal(0)
            net = Decimal(rng.randrange(500, 50000)) / 100
            lines.append(TaxedAmount(vat_rate=rate, net=net, vat=(net * rate / 100).quantize(CENT)))
        gross = sum((x.net + x.vat for x in lines), Decimal(0))
        kind = rng.choice(["card", "card", "card", "cash", "other"])
        paid = (gross * 2).quantize(Decimal(1)) / 2 if kind == "cash" else gross  # 0.50 steps
        sales.append(
            PosSale(
                sale_id=f"{day.isoformat()}-{i}",
                closed_at=start + timedelta(seconds=rng.randrange(0, 86_000)),
                currency="DKK",
                lines=tuple(lines),
                tenders=(Tender(kind=kind, amount=paid),),
            )
        )
    return sales


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales-per-day", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    rng = random.Random(5)
    first = date(2026, 1, 1)
    mapping = AccountMapping()
    previous: list[PosSale] = []
    compute = 0.0
    lines = 0
    t0 = time.perf_counter()
    for i in range(args.days):
        day = first + timedelta(days=i)
        sales = day_of_sales(day, args.sales_per_day, rng)
        refunds = [
            PosRefund(
                refund_id=f"R{day}-{j}",
                sale_id=s.sale_id,
                created_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC)
                + timedelta(hours=12),
                currency="DKK",
                amount=(s.lines[0].net + s.lines[0].vat),
                tender="card",
            )
            for j, s in enumerate(previous[::50])
        ]
        start = time.perf_counter()
        figures = tv.figures(day, "DKK", sales, refunds, {s.sale_id: s for s in previous})
        voucher = tv.voucher(figures, mapping, shop="bench")
        compute += time.perf_counter() - start
        assert voucher.imbalance == 0
        lines += len(voucher.lines)
        previous = sales
    total = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.days} vouchers from {args.days * args.sales_per_day:,} sales: computed in "
        f"{compute:.1f} s ({compute / args.days * 1000:.0f} ms a day), {lines} voucher lines, "
        f"all balanced; {total:.1f} s with making the sales; peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()

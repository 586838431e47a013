"""What a run shows its user: table rows and a markdown summary for Prefect artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from possync.domain.models import Problem, StockUpdate

MAX_ROWS = 500


class OrderOutcomeLike(Protocol):
    @property
    def order_id(self) -> str: ...
    @property
    def result(self) -> str: ...
    @property
    def document(self) -> str | None: ...
    @property
    def detail(self) -> str: ...  # an artifact stays readable; totals are always exact


@dataclass(frozen=True)
class StockSummary:
    read: int
    changed: int
    unchanged: int
    quarantined: int
    write_calls: int
    retried_from_quarantine: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def stock_rows(
    changed: Sequence[StockUpdate], unchanged_count: int, problems: Sequence[Problem]
) -> list[dict[str, str | int | None]]:
    """One row per quarantined record and per change (changes capped at MAX_ROWS)."""
    rows: list[dict[str, str | int | None]] = [
        {
            "status": "quarantined",
            "sku": p.sku,
            "pos_id": p.record_id,
            "webshop": None,
            "from": None,
            "to": None,
            "field": p.field,
            "reason": p.reason,
        }
        for p in problems
    ]
    rows += [
        {
            "status": "changed",
            "sku": u.sku,
            "pos_id": u.pos_id,
            "webshop": u.ref.key,
            "from": u.previous,
            "to": u.quantity,
            "field": None,
            "reason": None,
        }
        for u in changed[: max(0, MAX_ROWS - len(rows))]
    ]
    return rows


def stock_markdown(summary: StockSummary) -> str:
    return (
        "### Stock sync\n\n"
        "| changed | unchanged | quarantined | read | write calls |\n"
        "|---:|---:|---:|---:|---:|\n"
        f"| {summary.changed} | {summary.unchanged} | {summary.quarantined} "
        f"| {summary.read} | {summary.write_calls} |\n\n"
        f"Retried from quarantine: {summary.retried_from_quarantine}. "
        f"The table lists every quarantined record and up to {MAX_ROWS} changes."
    )


def order_rows(
    outcomes: Sequence[OrderOutcomeLike], problems: Sequence[Problem]
) -> list[dict[str, str | int | None]]:
    """One row per order handled and per problem (capped at MAX_ROWS)."""
    rows: list[dict[str, str | int | None]] = [
        {"order": p.record_id, "status": "quarantined", "document": None, "detail": p.reason}
        for p in problems
    ]
    rows += [
        {"order": o.order_id, "status": o.result, "document": o.document, "detail": o.detail}
        for o in outcomes
        if o.result != "quarantined"
    ]
    return rows[:MAX_ROWS]


def orders_markdown(title: str, counts: dict[str, int]) -> str:
    cells = " | ".join(str(v) for v in counts.values())
    return f"### {title}\n\n| {' | '.join(counts)} |\n|{'---:|' * len(counts)}\n| {cells} |\n"


def problem_rows(problems: Sequence[Problem]) -> list[dict[str, str | None]]:
    """One row per quarantined record."""
    return [
        {
            "status": "quarantined",
            "record": p.record_id,
            "sku": p.sku,
            "field": p.field,
            "reason": p.reason,
        }
        for p in problems
    ]


def counts_markdown(title: str, counts: dict[str, int]) -> str:
    lines = [f"# {title}", "", "| | |", "|---|---|"]
    lines += [f"| {name.replace('_', ' ')} | {value} |" for name, value in counts.items()]
    return "\n".join(lines) + "\n"

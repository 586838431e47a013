"""What a product sync run shows its user: a summary, and one row per product that needs
attention (quarantined, overwritten on the other side) or was written."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tasks.products import ChunkResult, Reading, Sides

MAX_ROWS = 500


@dataclass(frozen=True)
class ProductSummary:
    master: str
    other: str
    read: int
    created: int
    updated: int
    archived: int
    linked: int
    unchanged: int
    own_writes_seen_back: int
    overwritten_on_other_side: int
    quarantined: int
    write_calls: int
    retried_from_quarantine: int

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


def summarize(sides: Sides, reading: Reading, result: ChunkResult) -> ProductSummary:
    return ProductSummary(
        master=sides.master.system,
        other=sides.other.system,
        read=len(reading.masters),
        created=len(result.created),
        updated=len(result.updated),
        archived=len(result.archived),
        linked=len(result.linked),
        unchanged=result.unchanged,
        own_writes_seen_back=reading.echoes,
        overwritten_on_other_side=len(result.conflicts),
        quarantined=len(result.problems),
        write_calls=result.write_calls,
        retried_from_quarantine=reading.retried,
    )


def rows(result: ChunkResult) -> list[dict[str, str | None]]:
    """Quarantined products and conflicts first (all of them), then writes (capped)."""
    found: list[dict[str, str | None]] = [
        {
            "status": "quarantined",
            "product": p.record_id,
            "sku": p.sku,
            "field": p.field,
            "detail": p.reason,
        }
        for p in result.problems
    ]
    found += [
        {
            "status": "overwritten",
            "product": mid,
            "sku": None,
            "field": ", ".join(fields),
            "detail": f"changed on the other side (product {oid}); the master's values were "
            "written back",
        }
        for mid, oid, fields in result.conflicts
    ]
    written = (
        [("created", i) for i in result.created]
        + [("updated", i) for i in result.updated]
        + [("archived", i) for i in result.archived]
    )
    found += [
        {"status": status, "product": pid, "sku": None, "field": None, "detail": None}
        for status, pid in written[:MAX_ROWS]
    ]
    return found


def markdown(summary: ProductSummary) -> str:
    s = summary
    lines = [
        f"# Products: {s.master} → {s.other}",
        "",
        "| | |",
        "|---|---|",
        f"| products read | {s.read} |",
        f"| created | {s.created} |",
        f"| updated | {s.updated} |",
        f"| archived | {s.archived} |",
        f"| linked to an existing product | {s.linked} |",
        f"| unchanged (no call) | {s.unchanged} |",
        f"| our own writes seen back (not re-sent) | {s.own_writes_seen_back} |",
        f"| changed on the other side, overwritten | {s.overwritten_on_other_side} |",
        f"| quarantined | {s.quarantined} |",
        f"| write calls | {s.write_calls} |",
        f"| retried from quarantine | {s.retried_from_quarantine} |",
    ]
    return "\n".join(lines) + "\n"

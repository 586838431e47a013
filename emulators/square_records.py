"""The stored shapes of the emulated sales: orders with their lines and taxes, payments, refunds.

Kept apart from the code that renders and changes them so that bulk-seeded sales
(`square_seed`) can build the very same records on demand. Slotted, because a busy shop's year
of sales passes through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from emulators.square_common import JsonDict
from emulators.square_taxes import TaxDef


@dataclass(slots=True)
class Line:
    """A line item: `gross` is base price x quantity; `applied` its taxes as
    (applied-tax uid, tax uid, amount); `additive` the part of them added on top."""

    uid: str
    name: str
    quantity: Decimal
    item_type: str
    base_price: int
    gross: int
    catalog_object_id: str | None = None
    catalog_version: int | None = None
    variation_name: str | None = None
    note: str | None = None
    metadata: dict[str, str] | None = None
    applied: tuple[tuple[str, str, int], ...] = ()
    additive: int = 0

    @property
    def tax(self) -> int:
        return sum(amount for _, _, amount in self.applied)

    @property
    def total(self) -> int:
        """What the buyer pays for the line: its price plus additive taxes."""
        return self.gross + self.additive


@dataclass(slots=True)
class OrderRecord:
    id: str
    location_id: str
    source_name: str
    lines: list[Line]
    state: str
    created_ms: int
    reference_id: str | None = None
    customer_id: str | None = None
    metadata: dict[str, str] | None = None
    ticket_name: str | None = None
    version: int = 1
    updated_ms: int = 0
    closed_ms: int | None = None
    paid: int = 0
    taxes: tuple[TaxDef, ...] = ()
    tenders: list[JsonDict] = field(default_factory=list)
    refunds: list[JsonDict] = field(default_factory=list)
    returns: list[JsonDict] = field(default_factory=list)
    returned: int = 0  # what this (return) order gives back

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    def stamp(self, ms: int) -> None:
        self.version += 1
        self.updated_ms = ms

    def timestamp(self, sort_field: str) -> int | None:
        return {"CREATED_AT": self.created_ms, "UPDATED_AT": self.updated_ms}.get(
            sort_field, self.closed_ms
        )


@dataclass(slots=True)
class PaymentRecord:
    data: JsonDict
    total: int
    refunded: int = 0

    @property
    def source_type(self) -> str:
        return str(self.data["source_type"])


@dataclass(slots=True)
class RefundRecord:
    """A PaymentRefund, with what ListPaymentRefunds filters on kept beside it."""

    data: JsonDict
    created_ms: int
    source_type: str

"""Bulk-seeded POS sales: completed orders with one payment each, made without HTTP.

For tests and benchmarks that need days or a year of a busy shop's till (2,000 sales a day is
730,000 orders a year). A seeded sale is what a POS sale rung up and paid at `closed_at` looks
like through the API: a COMPLETED order of ad hoc lines, each with a LINE_ITEM-scoped VAT
(inclusive or additive, computed by `square_taxes` exactly as for CreateOrder), paid by one
CASH, CARD or EXTERNAL payment for its total; `created_at`, `updated_at` and `closed_at` are all
`closed_at` (version 2: created, then paid).

Rows are stored column-wise in `array`s (about 60 bytes a sale with two lines, instead of the
kilobytes of a rendered order) and turned into the usual records only when read. A sorted
index on closed_at lets SearchOrders find one day by bisection instead of scanning the year.
Seeded ids are `SALE` / `PAYM` and 20 digits: they never clash with generated ids (24 base32
characters, which have no 0, 1, 8 or 9) and map straight back to their row.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, overload

from emulators.square_common import JsonDict
from emulators.square_payments import payment_json, tender_json
from emulators.square_records import Line, OrderRecord, PaymentRecord
from emulators.square_taxes import ADDITIVE, INCLUSIVE, TaxDef, line_taxes

TenderSource = Literal["CASH", "CARD", "EXTERNAL"]
ORDER_PREFIX = "SALE"
PAYMENT_PREFIX = "PAYM"
_DIGITS = 20
_TENDERS: tuple[TenderSource, ...] = ("CASH", "CARD", "EXTERNAL")
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class SeedLine:
    """One ad hoc line: `price` per unit in minor units (VAT included when `inclusive`),
    taxed at `vat` percent (None: no tax at all)."""

    price: int
    vat: str | None = "25"
    inclusive: bool = True
    quantity: int = 1
    name: str = "Item"


@dataclass(frozen=True, slots=True)
class SeedSale:
    """A sale closed (and paid) at `closed_at`, an aware datetime."""

    closed_at: datetime
    lines: tuple[SeedLine, ...]
    tender: TenderSource = "CARD"


class SeededIds(Sequence[str]):
    """The order ids of one `seed_sales` call, made on demand instead of kept in a list."""

    def __init__(self, start: int, stop: int) -> None:
        self._range = range(start, stop)

    def __len__(self) -> int:
        return len(self._range)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [order_id(n) for n in self._range[index]]
        return order_id(self._range[index])


def order_id(n: int) -> str:
    return f"{ORDER_PREFIX}{n:0{_DIGITS}d}"


def payment_id(n: int) -> str:
    return f"{PAYMENT_PREFIX}{n:0{_DIGITS}d}"


def _row(object_id: str, prefix: str, size: int) -> int | None:
    if len(object_id) != len(prefix) + _DIGITS or not object_id.startswith(prefix):
        return None
    digits = object_id[len(prefix) :]
    if not digits.isdigit():
        return None
    n = int(digits)
    return n if n < size else None


class SeededSales:
    """The seeded sales of one seller and location, column-wise."""

    def __init__(self, location_id: str, currency: str) -> None:
        self.location_id = location_id
        self.currency = currency
        self.closed = array("q")  # ms
        self._tender = bytearray()
        self._source = bytearray()
        self._first_line = array("q", [0])
        self._price = array("q")
        self._quantity = array("l")
        self._tax = array("h")  # index into _taxes, -1 for none
        self._name = array("h")
        self._taxes: list[TaxDef] = []
        self._tax_index: dict[tuple[str, bool], int] = {}
        self._names: list[str] = []
        self._name_index: dict[str, int] = {}
        self._sources: list[str] = []
        self._sorted: array[int] | None = array("q")  # rows by (closed, row); None: rebuild

    def __len__(self) -> int:
        return len(self.closed)

    # --- writing ---------------------------------------------------------------------------

    def add(self, sales: Iterable[SeedSale], source_name: str) -> SeededIds:
        """Append the sales; a bad one raises, and those before it stay seeded."""
        start = len(self.closed)
        source = self._index(self._sources, None, source_name, 255)
        closed, tender_codes, first = self.closed, self._tender, self._first_line
        price, quantity, taxes, names = self._price, self._quantity, self._tax, self._name
        try:
            for sale in sales:
                rows = [self._line_row(line) for line in sale.lines]
                tender = _TENDERS.index(sale.tender)
                closed.append(int(sale.closed_at.timestamp() * 1000 + 0.5))
                tender_codes.append(tender)
                self._source.append(source)
                for line_price, line_quantity, tax, name in rows:
                    price.append(line_price)
                    quantity.append(line_quantity)
                    taxes.append(tax)
                    names.append(name)
                first.append(len(price))
        finally:
            self._reindex(start)
        return SeededIds(start, len(self.closed))

    def _line_row(self, line: SeedLine) -> tuple[int, int, int, int]:
        if line.price < 0 or line.quantity < 1:
            raise ValueError(f"a seeded line needs a price >= 0 and quantity >= 1: {line}")
        tax = self._tax_for(line.vat, line.inclusive)
        name = self._index(self._names, self._name_index, line.name, 32767)
        return line.price, line.quantity, tax, name

    def _tax_for(self, vat: str | None, inclusive: bool) -> int:
        if vat is None:
            return -1
        key = (vat, inclusive)
        found = self._tax_index.get(key)
        if found is None:
            Decimal(vat)  # a malformed percentage fails here, not when the order is read
            found = len(self._taxes)
            kind = INCLUSIVE if inclusive else ADDITIVE
            self._taxes.append(TaxDef(f"VAT-{found}", vat, kind, "LINE_ITEM", f"VAT {vat}%"))
            self._tax_index[key] = found
        return found

    @staticmethod
    def _index(table: list[str], index: dict[str, int] | None, value: str, limit: int) -> int:
        if index is None:
            if value in table:
                return table.index(value)
            table.append(value)
        else:
            found = index.get(value)
            if found is not None:
                return found
            index[value] = len(table)
            table.append(value)
        if len(table) > limit:
            raise ValueError(f"too many distinct seeded values (more than {limit})")
        return len(table) - 1

    def _reindex(self, start: int) -> None:
        """Keep the closed_at index: appended in order (the usual case, day after day) it
        grows in place; otherwise it is rebuilt on the next search."""
        if self._sorted is None:
            return
        closed = self.closed
        in_order = all(closed[n - 1] <= closed[n] for n in range(max(start, 1), len(closed)))
        if in_order:
            self._sorted.extend(range(start, len(closed)))
        else:
            self._sorted = None

    # --- reading ---------------------------------------------------------------------------

    def row_of_order(self, object_id: str) -> int | None:
        return _row(object_id, ORDER_PREFIX, len(self.closed))

    def by_closed(self) -> array[int]:
        if self._sorted is None:
            closed = self.closed
            self._sorted = array("q", sorted(range(len(closed)), key=closed.__getitem__))
        return self._sorted

    def rows(
        self,
        lo_ms: int,
        hi_ms: int,
        *,
        descending: bool,
        after: tuple[int, str] | None,
        sources: set[str] | None,
    ) -> Iterator[tuple[int, str, int]]:
        """(closed ms, order id, row) for rows closed in [lo_ms, hi_ms], in (ms, id) order
        (or its reverse), starting past `after`; found by bisection, not by a scan."""
        index = self.by_closed()
        closed = self.closed

        def key(row: int) -> tuple[int, str]:
            return (closed[row], order_id(row))

        lo = bisect.bisect_left(index, lo_ms, key=closed.__getitem__)
        hi = bisect.bisect_right(index, hi_ms, key=closed.__getitem__)
        if after is not None and descending:
            hi = min(hi, bisect.bisect_left(index, after, key=key))
        elif after is not None:
            lo = max(lo, bisect.bisect_right(index, after, key=key))
        wanted = None
        if sources is not None:
            wanted = {i for i, name in enumerate(self._sources) if name in sources}
            if not wanted:
                return
        positions = range(hi - 1, lo - 1, -1) if descending else range(lo, hi)
        for position in positions:
            row = index[position]
            if wanted is not None and self._source[row] not in wanted:
                continue
            yield closed[row], order_id(row), row

    def order(self, row: int) -> OrderRecord:
        """The row as the order Square would return."""
        ms = self.closed[row]
        start, stop = self._first_line[row], self._first_line[row + 1]
        used: dict[int, TaxDef] = {}
        grosses: list[int] = []
        refs: list[list[str]] = []
        for i in range(start, stop):
            grosses.append(self._price[i] * self._quantity[i])
            tax = self._tax[i]
            if tax >= 0:
                used.setdefault(tax, self._taxes[tax])
                refs.append([self._taxes[tax].uid])
            else:
                refs.append([])
        taxes = tuple(used[k] for k in sorted(used))
        by_uid = {tax.uid: tax for tax in taxes}
        amounts = line_taxes(grosses, refs, taxes)
        lines = []
        for k, i in enumerate(range(start, stop)):
            uid = f"L{k + 1}"
            applied = tuple(
                (f"{uid}-{tax_uid}", tax_uid, amount)
                for tax_uid, amount in zip(refs[k], amounts[k], strict=True)
            )
            additive = sum(
                amount
                for tax_uid, amount in zip(refs[k], amounts[k], strict=True)
                if by_uid[tax_uid].type == ADDITIVE
            )
            quantity = self._quantity[i]
            lines.append(
                Line(
                    uid=uid,
                    name=self._names[self._name[i]],
                    quantity=_ONE if quantity == 1 else Decimal(quantity),
                    item_type="ITEM",
                    base_price=self._price[i],
                    gross=grosses[k],
                    applied=applied,
                    additive=additive,
                )
            )
        record = OrderRecord(
            id=order_id(row),
            location_id=self.location_id,
            source_name=self._sources[self._source[row]],
            lines=lines,
            state="COMPLETED",
            created_ms=ms,
            version=2,
            updated_ms=ms,
            closed_ms=ms,
            taxes=taxes,
        )
        record.paid = record.total
        payment = self._payment_data(row, record.paid)
        record.tenders.append(tender_json(payment, record.id))
        return record

    def payment(self, object_id: str) -> PaymentRecord | None:
        row = _row(object_id, PAYMENT_PREFIX, len(self.closed))
        if row is None:
            return None
        total = self.order(row).paid
        return PaymentRecord(self._payment_data(row, total), total)

    def _payment_data(self, row: int, total: int) -> JsonDict:
        source_type = _TENDERS[self._tender[row]]
        return payment_json(
            payment_id(row),
            source_type=source_type,
            amount=total,
            currency=self.currency,
            ms=self.closed[row],
            location_id=self.location_id,
            order_id=order_id(row),
            external={"type": "OTHER", "source": "POS"} if source_type == "EXTERNAL" else None,
        )

"""Square payments and payment refunds: CreatePayment, GetPayment, RefundPayment,
GetPaymentRefund and ListPaymentRefunds.

CreatePayment records three kinds of source, as Square's Payments API documents them:
`source_id: "EXTERNAL"` with `external_details` (Take External Payments), `"CASH"` with
`cash_details.buyer_supplied_money`, whose `change_back_money` Square "computes ... based on
total_money and buyer_supplied_money" (Take Cash Payments), and a card through the Sandbox
test nonce `cnon:card-nonce-ok` (Sandbox Payments), which stands for the Sandbox's test Visa
4111 1111 1111 1111. A payment for the amount due completes its order and becomes one of the
order's `tenders`, whose `type` is the `TenderType` of the source: CARD, CASH, or OTHER for an
external payment (TenderType has no EXTERNAL; OTHER is "a form of tender that does not match
any other value").

RefundPayment makes a custom refund: like Square, it creates a *return order* (Refunds and
Exchanges: "Both the itemized refund and custom refund create a return order"; Retrieve
Refunds: the refund's `order_id` is "the Order that was created for the refund. This isn't the
same Order object that was created for the initial Payment"), whose `returns[0]` names the
sale as `source_order_id` and returns one CUSTOM_AMOUNT line. It gives no stock back (that
takes an itemized return) and completes at once.

ListPaymentRefunds filters by `created_at` with Square's date-range rule (Working with Dates):
sorted ASC, begin_time is inclusive and end_time exclusive; sorted DESC (the default), begin_time
is exclusive and end_time inclusive. At most 100 refunds a page. Runs under `SquareState.lock`.
"""

from __future__ import annotations

import bisect
import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulators.square_common import (
    JsonDict,
    SquareError,
    decode_cursor,
    encode_cursor,
    fingerprint,
    invalid,
    money,
    not_found,
    parse_rfc3339_us,
    rfc3339,
)
from emulators.square_models import CreatePaymentRequest, Money, RefundPaymentRequest
from emulators.square_records import PaymentRecord, RefundRecord

if TYPE_CHECKING:
    from emulators.square_orders import Sales


@dataclass(frozen=True)
class RefundsQuery:
    """ListPaymentRefunds' query parameters, as the route reads them."""

    begin_time: str | None = None
    end_time: str | None = None
    sort_order: str | None = None
    cursor: str | None = None
    location_id: str | None = None
    status: str | None = None
    source_type: str | None = None
    limit: int | None = None


CARD_NONCE_OK = "cnon:card-nonce-ok"  # the Sandbox's "successful payment" test nonce
TENDER_TYPE = {"CARD": "CARD", "CASH": "CASH", "EXTERNAL": "OTHER"}
REFUNDS_PAGE_MAX = 100  # ListPaymentRefunds: "The maximum results per page is 100."
YEAR_MS = 365 * 24 * 3600 * 1000
# ExternalPaymentDetails.type, as the spec lists them.
EXTERNAL_TYPES = frozenset(
    {
        "CHECK",
        "BANK_TRANSFER",
        "OTHER_GIFT_CARD",
        "CRYPTO",
        "SQUARE_CASH",
        "SOCIAL",
        "EXTERNAL",
        "EMONEY",
        "CARD",
        "STORED_BALANCE",
        "FOOD_VOUCHER",
        "OTHER",
    }
)
_TEST_CARD = {
    "card_brand": "VISA",
    "last_4": "1111",
    "exp_month": 12,
    "exp_year": 2030,
    "fingerprint": "sq-1-possync-emulator-test-visa",
    "card_type": "CREDIT",
    "prepaid_type": "NOT_PREPAID",
    "bin": "411111",
}


def payment_json(
    payment_id: str,
    *,
    source_type: str,
    amount: int,
    currency: str,
    ms: int,
    location_id: str,
    order_id: str | None = None,
    buyer_supplied: int | None = None,
    external: JsonDict | None = None,
) -> JsonDict:
    """A COMPLETED Payment of `amount` from a CARD, CASH or EXTERNAL source."""
    total = money(amount, currency)
    data: JsonDict = {
        "id": payment_id,
        "created_at": rfc3339(ms),
        "updated_at": rfc3339(ms),
        "amount_money": total,
        "total_money": dict(total),
        "approved_money": dict(total),
        "status": "COMPLETED",
        "source_type": source_type,
    }
    if source_type == "CARD":
        data["card_details"] = {
            "status": "CAPTURED",
            "card": dict(_TEST_CARD),
            "entry_method": "KEYED",
            "cvv_status": "CVV_ACCEPTED",
            "avs_status": "AVS_ACCEPTED",
            "auth_result_code": "2Nkw7q",
            "statement_description": "SQ *POSSYNC EMULATOR",
            "card_payment_timeline": {"authorized_at": rfc3339(ms), "captured_at": rfc3339(ms)},
        }
    elif source_type == "CASH":
        supplied = amount if buyer_supplied is None else buyer_supplied
        data["cash_details"] = {
            "buyer_supplied_money": money(supplied, currency),
            "change_back_money": money(supplied - amount, currency),
        }
    else:
        data["external_details"] = external or {"type": "OTHER", "source": "possync"}
    data["location_id"] = location_id
    if order_id is not None:
        data["order_id"] = order_id
    data["application_details"] = {"square_product": "ECOMMERCE_API"}
    data["version_token"] = fingerprint([payment_id, ms])
    return data


def tender_json(payment: JsonDict, order_id: str) -> JsonDict:
    """The order's Tender for a payment; its `id` is the payment's (spec: "It is the
    associated payment ID")."""
    source_type = str(payment["source_type"])
    tender: JsonDict = {
        "id": payment["id"],
        "location_id": payment["location_id"],
        "transaction_id": order_id,
        "created_at": payment["created_at"],
        "amount_money": dict(payment["total_money"]),
        "type": TENDER_TYPE[source_type],
        "payment_id": payment["id"],
    }
    if source_type == "CARD":
        card = payment["card_details"]["card"]
        tender["card_details"] = {
            "status": "CAPTURED",
            "card": {k: card[k] for k in ("card_brand", "last_4", "fingerprint")},
            "entry_method": "KEYED",
        }
    elif source_type == "CASH":
        cash = payment["cash_details"]
        tender["cash_details"] = {
            "buyer_tendered_money": dict(cash["buyer_supplied_money"]),
            "change_back_money": dict(cash["change_back_money"]),
        }
    return tender


class PaymentDesk:
    """The payments and refunds of one `Sales`."""

    def __init__(self, sales: Sales) -> None:
        self._sales = sales
        self.payments: dict[str, PaymentRecord] = {}
        self.refunds: dict[str, RefundRecord] = {}
        self._by_time: list[tuple[int, str]] = []  # (created_ms, refund id), sorted

    @property
    def _currency(self) -> str:
        return self._sales.currency

    def payment(self, payment_id: str) -> PaymentRecord | None:
        """A payment by id; a seeded one is copied into `payments` on first use, so the
        changes a refund makes to it stick."""
        found = self.payments.get(payment_id)
        if found is None:
            found = self._sales.seeded.payment(payment_id)
            if found is not None:
                self.payments[payment_id] = found
        return found

    def amount(self, value: Money | None, field: str, *, positive: bool) -> int:
        """A request Money's amount, in this seller's currency."""
        if value is None or value.amount is None:
            raise invalid("Field must be set.", field, code="MISSING_REQUIRED_PARAMETER")
        if value.currency != self._currency:
            raise invalid(
                f"Currency `{value.currency}` does not match the location's `{self._currency}`.",
                f"{field}.currency",
            )
        if value.amount < (1 if positive else 0):
            raise invalid("Amount is too low.", f"{field}.amount", code="VALUE_TOO_LOW")
        return value.amount

    # --- CreatePayment / GetPayment ----------------------------------------------------------

    def create_payment(self, req: CreatePaymentRequest) -> JsonDict:
        source_type = self._source_type(req)
        if req.autocomplete is False:
            raise SquareError(
                400, "BAD_REQUEST", "This emulator completes payments at once.", "autocomplete"
            )
        amount = self.amount(req.amount_money, "amount_money", positive=True)
        supplied = None
        if req.cash_details is not None:
            field = "cash_details.buyer_supplied_money"
            supplied = self.amount(req.cash_details.buyer_supplied_money, field, positive=True)
            if supplied < amount:
                raise invalid(
                    "The buyer supplied less cash than the amount.", field, "VALUE_TOO_LOW"
                )
        state = self._sales.state
        location_id = req.location_id or state.location_id
        state.require_location(location_id, "location_id")
        order = self._sales.payable_order(req.order_id, amount, location_id)
        ms = state.clock.tick()
        payment_id = state.ids.next("PAYMENT")
        data = payment_json(
            payment_id,
            source_type=source_type,
            amount=amount,
            currency=self._currency,
            ms=ms,
            location_id=location_id,
            order_id=req.order_id,
            buyer_supplied=supplied,
            external=req.external_details.model_dump(exclude_none=True)
            if req.external_details
            else None,
        )
        optional = {
            "reference_id": req.reference_id,
            "customer_id": req.customer_id,
            "team_member_id": req.team_member_id,
            "buyer_email_address": req.buyer_email_address,
            "note": req.note,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        self.payments[payment_id] = PaymentRecord(data, amount)
        if order is not None:
            self._sales.complete(order, tender_json(data, order.id), amount, ms)
        return {"payment": copy.deepcopy(data)}  # later refunds update the stored one

    @staticmethod
    def _source_type(req: CreatePaymentRequest) -> str:
        """CARD, CASH or EXTERNAL, with exactly the details that source needs."""
        kinds = {"EXTERNAL": "EXTERNAL", "CASH": "CASH", CARD_NONCE_OK: "CARD"}
        source_type = kinds.get(req.source_id)
        if source_type is None:
            raise SquareError(
                400,
                "BAD_REQUEST",
                "This emulator takes source_id EXTERNAL, CASH or the Sandbox card nonce "
                f"`{CARD_NONCE_OK}`.",
                "source_id",
            )
        details = {"cash_details": req.cash_details, "external_details": req.external_details}
        wanted = {"CASH": "cash_details", "EXTERNAL": "external_details"}.get(source_type)
        for name, value in details.items():
            if name == wanted and value is None:
                raise invalid("Field must be set.", name, code="MISSING_REQUIRED_PARAMETER")
            if name != wanted and value is not None:
                raise invalid(f"{name} does not go with source_id `{req.source_id}`.", name)
        if req.external_details is not None and req.external_details.type not in EXTERNAL_TYPES:
            raise invalid(
                f"Unknown external payment type `{req.external_details.type}`.",
                "external_details.type",
            )
        return source_type

    def retrieve_payment(self, payment_id: str) -> JsonDict:
        payment = self.payment(payment_id)
        if payment is None:
            raise not_found(f"Payment `{payment_id}` not found.")
        return {"payment": copy.deepcopy(payment.data)}

    # --- RefundPayment / GetPaymentRefund ----------------------------------------------------

    def refund_payment(self, req: RefundPaymentRequest, ms: int | None = None) -> JsonDict:
        """A custom refund (at `ms`, or now): a return order for the sale, and the refund."""
        if req.unlinked:
            raise SquareError(
                400, "BAD_REQUEST", "This emulator does not do unlinked refunds.", "unlinked"
            )
        if req.payment_id is None:
            raise invalid("Field must be set.", "payment_id", code="MISSING_REQUIRED_PARAMETER")
        payment = self.payment(req.payment_id)
        if payment is None:
            raise not_found(f"Payment `{req.payment_id}` not found.", "payment_id")
        amount = self.amount(req.amount_money, "amount_money", positive=True)
        if amount > payment.total - payment.refunded:
            raise SquareError(
                400,
                "REFUND_AMOUNT_INVALID",
                f"The refund amount {amount} exceeds the {payment.total - payment.refunded} "
                "left to refund.",
                "amount_money.amount",
            )
        state = self._sales.state
        ms = state.clock.tick() if ms is None else ms
        refund: JsonDict = {
            "id": state.ids.next("REFUND"),
            "status": "COMPLETED",
            "location_id": payment.data["location_id"],
            "unlinked": False,
            "destination_type": payment.source_type,
            "amount_money": money(amount, self._currency),
            "payment_id": req.payment_id,
            "created_at": rfc3339(ms),
            "updated_at": rfc3339(ms),
        }
        sale = self._sales.order(str(payment.data.get("order_id") or ""))
        if sale is not None:
            refund["order_id"] = self._sales.return_order(sale, refund, req.reason, ms).id
        optional = {"reason": req.reason, "team_member_id": req.team_member_id}
        refund.update({k: v for k, v in optional.items() if v is not None})
        self.refunds[refund["id"]] = RefundRecord(refund, ms, payment.source_type)
        bisect.insort(self._by_time, (ms, refund["id"]))
        payment.refunded += amount
        payment.data["refund_ids"] = [*payment.data.get("refund_ids", []), refund["id"]]
        payment.data["refunded_money"] = money(payment.refunded, self._currency)
        payment.data["updated_at"] = rfc3339(max(ms, self._updated_ms(payment)))
        payment.data["version_token"] = fingerprint([req.payment_id, ms, payment.refunded])
        return {"refund": dict(refund)}

    @staticmethod
    def _updated_ms(payment: PaymentRecord) -> int:
        return parse_rfc3339_us(str(payment.data["updated_at"]), "updated_at") // 1000

    def get_refund(self, refund_id: str) -> JsonDict:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise not_found(f"Refund `{refund_id}` not found.")
        return {"refund": dict(refund.data)}

    # --- ListPaymentRefunds --------------------------------------------------------------------

    def list_refunds(self, q: RefundsQuery) -> JsonDict:
        """One page of refunds created in the range, oldest or newest first."""
        begin_time, end_time, sort_order, cursor = q.begin_time, q.end_time, q.sort_order, q.cursor
        location_id, status, source_type, limit = q.location_id, q.status, q.source_type, q.limit
        order = (sort_order or "DESC").upper()
        if order not in ("ASC", "DESC"):
            raise invalid(
                f"Unknown sort_order `{sort_order}`.", "sort_order", code="INVALID_SORT_ORDER"
            )
        if limit is not None and limit < 1:
            raise invalid("limit must be at least 1.", "limit", code="VALUE_TOO_LOW")
        size = min(limit or REFUNDS_PAGE_MAX, REFUNDS_PAGE_MAX)
        now = self._sales.state.clock.peek()
        begin = parse_rfc3339_us(begin_time, "begin_time") // 1000 if begin_time else now - YEAR_MS
        end = parse_rfc3339_us(end_time, "end_time") // 1000 if end_time else now
        query = fingerprint([begin_time, end_time, order, location_id, status, source_type])
        after = None
        if cursor is not None:  # the range's defaults stay those of the first page
            position = decode_cursor(cursor, "refunds", query)
            if not isinstance(position, list) or len(position) != 4:
                raise invalid("The pagination cursor is invalid.", "cursor", code="INVALID_CURSOR")
            begin, end, after = position[0], position[1], (position[2], position[3])
        if order == "ASC":  # begin inclusive, end exclusive
            lo = bisect.bisect_left(self._by_time, (begin, ""))
            hi = bisect.bisect_left(self._by_time, (end, ""))
            if after is not None:
                lo = max(lo, bisect.bisect_right(self._by_time, (after[0], after[1])))
            keys = iter(self._by_time[lo:hi])
        else:  # begin exclusive, end inclusive
            lo = bisect.bisect_right(self._by_time, (begin, "\uffff"))
            hi = bisect.bisect_right(self._by_time, (end, "\uffff"))
            if after is not None:
                hi = min(hi, bisect.bisect_left(self._by_time, (after[0], after[1])))
            keys = reversed(self._by_time[lo:hi])
        page: list[RefundRecord] = []
        more = False
        for _, refund_id in keys:
            refund = self.refunds[refund_id]
            if location_id and refund.data["location_id"] != location_id:
                continue
            if status and refund.data["status"] != status:
                continue
            if source_type and refund.source_type != source_type:
                continue
            if len(page) == size:
                more = True
                break
            page.append(refund)
        body: JsonDict = {}
        if page:
            body["refunds"] = [dict(r.data) for r in page]
        if more:
            last = page[-1]
            position = [begin, end, last.created_ms, last.data["id"]]
            body["cursor"] = encode_cursor("refunds", position, query)
        return body

"""Keys and references possync sends to other systems: unique per record, within each field.

The rule, for every id, key or reference that crosses to another system:

- A key or reference is derived from the *whole* id it stands for, never from a cut of it.
  The order ledger's key is a uuid5 of shop and full order id (`sync.orders.order_key`),
  an event's a uuid5 of that key and the full event name, a POS call's a uuid5 of the
  event's key and the call's purpose. Ids that differ anywhere give different keys.
- A reference is the readable text (`order_reference`: "shopify order
  gid://shopify/Order/5409125040004") when it fits the receiving field's documented
  maximum, else the ledger key it belongs to (`fit_reference`): a UUID, 36 characters,
  unique per order or event. A reference is never cut: the first 40 characters of one
  Shopify gid are those of every other order of the shop.
- The full text is also kept in a field of the same record where it fits (Square: the
  order's metadata and the payment's external source id), so a person can read it.
- A look-up by reference compares the whole value as sent, never a prefix.
- Each connector names the limits of the fields it fills as constants taken from the
  vendor's spec (e.g. `connectors.square.REFERENCE_ID_MAX`).

Descriptions (a refund's reason, a journal's narration) are text for people; they may be
shortened to fit, but nothing is ever looked up by them.
"""

from __future__ import annotations

import uuid

__all__ = ["event_reference", "fit_reference", "order_reference"]


def order_reference(shop: str, order_id: str) -> str:
    """An order's readable reference in another system, from its full id."""
    return f"{shop} order {order_id}"


def event_reference(shop: str, order_id: str, event: str) -> str:
    """The readable reference of one event (a refund, the cancellation) of an order."""
    return f"{order_reference(shop, order_id)} {event}"


def fit_reference(reference: str, key: str, limit: int) -> str:
    """`reference` as a field of at most `limit` characters holds it: the text itself when
    it fits, else `key` (the ledger key of the same order or event, a UUID). A text shaped
    like a UUID is replaced by its key too, so a text can never equal another record's
    key. One-to-one as long as each reference belongs to one key."""
    canonical = str(uuid.UUID(key))
    if len(canonical) > limit:
        raise ValueError(f"a field of {limit} characters cannot hold the key {canonical}")
    if len(reference) <= limit and not _uuid_shaped(reference):
        return reference
    return canonical


def _uuid_shaped(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True

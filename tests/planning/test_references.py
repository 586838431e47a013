"""References and keys of web orders, over every webshop's real id formats: each one unique
per order (and event) and within the Square field it goes to (`possync.domain.references`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from possync.domain.references import event_reference, fit_reference, order_reference
from possync.planning.orders import event_key, order_key
from possync.vendors.square.pos import (
    ADJUSTMENT_REFERENCE_MAX,
    EXTERNAL_SOURCE_ID_MAX,
    METADATA_VALUE_MAX,
    REFERENCE_ID_MAX,
    _subkey,
)
from tests.specs import spec_path

INT64_MAX = 2**63 - 1  # Shopify ids are 64-bit
UINT32_MAX = 2**32 - 1  # Magento's sales_order.entity_id is int(10) unsigned
UINT64_MAX = 2**64 - 1  # WordPress post ids (WooCommerce orders) are bigint(20) unsigned


def shopify_ids() -> Iterator[str]:
    """Order gids as Shopify gives them: 13 digits today (consecutive ones share all but the
    last digits), up to int64."""
    for n in range(5_409_125_040_000, 5_409_125_042_000):
        yield f"gid://shopify/Order/{n}"
    for n in (10**12, 10**13 - 1, 10**13, 10**18, INT64_MAX):
        yield f"gid://shopify/Order/{n}"


def magento_ids() -> Iterator[str]:
    """Entity ids (what the connector uses) up to int(10) unsigned, and increment ids with
    their zero padding and store prefixes."""
    for n in [*range(1, 2000), 999_999_999, UINT32_MAX]:
        yield str(n)
    for n in range(1, 500):
        yield f"{n:09d}"  # "000000123", store 1
        yield f"2{n:09d}"  # "2000000123", store 2


def woocommerce_ids() -> Iterator[str]:
    for n in [*range(1, 2000), 10**9, 2**31 - 1, 2**31, INT64_MAX, UINT64_MAX]:
        yield str(n)


WEBSHOP_IDS = {
    "shopify": list(shopify_ids()),
    "magento": list(magento_ids()),
    "woocommerce": list(woocommerce_ids()),
}
ALL_ORDERS = [(shop, order_id) for shop, ids in WEBSHOP_IDS.items() for order_id in ids]


def test_the_limits_are_the_spec_s() -> None:
    schemas = json.loads(spec_path("square/api.json").read_text())["components"]["schemas"]
    assert schemas["Order"]["properties"]["reference_id"]["maxLength"] == REFERENCE_ID_MAX
    payment = schemas["CreatePaymentRequest"]["properties"]
    assert payment["reference_id"]["maxLength"] == REFERENCE_ID_MAX
    adjustment = schemas["InventoryAdjustment"]["properties"]["reference_id"]
    assert adjustment["maxLength"] == ADJUSTMENT_REFERENCE_MAX
    external = schemas["ExternalPaymentDetails"]["properties"]["source_id"]
    assert external["maxLength"] == EXTERNAL_SOURCE_ID_MAX
    metadata = schemas["Order"]["properties"]["metadata"]["description"]
    assert f"maximum length of {METADATA_VALUE_MAX} characters" in metadata


@pytest.mark.parametrize("limit", [REFERENCE_ID_MAX, ADJUSTMENT_REFERENCE_MAX, METADATA_VALUE_MAX])
def test_order_references_are_unique_and_fit_for_every_webshop_id(limit: int) -> None:
    fitted = [
        fit_reference(order_reference(shop, oid), order_key(shop, oid), limit)
        for shop, oid in ALL_ORDERS
    ]
    assert max(len(r) for r in fitted) <= limit
    assert len(set(fitted)) == len(ALL_ORDERS)


def test_a_reference_that_fits_stays_readable_and_a_long_one_is_the_order_key() -> None:
    woo = order_reference("woocommerce", str(UINT64_MAX))
    assert fit_reference(woo, order_key("woocommerce", str(UINT64_MAX)), 40) == woo
    gid = "gid://shopify/Order/5409125040004"
    shopify = order_reference("shopify", gid)
    assert len(shopify) == 47
    assert fit_reference(shopify, order_key("shopify", gid), 40) == order_key("shopify", gid)
    assert fit_reference(shopify, order_key("shopify", gid), 255) == shopify


def test_a_reference_shaped_like_a_key_never_stands_for_itself() -> None:
    """A text that fits could otherwise equal another order's key (the fallback form)."""
    other = order_key("shopify", "gid://shopify/Order/5409125040004")
    mine = order_key("woocommerce", "1")
    assert fit_reference(other, mine, 40) == mine


def test_event_references_and_keys_are_unique_per_refund() -> None:
    """Refund references (InventoryAdjustment, 255) and keys of refunds of orders with long
    ids; a refund gid shares its first 40 characters with its neighbours too."""
    events: set[tuple[str, str, str]] = set()
    refs: set[str] = set()
    keys: set[str] = set()
    for shop, oid in ALL_ORDERS[::7]:
        base = order_key(shop, oid)
        for n in (5_409_125_050_000, 5_409_125_050_001, INT64_MAX):
            refund = f"gid://shopify/Refund/{n}" if shop == "shopify" else str(n)
            for event in (f"refund:{refund}", "cancel"):
                key = event_key(base, event)
                ref = fit_reference(
                    event_reference(shop, oid, event), key, ADJUSTMENT_REFERENCE_MAX
                )
                assert len(ref) <= ADJUSTMENT_REFERENCE_MAX
                events.add((shop, oid, event))
                refs.add(ref)
                keys.add(key)
    assert len(refs) == len(keys) == len(events)


def test_idempotency_keys_are_unique_and_within_every_square_key_limit() -> None:
    """CreatePayment takes 45 characters, BatchChangeInventory 128, CreateOrder 192."""
    keys = [order_key(shop, oid) for shop, oid in ALL_ORDERS]
    assert len(set(keys)) == len(keys)
    calls = [_subkey(k, purpose) for k in keys for purpose in ("order", "payment")]
    assert len(set(calls) | set(keys)) == len(keys) * 3
    assert max(len(k) for k in calls) <= 45
    assert all(str(uuid.UUID(k)) == k for k in calls[:100])

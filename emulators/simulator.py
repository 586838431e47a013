"""A store simulator: rings up sales on the (emulated) Square register every few seconds.

It talks to Square's public API like a real register would (an order with VAT paid in cash
or by card, which draws the stock; restocks NONE → IN_STOCK), so the demo's stock visibly
moves, the stock-sync flow has something to carry to the webshop and the daily turnover has
the day's sales to post.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from emulators.webshops import EmulatedWebshop

log = logging.getLogger(__name__)


class _Ticker:
    """A background thread calling `tick()` every `every_seconds` until stopped; an HTTP
    failure of one tick is logged and the next tick goes on."""

    name = "ticker"

    def __init__(self, every_seconds: float, seed: int | None) -> None:
        self._every = every_seconds
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.tick()
            except httpx.HTTPError as exc:
                log.warning("%s: %s", self.name, exc)

    def tick(self) -> None:
        raise NotImplementedError


class _HttpTicker(_Ticker):
    """A ticker that talks to one API with its own client (closed on stop)."""

    def __init__(self, http: httpx.Client, every_seconds: float, seed: int | None) -> None:
        super().__init__(every_seconds, seed)
        self._http = http

    def stop(self) -> None:
        super().stop()
        self._http.close()


class StoreSimulator(_HttpTicker):
    """Sells one or two units of a random variation per tick, restocking what runs out."""

    name = "store-simulator"

    def __init__(
        self,
        square_url: str,
        access_token: str,
        location_id: str,
        *,
        every_seconds: float = 3.0,
        seed: int | None = None,
    ) -> None:
        http = httpx.Client(
            base_url=square_url,
            headers={"Authorization": f"Bearer {access_token}", "Square-Version": "2025-08-20"},
            timeout=10,
        )
        super().__init__(http, every_seconds, seed)
        self._location = location_id
        self._variations: list[tuple[str, str]] = []
        self.sales = 0

    def start(self) -> None:
        self._variations = self._load_variations()
        super().start()

    def tick(self) -> None:
        """One sale (or a restock of an empty shelf)."""
        variation_id, sku = self._rng.choice(self._variations)
        on_hand = self._on_hand(variation_id)
        if on_hand <= 0:
            self._change(variation_id, "NONE", "IN_STOCK", 10)
            log.info("POS restock: %s +10", sku)
            return
        sold = min(int(on_hand), self._rng.choice([1, 1, 1, 2]))
        tender = self._sell(variation_id, sold)
        self.sales += 1
        log.info("POS sale: %s -%d, paid %s (on hand %s)", sku, sold, tender, int(on_hand) - sold)

    def _sell(self, variation_id: str, quantity: int) -> str:
        """A sale as a register books it: an order of the catalog line with Danish VAT (25 %,
        included in the price), paid in cash or by card, which completes it and draws the
        stock; the day's turnover comes from these."""
        order = {
            "location_id": self._location,
            "line_items": [{"catalog_object_id": variation_id, "quantity": str(quantity)}],
            "taxes": [
                {
                    "uid": "vat",
                    "name": "Moms",
                    "percentage": "25",
                    "type": "INCLUSIVE",
                    "scope": "ORDER",
                }
            ],
        }
        created = (
            self._http.post(
                "/v2/orders", json={"idempotency_key": str(uuid.uuid4()), "order": order}
            )
            .raise_for_status()
            .json()["order"]
        )
        total = created["total_money"]
        tender = self._rng.choice(["CARD", "CARD", "CASH"])
        payment: dict[str, Any] = {
            "idempotency_key": str(uuid.uuid4()),
            "order_id": created["id"],
            "location_id": self._location,
            "amount_money": total,
        }
        if tender == "CASH":
            payment |= {"source_id": "CASH", "cash_details": {"buyer_supplied_money": total}}
        else:
            payment["source_id"] = "cnon:card-nonce-ok"
        self._http.post("/v2/payments", json=payment).raise_for_status()
        return tender.lower()

    def _load_variations(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        cursor: str | None = None
        while True:
            params = {"types": "ITEM", **({"cursor": cursor} if cursor else {})}
            body = self._http.get("/v2/catalog/list", params=params).raise_for_status().json()
            for item in body.get("objects") or []:
                for variation in (item.get("item_data") or {}).get("variations") or []:
                    sku = (variation.get("item_variation_data") or {}).get("sku") or ""
                    found.append((variation["id"], sku))
            cursor = body.get("cursor")
            if not cursor:
                return found

    def _on_hand(self, variation_id: str) -> Decimal:
        body = (
            self._http.get(f"/v2/inventory/{variation_id}", params={"location_ids": self._location})
            .raise_for_status()
            .json()
        )
        for count in body.get("counts") or []:
            if count.get("state") == "IN_STOCK":
                return Decimal(count.get("quantity") or "0")
        return Decimal(0)

    def _change(self, variation_id: str, from_state: str, to_state: str, quantity: int) -> None:
        change: dict[str, Any] = {
            "type": "ADJUSTMENT",
            "adjustment": {
                "catalog_object_id": variation_id,
                "location_id": self._location,
                "from_state": from_state,
                "to_state": to_state,
                "quantity": str(quantity),
                "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
        }
        self._http.post(
            "/v2/inventory/changes/batch-create",
            json={"idempotency_key": str(uuid.uuid4()), "changes": [change]},
        ).raise_for_status()


class WebShopper(_Ticker):
    """Customers of the emulated webshop (any of the three): a paid order for one unit of a
    random in-stock SKU every few seconds, through the webshop's own API, so the demo shows
    web orders reaching the register."""

    name = "web-shopper"

    def __init__(
        self,
        web: EmulatedWebshop,
        skus: list[str],
        *,
        every_seconds: float = 20.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(every_seconds, seed)
        self._web = web
        self._skus = skus
        self.orders = 0

    def tick(self) -> None:
        self.order()

    def order(self) -> str | None:
        """Buy one unit of an in-stock SKU (a few tries); returns the order id."""
        for sku in self._rng.sample(self._skus, min(5, len(self._skus))):
            if (self._web.stock(sku) or 0) > 0:
                order_id = self._web.place_order({sku: 1})
                self.orders += 1
                log.info("web order %s: %s x1 (paid)", order_id, sku)
                return order_id
        return None

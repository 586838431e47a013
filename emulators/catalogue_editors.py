"""Shop admins editing products in the demo: one at the register (Square), one in the
webshop (WooCommerce, Shopify or Magento 2), each changing a random product's price every so
often through the vendor's API. Whichever side is master (the `setup` setting), its edits
flow to the other side and the other side's edits are overwritten and reported, so a switch
of setup in the UI shows at once which way products flow."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

import httpx

from emulators.simulator import _HttpTicker, _Ticker
from emulators.webshops import EmulatedWebshop

log = logging.getLogger(__name__)


class PosProductEditor(_HttpTicker):
    """Re-prices a random register item (UpsertCatalogObject with the whole item)."""

    name = "pos-product-editor"

    def __init__(
        self, square_url: str, access_token: str, *, every_seconds: float, seed: int | None = None
    ) -> None:
        http = httpx.Client(
            base_url=square_url,
            headers={"Authorization": f"Bearer {access_token}", "Square-Version": "2025-08-20"},
            timeout=10,
        )
        super().__init__(http, every_seconds, seed)
        self.edits = 0

    def tick(self) -> None:
        page = self._http.get("/v2/catalog/list", params={"types": "ITEM"}).raise_for_status()
        items = page.json().get("objects") or []
        if not items:
            return
        item = self._rng.choice(items)
        variation = item["item_data"]["variations"][0]["item_variation_data"]
        amount = max(100, int(variation["price_money"]["amount"]) + self._rng.choice([-100, 100]))
        variation["price_money"]["amount"] = amount
        body = {"idempotency_key": str(uuid.uuid4()), "object": item}
        self._http.post("/v2/catalog/object", json=body).raise_for_status()
        self.edits += 1
        log.info("POS admin: %s now %s", variation.get("sku"), Decimal(amount) / 100)


class WebProductEditor(_Ticker):
    """Re-prices a random webshop SKU in the webshop's back office (any of the three)."""

    name = "web-product-editor"

    def __init__(
        self,
        web: EmulatedWebshop,
        skus: list[str],
        *,
        every_seconds: float,
        seed: int | None = None,
    ) -> None:
        super().__init__(every_seconds, seed)
        self._web = web
        self._skus = skus
        self.edits = 0

    def tick(self) -> None:
        sku = self._rng.choice(self._skus)
        price = self._web.price(sku)
        if price is None:
            return
        price = max(Decimal(1), price + self._rng.choice([-1, 1]))
        self._web.set_price(sku, price)
        self.edits += 1
        log.info("web admin: %s now %s", sku, f"{price:.2f}")

"""The bad-record catalogue (issue 12): bad records seeded into Square and each webshop,
run through one product-sync and two stock-syncs, on SQLite and PostgreSQL. Each record
is quarantined naming the record and the field, or synced as it is; the rest syncs; no
run fails, and the second stock-sync quarantines exactly what the first did.

Setup `webshop_products`: the webshop is master of products (so its names, prices and codes
are what product-sync carries to Square, which holds at most 512 characters of a name and
an int64 of minor units), Square is master of stock (so its counts are what stock-sync
carries to the webshop, each of which holds its own largest count). A record is seeded only
where its vendor can hold it: Magento needs a SKU of at most 64 characters, a name of at
most 255 and a price below 10^14; WooCommerce keeps SKUs and barcodes unique; Shopify and
Magento refuse negative prices; Shopify and Magento titles end at 255 characters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prefect.client.schemas.objects import State
from pydantic import SecretStr

from blocks import SyncSettings
from emulators.demo import DemoProduct, DemoVariant, demo_catalogue, ean13
from flows.products import sync_products
from flows.stock import sync_stock
from possync.domain.money import to_minor
from possync.domain.products import ProductData
from possync.store import Store
from possync.vendors.ports import ProductCatalogue
from possync.vendors.registry import build_pos, build_webshop
from possync.vendors.square.config import SquareConfig
from tests import catalog_admin as admin
from tests.flows.conftest import WEBSHOPS
from tests.shop import LOCATION, TOKEN, EmulatedShop, save_blocks, start_shop

ALL = WEBSHOPS
WOO = ("woocommerce",)
NOT_MAGENTO = ("woocommerce", "shopify")
SHOPIFY_MAGENTO = ("shopify", "magento")

SYNCED = "synced"
# An outcome: SYNCED, the field a record is quarantined with, or None (the flow never sees
# it: a product only in Square is no master product; one only in the webshop has no count).
Outcome = str | None


@dataclass(frozen=True)
class Record:
    """One bad record: where it is, what is wrong, and what each flow must make of it.

    `pos_skus` and `web_skus` hold one SKU per copy of the product on that side (two copies:
    a duplicate); an empty tuple keeps it off that side. `product` and `stock` are the
    expected outcomes, per webshop where they differ."""

    key: str
    why: str
    product: Outcome | Mapping[str, Outcome]
    stock: Outcome | Mapping[str, Outcome]
    pos_skus: tuple[str, ...] | None = None
    web_skus: tuple[str, ...] | None = None
    name: str = ""
    price: Decimal = Decimal("19.95")
    web_price: str | None = None  # set through WooCommerce's REST API after seeding
    pos_barcode: str = ""
    web_barcode: str = ""
    count: str = "5"  # Square's IN_STOCK count, its decimal string
    web_stock: int = 1
    webshops: tuple[str, ...] = ALL

    @property
    def sku(self) -> str:
        return f"BAD-{self.key}"

    @property
    def title(self) -> str:
        return self.name or f"Catalogue record {self.key}"

    @property
    def on_pos(self) -> tuple[str, ...]:
        return (self.sku,) if self.pos_skus is None else self.pos_skus

    @property
    def on_web(self) -> tuple[str, ...]:
        return (self.sku,) if self.web_skus is None else self.web_skus

    def outcome(self, flow: str, webshop: str) -> Outcome:
        wanted = self.product if flow == "product" else self.stock
        return wanted.get(webshop, SYNCED) if isinstance(wanted, Mapping) else wanted


def counted(key: str, count: str, stock: Outcome | Mapping[str, Outcome], why: str) -> Record:
    """A good product on both sides whose Square count is the bad part."""
    return Record(key, why, product=SYNCED, stock=stock, count=count)


GTIN = ean13("570000000013")  # the barcode record 13 is found by
DUP_GTIN = ean13("570000000018")
WEB_DUP_GTIN = ean13("570000000019")

CATALOGUE: tuple[Record, ...] = (
    # -- counts (Square) against each webshop's largest count ----------------------------
    counted("01", "2147483648", {"shopify": "quantity", "magento": "quantity"}, "int32 + 1"),
    counted("02", "1000000000", {"magento": "quantity"}, "Shopify's largest count"),
    counted("03", "1000000001", {"shopify": "quantity", "magento": "quantity"}, "beyond Shopify"),
    counted("04", "99999999", SYNCED, "Magento's largest count (decimal(12,4))"),
    counted("05", "100000000", {"magento": "quantity"}, "beyond Magento"),
    counted(
        "06",
        "9223372036854775807",
        {"shopify": "quantity", "magento": "quantity"},
        "int64 max: WooCommerce's largest (PHP intval), the ledger's too",
    ),
    counted("07", str(10**20), "quantity", "beyond every webshop and the ledger"),
    counted("08", "-3", "quantity", "negative: sold more than on hand"),
    counted("09", "2.5", "quantity", "fractional"),
    counted("10", "0.00001", "quantity", "Square's smallest fraction"),
    counted("11", "0", SYNCED, "zero is a count"),
    counted("12", "12345678901234567890.12345", "quantity", "26 characters, Square's longest"),
    # -- SKUs and barcodes --------------------------------------------------------------
    Record(
        "13",
        "no SKU in Square, found by its barcode",
        product=SYNCED,  # linked by barcode; the webshop's SKU is written to Square
        stock=SYNCED,
        pos_skus=("",),
        pos_barcode=GTIN,
        web_barcode=GTIN,
    ),
    Record(
        "14",
        "neither SKU nor barcode in Square",
        product=None,
        stock="sku",
        pos_skus=("",),
        web_skus=(),
    ),
    Record(
        "15",
        "no SKU in the webshop (Magento requires one)",
        product="sku",
        stock=None,
        pos_skus=(),
        web_skus=("",),
        webshops=NOT_MAGENTO,
    ),
    Record(
        "16",
        "one SKU on two Square items",
        product="link",  # the webshop product matches two Square products: nothing is made
        stock="sku",
        pos_skus=("BAD-16", "BAD-16"),
    ),
    Record(
        "17",
        "one SKU on two webshop products (only Shopify allows it)",
        product="sku",
        stock="link",
        web_skus=("BAD-17", "BAD-17"),
        webshops=("shopify",),
    ),
    Record(
        "18",
        "one barcode on two Square items with their own SKUs",
        product=SYNCED,
        stock=SYNCED,
        pos_skus=("BAD-18-A", "BAD-18-B"),
        web_skus=("BAD-18-A", "BAD-18-B"),
        pos_barcode=DUP_GTIN,
    ),
    Record(
        "19",
        "one barcode on two webshop products (WooCommerce keeps them unique)",
        product="barcode",
        stock=SYNCED,
        pos_skus=("BAD-19-A", "BAD-19-B"),
        web_skus=("BAD-19-A", "BAD-19-B"),
        web_barcode=WEB_DUP_GTIN,
        webshops=SHOPIFY_MAGENTO,
    ),
    Record("20", "a SKU the webshop does not have", product=None, stock="link", web_skus=()),
    Record("21", "only in the webshop: created in Square", product=SYNCED, stock=None, pos_skus=()),
    Record(
        "22",
        "SQL-looking SKU and name",
        product=SYNCED,
        stock=SYNCED,
        name="Robert'); DROP TABLE stock_ledger;-- ",
        pos_skus=("BAD-22' OR '1'='1",),
        web_skus=("BAD-22' OR '1'='1",),
    ),
    # -- prices (the webshop's) against Square's exact minor units -----------------------
    Record("23", "three decimals in DKK", "price", None, pos_skus=(), price=Decimal("12.345")),
    Record("24", "0.001: not a free product", "price", None, pos_skus=(), price=Decimal("0.001")),
    Record(
        "25",
        "29 digits",
        "price",
        None,
        pos_skus=(),
        price=Decimal("1234567890123456789012345678.9"),
        webshops=NOT_MAGENTO,
    ),
    Record(
        "26",
        "10^17: beyond Square's int64 minor units",
        "price",
        None,
        pos_skus=(),
        price=Decimal(10**17),
        webshops=NOT_MAGENTO,
    ),
    Record(
        "27",
        "Square's largest price, exactly",
        SYNCED,
        None,
        pos_skus=(),
        price=Decimal("92233720368547758.07"),
        webshops=NOT_MAGENTO,
    ),
    Record("28", "zero: a free product on purpose", SYNCED, None, pos_skus=(), price=Decimal(0)),
    Record("29", "negative", "price", None, pos_skus=(), web_price="-5.00", webshops=WOO),
    Record("30", "not a number", "price", None, pos_skus=(), web_price="abc", webshops=WOO),
    Record("31", "no price at all", "price", None, pos_skus=(), web_price="", webshops=WOO),
    Record("32", "one decimal", SYNCED, None, pos_skus=(), price=Decimal("19.9")),
    # -- names ---------------------------------------------------------------------------
    Record(
        "33",
        "10,000 characters: Square holds 512",
        "name",
        None,
        pos_skus=(),
        name="Lang " + "x" * 9995,
        webshops=WOO,
    ),
    Record("34", "512 characters", SYNCED, None, pos_skus=(), name="N" * 512, webshops=WOO),
    Record("35", "255 characters", SYNCED, SYNCED, name="M" * 255),
    Record("36", "emoji", SYNCED, SYNCED, name="Kaffe ☕️ 🇩🇰 Müsli 🥣 #36"),
    Record("37", "right-to-left text", SYNCED, SYNCED, name="קפה טורקי — قهوة عربية 37"),
    Record("38", "markup", SYNCED, SYNCED, name='<script>alert("38")</script> & <b>mug</b>'),
    Record("39", "control characters", SYNCED, SYNCED, name="Mug\tXL\nline two 39"),
    Record("40", "combining accents", SYNCED, SYNCED, name="Cafe\u0301 cre\u0300me 40"),
    Record("41", "a blank name", "name", None, pos_skus=(), name="   ", webshops=WOO),
    Record(
        "42",
        "a NUL character (PostgreSQL text refuses it) in a name whose price is bad",
        "price",
        None,
        pos_skus=(),
        name="Nul\x00byte 42",
        price=Decimal("1.999"),
        webshops=WOO,
    ),
)

BASE = demo_catalogue(12, seed=29, variable_share=0.3)


def catalogue_for(webshop: str) -> list[Record]:
    return [r for r in CATALOGUE if webshop in r.webshops]


def _product(record: Record, sku: str, copy: int, barcode: str, *, name: str) -> DemoProduct:
    variant = DemoVariant(sku, barcode, "Regular", record.price, record.web_stock)
    return DemoProduct(f"R{record.key}-{copy}", name, f"Record {record.key}", True, [variant])


def seeded(records: list[Record]) -> tuple[list[DemoProduct], list[DemoProduct]]:
    """Each record's products on each side (a second copy gets its own name)."""
    pos: list[DemoProduct] = []
    web: list[DemoProduct] = []
    for r in records:
        for side, skus, barcode in ((pos, r.on_pos, r.pos_barcode), (web, r.on_web, r.web_barcode)):
            for copy, sku in enumerate(skus):
                name = r.title if copy == 0 else f"{r.title} (copy {copy + 1})"
                side.append(_product(r, sku, copy, barcode, name=name))
    return pos, web


@pytest.fixture(
    params=[
        pytest.param(
            (webshop, db),
            id=f"{webshop}-{db}",
            marks=[pytest.mark.postgres] if db == "postgres" else [],
        )
        for webshop in WEBSHOPS
        for db in ("sqlite", "postgres")
    ]
)
def webshop_and_db(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """Overrides the conftest's: the catalogue runs on every webshop on both databases."""
    webshop, db = request.param
    url: str = request.getfixturevalue(f"{db}_url")
    monkeypatch.setenv("POSSYNC_DATABASE_URL", url)
    return webshop, url


@pytest.fixture
def shop(webshop_and_db: tuple[str, str]) -> Iterator[EmulatedShop]:
    webshop = webshop_and_db[0]
    pos, web = seeded(catalogue_for(webshop))
    started = start_shop(BASE, pos_only=pos, webshop=webshop, web_only=web)
    try:
        save_blocks(started)
        SyncSettings(setup="webshop_products", webshop=webshop).save(
            "possync-settings", overwrite=True
        )
        yield started
    finally:
        started.stop()


# -- reading both sides through our own connectors ------------------------------------------


@dataclass
class Sides:
    """Every product of both sides as our connectors read them."""

    pos: list[ProductData] = field(default_factory=list)
    web: list[ProductData] = field(default_factory=list)

    @classmethod
    def read(cls, shop: EmulatedShop) -> Sides:
        square = build_pos(
            "square",
            SquareConfig(
                base_url=shop.square_server.url,
                access_token=SecretStr(TOKEN),
                location_id=LOCATION,
            ),
        )
        webshop = build_webshop(shop.web.system, shop.web.config())
        try:
            assert isinstance(square, ProductCatalogue) and isinstance(webshop, ProductCatalogue)
            return cls(
                pos=[p for page in square.products_changed(None) for p in page],
                web=[p for page in webshop.products_changed(None) for p in page],
            )
        finally:
            square.close()
            webshop.close()

    def pos_variants(self, record: Record) -> list[str]:
        """Square variation ids of the record (by SKU, by name where it has none)."""
        return [
            str(v.id)
            for p in self.pos
            for v in p.variants
            if _is(record, p, v.sku, record.on_pos) and not p.deleted
        ]

    def web_products(self, record: Record) -> list[str]:
        return [
            str(p.id)
            for p in self.web
            if any(_is(record, p, v.sku, record.on_web) for v in p.variants)
        ]

    def pos_by_sku(self, sku: str) -> list[tuple[ProductData, str | None]]:
        return [(p, v.price) for p in self.pos for v in p.variants if v.sku == sku]


def _is(record: Record, product: ProductData, sku: str | None, skus: tuple[str, ...]) -> bool:
    if sku:
        return sku in skus
    return "" in skus and product.name.startswith(record.title[:100])


# -- seeding what only an API call can make ---------------------------------------------------


def _square_change(shop: EmulatedShop, change: dict[str, object]) -> None:
    httpx.post(
        f"{shop.square_server.url}/v2/inventory/changes/batch-create",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"idempotency_key": str(uuid.uuid4()), "changes": [change]},
    ).raise_for_status()


def set_count(shop: EmulatedShop, variation_id: str, count: str) -> None:
    """The record's Square count, as Square's API makes it: a stocktake, and a sale beyond
    what is on hand for a negative count."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    negative = count.startswith("-")
    physical = {
        "catalog_object_id": variation_id,
        "location_id": LOCATION,
        "state": "IN_STOCK",
        "quantity": "0" if negative else count,
        "occurred_at": now,
    }
    _square_change(shop, {"type": "PHYSICAL_COUNT", "physical_count": physical})
    if negative:
        sale = {
            "catalog_object_id": variation_id,
            "location_id": LOCATION,
            "from_state": "IN_STOCK",
            "to_state": "SOLD",
            "quantity": count.removeprefix("-"),
            "occurred_at": now,
        }
        _square_change(shop, {"type": "ADJUSTMENT", "adjustment": sale})


# -- the runs -----------------------------------------------------------------------------------


def run_products() -> dict[str, int]:
    state: State[Any] = sync_products(return_state=True)
    assert state.is_completed(), state.message
    summary: dict[str, int] = state.result()
    return summary


def run_stock() -> dict[str, int]:
    state: State[Any] = sync_stock(return_state=True)
    assert state.is_completed(), state.message
    summary: dict[str, int] = state.result()
    return summary


def open_records(url: str, flow: str) -> dict[str, tuple[str | None, str]]:
    """record id -> (field, reason) of the flow's open quarantine."""
    store = Store.open(url)
    try:
        return {q.record_id: (q.field, q.reason) for q in store.open_quarantine(flow)}
    finally:
        store.close()


def test_every_bad_record_is_quarantined_naming_its_field_or_synced_as_it_is(
    shop: EmulatedShop, webshop_and_db: tuple[str, str]
) -> None:
    webshop, url = webshop_and_db
    records = catalogue_for(webshop)
    assert len(records) >= 30
    before = Sides.read(shop)
    for record in records:
        for variation_id in before.pos_variants(record):
            set_count(shop, variation_id, record.count)
        if record.web_price is not None:
            for product_id in before.web_products(record):
                item = admin.woo_product(shop, int(product_id))
                admin.woo_update(shop, item, {"regular_price": record.web_price})

    products = run_products()
    first = run_stock()
    stock_after_first = open_records(url, "stock-sync")
    good = next(v.sku for p in BASE for v in p.variants if v.stock > 2)
    shop.sell_at_pos(good, 2)
    second = run_stock()

    after = Sides.read(shop)
    product_q = open_records(url, "product-sync")
    stock_q = open_records(url, "stock-sync")
    assert stock_q == stock_after_first, "the second run quarantined differently"
    failures: list[str] = []
    expected_product_q: set[str] = set()
    expected_stock_q: set[str] = set()
    for record in records:
        label = f"record {record.key} ({record.why})"
        wanted = record.outcome("product", webshop)
        ids = before.web_products(record)
        if wanted is not None and not ids:
            failures.append(f"{label}: not in the webshop")
        if wanted == SYNCED:
            failures += _product_synced(record, after, product_q, ids, label)
        elif wanted is not None:
            expected_product_q.update(ids)
            failures += _quarantined(product_q, ids, wanted, label, "product-sync")
        wanted = record.outcome("stock", webshop)
        variants = before.pos_variants(record)
        if wanted is not None and not variants:
            failures.append(f"{label}: not in Square")
        if wanted == SYNCED:
            failures += _stock_synced(shop, record, stock_q, variants, label)
        elif wanted is not None:
            expected_stock_q.update(variants)
            failures += _quarantined(stock_q, variants, wanted, label, "stock-sync")
    # Nothing else is quarantined: the good catalogue and the records that sync go through.
    failures += [
        f"product-sync quarantined {rid} unexpectedly: {why}"
        for rid, why in product_q.items()
        if rid not in expected_product_q
    ]
    failures += [
        f"stock-sync quarantined {rid} unexpectedly: {why}"
        for rid, why in stock_q.items()
        if rid not in expected_stock_q
    ]
    assert failures == [], "\n".join(failures)

    # The rest syncs: the good catalogue is linked, and a sale at the register reaches the
    # webshop in the second stock run.
    assert products["linked"] >= len(BASE), products
    assert shop.web_stock(good) == int(shop.pos_count(good))
    assert second["changed"] >= 1 and first["quarantined"] == second["quarantined"]


def _quarantined(
    found: Mapping[str, tuple[str | None, str]],
    ids: list[str],
    field_name: str,
    label: str,
    flow: str,
) -> list[str]:
    problems: list[str] = []
    for record_id in ids:
        if record_id not in found:
            problems.append(f"{label}: {record_id} not quarantined by {flow}")
            continue
        got, reason = found[record_id]
        if got != field_name or not reason:
            problems.append(f"{label}: {flow} quarantined {record_id} as {got}: {reason}")
    return problems


def _product_synced(
    record: Record,
    after: Sides,
    found: Mapping[str, tuple[str | None, str]],
    ids: list[str],
    label: str,
) -> list[str]:
    problems = [f"{label}: quarantined {found[i]}" for i in ids if i in found]
    web = {str(p.id): p for p in after.web}
    for product_id in ids:
        product = web[product_id]
        for variant in product.variants:
            at_pos = after.pos_by_sku(variant.sku or "")
            if len(at_pos) != 1:
                problems.append(f"{label}: {len(at_pos)} Square variants carry {variant.sku!r}")
                continue
            item, price = at_pos[0]
            if item.name != product.name:
                problems.append(f"{label}: Square's name is {item.name[:40]!r}")
            wanted = to_minor(Decimal(variant.price or "0"), "DKK")
            if price is None or to_minor(Decimal(price), "DKK") != wanted:
                problems.append(f"{label}: Square's price is {price}, not {variant.price}")
    return problems


def _stock_synced(
    shop: EmulatedShop,
    record: Record,
    found: Mapping[str, tuple[str | None, str]],
    variants: list[str],
    label: str,
) -> list[str]:
    problems = [f"{label}: quarantined {found[v]}" for v in variants if v in found]
    for sku in record.on_pos:
        sku = sku or record.sku  # a record without a SKU in Square is found by barcode
        if shop.web_stock(sku) != int(Decimal(record.count)):
            problems.append(f"{label}: the webshop shows {shop.web_stock(sku)} for {sku}")
    return problems


def test_the_catalogue_holds_each_kind_of_bad_record() -> None:
    """What the issue names: missing SKU, duplicate SKU and barcode, counts and prices out
    of range or malformed, 10,000-character names, emoji and right-to-left text,
    SQL-looking strings, nulls where values are required."""
    whys = json.dumps([r.why for r in CATALOGUE])
    for kind in ("no SKU", "one SKU on two", "one barcode on two", "10,000", "emoji",
                 "right-to-left", "SQL", "no price", "negative", "beyond"):  # fmt: skip
        assert kind in whys, kind
    assert len({r.key for r in CATALOGUE}) == len(CATALOGUE) >= 40

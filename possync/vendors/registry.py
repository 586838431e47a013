"""Every vendor possync speaks, in one table: the settings say "square" or "shopify", and
this row says what that is.

A row names the vendor's kind (POS, webshop, accounting), its title, its config model and
where its connector and webhook source live (imported when first used, so a run pulls in
only the vendors it uses). The settings' choices, the credentials Blocks (made from the
config model), the CLI help, the receiver's routes and the contract suites all read this
table: a new vendor is one folder and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal

from possync.domain.config import FrozenConfig
from possync.vendors.economic.config import EconomicConfig
from possync.vendors.magento.config import MagentoConfig
from possync.vendors.ports import Accounting, Pos, Webshop
from possync.vendors.shopify.config import ShopifyConfig
from possync.vendors.square.config import SquareConfig
from possync.vendors.woocommerce.config import WooCommerceConfig
from possync.vendors.xero.config import XeroConfig

if TYPE_CHECKING:
    from possync.webhooks.sources import WebhookSource

Kind = Literal["pos", "webshop", "accounting"]


@dataclass(frozen=True)
class Vendor:
    """One vendor: `connector` and `webhook` are "module:Class" inside its folder."""

    name: str
    kind: Kind
    title: str
    config: type[FrozenConfig]
    connector: str
    webhook: str | None = None  # None: the vendor sends no webhooks (its changes are polled)

    @property
    def package(self) -> str:
        return f"possync.vendors.{self.name}"

    def _load(self, where: str) -> Any:
        module, cls = where.split(":")
        return getattr(import_module(f"{self.package}.{module}"), cls)

    def connector_class(self) -> Callable[..., Any]:
        built: Callable[..., Any] = self._load(self.connector)
        return built

    def webhook_source(self, secret: Callable[[], str]) -> WebhookSource | None:
        """This vendor's webhook source, verifying with `secret`; None without webhooks."""
        if self.webhook is None:
            return None
        source: WebhookSource = self._load(self.webhook)(secret)
        return source


VENDORS: tuple[Vendor, ...] = (
    Vendor("square", "pos", "Square", SquareConfig, "pos:SquarePos"),
    Vendor(
        "woocommerce",
        "webshop",
        "WooCommerce",
        WooCommerceConfig,
        "shop:WooCommerceShop",
        webhook="webhook:WooCommerceSource",
    ),
    Vendor(
        "shopify",
        "webshop",
        "Shopify",
        ShopifyConfig,
        "shop:ShopifyShop",
        webhook="webhook:ShopifySource",
    ),
    Vendor("magento", "webshop", "Magento 2", MagentoConfig, "shop:MagentoShop"),
    Vendor("xero", "accounting", "Xero", XeroConfig, "accounting:XeroAccounting"),
    Vendor("economic", "accounting", "e-conomic", EconomicConfig, "accounting:EconomicAccounting"),
)


def names(kind: Kind) -> tuple[str, ...]:
    """The names a setting of this kind may take, in the table's order."""
    return tuple(v.name for v in VENDORS if v.kind == kind)


def vendor(name: str, kind: Kind) -> Vendor:
    """The row for `name`, which must be a vendor of `kind`; else a ValueError listing the
    choices (a typo in the settings is told, not guessed)."""
    for row in VENDORS:
        if row.name == name and row.kind == kind:
            return row
    raise ValueError(f"no {kind} named {name!r}; choose one of {', '.join(names(kind))}")


def _build(name: str, kind: Kind, config: object, **options: Any) -> Any:
    row = vendor(name, kind)
    if not isinstance(config, row.config):
        raise ValueError(
            f"{kind} {name!r} needs a {row.config.__name__}, not {type(config).__name__}"
        )
    return row.connector_class()(config, **options)


def build_pos(name: str, config: object) -> Pos:
    pos: Pos = _build(name, "pos", config)
    return pos


def build_webshop(name: str, config: object, **options: Any) -> Webshop:
    """The named webshop's connector on `config` (options go to its constructor)."""
    webshop: Webshop = _build(name, "webshop", config, **options)
    return webshop


def build_accounting(name: str, config: object) -> Accounting:
    accounting: Accounting = _build(name, "accounting", config)
    return accounting


def webhook_source(webshop: str, secret: Callable[[], str]) -> WebhookSource | None:
    """The named webshop's webhook source, or None for a webshop without webhooks
    (Magento Open Source sends none; its orders are polled)."""
    return vendor(webshop, "webshop").webhook_source(secret)

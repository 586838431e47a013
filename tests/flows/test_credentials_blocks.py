"""Credentials Blocks made from the vendors' config models: every field of the model is a
field of the Block, and a Block saves, loads, and takes an edit made through the Prefect API
(what the UI's edit form sends) back into the connector's config."""

from __future__ import annotations

import asyncio
from typing import Any, cast
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import BlockDocumentUpdate
from pydantic import SecretStr

from blocks import CREDENTIALS, CredentialsBlock, MagentoCredentials, credentials_for
from possync.vendors.magento.config import MagentoConfig
from possync.vendors.registry import VENDORS

SECRET = "mag-token-Xq7&9wzy"


def load(name: str) -> object:
    """The saved Magento Block's config (Block.load is typed sync-or-async)."""
    block = cast(CredentialsBlock, MagentoCredentials.load(name))
    return block.config()


@pytest.mark.parametrize("row", VENDORS, ids=lambda row: row.name)
def test_each_vendor_s_block_has_exactly_its_config_s_fields(row: Any) -> None:
    block = CREDENTIALS[row.name]
    assert set(block.model_fields) == set(row.config.model_fields)
    for name, info in row.config.model_fields.items():
        made = block.model_fields[name]
        assert (made.annotation, made.default, made.description) == (
            info.annotation,
            info.default,
            info.description,
        ), name
    assert block.get_block_type_name() == f"possync {row.title}"


def test_magento_s_barcode_and_option_attributes_can_be_set_up_from_the_block() -> None:
    """The drift the hand-copied Block had: these two fields were missing."""
    block = MagentoCredentials(
        url="https://shop.example",
        access_token=SecretStr(SECRET),
        barcode_attribute="gtin",
        option_attribute="colour",
    )
    config = block.config()
    assert isinstance(config, MagentoConfig)
    assert (config.barcode_attribute, config.option_attribute) == ("gtin", "colour")
    assert config.access_token.get_secret_value() == SECRET


def test_a_block_saves_loads_and_takes_an_edit_from_the_api() -> None:
    config = MagentoConfig(
        url="https://shop.example", access_token=SecretStr(SECRET), source_code="warehouse-2"
    )
    block_id = cast(UUID, credentials_for(config).save("magento-edit-test", overwrite=True))
    assert load("magento-edit-test") == config

    async def edit() -> None:
        async with get_client() as client:
            document = await client.read_block_document(block_id, include_secrets=True)
            data = {**document.data, "barcode_attribute": "gtin", "bulk_threshold": 750}
            await client.update_block_document(block_id, BlockDocumentUpdate(data=data))

    asyncio.run(edit())
    edited = load("magento-edit-test")
    assert isinstance(edited, MagentoConfig)
    assert (edited.barcode_attribute, edited.bulk_threshold) == ("gtin", 750)
    assert edited.access_token.get_secret_value() == SECRET
    assert edited.source_code == "warehouse-2"


def test_an_edit_the_config_refuses_is_refused_when_loaded() -> None:
    block = MagentoCredentials(url="https://shop.example", access_token=SecretStr(SECRET))
    with pytest.raises(ValueError, match="bulk_threshold"):
        MagentoCredentials(
            url="https://shop.example", access_token=SecretStr(SECRET), bulk_threshold=0
        )
    assert block.config().bulk_threshold == 500


def test_the_settings_offer_the_registry_s_vendors_and_refuse_others() -> None:
    from blocks import SyncSettings
    from possync.vendors.registry import names

    properties = SyncSettings.model_json_schema()["properties"]
    assert properties["pos"]["enum"] == list(names("pos"))
    assert properties["webshop"]["enum"] == list(names("webshop"))
    assert properties["accounting"]["enum"] == list(names("accounting"))
    assert SyncSettings(webshop="magento").config().webshop == "magento"
    with pytest.raises(ValueError, match="webshop"):
        SyncSettings(webshop="shopfy")


def test_the_settings_block_s_defaults_and_fields_are_the_config_s() -> None:
    """SyncSettings takes the shop's choices from ShopChoices, as SyncConfig does: same
    defaults, and every config field but the nested account mapping is a Block field."""
    from blocks import SyncSettings
    from possync.domain.config import SyncConfig

    assert SyncSettings().config() == SyncConfig()
    missing = set(SyncConfig.model_fields) - set(SyncSettings.model_fields) - {"accounts"}
    assert missing == set()


def test_the_settings_block_saves_and_loads_the_shop_s_choices() -> None:
    from blocks import SyncSettings

    chosen = SyncSettings(
        setup="webshop_products",
        webshop="shopify",
        order_accepted_statuses=["paid"],
        product_fields=["name", "price"],
        revenue_accounts={"25": "1010"},
        timezone="America/New_York",
    )
    chosen.save("settings-roundtrip-test", overwrite=True)
    loaded = cast(SyncSettings, SyncSettings.load("settings-roundtrip-test"))
    assert loaded.config() == chosen.config()
    config = loaded.config()
    assert (config.setup, config.webshop, config.timezone) == (
        "webshop_products",
        "shopify",
        "America/New_York",
    )
    assert config.order_accepted_statuses == ("paid",)
    assert config.product_fields == ("name", "price")
    assert config.accounts.revenue == {"25": "1010"}

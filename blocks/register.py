"""Saves the Blocks a shop needs; `possync run` points them at the local emulators."""

from __future__ import annotations

from pydantic import SecretStr

from blocks import (
    ALL_BLOCKS,
    SETTINGS_BLOCK,
    SquareCredentials,
    SyncSettings,
    XeroCredentials,
    credentials_for,
)
from possync.domain.config import FrozenConfig


def register_block_types() -> None:
    """Make the Block types visible in the UI's catalogue (so users can create them there)."""
    for block in ALL_BLOCKS:
        block.register_type_and_schema()


def save_demo_blocks(
    square_url: str,
    square_token: str,
    location_id: str,
    webshop_name: str,
    webshop: FrozenConfig,
    xero: tuple[str, str, str] | None = None,
) -> None:
    """Credentials for the emulators (overwritten each start, their ports may change),
    `xero` = (API address, token, tenant id); settings only if absent, so a setup chosen in
    the UI survives a restart."""
    register_block_types()
    SquareCredentials(
        base_url=square_url, access_token=SecretStr(square_token), location_id=location_id
    ).save("possync-square", overwrite=True)
    credentials_for(webshop).save(f"possync-{webshop_name}", overwrite=True)
    if xero is not None:
        xero_url, xero_token, tenant_id = xero
        XeroCredentials(
            base_url=xero_url, access_token=SecretStr(xero_token), tenant_id=tenant_id
        ).save("possync-xero", overwrite=True)
    try:
        SyncSettings.load(SETTINGS_BLOCK)
    except ValueError:
        SyncSettings().save(SETTINGS_BLOCK)

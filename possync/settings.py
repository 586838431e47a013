"""Settings of the embedded default (`possync run`), from POSSYNC_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from possync.vendors.registry import names


class RunSettings(BaseSettings):
    """POSSYNC_HOME, POSSYNC_STOCK_INTERVAL, POSSYNC_PREFECT_PORT, …"""

    model_config = SettingsConfigDict(env_prefix="POSSYNC_", extra="ignore")

    home: Path = Field(Path(".possync"), description="state, logs and the local Prefect server")
    stock_interval: float = Field(300, gt=0, description="seconds between stock-sync runs")
    orders_interval: float = Field(
        120, gt=0, description="seconds between scheduled order and refund runs (safety net)"
    )
    products_interval: float = Field(
        120,
        gt=0,
        description="seconds between product-sync runs (the demo's default is short "
        "so a switch of setup shows quickly)",
    )
    host: str = "127.0.0.1"
    prefect_port: int = 4200
    square_port: int = 8701
    webshop: str = Field(
        "woocommerce",
        description="which emulated webshop the demo shop runs (POSSYNC_WEBSHOP): "
        + ", ".join(names("webshop")),
        pattern="^(" + "|".join(names("webshop")) + ")$",
    )
    webshop_port: int = 8702
    webhook_port: int = 8703
    xero_port: int = 8704
    demo_skus: int = Field(500, gt=0, description="size of the emulated shop's catalogue")
    simulator_every: float = Field(3.0, gt=0, description="seconds between POS sales")
    web_order_every: float = Field(20.0, gt=0, description="seconds between web orders")
    product_edit_every: float = Field(
        45.0, gt=0, description="seconds between the demo admins' price edits (each side)"
    )
    seed: int = 7
    variable_share: float = Field(0.2, ge=0, le=1, description="share of products with sizes")

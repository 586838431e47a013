"""Credentials Blocks, one per vendor in possync.vendors.registry, each made from that
vendor's config model: the Block's fields are the model's fields (types, defaults, limits,
descriptions), so no field is copied by hand and a field added to a config shows in the
Prefect UI. `config()` turns a Block back into the model the connector takes."""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from prefect.blocks.core import Block

from possync.domain.config import FrozenConfig
from possync.vendors.registry import VENDORS, Vendor

__all__ = ["CREDENTIALS", "CredentialsBlock", "credentials_block", "credentials_for"]


class CredentialsBlock(Block):
    """A vendor's credentials; subclasses are made by `credentials_block`."""

    _config_model: ClassVar[type[FrozenConfig]]
    _vendor: ClassVar[str]

    def config(self) -> Any:
        """The vendor's config model with this Block's values (validated again there)."""
        model = self._config_model
        return model.model_validate({name: getattr(self, name) for name in model.model_fields})


def _summary(model: type[FrozenConfig]) -> str:
    """The model's first sentence: the Block's description in the UI's catalogue."""
    doc = " ".join((model.__doc__ or "").split())
    return re.split(r"(?<=\.)\s", doc, maxsplit=1)[0] if doc else model.__name__


def credentials_block(row: Vendor) -> type[CredentialsBlock]:
    """The credentials Block class for one registry row, named e.g. `ShopifyCredentials`
    (block type "possync Shopify", as the Prefect UI lists it)."""
    name = row.config.__name__.removesuffix("Config") + "Credentials"
    fields = row.config.model_fields
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": row.config.__doc__,
        "__annotations__": {field: info.annotation for field, info in fields.items()},
        **{field: copy.copy(info) for field, info in fields.items()},
        "_block_type_name": f"possync {row.title}",
        "_description": _summary(row.config),
        "_config_model": row.config,
        "_vendor": row.name,
    }
    block: type[CredentialsBlock] = type(name, (CredentialsBlock,), namespace)
    return block


# Every vendor's Block, by the vendor's name in the settings ("square", "shopify", ...).
CREDENTIALS: dict[str, type[CredentialsBlock]] = {
    row.name: credentials_block(row) for row in VENDORS
}


def credentials_for(config: FrozenConfig) -> CredentialsBlock:
    """The credentials Block that holds this vendor config (to save it for the flows)."""
    for block in CREDENTIALS.values():
        if type(config) is block._config_model:
            return block(**{name: getattr(config, name) for name in type(config).model_fields})
    raise ValueError(f"no credentials Block for {type(config).__name__}")

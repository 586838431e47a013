"""Products as both sides' catalogues hold them, in one vendor-neutral shape.

A product is a Square item or a WooCommerce product; its variants are Square item
variations or WooCommerce variations (a WooCommerce simple product has one variant whose id
is the product's own). Values that may be bad stay as read (a price is the vendor's decimal
text), so the planner can quarantine one record with a reason instead of failing a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ProductField = Literal["name", "description", "price", "sku", "barcode", "state"]
PRODUCT_FIELDS: tuple[ProductField, ...] = (
    "name",
    "description",
    "price",
    "sku",
    "barcode",
    "state",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VariantData(_Model):
    """One sellable variant: what is sold, scanned and priced."""

    id: str | None = Field(None, description="the vendor's id; None for one to create")
    name: str = Field("", description="the option label ('Large / Red'); '' without variants")
    sku: str | None = None
    barcode: str | None = Field(None, description="UPC/EAN/GTIN as the vendor holds it")
    price: str | None = Field(None, description="decimal text in major units ('12.50')")


class ProductData(_Model):
    """A product with its variants, as read from one side or to be written to the other."""

    id: str | None = Field(None, description="the vendor's product id; None to create")
    name: str
    description: str = ""
    archived: bool = Field(
        False, description="hidden from sale (Square is_archived, WooCommerce not published)"
    )
    deleted: bool = Field(
        False, description="deleted on its side (Square is_deleted, WooCommerce trash)"
    )
    has_variants: bool = Field(
        False,
        description="a variable product (WooCommerce 'variable'; Square: more than one variation)",
    )
    variants: tuple[VariantData, ...] = ()
    updated_at: AwareDatetime | None = None
    version: int | None = Field(None, description="optimistic-concurrency version (Square)")


class ProductWrite(_Model):
    """Create (`product.id` None) or update one product and its variants in one side.

    On update `product` is the whole product as it should be afterwards: variants with an id
    are updated, those without one created (the planner always lists every variant the
    product keeps, since Square drops variations an item's write leaves out). Where the
    vendor takes a subset, only `fields` are sent.
    """

    key: str = Field(description="the caller's correlation id, echoed in the outcome")
    product: ProductData
    fields: tuple[ProductField, ...] = PRODUCT_FIELDS


class ProductWriteOutcome(_Model):
    """What became of one `ProductWrite`: the ids it now has, or the vendor's refusal."""

    key: str
    ok: bool
    product_id: str | None = None
    variant_ids: tuple[str | None, ...] = Field(
        (), description="ids of the written variants, in the order they were given"
    )
    error: str | None = None
    error_field: str | None = Field(None, description="the vendor's field path, if it named one")


@dataclass(frozen=True)
class CodeRow:
    """One variant's SKU and barcode in one side's catalogue (the code index's row)."""

    product_id: str
    variant_id: str
    sku: str | None
    barcode: str | None

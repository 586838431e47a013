"""Request bodies of the emulated Square endpoints, field for field from Square's OpenAPI file.

Strict and closed (`extra="forbid"`): a wrong type or an unknown field is answered with
Square's validation error instead of being ignored, so a client bug shows up here rather than
in production. Fields the spec has but this emulator does not implement are left out on
purpose, so sending them fails loudly (UNKNOWN_BODY_PARAMETER) instead of silently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CatalogObjectType = Literal[
    "ITEM",
    "IMAGE",
    "CATEGORY",
    "ITEM_VARIATION",
    "TAX",
    "DISCOUNT",
    "MODIFIER_LIST",
    "MODIFIER",
    "PRICING_RULE",
    "PRODUCT_SET",
    "TIME_PERIOD",
    "MEASUREMENT_UNIT",
    "SUBSCRIPTION_PLAN_VARIATION",
    "ITEM_OPTION",
    "ITEM_OPTION_VAL",
    "CUSTOM_ATTRIBUTE_DEFINITION",
    "QUICK_AMOUNTS_SETTINGS",
    "SUBSCRIPTION_PLAN",
    "AVAILABILITY_PERIOD",
]
InventoryState = Literal[
    "CUSTOM",
    "IN_STOCK",
    "SOLD",
    "RETURNED_BY_CUSTOMER",
    "RESERVED_FOR_SALE",
    "SOLD_ONLINE",
    "ORDERED_FROM_VENDOR",
    "RECEIVED_FROM_VENDOR",
    "IN_TRANSIT_TO",
    "NONE",
    "WASTE",
    "UNLINKED_RETURN",
    "COMPOSED",
    "DECOMPOSED",
    "SUPPORTED_BY_NEWER_VERSION",
    "IN_TRANSIT",
]
InventoryChangeType = Literal["PHYSICAL_COUNT", "ADJUSTMENT", "TRANSFER"]
OrderState = Literal["OPEN", "COMPLETED", "CANCELED", "DRAFT"]
OrderLineItemItemType = Literal["ITEM", "CUSTOM_AMOUNT", "GIFT_CARD"]
SearchOrdersSortField = Literal["CREATED_AT", "UPDATED_AT", "CLOSED_AT"]
SortOrder = Literal["DESC", "ASC"]

# Order and line item `metadata`: "Keys written by applications must be 60 characters or less
# and must be in the character set `[a-zA-Z0-9_-]` ... Values have a maximum length of 255
# characters. An application can have up to 10 entries per metadata field."
MetadataKey = Annotated[
    str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-zA-Z0-9_-]+$")
]
MetadataValue = Annotated[str, StringConstraints(max_length=255)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=10)]


class SquareModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Money(SquareModel):
    # "format": "int64" in Square's spec: a larger amount is refused, never wrapped.
    amount: int | None = Field(None, ge=-(2**63), le=2**63 - 1)
    currency: str | None = None


# --- catalog -----------------------------------------------------------------------------


class BatchRetrieveCatalogObjectsRequest(SquareModel):
    object_ids: list[str]
    include_related_objects: bool | None = None
    catalog_version: int | None = None
    include_deleted_objects: bool | None = None
    include_category_path_to_root: bool | None = None


class CatalogQueryExact(SquareModel):
    attribute_name: str = Field(min_length=1)
    attribute_value: str


class CatalogQueryPrefix(SquareModel):
    attribute_name: str = Field(min_length=1)
    attribute_prefix: str = Field(min_length=1)


class CatalogQueryText(SquareModel):
    keywords: list[str]


class CatalogQuerySet(SquareModel):
    attribute_name: str = Field(min_length=1)
    attribute_values: list[str]


class CatalogQuery(SquareModel):
    """All of Square's query kinds parse; the unsupported ones are refused with a clear error."""

    sorted_attribute_query: dict[str, Any] | None = None
    exact_query: CatalogQueryExact | None = None
    set_query: CatalogQuerySet | None = None
    prefix_query: CatalogQueryPrefix | None = None
    range_query: dict[str, Any] | None = None
    text_query: CatalogQueryText | None = None
    items_for_tax_query: dict[str, Any] | None = None
    items_for_modifier_list_query: dict[str, Any] | None = None
    items_for_item_options_query: dict[str, Any] | None = None
    item_variations_for_item_option_values_query: dict[str, Any] | None = None


class SearchCatalogObjectsRequest(SquareModel):
    cursor: str | None = None
    object_types: list[CatalogObjectType] | None = None
    include_deleted_objects: bool | None = None
    include_related_objects: bool | None = None
    begin_time: str | None = None
    query: CatalogQuery | None = None
    limit: int | None = None
    include_category_path_to_root: bool | None = None


CatalogPricingType = Literal["FIXED_PRICING", "VARIABLE_PRICING"]
CatalogItemProductType = Literal[
    "REGULAR",
    "GIFT_CARD",
    "APPOINTMENTS_SERVICE",
    "FOOD_AND_BEV",
    "EVENT",
    "DIGITAL",
    "DONATION",
    "LEGACY_SQUARE_ONLINE_SERVICE",
    "LEGACY_SQUARE_ONLINE_MEMBERSHIP",
]


class CatalogItemVariation(SquareModel):
    """The variation fields the emulator keeps; `ordinal` and the rest round-trip a read."""

    item_id: str | None = None
    name: str | None = Field(None, max_length=255)
    sku: str | None = None
    upc: str | None = None
    ordinal: int | None = None
    pricing_type: CatalogPricingType | None = None
    price_money: Money | None = None
    track_inventory: bool | None = None
    sellable: bool | None = None
    stockable: bool | None = None


class CatalogItem(SquareModel):
    """The item fields the emulator keeps, plus the read-only ones it returns (so an object
    read from the emulator can be sent back): `description_html`/`description_plaintext` are
    derived from `description` and ignored on write."""

    name: str | None = Field(None, max_length=512)
    description: str | None = Field(None, max_length=4096)
    is_taxable: bool | None = None
    variations: list[CatalogObject] | None = None
    product_type: CatalogItemProductType | None = None
    description_html: str | None = Field(None, max_length=65535)
    description_plaintext: str | None = Field(None, max_length=65535)
    is_archived: bool | None = None


TaxCalculationPhase = Literal["TAX_SUBTOTAL_PHASE", "TAX_TOTAL_PHASE"]
TaxInclusionType = Literal["ADDITIVE", "INCLUSIVE"]


class CatalogTax(SquareModel):
    """A TAX object's `tax_data` (`applies_to_product_set_id` is not implemented)."""

    name: str | None = Field(None, max_length=255)
    calculation_phase: TaxCalculationPhase | None = None
    inclusion_type: TaxInclusionType | None = None
    percentage: str | None = None
    applies_to_custom_amounts: bool | None = None
    enabled: bool | None = None


class CatalogObject(SquareModel):
    type: CatalogObjectType
    id: str = Field(min_length=1)
    updated_at: str | None = None
    version: int | None = None
    is_deleted: bool | None = None
    present_at_all_locations: bool | None = None
    item_data: CatalogItem | None = None
    item_variation_data: CatalogItemVariation | None = None
    tax_data: CatalogTax | None = None


class CatalogObjectBatch(SquareModel):
    objects: list[CatalogObject]


class BatchUpsertCatalogObjectsRequest(SquareModel):
    idempotency_key: str = Field(min_length=1, max_length=128)
    batches: list[CatalogObjectBatch]


class UpsertCatalogObjectRequest(SquareModel):
    idempotency_key: str = Field(min_length=1, max_length=128)
    object: CatalogObject


class BatchDeleteCatalogObjectsRequest(SquareModel):
    object_ids: list[str]


# --- inventory ---------------------------------------------------------------------------


class BatchRetrieveInventoryCountsRequest(SquareModel):
    catalog_object_ids: list[str] | None = None
    location_ids: list[str] | None = None
    updated_after: str | None = None
    cursor: str | None = None
    states: list[InventoryState] | None = None
    limit: int | None = Field(None, ge=1, le=1000)


class InventoryPhysicalCount(SquareModel):
    id: str | None = Field(None, max_length=100)
    reference_id: str | None = Field(None, max_length=255)
    catalog_object_id: str | None = Field(None, max_length=100)
    catalog_object_type: str | None = Field(None, max_length=14)
    state: InventoryState | None = None
    location_id: str | None = Field(None, max_length=100)
    quantity: str | None = Field(None, max_length=26)
    employee_id: str | None = Field(None, max_length=100)
    team_member_id: str | None = Field(None, max_length=100)
    occurred_at: str | None = Field(None, max_length=34)


class InventoryAdjustment(SquareModel):
    id: str | None = Field(None, max_length=100)
    reference_id: str | None = Field(None, max_length=255)
    from_state: InventoryState | None = None
    to_state: InventoryState | None = None
    location_id: str | None = Field(None, max_length=100)
    catalog_object_id: str | None = Field(None, max_length=100)
    catalog_object_type: str | None = Field(None, max_length=14)
    quantity: str | None = Field(None, max_length=26)
    occurred_at: str | None = Field(None, max_length=34)
    employee_id: str | None = Field(None, max_length=100)
    team_member_id: str | None = Field(None, max_length=100)


class InventoryChange(SquareModel):
    type: InventoryChangeType | None = None
    physical_count: InventoryPhysicalCount | None = None
    adjustment: InventoryAdjustment | None = None
    transfer: dict[str, Any] | None = None


class BatchChangeInventoryRequest(SquareModel):
    idempotency_key: str = Field(min_length=1, max_length=128)
    # "Max size is 100 changes" (Square's BatchChangeInventoryRequest documentation).
    changes: list[InventoryChange] | None = Field(None, max_length=100)
    ignore_unchanged_counts: bool | None = None


# --- orders ------------------------------------------------------------------------------


class OrderSource(SquareModel):
    name: str | None = None


OrderLineItemTaxType = Literal["UNKNOWN_TAX", "ADDITIVE", "INCLUSIVE"]
OrderLineItemTaxScope = Literal["OTHER_TAX_SCOPE", "LINE_ITEM", "ORDER"]


class OrderLineItemTax(SquareModel):
    """An order's tax: a catalog TAX by id, or an ad hoc one by name and percentage."""

    uid: str | None = Field(None, max_length=60)
    catalog_object_id: str | None = Field(None, max_length=192)
    catalog_version: int | None = None
    name: str | None = Field(None, max_length=255)
    type: OrderLineItemTaxType | None = None
    percentage: str | None = Field(None, max_length=10)
    scope: OrderLineItemTaxScope | None = None


class OrderLineItemAppliedTax(SquareModel):
    uid: str | None = Field(None, max_length=60)
    tax_uid: str = Field(min_length=1, max_length=60)


class OrderLineItem(SquareModel):
    uid: str | None = Field(None, max_length=60)
    name: str | None = Field(None, max_length=512)
    quantity: str = Field(min_length=1, max_length=12)
    note: str | None = Field(None, max_length=2000)
    catalog_object_id: str | None = Field(None, max_length=192)
    catalog_version: int | None = None
    variation_name: str | None = Field(None, max_length=400)
    item_type: OrderLineItemItemType | None = None
    metadata: Metadata | None = None
    base_price_money: Money | None = None
    applied_taxes: list[OrderLineItemAppliedTax] | None = None


class Order(SquareModel):
    location_id: str = Field(min_length=1)
    reference_id: str | None = Field(None, max_length=40)
    source: OrderSource | None = None
    customer_id: str | None = Field(None, max_length=191)
    line_items: list[OrderLineItem] | None = None
    taxes: list[OrderLineItemTax] | None = None
    metadata: Metadata | None = None
    ticket_name: str | None = Field(None, max_length=30)
    state: OrderState | None = None


class CreateOrderRequest(SquareModel):
    order: Order | None = None
    idempotency_key: str | None = Field(None, max_length=192)


class BatchRetrieveOrdersRequest(SquareModel):
    location_id: str | None = None
    order_ids: list[str]


class TimeRange(SquareModel):
    start_at: str | None = None
    end_at: str | None = None


class SearchOrdersDateTimeFilter(SquareModel):
    created_at: TimeRange | None = None
    updated_at: TimeRange | None = None
    closed_at: TimeRange | None = None


class SearchOrdersStateFilter(SquareModel):
    states: list[OrderState]


class SearchOrdersSourceFilter(SquareModel):
    source_names: list[str] | None = None


class SearchOrdersCustomerFilter(SquareModel):
    customer_ids: list[str] | None = None


class SearchOrdersFilter(SquareModel):
    state_filter: SearchOrdersStateFilter | None = None
    date_time_filter: SearchOrdersDateTimeFilter | None = None
    source_filter: SearchOrdersSourceFilter | None = None
    customer_filter: SearchOrdersCustomerFilter | None = None


class SearchOrdersSort(SquareModel):
    sort_field: SearchOrdersSortField
    sort_order: SortOrder | None = None


class SearchOrdersQuery(SquareModel):
    filter: SearchOrdersFilter | None = None
    sort: SearchOrdersSort | None = None


class SearchOrdersRequest(SquareModel):
    location_ids: list[str] | None = None
    cursor: str | None = None
    query: SearchOrdersQuery | None = None
    limit: int | None = None
    return_entries: bool | None = None


# --- payments and refunds ----------------------------------------------------------------


class ExternalPaymentDetails(SquareModel):
    type: str = Field(max_length=50)
    source: str = Field(max_length=255)
    source_id: str | None = Field(None, max_length=255)
    source_fee_money: Money | None = None


class CashPaymentDetails(SquareModel):
    """`change_back_money` is read-only (computed), so it is not accepted here."""

    buyer_supplied_money: Money


class CreatePaymentRequest(SquareModel):
    source_id: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1, max_length=45)
    amount_money: Money | None = None
    autocomplete: bool | None = None
    order_id: str | None = None
    customer_id: str | None = None
    location_id: str | None = None
    team_member_id: str | None = None
    reference_id: str | None = Field(None, max_length=40)
    buyer_email_address: str | None = Field(None, max_length=255)
    note: str | None = Field(None, max_length=500)
    cash_details: CashPaymentDetails | None = None
    external_details: ExternalPaymentDetails | None = None


class RefundPaymentRequest(SquareModel):
    idempotency_key: str = Field(min_length=1)
    amount_money: Money
    payment_id: str | None = None
    unlinked: bool | None = None
    reason: str | None = Field(None, max_length=192)
    team_member_id: str | None = Field(None, max_length=192)

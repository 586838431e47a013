"""Shopify products as `ProductData`: the `ProductCatalogue` half of `ShopifyShop`.

Every Shopify product has at least one variant; a product "without variants" has one
whose only option value is "Default Title" (`hasOnlyDefaultVariant`), read here as one
variant named "". Variants are named by their `title` (the option values joined, "Large /
Red"). `archived` is any status but ACTIVE (ARCHIVED or DRAFT hide a product from sale).

Reads: `products(sortKey: UPDATED_AT, query: "updated_at:>='…'")`, 50 products with 10
variants each a page (2 + 50 x 13 = 652 requested points); a product with more variants has the rest
read through `product(id) { variants(after:) }`. Deleted products are read from
`deletionEvents(subjectTypes: [PRODUCT])` (deprecated in 2025-01 in favour of `events`,
still served) and come back with `deleted=True`.

Writes: one `productSet(synchronous: true)` per product (Shopify takes one product a
call), 25 products per `write_products` call. productSet sets the whole variant list, so
the write lists every variant the product keeps. The variants vary by one option,
"Title" on products possync creates, whose values are the variants' names (a single
unnamed variant is Shopify's "Default Title"). An update keeps the product's own option
name ("Size" stays "Size": productSet would otherwise replace the option); a product that
varies by two or three options is refused with the reason rather than flattened. A
userError fails that product alone, with its message and field path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from possync.domain.products import ProductData, ProductWrite, ProductWriteOutcome, VariantData
from possync.vendors.shopify.client import ShopifyGraphQL
from possync.vendors.shopify.orders import search_since

__all__ = [
    "DELETIONS_QUERY",
    "OPTION_NAME",
    "PRODUCTS_BY_ID_QUERY",
    "PRODUCTS_QUERY",
    "PRODUCT_SET_MUTATION",
    "PRODUCT_VARIANTS_QUERY",
    "ShopifyProducts",
]

PRODUCTS_PER_PAGE = 50
VARIANTS_PER_PRODUCT = 10
PRODUCTS_PER_WRITE = 25
PRODUCTS_PAGE_COST = 2 + PRODUCTS_PER_PAGE * (1 + 2 + VARIANTS_PER_PRODUCT)
OPTION_NAME = "Title"
DEFAULT_TITLE = "Default Title"

_VARIANT = "id title sku barcode price"
_PRODUCT = f"""
    id title descriptionHtml status updatedAt hasOnlyDefaultVariant
    variants(first: $variants) {{
      nodes {{ {_VARIANT} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
"""

PRODUCTS_QUERY = f"""
query PossyncProductsChanged($first: Int!, $after: String, $query: String, $variants: Int!) {{
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {_PRODUCT} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

PRODUCTS_BY_ID_QUERY = f"""
query PossyncProducts($ids: [ID!]!, $variants: Int!) {{
  nodes(ids: $ids) {{
    ... on Product {{ {_PRODUCT} }}
  }}
}}
"""

PRODUCT_VARIANTS_QUERY = f"""
query PossyncProductVariants($id: ID!, $after: String) {{
  product(id: $id) {{
    variants(first: 100, after: $after) {{
      nodes {{ {_VARIANT} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""

DELETIONS_QUERY = """
query PossyncDeletedProducts($after: String, $query: String) {
  deletionEvents(first: 250, after: $after, subjectTypes: [PRODUCT], query: $query) {
    nodes { subjectId occurredAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""

PRODUCT_OPTIONS_QUERY = """
query PossyncProductOptions($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Product { id options { name } }
  }
}
"""

PRODUCT_SET_MUTATION = """
mutation PossyncProductSet($input: ProductSetInput!) {
  productSet(input: $input, synchronous: true) {
    product {
      id
      variants(first: 100) { nodes { id title sku } }
    }
    userErrors { field message code }
  }
}
"""


class ShopifyProducts:
    """Reads and writes products through one `ShopifyGraphQL` client; ShopifyShop is one."""

    products_per_write = PRODUCTS_PER_WRITE

    _gql: ShopifyGraphQL

    def __init__(self, gql: ShopifyGraphQL) -> None:
        self._gql = gql

    def products_changed(self, since: datetime | None) -> Iterator[list[ProductData]]:
        query = search_since(since) if since is not None else None
        after: str | None = None
        while True:
            variables = {
                "first": PRODUCTS_PER_PAGE,
                "after": after,
                "query": query,
                "variants": VARIANTS_PER_PRODUCT,
            }
            page = self._gql.call(
                "PossyncProductsChanged", PRODUCTS_QUERY, variables, estimate=PRODUCTS_PAGE_COST
            )["products"]
            yield [self._product(node) for node in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        deleted = list(self._deleted(since))
        if deleted:
            yield deleted

    def _deleted(self, since: datetime | None) -> Iterator[ProductData]:
        query = search_since(since).replace("updated_at", "occurred_at") if since else None
        after: str | None = None
        while True:
            variables = {"after": after, "query": query}
            page = self._gql.call("PossyncDeletedProducts", DELETIONS_QUERY, variables)[
                "deletionEvents"
            ]
            for event in page["nodes"]:
                yield ProductData(
                    id=event["subjectId"],
                    name="",
                    deleted=True,
                    archived=True,
                    updated_at=_time(event["occurredAt"]),
                )
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def products(self, product_ids: Sequence[str]) -> list[ProductData]:
        ids = sorted(set(product_ids))
        found: list[ProductData] = []
        for start in range(0, len(ids), PRODUCTS_PER_PAGE):
            chunk = ids[start : start + PRODUCTS_PER_PAGE]
            variables = {"ids": chunk, "variants": VARIANTS_PER_PRODUCT}
            data = self._gql.call("PossyncProducts", PRODUCTS_BY_ID_QUERY, variables)
            found.extend(self._product(n) for n in data["nodes"] if n and n.get("id"))
        return found

    def _product(self, node: Mapping[str, Any]) -> ProductData:
        variants = list(node["variants"]["nodes"])
        info = node["variants"]["pageInfo"]
        while info["hasNextPage"]:
            variables = {"id": node["id"], "after": info["endCursor"]}
            more = self._gql.call("PossyncProductVariants", PRODUCT_VARIANTS_QUERY, variables)
            variants.extend(more["product"]["variants"]["nodes"])
            info = more["product"]["variants"]["pageInfo"]
        default_only = bool(node.get("hasOnlyDefaultVariant"))
        return ProductData(
            id=node["id"],
            name=node.get("title") or "",
            description=node.get("descriptionHtml") or "",
            archived=node.get("status") != "ACTIVE",
            has_variants=not default_only,
            variants=tuple(
                VariantData(
                    id=v["id"],
                    name="" if default_only else (v.get("title") or ""),
                    sku=v.get("sku") or None,
                    barcode=v.get("barcode") or None,
                    price=v.get("price"),
                )
                for v in variants
            ),
            updated_at=_time(node["updatedAt"]) if node.get("updatedAt") else None,
        )

    def write_products(self, writes: Sequence[ProductWrite]) -> list[ProductWriteOutcome]:
        options = self._options([w.product.id for w in writes if w.product.id])
        return [
            self._write_product(w, options.get(w.product.id or "", [OPTION_NAME])) for w in writes
        ]

    def _options(self, product_ids: Sequence[str]) -> dict[str, list[str]]:
        """The option names of products about to be updated (one cheap query a call)."""
        if not product_ids:
            return {}
        data = self._gql.call(
            "PossyncProductOptions",
            PRODUCT_OPTIONS_QUERY,
            {"ids": list(product_ids)},
            estimate=2 + 3 * len(product_ids),
        )
        return {
            node["id"]: [o["name"] for o in node.get("options") or []]
            for node in data["nodes"]
            if node
        }

    def _write_product(self, write: ProductWrite, options: Sequence[str]) -> ProductWriteOutcome:
        if len(options) > 1:
            return ProductWriteOutcome(
                key=write.key,
                ok=False,
                error=f"product {write.product.id} varies by {len(options)} options "
                f"({', '.join(options)}); possync writes products with one option and leaves "
                "this one as it is",
                error_field="productOptions",
            )
        names = option_values(write.product.variants)
        option = options[0] if options else OPTION_NAME
        variables = {"input": product_set_input(write, names, option)}
        data = self._gql.call("PossyncProductSet", PRODUCT_SET_MUTATION, variables, mutation=True)
        result = data["productSet"]
        errors = result["userErrors"] if result else [{"message": "productSet: null"}]
        if errors or not result["product"]:
            first = errors[0] if errors else {"message": "no product in the answer"}
            code = first.get("code")
            message = f"{code}: {first['message']}" if code else str(first["message"])
            path = first.get("field")
            return ProductWriteOutcome(
                key=write.key,
                ok=False,
                error=message,
                error_field=".".join(path) if path else None,
            )
        product = result["product"]
        by_title = {v["title"]: v["id"] for v in product["variants"]["nodes"]}
        ids = tuple(
            v.id or by_title.get(n) for v, n in zip(write.product.variants, names, strict=True)
        )
        return ProductWriteOutcome(
            key=write.key, ok=True, product_id=product["id"], variant_ids=ids
        )


def option_values(variants: Sequence[VariantData]) -> list[str]:
    """Each variant's value of the one option: its name, unique within the product."""
    if len(variants) == 1 and not variants[0].name:
        return [DEFAULT_TITLE]
    names: list[str] = []
    for i, variant in enumerate(variants):
        name = variant.name or variant.sku or f"Variant {i + 1}"
        while name in names:
            name = f"{name} ({variant.sku or i + 1})"
        names.append(name)
    return names


def product_set_input(
    write: ProductWrite, names: Sequence[str], option: str = OPTION_NAME
) -> dict[str, Any]:
    """ProductSetInput for one write; on update only the owned fields (variants always,
    as productSet replaces the list), under the product's own option name."""
    product = write.product
    creating = product.id is None
    fields = set(write.fields)
    data: dict[str, Any] = {}
    if not creating:
        data["id"] = product.id
    if creating or "name" in fields:
        data["title"] = product.name
    if creating or "description" in fields:
        data["descriptionHtml"] = product.description
    if creating or "state" in fields:
        data["status"] = "ARCHIVED" if product.archived or product.deleted else "ACTIVE"
    data["productOptions"] = [{"name": option, "values": [{"name": n} for n in names]}]
    variants = []
    for variant, name in zip(product.variants, names, strict=True):
        new = variant.id is None
        entry: dict[str, Any] = {"optionValues": [{"optionName": option, "name": name}]}
        if not new:
            entry["id"] = variant.id
        if (new or "price" in fields) and variant.price is not None:
            entry["price"] = variant.price
        if new or "sku" in fields:
            entry["sku"] = variant.sku or ""
        if new or "barcode" in fields:
            entry["barcode"] = variant.barcode or ""
        variants.append(entry)
    data["variants"] = variants
    return data


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))

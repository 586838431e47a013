"""A deterministic demo catalogue, the same on every emulator so a demo shop links up.

Plain dataclasses (no possync models): the emulators stay independent of our client code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

_ADJECTIVES = ["Classic", "Organic", "Rustic", "Nordic", "Vintage", "Urban", "Cosy", "Bold"]
_NOUNS = ["Mug", "Scarf", "Candle", "Notebook", "Tote Bag", "Beanie", "Teapot", "Poster"]
_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]


@dataclass(frozen=True)
class DemoVariant:
    sku: str
    barcode: str
    name: str
    price: Decimal
    stock: int


@dataclass(frozen=True)
class DemoProduct:
    key: str
    name: str
    description: str
    simple: bool
    variants: list[DemoVariant] = field(default_factory=list)


def ean13(body12: str) -> str:
    """Append the EAN-13 check digit to 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def demo_catalogue(
    n_skus: int = 500, seed: int = 7, variable_share: float = 0.2
) -> list[DemoProduct]:
    """Products totalling `n_skus` sellable SKUs; about `variable_share` of products have sizes.

    Same arguments, same catalogue: SKUs `DEMO-000001`…, valid EAN-13 barcodes.
    """
    rng = random.Random(seed)
    products: list[DemoProduct] = []
    made = 0
    index = 0
    while made < n_skus:
        index += 1
        base = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        price = Decimal(rng.randrange(500, 20000)) / 100
        variable = rng.random() < variable_share and n_skus - made >= 2
        sizes = _SIZES[: min(rng.randint(2, 5), n_skus - made)] if variable else [""]
        variants = []
        for size in sizes:
            made += 1
            variants.append(
                DemoVariant(
                    sku=f"DEMO-{made:06d}",
                    barcode=ean13(f"57{made:010d}"),
                    name=size or "Regular",
                    price=price,
                    stock=rng.randint(0, 60),
                )
            )
        products.append(
            DemoProduct(
                key=f"P{index:06d}",
                name=f"{base} #{index}",
                description=f"Demo product {index}: a {base.lower()}.",
                simple=not variable,
                variants=variants,
            )
        )
    return products

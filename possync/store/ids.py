"""The id map: which product each system's record is, under one internal product key."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    delete,
    or_,
    select,
    text,
)

from possync.store.session import (
    StoreSession,
    distinct,
    utc_now,
)
from possync.store.tables import (
    IdMap,
)

# Serialises id-map writers on PostgreSQL: save_links reads then writes, and two
# concurrent batches touching the same product must not interleave.
_ID_MAP_LOCK_KEY = 0x706F7373796E6302


@dataclass(frozen=True)
class Link:
    """One product key's identity in one system (``variant_id`` is ``''`` without variants)."""

    product_key: str
    system: str
    external_id: str
    variant_id: str
    sku: str | None
    barcode: str | None


_LINK_COLUMNS = (
    IdMap.product_key,
    IdMap.system,
    IdMap.external_id,
    IdMap.variant_id,
    IdMap.sku,
    IdMap.barcode,
)


def _latest_links(links: Iterable[Link]) -> list[Link]:
    """Drop links that a later link in the same batch supersedes.

    A later link wins over an earlier one that shares its (system, external id, variant)
    or its (system, product key), as if they had been saved one after the other.
    """
    kept: dict[int, Link] = {}
    by_external: dict[tuple[str, str, str], int] = {}
    by_key: dict[tuple[str, str], int] = {}
    for index, link in enumerate(links):
        external = (link.system, link.external_id, link.variant_id)
        key = (link.system, link.product_key)
        for old in {by_external.get(external), by_key.get(key)}:
            if old is None:
                continue
            previous = kept.pop(old)
            by_external.pop((previous.system, previous.external_id, previous.variant_id))
            by_key.pop((previous.system, previous.product_key))
        kept[index] = link
        by_external[external] = index
        by_key[key] = index
    return list(kept.values())


class IdMapStore(StoreSession):
    """The id map: which product each system's record is, under one internal product key."""

    def _links_where(
        self, system: str, column: Any, values: Iterable[str | None]
    ) -> Iterator[Link]:
        wanted = distinct(values)
        with self.reading() as conn:
            for chunk in self.in_chunks(wanted):
                rows = conn.execute(
                    select(*_LINK_COLUMNS)
                    .where(IdMap.system == system, self.among(column, chunk))
                    .order_by(IdMap.id)
                )
                for row in rows:
                    yield Link(*row)

    def links_by_variant(self, system: str, variant_ids: Collection[str]) -> dict[str, Link]:
        """Links by vendor variant id; products without variants (``''``) never match."""
        return {
            link.variant_id: link
            for link in self._links_where(system, IdMap.variant_id, variant_ids)
        }

    def links_by_external(
        self, system: str, external_ids: Collection[str]
    ) -> dict[str, list[Link]]:
        """Links by vendor product id: one per variant, or one for a product without."""
        found: dict[str, list[Link]] = {}
        for link in self._links_where(system, IdMap.external_id, external_ids):
            found.setdefault(link.external_id, []).append(link)
        return found

    def links_by_key(self, system: str, product_keys: Collection[str]) -> dict[str, Link]:
        """Each product key's link in *system* (a key has at most one per system)."""
        return {
            link.product_key: link
            for link in self._links_where(system, IdMap.product_key, product_keys)
        }

    def links_by_sku(self, system: str, skus: Collection[str]) -> dict[str, list[Link]]:
        """Links by SKU; a list, because nothing stops a vendor from reusing a SKU."""
        found: dict[str, list[Link]] = {}
        for link in self._links_where(system, IdMap.sku, skus):
            found.setdefault(cast(str, link.sku), []).append(link)
        return found

    def links_by_barcode(self, system: str, barcodes: Collection[str]) -> dict[str, list[Link]]:
        """Links by barcode; a list, because shops do put one barcode on several items."""
        found: dict[str, list[Link]] = {}
        for link in self._links_where(system, IdMap.barcode, barcodes):
            found.setdefault(cast(str, link.barcode), []).append(link)
        return found

    def save_links(self, links: Iterable[Link]) -> None:
        """Insert or update links, in one transaction.

        A link replaces any row with its (system, external id, variant) or its (system,
        product key): a product re-created in the webshop keeps its key and its row, now
        pointing at the new id; an external id claimed by another key moves to that key.
        Within *links*, a later link supersedes an earlier one that shares either key, and
        a superseded link has no effect at all.
        """
        chosen = _latest_links(links)
        if not chosen:
            return
        wanted: dict[str, dict[tuple[str, str], str]] = {}
        for link in chosen:
            wanted.setdefault(link.system, {})[(link.external_id, link.variant_id)] = (
                link.product_key
            )
        now = utc_now()
        rows = [
            {
                "product_key": link.product_key,
                "system": link.system,
                "external_id": link.external_id,
                "variant_id": link.variant_id,
                "sku": link.sku,
                "barcode": link.barcode,
                "updated_at": now,
            }
            for link in chosen
        ]
        stmt = self.upsert(
            IdMap,
            ["system", "product_key"],
            lambda new: {
                "external_id": new.external_id,
                "variant_id": new.variant_id,
                "sku": new.sku,
                "barcode": new.barcode,
                "updated_at": new.updated_at,
            },
            # Leave unchanged rows alone: updated_at then says when a link last changed.
            lambda new: or_(
                IdMap.external_id != new.external_id,
                IdMap.variant_id != new.variant_id,
                IdMap.sku.is_distinct_from(new.sku),
                IdMap.barcode.is_distinct_from(new.barcode),
            ),
        )
        with self.transaction() as conn:
            if self.postgres:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ID_MAP_LOCK_KEY})
            # Rows holding an offered external id under another key lose it first; the
            # upsert on (system, product_key) then cannot hit the other unique constraint.
            stale: list[int] = []
            for system, by_external in wanted.items():
                for chunk in self.in_chunks(distinct(external for external, _ in by_external)):
                    held = conn.execute(
                        select(
                            IdMap.id, IdMap.external_id, IdMap.variant_id, IdMap.product_key
                        ).where(IdMap.system == system, self.among(IdMap.external_id, chunk))
                    )
                    for row_id, external_id, variant_id, product_key in held:
                        key = by_external.get((external_id, variant_id))
                        if key is not None and key != product_key:
                            stale.append(row_id)
            for id_chunk in self.in_chunks(stale):
                conn.execute(delete(IdMap).where(self.among(IdMap.id, id_chunk)))
            conn.execute(stmt, rows)
            self.analyze_if_bulk(conn, IdMap, len(rows))

    def new_product_key(self) -> str:
        """A fresh internal product key."""
        return uuid.uuid4().hex

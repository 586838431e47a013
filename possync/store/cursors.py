"""Sync cursors: where each flow's incremental read resumes."""

from __future__ import annotations

from sqlalchemy import (
    Connection,
    select,
)

from possync.store.session import (
    StoreSession,
    utc_now,
)
from possync.store.tables import (
    Cursor,
)


class CursorStore(StoreSession):
    """Sync cursors: where each flow's incremental read resumes."""

    def get_cursor(self, name: str) -> str | None:
        """The cursor's value, or ``None`` before the first run."""
        with self.reading() as conn:
            return conn.execute(
                select(Cursor.value).where(Cursor.name == name)
            ).scalar_one_or_none()

    def set_cursor(self, name: str, value: str) -> None:
        """Store the cursor; call only after the page it points past is committed."""
        with self.transaction() as conn:
            self.set_cursor_in(conn, name, value)

    def set_cursor_in(self, conn: Connection, name: str, value: str) -> None:
        stmt = self.upsert(
            Cursor,
            ["name"],
            lambda new: {"value": new.value, "updated_at": new.updated_at},
        )
        conn.execute(stmt, {"name": name, "value": value, "updated_at": utc_now()})

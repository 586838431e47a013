"""One TLS context for every short-lived client of the emulated shops' admins and customers:
httpx builds (and loads the CA bundle into) a new one per client otherwise, ~0.1 s each."""

from __future__ import annotations

import ssl

CLIENT_TLS = ssl.create_default_context()

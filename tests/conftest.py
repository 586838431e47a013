"""Test-session set-up shared by every test."""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Task retries back off from 0.05 s in tests instead of 2 s (same code path, shorter waits).
os.environ.setdefault("POSSYNC_TASK_RETRY_BACKOFF", "0.05")

# Database fixtures (sqlite_url, postgres_url, store), usable from every test module.
from tests.db import postgres_admin, postgres_url, sqlite_url, store  # noqa: F401

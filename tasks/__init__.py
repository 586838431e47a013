"""Thin Prefect task wrappers over the library: retries, back-off with jitter, and retry
only on errors the library marks retriable."""

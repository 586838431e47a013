"""Prefect flows, one file per document flow: load settings → tasks → artifact."""

"""Connectors: one module per vendor behind the protocols in `base.py`."""

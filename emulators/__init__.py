"""Local servers that speak the vendors' APIs, written from ../shared/specs alone.

They never import possync's connectors or models: an emulator built from our own
client would agree with its bugs.
"""

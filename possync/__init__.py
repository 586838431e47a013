"""possync: keeps a shop's POS, webshop and accounting in step.

The library never imports Prefect; `flows/`, `tasks/` and `blocks/` wrap it.
"""

__version__ = "0.1.0"

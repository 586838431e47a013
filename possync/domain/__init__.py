"""Vendor-free models and configuration: what stock, products, orders and turnover are to
possync, whatever the vendor calls them."""

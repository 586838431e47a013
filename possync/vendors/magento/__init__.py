"""magento: everything possync knows of this vendor, in one folder."""

"""One adapter per provider. ``ADAPTERS`` maps the name used in webhook URLs to its class."""

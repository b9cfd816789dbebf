"""One adapter per provider; :mod:`carriers.registry` builds them from configuration."""

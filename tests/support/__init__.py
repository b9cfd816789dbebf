"""Helpers the tests share: scratch databases, processes, builders. No pytest fixtures here
(those stay in the ``conftest.py`` files); nothing outside ``tests/`` imports this package."""

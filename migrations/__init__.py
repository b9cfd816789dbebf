"""Alembic migrations: one linear history. Run with ``spareflow db upgrade``."""

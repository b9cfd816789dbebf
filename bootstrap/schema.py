"""The whole schema (every package's tables) and the Alembic migrations that build it."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

from core.db import Base, normalise_url


def metadata() -> MetaData:
    """Base.metadata with every model module imported, so it describes all tables."""
    import accounts.models  # noqa: F401
    import carriers.models  # noqa: F401
    import core.audit
    import core.job_runs
    import core.outbox
    import core.settings  # noqa: F401
    import inventory.models  # noqa: F401
    import knowledge.models  # noqa: F401
    import purchasing.claims
    import purchasing.models  # noqa: F401
    import returns.followups
    import returns.repair_orders  # noqa: F401
    import sales.models  # noqa: F401

    return Base.metadata


def alembic_config(url: str) -> Config:
    script_location = str(resources.files("migrations"))
    config = Config()
    config.set_main_option("script_location", script_location)
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option(
        "sqlalchemy.url",
        normalise_url(url).render_as_string(hide_password=False).replace("%", "%%"),
    )
    return config


def upgrade(url: str, revision: str = "head", *, secret_box: object | None = None) -> None:
    """Migrate; ``secret_box`` (core.crypto.SecretBox) encrypts stored secrets (0013)."""
    config = alembic_config(url)
    config.attributes["secret_box"] = secret_box
    command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def code_head() -> str | None:
    """The newest migration this code ships: a database at another revision is not ready."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

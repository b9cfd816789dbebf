"""Settings an admin changes at run time (e.g. carrier webhook secrets), stored in the database.

They overlay the configuration (environment, instance file): a stored value wins. Each process
re-reads them at most every few seconds, so a change reaches every web worker shortly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.clock import Clock
from core.db import Base, UnitOfWork, UTCDateTime, read_outside_transaction

#: How long a process trusts what it last read.
REFRESH_SECONDS = 5.0


class StoredSetting(Base):
    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SettingsStore:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock):
        self.session_factory = session_factory
        self.engine = session_factory.kw["bind"]
        self.clock = clock
        self._cache: tuple[float, dict[str, str]] | None = None

    def values(self) -> dict[str, str]:
        """The stored settings, re-read at most every REFRESH_SECONDS."""
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] > REFRESH_SECONDS:
            rows = read_outside_transaction(
                self.engine, select(StoredSetting.name, StoredSetting.value)
            )
            self._cache = (now, {name: value for name, value in rows})
        return self._cache[1]

    def describe(self) -> dict[str, tuple[str, datetime]]:
        """Who last set each stored setting, and when (never the values themselves)."""
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.execute(
                select(StoredSetting.name, StoredSetting.updated_by, StoredSetting.updated_at)
            ).all()
        return {name: (who, when) for name, who, when in rows}

    def set(self, name: str, value: str | None, actor: str) -> None:
        """Store ``value`` for ``name``; None removes it (the configuration applies again)."""
        with UnitOfWork(self.session_factory) as uow:
            uow.session.execute(delete(StoredSetting).where(StoredSetting.name == name))
            if value is not None:
                uow.session.add(
                    StoredSetting(
                        name=name, value=value, updated_by=actor, updated_at=self.clock.now()
                    )
                )
            uow.commit()
        self._cache = None

    def count(self) -> int:
        with UnitOfWork(self.session_factory) as uow:
            return uow.session.scalar(select(func.count()).select_from(StoredSetting)) or 0


class LayeredSettings(Mapping[str, object]):
    """The configuration with the stored settings on top."""

    def __init__(self, config: Mapping[str, object], store: SettingsStore):
        self.config = config
        self.store = store

    def __getitem__(self, name: str) -> object:
        stored = self.store.values()
        return stored[name] if name in stored else self.config[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter({*self.config, *self.store.values()})

    def __len__(self) -> int:
        return len({*self.config, *self.store.values()})

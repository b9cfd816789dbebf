"""Settings an admin changes at run time (e.g. carrier webhook secrets), stored in the database.

They overlay the configuration (environment, instance file): a stored value wins. Each process
re-reads them at most every few seconds, so a change reaches every web worker shortly.

Every stored value is encrypted at rest with :class:`core.crypto.SecretBox` (keys from
``SPAREFLOW_ENCRYPTION_KEYS``): the ``settings`` table never holds a secret in clear. Each
change is written to the audit log in the same transaction (``secret.changed`` never carries
the value).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime

from sqlalchemy import String, Text, delete, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core import audit
from core.clock import Clock
from core.crypto import SecretBox, SecretsError
from core.db import Base, UnitOfWork, UTCDateTime, read_outside_transaction
from core.errors import N_, InvalidInput

#: How long a process trusts what it last read.
REFRESH_SECONDS = 5.0
#: Webhook secrets, tokens and API keys shorter than this are refused (guessable).
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 500

NO_KEY = (
    "Stored secrets need an encryption key: set SPAREFLOW_ENCRYPTION_KEYS (comma-separated "
    "Fernet keys, newest first; `spareflow secrets generate-key` prints one)."
)
PLAINTEXT_ROWS = (
    "{count} stored setting(s) are not encrypted yet (written before encryption at rest): "
    "set SPAREFLOW_ENCRYPTION_KEYS and run `spareflow secrets rotate` (or `spareflow db "
    "upgrade`), which encrypts them."
)


class StoredSetting(Base):
    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: ``fernet:...`` (SecretBox.encrypt), never the value in clear.
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SettingsStore:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        box: SecretBox | None = None,
        secret_names: Collection[str] = (),
    ):
        self.session_factory = session_factory
        self.engine = session_factory.kw["bind"]
        self.clock = clock
        self.box = box
        #: Settings whose value is a secret: at least MIN_SECRET_LENGTH, audited without it.
        self.secret_names = frozenset(secret_names)
        self._cache: tuple[float, dict[str, str]] | None = None

    def values(self) -> dict[str, str]:
        """The stored settings, decrypted, re-read at most every REFRESH_SECONDS."""
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] > REFRESH_SECONDS:
            rows = read_outside_transaction(
                self.engine, select(StoredSetting.name, StoredSetting.value)
            )
            self._cache = (now, {name: self._open(value) for name, value in rows})
        return self._cache[1]

    def _open(self, sealed: str) -> str:
        if self.box is None:
            raise SecretsError(NO_KEY)
        if not SecretBox.is_sealed(sealed):
            raise SecretsError(PLAINTEXT_ROWS.format(count="A"))
        return self.box.decrypt(sealed)

    def check_readable(self) -> None:
        """At start-up: refuse to run when stored secrets cannot be read (no key, plain text).

        A database without the table yet (before ``spareflow db upgrade``) passes.
        """
        try:
            rows = read_outside_transaction(self.engine, select(StoredSetting.value))
        except (OperationalError, ProgrammingError):
            return
        if rows and self.box is None:
            raise SecretsError(NO_KEY)
        plain = sum(1 for (value,) in rows if not SecretBox.is_sealed(value))
        if plain:
            raise SecretsError(PLAINTEXT_ROWS.format(count=plain))
        for (value,) in rows[:1]:
            assert self.box is not None
            self.box.decrypt(value)  # a key removed too early says so now, not at a webhook

    def names(self) -> set[str]:
        """The names of the stored settings (none before the schema exists)."""
        try:
            return {
                name
                for (name,) in read_outside_transaction(self.engine, select(StoredSetting.name))
            }
        except (OperationalError, ProgrammingError):
            return set()

    def describe(self) -> dict[str, tuple[str, datetime]]:
        """Who last set each stored setting, and when (never the values themselves)."""
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.execute(
                select(StoredSetting.name, StoredSetting.updated_by, StoredSetting.updated_at)
            ).all()
        return {name: (who, when) for name, who, when in rows}

    def set(self, name: str, value: str | None, actor: str) -> None:
        """Store ``value`` for ``name``; None removes it (the configuration applies again).

        Secrets shorter than MIN_SECRET_LENGTH are refused (InvalidInput naming ``name``).
        """
        secret = name in self.secret_names
        if value is not None:
            if secret and len(value) < MIN_SECRET_LENGTH:
                raise InvalidInput(
                    name,
                    N_(
                        "%(name)s must be at least %(MIN_SECRET_LENGTH)s characters long.",
                        name=name,
                        MIN_SECRET_LENGTH=MIN_SECRET_LENGTH,
                    ),
                    code="secret_too_short",
                )
            if len(value) > MAX_SECRET_LENGTH:
                raise InvalidInput(
                    name,
                    N_(
                        "%(name)s is longer than %(MAX_SECRET_LENGTH)s characters.",
                        name=name,
                        MAX_SECRET_LENGTH=MAX_SECRET_LENGTH,
                    ),
                )
            if self.box is None:
                raise InvalidInput(name, NO_KEY, code="no_encryption_key")
        now = self.clock.now()
        with UnitOfWork(self.session_factory) as uow:
            old = uow.session.get(StoredSetting, name)
            details: dict[str, object] = {"cleared": value is None, "was_set": old is not None}
            if not secret and self.box is not None:
                details["old"] = self._open(old.value) if old is not None else None
                details["new"] = value
            uow.session.execute(delete(StoredSetting).where(StoredSetting.name == name))
            if value is not None:
                assert self.box is not None
                uow.session.add(
                    StoredSetting(
                        name=name, value=self.box.encrypt(value), updated_by=actor, updated_at=now
                    )
                )
            audit.record(
                uow.session,
                at=now,
                actor=actor,
                action="secret.changed" if secret else "setting.changed",
                target_type="setting",
                target=name,
                details=details,
            )
            uow.commit()
        self._cache = None

    def rotate(self, actor: str = audit.SYSTEM_ACTOR) -> int:
        """Re-encrypt every stored value under the newest key (plain text ones: encrypt them).

        Returns how many values were rewritten. Afterwards the older keys can be removed.
        """
        if self.box is None:
            raise SecretsError(NO_KEY)
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.scalars(select(StoredSetting).with_for_update()).all()
            for row in rows:
                row.value = self.box.rotate(row.value)
            if rows:
                audit.record(
                    uow.session,
                    at=self.clock.now(),
                    actor=actor,
                    action="secret.rotated",
                    target_type="setting",
                    details={"count": len(rows), "names": sorted(row.name for row in rows)},
                )
            uow.commit()
        self._cache = None
        return len(rows)

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

    def __iter__(self) -> Iterator[str]:
        return iter({*self.config, *self.store.values()})

    def __len__(self) -> int:
        return len({*self.config, *self.store.values()})

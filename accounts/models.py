from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, string_enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    WAREHOUSE = "warehouse"
    BUYER = "buyer"
    SERVICE_DESK = "service_desk"


#: The pages' languages (Babel locale ids); English is the default and the fallback.
LANGUAGES = ("en", "zh_Hans")
DEFAULT_LANGUAGE = "en"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(string_enum(Role))
    #: The pages' language (a Babel locale id: "en", "zh_Hans").
    language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Stored in each signed-in browser's session and compared on every request: raising it
    #: (sign-out, deactivation, a new role or password) ends every session of the user at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Set when an admin gives the user a temporary password: the next sign-in must change it.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: The TOTP secret (base32). Named for the encryption it gets once core/crypto is wired in.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    #: When two-factor sign-in was switched on (None: off, or set-up not yet confirmed).
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last TOTP time step accepted: a code is never accepted twice (RFC 6238, 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    # Flask-Login's user protocol, spelled out rather than inherited from a web mixin.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Base):
    """An API token. Only a SHA-256 of the secret is kept; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: After this the token is refused (None: never expires, chosen explicitly).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Who created it: an admin's e-mail, or "cli" for `spareflow tokens create`.
    created_by: Mapped[str] = mapped_column(String(254), default="", server_default="")

    user: Mapped[User] = relationship(lazy="joined")


class RecoveryCode(Base):
    """A one-time code that stands in for a TOTP code; only a SHA-256 of it is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

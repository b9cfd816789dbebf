"""Secrets at rest: encrypted with keys from the environment, rotatable.

The whole API is :class:`SecretBox`::

    box = SecretBox.from_settings(app.config)   # None when no key is configured
    sealed = box.encrypt("whsec_...")           # "fernet:gAAAA..." - store this
    box.decrypt(sealed)                         # "whsec_..."
    box.rotate(sealed)                          # the same secret under the newest key

Keys: ``SPAREFLOW_ENCRYPTION_KEYS``, comma-separated Fernet keys (``spareflow secrets
generate-key`` prints one), newest first. Every key decrypts; only the first encrypts. To
rotate: put a new key first, keep the old ones after it, run ``spareflow secrets rotate``,
then drop the old keys. Fernet (cryptography's MultiFernet) is AES-128-CBC with an
HMAC-SHA256, so a changed or truncated value is refused, never decrypted to garbage.

A sealed value starts with ``fernet:`` so that a value written before encryption existed
(plain text) can be told apart from one encrypted under a key that is no longer configured.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

#: The prefix of every value SecretBox.encrypt returns.
PREFIX = "fernet:"
#: Where keys come from (``SPAREFLOW_ENCRYPTION_KEYS`` in the environment).
KEYS_SETTING = "ENCRYPTION_KEYS"
#: Why two-factor sign-in cannot be set up: its secrets are sealed like the carriers'.
NO_KEY_FOR_TWO_FACTOR = (
    "Two-factor sign-in keeps its secrets encrypted: an operator must set "
    "SPAREFLOW_ENCRYPTION_KEYS first (`spareflow secrets generate-key` prints a key)."
)
#: Tests and the demo only: derive the key from SECRET_KEY instead (logged as such).
DERIVED_SETTING = "ENCRYPTION_KEY_FROM_SECRET_KEY"


class SecretsError(Exception):
    """A secret cannot be sealed or opened; the message says what the operator must do."""


class SecretBox:
    """Encrypts and decrypts short text secrets with the configured keys (newest first)."""

    def __init__(self, keys: Sequence[str | bytes], *, derived: bool = False):
        if not keys:
            raise SecretsError(f"{KEYS_SETTING} names no key.")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as error:
            raise SecretsError(
                f"SPAREFLOW_{KEYS_SETTING} must be comma-separated Fernet keys (32 url-safe "
                "base64-encoded bytes each; `spareflow secrets generate-key` prints one)."
            ) from error
        #: True when the key was derived from SECRET_KEY (tests and the demo only).
        self.derived = derived

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> SecretBox | None:
        """The box for ``ENCRYPTION_KEYS``; None when no key is configured.

        With ``ENCRYPTION_KEY_FROM_SECRET_KEY`` true (the test suite and ``spareflow demo``
        set it) and no keys, a key is derived from ``SECRET_KEY``: never do this in production,
        where whoever reads the configuration would read every secret.
        """
        configured = settings.get(KEYS_SETTING)
        if isinstance(configured, str):
            keys = [key.strip() for key in configured.split(",") if key.strip()]
        elif isinstance(configured, list | tuple):
            keys = [str(key).strip() for key in configured if str(key).strip()]
        else:
            keys = []
        if keys:
            return cls(keys)
        if settings.get(DERIVED_SETTING) and settings.get("SECRET_KEY"):
            log.warning(
                "secrets are encrypted with a key DERIVED FROM SECRET_KEY (%s): for tests and "
                "the demo only; set SPAREFLOW_%s in production",
                DERIVED_SETTING,
                KEYS_SETTING,
            )
            digest = hashlib.sha256(b"spareflow-secrets:" + str(settings["SECRET_KEY"]).encode())
            return cls([base64.urlsafe_b64encode(digest.digest())], derived=True)
        return None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    @staticmethod
    def is_sealed(value: str) -> bool:
        """Whether ``value`` came from :meth:`encrypt` (else it is legacy plain text)."""
        return value.startswith(PREFIX)

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, sealed: str) -> str:
        if not self.is_sealed(sealed):
            raise SecretsError("This value is not encrypted (written before encryption).")
        try:
            return self._fernet.decrypt(sealed[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretsError(
                "A stored secret does not decrypt with any key in SPAREFLOW_ENCRYPTION_KEYS: "
                "was a key removed before `spareflow secrets rotate` ran?"
            ) from None

    def rotate(self, sealed: str) -> str:
        """The secret re-encrypted under the newest key (plain text legacy values: encrypted)."""
        if not self.is_sealed(sealed):
            return self.encrypt(sealed)
        try:
            return PREFIX + self._fernet.rotate(sealed[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretsError(
                "A stored secret does not decrypt with any key in SPAREFLOW_ENCRYPTION_KEYS."
            ) from None

"""SecretBox: what the rest of spareflow (carrier secrets, TOTP secrets) relies on."""

from __future__ import annotations

import pytest

from core.crypto import PREFIX, SecretBox, SecretsError


def test_a_sealed_value_opens_only_with_a_configured_key_and_never_when_changed() -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    sealed = SecretBox([old]).encrypt("totp-seed-JBSWY3DPEHPK3PXP")
    assert sealed.startswith(PREFIX) and "JBSWY3DP" not in sealed
    assert SecretBox([new, old]).decrypt(sealed) == "totp-seed-JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretsError, match="does not decrypt"):
        SecretBox([new]).decrypt(sealed)
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SecretsError):
        SecretBox([old]).decrypt(tampered)
    with pytest.raises(SecretsError, match="not encrypted"):
        SecretBox([old]).decrypt("plain text from before")


def test_rotate_moves_a_value_to_the_newest_key_and_seals_plain_text() -> None:
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    both = SecretBox([new, old])
    rotated = both.rotate(SecretBox([old]).encrypt("whsec_0123456789abcdef"))
    assert SecretBox([new]).decrypt(rotated) == "whsec_0123456789abcdef"
    assert SecretBox([new]).decrypt(both.rotate("legacy plain value")) == "legacy plain value"


def test_keys_come_from_settings_and_a_derived_key_only_when_asked_for() -> None:
    one, two = SecretBox.generate_key(), SecretBox.generate_key()
    assert SecretBox.from_settings({"ENCRYPTION_KEYS": f" {one} , {two} "}) is not None
    assert SecretBox.from_settings({"ENCRYPTION_KEYS": [one]}) is not None
    assert SecretBox.from_settings({"SECRET_KEY": "k"}) is None
    derived = SecretBox.from_settings({"SECRET_KEY": "k", "ENCRYPTION_KEY_FROM_SECRET_KEY": True})
    assert derived is not None and derived.derived
    same = SecretBox.from_settings({"SECRET_KEY": "k", "ENCRYPTION_KEY_FROM_SECRET_KEY": True})
    assert same is not None and same.decrypt(derived.encrypt("x" * 16)) == "x" * 16
    with pytest.raises(SecretsError, match="Fernet keys"):
        SecretBox.from_settings({"ENCRYPTION_KEYS": "not-a-key"})

"""Password rules and TOTP codes, without a database: the rules themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from accounts import two_factor
from accounts.passwords import check_new_password, common_passwords
from core.errors import InvalidInput

NOW = datetime(2026, 11, 23, 9, 0, 10, tzinfo=UTC)


def test_the_common_password_list_is_zxcvbns_thirty_thousand_read_offline() -> None:
    words = common_passwords()
    assert len(words) > 29_000
    assert {"password", "123456", "qwerty", "password1234"} <= words


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("elevenchars", "password_too_short"),
        ("password1234", "password_too_common"),
        ("  Password1234 ", "password_too_common"),
        ("1q2w3e4r5t6y", "password_too_common"),
        ("x" * 1025, "password_too_long"),
        ("someone@example.com", "password_is_email"),
    ],
)
def test_unfit_passwords_are_refused_with_a_reason(password: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_new_password(password, email="someone@example.com")
    assert refused.value.code == code
    assert refused.value.field == "password"


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "demo-admin-pass", "demo-desk-pass", "twelve chars"],
)
def test_the_test_and_demo_passwords_pass_the_rules(password: str) -> None:
    check_new_password(password, email="admin@demo.spareflow")


def test_a_code_is_accepted_in_its_window_and_one_step_either_side_only() -> None:
    secret = two_factor.new_secret()
    totp = pyotp.TOTP(secret)
    step = two_factor.time_step(NOW)
    assert two_factor.accepted_step(secret, totp.at(NOW), NOW, None) == step
    assert two_factor.accepted_step(secret, totp.at(NOW - timedelta(seconds=30)), NOW, None) == (
        step - 1
    )
    assert two_factor.accepted_step(secret, totp.at(NOW + timedelta(seconds=30)), NOW, None) == (
        step + 1
    )
    assert two_factor.accepted_step(secret, totp.at(NOW - timedelta(seconds=90)), NOW, None) is None
    assert two_factor.accepted_step(secret, "12345", NOW, None) is None
    assert two_factor.accepted_step(secret, "１２３４５６", NOW, None) is None  # not ASCII digits


def test_a_code_of_a_step_already_used_is_never_accepted_again() -> None:
    secret = two_factor.new_secret()
    totp = pyotp.TOTP(secret)
    step = two_factor.accepted_step(secret, totp.at(NOW), NOW, None)
    assert two_factor.accepted_step(secret, totp.at(NOW), NOW, step) is None
    earlier = totp.at(NOW - timedelta(seconds=30))
    assert two_factor.accepted_step(secret, earlier, NOW, step) is None
    later = NOW + timedelta(seconds=30)
    assert two_factor.accepted_step(secret, totp.at(later), later, step) == step + 1


def test_recovery_codes_are_random_and_hashed_per_user_whatever_their_spelling() -> None:
    codes = two_factor.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    code = codes[0]
    assert len(code) == 19 and code.count("-") == 3
    assert two_factor.hash_recovery_code(1, code) == two_factor.hash_recovery_code(
        1, code.upper().replace("-", " ")
    )
    assert two_factor.hash_recovery_code(1, code) != two_factor.hash_recovery_code(2, code)
    assert code not in two_factor.hash_recovery_code(1, code)


def test_the_set_up_qr_code_is_plain_svg_without_script_or_style() -> None:
    svg = two_factor.qr_svg(two_factor.provisioning_uri(two_factor.new_secret(), "a@b.example"))
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg
    uri = two_factor.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "a@b.example")
    assert uri.startswith(
        "otpauth://totp/spareflow:a%40b.example?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    )

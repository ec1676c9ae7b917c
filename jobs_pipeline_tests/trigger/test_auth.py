"""Bearer-token parsing, the secret check and the token comparison."""

from __future__ import annotations

import pytest

from jobs_pipeline.trigger.auth import (
    AuthenticationError,
    authenticate,
    parse_bearer_token,
    validate_secret,
)

SECRET = "auth-unit-test-secret-0123456789"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer    ", None),
        ("Basic dXNlcjpwYXNz", None),
        (SECRET, None),
        (f"Bearer {SECRET}", SECRET),
        (f"bearer {SECRET}", SECRET),
        (f"BEARER   {SECRET}  ", SECRET),
    ],
)
def test_parse_bearer_token(header, expected):
    assert parse_bearer_token(header) == expected


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_token"),
        (f"Basic {SECRET}", "missing_token"),
        (f"Bearer {SECRET[:-1]}", "invalid_token"),
        (f"Bearer {SECRET[:-1]}X", "invalid_token"),
        (f"Bearer {SECRET}X", "invalid_token"),
        ("Bearer ünïcode-token-0123456789", "invalid_token"),
    ],
)
def test_authenticate_rejects(header, code):
    with pytest.raises(AuthenticationError) as raised:
        authenticate(header, SECRET)

    assert raised.value.code == code
    assert SECRET not in raised.value.message


def test_authenticate_accepts_secret():
    authenticate(f"Bearer {SECRET}", SECRET)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "not set or empty"),
        ("", "not set or empty"),
        ("                    ", "contains a space"),
        ("sixteen chars but spaces", "contains a space"),
        ("tab\tseparated-secret-value", "control character"),
        ("nicht-ascii-geheimnis-ä", "non-ASCII"),
        ("fifteen-chars-x", "15 characters long"),
    ],
)
def test_validate_secret_rejects(secret, problem):
    with pytest.raises(ValueError, match=problem) as raised:
        validate_secret(secret)

    assert "CRON_SECRET" in str(raised.value)
    if secret and secret.strip():
        assert secret not in str(raised.value)


def test_validate_secret_accepts_sixteen_characters():
    assert validate_secret("sixteen-chars-xy") == "sixteen-chars-xy"

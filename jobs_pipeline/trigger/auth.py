"""Bearer-token authentication against the shared secret `CRON_SECRET`."""

from __future__ import annotations

import hmac

MIN_SECRET_LENGTH = 16
SECRET_FIX = (
    "set CRON_SECRET to a random string of at least 16 characters, for example the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, and restart the service"
)


class AuthenticationError(Exception):
    """The request has no valid bearer token.

    Attributes:
        code: machine-readable reason for the 401 body (`missing_token` or `invalid_token`).
        message: what went wrong and what the caller should do.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def validate_secret(secret: str | None) -> str:
    """Return the secret unchanged if it can serve as a bearer token.

    The error messages never contain the secret itself.

    Raises:
        ValueError: if the secret is missing, shorter than 16 characters, or contains a
            character outside visible ASCII. Spaces, control and non-ASCII characters are
            rejected because HTTP clients strip or re-encode them in an Authorization header,
            so the caller could never send a matching token.
    """
    if not secret:
        raise ValueError(f"CRON_SECRET is not set or empty: {SECRET_FIX}")
    if any(not "!" <= character <= "~" for character in secret):
        raise ValueError(
            "CRON_SECRET contains a space, a control character or a non-ASCII character, which "
            f"an Authorization header cannot carry unchanged: {SECRET_FIX}"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"CRON_SECRET is {len(secret)} characters long, shorter than the minimum of "
            f"{MIN_SECRET_LENGTH}: {SECRET_FIX}"
        )
    return secret


def parse_bearer_token(authorization: str | None) -> str | None:
    """Return the token of an `Authorization: Bearer <token>` header value, or None.

    The scheme name is case-insensitive (RFC 7235, section 2.1). Any other scheme, or a
    Bearer header without a token, returns None.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def authenticate(authorization: str | None, secret: str) -> None:
    """Raise `AuthenticationError` unless the header carries the secret as a bearer token.

    The comparison takes the same time wherever the first differing character is
    (`hmac.compare_digest`), so response times do not reveal how much of a guess was right.
    It still reveals whether the lengths differ, which reveals nothing about the characters.
    """
    token = parse_bearer_token(authorization)
    if token is None:
        raise AuthenticationError(
            "missing_token",
            "The request has no 'Authorization: Bearer <token>' header: send the value of "
            "CRON_SECRET as the bearer token.",
        )
    if not hmac.compare_digest(token.encode("utf-8"), secret.encode("utf-8")):
        raise AuthenticationError(
            "invalid_token",
            "The bearer token does not match CRON_SECRET: send the secret the service was "
            "started with, and update the caller after CRON_SECRET changes.",
        )

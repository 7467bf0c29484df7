"""Masking of passwords in connection text, so they never reach a message or a log."""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = [
    "MASK",
    "MIN_BARE_PASSWORD",
    "URL_PASSWORD_HINT",
    "contains_password_key",
    "is_password_key",
    "looks_like_userinfo",
    "mask_password",
    "mask_text",
    "password_key_in",
    "text_before_password",
]


MASK = "***"


# A password written as a key=value pair, braced or not, or as the userinfo
# of a URL. The userinfo runs to the LAST '@' of its whitespace-free run,
# because an unencoded '@' or ':' in a password puts more '@' in the URL.
_SECRET_PATTERN = re.compile(
    r"(?i)(\b(?:password|pwd)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)|(://[^:/@\s]*:)(\S*)(@)"
)


_PASSWORD_KEY = re.compile(r"(?i)\b(?:password|pwd)\s*=")


# ``scheme://user:`` at the start of a URL, for masking its whole userinfo.
_URL_USER = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^:/@]*:)")


# ``user:password@host``: a ':' and after it an '@', before any '=' or ';'.
_USERINFO = re.compile(r"^[^=;]*:[^=;]*@")


# A password shorter than this is masked only in its key=value and URL
# forms. The driver's own words ("SQL", "Server", "exist") may equal or
# contain a short password, and masking them there would both mangle the
# message and show where the password occurs in it.
MIN_BARE_PASSWORD = 8


URL_PASSWORD_HINT = (
    "special characters in a password must be percent-encoded in a URL "
    "('@' as %40, ':' as %3A, '/' as %2F, '%' as %25), or give the password with "
    "--password or the ONTIME_DB_PASSWORD environment variable"
)


def mask_text(text: str) -> str:
    """Replace password values in connection text with ``***``."""

    def mask(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1) + MASK
        return match.group(3) + MASK + match.group(5)

    return _SECRET_PATTERN.sub(mask, text)


def mask_password(text: str, password: str | None) -> str:
    """Mask ``password`` in a driver's message, then every key=value and URL password form.

    The bare password, its ODBC form with ``}`` doubled and its
    percent-encoded URL form are masked only when they are at least
    :data:`MIN_BARE_PASSWORD` characters long, so a short password never
    turns an ordinary word of the message into ``***``.
    """
    if password:
        for form in (password.replace("}", "}}"), password, quote(password, safe="")):
            if len(form) >= MIN_BARE_PASSWORD:
                text = text.replace(form, MASK)
    return mask_text(text)


def is_password_key(key: str) -> bool:
    """Return whether ``key`` names a password in JDBC or ODBC connection text."""
    return key.strip().lower() in ("password", "pwd")


def contains_password_key(text: str) -> bool:
    """Return whether ``text`` contains ``password=`` or ``pwd=`` in any letter case."""
    return _PASSWORD_KEY.search(text) is not None


def password_key_in(text: str) -> str | None:
    """Return the first password key of ``text`` as written (``PWD`` or ``password``), or None."""
    match = _PASSWORD_KEY.search(text)
    return match.group(0).rstrip("= \t") if match is not None else None


def looks_like_userinfo(text: str) -> bool:
    """Return whether ``text`` may start with ``user:password@host`` (no '=' or ';' before)."""
    return _USERINFO.match(text) is not None


def text_before_password(text: str) -> str:
    """Return ``text`` for a message: cut at its first password key, then masked.

    A password that contains ``;`` or ``}`` is not masked completely when it
    is written without braces, so nothing after a password key is shown.
    In a URL everything from ``://user:`` to the last ``@`` of the text is
    masked, because an unencoded ``@`` may be part of the password.
    """
    match = _PASSWORD_KEY.search(text)
    if match is not None:
        text = text[: match.start()] + "..."
    user = _URL_USER.match(text)
    if user is not None and "@" in text[user.end() :]:
        last_at = text.rindex("@")
        return user.group(1) + MASK + mask_text(text[last_at:])
    return mask_text(text)

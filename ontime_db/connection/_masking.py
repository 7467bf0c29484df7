"""Masking of passwords in connection text, so they never reach a message or a log."""

from __future__ import annotations

import re

__all__ = ["MASK", "contains_password_key", "is_password_key", "mask_text", "text_before_password"]


MASK = "***"


_SECRET_PATTERN = re.compile(
    r"(?i)(\b(?:password|pwd)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)|(://[^:/@]*:)([^@]*)(@)"
)


_PASSWORD_KEY = re.compile(r"(?i)\b(?:password|pwd)\s*=")


def mask_text(text: str) -> str:
    """Replace password values in connection text with ``***``."""

    def mask(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1) + MASK
        return match.group(3) + MASK + match.group(5)

    return _SECRET_PATTERN.sub(mask, text)


def is_password_key(key: str) -> bool:
    """Return whether ``key`` names a password in JDBC or ODBC connection text."""
    return key.strip().lower() in ("password", "pwd")


def contains_password_key(text: str) -> bool:
    """Return whether ``text`` contains ``password=`` or ``pwd=`` in any letter case."""
    return _PASSWORD_KEY.search(text) is not None


def text_before_password(text: str) -> str:
    """Return ``text`` for a message: cut at its first password key, then masked.

    A password that contains ``;`` or ``}`` is not masked completely when it
    is written without braces, so nothing after a password key is shown.
    """
    match = _PASSWORD_KEY.search(text)
    if match is not None:
        text = text[: match.start()] + "..."
    return mask_text(text)

"""Masking of passwords in connection text, so they never reach a message or a log."""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_text"]


MASK = "***"


_SECRET_PATTERN = re.compile(
    r"(?i)(\b(?:password|pwd)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)|(://[^:/@]*:)([^@]*)(@)"
)


def mask_text(text: str) -> str:
    """Replace password values in connection text with ``***``."""

    def mask(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1) + MASK
        return match.group(3) + MASK + match.group(5)

    return _SECRET_PATTERN.sub(mask, text)

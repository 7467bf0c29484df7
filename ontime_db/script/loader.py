"""Read script files: byte-order marks, UTF-8 and UTF-16, and the file's own line endings."""

from __future__ import annotations

import codecs
import logging
import os
from pathlib import Path

from ..errors import ScriptDecodeError, ScriptError

__all__ = ["decode", "read_script"]

log = logging.getLogger(__name__)

# UTF-32 marks are not checked: FF FE 00 00 is also a UTF-16 LE mark followed
# by a NUL character, and SSMS writes UTF-8 or UTF-16 only.
_MARKS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes, *, file: str | None = None) -> str:
    """Decode a script's bytes into text, without its byte-order mark.

    UTF-8 is read with or without a mark; UTF-16 LE and BE need their mark
    (SSMS "Generate Scripts" writes one). Line endings stay as written.

    Raises :class:`~ontime_db.errors.ScriptDecodeError` naming the file, the
    encoding tried and the byte offset of the first invalid byte.

    >>> decode(b"\\xef\\xbb\\xbfSELECT 1;\\r\\n")
    'SELECT 1;\\r\\n'
    """
    encoding = "utf-8"
    skip = 0
    for mark, name in _MARKS:
        if data.startswith(mark):
            encoding, skip = name, len(mark)
            break

    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as err:
        offset = skip + err.start
        name = file if file is not None else "script"
        raise ScriptDecodeError(
            f"cannot decode {name!r} as {encoding}: invalid byte 0x{data[offset]:02X} at "
            f"byte offset {offset} ({err.reason}); save the script as UTF-8, or as "
            "UTF-16 with a byte-order mark",
            encoding=encoding,
            offset=offset,
            file=file,
        ) from err


def read_script(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Read and decode the file at ``path``; return its name and its text."""
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as err:
        raise ScriptError(
            f"cannot read script {name!r}: {err.strerror or err}; check the path and "
            "its permissions",
            file=name,
        ) from err

    log.debug("read %s (%d bytes)", name, len(data))
    return name, decode(data, file=name)

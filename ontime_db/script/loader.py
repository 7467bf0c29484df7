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
    encoding tried and the byte offset of the first invalid byte, or of the
    first NUL character: UTF-16 without a mark is rejected this way instead
    of being guessed.

    >>> decode(b"\\xef\\xbb\\xbfSELECT 1;\\r\\n")
    'SELECT 1;\\r\\n'
    """
    encoding = "utf-8"
    skip = 0
    for mark, name in _MARKS:
        if data.startswith(mark):
            encoding, skip = name, len(mark)
            break

    name = file if file is not None else "script"
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as err:
        offset = skip + err.start
        reason = err.reason
        if encoding.startswith("utf-16") and (len(data) - skip) % 2:
            reason = (
                f"the file has an odd number of bytes, {len(data)}, so its last character "
                "is cut off"
            )
        raise ScriptDecodeError(
            f"cannot decode {name!r} as {encoding}: invalid byte 0x{data[offset]:02X} at "
            f"byte offset {offset} ({reason}); save the script as UTF-8, or as "
            "UTF-16 with a byte-order mark",
            encoding=encoding,
            offset=offset,
            file=file,
        ) from err

    _check_no_nul(text, data, encoding=encoding, skip=skip, file=file)
    return text


def _check_no_nul(text: str, data: bytes, *, encoding: str, skip: int, file: str | None) -> None:
    # UTF-16 without a byte-order mark decodes as UTF-8 without an error, as
    # ASCII letters with a NUL byte between them, and a UTF-32 mark reads as a
    # UTF-16 mark followed by NUL. T-SQL text never contains NUL, so one found
    # here means the file was read in the wrong encoding.
    index = text.find("\x00")
    if index < 0:
        return
    offset = skip + len(text[:index].encode(encoding))
    name = file if file is not None else "script"
    raise ScriptDecodeError(
        f"cannot decode {name!r} as {encoding}: NUL character at byte offset {offset}, "
        "which T-SQL text never contains, so the file is in another encoding (UTF-16 "
        "without a byte-order mark, or UTF-32); save it as UTF-8, or as UTF-16 with a "
        "byte-order mark",
        encoding=encoding,
        offset=offset,
        file=file,
    )


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

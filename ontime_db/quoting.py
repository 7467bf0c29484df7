"""Quote names and values for T-SQL text.

Every statement the library builds as text passes names through
:func:`quote_identifier` and string values through :func:`quote_string`, so a
database called ``we]ird`` or ``O'Hare`` stays one name, and a name such as
``x]; DROP DATABASE [y`` stays one (odd) name instead of becoming a second
statement.
"""

from __future__ import annotations

import unicodedata

from .errors import InvalidNameError

__all__ = [
    "MAX_NAME_LENGTH",
    "check_name",
    "quote_identifier",
    "quote_string",
    "utf16_length",
]

# SQL Server identifiers are sysname, that is nvarchar(128): at most 128
# UTF-16 code units, so a character outside the Basic Multilingual Plane
# (an emoji, for example) counts twice.
MAX_NAME_LENGTH = 128


def check_name(name: str, *, kind: str = "database name") -> str:
    """Return ``name`` unchanged when SQL Server can store it and every statement can carry it.

    Raises :class:`~ontime_db.errors.InvalidNameError` for an empty name, a
    name of only white space, a name longer than 128 UTF-16 code units, a
    name with a NUL or another control character (tab, line break), a line
    or paragraph separator or a lone surrogate, and a name with leading or
    trailing white space (SQL Server ignores trailing spaces when it
    compares names, so such a name would silently refer to another object).

    SQL Server accepts control characters in a delimited identifier, but a
    line break inside a name would end a ``--`` comment, could start a
    ``GO`` line in a script and splits a log line, so they are rejected.

    >>> check_name("ontimems.25.8")
    'ontimems.25.8'
    """
    if not isinstance(name, str):
        raise InvalidNameError(
            f"invalid {kind} {name!r}: expected a string, got {type(name).__name__}"
        )
    if not name:
        raise InvalidNameError(f"invalid {kind} '': a name must not be empty")
    if not name.strip():
        raise InvalidNameError(
            f"invalid {kind} {name!r}: a name must not consist of white space only"
        )
    _check_length(name, kind)
    if "\x00" in name:
        raise InvalidNameError(f"invalid {kind} {name!r}: it contains a NUL character")
    _check_characters(name, kind)
    if name != name.strip():
        raise InvalidNameError(
            f"invalid {kind} {name!r}: remove the leading or trailing white space"
        )
    return name


def _check_length(name: str, kind: str) -> None:
    units = utf16_length(name)
    if units <= MAX_NAME_LENGTH:
        return
    if units == len(name):
        size = f"{units} characters"
    else:
        size = f"{len(name)} characters that take {units} UTF-16 code units"
    raise InvalidNameError(
        f"invalid {kind} {name!r}: {size}, SQL Server allows at most {MAX_NAME_LENGTH}"
    )


def _check_characters(name: str, kind: str) -> None:
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            raise InvalidNameError(
                f"invalid {kind} {name!r}: it contains the control character {char!r} "
                f"(U+{ord(char):04X}); use a name without tabs, line breaks or other "
                "control characters"
            )
        if category == "Cs":
            raise InvalidNameError(
                f"invalid {kind} {name!r}: it contains the lone surrogate U+{ord(char):04X}, "
                "which cannot be encoded as UTF-16 for the driver"
            )


def utf16_length(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as nvarchar counts it.

    >>> utf16_length("😀db")
    4
    """
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def quote_identifier(name: str, *, kind: str = "database name") -> str:
    """Quote ``name`` as a bracketed T-SQL identifier, doubling ``]``.

    >>> quote_identifier("we]ird")
    '[we]]ird]'
    """
    check_name(name, kind=kind)
    return "[" + name.replace("]", "]]") + "]"


def quote_string(value: str) -> str:
    """Quote ``value`` as a Unicode T-SQL string literal, doubling ``'``.

    The ``N`` prefix keeps non-ASCII text intact whatever the database's
    collation.

    >>> quote_string("O'Hare")
    "N'O''Hare'"
    """
    if not isinstance(value, str):
        raise InvalidNameError(
            f"invalid string value {value!r}: expected str, got {type(value).__name__}"
        )
    if "\x00" in value:
        raise InvalidNameError(f"invalid string value {value!r}: it contains a NUL character")
    return "N'" + value.replace("'", "''") + "'"

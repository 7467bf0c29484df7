"""Quote names and values for T-SQL text.

Every statement the library builds as text passes names through
:func:`quote_identifier` and string values through :func:`quote_string`, so a
database called ``we]ird`` or ``O'Hare`` stays one name, and a name such as
``x]; DROP DATABASE [y`` stays one (odd) name instead of becoming a second
statement.
"""

from __future__ import annotations

from .errors import InvalidNameError

__all__ = ["MAX_NAME_LENGTH", "check_name", "quote_identifier", "quote_string"]

# SQL Server identifiers (sysname) hold at most 128 characters.
MAX_NAME_LENGTH = 128


def check_name(name: str, *, kind: str = "database name") -> str:
    """Return ``name`` unchanged when SQL Server can store it as a sysname.

    Raises :class:`~ontime_db.errors.InvalidNameError` for an empty name, a
    name longer than 128 characters, a name with a NUL character, or one
    with leading or trailing white space (SQL Server trims trailing spaces,
    so such a name would silently refer to another object).

    >>> check_name("ontimems.25.8")
    'ontimems.25.8'
    """
    if not isinstance(name, str):
        raise InvalidNameError(
            f"invalid {kind} {name!r}: expected a string, got {type(name).__name__}"
        )
    if not name:
        raise InvalidNameError(f"invalid {kind} '': a name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"invalid {kind} {name!r}: {len(name)} characters, "
            f"SQL Server allows at most {MAX_NAME_LENGTH}"
        )
    if "\x00" in name:
        raise InvalidNameError(f"invalid {kind} {name!r}: it contains a NUL character")
    if name != name.strip():
        raise InvalidNameError(
            f"invalid {kind} {name!r}: remove the leading or trailing white space"
        )
    return name


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

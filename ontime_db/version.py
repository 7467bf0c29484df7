"""The OnTime schema version: a (major, minor) pair such as 25.8.

A database states its schema version in the ``api`` schema's extended
properties ``compatibility_major`` and ``compatibility_minor``. Before
product 2.8 the default database name carried it too (``ontimems.25.8``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidSchemaVersion

__all__ = ["SchemaVersion"]

_VERSION = re.compile(r"\s*([0-9]{1,9})(?:\.([0-9]{1,9}))?\s*")
# A name ending in ".<major>.<minor>", as the vendor named databases before 2.8.
_NAME_SUFFIX = re.compile(r"\.([0-9]{1,9})\.([0-9]{1,9})$")


@dataclass(frozen=True, order=True)
class SchemaVersion:
    """An OnTime schema version, ordered by major then minor.

    >>> SchemaVersion.parse("15") < SchemaVersion.parse("25.8")
    True
    """

    major: int
    minor: int = 0

    def __post_init__(self) -> None:
        for field, value in (("major", self.major), ("minor", self.minor)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidSchemaVersion(
                    f"invalid schema version {field} {value!r}: expected an integer >= 0"
                )

    @classmethod
    def parse(cls, text: str | SchemaVersion) -> SchemaVersion:
        """Parse ``"15.0"`` or ``"15"`` (minor 0).

        Raises :class:`~ontime_db.errors.InvalidSchemaVersion`, a
        ``ValueError``, showing the input.
        """
        if isinstance(text, SchemaVersion):
            return text
        if not isinstance(text, str):
            raise InvalidSchemaVersion(
                f"invalid schema version {text!r}: expected a string such as '25.8'"
            )
        match = _VERSION.fullmatch(text)
        if match is None:
            raise InvalidSchemaVersion(
                f"invalid schema version {text!r}: expected MAJOR or MAJOR.MINOR, "
                "for example '15' or '25.8'"
            )
        return cls(int(match.group(1)), int(match.group(2) or 0))

    @classmethod
    def from_database_name(cls, name: str) -> SchemaVersion | None:
        """Return the version a pre-2.8 database name carries, or ``None``.

        >>> SchemaVersion.from_database_name("ontimems.25.8")
        SchemaVersion(major=25, minor=8)
        >>> SchemaVersion.from_database_name("ontimems") is None
        True
        """
        match = _NAME_SUFFIX.search(name)
        if match is None:
            return None
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def upgrade_procedure(self) -> str:
        """Name of the legacy procedure that copies data from this version."""
        return f"UPGRADE_{self.major}_{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

"""The vendor's upgrade starting points, keyed by the product version from the About box.

The vendor's quick upgrade picks one script per starting point:
1.1, 1.2.0.4, 1.2.2.0, 1.3+, 1.5+, 2.0.0, 2.0.1+, 2.5.0, 2.5.0a+, 2.6.0,
2.6.2+, 2.7.0+ and 2.8.0+. A point without "+" covers exactly that release
(``1.1`` and ``1.1.0`` are the same release). A point with "+" covers that
release and every later one up to the next listed point, so 2.0.2 uses
2.0.1+ and 3.9.4 uses 2.8.0+. A release between an exact point and the next
point, such as 2.6.1, matches no starting point and is rejected.

Vendor version strings are one to four numbers and an optional letter
(``2.5.0a``). The letter marks a later build of the same release, so
2.5.0 < 2.5.0a < 2.5.0b < 2.5.1. :mod:`packaging` reads ``2.5.0a`` as the
pre-release 2.5.0a0, which sorts before 2.5.0. So the letter is split off
and compared after the numeric part, which is compared as a
:class:`packaging.version.Version`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from packaging.version import Version

from .errors import InvalidProductVersion
from .version import SchemaVersion

__all__ = [
    "CATERING_SINCE",
    "POLLARITY_SINCE",
    "STARTING_POINTS",
    "ProductVersion",
    "Route",
    "StartingPoint",
    "starting_point",
]

Route = Literal["legacy", "incremental"]

_PRODUCT = re.compile(r"([0-9]{1,6}(?:\.[0-9]{1,6}){0,3})([a-z])?", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class ProductVersion:
    """A vendor product version such as ``2.6.2`` or ``2.5.0a``, ordered as the vendor orders them.

    >>> ProductVersion.parse("2.5.0") < ProductVersion.parse("2.5.0a")
    True
    >>> ProductVersion.parse("2.5.0a") < ProductVersion.parse("2.5.1")
    True
    """

    release: Version
    letter: str = ""
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> ProductVersion:
        """Parse a version as the About box shows it.

        Raises :class:`~ontime_db.errors.InvalidProductVersion` for anything
        but one to four dot-separated numbers with an optional letter.
        """
        if not isinstance(text, str):
            raise InvalidProductVersion(
                f"invalid product version {text!r}: expected a string such as '2.6.2'"
                f"; {_list_points()}"
            )
        match = _PRODUCT.fullmatch(text.strip())
        if match is None:
            raise InvalidProductVersion(
                f"invalid product version {text!r}: expected numbers separated by dots "
                f"with an optional letter, as in '2.6.2' or '2.5.0a'; {_list_points()}"
            )
        return cls(Version(match.group(1)), (match.group(2) or "").lower(), text.strip())

    def __str__(self) -> str:
        return self.text or f"{self.release}{self.letter}"


# The vendor requires the Pollarity database when upgrading from before 2.7
# and the Catering database when upgrading from before 3.8.
POLLARITY_SINCE = ProductVersion.parse("2.7")
CATERING_SINCE = ProductVersion.parse("3.8")


@dataclass(frozen=True)
class StartingPoint:
    """One row of the vendor's list of upgrade starting points.

    ``schema_low`` and ``schema_high`` bound the schema version that the
    route expects the database to be at (``None``: no upper bound). They are
    the reference values of the reference schema scripts that ship with
    ontime_db, not figures published by the vendor. ``product`` is the
    version that :func:`starting_point` mapped to this row, ``None`` in
    :data:`STARTING_POINTS`.
    """

    label: str
    first: ProductVersion
    open_ended: bool
    route: Route
    schema_low: SchemaVersion
    schema_high: SchemaVersion | None
    product: ProductVersion | None = None

    @property
    def requires_pollarity(self) -> bool:
        """Whether the vendor requires the Pollarity database to be created on this upgrade."""
        return (self.product or self.first) < POLLARITY_SINCE

    @property
    def requires_catering(self) -> bool:
        """Whether the vendor requires the Catering database to be created on this upgrade."""
        return (self.product or self.first) < CATERING_SINCE

    def expects(self, version: SchemaVersion) -> bool:
        """Return whether a database at schema ``version`` fits this starting point."""
        if version < self.schema_low:
            return False
        return self.schema_high is None or version <= self.schema_high

    @property
    def expected_schema(self) -> str:
        """The expected schema version as text: ``9.3`` or ``25.8 or later``."""
        if self.schema_high is None:
            return f"{self.schema_low} or later"
        if self.schema_high == self.schema_low:
            return str(self.schema_low)
        return f"{self.schema_low} to {self.schema_high}"

    def __str__(self) -> str:
        return self.label


def _point(label: str, route: Route, low: str, high: str | None) -> StartingPoint:
    open_ended = label.endswith("+")
    return StartingPoint(
        label=label,
        first=ProductVersion.parse(label.rstrip("+")),
        open_ended=open_ended,
        route=route,
        schema_low=SchemaVersion.parse(low),
        schema_high=None if high is None else SchemaVersion.parse(high),
    )


# Reference schema versions: product 1.x databases are at 9.3, 2.0 to 2.7 at
# 15.0, and from 2.8 on at 25.8 or later.
STARTING_POINTS: tuple[StartingPoint, ...] = (
    _point("1.1", "legacy", "9.3", "9.3"),
    _point("1.2.0.4", "legacy", "9.3", "9.3"),
    _point("1.2.2.0", "legacy", "9.3", "9.3"),
    _point("1.3+", "legacy", "9.3", "9.3"),
    _point("1.5+", "legacy", "9.3", "9.3"),
    _point("2.0.0", "legacy", "15.0", "15.0"),
    _point("2.0.1+", "legacy", "15.0", "15.0"),
    _point("2.5.0", "legacy", "15.0", "15.0"),
    _point("2.5.0a+", "legacy", "15.0", "15.0"),
    _point("2.6.0", "legacy", "15.0", "15.0"),
    _point("2.6.2+", "legacy", "15.0", "15.0"),
    _point("2.7.0+", "legacy", "15.0", "15.0"),
    _point("2.8.0+", "incremental", "25.8", None),
)


def _list_points() -> str:
    return "the vendor's starting points are " + ", ".join(p.label for p in STARTING_POINTS)


def starting_point(product_version: str | ProductVersion) -> StartingPoint:
    """Map a product version to the vendor's starting point for the upgrade.

    Raises :class:`~ontime_db.errors.InvalidProductVersion`, listing the
    starting points, when the string is malformed, the release is older
    than 1.1, or it falls between an exact point and the next one.

    >>> starting_point("2.0.2").label
    '2.0.1+'
    >>> starting_point("2.5.0a").label
    '2.5.0a+'
    """
    if isinstance(product_version, ProductVersion):
        version = product_version
    else:
        version = ProductVersion.parse(product_version)

    candidates = [point for point in STARTING_POINTS if point.first <= version]
    if not candidates:
        raise InvalidProductVersion(
            f"product version {str(version)!r} is older than the first starting point "
            f"{STARTING_POINTS[0].label}; {_list_points()}",
            version=str(version),
        )

    point = candidates[-1]
    if point.open_ended or point.first == version:
        return replace(point, product=version)

    following = STARTING_POINTS[len(candidates)]
    raise InvalidProductVersion(
        f"product version {str(version)!r} matches no starting point: {point.label} covers "
        f"only release {point.first} and {following.label} starts at {following.first}, and "
        f"the vendor lists no upgrade script for the releases between them. Leave the product "
        "version out (--from-product) so that the database's schema version chooses the "
        f"route, or give the listed release the About box shows ({point.first} or "
        f"{following.first}); {_list_points()}",
        version=str(version),
    )

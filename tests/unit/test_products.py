"""The vendor's starting points: mapping product versions, ordering vendor version strings."""

from __future__ import annotations

import pytest

from ontime_db.errors import InvalidProductVersion
from ontime_db.products import STARTING_POINTS, ProductVersion, starting_point
from ontime_db.version import SchemaVersion

POINTS = (
    "1.1, 1.2.0.4, 1.2.2.0, 1.3+, 1.5+, 2.0.0, 2.0.1+, 2.5.0, 2.5.0a+, 2.6.0, 2.6.2+, 2.7.0+, "
    "2.8.0+"
)


@pytest.mark.parametrize(
    ("product", "label"),
    [
        # each listed starting point maps to itself
        ("1.1", "1.1"),
        ("1.2.0.4", "1.2.0.4"),
        ("1.2.2.0", "1.2.2.0"),
        ("1.3", "1.3+"),
        ("1.5", "1.5+"),
        ("2.0.0", "2.0.0"),
        ("2.0.1", "2.0.1+"),
        ("2.5.0", "2.5.0"),
        ("2.5.0a", "2.5.0a+"),
        ("2.6.0", "2.6.0"),
        ("2.6.2", "2.6.2+"),
        ("2.7.0", "2.7.0+"),
        ("2.8.0", "2.8.0+"),
        # releases covered by a "+" point
        ("1.4.2", "1.3+"),
        ("1.9.9", "1.5+"),
        ("2.0.2", "2.0.1+"),
        ("2.0.3", "2.0.1+"),
        ("2.4.9", "2.0.1+"),
        ("2.5.0b", "2.5.0a+"),
        ("2.5.1", "2.5.0a+"),
        ("2.6.5", "2.6.2+"),
        ("2.7.9", "2.7.0+"),
        ("3.9.4", "2.8.0+"),
        ("10.0", "2.8.0+"),
        # the same release written with fewer or more parts, or another case
        ("1.1.0", "1.1"),
        ("1.1.0.0", "1.1"),
        ("2.0", "2.0.0"),
        ("2.8", "2.8.0+"),
        ("2.5.0A", "2.5.0a+"),
        (" 2.6.2 ", "2.6.2+"),
    ],
)
def test_starting_point(product: str, label: str) -> None:
    assert starting_point(product).label == label


def test_letter_after_release() -> None:
    assert ProductVersion.parse("2.5.0") < ProductVersion.parse("2.5.0a")
    assert ProductVersion.parse("2.5.0a") < ProductVersion.parse("2.5.0b")
    assert ProductVersion.parse("2.5.0b") < ProductVersion.parse("2.5.1")


def test_letter_not_prerelease() -> None:
    """packaging alone would order 2.5.0a before 2.5.0; the vendor orders it after."""
    from packaging.version import Version

    assert Version("2.5.0a") < Version("2.5.0")
    assert starting_point("2.5.0").label == "2.5.0"
    assert starting_point("2.5.0a").label == "2.5.0a+"


def test_equal_releases() -> None:
    assert ProductVersion.parse("1.1") == ProductVersion.parse("1.1.0.0")


def test_product_kept_on_point() -> None:
    point = starting_point("3.9.4")
    assert str(point.product) == "3.9.4"
    assert STARTING_POINTS[-1].product is None


@pytest.mark.parametrize(
    ("product", "message"),
    [
        (
            "1.0",
            "product version '1.0' is older than the first starting point 1.1; "
            f"the vendor's starting points are {POINTS}",
        ),
        (
            "0.9.9",
            "product version '0.9.9' is older than the first starting point 1.1; "
            f"the vendor's starting points are {POINTS}",
        ),
        (
            "1.1.1",
            f"product version '1.1.1' matches no starting point: 1.1 covers only release "
            f"1.1 and 1.2.0.4 starts at 1.2.0.4, and the vendor lists no upgrade script for "
            "the releases between them. Leave the product version out (--from-product) so that "
            "the database's schema version chooses the route, or give the listed release the "
            f"About box shows (1.1 or 1.2.0.4); the vendor's starting points are {POINTS}",
        ),
        (
            "2.6.1",
            f"product version '2.6.1' matches no starting point: 2.6.0 covers only release "
            f"2.6.0 and 2.6.2+ starts at 2.6.2, and the vendor lists no upgrade script for "
            "the releases between them. Leave the product version out (--from-product) so that "
            "the database's schema version chooses the route, or give the listed release the "
            f"About box shows (2.6.0 or 2.6.2); the vendor's starting points are {POINTS}",
        ),
        (
            "2.0.0a",
            f"product version '2.0.0a' matches no starting point: 2.0.0 covers only release "
            f"2.0.0 and 2.0.1+ starts at 2.0.1, and the vendor lists no upgrade script for "
            "the releases between them. Leave the product version out (--from-product) so that "
            "the database's schema version chooses the route, or give the listed release the "
            f"About box shows (2.0.0 or 2.0.1); the vendor's starting points are {POINTS}",
        ),
    ],
    ids=["before-first", "far-before-first", "after-exact-1.1", "gap-2.6.1", "letter-on-exact"],
)
def test_no_starting_point(product: str, message: str) -> None:
    with pytest.raises(InvalidProductVersion) as caught:
        starting_point(product)
    assert str(caught.value) == message
    assert caught.value.version == product


MALFORMED = "expected numbers separated by dots with an optional letter, as in '2.6.2' or '2.5.0a'"


@pytest.mark.parametrize(
    "product",
    ["", "x", "2.", ".2", "2..5", "2.5.0aa", "2.5.0-a", "1.2.3.4.5", "v2.8", "2.8 beta", "2,8"],
    ids=[
        "empty",
        "word",
        "trailing-dot",
        "leading-dot",
        "double-dot",
        "two-letters",
        "hyphen",
        "five-parts",
        "v-prefix",
        "space-word",
        "comma",
    ],
)
def test_malformed(product: str) -> None:
    with pytest.raises(InvalidProductVersion) as caught:
        starting_point(product)
    assert str(caught.value) == (
        f"invalid product version {product!r}: {MALFORMED}; "
        f"the vendor's starting points are {POINTS}"
    )


def test_not_a_string() -> None:
    with pytest.raises(InvalidProductVersion, match=r"^invalid product version 2\.8: expected"):
        starting_point(2.8)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("product", "route", "expected"),
    [
        ("1.1", "legacy", "9.3"),
        ("1.5.3", "legacy", "9.3"),
        ("2.0.0", "legacy", "15.0"),
        ("2.6.2", "legacy", "15.0"),
        ("2.7.1", "legacy", "15.0"),
        ("2.8.0", "incremental", "25.8 or later"),
        ("3.9.4", "incremental", "25.8 or later"),
    ],
)
def test_route_and_schema(product: str, route: str, expected: str) -> None:
    point = starting_point(product)
    assert point.route == route
    assert point.expected_schema == expected


def test_expects_schema() -> None:
    assert starting_point("1.5").expects(SchemaVersion(9, 3))
    assert not starting_point("1.5").expects(SchemaVersion(15, 0))
    assert starting_point("2.8").expects(SchemaVersion(26, 4))
    assert not starting_point("2.8").expects(SchemaVersion(15, 0))


@pytest.mark.parametrize(
    ("product", "pollarity", "catering"),
    [
        ("2.6.2", True, True),
        ("2.7.0", False, True),
        ("3.7.9", False, True),
        ("3.8", False, False),
        ("3.9.4", False, False),
    ],
)
def test_addons_required(product: str, pollarity: bool, catering: bool) -> None:
    point = starting_point(product)
    assert point.requires_pollarity is pollarity
    assert point.requires_catering is catering


def test_points_ordered() -> None:
    firsts = [point.first for point in STARTING_POINTS]
    assert firsts == sorted(firsts)
    assert ", ".join(point.label for point in STARTING_POINTS) == POINTS

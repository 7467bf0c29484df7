"""Command-line verbs (registered by ontime_db.cli)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add this module's verbs to ``subparsers``."""
    del subparsers


def _unused(args: argparse.Namespace) -> int:
    return 0

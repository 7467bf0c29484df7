"""Shared test settings; the live-server fixtures come from the ontime_db.testing plugin."""

pytest_plugins = ["pytester"]

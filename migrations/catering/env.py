"""Alembic environment of the Catering add-on migration set of ontime_db.

Run it through `python -m ontime_db migrate` or ontime_db.migration; the
shared logic lives in ontime_db.migration.runtime.
"""

from ontime_db.migration.runtime import run_environment

run_environment()

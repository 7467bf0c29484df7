"""Alembic environment of the Catering add-on migration set of ontime_db.

Run it through `python -m ontime_db migrate` or ontime_db.migrate; the
shared logic lives in ontime_db.migrate.runtime.
"""

from ontime_db.migrate.runtime import run_environment

run_environment()

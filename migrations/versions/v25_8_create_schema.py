"""Schema 25.8: the full create script (reference set, not the vendor's schema).

A database created by the legacy route already is at 25.8; migrate
baselines it at this revision instead of running the script.

Revision ID: 25.8
Revises: None
"""

from ontime_db.migration.runtime import run_script

revision = "25.8"
down_revision = None
branch_labels = None
depends_on = None

description = "create schema 25.8"
script = "ontimems/ontimems.sql"
transactional = True


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

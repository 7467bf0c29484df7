"""Pollarity schema 1.0: the full create script (reference set, not the vendor's schema).

Revision ID: 1.0
Revises: None
"""

from ontime_db.migration.runtime import run_script

revision = "1.0"
down_revision = None
branch_labels = None
depends_on = None

description = "create Pollarity schema 1.0"
script = "pollarity/pollarity.sql"
transactional = True


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

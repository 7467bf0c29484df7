"""Schema 26.4: ALLOW_SNAPSHOT_ISOLATION ON, which cannot run in a transaction.

Revision ID: 26.4
Revises: 26.3
"""

from ontime_db.migration.runtime import run_script

revision = "26.4"
down_revision = "26.3"
branch_labels = None
depends_on = None

description = "allow snapshot isolation"
script = "ontimems/V26_4__allow_snapshot_isolation.sql"
transactional = False


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

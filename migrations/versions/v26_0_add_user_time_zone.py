"""Schema 26.0: users.time_zone, NOT NULL with the default N'UTC'.

Revision ID: 26.0
Revises: 25.8
"""

from ontime_db.migration.runtime import run_script

revision = "26.0"
down_revision = "25.8"
branch_labels = None
depends_on = None

description = "add user time zone"
script = "ontimems/V26_0__add_user_time_zone.sql"
transactional = True


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

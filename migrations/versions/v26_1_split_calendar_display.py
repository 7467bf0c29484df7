"""Schema 26.1: calendars.color moves to the new table dbo.calendar_display.

Revision ID: 26.1
Revises: 26.0
"""

from ontime_db.migration.runtime import run_script

revision = "26.1"
down_revision = "26.0"
branch_labels = None
depends_on = None

description = "split calendar display settings"
script = "ontimems/V26_1__split_calendar_display.sql"
transactional = True


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

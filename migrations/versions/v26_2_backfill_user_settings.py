"""Schema 26.2: dbo.user_settings, filled from the global 'default.*' settings.

Revision ID: 26.2
Revises: 26.1
"""

from ontime_db.migration.runtime import run_script

revision = "26.2"
down_revision = "26.1"
branch_labels = None
depends_on = None

description = "backfill per-user settings"
script = "ontimems/V26_2__backfill_user_settings.sql"
transactional = True


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

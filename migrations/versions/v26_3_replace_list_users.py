"""Schema 26.3: api.list_users also returns time_zone and created_at.

Revision ID: 26.3
Revises: 26.2
"""

from ontime_db.migration.runtime import run_script

revision = "26.3"
down_revision = "26.2"
branch_labels = None
depends_on = None

description = "replace api.list_users"
script = "ontimems/V26_3__replace_list_users.sql"
transactional = True


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

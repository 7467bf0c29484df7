"""Catering schema 1.1: orders.notes, NOT NULL with the default N''.

Revision ID: 1.1
Revises: 1.0
"""

from ontime_db.migration.runtime import run_script

revision = "1.1"
down_revision = "1.0"
branch_labels = None
depends_on = None

description = "add order notes"
script = "catering/V1_1__add_order_notes.sql"
transactional = True


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

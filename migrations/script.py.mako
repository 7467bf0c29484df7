"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from ontime_db.migration.runtime import run_script

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None

description = ${repr(message)}
# The T-SQL file this revision runs, relative to the sql/ folder.
script = "FOLDER/V${up_revision.replace('.', '_')}__DESCRIPTION.sql"
# False when the script contains statements SQL Server refuses inside a
# transaction (ALTER DATABASE ... SET, BACKUP ...): it then runs in autocommit
# mode and the plan marks it as not rollback-safe.
transactional = True


def upgrade() -> None:
    run_script(revision)


def downgrade() -> None:
    raise NotImplementedError(
        "ontime_db does not downgrade; restore the backup taken before the migration "
        "with `python -m ontime_db rollback`"
    )

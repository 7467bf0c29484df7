"""Run the command-line tool: ``python -m ontime_db``."""

from ontime_db.cli import main

raise SystemExit(main())

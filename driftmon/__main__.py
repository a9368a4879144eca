"""``python -m driftmon``."""

from driftmon.cli import main

raise SystemExit(main())

"""``python -m driftmon``."""

from driftmon.cli import main

if __name__ == "__main__":  # worker processes may import this module: never run main() then
    raise SystemExit(main())

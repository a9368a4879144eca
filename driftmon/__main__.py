"""``python -m driftmon``."""

from driftmon.cli import console

if __name__ == "__main__":  # worker processes may import this module: never run main() then
    console()

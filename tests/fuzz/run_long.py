"""The long fuzz campaign (not part of CI): every fuzz target with a large budget.

    .venv/bin/python tests/fuzz/run_long.py [--examples 2500] [--seed 0]

Runs ``tests/fuzz`` in this process with ``DRIFTMON_FUZZ_EXAMPLES`` examples per target
(4 file targets: 2,500 each is 10,000 cases; the HTTP target runs that many against each of
its 2 daemons), derandomized unless ``--seed`` picks a seed, then prints the cases run, the time taken and how the cases ended (exit codes of
``check`` and the kinds of evaluation errors). Exit status: pytest's (0: no finding).
A case stuck for 10 minutes dumps every thread's stack and ends the run (a hang is a finding).
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2500, help="examples per fuzz target (default 2500)")
    parser.add_argument("--seed", type=int, default=None, help="a hypothesis seed instead of derandomized examples")
    args = parser.parse_args()
    os.environ["DRIFTMON_FUZZ_EXAMPLES"] = str(args.examples)
    extra = []
    if args.seed is not None:
        os.environ["DRIFTMON_FUZZ_SEED"] = str(args.seed)
        extra = [f"--hypothesis-seed={args.seed}"]
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))
    import pytest

    from tests.fuzz import harness

    faulthandler.dump_traceback_later(600, exit=True)
    started = time.perf_counter()
    status = pytest.main(["-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", "tests/fuzz", *extra])
    elapsed = time.perf_counter() - started
    faulthandler.cancel_dump_traceback_later()
    cases = sum(v for k, v in harness.OUTCOMES.items() if k.startswith(("check exit", "http case")))
    print(f"\nfuzz campaign: {cases} cases in {elapsed:.0f} s ({args.examples} examples per target), pytest exit {status}")
    for outcome, count in harness.OUTCOMES.most_common():
        if outcome.startswith(("check exit", "http ")):
            print(f"  {outcome}: {count}")
    print("  most frequent evaluation errors:")
    for outcome, count in [(k, v) for k, v in harness.OUTCOMES.most_common() if k.startswith("error: ")][:15]:
        print(f"    {count:6d}  {outcome[len('error: '):]}")
    return int(status)


if __name__ == "__main__":
    sys.exit(main())

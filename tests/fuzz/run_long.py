"""The long fuzz campaign (not part of CI): every fuzz target with a large budget.

    .venv/bin/python tests/fuzz/run_long.py [--examples 2500] [--seed 0]

(tests/fuzz/campaign.sh runs every target at once in seeded chunks of this, until a given time.)

Runs ``tests/fuzz`` in this process with ``DRIFTMON_FUZZ_EXAMPLES`` examples per target
(4 file targets: 2,500 each is 10,000 cases; the HTTP target runs that many against each of
its 2 daemons), derandomized unless ``--seed`` picks a seed, then prints the cases run, the
time taken and how the cases ended (exit codes of ``check``, the HTTP cases' endings and
first replies, and the kinds of evaluation errors). Exit status: pytest's (0: no finding).
A case stuck for 10 minutes dumps every thread's stack and ends the run (a hang is a finding);
the alarm is re-armed as each case ends, so a campaign may take hours. Give test files to
run only those targets.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HANG_S = 600  # one case stuck this long is a hang: every thread's stack is dumped and the run ends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2500, help="examples per fuzz target (default 2500)")
    parser.add_argument("--seed", type=int, default=None, help="a hypothesis seed instead of derandomized examples")
    parser.add_argument(
        "targets", nargs="*", default=["tests/fuzz"], help="fuzz test files (default: all of tests/fuzz)"
    )
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

    threading.Thread(target=_watchdog, args=(harness.OUTCOMES,), daemon=True).start()
    started = time.perf_counter()
    status = pytest.main(["-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", *args.targets, *extra])
    elapsed = time.perf_counter() - started
    faulthandler.cancel_dump_traceback_later()
    cases = sum(v for k, v in harness.OUTCOMES.items() if k.startswith(("check exit", "http case")))
    print(
        f"\nfuzz campaign: {cases} cases in {elapsed:.0f} s ({args.examples} examples per target), pytest exit {status}"
    )
    for outcome, count in harness.OUTCOMES.most_common():
        if outcome.startswith(("check exit", "http ", "target ", "subprocess ", "hang")):
            print(f"  {outcome}: {count}")
    print("  most frequent evaluation errors:")
    for outcome, count in [(k, v) for k, v in harness.OUTCOMES.most_common() if k.startswith("error: ")][:15]:
        print(f"    {count:6d}  {outcome[len('error: ') :]}")
    return int(status)


def _watchdog(outcomes: Counter[str]) -> None:
    """Re-arm the hang alarm whenever a case ends: the campaign may run for hours, one case may not run for HANG_S."""
    seen = -1
    while True:
        ended = sum(outcomes.values())
        if ended != seen:
            seen = ended
            # the process's own stderr: pytest's capture of sys.stderr has no file descriptor
            faulthandler.dump_traceback_later(HANG_S, exit=True, file=sys.__stderr__)
        time.sleep(5.0)


if __name__ == "__main__":
    sys.exit(main())

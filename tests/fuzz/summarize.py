"""A campaign's logs (tests/fuzz/campaign.sh) as a Markdown table: per input kind its chunks,
cases, real-process cases, seconds, findings and pytest exit per chunk; then the outcomes.

    python tests/fuzz/summarize.py LOGS [LOGS ...]

A chunk still running (``.part``) is not counted. A target whose label appears in a later
LOGS replaces the earlier one's (a target restarted on fixed code). Findings are counted from
each failed chunk's hypothesis report: a traceback, an ``internal error``, or a hang.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

KINDS = {
    "config-structures": "config structures",
    "config-text": "config text",
    "data-files": "data files (CSV/JSONL/Parquet)",
    "histogram-files": "histogram files",
    "http": "raw HTTP (open daemon and basic auth)",
    "model": "model columns and late labels",
    "quality": "quality and volume settings",
    "segments": "segment values",
    "multivariate": "row samples (multivariate)",
    "moving": "moving references",
}
SUMMARY = re.compile(r"^fuzz campaign: (\d+) cases in (\d+) s .*pytest exit (\d+)", re.M)
COUNT = re.compile(r"^  (check exit \d+|http case [a-z-]+|http first reply \d+|subprocess cases|hang\w*): (\d+)$", re.M)


def chunks(folder: Path, label: str) -> list[tuple[int, str]]:
    found = []
    for path in folder.glob(f"{label}-*.log"):
        seed = path.stem[len(label) + 1 :]
        if seed.isdigit():
            found.append((int(seed), path.read_text(encoding="utf-8", errors="replace")))
    return sorted(found)


def main(folders: list[Path]) -> str:
    chosen: dict[str, tuple[Path, list[tuple[int, str]]]] = {}
    for folder in folders:
        for label in KINDS:
            found = chunks(folder, label)
            if found:
                chosen[label] = (folder, found)
    lines = [
        "| input kind | logs | chunks (seeds) | cases | of them also as a process | seconds | tracebacks "
        "| internal errors | hangs | pytest exit per chunk |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    outcomes: Counter[str] = Counter()
    total = processes = 0
    for label, (folder, found) in chosen.items():
        cases = seconds = subprocess = tracebacks = internal = hangs = 0
        exits = []
        for _, text in found:
            summary = SUMMARY.search(text)
            if summary is None:
                exits.append("?")
                continue
            cases += int(summary.group(1))
            seconds += int(summary.group(2))
            exits.append(summary.group(3))
            for key, value in COUNT.findall(text):
                if key == "subprocess cases" or key.startswith("hang"):
                    subprocess += int(value)
                else:
                    outcomes[key] += int(value)
            # the harness's assertion that failed (pytest marks its line with '>')
            tracebacks += len(re.findall(r'^>\s+assert "Traceback" not in', text, re.M))
            internal += len(re.findall(r'^>\s+assert "internal error" not in', text, re.M))
            hangs += sum(int(v) for k, v in COUNT.findall(text) if k.startswith("hang"))
        seeds = [seed for seed, _ in found]
        span = f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
        lines.append(
            f"| {KINDS[label]} | {folder.parent.name}/{folder.name} | {len(found)} ({span}) | {cases:,} | {subprocess} | {seconds:,} "
            f"| {tracebacks} | {internal} | {hangs} | {', '.join(exits) if len(set(exits)) > 1 else 'all ' + exits[0]} |"
        )
        total += cases
        processes += subprocess
    lines.append(f"| **all** | | | **{total:,}** | **{processes}** | | | | | |")
    checks = ", ".join(f"{k.split()[-1]}: {v:,}" for k, v in sorted(outcomes.items()) if k.startswith("check exit"))
    http = ", ".join(
        f"{k.removeprefix('http case ')} {v:,}" for k, v in outcomes.most_common() if k.startswith("http case")
    )
    replies = ", ".join(
        f"{k.removeprefix('http first reply ')}: {v:,}" for k, v in sorted(outcomes.items()) if "first reply" in k
    )
    lines += ["", f"check exits: {checks}.", f"HTTP cases: {http}; first replies {replies}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main([Path(p) for p in sys.argv[1:]]), end="")

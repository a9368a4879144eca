"""Config errors a new user meets, each in the user's words: the file:line, the key path, the value
given, what is expected in YAML terms and the nearest valid value; one line per problem, sorted by
line, every problem at once, never pydantic's vocabulary."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from driftmon import config
from driftmon.errors import ConfigError

# Line numbers of BASE, which the expected messages below rely on:
BASE = """\
defaults:
  schedule: 30s
  thresholds:
    js: {warning: 0.05, critical: 0.1}
monitors:
  - name: credit
    reference: {type: file, path: ref.csv}
    live: {type: file, path: live.csv}
    features: [age]
"""
SECOND = """\
  - name: fraud
    reference: {type: file, path: ref.csv}
    live: {type: file, path: live.csv}
    features: [amount]
"""

# What no message may contain: pydantic's and Python's vocabulary, regexes, links.
FORBIDDEN = re.compile(
    # `model` is a config key (a monitor's model:), so only pydantic's own model_* words count
    r"pydantic|Input should be|instance of|dictionary|\bmodel_\w+|type=|For further information|errors\.pydantic\.dev"
    r"|\^[\[(]|\(\?:|\\d|\[a-z|\b(?:Cron|Levels|Smoothing|Binning|Settings|Monitor|Feature|ConfigFile|AutoThresholds"
    r"|DatasetDrift|Export|FileSourceConfig|Model|ModelLevels|Multivariate|Quality|ShareLimits|Volume"
    r"|NoneType|dict|str|int|float|bool)\b|Traceback"
)


def edit(*replacements: tuple[str, str], text: str = BASE) -> str:
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


MONITOR = "  - name: credit\n"
FEATURES = "    features: [age]\n"

# (id, config text, expected problem lines as regexes: each must match one line, in this order)
CASES: list[tuple[str, str, list[str]]] = [
    # durations and schedules
    (
        "duration-list",
        edit(("schedule: 30s", "schedule: [5m]")),
        [
            r":2: defaults\.schedule: got a list \[5m\]; expected a duration like 30s, 5m, 1h or a mapping \{cron: \.\.\.\}$"
        ],
    ),
    (
        "duration-number",
        edit(("schedule: 30s", "schedule: 300")),
        [r":2: defaults\.schedule: got 300; expected a duration like 30s, 5m, 1h .*; did you mean '300s'\?$"],
    ),
    (
        "duration-words",
        edit(("schedule: 30s", "schedule: soon")),
        [r":2: defaults\.schedule: 'soon' is not a duration like 30s, 5m, 1h between 1s and 365d$"],
    ),
    (
        "duration-negative",
        edit((FEATURES, FEATURES + "    timeout: -5s\n")),
        [r":10: monitors\[0\]\.timeout \(monitor credit\): '-5s' is negative: use a duration like 30s, 5m, 1h"],
    ),
    (
        "duration-zero",
        edit((FEATURES, FEATURES + "    timeout: 0s\n")),
        [
            r":10: monitors\[0\]\.timeout \(monitor credit\): '0s' is out of range: use a duration like 30s, 5m, 1h between 1s and 365d$"
        ],
    ),
    (
        "cron-not-text",
        edit(("schedule: 30s", "schedule: {cron: 5}")),
        [r":2: defaults\.schedule\.cron: got 5; expected a string like \"\*/5 \* \* \* \*\"$"],
    ),
    (
        "cron-bad",
        edit(("schedule: 30s", "schedule: {cron: '61 * * * *'}")),
        [r":2: defaults\.schedule\.cron: '61 \* \* \* \*' is not a valid crontab expression"],
    ),
    (
        "cron-misspelt",
        edit(("schedule: 30s", "schedule: {crn: '*/5 * * * *'}")),
        [r":2: defaults\.schedule\.crn: unknown key 'crn'; did you mean 'cron'\?$"],
    ),
    (
        "key-of-a-deeper-mapping",  # `bins` is a key of `binning:`, not of a feature: say where it goes
        edit((FEATURES, "    features:\n      - name: age\n        bins: 10\n")),
        [
            r":11: monitors\[0\]\.features\[0\]\.bins \(monitor credit\): unknown key 'bins' here; "
            r"it is a key of 'binning' \(binning: \{bins: \.\.\.\}\)$"
        ],
    ),
    (
        "key-of-elsewhere",  # `path` is a key of a source, nowhere under defaults
        edit(("  schedule: 30s\n", "  schedule: 30s\n  path: x.csv\n")),
        [r":3: defaults\.path: unknown key 'path' here; it is a key of another part of the config$"],
    ),
    (
        "jitter-too-long",
        edit((FEATURES, FEATURES + "    schedule: 1m\n    jitter: 2m\n")),
        [
            r":11: monitors\[0\]\.jitter \(monitor credit\): jitter '2m' must be shorter than the schedule's period \(1m\)$"
        ],
    ),
    # thresholds and levels
    (
        "levels-number",
        edit(("js: {warning: 0.05, critical: 0.1}", "js: 0.1")),
        [r":4: defaults\.thresholds\.js: got 0\.1; expected a mapping \{warning: \.\.\., critical: \.\.\.\} or null$"],
    ),
    (
        "thresholds-list",
        edit(("  thresholds:\n    js: {warning: 0.05, critical: 0.1}", "  thresholds: [js]")),
        [
            r":3: defaults\.thresholds: got a list \[js\]; expected a mapping \{<one of kl, kl_reverse, js, psi, hellinger, tvd>: "
        ],
    ),
    (
        "threshold-unknown-measure",
        edit(("js: {warning", "jsd: {warning")),
        [
            r":4: defaults\.thresholds\.jsd: unknown name 'jsd'; expected one of kl, kl_reverse, js, psi, hellinger, tvd; did you mean 'js'\?$"
        ],
    ),
    (
        "warning-above-critical",
        edit(("warning: 0.05", "warning: 0.5")),
        [r":4: defaults\.thresholds\.js: warning \(0\.5\) must not exceed critical \(0\.1\)$"],
    ),
    (
        "level-negative",
        edit(("warning: 0.05", "warning: -1")),
        [r":4: defaults\.thresholds\.js\.warning: got -1; expected a number >= 0 or auto or null$"],
    ),
    (
        "level-words",
        edit(("warning: 0.05", "warning: high")),
        [r":4: defaults\.thresholds\.js\.warning: got 'high'; expected a number >= 0 or auto or null$"],
    ),
    (
        "level-misspelt",
        edit(("warning: 0.05", "warn: 0.05")),
        [r":4: defaults\.thresholds\.js\.warn: unknown key 'warn'; did you mean 'warning'\?$"],
    ),
    (
        "inherited-warning-above-critical",
        edit((FEATURES, FEATURES + "    thresholds: {js: {critical: 0.01}}\n")),
        [
            r":10: monitors\[0\]\.thresholds\.js \(monitor credit\): warning \(0\.05\) must not exceed critical \(0\.01\); the warning level is inherited$"
        ],
    ),
    (
        "threshold-unmeasured",
        edit((FEATURES, FEATURES + "    thresholds: {tvd: {warning: 0.1}}\n")),
        [r":10: monitors\[0\]\.thresholds\.tvd \(monitor credit\): tvd is not among this monitor's measures"],
    ),
    # measures and enums
    (
        "measure-unknown",
        edit(("schedule: 30s", "schedule: 30s\n  measures: [kl, jsd]")),
        [
            r":3: defaults\.measures\[1\]: got 'jsd'; expected one of kl, kl_reverse, js, psi, hellinger, tvd; did you mean 'js'\?$"
        ],
    ),
    (
        "measures-scalar",
        edit(("schedule: 30s", "schedule: 30s\n  measures: js")),
        [
            r":3: defaults\.measures: got 'js'; expected a non-empty list, each item one of kl, .*; did you mean \[js\]\?$"
        ],
    ),
    (
        "measures-empty",
        edit(("schedule: 30s", "schedule: 30s\n  measures: []")),
        [r":3: defaults\.measures: got an empty list; expected a non-empty list"],
    ),
    (
        "measures-twice",
        edit(("schedule: 30s", "schedule: 30s\n  measures: [js, js]")),
        [r":3: defaults\.measures: measures listed twice: js$"],
    ),
    (
        "log-base",
        edit(("schedule: 30s", "schedule: 30s\n  log_base: 3")),
        [r":3: defaults\.log_base: got 3; expected one of 2, 10, e$"],
    ),
    (
        "correction",
        edit(("schedule: 30s", "schedule: 30s\n  correction: holms")),
        [r":3: defaults\.correction: got 'holms'; expected one of holm, bonferroni, fdr, none; did you mean 'holm'\?$"],
    ),
    # smoothing and binning
    (
        "smoothing-scalar",
        edit(("schedule: 30s", "schedule: 30s\n  smoothing: additive")),
        [
            r":3: defaults\.smoothing: got 'additive'; expected a mapping \{method: \.\.\., alpha: \.\.\., epsilon: \.\.\.\}$"
        ],
    ),
    (
        "smoothing-method",
        edit(("schedule: 30s", "schedule: 30s\n  smoothing: {method: addtive}")),
        [
            r":3: defaults\.smoothing\.method: got 'addtive'; expected one of unseen, additive, epsilon, none; did you mean 'additive'\?$"
        ],
    ),
    (
        "smoothing-alpha-zero",
        edit(("schedule: 30s", "schedule: 30s\n  smoothing: {alpha: 0}")),
        [r":3: defaults\.smoothing\.alpha: got 0; expected a number > 0$"],
    ),
    (
        "binning-scalar",
        edit(("schedule: 30s", "schedule: 30s\n  binning: 10")),
        [
            r":3: defaults\.binning: got 10; expected a mapping \{strategy: \.\.\., bins: \.\.\., edges: \.\.\., max_categories: \.\.\.\}$"
        ],
    ),
    (
        "bins-one",
        edit(("schedule: 30s", "schedule: 30s\n  binning: {bins: 1}")),
        [r":3: defaults\.binning\.bins: got 1; expected a whole number from 2 to 10000$"],
    ),
    (
        "bins-fraction",
        edit(("schedule: 30s", "schedule: 30s\n  binning: {bins: 2.5}")),
        [r":3: defaults\.binning\.bins: got 2\.5; expected a whole number from 2 to 10000$"],
    ),
    (
        "strategy",
        edit(("schedule: 30s", "schedule: 30s\n  binning: {strategy: quantiles}")),
        [
            r":3: defaults\.binning\.strategy: got 'quantiles'; expected one of quantile, uniform; did you mean 'quantile'\?$"
        ],
    ),
    (
        "edges-unordered",
        edit(("features: [age]", "features: [{name: age, binning: {edges: [3, 1]}}]")),
        [
            r":9: monitors\[0\]\.features\[0\]\.binning\.edges \(monitor credit\): edges must be strictly increasing, got \[3\.0, 1\.0\]$"
        ],
    ),
    # features
    (
        "features-mapping",
        edit(("features: [age]", "features: {age: numeric}")),
        [
            r":9: monitors\[0\]\.features \(monitor credit\): got a mapping \{age: numeric\}; expected a non-empty list, each item a string like \"age\" or a mapping \{name: \.\.\."
        ],
    ),
    (
        "features-empty",
        edit(("features: [age]", "features: []")),
        [r":9: monitors\[0\]\.features \(monitor credit\): got an empty list; expected a non-empty list"],
    ),
    (
        "feature-kind",
        edit(("features: [age]", "features: [{name: age, kind: number}]")),
        [
            r":9: monitors\[0\]\.features\[0\]\.kind \(monitor credit\): got 'number'; expected one of numeric, categorical or null; did you mean 'numeric'\?$"
        ],
    ),
    (
        "feature-twice",
        edit(("features: [age]", "features: [age, age]")),
        [r":9: monitors\[0\]\.features \(monitor credit\): features listed twice: age$"],
    ),
    (
        "feature-number",
        edit(("features: [age]", "features: [7]")),
        [
            r":9: monitors\[0\]\.features\[0\] \(monitor credit\): got 7; expected a string like \"age\" or a mapping \{name: "
        ],
    ),
    (
        "features-null-and-empty",
        edit(("features: [age]", "features: [null, {}]")),
        [
            r":9: monitors\[0\]\.features\[0\] \(monitor credit\): got null; expected a string like \"age\" or a mapping \{name: ",
            r":9: monitors\[0\]\.features\[1\]\.name \(monitor credit\): required key 'name' is missing$",
        ],
    ),
    (
        "label-key-number",
        edit((FEATURES, FEATURES + "    labels: {1: x}\n")),
        [
            r":10: monitors\[0\]\.labels\[1\] \(monitor credit\): key 1 is not text; quote it \('1':\) if it is meant as a name$"
        ],
    ),
    # booleans, numbers, ranges
    (
        "boolean",
        edit(("schedule: 30s", "schedule: 30s\n  export: {bins: maybe}")),
        [r":3: defaults\.export\.bins: got 'maybe'; expected true or false$"],
    ),
    (
        "min-samples-negative",
        edit((FEATURES, FEATURES + "    min_samples: -1\n")),
        [r":10: monitors\[0\]\.min_samples \(monitor credit\): got -1; expected a whole number >= 0$"],
    ),
    (
        "min-samples-words",
        edit((FEATURES, FEATURES + "    min_samples: many\n")),
        [r":10: monitors\[0\]\.min_samples \(monitor credit\): got 'many'; expected a whole number >= 0$"],
    ),
    (
        "significance-range",
        edit(("schedule: 30s", "schedule: 30s\n  significance: 5")),
        [r":3: defaults\.significance: got 5; expected a number > 0 and < 1 or null$"],
    ),
    (
        "dataset-drift-share",
        edit(("schedule: 30s", "schedule: 30s\n  dataset_drift: {share: 0}")),
        [r":3: defaults\.dataset_drift\.share: got 0; expected a number > 0 and <= 1$"],
    ),
    # sources
    (
        "source-type-unknown",
        edit(("live: {type: file", "live: {type: fil")),
        [
            r":8: monitors\[0\]\.live \(monitor credit\): unknown source type 'fil'; expected one of file, histogram, prometheus, spark, sql; did you mean 'file'\?$"
        ],
    ),
    (
        "source-type-missing",
        edit(("live: {type: file, path: live.csv}", "live: {path: live.csv}")),
        [
            r":8: monitors\[0\]\.live \(monitor credit\): a source needs a `type:` \(one of file, histogram, prometheus, spark, sql\)$"
        ],
    ),
    (
        "source-scalar",
        edit(("reference: {type: file, path: ref.csv}", "reference: ref.csv")),
        [
            r":7: monitors\[0\]\.reference \(monitor credit\): got 'ref\.csv'; expected a mapping with `type:` one of file, histogram, prometheus, spark, sql or a mapping \{from: \.\.\., window: \.\.\., offset: \.\.\., seasonal: \.\.\., \.\.\.\}$"
        ],
    ),
    (
        "source-key-misspelt",
        edit(("live: {type: file, path: live.csv}", "live: {type: file, pth: live.csv}")),
        [r":8: monitors\[0\]\.live\.pth \(monitor credit\): unknown key 'pth'; did you mean 'path'\?$"],
    ),
    # unknown and missing keys, names
    (
        "unknown-top-level",
        edit(("monitors:", "monitor:")),
        [r":5: monitor: unknown key 'monitor'; did you mean 'monitors'\?$"],
    ),
    (
        "unknown-in-defaults",
        edit(("schedule: 30s", "schedul: 30s")),
        [r":2: defaults\.schedul: unknown key 'schedul'; did you mean 'schedule'\?$"],
    ),
    (
        "unknown-in-monitor",
        edit((FEATURES, FEATURES + "    thresolds_: {}\n")),
        [r":10: monitors\[0\]\.thresolds_ \(monitor credit\): unknown key 'thresolds_'; did you mean 'thresholds'\?$"],
    ),
    (
        "unknown-in-feature",
        edit(("features: [age]", "features: [{name: age, binnig: {bins: 3}}]")),
        [
            r":9: monitors\[0\]\.features\[0\]\.binnig \(monitor credit\): unknown key 'binnig'; did you mean 'binning'\?$"
        ],
    ),
    (
        "missing-name",
        edit((MONITOR + "    reference", "  - reference")),
        [r":6: monitors\[0\]\.name: required key 'name' is missing$"],
    ),
    (
        "missing-reference",
        edit(("    reference: {type: file, path: ref.csv}\n", "")),
        [r":6: monitors\[0\]\.reference \(monitor credit\): required key 'reference' is missing$"],
    ),
    (
        "missing-live",
        edit(("    live: {type: file, path: live.csv}\n", "")),
        [r":6: monitors\[0\]\.live \(monitor credit\): required key 'live' is missing$"],
    ),
    (
        "missing-monitors",
        "defaults: {schedule: 30s}\n",
        [r"driftmon\.yaml: monitors: required key 'monitors' is missing$"],
    ),
    (
        "monitors-mapping",
        "monitors:\n  credit: {}\n",
        [
            r":1: monitors: got a mapping \{credit: \{\}\}; expected a non-empty list, each item a mapping \{name: \.\.\., reference: \.\.\., live: \.\.\., features: \.\.\., \.\.\.\}$"
        ],
    ),
    (
        "duplicate-monitor",
        BASE + SECOND.replace("fraud", "credit"),
        [r":10: monitors\[1\]\.name: duplicate monitor name 'credit' \(also monitors\[0\]\)$"],
    ),
    (
        "monitor-name",
        edit(("name: credit", "name: 'credit risk'")),
        [r":6: monitors\[0\]\.name: got 'credit risk'; expected a name of letters, digits, '_', '\.' and '-'$"],
    ),
    (
        "monitor-name-list",
        edit(("name: credit", "name: []")),
        [r":6: monitors\[0\]\.name: got an empty list; expected a name of letters, digits, '_', '\.' and '-'$"],
    ),
    (
        "labels-list",
        edit((FEATURES, FEATURES + "    labels: [team]\n")),
        [
            r":10: monitors\[0\]\.labels \(monitor credit\): got a list \[team\]; expected a mapping \{<name>: a string, \.\.\.\}$"
        ],
    ),
    (
        "label-reserved",
        edit((FEATURES, FEATURES + "    labels: {job: x}\n")),
        [r":10: monitors\[0\]\.labels \(monitor credit\): label name 'job' is reserved by driftmon or Prometheus$"],
    ),
    # ${VAR}
    (
        "env-unset",
        edit(("path: ref.csv", 'path: "${NOPE_NOT_SET}"')),
        [
            r":7: monitors\[0\]\.reference\.path \(monitor credit\): environment variable NOPE_NOT_SET is not set \(used as \$\{NOPE_NOT_SET\}\)$"
        ],
    ),
    (
        "env-unclosed",
        edit(("path: ref.csv", 'path: "${DATA_DIR/ref.csv"')),
        [
            r":7: monitors\[0\]\.reference\.path \(monitor credit\): '\$\{DATA_DIR/ref\.csv' has a \$\{ that is not a variable reference like \$\{NAME\}"
        ],
    ),
]

# Whole-file problems: (id, text, expected message regex)
FILE_CASES: list[tuple[str, str, str]] = [
    (
        "tab",
        edit(("  schedule: 30s", "\tschedule: 30s")),
        r"driftmon\.yaml:2:1: invalid YAML: a tab character; YAML indents with spaces only$",
    ),
    (
        "unclosed-quote",
        edit(("name: credit", 'name: "credit')),
        r"driftmon\.yaml:6:11: invalid YAML: a quoted string that is never closed \(add the closing quote\)$",
    ),
    ("empty", "", r"driftmon\.yaml: the config file is empty; it needs at least `monitors:`$"),
    ("only-comments", "# nothing yet\n", r"driftmon\.yaml: the config file is empty"),
    (
        "top-level-list",
        "- name: credit\n",
        r"driftmon\.yaml: the top level must be a mapping with `monitors:` \(and `defaults:`\), not a list \[\{name: credit\}\]$",
    ),
    ("top-level-text", "monitors\n", r"driftmon\.yaml: the top level must be a mapping .*, not 'monitors'$"),
]


def problem_lines(write: Callable[[str, str], Path], text: str, **env: str) -> tuple[str, list[str]]:
    with pytest.raises(ConfigError) as caught:
        config.loads(text, write("driftmon.yaml", text), env)
    message = str(caught.value)
    return message, message.splitlines()[1:]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_config_mistake_is_explained_in_the_users_words(
    write: Callable[[str, str], Path], text: str, expected: list[str]
) -> None:
    """Each typical mistake gives exactly the expected problem lines: file:line, key path, value, expectation."""
    message, lines = problem_lines(write, text)
    assert message.splitlines()[0].endswith(
        f"driftmon.yaml: {len(expected)} problem{'s' * (len(expected) != 1)} in the config:"
    )
    assert len(lines) == len(expected), message
    for line, pattern in zip(lines, expected, strict=True):
        assert re.search(pattern, line), f"{pattern!r} not in {line!r}"
        assert line.startswith("  ") and str(Path(write("x", ""))).rsplit("/", 1)[0] in line
    assert not FORBIDDEN.search(message), FORBIDDEN.search(message)


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in FILE_CASES], ids=[case[0] for case in FILE_CASES])
def test_unreadable_file_is_one_clear_line(write: Callable[[str, str], Path], text: str, expected: str) -> None:
    """YAML slips and files of the wrong shape are one line naming the file (and line:column)."""
    with pytest.raises(ConfigError) as caught:
        config.loads(text, write("driftmon.yaml", text), {})
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert re.search(expected, message), message
    assert not FORBIDDEN.search(message), FORBIDDEN.search(message)


def test_table_covers_thirty_mistakes() -> None:
    """The table above is the issue's list of typical mistakes: at least 30 of them."""
    assert len(CASES) + len(FILE_CASES) >= 30
    assert len({case[0] for case in CASES + FILE_CASES}) == len(CASES) + len(FILE_CASES)  # type: ignore[operator]


def test_every_problem_at_once_sorted_by_line_without_duplicates(write: Callable[[str, str], Path]) -> None:
    """Problems of every stage (${VAR}, values, ordering of levels, checks after merging) come in one
    report, one line each, in the order of the file."""
    text = (
        BASE.replace("warning: 0.05", "warning: 0.5")  # line 4: warning above critical
        .replace("schedule: 30s", "min_samples: [30]")  # line 2: wrong kind; the other defaults still apply
        .replace("path: ref.csv", 'path: "${NOPE_NOT_SET}"')  # line 7: unset variable
        + SECOND.replace("features: [amount]", "features: [amount]\n    thresholds: {tvd: {warning: 0.1}}")  # line 14
        + "  - name: third\n    reference: {type: file, path: r.csv}\n    live: {type: fil, path: l.csv}\n    features: [x]\n"
    )
    message, lines = problem_lines(write, text)
    numbers = [int(re.search(r"\.yaml:(\d+):", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert numbers == [2, 4, 7, 14, 17], message
    assert len(set(lines)) == len(lines)
    assert "5 problems" in message.splitlines()[0]


def test_model_checks_run_even_when_other_fields_fail(write: Callable[[str, str], Path]) -> None:
    """warning > critical in one monitor is reported even though another monitor and the same
    monitor's other keys are broken (the issue: one error hid another)."""
    text = BASE.replace(
        FEATURES, FEATURES + "    thresholds: {psi: {warning: 0.3, critical: 0.2}}\n    min_samples: x\n"
    )
    message, lines = problem_lines(write, text)
    assert any(
        "monitors[0].thresholds.psi" in line and "warning (0.3) must not exceed critical (0.2)" in line
        for line in lines
    ), message
    assert any("monitors[0].min_samples" in line for line in lines), message


def test_merge_checks_run_for_valid_monitors_when_another_is_broken(write: Callable[[str, str], Path]) -> None:
    """A threshold of a measure the monitor does not compute is found even when another monitor fails validation."""
    text = BASE.replace(FEATURES, FEATURES + "    thresholds: {tvd: {warning: 0.1}}\n") + SECOND.replace(
        "features: [amount]", "features: {}"
    )
    message, lines = problem_lines(write, text)
    assert len(lines) == 2, message
    assert "tvd is not among this monitor's measures" in lines[0] and "monitors[1].features" in lines[1]


def test_values_from_unset_variables_are_not_reported_twice(write: Callable[[str, str], Path]) -> None:
    """An unset ${VAR} in a number's place is one problem (the variable), not also a wrong number."""
    text = BASE.replace(FEATURES, FEATURES + "    min_samples: ${MIN_ROWS}\n")
    message, lines = problem_lines(write, text)
    assert len(lines) == 1 and "environment variable MIN_ROWS is not set" in lines[0], message
    assert config.loads(text, write("driftmon.yaml", text), {"MIN_ROWS": "7"}).monitors[0].min_samples == 7


def test_monitor_named_only_when_its_name_is_unique(write: Callable[[str, str], Path]) -> None:
    """Lines name the monitor beside its index, except when the name is shared (then it would mislead)."""
    text = BASE + SECOND.replace("fraud", "credit").replace(
        "features: [amount]", "features: [amount]\n    min_samples: -1"
    )
    _, lines = problem_lines(write, text)
    assert any(line.endswith("monitors[1].min_samples: got -1; expected a whole number >= 0") for line in lines), lines


def _paths(node: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path in a YAML document (mappings and lists), parents before children."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


ODD_VALUES = [[], "x", -1, None, {"a": 1}]


def test_odd_values_anywhere_are_explained_without_internals(tmp_path: Path) -> None:
    """Every key of a config that uses every setting and source type, set to each of a few odd values,
    loads or gives one line per problem in the user's words (never pydantic's vocabulary or an internal error)."""
    import yaml

    from tests.test_config_schema import KITCHEN_SINK

    document = yaml.safe_load(KITCHEN_SINK)
    checked = 0
    for path in _paths(document):
        if isinstance(path[-1], int) and path[-1] > 0 and path[-2] != "monitors":
            continue  # the first item of a list stands for the others
        for value in ODD_VALUES:
            changed = yaml.safe_load(KITCHEN_SINK)
            node = changed
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
            text = yaml.safe_dump(changed, sort_keys=False)
            try:
                config.loads(text, tmp_path / "odd.yaml", {})
                continue
            except ConfigError as error:
                message = str(error)
            checked += 1
            assert not FORBIDDEN.search(message), (path, value, message)
            lines = message.splitlines()
            assert lines[0].endswith("in the config:") and len(lines) >= 2, (path, value, message)
            assert all(re.match(r"  \S*odd\.yaml(:\d+)?: \S", line) for line in lines[1:]), (path, value, message)
            assert len(set(lines)) == len(lines), (path, value, message)
    assert checked > 300


def test_a_number_too_large_for_a_float_is_a_config_error(write: Callable[[str, str], Path]) -> None:
    """A 400-digit schedule used to end in "internal error (OverflowError...)" from the hint."""
    message, lines = problem_lines(write, edit(("schedule: 30s", "schedule: " + "9" * 400)))
    assert len(lines) == 1 and "defaults.schedule" in lines[0] and "expected" in lines[0]
    assert "Overflow" not in message and "did you mean" not in message


def test_a_password_given_as_a_number_is_not_echoed(write: Callable[[str, str], Path]) -> None:
    live = "live: {type: prometheus, url: 'http://127.0.0.1:9090', window: 1h, basic_auth: {username: u, password: 98765432}}"
    message, lines = problem_lines(write, edit(("live: {type: file, path: live.csv}", live)))
    assert any("basic_auth.password" in line and "got a number" in line for line in lines), lines
    assert "98765432" not in message


def test_a_secret_is_masked_before_a_long_value_is_cut(write: Callable[[str, str], Path]) -> None:
    """A ${VAR} value or a URL password longer than the shown excerpt: masked, not cut and leaked."""
    token = "tok_" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 2
    message, _ = problem_lines(write, edit(("schedule: 30s", "schedule: ${TOKEN}")), TOKEN=token)
    assert token[:12] not in message
    url = "url: 'postgresql://user:pa${ssword_very_long_secret_value_0123456789abcdefghij@db/x'"
    text = edit(("live: {type: file, path: live.csv}", f"live: {{type: sql, {url}, table: t}}"))
    message, _ = problem_lines(write, text)
    assert "ssword_very_long" not in message and "user:" in message


def test_a_list_as_a_mapping_key_is_a_clear_yaml_error(write: Callable[[str, str], Path]) -> None:
    message, _ = problem_lines(write, BASE + "? [a, b]\n: x\n")
    assert "a key must be text" in message and "unhashable" not in message and "TypeError" not in message


def test_a_tagged_value_that_cannot_be_read_is_not_quoted(write: Callable[[str, str], Path]) -> None:
    """PyYAML's converter message quotes the value (`could not convert string to float: 'hunter2x'`)."""
    message, _ = problem_lines(write, edit(("schedule: 30s", "schedule: !!float hunter2x")))
    assert "a tagged value (!!float, !!int...) cannot be read" in message and "hunter2x" not in message


def test_a_huge_monitor_or_feature_name_is_refused_with_its_length(write: Callable[[str, str], Path]) -> None:
    """A 1 MB monitor name and a 300-character feature name: one line each giving the length and the cap (a 5 MB name was accepted)."""
    text = BASE.replace("name: credit", "name: " + "m" * 1_000_000).replace(
        "features: [age]", "features: [" + "f" * 300 + "]"
    )
    message, _ = problem_lines(write, text)
    assert (
        "monitors[0].name: got 'mmm" in message
        and f"(1,000,000 characters); at most {config.MAX_NAME_CHARS} characters" in message
    )
    assert (
        "monitors[0].features[0] (monitor credit)" not in message
        and "monitors[0].features[0]: got 'fff" in message
        and f"(300 characters); at most {config.MAX_NAME_CHARS} characters" in message
    )
    assert len(message) < 1000 and not FORBIDDEN.search(message), message


def test_two_classes_sharing_a_score_column_is_a_config_error(write: Callable[[str, str], Path]) -> None:
    """A multiclass score mapping two classes to one column (the fuzz campaign's
    `{cat: s, dog: s, eel: x}`) is a config error naming the column; it was an internal error
    (KeyError) when the column was profiled twice."""
    model = "    model: {task: multiclass, prediction: m, score: {cat: s, dog: s, eel: x}}\n"
    message, lines = problem_lines(write, BASE.replace(FEATURES, FEATURES + model))
    expected = "each class needs its own probability column in score; 's' is given twice"
    assert any(expected in line for line in lines), message


def test_an_empty_delimiter_is_said_to_be_empty(write) -> None:
    """'' where a non-empty string is wanted: not "expected a string" (it is one)."""
    text = "monitors:\n  - name: m\n    reference: {type: file, path: r.csv, delimiter: ''}\n    live: {type: file, path: l.csv}\n    features: [x]\n"
    with pytest.raises(ConfigError) as caught:
        config.load(write("d.yaml", text))
    assert "reference.delimiter (monitor m): got ''; it cannot be empty" in str(caught.value), str(caught.value)

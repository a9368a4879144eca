"""Subcommands; the one place errors become messages and exit codes.

Exit codes (SPEC §5): 0 nothing at critical, 1 some feature at critical, 2 bad config or
usage, 3 an evaluation failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from driftmon import __version__
from driftmon.errors import ConfigError, DriftmonError

EXIT_OK, EXIT_CRITICAL, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        result: int = args.handler(args)
        return result
    except ConfigError as error:
        _error(str(error))
        return EXIT_USAGE
    except DriftmonError as error:
        _error(str(error))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftmon",
        description="Data-drift monitoring: divergences between reference and live data, as Prometheus metrics.",
    )
    parser.add_argument("--version", action="version", version=f"driftmon {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "-c",
            "--config",
            default=os.environ.get("DRIFTMON_CONFIG"),
            help="config file (default: $DRIFTMON_CONFIG)",
        )

    def with_shard(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--shard",
            metavar="I/N",
            help="run only the monitors whose name hashes to shard I of N (from 0); default: "
            "$DRIFTMON_SHARD, or $DRIFTMON_SHARDS with the host name's ordinal (StatefulSet pod driftmon-2)",
        )

    run = commands.add_parser("run", help="run the daemon: evaluate on schedule, serve /metrics")
    with_config(run)
    run.add_argument("--web.listen-address", dest="listen", default=":9847", help="HOST:PORT (default :9847)")
    run.add_argument(
        "--web.enable-lifecycle", dest="lifecycle", action="store_true", help="allow POST /-/reload"
    )
    run.add_argument("--log.level", dest="log_level", default="info", choices=["debug", "info", "warn", "error"])
    run.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"])
    with_shard(run)
    run.set_defaults(handler=_run)

    check = commands.add_parser("check", help="evaluate once and print the results")
    with_config(check)
    check.add_argument("--monitor", action="append", default=[], metavar="NAME", help="only this monitor (repeatable)")
    check.add_argument("--format", choices=["table", "json"], default="table")
    with_shard(check)
    check.add_argument("--push-gateway", metavar="URL", help="also push the daemon's series to this Pushgateway")
    check.add_argument("--job", default="driftmon", help="the Pushgateway job (default driftmon)")
    check.add_argument(
        "--grouping", action="append", default=[], metavar="K=V", help="extra Pushgateway grouping label (repeatable)"
    )
    check.add_argument(
        "--textfile", metavar="PATH", help="also write the series to PATH atomically (node_exporter textfile)"
    )
    check.set_defaults(handler=_check)

    validate = commands.add_parser("validate", help="validate the config file")
    with_config(validate)
    validate.set_defaults(handler=_validate)

    profile = commands.add_parser("profile", help="bin a monitor's reference into a histogram file")
    with_config(profile)
    profile.add_argument("--monitor", required=True, metavar="NAME")
    profile.add_argument("-o", "--output", required=True, metavar="OUT.json")
    profile.add_argument(
        "--emit-source",
        choices=["prometheus"],
        help="also print the `type: prometheus` live source reading what driftmon.instrument counts with this profile",
    )
    profile.set_defaults(handler=_profile)

    schema = commands.add_parser("schema", help="print the config's JSON Schema")
    schema.add_argument("--markdown", action="store_true", help="the README's reference table instead")
    schema.set_defaults(handler=_schema)
    return parser


def _load(args: argparse.Namespace) -> Any:
    from driftmon import config

    if not args.config:
        raise ConfigError("no config file: pass -c FILE or set DRIFTMON_CONFIG")
    return config.load(args.config)


def _run(args: argparse.Namespace) -> int:
    from driftmon.daemon import serve

    if not args.config:
        raise ConfigError("no config file: pass -c FILE or set DRIFTMON_CONFIG")
    from driftmon import shard

    return serve(
        Path(args.config),
        shard=shard.resolve(args.shard),  # a bad shard exits 2 before anything starts
        listen=args.listen,
        lifecycle=args.lifecycle,
        log_level=args.log_level,
        log_format=args.log_format,
    )


def _check(args: argparse.Namespace) -> int:
    from driftmon.evaluate import CRITICAL, ERROR, document, evaluate

    cfg = _load(args)
    from driftmon import shard

    chosen = shard.resolve(args.shard)
    # Monitors named with --monitor run whatever the shard; otherwise only this shard's.
    monitors = [cfg.monitor(name) for name in args.monitor] if args.monitor else shard.select(cfg.monitors, chosen)
    grouping = _grouping(args.grouping)
    results = [evaluate(monitor) for monitor in monitors]
    if args.format == "json":
        json.dump(document(results), sys.stdout, indent=None, allow_nan=False)
        sys.stdout.write("\n")
    else:
        _table(results, sys.stdout)
    if args.push_gateway or args.textfile:
        # Batch mode: the metrics are delivered whatever the outcome, so a pipeline can fail the step and keep them.
        from driftmon import push
        from driftmon.daemon import period_s

        intervals = {monitor.name: period_s(monitor) for monitor in monitors}
        if args.textfile:
            push.write_textfile(args.textfile, results, intervals)
        if args.push_gateway:
            push.push(args.push_gateway, results, intervals, job=args.job, grouping=grouping)
    if any(r.status == ERROR for r in results):
        return EXIT_FAILED
    if any(r.status == CRITICAL for r in results):
        return EXIT_CRITICAL
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    cfg = _load(args)
    features = sum(len(m.features) for m in cfg.monitors)
    print(f"{cfg.path}: valid ({len(cfg.monitors)} monitors, {features} features)")
    return EXIT_OK


def _profile(args: argparse.Namespace) -> int:
    from driftmon.evaluate import profile_reference
    from driftmon.histogram import to_document

    cfg = _load(args)
    monitor = cfg.monitor(args.monitor)
    histograms = profile_reference(monitor)
    output = Path(args.output)
    text = json.dumps(to_document(histograms), indent=1, allow_nan=False)
    temporary = output.with_name(output.name + ".tmp")
    try:
        temporary.write_text(text + "\n", encoding="utf-8")
        temporary.replace(output)  # atomic: a reader never sees half a file
    except OSError as error:
        raise DriftmonError(f"cannot write {output}: {error.strerror}") from None
    print(f"{output}: {len(histograms)} feature histograms of monitor {monitor.name!r}")
    if args.emit_source == "prometheus":
        print(_prometheus_snippet(output, monitor.name))
    return EXIT_OK


def _prometheus_snippet(profile: Path, monitor: str) -> str:
    """The two ends of instrumented serving for one profile: the model server's code and driftmon's config."""
    from driftmon.instrument import METRIC

    return f"""
# In the model server (needs only numpy and prometheus-client):
#   from driftmon.instrument import Instrument
#   features = Instrument.from_profile("{profile.name}")   # its series: {METRIC}{{feature, bin}}
#   features.observe(batch)                                  # dict of columns, list of rows, or one row
# In driftmon's config, monitor {monitor!r}:
    reference: {{type: histogram, path: {profile}}}
    live:
      type: prometheus
      url: http://prometheus:9090          # your Prometheus
      metric: {METRIC}
      matchers: 'job="model-server"'       # the model server's series (and e.g. model="...")
      window: 1h"""


def _grouping(pairs: Sequence[str]) -> dict[str, str]:
    """``--grouping k=v`` pairs as a dict; a malformed one is a usage error."""
    import re

    grouping = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key) or key in ("job", "monitor") or not value:
            raise ConfigError(f"--grouping {pair!r}: expected LABEL=VALUE with a label name other than job or monitor")
        grouping[key] = value
    return grouping


def _schema(args: argparse.Namespace) -> int:
    from driftmon import config

    if args.markdown:
        from driftmon.docs import reference_table

        print(reference_table())
    else:
        print(json.dumps(config.json_schema(), indent=2))
    return EXIT_OK


def _table(results: Sequence[Any], out: TextIO) -> None:
    """A table per monitor for people: features as rows, measures as columns."""
    for result in results:
        labels = "".join(f" {k}={v}" for k, v in result.labels.items())
        out.write(f"monitor {result.monitor}: {result.status}{labels}\n")
        if result.error:
            out.write(f"  error: {result.error}\n\n")
            continue
        header = ["feature", "kind", "reference", "live", "unseen", "p (adj.)", *result.measures, "severity"]
        rows = [header]
        for feature in result.features:
            cells = [
                feature.feature,
                feature.kind,
                _count(feature.reference_count),
                _count(feature.live_count),
                f"{feature.unseen_fraction:.1%}",
                "-" if feature.pvalue_adjusted is None else f"{feature.pvalue_adjusted:.2g}",
            ]
            for measure in result.measures:
                value = feature.scores.get(measure)
                mark = {"warning": " !", "critical": " !!"}.get(feature.severity.get(measure, ""), "")
                cells.append("-" if value is None else _score(value) + mark)
            cells.append(feature.worst)
            rows.append(cells)
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            text = "  ".join(
                cell.ljust(width) if i < 2 or i == len(row) - 1 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            out.write("  " + text.rstrip() + "\n")
        for feature in result.features:
            if feature.reason:
                out.write(f"  {feature.feature}: not judged: {feature.reason}\n")
        out.write("\n")
    out.write("(!: at warning, !!: at critical)\n")


def _count(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"


def _score(value: float) -> str:
    return "+Inf" if math.isinf(value) else f"{value:.4f}"


def _error(message: str) -> None:
    sys.stderr.write(f"driftmon: error: {message}\n")

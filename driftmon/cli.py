"""Subcommands; the one place errors become messages and exit codes.

Exit codes (docs/operations.md, "Command line"): 0 nothing at critical, 1 some feature at
critical, 2 bad config or usage, 3 an evaluation failed.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# OpenBLAS starts a worker thread per core at `import numpy` unless told otherwise; those
# threads would neither inherit the daemon's signal mask nor help driftmon (no BLAS work).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from driftmon import __version__, signals
from driftmon.errors import ConfigError, DriftmonError, plural

EXIT_OK, EXIT_CRITICAL, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def console(argv: Sequence[str] | None = None) -> None:
    """The ``driftmon`` command (and ``python -m driftmon``): ``main``, then exit with its code.

    ``check`` is one-shot: no garbage collection while it runs (it frees nothing a
    collection would find in time to matter), Arrow's jemalloc allocator, and once its
    output is flushed the process ends without tearing the interpreter down (freeing every
    module and Arrow buffer one by one costs a noticeable share of a short run).
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    one_shot = bool(arguments) and arguments[0] == "check"
    if one_shot:
        gc.disable()
        # Arrow's jemalloc pool keeps less freed memory than its default (mimalloc) while
        # columns are read one after the other: a lower peak RSS, no slower. Set before
        # pyarrow is imported; an operator's own choice wins.
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    code = main(arguments)
    if one_shot:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, OSError):
            pass  # the reader went away; the exit code still tells the outcome
        logging.shutdown()
        os._exit(code)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        signals.block()  # before any thread exists: none can receive a signal and die of it
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
    except Exception as error:  # a bug: one redacted line and "evaluation failed", never 1 ("critical drift")
        _error(f"internal error ({type(error).__name__}: {error}); please report it")
        return EXIT_FAILED


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

    def with_pages(sub: argparse.ArgumentParser) -> None:
        for flag, dest, variable, what in (
            (
                "--web.external-url",
                "external_url",
                "DRIFTMON_EXTERNAL_URL",
                "the URL users reach driftmon at (its path prefixes the pages' links, e.g. behind a reverse proxy)",
            ),
            (
                "--grafana.url",
                "grafana_url",
                "DRIFTMON_GRAFANA_URL",
                "Grafana's base URL, for links to the driftmon dashboard from the pages",
            ),
        ):
            sub.add_argument(
                flag, dest=dest, default=os.environ.get(variable), metavar="URL", help=f"{what}; default: ${variable}"
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
    run.add_argument("--web.enable-lifecycle", dest="lifecycle", action="store_true", help="allow POST /-/reload")
    run.add_argument(
        "--evaluation.workers",
        dest="workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="worker processes evaluating monitors in parallel (default: one per core)",
    )
    run.add_argument(
        "--evaluation.memory-limit",
        dest="memory_limit",
        default="2GiB",
        metavar="SIZE",
        help="resident memory one evaluation's worker process may use before it is stopped "
        "and the evaluation fails (default 2GiB; 0: no limit)",
    )
    run.add_argument(
        "--evaluation.cache-size",
        dest="cache_size",
        default="64MiB",
        metavar="SIZE",
        help="memory for the live files' histograms kept between evaluations, so unchanged "
        "files are not read again (default 64MiB; 0: off)",
    )
    run.add_argument(
        "--web.config.file",
        dest="web_config",
        metavar="FILE",
        help="TLS and basic auth, in the Prometheus exporter-toolkit format (re-read when it changes)",
    )
    run.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=int,
        default=512,
        help="open connections at most; a new one evicts the longest idle (default 512)",
    )
    run.add_argument(
        "--web.workers",
        dest="web_workers",
        type=int,
        default=8,
        help="threads serving requests; idle connections take none (default 8)",
    )
    run.add_argument(
        "--web.read-timeout",
        dest="read_timeout",
        default="10s",
        help="time for a request's line and headers, TLS handshake included (default 10s)",
    )
    run.add_argument(
        "--web.idle-timeout",
        dest="idle_timeout",
        default="30s",
        help="close a connection without a request after this (default 30s)",
    )
    run.add_argument(
        "--web.max-header-bytes",
        dest="max_header_bytes",
        type=int,
        default=65536,
        help="request line and headers at most; beyond: 431 (default 65536)",
    )
    run.add_argument("--log.level", dest="log_level", default="info", choices=["debug", "info", "warn", "error"])
    run.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"])
    with_pages(run)
    with_shard(run)
    run.set_defaults(handler=_run)

    check = commands.add_parser("check", help="evaluate once and print the results")
    with_config(check)
    check.add_argument("--monitor", action="append", default=[], metavar="NAME", help="only this monitor (repeatable)")
    check.add_argument("--format", choices=["table", "json"], default="table")
    with_shard(check)
    check.add_argument(
        "--push-gateway", metavar="URL", type=_gateway_url, help="also push the daemon's series to this Pushgateway"
    )
    check.add_argument("--job", default="driftmon", help="the Pushgateway job (default driftmon)")
    check.add_argument(
        "--grouping", action="append", default=[], metavar="K=V", help="extra Pushgateway grouping label (repeatable)"
    )
    check.add_argument(
        "--textfile", metavar="PATH", help="also write the series to PATH atomically (node_exporter textfile)"
    )
    check.set_defaults(handler=_check)

    validate = commands.add_parser(
        "validate", help="validate the config file, and that its files exist (no data is read)"
    )
    with_config(validate)
    depth = validate.add_mutually_exclusive_group()
    depth.add_argument(
        "--sources",
        action="store_true",
        help="also open every source of every monitor: files (columns, types, rows where cheap), SQL, "
        "Spark, Prometheus, histogram files; nothing is scored",
    )
    depth.add_argument(
        "--syntax-only",
        action="store_true",
        help="check the config alone, not that its files exist (a config for another machine or a container)",
    )
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

    report = commands.add_parser("report", help="evaluate once and write the status pages as one HTML file")
    with_config(report)
    report.add_argument("--monitor", action="append", default=[], metavar="NAME", help="only this monitor (repeatable)")
    report.add_argument("-o", "--output", required=True, metavar="REPORT.html")
    with_pages(report)
    with_shard(report)
    report.set_defaults(handler=_report)

    schema = commands.add_parser("schema", help="print the config's JSON Schema")
    schema.add_argument("--markdown", action="store_true", help="the reference table of docs/configuration.md instead")
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
    from driftmon.durations import parse_duration
    from driftmon.web import Limits

    timeouts = {}
    for name in ("read_timeout", "idle_timeout"):
        try:
            timeouts[name] = parse_duration(getattr(args, name))
        except ValueError as error:
            raise ConfigError(f"--web.{name.replace('_', '-')}: {error}") from None
    limits = Limits(
        max_connections=args.max_connections,
        workers=args.web_workers,
        max_header_bytes=args.max_header_bytes,
        read_timeout=timeouts["read_timeout"],
        idle_timeout=timeouts["idle_timeout"],
    )
    return serve(
        Path(args.config),
        web_config=Path(args.web_config) if args.web_config else None,
        limits=limits,
        shard=shard.resolve(args.shard),  # a bad shard exits 2 before anything starts
        listen=args.listen,
        lifecycle=args.lifecycle,
        log_level=args.log_level,
        log_format=args.log_format,
        workers=args.workers,
        memory_limit=_size_flag("--evaluation.memory-limit", args.memory_limit),
        cache_size=_size_flag("--evaluation.cache-size", args.cache_size),
        page_settings=_page_settings(args),
    )


def _gateway_url(text: str) -> str:
    """An http(s) URL with a host and no spaces or control characters, or a usage error in words."""
    import urllib.parse

    from driftmon import redact

    try:
        parsed = urllib.parse.urlsplit(text)
        usable = parsed.scheme in ("http", "https") and bool(parsed.hostname) and parsed.port != -1  # port: may raise
    except ValueError:
        usable = False
    if not usable or any(c.isspace() or ord(c) < 32 for c in text):
        shown = redact.text(repr(text), limit=200, one_line=True)
        raise argparse.ArgumentTypeError(f"{shown} is not a Pushgateway URL like http://pushgateway:9091")
    return text


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _size_flag(flag: str, text: str) -> int:
    from driftmon.workers import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise ConfigError(f"{flag}: {error}") from None


def _page_settings(args: argparse.Namespace) -> Any:
    from driftmon.pages import PageSettings

    return PageSettings(external_url=args.external_url, grafana_url=args.grafana_url)


def _selected_monitors(args: argparse.Namespace) -> Sequence[Any]:
    from driftmon import shard

    cfg = _load(args)
    chosen = shard.resolve(args.shard)
    # Monitors named with --monitor run whatever the shard; otherwise only this shard's.
    if args.monitor:
        return [cfg.monitor(name) for name in args.monitor]
    selected = shard.select(cfg.monitors, chosen)
    if not selected and chosen is not None:
        # Not an error (a replica may own nothing for now), but it must not pass silently.
        sys.stderr.write(
            f"driftmon: shard {chosen} holds no monitor ({plural(len(cfg.monitors), 'monitor')} in the config, "
            "all in other shards)\n"
        )
    return selected


def _evaluate_once(args: argparse.Namespace, monitors: Sequence[Any] | None = None) -> list[Any]:
    from driftmon import redact
    from driftmon.evaluate import evaluate

    chosen = _selected_monitors(args) if monitors is None else monitors
    results = [redact.scrub(evaluate(monitor)) for monitor in chosen]
    for result in results:  # errors on stderr, whatever stdout carries (table, JSON, nothing)
        if result.error:
            _error(f"monitor {result.monitor}: {result.error}")
    return results


def _exit_status(results: Sequence[Any]) -> int:
    from driftmon.evaluate import CRITICAL, ERROR

    if any(r.status == ERROR for r in results):
        return EXIT_FAILED
    if any(r.status == CRITICAL for r in results):
        return EXIT_CRITICAL
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    """Like check (same evaluation, same exit codes), but writes the pages as one HTML file."""
    from driftmon.pages import report, snapshot_of

    results = _evaluate_once(args)
    text = report(snapshot_of(results), _page_settings(args))
    output = Path(args.output)
    temporary = output.with_name(output.name + ".tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(output)
    except OSError as error:
        raise DriftmonError(f"cannot write {output}: {error.strerror}") from None
    print(f"{output}: report of {plural(len(results), 'monitor')}")
    return _exit_status(results)


def _check(args: argparse.Namespace) -> int:
    from driftmon.evaluate import document

    monitors = _selected_monitors(args)
    grouping = _grouping(args.grouping)
    if args.push_gateway:
        from driftmon import redact

        redact.harvest([args.push_gateway], Path.cwd())  # its user:password, should the gateway quote them
    collecting = gc.isenabled()
    gc.disable()  # one evaluation makes no garbage cycles worth the collector's passes over its objects
    try:
        results = _evaluate_once(args, monitors)
    finally:
        if collecting:
            gc.enable()
    if args.format == "json":
        # dumps, not dump: only a one-shot encode takes json's C encoder (the same bytes, 5x faster)
        sys.stdout.write(json.dumps(document(results), allow_nan=False) + "\n")
    elif results:
        from driftmon import table

        table.write(results, sys.stdout)
    if args.push_gateway or args.textfile:
        # Batch mode: the metrics are delivered whatever the outcome, so a pipeline can fail the step and keep them.
        from driftmon import push
        from driftmon.schedule import period_s

        intervals = {monitor.name: period_s(monitor) for monitor in monitors}
        if args.textfile:
            push.write_textfile(args.textfile, results, intervals)
        if args.push_gateway:
            push.push(args.push_gateway, results, intervals, job=args.job, grouping=grouping)
    return _exit_status(results)


def _validate(args: argparse.Namespace) -> int:
    """The config, its files (exist, histogram files parse) and with --sources every source opened.

    Exit 0 if everything is usable (warnings allowed: a live glob with no file yet), 1 when
    usable but the live data has a critical schema anomaly (as ``check`` reports it), else 2.
    """
    from driftmon import redact, validate

    cfg = _load(args)
    findings = [] if args.syntax_only else validate.check(cfg, sources=args.sources)
    if findings:
        print(validate.table(findings))  # every cell masked and escaped; the table itself is never cut
    for finding in findings:
        if finding.level != validate.OK:
            where = f"monitor {finding.monitor}, {finding.side}"
            sys.stderr.write(
                f"driftmon: {finding.level}: {redact.text(f'{where}: {finding.message}', one_line=True)}\n"
            )
    errors = sum(f.level == validate.ERROR for f in findings)
    critical = sum(f.level == validate.CRITICAL for f in findings)  # the data, as check reports it
    features = sum(len(m.features) for m in cfg.monitors)
    if errors:
        print(f"{cfg.path}: not usable ({plural(errors, 'error')})")
        return EXIT_USAGE
    valid = f"{cfg.path}: valid ({plural(len(cfg.monitors), 'monitor')}, {plural(features, 'feature')})"
    print(valid + (f"; {plural(critical, 'critical finding')} in the data" if critical else ""))
    return EXIT_CRITICAL if critical else EXIT_OK


def _profile(args: argparse.Namespace) -> int:
    from driftmon.evaluate import profile_reference
    from driftmon.histogram_file import to_document

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
    from driftmon import config_schema

    if args.markdown:
        from driftmon.docs import reference_table

        print(reference_table())
    else:
        print(json.dumps(config_schema.json_schema(), indent=2))
    return EXIT_OK


def _error(message: str) -> None:
    from driftmon import redact

    sys.stderr.write(f"driftmon: error: {redact.text(message)}\n")

#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian/Ubuntu machine, then run it.
# Used by the README and by CI (.ci/run). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: real Prometheus/Alertmanager/Pushgateway (promtool, end-to-end alerts, batch mode),
# PostgreSQL (SQL source against a real server), a JVM (Spark in local mode), Chromium (page tests).
packages=()
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || packages+=(prometheus-alertmanager)
command -v prometheus-pushgateway >/dev/null 2>&1 || packages+=(prometheus-pushgateway)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || packages+=(postgresql)
command -v java >/dev/null 2>&1 || packages+=(default-jre-headless)
# Headless Chromium for the status-page and report tests (tests/integration/test_pages_browser.py).
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
if [ ${#packages[@]} -gt 0 ]; then
  sudo_if_needed apt-get update -q
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The distribution was called `driftmon` before it became `driftmon-exporter`: an old venv keeps both.
if .venv/bin/python -m pip show -q driftmon >/dev/null 2>&1; then .venv/bin/python -m pip uninstall -y -q driftmon; fi
.venv/bin/python -m pip install -q -e '.[test,spark,spark-connect]'

# Missing servers fail the run here instead of being skipped.
export DRIFTMON_REQUIRE_SERVERS=1
exec .venv/bin/python -m pytest "$@"

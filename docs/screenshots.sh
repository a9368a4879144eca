#!/usr/bin/env bash
# Regenerate the README's screenshots of the status pages (docs/img/page-*.png, 1280x800):
# the browser test writes them from a real daemon and a real headless Chromium.
#   bash docs/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DRIFTMON_SCREENSHOT_DIR="$PWD/docs/img" exec .venv/bin/python -m pytest -q \
  tests/integration/test_pages_browser.py -k every_page_type

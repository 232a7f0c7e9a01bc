#!/usr/bin/env bash
# The project's test command (README and .ci/run): every test but the `slow` ones,
# the real-browser end-to-end test included. Installs Debian's Chromium when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: sudo apt-get install -y chromium (or set CHROMIUM_PATH)" >&2
  fi
fi
python -m pytest -m "not slow" "$@"

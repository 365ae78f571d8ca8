#!/usr/bin/env bash
# Find a Chromium for the page tests (tests/service/test_page.py) and print the variable
# that names it:   eval "$(bash .ci/chromium.sh)"
# Uses LAPOR_CHROMIUM when it runs, else chromium on PATH, else installs Debian's package.
set -euo pipefail
say() { echo "$*" >&2; }
found() { [[ -n "$1" ]] && "$1" --version >/dev/null 2>&1; }
bin=${LAPOR_CHROMIUM:-}
found "$bin" || bin=$(command -v chromium || command -v chromium-browser || true)
if ! found "$bin"; then
  say "installing Chromium from Debian's packages"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
  bin=$(command -v chromium)
fi
say "$("$bin" --version 2>/dev/null)"
echo "export LAPOR_CHROMIUM='$bin'"

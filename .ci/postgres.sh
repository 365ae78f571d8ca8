#!/usr/bin/env bash
# Make a PostgreSQL reachable for the store tests and print the variable that names it:
#   eval "$(bash .ci/postgres.sh)"
# Uses LAPOR_TEST_PG_URL when it already answers; otherwise installs Debian's postgresql
# package when its binaries are missing, and starts a throw-away cluster under
# ${LAPOR_PG_DIR:-/tmp/lapor-ci-pg} on port ${LAPOR_PG_PORT:-55432}.
set -euo pipefail
say() { echo "$*" >&2; }
if [[ -n "${LAPOR_TEST_PG_URL:-}" ]] && pg_isready -q -d "$LAPOR_TEST_PG_URL" 2>/dev/null; then
  echo "export LAPOR_TEST_PG_URL='$LAPOR_TEST_PG_URL'"
  exit 0
fi
dir=${LAPOR_PG_DIR:-/tmp/lapor-ci-pg}
port=${LAPOR_PG_PORT:-55432}
url="postgresql://lapor@127.0.0.1:$port/lapor"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$bin" ]]; then
  say "installing PostgreSQL from Debian's packages"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
# the server refuses to run as root: run it as the postgres user the package created
as=(); if [[ $(id -u) -eq 0 ]]; then as=(runuser -u postgres --); fi
if pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
  say "a PostgreSQL already answers on port $port"
else
  if [[ ! -f "$dir/PG_VERSION" ]]; then
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    "${as[@]}" "$bin/initdb" -D "$dir" -U lapor --auth=trust -E UTF8 >/dev/null
  fi
  "${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on" start >&2
fi
psql -h 127.0.0.1 -p "$port" -U lapor -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = 'lapor'" | grep -q 1 \
  || psql -h 127.0.0.1 -p "$port" -U lapor -d postgres -qc "CREATE DATABASE lapor" >&2
echo "export LAPOR_TEST_PG_URL='$url'"

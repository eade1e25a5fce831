#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for baton's tests and benchmarks: installs Debian's
# `postgresql` if it is missing, then initdb + start as a non-root user on a local port,
# listening on 127.0.0.1 and a socket directory only, trust authentication (test data only).
#
#   tests/postgres/cluster.sh start [dir] [port]   # prints the database URL on its last line
#   tests/postgres/cluster.sh stop  [dir]
#
# Defaults: dir /tmp/baton-pg, port 54329. The URL is postgres://baton@127.0.0.1:PORT/baton.
set -euo pipefail

action="${1:-start}"
dir="${2:-/tmp/baton-pg}"
port="${3:-54329}"

find_bin() {
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  echo "$found"
}

bin="$(find_bin)"
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
  if [[ "$action" == "stop" ]]; then
    exit 0
  fi
  echo "installing Debian's postgresql" >&2
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
  else
    sudo apt-get update -qq >&2
    sudo apt-get install -y -qq postgresql >&2
  fi
  bin="$(find_bin)"
fi

# PostgreSQL refuses to run as root: use the package's `postgres` user then.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$action" in
  start)
    if [[ -f "$dir/data/postmaster.pid" ]] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      echo "cluster already running in $dir" >&2
    else
      rm -rf "$dir"
      mkdir -p "$dir/socket"
      if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres:postgres "$dir"
      fi
      as_owner "$bin/initdb" -D "$dir/data" -U baton --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
      # Small shared memory and enough connections for 3 nodes' pools and the tests.
      as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=256MB -c fsync=on" \
        start >&2 || { cat "$dir/server.log" >&2; exit 1; }
      as_owner "$bin/createdb" -h "$dir/socket" -p "$port" -U baton baton
    fi
    echo "postgres://baton@127.0.0.1:$port/baton"
    ;;
  stop)
    if [[ -d "$dir/data" ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop [dir] [port]" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: Debian's postgresql, run as the
# `postgres` user (initdb and pg_ctl refuse root), in a temporary directory that user owns, on
# its own port, with its unix socket in that directory. Nothing of the machine's own clusters is
# touched.
#
#   scripts/pg-cluster.sh start DIR PORT   creates and starts it; prints the admin URL
#   scripts/pg-cluster.sh stop DIR         stops it and removes DIR
set -euo pipefail

bin_dir() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$initdb" ]; then
    echo "pg-cluster: no /usr/lib/postgresql/*/bin/initdb (make deps installs postgresql)" >&2
    exit 1
  fi
  dirname "$initdb"
}

# initdb and pg_ctl refuse root: root runs them as `postgres`, anyone else as themselves.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
  start)
    dir=$2
    port=$3
    bin=$(bin_dir)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    # C locale: byte order, as SQLite's; trust on the socket and loopback (a throwaway cluster).
    if ! as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale -E UTF8 \
      --no-sync >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2
      exit 1
    fi
    # Tests run in parallel, each with its own database and pools (two per multi-instance test).
    # fsync off: nothing here must survive a crash of the machine.
    if ! as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 \
          -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
          -c shared_buffers=128MB" start >/dev/null; then
      tail -n 20 "$dir/server.log" >&2
      exit 1
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=$2
    if [ -d "$dir/data" ]; then
      bin=$(bin_dir)
      as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# `make bench`'s PostgreSQL figures (pg_patients_rps for one and two instances, SQLite beside
# them): a throwaway cluster for the run, removed afterwards. Figures on stdout, the rest on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "bench-pg: no PostgreSQL (make deps installs postgresql): pg_patients_rps skipped" >&2
  exit 0
fi
port=${PG_PORT:-$((20000 + RANDOM % 20000))}
cluster=$(mktemp -d /tmp/practice-studio-pg-bench.XXXXXX)
trap 'scripts/pg-cluster.sh stop "$cluster"' EXIT INT TERM
admin=$(scripts/pg-cluster.sh start "$cluster" "$port")
"$(dirname "$(ls -d /usr/lib/postgresql/*/bin/psql | sort -V | tail -n1)")/psql" -q "$admin" \
  -c "CREATE DATABASE practice_studio_bench" >&2
PRACTICE_STUDIO_BENCH_PG="${admin%/postgres}/practice_studio_bench" \
  cargo bench -p practice-studio-server --bench pg_patients --quiet | grep '^{'

#!/usr/bin/env bash
# `make test-pg`: the Practice Studio server on PostgreSQL. Starts a throwaway cluster (Debian's
# postgresql, as the `postgres` user, in a temporary directory, on its own port), runs the
# server's integration suite against it (each test in a fresh database of its own), the admin
# command's actions (the real binary), then the multi-instance tests (two servers on one
# database), and removes the cluster whatever happens.
#
# PG_SUITES picks the integration suites (default: every one under
# crates/practice-studio-server/tests that uses the shared test support).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
cluster=$(mktemp -d /tmp/practice-studio-pg.XXXXXX)
cleanup() { scripts/pg-cluster.sh stop "$cluster"; }
trap cleanup EXIT INT TERM

# A random port; another is tried if something already listens there.
url=
for _ in 1 2 3; do
  port=${PG_PORT:-$((20000 + RANDOM % 20000))}
  if url=$(scripts/pg-cluster.sh start "$cluster" "$port"); then
    break
  fi
  url=
  scripts/pg-cluster.sh stop "$cluster"
done
if [ -z "$url" ]; then
  echo "test-pg: could not start a PostgreSQL cluster" >&2
  exit 1
fi
echo "test-pg: PostgreSQL on port $port ($cluster)"
export PRACTICE_STUDIO_TEST_PG=$url

suites=${PG_SUITES:-api appointments billing events fhir records v2 waitlist webhooks}
args=()
for suite in $suites; do
  args+=(--test "$suite")
done
echo "test-pg: integration suites on PostgreSQL: $suites"
cargo test -p practice-studio-server "${args[@]}"
echo "test-pg: the admin command on PostgreSQL"
cargo test -p practice-studio-server --test admin -- --ignored
echo "test-pg: two instances on one database"
cargo test -p practice-studio-server --test instances -- --ignored --test-threads 1

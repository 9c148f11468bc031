#!/usr/bin/env bash
# `make test`: every check of the project, in order, stopping at the first failure; each stage's
# duration is printed as it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
export FRONTDESK_BIN=${FRONTDESK_BIN:-$target_dir/debug/frontdesk}
mkdir -p target/e2e-artifacts
started=$(date +%s)

stage() {
  local name=$1
  shift
  local t0
  t0=$(date +%s)
  printf '\n=== %s\n' "$name"
  "$@"
  printf '=== %s: ok in %ss\n' "$name" "$(($(date +%s) - t0))"
}

stage "format (cargo fmt --check)" cargo fmt --all --check
# The app embeds the built UI, so the UI is built before anything compiles the app.
stage "UI build" bash -c 'cd ui && npm run --silent build -- --logLevel warn'
stage "clippy (warnings denied)" cargo clippy --workspace --all-targets --quiet -- -D warnings
stage "Rust tests" cargo test --workspace
# The server on PostgreSQL, and two instances on one database (make deps installs postgresql).
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  stage "PostgreSQL: server suites and two instances (make test-pg)" scripts/test-pg.sh
else
  printf '\n=== PostgreSQL stage skipped: no /usr/lib/postgresql/*/bin/initdb (make deps installs postgresql)\n'
fi
stage "API fuzzing (schemathesis on /openapi.json)" \
  env API_FUZZ_SECONDS="${API_FUZZ_SECONDS:-150}" scripts/api-fuzz.sh
stage "FHIR R4 validation (fhir.resources 4.0.1 over demo data)" tests/fhir/run.sh
stage "TypeScript bindings match the Rust types" \
  cargo test --quiet -p frontdesk --test shell typescript_bindings_match_the_rust_types
stage "UI type check" bash -c 'cd ui && npm run --silent typecheck'
stage "UI unit tests (Vitest)" bash -c 'cd ui && npm test --silent'
stage "end-to-end type check" bash -c 'cd tests/e2e && npm run --silent typecheck'
stage "end-to-end: browser mode (Playwright, Debian chromium)" bash -c 'cd tests/e2e && npx playwright test'
stage "end-to-end: real window (tauri-driver, Xvfb)" \
  xvfb-run -a -s "-screen 0 1366x768x24" dbus-run-session -- bash -c 'cd tests/e2e && node --test --test-reporter=spec window/'
# Builds N, N+1 and N+2 as packages (profile dist-fast, throwaway keys), installs N from its .deb
# in a private mount namespace and updates it from the desk; see the README's "Packages and updates".
stage "end-to-end: in-app updater (N to N+1 from its .deb, refused bad updates, N+2 as the desk closes)" scripts/update-e2e.sh

printf '\nAll checks passed in %ss. Screenshots: target/e2e-artifacts/\n' "$(($(date +%s) - started))"

#!/usr/bin/env bash
# `make test`'s FHIR stage: a demo server (300 patients: enough for every edge case the validator
# looks for), a client-credentials token, and tests/fhir/validate.py against it.
set -euo pipefail
cd "$(dirname "$0")/../.."

server_bin=${PRACTICE_STUDIO_SERVER_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/practice-studio-server}
python=.venv/bin/python
if ! "$python" -c 'import fhir.resources' 2>/dev/null; then
  echo "fhir: fhir.resources is missing from .venv; run make deps" >&2
  exit 1
fi
log=$(mktemp)
"$server_bin" --demo --demo-patients 300 --bind 127.0.0.1:0 --unlimited-client integration-premium >"$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 600); do  # the demo data takes a few seconds in a debug build
  grep -q "listening on" "$log" && break
  sleep 0.1
done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -1)
if [ -z "$url" ]; then
  echo "fhir: the server did not start" >&2
  exit 1
fi
token=$(curl -sf -X POST "$url/oauth/token" \
  -d grant_type=client_credentials -d client_id=integration-premium -d client_secret=demo-secret |
  "$python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
"$python" tests/fhir/validate.py "$url" "$token"

#!/usr/bin/env bash
# Schemathesis against the server's own /openapi.json: generated and mutated requests to every
# operation, bounded in examples and time. Passes only with 0 server errors and 0 schema violations.
set -euo pipefail
cd "$(dirname "$0")/.."

server_bin=${PRACTICE_STUDIO_SERVER_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/practice-studio-server}
st=.venv/bin/schemathesis
if [ ! -x "$st" ]; then
  echo "api-fuzz: $st is missing; run make deps" >&2
  exit 1
fi
log=$(mktemp)
"$server_bin" --demo --demo-patients 50 --bind 127.0.0.1:0 --unlimited-client integration-premium >"$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 600); do  # the demo data takes a few seconds in a debug build
  grep -q "listening on" "$log" && break
  sleep 0.1
done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -1)
token=$(curl -sf -X POST "$url/oauth/token" \
  -d grant_type=client_credentials -d client_id=integration-premium -d client_secret=demo-secret |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# The OAuth endpoints speak forms and HTML to browsers; they have their own integration tests.
# `positive_data_acceptance` is left out: the API's rules are stricter than JSON Schema can say
# (a date of birth in the past, a US phone number, an Idempotency-Key never reused with another
# body), so schema-valid requests are rightly refused with 400 or 422. Every other check runs,
# server errors and response-schema conformance among them. One worker: with two, schemathesis
# 4.32.5 once failed inside its own coverage phase (a KeyError in its source cache) on a fresh
# clone, a race in the tool rather than a finding about the API.
# The stateful phase is left out: schemathesis 4.32.5 infers links from an appointment's fields to
# PUT /api/v1/patients/{patient_id} carrying an `appointment_id` parameter that operation does not
# have, and stops with "Invalid OpenAPI Links Definition" before any stateful test runs. Sequences
# of calls are covered by the integration tests instead.
timeout 600 "$st" run "$url/openapi.json" \
  --header "Authorization: Bearer $token" \
  --include-path-regex '^/(api/|fhir/|health)' \
  --checks all \
  --phases examples,coverage,fuzzing \
  --exclude-checks positive_data_acceptance \
  --max-examples "${API_FUZZ_EXAMPLES:-40}" \
  --max-time "${API_FUZZ_SECONDS:-240}" \
  --workers 1 \
  --seed 20261126 \
  --no-color

#!/usr/bin/env bash
# Figures for `make bench` (issue 12): release_binary_mb and deb_mb of the true release build
# (profile dist), packaged with throwaway keys. Build output goes to stderr; stdout carries only
# one JSON object per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# shellcheck disable=SC1090
source "$(scripts/package-test-keys.sh "$WORK/keys")"
PACKAGE_PROFILE=dist PACKAGE_OUT=$WORK/out scripts/package.sh >&2
VERSION=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' src-tauri/tauri.conf.json)
python3 - "$TARGET_DIR/dist/frontdesk" "$WORK/out/frontdesk_${VERSION}_amd64.deb" <<'PY'
import json, os, sys
for name, path in (("release_binary_mb", sys.argv[1]), ("deb_mb", sys.argv[2])):
    print(json.dumps({"name": name, "value": round(os.path.getsize(path) / 1e6, 2), "unit": "MB"}))
PY

#!/usr/bin/env bash
# Installs what Front Desk needs and is missing: Debian packages, npm packages, tauri-driver.
# Idempotent, and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  # building the app (Tauri on Linux)
  build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev librsvg2-dev
  libayatana-appindicator3-dev libxdo-dev mold
  # running it: a Secret Service for the keychain when the desktop has none
  dbus-x11 gnome-keyring
  # testing it: a virtual display, WebKit's WebDriver, Debian's Chromium, Python venvs (the API
  # fuzzer), the sqlite3 shell (regenerating the store's checked-query data), curl
  xvfb xauth webkit2gtk-driver chromium python3-venv sqlite3 curl
  # packaging (make package, make test-package): the apt repository, signatures, checks
  apt-utils gnupg minisign desktop-file-utils
  # the server on PostgreSQL (make test-pg starts a throwaway cluster with initdb and pg_ctl)
  postgresql
)

say() { printf 'deps: %s\n' "$*"; }

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "these Debian packages are missing and there is no apt-get to install them:"
    say "  ${missing[*]}"
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    say "these Debian packages are missing: ${missing[*]}"
    say "install them as root: apt-get install ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for tool in cargo node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "$tool is missing: Front Desk needs the Rust toolchain (rustup) and Node.js 20 with npm"
    exit 1
  fi
done
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1; then
    say "adding rustfmt and clippy"
    rustup component add rustfmt clippy >/dev/null
  else
    say "cargo fmt and cargo clippy are missing (rustup component add rustfmt clippy)"
    exit 1
  fi
fi

# npm packages, from the committed lockfiles; redone only when a lockfile changed.
for dir in ui tests/e2e packaging; do
  stamp="$dir/node_modules/.frontdesk-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$dir/package-lock.json" "$stamp"
  fi
done

# Schemathesis (API fuzzing in `make test`), pinned, in a project venv.
SCHEMATHESIS_VERSION=4.32.5
if ! .venv/bin/schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  say "python venv with schemathesis $SCHEMATHESIS_VERSION"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
# The independent FHIR R4 validator of `make test` (tests/fhir): fhir.resources 6.4.x models FHIR
# 4.0.1 (7.x and later model R5/R4B); it needs pydantic 1 (2.x breaks its imports).
FHIR_RESOURCES_VERSION=6.4.0
if ! .venv/bin/python -c "import fhir.resources as f; assert f.__version__ == '$FHIR_RESOURCES_VERSION'" 2>/dev/null; then
  say "fhir.resources $FHIR_RESOURCES_VERSION in the python venv"
  .venv/bin/pip install --quiet --disable-pip-version-check \
    "fhir.resources==$FHIR_RESOURCES_VERSION" "pydantic==1.10.26"
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  say "cargo install tauri-driver"
  cargo install tauri-driver --locked --quiet
fi

#!/usr/bin/env bash
# Makes a throwaway pair of signing keys for testing `make package`, into DIR (created, mode 700):
#   DIR/updater.key, DIR/updater.key.pub   Tauri updater (minisign) key pair, password in DIR/updater.password
#   DIR/gpg-secret.asc, DIR/gpg-public.asc GPG key for the package signatures and the apt repository
#   DIR/env                                 `source` it to export the variables scripts/package.sh reads
# Never use these keys for a real release; they are generated without any protection beyond DIR's mode.
# Usage: scripts/package-test-keys.sh DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:?usage: scripts/package-test-keys.sh DIR}
mkdir -p "$DIR"
chmod 700 "$DIR"
DIR=$(cd "$DIR" && pwd)

TAURI=$ROOT/packaging/node_modules/.bin/tauri
[ -x "$TAURI" ] || (cd "$ROOT/packaging" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf '%s' "$PASSWORD" >"$DIR/updater.password"
"$TAURI" signer generate --ci --force --password "$PASSWORD" --write-keys "$DIR/updater.key" >/dev/null

GNUPGHOME=$(mktemp -d)
export GNUPGHOME
trap 'gpgconf --kill all >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME"' EXIT
gpg --batch --quiet --passphrase '' --quick-gen-key "Front Desk test packages (throwaway) <packages@frontdesk.invalid>" \
  ed25519 sign 1d 2>/dev/null
gpg --batch --armor --export-secret-keys >"$DIR/gpg-secret.asc"
gpg --batch --armor --export >"$DIR/gpg-public.asc"

cat >"$DIR/env" <<EOF
export TAURI_SIGNING_PRIVATE_KEY="\$(cat '$DIR/updater.key')"
export TAURI_SIGNING_PRIVATE_KEY_PASSWORD="\$(cat '$DIR/updater.password')"
export TAURI_SIGNING_PUBLIC_KEY="\$(cat '$DIR/updater.key.pub')"
export FRONTDESK_GPG_PRIVATE_KEY="\$(cat '$DIR/gpg-secret.asc')"
export FRONTDESK_GPG_PASSPHRASE=
EOF
echo "$DIR/env"

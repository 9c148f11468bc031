#!/usr/bin/env bash
# `make package`: Front Desk's Linux release packages, signed, with an apt repository.
#
# Writes into $PACKAGE_OUT (default: <cargo target dir>/package):
#   frontdesk_<v>_amd64.deb, frontdesk-<v>-1.x86_64.rpm   built by the Tauri bundler, no `demo` feature
#   *.deb.sig, *.rpm.sig                                 updater signatures (Tauri's minisign scheme)
#   *.asc                                                detached GPG signatures of the packages
#   SHA256SUMS, SHA256SUMS.asc                           SHA-256 of every file above, and its signature
#   frontdesk-archive-key.asc, updater.pub               the public keys admins check against
#   updates/<channel>/latest.json                        what the in-app updater reads for a channel
#   apt/                                                 a signed apt repository (suite = channel)
#
# Keys come from the environment and are never written into the repository:
#   TAURI_SIGNING_PRIVATE_KEY (+ TAURI_SIGNING_PRIVATE_KEY_PASSWORD)   `tauri signer generate` key
#   FRONTDESK_GPG_PRIVATE_KEY (ASCII-armoured secret key, + FRONTDESK_GPG_PASSPHRASE if it has one)
# scripts/package-test-keys.sh makes a throwaway pair of both for tests.
#
# Other settings: PACKAGE_PROFILE (dist | dist-fast; default dist), PACKAGE_VERSION (default: the
# version in tauri.conf.json), FRONTDESK_CHANNEL (stable | beta; default stable),
# FRONTDESK_UPDATE_BASE_URL (where the packages will be served; default file URL of $PACKAGE_OUT),
# FRONTDESK_RELEASE_NOTES (default "Front Desk <v>"), PACKAGE_SKIP_BUILD=1 (sign and publish the
# bundles already in the target directory).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf 'package: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${PACKAGE_PROFILE:-dist}
OUT=${PACKAGE_OUT:-$TARGET_DIR/package}
CHANNEL=${FRONTDESK_CHANNEL:-stable}
case "$CHANNEL" in stable | beta) ;; *) die "FRONTDESK_CHANNEL must be stable or beta, not '$CHANNEL'" ;; esac
case "$PROFILE" in dist | dist-fast) ;; *) die "PACKAGE_PROFILE must be dist or dist-fast, not '$PROFILE'" ;; esac

[ -n "${TAURI_SIGNING_PRIVATE_KEY:-}" ] ||
  die "TAURI_SIGNING_PRIVATE_KEY is not set (the updater key; scripts/package-test-keys.sh makes a throwaway one)"
[ -n "${FRONTDESK_GPG_PRIVATE_KEY:-}" ] ||
  die "FRONTDESK_GPG_PRIVATE_KEY is not set (the package and apt signing key; scripts/package-test-keys.sh makes a throwaway one)"
for tool in gpg apt-ftparchive sha256sum python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (make deps)"
done
TAURI=$ROOT/packaging/node_modules/.bin/tauri
[ -x "$TAURI" ] || (cd packaging && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

VERSION=${PACKAGE_VERSION:-$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' src-tauri/tauri.conf.json)}
NOTES=${FRONTDESK_RELEASE_NOTES:-Front Desk $VERSION}

# The GPG key lives only in a private keyring for this run.
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
trap 'gpgconf --kill all >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME"' EXIT
printf '%s\n' "$FRONTDESK_GPG_PRIVATE_KEY" | gpg --batch --quiet --import 2>/dev/null ||
  die "FRONTDESK_GPG_PRIVATE_KEY is not a GPG secret key"
GPG_KEY=$(gpg --batch --list-secret-keys --with-colons | awk -F: '$1 == "fpr" { print $10; exit }')
[ -n "$GPG_KEY" ] || die "FRONTDESK_GPG_PRIVATE_KEY holds no secret key"
gpg_sign() {
  gpg --batch --yes --quiet --pinentry-mode loopback --passphrase "${FRONTDESK_GPG_PASSPHRASE:-}" \
    --local-user "$GPG_KEY" "$@"
}

[ "${PACKAGE_SKIP_BUILD:-}" = 1 ] || say "building $VERSION with profile $PROFILE (no demo feature), .deb and .rpm"
# The Tauri bundler builds the app (cargo, the profile and features below) and bundles it; with a
# TAURI_SIGNING_PRIVATE_KEY it also writes the updater signatures (<package>.sig).
# The bundler needs the updater's public key to write updater artifacts.
[ -n "${TAURI_SIGNING_PUBLIC_KEY:-}" ] || die "TAURI_SIGNING_PUBLIC_KEY is not set (the updater key's .pub)"
# productName "frontdesk": the bundler names the package (and its files) after it, so the package is
# `frontdesk` (the desktop entry still says "Front Desk": packaging/frontdesk.desktop.hbs). The
# updater requires the signature to carry the version the manifest announces (the bundler and
# `tauri signer sign --app-version` write it into the signature's trusted comment), so a genuine
# older package cannot be passed off as a newer one.
BUILD_CONFIG=$(python3 -c 'import json,sys; print(json.dumps({"productName": "frontdesk", "version": sys.argv[1], "plugins": {"updater": {"pubkey": sys.argv[2], "endpoints": [], "requireSignedVersion": True}}}))' "$VERSION" "$TAURI_SIGNING_PUBLIC_KEY")
# Profile dist links the desk with packed relative relocations (DT_RELR, src-tauri/build.rs): about
# 1.4 MB less binary, the same position-independent executable; it needs glibc 2.36 or later, which
# the packages declare (deb: libc6 >= 2.36; rpm: libc.so.6(GLIBC_ABI_DT_RELR)(64bit)).
if [ "$PROFILE" = dist ]; then
  export FRONTDESK_PACK_RELATIVE_RELOCS=1
fi
# PACKAGE_SKIP_BUILD=1 re-signs and re-publishes the bundles of an earlier run instead.
[ "${PACKAGE_SKIP_BUILD:-}" = 1 ] || (
  cd src-tauri
  "$TAURI" build --ci --bundles deb,rpm --config "$BUILD_CONFIG" \
    -- --profile "$PROFILE" --no-default-features
) >&2

BUNDLE=$TARGET_DIR/$PROFILE/bundle
DEB=$BUNDLE/deb/frontdesk_${VERSION}_amd64.deb
RPM=$BUNDLE/rpm/frontdesk-${VERSION}-1.x86_64.rpm
if [ "${PACKAGE_SKIP_BUILD:-}" = 1 ]; then
  for f in "$DEB" "$RPM"; do
    [ -f "$f" ] || die "PACKAGE_SKIP_BUILD=1 but there is no $f"
    "$TAURI" signer sign --app-version "$VERSION" "$f" >/dev/null
  done
fi
for f in "$DEB" "$DEB.sig" "$RPM" "$RPM.sig"; do
  [ -f "$f" ] || die "the bundler did not write $f"
done

rm -rf "$OUT"
mkdir -p "$OUT"
cp "$DEB" "$DEB.sig" "$RPM" "$RPM.sig" "$OUT/"
cd "$OUT"
DEB_NAME=$(basename "$DEB")
RPM_NAME=$(basename "$RPM")

# Public keys, for admins to check against.
gpg --batch --armor --export "$GPG_KEY" >frontdesk-archive-key.asc
if [ -n "${TAURI_SIGNING_PUBLIC_KEY:-}" ]; then
  printf '%s\n' "$TAURI_SIGNING_PUBLIC_KEY" >updater.pub
fi

say "signing the packages (GPG key $GPG_KEY) and writing SHA256SUMS"
for f in "$DEB_NAME" "$RPM_NAME"; do
  gpg_sign --armor --detach-sign --output "$f.asc" "$f"
done
sha256sum "$DEB_NAME" "$DEB_NAME.sig" "$DEB_NAME.asc" "$RPM_NAME" "$RPM_NAME.sig" "$RPM_NAME.asc" >SHA256SUMS
gpg_sign --armor --detach-sign --output SHA256SUMS.asc SHA256SUMS

say "updates/$CHANNEL/latest.json"
BASE_URL=${FRONTDESK_UPDATE_BASE_URL:-file://$OUT}
mkdir -p "updates/$CHANNEL"
python3 - "$VERSION" "$NOTES" "$BASE_URL" "$DEB_NAME" "$RPM_NAME" >"updates/$CHANNEL/latest.json" <<'PY'
import datetime, json, sys
version, notes, base, deb, rpm = sys.argv[1:6]
base = base.rstrip("/")
def entry(name):
    with open(name + ".sig", encoding="utf-8") as f:
        return {"signature": f.read().strip(), "url": f"{base}/{name}"}
json.dump({
    "version": version,
    "notes": notes,
    "pub_date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "platforms": {
        # The updater picks the entry of the kind of package the desk was installed from.
        "linux-x86_64-deb": entry(deb),
        "linux-x86_64-rpm": entry(rpm),
        "linux-x86_64": entry(deb),
    },
}, sys.stdout, indent=2)
print()
PY

say "apt repository (suite $CHANNEL)"
POOL=pool/main/f/frontdesk
mkdir -p "apt/$POOL" "apt/dists/$CHANNEL/main/binary-amd64"
cp "$DEB_NAME" "apt/$POOL/"
(
  cd apt
  apt-ftparchive packages pool >"dists/$CHANNEL/main/binary-amd64/Packages"
  gzip -9nk "dists/$CHANNEL/main/binary-amd64/Packages"
  apt-ftparchive \
    -o APT::FTPArchive::Release::Origin="Front Desk" \
    -o APT::FTPArchive::Release::Label="Front Desk" \
    -o APT::FTPArchive::Release::Suite="$CHANNEL" \
    -o APT::FTPArchive::Release::Codename="$CHANNEL" \
    -o APT::FTPArchive::Release::Architectures=amd64 \
    -o APT::FTPArchive::Release::Components=main \
    release "dists/$CHANNEL" >"dists/$CHANNEL/Release.tmp"
  mv "dists/$CHANNEL/Release.tmp" "dists/$CHANNEL/Release"
  gpg_sign --clearsign --output "dists/$CHANNEL/InRelease" "dists/$CHANNEL/Release"
  gpg_sign --armor --detach-sign --output "dists/$CHANNEL/Release.gpg" "dists/$CHANNEL/Release"
  gpg --batch --export "$GPG_KEY" >frontdesk-archive-keyring.gpg
)

BIN=$TARGET_DIR/$PROFILE/frontdesk
python3 - "$BIN" "$DEB_NAME" "$RPM_NAME" "$PROFILE" <<'PY' >&2
import os, sys
b, deb, rpm, profile = sys.argv[1:5]
mb = lambda p: os.path.getsize(p) / 1e6
print(f"package: {profile}: binary {mb(b):.1f} MB, .deb {mb(deb):.1f} MB, .rpm {mb(rpm):.1f} MB")
PY
say "done: $OUT"

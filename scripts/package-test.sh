#!/usr/bin/env bash
# `make test-package`: builds the packages with the fast profile (dist-fast) and throwaway keys, then
# checks what an admin and apt would check: the package contents (no demo server, desktop entry,
# icons, example config), the GPG signatures and SHA256SUMS, the updater signatures (with minisign,
# independently of Tauri) and latest.json, and the signed apt repository through apt itself (its own
# configuration and state directories; the machine's apt is not touched). Tampered files must fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf 'test-package: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
expect_fail() { # expect_fail DESCRIPTION CMD...: CMD must fail
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then fail "$what was accepted"; fi
  say "ok: $what refused"
}

WORK=$(mktemp -d)
cleanup() {
  for home in "$WORK/admin-gnupg" "$WORK/other-gnupg"; do
    [ -d "$home" ] && GNUPGHOME=$home gpgconf --kill all >/dev/null 2>&1
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
start=$(date +%s)

# shellcheck disable=SC1091
source "$(scripts/package-test-keys.sh "$WORK/keys")"
export PACKAGE_PROFILE=${PACKAGE_PROFILE:-dist-fast}
export PACKAGE_OUT=$WORK/out
export FRONTDESK_CHANNEL=beta
export FRONTDESK_UPDATE_BASE_URL=https://updates.frontdesk.invalid/beta
export FRONTDESK_RELEASE_NOTES="Test release"
scripts/package.sh
OUT=$PACKAGE_OUT
VERSION=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' src-tauri/tauri.conf.json)
DEB=$OUT/frontdesk_${VERSION}_amd64.deb
RPM=$OUT/frontdesk-${VERSION}-1.x86_64.rpm
cd "$OUT"

say "package contents"
[ "$(dpkg-deb -f "$DEB" Package)" = frontdesk ] || fail "the .deb is not named frontdesk"
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "the .deb's version is not $VERSION"
dpkg-deb -f "$DEB" Depends | grep -q libwebkit2gtk-4.1 || fail "the .deb does not depend on WebKitGTK 4.1"
# The member names, without the leading "./" some tar writers add (the Tauri bundler's do not).
dpkg-deb -c "$DEB" | sed 's| \./| |' >"$WORK/deb-files"
for f in usr/bin/frontdesk usr/share/doc/frontdesk/config.toml.example \
  usr/share/icons/hicolor/128x128/apps/frontdesk.png; do
  grep -q " $f\$" "$WORK/deb-files" || fail "the .deb has no $f"
done
DESKTOP=$(sed -n 's|.* \(usr/share/applications/.*\.desktop\)$|\1|p' "$WORK/deb-files")
[ -n "$DESKTOP" ] || fail "the .deb has no desktop entry"
dpkg-deb -x "$DEB" "$WORK/root"
desktop-file-validate "$WORK/root/$DESKTOP" || fail "the desktop entry is not valid"
grep -q '^Exec=frontdesk' "$WORK/root/$DESKTOP" || fail "the desktop entry does not start frontdesk"
grep -q '^Icon=frontdesk' "$WORK/root/$DESKTOP" || fail "the desktop entry has no icon"
cmp -s "$WORK/root/usr/share/doc/frontdesk/config.toml.example" "$ROOT/packaging/config.toml.example" ||
  fail "the shipped example config differs from packaging/config.toml.example"
BIN=$WORK/root/usr/bin/frontdesk
# Built without `demo`: the refusal of --demo is compiled in, the server's own routes are not.
grep -aq 'this build has no embedded demo server' "$BIN" || fail "the packaged binary was built with the demo feature"
if grep -aq '/api/v1/webhooks' "$BIN"; then fail "the packaged binary links the demo server"; fi
# The packaged binary runs (stripped, panic = abort): it reads the configuration layers, and refuses --demo.
RUN=(env -i "PATH=$PATH" "HOME=$WORK/home" "XDG_CONFIG_HOME=$WORK/home/config" "XDG_DATA_HOME=$WORK/home/data")
"${RUN[@]}" FRONTDESK_API_URL=https://ps.clinic.example timeout 30 "$BIN" --print-config >"$WORK/print-config" ||
  fail "the packaged frontdesk --print-config failed"
grep -Eq '^api_url +=? *https://ps.clinic.example.*FRONTDESK_API_URL' "$WORK/print-config" ||
  { cat "$WORK/print-config" >&2; fail "the packaged frontdesk does not read FRONTDESK_API_URL"; }
if "${RUN[@]}" timeout 30 "$BIN" --demo --data-dir "$WORK/home/desk" >"$WORK/demo.out" 2>&1; then
  fail "the packaged frontdesk started with --demo"
fi
grep -q 'no embedded demo server' "$WORK/demo.out" || { cat "$WORK/demo.out" >&2; fail "the packaged frontdesk did not refuse --demo"; }
if command -v rpm >/dev/null; then
  rpm -qpl "$RPM" | grep -qx /usr/share/doc/frontdesk/config.toml.example || fail "the .rpm has no example config"
else
  # No rpm tool: the file is at least an RPM (lead magic ED AB EE DB) carrying the binary's path.
  [ "$(head -c 4 "$RPM" | od -An -tx1 | tr -d ' \n')" = edabeedb ] || fail "the .rpm is not an RPM file"
fi
say "ok: .deb and .rpm contents"

say "GPG signatures and SHA256SUMS, as an admin checks them"
export GNUPGHOME=$WORK/admin-gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import frontdesk-archive-key.asc 2>/dev/null
gpg --batch --verify SHA256SUMS.asc SHA256SUMS 2>/dev/null || fail "SHA256SUMS.asc does not verify"
sha256sum --check --strict --quiet SHA256SUMS || fail "SHA256SUMS does not match the files"
for f in "$DEB" "$RPM"; do
  gpg --batch --verify "$f.asc" "$f" 2>/dev/null || fail "$(basename "$f").asc does not verify"
done
cp "$DEB" "$WORK/tampered.deb"
printf 'x' | dd of="$WORK/tampered.deb" bs=1 seek=2000 conv=notrunc status=none
expect_fail "a tampered .deb (GPG)" gpg --batch --verify "$DEB.asc" "$WORK/tampered.deb"
(cd "$WORK" && cp "$OUT/SHA256SUMS" . && cp tampered.deb "$(basename "$DEB")" &&
  ! sha256sum --check --quiet --ignore-missing SHA256SUMS >/dev/null 2>&1) ||
  fail "a tampered .deb passed SHA256SUMS"
say "ok: a tampered .deb fails SHA256SUMS"
OTHER=$WORK/other-gnupg
mkdir -m 700 "$OTHER"
GNUPGHOME=$OTHER gpg --batch --quiet --passphrase '' --quick-gen-key "Someone else <x@invalid>" ed25519 sign 1d 2>/dev/null
GNUPGHOME=$OTHER gpg --batch --quiet --armor --detach-sign --output "$WORK/other.asc" "$DEB"
expect_fail "a .deb signed by another key (GPG)" gpg --batch --verify "$WORK/other.asc" "$DEB"
GNUPGHOME=$OTHER gpgconf --kill all >/dev/null 2>&1 || true

say "updater signatures (minisign) and latest.json"
base64 -d <"$WORK/keys/updater.key.pub" >"$WORK/updater.pub"
for f in "$DEB" "$RPM"; do
  base64 -d <"$f.sig" >"$WORK/$(basename "$f").minisig"
  minisign -Vq -p "$WORK/updater.pub" -m "$f" -x "$WORK/$(basename "$f").minisig" ||
    fail "the updater signature of $(basename "$f") does not verify"
done
expect_fail "a tampered .deb (updater signature)" \
  minisign -Vq -p "$WORK/updater.pub" -m "$WORK/tampered.deb" -x "$WORK/$(basename "$DEB").minisig"
source "$("$ROOT/scripts/package-test-keys.sh" "$WORK/other-keys")" # another updater key
base64 -d <"$WORK/other-keys/updater.key.pub" >"$WORK/other-updater.pub"
expect_fail "the .deb's updater signature under another key" \
  minisign -Vq -p "$WORK/other-updater.pub" -m "$DEB" -x "$WORK/$(basename "$DEB").minisig"
python3 - "$OUT/updates/beta/latest.json" "$VERSION" "$DEB" <<'PY' || fail "latest.json is wrong"
import json, os, sys
doc, version, deb = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
assert doc["version"] == version, doc["version"]
assert doc["notes"] == "Test release", doc["notes"]
entry = doc["platforms"]["linux-x86_64-deb"]
assert entry["url"] == "https://updates.frontdesk.invalid/beta/" + os.path.basename(deb), entry["url"]
assert entry["signature"] == open(deb + ".sig").read().strip(), "signature differs from the .deb's .sig"
assert doc["platforms"]["linux-x86_64-rpm"]["url"].endswith(".rpm")
PY
say "ok: updater signatures and latest.json"

say "apt sees the package in the signed repository (private apt dirs)"
A=$WORK/apt-client
mkdir -p "$A/etc/sources.list.d" "$A/etc/preferences.d" "$A/etc/trusted.gpg.d" "$A/state/lists/partial" \
  "$A/cache/archives/partial"
apt_opts=(-o "Dir::Etc=$A/etc" -o "Dir::Etc::sourcelist=$A/etc/sources.list" -o "Dir::Etc::sourceparts=$A/etc/sources.list.d"
  -o "Dir::Etc::preferencesparts=$A/etc/preferences.d" -o "Dir::Etc::trustedparts=$A/etc/trusted.gpg.d"
  -o "Dir::State=$A/state" -o "Dir::State::status=$A/state/status" -o "Dir::Cache=$A/cache"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -o "APT::Architecture=amd64")
touch "$A/state/status"
echo "deb [signed-by=$OUT/apt/frontdesk-archive-keyring.gpg] file:$OUT/apt beta main" >"$A/etc/sources.list"
apt-get "${apt_opts[@]}" update -q >"$WORK/apt-update.log" 2>&1 || { cat "$WORK/apt-update.log" >&2; fail "apt-get update"; }
if grep -qiE '^(W|E):' "$WORK/apt-update.log"; then cat "$WORK/apt-update.log" >&2; fail "apt-get update warned"; fi
apt-cache "${apt_opts[@]}" policy frontdesk | tee "$WORK/policy" >&2
grep -q "Candidate: $VERSION" "$WORK/policy" || fail "apt does not offer frontdesk $VERSION"
# The same repository under another key: apt refuses it.
rm -rf "$A/state/lists"
mkdir -p "$A/state/lists/partial"
GNUPGHOME=$OTHER gpg --batch --export >"$WORK/other-keyring.gpg"
echo "deb [signed-by=$WORK/other-keyring.gpg] file:$OUT/apt beta main" >"$A/etc/sources.list"
apt-get "${apt_opts[@]}" update -q >"$WORK/apt-update-other.log" 2>&1 || true
grep -qE 'NO_PUBKEY|not signed|is not signed' "$WORK/apt-update-other.log" ||
  { cat "$WORK/apt-update-other.log" >&2; fail "apt accepted the repository under another key"; }
apt-cache "${apt_opts[@]}" policy frontdesk | grep -q "Candidate: $VERSION" &&
  fail "apt offers frontdesk from a repository signed by another key"
say "ok: apt refuses the repository under another key"

say "all checks passed in $(($(date +%s) - start)) s"

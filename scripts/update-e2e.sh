#!/usr/bin/env bash
# The in-app updater end to end (issue 12), a stage of `make test`:
#   1. builds Front Desk N, N+1 and N+2 as release packages (scripts/package.sh, profile
#      dist-fast, throwaway keys from scripts/package-test-keys.sh); the versions differ only in
#      the Tauri configuration, so the later builds recompile only the app crate;
#   2. prepares what a loopback HTTP server (python3 http.server) serves: latest.json for N+1 and
#      for N+2 (as package.sh writes them), and two bad updates: an altered package, and a package
#      signed by another key;
#   3. in a private mount namespace (unshare -m) with throwaway overlays over /usr, /etc and /var,
#      installs N from its .deb with dpkg (so the updater sees a deb install), puts a `pkexec` that
#      runs its command as is first on PATH (we are root in the namespace), and runs
#      tests/e2e/updater/ under Xvfb and a private D-Bus session. The machine's own packages, dpkg
#      database and logs are not touched: the overlays vanish with the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf 'update-e2e: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

if [ "${1:-}" = --in-namespace ]; then
  # Step 3, as root in the private namespace.
  WORK=$2
  for dir in usr etc var; do
    mkdir -p "$WORK/overlay/$dir/upper" "$WORK/overlay/$dir/work"
    mount -t overlay overlay \
      -o "lowerdir=/$dir,upperdir=$WORK/overlay/$dir/upper,workdir=$WORK/overlay/$dir/work" "/$dir"
  done
  dpkg -i "$WORK/serve/packages/frontdesk_${UPDATE_E2E_N}_amd64.deb" >"$WORK/dpkg-install.log" 2>&1 ||
    { cat "$WORK/dpkg-install.log" >&2; die "dpkg -i of version N"; }
  [ "$(dpkg -S /usr/bin/frontdesk | cut -d: -f1)" = frontdesk ] || die "dpkg does not know /usr/bin/frontdesk"
  mkdir -p "$WORK/shim"
  printf '#!/bin/sh\n# pkexec for the test namespace: we are root already.\nexec "$@"\n' >"$WORK/shim/pkexec"
  chmod 755 "$WORK/shim/pkexec"
  export PATH="$WORK/shim:$PATH"
  cd "$ROOT/tests/e2e"
  exec xvfb-run -a -s "-screen 0 1366x768x24" dbus-run-session -- \
    node --test --test-reporter=spec --test-concurrency=1 updater/
fi

[ "$(id -u)" = 0 ] || die "needs root for the private mount namespace (unshare -m)"
for tool in unshare dpkg-deb python3 xvfb-run dbus-run-session tauri-driver gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || die "$tool is missing (make deps)"
done
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$TARGET_DIR
WORK=$(mktemp -d /tmp/frontdesk-update-e2e.XXXXXX)
HTTP_PID=
cleanup() {
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
start=$(date +%s)

# Versions of their own, far from the real ones, so that nothing else can be mistaken for them.
N=99.0.0
N1=99.0.1
TAMPERED=99.0.2
OTHER=99.0.3
N2=99.0.4
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
SERVE=$WORK/serve
mkdir -p "$SERVE/packages" "$SERVE/updates/stable" "$SERVE/manifests"

# shellcheck disable=SC1091
source "$(scripts/package-test-keys.sh "$WORK/keys")"
export PACKAGE_PROFILE=dist-fast FRONTDESK_CHANNEL=stable FRONTDESK_UPDATE_BASE_URL=$BASE/packages
for version in "$N" "$N1" "$N2"; do
  case $version in "$N") name=N ;; "$N1") name=N+1 ;; *) name=N+2 ;; esac
  say "building version $version (profile dist-fast)"
  PACKAGE_VERSION=$version PACKAGE_OUT=$WORK/out-$version FRONTDESK_RELEASE_NOTES="Signed test release $name" \
    scripts/package.sh
  cp "$WORK/out-$version/frontdesk_${version}_amd64.deb" "$SERVE/packages/"
done
cp "$WORK/out-$N1/updates/stable/latest.json" "$SERVE/manifests/n1.json"
cp "$WORK/out-$N2/updates/stable/latest.json" "$SERVE/manifests/n2.json"
DEB_N1=$SERVE/packages/frontdesk_${N1}_amd64.deb

# Two bad updates, announced as newer versions:
# - TAMPERED: N+1's package with one byte changed, with a genuine signature (our key) of the
#   unchanged package;
# - OTHER: N+1's package, unchanged, signed by another key.
TAURI=$ROOT/packaging/node_modules/.bin/tauri
cp "$DEB_N1" "$SERVE/packages/frontdesk_${TAMPERED}_amd64.deb"
"$TAURI" signer sign --app-version "$TAMPERED" "$SERVE/packages/frontdesk_${TAMPERED}_amd64.deb" >/dev/null
printf 'x' | dd of="$SERVE/packages/frontdesk_${TAMPERED}_amd64.deb" bs=1 seek=4000 conv=notrunc status=none
cp "$DEB_N1" "$SERVE/packages/frontdesk_${OTHER}_amd64.deb"
(
  # shellcheck disable=SC1090
  source "$(scripts/package-test-keys.sh "$WORK/other-keys")"
  "$TAURI" signer sign --app-version "$OTHER" "$SERVE/packages/frontdesk_${OTHER}_amd64.deb" >/dev/null
)
python3 - "$SERVE" "$BASE/packages" "$TAMPERED" "$OTHER" <<'PY'
import json, sys
serve, base, tampered, other = sys.argv[1:5]
for version, name in ((tampered, "tampered.json"), (other, "other-key.json")):
    deb = f"frontdesk_{version}_amd64.deb"
    with open(f"{serve}/packages/{deb}.sig", encoding="utf-8") as f:
        signature = f.read().strip()
    entry = {"signature": signature, "url": f"{base}/{deb}"}
    doc = {"version": version, "notes": f"Bad test release {version}",
           "pub_date": "2026-11-27T00:00:00Z",
           "platforms": {"linux-x86_64-deb": entry, "linux-x86_64": entry}}
    with open(f"{serve}/manifests/{name}", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
PY
cp "$SERVE/manifests/n1.json" "$SERVE/updates/stable/latest.json"

say "serving the updates on $BASE"
python3 -m http.server --bind 127.0.0.1 --directory "$SERVE" "$PORT" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do
  curl -fsS "$BASE/updates/stable/latest.json" >/dev/null 2>&1 && break
  sleep 0.1
done

# The API server the administrator signs in to (built by the Rust tests stage; cheap if fresh).
cargo build --quiet -p practice-studio-server
export PRACTICE_STUDIO_BIN=$TARGET_DIR/debug/practice-studio-server
[ -d tests/e2e/node_modules ] || (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

say "installing $N in a private mount namespace and updating it from the desk"
export UPDATE_E2E_N=$N UPDATE_E2E_N1=$N1 UPDATE_E2E_N2=$N2 UPDATE_E2E_URL=$BASE/updates UPDATE_E2E_SERVE=$SERVE
export UPDATE_E2E_TAMPERED=$TAMPERED UPDATE_E2E_OTHER=$OTHER
export UPDATE_E2E_LOG=$ROOT/target/e2e-artifacts/updater-desk.log
mkdir -p "$ROOT/target/e2e-artifacts"
: >"$UPDATE_E2E_LOG"
unshare -m --propagation private "$0" --in-namespace "$WORK"
# Outside the namespace nothing changed.
case "$(dpkg-query -W -f='${Version}' frontdesk 2>/dev/null || true)" in
  99.0.*) die "the machine's own dpkg database shows the test's package" ;;
esac
[ ! -e /usr/share/doc/frontdesk/config.toml.example ] || [ -n "$(dpkg-query -W frontdesk 2>/dev/null)" ] ||
  die "the test's package left files in the machine's /usr"
say "passed in $(($(date +%s) - start)) s"

#!/usr/bin/env bash
# `make run`: the desk on the embedded demo server. A real window when there is a display, browser
# mode (its address printed) when there is none. Runs inside a private Secret Service session when
# the desktop has none, so the keychain works in the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${FRONTDESK_BIN:-target/debug/frontdesk}
data_dir=${FRONTDESK_DEMO_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/frontdesk-demo}
args=(--demo --data-dir "$data_dir")
if [ -n "${DEMO_TODAY:-}" ]; then
  args+=(--demo-today "$DEMO_TODAY")
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found: starting browser mode."
  cmd=("$bin" serve "${args[@]}")
else
  cmd=("$bin" "${args[@]}")
fi

secret_service_running() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] &&
    command -v dbus-send >/dev/null 2>&1 &&
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"
}

if secret_service_running; then
  exec "${cmd[@]}"
fi
echo "No Secret Service running: starting a private one for the demo."
# The demo keyring's password only unlocks this throwaway session's keyring.
# The daemon `--unlock` starts can lose the race to register on the bus (D-Bus activation then
# starts one without the password), so wait until the default collection answers unlocked.
exec dbus-run-session -- bash -c '
  unlock() { printf "frontdesk-demo" | gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null 2>&1; }
  unlocked() {
    dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets/aliases/default \
      org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null |
      grep -q "boolean false"
  }
  unlock
  for i in $(seq 1 100); do
    unlocked && break
    [ $((i % 25)) -eq 0 ] && unlock
    sleep 0.1
  done
  exec "$@"' frontdesk-demo "${cmd[@]}"

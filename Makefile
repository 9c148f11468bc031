# Front Desk — the two commands a new user needs are `make run` and `make test`.
#   make deps      install what is missing (Debian packages, npm packages, tauri-driver); idempotent
#   make build     build the UI and the app (no installs)
#   make run       deps + build + start the app on the embedded demo server
#   make test      every check, stopping at the first failure
#   make test-pg   the server's suites on a throwaway PostgreSQL cluster, and two instances on one database
#   make bench     benchmarks, one JSON object per figure
#   make bindings  regenerate the UI's TypeScript types from the Rust types
#   make package   signed .deb/.rpm, updater signatures, latest.json and an apt repository (keys from env)
#   make test-package  builds the packages with throwaway keys and checks them (not part of make test)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

export CARGO_TERM_COLOR ?= never
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
export FRONTDESK_BIN := $(TARGET_DIR)/debug/frontdesk

.PHONY: deps build run test test-pg bench desk-bench bindings ui-build clean package test-package package-bench

deps:
	@scripts/deps.sh

ui-build:
	@cd ui && npm run --silent build -- --logLevel warn

build: ui-build
	cargo build -p frontdesk

run: deps build
	@scripts/run.sh

test:
	@scripts/test.sh

test-pg:
	@scripts/test-pg.sh

# Build progress goes to stderr; stdout carries only the figures. Prism (for the comparison) is
# installed into bench/ on first use.
bench:
	@[ -x bench/node_modules/.bin/prism ] || (cd bench && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	cargo bench -p practice-studio-server --bench health --quiet | grep '^{'
	cargo bench -p practice-studio-server --bench patients --quiet | grep '^{'
	@scripts/bench-pg.sh
	cargo bench -p practice-studio-server --bench appointments --quiet | grep '^{'
	cargo bench -p practice-studio-server --bench events --quiet | grep '^{'
	cargo bench -p practice-studio-server --bench fhir --quiet | grep '^{'
	cargo bench -p practice-studio --features client --bench crawl --quiet | grep '^{'
	cargo bench -p frontdesk-store --bench search --quiet | grep '^{'
	cargo bench -p frontdesk-core --bench first_sync --quiet | grep '^{'
	cargo bench -p frontdesk-core --bench slot_search --quiet | grep '^{'
	cargo bench -p frontdesk-core --bench v2_requests --quiet | grep '^{'
	@$(MAKE) --no-print-directory desk-bench
	@$(MAKE) --no-print-directory package-bench

# The desk's own figures (issue 9): keystroke_to_results_ms, and the book's week_view_render_ms and
# desk_to_desk_ms (issue 10), in browser mode on release builds (with the demo feature);
# cold_start_ms and app_pss_mb in the real window under Xvfb on the build clinics install: profile
# `dist` without the demo feature, linked as `make package` links it, beside an empty Tauri app
# built with the same profile. The end-to-end suite's node packages (Playwright, WebdriverIO)
# drive them.
desk-bench: ui-build
	@[ -d tests/e2e/node_modules ] || (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	cargo build --release --quiet -p frontdesk -p practice-studio-server
	FRONTDESK_PACK_RELATIVE_RELOCS=1 cargo build --profile dist --quiet --no-default-features -p frontdesk -p empty-tauri-app
	cd tests/e2e && FRONTDESK_BIN=$(TARGET_DIR)/release/frontdesk PRACTICE_STUDIO_BIN=$(TARGET_DIR)/release/practice-studio-server \
	  node bench/keystroke.mjs
	cd tests/e2e && FRONTDESK_BIN=$(TARGET_DIR)/release/frontdesk PRACTICE_STUDIO_BIN=$(TARGET_DIR)/release/practice-studio-server \
	  node bench/book.mjs
	cd tests/e2e && FRONTDESK_BIN=$(TARGET_DIR)/dist/frontdesk PRACTICE_STUDIO_BIN=$(TARGET_DIR)/release/practice-studio-server \
	  EMPTY_APP_BIN=$(TARGET_DIR)/dist/empty-tauri-app \
	  xvfb-run -a -s "-screen 0 1366x768x24" dbus-run-session -- node bench/window.mjs

# Release packages (issue 12), built without the demo server; see scripts/package.sh and the README's
# "Packages and updates". PACKAGE_PROFILE=dist-fast builds them quicker (not for release).
package: ui-build
	@scripts/package.sh

test-package: ui-build
	@scripts/package-test.sh

# release_binary_mb and deb_mb (profile dist, throwaway keys); part of `make bench`.
package-bench: ui-build
	@scripts/package-bench.sh

bindings: ui-build
	FRONTDESK_UPDATE_BINDINGS=1 cargo test -p frontdesk --test shell typescript_bindings_match_the_rust_types -- --quiet

clean:
	cargo clean
	rm -rf ui/dist ui/node_modules tests/e2e/node_modules bench/node_modules .venv

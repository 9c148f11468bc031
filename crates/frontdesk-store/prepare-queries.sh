#!/bin/sh
# Regenerates .sqlx/ (the offline data sqlx::query! checks against) without sqlx-cli: builds a
# plain, unencrypted SQLite file from the migrations with the sqlite3 CLI, then lets the macros
# describe every query against it and save what they learned (SQLX_OFFLINE_DIR), as
# `cargo sqlx prepare` does. Run after changing a migration or a query!. The new data is written
# beside the old and swapped in at the end, so builds running meanwhile keep a complete .sqlx/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/schema.db
for sql in "$here"/migrations/cache/*.sql "$here"/migrations/audit/*.sql; do
    sqlite3 "$db" < "$sql"
done
mkdir -p "$work/sqlx" "$here/.sqlx"
touch "$here/src/lib.rs"
DATABASE_URL="sqlite:$db" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$work/sqlx" \
    cargo check -p frontdesk-store --manifest-path "$here/Cargo.toml"
cp "$work"/sqlx/query-*.json "$here/.sqlx/"
for old in "$here"/.sqlx/query-*.json; do
    [ -e "$work/sqlx/$(basename "$old")" ] || rm -f "$old"
done
echo "$(ls "$here"/.sqlx | wc -l) queries described in $here/.sqlx"

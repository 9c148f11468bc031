#!/bin/sh
# Regenerates .sqlx/ (the offline data sqlx::query! checks against) without sqlx-cli: builds a
# plain, unencrypted SQLite file from the migrations with the sqlite3 CLI, then lets the macros
# describe every query against it and save what they learned (SQLX_OFFLINE_DIR), as
# `cargo sqlx prepare` does. Run after changing a migration or a query!.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
db=$(mktemp -d)/schema.db
for sql in "$here"/migrations/cache/*.sql "$here"/migrations/audit/*.sql; do
    sqlite3 "$db" < "$sql"
done
rm -f "$here"/.sqlx/query-*.json
mkdir -p "$here/.sqlx"
touch "$here/src/lib.rs"
DATABASE_URL="sqlite:$db" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$here/.sqlx" \
    cargo check -p frontdesk-store --manifest-path "$here/Cargo.toml"
rm -f "$db"
echo "$(ls "$here"/.sqlx | wc -l) queries described in $here/.sqlx"

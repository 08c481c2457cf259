#!/usr/bin/env bash
# The load generator against PostgreSQL: a throwaway cluster (fsync on as in production, removed
# after), release builds of the generator and the server binary, then `onsite-load` with the
# arguments given, e.g.
#   scripts/load-postgres.sh --devices 10000 --jobs 20 --seconds 10 --instances 2
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/throwaway-postgres.sh
echo "==> building onsite-load and onsite-server (release)"
cargo build --release --locked -p onsite-tests --bin onsite-load -p sync-server --bin onsite-server
start_throwaway_postgres -c max_connections=200 -c shared_buffers=512MB
ONSITE_TEST_POSTGRES="host=127.0.0.1 port=$PG_PORT user=postgres" ONSITE_TEST_POSTGRES_CONNECTIONS=${ONSITE_TEST_POSTGRES_CONNECTIONS:-32} \
  ./target/release/onsite-load "$@"

#!/usr/bin/env bash
# The load generator against PostgreSQL: a throwaway cluster (initdb + pg_ctl on a loopback
# port, fsync on as in production, removed after), release builds of the generator and the
# server binary, then `onsite-load` with the arguments given, e.g.
#   scripts/load-postgres.sh --devices 10000 --jobs 20 --seconds 10 --instances 2
set -euo pipefail
cd "$(dirname "$0")/.."
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pg_bin/initdb" ] || { echo "PostgreSQL's server is not installed (apt-get install postgresql)"; exit 1; }
echo "==> building onsite-load and onsite-server (release)"
cargo build --release --locked -p onsite-tests --bin onsite-load -p sync-server --bin onsite-server
work=$(mktemp -d /tmp/onsite-pg-load.XXXXXX)
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$work"
  as=(runuser -u postgres --)
fi
port=$(free_port)
cleanup() {
  "${as[@]}" "$pg_bin/pg_ctl" -D "$work/data" -m fast stop > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"${as[@]}" "$pg_bin/initdb" -D "$work/data" -U postgres -A trust -E UTF8 > "$work/initdb.log" 2>&1 || { cat "$work/initdb.log"; exit 1; }
"${as[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB" start > /dev/null ||
  { cat "$work/postgres.log"; exit 1; }
echo "==> PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync on)"
ONSITE_TEST_POSTGRES="host=127.0.0.1 port=$port user=postgres" ONSITE_TEST_POSTGRES_CONNECTIONS=${ONSITE_TEST_POSTGRES_CONNECTIONS:-32} \
  ./target/release/onsite-load "$@"

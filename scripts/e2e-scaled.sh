#!/usr/bin/env bash
# The end-to-end suite on the scaled-out backends: every test server keeps its records in
# PostgreSQL (a throwaway cluster: initdb + pg_ctl on a random loopback port, removed after) and
# its blobs in an S3-compatible bucket (moto on loopback). The same tests as the embedded pass.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_SERVER=${MOTO_SERVER:-moto_server}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pg_bin/initdb" ] || { echo "PostgreSQL's server is not installed (apt-get install postgresql)"; exit 1; }
work=$(mktemp -d /tmp/onsite-pg.XXXXXX)
# PostgreSQL refuses to run as root: the cluster belongs to the postgres user then.
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$work"
  as=(runuser -u postgres --)
fi
pg_port=$(free_port)
moto_port=$(free_port)
moto=
cleanup() {
  [ -n "$moto" ] && kill "$moto" 2>/dev/null || true
  "${as[@]}" "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"${as[@]}" "$pg_bin/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --no-sync > "$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log"; exit 1; }
# Test data is thrown away: no fsync. Enough connections for every test server's pool.
"${as[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=400" start > /dev/null ||
  { cat "$work/postgres.log"; exit 1; }
echo "==> PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"

"$MOTO_SERVER" -H 127.0.0.1 -p "$moto_port" > "$work/moto.log" 2>&1 &
moto=$!
up() { python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$moto_port/moto-api/', timeout=1)" 2>/dev/null; }
for _ in $(seq 100); do up && break; sleep 0.1; done
up || { echo "moto did not start:"; cat "$work/moto.log"; exit 1; }
echo "==> moto S3 on 127.0.0.1:$moto_port"

ONSITE_TEST_POSTGRES="host=127.0.0.1 port=$pg_port user=postgres" \
ONSITE_TEST_S3_ENDPOINT="http://127.0.0.1:$moto_port" \
  cargo test -p onsite-tests --test e2e --locked "$@"

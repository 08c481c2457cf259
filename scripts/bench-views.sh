#!/usr/bin/env bash
# Dispatcher list and KPI timings at scale (criterion, sync-server/benches/admin.rs):
#   scripts/bench-views.sh [JOBS] [--postgres]
# JOBS defaults to 100000; with --postgres the jobs go into a throwaway PostgreSQL cluster
# (fsync on, removed after) instead of the embedded SQLite file.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=100000
postgres=
for a in "$@"; do
  case "$a" in
    --postgres) postgres=1 ;;
    *) jobs=$a ;;
  esac
done
export ONSITE_BENCH_JOBS=$jobs
if [ -n "$postgres" ]; then
  free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL's server is not installed (apt-get install postgresql)"; exit 1; }
  work=$(mktemp -d /tmp/onsite-pg-bench.XXXXXX)
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
    -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c shared_buffers=512MB" start > /dev/null || { cat "$work/postgres.log"; exit 1; }
  "${as[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres onsite_bench
  export ONSITE_BENCH_DATABASE_URL="host=127.0.0.1 port=$port user=postgres dbname=onsite_bench"
  echo "==> PostgreSQL on 127.0.0.1:$port (fsync on)"
fi
echo "==> $jobs jobs; seeding prints progress, then criterion measures"
cargo bench --locked -p sync-server --bench admin

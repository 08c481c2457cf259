#!/usr/bin/env bash
# Dispatcher list and KPI timings at scale (criterion, sync-server/benches/admin.rs):
#   scripts/bench-views.sh [JOBS] [--postgres]
# JOBS defaults to 100000; with --postgres the jobs go into a throwaway PostgreSQL cluster
# (fsync on, removed after) instead of the embedded SQLite file. ONSITE_BENCH_DIR keeps the
# seeded data between runs; with --postgres, a SQLite deployment seeded there before is moved
# into the cluster with `onsite-server migrate` (timed) instead of seeding again.
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
  . scripts/lib/throwaway-postgres.sh
  start_throwaway_postgres -c shared_buffers=512MB
  "${PG_AS[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres onsite_bench
  export ONSITE_BENCH_DATABASE_URL="host=127.0.0.1 port=$PG_PORT user=postgres dbname=onsite_bench"
  if [ -n "${ONSITE_BENCH_DIR:-}" ] && [ -f "$ONSITE_BENCH_DIR/onsite-server.sqlite" ]; then
    echo "==> moving the seeded deployment in $ONSITE_BENCH_DIR into PostgreSQL"
    cargo build --locked --release -p sync-server --bin onsite-server
    moved=$(mktemp -d /tmp/onsite-bench-moved.XXXXXX)
    start=$(date +%s)
    ONSITE_DATABASE_URL="$ONSITE_BENCH_DATABASE_URL" ONSITE_DATA="$moved" target/release/onsite-server migrate --from "$ONSITE_BENCH_DIR"
    echo "==> moved in $(( $(date +%s) - start )) s"
    export ONSITE_BENCH_DIR=$moved
  fi
fi
echo "==> $jobs jobs; seeding prints progress, then criterion measures"
cargo bench --locked -p sync-server --bench admin

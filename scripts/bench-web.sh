#!/usr/bin/env bash
# The technician app's store in Chromium (headless, OPFS) with 5,000 jobs, next to the same numbers
# natively: `scripts/bench-web.sh [JOBS]`. Also prints the web app's size, raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
ensure_apt "${BASE_PACKAGES[@]}" curl
ensure_rust
ensure_browser_test
ensure_web_build
jobs=${1:-5000}
ONSITE_WEB_BENCH=1 scripts/build-web.sh target/web/bench
cargo build --quiet --locked -p sync-server
data=$(mktemp -d)
./target/debug/onsite-server --listen 127.0.0.1:8797 --data "$data" --web-app target/web/bench >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:8797/health >/dev/null 2>&1 && break; sleep 0.2; done
echo "==> the store in Chromium with $jobs jobs (filling it takes a minute or two)"
node tests/browser/bench.mjs "http://127.0.0.1:8797/app/bench.html?jobs=$jobs"
echo "==> the same natively: cargo bench -p app --bench store -- 'list_today|open_job|edit_committed|tap_to_render_job'"

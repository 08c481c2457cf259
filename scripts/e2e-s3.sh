#!/usr/bin/env bash
# The end-to-end suite with every test server's blobs in an S3-compatible bucket (moto on a
# loopback port) instead of the data folder: the same tests, the other backend.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_SERVER=${MOTO_SERVER:-moto_server}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MOTO_SERVER" -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
up() { python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; }
for _ in $(seq 100); do up && break; sleep 0.1; done
up || { echo "moto did not start:"; cat target/moto.log; exit 1; }
echo "==> moto S3 on 127.0.0.1:$port"
ONSITE_TEST_S3_ENDPOINT="http://127.0.0.1:$port" cargo test -p onsite-tests --test e2e --locked "$@"

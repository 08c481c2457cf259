#!/usr/bin/env bash
# Fuzzes a real server (embedded SQLite, demo data, on loopback) against the OpenAPI description
# it serves, with every schemathesis check and every phase (examples, coverage, fuzzing,
# stateful). Any failure fails the run. SCHEMATHESIS_MAX_EXAMPLES sets the depth (default 15);
# SCHEMATHESIS_SEED the generation (fixed by default so a CI run is repeatable; "random" for a new
# one each run, which is how new failures are found: run it so before changing the API).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
ensure_schemathesis
echo "==> API fuzzing: building the server"
cargo build -q -p sync-server --bin onsite-server --locked
data=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$data/server.log"
# Generous per-address limits: one fuzzer is every client here (429s stay documented answers).
target/debug/onsite-server --data "$data/server" --demo --listen "127.0.0.1:$port" --client-requests-per-s 100000 --auth-attempts-per-min 100000 \
  >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "the server did not start:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.2
done
creds="$data/server/demo-credentials.json"
ONSITE_ADMIN_TOKEN=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["dispatcher_token"])' "$creds")
# A phone of the first demo technician, for the device routes.
code=$(python3 -c 'import json, sys; print(sorted(json.load(open(sys.argv[1]))["technicians"].values())[0][1])' "$creds")
ONSITE_DEVICE_TOKEN=$(curl -sf -H 'Content-Type: application/json' -d "{\"code\": \"$code\", \"device_name\": \"fuzzer\"}" \
  "http://127.0.0.1:$port/v1/pair" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
# A spare account and token for the operations that could lock the fuzzer out (see the config).
admin() { curl -sf -H "Authorization: Bearer $ONSITE_ADMIN_TOKEN" -H 'Content-Type: application/json' "$@"; }
ONSITE_SPARE_ACCOUNT=$(admin -d '{"login": "spare", "name": "Spare", "role": "viewer"}' "http://127.0.0.1:$port/admin/v1/accounts" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
ONSITE_SPARE_TOKEN=$(admin -d '{"name": "spare"}' "http://127.0.0.1:$port/admin/v1/accounts/$ONSITE_SPARE_ACCOUNT/tokens" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
# A real job and technician, so the fuzzer reaches past "not found" into the handlers.
ONSITE_JOB=$(admin "http://127.0.0.1:$port/admin/v1/jobs?limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["jobs"][0]["job"])')
ONSITE_TECHNICIAN=$(python3 -c 'import json, sys; print(sorted(json.load(open(sys.argv[1]))["technicians"].values())[-1][0])' "$creds")
export ONSITE_ADMIN_TOKEN ONSITE_DEVICE_TOKEN ONSITE_SPARE_ACCOUNT ONSITE_SPARE_TOKEN ONSITE_JOB ONSITE_TECHNICIAN
echo "==> API fuzzing: schemathesis $SCHEMATHESIS_VERSION, all checks, against http://127.0.0.1:$port/openapi.json"
status=0
seed="--seed ${SCHEMATHESIS_SEED:-70487421217103546214026537136246416642}"
[ "${SCHEMATHESIS_SEED:-}" = random ] && seed=""
"$SCHEMATHESIS_VENV/bin/schemathesis" --config-file tests/api/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
  --phases examples,coverage,fuzzing,stateful --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-15}" \
  --workers 2 --no-color $seed "$@" || status=$?
if grep -q "panicked" "$log"; then
  echo "the server panicked during the run:" >&2
  grep -A3 "panicked" "$log" >&2
  status=1
fi
exit $status

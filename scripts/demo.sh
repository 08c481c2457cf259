#!/usr/bin/env bash
# Runs the OnSite demo: the sync server on its embedded SQLite with demo data, and the technician
# app (李明 Li Ming's phone) paired to it, synced, showing today's jobs. Ctrl-C stops the server.
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
ensure_apt "${BASE_PACKAGES[@]}" "${UI_PACKAGES[@]}" "${DEMO_PACKAGES[@]}"
ensure_rust
ensure_web_build
data="${ONSITE_DATA:-demo-data}"
store="${ONSITE_STORE:-demo-device.sqlite}"
listen="${ONSITE_LISTEN:-127.0.0.1:8787}"
echo "==> building the server and the app (the first build takes several minutes)"
cargo build --locked -p sync-server -p app --features app/liveview
scripts/build-web.sh
./target/debug/onsite-server --listen "$listen" --data "$data" --demo --web-app target/web/app &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 50); do curl -sf "http://$listen/health" >/dev/null 2>&1 && break; sleep 0.2; done
if ! kill -0 "$server_pid" 2>/dev/null || ! curl -sf "http://$listen/health" >/dev/null 2>&1; then
  echo "the sync server did not start on $listen (is the port taken? set ONSITE_LISTEN=host:port)" >&2
  exit 1
fi
if [ ! -f "$store" ]; then
  code=$(python3 -c "import json,sys; print(json.load(open('$data/demo-credentials.json'))['technicians']['li'][1])")
  ./target/debug/onsite --store "$store" pair --server "http://$listen" --code "$code" --name "demo phone"
fi
./target/debug/onsite --store "$store" sync
./target/debug/onsite --store "$store" today
echo "server running at http://$listen (the demo admin's token, login and password: $data/demo-credentials.json, readable by you only)"
# A fresh one-time code for the web app on every run (codes are single use and expire in 30 min).
web_code=$(python3 - "$data/demo-credentials.json" "http://$listen" <<'PY'
import json, sys, urllib.request
creds = json.load(open(sys.argv[1]))
tech = creds["technicians"]["li"][0]
req = urllib.request.Request(f"{sys.argv[2]}/admin/v1/technicians/{tech}/pairing-codes", method="POST",
                             headers={"Authorization": "Bearer " + creds["dispatcher_token"]})
print(json.load(urllib.request.urlopen(req))["code"])
PY
) || web_code="(could not make one: see $data/demo-credentials.json)"
echo "technician web app (installable, works offline): http://$listen/app/ — in Settings, pair with code $web_code"
console_host=${listen/127.0.0.1/localhost}
echo "dispatcher console: http://$console_host/console — log in as 'demo' with the password in $data/demo-credentials.json"
echo "API description: http://$listen/api-docs (machine-readable: /openapi.json)"
echo "  (start over with: rm -rf $data $store*)"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "opening the technician app; close its window to stop the demo"
  ONSITE_LOCATION="${ONSITE_LOCATION:-31.2304,121.4737}" ./target/debug/onsite --store "$store"
else
  app_listen="${ONSITE_APP_LISTEN:-127.0.0.1:8790}"
  echo "no display for the app window: serving the same app to a browser instead (open it at phone size); Ctrl-C stops the demo"
  ONSITE_LOCATION="${ONSITE_LOCATION:-31.2304,121.4737}" ./target/debug/onsite --store "$store" serve --listen "$app_listen"
fi

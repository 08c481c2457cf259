#!/usr/bin/env bash
# Runs the OnSite demo: a technician's phone store filled with demo data, today's list shown.
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
ensure_apt "${BASE_PACKAGES[@]}"
ensure_rust
store="${ONSITE_STORE:-demo-device.sqlite}"
[ -f "$store" ] || cargo run --quiet --locked -p app -- --store "$store" seed --technician li
cargo run --quiet --locked -p app -- --store "$store" today

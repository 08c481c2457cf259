#!/usr/bin/env bash
# Runs every OnSite test: unit, property, store crash tests and the end-to-end suite.
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
ensure_apt "${BASE_PACKAGES[@]}" "${UI_PACKAGES[@]}"
ensure_rust
ensure_browser_test
cargo test --workspace --locked "$@"

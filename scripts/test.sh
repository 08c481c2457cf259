#!/usr/bin/env bash
# Runs every OnSite check: formatting, clippy, then the unit, property, store crash and end-to-end tests.
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
ensure_apt "${BASE_PACKAGES[@]}" "${UI_PACKAGES[@]}"
ensure_rust
ensure_browser_test
ensure_web_build
ensure_schemathesis
ensure_moto
ensure_postgres
echo "==> formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked --features app/liveview -- -D warnings
# The browser build's own code (store and media workers, the page's entry).
CC_wasm32_unknown_unknown=clang-19 cargo clippy -p app --target wasm32-unknown-unknown --no-default-features --features web \
  --lib --bin onsite-web --locked -- -D warnings
echo "==> the web app (its browser test runs below)"
scripts/build-web.sh
echo "==> tests"
cargo test --workspace --locked "$@"
echo "==> the end-to-end suite again, on PostgreSQL and S3-compatible storage"
scripts/e2e-scaled.sh
echo "==> the API against its own description (schemathesis)"
scripts/schemathesis.sh

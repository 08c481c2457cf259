#!/usr/bin/env bash
# Builds the technician app as an installable offline web app: static files in OUT (default
# target/web/app), to be served at BASE (default /app, as the sync server's `--web-app` does) or
# from any static web server at that path.
#
#   scripts/build-web.sh [OUT]          ONSITE_WEB_BASE=/somewhere scripts/build-web.sh
#
# The app must be served from the same origin as the sync server it pairs with (it syncs with
# plain same-origin requests; the server sends no CORS headers). It installs the wasm32 target,
# clang-19 (SQLite for wasm is C23) and wasm-bindgen-cli at the version in Cargo.lock when missing.
# ONSITE_WEB_BENCH=1 adds bench.html (the store benchmark; scripts/bench-web.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
ensure_rust
ensure_web_build
OUT=${1:-target/web/app}
BASE=${ONSITE_WEB_BASE:-/app}
if ! [[ "$BASE" =~ ^/[A-Za-z0-9._~/-]*$ ]]; then
  echo "ONSITE_WEB_BASE must be a path like /app (letters, digits, . _ ~ - and /): got '$BASE'" >&2
  exit 2
fi
if [ -e "$OUT" ] && [ ! -f "$OUT/sw.js" ]; then
  echo "$OUT exists and is not an earlier web build: give an empty or new folder" >&2
  exit 2
fi
PROFILE=${ONSITE_WEB_PROFILE:-release}
export CC_wasm32_unknown_unknown=${CC_wasm32_unknown_unknown:-clang-19}
export AR_wasm32_unknown_unknown=${AR_wasm32_unknown_unknown:-llvm-ar-19}

echo "==> building the web app (wasm32, profile $PROFILE): a cold build takes ~7 min on 2 cores"
cargo build -p app --bin onsite-web --target wasm32-unknown-unknown --no-default-features --features web \
  --profile "$PROFILE" --locked
wasm="target/wasm32-unknown-unknown/$PROFILE/onsite-web.wasm"

echo "==> wasm-bindgen"
rm -rf "$OUT" && mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$OUT" --out-name onsite-web "$wasm"
cp app/web/index.html app/web/worker.js app/web/manifest.webmanifest app/web/sw.js "$OUT/"
cp -r app/web/icons "$OUT/icons"
if [ "${ONSITE_WEB_BENCH:-}" = 1 ]; then cp app/web/bench.html "$OUT/"; fi
rm -f "$OUT/icons/icon.svg"

# The service worker caches every file of this build under a name that changes with them.
shell=$(cd "$OUT" && find . -type f ! -name sw.js | sed 's|^\./||' | sort)
version=$(cd "$OUT" && sha256sum $shell | sha256sum | cut -c1-16)
list=$(printf '%s\n' "./" $shell | sed 's/.*/"&"/' | paste -sd, -)
sed -i "s|__VERSION__|$version|; s|__SHELL__|[$list]|" "$OUT/sw.js"
sed -i "s|__BASE__|$BASE|" "$OUT/index.html"

raw=$(stat -c %s "$OUT/onsite-web_bg.wasm")
gz=$(gzip -9 -c "$OUT/onsite-web_bg.wasm" | wc -c)
echo "==> web app in $OUT (version $version): wasm $raw bytes, $gz gzipped"

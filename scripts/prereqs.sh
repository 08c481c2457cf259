# Installs what OnSite needs on Debian/Ubuntu when it is missing. Sourced by demo.sh and test.sh.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "installing system packages needs root: run this as root, or install sudo (su -c 'apt-get install sudo && adduser $USER sudo')" >&2
    exit 1
  fi
}

# apt packages: C toolchain and pkg-config for the bundled SQLite, plus any the caller adds.
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    # -q, not -qq: each package shows as it downloads (some are hundreds of MB).
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# Rust toolchain (rustup), when cargo is not there yet.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] || {
      echo "==> installing Rust (rustup)"
      ensure_apt curl ca-certificates
      curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    }
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
}

# libssl-dev: the app's store is encrypted with SQLCipher, which uses the system's libcrypto.
BASE_PACKAGES=(build-essential pkg-config git libssl-dev)
# The app's desktop window (Dioxus on WebKitGTK) builds against these.
UI_PACKAGES=(libwebkit2gtk-4.1-dev libxdo-dev libgtk-3-dev)
DEMO_PACKAGES=(curl python3)
# The browser end-to-end test: Debian's Chromium (headless, no downloaded browsers), Node for
# Playwright, and fonts for the Chinese text and the emoji icons in the screenshots.
BROWSER_PACKAGES=(chromium nodejs fonts-noto-cjk fonts-noto-color-emoji procps)

# Node's package manager (Debian ships it apart from nodejs; NodeSource's nodejs bundles it) and
# the browser test's locked npm packages, when the installed ones differ from the lock file.
ensure_browser_test() {
  ensure_apt "${BROWSER_PACKAGES[@]}"
  command -v npm >/dev/null 2>&1 || ensure_apt npm
  local dir=tests/browser wanted installed
  wanted=$(node -p "require('./$dir/package-lock.json').packages['node_modules/playwright-core'].version")
  installed=$(node -p "try { require('./$dir/node_modules/playwright-core/package.json').version } catch { '' }")
  if [ "$wanted" != "$installed" ]; then
    echo "==> installing the browser test's npm packages (playwright-core $wanted)"
    npm ci --prefix "$dir" --no-audit --no-fund
  fi
}

# The web app's build (scripts/build-web.sh): the wasm32 target, clang 19 for SQLite (C23; the
# default clang 14 fails) with its archiver, and wasm-bindgen-cli at exactly the version of the
# wasm-bindgen crate in Cargo.lock (the two must match).
WEB_PACKAGES=(clang-19 llvm-19)
ensure_web_build() {
  ensure_apt "${WEB_PACKAGES[@]}"
  if ! command -v rustup >/dev/null 2>&1; then
    echo "the web app needs the wasm32 target, which needs rustup (this Rust came from elsewhere): see https://rustup.rs" >&2
    exit 1
  fi
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo "==> adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local wanted installed
  wanted=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
  installed=$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2 || true)
  if [ "$wanted" != "$installed" ]; then
    echo "==> installing wasm-bindgen-cli $wanted (a few minutes; cargo prints its progress)"
    # Not --locked: the crate's own lock names a webpki-roots release crates.io no longer offers.
    cargo install wasm-bindgen-cli --version "$wanted"
  fi
}

# PostgreSQL's server for the scaled-out end-to-end pass (scripts/e2e-scaled.sh makes a
# throwaway cluster with it; Debian's own cluster is not used).
ensure_postgres() {
  ensure_apt postgresql
}

# An S3-compatible server for the blob tests (moto's), pinned, in a virtualenv of its own.
MOTO_VERSION=5.2.1
MOTO_VENV=${MOTO_VENV:-target/moto-venv}
export MOTO_SERVER="$PWD/$MOTO_VENV/bin/moto_server"
ensure_moto() {
  ensure_apt python3-venv
  if [ "$("$MOTO_VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ] || [ ! -x "$MOTO_SERVER" ]; then
    echo "==> installing moto[server] $MOTO_VERSION (PyPI) into $MOTO_VENV"
    python3 -m venv "$MOTO_VENV"
    "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
}

# The API fuzzer (scripts/schemathesis.sh), pinned, in a virtualenv of its own under target/.
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
ensure_schemathesis() {
  ensure_apt python3-venv
  if [ "$("$SCHEMATHESIS_VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $3}')" != "$SCHEMATHESIS_VERSION" ]; then
    echo "==> installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $SCHEMATHESIS_VENV"
    python3 -m venv "$SCHEMATHESIS_VENV"
    "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
}

#!/usr/bin/env bash
# Installs what `make dev`, `make pkg` and `make test` need, skipping whatever
# is present. Safe to run again and again; prints one line per tool.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
export PATH="$HOME/.cargo/bin:$PATH"

# --- Rust: the toolchain, components and target pinned in rust-toolchain.toml.
if ! have rustup; then
  say "rustup is required (this machine kind ships it); install it, then rerun"
  exit 1
fi
rustup toolchain install >/dev/null
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
say "rust $(rustc --version | cut -d' ' -f2), targets: $(rustup target list --installed | tr '\n' ' ')"

# --- wasm-bindgen CLI: must equal the wasm-bindgen in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
got=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$got" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (was: ${got:-none}); this compiles for a few minutes"
  cargo install wasm-bindgen-cli --version "$want" --force
fi
say "wasm-bindgen $(wasm-bindgen --version | awk '{print $2}')"

if ! have wasm-pack; then
  say "installing wasm-pack; this compiles for a few minutes"
  cargo install wasm-pack
fi
say "$(wasm-pack --version)"

# --- worker-build (0.8.x, matching the `worker` crate): builds the edge Worker.
if ! worker-build --version 2>/dev/null | grep -Eq '(^| )0\.8\.'; then
  say "installing worker-build 0.8; this compiles for a few minutes"
  cargo install worker-build --version '^0.8' --force
fi
say "$(worker-build --version)"

# --- Node packages pinned in package-lock.json (binaryen's wasm-opt, playwright-core, vite).
if ! have node || ! have npm; then
  say "node and npm are required (this machine kind ships them)"
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
say "node $(node --version), wasm-opt $(node_modules/.bin/wasm-opt --version | awk '{print $3}')"

# --- Debian's Chromium and its driver, for the browser tests (never a downloaded browser).
if ! have chromium || ! have chromedriver; then
  say "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
say "$(chromium --version 2>/dev/null | head -1), $(chromedriver --version | cut -d' ' -f1-2)"

# --- localstripe (PyPI): the Stripe stand-in for `make dev` and the end-to-end
# tests, in its own virtualenv under .tools/ (pinned version).
LOCALSTRIPE_VERSION=1.15.10
venv=.tools/localstripe
if ! "$venv/bin/python" -c "import localstripe, sys; sys.exit(0)" 2>/dev/null \
   || [ "$("$venv/bin/pip" show localstripe 2>/dev/null | awk '/^Version/{print $2}')" != "$LOCALSTRIPE_VERSION" ]; then
  say "installing localstripe $LOCALSTRIPE_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "localstripe==$LOCALSTRIPE_VERSION"
fi
say "localstripe $("$venv/bin/pip" show localstripe | awk '/^Version/{print $2}')"

# --- schemathesis (PyPI): the API against its own OpenAPI document
# (tests/e2e/schema.test.mjs), in its own virtualenv (pinned version).
SCHEMATHESIS_VERSION=4.32.5
venv=.tools/schemathesis
if [ "$("$venv/bin/pip" show schemathesis 2>/dev/null | awk '/^Version/{print $2}')" != "$SCHEMATHESIS_VERSION" ]; then
  say "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
say "schemathesis $("$venv/bin/pip" show schemathesis | awk '/^Version/{print $2}')"

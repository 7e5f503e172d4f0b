#!/usr/bin/env bash
# Installs what `make dev` and `make test` need, skipping whatever is present.
# Safe to run again and again; prints one line per tool it checks.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

if ! command -v rustup >/dev/null 2>&1; then
  say "rustup is required (this machine kind ships it); install it from your distribution, then rerun"
  exit 1
fi

# The toolchain, components and targets pinned in rust-toolchain.toml.
rustup toolchain install >/dev/null
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
say "rust $(rustc --version | cut -d' ' -f2) with $(rustup target list --installed | tr '\n' ' ')"

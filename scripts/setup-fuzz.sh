#!/usr/bin/env bash
# What `make fuzz` needs beyond scripts/setup.sh: a nightly toolchain (libFuzzer
# builds with -Zsanitizer) and cargo-fuzz. Skips whatever is present.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf 'setup-fuzz: %s\n' "$*"; }
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  say "installing the nightly toolchain (minimal profile)"
  rustup toolchain install nightly --profile minimal
fi
say "$(rustup run nightly rustc --version)"
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz; this compiles for a few minutes"
  cargo install cargo-fuzz
fi
say "$(cargo fuzz --version)"

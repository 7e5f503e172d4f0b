# QuoteKit: `make dev` runs the main job, `make test` runs every test.
# Both install what they need first (scripts/setup.sh, idempotent).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
TODAY := $(shell date -u +%F)

.PHONY: setup dev test fmt lint unit wasm-check doc bench

setup:
	@scripts/setup.sh

## The main job. For now: the engine prices the example request against the
## example catalog for today (later: the Worker with D1 and the pages).
dev: setup
	$(CARGO) run --quiet --locked -p quotekit-pricing --example quote -- \
	  tests/fixtures/catalog.json tests/fixtures/request.json $(TODAY)

## Every test and gate.
test: setup fmt lint unit wasm-check doc

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --locked --workspace

## The engine alone must build for the browser's target.
wasm-check:
	$(CARGO) check --locked -p quotekit-pricing --target wasm32-unknown-unknown

doc:
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --locked --workspace --no-deps

## Criterion benchmarks; figures go to BENCHMARKS.md.
bench: setup
	$(CARGO) bench --locked -p quotekit-pricing --bench estimate

# QuoteKit: `make dev` runs the main job, `make test` runs every test.
# Both install what they need first (scripts/setup.sh, idempotent).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
TODAY := $(shell date -u +%F)

WASM_OPT := node_modules/.bin/wasm-opt
# The features rustc 1.95 enables for wasm32-unknown-unknown, and no others.
WASM_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-mutable-globals --enable-reference-types --enable-multivalue
export PATH := $(HOME)/.cargo/bin:$(PATH)

# The edge Worker (worker-build, with the local wasm-bindgen, npm's wasm-opt and
# wrangler's esbuild: nothing is downloaded). Rebuilt only when a source changed.
WORKER := crates/edge/build/index.js
WORKER_SRC := $(shell find crates/edge/src crates/pricing/src -name '*.rs') crates/edge/Cargo.toml \
  crates/pricing/Cargo.toml Cargo.lock crates/edge/openapi.json
ESBUILD := node_modules/wrangler/node_modules/@esbuild/linux-x64/bin/esbuild

.PHONY: setup build dev dev-reset test verify fuzz fuzz-cmin fmt lint unit wasm-check doc bench bench-wasm pkg wasm-test node-test worker e2e deploy-check bench-edge

setup:
	@scripts/setup.sh

## The main job: localstripe and the Worker (workerd, local D1 with migrations
## applied, the demo catalog published) on 127.0.0.1 (PORT, default 8787); Ctrl-C stops both.
## Honours PORT, SECRET_KEY, PUBLISHABLE_KEY and STRIPE_API_BASE.
dev: setup build
	node scripts/dev.mjs

## Starts afresh: removes what `make dev` keeps between runs (local D1 and
## localstripe's state in .wrangler/state, or QUOTEKIT_STATE_DIR): the next
## `make dev` publishes the demo catalog and seeds the demo contract again.
dev-reset:
	rm -rf "$${QUOTEKIT_STATE_DIR:-.wrangler/state}"

## The long versions of the proofs (RELIABILITY.md): schemathesis with 200
## examples per operation, a thousand checkouts at once, then every fuzz
## target for 10 minutes.
verify: setup build
	SCHEMA_EXAMPLES=200 node --test tests/e2e/schema.test.mjs
	CHECKOUTS=1000 node --test tests/e2e/concurrency.test.mjs
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=600

## Every test and gate.
test: setup fmt lint unit wasm-check doc pkg wasm-test node-test e2e deploy-check

fmt:
	$(CARGO) fmt --all -- --check

lint:
	python3 scripts/architecture.py
	python3 scripts/openapi.py | cmp - crates/edge/openapi.json || { echo "crates/edge/openapi.json is stale: python3 scripts/openapi.py > crates/edge/openapi.json"; exit 1; }
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) clippy --locked -p quotekit-edge --target wasm32-unknown-unknown -- -D warnings

unit:
	$(CARGO) test --locked --workspace

## The engine alone must build for the browser's target.
wasm-check:
	$(CARGO) check --locked -p quotekit-pricing --target wasm32-unknown-unknown

doc:
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --locked --workspace --no-deps

## The npm package: wasm-pack (release profile: size first), then npm's
## binaryen at -Oz, then metadata and the size budget (scripts/pkg.mjs).
## --low-memory-unused: Rust's stack grows down from 1 MiB towards 0, data and
## heap sit above it, so the first 1 KB is never addressed; binaryen may then
## fold constant offsets into loads and stores (1.4 KB gzipped less).
## Rebuilt only when a source changed (www/ serves pkg/ through its www/pkg link).
PKG := pkg/package.json
PKG_SRC := $(shell find crates/pricing/src crates/pricing-wasm/src -name '*.rs') crates/pricing/Cargo.toml \
  crates/pricing-wasm/Cargo.toml crates/pricing-wasm/build.rs crates/pricing-wasm/README.md Cargo.lock scripts/pkg.mjs
pkg: setup $(PKG)

$(PKG): $(PKG_SRC)
	wasm-pack --log-level warn build crates/pricing-wasm --release --target web \
	  --out-dir ../../pkg --out-name quotekit_pricing
	$(WASM_OPT) -Oz --low-memory-unused -Oz $(WASM_FEATURES) --strip-debug --strip-producers --strip-target-features \
	  pkg/quotekit_pricing_bg.wasm -o pkg/quotekit_pricing_bg.wasm
	node scripts/pkg.mjs

## What `wrangler deploy` and `wrangler dev` serve: the Worker and, as static
## assets, www/ with pkg/ (wrangler.toml's [build] runs this).
build: $(WORKER) $(PKG)

## The engine as wasm: every vector in headless Chromium and in Node.
wasm-test: setup
	wasm-pack --log-level warn test --headless --chrome crates/pricing-wasm --test browser
	wasm-pack --log-level warn test --node crates/pricing-wasm --test node

## pkg/ as a user loads it: vectors, parity with native, the three integration styles.
node-test: pkg
	mkdir -p target/parity
	$(CARGO) run --quiet --locked -p quotekit-pricing --example parity_cases -- target/parity/cases.jsonl 3000
	node_modules/.bin/tsc -p tests/types/tsconfig.json
	node --test tests/node/

## Benchmarks (figures go to BENCHMARKS.md): criterion natively, then the
## package in headless Chromium and Node against the native figure.
bench: setup
	$(CARGO) bench --locked -p quotekit-pricing --bench estimate
	$(MAKE) bench-wasm

bench-wasm: pkg
	node tests/bench/run.mjs

## The Worker bundle wrangler serves and deploys (crates/edge/build/).
worker: $(WORKER)

$(WORKER): $(WORKER_SRC) scripts/wasm-names.mjs
	cd crates/edge && WASM_BINDGEN_BIN=$$(command -v wasm-bindgen) WASM_OPT_BIN=$(CURDIR)/$(WASM_OPT) \
	  ESBUILD_BIN=$(CURDIR)/$(ESBUILD) worker-build --release
	@# Stack traces keep readable names; Rust's symbol hashes are dropped (23 KB gzipped).
	node scripts/wasm-names.mjs crates/edge/build/index_bg.wasm
	touch $@

## The edge API end to end: the built Worker on workerd (wrangler dev) with
## local D1 and localstripe, each suite on its own ports and database.
e2e: setup build
	node --test --test-concurrency=1 tests/e2e/

## The deploy bundle as `wrangler deploy` would upload it (no login, no network),
## and its size against the 1 MB budget (gzipped).
deploy-check: setup build
	rm -rf target/deploy
	WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_LOG=debug \
	  node_modules/.bin/wrangler deploy --dry-run --outdir target/deploy > target/deploy.log 2>&1 \
	  || { tail -40 target/deploy.log; exit 1; }
	grep -m1 'files from the assets directory' target/deploy.log
	@# The pages and the package they import are among the assets it would upload.
	@for f in /index.html /checkout/index.html /portal/index.html /assets/pricing.js \
	  /pkg/quotekit_pricing.js /pkg/quotekit_pricing_bg.wasm; do \
	  grep -qxF "$$f" <(sed 's/\x1b\[[0-9;]*m//g' target/deploy.log) || { echo "asset $$f missing from the deploy"; exit 1; }; done
	node scripts/worker-size.mjs target/deploy

## Load on loopback against the real Worker (bounded: requests, seconds), and
## the billing run over 10 000 contracts on local D1.
bench-edge: setup worker
	node tests/bench/edge.mjs 2000 20
	node tests/bench/billing.mjs 10000

## Fuzzing (libFuzzer via cargo fuzz, nightly): each target for FUZZ_SECONDS
## (default 120), growing fuzz/corpus/<target>; stats in target/fuzz/<target>.log,
## summarised by scripts/fuzz_report.py. `make test` replays the committed corpora.
FUZZ_SECONDS ?= 120
FUZZ_TARGETS := catalog estimate preview_change api_request
fuzz: setup
	scripts/setup-fuzz.sh
	mkdir -p target/fuzz
	for t in $(FUZZ_TARGETS); do \
	  cargo +nightly fuzz run --fuzz-dir fuzz $$t -- -dict=fuzz/json.dict -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 | tee target/fuzz/$$t.log | grep -E '^(#[0-9]+.*(DONE|pulse)|==|SUMMARY|stat::)' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done
	python3 scripts/fuzz_report.py $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## Minimises the corpora (what is committed): the smallest set with the same coverage.
fuzz-cmin: setup
	scripts/setup-fuzz.sh
	for t in $(FUZZ_TARGETS); do cargo +nightly fuzz cmin --fuzz-dir fuzz $$t -- -dict=fuzz/json.dict; done

# qjob — the two commands of the README: `make run` and `make test`.
# Each installs what it needs first (idempotently).

CARGO ?= cargo

.PHONY: run test setup bench bench-wasm record check-scenarios doc clean simulator demo fuzz

## run: the lifecycle simulator: build the WASM module (installing the wasm32 target,
## wasm-bindgen-cli and npm's binaryen if missing) and serve it on http://127.0.0.1:8080/
## (PORT=… for another port); Ctrl-C stops it
run: setup
	bash bindings-wasm/serve.sh

## demo: replay the demo scenario through qjob and print its transcript (no browser needed)
demo: setup
	$(CARGO) run --release -q -p qjob --example replay -- scenarios/demo-lifecycle.scn

## test: formatting, lints, docs, unit + property + scenario tests, each binding's suite, QEMU
## 7.2's own job iotests against the drop-in binaries (when ../shared/iotests-7.2 exists), then
## the model check, brief fuzz runs and the six-runner conformance run
test: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps -q
	$(CARGO) test --workspace
	bash bindings-c/ci.sh
	bash bindings-py/ci.sh
	bash bindings-wasm/ci.sh
	bash dropin/ci.sh
	bash tests/ci.sh

## setup: the Rust components the targets use (installed once)
setup:
	@command -v $(CARGO) >/dev/null || { echo "qjob needs a Rust toolchain (rustup, cargo) on PATH" >&2; exit 1; }
	@if command -v rustup >/dev/null; then \
	  for c in clippy rustfmt; do \
	    rustup component list --installed 2>/dev/null | grep -q "^$$c" || rustup component add $$c; \
	  done; \
	fi

## fuzz: the long runs: model check to depth 8, every fuzz target for an hour, Miri
fuzz:
	bash tests/long.sh 3600

## simulator: the same as run
simulator: run

## bench: every figure of the README's Performance table and of the WASM README, each with what
## it measures and QEMU 7.2 beside it (fetched into .cache/qemu72 when missing; ITERATIONS=… for
## the WASM workloads, 20000 by default), then the drop-in binaries against QEMU 7.2 over a Unix
## socket (backup lifecycle, start to greeting); criterion's own runs: cargo bench -p qjob
bench: setup
	bash tools/bench.sh
	bash dropin/build.sh --bench

## bench-wasm: the WASM half of bench alone: the workloads through the JS binding, inside
## WebAssembly and natively, and the modules' sizes (ITERATIONS=… to change 50000)
bench-wasm: setup
	bash bindings-wasm/bench/run.sh $(or $(ITERATIONS),50000)

## record: re-record every scenario twice against real QEMU 7.2 (downloaded from Debian) and
## check both recordings agree; QEMU=10.0 records from the system's qemu-storage-daemon 10.0
## instead (NAME.qemu10.txt; scenarios that need a system emulator are skipped)
QEMU ?= 7.2
record:
	@case "$(QEMU)" in 7.2|10.0) ;; *) echo "QEMU=$(QEMU): 7.2 or 10.0" >&2; exit 1;; esac
	if [ "$(QEMU)" = 7.2 ]; then tools/fetch-qemu72.sh; fi
	tools/record-check.sh --qemu $(QEMU)

## check-scenarios: replay every scenario and compare with QEMU 7.2 (one line each)
check-scenarios:
	tools/check-all.sh

doc:
	$(CARGO) doc --workspace --no-deps --open

clean:
	$(CARGO) clean

# The two commands users run: `make demo` and `make test`. Prerequisites: Python 3.11+, a Rust
# toolchain (cargo) and a C compiler. Everything else is installed into .venv by these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYLIB := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')")
# cargo test/clippy build without maturin's extension-module env: keep their artefacts apart so
# neither invalidates the other's pyo3 build.
CARGO_CHECK := cd rust_ext && PYO3_PYTHON=$(CURDIR)/$(BIN)/python CARGO_TARGET_DIR=target/check
RUST_SRC := $(shell find rust_ext/src -name "*.rs") rust_ext/Cargo.toml rust_ext/Cargo.lock

.PHONY: demo test test-fast install native lint typecheck rust-test pytest bench bench-sdk clean lock docker-check

demo: install native
	$(BIN)/tradebot demo

test: install native rust-test lint typecheck pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Rebuild the extension in release mode when the Rust sources changed since the last build.
$(VENV)/.native: $(RUST_SRC) $(VENV)/.installed
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/maturin develop --release -q --skip-install
	touch $@

native: $(VENV)/.native

rust-test: install
	$(CARGO_CHECK) LD_LIBRARY_PATH=$(PYLIB) cargo test --quiet
	$(CARGO_CHECK) cargo clippy --quiet --all-targets -- -D warnings

# lint-imports: the layers, no circles, trading/ never imports bot/ (contracts in pyproject.toml)
lint: install
	$(BIN)/ruff check trading bot tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy trading bot tests bench

pytest: install native
	$(BIN)/pytest -q

# The inner loop: every test that needs no database and is not marked slow.
test-fast: install native
	$(BIN)/pytest -q -m "not db and not slow"

bench: install native
	$(BIN)/python -m bench

# The comparison with project-x-py alone; its venv (.bench-venv/sdk-<version>, a Python >= 3.12 from
# PATH or pyenv, the SDK from PyPI) is made first if missing. `make bench` makes it too on first use.
bench-sdk: install native
	$(BIN)/python -m bench.sdk_venv
	$(BIN)/python -m bench sdk

# The Docker image's pinned, hashed dependencies: requirements.lock (pyproject.toml's runtime
# dependencies) and requirements-build.lock (maturin). Run after changing a dependency; uv runs from a
# throw-away venv, for every platform (--universal) on the image's Python 3.11.
UV_VERSION := 0.13.9
LOCK := --universal --python-version 3.11 --quiet --custom-compile-command "make lock"
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(PYTHON) -m venv "$$tmp" \
	 && "$$tmp/bin/pip" install -q "uv==$(UV_VERSION)" \
	 && "$$tmp/bin/uv" pip compile pyproject.toml $(LOCK) --generate-hashes -o requirements.lock \
	 && echo "maturin>=1.7,<2" | "$$tmp/bin/uv" pip compile - $(LOCK) --generate-hashes -o requirements-build.lock

# The image and compose.yaml proven on a Docker engine (docker/check.sh: build and layer cache, context,
# health check, compose; ~10 minutes). Not part of `make test`. Without Docker Hub the base images are
# made first by docker/local-base-images.sh.
docker-check:
	bash docker/check.sh

clean:
	rm -rf $(VENV) rust_ext/target build dist

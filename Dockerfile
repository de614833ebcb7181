# tradebot in a container: `docker compose up` (compose.yaml: Postgres and the bot, paper trading) or
# `docker build -t tradebot .`. See the README's Docker section.
#
# Stage 1 builds the wheel (Python packages + the Rust extension, abi3 for Python >= 3.11) with maturin.
# Stage 2 installs the locked Python dependencies, then that wheel, in a slim Python image and runs
# `tradebot run` as a non-root user.
#
# Layers, from the one that changes least: the toolchain, the dependency crates (fetched and compiled
# from rust_ext/Cargo.toml and Cargo.lock alone, on a stub crate), the locked wheels
# (requirements.lock), and last the sources. A change to the Python or Rust sources rebuilds only our
# own crate and the wheel; a new crate or a new lock rebuilds from its layer on.

FROM rust:1-slim-bookworm AS build
# Debian bookworm's python3 is 3.11: the abi3 wheel built against it runs on any CPython >= 3.11.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential \
 && rm -rf /var/lib/apt/lists/*
COPY requirements-build.lock /tmp/
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip install --no-cache-dir --require-hashes --no-deps -r /tmp/requirements-build.lock
WORKDIR /src

# The dependency crates: Cargo.toml and Cargo.lock only, built through a stub of our crate with the
# same maturin flags as the real build, so their compiled artefacts stay in this layer.
COPY rust_ext/Cargo.toml rust_ext/Cargo.lock rust_ext/
RUN mkdir -p rust_ext/src \
 && printf '%s\n' 'use pyo3::prelude::*;' \
      '#[pymodule]' 'fn _native(_m: &Bound<'"'"'_, PyModule>) -> PyResult<()> { Ok(()) }' > rust_ext/src/lib.rs \
 && cargo fetch --locked --manifest-path rust_ext/Cargo.toml \
 && cd rust_ext && /opt/build/bin/maturin build --release --locked --interpreter python3 -o /tmp/stub \
 && rm -rf /tmp/stub src

# The sources. Touched after the copy: the stub's build is newer than their timestamps from the context.
COPY rust_ext/src rust_ext/src
COPY pyproject.toml README.md ./
COPY trading trading
COPY bot bot
COPY migrations migrations
COPY config config
RUN find rust_ext/src -type f -exec touch {} + \
 && /opt/build/bin/maturin build --release --locked --interpreter python3 -o /wheels

FROM python:3.11-slim-bookworm AS runtime
# No root at run time. With no database.url the embedded Postgres keeps its data in
# /var/lib/tradebot/pg (mount a volume there); a non-root user runs the server as itself.
RUN useradd --system --create-home --home-dir /home/tradebot --shell /usr/sbin/nologin tradebot \
 && mkdir -p /var/lib/tradebot \
 && chown tradebot:tradebot /var/lib/tradebot
# The locked dependencies first (every version pinned, every file's hash checked): their layer is
# reused until requirements.lock changes. `make lock` rebuilds the lock.
COPY requirements.lock /tmp/
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
# Then our wheel alone: --no-deps, so nothing unlocked comes in; pip check proves the lock covers it.
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels && pip check
USER tradebot
WORKDIR /home/tradebot
VOLUME ["/var/lib/tradebot"]
# Healthy while this container's engine publishes a fresh heartbeat in the store (`tradebot health`
# reads the store only: no broker login). start-period: the first start logs in and loads bars.
HEALTHCHECK --interval=30s --timeout=20s --start-period=180s --retries=3 CMD ["tradebot", "health", "--this-host"]
# Secrets come from the environment (TRADEBOT_DISCORD__TOKEN, TRADEBOT_PROJECTX__API_KEY,
# TRADEBOT_DATABASE__URL) or an env file (`docker run --env-file .env`, compose.yaml's env_file).
ENTRYPOINT ["tradebot"]
CMD ["run", "--paper"]

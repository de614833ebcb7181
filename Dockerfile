# tradebot in a container. Untested here (no Docker engine on the development machine): see README.
#
# Stage 1 builds the wheel (Python packages + the Rust extension, abi3 for Python >= 3.11) with maturin.
# Stage 2 installs only that wheel in a slim Python image and runs `tradebot run` as a non-root user.

FROM rust:1-slim-bookworm AS build
# Debian bookworm's python3 is 3.11: the abi3 wheel built against it runs on any CPython >= 3.11.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --no-cache-dir "maturin>=1.7,<2"
WORKDIR /src
# Cargo files first: the dependency layer is rebuilt only when they change.
COPY rust_ext/Cargo.toml rust_ext/Cargo.lock rust_ext/
COPY rust_ext/src rust_ext/src
COPY pyproject.toml README.md ./
COPY trading trading
COPY bot bot
COPY migrations migrations
COPY config config
RUN /opt/build/bin/maturin build --release --interpreter python3 -o /wheels

FROM python:3.11-slim-bookworm AS runtime
# No root at run time. With no database.url the embedded Postgres keeps its data in
# /var/lib/tradebot/pg (mount a volume there); a non-root user runs the server as itself.
RUN useradd --system --create-home --home-dir /home/tradebot --shell /usr/sbin/nologin tradebot \
 && mkdir -p /var/lib/tradebot \
 && chown tradebot:tradebot /var/lib/tradebot
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
USER tradebot
WORKDIR /home/tradebot
VOLUME ["/var/lib/tradebot"]
# Secrets come from the environment (TRADEBOT_DISCORD__TOKEN, TRADEBOT_PROJECTX__API_KEY,
# TRADEBOT_DATABASE__URL) or an env file passed with `docker run --env-file .env`.
ENTRYPOINT ["tradebot"]
CMD ["run"]

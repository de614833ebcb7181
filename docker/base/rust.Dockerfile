# Stand-in for rust:1-slim-bookworm (docker/local-base-images.sh builds it). The official image
# installs a minimal-profile toolchain with rustup-init; this one copies the host's own stable
# toolchain (no docs, but rustfmt and clippy too) because the machine cannot fetch another.
FROM debian:bookworm-slim
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The packages the official slim image adds to Debian: a C toolchain for build scripts, TLS roots, wget.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev wget \
 && rm -rf /var/lib/apt/lists/*
COPY rustup /usr/local/rustup
COPY cargo /usr/local/cargo
ARG RUST_VERSION
ENV RUST_VERSION=${RUST_VERSION}
RUN chmod -R a+w "$RUSTUP_HOME" "$CARGO_HOME" && rustup --version && cargo --version && rustc --version

#!/usr/bin/env bash
# For machines without Docker Hub: makes local stand-ins for the base images the Dockerfile and
# compose.yaml name, from Debian's own mirror, then `docker build -t tradebot .` and compose work
# offline from Docker Hub. Run as root (debootstrap) with a Docker engine; about 5 minutes.
#
#   debian:bookworm-slim     debootstrap --variant=minbase bookworm, imported (the official one is
#                            built by debuerreotype, also minbase, with a few more docker tweaks)
#   rust:1-slim-bookworm     that + this machine's stable Rust toolchain   (docker/base/rust.Dockerfile)
#   python:3.11-slim-bookworm  that + Debian's python3 3.11               (docker/base/python.Dockerfile)
#   postgres:17-bookworm     that + Debian's PostgreSQL 15                 (docker/base/postgres.Dockerfile)
#
# Each Dockerfile says how its image differs from the official one. An image already present under
# a tag is kept (pass --force to make them again); a real image pulled from Docker Hub is never replaced
# unless --force.
#
#   docker/local-base-images.sh [--force]
#   MIRROR=http://deb.debian.org/debian SECURITY_MIRROR=http://deb.debian.org/debian-security  (defaults:
#   read from /etc/apt/sources.list.d/debian.sources, else deb.debian.org)
#   RUSTUP_HOME / CARGO_HOME: the toolchain copied (defaults ~/.rustup and ~/.cargo)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
force=${1:-}
work=${WORK:-/var/tmp/tradebot-base-images}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_home=${CARGO_HOME:-$HOME/.cargo}

# The machine's mirrors, as apt here reaches them (deb822 first, then the one-line format).
mirror_of() {  # $1: suite the mirror carries (bookworm or bookworm-security)
    local sources=/etc/apt/sources.list.d/debian.sources
    if [ -r "$sources" ]; then
        awk -v s="$1" '/^URIs:/ {u=$2} /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == s) {print u; exit}}' "$sources"
    elif [ -r /etc/apt/sources.list ]; then
        awk -v s="$1" '$1 == "deb" && $3 == s {print $2; exit}' /etc/apt/sources.list
    fi
}
MIRROR=${MIRROR:-$(mirror_of bookworm)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(mirror_of bookworm-security)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

have() { [ "$force" != --force ] && docker image inspect "$1" > /dev/null 2>&1; }

mkdir -p "$work"

if have debian:bookworm-slim; then
    echo "debian:bookworm-slim: present"
else
    # A finished debootstrap from an earlier run that stopped later is reused.
    if [ ! -e "$work/rootfs.done" ]; then
        rm -rf "$work/rootfs"
        debootstrap --variant=minbase bookworm "$work/rootfs" "$MIRROR"
        touch "$work/rootfs.done"
    fi
    # As the official image: the three suites in deb822, no caches, no package lists.
    rm -f "$work/rootfs/etc/apt/sources.list"
    cat > "$work/rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    # This machine's own certificate authorities (Debian keeps them in /usr/local/share/ca-certificates),
    # for a network that inspects TLS: the rust and python images' ca-certificates package takes them
    # in, and pip is pointed at the system bundle rather than its own copy of Mozilla's. The official
    # images have neither; on a machine without local CAs nothing is added.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" > /dev/null; then
        mkdir -p "$work/rootfs/usr/local/share/ca-certificates"
        cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/"
        printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$work/rootfs/etc/pip.conf"
    fi
    rm -rf "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb \
        "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/log/"*.log
    tar -C "$work/rootfs" --numeric-owner -c . \
        | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' - debian:bookworm-slim
    rm -rf "$work/rootfs" "$work/rootfs.done"
fi

if have rust:1-slim-bookworm; then
    echo "rust:1-slim-bookworm: present"
else
    # The build context: rustup's settings and the stable toolchain without its 800 MB of HTML docs,
    # and cargo's bin (rustup and its proxies), hard links where the file system allows.
    ctx="$work/rust"
    rm -rf "$ctx" && mkdir -p "$ctx/rustup/toolchains" "$ctx/cargo"
    toolchain=stable-x86_64-unknown-linux-gnu
    cp -a "$rustup_home/settings.toml" "$ctx/rustup/"
    cp -al "$rustup_home/toolchains/$toolchain" "$ctx/rustup/toolchains/" 2> /dev/null \
        || cp -a "$rustup_home/toolchains/$toolchain" "$ctx/rustup/toolchains/"
    rm -rf "$ctx/rustup/toolchains/$toolchain/share/doc"
    cp -a "$cargo_home/bin" "$ctx/cargo/"
    version=$("$rustup_home/toolchains/$toolchain/bin/rustc" --version | awk '{print $2}')
    cp "$here/base/rust.Dockerfile" "$ctx/Dockerfile"
    docker build --build-arg RUST_VERSION="$version" -t rust:1-slim-bookworm "$ctx"
    rm -rf "$ctx"
fi

for image in python:3.11-slim-bookworm postgres:17-bookworm; do
    if have "$image"; then
        echo "$image: present"
    else
        name=${image%%:*}
        docker build -t "$image" -f "$here/base/$name.Dockerfile" "$here/base"
    fi
done
docker image ls debian:bookworm-slim
docker image ls rust:1-slim-bookworm
docker image ls python:3.11-slim-bookworm
docker image ls postgres:17-bookworm

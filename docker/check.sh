#!/usr/bin/env bash
# `make docker-check`: proves the Dockerfile and compose.yaml on a Docker engine (about 10 minutes,
# one build at a time; not part of `make test`). Exits non-zero at the first failed proof.
#   1. `docker build` succeeds; a Python source change reruns only the layers from `COPY trading` on
#      (the locked wheels stay cached); a Rust source change fetches and compiles no dependency crate.
#   2. The build context leaves out .env, .venv, rust_ext/target and the local extension, and the
#      image holds no trace of a dummy .env's secret.
#   3. The image's HEALTHCHECK: `tradebot run --paper` against Postgres turns healthy, and unhealthy
#      once Postgres is stopped.
#   4. compose.yaml: Postgres and the bot healthy, the bot trading on paper (the range and its orders),
#      then `down -v` leaves no container or volume.
# Builds run from a copy of the working tree (tracked and unignored files) in $OUT, so the proofs'
# edits never touch the checkout. Base images missing locally are pulled, else made by
# docker/local-base-images.sh (machines without Docker Hub). Logs and figures: $OUT.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$(mktemp -d /var/tmp/tradebot-docker-check.XXXXXX)}
ctx=$out/ctx
project=tradebot-check
net=tradebot-check-net
# The classic builder: the per-step "Using cache" it prints is what the cache proofs read.
export DOCKER_BUILDKIT=0

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
cleanup() {
    docker rm -f -v tradebot-check-bot tradebot-check-pg > /dev/null 2>&1 || true
    docker network rm "$net" > /dev/null 2>&1 || true
    if [ -d "$ctx" ]; then
        (cd "$ctx" && docker compose -p "$project" -f compose.yaml down -v > /dev/null 2>&1) || true
    fi
    docker rmi tradebot-check-context > /dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every second until it succeeds.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    until "$@" > /dev/null 2>&1; do
        [ $SECONDS -lt $end ] || fail "$what: not within ${limit} s"
        sleep 1
    done
    echo "$what: after $((SECONDS - end + limit)) s"
}
health_is() { [ "$(docker inspect --format '{{.State.Health.Status}}' "$1")" = "$2" ]; }

# build NAME: docker build -t tradebot from the copy, its log in $OUT/NAME.log (colours stripped),
# its wall time and context size printed.
build() {
    local start=$SECONDS
    docker build -t tradebot "$ctx" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' > "$out/$1.log" \
        || { tail -30 "$out/$1.log"; fail "docker build ($1)"; }
    echo "$1: $((SECONDS - start)) s; $(grep -m1 'Sending build context' "$out/$1.log")"
}
# steps NAME: one line per Dockerfile step, "cached" or "ran" ("base" for a FROM), from the classic builder's log.
steps() {
    awk 'function put() {if (s) print (s ~ /^Step [0-9\/]+ : FROM / ? "base   " : c ? "cached " : "ran    ") s}
         /^Step [0-9]+\/[0-9]+ :/ {put(); s = $0; c = 0}
         /^ ---> Using cache/ {c = 1}
         END {put()}' "$out/$1.log"
}
# step_state NAME TEXT: "cached" or "ran" for the first step whose instruction holds TEXT.
step_state() { steps "$1" | grep -F -m1 -- "$2" | cut -d' ' -f1; }
expect_step() {
    local state
    state=$(step_state "$1" "$2")
    [ "$state" = "$3" ] || fail "$1: step '$2' $state, expected $3"
}
# Crates compiled in a build: only our own may appear once the dependency layer exists.
foreign_crates() { grep -E '^ *Compiling ' "$out/$1.log" | grep -v 'Compiling tradebot_native ' || true; }

say "base images"
for image in rust:1-slim-bookworm python:3.11-slim-bookworm postgres:17-bookworm; do
    docker image inspect "$image" > /dev/null 2>&1 || docker pull -q "$image" || "$root/docker/local-base-images.sh"
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' | grep -E '^(rust|python|postgres):'

say "build context: the working tree, plus what must stay out of it"
rm -rf "$ctx" && mkdir -p "$ctx"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -c) \
    | tar -x -C "$ctx"
secret="docker-check-secret-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
printf 'TRADEBOT_DISCORD__TOKEN=%s\n' "$secret" > "$ctx/.env"
mkdir -p "$ctx/.venv/lib" "$ctx/rust_ext/target/release"
head -c 64M /dev/urandom > "$ctx/.venv/lib/big.bin"
head -c 64M /dev/urandom > "$ctx/rust_ext/target/release/big.rlib"
printf '%s\n' "$secret" > "$ctx/trading/_native.abi3.so"
printf 'FROM debian:bookworm-slim\nCOPY . /ctx\n' \
    | docker build -q -t tradebot-check-context -f - "$ctx" > /dev/null
docker run --rm tradebot-check-context sh -c 'cd /ctx && du -sh . && ls -A'
for path in .env .venv rust_ext/target trading/_native.abi3.so .git docker; do
    docker run --rm tradebot-check-context test ! -e "/ctx/$path" || fail "$path is in the build context"
done
docker run --rm tradebot-check-context grep -rqF "$secret" /ctx && fail "the secret is in the build context"
echo "not in the context: .env .venv rust_ext/target trading/_native.abi3.so .git docker; the secret: absent"

say "1. build"
build build-first
grep -E -- '--require-hashes' "$out/build-first.log" | grep -E '^Step' || fail "no --require-hashes install"
grep -q 'No broken requirements found' "$out/build-first.log" || grep -q 'Using cache' "$out/build-first.log" \
    || fail "pip check did not pass"
# The context in MB: the 128 MB of dummy .venv and target files would show if they got in.
context_mb=$(grep -m1 'Sending build context' "$out/build-first.log" | awk '{v = $NF + 0
    if ($NF ~ /GB$/) v *= 1024; else if ($NF ~ /kB$/) v /= 1024; else if ($NF !~ /MB$/) v /= 1048576; print int(v)}')
[ "$context_mb" -lt 20 ] || fail "the build context is ${context_mb} MB: something big got in"

say "1. a Python source changed: only the layers from COPY trading on run"
echo "# docker-check $secret-py" >> "$ctx/trading/__init__.py"
build build-python
steps build-python | cut -c1-110
for s in "apt-get install" "requirements-build.lock" "cargo fetch --locked" "COPY rust_ext/src" "COPY pyproject.toml" \
    "RUN useradd" "COPY requirements.lock" "--require-hashes -r /tmp/requirements.lock"; do
    expect_step build-python "$s" cached
done
expect_step build-python "COPY trading trading" ran
expect_step build-python "COPY --from=build" ran
[ -z "$(foreign_crates build-python)" ] || fail "dependency crates recompiled: $(foreign_crates build-python | head -3)"

say "1. a Rust source changed: no crate fetched, only our own compiled"
echo "// docker-check $secret-rs" >> "$ctx/rust_ext/src/lib.rs"
build build-rust
steps build-rust | cut -c1-110
expect_step build-rust "cargo fetch --locked" cached
expect_step build-rust "COPY rust_ext/src" ran
expect_step build-rust "--require-hashes -r /tmp/requirements.lock" cached
! grep -qE 'Downloading crates|Downloaded ' "$out/build-rust.log" || fail "crates downloaded"
[ -z "$(foreign_crates build-rust)" ] || fail "dependency crates recompiled: $(foreign_crates build-rust | head -3)"
grep -E '^ *Compiling tradebot_native ' "$out/build-rust.log" || fail "our crate was not rebuilt"

say "1. both changes undone: every layer from cache (the image is the checkout's again)"
sed -i '$d' "$ctx/trading/__init__.py" "$ctx/rust_ext/src/lib.rs"
build build-again
[ "$(steps build-again | grep -c '^ran')" = 0 ] || { steps build-again; fail "the rebuild of unchanged sources ran steps"; }

say "2. the secret is nowhere in the image"
docker run --rm --entrypoint sh tradebot -c 'ls -la /home/tradebot /var/lib/tradebot; pip show tradebot | sed -n 1,2p; ls -la "$(python -c "import trading, os; print(os.path.dirname(trading.__file__))")" | head -8'
if docker run --rm --user root --entrypoint grep tradebot -rlF --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev \
    "$secret" /; then
    fail "the dummy .env's secret is in the image"
fi
[ -z "$(docker run --rm --user root --entrypoint find tradebot / -xdev -name .env)" ] || fail "a .env is in the image"
echo "no .env and no trace of the secret in the image"

say "3. HEALTHCHECK: healthy on paper, unhealthy with the database stopped"
volumes_before=$(docker volume ls -q | sort)
rm -f "$ctx/.env" "$ctx/trading/_native.abi3.so"
docker network create "$net" > /dev/null
docker run -d --name tradebot-check-pg --network "$net" -e POSTGRES_USER=tradebot -e POSTGRES_DB=tradebot \
    -e POSTGRES_PASSWORD=check postgres:17-bookworm > /dev/null
wait_for 60 "postgres ready" docker exec tradebot-check-pg pg_isready -U tradebot -d tradebot
# The image's health command and start period; checks every 5 s instead of 30 s to keep the run short.
docker run -d --name tradebot-check-bot --network "$net" --health-interval 5s \
    -e TRADEBOT_DATABASE__URL=postgresql://tradebot:check@tradebot-check-pg:5432/tradebot tradebot > /dev/null
docker inspect --format 'healthcheck: {{json .Config.Healthcheck}}; cmd: {{json .Config.Cmd}}' tradebot-check-bot
wait_for 180 "bot healthy" health_is tradebot-check-bot healthy
docker logs tradebot-check-bot 2>&1 | tail -6
docker stop tradebot-check-pg > /dev/null
wait_for 120 "bot unhealthy with postgres stopped" health_is tradebot-check-bot unhealthy
docker inspect --format '{{range .State.Health.Log}}exit {{.ExitCode}}: {{.Output}}{{end}}' tradebot-check-bot \
    | grep -E '^exit|^error' | tail -2
docker rm -f -v tradebot-check-bot tradebot-check-pg > /dev/null
docker network rm "$net" > /dev/null

say "4. compose: Postgres and the bot healthy, trading on paper, then down -v"
# The day's jobs run on a simulated clock from 09:20 New York (10x) so the range and the orders come
# within a minute; the rest is compose.yaml as shipped (its paper default, its health checks).
# 09:20 of the last trading day, from the image's own exchange calendar.
start=$(docker run --rm --entrypoint python tradebot -c "
from datetime import datetime, time
from trading.calendar import NY, ny, is_trading_day, previous_trading_day
d = datetime.now(NY).date()
print(ny(d if is_trading_day(d) else previous_trading_day(d), time(9, 20)).isoformat())")
cat > "$out/clock.yaml" <<CLOCK
services:
  bot:
    command: ["run", "--paper", "--clock-start", "$start", "--speed", "10"]
CLOCK
compose() { (cd "$ctx" && docker compose -p "$project" -f compose.yaml -f "$out/clock.yaml" "$@"); }
compose up -d
pg=$(compose ps -q postgres)
bot=$(compose ps -q bot)
wait_for 120 "compose postgres healthy" health_is "$pg" healthy
wait_for 240 "compose bot healthy" health_is "$bot" healthy
compose ps
has_orders() { docker exec "$bot" tradebot status | grep -q 'overnight_range:'; }
wait_for 180 "the range's orders working" has_orders
docker logs "$bot" 2>&1 | grep -E 'engine running|overnight range|job ' | cut -c1-160
docker exec "$bot" tradebot status | grep -E 'paper|working orders|overnight_range:' | head -8
compose down -v
left=$(docker ps -aq --filter "label=com.docker.compose.project=$project"; docker volume ls -q --filter "label=com.docker.compose.project=$project")
[ -z "$left" ] || fail "left after down -v: $left"
new_volumes=$(comm -13 <(echo "$volumes_before") <(docker volume ls -q | sort))
[ -z "$new_volumes" ] || fail "volumes left by steps 3-4: $new_volumes"
echo "down -v: no container, no volume left (none either from step 3's containers)"

say "docker-check passed (logs in $out)"

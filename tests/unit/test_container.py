"""The container files, checked without a Docker engine: the build context leaves out secrets and local
builds but holds every source the Dockerfile copies; the Dockerfile caches crates and wheels in layers
before the sources and checks health with `tradebot health`; compose.yaml runs Postgres and the bot;
the lock files pin every dependency, with hashes."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.dockerignore import ignored, read

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _copies() -> list[str]:
    """The context paths the Dockerfile's COPY lines take (not those from another stage)."""
    found: list[str] = []
    for line in DOCKERFILE.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            found += [w for w in words[1:-1] if not w.startswith("--")]
    return found


@pytest.mark.parametrize(
    "path",
    [
        ".env", ".env.local", "config/.env", "deploy/prod.env", "deploy/tls/server.key", "certs/client.pem",
        "id_rsa", "notes/api_secret.txt", ".git/HEAD", ".git/objects/ab/cdef", ".venv/bin/python",
        ".venv/lib/python3.11/site-packages/x.py", "rust_ext/target/release/deps/libtokio.rlib",
        "rust_ext/target/check/debug/x", "target/wheels/tradebot.whl", "trading/_native.abi3.so",
        "trading/__pycache__/config.cpython-311.pyc", "tests/__pycache__/x.pyc", ".mypy_cache/3.11/x.json",
        ".ruff_cache/x", ".pytest_cache/v/cache", ".hypothesis/examples/x", "dist/tradebot.whl",
        "tradebot.egg-info/PKG-INFO", "tests/conftest.py",
        "docker/local-base-images.sh", "docker/base/postgres-entrypoint.sh",
    ],
)  # fmt: skip
def test_the_build_context_leaves_out_secrets_builds_and_caches(path: str) -> None:
    assert ignored(read(ROOT / ".dockerignore"), path)


def test_the_build_context_holds_every_source_the_dockerfile_copies() -> None:
    copies = _copies()
    assert {"rust_ext/Cargo.toml", "rust_ext/Cargo.lock", "requirements.lock", "trading", "bot"} <= set(copies)
    tracked = subprocess.run(["git", "ls-files", *copies], cwd=ROOT, capture_output=True, text=True, check=True)
    files = tracked.stdout.split()
    assert len(files) > 100 and "config/example.env" in files
    patterns = read(ROOT / ".dockerignore")
    assert [f for f in files if ignored(patterns, f)] == []


def test_the_dependency_layers_come_before_the_sources() -> None:
    lines = [line for line in DOCKERFILE.splitlines() if line.startswith(("COPY", "RUN", " &&"))]

    def at(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    sources = at("COPY trading trading")
    assert at("COPY rust_ext/Cargo.toml rust_ext/Cargo.lock") < at("cargo fetch --locked") < sources
    assert at("maturin build --release --locked --interpreter python3 -o /tmp/stub") < at("COPY rust_ext/src")
    assert at("COPY requirements.lock") < at("--require-hashes -r /tmp/requirements.lock") < at("COPY --from=build")
    assert "pip install --no-cache-dir --no-deps /tmp/wheels/*.whl" in DOCKERFILE  # nothing unlocked
    health = re.search(r"^HEALTHCHECK .* CMD (\[.*\])$", DOCKERFILE, re.M)
    assert health is not None and health.group(1) == '["tradebot", "health", "--this-host"]'


def test_compose_runs_postgres_and_the_bot_on_paper_with_healthchecks() -> None:
    yaml: Any = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    postgres, bot = compose["services"]["postgres"], compose["services"]["bot"]
    assert bot["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert (ROOT / bot["build"]["dockerfile"]).is_file()
    assert bot["command"] == ["run", "--${TRADEBOT_MODE:-paper}"]  # paper unless asked
    assert bot["env_file"] == [{"path": ".env", "required": False}]
    assert bot["environment"]["TRADEBOT_DATABASE__URL"].endswith("@postgres:5432/tradebot")
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["healthcheck"]["test"] == ["CMD", "tradebot", "health", "--this-host"]
    assert "pg_isready" in postgres["healthcheck"]["test"][1]
    assert postgres["volumes"] == ["pgdata:/var/lib/postgresql/data"] and "pgdata" in compose["volumes"]
    assert "ports" not in postgres  # reached on compose's network only


def _pins(lock: Path) -> dict[str, list[Version]]:
    """name -> the versions pinned (a universal lock may pin two, by Python version), each with hashes."""
    text = lock.read_text()
    pins: dict[str, list[Version]] = {}
    for m in re.finditer(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;[^\\\n]*)?\s*\\\n\s+--hash=sha256:", text, re.M):
        pins.setdefault(canonicalize_name(m.group(1)), []).append(Version(m.group(2)))
    lines = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(lines) == sum(len(v) for v in pins.values()), "a pin without a hash"
    return pins


def test_the_lock_files_pin_every_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = _pins(ROOT / "requirements.lock")
    for spec in project["project"]["dependencies"]:
        req = Requirement(spec)
        versions = pins.get(canonicalize_name(req.name), [])
        assert versions and all(v in req.specifier for v in versions), (spec, versions)
    [maturin] = [Requirement(r) for r in project["build-system"]["requires"]]
    [built_with] = _pins(ROOT / "requirements-build.lock")[canonicalize_name(maturin.name)]
    assert built_with in maturin.specifier


def test_make_lock_rebuilds_both_lock_files() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlock:", 1)[1].split("\n\n", 1)[0]
    for out in ("-o requirements.lock", "-o requirements-build.lock"):
        assert out in recipe
    assert recipe.count("--generate-hashes") == 2 and "pyproject.toml" in recipe

"""The image and compose.yaml on a real Docker engine: docker/check.sh (the build and its layer cache,
the build context, the HEALTHCHECK healthy then unhealthy, compose up, trading on paper, down -v). It
needs an engine and about 10 minutes, so `make test` leaves it out unless TRADEBOT_DOCKER_CHECK=1;
`make docker-check` runs the same script alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("TRADEBOT_DOCKER_CHECK") != "1", reason="set TRADEBOT_DOCKER_CHECK=1"),
]


@pytest.mark.timeout(3600)
def test_the_image_and_compose_pass_the_docker_check(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(ROOT / "docker" / "check.sh")], env={**os.environ, "OUT": str(tmp_path)},
                          capture_output=True, text=True)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "docker-check passed" in output

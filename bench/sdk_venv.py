"""project-x-py's own venv for `bench sdk`: `.bench-venv/sdk-<version>` under the repo (gitignored),
made on first use from PyPI with a Python ≥ 3.12 (the SDK's requirement; ours is 3.11), never in
the project's .venv. `make bench-sdk` / `python -m bench.sdk_venv` makes it ahead of a run.

The version is pinned so two runs compare the same client; bump SDK_VERSION to measure a newer one."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

SDK_VERSION = "4.4.1"
REQUIRES = (3, 12)
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench-venv" / f"sdk-{SDK_VERSION}"
MADE = VENV / ".installed"  # written last: a venv without it was interrupted and is made again


class SdkUnavailable(Exception):
    """Why the SDK cannot run here (no Python ≥ 3.12, PyPI unreachable, the install failed)."""


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.split()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return (int(out[0]), int(out[1])) if len(out) == 2 else None


def interpreter() -> str:
    """The newest Python ≥ 3.12 on PATH or under pyenv (`$(pyenv root)/versions/*`)."""
    found: list[tuple[tuple[int, int], str]] = []
    candidates = [shutil.which(f"python3.{m}") for m in range(REQUIRES[1], 20)]
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30).stdout.strip()
        candidates += sorted(glob.glob(f"{root}/versions/3.*/bin/python3"))
    for c in candidates:
        if c is not None and (v := _version(c)) is not None and v >= REQUIRES:
            found.append((v, c))
    if not found:
        raise SdkUnavailable(f"no Python ≥ {REQUIRES[0]}.{REQUIRES[1]} found (PATH, pyenv) for project-x-py")
    return max(found)[1]


def python() -> Path:
    """The venv's interpreter, making the venv first if it is not there (a minute: pip from PyPI)."""
    exe = VENV / "bin" / "python"
    if MADE.exists():
        return exe
    base = interpreter()
    print(f"# sdk: making {VENV.relative_to(ROOT)} with {base} (first use): pip install "
          f"project-x-py=={SDK_VERSION} from PyPI", file=sys.stderr, flush=True)  # fmt: skip
    shutil.rmtree(VENV, ignore_errors=True)
    steps = (
        ("python -m venv", [base, "-m", "venv", str(VENV)]),
        (f"pip install project-x-py=={SDK_VERSION} from PyPI", [str(exe), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", f"project-x-py=={SDK_VERSION}"]),
    )  # fmt: skip
    for what, cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SdkUnavailable(f"{what} failed: {_why(done.stderr or done.stdout)}")
    MADE.write_text(SDK_VERSION + "\n")
    return exe


def _why(output: str) -> str:
    """pip's line that says why: a network error when there is one (its last line then only says
    "no matching distribution"), else its last line."""
    lines = [x.strip() for x in output.strip().splitlines() if x.strip()]
    net = [x for x in lines if "connect" in x.lower() or "resolve" in x.lower()]
    return (net or lines or ["no output"])[-1]


if __name__ == "__main__":
    try:
        print(python())
    except SdkUnavailable as exc:
        raise SystemExit(f"project-x-py not installable: {exc}") from exc

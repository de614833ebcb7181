"""Docker's .dockerignore matching (moby/patternmatcher), for tests that check what a build context
holds without a Docker engine: patterns from the context's root, `*` and `?` within one path part, `**`
across parts, a pattern that matches a folder takes everything under it, and the last matching line
wins (`!` takes a path back)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    exception: bool


def _regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # `**/`: any folders, none included
                out += "(?:.*/)?"
                i += 1
            else:
                out += ".*"
            continue
        out += "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch)
        i += 1
    return re.compile(f"^{out}$")


def read(path: Path) -> list[Pattern]:
    found: list[Pattern] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        line = posixpath.normpath(line.removeprefix("!").strip()).lstrip("/")
        found.append(Pattern(_regex(line), exception))
    return found


def ignored(patterns: list[Pattern], path: str) -> bool:
    """Whether `path` (relative, with `/`) stays out of the build context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for p in patterns:
        if any(p.regex.match(prefix) for prefix in prefixes):
            result = not p.exception
    return result

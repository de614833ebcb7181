"""trading/ never imports bot/ (no import, no importlib by name); the application's `run` reaches
`tradebot` through the `tradebot.commands` entry point."""

from __future__ import annotations

import ast
from pathlib import Path

import trading
from trading.cli import PLUGIN_GROUP, build_parser, plugin_groups

ROOT = Path(trading.__file__).parent


def _bot_references(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "bot" or a.name.startswith("bot.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bot" or node.module.startswith("bot."):
                found.append(node.module)
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name.endswith(("import_module", "__import__")) or name in ("exec", "eval"):
                args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                found += [f"{name}({a!r})" for a in args] or [f"{name}(...)"]
    return [f"{path.relative_to(ROOT.parent)}: {f}" for f in found]


def test_the_engine_library_never_imports_the_application() -> None:
    offenders = [hit for path in sorted(ROOT.rglob("*.py")) for hit in _bot_references(path)]
    assert offenders == []


def test_the_run_command_comes_from_the_entry_point() -> None:
    from bot.cli import register

    assert register in plugin_groups(), f"pip install -e . registers the {PLUGIN_GROUP} entry points"
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sub.choices is not None and "run" in sub.choices

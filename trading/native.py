"""The one place that says whether the Rust extension is loaded and enabled.

`TRADEBOT_RUST=0` in the environment (or `rust = false` in settings, applied through
`set_enabled`) forces the Python twins at run time.
"""

from __future__ import annotations

import os
from types import ModuleType

_native: ModuleType | None
_import_error: str | None
try:
    from trading import _native as _loaded

    _native, _import_error = _loaded, None
except ImportError as exc:  # pragma: no cover - depends on the build
    _native, _import_error = None, str(exc)

_enabled_by_settings = True


def _env_enabled() -> bool:
    return os.environ.get("TRADEBOT_RUST", "1").strip().lower() not in {"0", "false", "no", "off"}


def set_enabled(enabled: bool) -> None:
    """Apply the `rust` setting (the environment variable still wins when it says 0)."""
    global _enabled_by_settings
    _enabled_by_settings = enabled


def loaded() -> bool:
    return _native is not None


def enabled() -> bool:
    """True when the Rust path is active: the extension imported and nothing disabled it."""
    return _native is not None and _enabled_by_settings and _env_enabled()


def module() -> ModuleType | None:
    """The extension module when the Rust path is active, else None."""
    return _native if enabled() else None


def active_path() -> str:
    return "rust" if enabled() else "python"


def describe() -> str:
    if _native is None:
        return f"python (Rust extension not loaded: {_import_error})"
    if not enabled():
        why = "TRADEBOT_RUST=0" if not _env_enabled() else "rust = false in settings"
        return f"python (Rust extension {_native.__version__} loaded, disabled by {why})"
    return f"rust (extension {_native.__version__})"

"""The one owner of an account: the `Engine` (core.py) with its strategy context, order path, healing,
position protection, lease, reconcile, jobs, summary and dry run, and the runner that builds and runs
it (setup.py, runner.py). Outside this package, `from trading.engine import Engine` is the face."""

from trading.engine.core import Engine, current_trading_day

__all__ = ["Engine", "current_trading_day"]

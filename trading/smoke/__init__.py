"""`tradebot smoke`: every read action and, when asked, one order far from the market on each order path,
against the configured gateway (a practice account) or the simulator; each step timed, a table, a JSON
report, and a refusal of funded and live accounts."""

from trading.smoke.guard import NoSuchAccount, SmokeRefused, refusal
from trading.smoke.report import SmokeReport, SmokeStep
from trading.smoke.run import SmokeOptions, run_smoke

__all__ = ["NoSuchAccount", "SmokeOptions", "SmokeRefused", "SmokeReport", "SmokeStep", "refusal", "run_smoke"]

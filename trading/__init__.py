"""tradebot's trading engine: a library that knows nothing of Discord."""

__version__ = "0.1.0"

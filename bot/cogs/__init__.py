"""Slash-command groups. Each module is an extension with `setup(bot)`; each command parses its
arguments, lets `bot.commanding` authorize and defer, calls one service and renders the result."""

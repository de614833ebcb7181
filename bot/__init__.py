"""tradebot's Discord application: cogs, permissions, scheduler and notification delivery."""

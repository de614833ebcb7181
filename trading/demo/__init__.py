"""`tradebot demo`: one simulated trading day end to end (day.py), on its own database (database.py)
and a seeded market (market.py)."""

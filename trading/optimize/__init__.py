"""Parameter search for a strategy (`tradebot optimize`): the space (space.py), walk-forward windows
(windows.py), the parallel runs over `trading.backtest.runner.run_backtest` (pool.py), the scores and
their ranking (metrics.py), the search and its walk-forward verdict (search.py), what is printed and
written (table.py) and the heatmap (heatmap.py)."""

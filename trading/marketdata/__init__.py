"""Market data: bar aggregation over contiguous arrays (aggregation.py, the Python twin of the Rust
bars), the depth book kept from the market hub (depth.py) and the backfill of 1-minute bars from
the gateway into the store (backfill.py)."""

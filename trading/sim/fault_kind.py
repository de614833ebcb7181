"""The request faults the simulator can inject (faults.py carries them out). A module of its own, with no
imports, so that `tradebot sim --help` lists them without loading the simulator."""

import enum


class FaultKind(enum.StrEnum):
    HTTP_500_BEFORE = "http_500_before"  # 500 before the request is processed: nothing happened
    HTTP_500_AFTER = "http_500_after"  # processed (an order exists!), then 500
    DELAY_AFTER = "delay_after"  # processed, then the response waits `seconds` (client time-out)
    RESET = "reset"  # connection reset before processing
    RESET_AFTER = "reset_after"  # processed, then the connection is reset
    RATE_LIMIT = "rate_limit"  # 429 on the next `count` requests
    REJECT_ORDER = "reject_order"  # the next `count` places are rejected (code 2, order created)
    DOWN = "down"  # every request answered 503 before processing until the fault is cleared (count ignored)

"""`python -m trading.cli` is `tradebot`."""

import sys

from trading.cli import main

sys.exit(main())

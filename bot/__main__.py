import sys

from bot.run import main

sys.exit(main())

"""`python -m search_api.cli`: the `tradepoint` command without its console script."""

import logging
import sys

from search_api.cli import main

logging.basicConfig()
sys.exit(main())

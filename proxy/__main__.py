"""``python -m proxy serve ...``: the same entry point as the ``sstar-proxy`` console script."""

import sys

from proxy.cli import main

if __name__ == "__main__":
    sys.exit(main())

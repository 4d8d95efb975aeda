"""``python -m minimax_nb``: the command line (see ``minimax_nb.cli``)."""

import sys

from minimax_nb.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m semcomm.cli``: the ``semcomm`` command (the testbed starts its flowgraph roles this way)."""
import sys

from . import main

sys.exit(main())

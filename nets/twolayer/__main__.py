"""`python -m nets.twolayer`: the main job, in `nets/twolayer/command.py`.

A package's `__main__` runs after the package itself is imported, so `nets.twolayer` loads once.
"""

import sys

from nets.twolayer.command import main

sys.exit(main())

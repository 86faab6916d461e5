"""`python -m nets.gradients`: the experiment, in `nets/gradients/command.py`.

A package's `__main__` runs after the package itself is imported, so `nets.gradients` loads once.
"""

import sys

from nets.gradients.command import main

sys.exit(main())

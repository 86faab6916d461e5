"""`python -m nets.digits`: the second main job, in `nets/digits/command.py`.

A package's `__main__` runs after the package itself is imported, so `nets.digits` loads once.
"""

import sys

from nets.digits.command import main

sys.exit(main())

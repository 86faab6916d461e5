"""What the tests of the README's and the site's Python blocks share: finding the ```python blocks of a page,
and running one in a fresh interpreter with this checkout importable.

A block that is deliberately not a whole program (an excerpt of the engine's source, a PyTorch snippet) is
fenced as ```py instead, which these tests leave alone and the site colours as Python all the same.
"""

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def python_blocks(page: Path) -> Iterator[pytest.param]:
    """Each ```python block of `page`, as a pytest parameter named by the page and the block's line."""
    text = page.read_text(encoding="utf-8")
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield pytest.param(match[1], id=f"{page.relative_to(ROOT)}:{line}")


def missing(code: str) -> list[str]:
    """The packages a block imports (at the start of a line) that are not installed here."""
    names = re.findall(r"^\s*(?:from|import) (\w+)", code, re.M)
    return sorted({n for n in names if importlib.util.find_spec(n) is None})


def run_block(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter, in `cwd` (files it writes land there), with this checkout importable."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )

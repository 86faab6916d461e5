"""Every Python block of README.md runs on its own, top to bottom, as printed.

Each ```python block is run in a fresh interpreter, in a temporary folder (files a block writes land
there), with this checkout importable. A block that is deliberately not a whole program (an excerpt of the
engine's source, say) is fenced as ```python-snippet instead, which this test leaves alone and GitHub
still colours as Python.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def python_blocks():
    text = README.read_text(encoding="utf-8")
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield pytest.param(match[1], id=f"README.md:{line}")


@pytest.mark.parametrize("code", list(python_blocks()))
def test_the_block_runs_on_its_own(code, tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{result.stderr}\n--- the block ---\n{code}"


def test_the_readme_has_python_blocks():
    # The README is the landing page (the examples live in docs/, tested by tests/docs/test_docs_blocks.py).
    assert len(list(python_blocks())) >= 2

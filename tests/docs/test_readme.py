"""Every Python block of README.md runs on its own, top to bottom, as printed.

Each ```python block is run in a fresh interpreter, in a temporary folder (files a block writes land
there), with this checkout importable. A block that is deliberately not a whole program (an excerpt of the
engine's source, say) is fenced as ```python-snippet instead, which this test leaves alone and GitHub
still colours as Python.
"""

import pytest
from blocks import ROOT, run_block
from blocks import python_blocks as blocks_of

README = ROOT / "README.md"


def python_blocks():
    return blocks_of(README)


@pytest.mark.parametrize("code", list(python_blocks()))
def test_the_block_runs_on_its_own(code, tmp_path):
    result = run_block(code, tmp_path)
    assert result.returncode == 0, f"{result.stderr}\n--- the block ---\n{code}"


def test_the_readme_has_python_blocks():
    # The README is the landing page (the examples live in docs/, tested by tests/docs/test_docs_blocks.py).
    assert len(list(python_blocks())) >= 2

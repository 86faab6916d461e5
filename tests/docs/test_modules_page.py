"""Every Python block of docs/guides/modules.md runs on its own, as printed.

Each ```python block runs in a fresh interpreter, in a temporary folder, with this checkout importable. A
block that imports PyTorch is skipped where torch (or the safetensors package) is not installed: CI's
`.[dev]` environment does not carry PyTorch.
"""

import pytest
from blocks import ROOT, missing, run_block
from blocks import python_blocks as blocks_of

PAGE = ROOT / "docs" / "guides" / "modules.md"


def python_blocks():
    return blocks_of(PAGE)


@pytest.mark.parametrize("code", list(python_blocks()))
def test_the_block_runs_on_its_own(code, tmp_path):
    if missing(code):
        pytest.skip(f"needs {', '.join(missing(code))}")
    result = run_block(code, tmp_path)
    assert result.returncode == 0, f"{result.stderr}\n--- the block ---\n{code}"


def test_the_page_has_its_blocks_and_its_table():
    text = PAGE.read_text(encoding="utf-8")
    assert len(list(python_blocks())) >= 4
    assert "| PyTorch | minigrad |" in text

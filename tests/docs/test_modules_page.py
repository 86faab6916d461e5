"""Every Python block of docs/guides/modules.md runs on its own, as printed.

Each ```python block runs in a fresh interpreter, in a temporary folder, with this checkout importable. A
block that imports PyTorch is skipped where torch (or the safetensors package) is not installed: CI's
`.[dev]` environment does not carry PyTorch.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guides" / "modules.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def python_blocks():
    text = PAGE.read_text(encoding="utf-8")
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield pytest.param(match[1], id=f"modules.md:{line}")


def missing(code):
    """The optional packages a block imports that are not installed here."""
    needs = {"torch": "torch", "safetensors": "safetensors", "sklearn": "sklearn"}
    return [name for word, name in needs.items() if re.search(rf"^\s*(import|from) {word}\b", code, re.M)
            and importlib.util.find_spec(name) is None]  # fmt: skip


@pytest.mark.parametrize("code", list(python_blocks()))
def test_the_block_runs_on_its_own(code, tmp_path):
    if missing(code):
        pytest.skip(f"needs {', '.join(missing(code))}")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", code]
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{result.stderr}\n--- the block ---\n{code}"


def test_the_page_has_its_blocks_and_its_table():
    text = PAGE.read_text(encoding="utf-8")
    assert len(list(python_blocks())) >= 4
    assert "| PyTorch | minigrad |" in text

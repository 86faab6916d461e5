"""docs/guides/onnx.md: its Python blocks run, one after the other in one namespace, as printed.

A `print(...)` line followed by comment lines shows its output in them; the output must be that.
Skipped where onnx or onnxruntime is missing, except under CI, where a missing package is a failure.
"""

import os

import pytest
from blocks import BLOCK, ROOT

if not os.environ.get("CI"):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")

PAGE = ROOT / "docs" / "guides" / "onnx.md"


def shown_output(code: str) -> list[str]:
    """The comment lines right below each `print(...)`: what the page says the block prints."""
    lines, shown = code.splitlines(), []
    for k, line in enumerate(lines):
        if line.strip().startswith("print("):
            for comment in lines[k + 1 :]:
                if not comment.startswith("# "):
                    break
                shown.append(comment[2:])
    return shown


def test_every_python_block_of_the_onnx_page_runs_and_prints_what_it_shows(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # files the page writes land here
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    namespace: dict = {"__name__": "onnx_page"}
    for k, code in enumerate(blocks):
        exec(compile(code, f"{PAGE.name}, Python block {k + 1}", "exec"), namespace)
        assert capsys.readouterr().out.splitlines() == shown_output(code), f"block {k + 1}"

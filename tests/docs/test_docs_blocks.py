"""Every Python block of the documentation site (docs/) runs on its own, top to bottom, as printed.

As tests/test_readme.py does for the README: each ```python block is run in a fresh interpreter, in a
temporary folder (files a block writes land there), with this checkout importable. A block that is
deliberately not a whole program (an excerpt of the engine's source, a PyTorch snippet) is fenced as
```py instead, which this test leaves alone and the site colours as Python all the same.

A page that has a test of its own (docs/guides/modules.md: tests/docs/test_modules_page.py) is left to it,
so that no block runs twice; a block that imports an optional package not installed here (PyTorch, in CI's
`.[dev]` environment) is skipped, as that test does.
"""

import re
import sys
from pathlib import Path

import pytest
from blocks import ROOT, missing, run_block
from blocks import python_blocks as blocks_of

DOCS = ROOT / "docs"


def pages():
    return sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.relative_to(DOCS).parts)


def has_own_test(page):
    """Whether another test in tests/docs/ runs this page's blocks (it names the page's file)."""
    here = Path(__file__).resolve()
    others = [t for t in here.parent.glob("test_*.py") if t != here]
    return any(f'"{page.name}"' in t.read_text(encoding="utf-8") for t in others)


def python_blocks():
    for page in pages():
        if has_own_test(page):
            continue
        yield from blocks_of(page)


@pytest.mark.parametrize("code", list(python_blocks()))
def test_the_block_runs_on_its_own(code, tmp_path):
    if missing(code):
        pytest.skip(f"needs {', '.join(missing(code))}, not installed here")
    result = run_block(code, tmp_path)
    assert result.returncode == 0, f"{result.stderr}\n--- the block ---\n{code}"


def test_the_pages_have_python_blocks():
    """The collection finds the blocks: a change of fence or folder that hid them all would fail here."""
    assert len(list(python_blocks())) >= 30
    with_blocks = {p.id.split(":")[0] for p in python_blocks()}
    for page in ("getting-started.md", "tutorial.md", "troubleshooting.md", "guides/own-operations.md"):
        assert f"docs/{page}" in with_blocks, page


def test_every_output_marker_names_a_job_of_the_pictures_hook():
    """A page's `<!-- output: NAME -->` is replaced at build time only when the hook runs that job."""
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        import pictures
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    markers = set()
    for page in pages():  # the marker's pages, whoever tests their blocks
        markers |= set(re.findall(r"<!-- output: ([\w.]+) -->", page.read_text(encoding="utf-8")))
    assert markers == set(pictures.JOBS), markers ^ set(pictures.JOBS)

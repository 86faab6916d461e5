"""docs/guides/numpy.md: its Python blocks run, top to bottom as one session, and its lists of NumPy
functions are exactly what the dispatch tables hold (`minigrad.numpy_api.supported()`), so the page
cannot drift from the code. `python tests/docs/test_numpy_page.py` prints the lists as the page has them."""

import re

from blocks import BLOCK, ROOT, run_block

from minigrad.numpy_api import supported

PAGE = ROOT / "docs" / "guides" / "numpy.md"
GENERATED = re.compile(r"<!-- generated: (\w+) -->\n(.*?)<!-- end -->", re.S)


def rendered() -> dict[str, str]:
    """Each list as the page writes it, from the tables."""
    lists = supported()
    return {
        "gradient": " ".join(f"`{name}`" for name in lists["gradient"]) + "\n",
        "values": " ".join(f"`{name}`" for name in lists["values"]) + "\n",
        "refused": "| NumPy | to keep the gradient, write |\n| --- | --- |\n"
        + "".join(f"| `{name}` | {hint} |\n" for name, hint in lists["refused"].items()),
    }


def test_the_page_lists_exactly_the_functions_of_the_dispatch_tables():
    on_page = dict(GENERATED.findall(PAGE.read_text(encoding="utf-8")))
    want = rendered()
    assert sorted(on_page) == sorted(want)
    for kind, text in want.items():
        assert on_page[kind] == text, f"the page's {kind} list is out of date; it should read:\n{text}"


def test_the_python_blocks_run_in_order():
    code = "\n".join(BLOCK.findall(PAGE.read_text(encoding="utf-8")))
    assert code.count("\n") > 20
    result = run_block(code)
    assert result.returncode == 0, f"{result.stderr}\n--- the blocks ---\n{code}"


if __name__ == "__main__":
    for kind, text in rendered().items():
        print(f"<!-- generated: {kind} -->\n{text}<!-- end -->\n")

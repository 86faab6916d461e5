"""examples/lab.ipynb, the lab as a notebook, run from top to bottom in a Jupyter kernel as a student runs it.

Executing it needs nbclient, nbformat and ipykernel (the `dev` extra) and the Graphviz program `dot`.
Where one is missing the execution test is skipped on a developer's machine, but fails in CI (where the CI
variable is set), so that the notebook cannot rot unseen.
"""

import base64
import importlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "lab.ipynb"
STEPS = ("## Step 1", "## Step 2", "## Step 3", "## Step 4")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Seconds per cell: a guard against a hung kernel, far above what any cell takes (the notebook runs in ~15 s).
CELL_TIMEOUT = 300


def cells_by_step(cells):
    """{"## Step k": [its cells, heading first]}; a section runs up to the next `## ` heading."""
    sections, current = {}, None
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith("## "):
            current = next((step for step in STEPS if text.startswith(step)), None)
            if current is not None:
                sections[current] = []
        if current is not None:
            sections[current].append(cell)
    return sections


def outputs(cells, mime):
    return [
        out["data"][mime] for cell in cells for out in cell.get("outputs", []) if mime in out.get("data", {})
    ]


def needed(module):
    """Import `module`, or skip where it is missing, except in CI, where the notebook must run."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"running the notebook needs {module}: pip install -e '.[dev]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


# ----- the notebook as committed -------------------------------------------------------------------


def test_the_committed_notebook_carries_no_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code
    for cell in code:
        assert cell["outputs"] == [], f"cell {cell.get('id')} was committed with outputs; clear them"
        assert cell["execution_count"] is None, f"cell {cell.get('id')} was committed with an execution count"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def test_each_step_opens_with_the_labs_formula_and_closes_with_what_to_notice():
    sections = cells_by_step(json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"])
    assert list(sections) == list(STEPS)
    for step, cells in sections.items():
        opening, closing = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
        assert "$$" in opening, f"{step} does not open with a displayed formula"
        assert cells[-1]["cell_type"] == "markdown" and "What to notice" in closing, step
        assert any(cell["cell_type"] == "code" for cell in cells), f"{step} has no code"


# ----- the notebook, executed ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook after running every cell in a fresh kernel of this interpreter, from examples/."""
    nbformat = needed("nbformat")
    nbclient = needed("nbclient")
    needed("ipykernel")
    needed("matplotlib")
    if shutil.which("dot") is None:
        message = "the notebook draws graphs with the Graphviz program `dot`; install graphviz"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    # A kernel spec of our own, first on Jupyter's path, so that the kernel is this interpreter and not
    # whatever an older "python3" spec in the user's Jupyter folders points to.
    kernels = tmp_path_factory.mktemp("jupyter")
    spec = kernels / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
    )

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    # One more cell, so that the test can see which interpreter the kernel ran.
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)", id="which-python"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "JUPYTER_PATH", os.pathsep.join(filter(None, [str(kernels), os.environ.get("JUPYTER_PATH")]))
        )
        # This checkout, importable whether or not it was pip-installed.
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        client = nbclient.NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT,
            startup_timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOK.parent)}},
        )
        client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    return notebook


def test_every_cell_runs_without_error_in_a_kernel_of_this_python(executed):
    *lab, which = executed.cells
    for cell in lab:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"cell {cell.id} did not run"
            errors = [out for out in cell.outputs if out.output_type == "error"]
            assert not errors, f"cell {cell.id}: {errors}"
    printed = "".join(out.get("text", "") for out in which.outputs).strip()
    assert Path(printed).resolve() == Path(sys.prefix).resolve()


def test_every_step_shows_a_plot(executed):
    for step, cells in cells_by_step(executed.cells).items():
        pngs = [base64.b64decode(png) for png in outputs(cells, "image/png")]
        assert pngs, f"{step} shows no matplotlib figure"
        assert all(png.startswith(PNG_MAGIC) for png in pngs), step


def test_steps_2_and_4_draw_the_graph_inline_before_and_after_back_propagation(executed):
    sections = cells_by_step(executed.cells)
    (forward,) = outputs(sections["## Step 2"], "image/svg+xml")
    (deep,) = outputs(sections["## Step 4"], "image/svg+xml")
    for svg in (forward, deep):
        assert "<svg" in svg and "computation_graph" in svg
    # The two-layer network and its cost, drawn before any backward pass: its nodes, no gradient norms.
    for name in ("W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "A2"):
        assert f">{name}<" in forward, f"the step 2 graph has no node {name}"
    assert "grad‖" not in forward
    # The deep network after its backward pass: every layer's weights, each with its gradient's norm.
    for c in range(1, 6):
        assert f">W{c}<" in deep, f"the step 4 graph has no node W{c}"
    assert deep.count("grad‖") >= 5


def test_step_3_tabulates_all_six_of_the_labs_gradients(executed):
    (table,) = outputs(cells_by_step(executed.cells)["## Step 3"], "text/markdown")
    for name in ("dZ2", "dW2", "db2", "dZ1", "dW1", "db1"):
        assert f"`{name}`" in table


def test_step_4_shows_a_network_that_explodes_and_the_same_trained_with_clipping(executed):
    (cell,) = [cell for cell in executed.cells if cell.get("id") == "step4-exploding"]
    printed = "".join(out.get("text", "") for out in cell.outputs)
    plain, clipped = printed.splitlines()
    assert plain.startswith("without clipping") and re.search(r"(nan|inf) at step \d+$", plain), plain
    assert "clip_grad_norm(max_norm=1)" in clipped
    assert float(clipped.split("J = ")[1].split()[0]) < 0.3  # it trains, well below log 2
    assert [o for o in cell.outputs if "image/png" in o.get("data", {})]


def test_the_last_section_trains_on_the_digits_and_shows_misclassified_ones(executed):
    """Where scikit-learn is installed (CI's dev extra has it): the check, the accuracy and the picture."""
    pytest.importorskip("sklearn")
    cells = [c for c in executed.cells if c.get("id", "").startswith("digits")]
    assert "".join(cells[0].source).startswith("## More than two classes")
    printed = "".join(out.get("text", "") for cell in cells for out in cell.get("outputs", []))
    difference = re.search(r"dZ2 = A2 - Y against m \* Z2.grad: largest difference (\S+)", printed)
    assert difference and float(difference[1]) < 1e-12, printed
    accuracy = re.search(r"held-out accuracy after 15 epochs: (\S+)%", printed)
    assert accuracy and float(accuracy[1]) > 90, printed
    assert outputs(cells, "image/png"), "no picture of the misclassified digits"

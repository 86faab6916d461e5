"""The main job, `python -m nets.twolayer`, run as a user runs it: in a subprocess, from the command line."""

import os
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from stopping import terminated_while_saving

from nets import datasets

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args, cwd, env=None, code=None):
    """`python -m nets.twolayer ARGS` (or `python -c CODE`) in `cwd`, with this checkout importable."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "nets.twolayer", *args]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def write_csv(path, X, Y, header="x1,x2,label"):
    rows = [",".join(f"{v:.17g}" for v in (*x, y)) for x, y in zip(X.T, Y[0])]
    path.write_text("\n".join(([header] if header else []) + rows) + "\n")
    return path


def final_line(stdout):
    match = re.search(r"final cost (\S+)\s+train accuracy (\S+)%\s+held-out accuracy (\S+)%", stdout)
    assert match, stdout
    return float(match[1]), float(match[2]), float(match[3])


# ----- the report --------------------------------------------------------------------------------------


def test_the_default_run_reports_its_plan_the_gradient_check_progress_and_accuracy(tmp_path):
    result = run(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    # 1. what it is about to do
    assert "moons (seed 0): 400 examples, 2 features; 300 to train, 100 held out" in out
    assert "2 -> 10 sigmoid -> 1 sigmoid" in out
    assert "5000 iterations of gradient descent" in out and "learning rate 3" in out
    # 2. the gradient check: each of the lab's gradients, its formula, a difference at rounding level
    formulas = {
        "dZ2": "A2 - Y",
        "dW2": "(1/m) dZ2 A1.T",
        "db2": "(1/m) sum(dZ2, axis=1)",
        "dZ1": "(W2.T dZ2) * A1 (1 - A1)",
        "dW1": "(1/m) dZ1 X.T",
        "db1": "(1/m) sum(dZ1, axis=1)",
    }
    for name, formula in formulas.items():
        line = re.search(rf"^  {name} = (.*?)\s+max \|closed form - autograd\| = (\S+)$", out, re.M)
        assert line, name
        assert line[1] == formula
        assert float(line[2]) < 1e-12
    assert "agree" in out
    # 3. the cost every so often: iterations 0, 500, ..., 5000, falling
    costs = [float(c) for c in re.findall(r"^  iteration +\d+ +cost (\S+)$", out, re.M)]
    assert len(costs) == 11 and costs[-1] < costs[0] / 5
    # 4. final cost and accuracy
    cost, train_accuracy, held_out = final_line(out)
    assert cost == costs[-1]
    assert train_accuracy >= 95 and held_out >= 95
    assert "\r" not in out  # no progress bar where stdout is not a terminal


def test_quiet_prints_only_the_final_result(tmp_path):
    result = run("--quiet", "--iterations", "50", "--data", "xor", "--activation", "relu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    final_line(result.stdout)


def test_help_explains_every_option_in_one_line(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in (
        "--data",
        "--hidden",
        "--activation",
        "--iterations",
        "--learning-rate",
        "--seed",
        "--test-fraction",
        "--save",
        "--plot",
        "--graph",
        "--quiet",
    ):
        assert re.search(rf"^  {option}\b.*\S", result.stdout, re.M), option
    assert "predict" in result.stdout
    predict_help = run("predict", "--help", cwd=tmp_path)
    assert (
        predict_help.returncode == 0
        and "--out" in predict_help.stdout
        and "PARAMS.npz" in predict_help.stdout
    )


# ----- save, then predict ------------------------------------------------------------------------------


def test_save_then_predict_gives_the_same_predictions_with_the_saved_standardisation(tmp_path):
    # Three features on different scales, so that predicting without the saved statistics would go wrong.
    X, Y = datasets.circles(m=120, seed=4)
    X = np.vstack([X * [[100.0], [0.01]], np.random.default_rng(0).normal(5, 3, (1, 120))])
    data = write_csv(tmp_path / "rings.csv", X, Y, header="a,b,c,label")
    trained = run(
        "--data",
        "rings.csv",
        "--activation",
        "relu",
        "--hidden",
        "8",
        "--iterations",
        "300",
        "--learning-rate",
        "0.5",
        "--test-fraction",
        "0",
        "--save",
        "model.npz",
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    _, train_accuracy, _ = final_line(trained.stdout.replace("none (--test-fraction 0)", "0%"))

    with np.load(tmp_path / "model.npz", allow_pickle=False) as saved:  # plain arrays only
        files = {k: saved[k] for k in saved.files}
    assert set(files) == {"W1", "b1", "W2", "b2", "mean", "std", "hidden_activation"}
    assert str(files["hidden_activation"]) == "relu"
    assert files["W1"].shape == (8, 3) and files["mean"].shape == files["std"].shape == (3, 1)
    np.testing.assert_allclose(files["mean"][:, 0], X.mean(axis=1))
    np.testing.assert_allclose(files["std"][:, 0], X.std(axis=1))

    predicted = run("predict", "model.npz", "--data", data.name, "--out", "predictions.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert f"accuracy    {train_accuracy:.1f}%" in predicted.stdout
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "prediction,probability" and len(lines) == 121
    written = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])

    # The same predictions, computed here from the file in NumPy alone.
    S = (X - files["mean"]) / files["std"]
    A1 = np.maximum(files["W1"] @ S + files["b1"], 0)
    A2 = 1 / (1 + np.exp(-(files["W2"] @ A1 + files["b2"])))
    np.testing.assert_allclose(written[:, 1], A2[0], atol=1e-6)
    np.testing.assert_array_equal(written[:, 0], A2[0] > 0.5)

    # New data without labels: features only.
    (tmp_path / "new.csv").write_text("".join(",".join(f"{v:.17g}" for v in x) + "\n" for x in X[:, :10].T))
    unlabelled = run("predict", "model.npz", "--data", "new.csv", cwd=tmp_path)
    assert unlabelled.returncode == 0, unlabelled.stderr
    assert f"predicted   1 for {int((A2[0, :10] > 0.5).sum())} of 10 examples" in unlabelled.stdout


def test_predict_on_a_built_in_data_set_draws_new_examples(tmp_path):
    assert run("--iterations", "2000", "--save", "m.npz", "--quiet", cwd=tmp_path).returncode == 0
    predicted = run("predict", "m.npz", "--data", "moons", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "moons (seed 1): 400 examples, with labels" in predicted.stdout
    accuracy = float(re.search(r"accuracy +(\S+)%", predicted.stdout)[1])
    assert accuracy >= 90


@pytest.mark.parametrize("big", [1.7e308, 1e160])
def test_features_too_large_to_sum_or_square_train_save_plot_and_predict(tmp_path, big):
    X, Y = datasets.moons(m=80, seed=0)
    X[0] = np.where(X[0] > 0.5, big, -big)  # the sum overflows near 1e308, the squares near 1e160
    write_csv(tmp_path / "huge.csv", X, Y)
    args = ("--data", "huge.csv", "--iterations", "20", "--save", "m.npz", "--plot", "p.png", "--quiet")
    trained = run(*args, cwd=tmp_path)
    assert trained.returncode == 0 and trained.stderr == "", trained.stderr
    with np.load(tmp_path / "m.npz") as saved:
        assert np.all(np.isfinite(saved["mean"])) and np.all(np.isfinite(saved["std"]))
        assert np.all(saved["std"] > 0)
    assert (tmp_path / "p.png").read_bytes().startswith(PNG_MAGIC)
    predicted = run("predict", "m.npz", "--data", "huge.csv", cwd=tmp_path)
    assert predicted.returncode == 0 and predicted.stderr == "", predicted.stderr


# ----- plot and graph ----------------------------------------------------------------------------------


def test_plot_writes_a_png_of_the_cost_and_the_decision_boundary(tmp_path):
    result = run("--iterations", "50", "--plot", "run.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    png = (tmp_path / "run.png").read_bytes()
    assert png.startswith(PNG_MAGIC)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1100, 450)  # two panels: cost and boundary
    assert len(png) > 20_000
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]  # no temporary file left behind


def test_plot_of_data_with_three_features_has_the_cost_curve_only(tmp_path):
    X, Y = datasets.blobs(m=60, seed=0)
    write_csv(tmp_path / "three.csv", np.vstack([X, X[:1] * X[1:]]), Y, header="")
    result = run("--data", "three.csv", "--iterations", "20", "--plot", "cost.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    png = (tmp_path / "cost.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and int.from_bytes(png[16:20], "big") == 550


def test_without_matplotlib_plot_says_how_to_install_it_before_training(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"  # makes `import matplotlib` fail
        "from nets.twolayer.command import main\n"
        "raise SystemExit(main(['--plot', 'run.png', '--iterations', '5']))"
    )
    result = run(cwd=tmp_path, code=code)
    assert result.returncode == 2
    assert 'pip install "minigrad[plot]"' in result.stderr
    assert result.stdout == "" and not (tmp_path / "run.png").exists()


def test_graph_writes_the_computation_graph_with_the_labs_names_and_formula(tmp_path):
    result = run("--iterations", "5", "--graph", "pass.dot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dot = (tmp_path / "pass.dot").read_text()
    assert dot.lstrip().startswith("digraph")
    for name in ("X", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "A2", "Y", "J"):
        assert f">{name}<" in dot, name  # a node labelled with the lab's name
    # the cost as the lab writes it, one node per step
    for name in ("log A2", "1 - A2", "log(1 - A2)", "1 - Y", "Y log A2 + (1 - Y) log(1 - A2)", "-1/m"):
        assert f">{name}<" in dot, name
    operations = set(re.findall(r"\[label=(\w+) class=op", dot))
    assert operations == {"matmul", "add", "sigmoid", "log", "sub", "mul", "sum"}  # the formula's only
    assert "J = -(1/m) sum[Y log A2 + (1 - Y) log(1 - A2)]" in dot and "at initialisation" in dot  # the title
    assert "written to pass.dot" in result.stdout


def test_graph_without_the_graphviz_programs_writes_dot_source_and_says_how_to_install_them(tmp_path):
    empty = tmp_path / "no-programs"
    empty.mkdir()
    result = run("--iterations", "5", "--graph", "pass.svg", cwd=tmp_path, env={"PATH": str(empty)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pass.dot").read_text().lstrip().startswith("digraph")
    assert not (tmp_path / "pass.svg").exists()
    assert "written to pass.dot" in result.stdout and "apt-get install graphviz" in result.stderr
    quiet = run("--iterations", "5", "--graph", "q.png", "--quiet", cwd=tmp_path, env={"PATH": str(empty)})
    assert quiet.returncode == 0 and "apt-get install graphviz" in quiet.stderr  # the hint is never quiet


def test_graph_renders_svg_where_graphviz_is_installed(tmp_path):
    if not any((Path(d) / "dot").exists() for d in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.skip("the Graphviz dot program is not installed")
    result = run("--iterations", "5", "--graph", "pass.svg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "<svg" in (tmp_path / "pass.svg").read_text()


# ----- a user's files are never lost --------------------------------------------------------------------


def one_error_line(result, status=2):
    assert result.returncode == status, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_an_output_that_is_an_input_or_another_output_is_refused_before_any_work(tmp_path):
    (tmp_path / "new.csv").write_text("0.1,0.2\n0.3,0.4\n")
    (tmp_path / "link.csv").symlink_to("new.csv")
    os.link(tmp_path / "new.csv", tmp_path / "hard.csv")
    assert run("--iterations", "5", "--save", "m.npz", "--quiet", cwd=tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for data, out in (("new.csv", "new.csv"), ("new.csv", "link.csv"), ("hard.csv", "new.csv")):
        result = run("predict", "m.npz", "--data", data, "--out", out, cwd=tmp_path)
        line = one_error_line(result)
        assert f"--out {out} is the same file as --data {data}" in line
        assert result.stdout == ""
    result = run("--iterations", "5", "--plot", "x.svg", "--graph", "x.svg", cwd=tmp_path)
    assert "--graph x.svg is the same file as --plot x.svg" in one_error_line(result)
    assert result.stdout == ""
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_outputs_of_a_run_that_fails_at_the_last_one_are_none_written(tmp_path):
    (tmp_path / "s.npz").write_bytes(b"the previous run's parameters")
    code = (
        "from minigrad.graph import ComputationGraph\n"
        "def full(*args, **kwargs):\n"
        "    raise OSError(28, 'No space left on device')\n"
        "ComputationGraph.pipe = full\n"
        "from nets.twolayer.command import main\n"
        "raise SystemExit(main(['--iterations', '5', '--quiet', '--save', 's.npz', '--plot', 'p.png',"
        " '--graph', 'h.svg']))"
    )
    result = run(cwd=tmp_path, code=code)
    assert "No space left on device" in one_error_line(result, status=1)
    assert (tmp_path / "s.npz").read_bytes() == b"the previous run's parameters"
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def test_without_graphviz_the_dot_fallback_never_writes_over_a_file_the_user_did_not_name(tmp_path):
    empty = tmp_path / "no-programs"
    empty.mkdir()
    (tmp_path / "g.dot").write_text("the user's own graph")
    (tmp_path / "h.dot").mkdir()
    for graph, dot in (("g.svg", "g.dot"), ("h.svg", "h.dot")):
        result = run(
            "--iterations", "5", "--save", "s.npz", "--graph", graph, cwd=tmp_path, env={"PATH": str(empty)}
        )
        line = one_error_line(result)
        assert f"--graph {graph}: without the Graphviz programs the graph would be written to {dot}" in line
        assert result.stdout == ""
    assert (tmp_path / "g.dot").read_text() == "the user's own graph"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "h.dot", "no-programs"]


def test_a_run_stopped_by_sigterm_while_saving_leaves_no_file_behind(tmp_path):
    status, stderr = terminated_while_saving(
        "nets.twolayer.command", ["--iterations", "5", "--quiet", "--save", "model.npz"], tmp_path
    )
    assert status == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and stderr.strip() == "terminated"
    assert list(tmp_path.iterdir()) == []


def test_file_names_that_are_not_utf8_are_printed_as_their_bytes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8:strict"}  # a UTF-8 terminal
    X, Y = datasets.moons(m=40, seed=0)
    write_csv(tmp_path / os.fsdecode(b"caf\xe9.csv"), X, Y)
    args = [
        b"--data",
        b"caf\xe9.csv",
        b"--iterations",
        b"3",
        b"--save",
        b"m\xff.npz",
        b"--graph",
        b"g\xff.dot",
    ]
    command = [sys.executable.encode(), b"-m", b"nets.twolayer", *args]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode(errors="replace")
    assert b"data      caf\\xe9.csv: 40 examples" in result.stdout
    assert b"parameters saved to m\\xff.npz" in result.stdout
    assert b"written to g\\xff.dot" in result.stdout
    assert b"caf\\xe9.csv" in (tmp_path / os.fsdecode(b"g\xff.dot")).read_bytes()  # the graph's title
    predicted = subprocess.run(
        [*command[:3], b"predict", b"m\xff.npz", b"--data", b"caf\xe9.csv", b"--out", b"p\xff.csv"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert predicted.returncode == 0 and b"predictions written to p\\xff.csv" in predicted.stdout
    missing = subprocess.run(
        [*command[:3], b"--data", b"n\xf6.csv"], cwd=tmp_path, env=env, capture_output=True
    )
    assert missing.returncode == 2 and missing.stdout == b""
    assert missing.stderr == b"error: n\\xf6.csv: no such file\n"


# ----- bad input: one line on stderr, exit status 2, nothing trained, nothing written ------------------

FILES = {
    "empty.csv": "",
    "header.csv": "x1,x2,label\n",
    "one-column.csv": "1\n0\n1\n",
    "word.csv": "x1,x2,label\n0.1,0.2,1\n0.3,abc,0\n",
    "ragged.csv": "0.1,0.2,1\n0.3,0.4\n",
    "labels.csv": "0.1,0.2,1\n0.3,0.4,2\n0.5,0.6,-1\n",
    "nan.csv": "0.1,0.2,1\n0.3,nan,0\n",
    "inf.csv": "0.1,-inf,1\n0.3,0.4,0\n",
    "text.npz": "not an archive",
    "four.csv": "1,2,3,1\n4,5,6,0\n",
    "tiny.csv": "0.1,0.2,1\n",
}

BAD_INPUT = [
    (["--data", "missing.csv"], "missing.csv: no such file"),
    (["--data", "spirals"], "unknown data set 'spirals'"),
    (["--data", "word.csv"], "word.csv, line 3, column 2: 'abc' is not a number"),
    (["--data", "ragged.csv"], "ragged.csv, line 2: 2 columns, but line 1 has 3"),
    (["--data", "labels.csv"], "labels (the last column) must be 0 or 1; found -1, 2 (first on line 2)"),
    (["--data", "nan.csv"], "nan.csv, line 2, column 2: nan; every value must be a finite number"),
    (["--data", "inf.csv"], "inf.csv, line 1, column 2: -inf; every value must be a finite number"),
    (["--data", "empty.csv"], "empty.csv: no data rows (the file is empty)"),
    (["--data", "header.csv"], "header.csv: no data rows (only a header)"),
    (["--data", "one-column.csv"], "one-column.csv: 1 column; need at least one feature column"),
    (["--learning-rate", "0"], "argument --learning-rate: must be a positive number, got 0"),
    (["--learning-rate", "-0.1"], "argument --learning-rate: must be a positive number, got -0.1"),
    (["--learning-rate", "-1e3"], "argument --learning-rate: must be a positive number, got -1e3"),
    (["--learning-rate", "-1.5E-2"], "argument --learning-rate: must be a positive number, got -1.5E-2"),
    (["--learning-rate", "-inf"], "argument --learning-rate: must be a positive number, got -inf"),
    (["--hidden", "-1e3"], "argument --hidden: '-1e3' is not a whole number"),
    (["--learning-rate", "fast"], "argument --learning-rate: 'fast' is not a number"),
    (["--hidden", "99999999999"], "--hidden 99999999999: a network 2 -> 99999999999 -> 1 on 300 examples"),
    (["--data", "/dev/zero"], "/dev/zero: not a regular file"),
    (["predict", "model.npz", "--data", "/dev/zero"], "/dev/zero: not a regular file"),
    (["predict", "/dev/zero", "--data", "moons"], "/dev/zero: not a regular file"),
    (
        ["predict", "huge-header.npz", "--data", "moons"],
        "huge-header.npz: W1 is an array of (1000000, 10000000)",
    ),
    (["--hidden", "0"], "argument --hidden: must be a positive whole number, got 0"),
    (["--hidden", "-3"], "argument --hidden: must be a positive whole number, got -3"),
    (["--iterations", "0"], "argument --iterations: must be a positive whole number, got 0"),
    (["--iterations", "1.5"], "argument --iterations: '1.5' is not a whole number"),
    (["--test-fraction", "1"], "argument --test-fraction: must be at least 0 and below 1, got 1"),
    (["--activation", "tanh"], "argument --activation: invalid choice: 'tanh'"),
    (["--save", "nofolder/model.npz"], "--save nofolder/model.npz: the folder nofolder does not exist"),
    (["--plot", "nofolder/run.png"], "--plot nofolder/run.png: the folder nofolder does not exist"),
    (["--graph", "nofolder/g.svg"], "--graph nofolder/g.svg: the folder nofolder does not exist"),
    (["--save", "model.txt"], "--save model.txt: the file name must end in .npz"),
    (["--graph", "g.jpeg"], "--graph g.jpeg: the file name must end in .svg or .png or .pdf or .dot"),
    (
        ["--data", "tiny.csv", "--test-fraction", "0.9"],
        "tiny.csv: 1 example with a test fraction of 0.9 leaves",
    ),
    (["predict", "missing.npz", "--data", "moons"], "missing.npz: no such file"),
    (["predict", "text.npz", "--data", "moons"], "text.npz: not a parameter file written by --save"),
    (["predict", "model.npz", "--data", "four.csv"], "trained on 2 features, but four.csv has 4 columns"),
    (["predict", "wrong-shapes.npz", "--data", "moons"], "wrong-shapes.npz: the shapes do not fit together"),
    (
        ["predict", "zero-std.npz", "--data", "moons"],
        "zero-std.npz: not a parameter file written by --save: it holds a network 2 -> 4 sigmoid -> 1, "
        "but a standard deviation of 0 for feature 2",
    ),
    (["predict", "negative-std.npz", "--data", "moons"], "a standard deviation of -2 for feature 1"),
    (
        ["predict", "no-hidden.npz", "--data", "moons"],
        "no-hidden.npz: not a parameter file written by --save: it holds a network 2 -> 0 sigmoid -> 1, "
        "with no hidden unit",
    ),
    (
        ["predict", "two-outputs.npz", "--data", "moons"],
        "it holds a network 2 -> 4 sigmoid -> 2, with 2 outputs where --save writes 1",
    ),
    (
        ["predict", "3d.npz", "--data", "moons"],
        "3d.npz was trained on 3 features; the built-in moons data set has 2",
    ),
    (
        ["predict", "model.npz", "--data", "moons", "--out", "nofolder/p.csv"],
        "the folder nofolder does not exist",
    ),
    (["predict", "model.npz"], "the following arguments are required: --data"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.fixture(scope="module")
def bad_input_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-input")
    for name, text in FILES.items():
        (folder / name).write_text(text)
    p = {"W1": np.ones((4, 2)), "b1": np.zeros((4, 1)), "W2": np.ones((1, 4)), "b2": np.zeros((1, 1))}
    stats = {"mean": np.zeros((2, 1)), "std": np.ones((2, 1)), "hidden_activation": np.array("sigmoid")}
    np.savez(folder / "model.npz", **p, **stats)
    np.savez(folder / "wrong-shapes.npz", **{**p, "b1": np.zeros((3, 1))}, **stats)
    three = {"mean": np.zeros((3, 1)), "std": np.ones((3, 1)), "hidden_activation": np.array("relu")}
    np.savez(folder / "3d.npz", **{**p, "W1": np.ones((4, 3))}, **three)
    np.savez(folder / "zero-std.npz", **p, **{**stats, "std": np.array([[1.0], [0.0]])})
    np.savez(folder / "negative-std.npz", **p, **{**stats, "std": np.array([[-2.0], [1.0]])})
    none = {"W1": np.ones((0, 2)), "b1": np.zeros((0, 1)), "W2": np.ones((1, 0))}
    np.savez(folder / "no-hidden.npz", **{**p, **none}, **stats)
    np.savez(folder / "two-outputs.npz", **{**p, "W2": np.ones((2, 4)), "b2": np.zeros((2, 1))}, **stats)
    with zipfile.ZipFile(folder / "huge-header.npz", "w") as archive:  # a header promising 80 TB, no data
        for key, value in {**p, **stats}.items():
            with archive.open(f"{key}.npy", "w") as member:
                if key == "W1":
                    header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**7)}
                    np.lib.format.write_array_header_1_0(member, header)
                else:
                    np.lib.format.write_array(member, np.asarray(value))
    return folder


@pytest.mark.parametrize(("args", "message"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_gets_one_line_naming_the_problem_and_exit_status_2(bad_input_folder, args, message):
    before = sorted(p.name for p in bad_input_folder.iterdir())
    if args[0] != "predict" and "--iterations" not in args:
        args = [*args, "--iterations", "3"]  # were the input not refused, the run would be short
    result = run(*args, cwd=bad_input_folder)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""  # found before training, so nothing was trained or reported
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]
    assert sorted(p.name for p in bad_input_folder.iterdir()) == before  # nothing written


def test_an_exploding_run_stops_names_the_iteration_and_saves_nothing(tmp_path):
    (tmp_path / "model.npz").write_bytes(b"the previous run's parameters")
    result = run(
        "--activation",
        "relu",
        "--learning-rate",
        "1e4",
        "--iterations",
        "500",
        "--save",
        "model.npz",
        "--plot",
        "run.png",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert re.match(r"error: the cost became \S+ at iteration \d+ \(from .*smaller --learning-rate", lines[0])
    assert (tmp_path / "model.npz").read_bytes() == b"the previous run's parameters"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_each_module_is_imported_once(tmp_path):
    result = run("--quiet", "--iterations", "2", cwd=tmp_path, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0
    modules = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    ours = [m for m in modules if m.split(".")[0] in ("nets", "minigrad")]
    assert "nets.twolayer" in ours and "nets.twolayer.command" in ours
    assert len(ours) == len(set(ours)), sorted(m for m in ours if ours.count(m) > 1)


def test_a_training_run_checks_the_training_labels_at_its_boundaries_only(monkeypatch, capsys):
    # Issue 17: labels were checked five times on one Y in one run (the formulas' closed form and cost,
    # train, the accuracy of each split). Now: once where the formulas are checked, once by train.
    import nets.checks
    import nets.costs
    import nets.twolayer
    from nets.twolayer.command import main as twolayer_main

    checked = []
    real = nets.checks.binary_labels

    def counted(Y, function):
        checked.append((function, Y.shape))
        return real(Y, function)

    for module in (nets.checks, nets.costs, nets.twolayer):
        monkeypatch.setattr(module, "binary_labels", counted)
    assert twolayer_main(["--iterations", "2", "--quiet"]) == 0
    assert "final cost" in capsys.readouterr().out
    assert checked == [("check_formulas", (1, 300)), ("train", (1, 300))]

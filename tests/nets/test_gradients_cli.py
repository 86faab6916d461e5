"""`python -m nets.gradients`: the command end to end, its verdicts, and its answers to bad input."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nets import gradients
from nets.gradients import TrainingRun, parse_combination
from nets.gradients.command import main

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "nets.gradients", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def table_columns(stdout: str) -> dict[str, dict[str, float]]:
    """The gradient table as {combination: {row name: value}}."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("layer c"))
    labels = lines[start].split()[2:]
    columns: dict[str, dict[str, float]] = {label: {} for label in labels}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        row, *values = line.split()
        for label, value in zip(labels, values):
            columns[label][row] = float(value)
    return columns


def test_the_default_run_end_to_end_with_a_plot(tmp_path):
    result = run_command("--plot", "out.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr

    columns = table_columns(result.stdout)
    assert list(columns) == list(gradients.DEFAULT_COMBINATIONS)
    for rows in columns.values():
        assert list(rows) == [str(c) for c in range(1, 11)] + ["dW1/dWL", "dZ1/dZL"]
        assert rows["dW1/dWL"] == pytest.approx(rows["1"] / rows["10"], rel=0.02)
    # What the table must show (the arithmetic is in tests/test_deep.py): sigmoid with the lab's bound
    # vanishes by orders of magnitude, He keeps level, the lab's bound with ReLU shrinks the gradient on
    # its way back, a large normal explodes.
    assert columns["sigmoid+lab"]["dW1/dWL"] < 1e-4
    assert 0.1 < columns["relu+he"]["dZ1/dZL"] < 10
    assert columns["relu+lab"]["dZ1/dZL"] < 1e-2
    assert columns["relu+normal:0.5"]["dZ1/dZL"] > 1e2

    assert (
        "relu+normal:0.5 diverges without clipping and trains with clip_grad_norm(max_norm=1)"
        in result.stdout
    )
    training = result.stdout[result.stdout.index("Training:") :]
    assert "relu+normal:0.5 clipped" in training
    png = tmp_path / "out.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temporary file left behind


def test_bad_input_in_a_subprocess_is_one_line_and_exit_2(tmp_path):
    result = run_command("--depth", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "--depth" in result.stderr and "0" in result.stderr


@pytest.mark.parametrize(
    "args, named",
    [
        (["--depth", "abc"], "'abc'"),
        (["--depth", "1"], "--depth must be at least 2"),
        (["--width", "-3"], "-3"),
        (["--steps", "0"], "positive whole number, got 0"),
        (["--learning-rate", "-0.1"], "-0.1"),
        (["--learning-rate", "nan"], "nan"),
        (["--learning-rate", "-1e3"], "--learning-rate: must be a positive number, got -1e3"),
        (["--clip", "-2.5e-1"], "--clip: must be a positive number, got -2.5e-1"),
        (["--clip", "0"], "--clip"),
        (["--data", "spirals"], "'spirals'"),
        (["--seed", "-1"], "0 or above, got -1"),
        (["--combos", "relu+xavier"], "unknown initialisation 'xavier'"),
        (["--combos", "softmax+he"], "unknown activation 'softmax'"),
        (["--combos", "relu"], "must read ACTIVATION+INIT"),
        (["--combos", "relu+normal"], "normal needs a positive std"),
        (["--combos", "relu+normal:-1"], "normal needs a positive std"),
        (["--combos", "relu+he:2"], "only normal takes a std"),
        (["--combos", "relu+he,relu+he"], "listed twice"),
        (["--combos", ","], "no combination"),
        (["--combos", "relu+he", "--activation", "tanh"], "either --combos or --activation/--init"),
        (["--activation", "sigmoid", "--init", "lecun"], "unknown initialisation 'lecun'"),
        (["--plot", "out.jpg"], "--plot out.jpg: the file name must end in .png"),
        (["--plot", "no/such/folder/out.png"], "the folder no/such/folder does not exist"),
        (["--plot", "."], "the file name must end in .png"),
        (["--width", "99999999999"], "--width 99999999999: a network of 10 layers of 99999999999 units"),
        (["--examples", "99999999999"], "--examples 99999999999: a network of 10 layers of 32 units"),
        (["--depth", "99999999999", "--width", "9999"], "would take"),
    ],
)
def test_bad_input_is_named_in_one_line(args, named, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert named in err


def test_a_folder_named_like_a_png_is_refused(capsys, tmp_path):
    (tmp_path / "out.png").mkdir()
    assert main(["--plot", str(tmp_path / "out.png")]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_missing_matplotlib_is_said_before_the_work(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the extra looks like
    assert main(["--plot", str(tmp_path / "out.png"), "--steps", "1"]) == 2
    captured = capsys.readouterr()
    assert 'pip install "minigrad[plot]"' in captured.err
    assert captured.out == ""
    assert not (tmp_path / "out.png").exists()


def test_activation_and_init_lists_make_every_pair(capsys):
    assert main(["--activation", "tanh,relu", "--init", "he,normal:0.1", "--depth", "3", "--steps", "2"]) == 0
    columns = table_columns(capsys.readouterr().out)
    assert list(columns) == ["tanh+he", "tanh+normal:0.1", "relu+he", "relu+normal:0.1"]
    assert all(list(rows)[:3] == ["1", "2", "3"] for rows in columns.values())


def test_parse_combination():
    assert parse_combination("relu+he") == gradients.Combination("relu", "he")
    c = parse_combination(" tanh+normal:0.25 ")
    assert (c.activation, c.init, c.std, c.label) == ("tanh", "normal", 0.25, "tanh+normal:0.25")


# ----- the training verdicts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "costs, outcome",
    [
        ([0.7, 0.5, math.nan], "diverged: cost nan at step 2"),
        ([0.7, 0.5, math.inf], "diverged: cost inf at step 2"),
        ([0.7, 80.0, 0.3], "diverged: cost rose to 80 at step 1"),  # more than 10 times the start
        ([0.7, 0.9, 0.71], "diverged: cost grew from 0.7 to 0.71"),
        ([0.7, 0.69, 0.68], "stalled"),  # fell by less than 5 %
        ([0.7, 1.2, 0.1], "trained"),  # a spike of less than 10 times recovers
    ],
)
def test_outcome_of_a_training_run(costs, outcome):
    assert TrainingRun(costs=costs).outcome == outcome


@pytest.mark.parametrize("rise", [0.0, 1e-16, 1e-12, 1e-6])
def test_a_rise_in_the_last_places_is_no_divergence(rise):
    # Issue 22: at depth 30 with relu+lab the cost went from 0.693 to 0.693 "and grew", and the report
    # called that "diverged" while dZ1/dZL was 2.6e-12.
    start = math.log(2)
    costs = [start, start * (1 - 1e-9), start * (1 + rise)]
    assert TrainingRun(costs=costs).outcome == "stalled"
    assert TrainingRun(costs=costs, vanished=True).outcome == "no progress (vanishing gradients)"
    assert not TrainingRun(costs=costs, vanished=True).diverged


def test_measure_says_no_progress_where_the_gradient_vanished():
    X, Y = gradients.make_data("moons", 40, 0)
    combos = [parse_combination("sigmoid+lab"), parse_combination("relu+he")]
    found = gradients.measure(
        combos, X, Y, [2, 8, 8, 8, 8, 8, 8, 8, 8, 1], steps=5, learning_rate=0.01, clip=1.0, seed=0
    )
    outcomes = {label: run.outcome for label, run in found.runs}
    assert outcomes["sigmoid+lab"] == "no progress (vanishing gradients)"
    assert gradients.ratio(found.dZ[0][0], found.dZ[0][-1]) < gradients.VANISHED_BELOW
    assert not found.runs[1][1].vanished and outcomes["relu+he"] != "no progress (vanishing gradients)"


def test_large_normal_diverges_without_clipping_and_trains_with_it():
    # std 0.5 and n = 32 make the gradient 2 times larger per layer (1/2 * 32 * 0.25 = 4 in squared norm),
    # about 2^9 = 512 at layer 1: a gradient-descent step of 0.1 times that overshoots. Clipping the global
    # norm to 1 bounds every step by the learning rate, whatever the gradient.
    for seed in range(3):
        X, Y = gradients.make_data("moons", 200, seed)
        combo = parse_combination("relu+normal:0.5")
        sizes = [2] + [32] * 9 + [1]
        plain = gradients.training_run(
            gradients.network_parameters(combo, sizes, seed), X, Y, "relu", 150, 0.1
        )
        clipped = gradients.training_run(
            gradients.network_parameters(combo, sizes, seed), X, Y, "relu", 150, 0.1, 1.0
        )
        assert plain.diverged, plain.outcome
        assert not clipped.diverged and clipped.outcome == "trained", clipped.outcome
        assert clipped.largest_norm > 1.0  # clipping did act
        assert clipped.costs[-1] < 0.1 * clipped.costs[0]


def test_sigmoid_with_the_labs_bound_stalls_where_relu_with_he_trains():
    X, Y = gradients.make_data("moons", 200, 0)
    sizes = [2] + [32] * 9 + [1]
    sigmoid = gradients.training_run(
        gradients.network_parameters(parse_combination("sigmoid+lab"), sizes, 0), X, Y, "sigmoid", 150, 0.1
    )
    relu = gradients.training_run(
        gradients.network_parameters(parse_combination("relu+he"), sizes, 0), X, Y, "relu", 150, 0.1
    )
    # The last layer's gradient is not small, so the sigmoid network's cost does move, but only to the
    # best constant output (log 2 for balanced classes): the first layers, which make the features, barely
    # move at all.
    assert sigmoid.outcome == "stalled" and sigmoid.costs[-1] > 0.9 * math.log(2)
    assert relu.outcome == "trained" and relu.costs[-1] < 0.5 * math.log(2)


def test_gradient_norms_leave_no_gradient_behind():
    X, Y = gradients.make_data("xor", 50, 1)
    P = gradients.network_parameters(parse_combination("tanh+glorot"), [2, 8, 8, 1], 1)
    dW, dZ = gradients.gradient_norms(P, X, Y, "tanh")
    assert len(dW) == len(dZ) == 3 and all(np.isfinite(dW)) and all(v > 0 for v in dW)
    assert all(p.grad is None for p in P.values())


@pytest.mark.parametrize("columns", [60, 80, 100, 140])
def test_help_never_breaks_a_default_combination(columns, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    with pytest.raises(SystemExit):
        main(["--help"])
    words = capsys.readouterr().out.split()
    for combo in gradients.DEFAULT_COMBINATIONS:
        assert any(word.strip("(),:") == combo for word in words), combo


def _step_4_prose():
    """The tutorial's explanation of the default run (the report itself is printed into the page at build)."""
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    return text.split("## Step 4: vanishing and exploding gradients", 1)[1].split("\n## ", 1)[0]


def test_the_tutorial_quotes_what_the_default_run_prints(capsys):
    """Every figure the tutorial's explanation quotes from the default run is the run's, to its rounding."""
    assert main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    combos = next(line for line in lines if line.startswith("layer c")).split()[2:]
    ratios = {
        line.split()[0]: dict(zip(combos, map(float, line.split()[1:])))
        for line in lines
        if line.startswith(("dW1/dWL", "dZ1/dZL"))
    }
    # the training table's row (not indented, unlike the sentence about each combination above it)
    last_cost = {line.split()[0]: float(line.split()[2]) for line in lines if line.startswith("relu+he ")}
    quoted = [
        ratios["dZ1/dZL"]["sigmoid+lab"],
        ratios["dW1/dWL"]["sigmoid+lab"],
        ratios["dZ1/dZL"]["relu+lab"],
        ratios["dW1/dWL"]["relu+lab"],
        ratios["dZ1/dZL"]["relu+he"],
        ratios["dZ1/dZL"]["relu+normal:0.5"],
        last_cost["relu+he"],
    ]
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?", _step_4_prose())]
    for value in quoted:  # the prose rounds to two or three digits
        assert any(n == pytest.approx(value, rel=0.03) for n in numbers), f"{value} not in docs/tutorial.md"


def test_a_value_argparse_refuses_names_a_non_utf8_byte_as_the_byte(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8:strict"}
    command = [sys.executable.encode(), b"-m", b"nets.gradients", b"--data", b"caf\xe9"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert b"invalid choice: 'caf\\xe9'" in result.stderr, result.stderr
    assert b"udc" not in result.stderr


@pytest.mark.parametrize(("option", "example"), [("--activation", "relu,tanh"), ("--init", "he,lab")])
@pytest.mark.parametrize("given", ["", " , "])
def test_an_empty_list_of_activations_or_inits_is_refused_not_taken_as_the_default(
    option, example, given, capsys
):
    # Before: --activation '' silently ran relu+he ('' is falsy, so the default was taken).
    assert main([option, given]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"error: {option} {given!r}: give at least one name, e.g. {option} {example}\n"

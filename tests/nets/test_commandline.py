"""`nets.commandline`, the skeleton both commands stand on, tested in-process (the commands' tests run it
only through subprocesses): one line and exit 2 for bad input, outputs checked before any work, files
written whole, and the pieces of a training run both commands share."""

import argparse
import math
import os
import shutil

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from nets import commandline as cl
from nets import datasets
from nets.training import TrainingDivergedError


def parser():
    p = cl.Parser(prog="prog")
    p.add_argument("--n", type=cl.positive_int)
    p.add_argument("--x", type=cl.positive_float)
    p.add_argument("--f", type=cl.fraction)
    p.add_argument("--seed", type=cl.seed_number)
    return p


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n", "0"], "argument --n: must be a positive whole number, got 0 (see prog --help)"),
        (["--n", "1.5"], "argument --n: '1.5' is not a whole number"),
        (["--x", "-1e3"], "argument --x: must be a positive number, got -1e3"),  # not taken for an option
        (["--x", "-.5E-2"], "argument --x: must be a positive number, got -.5E-2"),
        (["--x", "-inf"], "argument --x: must be a positive number, got -inf"),
        (["--x", "nan"], "argument --x: must be a positive number, got nan"),
        (["--f", "1"], "argument --f: must be at least 0 and below 1, got 1"),
        (["--seed", "-1"], "argument --seed: a seed is a whole number 0 or above, got -1"),
        (["--nope"], "unrecognized arguments: --nope"),
    ],
)
def test_argparse_complaints_are_one_usage_error_naming_the_option(argv, message):
    with pytest.raises(cl.UsageError) as info:
        parser().parse_args(argv)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_good_values_are_read_as_numbers():
    args = parser().parse_args(["--n", "3", "--x", "1e-3", "--f", "0", "--seed", "0"])
    assert (args.n, args.x, args.f, args.seed) == (3, 1e-3, 0.0, 0)


@pytest.mark.parametrize(
    ("raised", "status", "stderr"),
    [
        (cl.UsageError("bad"), 2, "error: bad\n"),
        (ValueError("listed"), 2, "error: listed\n"),
        (OSError(28, "No space left on device"), 1, "error: [Errno 28] No space left on device\n"),
        (KeyboardInterrupt(), 130, "\ninterrupted\n"),
        (cl.Terminated(), 143, "terminated\n"),
    ],
)
def test_run_command_turns_each_ending_into_its_exit_status(raised, status, stderr, capsys):
    def command():
        raise raised

    assert cl.run_command(command, bad_input=(ValueError,)) == status
    assert capsys.readouterr().err == stderr


def test_run_command_returns_the_commands_status_and_lets_other_errors_through():
    assert cl.run_command(lambda: 0) == 0
    with pytest.raises(ZeroDivisionError):
        cl.run_command(lambda: 1 / 0)


def test_train_or_predict_sends_predict_and_its_arguments_to_predict():
    calls = []
    train = lambda argv: calls.append(("train", argv)) or 0  # noqa: E731
    predict = lambda argv: calls.append(("predict", argv)) or 0  # noqa: E731
    assert cl.train_or_predict(["predict", "m.npz", "--data", "x.csv"], train, predict) == 0
    assert cl.train_or_predict(["--quiet"], train, predict) == 0
    assert calls == [("predict", ["m.npz", "--data", "x.csv"]), ("train", ["--quiet"])]


def test_check_output_refuses_a_wrong_name_a_missing_folder_and_a_folder(tmp_path):
    cl.check_output("--save", None, (".npz",))
    cl.check_output("--save", tmp_path / "m.NPZ", (".npz",))
    with pytest.raises(cl.UsageError, match=r"--save .*m\.txt: the file name must end in \.npz$"):
        cl.check_output("--save", tmp_path / "m.txt", (".npz",))
    with pytest.raises(cl.UsageError, match=r"the folder .*nope does not exist"):
        cl.check_output("--plot", tmp_path / "nope" / "p.png", cl.PLOT_SUFFIXES)
    (tmp_path / "d.png").mkdir()
    with pytest.raises(cl.UsageError, match="is a folder; give a file name"):
        cl.check_output("--plot", tmp_path / "d.png", cl.PLOT_SUFFIXES)


def test_check_outputs_refuses_an_output_that_is_an_input_or_another_output(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("1,0\n")
    os.link(data, tmp_path / "hard.csv")
    inputs = {"--data": data}
    with pytest.raises(
        cl.UsageError, match=r"--out .*hard\.csv is the same file as --data .*would destroy it"
    ):
        cl.check_outputs({"--out": (tmp_path / "hard.csv", (".csv",))}, inputs)
    with pytest.raises(cl.UsageError, match="would lose one of them"):
        cl.check_outputs({"--a": (tmp_path / "o.csv", (".csv",)), "--b": (tmp_path / "o.csv", (".csv",))}, {})
    cl.check_outputs({"--out": (tmp_path / "o.csv", (".csv",)), "--plot": (None, cl.PLOT_SUFFIXES)}, inputs)


def test_data_file_is_none_for_a_built_in_data_set():
    assert cl.data_file("moons", datasets.BUILT_IN) is None
    assert cl.data_file("moons.csv", datasets.BUILT_IN).name == "moons.csv"


def test_dot_fallback_names_where_save_graph_writes_without_graphviz(tmp_path, monkeypatch):
    assert cl.dot_fallback(tmp_path / "g.dot") is None  # DOT asked for: written where asked
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None
    fallback = cl.dot_fallback(tmp_path / "g.svg")
    written = mg.save_graph(Tensor([1.0], requires_grad=True, name="x").exp(), tmp_path / "g.svg")
    assert fallback == written == tmp_path / "g.dot"


def test_write_predictions_writes_one_line_per_example_whole(tmp_path):
    path = tmp_path / "p.csv"
    cl.write_predictions(path, np.array([1, 0]), np.array([0.875, 1 / 3]))
    assert path.read_text() == "prediction,probability\n1,0.875000\n0,0.333333\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


def test_splits_are_standardised_by_the_training_split_alone():
    train = (np.array([[1.0, 3.0], [10.0, 10.0]]), np.array([[0.0, 1.0]]))
    held_out = (np.array([[5.0], [12.0]]), np.array([[1.0]]))
    splits = cl.Splits.standardised_by_train(train, held_out)
    assert splits.total == 3
    np.testing.assert_array_equal(splits.mean, [[2.0], [10.0]])
    np.testing.assert_array_equal(splits.std, [[1.0], [1.0]])  # a constant feature is only shifted
    X, Y = splits.standardised(held_out)
    np.testing.assert_array_equal(X, [[3.0], [2.0]])
    assert Y is held_out[1]


def test_the_divergence_line_names_where_and_the_remedy():
    error = TrainingDivergedError(12, math.inf, 50.0, 0.693)
    message = str(cl.diverged(error, "iteration", "the gradients exploded; "))
    assert message == (
        "the cost became inf at iteration 12 (from 0.693 at the start): the gradients exploded; "
        "try a smaller --learning-rate than 50. Nothing was written."
    )
    assert str(cl.diverged(error, "step")).startswith(
        "the cost became inf at step 12 (from 0.693 at the start): try"
    )


def test_the_final_line_and_quiet(capsys):
    line = cl.final_line("0.1234", 0.975, None, "none (no example held out)", "2 epochs in 0.1 s")
    assert line == (
        "final cost 0.1234   train accuracy 97.5%   held-out accuracy none (no example held out)   "
        "(2 epochs in 0.1 s)"
    )
    assert "held-out accuracy 50.0%" in cl.final_line("1", 1.0, 0.5, "-", "")
    cl.printer(quiet=True)("not shown")
    cl.printer(quiet=False)("shown")
    assert capsys.readouterr().out == "shown\n"


def test_the_shared_options_read_as_each_command_declares_them():
    p = cl.Parser(prog="prog")
    cl.add_seed(p, 7, "seed")
    cl.add_test_fraction(p, 0.25, "examples")
    cl.add_quiet(p)
    args = p.parse_args([])
    assert (args.seed, args.test_fraction, args.quiet) == (7, 0.25, False)
    predict = cl.predict_parser("prog", "d", ("NAME", "data"), "out", seed=1)
    args = predict.parse_args(["m.npz", "--data", "moons"])
    assert (str(args.parameters), args.data, args.seed, args.out) == ("m.npz", "moons", 1, None)
    with pytest.raises(cl.UsageError, match="the following arguments are required: --data"):
        predict.parse_args(["m.npz"])
    assert isinstance(predict, argparse.ArgumentParser)

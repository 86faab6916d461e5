"""The second main job, `python -m nets.digits`, run as a user runs it: in a subprocess."""

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

from nets.digits.command import main

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
pytest.importorskip("sklearn", reason='the digits need scikit-learn: pip install -e ".[digits]"')

# Runs the command with scikit-learn unimportable, as on a machine without it.
WITHOUT_SKLEARN = """
import sys

class NoSklearn:
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, NoSklearn())
from nets.digits.command import main

sys.exit(main(sys.argv[1:]))
"""


def run(*args, cwd, without_sklearn=False, code=None):
    """`python -m nets.digits ARGS` (or `python -c CODE`) in `cwd`, with this checkout importable."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    program = ["-c", WITHOUT_SKLEARN] if without_sklearn else ["-m", "nets.digits"]
    program = ["-c", code] if code else program
    command = [sys.executable, *program, *args]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def final_line(stdout):
    match = re.search(r"final cost (\S+)\s+train accuracy (\S+)%\s+held-out accuracy (\S+)%", stdout)
    assert match, stdout
    return float(match[1]), float(match[2]), float(match[3])


def write_csv(path, X, labels=None, header="x1,x2,label"):
    """One example per row: its features, then its label where `labels` are given."""
    table = X.T if labels is None else np.column_stack([X.T, labels])
    rows = [",".join(f"{v:.17g}" for v in row) for row in table]
    path.write_text("\n".join(([header] if header else []) + rows) + "\n")
    return path


def test_the_default_run_reaches_97_percent_and_reports_its_confusions(tmp_path):
    result = run("--save", "model.npz", "--plot", "run.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "1797 examples of 64 features, 10 classes" in out
    assert "1347 to train, 450 held out (stratified by class)" in out
    assert "64 -> 64 relu -> 10 softmax" in out
    difference = re.search(r"max \|closed form - autograd\| = (\S+)", out)
    assert float(difference[1]) < 1e-12
    epochs = re.findall(r"^  epoch +(\d+) +cost (\S+) +train (\S+)% +held-out (\S+)%$", out, re.M)
    assert [int(e[0]) for e in epochs] == list(range(31))
    cost, _, held_out = final_line(out)
    assert held_out >= 97 and cost == float(epochs[-1][1])
    rows = re.findall(r"^ {4}(\d)((?: +\d+){10})$", out, re.M)  # the confusion matrix: a row per class
    assert [int(k) for k, _ in rows] == list(range(10))
    assert sum(sum(map(int, row.split())) for _, row in rows) == 450
    assert len(re.findall(r"^  \d and \d: \d taken for \d", out, re.M)) == 3
    assert (tmp_path / "run.png").read_bytes()[:8] == PNG_MAGIC
    assert "\r" not in out  # no progress bar where stdout is not a terminal

    again = run("predict", "model.npz", "--data", "digits", "--out", "predictions.csv", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "64 -> 64 relu -> 10 softmax" in again.stdout
    accuracy = float(re.search(r"accuracy +(\S+)%", again.stdout)[1])
    assert accuracy > 98  # three quarters of them trained on
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "prediction,probability" and len(lines) == 1798


def test_any_multi_class_csv_trains_and_predicts_with_or_without_labels(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 240)
    X = 3 * rng.standard_normal((3, 2))[labels].T + rng.standard_normal((2, 240))
    write_csv(tmp_path / "three.csv", X, labels)
    options = ["--hidden", "8,8", "--activation", "tanh", "--init", "lab", "--optimiser", "sgd"]
    result = run("--data", "three.csv", *options, "--epochs", "5", "--save", "m.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "240 examples of 2 features, 3 classes" in result.stdout
    assert "180 to train, 60 held out" in result.stdout
    assert "2 -> 8 tanh -> 8 tanh -> 3 softmax" in result.stdout
    assert "SGD with momentum 0.9" in result.stdout
    assert final_line(result.stdout)[2] > 200 / 3  # twice the chance of a guess, after 5 epochs
    write_csv(tmp_path / "new.csv", X[:, :10], header="")
    predicted = run("predict", "m.npz", "--data", "new.csv", "--out", "p.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "10 examples, no labels" in predicted.stdout
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 11


def test_quiet_on_a_small_subset_prints_only_the_final_line(tmp_path):
    result = run("--limit", "300", "--epochs", "2", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    final_line(result.stdout)


# ----- bad input: one line, exit status 2, nothing written ---------------------------------------------

BAD_INPUT = [
    (["--hidden", "64,x"], "argument --hidden: '64,x': give widths separated by commas; 'x' is not a whole"),
    (["--hidden", "0"], "argument --hidden"),
    (["--epochs", "0"], "argument --epochs: must be a positive whole number, got 0"),
    (["--learning-rate", "-1"], "argument --learning-rate: must be a positive number"),
    (["--activation", "softmax"], "argument --activation: invalid choice"),
    (["--learning-rate", "50"], "try a smaller --learning-rate than 50. Nothing was written."),
    (["--momentum", "0.5"], "--momentum is SGD's: add --optimiser sgd"),
    (["--test-fraction", "1"], "argument --test-fraction"),
    (["--data", "missing.csv"], "missing.csv: no such file"),
    (["--data", "spirals"], "unknown data set 'spirals'"),
    (["--data", "half.csv"], "half.csv, line 3: the label (the last column) must be a whole number"),
    (["--save", "model.txt"], "--save model.txt: the file name must end in .npz"),
    (["--plot", "nofolder/run.png"], "the folder nofolder does not exist"),
    (["predict", "nothing.npz", "--data", "digits"], "nothing.npz: no such file"),
    (["predict", "fake.npz", "--data", "digits"], "fake.npz: not a parameter file written by --save"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_exit_status_2_and_nothing_written(tmp_path, args, message):
    (tmp_path / "half.csv").write_text("a,b,label\n1,2,0\n3,4,1.5\n")
    (tmp_path / "fake.npz").write_text("not an archive")
    before = sorted(tmp_path.iterdir())
    would_write = [] if args[0] == "predict" or "--save" in args else ["--save", "out.npz"]
    result = run(*args, *would_write, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr
    assert sorted(tmp_path.iterdir()) == before


def test_without_scikit_learn_the_digits_say_how_to_install_it_and_a_csv_still_trains(tmp_path):
    result = run("--epochs", "1", cwd=tmp_path, without_sklearn=True)
    assert result.returncode == 2
    assert result.stderr == (
        'error: the digits data set needs scikit-learn, which is not installed: pip install -e ".[digits]"\n'
    )
    X = np.random.default_rng(0).standard_normal((2, 30))
    write_csv(tmp_path / "small.csv", X, np.arange(30) % 3)
    result = run("--data", "small.csv", "--epochs", "1", "--quiet", cwd=tmp_path, without_sklearn=True)
    assert result.returncode == 0, result.stderr


# ----- a run never loses a user's file -------------------------------------------------------------------


def one_error_line(result, status=2):
    assert result.returncode == status, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def three_classes(path, m=60, seed=0):
    """A small CSV of three classes in two features, quick to train on."""
    rng = np.random.default_rng(seed)
    labels = np.arange(m) % 3
    X = 3 * rng.standard_normal((3, 2))[labels].T + rng.standard_normal((2, m))
    return write_csv(path, X, labels)


QUICK = ("--epochs", "1", "--quiet")


def test_an_output_that_is_an_input_or_another_output_is_refused_before_any_work(tmp_path):
    three_classes(tmp_path / "d.csv")
    assert run("--data", "d.csv", *QUICK, "--save", "m.npz", cwd=tmp_path).returncode == 0
    (tmp_path / "new.csv").write_text("0.1,0.2\n0.3,0.4\n")
    (tmp_path / "link.csv").symlink_to("new.csv")
    os.link(tmp_path / "new.csv", tmp_path / "hard.csv")
    (tmp_path / "m-link.csv").symlink_to("m.npz")
    (tmp_path / "d-link.png").symlink_to("d.csv")
    (tmp_path / "m-link.png").symlink_to("m.npz")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    predict = ("predict", "m.npz", "--data")
    train = ("--data", "d.csv", *QUICK)
    refused = [  # (arguments, the output, the file it would destroy)
        ((*predict, "new.csv", "--out", "new.csv"), "--out new.csv", "--data new.csv"),
        ((*predict, "new.csv", "--out", "link.csv"), "--out link.csv", "--data new.csv"),
        ((*predict, "hard.csv", "--out", "new.csv"), "--out new.csv", "--data hard.csv"),
        ((*predict, "digits", "--out", "m-link.csv"), "--out m-link.csv", "the parameter file m.npz"),
        ((*train, "--plot", "d-link.png"), "--plot d-link.png", "--data d.csv"),
        ((*train, "--save", "m.npz", "--plot", "m-link.png"), "--plot m-link.png", "--save m.npz"),
    ]
    for args, output, other in refused:
        result = run(*args, cwd=tmp_path)
        assert f"{output} is the same file as {other}" in one_error_line(result), args
        assert result.stdout == ""
    result = run(*train, "--save", "x.png", "--plot", "x.png", cwd=tmp_path)  # --save writes only .npz
    assert "--save x.png: the file name must end in .npz" in one_error_line(result)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_outputs_of_a_run_that_fails_at_the_last_one_are_none_written(tmp_path):
    three_classes(tmp_path / "d.csv")
    (tmp_path / "s.npz").write_bytes(b"the previous run's parameters")
    code = (
        "import matplotlib.figure\n"
        "def full(*args, **kwargs):\n"
        "    raise OSError(28, 'No space left on device')\n"
        "matplotlib.figure.Figure.savefig = full\n"
        "from nets.digits.command import main\n"
        "raise SystemExit(main(['--data', 'd.csv', '--epochs', '1', '--quiet', '--save', 's.npz',"
        " '--plot', 'p.png']))"
    )
    result = run(cwd=tmp_path, code=code)
    assert "No space left on device" in one_error_line(result, status=1)
    assert (tmp_path / "s.npz").read_bytes() == b"the previous run's parameters"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "s.npz"]


def test_a_run_stopped_by_sigterm_while_saving_leaves_no_file_behind(tmp_path):
    three_classes(tmp_path / "d.csv")
    status, stderr = terminated_while_saving(
        "nets.digits.command",
        ["--data", "d.csv", "--epochs", "1", "--save", "model.npz", "--quiet"],
        tmp_path,
    )
    assert status == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and stderr.strip() == "terminated"
    assert [p.name for p in tmp_path.iterdir()] == ["d.csv"]


# ----- sizes that cannot fit in memory, and parameter files --save could not have written ---------------


def digits_file(path, sizes=(2, 4, 3), activation="relu", std=None, **replaced):
    """A parameter file as --save writes it, for a network of `sizes`, with any array `replaced`."""
    arrays = {}
    for c in range(1, len(sizes)):
        arrays[f"W{c}"] = np.ones((sizes[c], sizes[c - 1]))
        arrays[f"b{c}"] = np.zeros((sizes[c], 1))
    arrays["mean"] = np.zeros((sizes[0], 1))
    arrays["std"] = np.ones((sizes[0], 1)) if std is None else np.array(std, dtype=float).reshape(-1, 1)
    texts = {"hidden_activation": np.array(activation), "layers": np.array(str(len(sizes) - 1))}
    np.savez(path, **{**arrays, **replaced}, **texts)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-files")
    three_classes(folder / "d.csv")
    digits_file(folder / "model.npz")
    digits_file(folder / "zero-std.npz", std=[1, 0])
    digits_file(folder / "negative-std.npz", std=[-2, 1])
    digits_file(folder / "no-unit.npz", sizes=(2, 0, 3))
    digits_file(folder / "no-feature.npz", sizes=(0, 4, 3))
    digits_file(folder / "no-chain.npz", W2=np.ones((3, 5)))
    digits_file(folder / "bias.npz", b1=np.zeros((5, 1)))
    digits_file(folder / "one-class.npz", sizes=(2, 4, 1))
    digits_file(folder / "three-of-64.npz", sizes=(64, 4, 3))
    huge = zipfile.ZipFile(folder / "huge-header.npz", "w")  # a header promising 80 TB, no data
    with huge as archive, np.load(folder / "model.npz") as model:
        for key in model.files:
            with archive.open(f"{key}.npy", "w") as member:
                if key == "W1":
                    header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**7)}
                    np.lib.format.write_array_header_1_0(member, header)
                else:
                    np.lib.format.write_array(member, model[key])
    return folder


REFUSED = [
    (
        ["--hidden", "99999999999"],
        "--hidden 99999999999: a network 64 -> 99999999999 relu -> 10 softmax on 1797 examples would take",
    ),
    (
        ["--hidden", "64,99999999999", "--activation", "tanh"],
        "--hidden 64,99999999999: a network 64 -> 64 tanh -> 99999999999 tanh -> 10 softmax on 1797",
    ),
    (["--data", "/dev/zero"], "/dev/zero: not a regular file"),
    (["predict", "model.npz", "--data", "/dev/zero"], "/dev/zero: not a regular file"),
    (["predict", "/dev/zero", "--data", "d.csv"], "/dev/zero: not a regular file"),
    (["predict", "huge-header.npz", "--data", "d.csv"], "huge-header.npz: W1 is an array of (1000000, 10000"),
]
NOT_SAVED = [
    (
        ["predict", "zero-std.npz", "--data", "d.csv"],
        "zero-std.npz: not a parameter file written by --save: it holds a network 2 -> 4 relu -> 3 softmax, "
        "but a standard deviation of 0 for feature 2",
    ),
    (["predict", "negative-std.npz", "--data", "d.csv"], "a standard deviation of -2 for feature 1"),
    (
        ["predict", "no-unit.npz", "--data", "d.csv"],
        "no-unit.npz: not a parameter file written by --save: it holds a network 2 -> 0 relu -> 3 softmax, "
        "with no unit in hidden layer 1",
    ),
    (["predict", "no-feature.npz", "--data", "d.csv"], "a network 0 -> 4 relu -> 3 softmax, with no feature"),
    (
        ["predict", "no-chain.npz", "--data", "d.csv"],
        "no-chain.npz: not a parameter file written by --save: its layers do not chain: it holds W1 (4, 2), "
        "b1 (4, 1), W2 (3, 5), b2 (3, 1)",
    ),
    (["predict", "bias.npz", "--data", "d.csv"], "its layers do not chain: it holds W1 (4, 2), b1 (5, 1)"),
    (
        ["predict", "one-class.npz", "--data", "d.csv"],
        "one-class.npz: not a parameter file written by --save: it holds a network 2 -> 4 relu -> 1 softmax, "
        "with 1 class where --save writes at least 2",
    ),
    (
        ["predict", "three-of-64.npz", "--data", "digits"],
        "three-of-64.npz holds a network 64 -> 4 relu -> 3 softmax, of 3 classes; the digits have 10",
    ),
]


@pytest.mark.parametrize(("args", "message"), REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_sizes_beyond_memory_are_one_line_naming_the_size_and_the_memory_before_any_work(
    bad_files, args, message
):
    assert_refused(bad_files, args, message)


@pytest.mark.parametrize(("args", "message"), NOT_SAVED, ids=[" ".join(a) for a, _ in NOT_SAVED])
def test_a_parameter_file_save_could_not_have_written_is_refused_describing_its_network(
    bad_files, args, message
):
    assert_refused(bad_files, args, message)


def assert_refused(bad_files, args, message):
    before = sorted(p.name for p in bad_files.iterdir())
    if args[0] != "predict":
        args = [*args, "--epochs", "1", "--save", "out.npz"]  # were the input not refused, the run is short
    result = run(*args, cwd=bad_files)
    line = one_error_line(result)
    assert message in line
    assert "would take" not in message or "of memory; this machine has" in line
    assert result.stdout == ""
    assert sorted(p.name for p in bad_files.iterdir()) == before


def test_file_names_that_are_not_utf8_are_printed_as_their_bytes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8:strict"}  # a UTF-8 terminal
    three_classes(tmp_path / os.fsdecode(b"caf\xe9.csv"))
    train = [b"--data", b"caf\xe9.csv", b"--epochs", b"1", b"--save", b"m\xff.npz", b"--plot", b"p\xff.png"]
    command = [sys.executable.encode(), b"-m", b"nets.digits"]
    result = subprocess.run([*command, *train], cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode(errors="replace")
    assert b"data      caf\\xe9.csv: 60 examples" in result.stdout
    assert b"parameters saved to m\\xff.npz" in result.stdout
    assert b"plot written to p\\xff.png" in result.stdout
    predict = [b"predict", b"m\xff.npz", b"--data", b"caf\xe9.csv", b"--out", b"o\xff.csv"]
    predicted = subprocess.run([*command, *predict], cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert predicted.returncode == 0, predicted.stderr.decode(errors="replace")
    assert b"parameters  m\\xff.npz: 2 -> 64 relu -> 3 softmax" in predicted.stdout
    assert b"predictions written to o\\xff.csv" in predicted.stdout
    for args, message in (
        ([b"--data", b"n\xf6.csv"], b"error: n\\xf6.csv: no such file\n"),
        ([b"--data", b"n\xf6"], b"error: unknown data set 'n\\xf6': give digits or a path to a .csv file\n"),
        ([b"predict", b"n\xf6.npz", b"--data", b"digits"], b"error: n\\xf6.npz: no such file\n"),
    ):
        refused = subprocess.run([*command, *args], cwd=tmp_path, env=env, capture_output=True, timeout=120)
        assert refused.returncode == 2 and refused.stdout == b""
        assert refused.stderr == message


# ----- issue 22: --limit draws exactly N by class; labels bounded; a confusion matrix only where readable ---


@pytest.mark.parametrize("limit", [1, 4, 9])
def test_a_limit_below_the_number_of_classes_is_one_line_and_exit_2(limit, capsys):
    # Before: --limit 1 to 4 ended in a traceback from stratified_split, --limit 9 drew 10 examples.
    assert main(["--limit", str(limit), "--epochs", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        err == f"error: --limit {limit}: {limit} examples cannot be drawn by class from 1797 examples of 10 "
        "classes: give from 10 to 1797\n"
    )


@pytest.mark.parametrize("limit", [10, 21, 300])
def test_a_limit_draws_exactly_that_many_examples(limit, capsys):
    # Before: --limit 21 drew 20.
    assert main(["--limit", str(limit), "--epochs", "1", "--test-fraction", "0.5"]) == 0
    out = capsys.readouterr().out
    assert (
        f"  data      scikit-learn's handwritten digits (8x8 pixels): {limit} examples of 64 features, "
        in out
    )


def test_a_confusion_matrix_too_wide_for_a_terminal_is_not_printed(tmp_path, capsys):
    # Before: labels up to 5000 printed a 5001 x 5001 matrix (75 MB).
    rng = np.random.default_rng(0)
    classes = 31
    X = rng.normal(size=(2, 2 * classes))
    labels = np.repeat(np.arange(classes), 2)
    write_csv(tmp_path / "wide.csv", X, labels, header="")
    assert main(["--data", str(tmp_path / "wide.csv"), "--epochs", "1", "--test-fraction", "0"]) == 0
    out = capsys.readouterr().out
    assert "31 classes: the confusion matrix is too wide to print (at most 30)" in out
    assert "Confusion matrix of" not in out


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "moons",
            "moons is a built-in data set of two classes, for nets.twolayer; here give digits or a path",
        ),
        ("", "no data set named (--data ''): give digits or a path to a .csv file"),
    ],
)
def test_predict_on_another_commands_data_set_or_none_says_so(tmp_path, capsys, data, message):
    digits_file(tmp_path / "model.npz")
    assert main(["predict", str(tmp_path / "model.npz"), "--data", data]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"error: {message}") and err.count("\n") == 1

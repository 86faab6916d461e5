"""The data sets: built-in ones in the lab's layout, CSV files read or refused with the line and column."""

import os
import warnings

import numpy as np
import pytest

import nets.checks
from nets import datasets
from nets.datasets import DataError


@pytest.mark.parametrize("name", sorted(datasets.BUILT_IN))
def test_built_in_data_sets_have_the_labs_layout_and_both_classes(name):
    X, Y = datasets.load(name, seed=3)
    assert X.shape == (2, 400) and Y.shape == (1, 400)
    assert set(np.unique(Y)) == {0.0, 1.0} and Y.sum() == 200
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", sorted(datasets.BUILT_IN))
def test_built_in_data_sets_are_drawn_from_the_seed(name):
    a, b, c = (datasets.BUILT_IN[name](m=50, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_built_in_data_sets_have_their_shapes():
    X, Y = datasets.xor(m=1000, noise=0.0, seed=0)
    assert np.all(np.abs(X) == 1)
    np.testing.assert_array_equal(Y[0], X[0] != X[1])  # class 1 where the signs differ
    X, Y = datasets.circles(m=1000, noise=0.0, seed=0)
    radius = np.hypot(X[0], X[1])
    np.testing.assert_allclose(radius, np.where(Y[0] == 1, 0.5, 1.0))
    X, Y = datasets.moons(m=1000, noise=0.0, seed=0)
    upper = Y[0] == 0
    np.testing.assert_allclose(np.hypot(X[0, upper], X[1, upper]), 1.0)
    np.testing.assert_allclose(np.hypot(X[0, ~upper] - 1, X[1, ~upper] - 0.5), 1.0)
    X, Y = datasets.blobs(m=1000, noise=1.0, seed=0)
    np.testing.assert_allclose(X[:, Y[0] == 1].mean(axis=1), [1.5, 1.5], atol=0.15)
    np.testing.assert_allclose(X[:, Y[0] == 0].mean(axis=1), [-1.5, -1.5], atol=0.15)


def test_a_built_in_data_set_needs_two_examples():
    with pytest.raises(ValueError, match="at least 2 examples"):
        datasets.moons(m=1)


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_csv_file_gives_features_as_rows_and_labels_as_a_row(tmp_path):
    path = write(tmp_path, "x1,x2,label\n0.5,-1,1\n2,3e-1,0\n\n-4,5,1\n")
    X, Y = datasets.load(str(path))
    np.testing.assert_array_equal(X, [[0.5, 2, -4], [-1, 0.3, 5]])
    np.testing.assert_array_equal(Y, [[1, 0, 1]])


def test_a_csv_file_without_a_header_and_with_one_feature(tmp_path):
    X, Y = datasets.load_csv(write(tmp_path, "1.5,1.0\n-2,0.0\n"))
    np.testing.assert_array_equal(X, [[1.5, -2]])
    np.testing.assert_array_equal(Y, [[1, 0]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no data rows (the file is empty)"),
        ("\n\n", "no data rows (the file is empty)"),
        ("a,b,label\n", "no data rows (only a header)"),
        ("1\n0\n", "1 column; need at least one feature column and the 0/1 label in the last"),
        ("a,b,y\n1,2,1\n3,x,0\n", "line 3, column 2: 'x' is not a number"),
        ("1,2,1\n3,,0\n", "line 2, column 2: '' is not a number"),
        ("1,2,1\nfoo,2,1\n", "line 2, column 1: 'foo' is not a number"),
        ("1,2,1\n3,4\n", "line 2: 2 columns, but line 1 has 3; every row needs the same number of columns"),
        ("h1,h2,h3\n1,2,1\n3,4,0,9\n", "line 3: 4 columns, but line 2 has 3"),
        ("1,2,1\n3,nan,0\n", "line 2, column 2: nan; every value must be a finite number"),
        ("1,inf,1\n", "line 1, column 2: inf; every value must be a finite number"),
        (
            "1,2,1\n3,4,2\n5,6,-1\n7,8,2\n",
            "labels (the last column) must be 0 or 1; found -1, 2 (first on line 2)",
        ),
        ("1,2,0.5\n", "found 0.5 (first on line 1)"),
        # a quoted field may span lines: messages name the line of the file, not the record's number
        ('a,b,y\n"1\n",2,1\n3,x,0\n', "line 4, column 2: 'x' is not a number"),
        ('1,2,1\n3,"4\nfoo",0\n', "line 2, column 2: '4\\nfoo' is not a number"),
        ('1,2,1\n"3\n\n",4,x\n', "line 4, column 3: 'x' is not a number"),
        ('"1\n",2,1\n3,4\n', "line 3: 2 columns, but line 2 has 3"),
        ('"1\n",2,1\n3,4,2\n', "found 2 (first on line 3)"),
        # issue 22: Python's float takes digit separators, a CSV file has none
        ("1,2,1\n1_000,4,0\n", "line 2, column 1: '1_000' is not a number"),
        ("1,2_5,1\n", "line 1, column 2: '2_5' is not a number"),
    ],
)
def test_a_bad_csv_file_is_refused_naming_the_file_and_where(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        datasets.load(str(path))
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def test_missing_unreadable_and_unknown_data_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        datasets.load(str(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match="is a folder"):
        datasets.load_csv(tmp_path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(DataError, match="not a text CSV file"):
        datasets.load(str(binary))
    with pytest.raises(DataError, match="unknown data set 'spirals': give one of moons, xor, circles, blobs"):
        datasets.load("spirals")


def test_a_csv_file_too_large_for_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = write(tmp_path, "0.1,0.2,1\n" * 100)
    monkeypatch.setattr(nets.checks, "memory_limit", lambda: 4000)
    needs = f"{datasets.CSV_MEMORY_PER_BYTE * 1000 / 1024:.1f}".replace(".", r"\.")
    too_large = rf"data\.csv: 1000 bytes of CSV text would take about {needs} KiB of memory; this machine"
    with pytest.raises(DataError, match=too_large + r" has 3\.9 KiB"):
        datasets.load(str(path))


def test_a_file_that_is_not_a_regular_file_is_refused_before_it_is_read(tmp_path):
    with pytest.raises(DataError, match="/dev/zero: not a regular file"):
        datasets.load("/dev/zero")
    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(DataError, match=r"pipe\.csv: not a regular file"):
        datasets.read_table(tmp_path / "pipe.csv")


def test_split_holds_out_the_fraction_and_keeps_each_example_whole_and_once():
    X = np.vstack([np.arange(10.0), np.arange(10.0) + 10])
    Y = (np.arange(10) % 2).reshape(1, 10).astype(float)
    (X_train, Y_train), (X_test, Y_test) = datasets.split(X, Y, 0.3, seed=0)
    assert X_train.shape == (2, 7) and X_test.shape == (2, 3) and Y_test.shape == (1, 3)
    X_all, Y_all = np.hstack([X_train, X_test]), np.hstack([Y_train, Y_test])
    assert sorted(X_all[0]) == list(X[0])
    np.testing.assert_array_equal(X_all[1], X_all[0] + 10)  # columns move together
    np.testing.assert_array_equal(Y_all[0], X_all[0] % 2)


def test_split_with_no_test_fraction_and_with_too_few_examples():
    X, Y = np.ones((2, 3)), np.ones((1, 3))
    (X_train, _), (X_test, _) = datasets.split(X, Y, 0.0)
    assert X_train.shape == (2, 3) and X_test.shape == (2, 0)
    assert datasets.split(X, Y, 0.01)[1][0].shape == (2, 1)  # a positive fraction holds out one at least
    with pytest.raises(DataError, match=r"1 example with a test fraction of 0\.5 leaves none to train on"):
        datasets.split(X[:, :1], Y[:, :1], 0.5)


def test_standardisation_uses_the_given_statistics_and_leaves_a_constant_feature_unscaled():
    X = np.array([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])
    mean, std = datasets.standardisation(X)
    assert mean.shape == std.shape == (2, 1)
    Z = datasets.standardise(X, mean, std)
    np.testing.assert_allclose(Z[0].mean(), 0, atol=1e-15)
    np.testing.assert_allclose(Z[0].std(), 1)
    np.testing.assert_array_equal(Z[1], 0)  # shifted, never divided by 0
    np.testing.assert_allclose(datasets.standardise(np.array([[3.0], [6.0]]), mean, std), [[0.0], [1.0]])


@pytest.mark.parametrize("big", [1.7e308, 1e160])
def test_standardisation_of_huge_features_neither_overflows_nor_warns(big):
    # 1.7e308: the sum for the mean overflows; 1e160: the squares for the variance do.
    X = np.array([[big, big, -big, big], [1.0, 2.0, 3.0, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, std = datasets.standardisation(X)
        Z = datasets.standardise(X, mean, std)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)
    np.testing.assert_allclose(mean[:, 0], [big / 2, 2.5])
    np.testing.assert_allclose(std[:, 0], [big / 2 * np.sqrt(3), np.std([1.0, 2, 3, 4])])
    np.testing.assert_allclose(Z[0], [1 / np.sqrt(3)] * 2 + [-np.sqrt(3)] + [1 / np.sqrt(3)])
    np.testing.assert_allclose(Z[1], (X[1] - 2.5) / np.std(X[1]))


@pytest.mark.parametrize(("rows", "columns"), [(1, 20_000), (2_000, 2), (100, 200)])
def test_the_memory_guard_covers_what_reading_a_csv_file_takes(tmp_path, rows, columns):
    # Issue 22: a 30 MB file peaked at 1.37 GB, 46 bytes per byte against the 16 the guard assumed. One
    # long row of one-digit cells is the most per byte (the cells are Python strings while it is read).
    import tracemalloc

    path = tmp_path / "zeros.csv"
    table = np.zeros((rows, columns), dtype=np.int64)
    np.savetxt(path, table, fmt="%d", delimiter=",")
    tracemalloc.start()
    try:
        X, Y = datasets.load_csv(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert X.shape == (columns - 1, rows) and Y.shape == (1, rows)
    assert peak <= datasets.CSV_MEMORY_PER_BYTE * path.stat().st_size


def test_a_wide_csv_file_reads_its_numbers_and_names_the_line_of_a_bad_cell(tmp_path):
    # The line of a cell is counted only for the cell at fault: a row of 16,000 columns reads in
    # linear time (benchmarks/csv_read.py), and the messages still name the line of a quoted cell.
    values = np.arange(16_000) % 7
    cells = [str(v) for v in values]
    good = write(tmp_path, ",".join([*cells[:-1], "1"]) + "\n")
    X, Y = datasets.load_csv(good)
    np.testing.assert_array_equal(X[:, 0], values[:-1])
    assert Y.shape == (1, 1)
    cells[100], cells[9_000] = '"\n\n1"', "x"  # a number after two line breaks, then a bad cell
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join([*cells[:-1], "1"]) + "\n")
    with pytest.raises(DataError, match=r"line 3, column 9001: 'x' is not a number"):
        datasets.load_csv(bad)


# ----- issue 22: --data '' and another command's data set; features below 1e-162 -----------------------


def test_an_empty_data_name_is_refused_naming_the_choices_not_the_current_folder():
    # Before: --data '' read as Path('.'), and said ".: is a folder".
    with pytest.raises(
        DataError, match=r"^no data set named \(--data ''\): give one of moons, xor, circles, blobs"
    ):
        datasets.load("")
    with pytest.raises(
        DataError, match=r"^no data set named \(--data ' '\): give digits or a path to a .csv file$"
    ):
        datasets.csv_path(" ", ("digits",))


def test_a_built_in_data_set_of_the_other_command_is_named_as_such():
    # Before: nets.digits predict --data moons said to give a built-in data set, though moons is one.
    with pytest.raises(
        DataError, match=r"^moons is a built-in data set of two classes, for nets\.twolayer; here give digits"
    ):
        datasets.csv_path("moons", ("digits",))
    assert datasets.csv_path("new.csv", ("digits",)).name == "new.csv"


@pytest.mark.parametrize("scale", [1e-170, 1e-200, 1e-300, 5e-324 * 2**20])
def test_features_below_1e_162_are_standardised_to_mean_0_and_std_1(scale):
    # Before: their squares underflowed to 0, the std read as 0 and was replaced by 1: not standardised.
    X = np.array([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]]) * np.array([[scale], [1.0]])
    mean, std = datasets.standardisation(X)
    Z = datasets.standardise(X, mean, std)
    assert std[0, 0] > 0 and std[1, 0] == 1.0  # the constant feature is only shifted
    expected = (X[0] / scale - (X[0] / scale).mean()) / (X[0] / scale).std()
    np.testing.assert_allclose(Z[0], expected, rtol=1e-6)
    np.testing.assert_array_equal(Z[1], 0.0)

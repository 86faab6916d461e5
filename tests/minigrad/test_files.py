"""minigrad.files: files written whole or not at all, one at a time or several together."""

import os
import stat

import pytest

from minigrad.files import all_or_none, atomic_write


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writing_over_a_file_keeps_its_permission_bits(tmp_path):
    path = tmp_path / "private.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"
    assert mode(path) == 0o600
    os.chmod(path, 0o755)
    with atomic_write(path) as f:
        f.write(b"newer")
    assert mode(path) == 0o755


def test_a_new_file_gets_the_mode_of_an_ordinary_new_file(tmp_path):
    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "new.csv") as f:
            f.write(b"x")
    finally:
        os.umask(umask)
    assert mode(tmp_path / "new.csv") == 0o644


def test_outputs_of_one_run_are_all_written_or_none(tmp_path):
    first, second = tmp_path / "s.npz", tmp_path / "h.dot"
    first.write_bytes(b"the user's old parameters")
    second.mkdir()  # the last output cannot be moved into place
    with pytest.raises(IsADirectoryError), all_or_none():
        with atomic_write(first) as f:
            f.write(b"new parameters")
        assert first.read_bytes() == b"the user's old parameters"  # held back until the end
        with atomic_write(second) as f:
            f.write(b"digraph {}")
    assert first.read_bytes() == b"the user's old parameters"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.dot", "s.npz"]  # no temporary left


def test_a_failure_while_preparing_removes_every_temporary_and_writes_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), all_or_none():
        with atomic_write(tmp_path / "a.png") as f:
            f.write(b"a")
        with atomic_write(tmp_path / "b.png") as f:
            f.write(b"b")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_all_outputs_are_moved_into_place_together_at_the_end(tmp_path):
    (tmp_path / "b.csv").write_bytes(b"old")
    os.chmod(tmp_path / "b.csv", 0o640)
    with all_or_none():
        for name in ("a.png", "b.csv"):
            with atomic_write(tmp_path / name) as f:
                f.write(name.encode())
        assert not (tmp_path / "a.png").exists()
    assert (tmp_path / "a.png").read_bytes() == b"a.png"
    assert (tmp_path / "b.csv").read_bytes() == b"b.csv"
    assert mode(tmp_path / "b.csv") == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.csv"]


def test_a_write_that_must_not_replace_refuses_an_existing_file(tmp_path):
    path = tmp_path / "g.dot"
    path.write_bytes(b"the user's own graph")
    with pytest.raises(FileExistsError, match=r"g\.dot"), atomic_write(path, replace=False) as f:
        f.write(b"digraph {}")
    assert (tmp_path / "g.dot").read_bytes() == b"the user's own graph"
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]


def test_a_rename_that_fails_midway_puts_back_the_files_already_replaced(tmp_path, monkeypatch):
    for name in ("a.npz", "b.png"):
        (tmp_path / name).write_bytes(b"old " + name.encode())
    real_replace, calls = os.replace, []

    def failing_second(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_second)
    with pytest.raises(OSError, match="No space"), all_or_none():
        for name in ("a.npz", "b.png"):
            with atomic_write(tmp_path / name) as f:
                f.write(b"new")
    monkeypatch.undo()
    assert (tmp_path / "a.npz").read_bytes() == b"old a.npz"
    assert (tmp_path / "b.png").read_bytes() == b"old b.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.png"]

"""minigrad.files against a user trying to lose a file: protected files, links, special files, SIGKILL,
two runs at once, long names, a full disk. CI runs as root, so every refusal is checked as root too."""

import errno
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

import minigrad.files as files
from minigrad.files import all_or_none, atomic_write, check_target, remove_stale_temporaries

ROOT = Path(__file__).resolve().parents[2]


def write(path, content):
    with atomic_write(path) as f:
        f.write(content)


def names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def dead_pid():
    """The number of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# ----- write-protected files -----------------------------------------------------------------------------


def test_a_write_protected_file_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"the user's model")
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError, match="write-protected") as caught:
        write(path, b"new")
    assert caught.value.filename == str(path)
    assert path.read_bytes() == b"the user's model"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert names(tmp_path) == ["model.npz"]


def test_a_file_made_read_only_during_the_run_is_refused_at_the_commit(tmp_path):
    path = tmp_path / "s.npz"
    path.write_bytes(b"old")
    with pytest.raises(PermissionError), all_or_none():
        write(path, b"new")
        os.chmod(path, 0o444)  # while the run trains
    assert path.read_bytes() == b"old"
    assert names(tmp_path) == ["s.npz"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file of another owner")
def test_root_writing_over_another_users_file_keeps_its_owner_and_mode(tmp_path):
    path = tmp_path / "theirs.npz"
    path.write_bytes(b"old")
    os.chown(path, 12345, 23456)
    os.chmod(path, 0o640)
    write(path, b"new")
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o640)
    assert path.read_bytes() == b"new"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_another_user_cannot_replace_roots_file_in_a_folder_open_to_all():
    folder = Path(tempfile.mkdtemp())
    try:
        os.chmod(folder, 0o777)
        path = folder / "root.npz"
        path.write_bytes(b"root's")
        os.chmod(path, 0o644)
        pid = os.fork()
        if pid == 0:  # the child becomes "nobody" and tries; its exit status says what happened
            status = 3
            try:
                os.setgid(65534)
                os.setuid(65534)
                write(path, b"x")
                status = 0
            except PermissionError as error:
                status = 1 if "write-protected" in error.strerror else 2
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 1
        assert path.read_bytes() == b"root's"
        assert os.stat(path).st_uid == 0
        assert names(folder) == ["root.npz"]
    finally:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


# ----- links and special files ---------------------------------------------------------------------------


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert names(tmp_path / "real") == ["model.npz"]


def test_a_dangling_link_creates_the_file_it_points_to(tmp_path):
    link = tmp_path / "link.npz"
    link.symlink_to("made.npz")
    write(link, b"new")
    assert link.is_symlink()
    assert (tmp_path / "made.npz").read_bytes() == b"new"


def test_a_link_inside_all_or_none_is_written_through_too(tmp_path):
    (tmp_path / "a.npz").write_bytes(b"old")
    (tmp_path / "link.npz").symlink_to("a.npz")
    with all_or_none():
        write(tmp_path / "link.npz", b"new")
        write(tmp_path / "g.dot", b"graph")
    assert (tmp_path / "link.npz").is_symlink()
    assert (tmp_path / "a.npz").read_bytes() == b"new"


# Never the machine's own /dev/null: before the fix, a test of it as root replaced it with a plain file.
@pytest.mark.parametrize("make", ["fifo", "link to /dev/full", "device"])
def test_special_files_are_refused_without_being_touched(tmp_path, make):
    path = tmp_path / "out.npz"
    if make == "fifo":
        os.mkfifo(path)
    elif make == "link to /dev/full":
        path.symlink_to("/dev/full")
    else:
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of its own
        except PermissionError:
            pytest.skip("cannot make a device node here")
    before = os.stat(path)
    with pytest.raises(OSError, match="not a regular file") as caught:
        write(path, b"new")
    assert caught.value.filename == str(path)
    after = os.stat(path)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert names(tmp_path) == ["out.npz"]


def test_a_hard_linked_file_is_replaced_by_name_and_its_other_name_keeps_the_old_content(tmp_path):
    # As `mv` and editors that save by renaming: the name given gets the new file; writing through
    # every hard link would need an in-place write, which a crash could leave half done.
    path, other = tmp_path / "m.npz", tmp_path / "other.npz"
    path.write_bytes(b"old")
    os.link(path, other)
    write(path, b"new")
    assert path.read_bytes() == b"new"
    assert other.read_bytes() == b"old"


def test_the_same_file_twice_in_one_run_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "link.npz").symlink_to("s.npz")
    with pytest.raises(ValueError, match="written twice"), all_or_none():
        write(tmp_path / "s.npz", b"parameters")
        write(tmp_path / "link.npz", b"a graph")
    assert names(tmp_path) == ["link.npz"]


# ----- temporaries: recognisable, cleaned after SIGKILL, removed on signals ---------------------------------


def test_a_temporary_left_by_sigkill_is_named_by_its_process_and_removed_by_the_next_write(tmp_path):
    target = tmp_path / "m.npz"
    code = (
        "import sys, time\nfrom minigrad.files import atomic_write\n"
        f"with atomic_write({str(target)!r}) as f:\n"
        "    f.write(b'half'); f.flush(); print('writing', flush=True); time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "writing\n"
        (left,) = names(tmp_path)
        assert left.startswith(f".m.npz.{process.pid}.") and left.endswith(".part")
        assert remove_stale_temporaries(target) == []  # its process still runs: not touched
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.stdout.close()
    assert names(tmp_path) == [left]
    write(target, b"whole")
    assert names(tmp_path) == ["m.npz"]


def test_only_temporaries_of_the_same_target_from_ended_processes_are_removed(tmp_path):
    pid = dead_pid()
    stale = [f".m.npz.{pid}.abcd_123.part", f".m.npz.{pid}.abcd_123.old"]
    kept = [
        f".m.npz.{os.getpid()}.abcd_123.part",  # this process: perhaps another thread's
        f".m.npz.5.{pid}.abcd_123.part",  # the target "m.npz.5"
        f".m.npz.{pid}.part",  # not a name minigrad makes
        "m.npz.1.abcd_123.part",
        f".n.npz.{pid}.abcd_123.part",
    ]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"x")
    assert sorted(remove_stale_temporaries(tmp_path / "m.npz")) == sorted(stale)
    assert names(tmp_path) == sorted(kept)


def test_a_long_file_name_gets_a_shortened_temporary_and_is_written(tmp_path):
    name = "é" * 100 + "m" * 45 + ".npz"  # 249 bytes: the temporary's name would pass the 255 limit
    assert len(os.fsencode(name)) == 249
    seen = []
    with atomic_write(tmp_path / name) as f:
        seen += names(tmp_path)
        f.write(b"x")
    (temporary,) = seen
    assert len(os.fsencode(temporary)) <= 255
    assert names(tmp_path) == [name]
    # and a stale one of the same long name is still found
    stale = files._short_name(name, tmp_path)
    (tmp_path / f".{stale}.{dead_pid()}.abcdefgh.part").write_bytes(b"x")
    write(tmp_path / name, b"y")
    assert names(tmp_path) == [name]


def test_a_name_longer_than_the_file_system_takes_is_refused_at_the_start(tmp_path):
    with pytest.raises(OSError, match="256 bytes long") as caught:
        check_target(tmp_path / ("m" * 252 + ".npz"))
    assert caught.value.errno == errno.ENAMETOOLONG


# ----- two runs at once ------------------------------------------------------------------------------------


def test_two_runs_committing_at_once_leave_the_outputs_of_one_run(tmp_path, monkeypatch):
    """Run A is held between its two renames until run B has finished or 0.5 s have passed: without a
    lock B's renames slip in between and the files come from two runs."""
    a_between, b_done = threading.Event(), threading.Event()
    real_replace = os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if threading.current_thread().name == "A" and str(dst).endswith("s.npz"):
            a_between.set()
            b_done.wait(0.5)

    monkeypatch.setattr(files.os, "replace", replace)

    def run(tag):
        with all_or_none():
            write(tmp_path / "s.npz", tag)
            write(tmp_path / "g.dot", tag)
        if tag == b"B":
            b_done.set()

    a = threading.Thread(target=run, args=(b"A",), name="A")
    a.start()
    assert a_between.wait(10)
    b = threading.Thread(target=run, args=(b"B",), name="B")
    b.start()
    a.join(10)
    b.join(10)
    assert (tmp_path / "s.npz").read_bytes() == (tmp_path / "g.dot").read_bytes()
    assert names(tmp_path) == ["g.dot", "s.npz"]


# ----- a full disk -----------------------------------------------------------------------------------------


def test_a_file_size_limit_names_the_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "big.npz"
    target.write_bytes(b"old")
    code = (
        "import resource\nfrom minigrad.files import atomic_write\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))\n"
        f"with atomic_write({str(target)!r}) as f:\n    f.write(b'x' * 100_000)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "File too large while writing" in done.stderr and str(target) in done.stderr, done.stderr
    assert target.read_bytes() == b"old"
    assert names(tmp_path) == ["big.npz"]

"""Writing files whole or not at all: the graphs minigrad saves, and the files the nets' commands write.

`atomic_write(path)` gives a temporary file beside `path`; once it is written, one rename puts it in place.
Inside `with all_or_none():` the renames wait for the end of the block, so that the outputs of one run are
all written or none: any failure (an exception, Ctrl-C, a signal turned into one) removes every temporary
file and leaves the files that were there before untouched. A file written over keeps its permission bits
(and, for root, its owner).

What a user expects of `> file` holds here too (`check_target`): a symbolic link is written through, to the
file it points to; a file the user may not write (its permission bits say so, also for root) is refused, as
are FIFOs, devices and sockets. A temporary's name says whose it is (`.NAME.PID.RANDOM.part`, with a long
NAME shortened so that the temporary's name stays within the file system's limit), and one left behind by
a process that no longer runs (killed with SIGKILL) is removed by the next write of the same file. The
renames of one commit hold a lock on each folder they write in, so that two runs writing the same files
at once leave the outputs of one run, never a mix.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
# What a temporary's name adds to the shortened target name: ".", "." + pid (7 digits at most on Linux),
# "." + tempfile's 8 random characters, ".part" or ".old"; with room to spare.
_ADDED = 32
_OURS = re.compile(r"(\d+)\.[a-z0-9_]{8}\.(part|old)")


@dataclass
class _Staged:
    """A temporary file written in full, waiting to become `path`."""

    temporary: str
    path: Path  # the file written: symbolic links followed
    given: Path  # the name the user gave, for messages
    replace: bool  # False: `path` must not exist yet (never write over a file the user did not name)


# The writes held back by the innermost `all_or_none` block, or None outside one.
_pending: contextvars.ContextVar[list[_Staged] | None] = contextvars.ContextVar("_pending", default=None)


def check_target(path: str | os.PathLike[str]) -> Path:
    """The file that writing `path` would write (a symbolic link followed, as a shell's `>` does).

    Raises `OSError` naming `path` where it may not be written over: a folder, a FIFO, a device or a socket,
    a file whose permission bits do not let this user write it (root included: a read-only file is
    refused, as `cp -i` asks first), or a name longer than the file system takes. Commands call it before
    any work; `atomic_write` calls it again when it starts and when it puts the file in place.
    """
    given = Path(path)
    target = Path(os.path.realpath(given))
    name_max = _name_max(target.parent)
    if len(os.fsencode(target.name)) > name_max:
        raise OSError(
            errno.ENAMETOOLONG,
            f"the file name is {len(os.fsencode(target.name))} bytes long; this file system takes {name_max}",
            str(given),
        )
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, cannot write a file there", str(given))
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        raise OSError(errno.EINVAL, f"is {kind}, not a regular file; refused: give a file name", str(given))
    if not _may_write(target, st):
        raise PermissionError(
            errno.EACCES,
            f"is write-protected (mode {stat.S_IMODE(st.st_mode):o}); not written over: "
            "make it writable (chmod u+w) or give another name",
            str(given),
        )
    return target


def _may_write(target: Path, st: os.stat_result) -> bool:
    """Whether this user may write the existing file: for root, whether any write bit is set at all."""
    if os.geteuid() == 0:  # root passes every permission check; its write bits still say "keep this"
        return bool(st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return os.access(target, os.W_OK, effective_ids=os.access in os.supports_effective_ids)


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _short_name(name: str, folder: Path) -> str:
    """`name`, or where a temporary named after it would be too long, its start and a hash of the whole."""
    encoded = os.fsencode(name)
    room = _name_max(folder) - _ADDED
    if len(encoded) <= room:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:12]
    return os.fsdecode(encoded[: room - 13]) + "~" + digest


def _temporary(target: Path) -> tuple[int, str]:
    """A new temporary file beside `target`, named `.NAME.PID.RANDOM.part`: whose it is can be read off."""
    prefix = f".{_short_name(target.name, target.parent)}.{os.getpid()}."
    return tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".part")


def remove_stale_temporaries(target: Path) -> list[str]:
    """Remove the temporaries of `target` left by processes that no longer run (SIGKILL); their names."""
    prefix = f".{_short_name(target.name, target.parent)}."
    removed = []
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            if not entry.name.startswith(prefix):
                continue
            match = _OURS.fullmatch(entry.name[len(prefix) :])
            if match and not _running(int(match.group(1))) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process: it runs
    return True


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, replace: bool = True) -> Iterator[IO[bytes]]:
    """A binary file to write; on success it becomes `path` in one rename, on failure it is removed.

    The temporary file sits in the folder of the file written (a symbolic link's target), so that the
    rename never crosses file systems. Inside an `all_or_none()` block the rename waits for the block's end.
    With `replace=False` an existing `path` is left alone and `FileExistsError` raised. An error while
    writing (a full disk, `ulimit -f`) names `path`.
    """
    given = Path(path)
    target = check_target(given)
    pending = _pending.get()
    for other in pending or ():
        if other.path == target:
            raise ValueError(
                f"{given} is written twice in one run (also as {other.given}): give another name"
            )
    remove_stale_temporaries(target)
    fd, temporary = _temporary(target)
    staged = _Staged(temporary, target, given, replace)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(
                f.fileno()
            )  # on disk before the rename makes it the file: never an empty file after a crash
        if pending is None:
            _move_into_place([staged])
        else:
            pending.append(staged)
    except OSError as error:
        _remove(temporary)
        if error.filename is None and error.errno is not None:  # write(2) names no file: say which
            raise OSError(error.errno, f"{error.strerror} while writing", str(given)) from error
        raise
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def all_or_none() -> Iterator[None]:
    """Every `atomic_write` inside waits, and all are moved into place together when the block ends.

    If the block fails, or one of them cannot be put in place, none is: the temporaries are removed and
    any file already replaced is put back.
    """
    pending: list[_Staged] = []
    token = _pending.set(pending)
    try:
        yield
    except BaseException:
        for staged in pending:
            _remove(staged.temporary)
        raise
    finally:
        _pending.reset(token)
    _move_into_place(pending)


def _move_into_place(staged: list[_Staged]) -> None:
    """Rename each temporary to its path, keeping the mode of a file it replaces; all or none."""
    try:
        with _folders_locked({s.path.parent for s in staged}):
            for s in staged:  # what would stop a rename is found before the first one
                if check_target(s.given) != s.path:
                    raise OSError(errno.EAGAIN, "changed what it points to while being written", str(s.given))
                if not s.replace and os.path.lexists(s.path):
                    raise FileExistsError(errno.EEXIST, "already exists; not written over", str(s.given))
                _take_mode_and_owner(s.temporary, s.path)
            _rename_all(staged)
    except BaseException:
        for s in staged:
            _remove(s.temporary)
        raise


@contextlib.contextmanager
def _folders_locked(folders: set[Path]) -> Iterator[None]:
    """An exclusive lock on each folder (in one order, so that two runs never wait on each other)."""
    with contextlib.ExitStack() as stack:
        for folder in sorted(folders):
            try:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:  # a folder one may write but not read: no lock, as before
                continue
            stack.callback(os.close, fd)
            with contextlib.suppress(OSError):  # a file system without locks: no lock, as before
                fcntl.flock(fd, fcntl.LOCK_EX)  # released when fd is closed
        yield


def _rename_all(staged: list[_Staged]) -> None:
    """The renames; if one fails, those done are undone from the copies of the files they replaced."""
    done: list[tuple[_Staged, str | None]] = []
    try:
        for s in staged:
            backup = None
            if len(staged) > 1 and os.path.lexists(s.path):
                backup = s.temporary.removesuffix(".part") + ".old"  # beside the unique temporary
                try:
                    os.link(s.path, backup, follow_symlinks=False)
                except OSError:  # a file system without hard links
                    shutil.copy2(s.path, backup, follow_symlinks=False)
            try:
                if s.replace:
                    os.replace(s.temporary, s.path)
                else:
                    os.link(s.temporary, s.path)  # fails if `path` appeared meanwhile: never written over
                    _remove(s.temporary)
            except BaseException:
                if backup is not None:
                    _remove(backup)
                raise
            done.append((s, backup))
    except BaseException:
        for s, backup in reversed(done):
            if backup is not None:
                os.replace(backup, s.path)
            else:
                _remove(str(s.path))
        raise
    for _, backup in done:
        if backup is not None:
            _remove(backup)


def _take_mode_and_owner(temporary: str, path: Path) -> None:
    """The temporary gets the permission bits of the file it replaces (root: its owner too), or those an
    ordinary new file would get (0666 - umask)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        return
    if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
        os.chown(temporary, st.st_uid, st.st_gid)  # before chmod: chown clears set-id bits
    os.chmod(temporary, stat.S_IMODE(st.st_mode))


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


__all__ = ["all_or_none", "atomic_write", "check_target", "remove_stale_temporaries"]

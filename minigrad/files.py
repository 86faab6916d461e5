"""Writing files whole or not at all: the graphs minigrad saves, and the files the nets' commands write.

`atomic_write(path)` gives a temporary file beside `path`; once it is written, one rename puts it in place.
Inside `with all_or_none():` the renames wait for the end of the block, so that the outputs of one run are
all written or none: any failure (an exception, Ctrl-C, a signal turned into one) removes every temporary
file and leaves the files that were there before untouched. A file written over keeps its permission bits.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass
class _Staged:
    """A temporary file written in full, waiting to become `path`."""

    temporary: str
    path: Path
    replace: bool  # False: `path` must not exist yet (never write over a file the user did not name)


# The writes held back by the innermost `all_or_none` block, or None outside one.
_pending: contextvars.ContextVar[list[_Staged] | None] = contextvars.ContextVar("_pending", default=None)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, replace: bool = True) -> Iterator[IO[bytes]]:
    """A binary file to write; on success it becomes `path` in one rename, on failure it is removed.

    The temporary file sits in `path`'s folder, so that the rename never crosses file systems. Inside an
    `all_or_none()` block the rename waits for the block's end. With `replace=False` an existing `path` is
    left alone and `FileExistsError` raised.
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    staged = _Staged(temporary, path, replace)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        pending = _pending.get()
        if pending is None:
            _move_into_place([staged])
        else:
            pending.append(staged)
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
        for s in staged:  # what would stop a rename is found before the first one
            if s.path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "is a folder, cannot write a file there", str(s.path))
            if not s.replace and os.path.lexists(s.path):
                raise FileExistsError(errno.EEXIST, "already exists; not written over", str(s.path))
            os.chmod(s.temporary, _mode_for(s.path))
        _rename_all(staged)
    except BaseException:
        for s in staged:
            _remove(s.temporary)
        raise


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


def _mode_for(path: Path) -> int:
    """The permission bits of the file at `path`, or those an ordinary new file would get (0666 - umask)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)

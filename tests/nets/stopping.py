"""A command stopped by SIGTERM in the middle of `--save`: what the two commands' tests share."""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# np.savez replaced by a save that writes part of the file, says so, then waits: the signal arrives then.
SLOW_SAVE = (
    "import time\n"
    "import numpy as np\n"
    "def slow_savez(f, **arrays):\n"
    "    f.write(b'part of the archive')\n"
    "    f.flush()\n"
    "    print('saving', flush=True)\n"
    "    while True:\n"
    "        time.sleep(0.01)\n"
    "np.savez = slow_savez\n"
)


def terminated_while_saving(
    command_module: str, argv: list[str], cwd: Path, signum: int = signal.SIGTERM
) -> tuple[int, str]:
    """Run `command_module`'s main on `argv` in `cwd`, send `signum` while it saves: (exit status, stderr)."""
    code = SLOW_SAVE + f"from {command_module} import main\nraise SystemExit(main({argv!r}))"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:
            if line == "saving\n":
                break
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, stderr

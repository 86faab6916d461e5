"""Progress of a long loop, for every command: a line every so often, and a tqdm bar on a terminal.

    with Progress(5000, line=lambda i, cost: f"  iteration {i:>4}   cost {cost:#.6g}") as progress:
        for i in range(5001):
            ...
            progress.update(i, cost)

The lines (about `lines` of them, the first and the last step included) are the report, the same wherever
the output goes. The bar is tqdm's (it knows terminals, notebooks, rates and the time left); it is drawn
only where the output is a terminal, below the lines, appears only once the run has lasted `delay`
seconds, and is gone when the loop ends. Where the output is a file or a pipe there are plain lines only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO


class Progress:
    """A loop over steps `0 ... total` that reports `line(i, value)` every `total // lines` steps."""

    def __init__(
        self,
        total: int,
        line: Callable[[int, Any], str],
        *,
        lines: int = 10,
        quiet: bool = False,
        stream: TextIO | None = None,
        delay: float = 1.0,
        unit: str = "step",
    ) -> None:
        self.total, self.line, self.quiet = total, line, quiet
        self.every = max(1, total // lines)
        self.stream = sys.stdout if stream is None else stream
        self.bar = None
        if not quiet and self.stream.isatty():
            from tqdm import tqdm  # only where it draws: a run into a file or pipe does not import it

            self.bar = tqdm(total=total, file=self.stream, leave=False, delay=delay, unit=unit)

    def update(self, i: int, value: Any) -> None:
        """Step `i` is done, with this value; its line is written if it is one of the reported steps."""
        if not self.quiet and (i % self.every == 0 or i == self.total):
            if self.bar is not None:
                self.bar.write(self.line(i, value), file=self.stream)
            else:
                print(self.line(i, value), file=self.stream)
        if self.bar is not None:
            self.bar.update(i - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""nets.progress: the same report lines wherever the output goes, and tqdm's bar only on a terminal."""

import io

from nets.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def line(i, cost):
    return f"step {i} cost {cost:g}"


def run(stream, total=100, **options):
    with Progress(total, line, stream=stream, **options) as progress:
        for i in range(total + 1):
            progress.update(i, 1.0 / (i + 1))
    return stream.getvalue()


def test_into_a_file_every_tenth_step_and_the_last_as_plain_lines():
    out = run(io.StringIO(), total=95)
    lines = out.splitlines()
    assert lines[0] == "step 0 cost 1" and lines[-1] == "step 95 cost 0.0104167"
    assert [int(x.split()[1]) for x in lines] == [*range(0, 95, 9), 95]
    assert "\r" not in out  # no bar where the output is not a terminal


def test_on_a_terminal_the_same_lines_and_a_tqdm_bar():
    out = run(Terminal(), delay=0)
    plain = run(io.StringIO())
    for expected in plain.splitlines():
        assert expected in out
    assert "\r" in out and "/100 [" in out and "step/s" in out  # tqdm drew its bar, with its rate
    assert out.endswith("\r")  # and cleared it at the end, below the last line


def test_quiet_writes_nothing_even_on_a_terminal():
    assert run(Terminal(), quiet=True, delay=0) == ""

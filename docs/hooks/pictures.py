"""MkDocs hook: the pictures and the commands' printed reports, made by running the commands at build time.

The three jobs run one after the other in a temporary folder, once per build (about 15 s). Their
pictures join the site as `generated/...` (never committed), and their reports replace the markers
`<!-- output: NAME -->` in the pages, so that what a page shows is what the code prints today.
Without the Graphviz programs, the graph is a placeholder picture that says so (CI has them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# name: (the command's arguments, the pictures it writes); each picture becomes generated/<file>.
JOBS: dict[str, tuple[list[str], list[str]]] = {
    "nets.twolayer": (
        ["--graph", "twolayer_graph.svg", "--plot", "twolayer_run.png"],
        ["twolayer_graph.svg", "twolayer_run.png"],
    ),
    "nets.gradients": (["--plot", "gradients.png"], ["gradients.png"]),
    "nets.digits": (["--plot", "digits.png"], ["digits.png"]),
}

MARKER = "<!-- output: {} -->"

NO_DOT_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="640" height="60">
<text x="10" y="35" font-family="sans-serif" font-size="16">The Graphviz program dot was missing when
this site was built, so the graph could not be drawn (apt-get install graphviz).</text></svg>
"""

_outputs: dict[str, str] = {}


def run_jobs(root: Path, folder: Path) -> dict[str, str]:
    """Run every job in `folder` with `root` importable; returns each job's report as shown on a page."""
    has_dot = shutil.which("dot") is not None
    environment = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    commands = {}
    for name, (arguments, _) in JOBS.items():
        if not has_dot and "--graph" in arguments:
            at = arguments.index("--graph")
            arguments = arguments[:at] + arguments[at + 2 :]
        commands[name] = ["python", "-m", name, *arguments]
    reports = {}
    for name, command in commands.items():  # one after the other: the reports' timings are a lone run's
        run = subprocess.run(
            [sys.executable, *command[1:]],
            cwd=folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if run.returncode != 0:
            raise RuntimeError(f"docs: `{' '.join(command)}` failed ({run.returncode}):\n{run.stderr}")
        reports[name] = f"$ {' '.join(command)}\n{run.stdout.rstrip()}"
    if not has_dot:
        (folder / "twolayer_graph.svg").write_text(NO_DOT_SVG, encoding="utf-8")
    return reports


def on_files(files: Any, config: Any) -> Any:
    """MkDocs event: run the jobs, add their pictures to the site and keep their reports for the pages."""
    from mkdocs.structure.files import File

    root = Path(config.config_file_path).resolve().parent
    with tempfile.TemporaryDirectory(prefix="minigrad-docs-") as folder:
        _outputs.update(run_jobs(root, Path(folder)))
        for _, pictures in JOBS.values():
            for picture in pictures:
                content = (Path(folder) / picture).read_bytes()
                files.append(File.generated(config, f"generated/{picture}", content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: put each job's report where a page has its marker."""
    for name, report in _outputs.items():
        marker = MARKER.format(name)
        if marker in markdown:
            markdown = markdown.replace(marker, f"```text\n{report}\n```")
    return markdown

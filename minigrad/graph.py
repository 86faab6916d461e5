"""Drawing the computation graph: which tensors and operations produced a result, and their gradients.

`draw_graph(J)` walks back from `J` through every tensor's inputs (`parents`) and returns a
`graphviz.Digraph` with a node for each tensor and one for each operation; data flows along the edges,
input tensor -> operation -> output tensor. `to_dot` gives the same graph as DOT text and needs no
Graphviz program; `save_graph` writes it to an .svg, .png, .pdf or .dot file.

Once a backward pass has run, each tensor's node shows the norm of its gradient and is filled by the
decade of that norm, blue for small and red for large, so that a vanishing or exploding gradient shows
at a glance. The colours are fixed decades, not scaled to each graph, so two pictures compare.
"""

from __future__ import annotations

import html
import math
import os
import pathlib
import re
import unicodedata
from collections import Counter
from typing import Any

import graphviz
import numpy as np

from minigrad.backward import equations_of
from minigrad.files import atomic_write
from minigrad.release import is_released
from minigrad.tensor import Tensor

__all__ = ["INSTALL_HINT", "GraphvizNotFoundError", "draw_graph", "save_graph", "to_dot"]

INSTALL_HINT = (
    "install the Graphviz programs (the `dot` command): `sudo apt-get install graphviz` on Debian/Ubuntu, "
    "`brew install graphviz` on macOS, `conda install -c conda-forge graphviz`, or see "
    "https://graphviz.org/download/ (`pip install graphviz` installs only the Python package). "
    "Without them, mg.to_dot(t) gives the DOT text and mg.save_graph(t, 'graph.dot') writes it."
)

_NOT_FOUND = f"cannot render the graph: the Graphviz program `dot` is not on PATH. To fix it, {INSTALL_HINT}"

FORMATS = (".svg", ".png", ".pdf", ".dot")

# Tensors with at most this many elements show their values.
FEW_VALUES = 6

# Fill colour by decade of the gradient norm, floor(log10(norm)) from -6 (and below) to 4 (and above):
# ColorBrewer's RdYlBu, blue for vanishing, red for exploding; dark fills take white text.
_DECADES = range(-6, 5)
_PALETTE = (
    "#313695",
    "#4575b4",
    "#74add1",
    "#abd9e9",
    "#e0f3f8",
    "#ffffbf",
    "#fee090",
    "#fdae61",
    "#f46d43",
    "#d73027",
    "#a50026",
)
_DARK = {"#313695", "#4575b4", "#d73027", "#a50026"}
_ZERO_GRAD = "#bdbdbd"
_NOT_FINITE = "#e7298a"
_OP_FILL = "#eeeeee"

# The look of each kind of node; the legend draws the same borders.
_KIND_STYLE = {
    "parameter": {"shape": "box", "style": "rounded,filled,bold", "penwidth": "2.5"},
    "data": {"shape": "box", "style": "dashed,filled", "color": "#555555"},
    "intermediate": {"shape": "box", "style": "rounded,filled"},
}
_RANKDIRS = ("TB", "LR", "BT", "RL")


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Graphviz's own error for a missing `dot`, with the message saying how to install it."""

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)


class ComputationGraph(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering, when the Graphviz programs are missing, says how to get them.

    `render`, `view`, `pipe` and Jupyter's inline display all go through `render` or `pipe`.
    """

    def render(self, *args: Any, **kwargs: Any) -> str:
        try:
            return super().render(*args, **kwargs)
        except GraphvizNotFoundError:
            raise
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(_NOT_FOUND) from error

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().pipe(*args, **kwargs)
        except GraphvizNotFoundError:
            raise
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(_NOT_FOUND) from error


# ----- walking the graph --------------------------------------------------------------------------


def _walk(root: Tensor) -> list[Tensor]:
    """Every tensor `root` was computed from, nearest first (breadth first): the backward pass's walker.

    All inputs are followed, also those that need no gradient (the data X, Y and constants).
    Tensors are told apart by identity: two equal arrays are two nodes, one tensor used twice is one.
    """
    return equations_of(root, every_input=True)[0]


def _kind(t: Tensor) -> str:
    if t.parents:
        return "intermediate"
    return "parameter" if t.requires_grad else "data"


# ----- labels ---------------------------------------------------------------------------------------


def printable(text: str) -> str:
    """`text` as a label can show it: what DOT and its XML labels cannot hold written as escapes.

    A control character (`\\x01`, a tab, a line break) and a lone surrogate (`\\ud800`) become their
    Python escapes; a byte that a file name did not decode as UTF-8 (Python's surrogateescape) is shown
    as that byte, `\\xe9`.
    """
    return "".join(_printable_character(c) for c in text)


def _printable_character(c: str) -> str:
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"
    if unicodedata.category(c) == "Cc":
        return c.encode("unicode_escape").decode("ascii")
    return c


def _number(x: float) -> str:
    """Four significant digits; never `-0`, which a value that rounds to zero would otherwise show."""
    text = f"{x:.4g}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _values(data: np.ndarray) -> str:
    if data.ndim == 0:
        return _number(float(data))
    text = np.array2string(data, separator=", ", formatter={"all": lambda v: _number(float(v))})
    return " ".join(text.split())


def _decade(norm: float) -> int:
    return min(max(math.floor(math.log10(norm)), _DECADES[0]), _DECADES[-1])


def _grad_colour(norm: float) -> str:
    if not math.isfinite(norm):
        return _NOT_FINITE
    if norm == 0:
        return _ZERO_GRAD
    return _PALETTE[_decade(norm) - _DECADES[0]]


def _decade_label(k: int) -> str:
    if k == _DECADES[0]:
        return f"&lt;1e{k + 1}"
    if k == _DECADES[-1]:
        return f"≥1e{k}"
    return f"1e{k}"


def _tensor_label(t: Tensor, node_id: str, show_values: bool, norm: float | None) -> str:
    lines = [f"<B>{html.escape(printable(t.name))}</B>" if t.name else f"<I>{node_id}</I>"]  # "" as unnamed
    shape = html.escape(str(t.shape)) if t.ndim else "scalar"
    lines.append(f'<FONT POINT-SIZE="10">{shape}</FONT>')
    if show_values and t.size <= FEW_VALUES:
        values = "(values released)" if is_released(t) else _values(t.data)
        lines.append(f'<FONT POINT-SIZE="10">{html.escape(values)}</FONT>')
    if norm is not None:
        lines.append(f'<FONT POINT-SIZE="10">‖grad‖ {_number(norm)}</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


def _legend(grads: bool, not_finite: bool, notes: list[str]) -> str:
    """The graph's label: what the borders mean, the colour scale when gradients are shown, and notes."""
    cell = 'CELLPADDING="3"'
    kinds = (
        f'<TD {cell} BORDER="3" STYLE="rounded">parameter (leaf, requires grad)</TD>'
        f'<TD {cell} BORDER="1" STYLE="dashed">data or constant (leaf)</TD>'
        f'<TD {cell} BORDER="1" STYLE="rounded">intermediate tensor</TD>'
        f'<TD {cell} BORDER="1" BGCOLOR="{_OP_FILL}"><I>operation</I></TD>'
    )
    lines = ("<BR/>".join(html.escape(printable(line)) for line in note.splitlines()) for note in notes)
    tables = [f'<TABLE BORDER="0"><TR><TD>{text}</TD></TR></TABLE>' for text in lines]
    tables.append(
        f'<TABLE BORDER="0" CELLSPACING="4"><TR><TD BORDER="0" ALIGN="RIGHT">nodes:</TD>{kinds}</TR></TABLE>'
    )
    if grads:
        cells = "".join(
            f'<TD BORDER="1" BGCOLOR="{colour}" {cell}>'
            + (f'<FONT COLOR="white">{_decade_label(k)}</FONT>' if colour in _DARK else _decade_label(k))
            + "</TD>"
            for k, colour in zip(_DECADES, _PALETTE)
        )
        cells += f'<TD BORDER="1" BGCOLOR="{_ZERO_GRAD}" {cell}>0</TD>'
        if not_finite:
            cells += f'<TD BORDER="1" BGCOLOR="{_NOT_FINITE}" {cell}>inf or nan</TD>'
        cells += f'<TD BORDER="1" BGCOLOR="white" {cell}>no grad</TD>'
        tables.append(
            f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD BORDER="0" ALIGN="RIGHT">'
            f"fill = ‖grad‖ by decade:  </TD>{cells}</TR>"
            f'<TR><TD></TD><TD COLSPAN="{len(_PALETTE) + 2 + not_finite}" ALIGN="LEFT"><FONT POINT-SIZE="10">'
            "blue: small gradient (vanishing), red: large (exploding); "
            "each cell is the lower end of its decade"
            "</FONT></TD></TR></TABLE>"
        )
    body = "".join(f"<TR><TD>{t}</TD></TR>" for t in tables)
    return f'<<TABLE BORDER="0" CELLSPACING="2">{body}</TABLE>>'


# ----- the drawing ----------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")


def draw_graph(
    t: Tensor,
    *,
    rankdir: str = "TB",
    show_values: bool = True,
    show_grads: bool = True,
    max_nodes: int | None = 400,
    title: str | None = None,
) -> graphviz.Digraph:
    """The graph that produced `t`, as a `graphviz.Digraph` (shown inline in Jupyter).

    One node per tensor (its name, or a short id such as `t7`; its shape; its values when it holds at
    most `FEW_VALUES` numbers; its gradient's norm once a backward pass has reached it) and one per
    operation, edges in the direction data flows. A tensor used twice has two edges out.

    rankdir: "TB" (top to bottom) or "LR" (left to right), also "BT", "RL".
    show_values, show_grads: whether tensor nodes show their values, their gradients' norms and colours.
    max_nodes: draw at most this many tensor and operation nodes, those nearest to `t`; what is left out
    is counted in a node where the graph was cut and in the legend. None draws everything.
    title: a line above the legend.

    Render it with graphviz's own API (`.render("graph", format="svg")`), or use `save_graph`.
    """
    _check_options(t, rankdir, max_nodes)
    tensors = _walk(t)
    drawn = _choose_nodes(tensors, max_nodes)
    ids = _NodeIds(drawn)

    g = _empty_graph(rankdir)
    norms = _draw_tensors(g, drawn, ids, show_values, show_grads)
    cut_ops = _draw_operations(g, drawn, ids)

    notes = [title] if title else []
    if len(drawn) < len(tensors):
        notes.append(_draw_cut(g, tensors, drawn, ids, cut_ops, max_nodes))
    not_finite = any(not math.isfinite(n) for n in norms)
    g.attr(label=_legend(bool(norms), not_finite, notes))
    return g


def _empty_graph(rankdir: str) -> ComputationGraph:
    g = ComputationGraph(name="computation_graph")
    g.attr(rankdir=rankdir, fontname="Helvetica", nodesep="0.25", ranksep="0.35", labelloc="b")
    g.attr("node", fontname="Helvetica", fontsize="12", margin="0.08,0.04")
    g.attr("edge", arrowsize="0.7", color="#444444")
    return g


def _check_options(t: Tensor, rankdir: str, max_nodes: int | None) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"draw_graph: expected a minigrad Tensor, got {type(t).__name__}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {', '.join(_RANKDIRS)}; got {rankdir!r}")
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"draw_graph: max_nodes must be a positive integer or None; got {max_nodes!r}")


def _choose_nodes(tensors: list[Tensor], max_nodes: int | None) -> list[Tensor]:
    """The nearest tensors, each with the operation that made it, while the budget of nodes lasts.

    A prefix of the breadth-first order is connected to the output, so the drawn part is one piece.
    """
    if max_nodes is None:
        return tensors
    budget = max_nodes
    for i, x in enumerate(tensors):
        budget -= 2 if x.parents else 1
        if budget < 0:
            return tensors[: max(i, 1)]  # the output itself is always drawn
    return tensors


class _NodeIds:
    """Node ids: a tensor's name where it is a plain identifier used once, else `t<k>`; all unique."""

    def __init__(self, drawn: list[Tensor]) -> None:
        self.used: set[str] = set()
        self.of: dict[int, str] = {}
        names = Counter(x.name for x in drawn if x.name is not None)
        for i, x in enumerate(drawn):
            own = x.name is not None and _IDENTIFIER.match(x.name) and names[x.name] == 1
            self.of[id(x)] = self.unique(x.name if own else f"t{len(drawn) - 1 - i}")

    def unique(self, candidate: str) -> str:
        name, k = candidate, 1
        while name in self.used:
            k += 1
            name = f"{candidate}_{k}"
        self.used.add(name)
        return name

    def __getitem__(self, t: Tensor) -> str:
        return self.of[id(t)]

    def __contains__(self, t: Tensor) -> bool:
        return id(t) in self.of


def _draw_tensors(
    g: graphviz.Digraph, drawn: list[Tensor], ids: _NodeIds, show_values: bool, show_grads: bool
) -> list[float]:
    """A box per tensor, bordered by its kind, filled by its gradient's norm; returns the norms shown."""
    norms = []
    for x in drawn:
        kind = _kind(x)
        norm = float(np.linalg.norm(x.grad)) if show_grads and x.grad is not None else None
        fill, font = "white", "black"
        if norm is not None:
            norms.append(norm)
            fill = _grad_colour(norm)
            font = "white" if fill in _DARK else "black"
        g.node(
            ids[x],
            label=_tensor_label(x, ids[x], show_values, norm),
            fillcolor=fill,
            fontcolor=font,
            **{"class": f"tensor {kind}"},
            **_KIND_STYLE[kind],
        )
    return norms


def _draw_operations(g: graphviz.Digraph, drawn: list[Tensor], ids: _NodeIds) -> list[str]:
    """An oval per operation, with edges from its inputs and to its output; returns the ids of the
    operations some of whose inputs were not drawn."""
    cut_ops: list[str] = []
    for i, x in enumerate(drawn):
        if not x.parents:
            continue
        op_id = ids.unique(f"{x.op or 'op'}_{len(drawn) - 1 - i}")
        g.node(
            op_id,
            label=printable(x.op) or "?",
            shape="ellipse",
            style="filled",
            fillcolor=_OP_FILL,
            color="#888888",
            fontsize="11",
            fontname="Helvetica-Oblique",
            margin="0.04,0.02",
            height="0.3",
            **{"class": "op"},
        )
        for parent in x.parents:
            if parent in ids:
                g.edge(ids[parent], op_id)
        if any(parent not in ids for parent in x.parents):
            cut_ops.append(op_id)
        g.edge(op_id, ids[x])
    return cut_ops


def _draw_cut(
    g: graphviz.Digraph,
    tensors: list[Tensor],
    drawn: list[Tensor],
    ids: _NodeIds,
    cut_ops: list[str],
    max_nodes: int | None,
) -> str:
    """A dashed node standing for what was not drawn, joined to where the graph was cut; returns the note
    for the legend."""
    n_ops = sum(1 for x in tensors if x.parents)
    drawn_ops = sum(1 for x in drawn if x.parents)
    left_tensors, left_ops = len(tensors) - len(drawn), n_ops - drawn_ops
    summary_id = ids.unique("not_drawn")
    g.node(
        summary_id,
        label=f"⋯ {left_tensors:,} tensors and {left_ops:,} operations\\nnot drawn (max_nodes={max_nodes})",
        shape="note",
        style="dashed",
        color="#888888",
        fontcolor="#555555",
        **{"class": "summary"},
    )
    for op_id in cut_ops:
        g.edge(summary_id, op_id, style="dashed", color="#888888")
    summary = (
        f"{left_tensors:,} more tensors and {left_ops:,} more operations are not drawn "
        f"(max_nodes={max_nodes}; draw_graph(t, max_nodes=None) draws all)"
    )
    return (
        f"Drawn: the {len(drawn):,} of {len(tensors):,} tensors and {drawn_ops:,} of {n_ops:,} operations "
        f"nearest the output.\n{summary}."
    )


def to_dot(t: Tensor, **options: Any) -> str:
    """The DOT text of `draw_graph(t, **options)`; needs no Graphviz program."""
    return draw_graph(t, **options).source


def save_graph(t: Tensor, path: str | os.PathLike[str], **options: Any) -> pathlib.Path:
    """Write the graph of `t` to `path`, the format from its extension: .svg, .png, .pdf or .dot.

    Returns the path written. Where the Graphviz programs are missing, the DOT text is written instead,
    next to `path` with the extension .dot, and that path is returned (compare it with `path`; the hint
    on installing Graphviz is `minigrad.graph.INSTALL_HINT`); a file already there is never written over
    (`FileExistsError`), since its name was not the one asked for. `options` go to `draw_graph`.
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"save_graph: cannot tell the format of {str(path)!r} from its extension "
            f"{suffix or '(none)'!r}; use one of {', '.join(FORMATS)}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save_graph: the folder {str(path.parent)!r} does not exist")
    g = draw_graph(t, **options)
    if suffix != ".dot":
        try:
            data = g.pipe(format=suffix[1:], quiet=True)
        except graphviz.ExecutableNotFound:
            return _save_dot_instead(g, path)
        with atomic_write(path) as f:
            f.write(data)
        return path
    with atomic_write(path) as f:
        f.write(g.source.encode("utf-8"))
    return path


def _save_dot_instead(g: graphviz.Digraph, path: pathlib.Path) -> pathlib.Path:
    dot = path.with_suffix(".dot")
    if os.path.lexists(dot):
        raise FileExistsError(
            f"save_graph: the Graphviz programs are missing, so the graph of {str(path)!r} would be written "
            f"as DOT text to {str(dot)!r}, but that exists and is not written over; move it, or ask for "
            "a .dot file by name"
        )
    with atomic_write(dot, replace=False) as f:
        f.write(g.source.encode("utf-8"))
    return dot

"""The drawing of computation graphs: what the DOT text and the rendered SVG hold, and how it fails."""

from __future__ import annotations

import math
import os
import pathlib
import re
import shutil
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor

# CI installs Graphviz, so there a missing `dot` must fail the rendering tests, not skip them.
requires_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="the Graphviz program dot is not installed",
)

SVG = "{http://www.w3.org/2000/svg}"


# ----- reading the DOT text back --------------------------------------------------------------------

NODE = re.compile(r"^\t(\w+) \[(.*)\]$", re.MULTILINE)
EDGE = re.compile(r"^\t(\w+) -> (\w+)", re.MULTILINE)


def parse(dot: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The node statements (id -> attribute text) and the edges (tail, head) of DOT text."""
    nodes = {name: attrs for name, attrs in NODE.findall(dot) if name not in ("graph", "node", "edge")}
    return nodes, EDGE.findall(dot)


def classes(attrs: str) -> list[str]:
    found = re.search(r'class=(?:"([^"]*)"|(\w+))', attrs)
    return (found.group(1) or found.group(2)).split() if found else []


def of_class(nodes: dict[str, str], word: str) -> list[str]:
    """The nodes of one kind: tensor (parameter, data, intermediate), op, or summary."""
    return [n for n, attrs in nodes.items() if word in classes(attrs)]


def label(nodes: dict[str, str], node_id: str) -> str:
    """A node's label: the HTML of a tensor's, the plain word of an operation's."""
    found = re.search(r"label=(?:<(.*?)> \w+=|(\w+))", nodes[node_id])
    return found.group(1) or found.group(2)


def lab_network(m: int = 7, seed: int = 0) -> dict[str, Tensor | np.ndarray]:
    """The lab's two-layer network with its names, after one forward and one backward pass."""
    rng = np.random.default_rng(seed)
    X = Tensor(rng.normal(size=(2, m)), name="X")
    Y = (rng.uniform(size=(1, m)) < 0.5).astype(np.float64)
    W1 = Tensor(rng.uniform(-0.7, 0.7, size=(3, 2)), requires_grad=True, name="W1")
    b1 = Tensor(np.zeros((3, 1)), requires_grad=True, name="b1")
    W2 = Tensor(rng.uniform(-0.5, 0.5, size=(1, 3)), requires_grad=True, name="W2")
    b2 = Tensor(np.zeros((1, 1)), requires_grad=True, name="b2")
    Z1 = W1 @ X + b1
    A1 = Z1.sigmoid()
    Z2 = W2 @ A1 + b2
    A2 = Z2.sigmoid()
    J = -(1 / m) * mg.sum(Y * mg.log(A2) + (1 - Y) * mg.log(1 - A2))
    for name, t in (("Z1", Z1), ("A1", A1), ("Z2", Z2), ("A2", A2), ("J", J)):
        t.name = name
    return {
        "X": X,
        "Y": Y,
        "W1": W1,
        "b1": b1,
        "W2": W2,
        "b2": b2,
        "Z1": Z1,
        "A1": A1,
        "Z2": Z2,
        "A2": A2,
        "J": J,
    }


# ----- structure ---------------------------------------------------------------------------------------


def test_a_layer_has_one_node_per_tensor_and_per_operation_and_edges_along_the_data_flow():
    W1 = Tensor(np.ones((3, 2)), requires_grad=True, name="W1")
    X = Tensor(np.ones((2, 5)), name="X")
    b1 = Tensor(np.zeros((3, 1)), requires_grad=True, name="b1")
    A1 = (W1 @ X + b1).sigmoid()
    A1.name = "A1"
    nodes, edges = parse(mg.to_dot(A1))
    assert len(of_class(nodes, "tensor")) == 6  # W1, X, b1, W1 @ X, W1 @ X + b1, A1
    assert len(of_class(nodes, "op")) == 3
    assert len(edges) == 8
    (matmul,) = [n for n in of_class(nodes, "op") if label(nodes, n) == "matmul"]
    (sigmoid,) = [n for n in of_class(nodes, "op") if label(nodes, n) == "sigmoid"]
    assert ("W1", matmul) in edges and ("X", matmul) in edges
    assert (sigmoid, "A1") in edges
    assert not any(head in ("W1", "X", "b1") for _, head in edges), "leaves have no edges into them"


def test_the_unnamed_intermediate_between_matmul_and_add_is_a_node_too():
    W1 = Tensor(np.ones((3, 2)), requires_grad=True, name="W1")
    Z1 = W1 @ Tensor(np.ones((2, 5))) + Tensor(np.zeros((3, 1)), requires_grad=True)
    nodes, edges = parse(mg.to_dot(Z1))
    assert len(of_class(nodes, "tensor")) == 5 and len(of_class(nodes, "op")) == 2 and len(edges) == 6


def test_a_tensor_used_twice_draws_two_edges_into_the_operation():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x * x
    nodes, edges = parse(mg.to_dot(y))
    (mul,) = of_class(nodes, "op")
    assert len(of_class(nodes, "tensor")) == 2
    assert edges.count(("x", mul)) == 2
    assert len(edges) == 3


def test_a_tensor_used_by_two_operations_is_one_node_with_an_edge_to_each():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    z = x.exp() + x.tanh() * x
    nodes, edges = parse(mg.to_dot(z))
    assert len(of_class(nodes, "tensor")) == 5  # x, exp x, tanh x, tanh x * x, z
    assert len(of_class(nodes, "op")) == 4
    assert sum(1 for tail, _ in edges if tail == "x") == 3
    assert len(edges) == 2 * 4 + 2  # into and out of each operation; two operations take two inputs


def test_nodes_are_tensors_by_identity_not_by_value():
    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    nodes, edges = parse(mg.to_dot(a + b))
    assert len(of_class(nodes, "tensor")) == 3
    (add,) = of_class(nodes, "op")
    assert len({tail for tail, head in edges if head == add}) == 2


def test_a_leaf_alone_is_one_node():
    nodes, edges = parse(mg.to_dot(Tensor([3.0], requires_grad=True, name="w")))
    assert list(nodes) == ["w"] and edges == []


# ----- what the nodes say ------------------------------------------------------------------------------


def test_tensor_nodes_show_names_shapes_and_kinds_and_op_nodes_their_operation():
    net = lab_network()
    nodes, _ = parse(mg.to_dot(net["J"]))
    for name in ("W1", "b1", "W2", "b2", "X", "Z1", "A1", "Z2", "A2", "J"):
        assert f"<B>{name}</B>" in label(nodes, name)
        shape = net[name].shape
        assert (str(shape) if shape else "scalar") in label(nodes, name)
    assert set(of_class(nodes, "parameter")) == {"W1", "b1", "W2", "b2"}
    assert {"X"} <= set(of_class(nodes, "data"))  # also Y, 1 - Y and the constants
    assert {"Z1", "A1", "Z2", "A2", "J"} <= set(of_class(nodes, "intermediate"))
    ops = sorted(label(nodes, n) for n in of_class(nodes, "op"))
    assert ops.count("matmul") == 2 and ops.count("sigmoid") == 2 and ops.count("log") == 2


def test_values_are_shown_for_a_few_numbers_only_and_can_be_turned_off():
    small = Tensor([0.25, -1.5], requires_grad=True, name="small")
    big = Tensor(np.full(50, 7.125), requires_grad=True, name="big")
    out = (small * 2.0).sum() + big.sum()
    nodes, _ = parse(mg.to_dot(out))
    assert "0.25" in label(nodes, "small") and "-1.5" in label(nodes, "small")
    assert "7.125" not in label(nodes, "big")
    nodes, _ = parse(mg.to_dot(out, show_values=False))
    assert "0.25" not in label(nodes, "small")


def test_gradient_norms_appear_only_after_backward_and_equal_the_norm_of_grad():
    net = lab_network()
    before = mg.to_dot(net["J"])
    assert "grad‖" not in before
    net["J"].backward()
    nodes, _ = parse(mg.to_dot(net["J"]))
    for name in ("W1", "b1", "W2", "b2", "Z1", "A1", "Z2", "A2", "J"):
        assert f"‖grad‖ {np.linalg.norm(net[name].grad):.4g}" in label(nodes, name)
    assert "grad‖" not in label(nodes, "X"), "data needs no gradient"
    assert "grad‖" not in mg.to_dot(net["J"], show_grads=False)


def test_the_gradient_on_Z2_is_the_labs_dZ2_over_m():
    # The lab's dZ2 = A2 - Y is m times dJ/dZ2: the picture shows the norm of dJ/dZ2.
    m = 7
    net = lab_network(m=m)
    net["J"].backward()
    nodes, _ = parse(mg.to_dot(net["J"]))
    dZ2 = net["A2"].data - net["Y"]
    assert f"‖grad‖ {np.linalg.norm(dZ2 / m):.4g}" in label(nodes, "Z2")


def test_fill_colour_is_the_legend_colour_of_the_decade_of_the_gradient_norm():
    small = Tensor([3.0, 4.0], requires_grad=True, name="small")  # grad 1e-4 * x: norm 5e-4, decade 1e-4
    large = Tensor([30.0, 40.0], requires_grad=True, name="large")  # grad 10 * x: norm 500, decade 1e2
    out = (small * small * 0.5e-4).sum() + (large * large * 5.0).sum()
    out.backward()
    dot = mg.to_dot(out)
    nodes, _ = parse(dot)
    legend = dict(
        (text, colour)
        for colour, text in re.findall(r'BGCOLOR="(#[0-9a-f]{6})"[^>]*>(?:<FONT[^>]*>)?([^<]+)<', dot)
    )
    colours = {}
    for name, t in (("small", small), ("large", large)):
        norm = np.linalg.norm(t.grad)
        decade = math.floor(math.log10(norm))
        colours[name] = re.search(r"fillcolor=\"(#[0-9a-f]{6})\"", nodes[name]).group(1)
        assert colours[name] == legend[f"1e{decade}"], (name, norm)
    assert colours["small"] != colours["large"]


def test_options_are_checked():
    t = Tensor([1.0], requires_grad=True).exp()
    assert "rankdir=LR" in mg.to_dot(t, rankdir="LR")
    assert "rankdir=TB" in mg.to_dot(t)
    with pytest.raises(ValueError, match=r"rankdir.*'sideways'"):
        mg.to_dot(t, rankdir="sideways")
    with pytest.raises(ValueError, match=r"max_nodes.*0"):
        mg.to_dot(t, max_nodes=0)
    with pytest.raises(TypeError, match="ndarray"):
        mg.draw_graph(np.ones(3))


def test_draw_graph_returns_a_graphviz_digraph():
    g = mg.draw_graph(Tensor([1.0], requires_grad=True).exp())
    assert isinstance(g, graphviz.Digraph)


# ----- large graphs ------------------------------------------------------------------------------------


def test_a_100000_operation_chain_draws_without_recursion_error_and_says_what_it_left_out():
    n = 100_000
    x = Tensor([0.5], requires_grad=True, name="x")
    y = x
    for _ in range(n):
        y = -y
    dot = mg.to_dot(y, max_nodes=50)
    nodes, edges = parse(dot)
    tensors, ops = of_class(nodes, "tensor"), of_class(nodes, "op")
    assert len(tensors) + len(ops) <= 50
    (summary,) = of_class(nodes, "summary")
    left_tensors, left_ops = (n + 1) - len(tensors), n - len(ops)
    assert f"{left_tensors:,} tensors and {left_ops:,} operations" in nodes[summary]
    assert f"{left_tensors:,} more tensors and {left_ops:,} more operations are not drawn" in dot
    assert [head for tail, head in edges if tail == summary] != []
    assert "x" not in nodes, "the far end of the chain is not drawn"


def test_a_wide_graph_keeps_the_part_nearest_the_output_connected_to_it():
    x = Tensor(np.arange(3.0), requires_grad=True, name="x")
    total = x.sum()
    for i in range(3000):
        total = total + (x * float(i)).sum()
    total.name = "total"
    nodes, edges = parse(mg.to_dot(total, max_nodes=120))
    (summary,) = of_class(nodes, "summary")
    assert len(nodes) - 1 <= 120
    # Every drawn node has a path to the output: nothing drawn floats free.
    reaches = {"total"}
    changed = True
    while changed:
        changed = False
        for tail, head in edges:
            if head in reaches and tail not in reaches:
                reaches.add(tail)
                changed = True
    assert reaches == set(nodes)
    # Each operation whose input was cut gets one edge from the summary.
    cut = [head for tail, head in edges if tail == summary]
    assert cut and len(cut) == len(set(cut))


def test_without_a_limit_everything_is_drawn():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(600):
        y = y.exp().log()
    nodes, _ = parse(mg.to_dot(y, max_nodes=None))
    assert len(of_class(nodes, "tensor")) == 1201 and len(of_class(nodes, "op")) == 1200
    assert not of_class(nodes, "summary")


# ----- rendering ---------------------------------------------------------------------------------------


@requires_dot
def test_rendering_to_svg_with_dot_has_a_node_title_for_each_node(tmp_path):
    net = lab_network()
    net["J"].backward()
    nodes, _ = parse(mg.to_dot(net["J"]))
    path = mg.save_graph(net["J"], tmp_path / "net.svg")
    assert path == tmp_path / "net.svg"
    root = ET.parse(path).getroot()
    groups = [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()]
    titles = {g.find(f"{SVG}title").text for g in groups}
    assert titles == set(nodes)
    assert {"W1", "b1", "W2", "b2", "X", "Z1", "A1", "Z2", "A2", "J"} <= titles
    parameters = {g.find(f"{SVG}title").text for g in groups if "parameter" in g.get("class").split()}
    assert parameters == {"W1", "b1", "W2", "b2"}
    assert os.listdir(tmp_path) == ["net.svg"], "no temporary file is left behind"


@requires_dot
def test_graphviz_own_render_works_on_the_returned_digraph(tmp_path):
    g = mg.draw_graph(Tensor([1.0, 2.0], requires_grad=True, name="x").tanh())
    out = g.render(tmp_path / "g", format="svg")
    titles = {t.text for t in ET.parse(out).getroot().iter(f"{SVG}title")}
    assert "x" in titles


@requires_dot
def test_save_graph_writes_png_and_pdf_by_extension(tmp_path):
    t = Tensor([1.0, 2.0], requires_grad=True, name="x").tanh()
    assert mg.save_graph(t, tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert mg.save_graph(t, str(tmp_path / "g.PDF")).read_bytes()[:5] == b"%PDF-"


def test_save_graph_writes_dot_text_for_dot(tmp_path):
    t = Tensor([1.0, 2.0], requires_grad=True, name="x").tanh()
    path = mg.save_graph(t, tmp_path / "g.dot")
    assert path.read_text(encoding="utf-8") == mg.to_dot(t)


def test_save_graph_refuses_an_unknown_extension_and_a_missing_folder(tmp_path):
    t = Tensor([1.0], requires_grad=True).exp()
    with pytest.raises(ValueError, match=r"'\.jpg'.*\.svg, \.png, \.pdf, \.dot"):
        mg.save_graph(t, tmp_path / "g.jpg")
    with pytest.raises(ValueError, match="none"):
        mg.save_graph(t, tmp_path / "graph")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        mg.save_graph(t, tmp_path / "nowhere" / "g.svg")
    assert os.listdir(tmp_path) == []


@pytest.fixture
def no_dot_on_path(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None


def test_without_graphviz_save_graph_writes_the_dot_text_next_to_the_asked_path(tmp_path, no_dot_on_path):
    t = Tensor([1.0, 2.0], requires_grad=True, name="x").tanh()
    path = mg.save_graph(t, tmp_path / "graph.svg")
    assert path == tmp_path / "graph.dot"
    assert path.read_text(encoding="utf-8") == mg.to_dot(t)
    assert not (tmp_path / "graph.svg").exists()


def test_without_graphviz_save_graph_never_writes_over_a_dot_file_not_asked_for(tmp_path, no_dot_on_path):
    t = Tensor([1.0, 2.0], requires_grad=True, name="x").tanh()
    (tmp_path / "graph.dot").write_text("the user's own graph")
    with pytest.raises(FileExistsError, match=r"Graphviz programs are missing.*graph\.dot.*not written over"):
        mg.save_graph(t, tmp_path / "graph.svg")
    assert (tmp_path / "graph.dot").read_text() == "the user's own graph"
    assert sorted(os.listdir(tmp_path)) == ["bin", "graph.dot"]


def test_without_graphviz_rendering_says_how_to_install_it(tmp_path, no_dot_on_path):
    g = mg.draw_graph(Tensor([1.0, 2.0], requires_grad=True, name="x").tanh())
    with pytest.raises(graphviz.ExecutableNotFound, match="apt-get install graphviz"):
        g.pipe(format="svg")
    with pytest.raises(graphviz.ExecutableNotFound, match="brew install graphviz"):
        g.render(tmp_path / "g", format="png")
    with pytest.raises(graphviz.ExecutableNotFound, match="Graphviz"):
        g._repr_mimebundle_()  # what Jupyter calls to show it inline
    assert not (tmp_path / "g.png").exists()


# ----- the README's picture ----------------------------------------------------------------------------


def test_the_committed_picture_of_the_labs_network_has_its_named_nodes():
    # Made by `python -m nets.twolayer --graph docs/twolayer_graph.svg`.
    path = pathlib.Path(__file__).resolve().parents[2] / "docs" / "twolayer_graph.svg"
    root = ET.parse(path).getroot()
    titles = {t.text for t in root.iter(f"{SVG}title")}
    assert {"W1", "b1", "W2", "b2", "X", "Y", "Z1", "A1", "Z2", "A2", "J"} <= titles
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"log A2", "1 - A2", "log(1 - A2)", "Y log A2 + (1 - Y) log(1 - A2)", "-1/m"} <= texts
    assert "‖grad‖" in path.read_text(encoding="utf-8")


def test_names_with_control_characters_or_lone_surrogates_draw_and_render(tmp_path):
    names = ["a\x01b", "x\ud800", "tab\there", "new\nline", "caf\udce9", "bell\x07\x7f"]
    tensors = [Tensor([1.0, 2.0], requires_grad=True, name=name) for name in names]
    total = tensors[0]
    for t in tensors[1:]:
        total = total + t
    total = total.sum()
    total.backward()
    dot = mg.to_dot(total, title="data caf\udce9.csv,\x1b[31m red")
    dot.encode("utf-8")  # no lone surrogate left to break the encoding
    for shown in ("a\\x01b", "x\\ud800", "tab\\there", "new\\nline", "caf\\xe9", "bell\\x07\\x7f"):
        assert shown in dot, shown
    assert not any(ord(c) < 32 and c not in "\t\n" for c in dot)  # DOT indents with tabs
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz dot program is not installed")
    svg = mg.draw_graph(total).pipe(format="svg").decode()
    assert "a\\x01b" in svg and "caf\\xe9" in svg


def test_no_label_shows_minus_zero():
    x = Tensor(np.array([0.0, 1.5]), requires_grad=True, name="x")
    y = -x  # -0.0 and -1.5
    y.name = "y"
    (y * 0.0).sum().backward()  # and gradients of -0.0 too
    dot = mg.to_dot(y)
    assert "-0," not in dot and "-0]" not in dot and "-0<" not in dot and ">-0 " not in dot
    assert "[0, -1.5]" in dot

"""MkDocs hook: the operations reference, written from the rule table at every build.

Every `mg.Op` reachable from the packages below (private ones such as `_matmul` included, under their
`.name`) gets a section: its name, its signature, the first paragraph of its docstring, and its rule as
written in the source. The page is never committed, so it cannot drift from the code; tests/docs/ checks
that it lists every operation the source defines.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import pkgutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PAGE = "reference/operations.md"
PACKAGES = ("minigrad", "nets")

log = logging.getLogger("mkdocs.hooks.operations")


def registered_operations(packages: tuple[str, ...] = PACKAGES) -> tuple[list[Any], list[str]]:
    """Every `Op` defined in `packages`, once each, by module then name; and the modules that could not load.

    A module whose optional dependency is missing (`minigrad.testing` needs hypothesis) is listed as
    skipped rather than failing the build; any other import error is raised.
    """
    from minigrad import Op

    found: dict[int, Any] = {}
    skipped: list[str] = []
    for name in _module_names(packages):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name and error.name.split(".")[0] in packages:
                raise
            skipped.append(f"{name} (needs {error.name})")
            continue
        for value in vars(module).values():
            if isinstance(value, Op):
                found.setdefault(id(value), value)
    operations = sorted(found.values(), key=lambda o: (_home(o), o.name))
    return operations, skipped


def _module_names(packages: tuple[str, ...]) -> Iterator[str]:
    for package_name in packages:
        package = importlib.import_module(package_name)
        yield package_name
        for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
            if not info.name.endswith("__main__"):  # importing a __main__ would run the command
                yield info.name


def _home(operation: Any) -> str:
    return operation.forward.__module__


# Where an Op keeps its rule: one function for all inputs, or one per input (named `rules` before the
# core was cut into modules, `input_rules` after).
ONE_RULE = "rule"
PER_INPUT = ("input_rules", "rules")


def rule_functions(operation: Any) -> tuple[Callable[..., Any], ...]:
    """The function(s) registered with `defvjp`: `.rule` (one for all inputs) or one per input.

    Raises LookupError when none is found: every operation of minigrad and nets has a rule, so an empty
    answer means that `Op` keeps its rules under a name this hook does not know (a rename in the core),
    and the page would silently show no rules. The message lists the attributes the Op has.
    """
    rule = getattr(operation, ONE_RULE, None)
    if rule is not None:
        return (rule,)
    for attribute in PER_INPUT:
        rules = getattr(operation, attribute, None)
        if rules:
            return tuple(rules)
    attributes = sorted(a for a in vars(operation) if not a.startswith("__"))
    places = ", ".join("." + a for a in (ONE_RULE, *PER_INPUT))
    raise LookupError(
        f"operation {operation.name!r}: no rule found in {places} (it has {attributes}); "
        "if Op renamed them, update docs/hooks/operations.py (rule_functions)"
    )


def rule_source(rule: Callable[..., Any]) -> str:
    """The rule as written: a named function's whole definition; for a lambda, its `defvjp(...)` statement."""
    if rule.__name__ != "<lambda>":
        return textwrap.dedent(inspect.getsource(rule)).rstrip()
    lines, _ = inspect.findsource(rule)
    first = rule.__code__.co_firstlineno  # 1-based
    tree = ast.parse("".join(lines))
    for node in ast.walk(tree):
        inside = isinstance(node, ast.stmt) and node.lineno <= first <= (node.end_lineno or node.lineno)
        # the innermost simple statement: `sigmoid.defvjp(lambda ...)`, not a block that holds it
        if inside and not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.If | ast.With | ast.For):
            return textwrap.dedent("".join(lines[node.lineno - 1 : node.end_lineno])).rstrip()
    return textwrap.dedent(inspect.getsource(rule)).rstrip()


def operation_section(operation: Any) -> str:
    """One operation's section of the page, in Markdown."""
    forward = operation.forward
    doc = (inspect.getdoc(forward) or "").split("\n\n")[0].strip()
    rules = rule_functions(operation)
    sources = list(dict.fromkeys(rule_source(r) for r in rules))  # two lambdas of one defvjp: once
    _, line = inspect.getsourcelines(forward)
    parts = [
        f"### `{operation.name}`",
        "",
        f"```python\n{operation.name}{inspect.signature(forward)}\n```",
        "",
        f"{doc or '*(no docstring)*'}",
        "",
        f"{_public_names(operation)}Defined in `{_home(operation)}`, line {line}.",
        "",
    ]
    parts += ["Rule:", "", "```python", "\n\n".join(sources), "```", ""]
    return "\n".join(parts)


def _public_names(operation: Any) -> str:
    import minigrad as mg

    names = []
    public = getattr(mg, operation.name, None)
    if public is operation:
        names.append(f"`mg.{operation.name}`")
    elif callable(public) and operation.name in getattr(mg, "__all__", ()):
        names.append(f"`mg.{operation.name}` (which checks its arguments, then calls it)")
    if callable(getattr(mg.Tensor, operation.name, None)):
        names.append(f"`Tensor.{operation.name}`")
    return f"Called as {', '.join(names)}. " if names else ""


def operations_page() -> str:
    """The whole page, in Markdown."""
    operations, skipped = registered_operations()
    head = [
        "# Operations and their rules",
        "",
        "Every operation registered with `@mg.op` in `minigrad` and `nets`, and its rule (`defvjp`) "
        "exactly as the source writes it. This page is generated from the rule table when the site is "
        "built, so it is always the code's. A rule is given the output's gradient `g`, the output `out` and "
        "the inputs, and returns each input's gradient: see [your own operations]"
        "(../guides/own-operations.md).",
        "",
        f"{len(operations)} operations:",
        "",
        "| operation | defined in | signature |",
        "| --- | --- | --- |",
    ]
    for o in operations:
        head.append(f"| [`{o.name}`](#{o.name}) | `{_home(o)}` | `{o.name}{inspect.signature(o.forward)}` |")
    if skipped:
        head += [
            "",
            "Not imported at this build (a missing optional dependency): " + ", ".join(skipped) + ".",
        ]
    sections: list[str] = []
    module = None
    for o in operations:
        if _home(o) != module:
            module = _home(o)
            sections.append(f"## `{module}`\n")
        sections.append(operation_section(o))
    return "\n".join(head) + "\n\n" + "\n".join(sections)


def on_config(config: Any) -> Any:
    """MkDocs event: import `minigrad` and `nets` from this checkout, not from wherever pip installed them."""
    root = str(Path(config.config_file_path).resolve().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    return config


def on_files(files: Any, config: Any) -> Any:
    """MkDocs event: add the generated page to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=operations_page()))
    return files


__all__ = ["on_files", "operation_section", "operations_page", "registered_operations", "rule_source"]

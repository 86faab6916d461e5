"""Every public name has a docstring: the API reference (mkdocstrings) is made of them.

Public means: every name in `minigrad.__all__`; every public function and class of `minigrad.optim`,
`minigrad.testing` and of the lab's modules in `nets`; every public method and property of those classes
(`Tensor.sum`, `Tensor.shape`, ...). A plain attribute of `__slots__` (`Tensor.requires_grad`) cannot
carry a docstring of its own, so its class's docstring must name it.
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest

import minigrad as mg

# Modules whose public names the API reference shows (docs/reference/*.md).
MODULES = [
    "minigrad",
    "minigrad.optim",
    "minigrad.testing",
    "minigrad.nn",
    "minigrad.nn.functional",
    "minigrad.data",
    "nets.twolayer",
    "nets.deep",
    "nets.gradients",
    "nets.digits",
    "nets.datasets",
]


def public_names(module):
    """`__all__` where the module has one; otherwise what it defines itself without a leading underscore."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value) or isinstance(value, mg.Op))
        and getattr(value, "__module__", None) == module.__name__
    ]


def documented_objects():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            value = getattr(module, name)
            if inspect.isfunction(value) or inspect.isclass(value) or isinstance(value, mg.Op):
                yield pytest.param(value, id=f"{module_name}.{name}")
            if inspect.isclass(value) and value.__module__.startswith(("minigrad", "nets")):
                yield from members_of(value)


def members_of(cls):
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        # Methods may be functions, or operations attached as they are (`Tensor.sum` is `mg.sum`).
        if callable(member) or isinstance(member, property | staticmethod | classmethod):
            yield pytest.param(member, id=f"{cls.__module__}.{cls.__qualname__}.{name}")


def own_docstring(value):
    """The object's own docstring: for methods and properties, not one inherited from a base class."""
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    doc = value.__doc__ if not inspect.isclass(value) else vars(value).get("__doc__")
    return (doc or "").strip()


@pytest.mark.parametrize("value", list(documented_objects()))
def test_every_public_name_has_a_docstring(value):
    assert own_docstring(value), f"{value!r} has no docstring; the API reference would show nothing for it"


def slot_attributes(cls):
    return [name for name in getattr(cls, "__slots__", ()) if not name.startswith("_")]


@pytest.mark.parametrize("cls", [mg.Tensor])
def test_public_slot_attributes_are_named_in_the_class_docstring(cls):
    missing = [name for name in slot_attributes(cls) if f"`{name}`" not in (cls.__doc__ or "")]
    assert not missing, f"{cls.__name__}'s docstring does not mention {missing}"


def test_the_check_finds_a_missing_docstring():
    """The test above can fail: an undocumented method is caught."""

    class Undocumented:
        """Documented class."""

        def method(self):
            pass

        @property
        def value(self):
            return 1

    found = {p.id.rsplit(".", 1)[-1]: own_docstring(p.values[0]) for p in members_of(Undocumented)}
    assert found == {"method": "", "value": ""}


def test_every_tensor_method_of_the_contract_is_checked():
    """The walk reaches the Tensor's methods, not only the module functions."""
    ids = {p.id for p in documented_objects()}
    for name in ("sum", "sigmoid", "backward", "shape", "item", "zero_grad", "T"):
        assert f"minigrad.tensor.Tensor.{name}" in ids or any(i.endswith(f"Tensor.{name}") for i in ids), name


def test_the_api_reference_shows_every_public_name():
    """docs/reference/ names each of `minigrad.__all__`, in a `:::` line or a members list."""
    folder = Path(__file__).resolve().parents[2] / "docs" / "reference"
    page = "\n".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.md")))
    shown = set(re.findall(r"^::: minigrad\.(?:\w+\.)*(\w+)$", page, re.M))
    shown |= set(re.findall(r"^ +- (\w+)$", page, re.M))
    assert set(mg.__all__) <= shown, sorted(set(mg.__all__) - shown)

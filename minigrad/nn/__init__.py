"""`minigrad.nn`: networks as modules, PyTorch's way, on minigrad's Tensors and rule table.

    from minigrad import nn
    from minigrad.nn import functional as F

    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    loss = F.cross_entropy(model(x), labels)       # x (batch, 64), labels (batch,) of 0 ... 9

One example per row, as in PyTorch. Parameters and modules assigned in `__init__` are registered
(`module.py`); the layers are in `layers.py`; the fused losses, each one operation whose rule is the lab's
closed form, in `functional.py`, and as modules in `losses.py`.
"""

from minigrad.nn import functional
from minigrad.nn.layers import Dropout, Linear, ReLU, Sequential, Sigmoid, Tanh
from minigrad.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from minigrad.nn.module import IncompatibleKeys, Module, Parameter

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "IncompatibleKeys",
    "Linear",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
]

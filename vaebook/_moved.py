"""Module-level ``__getattr__`` for names that moved to :mod:`vaebook.experiments`.

The old spelling (``vaebook.discrete.exact_gradient``) still works, with a
DeprecationWarning that names the new place, so code written against it keeps running.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Callable


def forward_moved(module: str, moved: dict[str, str]) -> Callable[[str], object]:
    """A ``__getattr__`` for ``module`` that finds each name of ``moved`` in
    ``vaebook.experiments.<moved[name]>``."""

    def __getattr__(name: str):
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        where = "vaebook.experiments." + moved[name]
        warnings.warn(
            f"{module}.{name} moved to {where}.{name}", DeprecationWarning, stacklevel=2
        )
        return getattr(importlib.import_module(where), name)

    return __getattr__

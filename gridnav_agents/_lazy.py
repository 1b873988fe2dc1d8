"""Lazy package attributes (PEP 562): a package names its public objects without importing
the submodules that define them, so ``import gridnav_agents.sic.config`` or building the
``gridnav`` command's parsers does not import torch, stable-baselines3 or pygame."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: attribute ``name`` is imported from the
    submodule ``exports[name]`` on first access and cached in ``namespace`` (its globals).

    A name equal to its submodule's name cannot be lazy (importing the submodule binds the
    package attribute to the module): import it eagerly instead; such an entry is an error.
    """
    clashes = sorted(name for name, module in exports.items() if name == module)
    if clashes:
        raise ValueError(f"{package}: lazy names equal to their submodule: {clashes}")

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__

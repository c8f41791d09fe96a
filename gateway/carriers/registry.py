"""Every carrier module of this package that declares a `CARRIER`: found, not listed, so adding a carrier
is adding a file. Imported lazily (carrier modules import the app's keys)."""

from __future__ import annotations

import functools
import importlib
import pkgutil

import gateway.carriers
from gateway.carriers.base import Carrier


@functools.cache
def carriers() -> dict[str, Carrier]:
    """Carrier name → its declaration, in file-name order."""
    found = {}
    # Modules only: the sdk package holds the senders, imported when one is built.
    for module in sorted(m.name for m in pkgutil.iter_modules(gateway.carriers.__path__) if not m.ispkg):
        declared = getattr(importlib.import_module(f"gateway.carriers.{module}"), "CARRIER", None)
        if isinstance(declared, Carrier):
            found[declared.name] = declared
    return found

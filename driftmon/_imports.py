"""Deferred imports: a module that costs start-up time is imported on first use."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _Deferred(ModuleType):
    """Stands in for a module until an attribute of it is first read.

    Thread-safe, unlike importlib's LazyLoader on Python 3.11: the real import goes through
    ``importlib.import_module``, which holds the import system's per-module lock.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = importlib.import_module(self.__name__)
            self._module = module
        return getattr(module, attribute)


def lazy_import(name: str) -> ModuleType:
    """``name``, imported when an attribute of it is first read.

    pandas takes about 0.3 s to import; `driftmon check` on Parquet never needs it.
    """
    return _Deferred(name)

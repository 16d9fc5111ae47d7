"""Make the ``scenarios`` package importable inside Pyodide.

This file runs inside Pyodide, not on the host: the engines' host
(``tests/host/runner.py``, sent by ``tests/engines.py`` to every engine)
writes it into Pyodide's file system, imports it and calls :func:`install`
with the scenario sources.

The sources go to the same absolute path as on the host, so tracebacks show
the scenarios' lines, and they are imported with pytest's assertion
rewriting (pytest's wheel is in the test distribution), as the host's own
test modules are, so a failed ``assert`` shows its values.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import shutil
import sys
from pathlib import Path
from typing import Any

__all__ = ["install"]


class _RewritingLoader(importlib.machinery.SourceFileLoader):
    def source_to_code(  # type: ignore[override]
        self, data: Any, path: Any, *, _optimize: int = -1
    ) -> Any:
        from _pytest.assertion.rewrite import rewrite_asserts

        tree = ast.parse(data, filename=path)
        rewrite_asserts(tree, bytes(data), path, None)
        return compile(tree, path, "exec", dont_inherit=True)


class _ScenariosFinder(importlib.abc.MetaPathFinder):
    """Imports the ``scenarios`` package from ``root`` with assertion rewriting."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "scenarios" and not fullname.startswith("scenarios."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path or [self.root])
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = _RewritingLoader(spec.loader.name, spec.loader.path)
        return spec


def install(files: dict[str, str], root: str) -> None:
    """Write the scenarios package (``{file name: source}``) under ``root``
    and make it importable; a second call replaces the first."""
    package = Path(root) / "scenarios"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _ScenariosFinder)]
    sys.meta_path.insert(0, _ScenariosFinder(root))
    for name in [name for name in sys.modules if name.split(".")[0] == "scenarios"]:
        del sys.modules[name]
    importlib.invalidate_caches()

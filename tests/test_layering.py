"""The layers stay apart: the dispatcher, the common code and the worker never import the
server or Django.

`lava-run` and `lava-worker` run on boards' workers, where neither Django nor the
server's settings exist. Checked twice: statically (every import statement, in
functions too, relative ones resolved) and by importing every module in a clean
interpreter and looking at `sys.modules`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
LAYERS = ("lava.dispatcher", "lava.common", "lava.worker")
# The same for all three layers: the server (and the web stack it runs on) is above them.
FORBIDDEN = ("django", "rest_framework", "lava.server")


@dataclass(frozen=True)
class Import:
    """One imported module name, and where: `path:line` in `module`."""

    module: str
    path: Path
    line: int
    name: str

    def __str__(self) -> str:
        where = (
            self.path.relative_to(SRC.parent) if self.path.is_relative_to(SRC.parent) else self.path
        )
        return f"{where}:{self.line}: {self.module} imports {self.name}"


def is_forbidden(name: str) -> bool:
    return any(name == top or name.startswith(top + ".") for top in FORBIDDEN)


def module_name(path: Path) -> str:
    """`lava.dispatcher.run` for src/lava/dispatcher/run.py, the package for __init__.py."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of `from <level dots><target> import ...` written in `module`."""
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(base) - 1:
        raise ValueError(f"relative import beyond the top package in {module}")
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def imported_names(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, nested ones included.

    `from X import y` yields X and X.y, since y may be a submodule; a constant
    `importlib.import_module("...")` or `__import__("...")` counts as an import.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, is_package, node.level, node.module)
            yield node.lineno, base
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            yield node.lineno, node.args[0].value  # type: ignore[attr-defined]


def _dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return (
        name in ("import_module", "__import__")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and not node.args[0].value.startswith(".")
    )


def layer_imports(layer: str) -> Iterator[Import]:
    root = SRC.joinpath(*layer.split("."))
    for path in sorted(root.rglob("*.py")):
        module = module_name(path)
        source = path.read_text(encoding="utf-8")
        for line, name in imported_names(source, module, path.name == "__init__.py"):
            yield Import(module, path, line, name)


@pytest.mark.parametrize("layer", LAYERS)
def test_no_forbidden_import_statements(layer: str) -> None:
    imports = list(layer_imports(layer))
    assert imports, f"no imports found under {SRC / layer.replace('.', '/')}: wrong path?"
    first: dict[tuple[Path, int], Import] = {}  # one report a line
    for found in imports:
        if is_forbidden(found.name):
            first.setdefault((found.path, found.line), found)
    violations = [str(found) for _, found in sorted(first.items())]
    assert not violations, f"{layer} must not import {', '.join(FORBIDDEN)}:\n" + "\n".join(
        violations
    )


# Imports every module of the layers in a fresh interpreter; a meta-path hook notes,
# for each forbidden module imported, the innermost frame of the layers that asked.
PROBE = """
import importlib, json, pkgutil, sys, traceback
layers, forbidden = json.loads(sys.argv[1]), tuple(json.loads(sys.argv[2]))
def bad(name): return any(name == top or name.startswith(top + ".") for top in forbidden)
importing, report = [""], {"culprits": [], "errors": [], "modules": 0}
class Watch:
    def find_spec(self, name, path=None, target=None):
        if bad(name):
            frames = [f for f in traceback.extract_stack()
                      if any(f"/{l.replace('.', '/')}/" in f.filename for l in layers)]
            where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
            if not any(c.startswith(where + ":") for c in report["culprits"]):
                report["culprits"].append(f"{where}: {name} (importing {importing[0]})")
        return None
sys.meta_path.insert(0, Watch())
for layer in layers:
    package = importlib.import_module(layer)
    names = [layer] + [info.name for info in pkgutil.walk_packages(
        package.__path__, layer + ".", onerror=lambda name: None)]
    for name in names:
        if name.endswith(".__main__"):  # importing it runs the program; read statically
            continue
        importing[0] = name
        try:
            importlib.import_module(name)
            report["modules"] += 1
        except Exception as exc:
            report["errors"].append(f"{name}: {type(exc).__name__}: {exc}")
report["loaded"] = sorted(name for name in sys.modules if bad(name))
print(json.dumps(report))
"""


def test_importing_the_layers_loads_no_forbidden_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(LAYERS), json.dumps(FORBIDDEN)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"the import probe failed:\n{proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    assert not report["errors"], "modules that do not import:\n" + "\n".join(report["errors"])
    assert report["modules"] > len(LAYERS), f"only {report['modules']} modules imported"
    assert not report["loaded"], (
        f"importing {', '.join(LAYERS)} loaded {report['loaded'][:10]}; imported at:\n"
        + "\n".join(report["culprits"])
    )


# --- the checker itself: what it must see -------------------------------------------


@pytest.mark.parametrize(
    ("module", "is_package", "source", "expected"),
    [
        ("lava.worker.client", False, "from ..server import models", "lava.server.models"),
        ("lava.worker.client", False, "from .. import server", "lava.server"),
        ("lava.dispatcher.actions", True, "from ...server.api import x", "lava.server.api.x"),
        ("lava.common.log", False, "def f():\n    import django.conf\n", "django.conf"),
        ("lava.common.log", False, "from lava import server", "lava.server"),
        ("lava.worker.main", False, "import rest_framework.views as v", "rest_framework.views"),
        ("lava.worker.main", False, "importlib.import_module('lava.server.x')", "lava.server.x"),
    ],
)
def test_checker_sees(module: str, is_package: bool, source: str, expected: str) -> None:
    names = [name for _, name in imported_names(source, module, is_package)]
    assert expected in names
    assert any(is_forbidden(name) for name in names)


@pytest.mark.parametrize(
    "source",
    [
        "from . import serial",
        "from .server_names import x",
        "import lava.serverless",
        "import djangoish",
    ],
)
def test_checker_allows(source: str) -> None:
    names = [name for _, name in imported_names(source, "lava.dispatcher.run", False)]
    assert not any(is_forbidden(name) for name in names), names

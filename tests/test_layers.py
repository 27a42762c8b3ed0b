"""The layers ARCHITECTURE.md draws, held by the source: each module imports only from its own layer or
the ones below it (foundation < domains < flows < edge)."""

from __future__ import annotations

import pytest
from test_architecture import _modules, scanned_package

pytestmark = pytest.mark.interpreter_independent  # this repository's source, read as text: the same on every Python

EDGE = {"hexpack.cli", "hexpack.__main__", "hexpack.nox_support"}
LAYERS = {
    "commands": 3,  # the edge: argument parsing and output
    "release": 2,  # flows
    "verify": 2,
    "onboarding": 2,
    "hex": 1,  # domains
    "mix": 1,
    "python": 1,
    "versioning": 1,
}
NAMES = {0: "foundation", 1: "domains", 2: "flows", 3: "edge"}


def layer(module: str) -> int:
    if module in EDGE:
        return 3
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def upward_imports(modules) -> list[str]:
    return [
        f"{module.name} ({NAMES[layer(module.name)]}) imports {target} ({NAMES[layer(target)]}) at line {line}"
        for module in modules.values()
        for target, line in module.imports.items()
        if layer(target) > layer(module.name)
    ]


def test_every_module_imports_only_from_its_layer_or_below():
    modules = scanned_package()
    assert len(modules) > 60  # the scan saw the package, not an empty folder
    assert upward_imports(modules) == []


def test_every_subpackage_has_a_layer():
    """A new subpackage must be placed in ARCHITECTURE.md's layers (else it would count as foundation)."""
    subpackages = {name.split(".")[1] for name in _modules() if name.count(".") >= 2}
    assert subpackages <= set(LAYERS)


def test_the_check_sees_an_upward_import():
    modules = scanned_package()
    modules["hexpack.errors"].imports["hexpack.verify.runner"] = 7
    assert upward_imports(modules) == ["hexpack.errors (foundation) imports hexpack.verify.runner (flows) at line 7"]

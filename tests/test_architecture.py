"""The package's shape, read from its source with ``ast``: no import circles, and no import hidden in a
function without a reason.

A function-level import is allowed only with a comment that starts ``# lazy:`` and says why (loading a
heavy or optional module only when that path runs, for start-up time), on the import's line or the line
just above a group of imports. The circle check counts those imports too, so none of them can hide a circle.
"""

from __future__ import annotations

import ast
import copy
import functools
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import hexpack
import pytest

pytestmark = pytest.mark.interpreter_independent  # this repository's source, read as text: the same on every Python

PACKAGE = Path(hexpack.__file__).parent
LAZY = "# lazy:"
MAX_STATIC_READER_LINES = 500


@dataclass
class Module:
    name: str
    path: Path
    package: list[str]
    imports: dict[str, int] = field(default_factory=dict)  # hexpack module -> first line importing it
    unexplained: list[str] = field(default_factory=list)  # "path:line: import text"


def _modules() -> dict[str, Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["hexpack", *path.relative_to(PACKAGE).with_suffix("").parts]
        package = parts[:-1]
        if parts[-1] == "__init__":
            parts = package
        found[".".join(parts)] = Module(".".join(parts), path, package)
    return found


def _comments(text: str) -> dict[int, str]:
    return {
        tok.start[0]: tok.string
        for tok in tokenize.generate_tokens(io.StringIO(text).readline)
        if tok.type == tokenize.COMMENT
    }


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _targets(module: Module, node: ast.Import | ast.ImportFrom, known: dict[str, Module]) -> list[str]:
    """The hexpack modules an import statement loads (a name that is a submodule counts as that module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    base = node.module or ""
    if node.level:
        stem = module.package[: len(module.package) - node.level + 1]
        base = ".".join(stem + ([node.module] if node.module else []))
    targets = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        target = sub if sub in known else base
        if target in known and target != module.name:
            targets.append(target)
    return targets


def _gives_reason(comment: str) -> bool:
    return comment.startswith(LAZY) and bool(comment[len(LAZY) :].strip())


def _explained(node: ast.stmt, body: list[ast.stmt], comments: dict[int, str]) -> bool:
    """``# lazy: why`` on the import's lines, or just above the run of imports it belongs to."""
    if any(_gives_reason(comments.get(line, "")) for line in range(node.lineno, (node.end_lineno or 0) + 1)):
        return True
    index = body.index(node)
    while index > 0 and isinstance(body[index - 1], (ast.Import, ast.ImportFrom)):
        index -= 1
    return _gives_reason(comments.get(body[index].lineno - 1, ""))


def _scan(modules: dict[str, Module], root: Path = PACKAGE.parent) -> None:
    for module in modules.values():
        text = module.path.read_text(encoding="utf-8")
        comments = _comments(text)
        tree = ast.parse(text)
        for node in tree.body:
            if _is_type_checking(node):
                continue  # only a type checker runs these
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    for target in _targets(module, sub, modules):
                        module.imports.setdefault(target, sub.lineno)
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for holder in ast.walk(function):
                for body in (getattr(holder, name, None) for name in ("body", "orelse", "finalbody", "handlers")):
                    if not isinstance(body, list):
                        continue
                    for node in body:
                        if isinstance(node, (ast.Import, ast.ImportFrom)) and not _explained(node, body, comments):
                            where = module.path.relative_to(root)
                            module.unexplained.append(f"{where}:{node.lineno}: {ast.unparse(node)}")


@functools.cache
def _scanned_package() -> dict[str, Module]:
    modules = _modules()
    _scan(modules)
    return modules


def scanned_package() -> dict[str, Module]:
    """The package's modules with their imports, scanned once per test process (tokenizing it all takes a
    second or two); a copy, so a test may change it."""
    return copy.deepcopy(_scanned_package())


def _circles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each as a path through the group."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in modules[name].imports:
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in modules:
        if name not in index:
            visit(name)
    return groups


def _describe(group: list[str], modules: dict[str, Module]) -> str:
    edges = [
        f"{name} -> {target} (line {line})"
        for name in group
        for target, line in modules[name].imports.items()
        if target in group
    ]
    return "; ".join(edges)


def test_no_import_circles() -> None:
    modules = scanned_package()
    circles = _circles(modules)
    assert not circles, "import circles (move what both need into a lower module): " + " | ".join(
        _describe(group, modules) for group in circles
    )


def test_function_level_imports_say_why() -> None:
    modules = scanned_package()
    unexplained = [line for module in modules.values() for line in module.unexplained]
    assert not unexplained, (
        f"imports inside functions without a `{LAZY} <why>` comment (import at the top of the module, "
        "or say why it must wait):\n" + "\n".join(unexplained)
    )


def test_the_checks_see_a_circle_and_a_bare_function_import(tmp_path: Path) -> None:
    """The scanner itself: a two-module circle through a function-level import is found and named."""
    a = Module("hexpack.a", tmp_path / "a.py", ["hexpack"])
    b = Module("hexpack.b", tmp_path / "b.py", ["hexpack"])
    a.path.write_text("from . import b\n", encoding="utf-8")
    b.path.write_text("def f():\n    from . import a\n\n\ndef g():\n    # lazy: only g needs it\n    import json\n")
    modules = {"hexpack.a": a, "hexpack.b": b}
    _scan(modules, tmp_path)
    assert _circles(modules) == [["hexpack.a", "hexpack.b"]]
    assert [line.split(": ", 1)[1] for line in b.unexplained] == ["from . import a"]
    assert a.unexplained == []


def test_static_reader_modules_stay_small() -> None:
    """The static reader is split by stage (tokens, syntax, evaluation, ...): no stage module grows back."""
    sizes = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in (PACKAGE / "mix" / "static").glob("*.py")
    }
    assert {"tokens.py", "syntax.py", "evaluation.py"} <= set(sizes)
    assert max(sizes.values()) <= MAX_STATIC_READER_LINES, sizes

"""Generating the protobuf and gRPC stubs with a pinned grpcio-tools.

``[tool.hexpack.stubs]`` (or ``[stubs]`` in a top-level ``hexpack.toml``)::

    grpcio-tools = "1.85.1"            # the one pin; the protoc inside it generates
    protos = ["priv_python/proto"]     # .proto files or directories searched for them
    include = ["priv_python/proto"]    # -I roots (default: the protos directories)
    out = "priv_python"                # where the stubs land, by proto name
    requirements = ["priv_python/requirements.txt", "priv_python/pyproject.toml"]

Each proto ``a/b.proto`` (named relative to its include root) gives
``a/b_pb2.py``, ``a/b_pb2_grpc.py`` and ``a/b_pb2.pyi`` under ``out``.

The output is deterministic and each file carries a header line with a
fingerprint of its inputs (the proto names and bytes, the grpcio-tools pin and
the version of hexpack's import fix-up), so a run whose inputs did not change
writes nothing. Imports between generated modules are rewritten to work both
when the stubs' directory is on ``sys.path`` and when the stubs are imported as
part of an enclosing package (see ``fix_imports``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import config, proc
from .. import settings_schema as schema
from ..errors import CommandNotFound, HexpackError, ProjectError, raise_together
from ..fsutil import FileTransaction

__all__ = [
    "FIXUP_VERSION",
    "CheckResult",
    "GenerateResult",
    "StubSettings",
    "check",
    "fix_imports",
    "generate",
    "is_fresh",
    "load_settings",
    "render",
    "toolchain_requirement",
]

# Bump whenever the post-processing below changes what it writes: it is part
# of the fingerprint, so every project's stubs are regenerated once.
FIXUP_VERSION = 1

HEADER_PREFIX = "# hexpack-stubs:"
_HEADER = re.compile(r"^# hexpack-stubs: .*\bfingerprint (?P<fp>[0-9a-f]+)\b", re.MULTILINE)
_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi")
#: the pin ``hexpack init`` writes when the committed stubs do not say which grpcio-tools made them
DEFAULT_PIN = "1.85.1"
TABLE = schema.Table(
    "stubs",
    (
        schema.Field(
            "grpcio-tools",
            schema.Text(noun='one exact version such as "1.85.1"', pattern=r"\d+(\.\d+)*"),
            required=True,
            form=f'"{DEFAULT_PIN}"',
        ),
        schema.Field("protos", schema.ProjectPaths(), default=("priv_python/proto",)),
        schema.Field("include", schema.ProjectPaths(), form='["priv_python/proto"]'),  # default: protos' directories
        schema.Field("out", schema.ProjectPath(), default="priv_python"),  # stubs are written and pruned there
        schema.Field("requirements", schema.ProjectPaths(), form='["priv_python/requirements.txt"]'),
    ),
    purpose="`hexpack stubs` / `nox -s stubs`: the one grpcio-tools pin; stubs go straight into out",
)


@dataclass(frozen=True)
class StubSettings:
    root: Path
    pin: str
    protos: list[Path]
    include: list[Path]
    out: Path
    requirements: list[Path]
    source: str = "[tool.hexpack.stubs]"

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Proto:
    path: Path  # on disk
    name: str  # as protoc names it, relative to its include root (posix)

    @property
    def module(self) -> str:
        """Dotted module name of its ``_pb2`` (``a/b-c.proto`` -> ``a.b_c_pb2``)."""
        return self.name[: -len(".proto")].replace("-", "_").replace("/", ".") + "_pb2"

    def outputs(self) -> list[str]:
        base = self.module.replace(".", "/")
        return [base + ".py", base + "_grpc.py", base + ".pyi"]


@dataclass
class GenerateResult:
    skipped: bool
    fingerprint: str
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    floor_problems: list[HexpackError] = field(default_factory=list)


@dataclass
class CheckResult:
    stale: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    extra: list[Path] = field(default_factory=list)
    floor_problems: list[HexpackError] = field(default_factory=list)
    # made by another generator (no hexpack header), so not hexpack's yet: a first `hexpack stubs` adopts them;
    # path -> True when only hexpack's header and import rewrite differ (the same protoc output)
    foreign: dict[Path, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.stale or self.missing or self.extra or self.floor_problems or self.foreign)


# ----------------------------------------------------------------------------- settings


def load_settings(root: str | os.PathLike[str]) -> StubSettings:
    """Read and validate the stubs settings of the project at ``root``."""
    cfg = config.load(root)
    values = cfg.read(TABLE)
    root_path = cfg.root
    protos = [root_path / p for p in values["protos"]]
    include = [root_path / p for p in values["include"] or ()] or [p for p in protos if p.suffix != ".proto"]
    out = root_path / values["out"]
    if values["requirements"] is not None:
        requirements = [root_path / p for p in values["requirements"]]
    else:
        requirements = [p for p in (out / "requirements.txt", out / "pyproject.toml") if p.is_file()]
    return StubSettings(root_path, values["grpcio-tools"], protos, include, out, requirements, cfg.named("stubs"))


def toolchain_requirement(root: str | os.PathLike[str]) -> str:
    """``grpcio-tools==<pin>``, for the nox session that installs the pin."""
    return f"grpcio-tools=={load_settings(root).pin}"


# ----------------------------------------------------------------------------- inputs


def find_protos(settings: StubSettings) -> list[Proto]:
    """Every proto to compile, named as protoc names it, sorted; problems reported together."""
    problems: list[HexpackError] = []
    paths: list[Path] = []
    for entry in settings.protos:
        if entry.is_file():
            paths.append(entry)
        elif entry.is_dir():
            paths.extend(sorted(p for p in entry.rglob("*.proto") if p.is_file()))
        else:
            problems.append(
                ProjectError(
                    "proto path not found", subject=settings.rel(entry), hint=f"fix protos in {settings.source}"
                )
            )
    protos: dict[str, Proto] = {}
    for path in paths:
        name = _proto_name(path, settings.include)
        if name is not None and not _is_utf8(name):
            problems.append(
                ProjectError(
                    "proto file name is not valid UTF-8",
                    subject=repr(os.fsencode(settings.rel(path)))[2:-1],
                    hint="rename it (protoc and the generated imports need UTF-8 names)",
                )
            )
        elif name is None:
            problems.append(
                ProjectError(
                    "proto is under no include root",
                    subject=settings.rel(path),
                    hint=f"add its root to include in {settings.source}",
                )
            )
        elif name not in protos:
            protos[name] = Proto(path, name)
    if not protos and not problems:
        problems.append(
            ProjectError(
                "no .proto files found",
                subject=", ".join(settings.rel(p) for p in settings.protos),
                hint=f"fix protos in {settings.source}",
            )
        )
    raise_together(problems, summary="problems with the protos")
    return [protos[name] for name in sorted(protos)]


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fingerprint(settings: StubSettings, protos: Iterable[Proto]) -> str:
    """Hash of everything that decides the output bytes (16 hex digits)."""
    digest = hashlib.sha256()
    digest.update(f"grpcio-tools {settings.pin}\nfixup {FIXUP_VERSION}\n".encode())
    for proto in protos:
        data = proto.path.read_bytes()
        digest.update(f"{proto.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def _proto_name(path: Path, include: list[Path]) -> str | None:
    resolved = path.resolve()
    for root in include:
        try:
            return resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return None


# ----------------------------------------------------------------------------- toolchain


def installed_toolchain() -> str | None:
    """The grpcio-tools version importable by this Python, or None."""
    try:
        return importlib.metadata.version("grpcio-tools")
    except importlib.metadata.PackageNotFoundError:
        return None


def require_toolchain(settings: StubSettings) -> Path:
    """The bundled ``_proto`` include dir of the pinned grpcio-tools; refuses any other version."""
    install = f"{sys.executable} -m pip install grpcio-tools=={settings.pin}"
    found = installed_toolchain()
    if found is None:
        raise CommandNotFound(
            f"grpcio-tools is not installed for {sys.executable}",
            subject="hexpack stubs",
            hint=f"install the pinned version: {install} (or run `nox -s stubs`)",
        )
    if found != settings.pin:
        raise ProjectError(
            f"grpcio-tools {found} is installed, but {settings.source} pins {settings.pin}",
            subject="hexpack stubs",
            hint=f"install the pin: {install} (or run `nox -s stubs`)",
        )
    spec = importlib.util.find_spec("grpc_tools")
    if spec is None or not spec.submodule_search_locations:
        raise CommandNotFound("grpc_tools cannot be imported", subject="hexpack stubs", hint=f"reinstall it: {install}")
    return Path(list(spec.submodule_search_locations)[0]) / "_proto"


# ----------------------------------------------------------------------------- generating


@dataclass(frozen=True)
class Toolchain:
    """Another interpreter with the pinned grpcio-tools (a venv), and its bundled ``_proto`` include dir."""

    python: Path
    include: Path


def render(
    settings: StubSettings, protos: list[Proto] | None = None, toolchain: Toolchain | None = None
) -> dict[str, bytes]:
    """Generate every stub in memory: ``{path relative to out: bytes}``.

    protoc writes into a private temporary directory; nothing under the
    project is touched.
    """
    protos = find_protos(settings) if protos is None else protos
    bundled = toolchain.include if toolchain is not None else require_toolchain(settings)
    python = str(toolchain.python) if toolchain is not None else sys.executable
    fp = fingerprint(settings, protos)
    with tempfile.TemporaryDirectory(prefix="hexpack-stubs-") as tmp:
        argv: list[str] = [python, "-m", "grpc_tools.protoc"]
        for root in settings.include:
            argv.append(f"--proto_path={root}")
        argv += [f"--proto_path={bundled}", f"--python_out={tmp}", f"--grpc_python_out={tmp}", f"--pyi_out={tmp}"]
        argv += [str(p.path) for p in protos]
        proc.run(argv, cwd=settings.root, hint="fix the .proto file named above")
        generated: dict[str, bytes] = {}
        for dirpath, _dirs, files in os.walk(tmp):
            for name in files:
                full = Path(dirpath) / name
                generated[full.relative_to(tmp).as_posix()] = full.read_bytes()
    local = {p.module for p in protos}
    header = (
        f"{HEADER_PREFIX} grpcio-tools {settings.pin}, fixup {FIXUP_VERSION}, fingerprint {fp}"
        " -- regenerate with `hexpack stubs`, do not edit\n"
    )
    result: dict[str, bytes] = {}
    for rel in sorted(generated):
        text = generated[rel].decode("utf-8")
        if rel.endswith(".py"):
            module = rel[: -len(".py")].replace("/", ".")
            text = fix_imports(text, module, local)
        result[rel] = _with_header(text, header).encode("utf-8")
    return result


def fix_imports(text: str, module: str, local: set[str]) -> str:
    """Rewrite imports of other generated modules so they work in both layouts.

    protoc writes ``import b_pb2 as b__pb2`` (top-level stubs) or
    ``from pkg import b_pb2 as pkg_dot_b__pb2``. Each import of a module in
    ``local`` becomes a relative import when the stub is loaded inside a
    package deep enough for it, and the original absolute import otherwise
    (the stubs' directory on ``sys.path``, how the Elixir side runs them)::

        if __package__:
            from . import b_pb2 as b__pb2
        else:
            import b_pb2 as b__pb2

    The choice is made on ``__package__``, not by catching ImportError, so a
    real failure inside the imported stub is never masked.
    """

    def replace(match: re.Match[str]) -> str:
        line = match.group(0)
        if match.group("plain"):
            target = match.group("plain")
            alias = match.group("palias")
        else:
            target = f"{match.group('pkg')}.{match.group('name')}"
            alias = match.group("falias")
        if target not in local:
            return line
        dots, relative_from, name = _relative(module, target)
        condition = "__package__" if dots == 1 else f'__package__ and __package__.count(".") >= {dots - 1}'
        return f"if {condition}:\n    from {relative_from} import {name} as {alias}\nelse:\n    {line}"

    pattern = re.compile(
        r"^(?:import (?P<plain>[\w.]+) as (?P<palias>\w+)"
        r"|from (?P<pkg>[\w.]+) import (?P<name>\w+) as (?P<falias>\w+))$",
        re.MULTILINE,
    )
    return pattern.sub(replace, text)


def _relative(module: str, target: str) -> tuple[int, str, str]:
    source_pkg = module.split(".")[:-1]
    *target_pkg, name = target.split(".")
    common = 0
    while common < min(len(source_pkg), len(target_pkg)) and source_pkg[common] == target_pkg[common]:
        common += 1
    dots = 1 + len(source_pkg) - common
    return dots, "." * dots + ".".join(target_pkg[common:]), name


def _with_header(text: str, header: str) -> str:
    lines = text.splitlines(keepends=True)
    # keep a PEP 263 coding line first, as Python only honours it on line 1 or 2
    at = 1 if lines and re.match(r"^#.*coding[:=]", lines[0]) else 0
    return "".join(lines[:at]) + header + "".join(lines[at:])


# ----------------------------------------------------------------------------- commands


def is_fresh(settings: StubSettings, protos: list[Proto] | None = None) -> bool:
    """Whether every expected stub exists with the current fingerprint (no protoc needed)."""
    protos = find_protos(settings) if protos is None else protos
    fp = fingerprint(settings, protos)
    for proto in protos:
        for rel in proto.outputs():
            if file_fingerprint(settings.out / rel) != fp:
                return False
    return True


def generate(
    root: str | os.PathLike[str], *, force: bool = False, transaction: FileTransaction | None = None
) -> GenerateResult:
    """Regenerate the stubs of the project at ``root`` unless they are up to date.

    Changed files are written all or nothing; stubs hexpack generated before
    for protos that are gone are removed. The floors the stubs demand are then
    checked against the requirements (problems are returned, not raised, as
    the stubs themselves are right).
    """
    settings = load_settings(root)
    protos = find_protos(settings)
    fp = fingerprint(settings, protos)
    if not force and is_fresh(settings, protos):
        result = GenerateResult(skipped=True, fingerprint=fp)
    else:
        rendered = render(settings, protos)
        result = GenerateResult(skipped=False, fingerprint=fp)
        plan: dict[Path, bytes] = {}
        for rel, data in rendered.items():
            target = settings.out / rel
            if target.is_file() and target.read_bytes() == data:
                result.unchanged.append(target)
            else:
                plan[target] = data
        problems: list[HexpackError] = []
        for directory in sorted({target.parent for target in plan}):
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                problems.append(
                    ProjectError(
                        "a file is in the way of the stubs' directory",
                        subject=settings.rel(directory),
                        hint=f"move it away or change out in {settings.source}",
                    )
                )
            except OSError as exc:
                problems.append(ProjectError(f"cannot create: {exc.strerror or exc}", subject=settings.rel(directory)))
        raise_together(problems, summary="problems with the protos")
        (transaction or FileTransaction()).apply(plan)
        result.written = sorted(plan)
        expected = {settings.out / rel for rel in rendered}
        for path in owned_stubs(settings.out):
            if path not in expected:
                path.unlink()
                result.removed.append(path)
    result.floor_problems = check_floors(settings, protos)
    return result


def check(root: str | os.PathLike[str], toolchain: Toolchain | None = None) -> CheckResult:
    """Regenerate in a temporary directory and compare with the committed stubs (with ``toolchain``'s
    grpcio-tools when given, else this Python's, which must be the pin)."""
    settings = load_settings(root)
    protos = find_protos(settings)
    rendered = render(settings, protos, toolchain)
    result = CheckResult()
    for rel, data in sorted(rendered.items()):
        target = settings.out / rel
        if not target.is_file():
            result.missing.append(target)
        elif target.read_bytes() != data:
            if file_fingerprint(target) is None:
                result.foreign[target] = _same_protoc_output(target, rel, data, {p.module for p in protos})
            else:
                result.stale.append(target)
    expected = {settings.out / rel for rel in rendered}
    result.extra = [p for p in owned_stubs(settings.out) if p not in expected]
    result.floor_problems = check_floors(settings, protos)
    return result


ADOPT_HINT = "a first `hexpack stubs` adopts them (then commit them)"


def foreign_what(same: bool) -> str:
    """How ``hexpack stubs --check`` and verify describe a stub made by another generator."""
    if same:
        return "made by another generator: the same protoc output, only hexpack's header and import rewrite differ"
    return "made by another generator (no hexpack-stubs header) and differs from what the pinned grpcio-tools makes"


def _same_protoc_output(committed: Path, rel: str, rendered: bytes, local: set[str]) -> bool:
    """Whether a stub made elsewhere is what hexpack renders but for its header line and import rewrite."""
    try:
        text = committed.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    if rel.endswith(".py"):
        text = fix_imports(text, rel[: -len(".py")].replace("/", "."), local)
    ours = "".join(
        line for line in rendered.decode("utf-8").splitlines(keepends=True) if not line.startswith(HEADER_PREFIX)
    )
    return text == ours


def check_floors(settings: StubSettings, protos: list[Proto]) -> list[HexpackError]:
    """The floors of the stubs on disk checked against the configured requirements."""
    # lazy: floors (packaging, wheel metadata) only when floors are checked
    from . import floors

    found = []
    for proto in protos:
        for rel in proto.outputs():
            path = settings.out / rel
            if path.is_file() and not rel.endswith(".pyi"):
                found.extend(floors.stub_floors(path))
    if found and not settings.requirements:
        return [
            ProjectError(
                "no requirements to check the stubs' protobuf/grpcio floors against",
                subject=settings.source,
                hint='add requirements = ["<dir>/requirements.txt"] (or [] to skip the check)',
            )
        ]
    return floors.check_floors(found, settings.requirements, root=settings.root)


def owned_stubs(out: Path) -> list[Path]:
    """Stub files under ``out`` that carry hexpack's header (so hexpack may remove them)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(out):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in ("__pycache__", "node_modules"))
        for name in sorted(filenames):
            if name.endswith(_SUFFIXES):
                path = Path(dirpath) / name
                if file_fingerprint(path) is not None:
                    found.append(path)
    return found


def file_fingerprint(path: Path) -> str | None:
    """The fingerprint in the header of a stub hexpack generated; None for any other file."""
    try:
        with path.open("rb") as handle:
            head = handle.read(600).decode("utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    match = _HEADER.search(head)
    return match.group("fp") if match else None

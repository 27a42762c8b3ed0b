"""Gate 3: rules about what a Hex tarball holds, checked on the unpacked members.

Every function takes plain data (members with ``path``, ``kind``, ``mode``,
``data``, ``linkname``; the metadata as a mapping) and returns findings, so the
rules run on in-memory packages without unpacking anything or creating venvs.
With a ``MixProject`` (verifying a project rather than a downloaded tarball)
each missing file comes with the ``mix.exs`` change that would include it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .. import config, git
from ..errors import HexpackError
from ..hex import rules as hex_rules
from ..versioning.versions import is_semver
from .exclude_report import excluded_by, pattern_text
from .gates import Finding, fail, note, warn
from .patterns import PathPattern, glob_to_elixir_regex, glob_to_regex, matches_any
from .settings import VerifySettings


class MemberLike(Protocol):
    path: str
    kind: str
    mode: int
    data: bytes
    linkname: str | None


def kind_of(member: Any) -> str:
    """``file``, ``dir`` or ``symlink`` whatever spelling the reader used."""
    kind = str(getattr(member, "kind", "file")).lower()
    if kind in ("symlink", "link", "sym", "symtype"):
        return "symlink"
    if kind in ("dir", "directory", "dirtype"):
        return "dir"
    return "file"


def _clean(path: str) -> str:
    return posixpath.normpath(path.strip("/")) if path else path


@dataclass(frozen=True)
class Context:
    """What the rules may consult besides the tarball."""

    settings: VerifySettings
    project: Any | None = None  # hexpack.mix.project.MixProject when verifying a project
    root: Path | None = None

    @property
    def exclude_patterns(self) -> list[Any]:
        return list(self.project.exclude_patterns) if self.project is not None else []

    @property
    def files(self) -> list[str] | None:
        return self.project.files if self.project is not None else None

    @property
    def regenerate(self) -> str:
        """The command that regenerates what ships (no assemble step in snakepit's layout)."""
        return regenerate_hint(self.root)


def regenerate_hint(root: Path | None) -> str:
    # lazy: assemble only for this hint
    from ..python.assemble import unconfigured

    if root is not None and unconfigured(root) is not None:
        return "run `nox -s stubs`"
    return "run `nox -s stubs assemble`"


# ---------------------------------------------------------------- required files


def _entry_covers(entry: str, path: str) -> bool:
    """Does the ``files:`` entry (a path or glob) select ``path`` or one of its directories?"""
    regex = re.compile(glob_to_regex(entry.strip("/")))
    parts = path.split("/")
    return any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1))


def _suggest_entry(path: str, settings: VerifySettings, files: Sequence[Any] | None = None) -> str:
    """The ``files:`` entry to add: the whole Python or proto root, unless ``files:``
    already picks that root's contents one by one (then the path itself)."""
    for root in (settings.python_root, settings.proto_root):
        if root and (path == root or path.startswith(root + "/")):
            if files and any(str(e).strip("/").startswith(root + "/") for e in files):
                return path
            return root
    return path


def include_hint(path: str, ctx: Context, *, generated: bool = True) -> str:
    """The change that would put ``path`` into the package.

    ``generated``: made by ``nox -s stubs`` (the stubs) or placed by ``nox -s assemble`` (everything, when
    the project assembles priv/); else the maintainer writes it.
    """
    if ctx.project is None:
        return f'add "{_suggest_entry(path, ctx.settings)}" to package files: in mix.exs'
    pattern = excluded_by(path, ctx.exclude_patterns)
    if pattern is not None:
        return f"exclude_patterns entry {pattern_text(pattern)} in mix.exs removes it; narrow or drop that entry"
    if ctx.root is not None and not (ctx.root / path).exists():
        fix = ctx.regenerate if generated else "create it"
        return f"it is not in the project either; {fix}"
    files = ctx.files
    if files is not None and not any(_entry_covers(str(e), path) for e in files):
        return f'add "{_suggest_entry(path, ctx.settings, files)}" to package files: in mix.exs'
    return f'check package files: and exclude_patterns in mix.exs (expected "{path}" to be selected)'


def _proto_stem(proto: str, settings: VerifySettings) -> str:
    """``priv/proto/a/b-c.proto`` -> ``a/b_c``: the stub's path below the stubs' directory."""
    rel = (
        proto[len(settings.proto_root) + 1 :]
        if proto.startswith(settings.proto_root + "/")
        else posixpath.basename(proto)
    )
    return rel[: -len(".proto")].replace("-", "_")


def _stub_paths(
    proto: str,
    settings: VerifySettings,
    present: Iterable[str] = (),
    configured: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[str, str]:
    """Where ``proto``'s ``_pb2.py`` and ``_pb2_grpc.py`` ship.

    The project's stubs settings say exactly, when they generate into the
    shipped Python (``configured``); otherwise ``python_root/<stem>``, or a
    shipped stub of the same name deeper down (stubs kept in a subpackage).
    """
    if configured and proto in configured:
        return configured[proto]
    stem = _proto_stem(proto, settings)
    base = f"{settings.python_root}/{stem}"
    pb2 = f"{base}_pb2.py"
    present = set(present)
    if pb2 not in present:
        deeper = sorted(
            p for p in present if p.startswith(settings.python_root + "/") and p.endswith(f"/{stem}_pb2.py")
        )
        if deeper:
            base = deeper[0][: -len("_pb2.py")]
    return f"{base}_pb2.py", f"{base}_pb2_grpc.py"


def configured_stubs(root: Path | None, settings: VerifySettings) -> dict[str, tuple[str, str]]:
    """``{proto: (_pb2.py, _pb2_grpc.py)}`` from the project's stubs settings, when they
    generate straight into the shipped Python (snakepit's layout); else empty."""
    if root is None:
        return {}
    # lazy: stubs only when the stubs are configured
    from ..python import stubs

    try:
        if not config.load(root).section("stubs"):
            return {}
        stub_settings = stubs.load_settings(root)
        protos = stubs.find_protos(stub_settings)
    except HexpackError:  # the freshness gate reports a broken stubs setting
        return {}
    out = stub_settings.rel(stub_settings.out)
    if not (out == settings.python_root or out.startswith(settings.python_root + "/")):
        return {}  # generated elsewhere and assembled: the default mapping applies
    found = {}
    for proto in protos:
        pb2, grpc, _pyi = (f"{out}/{rel}" for rel in proto.outputs())
        found[stub_settings.rel(proto.path)] = (pb2, grpc)
    return found


def expected_protos(
    paths: Iterable[str],
    settings: VerifySettings,
    root: Path | None = None,
    configured: Mapping[str, tuple[str, str]] | None = None,
) -> list[str]:
    """Every .proto that should ship: the shipped ones, those on disk under
    ``proto_root`` in the project, and those implied by shipped ``_pb2.py`` stubs
    that no known proto accounts for (unless ``server = false``: a package that
    runs under another package's server ships that package's stubs, not its protos)."""
    paths = list(paths)
    protos = {path for path in paths if path.endswith(".proto")}
    if not settings.has_server and not configured:
        paths = [path for path in paths if not path.endswith("_pb2.py")]
    if root is not None and (root / settings.proto_root).is_dir():
        for found in (root / settings.proto_root).rglob("*.proto"):
            protos.add(found.relative_to(root).as_posix())
    protos.update(configured or {})
    accounted = {pb2 for pb2, _grpc in (configured or {}).values()}
    stems = {_proto_stem(proto, settings) for proto in protos}
    prefix = settings.python_root + "/"
    for path in paths:
        if path.startswith(prefix) and path.endswith("_pb2.py") and path not in accounted:
            stem = path[len(prefix) : -len("_pb2.py")]
            if not any(stem == known or stem.endswith("/" + known) for known in stems):
                protos.add(f"{settings.proto_root}/{stem}.proto")
    return sorted(protos)


def check_required(members: Sequence[Any], ctx: Context) -> list[Finding]:
    settings = ctx.settings
    present = {_clean(m.path) for m in members}
    required: list[tuple[str, str]] = []
    if settings.has_server:
        required.append((settings.server, "the server the Elixir side starts"))
    required.append((settings.requirements, "the Python requirements"))
    configured = configured_stubs(ctx.root, settings)
    protos = expected_protos(present, settings, ctx.root, configured)
    for proto in protos:
        pb2, grpc = _stub_paths(proto, settings, present, configured)
        required += [(proto, "the service definition"), (pb2, f"stub of {proto}"), (grpc, f"gRPC stub of {proto}")]
    found: list[Finding] = []
    seen = set()
    # without an assemble step (snakepit's layout) nothing regenerates the server or the requirements
    written_by_hand = {settings.server, settings.requirements} if ctx.regenerate == "run `nox -s stubs`" else set()
    for path, why in required:
        if path in seen:
            continue
        seen.add(path)
        if path not in present:
            hint = include_hint(path, ctx, generated=path not in written_by_hand)
            if path in written_by_hand and hint.endswith("create it"):
                key = "server" if path == settings.server else "requirements"
                hint += f", or set {key} in [tool.hexpack.verify] to where it is"
            found.append(fail(f"missing from the package ({why})", subject=path, hint=hint))
    for pattern in settings.required:
        if not any(PathPattern(pattern).matches(p) for p in present) and pattern not in present:
            found.append(
                fail(
                    "required by [tool.hexpack.verify] but nothing in the package matches",
                    subject=pattern,
                    hint=include_hint(pattern, ctx, generated=False),
                )
            )
    if not found:
        found.append(note(f"all {len(seen) + len(settings.required)} present ({len(protos)} .proto)"))
        if not settings.has_server:
            found.append(note("no server required (server = false)"))
    return found


# ---------------------------------------------------------------- forbidden files


def check_forbidden(members: Sequence[Any], ctx: Context) -> list[Finding]:
    settings = ctx.settings
    hits: dict[str, list[str]] = {}
    reasons = dict(settings.forbidden)
    for member in members:
        path = _clean(member.path)
        is_dir = kind_of(member) == "dir"
        if matches_any(path, settings.allow, is_dir=is_dir):
            continue
        for pattern, _why in settings.forbidden:
            if PathPattern(pattern).matches(path, is_dir=is_dir):
                hits.setdefault(pattern, []).append(path)
                break
    found: list[Finding] = []
    for pattern, paths in hits.items():
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        regex = glob_to_elixir_regex(pattern.rstrip("/") if not pattern.endswith("/") else "**/" + pattern.rstrip("/"))
        found.append(
            fail(
                f"forbidden {reasons[pattern]} ({pattern}) in the package: {shown}",
                subject=paths[0] if len(paths) == 1 else pattern,
                hint=f"delete it or add {regex} to exclude_patterns in mix.exs "
                '(or allow it: [tool.hexpack.verify] allow = ["<path>"])',
            )
        )
    if not found:
        found.append(note(f"none of {len(settings.forbidden)} forbidden patterns matched"))
    return found


# ---------------------------------------------------------------- symlinks


def check_symlinks(members: Sequence[Any]) -> list[Finding]:
    """Every symlink must lead to something inside the package (linear in the package's size)."""
    # lazy: hex.tarball only when links are checked
    from ..hex.tarball import Member, link_verdicts

    shaped = [Member(_clean(m.path), kind_of(m), 0, linkname=m.linkname or "") for m in members]  # type: ignore[arg-type]
    found: list[Finding] = []
    verdicts = link_verdicts(shaped)
    for member, verdict in verdicts:
        path, target = member.path, member.linkname
        if verdict == "absolute":
            found.append(
                fail(
                    f"symlink to the absolute path {target}",
                    subject=path,
                    hint="ship the file itself or a relative link",
                )
            )
        elif verdict in ("outside", "too long", "tangled", "invalid"):
            found.append(
                fail(f"symlink points outside the package ({target})", subject=path, hint="ship the file itself")
            )
        elif verdict in ("dangling", "loop"):
            found.append(
                fail(
                    f"dangling symlink: {target} is not in the package",
                    subject=path,
                    hint="remove the link or add its target to package files: in mix.exs",
                )
            )
    if not found:
        count = len(verdicts)
        found.append(note(f"{count} symlink(s), all inside the package" if count else "no symlinks"))
    return found


# ---------------------------------------------------------------- sizes


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB" if size >= 104858 else f"{size / 1024:.1f} KiB"


def check_sizes(sizes: Mapping[str, int | None], limits: Mapping[str, int], ratio: float) -> list[Finding]:
    """``sizes`` and ``limits`` share keys (e.g. ``tarball``, ``uncompressed``)."""
    found: list[Finding] = []
    shown = []
    for key, limit in limits.items():
        size = sizes.get(key)
        if size is None or not limit:
            continue
        share = size / limit
        shown.append(f"{key} {_mib(size)} of {_mib(limit)} ({share:.0%})")
        if size > limit:
            found.append(
                fail(f"{key} size {_mib(size)} is over Hex's limit of {_mib(limit)}", hint="exclude large files")
            )
        elif share >= ratio:
            found.append(
                warn(
                    f"{key} size {_mib(size)} is {share:.0%} of Hex's limit of {_mib(limit)}",
                    hint="exclude large files",
                )
            )
    if not found:
        found.append(note("; ".join(shown) if shown else "no size limits known"))
    return found


# ---------------------------------------------------------------- metadata


def metadata_dict(metadata: Any) -> dict[str, Any]:
    """metadata.config as a dict whatever its shape (pairs or mapping)."""
    if isinstance(metadata, Mapping):
        return {str(k): v for k, v in metadata.items()}
    return {str(k): v for k, v in metadata}


def check_metadata(metadata: Any, project: Any | None = None) -> list[Finding]:
    meta = metadata_dict(metadata)
    found: list[Finding] = []
    version = meta.get("version")
    if not is_semver(str(version)):
        found.append(
            fail(
                f"version {version!s} is not SemVer, which hex.pm refuses",
                subject="metadata.config",
                hint='set version: in mix.exs to X.Y.Z (e.g. "1.0.0" or "1.0.0-rc.1")',
            )
        )
    if project is not None:
        if str(version) != project.version:
            found.append(
                fail(
                    f"version {version} differs from the project's {project.version}",
                    subject="metadata.config",
                    hint="rebuild the tarball from this checkout",
                )
            )
        if meta.get("name") is not None and str(meta.get("name")) != project.package_name:
            found.append(
                fail(
                    f"name {meta.get('name')} differs from the project's {project.package_name}",
                    subject="metadata.config",
                )
            )
    description = meta.get("description")
    text = hex_rules.trim(str(description)) if description else ""
    if not text:
        found.append(fail("no description", subject="metadata.config", hint="set description: in mix.exs"))
    elif hex_rules.description_too_long(text):
        found.append(
            fail(
                f"description is {hex_rules.description_length(text)} characters, "
                f"more than Hex's {hex_rules.MAX_DESCRIPTION_LENGTH}",
                subject="metadata.config",
                hint="shorten description: in mix.exs",
            )
        )
    licenses = meta.get("licenses")
    if licenses and not isinstance(licenses, (list, tuple)):
        found.append(
            fail(
                f"licenses is {licenses!s}, not a list",
                subject="metadata.config",
                hint=f'write package: [licenses: ["{licenses!s}"]] in mix.exs',
            )
        )
    elif not licenses or not all(str(x).strip() for x in licenses):
        found.append(
            fail("no licenses", subject="metadata.config", hint='set package: [licenses: ["Apache-2.0"]] in mix.exs')
        )
    else:
        invalid = hex_rules.invalid_licenses(list(licenses))
        if invalid:
            found.append(
                warn(
                    f"licenses not recognized by SPDX, which Hex {hex_rules.HEX_VERSION} warns about: "
                    + ", ".join(str(x) for x in invalid),
                    subject="metadata.config licenses",
                    hint=f"use SPDX identifiers ({hex_rules.SPDX_URL}) or LicenseRef-<name>",
                )
            )
    links = meta.get("links")
    if links is not None:
        for problem in hex_rules.link_problems(links):
            if problem == hex_rules.LINKS_NOT_A_MAP:
                found.append(fail(problem, subject="metadata.config", hint='links: %{"Source" => "https://..."}'))
            else:
                found.append(fail(problem, subject="metadata.config links", hint="fix links: in mix.exs"))
    if not found:
        count = hex_rules.link_count(links)
        found.append(note(f"version {version}, {len(licenses or [])} license(s), {count} link(s)"))
    return found


# ---------------------------------------------------------------- stub floors


def check_stub_floors(
    members: Sequence[Any], settings: VerifySettings, then: str | None = "run `nox -s assemble`"
) -> list[Finding]:
    """The protobuf/grpcio floors the shipped stubs demand, against the shipped requirements.txt.

    Only the stubs and the requirements file are written (to a temporary
    directory) so :mod:`hexpack.python.floors` reads exactly what ships.
    """
    # lazy: tempfile, and floors (packaging), only for the floors gate
    import tempfile

    from ..python import floors

    prefix = settings.python_root + "/"
    wanted = {
        _clean(m.path): m
        for m in members
        if kind_of(m) == "file"
        and (
            _clean(m.path) == settings.requirements
            or (_clean(m.path).startswith(prefix) and _clean(m.path).endswith(("_pb2.py", "_pb2_grpc.py")))
        )
    }
    if settings.requirements not in wanted:
        return [note(f"skipped: {settings.requirements} is not in the package")]
    if len(wanted) == 1:
        return [note("no generated stubs in the package")]
    with tempfile.TemporaryDirectory(prefix="hexpack-floors-") as tmp:
        base = Path(tmp)
        for path, member in wanted.items():
            target = base.joinpath(*path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            data = member.data
            if path == settings.requirements and settings.smoke.requirements:  # installed next to it by the smoke test
                extra = "\n".join(("", "# [verify.smoke] requirements", *settings.smoke.requirements, ""))
                data = data.rstrip(b"\n") + extra.encode()
            target.write_bytes(data)
        try:
            found = floors.stub_floors(base / settings.python_root)
            problems = floors.check_floors(found, [base / settings.requirements], root=base)
        except HexpackError as exc:
            return [fail(exc.what, subject=exc.subject, hint=exc.hint)]
        best = floors.strictest(found)
    if problems:
        return [
            fail(p.what, subject=p.subject, hint=(p.hint or "") + (f"; then {then}" if then else "")) for p in problems
        ]
    shown = ", ".join(f"{f.package}>={f.version}" for f in best.values())
    return [note(f"{settings.requirements} admits only what the stubs load with ({shown or 'no floors'})")]


# ---------------------------------------------------------------- what CI would ship


def check_git_tracked(members: Sequence[Any], root: Path) -> list[Finding]:
    """Every packaged file must be tracked by git: a release built from a clean checkout (CI) lacks the others.

    ``root`` is in a git work tree (git lists paths relative to it, also from a subdirectory).
    """
    packaged = sorted(_clean(m.path) for m in members if kind_of(m) == "file")
    tracked = set(git.tracked_files(root))
    untracked = [path for path in packaged if path not in tracked and (root / path).is_file()]
    rules = git.ignoring_rules(root, untracked)
    found = []
    for path in untracked:
        if path in rules:
            found.append(
                fail(
                    f"packaged, but .gitignore hides it ({rules[path]}): a release from a clean checkout lacks it",
                    subject=path,
                    hint=f"track it (git add -f {path}) or remove it from package files: in mix.exs",
                )
            )
        else:
            found.append(
                fail(
                    "packaged, but git does not track it: a release from a clean checkout lacks it",
                    subject=path,
                    hint=f"git add {path} and commit, or remove it from package files: in mix.exs",
                )
            )
    return found or [note(f"all {len(packaged)} packaged files are tracked by git")]

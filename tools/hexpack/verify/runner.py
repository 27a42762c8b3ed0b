"""Runs the gates of ``hexpack verify`` and collects one report.

Timeline (wall time matters: the target is 10 s warm on 2 cores): the
interpreters are located first (probe results cached); then three threads run
side by side: freshness (gate 1), the Python dist (gate 5), and the chain
build -> tarball checks -> unpack -> smoke tests (gates 2-4), whose smoke jobs
fan out over more threads. Nothing stops at the first problem: every gate
that can run does, and the report lists all of them.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import config, git, proc
from ..errors import UsageError
from ..hex import rules as hex_rules
from ..hex.rules import HEX_VERSION
from ..python import pythons
from . import consumer, content_rules, exclude_report, pydist, smoke
from .gates import Gate, Report, fail, note, warn
from .settings import VerifySettings
from .settings import load as load_settings
from .venvs import VenvCache, clean_env

GATE_GROUPS = ("freshness", "build", "tarball", "smoke", "consumer", "pydist")


@dataclass(frozen=True)
class Options:
    root: Path = Path(".")
    tarball: Path | None = None  # verify this file instead of building
    engine: str | None = None  # overrides [tool.hexpack.verify] engine
    skip: frozenset[str] = frozenset()
    pythons: tuple[str, ...] | None = None  # overrides the targeted versions
    resolutions: tuple[str, ...] | None = None
    fresh: bool = False  # no venv cache
    reader: str = "auto"
    workers: int | None = None
    dist_dir: Path | None = None  # leave the verified sdist and wheel here (for the release upload)


@dataclass
class Built:
    data: bytes
    engine: str
    project: Any | None = None


# ------------------------------------------------------------------ gate 1


def freshness(root: Path, cache: VenvCache | None = None, python: Path | None = None) -> list[Gate]:
    """Gate 1. When hexpack's own Python lacks the pinned grpcio-tools, ``stubs --check`` runs it from a
    cached venv of ``python`` (as `nox -s stubs` would), so a maintainer's hexpack needs no second copy."""
    cfg = config.load(root)
    stubs_gate = Gate("stubs --check", "1 freshness")
    assemble_gate = Gate("assemble --check", "1 freshness")
    # lazy: each gate loads its engine only when it runs (a verify that stops early loads less)
    from ..python import assemble

    no_assemble = assemble.unconfigured(root)
    fix = "run `nox -s stubs`" if no_assemble else "run `nox -s stubs assemble`"
    if not cfg.section("stubs"):
        stubs_gate.skipped = "no [tool.hexpack.stubs]"
    else:
        with stubs_gate.timed():
            # lazy: each gate loads its engine only when it runs
            from ..python import stubs

            result = stubs.check(root, _toolchain(root, cache, python))
            for kind, paths in (("stale", result.stale), ("missing", result.missing), ("left over", result.extra)):
                for path in paths:
                    stubs_gate.add(fail(f"stub is {kind}", subject=_rel(path, root), hint=fix))
            for path, same in result.foreign.items():
                finding = warn if same else fail
                stubs_gate.add(finding(stubs.foreign_what(same), subject=_rel(path, root), hint=stubs.ADOPT_HINT))
            for problem in result.floor_problems:
                stubs_gate.add(fail(problem.what, subject=problem.subject, hint=problem.hint))
            if not stubs_gate.findings:
                stubs_gate.add(note("stubs are what the pinned grpcio-tools makes of the protos"))
    if no_assemble:
        assemble_gate.skipped = no_assemble
    else:
        with assemble_gate.timed():
            differences = assemble.check(root)
            for difference in differences:
                assemble_gate.add(fail(difference.what, subject=difference.path, hint=fix))
            if not differences:
                assemble_gate.add(note("priv/ is what the sources produce"))
    return [stubs_gate, assemble_gate]


def _toolchain(root: Path, cache: VenvCache | None, python: Path | None):
    """The pinned grpcio-tools in a cached venv, or None when this Python has it (or nothing can make one)."""
    # lazy: each gate loads its engine only when it runs
    from ..python import stubs

    pin = stubs.load_settings(root).pin
    if stubs.installed_toolchain() == pin or cache is None or python is None:
        return None
    venv = cache.ensure(
        python, label="grpcio-tools", install=[f"grpcio-tools=={pin}"], payload=pin.encode(), purpose="toolchain"
    )
    where = proc.run(
        [str(venv.python), "-c", "import grpc_tools, os; print(os.path.dirname(grpc_tools.__file__))"],
        env=clean_env(),
    ).stdout.strip()
    return stubs.Toolchain(venv.python, Path(where) / "_proto")


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# ------------------------------------------------------------------ gate 2


def mix_hex_available() -> tuple[bool, str]:
    """Is Hex installed (``hex_install.find_hex``, the check doctor makes), and which version?

    Read from Mix's archives directory without starting the BEAM; ``mix
    hex.build`` itself then proves that Hex works (its failure fails the gate
    with its own output), so no separate ``mix hex.info`` run is spent on it.
    """
    # lazy: each gate loads its engine only when it runs
    from ..hex import install as hex_install

    if proc.which("mix") is None:
        return False, "mix is not installed"
    archive = hex_install.find_hex()
    if archive is None:
        return False, f"Hex is not installed (no hex archive in {hex_install.archives_dir()})"
    return True, hex_install.version_note(archive)


def build_with_mix(root: Path) -> bytes:
    with tempfile.TemporaryDirectory(prefix="hexpack-mixbuild-") as tmp:
        target = Path(tmp) / "package.tar"
        proc.run(["mix", "hex.build", "--output", str(target)], cwd=root, timeout=600, hint="see `mix hex.build`")
        return target.read_bytes()


def compare_builds(builtin: bytes, mix: bytes) -> list:
    """``--engine both``: any difference fails, itemised the way ``hexpack diff`` shows it."""
    # lazy: each gate loads its engine only when it runs
    from ..hex.diff import diff_packages, render
    from ..hex.tarball import outer_checksum, read_package

    if builtin == mix:
        return [note(f"builtin engine and mix hex.build are byte-identical ({outer_checksum(mix)[:12]})")]
    diff = diff_packages(read_package(builtin, subject="builtin"), read_package(mix, subject="mix hex.build"))
    hint = "see `hexpack diff <builtin.tar> <mix.tar>`"
    found = []
    for change in diff.files:
        details = f" ({'; '.join(change.details)})" if change.details else ""
        found.append(fail(f"{change.change} in mix hex.build's tarball{details}", subject=change.path, hint=hint))
    for change in diff.metadata:
        shown = "; ".join(change.details) or f"{render(change.old)} -> {render(change.new)}"
        found.append(fail(f"metadata {change.key} {change.change}: {shown}", subject="metadata.config", hint=hint))
    if not found:
        found.append(fail("same files and metadata, but the tarball bytes differ (file order or headers)", hint=hint))
    return found


def _one_line(text: str) -> str:
    """A multi-line Hex warning (the SPDX one) as one table cell."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def build(root: Path, engine: str, reader: str) -> tuple[list[Gate], Built | None]:
    # lazy: each gate loads its engine only when it runs
    from ..hex.build import build_project
    from ..mix.readers import read_project

    gates: list[Gate] = []
    project = None
    read_gate = Gate("read mix.exs", "2 build")
    with read_gate.timed():
        project = read_project(root, reader=reader)
        read_gate.add(note(f"{project.package_name} {project.version} (reader: {project.reader})"))
    if project is None:
        return [read_gate], None
    gates.append(read_gate)
    use_mix = engine in ("mix", "both")
    available, why = mix_hex_available() if engine != "builtin" else (False, "")
    if engine == "auto":
        use_mix = available
    use_builtin = engine in ("builtin", "both") or (engine == "auto" and not use_mix)
    builtin_data = mix_data = None
    if use_builtin:
        gate = Gate("builtin engine", "2 build")
        gates.append(gate)
        with gate.timed():
            result = build_project(project, root=root)
            builtin_data = result.tarball
            # the metadata gate reports the licenses (for every engine and for a given tarball): Hex's license
            # warnings are left out here so the report names each problem once
            reported_there = hex_rules.license_warnings(dict(result.metadata).get("licenses"))
            for warning in result.warnings:
                if warning not in reported_there:
                    gate.add(warn(_one_line(warning), subject="mix hex.build would warn"))
            extra = f"; {why}" if engine == "auto" else ""
            gate.add(
                note(
                    f"{result.default_filename} as Hex {HEX_VERSION} builds it, {len(result.files)} files, "
                    f"checksum {result.outer_checksum[:12]}{extra}"
                )
            )
    if use_mix:
        gate = Gate("mix hex.build", "2 build")
        gates.append(gate)
        if not available:
            gate.add(fail(why, hint="install Hex (mix local.hex) or use --engine builtin"))
        else:
            with gate.timed():
                mix_data = build_with_mix(root)
                gate.add(note(f"{len(mix_data)} bytes; {why}"))
    if engine == "both" and builtin_data is not None and mix_data is not None:
        gate = Gate("engines agree", "2 build")
        gates.append(gate)
        with gate.timed():
            gate.extend(compare_builds(builtin_data, mix_data))
    data = mix_data if mix_data is not None else builtin_data
    if data is None:
        return gates, None
    return gates, Built(data, "mix" if mix_data is not None else "builtin", project)


# ------------------------------------------------------------------ gate 3


def tarball_gates(
    package: Any, data: bytes, settings: VerifySettings, project: Any | None, root: Path | None
) -> list[Gate]:
    # lazy: each gate loads its engine only when it runs
    from ..hex.tarball import LIMITS

    ctx = content_rules.Context(settings, project, root)
    members = package.members
    group = "3 tarball"
    gates = []

    def gate(name: str, compute) -> None:
        g = Gate(name, group)
        with g.timed():
            g.extend(compute())
        gates.append(g)

    gate("required files", lambda: content_rules.check_required(members, ctx))
    gate("forbidden files", lambda: content_rules.check_forbidden(members, ctx))
    gate("symlinks", lambda: content_rules.check_symlinks(members))
    sizes = {
        "outer": len(data),
        "uncompressed": int.from_bytes(package.contents[-4:], "little") if package.contents else None,
        "metadata": len(package.metadata_config),
    }
    gate("sizes", lambda: content_rules.check_sizes(sizes, LIMITS, settings.size_warn_ratio))
    gate("metadata", lambda: content_rules.check_metadata(package.metadata, project))
    excludes = Gate("exclude patterns", group)
    if project is None:
        excludes.skipped = "no mix project (verifying a given tarball)"
    else:
        with excludes.timed():
            # lazy: each gate loads its engine only when it runs
            from ..hex.selection import select_files

            candidates = select_files(root or project.root, project.files, ())
            reports = exclude_report.analyse(project.exclude_patterns, candidates)
            excludes.details["patterns"] = [r.to_json() for r in reports]
            excludes.extend(exclude_report.findings(reports) or [note("no exclude_patterns")])
    gates.append(excludes)
    tracked = Gate("tracked by git", group)
    if root is None:
        tracked.skipped = "no mix project (verifying a given tarball)"
    elif not git.is_repository(root):
        tracked.skipped = "not in a git repository"
    else:
        with tracked.timed():
            tracked.extend(content_rules.check_git_tracked(members, root))
    gates.append(tracked)
    # lazy: each gate loads its engine only when it runs
    from ..python.assemble import unconfigured

    then = None if root is not None and unconfigured(root) else "run `nox -s assemble`"  # copies requirements.txt
    gate("stub floors", lambda: content_rules.check_stub_floors(members, settings, then))
    return gates


# ------------------------------------------------------------------ the run


GateDone = Callable[[Gate], None]


def _quiet(gate: Gate) -> None:
    pass


def verify(options: Options, on_gate: GateDone = _quiet) -> Report:
    """Run every gate; ``on_gate`` hears of each one as it finishes (from any thread, one at a time),
    so the command line can show progress before the report's table."""
    start = time.monotonic()
    lock = threading.Lock()

    def done(*gates: Gate) -> list[Gate]:
        with lock:
            for gate in gates:
                on_gate(gate)
        return list(gates)

    root = Path(options.root).resolve()
    settings = load_settings(root)
    if options.pythons:
        settings = _replace(settings, pythons=tuple(options.pythons))
    engine = options.engine or settings.engine
    skip = set(options.skip)
    unknown = skip - set(GATE_GROUPS)
    if unknown:
        raise UsageError(f"unknown gate(s) {', '.join(sorted(unknown))}", hint=f"choose from {', '.join(GATE_GROUPS)}")
    given = options.tarball is not None
    if given:
        skip |= {"freshness", "pydist"}
    report = Report(subject=str(options.tarball) if given else str(root))
    cache_root = None if options.fresh else settings.cache_path(root)
    # a given tarball comes from elsewhere: its code runs in private venv copies, never in the cache
    cache = VenvCache(cache_root, timeout=max(120.0, settings.smoke_timeout * 4), untrusted=given)
    work = Path(tempfile.mkdtemp(prefix="hexpack-verify-"))
    try:
        # interpreter probes are cached even with --fresh (they are facts about the machine, not venvs)
        interpreters = _Interpreters(settings.pythons, settings.cache_path(root) / pythons.CACHE_NAME)
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="verify") as pool:
            fresh_f: Future[list[Gate]] | None = None
            dist_f: Future[list[Gate]] | None = None
            if "freshness" not in skip:
                fresh_f = pool.submit(lambda: done(*freshness(root, cache, interpreters.newest())))
            if "pydist" not in skip:
                dist_f = pool.submit(
                    lambda: pydist.run(
                        root,
                        settings,
                        cache,
                        interpreters.newest(),
                        workdir=work,
                        keep=options.dist_dir,
                        on_gate=done,
                    )
                )
            chain = _chain(options, settings, root, engine, skip, cache, interpreters, work, done)
            fresh_gates = (
                fresh_f.result()
                if fresh_f
                else done(*_skipped(["stubs --check", "assemble --check"], "1 freshness", skip, given))
            )
            dist_gates = (
                dist_f.result()
                if dist_f
                else done(
                    *_skipped(
                        ["build sdist + wheel", "twine check --strict", "contents", "installed server"],
                        "5 python dist",
                        skip,
                        given,
                    )
                )
            )
        report.gates = fresh_gates + chain + dist_gates
    finally:
        cache.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    report.seconds = time.monotonic() - start
    return report


def _skipped(names: list[str], group: str, skip: set[str], given: bool) -> list[Gate]:
    why = "verifying a given tarball" if given else "--skip"
    return [Gate(name, group, skipped=why) for name in names]


def _chain(
    options: Options,
    settings: VerifySettings,
    root: Path,
    engine: str,
    skip: set[str],
    cache: VenvCache,
    interpreters: _Interpreters,
    work: Path,
    done: Callable[..., list[Gate]],
) -> list[Gate]:
    """Gates 2-4 in order, each handed to ``done`` as it finishes."""
    # lazy: each gate loads its engine only when it runs
    from ..hex.tarball import read_file, read_package, unpack

    gates: list[Gate] = []

    def add(*new: Gate) -> list[Gate]:
        gates.extend(done(*new))
        return gates

    data: bytes | None = None
    project = None
    if options.tarball is not None:
        gate = Gate("read tarball", "2 build")
        with gate.timed():
            data = read_file(Path(options.tarball))  # bounded: /dev/zero stops at Hex's limit
            gate.add(note(f"{options.tarball}, {len(data)} bytes"))
        add(gate)
    elif "build" in skip:
        return add(Gate("build", "2 build", skipped="--skip build"), *_later_skipped(skip, "no tarball (--skip build)"))
    else:
        build_gates, built = build(root, engine, options.reader)
        add(*build_gates)
        if built is not None:
            data, project = built.data, built.project
    package = None
    if data is not None:
        check = Gate("tarball is valid", "2 build")
        with check.timed():
            package = read_package(data, subject=str(options.tarball or "built tarball"))
            check.add(note(f"checksum {package.outer_checksum[:12]}, {len(package.members)} members, read safely"))
        add(check)
    if package is None:
        return add(*_later_skipped(skip, "no tarball to check"))
    if "tarball" not in skip:
        add(*tarball_gates(package, data, settings, project, None if options.tarball else root))
    else:
        add(Gate("tarball checks", "3 tarball", skipped="--skip tarball"))
    if "smoke" in skip:
        return add(Gate("smoke", "4 smoke", skipped="--skip smoke"))
    unpacked = work / "package"
    unpack_gate = Gate("unpack", "4 smoke")
    with unpack_gate.timed():
        unpack(data, unpacked)
    if unpack_gate.findings:
        return add(unpack_gate)
    # the consumer project compiles beside the smoke jobs; its snippet then borrows a smoke venv
    pending = (
        None
        if "consumer" in skip
        else consumer.Consumer(unpacked, settings, content_rules.metadata_dict(package.metadata))
    )
    smoke_gates: list[Gate] = []
    try:
        smoke_gates = smoke.run_all(
            unpacked,
            settings,
            cache,
            interpreters=interpreters.get(),
            resolutions=options.resolutions,
            workers=options.workers,
            on_gate=done,
        )
    finally:
        consumer_gate = (
            pending.finish(smoke_gates) if pending else Gate(consumer.NAME, consumer.GROUP, skipped="--skip consumer")
        )
    gates.extend(smoke_gates)  # each reported by run_all as it finished
    return add(consumer_gate)


class _Interpreters:
    """The targeted interpreters, located once and only when a gate needs them."""

    def __init__(self, versions: tuple[str, ...], cache: Path | None):
        self.versions = versions
        self.cache = cache
        self._found: dict[str, Path | None] | None = None
        self._lock = threading.Lock()

    def get(self) -> dict[str, Path | None]:
        with self._lock:
            if self._found is None:
                self._found = smoke.locate_pythons(list(self.versions), cache=self.cache)
            return self._found

    def newest(self) -> Path | None:
        found = self.get()
        return next((found[v] for v in reversed(self.versions) if found.get(v)), None)


def _later_skipped(skip: set[str], why: str) -> list[Gate]:
    gates = []
    if "tarball" not in skip:
        gates.append(Gate("tarball checks", "3 tarball", skipped=why))
    if "smoke" not in skip:
        gates.append(Gate("smoke", "4 smoke", skipped=why))
    return gates


def _replace(settings: VerifySettings, **changes: Any) -> VerifySettings:
    return replace(settings, **changes)


__all__ = ["GATE_GROUPS", "GateDone", "Options", "verify"]

"""``hexpack doctor``: is this machine ready to test and release the project?

Every check returns a :class:`Check`: what it found and, for a gap, the exact
command that closes it. A check's status is ``ok``, ``warn`` (something falls
back or is degraded, a release still works) or ``fail`` (a release would
stop). Nothing here prompts: every program runs with standard input closed.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import config, git, proc
from ..errors import HexpackError
from ..hex import install as hex_install
from ..hex.rules import HEX_VERSION
from ..python import pythons
from ..versioning.versions import elixir_requirement_allows

OK, WARN, FAIL = "ok", "warn", "fail"
TIMEOUT = 60.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    found: str
    fix: str = ""
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def diagnose(
    root: str | os.PathLike[str], *, publish: bool = False, env: Mapping[str, str] | None = None
) -> list[Check]:
    """Every check, in table order. ``publish`` also requires what publishing needs."""
    root = Path(root).resolve()
    env = os.environ if env is None else env
    jobs: list[Callable[[], list[Check]]] = [
        lambda: check_pythons(root, env),
        lambda: [check_tool("uv", ["uv", "--version"], "python3 -m pip install uv", env)],
        lambda: [check_tool("nox", ["nox", "--version"], "python3 -m pip install nox", env)],
        lambda: check_elixir(publish, env, root=root),
        lambda: [check_grpcio_tools(root)],
        lambda: [check_git(root)],
    ]
    if publish:
        jobs.append(lambda: check_credentials(env))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    return [check for group in results for check in group]


def blocking(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == FAIL]


# --------------------------------------------------------------------------- the checks


def check_pythons(root: Path, env: Mapping[str, str]) -> list[Check]:
    try:
        targeted = pythons.targeted(root)
    except HexpackError as exc:
        return [Check("python", FAIL, exc.one_line(), "fix [tool.hexpack] python in pyproject.toml")]
    discovery = pythons.discover(env=env, only=targeted, cache=pythons.discovery_cache(root))
    installer = "uv python install" if proc.which("uv") else "pyenv install"
    checks = []
    for version in targeted:
        found = discovery.best(version)
        if found:
            checks.append(Check(f"python {version}", OK, f"{found.version}  {found.where}  {found.path}"))
        else:
            checks.append(
                Check(
                    f"python {version}",
                    FAIL,
                    "not found on PATH, in pyenv, uv or conda",
                    f"{installer} {version}",
                    "the tests run on every targeted Python before a release",
                )
            )
    return checks


def check_tool(name: str, argv: list[str], fix: str, env: Mapping[str, str]) -> Check:
    if proc.which(argv[0], path=env.get("PATH")) is None:
        return Check(name, FAIL, "not found on PATH", fix)
    version = _first_line(argv, env)
    return Check(name, OK, version or "present") if version is not None else Check(name, FAIL, "does not run", fix)


def check_elixir(publish: bool, env: Mapping[str, str], *, root: Path | None = None) -> list[Check]:
    """elixir, mix and Hex; with ``root``, also the installed Elixir against its mix.exs (one `elixir --version`)."""
    sudo = "" if _is_root() else "sudo "
    install = f"{sudo}apt-get install -y elixir"
    gap = FAIL if publish else WARN
    checks = []
    elixir = proc.which("elixir", path=env.get("PATH"))
    if elixir is None:
        checks.append(Check("elixir", gap, "not found", install, "without it mix.exs is read by the static reader"))
    else:
        text = _output(["elixir", "--version"], env) or ""
        match = re.search(r"Elixir (\S+)", text)
        otp = re.search(r"Erlang/OTP (\d+)", text)
        found = f"Elixir {match.group(1)}" if match else "present"
        checks.append(Check("elixir", OK, found + (f" (OTP {otp.group(1)})" if otp else "")))
        if root is not None and match:
            checks += check_elixir_requirement(root, match.group(1))
    if proc.which("mix", path=env.get("PATH")) is None:
        checks.append(Check("mix", gap, "not found", install, "without it the built-in engine builds the Hex tarball"))
        checks.append(Check("hex", gap, "needs mix", install, "publishing to hex.pm needs mix and Hex"))
        return checks
    checks.append(Check("mix", OK, "present"))
    archive = hex_install.find_hex(env)
    if archive is not None:
        checks.append(Check("hex", OK, hex_install.version_note(archive)))
    else:
        checks.append(
            Check(
                "hex",
                gap,
                f"not installed (no hex archive in {hex_install.archives_dir(env)})",
                "mix local.hex --force",
                f"verify uses the built-in engine (Hex {HEX_VERSION}) instead of mix hex.build; "
                "publishing to hex.pm needs Hex",
            )
        )
    return checks


def check_elixir_requirement(root: Path, installed: str) -> list[Check]:
    """The installed Elixir against mix.exs's ``elixir:``: Mix only warns, but its formatter and compiler are
    the installed ones, so `mix format --check-formatted` and the tests of a project written for a newer
    Elixir fail in ways that look like the project's own faults."""
    # lazy: the static reader only for this check
    from ..mix.static import read_statically

    if not (root / "mix.exs").is_file():
        return []
    try:
        requirement = read_statically(root).elixir
    except HexpackError:
        return []  # the build and verify name what cannot be read
    if not requirement:
        return []
    allowed = elixir_requirement_allows(requirement, installed)
    if allowed is None:
        return []
    found = f"mix.exs wants {requirement}, Elixir {installed} is installed"
    if allowed:
        return [Check("elixir version", OK, found)]
    return [
        Check(
            "elixir version",
            WARN,
            found,
            f"install an Elixir that matches {requirement} (asdf, mise or erlef/setup-beam)",
            "mix format --check-formatted (lint) and mix test may fail for this Elixir, not for the project",
        )
    ]


def installed_hex(env: Mapping[str, str]) -> str | None:
    """The version of the Hex archive Mix would load (``hex_install.find_hex``), read without running mix."""
    archive = hex_install.find_hex(env)
    return archive.version if archive is not None else None


def check_grpcio_tools(root: Path) -> Check:
    # lazy: stubs (grpc-tools discovery) only for this check
    from ..python import stubs

    try:
        if not config.load(root).section("stubs"):  # no protos to compile (snakebridge): nothing to pin
            return Check("grpcio-tools", OK, "not used (no [stubs] settings: the project compiles no protos)")
        pin = stubs.load_settings(root).pin
    except HexpackError as exc:
        detail = " / ".join(exc.one_line().splitlines())  # several settings problems share the one table row
        return Check("grpcio-tools", WARN, detail, "fix [tool.hexpack.stubs] as the detail says")
    installed = stubs.installed_toolchain()
    install = f"{sys.executable} -m pip install grpcio-tools=={pin}"
    note = "`nox -s stubs` installs the pinned version in its own venv"
    if installed is None:
        return Check("grpcio-tools", WARN, f"pinned {pin}; not installed for this Python", install, note)
    protoc = _output([sys.executable, "-m", "grpc_tools.protoc", "--version"], os.environ) or ""
    found = f"{installed} (pinned {pin})" + (f", {protoc.strip()}" if protoc.strip() else "")
    if installed != pin:
        return Check("grpcio-tools", WARN, found, install, note)
    return Check("grpcio-tools", OK, found)


def check_git(root: Path) -> Check:
    if proc.which("git") is None:
        return Check("git", FAIL, "not found", proc.INSTALL_HINTS["git"].split(": ", 1)[1])
    if not git.is_repository(root):
        return Check("git", FAIL, f"{root} is not a git repository", f"git -C {root} init")
    # lazy: the release flow only for its settings, when git is checked
    from ..release.flow import ReleaseSettings

    try:
        branch = ReleaseSettings.load(root).branch
    except HexpackError as exc:  # a broken [tool.hexpack.release] stops a release too: show it, never guess "main"
        return Check("git", FAIL, " / ".join(exc.one_line().splitlines()), "fix [tool.hexpack.release]")
    current = git.current_branch(root)
    dirty = git.dirty_paths(root)
    found = f"on {current or 'a detached HEAD'}, " + (f"{len(dirty)} uncommitted change(s)" if dirty else "clean")
    if current is None and not dirty:
        tag = _output(["git", "-C", str(root), "describe", "--exact-match", "--tags", "HEAD"], os.environ)
        if tag and tag.strip().startswith("v"):  # CI publishing a pushed release tag
            return Check("git", OK, f"detached at release tag {tag.strip()}, clean")
    if current != branch:
        return Check("git", FAIL, found, f"git switch {branch}", f"releases are made from {branch}")
    if dirty:
        shown = ", ".join(dirty[:3]) + (" ..." if len(dirty) > 3 else "")
        # `git commit -am` leaves untracked files behind: name them for `git add`
        untracked = git.untracked_paths(root)
        commit = f"git add {' '.join(untracked[:3])}{' ...' if len(untracked) > 3 else ''} && " if untracked else ""
        fix = f'{commit}git commit -am "..."  (or: git stash --include-untracked)'
        return Check("git", FAIL, found, fix, shown)
    return Check("git", OK, found)


def check_credentials(env: Mapping[str, str]) -> list[Check]:
    """Whether the publishing secrets are set; their values are never read into the report."""
    checks = []
    if env.get("HEX_API_KEY"):
        checks.append(Check("HEX_API_KEY", OK, "set"))
    else:
        checks.append(
            Check("HEX_API_KEY", FAIL, "not set", "export HEX_API_KEY=<key from `mix hex.user key generate`>")
        )
    if env.get("TWINE_PASSWORD") or env.get("TWINE_API_KEY"):
        checks.append(Check("TWINE_PASSWORD", OK, "set"))
    else:
        checks.append(
            Check("TWINE_PASSWORD", FAIL, "not set", "export TWINE_USERNAME=__token__ TWINE_PASSWORD=<PyPI API token>")
        )
    return checks


# --------------------------------------------------------------------------- helpers


def _output(argv: list[str], env: Mapping[str, str]) -> str | None:
    """Combined output of a command that should succeed, or None."""
    try:
        done = proc.run(argv, env=env, check=False, timeout=TIMEOUT)
    except HexpackError:
        return None
    return (done.stdout + done.stderr) if done.returncode == 0 else None


def _first_line(argv: list[str], env: Mapping[str, str]) -> str | None:
    text = _output(argv, env)
    if text is None:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0

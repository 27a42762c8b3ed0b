"""The release flow: gates in order, one bump, one commit, one tag, then publish.

Nothing is changed until every gate has passed: the bumped tree is verified
in a temporary copy first, and only then are the bumped files written (all or
nothing), committed and tagged. Publishing goes Hex first (a Hex version can
be reverted for an hour) and PyPI second (a file can never be re-uploaded);
progress is recorded so a re-run after a failure resumes at the failed step
and never publishes twice.

Secrets (``secrets.PUBLISH_SECRETS``: ``HEX_API_KEY``, ``TWINE_PASSWORD``,
...) reach the publishing commands only: the gates run without them, and
every line the release shows, logs, raises or stores is redacted first. The
writing steps (bump, commit, tag, the progress record, publishing) hold the
project lock, so two releases at once cannot interleave or publish twice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import config, git, proc
from .. import settings_schema as schema
from ..errors import CommandFailed, HexpackError, UsageError
from ..fsutil import FileTransaction, atomic_write_text, project_lock
from ..secrets import redact, scrub_error, secret_values, without_secrets
from ..verify.gates import failing_gates
from ..versioning.changelog import is_empty_body, released_section, unreleased_body
from ..versioning.versions import PARTS, bump_version, parse

STATE_DIR = Path(".hexpack") / "release"
# What never travels into the temporary copy that the bumped tree is verified in.
_NOT_COPIED = {".git", ".nox", "_build", "deps", ".hexpack", ".venv", ".pytest_cache", ".ruff_cache", ".hypothesis"}


class ReleaseError(HexpackError):
    """A release gate refused, or a release step failed."""


@dataclass(frozen=True)
class ReleaseSettings:
    """``[tool.hexpack.release]``; commands are argv lists.

    ``verify`` may use ``{project}`` (the bumped copy), ``{dist}`` (where
    the verified Python dist must be left for the PyPI upload) and ``{report}``
    (where ``hexpack verify --json`` writes the report a failure is told from).
    """

    branch: str = "main"
    lint: tuple[str, ...] = ("nox", "-s", "lint")
    tests: tuple[str, ...] = ("nox", "-s", "tests")
    verify: tuple[str, ...] = (
        "hexpack",
        "verify",
        "--project",
        "{project}",
        "--dist-dir",
        "{dist}",
        "--json",
        "{report}",
    )
    hex_publish: tuple[str, ...] = ("mix", "hex.publish", "--yes")
    pypi_upload: tuple[str, ...] = ("twine", "upload", "--non-interactive", "--skip-existing")
    pypi: bool = True

    @classmethod
    def load(cls, root: Path) -> ReleaseSettings:
        return cls(**config.load(root).read(TABLE))


_ARGV = schema.Texts(nonempty=True, noun="an argv list (no shell)")
TABLE = schema.Table(
    "release",
    (
        schema.Field("branch", schema.Text(), default=ReleaseSettings.branch),
        schema.Field("lint", _ARGV, default=ReleaseSettings.lint),
        schema.Field("tests", _ARGV, default=ReleaseSettings.tests),
        schema.Field("verify", _ARGV, default=ReleaseSettings.verify),
        schema.Field("hex_publish", _ARGV, default=ReleaseSettings.hex_publish),
        schema.Field("pypi_upload", _ARGV, default=ReleaseSettings.pypi_upload),
        schema.Field("pypi", schema.Flag(), default=ReleaseSettings.pypi),
    ),
    purpose="`hexpack release` / `nox -s release -- <part>`",
)


@dataclass
class PublishState:
    """What has been published of a tagged release; kept in .hexpack/release/."""

    version: str
    tag: str
    commit: str
    dist_files: list[str] = field(default_factory=list)
    steps: dict[str, str] = field(default_factory=dict)  # step -> "pending" | "done" | "failed"

    @staticmethod
    def path(root: Path) -> Path:
        return root / STATE_DIR / "state.json"

    @classmethod
    def load(cls, root: Path) -> PublishState | None:
        path = cls.path(root)
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise ReleaseError(
                f"unreadable release state ({exc})", subject=str(path), hint="delete it and re-run"
            ) from None

    def save(self, root: Path) -> None:
        path = self.path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    def unfinished(self) -> list[str]:
        return [step for step, status in self.steps.items() if status != "done"]


@dataclass
class ReleaseResult:
    version: str
    tag: str
    dry_run: bool
    plan_diff: str = ""
    commit: str | None = None
    published: list[str] = field(default_factory=list)
    resumed: bool = False


Step = Callable[[str, str, str], None]  # (step name, status, detail)


def _quiet(step: str, status: str, detail: str) -> None:
    pass


def release(
    root: str | os.PathLike[str],
    part: str | None,
    *,
    publish: bool = False,
    dry_run: bool = False,
    allow_empty: bool = False,
    today: str | None = None,
    environ: Mapping[str, str] | None = None,
    on_step: Step = _quiet,
) -> ReleaseResult:
    """Run the release; see the module docstring. ``on_step`` reports progress (redacted)."""
    environ = dict(os.environ if environ is None else environ)
    hidden = secret_values(environ)

    def redacted_step(step: str, status: str, detail: str) -> None:
        on_step(step, status, redact(detail, hidden))

    try:
        return _release(root, part, publish, dry_run, allow_empty, today, environ, redacted_step)
    except HexpackError as exc:
        raise scrub_error(exc, hidden) from None


def _release(
    root: str | os.PathLike[str],
    part: str | None,
    publish: bool,
    dry_run: bool,
    allow_empty: bool,
    today: str | None,
    environ: dict[str, str],
    on_step: Step,
) -> ReleaseResult:
    root = Path(root).resolve()
    if not root.is_dir():
        raise UsageError("project directory not found", subject=str(root), hint="pass --project DIR of the project")
    if part is not None:
        _check_part(part)
    settings = ReleaseSettings.load(root)
    with project_lock(root, "hexpack release"):
        _tag_an_interrupted_release(root, on_step)

    state = PublishState.load(root)
    if (
        state is not None
        and state.unfinished()
        and git.is_repository(root)
        and git.tag_commit(root, state.tag) == git.head(root)
    ):
        if not publish:
            raise ReleaseError(
                f"{state.tag} is tagged but not published ({', '.join(state.unfinished())} pending)",
                subject="release",
                hint="run `nox -s release -- --publish` to finish it",
            )
        on_step("resume", "info", f"{state.tag}: resuming at {state.unfinished()[0]}")
        result = ReleaseResult(state.version, state.tag, dry_run, commit=state.commit, resumed=True)
        if not dry_run:
            result.published = _publish(root, settings, state, environ, on_step)
        return result
    if part is None:
        if publish:
            return _publish_tag_at_head(root, settings, environ, on_step)
        raise ReleaseError(
            "missing the version part", subject="release", hint="give major, minor, patch, pre, release or X.Y.Z"
        )

    # lazy: bump brings tomlkit; reading the release settings (doctor) does not need it
    from ..versioning import bump

    _gate(on_step, "clean work tree", lambda: _check_clean(root, settings.branch))
    report = bump.read_versions(root)
    tag = bump.tag_name(bump_version(report.version, part))
    _gate(on_step, "tag absent", lambda: _check_tag_absent(root, tag))
    _gate(on_step, "changelog", lambda: _check_changelog(root, report.config.changelog, allow_empty))
    _gate(on_step, "versions consistent", lambda: _check_versions(report))
    plan = bump.plan_bump(root, part, today=today, allow_empty=allow_empty)
    if publish:
        _gate(on_step, "credentials", lambda: _check_credentials(settings, environ))
    _gate(on_step, "lint", lambda: _run_gate(settings.lint, root, environ, "lint", on_step), slow=True)
    _gate(on_step, "tests", lambda: _run_gate(settings.tests, root, environ, "tests", on_step), slow=True)
    with tempfile.TemporaryDirectory(prefix="hexpack-release-") as scratch:
        scratch_path = Path(scratch)
        dist = scratch_path / "dist"
        _gate(
            on_step,
            "verify bumped tree",
            lambda: _verify_bumped_copy(root, plan, settings, scratch_path, dist, environ),
            slow=True,
        )
        result = ReleaseResult(plan.new, tag, dry_run, plan_diff=plan.diff())
        if dry_run:
            on_step("plan", "info", f"would commit {len(plan.changes)} file(s) as 'Release {tag}' and tag {tag}")
            return result
        with project_lock(root, "hexpack release"):
            _check_tag_absent(root, tag)  # another release may have made it while the gates ran
            kept_dist = _keep_dist(root, tag, dist)
            changed = [str(path.relative_to(root)) for path in plan.changes]
            originals = {path: path.read_bytes() for path in plan.changes}
            bump.apply_plan(plan)  # refuses when another run changed a file since the plan
            try:
                result.commit = git.commit_paths(root, changed, f"Release {tag}")
                git.create_annotated_tag(root, tag, _tag_message(tag, plan))
            except BaseException:
                _undo_commit_if_made(root, result.commit)
                FileTransaction(root=root).apply(originals)
                raise
            on_step("commit", "pass", f"Release {tag} ({', '.join(changed)})")
            on_step("tag", "pass", tag)
            state = PublishState(plan.new, tag, result.commit or "", kept_dist, {})
            state.steps["hex"] = "pending"
            if settings.pypi and kept_dist:
                state.steps["pypi"] = "pending"
            state.save(root)
    if publish:
        result.published = _publish(root, settings, state, environ, on_step)
    return result


def _tag_an_interrupted_release(root: Path, on_step: Step) -> None:
    """A release killed between its commit and its tag is rolled forward: the commit gets its tag.

    Without this, HEAD would be ``Release vX`` with no ``vX``: nothing to
    publish, and the next bump would build on an untagged release.
    """
    if not git.is_repository(root) or not (git.head_subject(root) or "").startswith("Release "):
        return
    # lazy: bump brings tomlkit; reading the release settings (doctor) does not need it
    from ..versioning import bump

    report = bump.read_versions(root, audit_files=False)
    tag = bump.tag_name(report.version)
    if git.head_subject(root) != f"Release {tag}" or git.tag_exists(root, tag):
        return
    try:
        text = (root / report.config.changelog).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    section = released_section(text, report.version.semver) or ""
    git.create_annotated_tag(root, tag, f"Release {tag}\n\n{section.strip()}\n")
    on_step("tag", "pass", f"{tag}: the release of HEAD was interrupted before its tag; tagged now")


def _check_part(part: str) -> None:
    """Refuse a misspelt part or a malformed version before any gate runs (its order is checked after gate 1)."""
    arg = part.strip()
    if arg in PARTS:
        return
    if not arg[:1].isdigit():
        raise UsageError(
            f"unknown part {arg!r}",
            subject="hexpack release",
            hint="use major, minor, patch, pre, release or a version such as 1.4.0-rc.1",
        )
    parse(arg, subject=f"hexpack release {arg}")


def _gate(on_step: Step, name: str, check: Callable[[], object], *, slow: bool = False) -> None:
    if slow:  # say what is running before minutes of silence
        on_step(name, "run", "")
    try:
        detail = check()
    except HexpackError as exc:
        on_step(name, "fail", "")  # the error below says why, once
        raise ReleaseError(exc.one_line(), subject=f"release gate '{name}'") from None
    on_step(name, "pass", detail if isinstance(detail, str) else "")


def _check_clean(root: Path, branch: str) -> str:
    if not git.is_repository(root):
        raise ReleaseError("not a git repository", subject=str(root), hint="run it from a clone")
    current = git.current_branch(root)
    if current != branch:
        raise ReleaseError(
            f"on {current or 'a detached HEAD'}, not the release branch {branch}",
            subject="git",
            hint=f"git switch {branch}",
        )
    dirty = git.dirty_paths(root)
    if dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise ReleaseError(f"work tree not clean: {shown}", subject="git", hint="commit or stash your changes")
    return f"on {branch}, clean"


def _check_tag_absent(root: Path, tag: str) -> str:
    if git.tag_exists(root, tag):
        raise ReleaseError(f"tag {tag} already exists", subject="git", hint="this version was released; bump further")
    return f"{tag} is free"


def _check_changelog(root: Path, changelog: str, allow_empty: bool) -> str:
    path = root / changelog
    if not path.is_file():
        raise ReleaseError(
            "file not found", subject=changelog, hint="create a Keep a Changelog file with ## [Unreleased]"
        )
    body = unreleased_body(path.read_text(encoding="utf-8"), subject=changelog)
    if is_empty_body(body):
        if not allow_empty:
            raise ReleaseError(
                "the [Unreleased] section is empty",
                subject=changelog,
                hint="describe the changes, or pass --allow-empty",
            )
        return "Unreleased is empty, released as such (--allow-empty)"
    return "Unreleased has entries"


def _check_versions(report) -> str:
    if not report.consistent:
        raise ReleaseError(report.summary(), subject="versions", hint="run `hexpack version` to see every place")
    return f"{report.canonical} everywhere"


def _check_credentials(settings: ReleaseSettings, environ: Mapping[str, str]) -> str:
    missing = []
    if not environ.get("HEX_API_KEY"):
        missing.append("HEX_API_KEY")
    if settings.pypi and not (environ.get("TWINE_PASSWORD") or environ.get("TWINE_API_KEY")):
        missing.append("TWINE_PASSWORD")
    if missing:
        raise ReleaseError(
            f"{' and '.join(missing)} not set", subject="publish", hint="export the token(s) before `--publish`"
        )
    return "tokens present"


def _run_gate(argv: Sequence[str], root: Path, environ: Mapping[str, str], name: str, on_step: Step = _quiet) -> str:
    """Run a gate command without the publishing secrets (its output redacted all the same); nox's session
    lines are told as steps while it runs; a failure names the failing tests or nox sessions, once."""
    shown = " ".join(argv)
    try:
        proc.run(
            list(argv),
            cwd=root,
            env=without_secrets(environ),
            redact=secret_values(environ),
            on_line=_nox_progress(name, on_step),
        )
    except CommandFailed as exc:
        raise ReleaseError(_what_failed(exc), subject=shown, hint=f"run `{shown}` and fix what it reports") from None
    return shown


def _what_failed(exc: CommandFailed) -> str:
    """The failing tests (pytest's summary) or nox sessions a gate's output names, else its last line."""
    tests = list(dict.fromkeys(re.findall(r"^(?:FAILED|ERROR) (\S+)", exc.output, re.MULTILINE)))
    if tests:
        shown = ", ".join(tests[:5]) + (f" and {len(tests) - 5} more" if len(tests) > 5 else "")
        return f"{len(tests)} failing test(s): {shown}"
    sessions = list(dict.fromkeys(re.findall(r"Session (\S+) (?:failed|aborted)", exc.output)))
    if sessions:
        # nox names the command that failed inside a session: that, not "Session lint failed.", is the news
        commands = list(dict.fromkeys(re.findall(r"nox > Command (.+) failed with exit code (\d+)", exc.output)))
        if commands:
            shown = "; ".join(f"{command} (exit {code})" for command, code in commands[:3])
            return f"nox session(s) {', '.join(sessions)} failed: {shown}"
        return f"nox session(s) {', '.join(sessions)} failed: {exc.what}"
    return exc.what


# nox's own lines as a session starts and ends ("Session tests-3.12 was successful in 2 minutes.")
_NOX_SESSION = re.compile(
    r"nox > (?:Running session (?P<started>\S+)|Session (?P<ended>\S+) (?P<outcome>was successful|\w+)(?P<detail>.*))"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _nox_progress(gate: str, on_step: Step) -> Callable[[str], None]:
    """A gate's command output, line by line, told as steps ("tests-3.12" run, then pass/fail/skip) when it is nox's."""

    def on_line(line: str) -> None:
        match = _NOX_SESSION.match(_ANSI.sub("", line).strip())
        if match is None:
            return
        if match["started"]:
            on_step(f"{gate}: {match['started']}", "run", "")
            return
        status = {"was successful": "pass", "skipped": "skip"}.get(match["outcome"], "fail")
        on_step(f"{gate}: {match['ended']}", status, match["detail"].strip(" :.") or "")

    return on_line


def _copy_tree(root: Path, target: Path) -> None:
    """What a clean checkout holds, as CI builds the release from one: the files git tracks, nothing
    ignored or untracked (a packaged file git does not track would be missing there, so it is here too)."""
    if git.is_repository(root):
        for rel in git.tracked_files(root):
            source = root / rel
            if source.is_symlink() or source.is_file():
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / rel, follow_symlinks=False)
        return

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_COPIED} if Path(directory) == root else set()

    shutil.copytree(root, target, symlinks=True, ignore=ignore)


def _verify_bumped_copy(
    root: Path, plan, settings: ReleaseSettings, scratch: Path, dist: Path, environ: Mapping[str, str]
) -> str:
    _verify_copy(root, plan.changes, settings, scratch, dist, environ)
    return f"{plan.new} verified"


def _verify_copy(
    root: Path,
    changes: Mapping[Path, bytes],
    settings: ReleaseSettings,
    scratch: Path,
    dist: Path,
    environ: Mapping[str, str],
) -> None:
    """Run the verify command on a copy of the tree with ``changes`` applied."""
    copy = scratch / "tree"
    _copy_tree(root, copy)
    if changes:
        FileTransaction().apply({copy / path.relative_to(root): data for path, data in changes.items()})
    dist.mkdir()
    report = scratch / "verify.json"
    argv = [part.format(project=copy, dist=dist, report=report) for part in settings.verify]
    try:
        proc.run(argv, cwd=copy, env=without_secrets(environ), redact=secret_values(environ))
    except CommandFailed as exc:
        failing = _failing_gates(report)
        raise ReleaseError(
            "; ".join(failing[:3]) or exc.one_line(),
            subject="verify",
            hint="run `nox -s verify_package` and fix what it reports",
        ) from None


def _failing_gates(report: Path) -> list[str]:
    """The failing gates in verify's JSON report; none when the command wrote no readable report
    (a verify command without ``{report}``, or one that stopped before its report)."""
    try:
        return failing_gates(json.loads(report.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _publish_tag_at_head(root: Path, settings: ReleaseSettings, environ: Mapping[str, str], on_step: Step):
    """Publish a release that was tagged elsewhere (CI on a pushed v* tag).

    There is no local progress record there, so the gates that still apply
    run again and every step is attempted; ``twine upload --skip-existing``
    and Hex's one-hour replace window keep a re-run from publishing twice.
    """
    # lazy: bump brings tomlkit; reading the release settings (doctor) does not need it
    from ..versioning import bump

    report = bump.read_versions(root)
    tag = bump.tag_name(report.version)
    if not git.is_repository(root) or git.tag_commit(root, tag) != git.head(root):
        raise ReleaseError(
            f"nothing to publish: HEAD is not the release tag {tag} and no release is pending",
            subject="release",
            hint="give the part to release (e.g. `nox -s release -- patch --publish`)",
        )
    _gate(on_step, "versions consistent", lambda: _check_versions(report))
    _gate(on_step, "credentials", lambda: _check_credentials(settings, environ))
    result = ReleaseResult(report.canonical, tag, False, commit=git.head(root))
    with tempfile.TemporaryDirectory(prefix="hexpack-release-") as scratch:
        dist = Path(scratch) / "dist"
        _gate(
            on_step,
            "verify tagged tree",
            lambda: _verify_copy(root, {}, settings, Path(scratch), dist, environ),
            slow=True,
        )
        kept = _keep_dist(root, tag, dist)
    state = PublishState(report.canonical, tag, result.commit or "", kept, {"hex": "pending"})
    if settings.pypi and kept:
        state.steps["pypi"] = "pending"
    state.save(root)
    result.published = _publish(root, settings, state, environ, on_step)
    return result


def _keep_dist(root: Path, tag: str, dist: Path) -> list[str]:
    """Move the verified Python dist beside the release state, for the upload."""
    files = sorted(p for p in dist.glob("*") if p.suffix in (".whl", ".gz"))
    if not files:
        return []
    keep = root / STATE_DIR / tag / "dist"
    if keep.exists():
        shutil.rmtree(keep)
    keep.mkdir(parents=True)
    kept = []
    for file in files:
        shutil.copy2(file, keep / file.name)
        kept.append(str((keep / file.name).relative_to(root)))
    return kept


def _undo_commit_if_made(root: Path, commit: str | None) -> None:
    if commit is not None and git.head(root) == commit:
        git.undo_last_commit(root)


def _tag_message(tag: str, plan) -> str:
    return f"Release {tag}\n\n{plan.changelog_section.strip()}\n"


def _publish(
    root: Path, settings: ReleaseSettings, state: PublishState, environ: Mapping[str, str], on_step: Step
) -> list[str]:
    with project_lock(root, "hexpack release --publish"):
        return _publish_locked(root, settings, state, environ, on_step)


def _publish_locked(
    root: Path, settings: ReleaseSettings, state: PublishState, environ: Mapping[str, str], on_step: Step
) -> list[str]:
    recorded = PublishState.load(root)  # a run that held the lock before this one may have published
    if recorded is not None and (recorded.tag, recorded.commit) == (state.tag, state.commit):
        state.steps.update({step: "done" for step, status in recorded.steps.items() if status == "done"})
    secrets = secret_values(environ)
    done = []
    for step in ("hex", "pypi"):
        status = state.steps.get(step)
        if status is None:
            continue
        if status == "done":
            on_step(f"publish {step}", "pass", "already published; skipped")
            continue
        if step == "hex":
            argv = list(settings.hex_publish)
        else:
            argv = [*settings.pypi_upload, *[str(root / f) for f in state.dist_files]]
        try:
            proc.run(
                argv,
                cwd=root,
                env=dict(environ),
                redact=secrets,
                hint="fix it and re-run `nox -s release -- --publish`",
            )
        except HexpackError as exc:
            state.steps[step] = "failed"
            state.save(root)
            on_step(f"publish {step}", "fail", exc.one_line())
            raise ReleaseError(exc.one_line(), subject=f"publish to {'Hex' if step == 'hex' else 'PyPI'}") from None
        state.steps[step] = "done"
        state.save(root)
        done.append(step)
        on_step(f"publish {step}", "pass", state.tag)
    return done

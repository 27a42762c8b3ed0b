"""The git facts and actions hexpack needs, through the one subprocess helper."""

from __future__ import annotations

from pathlib import Path

from . import proc
from .errors import HexpackError


def _git(root: Path, *args: str, check: bool = True) -> str:
    return proc.run(["git", *args], cwd=root, check=check).stdout


def is_repository(root: Path) -> bool:
    return (
        proc.which("git") is not None
        and proc.run(["git", "rev-parse", "--git-dir"], cwd=root, check=False).returncode == 0
    )


def current_branch(root: Path) -> str | None:
    """The checked-out branch, or None on a detached HEAD."""
    name = _git(root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    return None if name == "HEAD" else name


def dirty_paths(root: Path) -> list[str]:
    """Tracked changes and untracked files (ignored files don't count)."""
    out = _git(root, "status", "--porcelain", "--untracked-files=normal")
    return [line[3:] for line in out.splitlines() if line.strip()]


def tracked_files(root: Path) -> list[str]:
    return [p for p in _git(root, "ls-files", "-z").split("\0") if p]


def untracked_paths(root: Path) -> list[str]:
    """Files git does not track and does not ignore (``git status``'s ``??``)."""
    out = _git(root, "status", "--porcelain", "--untracked-files=normal")
    return [line[3:] for line in out.splitlines() if line.startswith("?? ")]


def ignoring_rules(root: Path, paths: list[str]) -> dict[str, str]:
    """For each of ``paths`` (relative to ``root``) that an ignore rule hides: ``source:line: pattern``."""
    if not paths:
        return {}
    done = proc.run(
        ["git", "check-ignore", "--verbose", "-z", "--stdin"], cwd=root, check=False, input="\0".join(paths) + "\0"
    )
    if done.returncode not in (0, 1):  # 1: none ignored
        raise HexpackError(f"git check-ignore failed: {done.stderr.strip()}", subject=str(root))
    fields = done.stdout.split("\0")
    return {
        fields[i + 3]: f"{fields[i]}:{fields[i + 1]}: {fields[i + 2]}"
        for i in range(0, len(fields) - 3, 4)
        if fields[i]
    }


def tag_exists(root: Path, tag: str) -> bool:
    return proc.run(["git", "rev-parse", "-q", "--verify", f"refs/tags/{tag}"], cwd=root, check=False).returncode == 0


def tag_commit(root: Path, tag: str) -> str | None:
    result = proc.run(["git", "rev-list", "-n", "1", tag], cwd=root, check=False)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def head(root: Path) -> str:
    return _git(root, "rev-parse", "HEAD").strip()


def head_subject(root: Path) -> str | None:
    """The subject line of HEAD's commit (None when there is no commit yet)."""
    result = proc.run(["git", "log", "-1", "--format=%s"], cwd=root, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def commit_paths(root: Path, paths: list[str], message: str) -> str:
    """Commit exactly ``paths`` (nothing else staged sneaks in); returns the new HEAD."""
    if not paths:
        raise HexpackError("nothing to commit", subject="git commit")
    _git(root, "add", "--", *paths)
    _git(root, "commit", "--quiet", "-m", message, "--", *paths)
    return head(root)


def undo_last_commit(root: Path) -> None:
    """Drop HEAD's commit, keeping its changes in the work tree, unstaged."""
    _git(root, "reset", "--soft", "HEAD~1")
    _git(root, "reset", "--quiet", "--", ".")


def create_annotated_tag(root: Path, tag: str, message: str) -> None:
    proc.run(["git", "tag", "--annotate", tag, "--cleanup=verbatim", "--file=-"], cwd=root, input=message)

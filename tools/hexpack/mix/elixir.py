"""Read ``mix.exs`` by evaluating it with the real Elixir.

One ``elixir`` process per read runs ``read_project.exs`` (shipped next to
this module) in the project directory; ``read_several_with_elixir`` reads many
trusted projects in one. That script starts Mix, compiles
``mix.exs`` in memory exactly as Mix does (nothing is written, deps need not be
fetched, Hex need not be installed) and prints the module's ``project/0``
keyword list as Erlang External Term Format, which ``decode_etf`` turns into
the Python values described in ``hexpack.mix.terms``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import proc
from ..errors import ProjectError
from ..records import Record
from .project import MixProject, map_key, project_from_config
from .terms import MAX_NESTING, Atom, Regex, atom

__all__ = ["ElixirReader", "Opaque", "decode_etf", "read_several_with_elixir", "read_with_elixir"]

SCRIPT = "read_project.exs"
TIMEOUT = 120.0
_TERM_MARK = "HEXPACK-TERM:"
_ERROR_MARK = "HEXPACK-ERROR:"


class Opaque(Record):
    """A value with no literal form (a function, pid, port or reference).

    ``kind`` is ``"function"``, ``"pid"``, ``"port"`` or ``"reference"``;
    ``text`` is what Elixir's ``inspect/1`` printed.
    """

    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str):
        self.kind = kind
        self.text = text


class ElixirReader:
    """The ``MixReader`` that asks Elixir: exact for every mix.exs Elixir can load."""

    name = "elixir"

    def available(self) -> bool:
        """True when ``elixir`` is on PATH."""
        return proc.which("elixir") is not None

    def read(self, root: str | Path) -> MixProject:
        return read_with_elixir(root)


def read_with_elixir(root: str | Path) -> MixProject:
    """Evaluate ``root/mix.exs`` with ``elixir`` and return what it configures.

    Raises CommandNotFound when elixir is not installed and ProjectError (one
    line, naming mix.exs and Elixir's own message) when mix.exs fails.
    """
    root = Path(root)
    mix_exs = _mix_exs(root)
    with _script() as script:
        completed = proc.run(["elixir", str(script)], cwd=root, check=False, timeout=TIMEOUT)
    config = _parse_output(completed.stdout, completed.stderr, completed.returncode, mix_exs)
    return project_from_config(root, config, reader="elixir", source=str(mix_exs))


def read_several_with_elixir(
    requests: Sequence[tuple[str | Path, Mapping[str, str | None]]],
) -> list[MixProject | ProjectError]:
    """Read each ``(root, variables)`` as ``read_with_elixir`` would, all in one ``elixir`` process.

    ``variables`` are set (a value) or unset (``None``) for that read only, and
    ``Mix.env`` follows its ``MIX_ENV``. Between reads the project is popped and
    the modules its mix.exs defined are purged, but a mix.exs can still leave
    other state behind for the next (application env, processes), so this is for
    projects you trust, such as fixtures: it saves a BEAM start (about 0.6 s of
    CPU) per project. Returns, in order, each project or the ProjectError its
    read would have raised.
    """
    import base64  # lazy: start-up time (only Elixir's answer is base64)

    def field(text: str) -> str:
        return base64.b64encode(text.encode("utf-8", "surrogateescape")).decode("ascii")

    roots = [Path(root) for root, _ in requests]
    missing = [str(root / "mix.exs") for root in roots if not (root / "mix.exs").is_file()]
    if missing:
        raise ProjectError("no such file", subject=", ".join(missing), hint="give each read a mix project")
    lines = []
    for root, (_, variables) in zip(roots, requests, strict=True):
        assignments = [name if value is None else f"{name}={value}" for name, value in variables.items()]
        lines.append(" ".join(field(text) for text in [str(root.resolve()), *assignments]))
    with _script() as script:
        completed = proc.run(
            ["elixir", str(script), "--several"],
            check=False,
            timeout=TIMEOUT + 5.0 * len(roots),
            input="".join(line + "\n" for line in lines),
        )
    answers = [line for line in completed.stdout.splitlines() if line.startswith((_TERM_MARK, _ERROR_MARK))]
    results: list[MixProject | ProjectError] = []
    for index, root in enumerate(roots):
        mix_exs = root / "mix.exs"
        try:
            if index >= len(answers):  # elixir stopped early (a mix.exs halted it): its last words, for each
                config = _parse_output("", completed.stderr, completed.returncode or 1, mix_exs)
            else:
                config = _parse_output(answers[index], completed.stderr, 0, mix_exs)
            results.append(project_from_config(root, config, reader="elixir", source=str(mix_exs)))
        except ProjectError as exc:
            results.append(exc)
    return results


def _mix_exs(root: Path) -> Path:
    mix_exs = root / "mix.exs"
    if not mix_exs.is_file():
        raise ProjectError(
            "no such file", subject=str(mix_exs), hint="run hexpack inside a mix project or pass --project"
        )
    return mix_exs


def _script():
    """``read_project.exs`` as a file, wherever hexpack is installed from."""
    # lazy: start-up time (the readers module loads this engine for every build; a static read needs neither)
    from importlib import resources

    return resources.as_file(resources.files(__package__) / SCRIPT)


def _parse_output(stdout: str, stderr: str, returncode: int, mix_exs: Path) -> Any:
    import base64  # lazy: start-up time (only Elixir's answer is base64)

    for line in reversed(stdout.splitlines()):
        if line.startswith(_TERM_MARK) and returncode == 0:
            return decode_etf(base64.b64decode(line[len(_TERM_MARK) :]))
        if line.startswith(_ERROR_MARK):
            message = base64.b64decode(line[len(_ERROR_MARK) :]).decode("utf-8", "replace")
            raise ProjectError(f"Elixir cannot evaluate it: {_one_line(message, stderr)}", subject=str(mix_exs))
    last = _one_line("", stderr + "\n" + stdout) or f"elixir exited with status {returncode}"
    raise ProjectError(f"Elixir cannot evaluate it: {last}", subject=str(mix_exs))


def _one_line(message: str, stderr: str) -> str:
    """Elixir's message on one line; when it only says the errors were logged,
    the first logged error line from stderr instead."""
    text = " ".join(message.split())
    if not text or "errors have been logged" in text:
        logged = [line.strip() for line in stderr.splitlines() if line.strip()]
        errors = [line for line in logged if line.startswith(("error:", "** ("))]
        if errors:
            text = (text + ": " if text else "") + errors[0]
    return text[:400]


# --- Erlang External Term Format ------------------------------------------

_REGEX_TAG = "__hexpack_regex__"
_OPAQUE_TAG = "__hexpack_opaque__"


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ProjectError("truncated term from elixir", subject=SCRIPT)
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]


def decode_etf(data: bytes) -> Any:
    """Decode one term in External Term Format (``:erlang.term_to_binary/1``).

    Binaries become ``str`` (``bytes`` when not UTF-8), atoms ``Atom``
    (``true``/``false``/``nil`` become ``True``/``False``/``None``), lists
    ``list``, tuples ``tuple``, maps ``dict`` (in the order Erlang stored
    them) and the tagged tuples of read_project.exs ``Regex``/``Opaque``.
    """
    if not data or data[0] != 131:
        raise ProjectError("not an Erlang external term", subject=SCRIPT)
    reader = _Reader(data)
    reader.pos = 1
    value = _decode(reader, 0)
    if reader.pos != len(data):
        raise ProjectError("trailing bytes after the term", subject=SCRIPT)
    return value


def _decode(r: _Reader, depth: int) -> Any:
    tag = r.u8()
    if tag in (104, 105, 108, 116):
        depth += 1
        if depth > MAX_NESTING:
            raise ProjectError(
                f"project/0 returns a value nested more than {MAX_NESTING} levels deep", subject="mix.exs"
            )
    if tag == 97:  # SMALL_INTEGER_EXT
        return r.u8()
    if tag == 98:  # INTEGER_EXT
        return struct.unpack(">i", r.take(4))[0]
    if tag == 70:  # NEW_FLOAT_EXT
        return struct.unpack(">d", r.take(8))[0]
    if tag == 99:  # FLOAT_EXT (old text form)
        return float(r.take(31).split(b"\0", 1)[0])
    if tag in (100, 118):  # ATOM_EXT (latin-1), ATOM_UTF8_EXT
        raw = r.take(r.u16())
        return atom(raw.decode("latin-1" if tag == 100 else "utf-8"))
    if tag in (115, 119):  # SMALL_ATOM_EXT, SMALL_ATOM_UTF8_EXT
        raw = r.take(r.u8())
        return atom(raw.decode("latin-1" if tag == 115 else "utf-8"))
    if tag in (104, 105):  # SMALL_TUPLE_EXT, LARGE_TUPLE_EXT
        arity = r.u8() if tag == 104 else r.u32()
        items = tuple(_decode(r, depth) for _ in range(arity))
        return _untag(items)
    if tag == 106:  # NIL_EXT
        return []
    if tag == 107:  # STRING_EXT: a list of small integers (a charlist)
        return list(r.take(r.u16()))
    if tag == 108:  # LIST_EXT
        length = r.u32()
        items = [_decode(r, depth) for _ in range(length)]
        tail = _decode(r, depth)
        if not (isinstance(tail, list) and not tail):
            raise ProjectError("mix.exs returned an improper list, which hexpack cannot represent", subject="mix.exs")
        return items
    if tag == 109:  # BINARY_EXT
        raw = r.take(r.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if tag in (110, 111):  # SMALL_BIG_EXT, LARGE_BIG_EXT
        n = r.u8() if tag == 110 else r.u32()
        sign = r.u8()
        value = int.from_bytes(r.take(n), "little")
        return -value if sign else value
    if tag == 116:  # MAP_EXT
        arity = r.u32()
        result: dict[Any, Any] = {}
        for _ in range(arity):
            key = _decode(r, depth)
            result[map_key(key)] = _decode(r, depth)
        return result
    if tag == 77:  # BIT_BINARY_EXT
        raise ProjectError("mix.exs returned a bitstring that is not a binary", subject="mix.exs")
    raise ProjectError(f"unsupported term tag {tag} from elixir", subject=SCRIPT)


def _untag(items: tuple[Any, ...]) -> Any:
    if len(items) == 3 and isinstance(items[0], Atom):
        if items[0] == _REGEX_TAG and isinstance(items[1], str) and isinstance(items[2], str):
            return Regex(items[1], items[2])
        if items[0] == _OPAQUE_TAG:
            return Opaque(str(items[1]), str(items[2]))
    return items

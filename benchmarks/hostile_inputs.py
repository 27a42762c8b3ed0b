"""A probe of hostile inputs against hexpack's commands; prints what went wrong, as figures.

Each input is a package tarball, a mix.exs, a ``files:`` glob, an ``exclude_patterns``
regex or a project tree shape built to break a reader (deep nesting, huge integers,
200,000-component paths, long and tangled symlinks, PAX records, names with control
characters, catastrophic regexes, symlinks out of the project, bit flips of a real
package, ...). Every input runs the real command line (``hexpack inspect``, ``diff``,
``unpack``, ``verify --tarball`` with its tarball gates, ``build --reader static``,
``inspect DIR``) inside a worker process, in a sandbox directory beside a sentinel.

Printed: inputs tried, answered (a result or error lines only), tracebacks, hangs over
the bound (the worker is killed and restarted), writes outside the target, output a
name could forge (raw control characters), the slowest input and the worker's peak
memory. Every figure but "inputs tried" should be 0.

Usage: ``python benchmarks/hostile_inputs.py [--per-class N] [--bound SECONDS] [--seed S]``
(in a venv with hexpack installed, e.g. ``.venv/bin/python``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "fixtures" / "hex-reference" / "default_files" / "hex-2.5.1.tar"
METADATA = b'{<<"name">>,<<"demo">>}.\n{<<"version">>,<<"1.0.0">>}.\n'
MIX = """defmodule P.MixProject do
  use Mix.Project
  def project do
    [app: :p, version: "1.2.3", description: "d", package: [licenses: ["MIT"], links: %{}, PACKAGE]]
  end
end
"""
CLASSES = ("metadata", "paths", "links", "pax", "names", "flips", "mix_exs", "globs", "regexes", "trees")


# ---------------------------------------------------------------------------------------- inputs


def _package(members, metadata: bytes = METADATA) -> bytes:
    from hexpack.hex import tarball as T

    return T.outer_tarball(metadata, T.contents_tar_gz(members))


def _file(path: str, data: bytes = b"x"):
    from hexpack.hex.tarball import Member

    return Member(path, "file", 0o644, data)


def _link(path: str, target: str):
    from hexpack.hex.tarball import Member

    return Member(path, "symlink", 0o777, linkname=target)


def tarball_input(kind: str, rng: random.Random) -> bytes:  # noqa: PLR0911
    """One hostile package of the class ``kind``."""
    if kind == "metadata":
        depth = rng.choice([50, 99, 100, 101, 300, 1000, 5000, 50000])
        opener = rng.choice(["[", "{"])
        closer = "]" if opener == "[" else "}"
        value = rng.choice(
            [
                opener * depth + closer * depth,
                "9" * rng.choice([999, 1000, 1001, 4300, 4301, 100000]),
                "16#" + "f" * rng.choice([100, 5000, 200000]),
                rng.choice(["1.0e999", "-1.0e400", "1.0e-400", "0.1e308"]),
                '[{<<"Source">>,<<"' + rng.choice(["http://[::1", "https://[x]y", "http://h:p/", "a\\nb"]) + '">>}]',
            ]
        )
        key = rng.choice([b"extra", b"links", b"description", b"requirements"])
        return _package([_file("lib/a.ex")], METADATA + b'{<<"' + key + b'">>,' + value.encode() + b"}.\n")
    if kind == "paths":
        count = rng.choice([100, 2047, 2049, 20000, 200000])
        part = rng.choice(["a", ".", "ab", "a/..", ""])
        return _package([_file("lib/a.ex"), _file("/".join([part] * count) + "/f")])
    if kind == "links":
        members = [_file("lib/a.ex")]
        shape = rng.choice(["long", "chain", "loop", "out", "many"])
        if shape == "long":
            members.append(_link("l", "./" * rng.choice([1000, 2048, 100000]) + "lib/a.ex"))
        elif shape == "chain":
            up = "lib/../" * rng.choice([10, 500])
            members.append(_link("l0", "lib"))
            members += [_link(f"l{i}", f"{up}l{i - 1}") for i in range(1, 45)]
            members += [_link(f"m{i}", "l44/a.ex") for i in range(rng.choice([10, 500]))]
        elif shape == "loop":
            members += [_link("x", "y/z"), _link("y", "x")]
        elif shape == "out":
            members += [_link("b", "."), _link("a", "b/b/b/../../..")]
        else:
            members += [_link(f"d{i}/l", "../lib/a.ex") for i in range(rng.choice([1000, 3000]))]
        return _package(members)
    if kind == "pax":
        from hexpack.hex import tarball as T

        out = io.BytesIO()
        import tarfile

        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("lib/a.ex")
            body = b"hello world"
            info.size = len(body)
            info.pax_headers = {"size": rng.choice(["0", "5", "11", "12", "99999999999", "x", "-1"])}
            tar.addfile(info, io.BytesIO(body))
        return T.outer_tarball(METADATA, T.gzip_hex(out.getvalue()))
    if kind == "names":
        chars = ["\n", "\r", "\x1b[2J", "\x1b]0;pwned\x07", "\u202e", "\t", "\x7f", "\x9b", "  0644  1  "]
        name = "lib/" + "".join(rng.choice(chars + ["a", "b"]) for _ in range(rng.randint(1, 12)))
        extra = rng.choice(chars)
        metadata = METADATA + b'{<<"description">>,<<"' + extra.encode().replace(b"\\", b"\\\\") + b'">>}.\n'
        return _package([_file("lib/a.ex"), _file(name), _link("lib/z", "a.ex" + extra)], metadata)
    if kind == "flips":
        data = bytearray(REFERENCE.read_bytes())
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            return bytes(data)
        return bytes(data[: rng.randrange(len(data))])
    raise ValueError(kind)


def project_input(kind: str, rng: random.Random, root: Path) -> None:
    """Write one hostile project of the class ``kind`` into ``root``."""
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "p.ex").write_text("defmodule P do end\n")
    package = 'files: ["lib"]'
    if kind == "mix_exs":
        value = rng.choice(
            [
                "9" * rng.choice([1000, 4301, 50000]),
                "0x" + "f" * 5000,
                "[" * rng.choice([100, 300, 3000]) + "]" * 0,
                "[" * 400 + "]" * 400,
                "%{" * 200 + "}" * 200,
                '"' + "\\n" * 1000 + '"',
                "1.0e999",
            ]
        )
        package += f', extra: %{{"n" => {value}}}'
    elif kind == "globs":
        chars = ["*", "**", "?", "[a]", "{a,b}", "{a}", "/", "\\\\", ".", "lib", "!"]
        pattern = "".join(rng.choice(chars) for _ in range(rng.randint(1, 60))) * rng.choice([1, 50, 2000])
        package = f"files: [{json.dumps(pattern)}]"
    elif kind == "regexes":
        (root / "lib" / ("a" * 40 + "!")).write_text("")
        regex = rng.choice(["(a+)+$", "(a|aa)+$", "(a*)*b", "([a-z]+)*!x", "\\\\w+\\\\.ex$", "("])
        package += f", exclude_patterns: [~r/{regex}/]"
    elif kind == "trees":
        shape = rng.choice(["deep", "wide", "loop", "out", "fifo", "sparse", "abs"])
        if shape == "deep":
            fd = os.open(root / "lib", os.O_RDONLY)
            for _ in range(rng.choice([500, 1500])):
                os.mkdir("d", dir_fd=fd)
                inner = os.open("d", os.O_RDONLY, dir_fd=fd)
                os.close(fd)
                fd = inner
            os.close(fd)
            package = rng.choice(['files: ["lib"]', 'files: ["lib/**"]'])
        elif shape == "wide":
            for i in range(rng.choice([2000, 10000])):
                (root / "lib" / f"f{i}.ex").write_text("")
        elif shape == "loop":
            os.symlink("b", root / "lib" / "a")
            os.symlink("a", root / "lib" / "b")
            package = 'files: ["lib", "lib/a/**"]'
        elif shape == "out":
            os.symlink("/etc", root / "lib" / "ext")
            package = rng.choice(['files: ["lib"]', 'files: ["lib/ext/*"]', 'files: ["lib/ext/hostname"]'])
        elif shape == "fifo":
            os.mkfifo(root / "lib" / "pipe")
        elif shape == "sparse":
            with open(root / "lib" / "huge.bin", "wb") as handle:
                handle.truncate(rng.choice([200, 1536]) * 2**20)
        else:
            os.symlink("../../../../etc/hostname", root / "lib" / "escape")
    (root / "mix.exs").write_text(MIX.replace("PACKAGE", package))


# ---------------------------------------------------------------------------------------- worker


def _snapshot(sandbox: Path, skip: str) -> set[tuple[str, int, int]]:
    """Every entry under the sandbox except the target and what is below it: (path, size, mtime)."""
    entries = set()
    for dirpath, dirnames, filenames in os.walk(sandbox):
        if dirpath == str(sandbox):
            dirnames[:] = [d for d in dirnames if d != skip]
        for name in filenames + dirnames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            entries.add((os.path.relpath(path, sandbox), info.st_size, info.st_mtime_ns))
    return entries


def run_case(kind: str, index: int, seed: int) -> dict:
    """Run one input through the CLI in-process; return what happened."""
    from hexpack.cli import main

    rng = random.Random(f"{seed}-{kind}-{index}")
    sandbox = Path(tempfile.mkdtemp(prefix="hexpack-probe-"))
    (sandbox / "sentinel").mkdir()
    (sandbox / "sentinel" / "keep").write_text("keep")
    argvs: list[list[str]] = []
    target = "out"
    if kind in ("metadata", "paths", "links", "pax", "names", "flips"):
        pkg = sandbox / "pkg.tar"
        pkg.write_bytes(tarball_input(kind, rng))
        other = sandbox / "ref.tar"
        other.write_bytes(REFERENCE.read_bytes())
        argvs = [
            ["inspect", str(pkg)],
            ["inspect", str(pkg), "--json"],
            ["diff", str(other), str(pkg)],
            ["unpack", str(pkg), "-o", str(sandbox / target)],
            ["verify", "--tarball", str(pkg), "--skip", "freshness,smoke,pydist", "--project", str(sandbox)],
        ]
    else:
        project = sandbox / target
        project_input(kind, rng, project)
        argvs = [
            ["build", "--project", str(project), "--reader", "static", "-o", str(project / "p.tar")],
            ["inspect", str(project), "--reader", "static"],
        ]
    before = _snapshot(sandbox, target)
    result = {"kind": kind, "index": index, "runs": 0, "tracebacks": [], "forged": 0, "multi_line_errors": 0}
    start = time.perf_counter()
    for argv in argvs:
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
        except BaseException as exc:  # noqa: BLE001 (a traceback escaping the CLI edge is what is counted)
            if isinstance(exc, KeyboardInterrupt):
                raise
            code = None
            result["tracebacks"].append(f"{argv[0]}: {''.join(traceback.format_exception_only(exc)).strip()[:200]}")
        result["runs"] += 1
        text = out.getvalue() + err.getvalue()
        if "Traceback (most recent call last)" in text:
            result["tracebacks"].append(f"{argv[0]}: traceback printed")
        if any(ch in text for ch in ("\x1b", "\r", "\u202e", "\x07", "\x9b", "\x00")):
            result["forged"] += 1
        if code not in (0, None) and argv[0] != "diff" and argv[0] != "verify":
            errors = [line for line in err.getvalue().splitlines() if line.startswith("error:")]
            if not errors:
                result["tracebacks"].append(f"{argv[0]}: exit {code} without an error line")
    result["seconds"] = time.perf_counter() - start
    after = _snapshot(sandbox, target)
    result["outside"] = sorted({entry[0] for entry in after ^ before})
    _remove(sandbox)
    return result


def _remove(path: Path) -> None:
    for dirpath, dirnames, _ in os.walk(path):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def worker(seed: int) -> None:
    """Read ``kind index`` lines on stdin, answer one JSON line each."""
    sys.setrecursionlimit(1000)  # Python's default: a crash here is a crash for users
    for line in sys.stdin:
        kind, index = line.split()
        result = run_case(kind, int(index), seed)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------- driver


class Worker:
    def __init__(self, seed: int):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--seed", str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tempfile.gettempdir(),
        )

    def ask(self, kind: str, index: int, bound: float) -> dict | None:
        """The worker's answer, or None when it took longer than ``bound`` (then it is killed)."""
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{kind} {index}\n")
        self.proc.stdin.flush()
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=bound):
                self.proc.kill()
                self.proc.wait()
                return None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            return {"kind": kind, "index": index, "tracebacks": [f"worker died ({self.proc.returncode})"]}
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=200, help="inputs per class (default 200)")
    parser.add_argument("--bound", type=float, default=60.0, help="seconds before an input counts as a hang")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--classes", default=",".join(CLASSES))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.seed)
        return
    classes = [c for c in args.classes.split(",") if c]
    totals = {"inputs": 0, "runs": 0, "tracebacks": 0, "hangs": 0, "outside": 0, "forged": 0}
    slowest = (0.0, "")
    peak = 0.0
    examples: list[str] = []
    started = time.perf_counter()
    current = Worker(args.seed)
    for kind in classes:
        count = args.per_class if kind not in ("regexes", "trees") else max(1, args.per_class // 10)
        kind_start = time.perf_counter()
        for index in range(count):
            answer = current.ask(kind, index, args.bound)
            totals["inputs"] += 1
            if answer is None:
                totals["hangs"] += 1
                examples.append(f"hang over {args.bound:g} s: {kind} #{index}")
                current = Worker(args.seed)
                continue
            totals["runs"] += answer.get("runs", 0)
            if answer["tracebacks"]:
                totals["tracebacks"] += 1
                examples.append(f"{kind} #{index}: {answer['tracebacks'][0]}")
                if answer["tracebacks"][0].startswith("worker died"):
                    current = Worker(args.seed)
                    continue
            if answer.get("outside"):
                totals["outside"] += 1
                examples.append(f"{kind} #{index}: wrote outside its target: {answer['outside'][:3]}")
            if answer.get("forged"):
                totals["forged"] += 1
                examples.append(f"{kind} #{index}: raw control characters in output")
            if answer.get("seconds", 0) > slowest[0]:
                slowest = (answer["seconds"], f"{kind} #{index}")
            peak = max(peak, answer.get("peak_rss_mb", 0))
        print(f"  {kind:9} {count:5} inputs  {time.perf_counter() - kind_start:6.1f} s", flush=True)
    current.close()
    print(f"inputs tried:                  {totals['inputs']}  ({totals['runs']} command runs)")
    print(f"tracebacks:                    {totals['tracebacks']}")
    print(f"hangs over {args.bound:g} s:              {totals['hangs']}")
    print(f"written outside a target:      {totals['outside']}")
    print(f"output forged by a name:       {totals['forged']}")
    print(f"slowest input:                 {slowest[0]:.2f} s ({slowest[1]}, all its commands)")
    print(f"worker peak memory:            {peak:.0f} MB")
    print(f"wall time:                     {time.perf_counter() - started:.0f} s")
    for line in examples[:20]:
        print(f"  {line}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tools"))
    main()

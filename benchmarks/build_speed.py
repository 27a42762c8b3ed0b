"""How fast `hexpack build` makes a Hex package, against `tar czf` of the same files.

Generates a mix project of about 300 files and 1.7 MB (Elixir sources, a
Python bridge under priv/python, protos, a few binary blobs), then times:

* the engine: ``build_project`` in-process, mix.exs already read (selection,
  metadata, inner tar + deflate, outer tar, checksums);
* ``hexpack build`` as a user runs it (a fresh process, mix.exs read with the
  static reader, the tarball written);
* the floor: ``tar czf`` of exactly the files the package holds;
* ``mix hex.build`` when Hex is installed (``mix hex.info`` works).

Prints the figures (median of several runs) and the ratios; the target is the
engine within 1.5x of the floor. Usage: ``python benchmarks/build_speed.py
[--runs N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hexpack import proc
from hexpack.build import build_project
from hexpack.mix_project import read_project

MIX_EXS = """defmodule Bench.MixProject do
  use Mix.Project

  def project do
    [
      app: :bench_bridge,
      version: "0.9.0",
      elixir: "~> 1.14",
      description: "Benchmark project: a Python gRPC bridge shipped in priv.",
      package: [
        licenses: ["Apache-2.0"],
        links: %{"Source" => "https://example.invalid/bench"},
        files: ~w(lib priv mix.exs README.md LICENSE),
        exclude_patterns: [~r/__pycache__/, ~r/\\.pyc$/]
      ],
      deps: [{:jason, "~> 1.4"}]
    ]
  end
end
"""

WORDS = [
    "def",
    "defp",
    "end",
    "do",
    "case",
    "cond",
    "with",
    "when",
    "import",
    "alias",
    "require",
    "use",
    "module",
    "struct",
    "map",
    "list",
    "tuple",
    "atom",
    "binary",
    "string",
    "integer",
    "float",
    "pid",
    "port",
    "reference",
    "self",
    "spawn",
    "send",
    "receive",
    "after",
    "raise",
    "rescue",
    "try",
    "catch",
    "throw",
    "return",
    "yield",
    "lambda",
    "class",
    "async",
    "await",
    "import",
    "from",
    "for",
    "while",
    "if",
    "elif",
    "else",
    "pass",
    "break",
    "continue",
    "request",
    "response",
    "channel",
    "stub",
    "servicer",
    "server",
    "client",
    "stream",
    "unary",
    "message",
    "field",
    "repeated",
    "optional",
    "bytes",
]


def _text(rng: random.Random, size: int) -> bytes:
    lines = []
    total = 0
    while total < size:
        indent = "  " * rng.randint(0, 4)
        line = indent + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + "\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def generate(root: Path, *, files: int = 300, total: int = 1_700_000, seed: int = 42) -> None:
    """A mix project with ``files`` package files totalling about ``total`` bytes."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / "mix.exs").write_text(MIX_EXS)
    (root / "README.md").write_text("# bench_bridge\n\nBenchmark project.\n")
    (root / "LICENSE").write_text("Apache License 2.0\n")
    layout = [
        ("lib/bench_bridge", ".ex", 90),
        ("priv/python/bench_bridge", ".py", 110),
        ("priv/python/bench_bridge/adapters", ".py", 40),
        ("priv/proto/bench_bridge", ".proto", 30),
        ("priv/data", ".bin", 27),
    ]
    count = sum(n for _, _, n in layout)
    average = total // count
    for directory, suffix, number in layout:
        (root / directory).mkdir(parents=True, exist_ok=True)
        for index in range(number):
            size = max(64, int(rng.gauss(average, average / 3)))
            data = rng.randbytes(size // 4) + _text(rng, size - size // 4) if suffix == ".bin" else _text(rng, size)
            path = root / directory / f"mod_{index:03d}{suffix}"
            path.write_bytes(data)
    (root / "priv/python/grpc_server.py").write_bytes(_text(rng, 4000))
    (root / "priv/python/grpc_server.py").chmod(0o755)
    # things the excludes drop
    cache = root / "priv/python/bench_bridge/__pycache__"
    cache.mkdir()
    for index in range(10):
        (cache / f"mod_{index:03d}.cpython-311.pyc").write_bytes(rng.randbytes(2000))


def median_time(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="generate the project here and keep it")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="hexpack-bench-"))
    try:
        root = (args.keep or workdir / "project").resolve()
        if root.exists():
            shutil.rmtree(root)
        generate(root)
        project = read_project(root, reader="static")
        result = build_project(project, root=root)
        regular = [m.path for m in result.members if m.kind != "dir"]
        size = sum(m.size for m in result.members)
        print(
            f"project: {len(result.files)} paths, {len(regular)} files, {size / 1e6:.2f} MB -> {len(result.tarball)} B"
        )

        engine = median_time(lambda: build_project(project, root=root), args.runs)

        out = workdir / "cli.tar"
        cli = [sys.executable, "-m", "hexpack", "build", "--project", str(root), "-o", str(out), "--reader", "static"]
        whole = median_time(lambda: subprocess.run(cli, check=True, capture_output=True), args.runs)

        tar = proc.which("tar")
        floor = None
        if tar:
            listing = workdir / "files.txt"
            listing.write_text("\n".join(regular) + "\n")
            tar_argv = [tar, "czf", str(workdir / "floor.tgz"), "--no-recursion", "-C", str(root), "-T", str(listing)]
            floor = median_time(lambda: subprocess.run(tar_argv, check=True, capture_output=True), args.runs)

        print(f"hexpack engine (build_project, in-process): {engine * 1000:8.1f} ms")
        print(f"hexpack build (CLI, fresh process, static): {whole * 1000:8.1f} ms")
        if floor is not None:
            print(f"tar czf of the same files (the floor):      {floor * 1000:8.1f} ms")
            print(f"ratio engine / tar czf: {engine / floor:.2f}x (target <= 1.5x)")
            print(f"ratio CLI / tar czf:    {whole / floor:.2f}x (includes Python start-up)")
        else:
            print("tar not found: no floor measured")

        mix = proc.which("mix")
        hex_ok = False
        if mix:
            info = subprocess.run([mix, "hex.info"], cwd=root, capture_output=True, text=True)
            hex_ok = info.returncode == 0
        if hex_ok:
            hex_argv = [mix, "hex.build", "-o", str(workdir / "hex.tar")]
            hex_time = median_time(lambda: subprocess.run(hex_argv, cwd=root, check=True, capture_output=True), 3)
            print(f"mix hex.build:                              {hex_time * 1000:8.1f} ms")
            print(f"ratio CLI / mix hex.build: {whole / hex_time:.2f}x")
        else:
            print("mix hex.build: not measured (Hex is not installed: `mix hex.info` fails)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

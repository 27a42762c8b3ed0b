"""hexpack adopted by a snakepit-like project and by a snakebridge-like one, end to end.

The guide promises that hexpack works on layouts other than this
repository's, such as snakepit's, where the Python lives directly in
``priv/python/`` (protos in ``priv/proto``, flat stubs imported top-level as
``import snakepit_bridge_pb2_grpc``), configured in a top-level
``hexpack.toml`` and with no assemble mapping. ``make_snakepit`` writes such a
project (a generator, not a committed copy of snakepit) whose
``grpc_server.py`` has the command line and behaviour of snakepit v0.13.0's:
``--adapter``/``--port``/``--elixir-address``/``--health-check`` options, a
wait for the Elixir side's ``BridgeService.Ping`` before serving, the bound
port written to ``$SNAKEPIT_READY_FILE``, no ``grpc.health.v1``. The tests walk
it the way a maintainer adopting hexpack would: init, stubs, stubs --check,
the smoke settings ``smoke_detect`` reads off the server, verify (whose smoke
jobs run that server unchanged, with a stand-in peer), version, bump, release
--dry-run; then break it the classic ways and check that verify names each
cause. ``make_snakebridge`` writes a package with no server of its own
(``server = false``) whose shipped Python is installed and imported instead.

Real parts throughout: elixir reads mix.exs, grpcio-tools generates the
stubs, the smoke test starts the real server in a uv venv. The Hex deps
(``:grpc``, ``:jason``) are metadata only; nothing is fetched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_program
from hexpack import cli

pytestmark = pytest.mark.interpreter_independent  # Elixir, protoc and verify on an adopted project

VERSION = "0.6.1"

MIX_EXS = r"""defmodule Snakepit.MixProject do
  use Mix.Project

  @version "0.6.1"
  @source_url "https://github.com/nshkrdotcom/snakepit"

  def project do
    [
      app: :snakepit,
      version: @version,
      elixir: "~> 1.14",
      elixirc_paths: elixirc_paths(Mix.env()),
      start_permanent: Mix.env() == :prod,
      deps: deps(),
      description: description(),
      package: package(),
      docs: docs(),
      name: "Snakepit",
      source_url: @source_url
    ]
  end

  def application do
    [extra_applications: [:logger]]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]

  defp deps do
    [
      {:grpc, "~> 0.10"},
      {:jason, "~> 1.4"},
      {:ex_doc, "~> 0.34", only: :dev, runtime: false}
    ]
  end

  defp description do
    "A pooler and session manager for external language workers, with a gRPC bridge to Python."
  end

  defp package do
    [
      name: "snakepit",
      files: [
        "lib",
        "priv/python/**/*.py",
        "priv/python/requirements.txt",
        "priv/proto",
        "mix.exs",
        "README.md",
        "LICENSE",
        "CHANGELOG.md"
      ],
      exclude_patterns: [~r/__pycache__/, ~r/\.pyc$/, ~r/priv\/python\/tests\//],
      licenses: ["MIT"],
      links: %{"GitHub" => @source_url}
    ]
  end

  defp docs do
    [
      main: "readme",
      source_ref: "v#{@version}",
      source_url: @source_url,
      extras: ["README.md", "CHANGELOG.md"]
    ]
  end
end
"""

LIB = '''defmodule Snakepit do
  @moduledoc """
  Starts the Python bridge in `priv/python/grpc_server.py` and talks to it over gRPC.
  """

  @doc "The bridge script shipped in priv/python."
  def server_script, do: Path.join([:code.priv_dir(:snakepit), "python", "grpc_server.py"])
end
'''

PROTO = """syntax = "proto3";

package snakepit.bridge;

// The bridge between the Elixir pool and a Python worker.
service BridgeService {
  rpc Ping(PingRequest) returns (PingResponse);
  rpc Execute(ExecuteRequest) returns (ExecuteResponse);
}

message PingRequest {
  string message = 1;
}

message PingResponse {
  string message = 1;
  string version = 2;
  int64 server_time_ms = 3;
}

message ExecuteRequest {
  string tool = 1;
  string arguments_json = 2;
}

message ExecuteResponse {
  bool success = 1;
  string result_json = 2;
  string error = 3;
}
"""

SERVER = """#!/usr/bin/env python3
\"\"\"Snakepit's Python bridge, with the command line of snakepit v0.13.0's priv/python/grpc_server.py.

``grpc_server.py --adapter MODULE.CLASS --port 0 --elixir-address HOST:PORT [--snakepit-run-id ID]``:
waits until the Elixir side answers ``BridgeService.Ping`` at ``--elixir-address``, serves
snakepit.bridge.BridgeService on ``[::]:port`` (no grpc.health.v1), writes the bound port to
the file named by ``SNAKEPIT_READY_FILE`` (``.tmp`` then rename) and exits 0 on SIGTERM.
``--health-check`` imports the adapter and exits (0: importable).
\"\"\"

import argparse
import importlib
import os
import signal
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, ".")

import grpc  # noqa: E402
import snakepit_bridge_pb2 as pb2  # noqa: E402
import snakepit_bridge_pb2_grpc as pb2_grpc  # noqa: E402

from snakepit_bridge import __version__  # noqa: E402


def run_health_check(adapter_path):
    try:
        module_name, _, class_name = adapter_path.rpartition(".")
        getattr(importlib.import_module(module_name), class_name)
    except Exception as exc:
        print(f"Health check failed to import adapter {adapter_path!r}: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


def _signal_ready(actual_port):
    ready_file = os.environ.get("SNAKEPIT_READY_FILE")
    if not ready_file:
        return
    tmp_path = f"{ready_file}.tmp"
    with open(tmp_path, "w", encoding="utf-8") as handle:
        handle.write(str(actual_port))
    os.replace(tmp_path, ready_file)


def wait_for_elixir_server(elixir_address, max_retries=40):
    delay = 0.05
    for _attempt in range(max_retries):
        try:
            with grpc.insecure_channel(elixir_address) as channel:
                pb2_grpc.BridgeServiceStub(channel).Ping(pb2.PingRequest(message="connection_test"), timeout=1.0)
            return True
        except grpc.RpcError:
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    return False


class BridgeServiceServicer(pb2_grpc.BridgeServiceServicer):
    def __init__(self, adapter_class):
        self.adapter = adapter_class()

    def Ping(self, request, context):
        return pb2.PingResponse(
            message=f"Pong from Python: {request.message}", version=__version__, server_time_ms=int(time.time() * 1000)
        )

    def Execute(self, request, context):
        ok, payload = self.adapter.execute_tool(request.tool, request.arguments_json)
        if ok:
            return pb2.ExecuteResponse(success=True, result_json=payload)
        return pb2.ExecuteResponse(success=False, error=payload)


def main():
    parser = argparse.ArgumentParser(description="Snakepit gRPC Bridge Server")
    parser.add_argument("--port", type=int, default=0, help="Port to listen on (0 for dynamic allocation)")
    parser.add_argument("--adapter", type=str, required=False, help="Python module path to adapter class")
    parser.add_argument(
        "--elixir-address",
        type=str,
        required=False,
        default=os.environ.get("SNAKEPIT_GRPC_ADDRESS"),
        help="Address of the Elixir gRPC server",
    )
    parser.add_argument("--snakepit-run-id", type=str, default="", help="Snakepit run ID for process cleanup")
    parser.add_argument("--heartbeat-enabled", action="store_true", help="Enable Python heartbeat client")
    parser.add_argument("--health-check", action="store_true", help="Verify dependencies and exit")
    args = parser.parse_args()

    if args.health_check:
        run_health_check(args.adapter or "snakepit_bridge.adapters.showcase.ShowcaseAdapter")
        return 0
    if not args.adapter:
        parser.error("--adapter is required (try --adapter snakepit_bridge.adapters.showcase.ShowcaseAdapter)")
    if not args.elixir_address:
        parser.error("--elixir-address is required (set --elixir-address or SNAKEPIT_GRPC_ADDRESS)")

    if not wait_for_elixir_server(args.elixir_address):
        print(f"Cannot start Python worker: Elixir server at {args.elixir_address} is not available", file=sys.stderr)
        return 1
    module_name, _, class_name = args.adapter.rpartition(".")
    adapter_class = getattr(importlib.import_module(module_name), class_name)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb2_grpc.add_BridgeServiceServicer_to_server(BridgeServiceServicer(adapter_class), server)
    actual_port = server.add_insecure_port(f"[::]:{args.port}")
    server.start()
    _signal_ready(actual_port)
    print(f"gRPC server started on port {actual_port}", file=sys.stderr, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.2):
        pass
    server.stop(grace=2).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""

BRIDGE_INIT = '''"""snakepit_bridge: the Python side of snakepit's gRPC bridge."""

__version__ = "0.6.1"
'''

ADAPTER = '''"""Tools the Elixir side can call through ``Execute``."""

import json

TOOLS = {}


def tool(function):
    """Register ``function`` under its name."""
    TOOLS[function.__name__] = function
    return function


@tool
def add(a, b):
    return a + b


@tool
def echo(**kwargs):
    return kwargs


def execute_tool(name, arguments_json):
    """``(True, result JSON)`` or ``(False, "ExceptionType: message")``."""
    try:
        function = TOOLS[name]
    except KeyError:
        return False, f"KeyError: no tool named {name!r}"
    try:
        arguments = json.loads(arguments_json or "{}")
        return True, json.dumps(function(**arguments))
    except Exception as exc:  # reported to the caller, not raised into gRPC
        return False, f"{type(exc).__name__}: {exc}"
'''

SHOWCASE = '''"""The adapter snakepit starts by default (``--adapter ...showcase.ShowcaseAdapter``)."""

from snakepit_bridge.adapter import execute_tool


class ShowcaseAdapter:
    def execute_tool(self, name, arguments_json):
        return execute_tool(name, arguments_json)
'''

PY_CONFTEST = """import os
import sys

# the tests import the bridge the way grpc_server.py does: priv/python first on sys.path
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""

PY_TEST = """from snakepit_bridge.adapter import execute_tool


def test_add():
    assert execute_tool("add", '{"a": 1, "b": 2}') == (True, "3")


def test_unknown_tool():
    ok, error = execute_tool("nope", "{}")
    assert not ok and error.startswith("KeyError")
"""

README = """# Snakepit

A pooler and session manager for external language workers, with a gRPC
bridge to Python.

## Installation

```elixir
def deps do
  [
    {:snakepit, "~> 0.6.1"}
  ]
end
```

For DSPy integration, add the companion package too:

```elixir
{:dspex, "~> 0.6.1"}
```

The Python side needs `pip install -r deps/snakepit/priv/python/requirements.txt`.
"""

CHANGELOG = """# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added
- `Execute` reports the Python exception type of a failing tool.

## [0.6.1] - 2025-10-01

### Fixed
- The bridge exits 0 on SIGTERM.

## [0.6.0] - 2025-09-15

### Added
- gRPC bridge with health checks.

[Unreleased]: https://github.com/nshkrdotcom/snakepit/compare/v0.6.1...HEAD
[0.6.1]: https://github.com/nshkrdotcom/snakepit/compare/v0.6.0...v0.6.1
[0.6.0]: https://github.com/nshkrdotcom/snakepit/releases/tag/v0.6.0
"""

LICENSE = """MIT License

Copyright (c) 2025 snakepit contributors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files, to deal in the Software
without restriction, subject to the condition that the above copyright notice
and this permission notice shall be included in all copies or substantial
portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF
ANY KIND.
"""

GITIGNORE = """/_build/
/deps/
/.hexpack/
/.nox/
/snakepit-*.tar
__pycache__/
*.pyc
.pytest_cache/
"""

# Read off the stubs grpcio-tools 1.85.1 generates (ValidateProtobufRuntimeVersion, GRPC_GENERATED_VERSION).
REQUIREMENTS = """# The Python bridge's runtime dependencies (pip install -r priv/python/requirements.txt).
grpcio>=1.85.1
protobuf>=7.35.1,<8
"""


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout


def make_snakepit(root: Path, *, commit: bool = True) -> Path:
    """Write a snakepit-like mix project at ``root`` (no stubs yet: `hexpack stubs` makes them)."""
    files = {
        "mix.exs": MIX_EXS,
        "lib/snakepit.ex": LIB,
        "priv/proto/snakepit_bridge.proto": PROTO,
        "priv/python/grpc_server.py": SERVER,
        "priv/python/requirements.txt": REQUIREMENTS,
        "priv/python/snakepit_bridge/__init__.py": BRIDGE_INIT,
        "priv/python/snakepit_bridge/adapter.py": ADAPTER,
        "priv/python/snakepit_bridge/adapters/__init__.py": "",
        "priv/python/snakepit_bridge/adapters/showcase.py": SHOWCASE,
        "priv/python/tests/conftest.py": PY_CONFTEST,
        "priv/python/tests/test_adapter.py": PY_TEST,
        "README.md": README,
        "CHANGELOG.md": CHANGELOG,
        "LICENSE": LICENSE,
        ".gitignore": GITIGNORE,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "priv/python/grpc_server.py").chmod(0o755)
    if commit:
        commit_all(root, "snakepit before hexpack")
    return root


def commit_all(root: Path, message: str) -> None:
    """A new repository at ``root`` with everything in it committed."""
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "maintainer@example.com")
    git(root, "config", "user.name", "Maintainer")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


# ----------------------------------------------------------------------------- helpers

HEXPACK = [sys.executable, "-m", "hexpack"]
FAST = ["--skip", "smoke"]  # everything but the venvs; the slow test runs the smoke test too
RELEASE_GATES = f"""
lint = {json.dumps([*HEXPACK, "stubs", "--check"])}
tests = {json.dumps([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "priv/python/tests"])}
verify = {json.dumps([*HEXPACK, "verify", "--project", "{project}", "--dist-dir", "{dist}", "--python", "3.12"])}
"""


def hexpack(capsys, *args: str) -> tuple[int, str]:
    """``hexpack ARGS`` in the current directory: exit code and everything printed."""
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def verify(capsys, root: Path, *extra: str) -> tuple[int, str, dict]:
    report = root.parent / f"{root.name}-verify.json"
    code, out = hexpack(capsys, "verify", "--project", str(root), "--json", str(report), *extra)
    return code, out, json.loads(report.read_text(encoding="utf-8"))


def problems(data: dict) -> dict[str, list[str]]:
    """{gate: [one line per failing or warning finding]}."""
    found: dict[str, list[str]] = {}
    for gate in data["gates"]:
        for f in gate["findings"]:
            if f["status"] in ("fail", "warn"):
                line = f"{f['subject']}: {f['message']}" if f["subject"] else f["message"]
                found.setdefault(gate["name"], []).append(line + (f"; {f['hint']}" if f["hint"] else ""))
    return found


def gate(data: dict, name: str) -> dict:
    return next(g for g in data["gates"] if g["name"] == name)


SMOKE = {
    "command": [
        "{python}",
        "{server}",
        "--adapter",
        "snakepit_bridge.adapters.showcase.ShowcaseAdapter",
        "--port",
        "0",
        "--elixir-address",
        "{peer}",
    ],
    "peer": "snakepit.bridge.BridgeService",
    "ready": "file",
    "ready_file_env": "SNAKEPIT_READY_FILE",
    "preflight": [
        "{python}",
        "{server}",
        "--health-check",
        "--adapter",
        "snakepit_bridge.adapters.showcase.ShowcaseAdapter",
    ],
    "rpc": "snakepit.bridge.BridgeService/Ping",
    "health": False,
}


def adopt_smoke(root: Path) -> None:
    """[verify.smoke] as smoke_detect reads it off the server (unless init already wrote it)."""
    import tomlkit
    from hexpack.verify import smoke_detect

    path = root / "hexpack.toml"
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    verify_table = doc.setdefault("verify", tomlkit.table())
    if "smoke" not in verify_table:
        for key, value in smoke_detect.detect(root).table.items():
            verify_table[key] = value
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


def add_release_gates(root: Path) -> None:
    import tomlkit

    path = root / "hexpack.toml"
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    release = doc.setdefault("release", tomlkit.table())
    for key, value in tomlkit.parse(RELEASE_GATES).items():
        release[key] = value
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


@pytest.fixture(scope="module")
def adopted(tmp_path_factory) -> Path:
    """snakepit after `hexpack init` and `hexpack stubs`, release gates configured, committed.

    Built once per module (elixir and protoc are the slow parts); tests work on copies.
    """
    require_program("elixir")
    require_program("git")
    pytest.importorskip("grpc_tools", reason="the pinned grpcio-tools generates the stubs")
    from hexpack.onboarding import init
    from hexpack.python import stubs

    root = make_snakepit(tmp_path_factory.mktemp("adopted") / "snakepit")
    init.apply(init.plan(root))
    stubs.generate(root)
    adopt_smoke(root)
    add_release_gates(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Adopt hexpack")
    return root


@pytest.fixture
def snakepit(adopted, tmp_path) -> Path:
    target = tmp_path / "snakepit"
    shutil.copytree(adopted, target, symlinks=True)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# ----------------------------------------------------------------------------- adoption, fast


def test_adoption_init_stubs_assemble(tmp_path, capsys, monkeypatch, elixir):
    """What a maintainer runs first: init writes hexpack.toml (no assemble table); stubs land flat in priv/python."""
    pytest.importorskip("grpc_tools", reason="the pinned grpcio-tools generates the stubs")
    root = make_snakepit(tmp_path / "snakepit")
    monkeypatch.chdir(root)

    code, out = hexpack(capsys, "init")
    assert code == 0, out
    assert "found: protos: priv/proto/snakepit_bridge.proto" in out
    assert "found: server: priv/python/grpc_server.py" in out
    assert "found: Python package: priv/python/snakepit_bridge (__version__ 0.6.1)" in out
    assert "assumed: protos compiled with -I priv/proto; stubs generated straight into priv/python/" in out
    from hexpack import config

    settings = config.load(root)
    assert settings.source == root / "hexpack.toml"
    assert "assemble" not in settings.settings
    assert settings.section("stubs")["out"] == "priv/python"
    assert settings.section("verify")["python_dist"] == ""
    assert settings.section("version")["python"] == ["priv/python/snakepit_bridge/__init__.py"]

    code, out = hexpack(capsys, "stubs")
    assert code == 0, out
    made = sorted(p.name for p in (root / "priv/python").glob("snakepit_bridge_pb2*"))
    assert made == ["snakepit_bridge_pb2.py", "snakepit_bridge_pb2.pyi", "snakepit_bridge_pb2_grpc.py"]
    code, out = hexpack(capsys, "stubs")
    assert code == 0 and "stubs up to date" in out and "nothing written" in out, out
    code, out = hexpack(capsys, "stubs", "--check")
    assert (code, out.strip()) == (0, "stubs up to date")

    # top-level imports, as the Elixir side runs priv/python (PYTHONPATH=priv/python), and the server's own imports
    probe = (
        "import snakepit_bridge_pb2_grpc, snakepit_bridge_pb2, grpc_server;"
        "print(snakepit_bridge_pb2.DESCRIPTOR.services_by_name['BridgeService'].full_name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root / "priv/python",
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root / "priv/python"), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert (done.returncode, done.stdout.strip()) == (0, "snakepit.bridge.BridgeService"), done.stderr

    # no assemble mapping: a clear no-op, and so is its check
    for args in (["assemble"], ["assemble", "--check"]):
        code, out = hexpack(capsys, *args)
        assert code == 0, out
        assert "no [assemble] table in hexpack.toml: nothing to assemble" in out
    assert not (root / "priv" / ".hexpack-manifest.json").exists()


def test_verify_passes_and_skips_assemble_with_its_reason(snakepit, capsys):
    code, out, data = verify(capsys, snakepit, *FAST)
    assert code == 0, out
    assert problems(data) == {}
    assert gate(data, "stubs --check")["status"] == "pass"
    assemble_check = gate(data, "assemble --check")
    assert assemble_check["status"] == "skip"
    assert assemble_check["skipped"].startswith("no [assemble] table in hexpack.toml: nothing to assemble")
    assert gate(data, "required files")["findings"][0]["message"] == "all 5 present (1 .proto)"
    patterns = {p["pattern"]: p["removed"] for p in gate(data, "exclude patterns")["details"]["patterns"]}
    assert patterns == {
        "~r/__pycache__/": [],
        r"~r/\.pyc$/": [],
        r"~r/priv\/python\/tests\//": ["priv/python/tests/conftest.py", "priv/python/tests/test_adapter.py"],
    }


def test_version_and_bump_change_only_our_places(snakepit, capsys, monkeypatch):
    monkeypatch.chdir(snakepit)
    code, out = hexpack(capsys, "version")
    assert code == 0, out
    for place in ("mix.exs:4", "priv/python/snakepit_bridge/__init__.py:3", "README.md:11"):
        assert place in out
    assert "UNEXPECTED" not in out  # {:dspex, "~> 0.6.1"} is another package's snippet

    before = {p: p.read_bytes() for p in snakepit.rglob("*") if p.is_file() and ".git" not in p.parts}
    code, out = hexpack(capsys, "bump", "minor", "--dry-run", "--date", "2026-11-22")
    assert code == 0, out
    assert '+    {:snakepit, "~> 0.7.0"}' in out
    assert "dspex" not in out and ":grpc" not in out
    assert {p: p.read_bytes() for p in before} == before

    code, out = hexpack(capsys, "bump", "minor", "--date", "2026-11-22")
    assert code == 0, out
    changed = git(snakepit, "diff", "--name-only").split()
    assert changed == ["CHANGELOG.md", "README.md", "mix.exs", "priv/python/snakepit_bridge/__init__.py"]
    readme = git(snakepit, "diff", "-U0", "README.md")
    assert [line for line in readme.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        '-    {:snakepit, "~> 0.6.1"}',
        '+    {:snakepit, "~> 0.7.0"}',
    ]
    assert '{:dspex, "~> 0.6.1"}' in (snakepit / "README.md").read_text()
    mix = git(snakepit, "diff", "-U0", "mix.exs")
    assert '-  @version "0.6.1"' in mix and '+  @version "0.7.0"' in mix and "grpc" not in mix
    assert "## [0.7.0] - 2026-11-22" in (snakepit / "CHANGELOG.md").read_text()
    code, out = hexpack(capsys, "version")
    assert code == 0 and "0.7.0" in out, out


# ----------------------------------------------------------------------------- the classic breaks


def drop_server_from_files(root: Path) -> None:
    edit(root / "mix.exs", '"priv/python/**/*.py",', '"priv/python/snakepit_bridge",\n        "priv/python/*_pb2*.py",')


def stale_stubs(root: Path) -> None:
    edit(
        root / "priv/proto/snakepit_bridge.proto",
        "int64 server_time_ms = 3;",
        "int64 server_time_ms = 3;\n  string worker_id = 4;",
    )


def floor_above_requirements(root: Path) -> None:
    edit(root / "priv/python/requirements.txt", "protobuf>=7.35.1,<8", "protobuf>=5.26,<8")


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            drop_server_from_files,
            {
                "required files": [
                    "priv/python/grpc_server.py: missing from the package (the server the Elixir side starts); "
                    'add "priv/python/grpc_server.py" to package files: in mix.exs'
                ]
            },
        ),
        (
            stale_stubs,
            {
                "stubs --check": [
                    f"priv/python/snakepit_bridge_pb2{suffix}: stub is stale; run `nox -s stubs`"
                    for suffix in (".py", ".pyi", "_grpc.py")
                ]
            },
        ),
        (
            floor_above_requirements,
            {
                name: [
                    "priv/python/requirements.txt:3: protobuf<8,>=5.26 allows versions older than 7.35.1 that "
                    "priv/python/snakepit_bridge_pb2.py requires; raise the floor to protobuf>=7.35.1"
                ]
                for name in ("stubs --check", "stub floors")
            },
        ),
    ],
    ids=["grpc_server.py dropped from files:", "stale stubs", "stub floor above requirements.txt"],
)
def test_verify_names_each_classic_break(breakage, expected, snakepit, capsys):
    breakage(snakepit)
    code, out, data = verify(capsys, snakepit, *FAST)
    assert code == 1, out
    assert problems(data) == expected
    assert "nox -s stubs assemble" not in out and "nox -s assemble" not in out  # there is no assemble step


def test_stubs_in_a_subpackage_are_found_where_stubs_put_them(snakepit, capsys, monkeypatch):
    """out = priv/python/snakepit_bridge/grpc: verify reads the stub paths from [stubs], not python_root."""
    monkeypatch.chdir(snakepit)
    for stub in (snakepit / "priv/python").glob("snakepit_bridge_pb2*"):
        stub.unlink()
    edit(snakepit / "hexpack.toml", 'out = "priv/python"', 'out = "priv/python/snakepit_bridge/grpc"')
    (snakepit / "priv/python/snakepit_bridge/grpc").mkdir()
    (snakepit / "priv/python/snakepit_bridge/grpc/__init__.py").write_text("")
    server = snakepit / "priv/python/grpc_server.py"
    for module in ("snakepit_bridge_pb2", "snakepit_bridge_pb2_grpc"):
        edit(server, f"import {module} as", f"from snakepit_bridge.grpc import {module} as")
    assert hexpack(capsys, "stubs")[0] == 0
    git(snakepit, "add", "-A")  # what ships must be tracked (a clean checkout would lack it)
    code, out, data = verify(capsys, snakepit, *FAST)
    assert code == 0, out
    assert gate(data, "required files")["findings"][0]["message"] == "all 5 present (1 .proto)"

    tarball = snakepit.parent / "snakepit.tar"
    assert hexpack(capsys, "build", "-o", str(tarball))[0] == 0
    code, out, data = verify(capsys, snakepit, "--tarball", str(tarball), "--skip", "smoke")
    assert code == 0, out  # without the project, a stub of the proto's name deeper in priv/python counts


# ----------------------------------------------------------------------------- the full run, slow


@pytest.mark.slow
def test_full_verify_with_the_smoke_test(snakepit, capsys):
    """The real thing: the tarball unpacked, the server started from it in uv venvs (latest and floors)
    with snakepit's command line, its ready file, the --health-check preflight and a stand-in Elixir peer."""
    require_program("uv")
    code, out, data = verify(capsys, snakepit, "--python", "3.12")
    assert code == 0, out
    smoke = {g["name"]: g for g in data["gates"] if g["group"] == "4 smoke" and g["name"].startswith("python")}
    assert sorted(smoke) == ["python 3.12 floors", "python 3.12 latest"]
    assert gate(data, "consumer mix project")["skipped"] == (
        "the package depends on Hex packages (grpc, jason); a path dependency would fetch them"
    )
    for result in smoke.values():
        assert result["status"] == "pass", result
        client = result["details"]["client"]
        assert client["service"] == "snakepit.bridge.BridgeService"
        assert client["health"] is None  # snakepit serves no grpc.health.v1; health = false
        assert client["reply"]["version"] == VERSION
        assert client["reply"]["message"] == "Pong from Python: hexpack verify"
        assert result["details"]["exit_code"] == 0
        (line,) = [f["message"] for f in result["findings"]]
        assert "ready (writing its port to $SNAKEPIT_READY_FILE, port " in line
        assert "peer snakepit.bridge.BridgeService stood in" in line
        assert "snakepit.bridge.BridgeService/Ping -> 0.6.1" in line
    assert smoke["python 3.12 floors"]["details"]["installed"]["protobuf"] == "7.35.1"


def smoke_lines(data: dict) -> list[str]:
    return [line for name, lines in problems(data).items() if name.startswith("python 3.12") for line in lines]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'peer = "snakepit.bridge.BridgeService"\n',
            "",
            "priv/python/grpc_server.py: server exited with status 2 before writing its port to $SNAKEPIT_READY_FILE: "
            "...error: --elixir-address is required (set --elixir-address or SNAKEPIT_GRPC_ADDRESS)",
        ),
        (
            '"--health-check", "--adapter", "snakepit_bridge.adapters.showcase.ShowcaseAdapter"',
            '"--health-check", "--adapter", "snakepit_bridge.adapters.missing.Adapter"',
            "priv/python/grpc_server.py: preflight `python grpc_server.py --health-check --adapter "
            "snakepit_bridge.adapters.missing.Adapter` exited with status 1: Health check failed to import adapter "
            "'snakepit_bridge.adapters.missing.Adapter': No module named 'snakepit_bridge.adapters.missing'",
        ),
        (
            'ready_file_env = "SNAKEPIT_READY_FILE"',
            'ready_file_env = "SNAKEPIT_READY"',
            "priv/python/grpc_server.py: no port written to $SNAKEPIT_READY within 2 s",
        ),
    ],
    ids=["no peer", "preflight fails", "wrong ready variable"],
)
def test_smoke_names_what_keeps_snakepits_server_from_serving(snakepit, capsys, old, new, expected):
    edit(snakepit / "hexpack.toml", old, new)
    if "READY" in new:  # the port never comes: the test waits out the whole timeout, so a short one
        edit(snakepit / "hexpack.toml", "[verify.smoke]\n", "[verify.smoke]\ntimeout = 2\n")
    code, out, data = verify(capsys, snakepit, "--python", "3.12", "--resolution", "latest", "--skip", "pydist")
    assert code == 1, out
    (line,) = smoke_lines(data)
    head, _, tail = expected.partition("...")  # "...": the usage lines argparse prints before its error
    assert line.startswith(head) and line.endswith(tail), line


@pytest.mark.slow
def test_release_dry_run_passes_every_gate_and_changes_nothing(snakepit, capsys, monkeypatch):
    require_program("uv")
    monkeypatch.chdir(snakepit)
    head = git(snakepit, "rev-parse", "HEAD")
    code, out = hexpack(capsys, "release", "patch", "--dry-run", "--date", "2026-11-22")
    assert code == 0, out
    for line in ("PASS  lint:", "PASS  tests:", "PASS  verify bumped tree: 0.6.2 verified"):
        assert line in out
    assert '+    {:snakepit, "~> 0.6.2"}' in out
    assert git(snakepit, "rev-parse", "HEAD") == head
    assert git(snakepit, "status", "--porcelain") == ""
    assert git(snakepit, "tag") == ""


# ----------------------------------------------------------------------------- snakebridge: no server of its own

SNAKEBRIDGE_MIX_EXS = r"""defmodule SnakeBridge.MixProject do
  use Mix.Project

  @version "0.16.0"

  def project do
    [
      app: :snakebridge,
      version: @version,
      elixir: "~> 1.14",
      deps: [{:snakepit, "~> 0.6.1"}],
      description: "Generate Elixir bindings for Python libraries, run through snakepit's bridge.",
      package: [
        name: "snakebridge",
        files: ~w(lib priv/python mix.exs README.md LICENSE CHANGELOG.md),
        exclude_patterns: [~r/__pycache__/, ~r/\.pyc$/],
        licenses: ["MIT"],
        links: %{"GitHub" => "https://github.com/nshkrdotcom/snakebridge"}
      ]
    ]
  end
end
"""

SNAKEBRIDGE_FILES = {
    "lib/snakebridge.ex": 'defmodule SnakeBridge do\n  @moduledoc "Python calls through snakepit."\nend\n',
    # what the adapter needs of its own; grpcio and protobuf come with snakepit's server
    "priv/python/requirements.txt": "typing-extensions>=4.6\n",
    "priv/python/snakebridge_adapter.py": '"""Called by snakepit\'s server."""\n\nimport json\n\n\n'
    "def snakebridge_call(module, function, args):\n    return json.dumps([module, function, args])\n",
    "priv/python/snakebridge_types.py": "from typing_extensions import TypedDict\n\n\n"
    "class Ref(TypedDict):\n    id: str\n",
    "priv/python/snakebridge_client.py": "import grpc\n\nimport snakepit_bridge_pb2 as pb2\n"
    "import snakepit_bridge_pb2_grpc as pb2_grpc\n\nCHANNEL = grpc.insecure_channel\n",
    "priv/python/test_snakebridge_types.py": "from snakebridge_types import Ref\n\n\ndef test_ref():\n    assert Ref\n",
    "priv/python/helpers/graceful_serialization_test_helper.py": "import pytest  # only under pytest\n",
    "README.md": "# SnakeBridge\n",
    "CHANGELOG.md": "# Changelog\n\n## [Unreleased]\n\n## [0.16.0] - 2026-01-01\n\n- First.\n",
    "LICENSE": LICENSE,
    ".gitignore": GITIGNORE,
}


def make_snakebridge(root: Path) -> Path:
    """A snakebridge-like mix project: Python in priv/python (with snakepit's stubs, generated here), no server."""
    from grpc_tools import protoc

    for rel, text in {"mix.exs": SNAKEBRIDGE_MIX_EXS, **SNAKEBRIDGE_FILES}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    proto_dir = root.parent / f"{root.name}-snakepit-proto"
    proto_dir.mkdir()
    (proto_dir / "snakepit_bridge.proto").write_text(PROTO, encoding="utf-8")
    out = str(root / "priv/python")
    assert (
        protoc.main(
            ["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}", "snakepit_bridge.proto"]
        )
        == 0
    )
    commit_all(root, "snakebridge before hexpack")
    return root


def stub_floor_requirements(python_root: Path) -> list[str]:
    from hexpack.python import floors

    return [f"{f.package}>={f.version}" for f in floors.strictest(floors.stub_floors(python_root)).values()]


@pytest.fixture
def snakebridge(tmp_path) -> Path:
    """snakebridge after `hexpack init` and the smoke settings smoke_detect reads off it."""
    require_program("elixir")
    require_program("git")
    pytest.importorskip("grpc_tools", reason="grpcio-tools generates snakepit's stubs that snakebridge ships")
    from hexpack.onboarding import init

    root = make_snakebridge(tmp_path / "snakebridge")
    init.apply(init.plan(root))
    adopt_smoke(root)
    return root


def test_detect_tells_a_package_without_a_server(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools generates snakepit's stubs that snakebridge ships")
    require_program("git")
    from hexpack.verify import smoke_detect

    root = make_snakebridge(tmp_path / "snakebridge")
    found = smoke_detect.detect(root)
    floors_needed = stub_floor_requirements(root / "priv/python")
    assert sorted(floors_needed) == ["grpcio>=1.85.1", "protobuf>=7.35.1"]
    assert found.table == {"server": False, "smoke": {"requirements": floors_needed}}
    assert found.found[0] == (
        "no server: priv/python/grpc_server.py does not exist; verify installs and imports priv/python instead "
        "(server = false)"
    )


def test_detect_reads_snakepits_server_contract(tmp_path):
    """Before any stub exists (init runs first), the services come from the .proto files."""
    from hexpack.verify import smoke_detect

    root = make_snakepit(tmp_path / "snakepit", commit=False)
    found = smoke_detect.detect(root)
    assert found.table == {"smoke": SMOKE}
    assert found.assumed == ()
    assert "smoke: priv/python/grpc_server.py writes its port to the file named by $SNAKEPIT_READY_FILE" in found.found


@pytest.mark.slow
def test_snakebridge_verifies_by_importing_its_python(snakebridge, capsys):
    require_program("uv")
    code, out, data = verify(capsys, snakebridge, "--python", "3.12")
    assert code == 0, out
    assert gate(data, "required files")["findings"][-1]["message"] == "no server required (server = false)"
    modules = (
        "snakebridge_adapter, snakebridge_client, snakebridge_types, snakepit_bridge_pb2, snakepit_bridge_pb2_grpc"
    )
    for name in ("python 3.12 latest", "python 3.12 floors"):
        (finding,) = gate(data, name)["findings"]
        assert finding["message"].endswith(f": imported 5 module(s): {modules}; no server")
    installed = gate(data, "python 3.12 floors")["details"]["installed"]
    assert (installed["grpcio"], installed["protobuf"]) == ("1.85.1", "7.35.1")  # [verify.smoke] requirements' floors

    edit(snakebridge / "priv/python/snakebridge_client.py", "import grpc\n", "import grpc\nimport orjson\n")
    git(snakebridge, "commit", "-qam", "orjson")
    code, out, data = verify(capsys, snakebridge, "--python", "3.12", "--resolution", "latest")
    assert code == 1, out
    assert problems(data) == {
        "python 3.12 latest": [
            "priv/python/snakebridge_client: import snakebridge_client failed: ModuleNotFoundError: No module named "
            "'orjson'; add what it needs to the shipped requirements (or to [verify.smoke] requirements when another "
            "package's server installs it)"
        ]
    }

"""The Python package's metadata agrees with the stubs, the Elixir side and itself; the wheel works."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import grpc
import hexpack_bridge
import pytest
from hexpack_bridge import bridge_pb2, bridge_pb2_grpc

from .bridge_testing import PRIV_PYTHON, REPO, launch, stop

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def pyproject() -> dict:
    return tomllib.loads((PRIV_PYTHON / "pyproject.toml").read_text())


def floors(lines: list[str]) -> dict[str, tuple[int, ...]]:
    found = {}
    for line in lines:
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(?:[<>=!~][^#;]*)?", line)
        if m and (f := re.search(r">=\s*([0-9.]+)", line)):
            found[m.group(1).lower()] = tuple(int(p) for p in f.group(1).split("."))
    return found


def stub_floors() -> dict[str, tuple[int, ...]]:
    pb2 = (PRIV_PYTHON / "hexpack_bridge" / "bridge_pb2.py").read_text()
    m = re.search(r"ValidateProtobufRuntimeVersion\(\s*\S+,\s*(\d+),\s*(\d+),\s*(\d+),", pb2)
    grpc_src = (PRIV_PYTHON / "hexpack_bridge" / "bridge_pb2_grpc.py").read_text()
    g = re.search(r"GRPC_GENERATED_VERSION = '([0-9.]+)'", grpc_src)
    assert m and g
    return {"protobuf": tuple(map(int, m.groups())), "grpcio": tuple(map(int, g.group(1).split(".")))}


def in_repository() -> None:
    if not (REPO / "mix.exs").is_file():
        pytest.skip("not inside the hexpack_bridge repository (e.g. run from the sdist)")


def test_versions_agree_with_mix_exs():
    in_repository()
    mix = (REPO / "mix.exs").read_text()
    m = re.search(r'@version "([^"]+)"', mix)
    assert m, "mix.exs has no @version"
    assert pyproject()["project"]["version"] == hexpack_bridge.__version__ == m.group(1)


def test_the_license_is_the_repository_license():
    in_repository()
    assert (PRIV_PYTHON / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()


@pytest.mark.parametrize("where", ["requirements.txt", "pyproject.toml"])
def test_dependency_floors_admit_the_generated_stubs(where):
    lines = (
        (PRIV_PYTHON / "requirements.txt").read_text().splitlines()
        if where == "requirements.txt"
        else pyproject()["project"]["dependencies"]
    )
    declared = floors(lines)
    for name, needed in stub_floors().items():
        assert name in declared, f"{where} does not require {name}"
        assert declared[name] >= needed, f"{where}: {name} floor {declared[name]} is below the stubs' {needed}"
    assert "grpcio-health-checking" in declared


@pytest.mark.slow
def test_the_wheel_carries_stubs_and_a_working_console_script(tmp_path):
    uv = shutil.which("uv")
    assert uv, "uv is required for this test (.ci/install installs it)"
    dist = tmp_path / "dist"
    subprocess.run(  # build's isolated environment made by uv: seconds instead of pip's half a minute
        [sys.executable, "-m", "build", "--installer", "uv", "--wheel", "--outdir", str(dist), str(PRIV_PYTHON)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("hexpack_bridge-*.whl")
    assert wheel.name == f"hexpack_bridge-{hexpack_bridge.__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "__init__.py",
        "server.py",
        "tools.py",
        "launcher.py",
        "py.typed",
        "bridge_pb2.py",
        "bridge_pb2_grpc.py",
        "bridge_pb2.pyi",
    ):
        assert f"hexpack_bridge/{name}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in n]
    entry_points = (
        zipfile.ZipFile(wheel).read(f"hexpack_bridge-{hexpack_bridge.__version__}.dist-info/entry_points.txt").decode()
    )
    assert "hexpack-bridge-server = hexpack_bridge.launcher:run" in entry_points
    assert f"hexpack_bridge-{hexpack_bridge.__version__}.dist-info/licenses/LICENSE" in names

    # Install it with its dependencies into a fresh venv (uv, as a consumer would), run the console script.
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True,
        capture_output=True,
    )
    script = venv / "bin" / "hexpack-bridge-server"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    running = launch(script, python=str(venv / "bin" / "python"), env=env, tmp_dir=tmp_path, cwd=tmp_path)
    try:
        with grpc.insecure_channel(running.address) as ch:
            request = bridge_pb2.ExecuteRequest(tool="python_info")
            reply = bridge_pb2_grpc.BridgeStub(ch).Execute(request, timeout=10)
        assert json.loads(reply.result_json)["executable"].startswith(str(venv))
        assert running.terminate()[0] == 0
    finally:
        stop(running)

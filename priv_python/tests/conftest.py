"""Fixtures for hexpack_bridge's tests; the helpers live in bridge_testing.py.

This directory is a package (``tests``, with ``priv_python`` as its root) so that this
conftest does not become the top-level ``conftest`` module that the repository's own
tests import from.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .bridge_testing import Server, launch, stop


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per test module, from priv_python/grpc_server.py."""
    running = launch(tmp_dir=tmp_path_factory.mktemp("server"))
    yield running
    stop(running)


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of the test's own, for tests that stop it."""
    running = launch(tmp_dir=tmp_path)
    yield running
    stop(running)


@pytest.fixture(scope="module")
def channel(server: Server):
    import grpc

    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


@pytest.fixture(scope="module")
def bridge(channel):
    from hexpack_bridge import bridge_pb2_grpc

    return bridge_pb2_grpc.BridgeStub(channel)


@pytest.fixture(scope="module")
def python_without_grpcio(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real interpreter with no grpcio: a fresh venv without system site-packages."""
    target = tmp_path_factory.mktemp("bare-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    python = target / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import grpc"], capture_output=True)
    assert probe.returncode != 0, "the bare venv can import grpc; the missing-grpcio test would prove nothing"
    return str(python)

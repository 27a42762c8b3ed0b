"""The Elixir half: ``mix test`` (ExUnit, no Hex dependencies) against the real server in priv/python.

Runs here so that ``nox -s tests`` (and CI) runs the ExUnit suite too; the server is started by
``HexpackBridge`` with this interpreter (``HEXPACK_BRIDGE_PYTHON``), which has the requirements.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from .bridge_testing import ASSEMBLED_SCRIPT, REPO


@pytest.mark.slow
def test_mix_test_passes():
    if not (REPO / "mix.exs").is_file():
        pytest.skip("not inside the hexpack_bridge repository (e.g. run from the sdist)")
    mix = shutil.which("mix")
    if mix is None or not ASSEMBLED_SCRIPT.is_file():
        why = "mix is not installed" if mix is None else "priv/python is not assembled (hexpack assemble)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{why}; .ci/install installs Elixir")
        pytest.skip(why)
    env = {**os.environ, "MIX_ENV": "test", "HEXPACK_BRIDGE_PYTHON": sys.executable}
    proc = subprocess.run(
        [mix, "test"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ", 0 failures" in proc.stdout

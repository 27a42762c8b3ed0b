"""Untrusted code never runs where it can persist: verify's venv cache with real uv venvs."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import require_program
from hexpack.verify.venvs import VenvCache

MODULE = b"GREETING = 'hello'\n"
# What a hostile package's server does to the venv it runs in: change an installed module and
# add a sitecustomize.py that every later python started from that venv would run.
TAMPER = """
import pathlib, tinypkg
module = pathlib.Path(tinypkg.__file__)
module.write_text(module.read_text() + "INJECTED = True\\n")
(module.parent.parent / "sitecustomize.py").write_text("print('injected code runs')\\n")
"""


def tiny_wheel(directory: Path) -> Path:
    """A one-module wheel, made here so that installing it needs no index."""
    wheel = directory / "tinypkg-1.0-py3-none-any.whl"
    files = {
        "tinypkg/__init__.py": MODULE,
        "tinypkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
        "tinypkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("tinypkg-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("tinypkg-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def installed_module(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages/tinypkg/__init__.py"))


@pytest.mark.slow
def test_a_venv_that_ran_untrusted_code_is_never_reused(tmp_path):
    require_program("uv")
    wheel = tiny_wheel(tmp_path)
    root = tmp_path / "cache"

    def ensure(cache: VenvCache):
        return cache.ensure(Path(sys.executable), label="py-test", install=[str(wheel)], payload=wheel.read_bytes())

    untrusted = VenvCache(root, untrusted=True)
    hostile = ensure(untrusted)
    template = next(p for p in root.iterdir() if p.name.startswith("py-test-"))
    assert hostile.path != template and root not in hostile.path.parents  # a private copy, not the cache
    # nothing it can write is shared: no hard link into uv's cache, the template or another venv
    assert installed_module(hostile.path).stat().st_nlink == 1
    assert installed_module(template).stat().st_nlink == 1
    ran = subprocess.run([str(hostile.python), "-c", TAMPER], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    untrusted.cleanup()
    assert not hostile.path.exists()

    # the next verify, of a legitimate package, reuses the untouched template
    trusted = VenvCache(root)
    legitimate = ensure(trusted)
    assert legitimate.reused and legitimate.path == template
    assert installed_module(template).read_bytes() == MODULE
    assert not list(template.glob("lib/python*/site-packages/sitecustomize.py"))
    clean = subprocess.run(
        [str(legitimate.python), "-c", "import tinypkg; print(tinypkg.GREETING)"], capture_output=True, text=True
    )
    assert clean.stdout == "hello\n"


@pytest.mark.parametrize(("given", "untrusted"), [(True, True), (False, False)])
def test_verify_treats_only_a_given_tarball_as_untrusted(tmp_path, monkeypatch, given, untrusted):
    """`verify --tarball` hands its venvs out as private copies; verifying the project itself uses the cache."""
    from conftest import HEX_REFERENCE
    from hexpack.verify import runner

    made = []

    class Recording(VenvCache):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self.untrusted)

    monkeypatch.setattr(runner, "VenvCache", Recording)
    tarball = HEX_REFERENCE / "hybrid_globs" / "hex-2.5.1.tar" if given else None
    skip = frozenset({"smoke", "pydist", "build", "freshness"})
    runner.verify(runner.Options(root=tmp_path, tarball=tarball, skip=skip, fresh=True))
    assert made == [untrusted]

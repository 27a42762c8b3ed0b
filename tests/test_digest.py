"""``hexpack.digest.sha256``: hashlib's digest, with or without OpenSSL loaded."""

from __future__ import annotations

import hashlib
import random

import pytest
from hexpack import digest


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 4096, digest.OPENSSL_FROM - 1, digest.OPENSSL_FROM])
def test_the_digest_is_hashlibs_on_both_sides_of_the_switch(size):
    data = random.Random(size).randbytes(size)
    assert digest.sha256(data).digest() == hashlib.sha256(data).digest()
    assert digest.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_python_without_its_own_sha256_uses_hashlib(monkeypatch):
    monkeypatch.setattr(digest, "_builtin_sha256", None)
    assert digest.sha256(b"hex").hexdigest() == hashlib.sha256(b"hex").hexdigest()

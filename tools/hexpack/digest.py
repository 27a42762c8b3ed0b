"""SHA-256 without loading OpenSSL for small inputs.

``hashlib`` imports ``_hashlib``, which loads OpenSSL: about 5 ms of ``hexpack build``'s start-up,
more than CPython's own SHA-256 (``_sha2`` from 3.12, ``_sha256`` before; no SHA extensions) takes
to hash a snakepit-sized package twice. Past ``OPENSSL_FROM`` bytes OpenSSL's speed pays for its
loading, and a Python built without CPython's own hashes uses ``hashlib`` for everything.
"""

from __future__ import annotations

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["OPENSSL_FROM", "sha256"]

OPENSSL_FROM = 1024 * 1024  # bytes

try:
    from _sha2 import sha256 as _builtin_sha256  # CPython 3.12+
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha256 import sha256 as _builtin_sha256  # CPython 3.9-3.11
    except ImportError:
        _builtin_sha256 = None


def sha256(data: bytes) -> Any:
    """``hashlib.sha256(data)``: the same digest, OpenSSL loaded only when it is worth it."""
    if _builtin_sha256 is not None and len(data) < OPENSSL_FROM:
        return _builtin_sha256(data)
    import hashlib  # lazy: start-up time (see the module's docstring)

    return hashlib.sha256(data)

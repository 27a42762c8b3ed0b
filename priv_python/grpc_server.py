#!/usr/bin/env python3
"""Start the hexpack_bridge gRPC server: ``python3 priv/python/grpc_server.py [--host H] [--port P]``.

Prints ``READY <port>`` on stdout once serving. This file's directory is put
first on sys.path, so the ``hexpack_bridge`` package beside it is the one used.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path[:1] != [HERE]:
    sys.path.insert(0, HERE)

if sys.version_info < (3, 10):  # noqa: UP036  (run by any python3: say why it cannot work)
    sys.exit(f"hexpack_bridge needs Python 3.10 or newer, not {sys.version.split()[0]} ({sys.executable})")

from pathlib import Path  # noqa: E402

from hexpack_bridge.launcher import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(requirements=Path(HERE) / "requirements.txt"))

"""hexpack_bridge: a gRPC server that lets an Elixir application run Python tools.

The package imports nothing from grpc at import time, so ``hexpack_bridge.launcher``
can tell a user which dependency is missing instead of failing with a traceback.
"""

from __future__ import annotations

from hexpack_bridge.tools import Cancelled, Progress, Registry, Tool, UnknownTool, register, registry

__version__ = "0.1.0"

__all__ = ["Cancelled", "Progress", "Registry", "Tool", "UnknownTool", "__version__", "register", "registry"]

"""``python -m hexpack_bridge``: the same command line as ``grpc_server.py``."""

from hexpack_bridge.launcher import run

run()

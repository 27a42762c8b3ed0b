# The tests start the real Python server from priv/python (see support/bridge_client.py).
ExUnit.start(capture_log: true)

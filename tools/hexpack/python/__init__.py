"""The Python side of a package: the targeted interpreters, the protobuf stubs, their runtime floors, and
placing the sources under ``priv/``."""

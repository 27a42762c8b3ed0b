"""snakepit_bridge: the Python side of snakepit."""

__version__ = "0.7.0rc1"

__all__ = ["__version__"]

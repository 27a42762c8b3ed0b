"""snakepit_bridge: the Python side of snakepit."""

__version__ = "0.6.1"

__all__ = ["__version__"]

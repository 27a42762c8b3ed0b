"""hexpack: package and release Elixir libraries that ship Python."""

__version__ = "0.1.0"

from .errors import HexpackError  # noqa: E402

__all__ = ["HexpackError", "__version__"]

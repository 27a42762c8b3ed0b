"""hexpack_bridge's tests (a package, so its conftest does not shadow the root suite's)."""

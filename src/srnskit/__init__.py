"""srnskit: clinical research on childhood steroid-resistant nephrotic syndrome."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("srnskit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]

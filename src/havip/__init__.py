"""havip: a software High-Availability Virtual IP (HaVip) for Linux virtual networks."""

from importlib.metadata import PackageNotFoundError, version

try:
    # the version lives in one place: pyproject.toml, read back from the installed package's metadata
    __version__ = version("havip")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

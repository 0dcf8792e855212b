"""The package version, as installed (``GET /api/v1/health`` reports it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crosslink-server")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

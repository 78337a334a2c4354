"""The data plane's exception: every kernel or tool failure is wrapped in it (chained)."""

from __future__ import annotations


class DataplaneError(Exception):
    """A kernel operation failed; ``__cause__`` holds the library error."""

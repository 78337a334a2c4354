"""Limits that more than one process must agree on, defined once.

The control plane enforces them (service, api, contract); the client and the agent
size their requests by them. Change a value here and every side moves with it.
Plain constants: nothing here reads the environment or is computed at import time.
"""

from __future__ import annotations

PAGE_MAX = 1000
"""The most items one page of a listing carries (``?limit=``); clients fetch in pages of this size."""

PAGE_DEFAULT = 50
"""Items per page when ``?limit=`` is not given."""

LONG_POLL_MAX_WAIT = 60.0
"""The longest a desired-state long poll may wait (``?wait=``, seconds)."""

REPORT_BATCH_MAX = 1000
"""The most claim reports one batch may carry (``POST /v1/hosts/{host}/reports/batch``)."""

REPORT_CAUSE_MAX = 64
"""The longest ``cause`` a claim report may carry (printable ASCII)."""

REPORT_LATENCY_MAX_US = 3_600_000_000
"""The longest switch latency a report may carry (an hour); anything longer is not a measurement."""

"""Releasing many HTTP clients at once: ``race`` and the tally of what they got.

Each thread has an HTTP client of its own (``connect(i)``: to one server, or to
replica ``i % n``), waits at a barrier, then sends; a thread that crashes fails the
test. ``outcomes`` counts statuses and error codes, checking every error's form.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import httpx

from .helpers import Caller, check_error


def race(
    connect: Callable[[int], httpx.Client], token: str | None, n: int, send: Callable[[Caller, int], httpx.Response]
) -> list[httpx.Response]:
    """Run ``send`` from ``n`` threads released together; the answers in thread order."""
    barrier = threading.Barrier(n)
    answers: list[httpx.Response | None] = [None] * n
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with connect(i) as http:
                caller = Caller(http, token)
                barrier.wait(timeout=30)
                answers[i] = send(caller, i)
        except BaseException as exc:  # reported below, so a thread's crash fails the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def outcomes(answers: list[httpx.Response]) -> Counter[str]:
    """Status (and error code) of each answer; every error must have the error shape."""
    seen: Counter[str] = Counter()
    for a in answers:
        if a.status_code < 300:
            seen[str(a.status_code)] += 1
        else:
            seen[f"{a.status_code} {check_error(a, a.status_code)['code']}"] += 1
    return seen

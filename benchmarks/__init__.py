"""havip's benchmarks (outside the package and the test run; `make bench` runs them).

Every comparison runs its baseline in the same run, interleaved, plus the baseline
against itself for the noise floor; reports are distributions and bootstrap confidence
intervals, never a lone absolute time. The test suite runs each benchmark once at a
tiny size (tests/lab/test_benchmarks.py) so none of them can rot; it asserts no timing.
"""

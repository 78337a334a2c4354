"""Exit statuses by error code and HTTP status, names vs ids, and ``--json`` anywhere on the line."""

from __future__ import annotations

import pytest

from havip.cli.exits import MEANING, ExitCode, exit_code
from havip.cli.main import hoist_json
from havip.cli.names import ID_PREFIX, looks_like_id
from havip.domain.ids import PREFIXES, new_id

pytestmark = pytest.mark.unit


# fmt: off
CASES = [
    ("QuotaExceeded.havips_per_account", 403, ExitCode.QUOTA),
    ("Forbidden", 403, ExitCode.DENIED),
    ("Forbidden.Operator", 403, ExitCode.DENIED),
    ("Unauthenticated", 401, ExitCode.DENIED),
    ("NotFound.HaVip", 404, ExitCode.NOT_FOUND),
    ("NotFound.Route", 404, ExitCode.NOT_FOUND),
    ("DependencyViolation.HaVip", 409, ExitCode.CONFLICT),
    ("IncorrectStatus", 409, ExitCode.CONFLICT),
    ("InvalidIpAddress.InUse", 409, ExitCode.CONFLICT),
    ("InvalidParameter", 400, ExitCode.INVALID),
    ("RequestTooLarge", 413, ExitCode.INVALID),
    ("SomethingNew", 418, ExitCode.INVALID),
    ("InternalError", 500, ExitCode.SERVER),
    ("ServiceUnavailable", 503, ExitCode.SERVER),
    ("BadGateway", 502, ExitCode.SERVER),
    ("ConnectionFailed", 0, ExitCode.UNREACHABLE),
    ("TlsFailed", 0, ExitCode.UNREACHABLE),
    ("Timeout", 0, ExitCode.UNREACHABLE),
    ("NoCredentials", None, ExitCode.DENIED),
    ("AmbiguousName", None, ExitCode.CONFLICT),
    ("NotFound.Name", None, ExitCode.NOT_FOUND),
    ("InvalidServer", None, ExitCode.INVALID),
    ("InvalidParameter.Database", None, ExitCode.INVALID),
    ("ServiceUnavailable", None, ExitCode.SERVER),
    ("BadCredentialsFile", None, ExitCode.FAILED),
    ("Lab.Error", None, ExitCode.FAILED),
    ("QuotaExceededSoon", 400, ExitCode.INVALID),  # a prefix counts only up to a dot
]
# fmt: on


@pytest.mark.parametrize(("code", "status", "expected"), CASES, ids=[f"{c}-{s}" for c, s, _ in CASES])
def test_exit_status_of_an_error(code: str, status: int | None, expected: ExitCode) -> None:
    assert exit_code(code, status) == expected


def test_every_status_is_distinct_and_explained() -> None:
    assert len({int(c) for c in ExitCode}) == len(ExitCode)
    assert set(MEANING) == set(ExitCode)
    assert (ExitCode.OK, ExitCode.USAGE) == (0, 2)  # the shell's and click's own


@pytest.mark.parametrize(
    ("args", "expected", "as_json"),
    [
        (["havip", "list"], ["havip", "list"], False),
        (["--json", "havip", "list"], ["--json", "havip", "list"], True),
        (["havip", "list", "--json"], ["--json", "havip", "list"], True),
        (["havip", "--json", "show", "web"], ["--json", "havip", "show", "web"], True),
        (["--json", "vpc", "list", "--json"], ["--json", "vpc", "list"], True),
        (["lab", "exec", "--", "x", "--json"], ["lab", "exec", "--", "x", "--json"], False),
    ],
    ids=["none", "before", "after", "middle", "twice", "after-double-dash"],
)
def test_json_is_taken_anywhere_before_a_double_dash(args: list[str], expected: list[str], as_json: bool) -> None:
    assert hoist_json(args) == (expected, as_json)


@pytest.mark.parametrize("kind", sorted(PREFIXES))
def test_real_ids_look_like_ids(kind: str) -> None:
    ident = new_id(kind)
    for collection, prefix in ID_PREFIX.items():
        if prefix == PREFIXES[kind]:
            assert looks_like_id(collection, ident)


@pytest.mark.parametrize(
    ("collection", "value", "is_id"),
    [
        ("havips", "havip-0f3kq8s1w2e3r4t5y", True),
        ("havips", "web", False),
        ("havips", "web-vip", False),
        ("havips", "vpc-0f3kq8s1w2e3r4t5y", False),
        ("instances", "i-7", True),
        ("instances", "one", False),
        ("subnets", "vsw-Upper", False),
        ("access-keys", "anything", True),  # no names: always an id
    ],
)
def test_what_counts_as_an_id(collection: str, value: str, is_id: bool) -> None:
    assert looks_like_id(collection, value) is is_id  # type: ignore[arg-type]

"""Rules about a host's agent (domain/agents.py) and the limits every process shares (domain/limits.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from annotated_types import MaxLen, MinLen

from havip import client
from havip import contract as c
from havip.domain import agents, limits
from havip.domain.errors import Forbidden, InvalidParameter
from havip.domain.model import Role
from havip.service.context import Page

pytestmark = pytest.mark.unit

HOST = dict(host_id="host-1", host_name="hv-1")


@pytest.mark.parametrize(
    ("role", "principal_host_id", "cert_names", "cert_required", "code"),
    [
        pytest.param(Role.OPERATOR, None, None, False, None, id="operator"),
        pytest.param(Role.OPERATOR, None, None, True, None, id="operator-needs-no-certificate"),
        pytest.param(Role.AGENT, "host-1", None, False, None, id="own-agent"),
        pytest.param(Role.AGENT, "host-1", frozenset({"hv-1"}), True, None, id="own-agent-with-its-certificate"),
        pytest.param(
            Role.AGENT, "host-1", frozenset({"other", "hv-1"}), True, None, id="own-agent-certificate-with-two-names"
        ),
        pytest.param(Role.AGENT, "host-2", None, False, "Forbidden.NotThisHostsAgent", id="another-hosts-agent"),
        pytest.param(
            Role.AGENT,
            "host-2",
            frozenset({"hv-1"}),
            True,
            "Forbidden.NotThisHostsAgent",
            id="another-hosts-agent-with-this-hosts-certificate",
        ),
        pytest.param(Role.TENANT, None, None, False, "Forbidden.NotThisHostsAgent", id="tenant"),
        pytest.param(Role.AGENT, "host-1", None, True, "Forbidden.AgentCertificate", id="own-agent-no-certificate"),
        pytest.param(
            Role.AGENT, "host-1", frozenset(), True, "Forbidden.AgentCertificate", id="own-agent-nameless-certificate"
        ),
        pytest.param(
            Role.AGENT,
            "host-1",
            frozenset({"hv-2"}),
            True,
            "Forbidden.AgentCertificate",
            id="own-agent-another-hosts-certificate",
        ),
        pytest.param(Role.AGENT, "host-1", frozenset({"hv-2"}), False, None, id="certificate-not-required"),
    ],
)
def test_agent_access(
    role: Role, principal_host_id: str | None, cert_names: frozenset[str] | None, cert_required: bool, code: str | None
) -> None:
    def check() -> None:
        agents.check_agent_access(
            role=role, principal_host_id=principal_host_id, cert_names=cert_names, cert_required=cert_required, **HOST
        )

    if code is None:
        check()
        return
    with pytest.raises(Forbidden) as info:
        check()
    assert info.value.code == code


@pytest.mark.parametrize(
    ("cert_names", "shown"),
    [
        pytest.param(None, "no client certificate", id="none"),
        pytest.param(frozenset({"b", "a"}), "a, b", id="sorted-names"),
    ],
)
def test_agent_certificate_message_says_what_came(cert_names: frozenset[str] | None, shown: str) -> None:
    with pytest.raises(Forbidden) as info:
        agents.check_agent_access(
            role=Role.AGENT, principal_host_id="host-1", cert_names=cert_names, cert_required=True, **HOST
        )
    assert info.value.message == (
        f"the agent key of host hv-1 is accepted only with a client certificate named hv-1 (this request came with {shown})"
    )


@pytest.mark.parametrize(
    ("n", "ok"),
    [
        pytest.param(0, False, id="empty"),
        pytest.param(1, True, id="one"),
        pytest.param(limits.REPORT_BATCH_MAX, True, id="the-most"),
        pytest.param(limits.REPORT_BATCH_MAX + 1, False, id="one-too-many"),
    ],
)
def test_batch_size(n: int, ok: bool) -> None:
    if ok:
        agents.check_batch_size(n)
        return
    with pytest.raises(InvalidParameter) as info:
        agents.check_batch_size(n)
    assert (info.value.code, info.value.message) == (
        "InvalidParameter",
        f"a batch carries 1 to {limits.REPORT_BATCH_MAX} reports, not {n}",
    )


@pytest.mark.parametrize(
    ("latency_us", "cause", "refused"),
    [
        pytest.param(None, "", None, id="nothing"),
        pytest.param(0, "garp-request", None, id="zero-latency"),
        pytest.param(limits.REPORT_LATENCY_MAX_US, "x" * limits.REPORT_CAUSE_MAX, None, id="both-at-their-limit"),
        pytest.param(-1, "", "latency_us", id="negative-latency"),
        pytest.param(limits.REPORT_LATENCY_MAX_US + 1, "", "latency_us", id="latency-over-an-hour"),
        pytest.param(None, "x" * (limits.REPORT_CAUSE_MAX + 1), "cause", id="cause-too-long"),
        pytest.param(None, "garp\n", "cause", id="cause-control-character"),
        pytest.param(None, "garp-é", "cause", id="cause-not-ascii"),
        pytest.param(-1, "é", "latency_us", id="latency-checked-first"),
    ],
)
def test_report_fields(latency_us: int | None, cause: str, refused: str | None) -> None:
    if refused is None:
        agents.check_report_fields(latency_us=latency_us, cause=cause)
        return
    with pytest.raises(InvalidParameter) as info:
        agents.check_report_fields(latency_us=latency_us, cause=cause)
    assert info.value.code == "InvalidParameter"
    assert info.value.message.startswith(refused)


T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("new", "last_seen_at", "seconds_later", "due"),
    [
        pytest.param(False, None, 0.0, True, id="never-seen"),
        pytest.param(True, T0, 0.0, True, id="something-new-at-once"),
        pytest.param(False, T0, 0.0, False, id="nothing-new-at-once"),
        pytest.param(False, T0, agents.HEARTBEAT_EVERY / 2, False, id="nothing-new-half-way"),
        pytest.param(False, T0, agents.HEARTBEAT_EVERY, True, id="nothing-new-after-the-interval"),
        pytest.param(False, T0, -1.0, False, id="clock-went-back"),
    ],
)
def test_heartbeat_due(new: bool, last_seen_at: dt.datetime | None, seconds_later: float, due: bool) -> None:
    now = T0 + dt.timedelta(seconds=seconds_later)
    assert agents.heartbeat_due(says_something_new=new, last_seen_at=last_seen_at, now=now) is due


def test_the_shared_limits_are_the_ones_each_side_uses() -> None:
    field = c.ReportBatch.model_fields["reports"]
    assert MaxLen(limits.REPORT_BATCH_MAX) in field.metadata and MinLen(1) in field.metadata
    assert (c.MAX_LIMIT, c.DEFAULT_LIMIT) == (limits.PAGE_MAX, limits.PAGE_DEFAULT)
    assert (Page.MAX_LIMIT, Page().limit) == (limits.PAGE_MAX, limits.PAGE_DEFAULT)
    assert client.PAGE_MAX == limits.PAGE_MAX

"""Who may claim a HaVip, and what a claim does to its holder.

``may_claim`` is the single authority the data plane and the control plane both ask:
the agent calls it on every gratuitous ARP before switching a route, the control
plane calls it again before recording a holder. It returns a decision with a reason
rather than raising, so callers can count and report refusals.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection
from dataclasses import dataclass

from havip.domain.errors import InvalidParameter
from havip.domain.model import BindingMode, HaVip, HaVipMember, HaVipStatus, MemberType, NetworkInterface


class ClaimReason(enum.StrEnum):
    MEMBER = "member"  # allowed: an associated instance or interface
    SUBNET_MODE = "subnet-mode"  # allowed: any interface of the subnet
    NOT_IN_SUBNET = "not-in-subnet"
    NOT_A_MEMBER = "not-a-member"
    NO_MEMBERS = "no-members"
    HAVIP_DELETING = "havip-deleting"
    OTHER_VPC = "other-vpc"


@dataclass(frozen=True)
class ClaimDecision:
    allowed: bool
    reason: ClaimReason

    def __bool__(self) -> bool:
        return self.allowed


def may_claim(havip: HaVip, interface: NetworkInterface, members: Collection[HaVipMember]) -> ClaimDecision:
    """Whether ``interface`` may take ``havip`` by announcing it.

    The interface must be in the HaVip's subnet. In ``subnet`` mode that suffices; in
    ``explicit`` mode the interface itself (ENI members) or its instance (instance
    members) must be associated with the HaVip.
    """
    if havip.status in (HaVipStatus.DELETING, HaVipStatus.CREATING):
        return ClaimDecision(False, ClaimReason.HAVIP_DELETING)
    if interface.vpc_id != havip.vpc_id:
        return ClaimDecision(False, ClaimReason.OTHER_VPC)
    if interface.subnet_id != havip.subnet_id:
        return ClaimDecision(False, ClaimReason.NOT_IN_SUBNET)
    if havip.binding_mode is BindingMode.SUBNET:
        return ClaimDecision(True, ClaimReason.SUBNET_MODE)
    if not members:
        return ClaimDecision(False, ClaimReason.NO_MEMBERS)
    for m in members:
        if m.member_type is MemberType.NETWORK_INTERFACE and m.member_id == interface.id:
            return ClaimDecision(True, ClaimReason.MEMBER)
        if m.member_type is MemberType.INSTANCE and interface.instance_id == m.member_id:
            return ClaimDecision(True, ClaimReason.MEMBER)
    return ClaimDecision(False, ClaimReason.NOT_A_MEMBER)


class ReportKind(enum.StrEnum):
    """What an agent saw on the wire."""

    CLAIM = "claim"  # an unsolicited gratuitous ARP from the interface (or a discovery heal)
    PROBE_ANSWER = "probe-answer"  # the interface answered the agent's holder probe
    REFUSED = "refused"  # an interface that may not claim announced the VIP
    SPLIT_BRAIN = "split-brain"  # several interfaces answered for the VIP at once


class Outcome(enum.StrEnum):
    HOLDER_CHANGED = "holder-changed"
    UNCHANGED = "unchanged"  # already the holder: keepalived's refresh
    REFUSED = "refused"
    STALE = "stale"  # older than the current holder's claim, or a probe answer against an announced holder
    RECORDED = "recorded"  # a split brain, written to the history


FUTURE_TOLERANCE = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class Verdict:
    """What a report does to a HaVip: the outcome, and the time to record it at.
    ``contested``: the claim carried the holder's own epoch (two hosts claimed at once):
    a split brain, whichever way the tie went."""

    outcome: Outcome
    at: dt.datetime
    reason: str = ""
    contested: bool = False


def outranks(epoch: int, host: str, held_epoch: int, held_host: str) -> bool:
    """Does a claim at ``epoch`` from ``host`` outrank one held at ``held_epoch`` from
    ``held_host``? The higher epoch wins; at the same epoch the lower host name, a stable rank
    that every host and the control plane compute alike, so a split brain ends the same way
    everywhere. The one ordering rule of claims across hosts (the agents' claim messages use it too)."""
    if epoch != held_epoch:
        return epoch > held_epoch
    return host < held_host


@dataclass(frozen=True)
class ClaimOrder:
    """What orders a claim against the holder's: its epoch (None: an agent that numbers no
    claims, or a heal) and the host names that break a tie (the lower wins)."""

    epoch: int | None = None
    claimant_host: str = ""
    holder_host: str = ""
    same_host: bool = False  # the holder is on the claimant's host: that host's own order stands


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def judge_report(
    havip: HaVip,
    interface: NetworkInterface,
    members: Collection[HaVipMember],
    kind: ReportKind,
    at: dt.datetime,
    now: dt.datetime,
    order: ClaimOrder | None = None,
) -> Verdict:
    """The control plane's judgement of an agent's report (the agent acted first).

    A claim from another host than the holder's is ordered by its epoch, never by time:
    above the holder's it moves the holder, below it is stale, at the holder's own epoch
    (two hosts claimed at once) the lower host name wins and the verdict is ``contested``.
    The reports of one host arrive in the order its agent made them, so a claim from the
    holder's own host, or one without an epoch, is ordered by its time as before.

    A report dated ahead of the control plane's clock beyond a small tolerance is
    refused (a host with a clock running ahead would otherwise pin the holder); a small
    skew is clamped to now. Refused claims and split brains are recorded as such; a
    claim older than the current holder's, or an answer to a probe while a holder has
    announced itself, never moves the holder.
    """
    at, now = _aware(at), _aware(now)
    if at > now + FUTURE_TOLERANCE:
        raise InvalidParameter(
            f"the report is dated {at.isoformat()}, ahead of the control plane's clock ({now.isoformat()}); "
            "check the host's clock (NTP)",
            code="InvalidParameter.FutureReport",
        )
    at = min(at, now)
    if kind is ReportKind.SPLIT_BRAIN:
        return Verdict(Outcome.RECORDED, at)
    decision = may_claim(havip, interface, members)
    if kind is ReportKind.REFUSED or not decision.allowed:
        reason = decision.reason.value if not decision.allowed else "refused by the data plane"
        return Verdict(Outcome.REFUSED, at, reason)
    if havip.holder_interface_id == interface.id:
        return Verdict(Outcome.UNCHANGED, at)
    epoch = order.epoch if order is not None else None
    if epoch is not None and order is not None and kind is ReportKind.CLAIM and not order.same_host:
        if epoch > havip.epoch:
            return Verdict(Outcome.HOLDER_CHANGED, at)
        if epoch < havip.epoch:
            return Verdict(Outcome.STALE, at)
        if havip.holder_interface_id is None:
            return Verdict(Outcome.HOLDER_CHANGED, at)
        wins = outranks(epoch, order.claimant_host, havip.epoch, order.holder_host)
        return Verdict(Outcome.HOLDER_CHANGED if wins else Outcome.STALE, at, contested=True)
    if havip.holder_since is not None and at < _aware(havip.holder_since):
        return Verdict(Outcome.STALE, at)
    if kind is ReportKind.PROBE_ANSWER and havip.holder_interface_id is not None:
        return Verdict(Outcome.STALE, at)
    return Verdict(Outcome.HOLDER_CHANGED, at)


def set_holder(
    havip: HaVip, interface: NetworkInterface, host_id: str | None, at: dt.datetime, epoch: int | None = None
) -> None:
    """Make ``interface`` the holder, at ``epoch`` (None: the next one: epochs only grow)."""
    havip.holder_interface_id, havip.holder_instance_id = interface.id, interface.instance_id
    havip.holder_host_id = host_id
    havip.holder_since = at
    havip.updated_at = at
    havip.epoch = max(havip.epoch + 1, epoch or 0)


def clear_holder(havip: HaVip) -> tuple[str | None, str | None]:
    """Remove the holder; returns the previous (interface, instance)."""
    previous = (havip.holder_interface_id, havip.holder_instance_id)
    havip.holder_interface_id = havip.holder_instance_id = havip.holder_host_id = None
    havip.holder_since = None
    return previous

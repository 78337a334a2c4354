"""One reconcile pass, the same for the agent, ``havip agent --dump`` and the tests.

``reconcile_pass`` is the whole decision of a reconcile: the desired host from the
control plane's state (``build_desired``), the ports that may not be adopted taken out
once (``adoption.admit``), and the plan against what the kernel has (``plan``).
``split_vip_actions`` separates the few actions that touch a VIP's route (applied under
the ledger's ``switch_lock`` so a reconcile never races a claim) from the rest. Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from havip.agent import actions as a
from havip.agent.adoption import Refusal, admit
from havip.agent.desired import DesiredHost, Uplink, build_desired
from havip.agent.observed import Observed
from havip.agent.plan import plan
from havip.agent.settings import NftLimits, TunnelSettings
from havip.domain.desired import DesiredState


@dataclass(frozen=True)
class Pass:
    desired: DesiredHost  # admitted: without the refused ports
    refused: Mapping[str, Refusal]  # device -> why it may not be a port
    actions: list[a.Action]


def reconcile_pass(
    state: DesiredState,
    observed: Observed,
    local_holders: Mapping[str, str] | None = None,
    uplink: Uplink | None = None,
    limits: NftLimits | None = None,
    tunnel: TunnelSettings | None = None,
) -> Pass:
    built = build_desired(state, observed.vpc_tables(), local_holders, uplink, tunnel)
    desired, refused = admit(built, observed.links)
    return Pass(desired, refused, plan(desired, observed, limits=limits))


def split_vip_actions(
    acts: list[a.Action], vip_ips: Collection[str], switched: Collection[str] = ()
) -> tuple[list[a.Action], list[a.Action]]:
    """(actions that touch a VIP's route or neighbour, or a route entry that follows a
    HaVip (``switched`` destinations), the rest)."""
    mine: list[a.Action] = []
    rest: list[a.Action] = []
    for act in acts:
        hit = False
        if isinstance(act, a.ReplaceRoute | a.DeleteRoute):
            hit = act.dst.removesuffix("/32") in vip_ips or act.dst in switched
        elif isinstance(act, a.ReplaceNeigh | a.DeleteNeigh):
            hit = act.ip in vip_ips
        (mine if hit else rest).append(act)
    return mine, rest

"""havip.agent.dataplane: the only code that touches the kernel (netlink, nftables, AF_PACKET).

Everything here works inside one given network namespace (``Netns``), never in the
namespace the agent process runs in. Only this package imports pyroute2, and only when
``Dataplane`` is used: importing the package (or ``Netns``) does not load it.
``kernel_for`` builds the agent's ``havip.agent.kernel.Kernel`` from the real adapters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from havip.agent.dataplane.netns import Netns
from havip.agent.kernel import DataplaneError

if TYPE_CHECKING:
    from havip.agent.dataplane.bundle import kernel_for
    from havip.agent.dataplane.kernel import Dataplane

__all__ = ["Dataplane", "DataplaneError", "Netns", "kernel_for"]


def __getattr__(name: str) -> Any:
    if name == "Dataplane":
        from havip.agent.dataplane.kernel import Dataplane

        return Dataplane
    if name == "kernel_for":
        from havip.agent.dataplane.bundle import kernel_for

        return kernel_for
    raise AttributeError(name)

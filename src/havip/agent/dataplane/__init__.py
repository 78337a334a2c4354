"""havip.agent.dataplane: the only code that touches the kernel (netlink, nftables, AF_PACKET).

Everything here works inside one given network namespace (``Netns``), never in the
namespace the agent process runs in. Only this package imports pyroute2.
"""

from havip.agent.dataplane.errors import DataplaneError
from havip.agent.dataplane.kernel import Dataplane
from havip.agent.dataplane.netns import Netns

__all__ = ["Dataplane", "DataplaneError", "Netns"]

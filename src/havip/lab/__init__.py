"""The lab: a HaVip failing over for real between keepalived instances on one machine.

Instances are network namespaces, the host is a namespace run by a real ``havip agent``,
the control plane is a real ``havip serve`` on a unix socket, and one supervisor process
owns (and reaps) every process of a lab. Used by ``havip lab``, the lab-tier tests and
the benchmarks.
"""

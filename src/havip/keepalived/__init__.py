"""keepalived support: render a keepalived.conf for a HaVip member, and lint one.

Pure (standard library only): no file, process or network I/O; the CLI reads files
and asks the control plane, then hands plain values in. Never runs keepalived.
"""

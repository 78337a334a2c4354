"""Kernel tier: real netlink, nftables and AF_PACKET in throwaway namespaces (root)."""

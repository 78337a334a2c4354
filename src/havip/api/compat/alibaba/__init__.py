"""The Alibaba Cloud VPC API 2016-04-28 facade (RPC style; signature V3 and HMAC-SHA1)."""

from havip.api.compat.alibaba.protocol import handle

__all__ = ["handle"]

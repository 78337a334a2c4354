"""The Tencent Cloud VPC API 2017-03-12 facade (API 3.0; TC3-HMAC-SHA256 and the legacy HmacSHA256/HmacSHA1)."""

from havip.api.compat.tencent.protocol import handle

__all__ = ["handle"]

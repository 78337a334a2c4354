"""The Alibaba Cloud VPC 2016-04-28 and Tencent Cloud VPC 2017-03-12 API facades.

The official SDKs, Terraform and scripts written for either cloud run against havip
with only their endpoint changed (docs/compat.md). Both facades authenticate with
AccessKeys (``havip.service.access_keys``), call the same use cases as the native
API (no rule is written twice) and translate our errors through one table per cloud.

Layout: ``root`` (the route at ``/`` and which cloud a request is for), ``wire``
(raw request, parameters), ``signing`` (the four signatures, pure), ``call``
(authentication order, what handlers receive), ``memory`` (nonces, tasks, tokens),
``errors`` (how a table is read); ``alibaba/`` and ``tencent/`` each hold a
``protocol`` (envelope and signatures), an ``errors`` table and the action modules.
"""

from havip.api.compat.root import install

__all__ = ["install"]

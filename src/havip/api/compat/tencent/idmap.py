"""Tencent's id prefixes at the facade's edge: ``subnet-``, ``rtb-``, ``ins-``.

havip stores one id per resource (``vsw-…``, ``vtb-…``, ``i-…``, the prefixes Alibaba
shows too). Tencent names the same kinds ``subnet-…``, ``rtb-…`` and ``ins-…``, and
scripts match ids by pattern, so the Tencent facade translates at its edge only:
every id in an answer (and in an error message) goes out with Tencent's prefix, and a
parameter that is exactly a Tencent-style id comes in as the stored one. The stored
form is accepted too (the native API and the CLI print it), so both work as input.
The other kinds (``vpc-``, ``eni-``, ``havip-``, ``eip-``) share their prefix.
"""

from __future__ import annotations

import re
from typing import Any

from havip.domain import ids

TO_TENCENT = {ids.PREFIXES["subnet"]: "subnet", ids.PREFIXES["route_table"]: "rtb", ids.PREFIXES["instance"]: "ins"}
TO_STORED = {tc: stored for stored, tc in TO_TENCENT.items()}

_SUFFIX = r"[a-z0-9]{17}"
_OUT = re.compile(rf"(?<![A-Za-z0-9_-])({'|'.join(TO_TENCENT)})-({_SUFFIX})(?![A-Za-z0-9_])")
_IN = re.compile(rf"^({'|'.join(TO_STORED)})-({_SUFFIX})$")


def tencent_id(stored: str) -> str:
    """``vsw-x`` -> ``subnet-x`` (and so on); any other text unchanged."""
    return _OUT.sub(lambda m: f"{TO_TENCENT[m.group(1)]}-{m.group(2)}", stored)


def stored_id(given: str) -> str:
    """``subnet-x`` -> ``vsw-x`` (and so on) when ``given`` is exactly such an id; otherwise unchanged."""
    m = _IN.match(given)
    return f"{TO_STORED[m.group(1)]}-{m.group(2)}" if m else given


def outward(value: Any) -> Any:
    """An answer with every stored id (also inside longer text) in Tencent's form."""
    if isinstance(value, str):
        return tencent_id(value)
    if isinstance(value, dict):
        return {k: outward(v) for k, v in value.items()}
    if isinstance(value, list):
        return [outward(v) for v in value]
    return value


def inward(value: Any) -> Any:
    """Request parameters with every Tencent-style id in its stored form."""
    if isinstance(value, str):
        return stored_id(value)
    if isinstance(value, dict):
        return {k: inward(v) for k, v in value.items()}
    if isinstance(value, list):
        return [inward(v) for v in value]
    return value

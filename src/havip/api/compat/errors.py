"""How a cloud's error table is read: our error codes to the cloud's codes.

Each cloud has exactly one table (``alibaba/errors.py``, ``tencent/errors.py``). A row
is keyed by one of our codes or a dotted prefix of it (``NotFound.HaVip``,
``MissingParameter``) and gives the cloud's code, or one per action with ``"*"`` for
the other actions. ``translate`` takes the longest matching key, then the error's
kind. Nothing here builds answers: the protocol modules put the result in their
cloud's envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from havip.domain.errors import Kind


@dataclass(frozen=True)
class CloudCode:
    """A cloud's error code and the HTTP status it comes with (Tencent always answers 200)."""

    code: str
    status: int = 400


Row = CloudCode | Mapping[str, CloudCode]
"""One code for every action, or one per action (``"*"``: the others)."""


@dataclass(frozen=True)
class ErrorTable:
    rows: Mapping[str, Row]
    by_kind: Mapping[Kind, CloudCode]

    def translate(self, code: str, kind: Kind, action: str) -> CloudCode:
        candidate = code
        while candidate:
            row = self.rows.get(candidate)
            if isinstance(row, CloudCode):
                return row
            if row is not None and (found := row.get(action) or row.get("*")) is not None:
                return found
            candidate = candidate.rpartition(".")[0]
        return self.by_kind[kind]

    def codes(self) -> set[str]:
        """Every cloud code the table can answer with."""
        out = {c.code for c in self.by_kind.values()}
        for row in self.rows.values():
            out |= {row.code} if isinstance(row, CloudCode) else {c.code for c in row.values()}
        return out

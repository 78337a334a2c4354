"""The agent's name for the shared log vocabulary: a re-export of ``havip.logs``.

Kept so the agent's modules (``from havip.agent.logs import event``) and tests need no change;
new code imports ``havip.logs``. Nothing is defined here.
"""

from __future__ import annotations

from havip.logs import FIELDS, JsonFormatter, LogFormat, TextFormatter, bind, bound, event, install

__all__ = ["FIELDS", "JsonFormatter", "LogFormat", "TextFormatter", "bind", "bound", "event", "install"]

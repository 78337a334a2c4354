"""One row of the reliability report: a fault or an attack, how often, what it cost, a verdict.

The verdict rule, for every row: ``held`` when nothing a user relies on was lost (no
probe lost beyond what the fault's own detection must cost, no acknowledged write, report
or event lost, every attack refused while its control succeeded); else ``lost`` with what
and for how long; ``not shown`` when the run could not tell (a control failed, too few
trials).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Matrix = Literal["fault", "attack"]
Verdict = Literal["held", "lost", "not shown"]


@dataclass
class Row:
    matrix: Matrix
    name: str  # stable key, e.g. "agent-sigkill-during-failover"
    title: str  # what a person reads in the table
    injected: str  # what was done, concretely
    times: int  # how many times it was injected
    verdict: Verdict
    why: str = ""  # the verdict in words: what was lost and for how long, or why it held
    figures: dict[str, Any] = field(default_factory=dict)  # probes_lost, flows_again_ms, truth_ms, data_lost ...
    control: str = ""  # attacks: the control that had to succeed (so "nothing arrived" is not vacuous)
    trials: list[dict[str, Any]] = field(default_factory=list)  # the raw figures of each injection

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def worst(values: list[float | int | None]) -> float | int | None:
    """The largest of the figures that were measured (``None`` when none was)."""
    got = [v for v in values if v is not None]
    return max(got) if got else None

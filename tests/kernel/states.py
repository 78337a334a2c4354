"""The desired-state builders of the unit tier (one shape: ``havip.domain.desired``)."""

from __future__ import annotations

from tests.unit.agent_fixtures import Eip, Iface, Route, State, Vip

__all__ = ["Eip", "Iface", "Route", "State", "Vip"]

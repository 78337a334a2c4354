"""What the facades read from a request: the raw parts, and typed access to parameters.

``Wire`` is one HTTP request as the signatures need it (raw query string, header
values as sent, body bytes). ``unflatten`` turns the clouds' flattened parameters
(``Filter.1.Value.1``; Tencent's form ``Filters.0.Values.0``) into the nested shape a
JSON body has, so the action handlers read both the same way through ``Args``.
``Args`` converts and checks values, raising ``InvalidParameter`` with our codes
(``MissingParameter.<Name>``, ``InvalidParameter.Value``) that the clouds' error
tables translate. Nothing here knows a cloud's actions or authenticates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from havip.domain.errors import InvalidParameter

Nested = dict[str, Any]


@dataclass(frozen=True)
class Wire:
    """One request: method, path, raw query, lower-cased headers (all values), body."""

    method: str
    path: str
    query: str
    headers: Mapping[str, Sequence[str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    def form_pairs(self) -> list[tuple[str, str]]:
        """The body's parameters if it is a form, else none."""
        if self.content_type != "application/x-www-form-urlencoded" or not self.body:
            return []
        try:
            return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise InvalidParameter("the form body is not UTF-8", code="InvalidParameter.Value") from exc


def unflatten(flat: Mapping[str, str]) -> Nested:
    """``{"Filter.1.Key": "k", "Filter.1.Value.1": "v"}`` -> ``{"Filter": [{"Key": "k", "Value": ["v"]}]}``.

    Numbered segments become lists in index order, whatever the first index is
    (Alibaba counts from 1, Tencent's form from 0).
    """
    root: Nested = {}
    for key, value in flat.items():
        *path, leaf = key.split(".")
        node = root
        for part in path:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[leaf] = value
    out = _lists(root, top=True)
    assert isinstance(out, dict)
    return out


def _lists(node: Any, top: bool = False) -> Any:
    if not isinstance(node, dict):
        return node
    if not top and node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


@dataclass(frozen=True)
class Args:
    """Typed, checked access to one request's (nested) parameters."""

    values: Mapping[str, Any]
    where: str = ""  # "Filters.0." for nested objects, in messages

    def _name(self, name: str) -> str:
        return f"{self.where}{name}"

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def _missing(self, name: str) -> InvalidParameter:
        return InvalidParameter(f"the parameter {self._name(name)} is required", code=f"MissingParameter.{name}")

    def _bad(self, name: str, want: str, value: object) -> InvalidParameter:
        return InvalidParameter(
            f"the parameter {self._name(name)} must be {want}, not {value!r}", code="InvalidParameter.Value"
        )

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self._bad(name, "a string", value)
        return str(value)

    def need(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise self._missing(name)
        return value

    def integer(self, name: str, default: int, lo: int, hi: int, too_big: str | None = None) -> int:
        """An integer from ``lo`` to ``hi``; above ``hi`` it is ``too_big`` (a code) when one is given."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is not None and number > hi and too_big is not None:
            raise InvalidParameter(f"the parameter {self._name(name)} may be at most {hi}, not {number}", code=too_big)
        if number is None or not lo <= number <= hi:
            raise self._bad(name, f"an integer from {lo} to {hi}", value)
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise self._bad(name, "true or false", value)

    def strings(self, name: str, *, limit: int = 100) -> list[str]:
        """A list of strings: a JSON list, a flattened list, or (Alibaba) one comma-separated string."""
        value = self.values.get(name)
        if value is None or value == "":
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        if not all(isinstance(i, str) for i in items) or len(items) > limit:
            raise self._bad(name, f"a list of at most {limit} strings", value)
        return [i.strip() for i in items if i.strip()]

    def objects(self, name: str, *, limit: int = 100) -> list[Args]:
        value = self.values.get(name)
        if value is None or value == "":
            return []
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value) or len(value) > limit:
            raise self._bad(name, f"a list of at most {limit} objects", value)
        return [Args(item, f"{self._name(name)}.{i}.") for i, item in enumerate(value)]

"""A small parser for keepalived.conf: nested ``name args { ... }`` blocks.

It understands what a lint needs (blocks, their keywords and values, line numbers),
not every keepalived feature: ``include`` and ``@`` conditionals are kept as plain
statements. Comments start with ``#`` or ``!`` and run to the end of the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_TOKEN = re.compile(r'"[^"]*"|[{}]|[^\s{}"]+')


@dataclass
class Node:
    """A statement: keyword, arguments, the line it starts on, and children if a block."""

    keyword: str
    args: list[str]
    line: int
    children: list[Node] = field(default_factory=list)
    is_block: bool = False

    def find(self, keyword: str) -> Node | None:
        return next((c for c in self.children if c.keyword == keyword), None)

    def find_all(self, keyword: str) -> list[Node]:
        return [c for c in self.children if c.keyword == keyword]

    def value(self, keyword: str) -> str | None:
        node = self.find(keyword)
        return node.args[0] if node is not None and node.args else None

    def has(self, keyword: str) -> bool:
        return self.find(keyword) is not None

    def items(self) -> list[tuple[str, int]]:
        """The entries of a list block such as ``unicast_peer { ... }``: first word and line."""
        return [(c.keyword, c.line) for c in self.children]


class ParseError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _tokens(text: str) -> Iterator[tuple[int, list[str]]]:
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"[#!]", raw, maxsplit=1)[0]
        toks = [t.strip('"') if t.startswith('"') else t for t in _TOKEN.findall(line)]
        if toks:
            yield lineno, toks


def parse(text: str) -> Node:
    """Parse a whole file into a root node whose children are the top-level statements."""
    root = Node("<root>", [], 0, is_block=True)
    stack = [root]
    for lineno, toks in _tokens(text):
        current: Node | None = None
        for i, tok in enumerate(toks):
            if tok == "{":
                if current is None and i == 0 and stack[-1].children and not stack[-1].children[-1].is_block:
                    current = stack[-1].children[-1]  # "name args" on one line, "{" on the next
                if current is None:
                    raise ParseError("'{' without a keyword before it", lineno)
                current.is_block = True
                stack.append(current)
                current = None
            elif tok == "}":
                if len(stack) == 1:
                    raise ParseError("'}' without a matching '{'", lineno)
                stack.pop()
                current = None
            elif current is None:
                current = Node(tok, [], lineno)
                stack[-1].children.append(current)
            else:
                current.args.append(tok)
    if len(stack) > 1:
        raise ParseError(f"block '{stack[-1].keyword}' opened here is never closed", stack[-1].line)
    return root

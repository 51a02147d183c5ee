"""Relay global ids: readable natural keys (``Etf:XHKG:03033``), and the older base64 ids of internal
numbers (base64 of ``Etf:123``) still accepted. A malformed id is a BAD_USER_INPUT naming the argument."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from service.errors import BadInput
from service.model.declare import Entity

MAX_BIGINT = 2**63 - 1
MAX_ID_LENGTH = 200


@dataclass(frozen=True, slots=True)
class NodeRef:
    """A parsed id: the type, and either the natural key's parts or (older ids) the internal number."""

    type: str
    keys: tuple[str | None, ...]
    legacy: int | None


def parse(value: str, nodes: dict[str, Entity], argument: str = "id") -> NodeRef:
    """``Etf:XHKG:03033`` -> NodeRef("Etf", ("XHKG", "03033"), None); base64 ids as before."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise BadInput(f"`{argument}` is not a valid global id", argument=argument)
    text, legacy = value, False
    if ":" not in value:
        text, legacy = _unbase64(value, argument), True
    type_name, _, key = text.partition(":")
    entity = nodes.get(type_name)
    if entity is None or entity.node is None:
        known = ", ".join(sorted(nodes))
        raise BadInput(
            f"`{argument}` {value!r} names no object type with global ids (known: {known})", argument=argument
        )
    if legacy and key.isascii() and key.isdigit():
        number = int(key)
        if number > MAX_BIGINT:
            raise BadInput(f"`{argument}` {value!r} is not a valid global id", argument=argument)
        return NodeRef(type_name, (), number)
    match = re.fullmatch(entity.node.pattern, key)
    if match is None:
        raise BadInput(
            f"`{argument}` {value!r} is not a valid {type_name} id (e.g. {entity.node.example})",
            argument=argument,
        )
    return NodeRef(type_name, match.groups(), None)


def _unbase64(value: str, argument: str) -> str:
    try:
        text = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInput(f"`{argument}` {value!r} is not a valid global id", argument=argument) from None
    if ":" not in text:
        raise BadInput(f"`{argument}` {value!r} is not a valid global id", argument=argument)
    return text

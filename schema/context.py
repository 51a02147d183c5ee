"""The per-request context of strawberry's executor: the request's Database, the key, the engine (which
answers each root data field), the document the door prepared, and the errors the engine found inside
the fields it answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from graphql import DocumentNode

from service.auth.principal import Principal
from service.db.client import Database

HONG_KONG = ZoneInfo("Asia/Hong_Kong")


def hong_kong_today() -> date:
    """Trading dates are exchange-local: "today" is today in Hong Kong."""
    return datetime.now(HONG_KONG).date()


@dataclass
class Context:
    db: Database
    principal: Principal
    engine: Any = None  # service.engine.Engine
    today: date = field(default_factory=hong_kong_today)
    request: Any = None
    request_id: str | None = None
    api_key_secret: str = ""
    # The document parsed and validated at the door (schema/execution.py: PreparedDocument).
    document: DocumentNode | None = None
    # Errors inside root fields the engine answered on this path (FORBIDDEN fields in lists, ...).
    errors: list[dict[str, Any]] = field(default_factory=list)

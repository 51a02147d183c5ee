"""The per-request context: the request's Database, its loaders and the limits resolvers enforce."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from graphql import DocumentNode

from service.auth.principal import Principal
from service.db.client import Database
from service.loaders.registry import Loaders

HONG_KONG = ZoneInfo("Asia/Hong_Kong")


def hong_kong_today() -> date:
    """Trading dates are exchange-local: "today" is today in Hong Kong."""
    return datetime.now(HONG_KONG).date()


@dataclass
class Context:
    db: Database
    loaders: Loaders
    principal: Principal
    max_page_size: int = 500
    default_page_size: int = 50
    today: date = field(default_factory=hong_kong_today)
    request: Any = None
    api_key_secret: str = ""
    # The document parsed and validated at the door (schema/execution.py: PreparedDocument).
    document: DocumentNode | None = None

    @classmethod
    def create(
        cls,
        db: Database,
        *,
        principal: Principal,
        max_page_size: int,
        default_page_size: int,
        api_key_secret: str = "",
    ) -> Context:
        return cls(
            db=db,
            loaders=Loaders(db),
            principal=principal,
            api_key_secret=api_key_secret,
            max_page_size=max_page_size,
            default_page_size=default_page_size,
        )

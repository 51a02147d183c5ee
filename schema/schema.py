"""The strawberry schema: Query, the Node types, and how a prepared document reaches strawberry."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.admin import AdminQuery, Mutation
from schema.analytics.queries import AnalyticsQuery
from schema.execution import PreparedDocument
from schema.queries import Query as CoreQuery
from schema.scalars import DecimalScalar
from schema.subscriptions import Subscription
from schema.types.freshness import FreshnessQuery
from schema.types.reference import Etf, Index, Licence, Manager, Security
from service.errors import AppError

log = logging.getLogger("connectgraph.graphql")

# The root Query is merged from one type per area (each area adds its own module to this tuple).
QUERY_PARTS: tuple[type, ...] = (CoreQuery, AnalyticsQuery, AdminQuery, FreshnessQuery)
Query = QUERY_PARTS[0] if len(QUERY_PARTS) == 1 else merge_types("Query", QUERY_PARTS)
Query.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Hong Kong as the ETF gateway for mainland capital: start here."
)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only what the client could not have caused; expected errors are answers."""
        for error in errors:
            original = error.original_error
            # Errors without a path are request-level (variable coercion): the client's input.
            if original is not None and error.path and not isinstance(original, AppError):
                log.error("unexpected error in %s", error.path, exc_info=original)


def build_schema() -> Schema:
    """The one schema of the process (strawberry types cannot serve two schemas).

    Depth, alias, token and cost limits are not extensions here: the endpoint checks them from the
    settings before anything runs (``schema/limits.py``).
    """
    # The door parses and validates each document once (schema/documents.py, cached by hash and bounded
    # by bytes); strawberry is handed the result instead of keeping caches of its own.
    extensions: list[Any] = [PreparedDocument]
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Etf, Index, Security, Manager, Licence],
        extensions=extensions,
        config=StrawberryConfig(scalar_map={Decimal: DecimalScalar}),
    )


schema = build_schema()

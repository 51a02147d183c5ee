"""The strawberry schema: the Query generated from the model, the admin mutations, the subscription, and
how a prepared document reaches strawberry."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.admin import Mutation
from schema.execution import PreparedDocument
from schema.generated import NODE_TYPES, Query
from schema.scalars import SCALARS
from schema.subscriptions import Subscription
from service.errors import AppError

log = logging.getLogger("connectgraph.graphql")


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
        types=NODE_TYPES,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),  # type: ignore[arg-type]
    )


schema = build_schema()

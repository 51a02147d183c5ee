"""The strawberry types generated from the model (``schema/build.py``): every entity, connection, filter
and ordering, and the Query type whose fields the engine answers (on strawberry's path, one root field
at a time; see ``schema/execution`` for the compiled path that answers whole documents)."""

from __future__ import annotations

from typing import Any

import strawberry

from schema.build import SchemaBuilder
from service.model import MODEL
from service.model.catalog import Catalog

CATALOG = Catalog(MODEL)


async def resolve_root(root: Any, info: strawberry.Info) -> Any:
    """A root data field on strawberry's path: the engine answers it, with the same semantics as on the
    compiled path; the errors inside it join the response's."""
    context = info.context
    value, errors = await context.engine.field(
        info._raw_info,
        context.db,
        context.principal.scopes,
        context.today,
        request_id=context.request_id,
    )
    context.errors.extend(errors)
    return value


BUILDER = SchemaBuilder(CATALOG)
Query: Any = BUILDER.build(resolve_root, "Hong Kong as the ETF gateway for mainland capital: start here.")

ApiKey: Any = BUILDER.types["ApiKey"]
ApiKeyStatus: Any = BUILDER.enums["ApiKeyStatus"]
ReportCurrency: Any = BUILDER.enums["ReportCurrency"]
RegisteredOperation: Any = BUILDER.types["RegisteredOperation"]
NODE_TYPES: list[Any] = [BUILDER.types[e.name] for e in CATALOG.nodes]

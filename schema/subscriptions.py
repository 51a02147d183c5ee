"""Subscriptions over WebSocket (graphql-transport-ws): ``dataLanded`` tells clients new data is in.

Each instance holds one LISTEN connection (``service/db/listen.py``) and fans every load's NOTIFY out
to its subscribers (``service.events.DataEvents``), so a client hears every load whichever instance it
is connected to. Only subscriptions are served over the socket; queries go to ``POST /graphql``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from schema.types.datasets import Dataset
from service.auth.access import Access
from service.auth.principal import Principal
from service.auth.scopes import ALL as ALL_SCOPES
from service.auth.scopes import READ_FLOWS, READ_REFERENCE
from service.db.client import Database
from service.errors import BadInput, Forbidden, Unauthenticated
from service.events import DataEvents
from service.events import DataLanded as DataLandedEvent

KEEP_ALIVE_S = 15.0
_ACK: UnsetType = UNSET  # a plain connection_ack
_EVERYTHING = Principal(scopes=frozenset(ALL_SCOPES), rate_per_minute=1, max_cost=1, client="unchecked")
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10


@dataclass
class SubscriptionContext:
    """The context of a WebSocket connection: the event fan-out and who connected; nothing to run
    queries with. ``principal`` is set when ``connection_init`` is accepted."""

    events: DataEvents
    request: Any = None
    connection_params: dict[str, Any] | None = None
    principal: Principal | None = None

    @property
    def loaders(self) -> Any:
        raise BadInput("Only subscriptions are served over WebSocket; send queries to POST /graphql")

    @property
    def db(self) -> Any:
        return self.loaders


Info = strawberry.Info[SubscriptionContext, None]


@strawberry.type(description="A load of new data finished: what landed, for which day, and the new version.")
class DataLanded:
    dataset: Dataset = strawberry.field(description="The dataset loaded, e.g. `CONNECT_DAILY`.")
    trading_day: date | None = strawberry.field(
        description="The latest trading day the load covers; null for reference data."
    )
    data_version: int | None = strawberry.field(
        description="The data version after the load (the same `dataVersion` queries report)."
    )

    @classmethod
    def from_event(cls, event: DataLandedEvent) -> DataLanded:
        return cls(dataset=event.dataset, trading_day=event.trading_day, data_version=event.data_version)


@strawberry.type(description="Live updates, over WebSocket (graphql-transport-ws) at /graphql.")
class Subscription:
    @strawberry.subscription(
        description="An event each time a load of new data commits (on any instance). Events sent while "
        "a client is disconnected are not replayed: re-read `dataVersion` after reconnecting."
    )
    async def data_landed(
        self,
        info: Info,
        dataset: Annotated[
            Dataset | None, strawberry.argument(description="Only loads of this dataset (all when null).")
        ] = None,
    ) -> AsyncGenerator[DataLanded, None]:
        principal = info.context.principal
        if principal is None or not (principal.has(READ_REFERENCE) or principal.has(READ_FLOWS)):
            raise Forbidden("Live updates need the `read:reference` or `read:flows` scope", scope=READ_FLOWS)
        async for event in info.context.events.subscribe():
            if dataset is None or event.dataset is dataset:
                yield DataLanded.from_event(event)


class SubscriptionApp(GraphQL[SubscriptionContext, None]):
    """The WebSocket side of /graphql (HTTP requests are answered by ``schema.transport``)."""

    def __init__(
        self,
        schema: Any,
        events: DataEvents,
        *,
        access: Access | None = None,
        database: Callable[[], Database] | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            allow_queries_via_get=False,
            keep_alive=True,
            keep_alive_interval=KEEP_ALIVE_S,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        )
        self.events = events
        self.access = access
        self.database = database

    async def on_ws_connect(self, context: SubscriptionContext) -> UnsetType | dict[str, object] | None:
        """Authenticate ``connection_init``: the key comes in its payload (``Authorization: Bearer ...``
        or ``apiKey``; browsers cannot set headers on a WebSocket) or in the upgrade request's headers.
        A refused key closes the socket with 4403; the rate limit applies to connecting."""
        if self.access is None or self.database is None or not self.access.enabled:
            context.principal = _EVERYTHING
            return _ACK
        websocket = context.request
        headers = {k.lower(): v for k, v in (websocket.headers.items() if websocket is not None else [])}
        for name, value in (context.connection_params or {}).items():
            if isinstance(value, str) and name.lower() in {"authorization", "x-api-key"}:
                headers[name.lower()] = value
            elif isinstance(value, str) and name.lower() in {"apikey", "api_key"}:
                headers["x-api-key"] = value
        client = websocket.client.host if websocket is not None and websocket.client else "unknown"
        try:
            principal = await self.access.principal(self.database(), headers, client)
        except Unauthenticated:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"}) from None
        if not (await self.access.admit(principal)).allowed:
            raise ConnectionRejectionError({"code": "RATE_LIMITED"})
        context.principal = principal
        return _ACK

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> SubscriptionContext:
        return SubscriptionContext(events=self.events, request=request)

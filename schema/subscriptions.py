"""Subscriptions over WebSocket (graphql-transport-ws): ``dataLanded`` tells clients new data is in.

Each instance holds one LISTEN connection (``service/db/listen.py``) and fans every load's NOTIFY out
to its subscribers (``service.events.DataEvents``), so a client hears every load whichever instance it
is connected to. Only subscriptions are served over the socket; queries go to ``POST /graphql``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from service.errors import BadInput
from service.events import DataEvents
from service.events import DataLanded as DataLandedEvent

KEEP_ALIVE_S = 15.0
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10


@dataclass
class SubscriptionContext:
    """The context of a WebSocket operation: the event fan-out, and nothing to run queries with."""

    events: DataEvents
    request: Any = None

    @property
    def loaders(self) -> Any:
        raise BadInput("Only subscriptions are served over WebSocket; send queries to POST /graphql")

    @property
    def db(self) -> Any:
        return self.loaders


Info = strawberry.Info[SubscriptionContext, None]


@strawberry.type(description="A load of new data finished: what landed, for which day, and the new version.")
class DataLanded:
    dataset: str = strawberry.field(description="The dataset loaded, e.g. `connect-daily`.")
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
            str | None, strawberry.argument(description="Only loads of this dataset (all when null).")
        ] = None,
    ) -> AsyncGenerator[DataLanded, None]:
        async for event in info.context.events.subscribe():
            if dataset is None or event.dataset == dataset:
                yield DataLanded.from_event(event)


class SubscriptionApp(GraphQL[SubscriptionContext, None]):
    """The WebSocket side of /graphql (HTTP requests are answered by ``schema.endpoint``)."""

    def __init__(self, schema: Any, events: DataEvents) -> None:
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

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> SubscriptionContext:
        return SubscriptionContext(events=self.events, request=request)

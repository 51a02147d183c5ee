"""Subscriptions over WebSocket (graphql-transport-ws): ``dataLanded`` tells clients new data is in;
``southboundDayAlerts`` and ``etfFiguresAlerts`` send the figures a load wrote that match a client's ask.

Each instance holds one LISTEN connection (``service/db/listen.py``) and fans every load's NOTIFY out
to its subscribers (``service.events.DataEvents``), so a client hears every load whichever instance it
is connected to. Only subscriptions are served over the socket; queries go to ``POST /graphql``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from schema.generated import ReportCurrency
from schema.types.datasets import Dataset
from service.auth.access import Access
from service.auth.principal import Principal
from service.auth.scopes import ALL as ALL_SCOPES
from service.auth.scopes import READ_FLOWS, READ_REFERENCE
from service.codes import parse_code
from service.db.client import Database
from service.errors import AppError, BadInput, Forbidden, NotFound, Unauthenticated, Unavailable
from service.events import DataEvents
from service.events import DataLanded as DataLandedEvent
from service.ingest.datasets import Dataset as DatasetName
from service.repositories import alerts

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
    # Where alerts read the figures a load wrote (one statement per load and subscription).
    database: Callable[[], Database] | None = None

    def figures(self) -> Database:
        if self.database is None:
            raise Unavailable("Alerts need the database, which this instance does not have")
        return self.database()

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


@strawberry.type(
    description="A southbound Connect day a load wrote (inserted or changed) whose net buying over both "
    "channels is above the subscription's threshold, with its figures."
)
class SouthboundDayAlert:
    trading_day: date = strawberry.field(description="The Connect trading day.")
    currency: ReportCurrency = strawberry.field(description="Currency of the amounts.")
    net_buy: Decimal = strawberry.field(
        description="Net buying over both channels: each channel's day converted at its rate, rounded to "
        "the cent, then added."
    )
    buy_turnover: Decimal | None = strawberry.field(description="Value bought, likewise.")
    sell_turnover: Decimal | None = strawberry.field(description="Value sold, likewise.")
    total_turnover: Decimal = strawberry.field(description="Value traded, likewise.")
    channels: int = strawberry.field(description="Channels with figures that day (2 once both are loaded).")
    load_id: int = strawberry.field(description="The load that wrote the day (`dataLoads`).")
    data_version: int | None = strawberry.field(description="The data version after that load.")


@strawberry.type(description="Daily figures a load wrote (inserted or changed) for a fund asked for.")
class EtfFiguresAlert:
    code: str = strawberry.field(description="The fund's `MIC:code`, e.g. `XHKG:02800`.")
    trading_day: date = strawberry.field(description="The trading day of the figures.")
    currency: str = strawberry.field(description="Currency of the amounts (the fund's own).")
    nav_per_unit: Decimal = strawberry.field(description="Net asset value per unit.")
    close_price: Decimal | None = strawberry.field(description="Closing price of the primary counter.")
    shares_outstanding: Decimal = strawberry.field(description="Units in issue at the close.")
    aum: Decimal = strawberry.field(description="Assets under management.")
    net_creation_units: Decimal = strawberry.field(description="Units created minus redeemed on the day.")
    net_creation_value: Decimal = strawberry.field(description="Net creations valued at the day's NAV.")
    turnover: Decimal | None = strawberry.field(description="Value traded on the exchange.")
    load_id: int = strawberry.field(description="The load that wrote the figures (`dataLoads`).")
    data_version: int | None = strawberry.field(description="The data version after that load.")


MAX_ALERT_CODES = 100


def _can_read_flows(info: Info) -> None:
    principal = info.context.principal
    if principal is None or not principal.has(READ_FLOWS):
        raise Forbidden("Alerts carry daily figures: they need the `read:flows` scope", scope=READ_FLOWS)


def _coded(error: AppError) -> GraphQLError:
    """A domain error as the subscription's GraphQL error, with its stable ``extensions.code``."""
    return GraphQLError(error.message, extensions={"code": error.code, **error.details}, original_error=error)


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

    @strawberry.subscription(
        description="An alert for each southbound Connect day a load writes (new or changed figures) whose "
        "net buying over both channels is above `minNetBuy`: only the days that load wrote, with their "
        "figures. Not replayed after a disconnection (query `connectFlows` then)."
    )
    async def southbound_day_alerts(
        self,
        info: Info,
        min_net_buy: Annotated[
            Decimal,
            strawberry.argument(
                description="Alert on days whose net buying is above this amount, in `currency`."
            ),
        ],
        currency: Annotated[
            ReportCurrency, strawberry.argument(description="Currency of `minNetBuy` and of the figures.")
        ] = ReportCurrency.HKD,
    ) -> AsyncGenerator[SouthboundDayAlert, None]:
        try:
            _can_read_flows(info)
        except AppError as exc:
            raise _coded(exc) from None
        context = info.context
        code = currency.value if hasattr(currency, "value") else str(currency)
        async for event in context.events.subscribe():
            if event.dataset is not DatasetName.CONNECT_DAILY or not event.written or event.load_id is None:
                continue
            for row in await alerts.southbound_days(context.figures(), event.load_id, min_net_buy, code):
                yield SouthboundDayAlert(
                    trading_day=row.trading_day,
                    currency=currency,
                    net_buy=row.net_buy,
                    buy_turnover=row.buy_turnover,
                    sell_turnover=row.sell_turnover,
                    total_turnover=row.total_turnover,
                    channels=row.channels,
                    load_id=event.load_id,
                    data_version=event.data_version,
                )

    @strawberry.subscription(
        description="An alert for each day of new or changed daily figures a load writes for these funds, "
        "with the figures: only the days that load wrote. Not replayed after a disconnection (query "
        "`Etf.dailyStats` then)."
    )
    async def etf_figures_alerts(
        self,
        info: Info,
        codes: Annotated[
            list[str],
            strawberry.argument(
                description="The funds, by `MIC:code` of the fund or of any of its counters (at most 100)."
            ),
        ],
    ) -> AsyncGenerator[EtfFiguresAlert, None]:
        context = info.context
        try:
            _can_read_flows(info)
            if not codes or len(codes) > MAX_ALERT_CODES:
                raise BadInput(f"`codes` must name 1 to {MAX_ALERT_CODES} funds", argument="codes")
            asked = [(code, *parse_code(code, "codes")) for code in codes]
            found = await alerts.fund_ids(context.figures(), asked)
            missing = [code for code, etf_id in found.items() if etf_id is None]
            if missing:
                raise NotFound(f"No ETF with code {missing[0]!r}", argument="codes")
        except AppError as exc:
            raise _coded(exc) from None
        etf_ids = sorted({etf_id for etf_id in found.values() if etf_id is not None})
        async for event in context.events.subscribe():
            if event.dataset is not DatasetName.ETF_DAILY or not event.written or event.load_id is None:
                continue
            for row in await alerts.etf_days(context.figures(), event.load_id, etf_ids):
                yield EtfFiguresAlert(
                    code=row.code,
                    trading_day=row.trading_day,
                    currency=row.currency,
                    nav_per_unit=row.nav_per_unit,
                    close_price=row.close_price,
                    shares_outstanding=row.shares_outstanding,
                    aum=row.aum,
                    net_creation_units=row.net_creation_units,
                    net_creation_value=row.net_creation_value,
                    turnover=row.turnover,
                    load_id=event.load_id,
                    data_version=event.data_version,
                )


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
        return SubscriptionContext(events=self.events, request=request, database=self.database)

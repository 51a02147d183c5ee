"""Data freshness: the data version (bumped by every load that changes data) and each dataset's loads."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from schema.context import Context
from schema.permissions import READ_REFERENCE, requires
from schema.types.datasets import Dataset
from service.repositories import loads
from service.repositories.loads import FreshnessRow, LoadRow

Info = strawberry.Info[Context, None]


@strawberry.type(description="One file load: what was loaded, when, and the rows by outcome.")
class DataLoad:
    id: int = strawberry.field(description="Load number (grows with each attempt).")
    dataset: Dataset = strawberry.field(description="The dataset loaded, e.g. `ETF_DAILY`.")
    file_name: str = strawberry.field(description="The file's name (without its directory).")
    sha256: str = strawberry.field(description="SHA-256 of the file's bytes.")
    status: str = strawberry.field(
        description="RUNNING, SUCCEEDED, UNCHANGED (a valid file that changed nothing), REJECTED (invalid "
        "rows, nothing written), FAILED, or ABANDONED (its process died: nothing written)."
    )
    rows_read: int = strawberry.field(description="Data lines in the file.")
    rows_inserted: int = strawberry.field(description="Rows that were new.")
    rows_updated: int = strawberry.field(
        description="Rows that changed stored values (for periods: also the periods closed)."
    )
    rows_unchanged: int = strawberry.field(description="Rows equal to what was already stored.")
    rows_rejected: int = strawberry.field(description="Lines with errors (left out under --skip-invalid).")
    rows_skipped: int = strawberry.field(
        description="Lines the dataset does not take (e.g. non-trading days)."
    )
    first_day: date | None = strawberry.field(description="Earliest trading (or effective) day in the file.")
    last_day: date | None = strawberry.field(description="Latest trading (or effective) day in the file.")
    started_at: datetime = strawberry.field(description="When the load began.")
    finished_at: datetime | None = strawberry.field(
        description="When it committed, was recorded as failed, or was found abandoned; null while running."
    )
    error: str | None = strawberry.field(
        description="Why a REJECTED, FAILED or ABANDONED load did not happen."
    )
    data_version: int | None = strawberry.field(
        description="The data version this load produced, if it changed data."
    )

    @classmethod
    def from_row(cls, row: LoadRow) -> DataLoad:
        return cls(
            id=row.id,
            dataset=Dataset(row.dataset),
            file_name=row.file_name,
            sha256=row.sha256,
            status=row.status,
            rows_read=row.rows_read,
            rows_inserted=row.rows_inserted,
            rows_updated=row.rows_updated,
            rows_unchanged=row.rows_unchanged,
            rows_rejected=row.rows_rejected,
            rows_skipped=row.rows_skipped,
            first_day=row.first_day,
            last_day=row.last_day,
            started_at=row.started_at,
            finished_at=row.finished_at,
            error=row.error,
            data_version=row.data_version,
        )


@strawberry.type(description="How fresh one dataset is, and whether its figures are illustrative.")
class DatasetFreshness:
    name: Dataset = strawberry.field(description="The dataset, e.g. `ETF_DAILY`.")
    description: str = strawberry.field(description="What the dataset holds.")
    source: str = strawberry.field(
        description="Where its rows come from (the last file loaded, or the demo)."
    )
    is_illustrative: bool = strawberry.field(
        description="True when its figures are generated, not market data."
    )
    loaded_at: datetime = strawberry.field(description="When it last received data (demo or file).")
    latest_trading_day: date | None = strawberry.field(
        description="The latest trading (or effective) day a successful file load brought; null if none."
    )
    successful_loads: int = strawberry.field(
        description="File loads that succeeded (including unchanged ones)."
    )
    last_load: DataLoad | None = strawberry.field(description="The latest successful file load of it.")

    @classmethod
    def from_row(cls, row: FreshnessRow, last_load: LoadRow | None) -> DatasetFreshness:
        return cls(
            name=Dataset(row.name),
            description=row.description,
            source=row.source,
            is_illustrative=row.is_illustrative,
            loaded_at=row.loaded_at,
            latest_trading_day=row.latest_trading_day,
            successful_loads=row.successful_loads,
            last_load=DataLoad.from_row(last_load) if last_load is not None else None,
        )


@strawberry.type(description="Data freshness root fields.")
class FreshnessQuery:
    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="Changes with every load that changes data: key caches and client state on it.",
    )
    async def data_version(self, info: Info) -> int:
        return await loads.data_version(info.context.db)

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="Every dataset with its latest trading day loaded, last load and illustrative flag.",
    )
    async def datasets(self, info: Info) -> list[DatasetFreshness]:
        rows = await loads.freshness(info.context.db)
        # Two statements whatever the number of datasets: the freshness rows, then their last loads.
        ids = [r.last_load_id for r in rows if r.last_load_id is not None]
        by_id = {r.id: r for r in await loads.loads_by_id(info.context.db, ids)} if ids else {}
        return [
            DatasetFreshness.from_row(r, by_id.get(r.last_load_id) if r.last_load_id else None) for r in rows
        ]

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="The latest file loads, newest first (optionally of one dataset).",
    )
    async def data_loads(self, info: Info, dataset: Dataset | None = None, last: int = 20) -> list[DataLoad]:
        rows = await loads.recent_loads(
            info.context.db, dataset=None if dataset is None else dataset.value, limit=max(1, min(last, 200))
        )
        return [DataLoad.from_row(r) for r in rows]

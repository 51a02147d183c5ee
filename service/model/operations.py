"""Service state: the data version, dataset freshness and load history, API keys and the operations
allow-list (the last two for admins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.auth.scopes import ADMIN, READ_REFERENCE
from service.model.common import BOOLEAN, BY_ID, DATE, DATETIME, INT, STRING
from service.model.declare import Arg, Column, Context, Entity, OrderKey, Relation, Root, RootKind
from service.model.enums import API_KEY_STATUS, DATASET

DATA_LOAD = Entity(
    "DataLoad",
    "One file load: what was loaded, when, and the rows by outcome.",
    source="load_history",
    key=(OrderKey("{t}.id", type="bigint"),),
    fields=(
        Column("id", "{t}.id", INT, "Load number (grows with each attempt)."),
        Column("dataset", "{t}.dataset", DATASET, "The dataset loaded, e.g. `ETF_DAILY`."),
        Column("fileName", "{t}.file_name", STRING, "The file's name (without its directory)."),
        Column("sha256", "{t}.sha256", STRING, "SHA-256 of the file's bytes."),
        Column(
            "status",
            "{t}.status::text",
            STRING,
            "RUNNING, SUCCEEDED, UNCHANGED (a valid file that changed nothing), REJECTED (invalid rows, "
            "nothing written), FAILED, or ABANDONED (its process died: nothing written).",
        ),
        Column("rowsRead", "{t}.rows_read", INT, "Data lines in the file."),
        Column("rowsInserted", "{t}.rows_inserted", INT, "Rows that were new."),
        Column(
            "rowsUpdated",
            "{t}.rows_updated",
            INT,
            "Rows that changed stored values (for periods: also the periods closed).",
        ),
        Column("rowsUnchanged", "{t}.rows_unchanged", INT, "Rows equal to what was already stored."),
        Column(
            "rowsRejected", "{t}.rows_rejected", INT, "Lines with errors (left out under --skip-invalid)."
        ),
        Column(
            "rowsSkipped", "{t}.rows_skipped", INT, "Lines the dataset does not take (e.g. non-trading days)."
        ),
        Column(
            "firstDay",
            "{t}.first_day",
            DATE,
            "Earliest trading (or effective) day in the file.",
            nullable=True,
        ),
        Column(
            "lastDay", "{t}.last_day", DATE, "Latest trading (or effective) day in the file.", nullable=True
        ),
        Column("startedAt", "{t}.started_at", DATETIME, "When the load began."),
        Column(
            "finishedAt",
            "{t}.finished_at",
            DATETIME,
            "When it committed, was recorded as failed, or was found abandoned; null while running.",
            nullable=True,
        ),
        Column(
            "error",
            "{t}.error",
            STRING,
            "Why a REJECTED, FAILED or ABANDONED load did not happen.",
            nullable=True,
        ),
        Column(
            "dataVersion",
            "{t}.data_version",
            INT,
            "The data version this load produced, if it changed data.",
            nullable=True,
        ),
    ),
)

# Each dataset with its latest trading day loaded from files, its last successful load and their count.
FRESHNESS = """(SELECT d.name, d.description, d.source, d.is_illustrative, d.loaded_at,
                       h.latest_trading_day, h.last_load_id,
                       coalesce(h.successful_loads, 0) AS successful_loads
                FROM datasets d
                LEFT JOIN LATERAL (
                    SELECT max(l.last_day) AS latest_trading_day, max(l.id) AS last_load_id,
                           count(*) AS successful_loads
                    FROM load_history l
                    WHERE l.dataset = d.name AND l.status IN ('SUCCEEDED', 'UNCHANGED')) h ON true)"""

DATASET_FRESHNESS = Entity(
    "DatasetFreshness",
    "How fresh one dataset is, and whether its figures are illustrative.",
    source=FRESHNESS,
    key=(OrderKey("{t}.name"),),
    fields=(
        Column("name", "{t}.name", DATASET, "The dataset, e.g. `ETF_DAILY`."),
        Column("description", "{t}.description", STRING, "What the dataset holds."),
        Column(
            "source", "{t}.source", STRING, "Where its rows come from (the last file loaded, or the demo)."
        ),
        Column(
            "isIllustrative",
            "{t}.is_illustrative",
            BOOLEAN,
            "True when its figures are generated, not market data.",
        ),
        Column("loadedAt", "{t}.loaded_at", DATETIME, "When it last received data (demo or file)."),
        Column(
            "latestTradingDay",
            "{t}.latest_trading_day",
            DATE,
            "The latest trading (or effective) day a successful file load brought; null if none.",
            nullable=True,
        ),
        Column(
            "successfulLoads",
            "{t}.successful_loads",
            INT,
            "File loads that succeeded (including unchanged ones).",
        ),
        Relation(
            "lastLoad",
            "DataLoad",
            "The latest successful file load of it.",
            join="{c}.id = {p}.last_load_id",
            nullable=True,
        ),
    ),
)

API_KEY = Entity(
    "ApiKey",
    "An API key as admins see it: never its secret or hash.",
    source="api_keys",
    key=(OrderKey("{t}.created_at", type="timestamptz"), *BY_ID),
    fields=(
        Column("name", "{t}.name", STRING, "Who the key is for."),
        Column("prefix", "{t}.prefix", STRING, "The key's visible first characters (`cg_xxxxxxxx`)."),
        Column("scopes", "{t}.scopes", STRING, "What the key may read or do.", many=True),
        Column("ratePerMinute", "{t}.rate_per_minute", INT, "Requests a minute (token bucket)."),
        Column("maxCost", "{t}.max_cost", INT, "Cost budget per document; null: the default.", nullable=True),
        Column("allowListOnly", "{t}.allow_list_only", BOOLEAN, "May run registered operations only."),
        Column(
            "status",
            """CASE WHEN {t}.revoked_at IS NOT NULL THEN 'REVOKED'
                    WHEN {t}.expires_at IS NOT NULL AND {t}.expires_at <= now() THEN 'EXPIRED'
                    WHEN {t}.grace_until IS NOT NULL
                         THEN CASE WHEN {t}.grace_until > now() THEN 'ROTATING' ELSE 'EXPIRED' END
                    ELSE 'ACTIVE' END""",
            API_KEY_STATUS,
            "Whether it can be used now.",
        ),
        Column("createdAt", "{t}.created_at", DATETIME, "When it was created."),
        Column("expiresAt", "{t}.expires_at", DATETIME, "When it stops working.", nullable=True),
        Column("revokedAt", "{t}.revoked_at", DATETIME, "When it was revoked.", nullable=True),
        Column(
            "graceUntil",
            "{t}.grace_until",
            DATETIME,
            "End of its grace period after rotation.",
            nullable=True,
        ),
        Column("requests", "{t}.requests", INT, "Requests made with it (updated every few seconds)."),
        Column("rejected", "{t}.rejected", INT, "Of those, refused (rate limit, limits, allow-list)."),
        Column("lastUsedAt", "{t}.last_used_at", DATETIME, "When it was last used.", nullable=True),
    ),
)

REGISTERED_OPERATION = Entity(
    "RegisteredOperation",
    "An operation on the allow-list.",
    source="(SELECT * FROM persisted_queries WHERE registered)",
    key=(OrderKey("{t}.sha256"),),
    fields=(
        Column("sha256", "{t}.sha256", STRING, "SHA-256 of the document (the persisted-query hash)."),
        Column("operationName", "{t}.operation_name", STRING, "Name of the operation.", nullable=True),
        Column("document", "{t}.document", STRING, "The GraphQL document."),
    ),
)


def _loads(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    return {"last": max(1, min(args["last"], 200))}


ROOTS = (
    Root(
        "apiKeys",
        "Every API key with its usage (admin).",
        RootKind.LIST,
        target="ApiKey",
        scope=ADMIN,
        versioned=False,
    ),
    Root(
        "registeredOperations",
        "The operations allow-list (admin).",
        RootKind.LIST,
        target="RegisteredOperation",
        order=(OrderKey("{t}.operation_name", nullable=True),),
        scope=ADMIN,
        versioned=False,
    ),
    Root(
        "dataVersion",
        "Changes with every load that changes data: key caches and client state on it.",
        RootKind.VALUE,
        type=INT,
        sql="(SELECT version FROM data_version)",
        scope=READ_REFERENCE,
    ),
    Root(
        "datasets",
        "Every dataset with its latest trading day loaded, last load and illustrative flag.",
        RootKind.LIST,
        target="DatasetFreshness",
        scope=READ_REFERENCE,
        versioned=False,
    ),
    Root(
        "dataLoads",
        "The latest file loads, newest first (optionally of one dataset).",
        RootKind.LIST,
        target="DataLoad",
        source="""(SELECT * FROM load_history l WHERE {dataset}::text IS NULL OR l.dataset = {dataset}
                   ORDER BY l.id DESC LIMIT {last})""",
        args=(
            Arg("dataset", DATASET, "Only loads of this dataset."),
            Arg("last", INT, "How many, at most 200.", required=True, default=20),
        ),
        prepare=_loads,
        order=(OrderKey("{t}.id", descending=True, type="bigint"),),
        scope=READ_REFERENCE,
        versioned=False,
    ),
)

ENTITIES = (DATA_LOAD, DATASET_FRESHNESS, API_KEY, REGISTERED_OPERATION)

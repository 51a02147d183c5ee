"""The service's configuration: one pydantic-settings class, read once in create_app and passed down."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.db.pool import PLAN_CACHE_MODE, RANDOM_PAGE_COST, PlanCacheMode


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting, read from the environment (prefix-free, e.g. ``DATABASE_URL``) or ``.env``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="development shows error details and GraphiQL; production masks errors.",
    )
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL is started in pgdata_dir.",
    )
    pgdata_dir: Path = Field(
        default=Path(".pgdata"),
        description="Data folder of the embedded PostgreSQL (used only when database_url is unset).",
    )
    db_pool_min_size: int = Field(default=2, ge=1)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_statement_timeout_ms: int = Field(
        default=10_000, ge=100, description="Per-statement timeout on every pooled connection."
    )
    db_plan_cache_mode: PlanCacheMode = Field(
        default=PLAN_CACHE_MODE,
        description="PostgreSQL's plan_cache_mode on pooled connections: each prepared statement planned "
        "once (force_generic_plan, docs/adr/0019), or PostgreSQL's own choice per statement (auto).",
    )
    db_random_page_cost: float = Field(
        default=RANDOM_PAGE_COST,
        gt=0,
        description="PostgreSQL's random_page_cost on pooled connections: 1.1 for data held in memory "
        "(docs/adr/0020); PostgreSQL's default, 4, for data read from spinning disks.",
    )
    max_page_size: int = Field(
        default=500, ge=1, description="Largest `first`/`last` a connection field accepts."
    )
    max_series_page_size: int = Field(
        default=10_000,
        ge=1,
        description="Largest `first`/`last` a time series list accepts (daily statistics, index levels, flow "
        "days, series buckets, AUM points).",
    )
    default_page_size: int = Field(default=50, ge=1)
    max_query_depth: int = Field(default=12, ge=2)
    compiled_execution: bool = Field(
        default=True,
        description="Answer plain-data documents with one JSON-building SQL statement per root field.",
    )
    graphiql: bool = Field(default=True, description="Serve the GraphiQL explorer on GET /graphql.")
    # The answer cache (schema/answers.py): answers to queries, in memory, until the data version moves.
    answer_cache_entries: int = Field(
        default=512,
        ge=0,
        description="Most query answers kept in memory per worker until the data version moves "
        "(least recently used first out); 0 turns the answer cache off.",
    )
    answer_cache_max_bytes: int = Field(
        default=262_144, ge=1, description="Largest answer (JSON bytes) the answer cache keeps."
    )
    answer_cache_total_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1,
        description="Most bytes of answers the answer cache keeps in all (least recently used out first).",
    )
    answer_cache_seconds: int = Field(
        default=300,
        ge=1,
        description="Longest an answer is kept, even when the data version does not move.",
    )
    # Operations (docs/operations.md).
    database_read_url: str | None = Field(
        default=None,
        description="A read replica: GraphQL queries read from a second pool on it (writes stay on "
        "DATABASE_URL). Unset: everything uses DATABASE_URL.",
    )
    db_connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait to open one database connection."
    )
    db_acquire_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Longest wait for a free pool connection, then SERVICE_UNAVAILABLE.",
    )
    readiness_timeout_s: float = Field(
        default=2.0, gt=0, description="Longest wait for the database checks of /readyz."
    )
    shutdown_drain_s: float = Field(
        default=0.0,
        ge=0,
        description="On SIGTERM, seconds during which /readyz is red and new requests get 503 before "
        "the listener closes (lets a load balancer take the instance out).",
    )
    graceful_timeout_s: int = Field(
        default=30,
        ge=1,
        description="On shutdown, longest wait for in-flight requests before they are cancelled.",
    )
    log_level: str = Field(default="INFO", description="Least severe level logged (DEBUG shows probes).")
    log_format: Literal["json", "console"] = Field(
        default="json", description="json: one JSON object per line; console: human-readable (development)."
    )
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics on GET /metrics.")
    metrics_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="In production, client networks (CIDRs, comma-separated) that may read /metrics; "
        "empty: loopback and the private ranges. Development: everyone.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="In production, a bearer token that lets a scraper read /metrics from any address.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector base URL; set, it turns tracing on (needs connectgraph[otel]).",
    )
    otel_service_name: str = Field(default="connectgraph", description="service.name of the traces.")
    # Partner access (docs/adr/0004-partner-access.md).
    access_checks: bool = Field(
        default=True,
        description="Keys, rate and document limits; off only to measure their cost, never in production.",
    )
    api_key_secret: SecretStr = Field(
        default=SecretStr("development-only-secret-change-me"),
        description="Server-side secret keyed into every API key hash (HMAC-SHA256). Required in production.",
    )
    anonymous_scopes: Annotated[list[str], NoDecode] = Field(
        default=["read:reference", "read:flows"],
        description="Scopes of a request without a key (comma-separated; empty: a key is required).",
    )
    anonymous_rate_per_minute: int = Field(
        default=600, ge=1, description="Rate limit of anonymous requests, per client address."
    )
    auth_failures_per_minute: int = Field(
        default=30,
        ge=1,
        description="Failed authentications one client address may make in a minute; then 429 until "
        "its bucket refills, without looking keys up.",
    )
    introspection_scopes: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="In production, the scopes that may introspect (empty: nobody). Development: everyone.",
    )
    max_query_cost: int = Field(
        default=250_000, ge=1, description="Default budget of estimated rows x selections per document."
    )
    max_query_aliases: int = Field(default=30, ge=1)
    max_query_tokens: int = Field(
        default=4_000, ge=100, description="Most tokens a document may have; the parser stops there."
    )
    max_query_bytes: int = Field(
        default=100_000, ge=1_000, description="Largest document (UTF-8 bytes), refused before parsing."
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1_024,
        description="Largest POST body (a batch included); larger ones get 413 without being read.",
    )
    max_batch_size: int = Field(
        default=10,
        ge=0,
        description="Most operations in one batched POST (a JSON array; each entry is limited and "
        "rate-limited as a single request); 0 refuses batches.",
    )
    document_cache_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1_048_576,
        description="Memory for documents worked out once (parsed, validated, measured, planned), by "
        "the hash of their text; least recently used out first.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for rate limits and query answers shared by every worker and instance "
        "(unset: each process keeps its own).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[], description="Origins allowed to call the API from a browser (comma-separated)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)

    @field_validator(
        "anonymous_scopes", "introspection_scopes", "cors_origins", "metrics_allowed_networks", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Self:
        if self.is_production and self.api_key_secret.get_secret_value().startswith("development-only"):
            raise ValueError("API_KEY_SECRET must be set in production")
        if self.is_production and not self.access_checks:
            raise ValueError("ACCESS_CHECKS cannot be turned off in production")
        for network in self.metrics_allowed_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"METRICS_ALLOWED_NETWORKS: {network!r} is not a network (CIDR)") from None
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

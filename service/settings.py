"""The service's configuration: one pydantic-settings class, read once in create_app and passed down."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    max_page_size: int = Field(
        default=500, ge=1, description="Largest `first`/`last` a connection field accepts."
    )
    default_page_size: int = Field(default=50, ge=1)
    max_query_depth: int = Field(default=12, ge=2)
    compiled_execution: bool = Field(
        default=True,
        description="Answer plain-data documents with one JSON-building SQL statement per root field.",
    )
    graphiql: bool = Field(default=True, description="Serve the GraphiQL explorer on GET /graphql.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

"""Migrations are the only way the schema changes: down to base and up again must work."""

import asyncio

import asyncpg

from tests.conftest import _with_database, migrate, scratch_name


def test_downgrade_to_base_then_upgrade_to_head(server_url: str) -> None:
    name = scratch_name("migrations_test")
    admin_url = _with_database(server_url, "postgres")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def tables(url: str) -> set[str]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {r["tablename"] for r in rows}
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    try:
        migrate(url, "upgrade", "head")
        at_head = asyncio.run(tables(url))
        assert {"etfs", "indices", "index_memberships", "connect_daily_flows"} <= at_head
        migrate(url, "downgrade", "base")
        assert asyncio.run(tables(url)) == {"alembic_version"}
        migrate(url, "upgrade", "head")
        assert asyncio.run(tables(url)) == at_head
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

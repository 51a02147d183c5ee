"""Database access: the asyncpg pool, transactions and the embedded PostgreSQL starter."""
